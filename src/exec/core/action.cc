#include "exec/core/action.h"

#include <algorithm>

#include "exec/core/sha256.h"

namespace mergeyard::exec::core {
namespace {

void Net(std::string& out, const std::string& s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
  out += ',';
}

void NetMap(std::string& out, const char* tag, const std::map<std::string, std::string>& m) {
  Net(out, tag);
  Net(out, std::to_string(m.size()));
  for (const auto& [k, v] : m) {  // std::map iterates in byte order of keys
    Net(out, k);
    Net(out, v);
  }
}

}  // namespace

std::string CanonicalEncoding(const Action& a) {
  std::string out;
  out.reserve(128);
  Net(out, "mergeyard.action.v1");
  Net(out, "command");
  Net(out, std::to_string(a.command.size()));
  for (const auto& arg : a.command) Net(out, arg);
  NetMap(out, "env", a.env);
  NetMap(out, "platform", a.platform);
  Net(out, "timeout_ms");
  Net(out, std::to_string(a.timeout));
  Net(out, "network");
  Net(out, a.network ? "1" : "0");
  Net(out, "input");
  Net(out, a.has_input ? a.input.tree : std::string());
  return out;
}

std::string ActionDigest(const Action& action) {
  if (action.has_remote)
    return "reapi:" + action.remote.instance + ":" + action.remote.action_hash + "/" +
           std::to_string(action.remote.action_size);
  return Sha256Hex(CanonicalEncoding(action));
}

std::string PathsTreeDigest(std::vector<std::pair<std::string, std::string>> entries) {
  std::sort(entries.begin(), entries.end());
  std::string text;
  for (const auto& [path, id] : entries) text += path + "\t" + id + "\n";
  return Sha256Hex(text);
}

std::string SizingKey(const Action& a) {
  if (!a.name.empty()) return a.group + "/" + a.name;
  std::string key = a.group + "/";
  for (const auto& arg : a.command) key += arg + " ";
  return key;
}

}  // namespace mergeyard::exec::core
