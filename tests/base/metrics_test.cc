#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/metrics.h"

using namespace mergeyard;
using namespace mergeyard::metrics;

namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool HasLine(const std::string& text, const std::string& line) {
  for (const auto& l : Lines(text))
    if (l == line) return true;
  return false;
}

}  // namespace

TEST_SUITE("base") {

TEST_CASE("counters and gauges render with HELP, TYPE and sorted label sets") {
  Registry r;
  auto& deliveries = r.Counters("x_deliveries_total", "Deliveries by result.", {"forge", "result"});
  deliveries.With({"gitlab", "accepted"}).Inc();
  deliveries.With({"github", "accepted"}).Inc(2);
  deliveries.With({"github", "bad_signature"}).Inc();
  r.Gauges("x_depth", "Queue depth.").Get().Set(7);
  CHECK(r.Render() ==
        "# HELP x_deliveries_total Deliveries by result.\n"
        "# TYPE x_deliveries_total counter\n"
        "x_deliveries_total{forge=\"github\",result=\"accepted\"} 2\n"
        "x_deliveries_total{forge=\"github\",result=\"bad_signature\"} 1\n"
        "x_deliveries_total{forge=\"gitlab\",result=\"accepted\"} 1\n"
        "# HELP x_depth Queue depth.\n"
        "# TYPE x_depth gauge\n"
        "x_depth 7\n");
}

TEST_CASE("a family without labels renders 0 at once; a labelled one only once it has a child") {
  Registry r;
  r.Counters("a_total", "A.");
  r.Counters("b_total", "B.", {"kind"});
  CHECK(r.Render() == "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n");
}

TEST_CASE("label values and help texts are escaped") {
  Registry r;
  r.Gauges("g", "Help with \\ and\nnewline \"quoted\".", {"repo"}).With({"a\"b\\c\nd"}).Set(1);
  const std::string text = r.Render();
  CHECK(HasLine(text, "# HELP g Help with \\\\ and\\nnewline \"quoted\"."));
  CHECK(HasLine(text, "g{repo=\"a\\\"b\\\\c\\nd\"} 1"));
  CHECK(EscapeLabelValue("plain/repo-1.x") == "plain/repo-1.x");
}

TEST_CASE("invalid metric and label names are made valid") {
  CHECK(SanitizeName("mergeyard.queue-depth") == "mergeyard_queue_depth");
  CHECK(SanitizeName("9lives") == "_lives");
  CHECK(SanitizeName("a:b") == "a:b");
  CHECK(SanitizeName("a:b", /*label=*/true) == "a_b");
  Registry r;
  r.Gauges("bad name", "x", {"bad-label"}).With({"v"}).Set(1);
  CHECK(HasLine(r.Render(), "bad_name{bad_label=\"v\"} 1"));
}

TEST_CASE("histograms render cumulative buckets up to +Inf, then _sum and _count") {
  Registry r;
  auto& h = r.Histograms("lat_seconds", "Latency.", {"kind"}, {1, 0.5, 2, 2});  // sorted, deduplicated
  Histogram& main = h.With({"main"});
  main.Observe(0.25);
  main.Observe(0.5);  // on a bound: counts in that bucket
  main.Observe(1.5);
  main.Observe(10);
  main.Observe(std::nan(""));  // ignored
  CHECK(r.Render() ==
        "# HELP lat_seconds Latency.\n"
        "# TYPE lat_seconds histogram\n"
        "lat_seconds_bucket{kind=\"main\",le=\"0.5\"} 2\n"
        "lat_seconds_bucket{kind=\"main\",le=\"1\"} 2\n"
        "lat_seconds_bucket{kind=\"main\",le=\"2\"} 3\n"
        "lat_seconds_bucket{kind=\"main\",le=\"+Inf\"} 4\n"
        "lat_seconds_sum{kind=\"main\"} 12.25\n"
        "lat_seconds_count{kind=\"main\"} 4\n");
}

TEST_CASE("a histogram without labels has only le on its buckets") {
  Registry r;
  r.Histograms("h", "H.", {}, {1}).Get().Observe(3);
  CHECK(HasLine(r.Render(), "h_bucket{le=\"1\"} 0"));
  CHECK(HasLine(r.Render(), "h_bucket{le=\"+Inf\"} 1"));
  CHECK(HasLine(r.Render(), "h_sum 3"));
}

TEST_CASE("values are formatted the way Prometheus parses them") {
  CHECK(FormatValue(0) == "0");
  CHECK(FormatValue(-3) == "-3");
  CHECK(FormatValue(0.1) == "0.1");
  CHECK(FormatValue(2.5e-7) == "2.5e-07");
  CHECK(FormatValue(1e21) == "1e+21");
  CHECK(FormatValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(FormatValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(FormatValue(std::nan("")) == "NaN");
  CHECK(ExponentialBuckets(1, 2, 4) == std::vector<double>{1, 2, 4, 8});
  CHECK(LinearBuckets(0, 5, 3) == std::vector<double>{0, 5, 10});
}

TEST_CASE("counters ignore negative increments; gauges go both ways") {
  Registry r;
  Counter& c = r.Counters("c_total", "C.").Get();
  c.Inc(3);
  c.Inc(-1);
  CHECK(c.Value() == 3);
  Gauge& g = r.Gauges("g", "G.").Get();
  g.Add(5);
  g.Add(-7);
  CHECK(g.Value() == -2);
}

TEST_CASE("asking for a family again answers the same one; a conflicting one is never rendered") {
  Registry r;
  const LogLevel level = GetLogLevel();
  SetLogLevel(LogLevel::kOff);  // the conflicts below are logged as errors
  auto& a = r.Counters("x_total", "X.", {"k"});
  auto& b = r.Counters("x_total", "X.", {"k"});
  CHECK(&a == &b);
  CHECK(&a.With({"v"}) == &b.With({"v"}));
  auto& other = r.Gauges("x_total", "Not a counter.", {"k"});
  other.With({"v"}).Set(99);
  auto& relabelled = r.Counters("x_total", "X.", {"j"});
  relabelled.With({"v"}).Inc(50);
  a.With({"v"}).Inc();
  CHECK(r.Render() == "# HELP x_total X.\n# TYPE x_total counter\nx_total{k=\"v\"} 1\n");
  auto& h1 = r.Histograms("h", "H.", {}, {1, 2});
  auto& h2 = r.Histograms("h", "H.", {}, {1, 3});
  CHECK(&h1 != &h2);
  SetLogLevel(level);
}

TEST_CASE("missing label values are empty, extra ones dropped") {
  Registry r;
  auto& f = r.Counters("x_total", "X.", {"a", "b"});
  f.With({"1"}).Inc();
  f.With({"1", "", "extra"}).Inc();
  CHECK(HasLine(r.Render(), "x_total{a=\"1\",b=\"\"} 2"));
}

TEST_CASE("concurrent updates and renders lose nothing") {
  Registry r;
  auto& counters = r.Counters("c_total", "C.", {"worker"});
  auto& hist = r.Histograms("h", "H.", {}, {0.5});
  constexpr int kThreads = 4, kIncrements = 20000;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  std::atomic<int> inconsistent{0}, scrapes{0};
  std::thread scraper([&] {
    do {
      const std::string text = r.Render();
      // A render is consistent in itself: _count equals the +Inf bucket.
      std::string inf, count;
      for (const auto& l : Lines(text)) {
        if (l.rfind("h_bucket{le=\"+Inf\"} ", 0) == 0) inf = l.substr(l.find(' ') + 1);
        if (l.rfind("h_count ", 0) == 0) count = l.substr(l.find(' ') + 1);
      }
      if (inf != count) ++inconsistent;
      ++scrapes;
    } while (!stop);
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& shared = counters.With({"shared"});
      for (int i = 0; i < kIncrements; ++i) {
        shared.Inc();
        counters.With({std::to_string(t)}).Inc();
        hist.Get().Observe(i % 2 ? 1.0 : 0.25);
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  scraper.join();
  CHECK(scrapes > 0);
  CHECK(inconsistent == 0);
  const std::string text = r.Render();
  CHECK(HasLine(text, "c_total{worker=\"shared\"} " + std::to_string(kThreads * kIncrements)));
  for (int t = 0; t < kThreads; ++t)
    CHECK(HasLine(text, "c_total{worker=\"" + std::to_string(t) + "\"} " + std::to_string(kIncrements)));
  CHECK(HasLine(text, "h_bucket{le=\"0.5\"} " + std::to_string(kThreads * kIncrements / 2)));
  CHECK(HasLine(text, "h_count " + std::to_string(kThreads * kIncrements)));
  CHECK(HasLine(text, "h_sum " + FormatValue(kThreads * kIncrements / 2 * 1.25)));
}

TEST_CASE("the default registry is one process-wide instance") {
  CHECK(&Default() == &Default());
}

}  // TEST_SUITE
