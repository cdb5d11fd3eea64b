-- bench/feed_sync/measure.sql: the scenario's own figures of one run,
-- after every bench session has exited (so pg_stat_user_tables has their
-- counts).  Prints one CSV fragment: violations, duplicate_skus, rows,
-- stale_rows, bad_results, hot_updates, row_versions_needed, dead_tuples
-- (bench/race adds the columns every scenario has).
--   violations    duplicate_skus + stale_rows + bad_results
-- psql variables: hot0, dead0 (table counters before the run), preloaded
-- (distinct contents written by reset.sql: 1000 or 0).
WITH s AS (
    SELECT n_tup_hot_upd AS hot, n_dead_tup AS dead
    FROM pg_stat_user_tables
    WHERE relid = 'upsert_guard_race.products'::regclass
), latest AS (
    -- the newest feed content that reached the table, per sku: prices
    -- only go up (setup.sql), so it is the highest price written
    SELECT sku, max(price) AS price
    FROM upsert_guard_race.feed_audit GROUP BY sku
), f AS (
    SELECT (SELECT count(*) - count(DISTINCT sku) FROM upsert_guard_race.products) AS dups,
           (SELECT count(*) FROM upsert_guard_race.products) AS nrows,
           -- stale: the row is not the newest content written for its
           -- sku, or its other columns are not the feed's
           (SELECT count(*)
            FROM upsert_guard_race.products p
            LEFT JOIN latest l USING (sku)
            CROSS JOIN LATERAL (SELECT substr(p.sku, 5)::int AS k) f
            WHERE p.price IS DISTINCT FROM l.price
               OR (p.name, p.category_id, p.supplier_id)
                  IS DISTINCT FROM ('product ' || f.k, f.k % 20 + 1, f.k % 7 + 1)) AS stale,
           (SELECT count(*) FROM upsert_guard_race.events WHERE kind = 'badret') AS badret
)
SELECT concat_ws(',',
    f.dups + f.stale + f.badret,
    f.dups, f.nrows, f.stale, f.badret,
    (SELECT hot - :hot0 FROM s),
    -- needed: distinct (sku, price) contents written during the run, the
    -- row versions a writer that skips unchanged rows must write
    (SELECT count(DISTINCT (sku, price)) - :preloaded FROM upsert_guard_race.feed_audit),
    (SELECT dead - :dead0 FROM s))
FROM f;
