--
-- bad_input: malformed and hostile calls of every function of upsert_guard,
-- run from a table of cases.  Each case is one SQL statement and the
-- SQLSTATE it must end with ('00000': it must succeed).  A PL/pgSQL loop
-- runs every case in its own exception block and the table below shows,
-- per case, the SQLSTATE expected, the one raised and the message (cut
-- short: some embed a 10 MB value).  After the loop: no case raised
-- XX000 (internal_error) or anything but its expected SQLSTATE, no table
-- was written (every target's rows, ctids and xmins, the guard
-- definitions and the triggers are as before), the setting kept its
-- value, and the session still works.
--
-- The cases: NULL in every argument of every function; JSON of the wrong
-- shape (an array or a scalar where an object is needed, and the other
-- way round; empty objects and arrays); values their column's type
-- rejects (a string for an int delta, "12abc" for an int, a number for a
-- date); unknown tables and columns, dropped columns (by their old name
-- and by the placeholder name the catalog keeps), OIDs of no relation;
-- views, materialized views, composite types, domains, sequences,
-- indexes, foreign tables (of a wrapper without a handler) and system
-- catalogs where a table is needed; partitioned tables without a unique
-- index on the parent and rows for no partition; a 10 MB string, an
-- object of 10,000 keys and 10,000 levels of nested arrays; bad lock
-- modes, arbiter names, guard names and conditions; invalid values of
-- upsert_guard.max_attempts.  (errors.sql covers select_or_insert's own
-- misuse; batch.sql, increment.sql, idempotent_upsert.sql and guard.sql
-- the common misuse of the others.)
--
-- Last, partitioned and temporary tables work wherever PostgreSQL's own
-- INSERT ... ON CONFLICT does: every function on a partitioned table whose
-- unique key includes the partition key, and on a temporary table; and
-- valid huge and deep values are written and compared like any other.
--
-- Everything lives in schema bad_input (and pg_temp), dropped at the end.
--
CREATE SCHEMA bad_input;
SET search_path = bad_input, public;

--
-- The targets.
--
CREATE TABLE items (
    id int PRIMARY KEY,
    name text UNIQUE,
    qty int NOT NULL DEFAULT 0,
    price numeric(6,2),
    day date,
    flag boolean,
    doc jsonb
);
INSERT INTO items VALUES (1, 'one', 5, 9.99, '2026-01-01', true, '{"a": 1}'),
                         (2, 'two', 0, NULL, NULL, NULL, NULL);
CREATE TABLE counters (
    k text PRIMARY KEY,
    hits int NOT NULL DEFAULT 0,
    total numeric(6,2),
    ratio float8,
    label text,
    twice int GENERATED ALWAYS AS (hits * 2) STORED,
    serial_no int GENERATED ALWAYS AS IDENTITY
);
INSERT INTO counters (k, hits, total) VALUES ('home', 10, 1.5);
-- a column dropped: the catalog keeps it as "........pg.dropped.2........"
CREATE TABLE dropped (id int PRIMARY KEY, gone int, v text, hits int);
ALTER TABLE dropped DROP COLUMN gone;
INSERT INTO dropped VALUES (1, 'a', 0);
-- a partitioned table, its unique key including the partition key
CREATE TABLE regional (
    region text,
    k int,
    v text,
    hits int NOT NULL DEFAULT 0,
    PRIMARY KEY (region, k)
) PARTITION BY LIST (region);
CREATE TABLE regional_eu PARTITION OF regional FOR VALUES IN ('eu');
CREATE TABLE regional_us PARTITION OF regional FOR VALUES IN ('us');
INSERT INTO regional VALUES ('eu', 1, 'a', 0);
-- a partitioned table with a unique index on a partition only: the parent
-- has nothing to decide conflicts with (nor has INSERT ... ON CONFLICT)
CREATE TABLE split (region text, k int, v text) PARTITION BY LIST (region);
CREATE TABLE split_eu PARTITION OF split FOR VALUES IN ('eu');
CREATE UNIQUE INDEX split_eu_k ON split_eu (k);
CREATE TABLE bigkey (k text PRIMARY KEY);
CREATE TABLE no_columns ();
CREATE TABLE posts (user_id int NOT NULL, at date NOT NULL, highlighted boolean NOT NULL);
CREATE FUNCTION nothing() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER audit AFTER INSERT ON posts FOR EACH ROW EXECUTE FUNCTION nothing();
CREATE TEMP TABLE scratch (k int PRIMARY KEY, v text, hits int NOT NULL DEFAULT 0);
INSERT INTO scratch VALUES (1, 'a', 0);
-- sources for idempotent_upsert_from
CREATE TABLE staging_text (id int, name text, qty text);
INSERT INTO staging_text VALUES (3, 'three', 'lots');
CREATE TABLE staging_point (id int, qty point);
INSERT INTO staging_point VALUES (3, '(1,2)');
CREATE TABLE staging_extra (id int, colour text);
INSERT INTO staging_extra VALUES (3, 'red');
-- relations and types that are not tables
CREATE VIEW items_view AS SELECT * FROM items;
CREATE MATERIALIZED VIEW items_mat AS SELECT * FROM items;
CREATE MATERIALIZED VIEW items_unpopulated AS SELECT * FROM items WITH NO DATA;
CREATE TYPE item_pair AS (id int, name text);
CREATE DOMAIN item_domain AS items;
CREATE SEQUENCE item_seq;
CREATE FOREIGN DATA WRAPPER bad_input_fdw;
CREATE SERVER bad_input_server FOREIGN DATA WRAPPER bad_input_fdw;
CREATE FOREIGN TABLE remote_items (id int, name text) SERVER bad_input_server;

--
-- The cases.  fn: the function called; what: the abuse; expected: the
-- SQLSTATE.  Statements that return a value return one text, shown as
-- the message when they succeed.
--
CREATE TEMP TABLE cases (
    case_no serial PRIMARY KEY,
    fn text NOT NULL,
    what text NOT NULL,
    expected text NOT NULL,
    sql text NOT NULL
);
INSERT INTO cases (fn, what, expected, sql) VALUES
-- select_or_insert, select_or_insert_outcome
('select_or_insert_outcome', 'new_row NULL', '22004',
 $$SELECT (upsert_guard.select_or_insert_outcome(NULL::items, NULL)).outcome$$),
('select_or_insert_outcome', 'lock NULL', '22004',
 $$SELECT (upsert_guard.select_or_insert_outcome(NULL::items, '{"id": 1}', NULL, NULL)).outcome$$),
('select_or_insert_outcome', 'conflict and arbiter NULL: the defaults', '00000',
 $$SELECT (upsert_guard.select_or_insert_outcome(NULL::items, '{"id": 1}', NULL, 'none', NULL)).outcome$$),
('select_or_insert_outcome', 'arbiter '''', right after the same call without arbiter', '42704',
 $$SELECT (upsert_guard.select_or_insert_outcome(NULL::items, '{"id": 1}', NULL, 'none', '')).outcome$$),
('select_or_insert_outcome', 'lock ''''', '22023',
 $$SELECT (upsert_guard.select_or_insert_outcome(NULL::items, '{"id": 1}', NULL, '')).outcome$$),
('select_or_insert_outcome', 'lock ''for update'' (SQL syntax, not a mode name)', '22023',
 $$SELECT (upsert_guard.select_or_insert_outcome(NULL::items, '{"id": 1}', NULL, 'for update')).outcome$$),
('select_or_insert_outcome', 'lock ''update '' (trailing space)', '22023',
 $$SELECT (upsert_guard.select_or_insert_outcome(NULL::items, '{"id": 1}', NULL, 'update ')).outcome$$),
('select_or_insert_outcome', 'lock of 10 MB', '22023',
 $$SELECT (upsert_guard.select_or_insert_outcome(NULL::items, '{"id": 1}', NULL, repeat('x', 10000000))).outcome$$),
('select_or_insert', 'lock given as an integer', '42883',
 $$SELECT upsert_guard.select_or_insert(NULL::items, '{"id": 1}', NULL, 1)::text$$),
('select_or_insert', 'target a domain over the row type', '42809',
 $$SELECT upsert_guard.select_or_insert(NULL::item_domain, '{"id": 1}')::text$$),
('select_or_insert', 'target an anonymous record', '42809',
 $$SELECT upsert_guard.select_or_insert(ROW(1, 'one'), '{"id": 1}')::text$$),
('select_or_insert', 'target a table that does not exist', '42704',
 $$SELECT upsert_guard.select_or_insert(NULL::no_such_table, '{"id": 1}')::text$$),
('select_or_insert', 'new_row an empty array', '22023',
 $$SELECT upsert_guard.select_or_insert(NULL::items, '[]')::text$$),
('select_or_insert', 'new_row 10,000 levels of nested arrays', '22023',
 $$SELECT upsert_guard.select_or_insert(NULL::items, (repeat('[', 10000) || repeat(']', 10000))::jsonb)::text$$),
('select_or_insert', 'new_row an object of 10,000 unknown keys', '42703',
 $$SELECT upsert_guard.select_or_insert(NULL::items, (SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 10000) i))::text$$),
('select_or_insert', '10,000 levels of nested arrays for an int column', '22P02',
 $$SELECT upsert_guard.select_or_insert(NULL::items, jsonb_build_object('id', 9, 'qty', (repeat('[', 10000) || repeat(']', 10000))::jsonb))::text$$),
('select_or_insert', 'a dropped column, by its old name', '42703',
 $$SELECT upsert_guard.select_or_insert(NULL::dropped, '{"id": 9, "gone": 1}')::text$$),
('select_or_insert', 'a dropped column, by the catalog''s placeholder name', '42703',
 $$SELECT upsert_guard.select_or_insert(NULL::dropped, '{"id": 9, "........pg.dropped.2........": 1}')::text$$),
('select_or_insert', 'a dropped column as the conflict column', '42703',
 $$SELECT upsert_guard.select_or_insert(NULL::dropped, '{"id": 9}', '{gone}')::text$$),
('select_or_insert', 'a table with no columns', '42P10',
 $$SELECT upsert_guard.select_or_insert(NULL::no_columns, '{}')::text$$),
('select_or_insert', 'partitioned, a unique index on a partition only', '42P10',
 $$SELECT upsert_guard.select_or_insert(NULL::split, '{"region": "eu", "k": 1}')::text$$),
('select_or_insert', 'partitioned, a row for no partition', '23514',
 $$SELECT upsert_guard.select_or_insert(NULL::regional, '{"region": "asia", "k": 1}')::text$$),
('select_or_insert', 'a partition as target, a row of another partition', '23514',
 $$SELECT upsert_guard.select_or_insert(NULL::regional_eu, '{"region": "us", "k": 5}')::text$$),
('select_or_insert', 'a 10 MB key for a btree unique index', '54000',
 $$SELECT upsert_guard.select_or_insert(NULL::bigkey, jsonb_build_object('k', repeat('x', 10000000)))::text$$),
-- idempotent_upsert, idempotent_upsert_outcome
('idempotent_upsert', 'target an untyped NULL', '42804',
 $$SELECT upsert_guard.idempotent_upsert(NULL, '{"id": 1}')::text$$),
('idempotent_upsert', 'target not NULL', '22023',
 $$SELECT upsert_guard.idempotent_upsert(ROW(1, 'one', 5, 9.99, NULL, NULL, NULL)::items, '{"id": 1}')::text$$),
('idempotent_upsert', 'target a view', '42809',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items_view, '{"id": 1, "qty": 6}')::text$$),
('idempotent_upsert', 'target a materialized view', '42809',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items_mat, '{"id": 1, "qty": 6}')::text$$),
('idempotent_upsert', 'target a foreign table', '42809',
 $$SELECT upsert_guard.idempotent_upsert(NULL::remote_items, '{"id": 1, "name": "x"}')::text$$),
('idempotent_upsert', 'target a composite type', '42809',
 $$SELECT upsert_guard.idempotent_upsert(NULL::item_pair, '{"id": 1, "name": "x"}')::text$$),
('idempotent_upsert_outcome', 'new_row NULL', '22004',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, NULL)).outcome$$),
('idempotent_upsert_outcome', 'new_row a JSON array of the object', '22023',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, '[{"id": 1, "qty": 6}]')).outcome$$),
('idempotent_upsert_outcome', 'new_row a JSON string', '22023',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, '"{\"id\": 1}"')).outcome$$),
('idempotent_upsert_outcome', 'new_row {}', '42P10',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, '{}')).outcome$$),
('idempotent_upsert_outcome', 'new_row {} with conflict {id}', '22023',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, '{}', '{id}')).outcome$$),
('idempotent_upsert_outcome', 'conflict {}', '22023',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, '{"id": 1, "qty": 6}', '{}')).outcome$$),
('idempotent_upsert_outcome', 'conflict with a NULL element', '22004',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, '{"id": 1, "qty": 6}', ARRAY[NULL]::text[])).outcome$$),
('idempotent_upsert_outcome', 'update_columns with a NULL element', '22004',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, '{"id": 1, "qty": 6}', NULL, ARRAY['qty', NULL])).outcome$$),
('idempotent_upsert_outcome', 'update_columns two-dimensional', '2202E',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, '{"id": 1, "qty": 6}', NULL, '{{qty}}')).outcome$$),
('idempotent_upsert_outcome', 'update_columns a dropped column', '42703',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::dropped, '{"id": 1, "v": "b"}', NULL, '{gone}')).outcome$$),
('idempotent_upsert_outcome', 'the NULL defaults, on a row with the same values', '00000',
 $$SELECT (upsert_guard.idempotent_upsert_outcome(NULL::items, '{"id": 2, "qty": 0}', NULL, NULL, NULL)).outcome$$),
('idempotent_upsert', 'a column the table does not have', '42703',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, '{"id": 1, "colour": "red"}')::text$$),
('idempotent_upsert', '"12abc" for an int column', '22P02',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, '{"id": 1, "qty": "12abc"}')::text$$),
('idempotent_upsert', 'a JSON object for an int column', '22P02',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, '{"id": 1, "qty": {"n": 6}}')::text$$),
('idempotent_upsert', 'JSON true for a numeric column', '22P02',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, '{"id": 1, "price": true}')::text$$),
('idempotent_upsert', 'a JSON number for a date column', '22007',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, '{"id": 1, "day": 123}')::text$$),
('idempotent_upsert', 'the number 2 for a boolean column', '22P02',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, '{"id": 1, "flag": 2}')::text$$),
('idempotent_upsert', 'a number beyond numeric(6,2)', '22003',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, '{"id": 1, "price": 1e6}')::text$$),
('idempotent_upsert', '10 MB of digits for an int column', '22003',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, jsonb_build_object('id', 1, 'qty', repeat('9', 10000000)))::text$$),
('idempotent_upsert', 'new_row an object of 10,000 unknown keys', '42703',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, (SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 10000) i))::text$$),
('idempotent_upsert', 'partitioned, a row for no partition', '23514',
 $$SELECT upsert_guard.idempotent_upsert(NULL::regional, '{"region": "asia", "k": 1, "v": "x"}')::text$$),
('idempotent_upsert', 'arbiter an index of another table', '42704',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, '{"id": 1, "qty": 6}', arbiter => 'counters_pkey')::text$$),
('idempotent_upsert', 'arbiter of 10 MB', '42704',
 $$SELECT upsert_guard.idempotent_upsert(NULL::items, '{"id": 1, "qty": 6}', arbiter => repeat('x', 10000000))::text$$),
-- increment, increment_outcome
('increment', 'target an untyped NULL', '42804',
 $$SELECT upsert_guard.increment(NULL, '{"k": "home"}', '{"hits": 1}')::text$$),
('increment', 'target a view', '42809',
 $$SELECT upsert_guard.increment(NULL::items_view, '{"id": 1}', '{"qty": 1}')::text$$),
('increment', 'target a foreign table', '42809',
 $$SELECT upsert_guard.increment(NULL::remote_items, '{"id": 1}', '{"id": 1}')::text$$),
('increment_outcome', 'new_row NULL', '22004',
 $$SELECT (upsert_guard.increment_outcome(NULL::counters, NULL, '{"hits": 1}')).outcome$$),
('increment_outcome', 'deltas NULL', '22004',
 $$SELECT (upsert_guard.increment_outcome(NULL::counters, '{"k": "home"}', NULL)).outcome$$),
('increment_outcome', 'a NULL delta', '22004',
 $$SELECT (upsert_guard.increment_outcome(NULL::counters, '{"k": "home"}', '{"hits": null}')).outcome$$),
('increment_outcome', 'conflict with a NULL element', '22004',
 $$SELECT (upsert_guard.increment_outcome(NULL::counters, '{"k": "home"}', '{"hits": 1}', ARRAY[NULL]::text[])).outcome$$),
('increment_outcome', 'deltas a JSON array of an object', '22023',
 $$SELECT (upsert_guard.increment_outcome(NULL::counters, '{"k": "home"}', '[{"hits": 1}]')).outcome$$),
('increment_outcome', 'deltas []', '22023',
 $$SELECT (upsert_guard.increment_outcome(NULL::counters, '{"k": "home"}', '[]')).outcome$$),
('increment_outcome', 'new_row {}', '42P10',
 $$SELECT (upsert_guard.increment_outcome(NULL::counters, '{}', '{"hits": 1}')).outcome$$),
('increment', 'a string for an int delta', '22P02',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"hits": "one"}')::text$$),
('increment', 'a fraction for an int delta', '22P02',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"hits": 1.5}')::text$$),
('increment', 'a boolean delta', '22P02',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"hits": true}')::text$$),
('increment', 'an object delta', '22P02',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"hits": {"by": 1}}')::text$$),
('increment', '10,000 levels of nested arrays as a delta', '22P02',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', jsonb_build_object('hits', (repeat('[', 10000) || repeat(']', 10000))::jsonb))::text$$),
('increment', 'a delta beyond double precision', '22003',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"ratio": 1e400}')::text$$),
('increment', 'a delta beyond numeric(6,2)', '22003',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"total": 99999}')::text$$),
('increment', 'a delta on a generated column', '428C9',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"twice": 1}')::text$$),
('increment', 'a delta on an identity column GENERATED ALWAYS', '428C9',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"serial_no": 1}')::text$$),
('increment', 'a delta on a text column', '42804',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"label": 1}')::text$$),
('increment', 'a delta on a dropped column', '42703',
 $$SELECT upsert_guard.increment(NULL::dropped, '{"id": 1}', '{"gone": 1}')::text$$),
('increment', 'a delta on the dropped column''s placeholder name', '42703',
 $$SELECT upsert_guard.increment(NULL::dropped, '{"id": 1}', '{"........pg.dropped.2........": 1}')::text$$),
('increment', 'deltas an object of 10,000 unknown keys', '42703',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', (SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 10000) i))::text$$),
('increment', 'partitioned, a row for no partition', '23514',
 $$SELECT upsert_guard.increment(NULL::regional, '{"region": "asia", "k": 1}', '{"hits": 1}')::text$$),
('increment', 'conflict a plain string, not an array', '22P02',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"hits": 1}', conflict => 'k')::text$$),
('increment', 'deltas given as text', '42883',
 $$SELECT upsert_guard.increment(NULL::counters, '{"k": "home"}', '{"hits": 1}'::text)::text$$),
-- idempotent_upsert_batch, idempotent_upsert_batch_outcomes
('idempotent_upsert_batch', 'target not NULL', '22023',
 $$SELECT upsert_guard.idempotent_upsert_batch(ROW('home', 1, NULL, NULL, NULL, NULL, NULL)::counters, '[{"k": "home"}]')::text$$),
('idempotent_upsert_batch', 'target a view', '42809',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items_view, '[{"id": 1}]')::text$$),
('idempotent_upsert_batch', 'target a foreign table', '42809',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::remote_items, '[{"id": 1}]')::text$$),
('idempotent_upsert_batch', 'partitioned, a unique index on a partition only', '42P10',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::split, '[{"region": "eu", "k": 1}]')::text$$),
('idempotent_upsert_batch_outcomes', 'rows NULL', '22004',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, NULL)$$),
('idempotent_upsert_batch_outcomes', 'rows JSON null', '22023',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, 'null')$$),
('idempotent_upsert_batch_outcomes', 'rows a JSON object, not an array', '22023',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, '{"id": 1}')$$),
('idempotent_upsert_batch_outcomes', 'rows [null]', '22023',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, '[null]')$$),
('idempotent_upsert_batch_outcomes', 'rows [[]]', '22023',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, '[[]]')$$),
('idempotent_upsert_batch_outcomes', 'rows [{}]', '42P10',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, '[{}]')$$),
('idempotent_upsert_batch_outcomes', 'rows [{}, {}] with conflict {id}', '22023',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, '[{}, {}]', '{id}')$$),
('idempotent_upsert_batch_outcomes', 'conflict with a NULL element', '22004',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, '[{"id": 1}]', ARRAY[NULL]::text[])$$),
('idempotent_upsert_batch_outcomes', 'update_columns with a NULL element', '22004',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, '[{"id": 1, "qty": 6}]', NULL, ARRAY[NULL]::text[])$$),
('idempotent_upsert_batch_outcomes', 'the NULL defaults, on rows with the same values', '00000',
 $$SELECT string_agg(ord || ':' || outcome, ' ' ORDER BY ord) FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::items, '[{"id": 1, "qty": 5}, {"id": 2, "qty": 0}]', NULL, NULL, NULL)$$),
('idempotent_upsert_batch', 'conflict {}', '22023',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items, '[{"id": 1}]', '{}')::text$$),
('idempotent_upsert_batch', 'conflict names a column the table does not have', '42703',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items, '[{"id": 1}]', '{ident}')::text$$),
('idempotent_upsert_batch', 'a key in another case than the column', '42703',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items, '[{"ID": 1}]')::text$$),
('idempotent_upsert_batch', 'a dropped column', '42703',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::dropped, '[{"id": 1, "gone": 1}]')::text$$),
('idempotent_upsert_batch', '"12abc" for an int column, in row 2', '22P02',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items, '[{"id": 8, "qty": 1}, {"id": 9, "qty": "12abc"}]')::text$$),
('idempotent_upsert_batch', '10,000 levels of nested arrays for an int column', '22P02',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items, jsonb_build_array(jsonb_build_object('id', 9, 'qty', (repeat('[', 10000) || repeat(']', 10000))::jsonb)))::text$$),
('idempotent_upsert_batch', 'rows 10,000 levels of nested arrays', '22023',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items, (repeat('[', 10000) || repeat(']', 10000))::jsonb)::text$$),
('idempotent_upsert_batch', 'a row of 10,000 unknown keys', '42703',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items, jsonb_build_array((SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 10000) i)))::text$$),
('idempotent_upsert_batch', '10 MB of digits for an int column', '22003',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items, jsonb_build_array(jsonb_build_object('id', 9, 'qty', repeat('9', 10000000))))::text$$),
('idempotent_upsert_batch', 'arbiter of 10 MB', '42704',
 $$SELECT upsert_guard.idempotent_upsert_batch(NULL::items, '[{"id": 1}]', arbiter => repeat('x', 10000000))::text$$),
-- idempotent_upsert_from, idempotent_upsert_from_outcomes
('idempotent_upsert_from_outcomes', 'source NULL', '22004',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_from_outcomes(NULL::items, NULL)$$),
('idempotent_upsert_from_outcomes', 'update_columns with a NULL element', '22004',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_from_outcomes(NULL::items, 'staging_text', NULL, ARRAY[NULL]::text[])$$),
('idempotent_upsert_from_outcomes', 'update_columns two-dimensional', '2202E',
 $$SELECT count(*)::text FROM upsert_guard.idempotent_upsert_from_outcomes(NULL::items, 'staging_text', NULL, '{{name}}')$$),
('idempotent_upsert_from', 'source a table that does not exist', '42P01',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'no_such_table')::text$$),
('idempotent_upsert_from', 'source the OID of no relation', '42P01',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 999999::regclass)::text$$),
('idempotent_upsert_from', 'source OID 0', '42P01',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 0::regclass)::text$$),
('idempotent_upsert_from', 'source an index', '42809',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'items_pkey')::text$$),
('idempotent_upsert_from', 'source a composite type', '42809',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'item_pair', '{id}')::text$$),
('idempotent_upsert_from', 'source a sequence (its columns are not the table''s)', '42703',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'item_seq')::text$$),
('idempotent_upsert_from', 'source a foreign table whose wrapper has no handler', '55000',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'remote_items', '{id}')::text$$),
('idempotent_upsert_from', 'source a materialized view never populated', '55000',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'items_unpopulated', '{id}')::text$$),
('idempotent_upsert_from', 'a source column type that does not cast (point to int)', '42846',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'staging_point')::text$$),
('idempotent_upsert_from', 'a source value that does not cast (''lots'' to int)', '22P02',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'staging_text', '{id}')::text$$),
('idempotent_upsert_from', 'a source column the table does not have', '42703',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'staging_extra')::text$$),
('idempotent_upsert_from', 'a source with no columns', '42P10',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'no_columns')::text$$),
('idempotent_upsert_from', 'target a view', '42809',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items_view, 'items')::text$$),
('idempotent_upsert_from', 'conflict a dropped column', '42703',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::dropped, 'dropped', '{gone}')::text$$),
('idempotent_upsert_from', 'source the target itself: every row unchanged', '00000',
 $$SELECT upsert_guard.idempotent_upsert_from(NULL::items, 'items', '{id}')::text$$),
-- add_guard, drop_guard
('add_guard', 'target NULL', '22004',
 $$SELECT upsert_guard.add_guard('g', NULL, '{user_id}', 'true')::text$$),
('add_guard', 'max_conflicts NULL', '22004',
 $$SELECT upsert_guard.add_guard('g', 'posts', '{user_id}', 'true', NULL)::text$$),
('add_guard', 'a table that does not exist', '42P01',
 $$SELECT upsert_guard.add_guard('g', 'no_such_table', '{user_id}', 'true')::text$$),
('add_guard', 'the OID of no relation', '42P01',
 $$SELECT upsert_guard.add_guard('g', 999999::regclass, '{user_id}', 'true')::text$$),
('add_guard', 'a materialized view', '42809',
 $$SELECT upsert_guard.add_guard('g', 'items_mat', '{id}', 'true')::text$$),
('add_guard', 'a foreign table', '42809',
 $$SELECT upsert_guard.add_guard('g', 'remote_items', '{id}', 'true')::text$$),
('add_guard', 'a sequence', '42809',
 $$SELECT upsert_guard.add_guard('g', 'item_seq', '{last_value}', 'true')::text$$),
('add_guard', 'a system catalog', '42501',
 $$SELECT upsert_guard.add_guard('g', 'pg_catalog.pg_class', '{relname}', 'true')::text$$),
('add_guard', 'a key column that was dropped', '42703',
 $$SELECT upsert_guard.add_guard('g', 'dropped', '{gone}', 'true')::text$$),
('add_guard', 'the dropped column''s placeholder name', '42703',
 $$SELECT upsert_guard.add_guard('g', 'dropped', '{........pg.dropped.2........}', 'true')::text$$),
('add_guard', 'a condition naming a dropped column', '42703',
 $$SELECT upsert_guard.add_guard('g', 'dropped', '{id}', 'new.gone = other.gone')::text$$),
('add_guard', 'key_columns two-dimensional', '2202E',
 $$SELECT upsert_guard.add_guard('g', 'posts', '{{user_id}}', 'true')::text$$),
('add_guard', '10,000 key columns', '22023',
 $$SELECT upsert_guard.add_guard('g', 'posts', ARRAY(SELECT 'user_id'::text FROM generate_series(1, 10000)), 'true')::text$$),
('add_guard', 'a guard name of 10 MB', '42602',
 $$SELECT upsert_guard.add_guard(repeat('g', 10000000), 'posts', '{user_id}', 'true')::text$$),
('add_guard', 'the name of a trigger the table has', '42710',
 $$SELECT upsert_guard.add_guard('audit', 'posts', '{user_id}', 'true')::text$$),
('add_guard', 'a condition with an aggregate', '42803',
 $$SELECT upsert_guard.add_guard('g', 'posts', '{user_id}', 'count(*) > 1')::text$$),
('add_guard', 'a condition with a window function', '42P20',
 $$SELECT upsert_guard.add_guard('g', 'posts', '{user_id}', 'row_number() OVER () > 1')::text$$),
('add_guard', 'a condition with a set-returning function', '0A000',
 $$SELECT upsert_guard.add_guard('g', 'posts', '{user_id}', 'generate_series(1, 2) > 1')::text$$),
('add_guard', 'an empty condition', '42601',
 $$SELECT upsert_guard.add_guard('g', 'posts', '{user_id}', '')::text$$),
('add_guard', 'a condition that opens a string', '42601',
 $$SELECT upsert_guard.add_guard('g', 'posts', '{user_id}', '''')::text$$),
('add_guard', 'a condition naming a parameter', '42P02',
 $$SELECT upsert_guard.add_guard('g', 'posts', '{user_id}', '$2 IS NULL')::text$$),
('add_guard', 'a condition naming parameter $1 (the check''s own)', '42P02',
 $$SELECT upsert_guard.add_guard('g', 'posts', '{user_id}', '($1).user_id IS NULL')::text$$),
('drop_guard', 'missing_ok NULL', '22004',
 $$SELECT upsert_guard.drop_guard('g', NULL)::text$$),
('drop_guard', 'the name of a trigger that is no guard', '42704',
 $$SELECT upsert_guard.drop_guard('audit')::text$$),
('drop_guard', 'an empty name', '42704',
 $$SELECT upsert_guard.drop_guard('')::text$$),
('drop_guard', 'a name of 10 MB', '42704',
 $$SELECT upsert_guard.drop_guard(repeat('g', 10000000))::text$$),
-- lock_key, lock, try_lock
('lock_key', 'namespace NULL', '22004',
 $$SELECT upsert_guard.lock_key(NULL, 1)::text$$),
('lock_key', 'an untyped NULL key', '22004',
 $$SELECT upsert_guard.lock_key('ns', NULL)::text$$),
('lock_key', 'the second of two key values NULL', '22004',
 $$SELECT upsert_guard.lock_key('ns', 1, NULL::int)::text$$),
('lock_key', 'VARIADIC array with a NULL element', '22004',
 $$SELECT upsert_guard.lock_key('ns', VARIADIC ARRAY[1, NULL])::text$$),
('lock_key', 'an anonymous record as key', '42883',
 $$SELECT upsert_guard.lock_key('ns', ROW(1, 'x'))::text$$),
('lock_key', 'a key of a type without hash opclass (xml)', '42883',
 $$SELECT upsert_guard.lock_key('ns', xml '<a/>')::text$$),
('lock_key', 'a 10 MB namespace and a 10,000-level nested key', '00000',
 $$SELECT (upsert_guard.lock_key(repeat('n', 10000000), (repeat('[', 10000) || repeat(']', 10000))::jsonb) IS NOT NULL)::text$$),
('lock', 'no key at all', '42883',
 $$SELECT upsert_guard.lock('ns')::text$$),
('lock', 'VARIADIC NULL array', '22004',
 $$SELECT upsert_guard.lock('ns', VARIADIC NULL::text[])::text$$),
('try_lock', 'namespace NULL', '22004',
 $$SELECT upsert_guard.try_lock(NULL, 1)::text$$),
('try_lock', 'key NULL', '22004',
 $$SELECT upsert_guard.try_lock('ns', NULL::bigint)::text$$),
('try_lock', 'VARIADIC empty array', '22023',
 $$SELECT upsert_guard.try_lock('ns', VARIADIC '{}'::point[])::text$$),
-- the setting
('upsert_guard.max_attempts', 'SET to -1', '22023',
 $$SET upsert_guard.max_attempts = -1$$),
('upsert_guard.max_attempts', 'SET to ''abc''', '22023',
 $$SET upsert_guard.max_attempts = 'abc'$$),
('upsert_guard.max_attempts', 'SET above the maximum', '22023',
 $$SET upsert_guard.max_attempts = 1001$$),
('upsert_guard.max_attempts', 'SET beyond int', '22023',
 $$SET upsert_guard.max_attempts = 99999999999$$),
('upsert_guard.max_attempts', 'SET to 1e10', '22023',
 $$SET upsert_guard.max_attempts = '1e10'$$),
('upsert_guard.max_attempts', 'SET LOCAL to 0', '22023',
 $$SET LOCAL upsert_guard.max_attempts = 0$$),
('upsert_guard.max_attempts', 'set_config to ''''', '22023',
 $$SELECT set_config('upsert_guard.max_attempts', '', false)$$);

-- the runner: one case, in its own subtransaction
CREATE FUNCTION pg_temp.run_case(sql text, OUT got text, OUT message text)
LANGUAGE plpgsql AS $$
BEGIN
    IF sql ~* '^\s*(SELECT|WITH)' THEN
        EXECUTE sql INTO message;
    ELSE
        EXECUTE sql;
    END IF;
    got := '00000';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS got = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
END
$$;

-- what every target holds: row count, and a digest of ctids, xmins and
-- values (a row written, even rewritten with the same values, changes it);
-- the guard definitions the cases could have written, and the triggers of
-- the schema's tables
CREATE FUNCTION pg_temp.fingerprint()
RETURNS TABLE (tbl text, row_count bigint, digest text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relname::text AS name
          FROM pg_class c
         WHERE c.relkind IN ('r', 'm')
           AND c.relnamespace IN ('bad_input'::regnamespace, pg_my_temp_schema())
           AND c.relispopulated
           AND c.relname NOT IN ('cases', 'results', 'before_cases')
        ORDER BY 2
    LOOP
        tbl := r.name;
        EXECUTE format('SELECT count(*), md5(coalesce(string_agg(t.ctid::text || t.xmin::text || t::text, %L ORDER BY t.ctid), %L)) FROM %s AS t',
                       ',', '', r.rel)
            INTO row_count, digest;
        RETURN NEXT;
    END LOOP;
    -- the guard definitions of these tables, or with the names the cases use
    tbl := 'upsert_guard.guard_definitions';
    SELECT count(*), md5(coalesce(string_agg(d.ctid::text || d.xmin::text || d::text, ',' ORDER BY d.ctid), ''))
      INTO row_count, digest
      FROM upsert_guard.guard_definitions d
      LEFT JOIN pg_class c ON c.oid = d.table_name
     WHERE c.relnamespace IN ('bad_input'::regnamespace, pg_my_temp_schema())
        OR d.guard IN ('g', 'audit', '');
    RETURN NEXT;
    tbl := 'pg_trigger';
    SELECT count(*), md5(coalesce(string_agg(t.tgrelid::regclass::text || '.' || t.tgname, ',' ORDER BY 1), ''))
      INTO row_count, digest
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace IN ('bad_input'::regnamespace, pg_my_temp_schema());
    RETURN NEXT;
END
$$;

CREATE TEMP TABLE before_cases AS SELECT * FROM pg_temp.fingerprint();
SELECT tbl, row_count FROM before_cases ORDER BY tbl;

--
-- Run every case, in order.
--
CREATE TEMP TABLE results (case_no int PRIMARY KEY, got text, message text);
DO $$
DECLARE
    c record;
    r record;
BEGIN
    FOR c IN SELECT case_no, sql FROM cases ORDER BY case_no LOOP
        r := pg_temp.run_case(c.sql);
        INSERT INTO results VALUES (c.case_no, r.got, r.message);
    END LOOP;
END
$$;

SELECT c.case_no AS "case", c.fn AS function, c.what, c.expected, r.got,
       left(regexp_replace(r.message, '\s+', ' ', 'g'), 64) AS message
  FROM cases c JOIN results r USING (case_no)
 ORDER BY c.case_no;

--
-- The verdict.  Every case ended with its expected SQLSTATE, none with
-- XX000; the cases that differ are listed (none).
--
SELECT count(*) AS cases,
       count(*) FILTER (WHERE r.got = c.expected) AS as_expected,
       count(*) FILTER (WHERE r.got = 'XX000') AS internal_errors,
       count(DISTINCT c.fn) AS functions
  FROM cases c JOIN results r USING (case_no);
SELECT c.case_no AS "case", c.fn AS function, c.what, c.expected, r.got,
       left(r.message, 64) AS message
  FROM cases c JOIN results r USING (case_no)
 WHERE r.got IS DISTINCT FROM c.expected
 ORDER BY c.case_no;

-- nothing was written: every target as it was, row for row
SELECT b.tbl, b.row_count AS rows_before, a.row_count AS rows_after,
       a.digest = b.digest AS unchanged
  FROM before_cases b FULL JOIN pg_temp.fingerprint() a USING (tbl)
 ORDER BY 1;

-- the setting kept its value, and the session goes on: a normal call works
SHOW upsert_guard.max_attempts;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::items, '{"id": 3, "name": "three"}', '{id}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::items, '{"id": 3, "name": "three", "qty": 1}', '{id}') o;
SELECT count(*) AS items FROM items;

--
-- Partitioned tables (the unique key includes the partition key) and
-- temporary tables work wherever INSERT ... ON CONFLICT works, with every
-- function.  Each row lands in, and is found or updated in, its partition.
--
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::regional, '{"region": "us", "k": 1, "v": "b"}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::regional, '{"region": "us", "k": 1, "v": "ignored"}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::regional, '{"region": "eu", "k": 1, "v": "a2"}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::regional, '{"region": "eu", "k": 1}', '{"hits": 5}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::regional, '{"region": "us", "k": 2, "hits": 1}', '{"hits": 5}') o;
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::regional,
    '[{"region": "eu", "k": 1, "v": "a3"}, {"region": "us", "k": 3, "v": "c"},
      {"region": "us", "k": 1, "v": "b"}]');
CREATE TEMP TABLE regional_feed (region text, k text, v text);
INSERT INTO regional_feed VALUES ('us', '3', 'c2'), ('eu', '4', 'd'), ('eu', '1', 'a3');
SELECT * FROM upsert_guard.idempotent_upsert_from_outcomes(NULL::regional, 'regional_feed');
SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::regional, 'regional_feed');
SELECT tableoid::regclass AS partition, * FROM regional ORDER BY region, k;

-- the same with the temporary table, whose rows the session alone sees
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::scratch, '{"k": 2, "v": "b"}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::scratch, '{"k": 1, "v": "ignored"}', NULL, 'update') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::scratch, '{"k": 1, "v": "a2"}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::scratch, '{"k": 1}', '{"hits": 2}') o;
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::scratch,
    '[{"k": 1, "v": "a2"}, {"k": 3, "v": "c"}, {"k": 2, "v": "b2"}]');
CREATE TEMP TABLE scratch_feed (k bigint, v text);
INSERT INTO scratch_feed VALUES (3, 'c'), (4, 'd');
SELECT * FROM upsert_guard.idempotent_upsert_from_outcomes(NULL::scratch, 'scratch_feed');
SELECT * FROM scratch ORDER BY k;
-- a guard on the temporary table: a second row per v is refused
SELECT upsert_guard.add_guard('scratch_one_per_v', 'scratch', '{v}', 'true');
INSERT INTO scratch VALUES (5, 'd', 0);
\echo SQLSTATE :SQLSTATE
-- (the CONTEXT would name the temporary schema, which varies)
\set SHOW_CONTEXT never
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::scratch, '{"k": 6, "v": "d"}') o;
\echo SQLSTATE :SQLSTATE
\set SHOW_CONTEXT errors
SELECT upsert_guard.drop_guard('scratch_one_per_v');
-- dropped and created again with other columns: the calls follow
DROP TABLE scratch;
CREATE TEMP TABLE scratch (v text PRIMARY KEY, k int);
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::scratch, '{"k": 1, "v": "a"}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::scratch, '{"k": 2, "v": "a"}') o;

--
-- Huge and deep values that their columns accept are written, and
-- compared on the next call like any other: a 10 MB string, and 10,000
-- levels of nested arrays in a jsonb column.
--
CREATE TEMP TABLE blobs (k int PRIMARY KEY, body text, doc jsonb);
SELECT o.outcome, length((o.result).body) AS body_length
  FROM upsert_guard.idempotent_upsert_outcome(NULL::blobs,
    jsonb_build_object('k', 1, 'body', repeat('x', 10000000))) o;
SELECT o.outcome, length((o.result).body) AS body_length
  FROM upsert_guard.idempotent_upsert_outcome(NULL::blobs,
    jsonb_build_object('k', 1, 'body', repeat('x', 10000000))) o;
SELECT o.outcome, length((o.result).doc::text) AS doc_length
  FROM upsert_guard.idempotent_upsert_outcome(NULL::blobs,
    jsonb_build_object('k', 2, 'doc', (repeat('[', 10000) || repeat(']', 10000))::jsonb)) o;
SELECT o.outcome, length((o.result).doc::text) AS doc_length
  FROM upsert_guard.idempotent_upsert_outcome(NULL::blobs,
    jsonb_build_object('k', 2, 'doc', (repeat('[', 10000) || repeat(']', 10000))::jsonb)) o;
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::blobs,
    jsonb_build_array(jsonb_build_object('k', 2, 'doc', (repeat('[', 10000) || repeat(']', 10000))::jsonb),
                      jsonb_build_object('k', 3, 'doc', (repeat('[', 9999) || repeat(']', 9999))::jsonb)));
SELECT k, length(body) AS body_length, length(doc::text) AS doc_length FROM blobs ORDER BY k;

SET client_min_messages = warning;
DROP SCHEMA bad_input CASCADE;
DROP SERVER bad_input_server CASCADE;
DROP FOREIGN DATA WRAPPER bad_input_fdw;
RESET client_min_messages;
