// The request handling of LocalForge: faults, authentication, and the REST
// routes of each flavour.

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <regex>
#include <thread>

#include "forge/local/local_ci.h"
#include "forge/local/local_ci_shapes.h"
#include "forge/local/local_forge.h"

namespace mergeyard::forge {

namespace {

using nlohmann::json;

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void NotFound(httplib::Response& res) { Reply(res, 404, {{"message", "Not Found"}}); }

bool Match(const std::string& path, const std::string& pattern, std::smatch* m) {
  return std::regex_match(path, *m, std::regex(pattern));
}

std::string EscapeRegex(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

std::string B64Wrapped(const std::string& bytes) {
  static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  while (i + 2 < bytes.size()) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
    i += 3;
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  std::string wrapped;
  for (size_t k = 0; k < out.size(); k += 60) wrapped += out.substr(k, 60) + "\n";
  return wrapped;
}

}  // namespace

// Everything the route handlers need, bound to one request.
struct LocalForge::Impl {
  LocalForge& f;
  const httplib::Request& req;
  httplib::Response& res;
  std::string method;
  std::string path;  // without the API prefix

  json Body() const { return json::parse(req.body, nullptr, false); }

  std::string Git(const std::string& args, int* code = nullptr) {
    std::lock_guard<std::mutex> lock(f.git_mu_);
    return f.Git(args, code);
  }

  bool Authorized() {
    const std::string auth = req.get_header_value("Authorization");
    const std::string tok = f.token_;
    if (f.flavor_ == LocalFlavor::kGitlab) {
      return req.get_header_value("PRIVATE-TOKEN") == tok || auth == "Bearer " + tok;
    }
    if (auth == "Bearer " + tok || auth == "token " + tok) return true;
    return f.flavor_ == LocalFlavor::kGithub && auth.rfind("Bearer ghs_fake", 0) == 0;
  }

  json PullJson(const LocalPull& p) {
    const std::string head = Git("rev-parse refs/heads/" + p.head_branch);
    int code = 0;
    Git("merge-base --is-ancestor " + head + " refs/heads/" + p.base_branch, &code);
    const bool merged = code == 0;
    const bool mergeable = f.MergesCleanly(p.base_branch, head);
    json labels = json::array();
    for (const auto& l : p.labels) {
      labels.push_back(f.flavor_ == LocalFlavor::kGitlab ? json(l) : json{{"name", l}});
    }
    if (f.flavor_ == LocalFlavor::kGitlab) {
      return {{"iid", p.number}, {"state", merged ? "merged" : p.closed ? "closed" : "opened"},
              {"draft", p.draft}, {"sha", head}, {"target_branch", p.base_branch},
              {"source_branch", p.head_branch}, {"author", {{"username", p.author}}},
              {"detailed_merge_status", mergeable ? "mergeable" : "conflict"},
              {"has_conflicts", !mergeable}, {"labels", labels}};
    }
    return {{"number", p.number}, {"state", (merged || p.closed) ? "closed" : "open"},
            {"merged", merged}, {"draft", p.draft}, {"mergeable", mergeable},
            {"head", {{"sha", head}, {"ref", p.head_branch}}},
            {"base", {{"ref", p.base_branch}}}, {"user", {{"login", p.author}}},
            {"title", "PR " + std::to_string(p.number)}, {"labels", labels}};
  }

  bool WithPull(std::int64_t n, LocalPull* out) {
    std::lock_guard<std::mutex> lock(f.mu_);
    auto it = f.pulls_.find(n);
    if (it == f.pulls_.end()) return false;
    *out = it->second;
    return true;
  }

  void GetPull(std::int64_t n) {
    LocalPull p;
    if (!WithPull(n, &p)) return NotFound(res);
    Reply(res, 200, PullJson(p));
  }

  void UpdatePull(std::int64_t n) {
    const json b = Body();
    std::lock_guard<std::mutex> lock(f.mu_);
    auto it = f.pulls_.find(n);
    if (it == f.pulls_.end()) return NotFound(res);
    if (b.value("state", "") == "closed" || b.value("state_event", "") == "close") it->second.closed = true;
    if (b.contains("add_labels")) it->second.labels.push_back(b["add_labels"].get<std::string>());
    Reply(res, 200, {{"number", n}, {"iid", n}});
  }

  void Permission(const std::string& user, bool by_id) {
    std::string level = "none";
    {
      std::lock_guard<std::mutex> lock(f.mu_);
      for (const auto& [name, l] : f.permissions_) {
        if (by_id ? std::to_string(f.user_ids_[name]) == user : name == user) level = l;
      }
    }
    if (f.flavor_ == LocalFlavor::kGitlab) {
      const int access = level == "admin" ? 50 : level == "maintain" ? 40 : level == "write" ? 30
                         : level == "read" ? 20 : 0;
      if (access == 0) return NotFound(res);
      return Reply(res, 200, {{"id", std::stoll(user)}, {"access_level", access}});
    }
    const std::string perm = level == "maintain" ? "write" : level;
    Reply(res, 200, {{"permission", perm}, {"role_name", level}, {"user", {{"login", user}}}});
  }

  void File(const std::string& file) {
    const std::string spec = req.get_param_value("ref") + ":" + file;
    if (spec.find('\'') != std::string::npos) return NotFound(res);
    int code = 0;
    const std::string blob = Git("rev-parse --verify -q '" + spec + "'", &code);
    if (code != 0 || blob.empty()) return NotFound(res);
    std::string raw;
    {
      std::lock_guard<std::mutex> lock(f.git_mu_);
      raw = f.Git("cat-file blob " + blob, nullptr, /*strip=*/false);
    }
    if (f.flavor_ == LocalFlavor::kGitlab) {
      return Reply(res, 200, {{"file_path", file}, {"encoding", "base64"}, {"content", B64Wrapped(raw)},
                              {"blob_id", blob}});
    }
    Reply(res, 200, {{"type", "file"}, {"path", file}, {"encoding", "base64"},
                     {"content", B64Wrapped(raw)}, {"sha", blob}, {"size", raw.size()}});
  }

  std::map<std::string, std::string> Params() const {
    std::map<std::string, std::string> params;
    for (const auto& [k, v] : req.params) params.emplace(k, v);
    return params;
  }

  // Points the answer to the page after the requested one (localci::Page).
  void LinkNextPage() {
    std::string query;
    for (const auto& [k, v] : req.params) {
      if (k != "page") query += k + "=" + v + "&";
    }
    const int page = req.has_param("page") ? std::max(1, std::atoi(req.get_param_value("page").c_str())) : 1;
    const std::string prefix = f.flavor_ == LocalFlavor::kGitlab ? "/api/v4"
                               : f.flavor_ == LocalFlavor::kGitea ? "/api/v1" : "";
    const std::string url = "http://127.0.0.1:" + std::to_string(f.port_) + prefix + req.path.substr(prefix.size());
    res.set_header("Link", "<" + url + "?" + query + "page=" + std::to_string(page + 1) + ">; rel=\"next\"");
  }

  void ListComments(std::int64_t pr) {
    json all = json::array();
    for (const auto& c : f.Comments(pr)) {
      if (f.flavor_ == LocalFlavor::kGitlab) {
        all.push_back({{"id", c.id}, {"body", c.body}, {"author", {{"username", c.author}}}, {"system", false}});
      } else {
        all.push_back({{"id", c.id}, {"body", c.body}, {"user", {{"login", c.author}}}});
      }
    }
    bool more = false;
    const json page = localci::Page(all, f.flavor_, Params(), &more);
    if (more) LinkNextPage();
    Reply(res, 200, page);
  }

  void CreateComment(std::int64_t pr) {
    const json b = Body();
    std::lock_guard<std::mutex> lock(f.mu_);
    const std::int64_t id = f.next_id_++;
    f.comments_.push_back({id, pr, b.value("body", ""), "mergeyard-bot", 0});
    Reply(res, 201, {{"id", id}, {"body", b.value("body", "")}});
  }

  void EditComment(std::int64_t id) {
    const json b = Body();
    std::lock_guard<std::mutex> lock(f.mu_);
    for (auto& c : f.comments_) {
      if (c.id == id) {
        c.body = b.value("body", "");
        ++c.edits;
        return Reply(res, 200, {{"id", id}, {"body", c.body}});
      }
    }
    NotFound(res);
  }

  void Status(const std::string& sha) {
    const json b = Body();
    const LocalStatus status{sha, b.value("state", ""),
                             b.value(f.flavor_ == LocalFlavor::kGitlab ? "name" : "context", ""),
                             b.value("description", ""), b.value("target_url", ""), false};
    {
      std::lock_guard<std::mutex> lock(f.mu_);
      f.statuses_.push_back(status);
      Reply(res, 201, {{"id", f.next_id_++}, {"state", status.state}});
    }
    // Also what later reads of the commit's statuses answer.
    f.ci_->RecordStatus(sha, status.context, status.state, status.target_url, status.description);
  }

  void CheckRun(std::int64_t id) {
    const json b = Body();
    std::string sha = b.value("head_sha", "");
    {
      std::lock_guard<std::mutex> lock(f.mu_);
      if (id == 0) {
        id = f.next_id_++;
        f.check_run_keys_[id] = sha;
      } else if (f.check_run_keys_.count(id)) {
        sha = f.check_run_keys_[id];
      } else {
        return NotFound(res);
      }
      const std::string state = b.value("status", "") + (b.contains("conclusion") ? "/" + b.value("conclusion", "") : "");
      f.statuses_.push_back({sha, state, b.value("name", ""), b.contains("output") ? b["output"].value("title", "") : "",
                             b.value("details_url", ""), true});
      Reply(res, id == 0 ? 201 : 200, {{"id", id}});
    }
    // Also a check run of the commit for later reads.
    f.ci_->RecordCheckRun(id, sha, b.value("name", ""), b.value("status", ""),
                          b.contains("conclusion") ? b.value("conclusion", "") : "", b.value("details_url", ""));
  }

  void AddLabels(std::int64_t pr) {
    const json b = Body();
    std::lock_guard<std::mutex> lock(f.mu_);
    auto it = f.pulls_.find(pr);
    if (it == f.pulls_.end()) return NotFound(res);
    for (const auto& l : b.value("labels", json::array())) it->second.labels.push_back(l.get<std::string>());
    Reply(res, 200, json::array());
  }

  void AppToken() {
    const std::string auth = req.get_header_value("Authorization");
    const std::string jwt = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
    if (std::count(jwt.begin(), jwt.end(), '.') != 2) return Reply(res, 401, {{"message", "A JSON web token could not be decoded"}});
    std::lock_guard<std::mutex> lock(f.mu_);
    f.last_jwt_ = jwt;
    ++f.tokens_minted_;
    Reply(res, 201, {{"token", "ghs_fake" + std::to_string(f.tokens_minted_)}, {"expires_at", "2099-01-01T00:00:00Z"}});
  }

  void Serve() {
    std::smatch m;
    const std::string n = R"((\d+))";
    if (f.flavor_ == LocalFlavor::kGithub && path.rfind("/app/", 0) == 0) {
      if (method == "POST" && Match(path, "/app/installations/" + n + "/access_tokens", &m)) return AppToken();
      return NotFound(res);
    }
    if (f.flavor_ == LocalFlavor::kGithub && method == "GET" && path == "/repos/" + f.repo_ + "/installation") {
      const std::string auth = req.get_header_value("Authorization");
      if (std::count(auth.begin(), auth.end(), '.') != 2) return Reply(res, 401, {{"message", "JWT required"}});
      return Reply(res, 200, {{"id", f.installation_id()}});
    }
    if (!Authorized()) return Reply(res, 401, {{"message", "Bad credentials"}});
    if (f.flavor_ == LocalFlavor::kGitlab) return ServeGitlab();
    const std::string r = "/repos/" + EscapeRegex(f.repo_);
    if (method == "GET" && Match(path, r + "/pulls/" + n, &m)) return GetPull(std::stoll(m[1]));
    if (method == "PATCH" && Match(path, r + "/pulls/" + n, &m)) return UpdatePull(std::stoll(m[1]));
    if (method == "GET" && Match(path, r + "/collaborators/([^/]+)/permission", &m)) return Permission(m[1], false);
    if (method == "GET" && Match(path, r + "/contents/(.+)", &m)) return File(m[1]);
    if (method == "GET" && Match(path, r + "/issues/" + n + "/comments", &m)) return ListComments(std::stoll(m[1]));
    if (method == "POST" && Match(path, r + "/issues/" + n + "/comments", &m)) return CreateComment(std::stoll(m[1]));
    if (method == "PATCH" && Match(path, r + "/issues/comments/" + n, &m)) return EditComment(std::stoll(m[1]));
    if (method == "POST" && Match(path, r + "/statuses/([0-9a-f]{40})", &m)) return Status(m[1]);
    if (method == "POST" && Match(path, r + "/issues/" + n + "/labels", &m)) return AddLabels(std::stoll(m[1]));
    if (f.flavor_ == LocalFlavor::kGithub && method == "POST" && path == "/repos/" + f.repo_ + "/check-runs") return CheckRun(0);
    if (f.flavor_ == LocalFlavor::kGithub && method == "PATCH" && Match(path, r + "/check-runs/" + n, &m)) {
      return CheckRun(std::stoll(m[1]));
    }
    if (ServeCi()) return;
    NotFound(res);
  }

  // The CI's routes (local_ci_routes.cc); false when `path` is none of them.
  bool ServeCi() {
    const auto reply = f.ci_->Serve(method, path, Params());
    if (!reply) return false;
    if (reply->more) LinkNextPage();
    res.status = reply->status;
    res.set_content(reply->body, "application/json");
    return true;
  }

  void ServeGitlab() {
    std::smatch m;
    const std::string n = R"((\d+))";
    const std::string p = "/projects/" + EscapeRegex(f.repo_);
    if (method == "GET" && Match(path, p + "/merge_requests/" + n, &m)) return GetPull(std::stoll(m[1]));
    if (method == "PUT" && Match(path, p + "/merge_requests/" + n, &m)) return UpdatePull(std::stoll(m[1]));
    if (method == "GET" && Match(path, p + "/members/all/" + n, &m)) return Permission(m[1], true);
    if (method == "GET" && Match(path, p + "/repository/files/(.+)", &m)) return File(m[1]);
    if (method == "GET" && Match(path, p + "/merge_requests/" + n + "/notes", &m)) return ListComments(std::stoll(m[1]));
    if (method == "POST" && Match(path, p + "/merge_requests/" + n + "/notes", &m)) return CreateComment(std::stoll(m[1]));
    if (method == "PUT" && Match(path, p + "/merge_requests/" + n + "/notes/" + n, &m)) return EditComment(std::stoll(m[2]));
    if (method == "POST" && Match(path, p + "/statuses/([0-9a-f]{40})", &m)) return Status(m[1]);
    if (ServeCi()) return;
    NotFound(res);
  }
};

void LocalForge::Route(const std::string& method, const void* vreq, void* vres) {
  const auto& req = *static_cast<const httplib::Request*>(vreq);
  auto& res = *static_cast<httplib::Response*>(vres);
  LocalFault fault;
  bool faulty = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(method + " " + req.path);
    if (!faults_.empty()) {
      fault = faults_.front();
      faults_.pop_front();
      faulty = true;
    }
  }
  if (faulty) {
    if (fault.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(fault.delay_ms));
    if (fault.drop) {
      res.status = 200;
      res.set_content_provider(1000, "application/json",
                               [](size_t, size_t, httplib::DataSink&) { return false; });
      return;
    }
    for (const auto& [k, v] : fault.headers) res.set_header(k, v);  // also on a served answer
    if (fault.status != 0) {
      if (fault.retry_after_s >= 0) res.set_header("Retry-After", std::to_string(fault.retry_after_s));
      return Reply(res, fault.status, {{"message", fault.body.empty() ? "injected fault" : fault.body}});
    }
  }
  std::string path = req.path;
  const std::string prefix = flavor_ == LocalFlavor::kGitlab ? "/api/v4" : flavor_ == LocalFlavor::kGitea ? "/api/v1" : "";
  if (!prefix.empty()) {
    if (path.rfind(prefix, 0) != 0) return NotFound(res);
    path = path.substr(prefix.size());
  } else if (path.rfind("/api/v3/", 0) == 0) {
    path = path.substr(7);  // GitHub Enterprise's prefix: how a configured base URL reaches the fake
  }
  Impl impl{*this, req, res, method, path};
  try {
    impl.Serve();
  } catch (const std::exception& e) {
    Reply(res, 500, {{"message", e.what()}});
  }
}

}  // namespace mergeyard::forge
