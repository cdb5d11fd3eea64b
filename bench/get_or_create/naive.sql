-- bench/get_or_create/naive.sql: the seeds' check-then-insert.
--
-- SELECT, then INSERT if there was nothing: two statements in autocommit.
-- Between them another session can insert the same key, and the INSERT
-- fails with 23505 (seed 001's bug, seed 002 case 1).  naive_insert()
-- (setup.sql) records that error in the events table instead of letting it
-- abort the pgbench client, so the failure rate covers the whole run; the
-- check stays its own statement, before the call, so the race gap is the
-- seed's.
--
-- pgbench script; bench/race runs it with -D new=1 (key spread "new": a new
-- hot key every 2 ms that all clients race for) or -D new=0 ("existing":
-- one of the 1,000 keys setup put in the table).
\if :new
SELECT (extract(epoch FROM clock_timestamp()) * 500)::bigint AS k \gset
\else
\set k random(1, 1000)
\endif
SELECT count(id) AS found FROM upsert_guard_race.articles
WHERE title = 'key-' || :k \gset
\if :found = 0
SELECT count(id) AS got
FROM (SELECT upsert_guard_race.naive_insert('key-' || :k, 'content of key-' || :k) AS id) s \gset
\endif
