#pragma once
// Prometheus metrics, std only: counters, gauges and histograms grouped in
// families that share a name, a help text and label names, kept in a
// Registry that renders the text exposition format 0.0.4 (# HELP, # TYPE,
// one sample per line; histograms as cumulative _bucket{le="..."} series
// ending with le="+Inf", then _sum and _count).
//
// Cost: looking a family up takes the registry's lock and looking a child
// (one label set) up takes the family's; both answer references that live as
// long as the registry. Keep them: an update is then one atomic operation.
//
//   auto& deliveries = metrics::Default().Counters(
//       "mergeyard_webhook_deliveries_total", "Webhook deliveries by result.", {"forge", "result"});
//   metrics::Counter& accepted = deliveries.With({"github", "accepted"});
//   accepted.Inc();
//
// Everything here is thread-safe. Names follow Prometheus rules; characters
// a metric or label name may not hold are replaced by '_'. Counter names
// should end in `_total`, durations be in seconds.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mergeyard::metrics {

// Goes up only. Inc with a negative or NaN amount is ignored. Whole amounts
// take one integer atomic add; fractions a compare-and-swap loop.
class Counter {
 public:
  void Inc() { whole_.fetch_add(1, std::memory_order_relaxed); }
  void Inc(double amount);
  double Value() const {
    return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
           fraction_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> whole_{0};
  std::atomic<double> fraction_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in buckets by upper bound (a value equal to a bound
// counts in that bound's bucket).
class Histogram {
 public:
  // `bounds`: sorted, finite, owned by the family; the +Inf bucket is implicit.
  explicit Histogram(const std::vector<double>& bounds);
  void Observe(double value);

  struct Counts {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  // Consistent in itself: count is always the +Inf bucket, even while others observe.
  Counts Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

enum class Type { kCounter, kGauge, kHistogram };
const char* TypeName(Type t);

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends HELP, TYPE and every child's samples; nothing when it has no child.
  virtual void RenderTo(std::string& out) const = 0;

 protected:
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> label_names_;
};

// The metrics of one name, one child per label-value set. Metric is Counter,
// Gauge or Histogram.
template <class Metric>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> label_names,
         std::vector<double> bounds = {});

  // The child for these label values, in the order of the label names
  // (created at zero on first use). Missing values are "", extra ones dropped.
  Metric& With(const std::vector<std::string>& label_values);
  // The child of a family without labels.
  Metric& Get() { return With({}); }

  void RenderTo(std::string& out) const override;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The family named `name`, created on first call. Asking again with the
  // same type and label names (and buckets) answers the same family, so
  // several call sites may share one. Asking with a different type, label
  // names or buckets is a programming error: it is logged, and the caller
  // gets a family of its own that is never rendered.
  CounterFamily& Counters(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  GaugeFamily& Gauges(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names = {});
  // `buckets`: upper bounds; sorted and deduplicated here, non-finite ones dropped.
  HistogramFamily& Histograms(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names, std::vector<double> buckets);

  // Every family with at least one child, in name order.
  std::string Render() const;
  void RenderTo(std::string& out) const;

 private:
  template <class Metric>
  Family<Metric>& Lookup(const std::string& name, const std::string& help, Type type,
                         std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;
  std::vector<std::unique_ptr<FamilyBase>> detached_;  // conflicting registrations
};

// The process-wide registry (what `GET /metrics` serves).
Registry& Default();

// Bucket helpers: start, start*factor, ... (count bounds); start, start+width, ...
std::vector<double> ExponentialBuckets(double start, double factor, int count);
std::vector<double> LinearBuckets(double start, double width, int count);

// Text-format pieces, for callers that write samples themselves.
// A label value with \, " and newline escaped; a help text with \ and newline escaped.
std::string EscapeLabelValue(const std::string& value);
std::string EscapeHelp(const std::string& help);
// "3", "0.25", "1e+21", "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);
// `name` with every character not allowed in a metric name replaced by '_'
// (a label name when `label`: no ':').
std::string SanitizeName(const std::string& name, bool label = false);

}  // namespace mergeyard::metrics
