-- bench/lib/highlight.sql: what the three highlighted-post scenarios
-- (seed 002 cases 2, 3 and 4: highlight_week, highlight_three,
-- highlight_7days) share.  Included by their setup.sql, in bench/race's
-- scratch schema upsert_guard_race, which it drops when the run ends.
--
--   update_fires    counts AFTER UPDATE trigger fires (update_fires.sql;
--                   each reset.sql attaches count_update() to posts)
--   events          the failures the scripts record (kind 'error' and its
--                   SQLSTATE), so that a failure is a rate over the whole
--                   run instead of an aborted pgbench client
--   vclock(t0)      the virtual clock the scripts post at
--   ts(vt)          a virtual clock reading as a timestamp
--   insert_post()   the INSERT of one highlighted post, recording 23505 and
--                   23P01 instead of raising them
--
-- The table posts itself is created by each scenario's reset.sql, once per
-- variant, with that variant's protection (none, a unique index, the
-- article's trigger, a guard).
--
-- The virtual clock.  Every rule of seed 002 is about calendar weeks or
-- seven days, and the article's checks compare "createdAt" with NOW().  At
-- the real clock a user's first highlighted post of the week settles the
-- question for the rest of the run: the race can happen once per user,
-- in the first milliseconds, and every later call is refused by the check.
-- So the scripts post at a virtual clock that runs 14 days per real second
-- (a week every 0.5 s, 20 weeks in a 10 s run), from Monday 2026-01-05
-- 00:00 at t0, the moment bench/race starts pgbench: each user gets a new
-- week (or is allowed again seven days after the last post) twice a
-- second, and all clients race for it.  Each call reads the clock once, as
-- the application reads the time of the request, and uses that reading for
-- its check and for its row's "createdAt".

SET client_min_messages = warning;

\ir update_fires.sql

-- kind 'error': an INSERT that failed with the SQLSTATE given.
CREATE UNLOGGED TABLE upsert_guard_race.events (
    kind     text NOT NULL,
    sqlstate text
);

-- The virtual clock, in epoch seconds (of a timestamp without time zone):
-- 2026-01-05 00:00 (a Monday) at the real epoch second t0, 14 virtual days
-- per real second.  Numeric, so pgbench can pass it on as a literal.
CREATE FUNCTION upsert_guard_race.vclock(t0 numeric)
RETURNS numeric
LANGUAGE sql VOLATILE AS $$
    SELECT round(extract(epoch FROM timestamp '2026-01-05 00:00')
                 + (extract(epoch FROM clock_timestamp()) - t0) * 14 * 86400, 6)
$$;

-- A reading of the virtual clock as the timestamp it stands for.
CREATE FUNCTION upsert_guard_race.ts(vt numeric)
RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT timestamp 'epoch' + make_interval(secs => vt::float8)
$$;

-- The INSERT of the naive check-then-insert: one highlighted post of user
-- _user at virtual time _vt.  PostgreSQL 15's pgbench aborts a client on
-- any error but 40001 and 40P01, so this wrapper catches what the
-- protections raise when two clients passed the check together (23505
-- from a unique index, 23P01 from a guard), records it in events and
-- returns false; any other error still aborts the client (reported as
-- aborted).  The check stays a separate statement in the script, before
-- this call, so the race gap between SELECT and INSERT is the article's.
-- The exception block costs a subtransaction on every insert attempt,
-- the same in every variant.
CREATE FUNCTION upsert_guard_race.insert_post(_user int, _vt numeric)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO upsert_guard_race.posts ("userId", "createdAt", highlighted, "postContent")
    VALUES (_user, upsert_guard_race.ts(_vt), true, 'highlighted post of user ' || _user);
    RETURN true;
EXCEPTION WHEN unique_violation OR exclusion_violation THEN
    INSERT INTO upsert_guard_race.events (kind, sqlstate) VALUES ('error', SQLSTATE);
    RETURN false;
END
$$;

-- Drop the guards of the scenario's posts table before reset.sql drops the
-- table: a guard's definition outlives DROP TABLE (only its trigger goes
-- with the table; the row stays in upsert_guard.guard_definitions, its
-- table shown as a bare OID).  Also drops a guard of the given name whose
-- table no longer exists (left by a hand run that dropped the schema).
CREATE FUNCTION upsert_guard_race.drop_posts_guards(_name text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM upsert_guard.drop_guard(d.guard, true)
    FROM upsert_guard.guards d
    WHERE d.table_name = to_regclass('upsert_guard_race.posts')
       OR (d.guard = _name
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = d.table_name));
END
$$;
