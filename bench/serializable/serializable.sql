-- bench/serializable/serializable.sql: seed 002's "secret alternative magic
-- sauce": the same check-then-insert in a SERIALIZABLE transaction and no
-- lock.  PostgreSQL remembers what the check read (a predicate lock on
-- the index range of the user's last seven days); when two transactions
-- both read "no post" and both insert, one of them fails with 40001
-- (serialization_failure), at its INSERT or at COMMIT.
--
-- bench/race runs this script for two variants:
--   serializable        the failure reaches the caller (pgbench counts it
--                       as a failed transaction): an error instead of an
--                       answer, for the loser of a race and, since
--                       predicate locks cover index pages rather than
--                       rows, now and then for a caller who raced nobody
--   serializable_retry  the article's "be ready to retry transactions":
--                       pgbench --max-tries 10 runs the whole script again,
--                       clock reading included, up to 10 times
-- (insert_post() catches 23505 and 23P01 only; 40001 reaches pgbench.)
--
-- pgbench script; bench/race runs it with -D users=5 (key spread "hot") or
-- -D users=100 ("wide"), and -D t0=<the virtual clock's origin>.
\set u random(1, :users)
SELECT upsert_guard_race.vclock(:t0) AS vt \gset
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT count(*) AS found
FROM upsert_guard_race.posts
WHERE "userId" = :u
  AND highlighted IS TRUE
  AND "createdAt" >= upsert_guard_race.ts(:vt) - INTERVAL '1 week' \gset
\if :found = 0
SELECT upsert_guard_race.insert_post(:u, :vt);
\endif
COMMIT;
