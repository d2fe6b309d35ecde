-- 0005: external CI verdicts by tree (DESIGN.md section 7, the verdict
-- cache). A row says: in `repo`, a commit with this `tree` passed every check
-- of `checks` (the sorted names, newline-separated), so another batch commit
-- with the same tree and the same required checks is not sent to CI again.
-- Only passes are stored. Times are milliseconds since the Unix epoch.
CREATE TABLE ci_verdicts (
  repo TEXT NOT NULL,
  tree TEXT NOT NULL,
  checks TEXT NOT NULL,
  commit_sha TEXT NOT NULL,      -- the commit the checks passed on
  links_json TEXT NOT NULL,      -- {"name": "url of its page", ...} of the passing checks
  passed_at INTEGER NOT NULL,
  PRIMARY KEY (repo, tree, checks)
);
