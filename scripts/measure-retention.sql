-- Retention: deleting a day of telemetry_events in the service's batches
-- against dropping a day's partition (docs/database.md, "Retention").
-- 1.1 M events over 11 days (100 k a day), the shape of migration 0004.
-- Needs a superuser (server-side COPY to a file of the server's host):
--   psql "$DATABASE_URL" -f scripts/measure-retention.sql [-v copy_file=/tmp/x.copy]
\if :{?copy_file}
\else
\set copy_file /tmp/measure-retention.copy
\endif
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS te_plain, te_part;
CREATE TABLE te_plain (
  kind text NOT NULL, at timestamptz NOT NULL, request_id text, trace_id text, duration_seconds double precision NOT NULL,
  method text, route text, status integer, request_bytes bigint, response_bytes bigint, name text, target text,
  outcome text, stored bigint, skipped bigint);
CREATE INDEX te_plain_at_brin ON te_plain USING brin (at);
CREATE TABLE te_part (LIKE te_plain) PARTITION BY RANGE (at);
CREATE INDEX te_part_at_brin ON te_part USING brin (at);
SELECT format('CREATE TABLE te_part_%s PARTITION OF te_part FOR VALUES FROM (%L) TO (%L)', d,
              date_trunc('day', now()) - (d + 1) * interval '1 day', date_trunc('day', now()) - d * interval '1 day')
FROM generate_series(0, 10) d \gexec
-- 1.1 M events over 11 days, in time order, as the writer appends them.
COPY (SELECT 'http', date_trunc('day', now()) - interval '11 days' + i * interval '864 milliseconds',
             md5(i::text), md5((i * 7)::text), 0.0012, 'GET', '/api/v1/offers', 200, 0, 1234,
             NULL, NULL, NULL, NULL, NULL
      FROM generate_series(0, 1099999) i) TO :'copy_file';
\timing on
\echo insert: plain
COPY te_plain FROM :'copy_file';
\echo insert: partitioned
COPY te_part FROM :'copy_file';
\timing off
VACUUM ANALYZE te_plain;
VACUUM ANALYZE te_part;
CHECKPOINT;
SELECT count(*) AS oldest_day_rows FROM te_plain WHERE at < date_trunc('day', now()) - interval '10 days';
-- delete the oldest day in the service's batches of 5000
SELECT pg_current_wal_lsn() AS lsn0 \gset
\timing on
\echo delete: batches of 5000
DO $$
DECLARE n bigint; total bigint := 0; batches int := 0;
BEGIN
  LOOP
    DELETE FROM te_plain WHERE ctid = ANY(ARRAY(SELECT ctid FROM te_plain
      WHERE at < date_trunc('day', now()) - interval '10 days' LIMIT 5000));
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n; batches := batches + 1;
    COMMIT;
    EXIT WHEN n < 5000;
  END LOOP;
  RAISE NOTICE 'deleted % rows in % batches', total, batches;
END $$;
\timing off
SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), :'lsn0')) AS delete_wal;
SELECT pg_current_wal_lsn() AS lsn1 \gset
\timing on
\echo vacuum after the delete, the part autovacuum would do
VACUUM te_plain;
\timing off
SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), :'lsn1')) AS vacuum_wal;
SELECT pg_current_wal_lsn() AS lsn2 \gset
\timing on
\echo drop the oldest partition
DROP TABLE te_part_10;
\timing off
SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), :'lsn2')) AS drop_wal;
-- a run that finds nothing to delete (every interval after the backlog)
\timing on
\echo empty delete batch
DELETE FROM te_plain WHERE ctid = ANY(ARRAY(SELECT ctid FROM te_plain
      WHERE at < date_trunc('day', now()) - interval '10 days' LIMIT 5000));
\timing off
DROP TABLE te_plain, te_part;
