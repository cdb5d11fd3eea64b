-- bench/serializable/naive.sql: seed 002 case 4's check-then-insert in one
-- explicit READ COMMITTED transaction, the isolation level most databases
-- run at.  The transaction does not help: both clients' checks see no
-- post, both insert, both commit.  bench/race runs this script for the
-- naive variant (no constraint) and the guard variant (the guard's
-- trigger takes the user's lock and re-checks; the loser is refused with
-- 23P01, which insert_post() records).
--
-- pgbench script; bench/race runs it with -D users=5 (key spread "hot") or
-- -D users=100 ("wide"), and -D t0=<the virtual clock's origin>.
\set u random(1, :users)
SELECT upsert_guard_race.vclock(:t0) AS vt \gset
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT count(*) AS found
FROM upsert_guard_race.posts
WHERE "userId" = :u
  AND highlighted IS TRUE
  AND "createdAt" >= upsert_guard_race.ts(:vt) - INTERVAL '1 week' \gset
\if :found = 0
SELECT upsert_guard_race.insert_post(:u, :vt);
\endif
COMMIT;
