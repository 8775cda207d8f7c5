-- Leases (lib/pg/lease.hpp): work that one replica of many does at a time,
-- with failover. One row per job ("scrape:binance:USDT/VES:BUY",
-- "retention"): whoever holds it until expires_at does the job; another
-- replica takes an expired lease. Written through single statements, so it
-- works through PgBouncer in transaction mode, where session-level advisory
-- locks do not. A handful of rows, updated once per interval each.
CREATE TABLE leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  acquired_at timestamptz NOT NULL,
  renewed_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);
