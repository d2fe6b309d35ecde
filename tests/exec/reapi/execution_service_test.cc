// Execute and WaitExecution over real gRPC on loopback, run by the local
// executor (sandboxed where bubblewrap works).
#include <doctest/doctest.h>

#include <future>
#include <thread>

#include "exec/reapi/execution_service.h"
#include "reapi_test_util.h"

using namespace mergeyard;
using namespace mergeyard::exec::reapi;
using namespace mergeyard::exec::reapi::testing;

namespace {

std::string OutputFile(Client& c, const rex::ActionResult& r, const std::string& path) {
  for (const auto& f : r.output_files())
    if (f.path() == path) return c.Read(f.digest());
  return "<no output " + path + ">";
}

int Executions(TestServer& s) {
  int n = 0;
  for (const auto& v : s.stack->service().ListExecutions(1000))
    if (v.digest.rfind("reapi:", 0) == 0) ++n;
  return n;
}

}  // namespace

TEST_SUITE("reapi") {

TEST_CASE("an action runs on its input root, its outputs come back, and a second Execute is a cache hit") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  rex::Digest lib = UploadDir(c, {{"words.txt", {"alpha\nbeta\n", false}}});
  rex::Digest root = UploadDir(c, {{"tool.sh", {"#!/bin/sh\ntr a-z A-Z < lib/words.txt\n", true}}}, {{"lib", lib}});
  ActionSpec spec;
  spec.argv = {"sh", "-c", "./tool.sh > out/upper.txt && mkdir -p gen/sub && echo deep > gen/sub/f && echo to-stderr >&2 && echo $GREETING"};
  spec.input_root = root;
  spec.output_files = {"out/upper.txt"};
  spec.output_directories = {"gen"};
  spec.env = {{"GREETING", "hi"}};
  rex::Digest action = UploadAction(c, spec);

  std::vector<Operation> ops;
  rex::ExecuteResponse resp = c.Execute(action, false, &ops);
  REQUIRE(c.last_status.ok());
  CHECK(resp.status().code() == 0);
  CHECK(!resp.cached_result());
  CHECK(resp.result().exit_code() == 0);
  CHECK(OutputFile(c, resp.result(), "out/upper.txt") == "ALPHA\nBETA\n");
  CHECK(c.Read(resp.result().stdout_digest()) == "hi\n");
  CHECK(c.Read(resp.result().stderr_digest()) == "to-stderr\n");
  REQUIRE(resp.result().output_directories_size() == 1);
  rex::Tree tree;
  REQUIRE(tree.ParseFromString(c.Read(resp.result().output_directories(0).tree_digest())));
  REQUIRE(tree.root().directories_size() == 1);
  CHECK(tree.root().directories(0).name() == "sub");
  REQUIRE(tree.children_size() == 1);
  CHECK(c.Read(tree.children(0).files(0).digest()) == "deep\n");
  REQUIRE(ops.size() >= 2);
  rex::ExecuteOperationMetadata meta;
  REQUIRE(ops.front().metadata().UnpackTo(&meta));
  CHECK(meta.action_digest().hash() == action.hash());
  CHECK(ops.back().done());
  CHECK(ops.front().name().find("operations/") != std::string::npos);
  // ExecutedActionMetadata names the worker and times each phase, in order.
  const auto& m = resp.result().execution_metadata();
  CHECK(!m.worker().empty());
  auto us = [](const google::protobuf::Timestamp& t) { return t.seconds() * 1000000 + t.nanos() / 1000; };
  CHECK(us(m.worker_start_timestamp()) > 0);
  CHECK(us(m.worker_start_timestamp()) <= us(m.input_fetch_completed_timestamp()));
  CHECK(us(m.input_fetch_completed_timestamp()) <= us(m.execution_start_timestamp()));
  CHECK(us(m.execution_start_timestamp()) < us(m.execution_completed_timestamp()));
  CHECK(us(m.execution_completed_timestamp()) <= us(m.output_upload_completed_timestamp()));
  CHECK(us(m.worker_completed_timestamp()) == us(m.output_upload_completed_timestamp()));

  rex::ExecuteResponse again = c.Execute(action);
  CHECK(again.cached_result());
  CHECK(again.result().output_files(0).digest().hash() == resp.result().output_files(0).digest().hash());
  CHECK(s.counters().cache_hits == 1);
  CHECK(s.counters().executed == 1);

  rex::ActionResult from_ac;
  rex::GetActionResultRequest get;
  *get.mutable_action_digest() = action;
  auto ctx = c.Ctx();
  CHECK(c.ac->GetActionResult(ctx.get(), get, &from_ac).ok());
}

TEST_CASE("output_paths (v2.1) collect files and directories alike") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  ActionSpec spec;
  spec.argv = {"sh", "-c", "echo f > a/file && mkdir -p b/dir && echo g > b/dir/g"};
  spec.input_root = EmptyDir(c);
  spec.output_paths = {"a/file", "b/dir"};
  rex::ExecuteResponse resp = c.Execute(UploadAction(c, spec));
  REQUIRE(resp.status().code() == 0);
  CHECK(OutputFile(c, resp.result(), "a/file") == "f\n");
  REQUIRE(resp.result().output_directories_size() == 1);
  CHECK(resp.result().output_directories(0).path() == "b/dir");
}

TEST_CASE("a failing action reports its exit code and is not cached") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  ActionSpec spec;
  spec.argv = {"sh", "-c", "echo broken >&2; exit 3"};
  spec.input_root = EmptyDir(c);
  rex::Digest action = UploadAction(c, spec);
  rex::ExecuteResponse resp = c.Execute(action);
  CHECK(resp.status().code() == 0);
  CHECK(resp.result().exit_code() == 3);
  CHECK(c.Read(resp.result().stderr_digest()) == "broken\n");
  rex::ExecuteResponse again = c.Execute(action);
  CHECK(!again.cached_result());
  CHECK(s.counters().executed == 2);
}

TEST_CASE("an action past its timeout ends with DEADLINE_EXCEEDED") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  ActionSpec spec;
  spec.argv = {"sleep", "30"};
  spec.input_root = EmptyDir(c);
  spec.timeout_s = 1;
  auto start = std::chrono::steady_clock::now();
  rex::ExecuteResponse resp = c.Execute(UploadAction(c, spec));
  CHECK(resp.status().code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
}

TEST_CASE("an action whose input is not in the CAS is refused with FAILED_PRECONDITION naming the blob") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  rex::Directory d;
  auto* f = d.add_files();
  f->set_name("input.txt");
  *f->mutable_digest() = DigestOf("never uploaded");
  ActionSpec spec;
  spec.argv = {"cat", "input.txt"};
  spec.input_root = c.UploadMessage(d);
  c.Execute(UploadAction(c, spec));
  REQUIRE(c.last_status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  google::rpc::Status detail;
  REQUIRE(detail.ParseFromString(c.last_status.error_details()));
  REQUIRE(detail.details_size() == 1);
  google::rpc::PreconditionFailure pf;
  REQUIRE(detail.details(0).UnpackTo(&pf));
  REQUIRE(pf.violations_size() == 1);
  CHECK(pf.violations(0).type() == "MISSING");
  CHECK(pf.violations(0).subject() == "blobs/" + DigestString(DigestOf("never uploaded")));
  CHECK(Executions(s) == 0);

  // An Action that is not in the CAS at all, and a malformed digest.
  c.Execute(DigestOf("no such action"));
  CHECK(c.last_status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  c.Execute(MakeDigest("xyz", 1));
  CHECK(c.last_status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // A Command that escapes the input root.
  ActionSpec escape;
  escape.argv = {"true"};
  escape.input_root = EmptyDir(c);
  escape.output_files = {"../outside"};
  c.Execute(UploadAction(c, escape));
  CHECK(c.last_status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("two concurrent Executes of one action share one execution and both get its result") {
  TestServer s;
  REQUIRE(s.stack);
  Client c1(s.target()), c2(s.target());
  ActionSpec spec;
  spec.argv = {"sh", "-c", "sleep 1; date +%s%N > stamp"};
  spec.input_root = EmptyDir(c1);
  spec.output_files = {"stamp"};
  rex::Digest action = UploadAction(c1, spec);
  auto first = std::async(std::launch::async, [&] { return c1.Execute(action, false, nullptr, "build-1"); });
  REQUIRE(exec::testing::WaitFor([&] { return Executions(s) == 1; }));
  auto second = std::async(std::launch::async, [&] { return c2.Execute(action, false, nullptr, "build-2"); });
  rex::ExecuteResponse a = first.get(), b = second.get();
  REQUIRE(a.status().code() == 0);
  REQUIRE(b.status().code() == 0);
  CHECK(a.result().output_files(0).digest().hash() == b.result().output_files(0).digest().hash());
  CHECK(Executions(s) == 1);
  CHECK(s.counters().executed == 1);
  CHECK(s.counters().merged == 1);
}

TEST_CASE("the operation offers a log stream that shows the output while the action runs and ends with it") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  ActionSpec spec;
  spec.argv = {"sh", "-c", "echo early-line; echo err-line >&2; sleep 2; echo late-line"};
  spec.input_root = EmptyDir(c);
  rex::Digest action = UploadAction(c, spec);
  auto ctx = c.Ctx();
  rex::ExecuteRequest req;
  *req.mutable_action_digest() = action;
  auto reader = c.exec->Execute(ctx.get(), req);
  Operation op;
  REQUIRE(reader->Read(&op));
  rex::ExecuteOperationMetadata meta;
  REQUIRE(op.metadata().UnpackTo(&meta));
  REQUIRE(meta.stdout_stream_name().find("logs/") != std::string::npos);

  // Follow the stream on this thread while the Execute call waits.
  google::bytestream::ReadRequest read;
  read.set_resource_name(meta.stdout_stream_name());
  auto rctx = c.Ctx();
  auto stream = c.bytestream->Read(rctx.get(), read);
  google::bytestream::ReadResponse chunk;
  std::string seen;
  bool early_while_running = false;
  while (stream->Read(&chunk)) {
    seen += chunk.data();
    if (seen.find("early-line") != std::string::npos && seen.find("late-line") == std::string::npos) {
      for (const auto& v : s.stack->service().ListExecutions(10))
        if (v.state == exec::core::ExecState::kRunning) early_while_running = true;
    }
  }
  CHECK(stream->Finish().ok());
  CHECK(early_while_running);
  CHECK(seen.find("err-line") != std::string::npos);
  CHECK(seen.find("late-line") != std::string::npos);
  CHECK(seen.find("[mergeyard] exit code 0") != std::string::npos);
  while (reader->Read(&op)) {
  }
  CHECK(reader->Finish().ok());
  CHECK(op.done());

  // Once over, the stream answers at once from an offset; unknown ones are NOT_FOUND.
  read.set_read_offset(static_cast<std::int64_t>(seen.find("late-line")));
  auto again_ctx = c.Ctx();
  auto again = c.bytestream->Read(again_ctx.get(), read);
  std::string rest;
  while (again->Read(&chunk)) rest += chunk.data();
  CHECK(again->Finish().ok());
  CHECK(rest.rfind("late-line", 0) == 0);
  read.set_resource_name("logs/no-such-execution");
  read.set_read_offset(0);
  auto none_ctx = c.Ctx();
  auto none = c.bytestream->Read(none_ctx.get(), read);
  while (none->Read(&chunk)) {
  }
  CHECK(none->Finish().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("when every caller goes away the execution is cancelled and its process killed") {
  ServerOptionsForTest o;
  o.grace = 200;
  TestServer s(o);
  REQUIRE(s.stack);
  Client c(s.target());
  exec::testing::TempDir marker;
  ActionSpec spec;
  spec.argv = {"sh", "-c", "sleep 20; echo finished"};
  spec.input_root = EmptyDir(c);
  rex::Digest action = UploadAction(c, spec);
  grpc::ClientContext ctx;
  rex::ExecuteRequest req;
  *req.mutable_action_digest() = action;
  auto reader = c.exec->Execute(&ctx, req);
  Operation op;
  REQUIRE(reader->Read(&op));
  REQUIRE(exec::testing::WaitFor([&] {
    for (const auto& v : s.stack->service().ListExecutions(10))
      if (v.state == exec::core::ExecState::kRunning) return true;
    return false;
  }));
  ctx.TryCancel();
  while (reader->Read(&op)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
  CHECK(exec::testing::WaitFor([&] {
    for (const auto& v : s.stack->service().ListExecutions(10))
      if (v.state == exec::core::ExecState::kCancelled) return true;
    return false;
  }));
  CHECK(exec::testing::WaitFor([&] { return s.counters().cancelled == 1; }));
}

TEST_CASE("WaitExecution follows a known operation to its result and refuses unknown ones") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  ActionSpec spec;
  spec.argv = {"sh", "-c", "sleep 1; echo done > out"};
  spec.input_root = EmptyDir(c);
  spec.output_files = {"out"};
  rex::Digest action = UploadAction(c, spec);
  std::string name;
  {
    grpc::ClientContext ctx;
    rex::ExecuteRequest req;
    *req.mutable_action_digest() = action;
    auto reader = c.exec->Execute(&ctx, req);
    Operation op;
    REQUIRE(reader->Read(&op));
    name = op.name();
    ctx.TryCancel();  // the stream breaks; the execution lives on through the grace
    while (reader->Read(&op)) {
    }
    reader->Finish();
  }
  auto ctx = c.Ctx();
  rex::WaitExecutionRequest wait;
  wait.set_name(name);
  auto reader = c.exec->WaitExecution(ctx.get(), wait);
  Operation op;
  rex::ExecuteResponse resp;
  while (reader->Read(&op))
    if (op.done()) op.response().UnpackTo(&resp);
  REQUIRE(reader->Finish().ok());
  CHECK(resp.status().code() == 0);
  CHECK(OutputFile(c, resp.result(), "out") == "done\n");

  ctx = c.Ctx();
  wait.set_name("operations/nonexistent");
  reader = c.exec->WaitExecution(ctx.get(), wait);
  while (reader->Read(&op)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("do_not_cache actions run every time and skip_cache_lookup runs again") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  ActionSpec spec;
  spec.argv = {"true"};
  spec.input_root = EmptyDir(c);
  spec.do_not_cache = true;
  rex::Digest uncached = UploadAction(c, spec);
  c.Execute(uncached);
  CHECK(!c.Execute(uncached).cached_result());
  spec.do_not_cache = false;
  rex::Digest cached = UploadAction(c, spec);
  c.Execute(cached);
  CHECK(c.Execute(cached).cached_result());
  CHECK(!c.Execute(cached, /*skip_cache=*/true).cached_result());
  CHECK(s.counters().executed == 4);
}

TEST_CASE("a cached result whose outputs were evicted is executed again") {
  TestServer s;
  REQUIRE(s.stack);
  Client c(s.target());
  ActionSpec spec;
  spec.argv = {"sh", "-c", "echo payload > out"};
  spec.input_root = EmptyDir(c);
  spec.output_files = {"out"};
  rex::Digest action = UploadAction(c, spec);
  rex::ExecuteResponse first = c.Execute(action);
  REQUIRE(first.status().code() == 0);
  const auto& out = first.result().output_files(0).digest();
  std::filesystem::remove(s.stack->service().content().PathOf(out.hash()));
  s.stack->service().content().Open();  // re-index: the blob is gone
  rex::ExecuteResponse second = c.Execute(action);
  CHECK(!second.cached_result());
  CHECK(OutputFile(c, second.result(), "out") == "payload\n");
}

}  // TEST_SUITE
