#pragma once
// The webhook side of the service in one piece, for app/ to wire: the
// delivery store, the listener routes (mounted on the shared server, with
// TCP_NODELAY) and the background processor, woken by each new delivery.

#include <memory>

#include "webhook/delivery_store.h"
#include "webhook/listener.h"
#include "webhook/processor.h"

namespace mergeyard::webhook {

struct ServiceOptions {
  ListenerOptions listener;    // secrets: fill with WebhookSecrets::FillFromEnvironment() too
  ProcessorOptions processor;
};

class Service {
 public:
  // Every reference must outlive the Service; stop the server before
  // destroying it. Errors: those of DeliveryStore::Open.
  static Result<std::unique_ptr<Service>> Start(httplib::Server& server, store::Database& db,
                                                forge::ForgeDirectory& forges, forge::ConfigSource& configs,
                                                forge::Admitter& admitter, forge::Reporter& reporter,
                                                engine::EventSink& sink, const Clock& clock,
                                                ServiceOptions options);
  ~Service();

  DeliveryStore& deliveries() { return *store_; }
  Processor& processor() { return *processor_; }

 private:
  Service() = default;
  std::unique_ptr<DeliveryStore> store_;
  std::unique_ptr<Processor> processor_;
};

}  // namespace mergeyard::webhook
