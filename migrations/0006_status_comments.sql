-- 0006: the status comment mergeyard keeps on each pull request (one per
-- pull request, found again after a restart without listing the pull
-- request's comments). comment_id 0: the pull request is known to have
-- none. Times are milliseconds since the Unix epoch.
CREATE TABLE status_comments (
  repo TEXT NOT NULL,
  pr INTEGER NOT NULL,
  comment_id INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (repo, pr)
);
-- Whether the table knows every status comment this database's service
-- made: true when nothing was ever reported before it existed (a new
-- installation). An upgraded one must look for older comments by marker.
CREATE TABLE status_comments_coverage (
  complete INTEGER NOT NULL
);
INSERT INTO status_comments_coverage (complete)
  SELECT NOT EXISTS (SELECT 1 FROM report_jobs) AND NOT EXISTS (SELECT 1 FROM history);
