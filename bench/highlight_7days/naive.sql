-- bench/highlight_7days/naive.sql: seed 002 case 4's check-then-insert,
-- without the lock.
--
-- Read the clock (the request's time, virtual: see bench/lib/highlight.sql),
-- SELECT whether the user has a highlighted post in the last seven days
-- (the article's query, with the request's time for NOW()), and INSERT one
-- if not: separate statements in autocommit.  bench/race runs this script
-- for the naive variant (no constraint) and the guard variant (the guard
-- takes the key's lock in its trigger, re-checks, and refuses a row that
-- lost the race with 23P01, which insert_post() records).
--
-- pgbench script; bench/race runs it with -D users=5 (key spread "hot") or
-- -D users=100 ("wide"), and -D t0=<the virtual clock's origin>.
\set u random(1, :users)
SELECT upsert_guard_race.vclock(:t0) AS vt \gset
SELECT count(*) AS found
FROM upsert_guard_race.posts
WHERE "userId" = :u
  AND highlighted IS TRUE
  AND "createdAt" >= upsert_guard_race.ts(:vt) - INTERVAL '1 week' \gset
\if :found = 0
SELECT upsert_guard_race.insert_post(:u, :vt);
\endif
