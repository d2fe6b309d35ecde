-- 0006: the status comment mergeyard keeps on each pull request (one per
-- pull request, found again after a restart without listing the pull
-- request's comments). Times are milliseconds since the Unix epoch.
CREATE TABLE status_comments (
  repo TEXT NOT NULL,
  pr INTEGER NOT NULL,
  comment_id INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (repo, pr)
);
