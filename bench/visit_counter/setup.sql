-- bench/visit_counter/setup.sql: objects for the visit counter of seed 003,
-- created by bench/race in its scratch schema upsert_guard_race, which it
-- drops when the run ends.
--
--   visits          the seed's table: one row per email, count = visits
--   update_fires    counts AFTER UPDATE trigger fires
--                   (bench/lib/update_fires.sql)
--   events          failures and missing results the scripts record
--   naive_insert()  the naive script's INSERT, catching the error
--
-- The invariant: every call that succeeded counted exactly once, so at
-- the end sum(count) = successful calls.

SET client_min_messages = warning;

CREATE TABLE upsert_guard_race.visits (
    id    serial PRIMARY KEY,
    email text UNIQUE NOT NULL,
    count int NOT NULL
) WITH (autovacuum_enabled = off);   -- n_dead_tup: what the run left

\ir ../lib/update_fires.sql

-- Every variant updates: the naive one and the counters count by UPDATE.
CREATE TRIGGER visits_count_update
    AFTER UPDATE ON upsert_guard_race.visits
    FOR EACH ROW EXECUTE FUNCTION upsert_guard_race.count_update();

-- kind: 'error' (sqlstate says which) or 'noid' (a call that succeeded
-- but returned no row).
CREATE UNLOGGED TABLE upsert_guard_race.events (
    kind     text NOT NULL,
    sqlstate text
);

-- The INSERT half of the naive read-modify-write.  PostgreSQL 15's pgbench
-- aborts a client on a 23505; this wrapper records the error instead (see
-- bench/get_or_create/setup.sql).  A call that fails here did not count
-- its visit and is not a successful call.
CREATE FUNCTION upsert_guard_race.naive_insert(_email text)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    _id int;
BEGIN
    INSERT INTO upsert_guard_race.visits (email, count)
    VALUES (_email, 1)
    RETURNING id INTO _id;
    RETURN _id;
EXCEPTION WHEN OTHERS THEN
    INSERT INTO upsert_guard_race.events (kind, sqlstate)
    VALUES ('error', SQLSTATE);
    RETURN NULL;
END
$$;
