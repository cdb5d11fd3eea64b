-- bench/visit_counter/measure.sql: the figures of one run, after every
-- bench session has exited (so pg_stat_user_tables has their counts).
-- Prints one CSV fragment: duplicate_emails, rows, successful_calls,
-- sum_count, lost_increments, sequence_values_burnt, no_row_calls,
-- row_versions_written, hot_updates, dead_tuples, wal_bytes_per_txn.
-- psql variables: lsn0, tup0, hot0, dead0 (WAL position and table counters
-- before the run), txns (transactions in the run), processed (those that
-- pgbench did not count as failed).
WITH s AS (
    SELECT n_tup_ins + n_tup_upd AS tup, n_tup_hot_upd AS hot, n_dead_tup AS dead
    FROM pg_stat_user_tables
    WHERE relid = 'upsert_guard_race.visits'::regclass
), c AS (
    -- successful calls: pgbench's successful transactions minus the calls
    -- whose INSERT failed and was recorded by naive_insert()
    SELECT :processed - (SELECT count(*) FROM upsert_guard_race.events
                         WHERE kind = 'error') AS ok,
           (SELECT coalesce(sum(count), 0) FROM upsert_guard_race.visits) AS total,
           (SELECT count(*) FROM upsert_guard_race.visits) AS nrows
)
SELECT concat_ws(',',
    (SELECT count(*) - count(DISTINCT email) FROM upsert_guard_race.visits),
    c.nrows, c.ok, c.total, c.ok - c.total,
    -- burnt: values the id sequence gave out that no row holds
    (SELECT coalesce(last_value, 0) FROM pg_sequences
     WHERE schemaname = 'upsert_guard_race' AND sequencename = 'visits_id_seq') - c.nrows,
    (SELECT count(*) FROM upsert_guard_race.events WHERE kind = 'noid'),
    (SELECT tup - :tup0 FROM s),
    (SELECT hot - :hot0 FROM s),
    (SELECT dead - :dead0 FROM s),
    round(pg_wal_lsn_diff(pg_current_wal_lsn(), :'lsn0') / greatest(:txns, 1), 1))
FROM c;
