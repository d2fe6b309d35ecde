#include "exec/reapi/cas_service.h"

#include <algorithm>

#include "exec/reapi/grpc_status.h"

namespace mergeyard::exec::reapi {
namespace {

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;

class CasService final : public rex::ContentAddressableStorage::Service {
 public:
  explicit CasService(ServiceContext c) : c_(c) {}

  Status FindMissingBlobs(ServerContext* ctx, const rex::FindMissingBlobsRequest* req,
                          rex::FindMissingBlobsResponse* resp) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    std::vector<rex::Digest> ds;
    ds.reserve(static_cast<std::size_t>(req->blob_digests_size()));
    for (const auto& d : req->blob_digests()) {
      if (!ValidDigest(d)) return Status(StatusCode::INVALID_ARGUMENT, "malformed digest " + DigestString(d));
      ds.push_back(d);
    }
    for (auto& d : c_.cas->Missing(ds)) *resp->add_missing_blob_digests() = std::move(d);
    return Status::OK;
  }

  Status BatchUpdateBlobs(ServerContext* ctx, const rex::BatchUpdateBlobsRequest* req,
                          rex::BatchUpdateBlobsResponse* resp) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    for (const auto& r : req->requests()) {
      auto* out = resp->add_responses();
      *out->mutable_digest() = r.digest();
      if (!ValidDigest(r.digest())) {
        *out->mutable_status() = RpcStatus(StatusCode::INVALID_ARGUMENT, "malformed digest");
        continue;
      }
      rex::Digest actual = DigestOf(r.data());
      if (actual.hash() != r.digest().hash() || actual.size_bytes() != r.digest().size_bytes()) {
        *out->mutable_status() = RpcStatus(StatusCode::INVALID_ARGUMENT,
                                           "the data's digest is " + DigestString(actual) + ", not " +
                                               DigestString(r.digest()));
        continue;
      }
      auto put = c_.cas->Put(r.data());
      *out->mutable_status() = put ? RpcStatus(StatusCode::OK, "") : ToRpc(ToGrpc(put.error()));
    }
    return Status::OK;
  }

  Status BatchReadBlobs(ServerContext* ctx, const rex::BatchReadBlobsRequest* req,
                        rex::BatchReadBlobsResponse* resp) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    std::int64_t total = 0;
    for (const auto& d : req->digests()) total += std::max<std::int64_t>(d.size_bytes(), 0);
    if (total > c_.max_batch_bytes)
      return Status(StatusCode::INVALID_ARGUMENT,
                    "the blobs total " + std::to_string(total) + " bytes, more than max_batch_total_size_bytes " +
                        std::to_string(c_.max_batch_bytes) + "; read large blobs with ByteStream");
    for (const auto& d : req->digests()) {
      auto* out = resp->add_responses();
      *out->mutable_digest() = d;
      auto data = c_.cas->Get(d);
      if (!data) {
        *out->mutable_status() = ToRpc(ToGrpc(data.error()));
        continue;
      }
      out->set_data(std::move(*data));
      *out->mutable_status() = RpcStatus(StatusCode::OK, "");
    }
    return Status::OK;
  }

  Status GetTree(ServerContext* ctx, const rex::GetTreeRequest* req,
                 grpc::ServerWriter<rex::GetTreeResponse>* writer) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    if (!ValidDigest(req->root_digest()))
      return Status(StatusCode::INVALID_ARGUMENT, "malformed root digest");
    auto tree = c_.cas->Tree(req->root_digest());
    if (!tree) return ToGrpc(tree.error());
    // Pages of page_size directories (all in one page when unset); the page
    // token is the index of the next directory.
    std::size_t start = 0;
    if (!req->page_token().empty()) {
      try {
        start = std::stoul(req->page_token());
      } catch (...) {
        return Status(StatusCode::INVALID_ARGUMENT, "malformed page_token");
      }
    }
    std::size_t page = req->page_size() > 0 ? static_cast<std::size_t>(req->page_size()) : 1000;
    for (std::size_t i = start; i < tree->size() || i == start; i += page) {
      rex::GetTreeResponse resp;
      for (std::size_t k = i; k < std::min(tree->size(), i + page); ++k) *resp.add_directories() = (*tree)[k];
      if (i + page < tree->size()) resp.set_next_page_token(std::to_string(i + page));
      if (!writer->Write(resp)) break;
      if (i + page >= tree->size()) break;
    }
    return Status::OK;
  }

 private:
  ServiceContext c_;
};

class ActionCacheService final : public rex::ActionCache::Service {
 public:
  explicit ActionCacheService(ServiceContext c) : c_(c) {}

  Status GetActionResult(ServerContext* ctx, const rex::GetActionResultRequest* req,
                         rex::ActionResult* resp) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    if (!ValidDigest(req->action_digest()))
      return Status(StatusCode::INVALID_ARGUMENT, "malformed action digest");
    const std::string key = BackendKey(req->instance_name(), req->action_digest());
    if (auto hit = CompleteResult(*c_.cas, c_.exec->CachedResult(key))) {
      ++c_.counters->ac_hits;
      *resp = std::move(*hit);
      return Status::OK;
    }
    ++c_.counters->ac_misses;
    return Status(StatusCode::NOT_FOUND, "no result for action " + DigestString(req->action_digest()));
  }

  Status UpdateActionResult(ServerContext* ctx, const rex::UpdateActionResultRequest* req,
                            rex::ActionResult* resp) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    if (!ValidDigest(req->action_digest()))
      return Status(StatusCode::INVALID_ARGUMENT, "malformed action digest");
    const rex::ActionResult& r = req->action_result();
    auto missing = c_.cas->MissingOutputs(r);
    if (!missing.empty()) return MissingBlobs(missing);
    *resp = r;
    if (r.exit_code() != 0) return Status::OK;
    auto stored = c_.cas->PutMessage(r);
    if (!stored) return ToGrpc(stored.error());
    core::ActionResult br;
    br.exit_code = 0;
    br.outputs_digest = stored->hash();
    br.executor = "client";
    br.execution_id = "uploaded";
    c_.exec->CacheResult(BackendKey(req->instance_name(), req->action_digest()), br);
    ++c_.counters->ac_updates;
    return Status::OK;
  }

 private:
  ServiceContext c_;
};

class CapabilitiesService final : public rex::Capabilities::Service {
 public:
  explicit CapabilitiesService(ServiceContext c) : c_(c) {}

  Status GetCapabilities(ServerContext* ctx, const rex::GetCapabilitiesRequest*,
                         rex::ServerCapabilities* resp) override {
    if (Status s = Authorize(c_, *ctx); !s.ok()) return s;
    auto* cache = resp->mutable_cache_capabilities();
    cache->add_digest_function(rex::DigestFunction::SHA256);
    cache->mutable_action_cache_update_capabilities()->set_update_enabled(true);
    cache->set_max_batch_total_size_bytes(c_.max_batch_bytes);
    cache->set_symlink_absolute_path_strategy(rex::SymlinkAbsolutePathStrategy::DISALLOWED);
    auto* exec = resp->mutable_execution_capabilities();
    exec->set_digest_function(rex::DigestFunction::SHA256);
    exec->set_exec_enabled(true);
    auto* prio = exec->mutable_execution_priority_capabilities()->add_priorities();
    prio->set_min_priority(-1000);
    prio->set_max_priority(1000);
    resp->mutable_low_api_version()->set_major(2);
    resp->mutable_high_api_version()->set_major(2);
    resp->mutable_high_api_version()->set_minor(1);
    return Status::OK;
  }

 private:
  ServiceContext c_;
};

}  // namespace

grpc::Status Authorize(const ServiceContext& c, const grpc::ServerContext& ctx) {
  grpc::Status s = CheckToken(ctx, c.token);
  if (!s.ok()) ++c.counters->unauthenticated;
  return s;
}

std::string BackendKey(const std::string& instance, const rex::Digest& action_digest) {
  core::Action a;
  a.has_remote = true;
  a.remote = {instance, action_digest.hash(), action_digest.size_bytes()};
  return core::ActionDigest(a);
}

Result<rex::ActionResult> StoredResult(Cas& cas, const core::ActionResult& r) {
  if (r.outputs_digest.empty()) return NotFound("the result has no REAPI ActionResult");
  auto bytes = cas.store().Get(r.outputs_digest);  // one read: the hash names it, the size is its own
  if (!bytes) return NotFound("the ActionResult " + r.outputs_digest + " is no longer in the CAS");
  rex::ActionResult result;
  if (!result.ParseFromString(*bytes)) return Invalid("blob " + r.outputs_digest + " is not an ActionResult");
  return result;
}

std::optional<rex::ActionResult> CompleteResult(Cas& cas, const std::optional<core::ActionResult>& r) {
  if (!r || !r->passed()) return std::nullopt;
  auto stored = StoredResult(cas, *r);
  if (!stored || !cas.MissingOutputs(*stored).empty()) return std::nullopt;
  return std::move(*stored);
}

std::unique_ptr<rex::ContentAddressableStorage::Service> NewCasService(ServiceContext ctx) {
  return std::make_unique<CasService>(ctx);
}
std::unique_ptr<rex::ActionCache::Service> NewActionCacheService(ServiceContext ctx) {
  return std::make_unique<ActionCacheService>(ctx);
}
std::unique_ptr<rex::Capabilities::Service> NewCapabilitiesService(ServiceContext ctx) {
  return std::make_unique<CapabilitiesService>(ctx);
}

}  // namespace mergeyard::exec::reapi
