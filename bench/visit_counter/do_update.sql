-- bench/visit_counter/do_update.sql: seed 003's fix, INSERT ... ON CONFLICT
-- (email) DO UPDATE SET count = visits.count + 1.
--
-- Counts every visit; the INSERT takes an id from the serial's sequence
-- before it finds the conflict, so every call burns a sequence value.
--
-- pgbench script; bench/race runs it with -D hot=1 (key spread "hot": 5
-- emails) or -D hot=0 ("wide": 1,000 emails).
\if :hot
\set k random(1, 5)
\else
\set k random(1, 1000)
\endif
INSERT INTO upsert_guard_race.visits AS v (email, count)
VALUES ('user' || :k || '@example.com', 1)
ON CONFLICT (email) DO UPDATE SET count = v.count + 1;
