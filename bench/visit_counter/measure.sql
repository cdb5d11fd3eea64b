-- bench/visit_counter/measure.sql: the scenario's own figures of one run,
-- after every bench session has exited (so pg_stat_user_tables has their
-- counts).  Prints one CSV fragment: violations, duplicate_emails, rows,
-- successful_calls, sum_count, lost_increments, sequence_values_burnt,
-- no_row_calls, hot_updates, dead_tuples (bench/race adds the columns
-- every scenario has).
--   violations    duplicate_emails + |lost_increments| + no_row_calls
-- psql variables: hot0, dead0 (table counters before the run), processed
-- (transactions pgbench did not count as failed).
WITH s AS (
    SELECT n_tup_hot_upd AS hot, n_dead_tup AS dead
    FROM pg_stat_user_tables
    WHERE relid = 'upsert_guard_race.visits'::regclass
), c AS (
    -- successful calls: pgbench's successful transactions minus the calls
    -- whose INSERT failed and was recorded by naive_insert()
    SELECT :processed - (SELECT count(*) FROM upsert_guard_race.events
                         WHERE kind = 'error') AS ok,
           (SELECT coalesce(sum(count), 0) FROM upsert_guard_race.visits) AS total,
           (SELECT count(*) FROM upsert_guard_race.visits) AS nrows,
           (SELECT count(*) - count(DISTINCT email) FROM upsert_guard_race.visits) AS dups,
           (SELECT count(*) FROM upsert_guard_race.events WHERE kind = 'noid') AS norow
)
SELECT concat_ws(',',
    c.dups + abs(c.ok - c.total) + c.norow,
    c.dups, c.nrows, c.ok, c.total, c.ok - c.total,
    -- burnt: values the id sequence gave out that no row holds
    (SELECT coalesce(last_value, 0) FROM pg_sequences
     WHERE schemaname = 'upsert_guard_race' AND sequencename = 'visits_id_seq') - c.nrows,
    c.norow,
    (SELECT hot - :hot0 FROM s),
    (SELECT dead - :dead0 FROM s))
FROM c;
