-- telemetry_events is append-only and read by time range (the BRIN index on
-- "at") or by request_id / trace_id; nothing refers to a row by id. The
-- bigserial primary key cost a sequence increment and a btree insertion per
-- event: measured, about 40% of PostgreSQL's CPU per stored event (see
-- docs/observability.md). Dropping the column drops its sequence and index.
ALTER TABLE telemetry_events DROP COLUMN id;
