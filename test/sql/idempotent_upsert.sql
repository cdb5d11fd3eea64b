--
-- idempotent_upsert: upsert_guard.idempotent_upsert and
-- idempotent_upsert_outcome on the products table of seed 000 (the
-- supplier feed that is synced every few minutes and must be safe to run
-- again).  An existing row is updated only when an update column differs
-- from new_row; when none does the outcome is 'unchanged' and NOTHING is
-- written: no row version (same xmin and ctid), no UPDATE trigger, no
-- tuple counted as updated, not even a transaction id.
--
-- Errors are followed by psql's SQLSTATE variable (00000 had the call
-- succeeded) and by a look at the table: nothing written.
--
-- Everything lives in schema iu_test, dropped at the end.
--
CREATE SCHEMA iu_test;
SET search_path = iu_test, public;

CREATE TABLE products (
    product_id serial PRIMARY KEY,
    sku text UNIQUE NOT NULL,
    name text,
    price numeric(10,2),
    category_id int,
    supplier_id int
);
-- An AFTER UPDATE trigger that counts every row it fires for.
CREATE TABLE update_fires (sku text, old_name text, new_name text);
CREATE FUNCTION log_update() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN
    INSERT INTO update_fires VALUES (NEW.sku, OLD.name, NEW.name);
    RETURN NULL;
END$$;
CREATE TRIGGER products_log_update AFTER UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION log_update();

--
-- The three outcomes.  Conflict inferred: new_row gives sku but not
-- product_id, so sku is the key; update_columns defaulted: every other
-- column of new_row.
--
-- a new sku: inserted (product_id from the serial)
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "name": "Laptop", "price": 999, "category_id": 1,
      "supplier_id": 7}') o;
-- the same values again: unchanged
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "name": "Laptop", "price": 999, "category_id": 1,
      "supplier_id": 7}') o;
-- a new price: updated, the row returned is the new version
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "name": "Laptop", "price": 899, "category_id": 1,
      "supplier_id": 7}') o;
-- idempotent_upsert returns the row alone; named arguments
SELECT * FROM upsert_guard.idempotent_upsert(target => NULL::products,
    new_row => '{"sku": "LAP-001", "name": "Laptop", "price": 899}',
    conflict => '{sku}', update_columns => '{name, price}');
-- the trigger fired once, for the one 'updated' call
SELECT * FROM update_fires;
SELECT * FROM products ORDER BY product_id;

--
-- 'unchanged' writes nothing.  In one transaction: the row keeps its xmin
-- and ctid, the trigger does not fire, the statistics count no tuple
-- updated or inserted, and the transaction never even gets a transaction
-- id (so it wrote no WAL for the table).  Then the same checks on an
-- 'updated' call, to show they see a write when there is one.
--
-- The statistics are read as the change of the pg_stat_get_xact_tuples_*
-- counters within the transaction: in PostgreSQL 15 these also include
-- counts of earlier transactions not yet flushed to the shared statistics.
--
TRUNCATE update_fires;
SELECT xmin AS old_xmin, ctid AS old_ctid FROM products WHERE sku = 'LAP-001' \gset
BEGIN;
SELECT pg_stat_get_xact_tuples_updated('products'::regclass) AS upd,
       pg_stat_get_xact_tuples_inserted('products'::regclass) AS ins \gset
SELECT o.outcome
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "name": "Laptop", "price": 899, "category_id": 1,
      "supplier_id": 7}') o;
SELECT pg_stat_get_xact_tuples_updated('products'::regclass) - :upd AS tuples_updated,
       pg_stat_get_xact_tuples_inserted('products'::regclass) - :ins AS tuples_inserted,
       pg_current_xact_id_if_assigned() IS NULL AS no_xid_assigned;
COMMIT;
SELECT xmin = :'old_xmin' AS same_xmin, ctid = :'old_ctid' AS same_ctid
  FROM products WHERE sku = 'LAP-001';
SELECT count(*) AS trigger_fired FROM update_fires;
-- the same checks on a call that does change the row
BEGIN;
SELECT pg_stat_get_xact_tuples_updated('products'::regclass) AS upd,
       pg_stat_get_xact_tuples_inserted('products'::regclass) AS ins \gset
SELECT o.outcome
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "name": "Laptop", "price": 849, "category_id": 1,
      "supplier_id": 7}') o;
SELECT pg_stat_get_xact_tuples_updated('products'::regclass) - :upd AS tuples_updated,
       pg_stat_get_xact_tuples_inserted('products'::regclass) - :ins AS tuples_inserted,
       pg_current_xact_id_if_assigned() IS NULL AS no_xid_assigned;
COMMIT;
SELECT xmin = :'old_xmin' AS same_xmin, ctid = :'old_ctid' AS same_ctid
  FROM products WHERE sku = 'LAP-001';
SELECT count(*) AS trigger_fired FROM update_fires;

--
-- The seed's sync job, run twice over the same feed.  The first run
-- inserts the new skus and updates the changed one; the second run finds
-- everything up to date: all 'unchanged', nothing written.
--
CREATE TABLE feed (sku text, name text, price numeric, category_id int,
                   supplier_id int);
INSERT INTO feed VALUES
    ('LAP-001', 'Laptop', 799, 1, 7),
    ('MOU-001', 'Mouse', 19.9, 2, 7),
    ('KEY-001', 'Keyboard', 49, 2, NULL);
TRUNCATE update_fires;
SELECT f.sku, o.outcome
  FROM feed f,
       upsert_guard.idempotent_upsert_outcome(NULL::products, to_jsonb(f)) o
 ORDER BY f.sku;
SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY sku) AS run1_versions
  FROM products \gset
BEGIN;
SELECT pg_stat_get_xact_tuples_updated('products'::regclass) AS upd,
       pg_stat_get_xact_tuples_inserted('products'::regclass) AS ins \gset
SELECT f.sku, o.outcome
  FROM feed f,
       upsert_guard.idempotent_upsert_outcome(NULL::products, to_jsonb(f)) o
 ORDER BY f.sku;
SELECT pg_stat_get_xact_tuples_updated('products'::regclass) - :upd AS tuples_updated,
       pg_stat_get_xact_tuples_inserted('products'::regclass) - :ins AS tuples_inserted,
       pg_current_xact_id_if_assigned() IS NULL AS no_xid_assigned;
COMMIT;
SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY sku) = :'run1_versions'
       AS no_row_version_changed
  FROM products;
-- the trigger fired once: for LAP-001 in the first run
SELECT * FROM update_fires;
SELECT * FROM products ORDER BY product_id;

--
-- What counts as a difference.
--
-- NULL and a value differ both ways; NULL and NULL do not
TRUNCATE update_fires;
SELECT o.outcome, (o.result).supplier_id
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "KEY-001", "supplier_id": 8}') o;
SELECT o.outcome, (o.result).supplier_id
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "KEY-001", "supplier_id": null}') o;
SELECT o.outcome, (o.result).supplier_id
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "KEY-001", "supplier_id": null}') o;
-- several columns: unchanged only when every one is equal (a NULL among
-- them does not make the whole comparison NULL)
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "KEY-001", "name": "Keyboard", "price": 49, "supplier_id": null}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "KEY-001", "name": "Keyboard", "price": 48, "supplier_id": null}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "KEY-001", "name": null, "price": 48, "supplier_id": null}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "KEY-001", "name": null, "price": 48, "supplier_id": null}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "KEY-001", "name": "Keyboard", "price": 48}') o;
-- five 'updated' above, one trigger row each
SELECT sku, coalesce(old_name, '(null)') AS old_name,
       coalesce(new_name, '(null)') AS new_name
  FROM update_fires;

-- numbers compare by the type's equality, not as text: 799, 799.0 and
-- "799.00" are the price 799.00
SELECT o.outcome, (o.result).price
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "price": 799}') o;
SELECT o.outcome, (o.result).price
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "price": 799.0}') o;
SELECT o.outcome, (o.result).price
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "price": "799.00"}') o;
SELECT o.outcome, (o.result).category_id
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "category_id": "1"}') o;
-- text: a change of case is a change
SELECT o.outcome, (o.result).name
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "name": "laptop"}') o;
SELECT o.outcome, (o.result).name
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "name": "Laptop"}') o;
-- a column absent from new_row is not compared nor touched on update
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "LAP-001", "name": "Laptop"}') o;

-- Other types, in a table of their own: numeric without typmod keeps
-- the scale it was stored with (equal values with a different text are
-- left as they are), float -0 equals 0, jsonb compares by value (key
-- order and whitespace are not changes), a case-insensitive collation on
-- a column does not hide a change of case (the comparison uses "C").
CREATE COLLATION case_insensitive (provider = icu,
    locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE typed (
    k int PRIMARY KEY,
    n numeric,
    f float8,
    doc jsonb,
    ci text COLLATE case_insensitive,
    days int[]
);
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::typed,
    '{"k": 1, "n": "999.00", "f": 0, "doc": {"a": 1, "b": [1, 2]},
      "ci": "Laptop", "days": "{1,2}"}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::typed,
    '{"k": 1, "n": 999, "f": "-0", "doc": {"b": [1,2], "a": 1},
      "ci": "Laptop", "days": "{1, 2}"}') o;
-- the array's element order is a change
SELECT o.outcome, (o.result).days
  FROM upsert_guard.idempotent_upsert_outcome(NULL::typed,
    '{"k": 1, "days": "{2,1}"}') o;
-- jsonb: a value inside is a change
SELECT o.outcome, (o.result).doc
  FROM upsert_guard.idempotent_upsert_outcome(NULL::typed,
    '{"k": 1, "doc": {"a": 1, "b": [2, 1]}}') o;
-- ci = 'laptop' is true under the column's collation, yet it is a change
SELECT (SELECT ci = 'laptop' FROM typed WHERE k = 1) AS equal_under_column_collation;
SELECT o.outcome, (o.result).ci
  FROM upsert_guard.idempotent_upsert_outcome(NULL::typed,
    '{"k": 1, "ci": "laptop"}') o;
SELECT * FROM typed;

--
-- update_columns.
--
-- an explicit subset: only name is compared and updated; price and
-- supplier_id differ but are left alone
SELECT * FROM products WHERE sku = 'MOU-001';
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "MOU-001", "name": "Mouse", "price": 1, "supplier_id": 1}',
    NULL, '{name}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "MOU-001", "name": "Optical mouse", "price": 1, "supplier_id": 1}',
    NULL, '{name}') o;
-- a new key is inserted with every column of new_row, not only the
-- update columns
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "PAD-001", "name": "Mouse pad", "price": 5, "supplier_id": 1}',
    NULL, '{name}') o;
-- an empty update_columns: nothing is ever updated
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "PAD-001", "name": "Large mouse pad", "price": 9}',
    NULL, '{}') o;
-- new_row with only the key: an existing row is always unchanged, a new
-- one is inserted with defaults
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "PAD-001"}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "CAB-001"}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"sku": "CAB-001"}') o;
-- the key given as product_id: sku is then an update column, and
-- product 5 (CAB-001) gets a new sku
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
    '{"product_id": 5, "sku": "CAB-002", "name": "Cable"}', '{product_id}') o;
SELECT * FROM products ORDER BY product_id;

--
-- Errors in update_columns, each followed by its SQLSTATE; nothing is
-- written by any of them.
--
TRUNCATE update_fires;
SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY product_id) AS before_errors
  FROM products \gset
-- a conflict column (named or inferred) cannot be updated
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "name": "x"}', '{sku}', '{sku, name}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "name": "x"}', NULL, '{sku}');
\echo SQLSTATE :SQLSTATE
-- a column without a value in new_row
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "name": "x"}', NULL, '{name, price}');
\echo SQLSTATE :SQLSTATE
-- a column the table does not have
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "name": "x"}', NULL, '{title}');
\echo SQLSTATE :SQLSTATE
-- a column twice
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "name": "x"}', NULL, '{name, name}');
\echo SQLSTATE :SQLSTATE
-- a NULL element
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "name": "x"}', NULL, ARRAY['name', NULL]);
\echo SQLSTATE :SQLSTATE
-- a system column
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "name": "x"}', NULL, '{xmin}');
\echo SQLSTATE :SQLSTATE
SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY product_id) = :'before_errors'
       AS no_row_version_changed,
       count(*) AS products
  FROM products;

-- a json column has no equality operator: as an update column, defaulted
-- or named, it is refused, for an existing and for a new key
CREATE TABLE documents (k text PRIMARY KEY, body json, meta jsonb);
INSERT INTO documents VALUES ('existing', '{"a": 1}', '{"v": 1}');
SELECT * FROM upsert_guard.idempotent_upsert(NULL::documents,
    '{"k": "existing", "body": {"a": 2}, "meta": {"v": 2}}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert(NULL::documents,
    '{"k": "new", "body": {"a": 2}}', NULL, '{body}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM documents;
-- left out of update_columns it is fine: inserted with a new key, not
-- compared nor updated for an existing one
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::documents,
    '{"k": "new", "body": {"a": 2}, "meta": {"v": 2}}', NULL, '{meta}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::documents,
    '{"k": "existing", "body": {"a": 3}, "meta": {"v": 1}}', NULL, '{meta}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::documents,
    '{"k": "existing", "body": {"a": 3}, "meta": {"v": 3}}', NULL, '{meta}') o;
SELECT * FROM documents ORDER BY k;

-- errors shared with select_or_insert, raised by idempotent_upsert too
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products, '{"name": "x"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": null, "name": "x"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "price": "cheap"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products, NULL);
\echo SQLSTATE :SQLSTATE
-- a value the column's typmod rejects: the type's own error
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "price": 100000000}');
\echo SQLSTATE :SQLSTATE
-- constraints violated by the UPDATE: their own errors
ALTER TABLE products ADD CONSTRAINT price_positive CHECK (price > 0);
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"sku": "LAP-001", "price": -1}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert(NULL::products,
    '{"product_id": 1, "sku": "MOU-001"}', '{product_id}');
\echo SQLSTATE :SQLSTATE
SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY product_id) = :'before_errors'
       AS no_row_version_changed,
       count(*) AS products
  FROM products;
SELECT count(*) AS trigger_fired FROM update_fires;

--
-- A partitioned table with a two-column key (region, sku): each row goes
-- to and is updated in its partition.
--
CREATE TABLE regional_prices (
    region text,
    sku text,
    price numeric(10,2),
    PRIMARY KEY (region, sku)
) PARTITION BY LIST (region);
CREATE TABLE regional_prices_eu PARTITION OF regional_prices FOR VALUES IN ('eu');
CREATE TABLE regional_prices_us PARTITION OF regional_prices FOR VALUES IN ('us');
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::regional_prices,
    '{"region": "eu", "sku": "LAP-001", "price": 899}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::regional_prices,
    '{"region": "us", "sku": "LAP-001", "price": 799}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::regional_prices,
    '{"region": "eu", "sku": "LAP-001", "price": 899.00}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::regional_prices,
    '{"region": "us", "sku": "LAP-001", "price": 749}', '{region, sku}') o;
-- the key's columns in either order
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::regional_prices,
    '{"region": "us", "sku": "LAP-001", "price": 749}', '{sku, region}') o;
-- only part of the key in new_row: no unique index to infer
SELECT * FROM upsert_guard.idempotent_upsert(NULL::regional_prices,
    '{"sku": "LAP-001", "price": 1}');
\echo SQLSTATE :SQLSTATE
SELECT tableoid::regclass AS partition, * FROM regional_prices
 ORDER BY region, sku;

SET client_min_messages = warning;
DROP SCHEMA iu_test CASCADE;
RESET client_min_messages;
