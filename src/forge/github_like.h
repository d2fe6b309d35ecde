#pragma once
// The part of forge::ForgeApi that GitHub and Gitea/Forgejo answer alike
// (Gitea's API mirrors GitHub's for contents, issue comments, pull-request
// state and labels). github/ and gitea/ derive from it and add what differs:
// pull requests, permissions and statuses. `repo` is "owner/name".

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "forge/forge_api.h"
#include "forge/rest_client.h"

namespace mergeyard::forge {

class GithubLikeApi : public ForgeApi {
 public:
  // `page_query` sets the page size of listings ("per_page=100" on GitHub,
  // "limit=50" on Gitea). `client` must outlive the API.
  GithubLikeApi(RestClient& client, std::string page_query)
      : client_(client), page_query_(std::move(page_query)) {}

  // The file at `path` on `ref`, base64-decoded. NotFound when it is a directory.
  Result<FileContent> GetFile(const std::string& repo, const std::string& path,
                              const std::string& ref) override;
  Result<std::vector<Comment>> ListComments(const std::string& repo, std::int64_t pr) override;
  Result<std::int64_t> CreateComment(const std::string& repo, std::int64_t pr,
                                     const std::string& body) override;
  Status EditComment(const std::string& repo, std::int64_t pr, std::int64_t comment_id,
                     const std::string& body) override;
  Status ClosePullRequest(const std::string& repo, std::int64_t pr) override;
  Status AddLabel(const std::string& repo, std::int64_t pr, const std::string& label) override;

 protected:
  // "/repos/owner/name"
  static std::string Repo(const std::string& repo) { return "/repos/" + repo; }

  RestClient& client_;
  std::string page_query_;  // the listings' page size, see the constructor
};

}  // namespace mergeyard::forge
