-- bench/feed_sync/setup.sql: objects for the overlapping feed workers of
-- seed 000, created by bench/race in its scratch schema upsert_guard_race,
-- which it drops when the run ends.
--
--   products        the seed's table: UNIQUE (sku) is the invariant
--   feed_price()    the supplier feed: the price of sku 'SKU-<k>' now
--   update_fires    counts AFTER UPDATE trigger fires
--                   (bench/lib/update_fires.sql; products_written()
--                   advances it)
--   feed_audit      every row version a committed statement wrote into
--                   products (sku, price), from an AFTER INSERT OR UPDATE
--                   trigger; UNLOGGED: no WAL.  The invariant check uses it
--   events          failures and wrong results the scripts record
--   naive_insert()  the naive script's INSERT, catching the error
--
-- The feed.  It lists 1,000 products, k = 1 .. 1000:
--   sku 'SKU-<k>', name 'product <k>', category_id k % 20 + 1,
--   supplier_id k % 7 + 1, price 10 + k % 90 + 0.01 * v
-- where v, the product's feed version, is
--   floor((clock_timestamp() - t0) / 4 s + k / 1000)
-- and t0 is when bench/race reset the table.  So a product's price goes up
-- by 0.01 every 4 seconds, and the products' ticks are spread evenly over
-- the 4 seconds: the feed changes 250 prices a second, and every other
-- sync of a product finds the content it already has.  Prices only go up,
-- so the highest price ever written for a sku is the newest feed content
-- that reached the table.

SET client_min_messages = warning;

CREATE TABLE upsert_guard_race.products (
    product_id  serial PRIMARY KEY,
    sku         text UNIQUE NOT NULL,
    name        text,
    price       numeric(10,2),
    category_id int,
    supplier_id int
) WITH (autovacuum_enabled = off);   -- n_dead_tup: what the run left

CREATE FUNCTION upsert_guard_race.feed_price(k int, t0 float8)
RETURNS numeric(10,2)
LANGUAGE sql VOLATILE AS $$
    SELECT (10 + k % 90
            + 0.01 * floor((extract(epoch FROM clock_timestamp()) - t0) / 4.0
                           + k / 1000.0))::numeric(10,2)
$$;

\ir ../lib/update_fires.sql

CREATE UNLOGGED TABLE upsert_guard_race.feed_audit (
    sku   text NOT NULL,
    price numeric(10,2)
);

CREATE FUNCTION upsert_guard_race.products_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM nextval('upsert_guard_race.update_fires');
    END IF;
    INSERT INTO upsert_guard_race.feed_audit (sku, price) VALUES (NEW.sku, NEW.price);
    RETURN NULL;
END
$$;

CREATE TRIGGER products_written
    AFTER INSERT OR UPDATE ON upsert_guard_race.products
    FOR EACH ROW EXECUTE FUNCTION upsert_guard_race.products_written();

-- kind: 'error' (sqlstate says which) or 'badret' (a call that returned
-- no row, or a row whose content is not the content it was given).
CREATE UNLOGGED TABLE upsert_guard_race.events (
    kind     text NOT NULL,
    sqlstate text
);

-- The INSERT half of the naive check-then-write.  PostgreSQL 15's pgbench
-- aborts a client on a 23505; this wrapper records the error instead (see
-- bench/get_or_create/setup.sql).  The check stays a separate statement in
-- the script, before this call, so the race gap is the seed's.
CREATE FUNCTION upsert_guard_race.naive_insert(_k int, _price numeric)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    _id int;
BEGIN
    INSERT INTO upsert_guard_race.products (sku, name, price, category_id, supplier_id)
    VALUES ('SKU-' || _k, 'product ' || _k, _price, _k % 20 + 1, _k % 7 + 1)
    RETURNING product_id INTO _id;
    RETURN _id;
EXCEPTION WHEN OTHERS THEN
    INSERT INTO upsert_guard_race.events (kind, sqlstate)
    VALUES ('error', SQLSTATE);
    RETURN NULL;
END
$$;
