-- bench/feed_sync/reset.sql: a fresh table before each variant's run.
-- psql variables: populate (true: the 1,000 products of the feed exist,
-- with the feed's content at t0, for the "existing" key spread; false: the
-- table starts empty, "new"), t0 (epoch seconds, the feed's clock origin;
-- bench/race passes the same value to pgbench).
SET client_min_messages = warning;
TRUNCATE upsert_guard_race.products, upsert_guard_race.feed_audit,
         upsert_guard_race.events RESTART IDENTITY;
ALTER SEQUENCE upsert_guard_race.update_fires RESTART;
\if :populate
INSERT INTO upsert_guard_race.products (sku, name, price, category_id, supplier_id)
SELECT 'SKU-' || k, 'product ' || k, upsert_guard_race.feed_price(k, :t0),
       k % 20 + 1, k % 7 + 1
FROM generate_series(1, 1000) k;
\endif
ANALYZE upsert_guard_race.products;
