-- bench/highlight_week/naive.sql: seed 002 case 2's check-then-insert.
--
-- Read the clock (the request's time, virtual: see bench/lib/highlight.sql),
-- SELECT whether the user already has a highlighted post this week (the
-- article's query, with the request's time for NOW()), and INSERT one if
-- not: separate statements in autocommit.  Two clients that both check
-- before either inserts both insert.  bench/race runs this same script for
-- all three variants; reset.sql decides what the table does about it:
-- nothing (naive), 23505 from the partial unique index (unique_index),
-- 23P01 from the guard (guard).  insert_post() records those errors.
--
-- pgbench script; bench/race runs it with -D users=5 (key spread "hot") or
-- -D users=100 ("wide"), and -D t0=<the virtual clock's origin>.
\set u random(1, :users)
SELECT upsert_guard_race.vclock(:t0) AS vt \gset
SELECT count(*) AS found
FROM upsert_guard_race.posts
WHERE "userId" = :u
  AND highlighted IS TRUE
  AND "createdAt" >= date_trunc('week', upsert_guard_race.ts(:vt)) \gset
\if :found = 0
SELECT upsert_guard_race.insert_post(:u, :vt);
\endif
