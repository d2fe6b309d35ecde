// The CAS, ByteStream, ActionCache and Capabilities services over real gRPC
// on loopback.
#include <doctest/doctest.h>

#include "reapi_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec::reapi;
using namespace mergeyard::exec::reapi::testing;

TEST_SUITE("reapi") {

TEST_CASE("capabilities advertise SHA-256, execution and action cache updates") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  rex::ServerCapabilities caps;
  auto ctx = c.Ctx();
  REQUIRE(c.caps->GetCapabilities(ctx.get(), rex::GetCapabilitiesRequest(), &caps).ok());
  REQUIRE(caps.cache_capabilities().digest_function_size() == 1);
  CHECK(caps.cache_capabilities().digest_function(0) == rex::DigestFunction::SHA256);
  CHECK(caps.cache_capabilities().action_cache_update_capabilities().update_enabled());
  CHECK(caps.cache_capabilities().max_batch_total_size_bytes() > 0);
  CHECK(caps.execution_capabilities().exec_enabled());
  CHECK(caps.execution_capabilities().digest_function() == rex::DigestFunction::SHA256);
  CHECK(caps.low_api_version().major() == 2);
  CHECK(caps.high_api_version().minor() >= 1);
}

TEST_CASE("uploaded blobs are found, read back, and wrong digests are refused per blob") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  rex::Digest hello = c.Upload("hello");
  REQUIRE(c.last_status.ok());
  rex::Digest absent = DigestOf("never uploaded");

  rex::FindMissingBlobsRequest find;
  *find.add_blob_digests() = hello;
  *find.add_blob_digests() = absent;
  *find.add_blob_digests() = DigestOf("");  // the empty blob is always there
  rex::FindMissingBlobsResponse missing;
  auto ctx = c.Ctx();
  REQUIRE(c.cas->FindMissingBlobs(ctx.get(), find, &missing).ok());
  REQUIRE(missing.missing_blob_digests_size() == 1);
  CHECK(missing.missing_blob_digests(0).hash() == absent.hash());

  rex::BatchReadBlobsRequest read;
  *read.add_digests() = hello;
  *read.add_digests() = absent;
  rex::BatchReadBlobsResponse got;
  ctx = c.Ctx();
  REQUIRE(c.cas->BatchReadBlobs(ctx.get(), read, &got).ok());
  REQUIRE(got.responses_size() == 2);
  CHECK(got.responses(0).status().code() == 0);
  CHECK(got.responses(0).data() == "hello");
  CHECK(got.responses(1).status().code() == grpc::StatusCode::NOT_FOUND);

  rex::BatchUpdateBlobsRequest bad;
  auto* r = bad.add_requests();
  *r->mutable_digest() = DigestOf("what the client claims");
  r->set_data("something else");
  rex::BatchUpdateBlobsResponse bad_resp;
  ctx = c.Ctx();
  REQUIRE(c.cas->BatchUpdateBlobs(ctx.get(), bad, &bad_resp).ok());
  REQUIRE(bad_resp.responses_size() == 1);
  CHECK(bad_resp.responses(0).status().code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(!s.stack->service().content().Has(DigestOf("something else").hash()));

  rex::FindMissingBlobsRequest malformed;
  *malformed.add_blob_digests() = MakeDigest("not-a-hash", 3);
  ctx = c.Ctx();
  CHECK(c.cas->FindMissingBlobs(ctx.get(), malformed, &missing).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("a blob larger than the gRPC message limit goes through ByteStream, with offsets and limits") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  std::string big(5 * 1024 * 1024 + 123, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 5);
  rex::Digest d = DigestOf(big);

  auto ctx = c.Ctx();
  google::bytestream::WriteResponse wr;
  auto writer = c.bytestream->Write(ctx.get(), &wr);
  const std::string name = "my/instance/uploads/0f6c-uuid/blobs/" + DigestString(d);
  std::size_t chunk = 1 << 20;
  for (std::size_t at = 0; at < big.size(); at += chunk) {
    google::bytestream::WriteRequest req;
    if (at == 0) req.set_resource_name(name);
    req.set_write_offset(static_cast<std::int64_t>(at));
    req.set_data(big.substr(at, chunk));
    req.set_finish_write(at + chunk >= big.size());
    REQUIRE(writer->Write(req));
  }
  writer->WritesDone();
  REQUIRE(writer->Finish().ok());
  CHECK(wr.committed_size() == static_cast<std::int64_t>(big.size()));

  CHECK(c.Read(d) == big);
  google::bytestream::ReadRequest part;
  part.set_resource_name("my/instance/blobs/" + DigestString(d));
  part.set_read_offset(4 * 1024 * 1024);
  part.set_read_limit(1000);
  ctx = c.Ctx();
  auto reader = c.bytestream->Read(ctx.get(), part);
  google::bytestream::ReadResponse rr;
  std::string got;
  while (reader->Read(&rr)) got += rr.data();
  REQUIRE(reader->Finish().ok());
  CHECK(got == big.substr(4 * 1024 * 1024, 1000));

  part.set_read_offset(static_cast<std::int64_t>(big.size()) + 1);
  ctx = c.Ctx();
  reader = c.bytestream->Read(ctx.get(), part);
  while (reader->Read(&rr)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::OUT_OF_RANGE);

  part.set_resource_name("blobs/" + DigestString(DigestOf("absent")));
  part.set_read_offset(0);
  ctx = c.Ctx();
  reader = c.bytestream->Read(ctx.get(), part);
  while (reader->Read(&rr)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("a write that breaks off resumes at the committed size and is verified at the end") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  std::string data(300000, 'x');
  data[1234] = 'y';
  rex::Digest d = DigestOf(data);
  const std::string name = "uploads/resume-1/blobs/" + DigestString(d);
  {
    auto ctx = c.Ctx();
    google::bytestream::WriteResponse wr;
    auto writer = c.bytestream->Write(ctx.get(), &wr);
    google::bytestream::WriteRequest req;
    req.set_resource_name(name);
    req.set_data(data.substr(0, 100000));
    REQUIRE(writer->Write(req));
    writer->WritesDone();  // ends without finish_write
    CHECK(!writer->Finish().ok());
  }
  google::bytestream::QueryWriteStatusRequest q;
  q.set_resource_name(name);
  google::bytestream::QueryWriteStatusResponse qr;
  auto ctx = c.Ctx();
  REQUIRE(c.bytestream->QueryWriteStatus(ctx.get(), q, &qr).ok());
  CHECK(qr.committed_size() == 100000);
  CHECK(!qr.complete());

  ctx = c.Ctx();
  google::bytestream::WriteResponse wr;
  auto writer = c.bytestream->Write(ctx.get(), &wr);
  google::bytestream::WriteRequest req;
  req.set_resource_name(name);
  req.set_write_offset(100000);
  req.set_data(data.substr(100000));
  req.set_finish_write(true);
  REQUIRE(writer->Write(req));
  writer->WritesDone();
  REQUIRE(writer->Finish().ok());
  CHECK(c.Read(d) == data);
  ctx = c.Ctx();
  REQUIRE(c.bytestream->QueryWriteStatus(ctx.get(), q, &qr).ok());
  CHECK(qr.complete());

  // Data that does not match the digest in the name is refused and not kept.
  rex::Digest claimed = DigestOf("claimed");
  ctx = c.Ctx();
  auto bad = c.bytestream->Write(ctx.get(), &wr);
  req.set_resource_name("uploads/u2/blobs/" + DigestString(claimed));
  req.set_write_offset(0);
  req.set_data("clAimed");
  req.set_finish_write(true);
  bad->Write(req);
  bad->WritesDone();
  CHECK(bad->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(!s.stack->service().content().Has(claimed.hash()));
}

TEST_CASE("the action cache answers complete results only and stores what clients report") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  rex::Digest action = DigestOf("some action");
  rex::GetActionResultRequest get;
  *get.mutable_action_digest() = action;
  rex::ActionResult r;
  auto ctx = c.Ctx();
  CHECK(c.ac->GetActionResult(ctx.get(), get, &r).error_code() == grpc::StatusCode::NOT_FOUND);

  rex::ActionResult report;
  auto* f = report.add_output_files();
  f->set_path("out.txt");
  *f->mutable_digest() = DigestOf("output");  // not uploaded yet
  rex::UpdateActionResultRequest update;
  *update.mutable_action_digest() = action;
  *update.mutable_action_result() = report;
  ctx = c.Ctx();
  grpc::Status st = c.ac->UpdateActionResult(ctx.get(), update, &r);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  c.Upload("output");
  ctx = c.Ctx();
  REQUIRE(c.ac->UpdateActionResult(ctx.get(), update, &r).ok());
  ctx = c.Ctx();
  REQUIRE(c.ac->GetActionResult(ctx.get(), get, &r).ok());
  REQUIRE(r.output_files_size() == 1);
  CHECK(r.output_files(0).digest().hash() == DigestOf("output").hash());

  // Another instance name is another cache.
  get.set_instance_name("other");
  ctx = c.Ctx();
  CHECK(c.ac->GetActionResult(ctx.get(), get, &r).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("GetTree returns every directory of a tree, in pages") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  rex::Digest leaf = UploadDir(c, {{"f", {"leaf file", false}}});
  rex::Digest mid = UploadDir(c, {}, {{"a", leaf}, {"b", leaf}});
  rex::Digest root = UploadDir(c, {{"top", {"x", true}}}, {{"mid", mid}});
  rex::GetTreeRequest req;
  *req.mutable_root_digest() = root;
  req.set_page_size(2);
  std::vector<std::string> seen;
  int pages = 0;
  {
    auto ctx = c.Ctx();
    auto reader = c.cas->GetTree(ctx.get(), req);  // every page comes in this one stream
    rex::GetTreeResponse resp;
    while (reader->Read(&resp)) {
      ++pages;
      for (const auto& d : resp.directories()) seen.push_back(DigestOf(d.SerializeAsString()).hash());
    }
    REQUIRE(reader->Finish().ok());
  }
  CHECK(pages == 2);
  CHECK(seen == std::vector<std::string>{root.hash(), mid.hash(), leaf.hash()});  // the shared leaf once

  *req.mutable_root_digest() = DigestOf("not a directory that exists");
  auto ctx = c.Ctx();
  auto reader = c.cas->GetTree(ctx.get(), req);
  rex::GetTreeResponse resp;
  while (reader->Read(&resp)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("with TLS configured the listener speaks TLS and plaintext clients fail") {
  exec::testing::TempDir certs;
  const std::string cert = certs.path + "/cert.pem", key = certs.path + "/key.pem";
  int rc = exec::testing::Sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
                             "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " + key +
                             " -out " + cert + " >/dev/null 2>&1");
  REQUIRE(rc == 0);
  ServerOptionsForTest o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  TestServer s(o);
  REQUIRE(s.stack);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = exec::testing::ReadFile(cert);
  Client secure(s.target(), "", grpc::SslCredentials(ssl));
  rex::ServerCapabilities caps;
  auto ctx = secure.Ctx();
  CHECK(secure.caps->GetCapabilities(ctx.get(), {}, &caps).ok());
  Client plain(s.target());
  ctx = plain.Ctx();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  CHECK(!plain.caps->GetCapabilities(ctx.get(), {}, &caps).ok());
}

TEST_CASE("with a token configured, calls without it are UNAUTHENTICATED") {
  ServerOptionsForTest o;
  o.token = "s3cret";
  TestServer s(o);
  REQUIRE(s.stack);
  Client anonymous(s.target());
  Client wrong(s.target(), "guess");
  Client right(s.target(), "s3cret");
  rex::ServerCapabilities caps;
  auto ctx = anonymous.Ctx();
  CHECK(anonymous.caps->GetCapabilities(ctx.get(), {}, &caps).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  ctx = wrong.Ctx();
  CHECK(wrong.caps->GetCapabilities(ctx.get(), {}, &caps).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  anonymous.Upload("x");
  CHECK(anonymous.last_status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  ctx = right.Ctx();
  CHECK(right.caps->GetCapabilities(ctx.get(), {}, &caps).ok());
}

}  // TEST_SUITE
