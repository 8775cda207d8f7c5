-- One row per telemetry event, written in batches by lib/telemetry/writer:
-- an HTTP request (method, route template, status, sizes), an upstream call
-- or a scraper round (name = exchange, target, outcome, offers stored/skipped).

CREATE TABLE telemetry_events (
  id               bigserial PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('http', 'upstream', 'scrape')),
  at               timestamptz NOT NULL,
  request_id       text,
  trace_id         text,
  duration_seconds double precision NOT NULL,
  method           text,
  route            text,
  status           integer,
  request_bytes    bigint,
  response_bytes   bigint,
  name             text,
  target           text,
  outcome          text,
  stored           bigint,
  skipped          bigint
);

-- Time-range scans over an append-only table: BRIN costs next to nothing per insert.
CREATE INDEX telemetry_events_at_brin ON telemetry_events USING brin (at);
