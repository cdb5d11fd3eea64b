--
-- batch: upsert_guard.idempotent_upsert_batch (rows as a jsonb array),
-- idempotent_upsert_from (rows of a relation, such as a staging table
-- filled by COPY) and their _outcomes variants, on the products table of
-- seed 000: the supplier feed synced every few minutes, now in one call
-- per feed.
--
-- Each row of a batch ends 'inserted', 'updated', 'unchanged' (nothing
-- written) or 'duplicate' (a later row of the batch has the same key: the
-- LAST occurrence wins).
--
-- Errors are followed by psql's SQLSTATE variable and by a look at the
-- table: nothing written.  Errors raised by the statement the call runs
-- (a NOT NULL constraint, a value the column type rejects) would show
-- that statement in their CONTEXT, which is not part of the API: CONTEXT
-- is hidden for those.
--
-- Everything lives in schema batch_test, dropped at the end.
--
CREATE SCHEMA batch_test;
SET search_path = batch_test, public;

CREATE TABLE products (
    product_id serial PRIMARY KEY,
    sku text UNIQUE NOT NULL,
    name text,
    price numeric(10,2),
    category_id int,
    supplier_id int
);
-- An AFTER UPDATE trigger that counts every row it fires for.
CREATE TABLE update_fires (sku text, old_price numeric, new_price numeric);
CREATE FUNCTION log_update() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN
    INSERT INTO update_fires VALUES (NEW.sku, OLD.price, NEW.price);
    RETURN NULL;
END$$;
CREATE TRIGGER products_log_update AFTER UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION log_update();

--
-- The outcomes.
--
-- a first feed: three new skus, counts only (conflict inferred: sku)
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "LAP-001", "name": "Laptop",   "price": 999, "category_id": 1, "supplier_id": 7},
      {"sku": "MOU-001", "name": "Mouse",    "price": 19,  "category_id": 2, "supplier_id": 7},
      {"sku": "KEY-001", "name": "Keyboard", "price": 49,  "category_id": 2, "supplier_id": 7}]');
SELECT * FROM products ORDER BY product_id;
-- the second feed, one outcome per row (ord = position in the array):
-- LAP-001 has a new price (updated), MOU-001 is as stored (unchanged),
-- PAD-001 is new (inserted), KEY-001 comes twice: the first occurrence is
-- a 'duplicate' and is ignored, the last one (price 45) is applied
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::products,
    '[{"sku": "LAP-001", "name": "Laptop",    "price": 899, "category_id": 1, "supplier_id": 7},
      {"sku": "KEY-001", "name": "Keyboard",  "price": 39,  "category_id": 2, "supplier_id": 7},
      {"sku": "MOU-001", "name": "Mouse",     "price": 19,  "category_id": 2, "supplier_id": 7},
      {"sku": "PAD-001", "name": "Mouse pad", "price": 5,   "category_id": 2, "supplier_id": 8},
      {"sku": "KEY-001", "name": "Keyboard",  "price": 45,  "category_id": 2, "supplier_id": 7}]');
SELECT * FROM products ORDER BY product_id;
-- the trigger fired once per 'updated' row: LAP-001 and KEY-001 (once,
-- with the last occurrence's price)
SELECT * FROM update_fires ORDER BY sku;

--
-- The same feed again: every row 'unchanged' (and the earlier KEY-001 a
-- duplicate), and nothing written: no row version (same xmin and ctid for
-- every row), no trigger, no tuple counted as updated or inserted, not
-- even a transaction id.  The statistics are read as the change of the
-- pg_stat_get_xact_tuples_* counters within the transaction.
--
TRUNCATE update_fires;
SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY sku) AS run1_versions
  FROM products \gset
BEGIN;
SELECT pg_stat_get_xact_tuples_updated('products'::regclass) AS upd,
       pg_stat_get_xact_tuples_inserted('products'::regclass) AS ins \gset
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "LAP-001", "name": "Laptop",    "price": 899, "category_id": 1, "supplier_id": 7},
      {"sku": "KEY-001", "name": "Keyboard",  "price": 39,  "category_id": 2, "supplier_id": 7},
      {"sku": "MOU-001", "name": "Mouse",     "price": 19,  "category_id": 2, "supplier_id": 7},
      {"sku": "PAD-001", "name": "Mouse pad", "price": 5,   "category_id": 2, "supplier_id": 8},
      {"sku": "KEY-001", "name": "Keyboard",  "price": 45,  "category_id": 2, "supplier_id": 7}]');
SELECT pg_stat_get_xact_tuples_updated('products'::regclass) - :upd AS tuples_updated,
       pg_stat_get_xact_tuples_inserted('products'::regclass) - :ins AS tuples_inserted,
       pg_current_xact_id_if_assigned() IS NULL AS no_xid_assigned;
COMMIT;
SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY sku) = :'run1_versions'
       AS no_row_version_changed,
       count(*) AS products
  FROM products;
SELECT count(*) AS trigger_fired FROM update_fires;

--
-- Duplicate keys in one batch.  A plain INSERT ... ON CONFLICT DO UPDATE
-- of the same rows fails: it cannot update a row twice in one statement.
--
INSERT INTO products (sku, name, price)
SELECT r.sku, r.name, r.price
  FROM jsonb_populate_recordset(NULL::products,
    '[{"sku": "CAB-001", "name": "Cable", "price": 3},
      {"sku": "CAB-001", "name": "Cable", "price": 4}]') r
ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price = EXCLUDED.price;
\echo SQLSTATE :SQLSTATE
-- the batch takes the last occurrence of each key: a new key given three
-- times is inserted once, with the values of its third row; an existing
-- key given twice is updated once, with its second row
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::products,
    '[{"sku": "CAB-001", "name": "Cable", "price": 3},
      {"sku": "MOU-001", "name": "Mouse", "price": 17},
      {"sku": "CAB-001", "name": "Cable", "price": 4},
      {"sku": "MOU-001", "name": "Mouse", "price": 18},
      {"sku": "CAB-001", "name": "USB cable", "price": 5}]');
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "CAB-001", "name": "Cable", "price": 6},
      {"sku": "MOU-001", "name": "Mouse", "price": 18},
      {"sku": "CAB-001", "name": "USB cable", "price": 5}]');
SELECT sku, name, price FROM products WHERE sku IN ('CAB-001', 'MOU-001') ORDER BY sku;
SELECT count(*) AS trigger_fired FROM update_fires;
-- keys equal by the key type's equality are duplicates even when they are
-- written differently: 7, 7.0 and "7.00" are one numeric key
CREATE TABLE numbered (k numeric PRIMARY KEY, v text);
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::numbered,
    '[{"k": 7, "v": "a"}, {"k": 7.0, "v": "b"}, {"k": "7.00", "v": "c"}]');
SELECT * FROM numbered;

--
-- update_columns: an explicit subset.  Only name is compared and updated:
-- LAP-001's new price is ignored (unchanged), KEY-001's new name is
-- written but not its price; a new key is inserted with all its columns.
--
TRUNCATE update_fires;
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::products,
    '[{"sku": "LAP-001", "name": "Laptop", "price": 1},
      {"sku": "KEY-001", "name": "Wireless keyboard", "price": 1},
      {"sku": "HUB-001", "name": "USB hub", "price": 25}]',
    update_columns => '{name}');
SELECT sku, name, price FROM products WHERE sku IN ('LAP-001', 'KEY-001', 'HUB-001')
 ORDER BY sku;
SELECT * FROM update_fires;
-- conflict named explicitly, update_columns empty: nothing is ever updated
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "LAP-001", "name": "Notebook"}, {"sku": "DOC-001", "name": "Dock"}]',
    '{sku}', '{}');
SELECT sku, name FROM products WHERE sku IN ('LAP-001', 'DOC-001') ORDER BY sku;

--
-- An empty array: all counts 0, no outcome row.
--
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products, '[]');
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::products, '[]');

--
-- Errors, each followed by its SQLSTATE; none of them writes anything,
-- not even the rows of the batch before the bad one.
--
TRUNCATE update_fires;
SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY product_id) AS before_errors
  FROM products \gset
-- rows with differing keys (every row must give the same columns)
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "LAP-001", "price": 1}, {"sku": "NEW-001", "name": "x"}]');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "NEW-001", "price": 1}, {"sku": "NEW-002", "price": 2, "name": "x"}]');
\echo SQLSTATE :SQLSTATE
-- an element that is not an object
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "NEW-001", "price": 1}, ["NEW-002", 2]]');
\echo SQLSTATE :SQLSTATE
-- rows not an array
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '{"sku": "NEW-001", "price": 1}');
\echo SQLSTATE :SQLSTATE
-- rows NULL
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products, NULL);
\echo SQLSTATE :SQLSTATE
-- a column the table does not have
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "NEW-001", "colour": "red"}]');
\echo SQLSTATE :SQLSTATE
-- an update column that is a conflict column
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "NEW-001", "name": "x"}]', '{sku}', '{sku}');
\echo SQLSTATE :SQLSTATE
-- no key to infer (no unique index has all its columns in the rows)
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"name": "x", "price": 1}]');
\echo SQLSTATE :SQLSTATE
\set SHOW_CONTEXT never
-- a null key in the third row: sku is NOT NULL, so the constraint's
-- 23502 comes first (terse: its DETAIL shows a product_id drawn from the
-- sequence)
\set VERBOSITY terse
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "NEW-001", "price": 1}, {"sku": "LAP-001", "price": 2},
      {"sku": null, "price": 3}]');
\echo SQLSTATE :SQLSTATE
\set VERBOSITY default
-- a value the column type rejects, in the second row: the type's error
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::products,
    '[{"sku": "NEW-001", "price": 1}, {"sku": "NEW-002", "price": "cheap"}]');
\echo SQLSTATE :SQLSTATE
\set SHOW_CONTEXT errors
SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY product_id) = :'before_errors'
       AS no_row_version_changed,
       count(*) AS products
  FROM products;
SELECT count(*) AS trigger_fired FROM update_fires;
-- a null key in a nullable unique column: 22004, naming the row
CREATE TABLE tags (tag text UNIQUE, uses int);
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::tags,
    '[{"tag": "a", "uses": 1}, {"tag": null, "uses": 2}]');
\echo SQLSTATE :SQLSTATE
SELECT count(*) AS tags FROM tags;

--
-- idempotent_upsert_from: the feed loaded with COPY into a staging table
-- of text columns; each value is CAST to its target column's type.
--
CREATE TABLE staging (sku text, name text, price text, supplier_id text);
COPY staging FROM STDIN;
LAP-001	Laptop	849.00	7
TAB-001	Tablet	299.5	9
TAB-001	Tablet	279	9
MOU-001	Mouse	18	7
\.
TRUNCATE update_fires;
-- rows in the order the staging table returns them: TAB-001 twice (the
-- first a duplicate), LAP-001 updated, MOU-001 unchanged
SELECT * FROM upsert_guard.idempotent_upsert_from_outcomes(NULL::products, 'staging');
SELECT sku, name, price, supplier_id FROM products
 WHERE sku IN ('LAP-001', 'TAB-001', 'MOU-001') ORDER BY sku;
-- the same load again: all unchanged, no trigger fired beyond the first
-- load's one update
SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::products, 'staging');
SELECT * FROM update_fires;
-- a value that does not cast to the column's type: numeric's own error,
-- and the good rows of the load are not written either
TRUNCATE staging;
COPY staging FROM STDIN;
NEW-001	Good	1	7
NEW-002	Bad	cheap	7
\.
\set SHOW_CONTEXT never
SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::products, 'staging');
\echo SQLSTATE :SQLSTATE
\set SHOW_CONTEXT errors
SELECT count(*) AS new_rows FROM products WHERE sku LIKE 'NEW-%';
-- a staging column the products table does not have
CREATE TABLE staging_extra (sku text, name text, colour text);
INSERT INTO staging_extra VALUES ('NEW-001', 'Good', 'red');
SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::products, 'staging_extra');
\echo SQLSTATE :SQLSTATE
SELECT count(*) AS new_rows FROM products WHERE sku LIKE 'NEW-%';
-- source NULL
SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::products, NULL);
\echo SQLSTATE :SQLSTATE
-- a view is a relation too: the staging rows, renamed and filtered
TRUNCATE staging;
COPY staging FROM STDIN;
lap-001	laptop	849	7
scr-001	screen	150	9
\N	ignored	1	1
\.
CREATE VIEW staging_clean AS
    SELECT upper(sku) AS sku, initcap(name) AS name, price
      FROM staging WHERE sku IS NOT NULL;
SELECT * FROM upsert_guard.idempotent_upsert_from_outcomes(NULL::products,
    'staging_clean', '{sku}', '{name, price}');
SELECT sku, name, price FROM products WHERE sku IN ('LAP-001', 'SCR-001') ORDER BY sku;

--
-- A partitioned table with a two-column key: each row goes to and is
-- updated in its partition; a row for no partition is PostgreSQL's error.
--
CREATE TABLE regional_prices (
    region text,
    sku text,
    price numeric(10,2),
    PRIMARY KEY (region, sku)
) PARTITION BY LIST (region);
CREATE TABLE regional_prices_eu PARTITION OF regional_prices FOR VALUES IN ('eu');
CREATE TABLE regional_prices_us PARTITION OF regional_prices FOR VALUES IN ('us');
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::regional_prices,
    '[{"region": "eu", "sku": "LAP-001", "price": 899},
      {"region": "us", "sku": "LAP-001", "price": 799}]');
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::regional_prices,
    '[{"region": "us", "sku": "LAP-001", "price": 749},
      {"region": "eu", "sku": "LAP-001", "price": 899.00},
      {"region": "us", "sku": "MOU-001", "price": 19},
      {"region": "us", "sku": "LAP-001", "price": 759}]');
\set SHOW_CONTEXT never
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::regional_prices,
    '[{"region": "eu", "sku": "KEY-001", "price": 1},
      {"region": "asia", "sku": "KEY-001", "price": 2}]');
\echo SQLSTATE :SQLSTATE
\set SHOW_CONTEXT errors
SELECT tableoid::regclass AS partition, * FROM regional_prices
 ORDER BY region, sku;

--
-- Large batches, built with jsonb_agg over generate_series.
--
CREATE TABLE stock (sku int PRIMARY KEY, name text, qty int);
-- 10,000 new rows
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::stock,
    (SELECT jsonb_agg(jsonb_build_object('sku', i, 'name', 'item ' || i, 'qty', i % 100))
       FROM generate_series(1, 10000) i));
-- the same 10,000 keys, every third quantity changed, and 500 keys
-- repeated at the end with a quantity of -1 (those win)
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::stock,
    (SELECT jsonb_agg(r ORDER BY ord)
       FROM (SELECT i AS ord, jsonb_build_object('sku', i, 'name', 'item ' || i,
                    'qty', CASE WHEN i % 3 = 0 THEN i % 100 + 1 ELSE i % 100 END) AS r
               FROM generate_series(1, 10000) i
             UNION ALL
             SELECT 10000 + i, jsonb_build_object('sku', i * 20, 'name', 'item ' || i * 20,
                    'qty', -1)
               FROM generate_series(1, 500) i) s));
SELECT count(*) AS rows,
       count(*) FILTER (WHERE qty = -1) AS last_occurrence_won,
       count(*) FILTER (WHERE sku % 20 <> 0 AND sku % 3 = 0 AND qty = sku % 100 + 1) AS changed,
       count(*) FILTER (WHERE sku % 20 <> 0 AND sku % 3 <> 0 AND qty = sku % 100) AS kept
  FROM stock;
-- 100,000 rows once: of the 10,000 existing, the 3,667 changed above are
-- updated back and the others unchanged; 90,000 new
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::stock,
    (SELECT jsonb_agg(jsonb_build_object('sku', i, 'name', 'item ' || i, 'qty', i % 100))
       FROM generate_series(1, 100000) i));
SELECT count(*) AS rows, count(*) FILTER (WHERE qty <> sku % 100) AS wrong FROM stock;

-- The rows are read through upsert_guard._batch_rows, whose support
-- function tells the planner the array's length (a constant, since batch
-- statements are planned per call); a plain function scan would say 100.
CREATE FUNCTION pg_temp.estimated_rows(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN plan -> 0 -> 'Plan' ->> 'Plan Rows';
END $$;
SELECT pg_temp.estimated_rows($q$SELECT * FROM upsert_guard._batch_rows(NULL::stock,
    '[{"sku": 1}, {"sku": 2}, {"sku": 3}]')$q$) AS batch_rows,
       pg_temp.estimated_rows($q$SELECT * FROM jsonb_populate_recordset(NULL::stock,
    '[{"sku": 1}, {"sku": 2}, {"sku": 3}]')$q$) AS populate_recordset;
SELECT count(*) AS rows, sum(sku) AS skus
  FROM upsert_guard._batch_rows(NULL::stock, '[{"sku": 1}, {"sku": 2}, {"sku": 3}]');

SET client_min_messages = warning;
DROP SCHEMA batch_test CASCADE;
RESET client_min_messages;
