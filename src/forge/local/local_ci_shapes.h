#pragma once
// The JSON of the local forge's CI in each forge's real shapes: REST objects
// (GitHub commit statuses, check runs and workflow runs; GitLab pipelines and
// commit statuses; Gitea commit statuses) and webhook bodies. Field names are
// the forges' own; only the fields mergeyard and the forges' usual clients
// read are filled. Private to src/forge/local.

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "forge/local/local_ci.h"

namespace mergeyard::forge::localci {

using Json = nlohmann::json;

Json GithubStatus(const LocalCi::Site& site, const LocalCiCheck& check);
Json GithubCheckRun(const LocalCi::Site& site, const LocalCiCheck& check);
Json GithubWorkflowRun(const LocalCi::Site& site, const LocalCiRun& run);
Json GitlabPipeline(const LocalCi::Site& site, const LocalCiRun& run);
Json GitlabStatus(const LocalCi::Site& site, const LocalCiCheck& check);
Json GiteaStatus(const LocalCi::Site& site, const LocalCiCheck& check);

// The page of `all` a list request asks for, as the flavour pages: `page`
// (from 1), `per_page` (at most 100) or on Gitea `limit` (at most 50), 30
// items by default. `*more` tells whether a next page follows. The forge's
// own listings (comments) page the same way.
Json Page(const Json& all, LocalFlavor flavor, const std::map<std::string, std::string>& params, bool* more);

struct Webhook {
  std::string event;  // GitHub/Gitea event name, GitLab "Pipeline Hook" / "Job Hook"
  std::string body;
};

// The webhooks of one report on `run`, in the order the forge sends them:
// `changed` are the checks that got new words, `of_run` the run's checks as
// they are now; `started` when the run just began, `done` when it just ended.
std::vector<Webhook> Webhooks(const LocalCi::Site& site, const LocalCiRun& run,
                              const std::vector<LocalCiCheck>& changed,
                              const std::vector<LocalCiCheck>& of_run, bool started, bool done);

}  // namespace mergeyard::forge::localci
