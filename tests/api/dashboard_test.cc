// The dashboard: static files built into the binary, and the page rendered by
// Debian's headless Chromium against a server with a scenario in progress
// (waiting entries, a speculative stack, a bisection with a failed half, a
// landing and a kick in history, executors and counters, a REAPI action
// beside the pipeline steps with the REAPI and content store counters). The screenshot is
// written next to this test's binary (<build>/tests/api/dashboard.png).

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "exec/core/action.h"
#include "exec/reapi/counters.h"
#include "harness.h"

using namespace mergeyard;
using testing::ApiHarness;
using testing::HarnessOptions;

namespace {

std::string FindChromium() {
  if (const char* env = std::getenv("CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Browser {
  std::string out;     // stdout (the DOM with --dump-dom)
  std::string err;     // stderr (Chromium's log, console messages)
  int exit_code = -1;
};

// Runs headless Chromium (the flags this machine needs: no sandbox as root,
// no background networking) on `url` with `mode` ("--dump-dom" or
// "--screenshot=..."), giving the page `budget_ms` of virtual time.
Browser RunChromium(const std::string& chromium, const std::string& url, const std::string& mode,
                    int budget_ms = 6000) {
  testing::TempDir profile;
  const std::string err_file = profile.File("stderr.txt");
  const std::string cmd =
      "timeout 120 '" + chromium +
      "' --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
      " --disable-background-networking --disable-component-update --disable-sync"
      " --disable-dev-shm-usage --hide-scrollbars --window-size=1400,1900 --enable-logging=stderr --v=0"
      " --user-data-dir='" + profile.File("profile") + "' --virtual-time-budget=" + std::to_string(budget_ms) +
      " " + mode + " '" + url + "' 2>'" + err_file + "'";
  Browser b;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE_MESSAGE(p, "cannot run " << cmd);
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) b.out.append(buf, n);
  const int status = ::pclose(p);
  b.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  b.err = ReadFile(err_file);
  return b;
}

// The opening tags of elements with data-testid="<testid>" and every attribute of `attrs`.
int CountElements(const std::string& dom, const std::string& testid,
                  const std::map<std::string, std::string>& attrs = {}) {
  int found = 0;
  for (size_t start = dom.find('<'); start != std::string::npos; start = dom.find('<', start + 1)) {
    const size_t end = dom.find('>', start);
    if (end == std::string::npos) break;
    const std::string t = dom.substr(start, end - start + 1);
    if (t.find("data-testid=\"" + testid + "\"") == std::string::npos) continue;
    bool all = true;
    for (const auto& [k, v] : attrs) all = all && t.find(k + "=\"" + v + "\"") != std::string::npos;
    found += all;
  }
  return found;
}

std::string Str(std::int64_t v) { return std::to_string(v); }

std::string ArtifactDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path().string() : exe.parent_path().string();
}

}  // namespace

TEST_SUITE("api") {

TEST_CASE("GET / serves the dashboard page and its assets from the binary") {
  ApiHarness h;
  auto page = h.Get("/");
  REQUIRE(page.status == 200);
  CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
  CHECK(page.text.find("<title>mergeyard</title>") != std::string::npos);
  CHECK(page.text.find(R"(<script src="/dashboard/app.js" defer></script>)") != std::string::npos);
  CHECK(page.text.find("https://") == std::string::npos);  // nothing from a CDN
  CHECK(page.header("Content-Security-Policy").find("default-src 'none'") != std::string::npos);
  CHECK(page.header("X-Content-Type-Options") == "nosniff");

  auto js = h.Get("/dashboard/app.js");
  REQUIRE(js.status == 200);
  CHECK(js.header("Content-Type") == "text/javascript; charset=utf-8");
  CHECK(js.text.find("/api/v1/queues") != std::string::npos);
  auto css = h.Get("/dashboard/style.css");
  REQUIRE(css.status == 200);
  CHECK(css.header("Content-Type") == "text/css; charset=utf-8");
  // The embedded bytes are the source files.
  const char* root = std::getenv("MERGEYARD_SOURCE_ROOT");
  if (root) {
    CHECK(js.text == ReadFile(std::string(root) + "/src/api/dashboard/app.js"));
    CHECK(css.text == ReadFile(std::string(root) + "/src/api/dashboard/style.css"));
    CHECK(page.text == ReadFile(std::string(root) + "/src/api/dashboard/index.html"));
  }

  auto missing = h.Get("/dashboard/nope.js");
  CHECK(missing.status == 404);
  CHECK(missing.code() == "not_found");
  CHECK(h.Get("/dashboard/openapi.json").status == 404);  // served at /api/v1/openapi.json only
}

TEST_CASE("dashboard files carry an ETag and answer 304 when it still matches") {
  ApiHarness h;
  auto first = h.Get("/dashboard/app.js");
  const std::string etag = first.header("ETag");
  REQUIRE(etag.size() > 2);
  auto again = h.SendRaw("GET", "/dashboard/app.js", "", {{"If-None-Match", etag}});
  CHECK(again.status == 304);
  CHECK(again.text.empty());
  auto stale = h.SendRaw("GET", "/dashboard/app.js", "", {{"If-None-Match", "\"other\""}});
  CHECK(stale.status == 200);
}

TEST_CASE("headless Chromium renders queues, the speculative stack, bisection results, history and executors") {
  const std::string chromium = FindChromium();
  REQUIRE_MESSAGE(!chromium.empty(),
                  "chromium not found on PATH (nor $CHROMIUM): install Debian's chromium package "
                  "(scripts/install-deps.sh does) to run the dashboard browser test");
  exec::reapi::Counters reapi;  // each its own value, so a swapped pair shows
  reapi.executes = 12;
  reapi.cache_hits = 7;
  reapi.merged = 3;
  reapi.executed = 2;
  reapi.hedged = 2;
  HarnessOptions o;
  o.exec = true;
  o.reapi_counters = &reapi;
  ApiHarness h(o);
  auto sc = testing::BuildScenario(h);
  auto ex = testing::BuildExecScenario(h);
  // A REAPI action (as the REAPI server submits it) beside the steps.
  exec::core::Action genrule = testing::TestAction("Genrule", "true");
  genrule.group = "invocation-7";
  genrule.has_remote = true;
  genrule.remote = {"", std::string(64, 'a'), 140};
  auto remote = h.exec().Submit(genrule, {}, nullptr);
  REQUIRE(remote.status == exec::core::SubmitStatus::kQueued);
  const exec::ContentStore::Stats cas = h.exec().content().stats();
  REQUIRE(cas.bytes_written > 0);  // the unit step's log

  Browser b = RunChromium(chromium, h.base_url() + "/", "--dump-dom");
  INFO("chromium stderr:\n" << b.err.substr(0, 4000));
  REQUIRE(b.exit_code == 0);
  const std::string& dom = b.out;
  INFO("DOM:\n" << dom.substr(0, 20000));

  // The page loaded its data and ran without script errors or CSP refusals.
  CHECK(dom.find("data-loaded=\"true\"") != std::string::npos);
  CHECK(dom.find("data-js-error") == std::string::npos);
  CHECK(b.err.find("Uncaught") == std::string::npos);
  CHECK(b.err.find("Refused to") == std::string::npos);

  CHECK(CountElements(dom, "queue", {{"data-repo", "acme/widgets"}, {"data-branch", "main"}, {"data-paused", "false"}}) == 1);
  // Waiting entries, in queue order.
  CHECK(CountElements(dom, "waiting-entry") == 3);
  for (int pr : {207, 208, 209}) CHECK(CountElements(dom, "waiting-entry", {{"data-pr", Str(pr)}}) == 1);
  CHECK(dom.find("data-pr=\"207\"") < dom.find("data-pr=\"208\""));
  // The speculative stack: both main batches testing, the second on the first.
  CHECK(CountElements(dom, "batch", {{"data-batch-id", Str(sc.stack_head)}, {"data-state", "testing"}}) == 1);
  CHECK(CountElements(dom, "batch", {{"data-batch-id", Str(sc.stack_next)}, {"data-state", "testing"}}) == 1);
  CHECK(dom.find("on #" + Str(sc.stack_head)) != std::string::npos);
  CHECK(dom.find("#205 #206") != std::string::npos);
  // The bisection: the failed root, the failed (kicked) half, the half still testing.
  CHECK(CountElements(dom, "bisection", {{"data-root", Str(sc.failed_root)}, {"data-active", "true"}}) == 1);
  CHECK(CountElements(dom, "bisect-node", {{"data-batch-id", Str(sc.failed_root)}, {"data-result", "fail"}}) == 1);
  CHECK(CountElements(dom, "bisect-node", {{"data-batch-id", Str(sc.culprit_node)}, {"data-result", "fail"}}) == 1);
  CHECK(CountElements(dom, "bisect-node", {{"data-batch-id", Str(sc.open_node)}, {"data-result", "testing"}}) == 1);
  // History: the landing and the kick, with the link to the failing log.
  CHECK(CountElements(dom, "history-row", {{"data-kind", "merged"}, {"data-pr", "101"}}) == 1);
  CHECK(CountElements(dom, "history-row", {{"data-kind", "merged"}, {"data-pr", "102"}}) == 1);
  CHECK(CountElements(dom, "history-row", {{"data-kind", "kicked"}, {"data-pr", "201"}}) == 1);
  CHECK(dom.find("href=\"" + sc.kick_log + "\"") != std::string::npos);
  // Executors with their load, executions, counters.
  CHECK(CountElements(dom, "executor", {{"data-id", "runner-1"}}) == 1);
  CHECK(CountElements(dom, "executor", {{"data-id", "runner-2"}}) == 1);
  CHECK(CountElements(dom, "execution", {{"data-id", ex.lint}, {"data-state", "running"}}) == 1);
  CHECK(CountElements(dom, "execution", {{"data-id", ex.unit}, {"data-state", "completed"}}) == 1);
  CHECK(dom.find(R"(data-testid="counter-cache-hits"><div class="value">1</div>)") != std::string::npos);
  CHECK(dom.find(R"(data-testid="counter-merged"><div class="value">1</div>)") != std::string::npos);
  // The REAPI action is marked as such; the steps as steps.
  CHECK(CountElements(dom, "execution", {{"data-id", remote.execution}, {"data-kind", "reapi"}}) == 1);
  CHECK(CountElements(dom, "execution", {{"data-id", ex.unit}, {"data-kind", "step"}}) == 1);
  CHECK(CountElements(dom, "execution", {{"data-id", ex.lint}, {"data-kind", "step"}}) == 1);
  CHECK(dom.find(">Genrule</td><td title=\"invocation id\">invocation-7</td>") != std::string::npos);
  // The executions panel's counters: REAPI calls and the content store's bytes in and out.
  CHECK(CountElements(dom, "counter-reapi-cache-hits", {{"data-value", "7"}}) == 1);
  CHECK(CountElements(dom, "counter-reapi-merged", {{"data-value", "3"}}) == 1);
  CHECK(CountElements(dom, "counter-reapi-hedged", {{"data-value", "2"}}) == 1);
  CHECK(CountElements(dom, "counter-reapi-executes", {{"data-value", "12"}}) == 1);
  CHECK(CountElements(dom, "counter-cas-bytes-in", {{"data-value", Str(static_cast<std::int64_t>(cas.bytes_written))}}) == 1);
  CHECK(CountElements(dom, "counter-cas-bytes-out", {{"data-value", Str(static_cast<std::int64_t>(cas.bytes_read))}}) == 1);
  CHECK(CountElements(dom, "counter-cas-stored", {{"data-value", Str(cas.bytes)}}) == 1);
  CHECK(dom.find(R"(data-testid="counter-reapi-cache-hits" data-value="7"><div class="value">7</div><div class="label">REAPI cache hits</div>)") != std::string::npos);
  CHECK(CountElements(dom, "no-reapi") == 0);

  const std::string png = ArtifactDir() + "/dashboard.png";
  std::filesystem::remove(png);
  Browser shot = RunChromium(chromium, h.base_url() + "/", "--screenshot=" + png);
  INFO("chromium stderr:\n" << shot.err.substr(0, 4000));
  CHECK(shot.exit_code == 0);
  REQUIRE(std::filesystem::exists(png));
  const std::string bytes = ReadFile(png);
  CHECK(bytes.size() > 20000);
  CHECK(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  MESSAGE("dashboard screenshot: " << png);
}

}  // TEST_SUITE
