-- bench/visit_counter/naive.sql: seed 003's read-modify-write.
--
-- SELECT the row; none, INSERT count 1; else UPDATE SET count = <the
-- count read> + 1 WHERE id = <its id>.  Separate statements in autocommit:
-- two visits that read the same count both write count + 1 and one visit
-- is lost; two first visits both INSERT and one fails with 23505
-- (naive_insert() in setup.sql records it).
--
-- pgbench script; bench/race runs it with -D hot=1 (key spread "hot": 5
-- emails) or -D hot=0 ("wide": 1,000 emails).
\if :hot
\set k random(1, 5)
\else
\set k random(1, 1000)
\endif
SELECT count(id) AS found, coalesce(max(count), 0) AS seen, coalesce(max(id), 0) AS id
FROM upsert_guard_race.visits WHERE email = 'user' || :k || '@example.com' \gset
\if :found
UPDATE upsert_guard_race.visits SET count = :seen + 1 WHERE id = :id;
\else
SELECT upsert_guard_race.naive_insert('user' || :k || '@example.com');
\endif
