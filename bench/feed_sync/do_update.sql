-- bench/feed_sync/do_update.sql: seed 000's fix, INSERT ... ON CONFLICT
-- (sku) DO UPDATE SET every feed column.
--
-- Never fails, but every sync of an existing product is an UPDATE: a new
-- row version, WAL, and the UPDATE trigger firing, although the feed's
-- content is almost always the row's already.
--
-- pgbench script; bench/race runs it with -D t0=<the feed's clock origin>.
-- A call whose RETURNING row is not the content it wrote is recorded as
-- 'badret'.
\set k random(1, 1000)
WITH f AS (
    SELECT 'SKU-' || :k AS sku, 'product ' || :k AS name,
           upsert_guard_race.feed_price(:k, :t0) AS price,
           :k % 20 + 1 AS category_id, :k % 7 + 1 AS supplier_id
), r AS (
    INSERT INTO upsert_guard_race.products AS p (sku, name, price, category_id, supplier_id)
    SELECT sku, name, price, category_id, supplier_id FROM f
    ON CONFLICT (sku) DO UPDATE
    SET name = EXCLUDED.name, price = EXCLUDED.price,
        category_id = EXCLUDED.category_id, supplier_id = EXCLUDED.supplier_id
    RETURNING p.*
)
SELECT count(*) AS good
FROM r JOIN f ON (r.sku, r.name, r.price, r.category_id, r.supplier_id)
               = (f.sku, f.name, f.price, f.category_id, f.supplier_id) \gset
\if :good = 0
INSERT INTO upsert_guard_race.events (kind) VALUES ('badret');
\endif
