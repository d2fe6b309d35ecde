#include "exec/action_json.h"

#include <cctype>

namespace mergeyard::exec {
namespace {

using nlohmann::json;

Result<std::map<std::string, std::string>> StringMap(const json& j, const char* field) {
  std::map<std::string, std::string> out;
  if (!j.contains(field) || j[field].is_null()) return out;
  if (!j[field].is_object()) return Invalid(std::string(field) + " must be an object");
  for (const auto& [k, v] : j[field].items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
    else if (v.is_number() || v.is_boolean()) out[k] = v.dump();
    else return Invalid(std::string(field) + "." + k + " must be a string");
  }
  return out;
}

Status ParseResources(const json& r, core::Resources* out) {
  if (!r.is_object()) return Invalid("resources must be an object");
  for (const auto& [k, v] : r.items()) {
    if (k == "cpu") {
      if (!v.is_number() || v.get<double>() < 0) return Invalid("resources.cpu must be a number >= 0");
      out->cpu = v.get<double>();
    } else if (k == "memory") {
      auto m = ParseMemory(v);
      if (!m) return Invalid("resources.memory: " + m.error().message);
      out->memory_bytes = *m;
    } else {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
        return Invalid("resources." + k + " must be a whole number >= 0");
      out->custom[k] = v.get<std::int64_t>();
    }
  }
  return Ok();
}

Status ParseInput(const json& in, core::Action* a) {
  if (!in.is_object()) return Invalid("input must be an object");
  if (!in.contains("repo") || !in["repo"].is_string() || in["repo"].get<std::string>().empty())
    return Invalid("input.repo must be a non-empty string");
  if (!in.contains("commit") || !in["commit"].is_string() || in["commit"].get<std::string>().empty())
    return Invalid("input.commit must be a non-empty string");
  a->has_input = true;
  a->input.repo = in["repo"].get<std::string>();
  a->input.commit = in["commit"].get<std::string>();
  if (in.contains("paths") && !in["paths"].is_null()) {
    if (!in["paths"].is_array()) return Invalid("input.paths must be an array of strings");
    for (const auto& p : in["paths"]) {
      if (!p.is_string() || p.get<std::string>().empty())
        return Invalid("input.paths must be an array of strings");
      a->input.paths.push_back(p.get<std::string>());
    }
  }
  return Ok();
}

Result<core::Action> ParseAction(const json& j) {
  if (!j.is_object()) return Invalid("the action must be a JSON object");
  core::Action a;
  if (!j.contains("command") || !j["command"].is_array() || j["command"].empty())
    return Invalid("command must be a non-empty array of strings");
  for (const auto& c : j["command"]) {
    if (!c.is_string()) return Invalid("command must be a non-empty array of strings");
    a.command.push_back(c.get<std::string>());
  }
  auto env = StringMap(j, "env");
  if (!env) return env.error();
  a.env = *env;
  auto platform = StringMap(j, "platform");
  if (!platform) return platform.error();
  a.platform = *platform;
  if (j.contains("timeout_s")) {
    if (!j["timeout_s"].is_number() || j["timeout_s"].get<double>() <= 0)
      return Invalid("timeout_s must be a number > 0");
    a.timeout = static_cast<Duration>(j["timeout_s"].get<double>() * 1000);
  }
  if (j.contains("input") && !j["input"].is_null()) {
    if (Status s = ParseInput(j["input"], &a); !s) return s.error();
  }
  if (j.contains("resources") && !j["resources"].is_null()) {
    if (Status s = ParseResources(j["resources"], &a.resources); !s) return s.error();
  }
  if (j.contains("group")) {
    if (!j["group"].is_string()) return Invalid("group must be a string");
    a.group = j["group"].get<std::string>();
  }
  if (a.group.empty()) a.group = a.has_input ? a.input.repo : "default";
  if (j.contains("priority")) {
    if (!j["priority"].is_number_integer()) return Invalid("priority must be an integer");
    a.priority = j["priority"].get<int>();
  }
  if (j.contains("name")) {
    if (!j["name"].is_string()) return Invalid("name must be a string");
    a.name = j["name"].get<std::string>();
  }
  if (j.contains("network")) {
    if (!j["network"].is_boolean()) return Invalid("network must be a boolean");
    a.network = j["network"].get<bool>();
  }
  if (j.contains("cache_failures")) {
    if (!j["cache_failures"].is_boolean()) return Invalid("cache_failures must be a boolean");
    a.cache_failures = j["cache_failures"].get<bool>();
  }
  if (j.contains("tree") && j["tree"].is_string()) a.input.tree = j["tree"].get<std::string>();
  if (j.contains("cacheable")) {
    if (!j["cacheable"].is_boolean()) return Invalid("cacheable must be a boolean");
    a.cacheable = j["cacheable"].get<bool>();
  }
  if (j.contains("remote") && !j["remote"].is_null()) {
    const json& r = j["remote"];
    if (!r.is_object() || !r.value("action_hash", json()).is_string() ||
        !r.value("action_size", json()).is_number_integer())
      return Invalid("remote must be {\"instance\", \"action_hash\", \"action_size\"}");
    a.has_remote = true;
    a.remote.instance = r.value("instance", "");
    a.remote.action_hash = r["action_hash"].get<std::string>();
    a.remote.action_size = r["action_size"].get<std::int64_t>();
  }
  return a;
}

}  // namespace

Result<std::int64_t> ParseMemory(const json& v) {
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return v.get<std::int64_t>();
  if (!v.is_string()) return Invalid("memory must be a size like \"4GiB\"");
  std::string s = v.get<std::string>();
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return Invalid("memory must be a size like \"4GiB\"");
  double n = 0;
  try {
    n = std::stod(s.substr(0, i));
  } catch (...) {
    return Invalid("memory must be a size like \"4GiB\"");
  }
  std::string unit = s.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1}, {"B", 1}, {"K", 1e3}, {"KB", 1e3}, {"KiB", 1024.0}, {"M", 1e6}, {"MB", 1e6},
      {"MiB", 1048576.0}, {"G", 1e9}, {"GB", 1e9}, {"GiB", 1073741824.0}, {"T", 1e12},
      {"TB", 1e12}, {"TiB", 1099511627776.0}};
  for (const auto& [name, mult] : kUnits)
    if (unit == name) return static_cast<std::int64_t>(n * mult);
  return Invalid("unknown memory unit \"" + unit + "\"");
}

Result<core::Action> ActionFromJson(const json& j) {
  try {
    return ParseAction(j);
  } catch (const std::exception& e) {
    return Invalid(std::string("malformed action: ") + e.what());
  }
}

json ResourcesToJson(const core::Resources& r) {
  json j = {{"cpu", r.cpu}, {"memory_bytes", r.memory_bytes}};
  for (const auto& [k, v] : r.custom) j[k] = v;
  return j;
}

json ActionToJson(const core::Action& a) {
  json j = {{"name", a.name}, {"command", a.command}, {"env", a.env}, {"platform", a.platform},
            {"timeout_s", static_cast<double>(a.timeout) / 1000.0}, {"network", a.network},
            {"group", a.group}, {"priority", a.priority}, {"cache_failures", a.cache_failures}};
  json res = {{"cpu", a.resources.cpu}, {"memory", a.resources.memory_bytes}};
  for (const auto& [k, v] : a.resources.custom) res[k] = v;
  j["resources"] = res;
  if (a.has_input)
    j["input"] = {{"repo", a.input.repo}, {"commit", a.input.commit}, {"paths", a.input.paths}};
  if (!a.cacheable) j["cacheable"] = false;
  if (a.has_remote)
    j["remote"] = {{"instance", a.remote.instance}, {"action_hash", a.remote.action_hash},
                   {"action_size", a.remote.action_size}};
  j["tree"] = a.input.tree;
  return j;
}

json ResultToJson(const core::ActionResult& r) {
  return {{"exit_code", r.exit_code},         {"duration_ms", r.duration},
          {"log_digest", r.log_digest},       {"outputs_digest", r.outputs_digest},
          {"executor", r.executor},           {"execution_id", r.execution_id},
          {"peak_memory_bytes", r.peak_memory_bytes}, {"cpu_cores", r.cpu_cores},
          {"timed_out", r.timed_out},         {"error", r.error},
          {"isolation", r.isolation},         {"passed", r.passed()}};
}

core::ActionResult ResultFromJson(const json& j) {
  core::ActionResult r;
  r.exit_code = j.value("exit_code", -1);
  r.duration = j.value("duration_ms", Duration{0});
  r.log_digest = j.value("log_digest", "");
  r.outputs_digest = j.value("outputs_digest", "");
  r.executor = j.value("executor", "");
  r.execution_id = j.value("execution_id", "");
  r.peak_memory_bytes = j.value("peak_memory_bytes", std::int64_t{0});
  r.cpu_cores = j.value("cpu_cores", 0.0);
  r.timed_out = j.value("timed_out", false);
  r.error = j.value("error", "");
  r.isolation = j.value("isolation", "");
  return r;
}

json ViewToJson(const core::ExecutionView& v) {
  json j = {{"execution_id", v.id},
            {"action_digest", v.digest},
            {"name", v.name},
            {"group", v.group},
            {"state", core::ExecStateName(v.state)},
            {"waiters", v.waiters},
            {"merged_submissions", v.merged_submissions},
            {"hedge", v.hedge},
            {"hedges", v.hedges},
            {"executor", v.executor},
            {"attempts", v.attempts},
            {"queued_at_ms", v.queued_at},
            {"started_at_ms", v.started_at},
            {"finished_at_ms", v.finished_at},
            {"sizing", {{"declared", ResourcesToJson(v.declared)},
                        {"scheduled", ResourcesToJson(v.reserved)},
                        {"learned", v.learned_sizing}}}};
  if (v.hedge) j["hedge_of"] = v.hedge_of;
  if (!v.winner.empty()) j["winner"] = v.winner;
  if (!v.end_reason.empty()) j["reason"] = v.end_reason;
  if (v.result) {
    json r = ResultToJson(*v.result);
    r["cached"] = v.cached;
    j["result"] = r;
  } else {
    j["result"] = nullptr;
  }
  return j;
}

json AssignmentToJson(const core::Assignment& a) {
  return {{"execution_id", a.execution}, {"lease_id", a.lease},   {"executor", a.executor},
          {"action_digest", a.digest},   {"action", ActionToJson(a.action)},
          {"reserved", ResourcesToJson(a.reserved)}, {"learned_sizing", a.learned_sizing},
          {"hedge", a.hedge},            {"attempt", a.attempt}};
}

Result<core::Assignment> AssignmentFromJson(const json& j) {
  try {
    core::Assignment a;
    a.execution = j.at("execution_id").get<std::string>();
    a.lease = j.at("lease_id").get<std::string>();
    a.executor = j.value("executor", "");
    a.digest = j.value("action_digest", "");
    auto action = ActionFromJson(j.at("action"));
    if (!action) return action.error();
    a.action = *action;
    a.action.resources.memory_bytes = j["action"]["resources"].value("memory", std::int64_t{0});
    a.hedge = j.value("hedge", false);
    a.attempt = j.value("attempt", 1);
    return a;
  } catch (const std::exception& e) {
    return Invalid(std::string("malformed assignment: ") + e.what());
  }
}

}  // namespace mergeyard::exec
