#include "forge/local/local_forge.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include "forge/local/local_ci.h"
#include "forge/signature.h"

namespace mergeyard::forge {

namespace {

using nlohmann::json;

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::atomic<int> g_counter{0};

}  // namespace

LocalForge::LocalForge(LocalFlavor flavor, std::string repo, std::string dir)
    : flavor_(flavor), repo_(std::move(repo)), dir_(std::move(dir)), owns_dir_(dir_.empty()) {
  if (owns_dir_) {
    dir_ = (std::filesystem::temp_directory_path() /
            ("mergeyard-localforge-" + std::to_string(::getpid()) + "-" + std::to_string(g_counter++)))
               .string();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::create_directories(dir_);
  // Bare, like a forge's storage: mergeyard's git layer fetches from it and
  // pushes batch refs and landings to it. Commits are made with plumbing.
  Git("init -q --bare -b main");
  Git("config core.logAllRefUpdates always");  // every value main had, for the tests
  Commit("main", {{"README.md", "hello\n"}});
  server_ = std::make_unique<httplib::Server>();
  server_->set_tcp_nodelay(true);
  for (const char* method : {"GET", "POST", "PATCH", "PUT", "DELETE"}) {
    auto handler = [this, m = std::string(method)](const httplib::Request& req, httplib::Response& res) {
      Route(m, &req, &res);
    };
    const std::string m = method;
    if (m == "GET") server_->Get(".*", handler);
    if (m == "POST") server_->Post(".*", handler);
    if (m == "PATCH") server_->Patch(".*", handler);
    if (m == "PUT") server_->Put(".*", handler);
    if (m == "DELETE") server_->Delete(".*", handler);
  }
  port_ = server_->bind_to_any_port("127.0.0.1");
  LocalCi::Site site{flavor_, repo_, dir_, "http://127.0.0.1:" + std::to_string(port_) + "/" + repo_,
                     installation_id(),
                     [this](const std::string& event, const std::string& body) { return SendWebhook(event, body); }};
  ci_ = std::make_unique<LocalCi>(std::move(site));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

LocalForge::~LocalForge() {
  ci_.reset();  // its runs use the repository and send webhooks through us
  server_->stop();
  thread_.join();
  if (!owns_dir_) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Result<std::unique_ptr<LocalForge>> LocalForge::Open(LocalFlavor flavor, std::string repo, std::string dir) {
  try {
    return std::make_unique<LocalForge>(flavor, std::move(repo), std::move(dir));
  } catch (const std::exception& e) {
    return Internal(std::string("local forge: ") + e.what());
  }
}

std::string LocalForge::base_url() const {
  const std::string origin = "http://127.0.0.1:" + std::to_string(port_);
  switch (flavor_) {
    case LocalFlavor::kGithub: return origin;
    case LocalFlavor::kGitlab: return origin + "/api/v4";
    case LocalFlavor::kGitea: return origin + "/api/v1";
  }
  return origin;
}

std::string LocalForge::Git(const std::string& args, int* exit_code, bool strip, const std::string& env) {
  const std::string cmd = env + "git -C " + Quote(dir_) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (exit_code) *exit_code = code;
  else if (code != 0) throw std::runtime_error("git " + args + " failed");
  while (strip && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string LocalForge::PullRef(std::int64_t number) const {
  return flavor_ == LocalFlavor::kGitlab ? "refs/merge-requests/" + std::to_string(number) + "/head"
                                        : "refs/pull/" + std::to_string(number) + "/head";
}

std::string LocalForge::Commit(const std::string& branch, const std::map<std::string, std::string>& files,
                              const std::string& from) {
  std::vector<std::int64_t> pulls;  // whose head ref follows `branch`
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [n, p] : pulls_) {
      if (p.head_branch == branch) pulls.push_back(n);
    }
  }
  std::lock_guard<std::mutex> lock(git_mu_);
  int code = 0;
  std::string parent = Git("rev-parse --verify -q refs/heads/" + branch, &code);
  if (code != 0) parent = Git("rev-parse --verify -q " + Quote(from == "main" ? "refs/heads/main" : from), &code);
  if (code != 0) parent.clear();  // the very first commit
  // A private index: the parent's tree, plus and minus `files`.
  const std::string index = dir_ + "/local-index";
  const std::string env = "GIT_INDEX_FILE=" + Quote(index) + " ";
  std::filesystem::remove(index);
  if (!parent.empty()) Git("read-tree " + parent, nullptr, true, env);
  for (const auto& [path, content] : files) {
    if (content.empty()) {
      Git("update-index --force-remove " + Quote(path), nullptr, true, env);
      continue;
    }
    const std::string blob_file = dir_ + "/local-blob";
    std::ofstream(blob_file, std::ios::binary) << content;
    const std::string blob = Git("hash-object -w " + Quote(blob_file));
    Git("update-index --add --cacheinfo 100644," + blob + "," + Quote(path), nullptr, true, env);
  }
  const std::string tree = Git("write-tree", nullptr, true, env);
  const std::string ident =
      "GIT_AUTHOR_NAME=Fake GIT_AUTHOR_EMAIL=fake@example.com GIT_COMMITTER_NAME=Fake "
      "GIT_COMMITTER_EMAIL=fake@example.com ";
  const std::string sha = Git("commit-tree " + tree + (parent.empty() ? "" : " -p " + parent) + " -m " +
                                  Quote("change " + branch),
                              nullptr, true, ident);
  Git("update-ref refs/heads/" + branch + " " + sha);
  for (std::int64_t n : pulls) Git("update-ref " + PullRef(n) + " " + sha);
  return sha;
}

std::string LocalForge::Tip(const std::string& branch) {
  std::lock_guard<std::mutex> lock(git_mu_);
  return Git("rev-parse refs/heads/" + branch);
}

void LocalForge::SetBranch(const std::string& branch, const std::string& sha) {
  std::lock_guard<std::mutex> lock(git_mu_);
  Git("update-ref refs/heads/" + branch + " " + sha);
}

bool LocalForge::MergesCleanly(const std::string& base_branch, const std::string& head_sha,
                              std::vector<std::string>* conflicts) {
  std::lock_guard<std::mutex> lock(git_mu_);
  int code = 0;
  const std::string out = Git("merge-tree --write-tree --name-only refs/heads/" + base_branch + " " + head_sha, &code);
  if (code == 0) return true;
  if (conflicts) {
    // first line: the tree id; then the conflicted paths until an empty line
    size_t pos = out.find('\n');
    while (pos != std::string::npos) {
      const size_t end = out.find('\n', pos + 1);
      const std::string line = out.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
      if (line.empty()) break;
      conflicts->push_back(line);
      pos = end;
    }
  }
  return false;
}

void LocalForge::AddPull(LocalPull pull) {
  const std::int64_t number = pull.number;
  const std::string head = pull.head_branch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pulls_[number] = std::move(pull);
  }
  std::lock_guard<std::mutex> lock(git_mu_);
  int code = 0;
  const std::string sha = Git("rev-parse --verify -q refs/heads/" + head, &code);
  if (code == 0) Git("update-ref " + PullRef(number) + " " + sha);
}

void LocalForge::SetPermission(const std::string& user, const std::string& level) {
  std::lock_guard<std::mutex> lock(mu_);
  permissions_[user] = level;
  if (!user_ids_.count(user)) user_ids_[user] = 100 + static_cast<std::int64_t>(user_ids_.size());
}

std::int64_t LocalForge::UserId(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!user_ids_.count(user)) user_ids_[user] = 100 + static_cast<std::int64_t>(user_ids_.size());
  return user_ids_[user];
}

int LocalForge::AddUserComment(std::int64_t pr, const std::string& author, const std::string& body) {
  std::int64_t id = 0;
  std::string url, secret;
  std::optional<LocalPull> pull;  // GitLab and Gitea name the pull request's head and base
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    comments_.push_back({id, pr, body, author, 0});
    url = webhook_url_;
    secret = webhook_secret_;
    if (auto it = pulls_.find(pr); it != pulls_.end()) pull = it->second;
  }
  if (url.empty()) return 0;
  const std::int64_t user_id = UserId(author);
  const std::string web = "http://127.0.0.1:" + std::to_string(port_) + "/" + repo_;
  const std::string base = pull ? pull->base_branch : "main";
  std::string head_sha;
  if (pull) {
    std::lock_guard<std::mutex> lock(git_mu_);
    int code = 0;
    head_sha = Git("rev-parse --verify -q refs/heads/" + pull->head_branch, &code);
    if (code != 0) head_sha.clear();
  }
  const std::string owner = repo_.substr(0, repo_.find('/'));
  const std::string name = repo_.substr(repo_.rfind('/') + 1);
  nlohmann::json payload;
  std::string event;
  switch (flavor_) {
    case LocalFlavor::kGithub:
      event = "issue_comment";
      payload = {
          {"action", "created"},
          {"issue", {{"number", pr}, {"pull_request", {{"url", base_url() + "/repos/" + repo_ + "/pulls/" + std::to_string(pr)}}}}},
          {"comment", {{"id", id}, {"body", body}, {"user", {{"login", author}, {"id", user_id}, {"type", "User"}}}}},
          {"repository", {{"full_name", repo_}, {"id", 1}}},
          {"sender", {{"login", author}, {"id", user_id}}}};
      break;
    case LocalFlavor::kGitlab: {
      // GitLab's "Note Hook" for a comment on a merge request.
      event = "Note Hook";
      const nlohmann::json project = {{"id", 1}, {"name", name}, {"namespace", owner}, {"web_url", web},
                                      {"path_with_namespace", repo_}, {"default_branch", "main"},
                                      {"homepage", web}, {"git_http_url", web + ".git"}};
      payload = {
          {"object_kind", "note"}, {"event_type", "note"},
          {"user", {{"id", user_id}, {"name", author}, {"username", author}}},
          {"project_id", 1}, {"project", project},
          {"repository", {{"name", name}, {"url", web + ".git"}, {"homepage", web}}},
          {"object_attributes", {{"id", id}, {"note", body}, {"noteable_type", "MergeRequest"},
                                 {"author_id", user_id}, {"project_id", 1}, {"noteable_id", pr},
                                 {"system", false}, {"action", "create"},
                                 {"url", web + "/-/merge_requests/" + std::to_string(pr) + "#note_" + std::to_string(id)}}},
          {"merge_request", {{"id", pr}, {"iid", pr}, {"target_branch", base},
                             {"source_branch", pull ? pull->head_branch : ""}, {"source_project_id", 1},
                             {"target_project_id", 1}, {"state", pull && pull->closed ? "closed" : "opened"},
                             {"draft", pull && pull->draft},
                             {"last_commit", {{"id", head_sha}, {"url", web + "/-/commit/" + head_sha}}}}}};
      break;
    }
    case LocalFlavor::kGitea: {
      // Gitea's (and Forgejo's) issue_comment on a pull request.
      event = "issue_comment";
      const nlohmann::json repository = {{"id", 1}, {"name", name}, {"full_name", repo_},
                                         {"owner", {{"id", 1}, {"login", owner}, {"username", owner}}},
                                         {"html_url", web}, {"private", false}};
      const nlohmann::json user = {{"id", user_id}, {"login", author}, {"username", author}};
      const std::string html = web + "/pulls/" + std::to_string(pr);
      const std::string state = pull && pull->closed ? "closed" : "open";
      payload = {
          {"action", "created"},
          {"issue", {{"id", pr}, {"number", pr}, {"html_url", html}, {"user", user}, {"state", state},
                     {"pull_request", {{"merged", false}, {"draft", pull && pull->draft}, {"html_url", html}}},
                     {"repository", {{"id", 1}, {"name", name}, {"owner", owner}, {"full_name", repo_}}}}},
          {"pull_request", {{"id", pr}, {"number", pr}, {"html_url", html}, {"state", state},
                            {"draft", pull && pull->draft}, {"merged", false},
                            {"head", {{"ref", pull ? pull->head_branch : ""}, {"sha", head_sha}}},
                            {"base", {{"ref", base}}}}},
          {"comment", {{"id", id}, {"body", body}, {"user", user}, {"html_url", html + "#issuecomment-" + std::to_string(id)}}},
          {"repository", repository},
          {"sender", user},
          {"is_pull", true}};
      break;
    }
  }
  return Deliver(url, secret, event, payload.dump());
}

int LocalForge::SendWebhook(const std::string& event, const std::string& body) {
  std::string url, secret;
  {
    std::lock_guard<std::mutex> lock(mu_);
    url = webhook_url_;
    secret = webhook_secret_;
  }
  return url.empty() ? 0 : Deliver(url, secret, event, body);
}

void LocalForge::SetWebhook(std::string url, std::string secret) {
  std::lock_guard<std::mutex> lock(mu_);
  webhook_url_ = std::move(url);
  webhook_secret_ = std::move(secret);
}

namespace {

// The headers `flavor` sends a webhook with (go-gitea/gitea services/webhook/deliver.go;
// GitLab's "Delivery headers"; GitHub's "delivery headers").
httplib::Headers WebhookHeaders(LocalFlavor flavor, const std::string& origin, const std::string& secret,
                                const std::string& event, const std::string& body) {
  const std::string id = "local-" + std::to_string(::getpid()) + "-" + std::to_string(g_counter++);
  const std::string hmac = HmacSha256Hex(secret, body);
  switch (flavor) {
    case LocalFlavor::kGitlab:
      return {{"X-Gitlab-Event", event}, {"X-Gitlab-Token", secret}, {"X-Gitlab-Event-UUID", id},
              {"X-Gitlab-Webhook-UUID", "local-hook"}, {"Idempotency-Key", id},
              {"X-Gitlab-Instance", origin}, {"User-Agent", "GitLab/17.0.0"}};
    case LocalFlavor::kGitea:
      return {{"X-Gitea-Event", event}, {"X-Gitea-Event-Type", event}, {"X-Gitea-Delivery", id},
              {"X-Gitea-Signature", hmac}, {"X-Gogs-Event", event}, {"X-Gogs-Delivery", id},
              {"X-Gogs-Signature", hmac}, {"X-GitHub-Event", event}, {"X-GitHub-Delivery", id},
              {"X-Hub-Signature-256", "sha256=" + hmac}, {"User-Agent", "Go-http-client/1.1"}};
    case LocalFlavor::kGithub: break;
  }
  return {{"X-GitHub-Event", event}, {"X-GitHub-Delivery", id}, {"X-Hub-Signature-256", "sha256=" + hmac},
          {"User-Agent", "mergeyard-local-forge"}};
}

}  // namespace

int LocalForge::Deliver(const std::string& url, const std::string& secret, const std::string& event,
                        const std::string& body) const {
  // url: http://host:port/path
  const auto scheme_end = url.find("://");
  const auto path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const std::string origin = url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client cli(origin);
  cli.set_connection_timeout(5);
  cli.set_read_timeout(30);
  auto res = cli.Post(path, WebhookHeaders(flavor_, origin, secret, event, body), body, "application/json");
  return res ? res->status : -1;
}

void LocalForge::InjectFaults(std::vector<LocalFault> faults) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& f : faults) faults_.push_back(f);
}

void LocalForge::EnableCi(LocalCiOptions options) { ci_->Enable(std::move(options)); }

void LocalForge::SetRequiredChecks(const std::string& branch, std::vector<std::string> names) {
  ci_->SetRequiredChecks(branch, std::move(names));
}

std::vector<std::string> LocalForge::CiRuns() { return ci_->Runs(); }

std::vector<std::string> LocalForge::CiCancelled() { return ci_->Cancelled(); }

std::vector<LocalCiVerdict> LocalForge::CiVerdicts() { return ci_->Verdicts(); }

std::vector<LocalComment> LocalForge::Comments(std::int64_t pr) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<LocalComment> out;
  for (const auto& c : comments_) {
    if (c.pr == pr) out.push_back(c);
  }
  return out;
}

std::vector<LocalStatus> LocalForge::Statuses() {
  std::lock_guard<std::mutex> lock(mu_);
  return statuses_;
}

std::vector<std::string> LocalForge::Labels(std::int64_t pr) {
  std::lock_guard<std::mutex> lock(mu_);
  return pulls_.count(pr) ? pulls_[pr].labels : std::vector<std::string>{};
}

bool LocalForge::IsClosed(std::int64_t pr) {
  std::lock_guard<std::mutex> lock(mu_);
  return pulls_.count(pr) && pulls_[pr].closed;
}

std::vector<std::string> LocalForge::Requests() {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

int LocalForge::TokensMinted() {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_minted_;
}

std::string LocalForge::LastJwt() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_jwt_;
}

}  // namespace mergeyard::forge
