#include "forge/repo_config_parser.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <set>

#include "base/duration.h"
#include "queue/config.h"

namespace mergeyard::forge {

std::string ConfigError::ToString() const {
  if (line <= 0) return message;
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
}

std::string RepoConfigParse::ErrorsText() const {
  std::string out;
  for (const ConfigError& e : errors) out += "- " + e.ToString() + "\n";
  return out;
}

std::optional<std::int64_t> ParseByteSize(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !(v >= 0) || !std::isfinite(v)) return std::nullopt;
  std::string unit(end);
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1}, {"B", 1}, {"k", 1e3}, {"K", 1e3}, {"KB", 1e3}, {"kB", 1e3}, {"KiB", 1024.0},
      {"M", 1e6}, {"MB", 1e6}, {"MiB", 1048576.0}, {"G", 1e9}, {"GB", 1e9},
      {"GiB", 1073741824.0}, {"T", 1e12}, {"TB", 1e12}, {"TiB", 1099511627776.0}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      const double bytes = v * factor;
      if (bytes > 9e18) return std::nullopt;
      return static_cast<std::int64_t>(std::llround(bytes));
    }
  }
  return std::nullopt;
}

namespace {

// Walks the YAML tree, filling a RepoConfig and collecting errors.
class Parser {
 public:
  explicit Parser(RepoConfigParse* out) : out_(out) {}

  void Root(const YAML::Node& root) {
    if (root.IsNull()) return;  // an empty file takes every default
    if (!root.IsMap()) return Fail(root, "the file must be a mapping of sections");
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (key == "queue") Queue(v);
      else if (key == "pipeline") Steps(v, "pipeline", &out_->config.pipeline);
      else if (key == "on_land") Steps(v, "on_land", &out_->config.on_land);
      else if (key == "checks") Checks(v);
      else if (key == "cache_failures") Bool(v, key, &out_->config.cache_failures);
      else if (key == "merged_label") String(v, key, &out_->config.merged_label);
      else Unknown(kv.first, key, "queue, pipeline, checks, on_land, cache_failures, merged_label");
    }
  }

 private:
  void Fail(const YAML::Node& n, std::string message) {
    const YAML::Mark m = n.Mark();
    out_->errors.push_back({m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0,
                            std::move(message)});
  }
  void Unknown(const YAML::Node& key_node, const std::string& key, const std::string& known) {
    Fail(key_node, "unknown key `" + key + "` (known: " + known + ")");
  }

  bool IsPlainScalar(const YAML::Node& n) { return n.IsScalar() && n.Tag() != "!"; }

  bool Int(const YAML::Node& n, const std::string& what, int min, int max, int* out) {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    bool digits = IsPlainScalar(n) && !s.empty() && s.size() <= 9;
    for (size_t i = 0; digits && i < s.size(); ++i) {
      digits = std::isdigit(static_cast<unsigned char>(s[i])) || (i == 0 && s[i] == '-' && s.size() > 1);
    }
    if (!digits) {
      Fail(n, what + " must be an integer");
      return false;
    }
    const long v = std::strtol(s.c_str(), nullptr, 10);
    if (v < min || v > max) {
      Fail(n, what + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                  " (got " + s + ")");
      return false;
    }
    *out = static_cast<int>(v);
    return true;
  }

  void Bool(const YAML::Node& n, const std::string& what, bool* out) {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    if (IsPlainScalar(n) && (s == "true" || s == "True" || s == "yes")) *out = true;
    else if (IsPlainScalar(n) && (s == "false" || s == "False" || s == "no")) *out = false;
    else Fail(n, what + " must be true or false");
  }

  bool String(const YAML::Node& n, const std::string& what, std::string* out) {
    if (!n.IsScalar()) {
      Fail(n, what + " must be a string");
      return false;
    }
    *out = n.Scalar();
    return true;
  }

  void DurationValue(const YAML::Node& n, const std::string& what, bool allow_zero, Duration* out) {
    const auto d = n.IsScalar() ? ParseDuration(n.Scalar()) : std::nullopt;
    if (!d || (!allow_zero && *d == 0)) {
      Fail(n, what + " must be a duration such as 90s, 10m or 1h30m" +
                  std::string(allow_zero ? "" : ", above zero"));
      return;
    }
    *out = *d;
  }

  void Queue(const YAML::Node& q) {
    if (q.IsNull()) return;
    if (!q.IsMap()) return Fail(q, "queue must be a mapping");
    queue::QueueConfig& c = out_->config.queue;
    for (const auto& kv : q) {
      const std::string key = kv.first.Scalar();
      const std::string what = "queue." + key;
      const YAML::Node& v = kv.second;
      if (key == "target_batch_size") Int(v, what, 1, 1000, &c.target_batch_size);
      else if (key == "max_wait") DurationValue(v, what, true, &c.max_wait);
      else if (key == "concurrency") Int(v, what, 1, 1000, &c.concurrency);
      else if (key == "pending_failure_depth") Int(v, what, 0, 1000, &c.pending_failure_depth);
      else if (key == "optimistic_merging") Bool(v, what, &c.optimistic_merging);
      else if (key == "bisection") {
        if (!v.IsScalar() || v.Scalar() != "binary") Fail(v, what + " must be `binary`");
      } else if (key == "bisection_concurrency") Int(v, what, 1, 1000, &c.bisection_concurrency);
      else if (key == "merge_method") {
        if (!v.IsScalar() || !queue::ParseMergeMethod(v.Scalar(), &c.merge_method)) {
          Fail(v, what + " must be merge, squash or rebase");
        }
      } else if (key == "singleton_retries") Int(v, what, 0, 100, &c.singleton_retries);
      else if (key == "pretest") Bool(v, what, &c.pretest);
      else if (key == "pretest_bypass") Int(v, what, 0, 1000, &c.pretest_bypass);
      else if (key == "merged_label") String(v, what, &out_->config.merged_label);
      else {
        Unknown(kv.first, key,
                "target_batch_size, max_wait, concurrency, pending_failure_depth, "
                "optimistic_merging, bisection, bisection_concurrency, merge_method, "
                "singleton_retries, pretest, pretest_bypass, merged_label");
      }
    }
    if (out_->errors.empty()) {
      const std::string problem = queue::Validate(c);
      if (!problem.empty()) Fail(q, "queue: " + problem);
    }
  }

  void Checks(const YAML::Node& n) {
    if (n.IsNull()) return;
    if (!n.IsMap()) return Fail(n, "checks must be a mapping with required, from_branch_protection, timeout");
    engine::ChecksConfig& c = out_->config.checks;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const std::string what = "checks." + key;
      const YAML::Node& v = kv.second;
      if (key == "required") CheckNames(v, what, &c.required);
      else if (key == "from_branch_protection") Bool(v, what, &c.from_branch_protection);
      else if (key == "timeout") DurationValue(v, what, false, &c.timeout);
      else Unknown(kv.first, key, "required, from_branch_protection, timeout");
    }
  }

  void CheckNames(const YAML::Node& n, const std::string& what, std::vector<std::string>* out) {
    if (!n.IsSequence()) return Fail(n, what + " must be a list of check names");
    std::set<std::string> seen;
    for (const auto& item : n) {
      std::string s;
      if (!String(item, what + " entries", &s)) continue;
      if (s.empty()) Fail(item, what + " entries must not be empty");
      else if (!seen.insert(s).second) Fail(item, what + ": `" + s + "` is listed twice");
      else out->push_back(s);
    }
  }

  void Steps(const YAML::Node& n, const std::string& section, std::vector<engine::PipelineStep>* out) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) return Fail(n, section + " must be a list of steps");
    std::set<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) {
      engine::PipelineStep step;
      const std::string what = section + "[" + std::to_string(i) + "]";
      if (Step(n[i], what, &step)) {
        if (!names.insert(step.name).second) {
          Fail(n[i], what + ": the step name `" + step.name + "` is used twice");
        }
        out->push_back(std::move(step));
      }
    }
  }

  bool Step(const YAML::Node& n, const std::string& what, engine::PipelineStep* step) {
    if (!n.IsMap()) {
      Fail(n, what + " must be a mapping with name and run");
      return false;
    }
    const size_t before = out_->errors.size();
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      const std::string field = what + "." + key;
      if (key == "name") String(v, field, &step->name);
      else if (key == "run") String(v, field, &step->run);
      else if (key == "timeout") DurationValue(v, field, false, &step->timeout);
      else if (key == "resources") Resources(v, field, &step->resources);
      else if (key == "inputs") StringList(v, field, &step->inputs);
      else if (key == "env") Env(v, field, &step->env);
      else if (key == "network") Bool(v, field, &step->network);
      else Unknown(kv.first, key, "name, run, timeout, resources, inputs, env, network");
    }
    if (!n["name"] || step->name.empty()) Fail(n, what + " needs a non-empty `name`");
    if (!n["run"] || step->run.empty()) Fail(n, what + " needs a non-empty `run`");
    return out_->errors.size() == before;
  }

  void Resources(const YAML::Node& n, const std::string& what, engine::StepResources* r) {
    if (!n.IsMap()) return Fail(n, what + " must be a mapping such as {cpu: 2, memory: 4GiB}");
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (key == "cpu") {
        char* end = nullptr;
        const std::string s = v.IsScalar() ? v.Scalar() : "";
        const double cpu = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || !(cpu > 0) || cpu > 1024) {
          Fail(v, what + ".cpu must be a number of cores above zero");
        } else {
          r->cpu = cpu;
        }
      } else if (key == "memory") {
        const auto bytes = v.IsScalar() ? ParseByteSize(v.Scalar()) : std::nullopt;
        if (!bytes || *bytes == 0) Fail(v, what + ".memory must be a size such as 4GiB or 512MiB");
        else r->memory_bytes = *bytes;
      } else {
        int count = 0;
        if (Int(v, what + "." + key, 0, 1000000, &count)) r->custom[key] = count;
      }
    }
  }

  void StringList(const YAML::Node& n, const std::string& what, std::vector<std::string>* out) {
    if (!n.IsSequence()) return Fail(n, what + " must be a list of paths");
    for (const auto& item : n) {
      std::string s;
      if (String(item, what + " entries", &s)) {
        if (s.empty()) Fail(item, what + " entries must not be empty");
        else out->push_back(s);
      }
    }
  }

  void Env(const YAML::Node& n, const std::string& what, std::map<std::string, std::string>* out) {
    if (!n.IsMap()) return Fail(n, what + " must be a mapping of variable names to values");
    for (const auto& kv : n) {
      std::string value;
      if (String(kv.second, what + "." + kv.first.Scalar(), &value)) (*out)[kv.first.Scalar()] = value;
    }
  }

  RepoConfigParse* out_;
};

}  // namespace

RepoConfigParse ParseRepoConfig(const std::string& yaml_text) {
  RepoConfigParse result;
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    Parser(&result).Root(root);
  } catch (const YAML::Exception& e) {
    result.errors.push_back({e.mark.line >= 0 ? e.mark.line + 1 : 0,
                             e.mark.column >= 0 ? e.mark.column + 1 : 0,
                             "YAML syntax error: " + e.msg});
  } catch (const std::exception& e) {
    result.errors.push_back({0, 0, std::string("cannot read the file: ") + e.what()});
  }
  if (!result.ok()) result.config = engine::RepoConfig{};
  return result;
}

}  // namespace mergeyard::forge
