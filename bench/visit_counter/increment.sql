-- bench/visit_counter/increment.sql: upsert_guard.increment.
--
-- UPDATE ... SET count = count + 1 WHERE email = ... RETURNING; no row,
-- INSERT the starting row (count 1) ON CONFLICT DO NOTHING; a lost race,
-- another round.  Only an INSERT takes a sequence value.  A call that
-- returns no row is recorded as 'noid'.
--
-- pgbench script; bench/race runs it with -D hot=1 (key spread "hot": 5
-- emails) or -D hot=0 ("wide": 1,000 emails).
\if :hot
\set k random(1, 5)
\else
\set k random(1, 1000)
\endif
SELECT count(r.id) AS got
FROM upsert_guard.increment(
    NULL::upsert_guard_race.visits,
    jsonb_build_object('email', 'user' || :k || '@example.com', 'count', 1),
    '{"count": 1}') r \gset
\if :got = 0
INSERT INTO upsert_guard_race.events (kind) VALUES ('noid');
\endif
