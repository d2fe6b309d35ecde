#include "base/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <type_traits>

#include "base/log.h"

namespace mergeyard::metrics {

namespace {

void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const char* extra_name = nullptr,
                  const std::string& extra_value = "") {
  if (names.empty() && !extra_name) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (extra_name) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += EscapeLabelValue(extra_value);
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, const std::string& name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, double value) {
  out += name;
  AppendLabels(out, names, values);
  out += ' ';
  out += FormatValue(value);
  out += '\n';
}

std::vector<double> CleanBounds(std::vector<double> b) {
  std::erase_if(b, [](double v) { return !std::isfinite(v); });
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return b;
}

}  // namespace

// ---- metrics -------------------------------------------------------------------

void Counter::Inc(double amount) {
  if (!(amount >= 0)) return;  // negative or NaN
  if (amount < 9e15 && amount == std::trunc(amount)) {
    whole_.fetch_add(static_cast<std::uint64_t>(amount), std::memory_order_relaxed);
  } else {
    fraction_.fetch_add(amount, std::memory_order_relaxed);
  }
}

void Gauge::Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                       bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Counts Histogram::Read() const {
  Counts c;
  c.cumulative.resize(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    c.cumulative[i] = running;
  }
  c.count = running;
  c.sum = sum_.load(std::memory_order_relaxed);
  return c;
}

const char* TypeName(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

// ---- families ------------------------------------------------------------------

FamilyBase::FamilyBase(std::string name, std::string help, Type type,
                       std::vector<std::string> label_names)
    : name_(SanitizeName(name)), help_(std::move(help)), type_(type) {
  for (const std::string& l : label_names) label_names_.push_back(SanitizeName(l, /*label=*/true));
}

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, Type type,
                       std::vector<std::string> label_names, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
      bounds_(CleanBounds(std::move(bounds))) {}

template <class Metric>
Metric& Family<Metric>::With(const std::vector<std::string>& label_values) {
  std::vector<std::string> key = label_values;
  key.resize(label_names_.size());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(key);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<Metric> child;
  if constexpr (std::is_same_v<Metric, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<Metric>();
  }
  return *children_.emplace(std::move(key), std::move(child)).first->second;
}

template <class Metric>
void Family<Metric>::RenderTo(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (children_.empty()) return;
  out += "# HELP " + name_ + " " + EscapeHelp(help_) + "\n";
  out += "# TYPE " + name_ + " " + TypeName(type_) + "\n";
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      const Histogram::Counts c = child->Read();
      const std::string bucket = name_ + "_bucket";
      for (size_t i = 0; i <= bounds_.size(); ++i) {
        out += bucket;
        AppendLabels(out, label_names_, values, "le",
                     i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf");
        out += ' ';
        out += std::to_string(c.cumulative[i]);
        out += '\n';
      }
      AppendSample(out, name_ + "_sum", label_names_, values, c.sum);
      AppendSample(out, name_ + "_count", label_names_, values, static_cast<double>(c.count));
    } else {
      AppendSample(out, name_, label_names_, values, child->Value());
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- registry ------------------------------------------------------------------

Registry::Registry() = default;
Registry::~Registry() = default;

template <class Metric>
Family<Metric>& Registry::Lookup(const std::string& name, const std::string& help, Type type,
                                 std::vector<std::string> label_names, std::vector<double> bounds) {
  auto fresh = std::make_unique<Family<Metric>>(name, help, type, std::move(label_names),
                                                std::move(bounds));
  // A family without labels has its one child from the start, so it renders 0.
  if (fresh->label_names().empty()) fresh->Get();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(fresh->name());
  if (it == families_.end()) {
    Family<Metric>& f = *fresh;
    families_.emplace(f.name(), std::move(fresh));
    return f;
  }
  FamilyBase& existing = *it->second;
  bool same = existing.type() == type && existing.label_names() == fresh->label_names();
  if (same && type == Type::kHistogram) {
    same = static_cast<Family<Metric>&>(existing).bounds() == fresh->bounds();
  }
  if (same) return static_cast<Family<Metric>&>(existing);
  LOG_ERROR("metric registered twice with different types, labels or buckets",
            {{"metric", fresh->name()}});
  Family<Metric>& f = *fresh;
  detached_.push_back(std::move(fresh));
  return f;
}

CounterFamily& Registry::Counters(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  return Lookup<Counter>(name, help, Type::kCounter, std::move(label_names), {});
}

GaugeFamily& Registry::Gauges(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names) {
  return Lookup<Gauge>(name, help, Type::kGauge, std::move(label_names), {});
}

HistogramFamily& Registry::Histograms(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> buckets) {
  return Lookup<Histogram>(name, help, Type::kHistogram, std::move(label_names), std::move(buckets));
}

std::string Registry::Render() const {
  std::string out;
  RenderTo(out);
  return out;
}

void Registry::RenderTo(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) family->RenderTo(out);
}

Registry& Default() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

// ---- helpers ---------------------------------------------------------------------

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i) out.push_back(start + width * i);
  return out;
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<std::int64_t>(value));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

std::string SanitizeName(const std::string& name, bool label) {
  std::string out = name.empty() ? "_" : name;
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (c == ':' && !label) || (i > 0 && c >= '0' && c <= '9');
    if (!ok) out[i] = '_';
  }
  return out;
}

}  // namespace mergeyard::metrics
