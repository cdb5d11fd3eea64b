-- bench/highlight_7days/advisory_lock.sql: the article's fix for seed 002
-- case 4.
--
-- In one transaction: take the advisory lock (5000, "userId") with
-- pg_advisory_xact_lock, then the same check as naive.sql, then the INSERT
-- (whose BEFORE trigger take_post_modify_lock_trigger takes the same lock
-- again, already held).  Every call of a user, refused or not, waits for
-- the lock of that user until the holder commits.  The INSERT goes through
-- insert_post() like the other variants' (it never fails here).
--
-- pgbench script; bench/race runs it with -D users=5 (key spread "hot") or
-- -D users=100 ("wide"), and -D t0=<the virtual clock's origin>.
\set u random(1, :users)
SELECT upsert_guard_race.vclock(:t0) AS vt \gset
BEGIN;
SELECT pg_advisory_xact_lock(5000, :u);
SELECT count(*) AS found
FROM upsert_guard_race.posts
WHERE "userId" = :u
  AND highlighted IS TRUE
  AND "createdAt" >= upsert_guard_race.ts(:vt) - INTERVAL '1 week' \gset
\if :found = 0
SELECT upsert_guard_race.insert_post(:u, :vt);
\endif
COMMIT;
