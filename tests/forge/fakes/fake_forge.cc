#include "fake_forge.h"

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

namespace mergeyard::testing {

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

FakeForge::FakeForge(FakeFlavor flavor, std::string repo) : flavor_(flavor), repo_(std::move(repo)) {
  dir_ = (std::filesystem::temp_directory_path() /
          ("mergeyard-fakeforge-" + std::to_string(::getpid()) + "-" + std::to_string(g_counter++)))
             .string();
  std::filesystem::remove_all(dir_);
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
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeForge::~FakeForge() {
  server_->stop();
  thread_.join();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string FakeForge::base_url() const {
  const std::string origin = "http://127.0.0.1:" + std::to_string(port_);
  switch (flavor_) {
    case FakeFlavor::kGithub: return origin;
    case FakeFlavor::kGitlab: return origin + "/api/v4";
    case FakeFlavor::kGitea: return origin + "/api/v1";
  }
  return origin;
}

std::string FakeForge::Git(const std::string& args, int* exit_code, bool strip, const std::string& env) {
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

std::string FakeForge::PullRef(std::int64_t number) const {
  return flavor_ == FakeFlavor::kGitlab ? "refs/merge-requests/" + std::to_string(number) + "/head"
                                        : "refs/pull/" + std::to_string(number) + "/head";
}

std::string FakeForge::Commit(const std::string& branch, const std::map<std::string, std::string>& files,
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
  const std::string index = dir_ + "/fake-index";
  const std::string env = "GIT_INDEX_FILE=" + Quote(index) + " ";
  std::filesystem::remove(index);
  if (!parent.empty()) Git("read-tree " + parent, nullptr, true, env);
  for (const auto& [path, content] : files) {
    if (content.empty()) {
      Git("update-index --force-remove " + Quote(path), nullptr, true, env);
      continue;
    }
    const std::string blob_file = dir_ + "/fake-blob";
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

std::string FakeForge::Tip(const std::string& branch) {
  std::lock_guard<std::mutex> lock(git_mu_);
  return Git("rev-parse refs/heads/" + branch);
}

void FakeForge::SetBranch(const std::string& branch, const std::string& sha) {
  std::lock_guard<std::mutex> lock(git_mu_);
  Git("update-ref refs/heads/" + branch + " " + sha);
}

bool FakeForge::MergesCleanly(const std::string& base_branch, const std::string& head_sha,
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

void FakeForge::AddPull(FakePull pull) {
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

void FakeForge::SetPermission(const std::string& user, const std::string& level) {
  std::lock_guard<std::mutex> lock(mu_);
  permissions_[user] = level;
  if (!user_ids_.count(user)) user_ids_[user] = 100 + static_cast<std::int64_t>(user_ids_.size());
}

std::int64_t FakeForge::UserId(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!user_ids_.count(user)) user_ids_[user] = 100 + static_cast<std::int64_t>(user_ids_.size());
  return user_ids_[user];
}

void FakeForge::AddUserComment(std::int64_t pr, const std::string& author, const std::string& body) {
  std::lock_guard<std::mutex> lock(mu_);
  comments_.push_back({next_id_++, pr, body, author, 0});
}

void FakeForge::InjectFaults(std::vector<Fault> faults) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& f : faults) faults_.push_back(f);
}

std::vector<FakeComment> FakeForge::Comments(std::int64_t pr) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FakeComment> out;
  for (const auto& c : comments_) {
    if (c.pr == pr) out.push_back(c);
  }
  return out;
}

std::vector<FakeStatus> FakeForge::Statuses() {
  std::lock_guard<std::mutex> lock(mu_);
  return statuses_;
}

std::vector<std::string> FakeForge::Labels(std::int64_t pr) {
  std::lock_guard<std::mutex> lock(mu_);
  return pulls_.count(pr) ? pulls_[pr].labels : std::vector<std::string>{};
}

bool FakeForge::IsClosed(std::int64_t pr) {
  std::lock_guard<std::mutex> lock(mu_);
  return pulls_.count(pr) && pulls_[pr].closed;
}

std::vector<std::string> FakeForge::Requests() {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

int FakeForge::TokensMinted() {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_minted_;
}

std::string FakeForge::LastJwt() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_jwt_;
}

}  // namespace mergeyard::testing
