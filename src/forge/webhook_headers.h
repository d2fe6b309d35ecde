#pragma once
// What the HTTP headers of a webhook delivery say: which forge sent it, the
// event, the delivery id to deduplicate on, and the signature to verify.
// Pure; the webhook listener feeds it the request's headers.

#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "forge/event.h"

namespace mergeyard::forge {

// Returns the value of a request header (case-insensitive name), "" if absent.
using HeaderLookup = std::function<std::string(const std::string& name)>;

struct WebhookMeta {
  ForgeKind kind = ForgeKind::kGithub;
  std::string event;        // the value ParsePayload expects
  std::string delivery_id;  // dedup key; a hash of the body when the forge sent none
  std::string signature;    // the header to verify ("" when missing)
};

// `route` is the forge named by the URL (/webhooks/gitea serves Forgejo too:
// told apart by its X-Forgejo-* headers). Never fails: a missing event header
// leaves `event` empty for the caller to reject after verification.
WebhookMeta ReadWebhookHeaders(ForgeKind route, const HeaderLookup& header, std::string_view body);

// Checks meta.signature against `secret` over the raw body, in constant time.
bool VerifyWebhook(const WebhookMeta& meta, std::string_view secret, std::string_view body);

// The header names that carry the signature and the delivery id, for tests
// and clients that sign their own deliveries.
const char* SignatureHeader(ForgeKind kind);
const char* DeliveryHeader(ForgeKind kind);
const char* EventHeader(ForgeKind kind);

}  // namespace mergeyard::forge
