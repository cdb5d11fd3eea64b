-- bench/get_or_create/plpgsql_loop.sql: seed 001's PL/pgSQL loop.
--
-- get_or_create() in setup.sql: SELECT ... FOR KEY SHARE; if not found,
-- INSERT ... ON CONFLICT DO NOTHING RETURNING; if that lost the race,
-- loop (the next SELECT is a new statement and sees the winner's row).
--
-- pgbench script; bench/race runs it with -D new=1 (key spread "new": a new
-- hot key every 2 ms that all clients race for) or -D new=0 ("existing":
-- one of the 1,000 keys setup put in the table).
\if :new
SELECT (extract(epoch FROM clock_timestamp()) * 500)::bigint AS k \gset
\else
\set k random(1, 1000)
\endif
SELECT count(id) AS got
FROM (SELECT upsert_guard_race.get_or_create('key-' || :k, 'content of key-' || :k) AS id) s \gset
\if :got = 0
INSERT INTO upsert_guard_race.events (kind) VALUES ('noid');
\endif
