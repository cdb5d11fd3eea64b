-- bench/feed_sync/idempotent_upsert.sql: upsert_guard.idempotent_upsert.
--
-- Reads the row by sku (no lock) and compares the feed's columns with it:
-- equal, nothing is written; different, UPDATE ... WHERE the columns still
-- differ; absent, INSERT ... ON CONFLICT DO NOTHING; a lost race, another
-- round.  Only a real change writes a row version and fires the trigger.
--
-- pgbench script; bench/race runs it with -D t0=<the feed's clock origin>.
-- A call that returns no row, or a row whose content is not the content it
-- was given, is recorded as 'badret'.
\set k random(1, 1000)
WITH f AS (
    SELECT 'SKU-' || :k AS sku, 'product ' || :k AS name,
           upsert_guard_race.feed_price(:k, :t0) AS price,
           :k % 20 + 1 AS category_id, :k % 7 + 1 AS supplier_id
)
SELECT count(*) AS good
FROM f, upsert_guard.idempotent_upsert(
        NULL::upsert_guard_race.products,
        jsonb_build_object('sku', f.sku, 'name', f.name, 'price', f.price,
                           'category_id', f.category_id, 'supplier_id', f.supplier_id),
        '{sku}') r
WHERE (r.sku, r.name, r.price, r.category_id, r.supplier_id)
      = (f.sku, f.name, f.price, f.category_id, f.supplier_id) \gset
\if :good = 0
INSERT INTO upsert_guard_race.events (kind) VALUES ('badret');
\endif
