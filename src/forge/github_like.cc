#include "forge/github_like.h"

#include "forge/base64.h"
#include "forge/json_fields.h"

namespace mergeyard::forge {
namespace {

Status Done(const Result<nlohmann::json>& j) { return j.ok() ? Ok() : Status(j.error()); }

}  // namespace

Result<FileContent> GithubLikeApi::GetFile(const std::string& repo, const std::string& path,
                                           const std::string& ref) {
  auto j = JsonResult(client_.Send("GET", Repo(repo) + "/contents/" + path + "?ref=" + UrlEncode(ref), repo),
                      "get " + path);
  if (!j.ok()) return j.error();
  if (GetString(*j, "type", "file") != "file") return NotFound(path + " is not a file");
  auto decoded = Base64Decode(GetString(*j, "content"));
  if (!decoded) return Invalid("get " + path + ": content is not base64");
  return FileContent{*decoded, GetString(*j, "sha")};
}

Result<std::vector<Comment>> GithubLikeApi::ListComments(const std::string& repo, std::int64_t pr) {
  auto all = client_.GetAllPages(Repo(repo) + "/issues/" + std::to_string(pr) + "/comments?" + page_query_, repo);
  if (!all.ok()) return all.error();
  std::vector<Comment> out;
  for (const auto& c : *all) out.push_back({GetInt(c, "id"), GetString(c, "body"), GetString(c, "user.login")});
  return out;
}

Result<std::int64_t> GithubLikeApi::CreateComment(const std::string& repo, std::int64_t pr,
                                                  const std::string& body) {
  auto j = JsonResult(client_.Send("POST", Repo(repo) + "/issues/" + std::to_string(pr) + "/comments", repo,
                                  nlohmann::json{{"body", body}}.dump()),
                      "create comment");
  if (!j.ok()) return j.error();
  return GetInt(*j, "id");
}

Status GithubLikeApi::EditComment(const std::string& repo, std::int64_t, std::int64_t comment_id,
                                  const std::string& body) {
  return Done(JsonResult(client_.Send("PATCH", Repo(repo) + "/issues/comments/" + std::to_string(comment_id),
                                     repo, nlohmann::json{{"body", body}}.dump()),
                         "edit comment"));
}

Status GithubLikeApi::ClosePullRequest(const std::string& repo, std::int64_t pr) {
  return Done(JsonResult(client_.Send("PATCH", Repo(repo) + "/pulls/" + std::to_string(pr), repo,
                                     R"({"state":"closed"})"),
                         "close pull request"));
}

Status GithubLikeApi::AddLabel(const std::string& repo, std::int64_t pr, const std::string& label) {
  return Done(JsonResult(client_.Send("POST", Repo(repo) + "/issues/" + std::to_string(pr) + "/labels", repo,
                                     nlohmann::json{{"labels", {label}}}.dump()),
                         "add label"));
}

}  // namespace mergeyard::forge
