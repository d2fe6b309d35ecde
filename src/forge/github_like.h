#pragma once
// REST calls that GitHub and Gitea/Forgejo answer alike (Gitea's API mirrors
// GitHub's for contents, issue comments, pull-request state and labels). The
// drivers in github/ and gitea/ delegate to these; `repo` is "owner/name".

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "forge/forge_api.h"
#include "forge/rest_client.h"

namespace mergeyard::forge::github_like {

// The file at `path` on `ref`, base64-decoded. NotFound when it is a directory.
Result<FileContent> GetFile(RestClient& client, const std::string& repo, const std::string& path,
                            const std::string& ref);
// Every comment of issue/pull request `pr`; `page_query` sets the page size
// ("per_page=100" on GitHub, "limit=50" on Gitea).
Result<std::vector<Comment>> ListComments(RestClient& client, const std::string& repo,
                                          std::int64_t pr, const std::string& page_query);
// Returns the new comment's id.
Result<std::int64_t> CreateComment(RestClient& client, const std::string& repo, std::int64_t pr,
                                   const std::string& body);
Status EditComment(RestClient& client, const std::string& repo, std::int64_t comment_id,
                   const std::string& body);
Status ClosePullRequest(RestClient& client, const std::string& repo, std::int64_t pr);
Status AddLabel(RestClient& client, const std::string& repo, std::int64_t pr, const std::string& label);

}  // namespace mergeyard::forge::github_like
