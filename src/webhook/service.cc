#include "webhook/service.h"

namespace mergeyard::webhook {

Result<std::unique_ptr<Service>> Service::Start(httplib::Server& server, store::Database& db,
                                                forge::ForgeDirectory& forges, forge::ConfigSource& configs,
                                                forge::Admitter& admitter, forge::Reporter& reporter,
                                                engine::EventSink& sink, const Clock& clock,
                                                ServiceOptions options) {
  auto store = DeliveryStore::Open(db, clock);
  if (!store.ok()) return store.error();
  std::unique_ptr<Service> s(new Service());
  s->store_ = std::move(*store);
  s->processor_ = std::make_unique<Processor>(*s->store_, forges, configs, admitter, reporter, sink, clock,
                                              std::move(options.processor));
  Processor* p = s->processor_.get();
  RegisterRoutes(server, std::move(options.listener), *s->store_, [p] { p->Notify(); });
  p->Start();
  return s;
}

Service::~Service() {
  if (processor_) processor_->Stop();
}

}  // namespace mergeyard::webhook
