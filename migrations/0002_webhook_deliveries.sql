-- 0002: webhook deliveries (issue 5). Each verified delivery is stored before
-- the listener answers 202, deduplicated by (forge, delivery_id), and
-- processed afterwards. Times are milliseconds since the Unix epoch.
-- IF NOT EXISTS: webhook::DeliveryStore creates the same table when it runs
-- against a database migrated before this file existed.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  forge TEXT NOT NULL,               -- github | gitlab | gitea | forgejo
  delivery_id TEXT NOT NULL,         -- X-GitHub-Delivery, Idempotency-Key, X-Gitea-Delivery...
  event TEXT NOT NULL,               -- the event header value
  body BLOB NOT NULL,                -- the raw request body, byte for byte
  received_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',  -- pending | done | failed
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT '',  -- what processing did, or why it failed
  UNIQUE (forge, delivery_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending
  ON webhook_deliveries (state, next_attempt_at, id);
