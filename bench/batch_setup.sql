-- bench/batch_setup.sql: a feed of :rows products (seed 000) and the
-- timing harness for bench/batch.  :rows is substituted by the runner.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS upsert_guard_bench CASCADE;
CREATE SCHEMA upsert_guard_bench;

CREATE TABLE upsert_guard_bench.feed AS
    SELECT jsonb_agg(jsonb_build_object(
               'sku', 'SKU-' || g, 'name', 'product ' || g,
               'price', (g % 1000) / 10.0, 'category_id', g % 50,
               'supplier_id', g % 7) ORDER BY g) AS rows
    FROM generate_series(1, :rows) g;

-- One table per variant, so each re-syncs its own copy of the feed.
CREATE TABLE upsert_guard_bench.p_upsert (
    product_id serial PRIMARY KEY,
    sku text UNIQUE NOT NULL,
    name text,
    price numeric(10,2),
    category_id int,
    supplier_id int
);
CREATE TABLE upsert_guard_bench.p_do_update (LIKE upsert_guard_bench.p_upsert INCLUDING ALL);

CREATE TABLE upsert_guard_bench.results (
    run int, workload text, variant text, ms float8, row_versions bigint, wal_bytes numeric);

-- Run one variant on one workload ('new': an empty table; 'unchanged':
-- the table already holds the feed) and record its time, the row
-- versions it wrote and its WAL.
CREATE FUNCTION upsert_guard_bench.measure(run int, workload text, variant text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tab regclass := CASE variant WHEN 'idempotent_upsert_batch' THEN 'upsert_guard_bench.p_upsert'
                                 ELSE 'upsert_guard_bench.p_do_update' END;
    feed jsonb := (SELECT rows FROM upsert_guard_bench.feed);
    t0 timestamptz;
    t1 timestamptz;
    lsn0 pg_lsn;
    vers0 bigint;
    vers1 bigint;
BEGIN
    IF workload = 'new' THEN
        EXECUTE format('TRUNCATE %s', tab);
    ELSIF (SELECT count(*) FROM upsert_guard_bench.p_upsert) = 0 THEN
        RAISE EXCEPTION 'unchanged workload needs a loaded table';
    END IF;
    vers0 := pg_stat_get_xact_tuples_inserted(tab) + pg_stat_get_xact_tuples_updated(tab);
    lsn0 := pg_current_wal_insert_lsn();
    t0 := clock_timestamp();
    IF variant = 'idempotent_upsert_batch' THEN
        PERFORM * FROM upsert_guard.idempotent_upsert_batch(NULL::upsert_guard_bench.p_upsert, feed, '{sku}');
    ELSE
        INSERT INTO upsert_guard_bench.p_do_update AS t (sku, name, price, category_id, supplier_id)
            SELECT r.sku, r.name, r.price, r.category_id, r.supplier_id
            FROM jsonb_populate_recordset(NULL::upsert_guard_bench.p_do_update, feed) r
            ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price = EXCLUDED.price,
                category_id = EXCLUDED.category_id, supplier_id = EXCLUDED.supplier_id;
    END IF;
    t1 := clock_timestamp();
    vers1 := pg_stat_get_xact_tuples_inserted(tab) + pg_stat_get_xact_tuples_updated(tab);
    INSERT INTO upsert_guard_bench.results VALUES (run, workload, variant,
        extract(epoch FROM t1 - t0) * 1000, vers1 - vers0,
        pg_wal_lsn_diff(pg_current_wal_insert_lsn(), lsn0));
END $$;

SET jit = off;
