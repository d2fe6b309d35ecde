// The admin token: mutating routes need `Authorization: Bearer <token>`
// (401 without, 403 when wrong, 403 admin_disabled when none is configured);
// the dashboard's read routes and the OpenAPI document are open.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include "api/auth.h"
#include "harness.h"

using namespace mergeyard;
using testing::ApiHarness;
using testing::HarnessOptions;

TEST_SUITE("api") {

TEST_CASE("a mutating route without an Authorization header answers 401 with a JSON error") {
  ApiHarness h;
  h.Post(queue::TargetMoved{testing::Sha('f', 1)});
  auto r = h.Send("POST", "/api/v1/repos/acme/widgets/queue/pause");
  CHECK(r.status == 401);
  CHECK(r.code() == "unauthorized");
  CHECK(r.body["error"]["message"].get<std::string>().find("Bearer") != std::string::npos);
  CHECK(r.header("WWW-Authenticate").find("Bearer") == 0);
  CHECK(r.header("Content-Type") == "application/json");
  h.Drain();
  CHECK_FALSE(h.State().paused);
}

TEST_CASE("a wrong token answers 403 and changes nothing") {
  ApiHarness h;
  h.Post(queue::TargetMoved{testing::Sha('f', 1)});
  for (const std::string wrong : {"admin-secreT", "admin-secret-and-more", "admin-secre", "x"}) {
    auto r = h.Send("POST", "/api/v1/repos/acme/widgets/queue/pause", "", wrong);
    CHECK(r.status == 403);
    CHECK(r.code() == "forbidden");
  }
  h.Drain();
  CHECK_FALSE(h.State().paused);
}

TEST_CASE("another scheme than Bearer counts as missing credentials") {
  ApiHarness h;
  h.Post(queue::TargetMoved{testing::Sha('f', 1)});
  auto r = h.SendRaw("POST", "/api/v1/repos/acme/widgets/queue/pause", "",
                     {{"Authorization", "Basic YWRtaW46YWRtaW4tc2VjcmV0"}});
  CHECK(r.status == 401);
  r = h.SendRaw("POST", "/api/v1/repos/acme/widgets/queue/pause", "", {{"Authorization", "Bearer "}});
  CHECK(r.status == 401);
}

TEST_CASE("the right token is accepted, with the scheme in any case") {
  ApiHarness h;
  h.Post(queue::TargetMoved{testing::Sha('f', 1)});
  auto r = h.SendRaw("POST", "/api/v1/repos/acme/widgets/queue/pause", "",
                     {{"Authorization", "bearer admin-secret"}});
  CHECK(r.status == 202);
  h.Drain();
  CHECK(h.State().paused);
}

TEST_CASE("without a configured admin token every admin route answers 403 and says why") {
  HarnessOptions o;
  o.admin_token = "";
  ApiHarness h(o);
  h.Post(queue::TargetMoved{testing::Sha('f', 1)});
  h.Enqueue(5);
  struct Call { const char* method; const char* path; const char* body; };
  for (const Call& c : {Call{"POST", "/api/v1/repos/acme/widgets/queue/pause", ""},
                        Call{"POST", "/api/v1/repos/acme/widgets/queue/resume", ""},
                        Call{"POST", "/api/v1/repos/acme/widgets/entries", R"({"pr": 5})"},
                        Call{"PATCH", "/api/v1/repos/acme/widgets/entries/5", R"({"priority": 1})"},
                        Call{"DELETE", "/api/v1/repos/acme/widgets/entries/5", ""}}) {
    CAPTURE(c.method);
    CAPTURE(c.path);
    for (std::optional<std::string> token : {std::optional<std::string>{}, std::optional<std::string>{""},
                                             std::optional<std::string>{"anything"}}) {
      auto r = h.Send(c.method, c.path, c.body, token);
      CHECK(r.status == 403);
      CHECK(r.code() == "admin_disabled");
      CHECK(r.body["error"]["message"].get<std::string>().find("no admin token is configured") !=
            std::string::npos);
    }
  }
  h.Drain();
  CHECK_FALSE(h.State().paused);
  CHECK(h.State().entries.count(5) == 1);
}

TEST_CASE("the dashboard's read routes and the OpenAPI document need no token") {
  HarnessOptions o;
  o.exec = true;
  ApiHarness h(o);
  h.Post(queue::TargetMoved{testing::Sha('f', 1)});
  for (const char* path : {"/api/v1/queues", "/api/v1/repos/acme/widgets/queue", "/api/v1/executions",
                           "/api/v1/executors", "/api/v1/openapi.json", "/"}) {
    CAPTURE(path);
    CHECK(h.Get(path).status == 200);
  }
  // The execution backend's own routes keep their token.
  CHECK(h.Get("/api/v1/executions/e1").status == 401);
}

TEST_CASE("token checks compare SHA-256 digests: verdicts for every length and position of a difference") {
  api::AdminAuth auth("0123456789abcdef");
  CHECK(auth.configured());
  CHECK(auth.Judge("Bearer 0123456789abcdef") == api::AuthVerdict::kOk);
  CHECK(auth.Judge("BEARER 0123456789abcdef") == api::AuthVerdict::kOk);
  CHECK(auth.Judge("Bearer 0123456789abcdeF") == api::AuthVerdict::kWrong);
  CHECK(auth.Judge("Bearer X123456789abcdef") == api::AuthVerdict::kWrong);
  CHECK(auth.Judge("Bearer 0123456789abcde") == api::AuthVerdict::kWrong);
  CHECK(auth.Judge("Bearer 0123456789abcdef0") == api::AuthVerdict::kWrong);
  CHECK(auth.Judge("Bearer " + std::string(100000, 'z')) == api::AuthVerdict::kWrong);
  CHECK(auth.Judge("") == api::AuthVerdict::kMissing);
  CHECK(auth.Judge("Bearer") == api::AuthVerdict::kMissing);
  CHECK(auth.Judge("Token 0123456789abcdef") == api::AuthVerdict::kMissing);
  CHECK(api::AdminAuth("").Judge("Bearer ") == api::AuthVerdict::kNotConfigured);
  CHECK(api::AdminAuth("").Judge("Bearer anything") == api::AuthVerdict::kNotConfigured);
}

TEST_CASE("the time to reject a token does not depend on how much of it matches") {
  // A byte-by-byte comparison returns sooner the earlier the first difference;
  // comparing digests takes the same time for both. Long tokens make a naive
  // compare's difference large; the bound is loose so a busy machine cannot fail it.
  const std::string secret(1 << 20, 's');
  api::AdminAuth auth(secret);
  std::string late = "Bearer " + secret;
  late.back() = 't';  // differs in the last byte
  std::string early = "Bearer " + secret;
  early[7] = 't';     // differs in the first byte
  auto median_us = [&](const std::string& header) {
    std::vector<double> t;
    for (int i = 0; i < 15; ++i) {
      auto start = std::chrono::steady_clock::now();
      CHECK(auth.Judge(header) == api::AuthVerdict::kWrong);
      t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  };
  median_us(late);  // warm up
  const double a = median_us(late), b = median_us(early);
  CAPTURE(a);
  CAPTURE(b);
  CHECK(a / b < 2.0);
  CHECK(b / a < 2.0);
}

}  // TEST_SUITE
