-- 0004: which forge serves each repository, as webhooks taught
-- forge::ForgeDirectory, so that after a restart recovery, the report
-- journal's replay and git fetches find the forge (and the GitHub App
-- installation) before the first new webhook arrives. One row per repository,
-- replaced when a webhook says something new. Times are milliseconds since
-- the Unix epoch.
CREATE TABLE forge_repos (
  repo TEXT PRIMARY KEY,                       -- "owner/name" (GitLab: the full path)
  forge TEXT NOT NULL,                         -- forge::ForgeKindName: github | gitlab | gitea | forgejo
  installation_id INTEGER NOT NULL DEFAULT 0,  -- the GitHub App installation; 0: none known
  updated_at INTEGER NOT NULL
);
