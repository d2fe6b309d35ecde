-- 0001: the queue engine's durable state (DESIGN.md section 2, rule 10).
-- Times are milliseconds since the Unix epoch. JSON columns hold the encoding
-- of src/engine/codec.h.

-- One row per queue (repository + target branch): its whole queue::State.
CREATE TABLE queues (
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  state_json TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (repo, branch)
);

-- Effects of committed transitions not yet carried out, one row per
-- transition (a JSON array of effects); deleted when done.
CREATE TABLE outbox (
  transition INTEGER PRIMARY KEY AUTOINCREMENT,
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  effects_json TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX outbox_by_queue ON outbox (repo, branch, transition);

-- What happened, for the API and dashboard: finished batches and ended entries.
CREATE TABLE history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  pr INTEGER,
  batch INTEGER,
  data_json TEXT NOT NULL
);
CREATE INDEX history_by_queue ON history (repo, branch, id);
