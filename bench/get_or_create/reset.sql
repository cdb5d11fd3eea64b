-- bench/get_or_create/reset.sql: a fresh table before each variant's run.
-- psql variable: populate (true: keys key-1 .. key-1000 exist, for the
-- "existing" key spread; false: the table starts empty).
SET client_min_messages = warning;
TRUNCATE upsert_guard_race.articles, upsert_guard_race.events RESTART IDENTITY;
ALTER SEQUENCE upsert_guard_race.update_fires RESTART;
\if :populate
INSERT INTO upsert_guard_race.articles (title, content)
SELECT 'key-' || g, 'content of key-' || g FROM generate_series(1, 1000) g;
\endif
ANALYZE upsert_guard_race.articles;
