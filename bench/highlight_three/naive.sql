-- bench/highlight_three/naive.sql: the check-then-insert of seed 002 case
-- 3 ("three highlighted posts per week"), before the article's fix.
--
-- Read the clock (the request's time, virtual: see bench/lib/highlight.sql),
-- SELECT how many highlighted posts the user has this week (case 2's query,
-- counting), and INSERT one if fewer than three: separate statements in
-- autocommit.  Clients that all count two posts all insert.  bench/race
-- runs this script for the naive variant (no constraint) and the guard
-- variant (the guard refuses the fourth with 23P01, which insert_post()
-- records).
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
\if :found < 3
SELECT upsert_guard_race.insert_post(:u, :vt);
\endif
