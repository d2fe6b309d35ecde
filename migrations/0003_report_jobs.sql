-- 0003: the reporter's journal (issue 6). Each forge report, status comment
-- and reply is stored before it is queued for the forge and deleted once it
-- was carried out or given up; whatever is left after a crash is run again on
-- start, in id order. Times are milliseconds since the Unix epoch.
CREATE TABLE report_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,        -- report | status_comment | reply
  repo TEXT NOT NULL,        -- for operators; job_json is what runs
  pr INTEGER NOT NULL,
  job_json TEXT NOT NULL,    -- engine::ReportJobToJson
  created_at INTEGER NOT NULL
);
