-- bench/feed_sync/naive.sql: seed 000's check-then-write.
--
-- SELECT the product (the worker has the feed's row for it in hand: here
-- the same statement reads the feed's price), then UPDATE it if it was
-- found, else INSERT it: two statements in autocommit.  Between them
-- another worker can insert the same sku, and the INSERT fails with 23505
-- (naive_insert() in setup.sql records the error instead of aborting the
-- pgbench client).  The UPDATE runs on every found row, changed or not.
--
-- pgbench script; bench/race runs it with -D t0=<the feed's clock origin>.
-- Key spread "new" or "existing" is the table's content at the start.
\set k random(1, 1000)
SELECT count(product_id) AS found, upsert_guard_race.feed_price(:k, :t0) AS price
FROM upsert_guard_race.products WHERE sku = 'SKU-' || :k \gset
\if :found
UPDATE upsert_guard_race.products
SET name = 'product ' || :k, price = :price,
    category_id = :k % 20 + 1, supplier_id = :k % 7 + 1
WHERE sku = 'SKU-' || :k;
\else
SELECT upsert_guard_race.naive_insert(:k, :price);
\endif
