--
-- plan_cache: the plans upsert_guard prepares once per backend must follow
-- the table through DDL: columns added, dropped, renamed or retyped,
-- indexes created and dropped, the table or its schema renamed, dropped
-- and recreated.  Every call below runs in the one backend of this test,
-- after an earlier call has cached a plan for the same table.
--
CREATE SCHEMA soi_plan;
SET search_path = soi_plan, public;

--
-- ADD COLUMN with a default: the result has the new column, for a found
-- row and for an inserted one.
--
CREATE TABLE t (k int PRIMARY KEY, v text);
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 1, "v": "one"}');
ALTER TABLE t ADD COLUMN added text DEFAULT 'dflt';
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 1, "v": "one"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 2, "v": "two"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::t,
    '{"k": 3, "v": "three", "added": "given"}');
SELECT * FROM t ORDER BY k;

-- a column added and rolled back is gone again for the cached plan
BEGIN;
ALTER TABLE t ADD COLUMN temporary int DEFAULT 7;
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 1, "v": "one"}');
ROLLBACK;
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 1, "v": "one"}');

--
-- DROP COLUMN: the result no longer has it; naming it is an error.
--
ALTER TABLE t DROP COLUMN v;
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 1}');
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 4}');
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 5, "v": "five"}');
\echo SQLSTATE :SQLSTATE
-- a new column under the dropped one's name is another column
ALTER TABLE t ADD COLUMN v int;
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 5, "v": 5}');
SELECT * FROM t ORDER BY k;

--
-- RENAME COLUMN: the old name is an error, the new one works, for new_row
-- and for conflict.
--
ALTER TABLE t RENAME COLUMN added TO renamed;
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 6, "added": "x"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 6, "renamed": "x"}');
ALTER TABLE t RENAME COLUMN k TO key;
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"k": 6}', '{k}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"key": 6, "renamed": "y"}', '{key}');
SELECT * FROM upsert_guard.select_or_insert(NULL::t, '{"key": 7}');
SELECT * FROM t ORDER BY key;

--
-- RENAME TABLE, then a new table under the old name.  NULL::name resolves
-- when the statement is parsed, so each call names one table by OID; the
-- rows show each call reached the table it named.
--
CREATE TABLE r (k int PRIMARY KEY, v text);
SELECT * FROM upsert_guard.select_or_insert(NULL::r, '{"k": 1, "v": "before rename"}');
ALTER TABLE r RENAME TO r_old;
-- the renamed table, through its new name: found, and a new row lands in it
SELECT * FROM upsert_guard.select_or_insert(NULL::r_old, '{"k": 1, "v": "x"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::r_old, '{"k": 2, "v": "after rename"}');
CREATE TABLE r (k int PRIMARY KEY, v text);
-- the new table under the old name is empty: the same key is inserted there
SELECT * FROM upsert_guard.select_or_insert(NULL::r, '{"k": 1, "v": "new table"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::r_old, '{"k": 3, "v": "old table"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::r, '{"k": 3, "v": "new table"}');
SELECT 'r_old' AS tab, * FROM r_old UNION ALL SELECT 'r', * FROM r ORDER BY 1, 2;

--
-- DROP TABLE and recreate it with another shape under the same name.
--
CREATE TABLE d (k int PRIMARY KEY, v text);
SELECT * FROM upsert_guard.select_or_insert(NULL::d, '{"k": 1, "v": "old shape"}');
DROP TABLE d;
CREATE TABLE d (name text PRIMARY KEY, k int, day date DEFAULT '2026-01-01');
SELECT * FROM upsert_guard.select_or_insert(NULL::d, '{"k": 1, "v": "old shape"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::d, '{"k": 1}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::d, '{"name": "a", "k": 1}');
SELECT * FROM upsert_guard.select_or_insert(NULL::d, '{"name": "a", "k": 2}');
SELECT * FROM d;

--
-- Unique indexes created and dropped change what is inferred.
--
CREATE TABLE u (a int UNIQUE, b int, c text);
SELECT * FROM upsert_guard.select_or_insert(NULL::u, '{"a": 1, "b": 1, "c": "one"}');
CREATE UNIQUE INDEX u_b ON u (b);
-- now two unique indexes have all their columns in new_row
SELECT * FROM upsert_guard.select_or_insert(NULL::u, '{"a": 1, "b": 1, "c": "x"}');
\echo SQLSTATE :SQLSTATE
-- the new index can be named
SELECT * FROM upsert_guard.select_or_insert(NULL::u, '{"a": 2, "b": 1, "c": "x"}', '{b}');
DROP INDEX u_b;
-- inferred again; the index is gone, so naming its column is an error
SELECT * FROM upsert_guard.select_or_insert(NULL::u, '{"a": 1, "b": 1, "c": "x"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::u, '{"a": 2, "b": 1, "c": "x"}', '{b}');
\echo SQLSTATE :SQLSTATE
-- the arbiter itself dropped and recreated as a new index
ALTER TABLE u DROP CONSTRAINT u_a_key;
SELECT * FROM upsert_guard.select_or_insert(NULL::u, '{"a": 1, "b": 1, "c": "x"}');
\echo SQLSTATE :SQLSTATE
CREATE UNIQUE INDEX u_a_again ON u (a);
SELECT * FROM upsert_guard.select_or_insert(NULL::u, '{"a": 1, "b": 1, "c": "x"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::u, '{"a": 3, "b": 3, "c": "three"}');
SELECT * FROM u ORDER BY a;

--
-- ALTER COLUMN TYPE.
--
CREATE TABLE ty (k int PRIMARY KEY, code text);
SELECT * FROM upsert_guard.select_or_insert(NULL::ty, '{"k": 1, "code": "abcdef"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::ty, '{"k": 1099511627776}');
\echo SQLSTATE :SQLSTATE
ALTER TABLE ty ALTER COLUMN k TYPE bigint;
SELECT * FROM upsert_guard.select_or_insert(NULL::ty, '{"k": 1099511627776}');
SELECT * FROM upsert_guard.select_or_insert(NULL::ty, '{"k": 1, "code": "x"}');
ALTER TABLE ty ALTER COLUMN code TYPE varchar(6);
SELECT * FROM upsert_guard.select_or_insert(NULL::ty, '{"k": 2, "code": "abcdef"}');
ALTER TABLE ty ALTER COLUMN code TYPE varchar(3) USING left(code, 3);
-- the long value fitted before; now it does not, and a short one does
SELECT * FROM upsert_guard.select_or_insert(NULL::ty, '{"k": 3, "code": "abcdef"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::ty, '{"k": 3, "code": "abc"}');
-- the key column retyped to text: a JSON string key is now found as text
ALTER TABLE ty ALTER COLUMN k TYPE text;
SELECT * FROM upsert_guard.select_or_insert(NULL::ty, '{"k": "1099511627776"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::ty, '{"k": "x1"}');
SELECT k, code, pg_typeof(k) FROM ty ORDER BY k;

--
-- A schema renamed, and a new schema under the old name with a table of
-- the same name: NULL::s2.t reaches the renamed schema's table.
--
CREATE SCHEMA soi_plan_s;
CREATE TABLE soi_plan_s.t (k int PRIMARY KEY, v text);
SELECT * FROM upsert_guard.select_or_insert(NULL::soi_plan_s.t, '{"k": 1, "v": "first"}');
ALTER SCHEMA soi_plan_s RENAME TO soi_plan_s2;
CREATE SCHEMA soi_plan_s;
CREATE TABLE soi_plan_s.t (k int PRIMARY KEY, v text);
SELECT * FROM upsert_guard.select_or_insert(NULL::soi_plan_s2.t, '{"k": 1, "v": "x"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::soi_plan_s2.t, '{"k": 2, "v": "in s2"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::soi_plan_s.t, '{"k": 1, "v": "in new s"}');
SELECT 's2' AS schema, * FROM soi_plan_s2.t
UNION ALL SELECT 's', * FROM soi_plan_s.t ORDER BY 1, 2;

-- a table moved to another schema is still reached by its OID
CREATE TABLE soi_plan_s.moving (k int PRIMARY KEY, v text);
SELECT * FROM upsert_guard.select_or_insert(NULL::soi_plan_s.moving, '{"k": 1, "v": "before move"}');
ALTER TABLE soi_plan_s.moving SET SCHEMA soi_plan_s2;
SELECT * FROM upsert_guard.select_or_insert(NULL::soi_plan_s2.moving, '{"k": 1, "v": "x"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::soi_plan_s2.moving, '{"k": 2, "v": "after move"}');
SELECT * FROM soi_plan_s2.moving ORDER BY k;

--
-- A table created, used and rolled back, then created again with another
-- shape: the plans of the rolled-back table are not reused.
--
BEGIN;
CREATE TABLE tx (k int PRIMARY KEY, v text DEFAULT 'first');
SELECT * FROM upsert_guard.select_or_insert(NULL::tx, '{"k": 1}');
ROLLBACK;
CREATE TABLE tx (k int PRIMARY KEY, n int DEFAULT 2, v text DEFAULT 'second');
SELECT * FROM upsert_guard.select_or_insert(NULL::tx, '{"k": 1}');
SELECT * FROM tx;

--
-- A call nested in a trigger of the table, invalidating the table's plans
-- (ANALYZE) while the outer call's plans are still running: the nested call
-- rebuilds them, the outer call finishes on its own, and later calls work.
--
CREATE TABLE tree (id serial PRIMARY KEY, name text UNIQUE, parent text);
CREATE FUNCTION tree_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent IS NOT NULL THEN
        ANALYZE tree;
        PERFORM upsert_guard.select_or_insert(NULL::tree,
            jsonb_build_object('name', NEW.parent,
                               'parent', nullif('root', NEW.parent)));
        ANALYZE tree;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tree_parent BEFORE INSERT ON tree
    FOR EACH ROW EXECUTE FUNCTION tree_parent();
SELECT * FROM upsert_guard.select_or_insert(NULL::tree, '{"name": "c", "parent": "b"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::tree, '{"name": "d", "parent": "b"}');
SELECT * FROM upsert_guard.select_or_insert(NULL::tree, '{"name": "d", "parent": "x"}');
SELECT * FROM tree ORDER BY id;

--
-- Many calls in one statement share the cached plans: 1000 calls over 10
-- keys insert 10 rows and find them 990 times.
--
CREATE TABLE many (k int PRIMARY KEY, id serial UNIQUE, first_g int);
SELECT count(*) AS calls, count(DISTINCT (m.result).id) AS distinct_rows,
       count(*) FILTER (WHERE m.outcome = 'inserted') AS inserted,
       count(*) FILTER (WHERE m.outcome = 'found') AS found,
       bool_and((m.result).k = g % 10) AS right_keys
  FROM generate_series(1, 1000) g,
       LATERAL upsert_guard.select_or_insert_outcome(NULL::many,
           jsonb_build_object('k', g % 10, 'first_g', g), '{k}') m;
SELECT count(*), min(first_g), max(first_g), max(id) FROM many;
-- the same through select_or_insert, its result in the select list
SELECT count(*) AS calls,
       count(DISTINCT (upsert_guard.select_or_insert(NULL::many,
           jsonb_build_object('k', g % 20, 'first_g', g), '{k}', 'none')).id)
           AS distinct_rows
  FROM generate_series(1, 1000) g;
SELECT count(*), max(id) FROM many;
SELECT * FROM many WHERE k >= 10 ORDER BY k LIMIT 3;

SET client_min_messages = warning;
DROP SCHEMA soi_plan CASCADE;
DROP SCHEMA soi_plan_s CASCADE;
DROP SCHEMA soi_plan_s2 CASCADE;
RESET client_min_messages;
