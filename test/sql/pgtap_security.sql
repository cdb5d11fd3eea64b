--
-- pgtap_security: privileges, proven, in pgTAP.  What pgtap_api,
-- pgtap_upsert and pgtap_guard do not show already:
--
-- 1. Every function of schema upsert_guard is SECURITY INVOKER, and
--    nobody but its owner can put a function into that schema.
-- 2. Table privileges, function by function: which privilege each call
--    needs for a new key and for an existing row, and that a missing one
--    is 42501 (the batches run one statement that inserts, locks and
--    updates, so they need SELECT, INSERT and UPDATE whatever their rows);
--    column privileges: SELECT on some columns only, INSERT on some
--    columns only, UPDATE on one counter only; the functions cannot be
--    used to write upsert_guard.guard_definitions, which PUBLIC may only
--    read.
-- 3. Row-level security for the batches and idempotent_upsert_from (a
--    hidden row is neither returned, nor updated, nor counted, nor shown
--    in the error), WITH CHECK policies refusing the insert of every
--    function with 42501, and a row the SELECT policy shows but the
--    UPDATE policy hides, which cannot be locked.
-- 4. SECURITY DEFINER wrappers without SET search_path, owned by a role
--    that owns the tables, called by a role with no privilege on them
--    whose search_path is "evil, pg_catalog, public": schema evil holds
--    = for text, int and bigint, <>, >, + and ||, lower, date_trunc,
--    now, count(*), min, array_agg, jsonb_populate_record(set),
--    jsonb_array_elements, jsonb_array_length, hashtextextended and
--    pg_advisory_xact_lock, each of which records its call (and the role
--    it ran as) and returns a wrong answer.  A naive wrapper shows that
--    they do take over unqualified SQL run as the definer; then every
--    function of upsert_guard, and guard-protected inserts, run through
--    wrappers: every result is right and none of the hostile objects is
--    ever called.  Afterwards the caller, calling the functions directly,
--    still gets 42501: plans cached for the definer give it nothing.
--
-- Everything happens in one transaction that is rolled back, roles
-- included.
--
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET datestyle = ISO, YMD;

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(75);

--
-- 1. SECURITY INVOKER, and a schema nobody else can write to.
--
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY 1)
       FROM pg_proc p
      WHERE p.pronamespace = 'upsert_guard'::regnamespace AND p.prosecdef),
    NULL,
    'no function of schema upsert_guard is SECURITY DEFINER');
SELECT ok(
    (SELECT count(*) >= 18 AND bool_and(NOT p.prosecdef) FROM pg_proc p
      WHERE p.pronamespace = 'upsert_guard'::regnamespace),
    'the 18 functions of the API, internal ones included, and any later ones are SECURITY INVOKER');
SELECT ok(NOT has_schema_privilege('public', 'upsert_guard', 'CREATE'),
    'PUBLIC cannot create objects in schema upsert_guard, so nobody can plant a function there');

--
-- 2. Table and column privileges.  The tables belong to the test's
-- superuser; each role gets only what its name says.
--
CREATE SCHEMA sec_priv;
CREATE TABLE sec_priv.products (
    sku text PRIMARY KEY,
    name text,
    price numeric(10,2)
);
INSERT INTO sec_priv.products VALUES ('LAP-001', 'Laptop', 999);
CREATE TABLE sec_priv.visits (
    email text PRIMARY KEY,
    hits int NOT NULL DEFAULT 0,
    bytes bigint NOT NULL DEFAULT 0
);
INSERT INTO sec_priv.visits VALUES ('amir@example.com', 1, 100);
CREATE TABLE sec_priv.staging (sku text, name text, price text);
INSERT INTO sec_priv.staging VALUES ('LAP-001', 'Laptop', '999'), ('NEW-001', 'New', '1');
CREATE TABLE sec_priv.secret_staging (sku text, name text, price text);
INSERT INTO sec_priv.secret_staging VALUES ('SEC-001', 'Secret', '1');
CREATE ROLE regress_sec_reader;
CREATE ROLE regress_sec_inserter;
CREATE ROLE regress_sec_writer;
CREATE ROLE regress_sec_updater;
CREATE ROLE regress_sec_full;
CREATE ROLE regress_sec_columns;
CREATE ROLE regress_sec_some_select;
GRANT USAGE ON SCHEMA sec_priv TO regress_sec_reader, regress_sec_inserter,
    regress_sec_writer, regress_sec_updater, regress_sec_full, regress_sec_columns,
    regress_sec_some_select;
GRANT SELECT ON sec_priv.products, sec_priv.visits TO regress_sec_reader;
GRANT INSERT ON sec_priv.products, sec_priv.visits TO regress_sec_inserter;
GRANT SELECT, INSERT ON sec_priv.products, sec_priv.visits TO regress_sec_writer;
GRANT SELECT, UPDATE ON sec_priv.products, sec_priv.visits TO regress_sec_updater;
GRANT SELECT, INSERT, UPDATE ON sec_priv.products, sec_priv.visits TO regress_sec_full;
GRANT SELECT ON sec_priv.staging TO regress_sec_full;
GRANT SELECT, INSERT (sku, name), UPDATE (name) ON sec_priv.products TO regress_sec_columns;
GRANT SELECT, INSERT, UPDATE (hits) ON sec_priv.visits TO regress_sec_columns;
GRANT SELECT (sku, name), INSERT, UPDATE ON sec_priv.products TO regress_sec_some_select;

-- SELECT only: an idempotent_upsert that changes nothing runs no INSERT
-- nor UPDATE, so it needs nothing more; a new key does
SET ROLE regress_sec_reader;
SELECT is(
    (SELECT o.outcome FROM upsert_guard.idempotent_upsert_outcome(NULL::sec_priv.products,
        '{"sku": "LAP-001", "name": "Laptop", "price": 999}') o),
    'unchanged',
    'SELECT only: idempotent_upsert of an unchanged row needs no INSERT or UPDATE');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::sec_priv.products, '{"sku": "NEW-R", "name": "x"}')$$,
    '42501', 'permission denied for table products',
    'SELECT only: idempotent_upsert of a new key needs INSERT');
RESET ROLE;

-- INSERT only: every call looks the key up first, so nothing works
SET ROLE regress_sec_inserter;
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::sec_priv.products, '{"sku": "NEW-I"}', NULL, 'none')$$,
    '42501', 'permission denied for table products',
    'INSERT only: select_or_insert of a new key needs SELECT (its lookup runs first)');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::sec_priv.products, '{"sku": "NEW-I", "name": "x"}')$$,
    '42501', 'permission denied for table products',
    'INSERT only: idempotent_upsert of a new key needs SELECT');
SELECT throws_ok(
    $$SELECT upsert_guard.increment(NULL::sec_priv.visits, '{"email": "new@example.com"}', '{"hits": 1}')$$,
    '42501', 'permission denied for table visits',
    'INSERT only: increment of a new key needs SELECT and UPDATE');
RESET ROLE;

-- SELECT and UPDATE, no INSERT: existing rows are updated, new keys refused
SET ROLE regress_sec_updater;
SELECT is(
    (SELECT o.outcome || ':' || (o.result).price
       FROM upsert_guard.idempotent_upsert_outcome(NULL::sec_priv.products,
           '{"sku": "LAP-001", "price": 899}') o),
    'updated:899.00',
    'SELECT and UPDATE: idempotent_upsert updates an existing row without INSERT privilege');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::sec_priv.products, '{"sku": "NEW-U", "price": 1}')$$,
    '42501', 'permission denied for table products',
    'SELECT and UPDATE: idempotent_upsert of a new key needs INSERT');
SELECT is(
    (SELECT o.outcome || ':' || (o.result).hits
       FROM upsert_guard.increment_outcome(NULL::sec_priv.visits,
           '{"email": "amir@example.com"}', '{"hits": 1}') o),
    'updated:2',
    'SELECT and UPDATE: increment of an existing row needs no INSERT privilege');
SELECT throws_ok(
    $$SELECT upsert_guard.increment(NULL::sec_priv.visits, '{"email": "new@example.com"}', '{"hits": 1}')$$,
    '42501', 'permission denied for table visits',
    'SELECT and UPDATE: increment of a new key needs INSERT');
RESET ROLE;

-- the batches: one statement that looks up, locks, updates and inserts,
-- so it needs all three privileges whatever its rows are
SET ROLE regress_sec_reader;
SELECT throws_ok(
    $$SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::sec_priv.products,
        '[{"sku": "LAP-001", "price": 899}]')$$,
    '42501', 'permission denied for table products',
    'SELECT only: a batch of unchanged rows is refused');
RESET ROLE;
SET ROLE regress_sec_writer;
SELECT throws_ok(
    $$SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::sec_priv.products,
        '[{"sku": "NEW-W", "price": 1}]', NULL, '{}')$$,
    '42501', 'permission denied for table products',
    'SELECT and INSERT: a batch of new rows is refused, even with update_columns {}');
RESET ROLE;
SET ROLE regress_sec_updater;
SELECT throws_ok(
    $$SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::sec_priv.products,
        '[{"sku": "LAP-001", "price": 849}]')$$,
    '42501', 'permission denied for table products',
    'SELECT and UPDATE: a batch of existing rows is refused');
RESET ROLE;
SET ROLE regress_sec_full;
SELECT is(
    (SELECT ROW(inserted, updated, unchanged, duplicates)::text
       FROM upsert_guard.idempotent_upsert_batch(NULL::sec_priv.products,
           '[{"sku": "LAP-001", "price": 899}, {"sku": "NEW-F", "price": 2}]')),
    '(1,0,1,0)',
    'SELECT, INSERT and UPDATE: the batch works');
-- idempotent_upsert_from reads its source as the caller
SELECT throws_ok(
    $$SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::sec_priv.products,
        'sec_priv.secret_staging')$$,
    '42501', 'permission denied for table secret_staging',
    'idempotent_upsert_from needs SELECT on its source');
SELECT is(
    (SELECT string_agg(ord || ':' || outcome, ',' ORDER BY ord)
       FROM upsert_guard.idempotent_upsert_from_outcomes(NULL::sec_priv.products,
           'sec_priv.staging', '{sku}', '{price}')),
    '1:updated,2:inserted',
    'idempotent_upsert_from with SELECT on its source');
RESET ROLE;

-- column privileges
SET ROLE regress_sec_some_select;
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::sec_priv.products, '{"sku": "LAP-001"}', NULL, 'none')$$,
    '42501', 'permission denied for table products',
    'SELECT on some columns only: select_or_insert returns the whole row, so it is refused, even for an existing row');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::sec_priv.products, '{"sku": "LAP-001", "name": "Laptop"}')$$,
    '42501', 'permission denied for table products',
    'SELECT on some columns only: idempotent_upsert is refused too, without a column named');
RESET ROLE;
SET ROLE regress_sec_columns;
SELECT is(
    (SELECT o.outcome || ':' || (o.result).name || ':' || coalesce((o.result).price::text, 'null')
       FROM upsert_guard.idempotent_upsert_outcome(NULL::sec_priv.products,
           '{"sku": "NEW-C", "name": "By columns"}') o),
    'inserted:By columns:null',
    'INSERT on (sku, name): a new row of those columns is inserted');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::sec_priv.products, '{"sku": "NEW-C2", "name": "x", "price": 1}')$$,
    '42501', 'permission denied for table products',
    'INSERT on (sku, name): a new row with a price is refused');
SELECT is(
    (SELECT o.outcome || ':' || (o.result).name
       FROM upsert_guard.idempotent_upsert_outcome(NULL::sec_priv.products,
           '{"sku": "NEW-C", "name": "Renamed"}') o),
    'updated:Renamed',
    'UPDATE on (name): an existing row gets a new name');
SELECT is(
    (SELECT o.outcome || ':' || (o.result).hits
       FROM upsert_guard.increment_outcome(NULL::sec_priv.visits,
           '{"email": "amir@example.com"}', '{"hits": 1}') o),
    'updated:3',
    'UPDATE on (hits): hits is incremented');
SELECT throws_ok(
    $$SELECT upsert_guard.increment(NULL::sec_priv.visits, '{"email": "amir@example.com"}', '{"bytes": 1}')$$,
    '42501', 'permission denied for table visits',
    'UPDATE on (hits): a delta on bytes is refused');
RESET ROLE;
SELECT is(
    (SELECT array_agg(sku || ':' || coalesce(name, '') || ':' || coalesce(price::text, '') ORDER BY sku)
       FROM sec_priv.products),
    ARRAY['LAP-001:Laptop:999.00', 'NEW-001:New:1.00', 'NEW-C:Renamed:', 'NEW-F::2.00'],
    'products hold exactly what the roles were allowed to write');
SELECT is(
    (SELECT array_agg(email || ':' || hits || ':' || bytes) FROM sec_priv.visits),
    ARRAY['amir@example.com:3:100'],
    'visits: two increments of hits, no new visitor, bytes untouched');

-- the guard definitions: PUBLIC reads them, and the functions, running
-- as the caller, cannot be used to write them
CREATE TABLE sec_priv.posts (user_id int, at date);
SELECT upsert_guard.add_guard('sec_priv_one_post', 'sec_priv.posts', '{user_id}', 'true');
SET ROLE regress_sec_full;
SELECT is(
    (SELECT (upsert_guard.select_or_insert(NULL::upsert_guard.guard_definitions,
        '{"guard": "sec_priv_one_post"}', NULL, 'none')).max_conflicts),
    0,
    'select_or_insert reads a guard definition (PUBLIC may read them)');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::upsert_guard.guard_definitions,
        '{"guard": "sec_priv_one_post", "max_conflicts": 100}')$$,
    '42501', 'permission denied for table guard_definitions',
    'idempotent_upsert cannot loosen a guard');
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::upsert_guard.guard_definitions,
        '{"guard": "sec_priv_fake", "table_name": "sec_priv.posts", "key_columns": "{user_id}", "conflict": "true"}',
        NULL, 'none')$$,
    '42501', 'permission denied for table guard_definitions',
    'select_or_insert cannot add a definition');
SELECT throws_ok(
    $$SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::upsert_guard.guard_definitions,
        '[{"guard": "sec_priv_one_post", "conflict": "false"}]')$$,
    '42501', 'permission denied for table guard_definitions',
    'idempotent_upsert_batch cannot rewrite a condition');
RESET ROLE;
SELECT is(
    (SELECT ROW(guard, conflict, max_conflicts)::text FROM upsert_guard.guard_definitions
      WHERE guard LIKE 'sec\_priv%'),
    '(sec_priv_one_post,true,0)',
    'the definition is as add_guard wrote it');

--
-- 3. Row-level security.  Each owner sees and changes its own rows; row
-- 'shared' is visible to all and changeable by its owner only.  The
-- hidden row holds the value 'classified', which no error may show.
--
CREATE TABLE sec_priv.docs (
    k text PRIMARY KEY,
    owner name NOT NULL DEFAULT current_user,
    v text,
    n int NOT NULL DEFAULT 0
);
ALTER TABLE sec_priv.docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY docs_select ON sec_priv.docs FOR SELECT
    USING (owner = current_user OR k = 'shared');
CREATE POLICY docs_insert ON sec_priv.docs FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY docs_update ON sec_priv.docs FOR UPDATE USING (owner = current_user);
GRANT SELECT, INSERT, UPDATE ON sec_priv.docs TO regress_sec_full;
INSERT INTO sec_priv.docs VALUES ('mine', 'regress_sec_full', 'own', 0),
                                 ('secret', 'regress_sec_other', 'classified', 0),
                                 ('shared', 'regress_sec_other', 'for all', 0);
CREATE TABLE sec_priv.docs_feed (k text, v text);
INSERT INTO sec_priv.docs_feed VALUES ('mine', 'own'), ('secret', 'overwritten');
GRANT SELECT ON sec_priv.docs_feed TO regress_sec_full;
CREATE FUNCTION sec_priv.error_of(sql text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    detail text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL;
    RETURN state || ': ' || message || ' DETAIL: ' || coalesce(detail, '');
END
$$;
SET upsert_guard.max_attempts = 3;
SET ROLE regress_sec_full;
SELECT is(
    sec_priv.error_of($$SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::sec_priv.docs,
        '[{"k": "secret", "v": "overwritten"}]')$$),
    '42501: could not insert or update a row in table "docs" DETAIL: Each attempt met an existing row with key of row 1 of the batch that row-level security policies of the table keep the current user from selecting or changing.',
    'row-level security: a batch row with a hidden key is an error, not an insert nor an update');
SELECT is(
    sec_priv.error_of($$SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::sec_priv.docs,
        '[{"k": "mine", "v": "changed"}, {"k": "secret", "v": "overwritten"}]')$$),
    '42501: could not insert or update a row in table "docs" DETAIL: Each attempt met an existing row with key of row 2 of the batch that row-level security policies of the table keep the current user from selecting or changing.',
    'row-level security: the whole batch fails, naming the row by its position only');
SELECT is(
    sec_priv.error_of($$SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::sec_priv.docs,
        'sec_priv.docs_feed')$$),
    '42501: could not insert or update a row in table "docs" DETAIL: Each attempt met an existing row with key of row 2 of the batch that row-level security policies of the table keep the current user from selecting or changing.',
    'row-level security: idempotent_upsert_from of a hidden key is refused the same way');
SELECT ok(
    (SELECT bool_and(position('classified' in sec_priv.error_of(q)) = 0)
       FROM unnest(ARRAY[
           $$SELECT upsert_guard.select_or_insert(NULL::sec_priv.docs, '{"k": "secret"}', NULL, 'none')$$,
           $$SELECT upsert_guard.idempotent_upsert(NULL::sec_priv.docs, '{"k": "secret", "v": "a guess"}')$$,
           $$SELECT upsert_guard.increment(NULL::sec_priv.docs, '{"k": "secret"}', '{"n": 1}')$$,
           $$SELECT upsert_guard.idempotent_upsert_batch(NULL::sec_priv.docs, '[{"k": "secret", "v": "a guess"}]')$$]) AS q),
    'row-level security: no error shows the hidden row''s value');
-- a row the SELECT policy shows but the UPDATE policy hides: found
-- without a lock, but it cannot be locked (row locks apply UPDATE policies)
SELECT is(
    (SELECT o.outcome || ':' || (o.result).v
       FROM upsert_guard.select_or_insert_outcome(NULL::sec_priv.docs,
           '{"k": "shared"}', NULL, 'none') o),
    'found:for all',
    'row-level security: a visible row is found with lock none');
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::sec_priv.docs, '{"k": "shared"}')$$,
    '42501', 'could not select or insert a row in table "docs"',
    'row-level security: the same row cannot be locked (key share) by a role the UPDATE policy keeps out');
-- WITH CHECK: a new row the INSERT policy refuses
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::sec_priv.docs, '{"k": "new1", "owner": "regress_sec_other"}')$$,
    '42501', 'new row violates row-level security policy for table "docs"',
    'WITH CHECK: select_or_insert cannot insert a row for another owner');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::sec_priv.docs, '{"k": "new2", "owner": "regress_sec_other"}')$$,
    '42501', 'new row violates row-level security policy for table "docs"',
    'WITH CHECK: idempotent_upsert cannot either');
SELECT throws_ok(
    $$SELECT upsert_guard.increment(NULL::sec_priv.docs, '{"k": "new3", "owner": "regress_sec_other"}', '{"n": 1}')$$,
    '42501', 'new row violates row-level security policy for table "docs"',
    'WITH CHECK: increment cannot either');
SELECT throws_ok(
    $$SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::sec_priv.docs,
        '[{"k": "new4", "owner": "regress_sec_full"}, {"k": "new5", "owner": "regress_sec_other"}]')$$,
    '42501', 'new row violates row-level security policy for table "docs"',
    'WITH CHECK: the batch cannot either, and its allowed row is not written');
-- and what the policies allow works
SELECT is(
    (SELECT string_agg(ord || ':' || outcome, ',' ORDER BY ord)
       FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::sec_priv.docs,
           '[{"k": "mine", "v": "own, changed"}, {"k": "new6", "v": "new"}]')),
    '1:updated,2:inserted',
    'row-level security: a batch of own rows works');
RESET ROLE;
RESET upsert_guard.max_attempts;
SELECT is(
    (SELECT array_agg(k || ':' || owner || ':' || v || ':' || n ORDER BY k) FROM sec_priv.docs),
    ARRAY['mine:regress_sec_full:own, changed:0', 'new6:regress_sec_full:new:0',
          'secret:regress_sec_other:classified:0', 'shared:regress_sec_other:for all:0'],
    'row-level security: the rows of another owner are untouched, nothing refused was written');

--
-- 4. SECURITY DEFINER wrappers under a hostile search_path.
--
-- regress_sec_owner owns the tables and the wrappers; regress_sec_caller
-- has no privilege on the tables, only USAGE on their schema (every role
-- may execute a function).  The wrappers set no search_path and write
-- every name of their own qualified, so any call of a hostile object is
-- the extension's doing.
--
CREATE ROLE regress_sec_owner;
CREATE ROLE regress_sec_caller;
CREATE SCHEMA sec_def AUTHORIZATION regress_sec_owner;
CREATE SCHEMA evil AUTHORIZATION regress_sec_caller;
GRANT USAGE ON SCHEMA sec_def TO regress_sec_caller;
-- the captured results of the calls (the checks run afterwards, under a
-- sane search_path: pgTAP's own SQL would call the hostile = too)
CREATE SCHEMA sec_check;
CREATE TABLE sec_check.results (label text PRIMARY KEY, result text, sqlstate text);
GRANT USAGE ON SCHEMA sec_check TO regress_sec_caller;
GRANT INSERT ON sec_check.results TO regress_sec_caller;
CREATE FUNCTION sec_check.capture(label text, query text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    res text;
    state text;
BEGIN
    PERFORM pg_catalog.set_config('sec_check.label', label, true);
    EXECUTE query INTO res;
    INSERT INTO sec_check.results VALUES (label, res, NULL);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
    INSERT INTO sec_check.results VALUES (label, NULL, state);
END
$$;

SET ROLE regress_sec_owner;
CREATE TABLE sec_def.items (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text UNIQUE NOT NULL);
INSERT INTO sec_def.items (name) VALUES ('gadget');
CREATE TABLE sec_def.products (sku text PRIMARY KEY, price numeric(10,2) NOT NULL);
INSERT INTO sec_def.products VALUES ('LAP-001', 999);
CREATE TABLE sec_def.visits (email text PRIMARY KEY, hits bigint NOT NULL);
INSERT INTO sec_def.visits VALUES ('amir@example.com', 1);
CREATE TABLE sec_def.staging (sku text, price text);
INSERT INTO sec_def.staging VALUES ('LAP-001', '899'), ('NEW-003', '3');
CREATE TABLE sec_def.accounts (id int PRIMARY KEY, email text NOT NULL);
CREATE UNIQUE INDEX accounts_email_lower ON sec_def.accounts (lower(email));
CREATE TABLE sec_def.posts (
    id int PRIMARY KEY,
    user_id int NOT NULL,
    at timestamp NOT NULL,
    highlighted boolean NOT NULL,
    title text NOT NULL
);
-- seed 002's one highlighted post per week, and one title per user
-- whatever its case: date_trunc, = and lower, all written unqualified
SELECT upsert_guard.add_guard('sec_def_week', 'sec_def.posts', '{user_id}',
    $$(new.highlighted AND other.highlighted
       AND date_trunc('week', other.at) = date_trunc('week', new.at))
      OR lower(new.title) = lower(other.title)$$);

-- the control: a wrapper of the usual kind, with unqualified names
CREATE FUNCTION sec_def.naive_count(p_name text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT count(*) FROM sec_def.items WHERE lower(name) = lower(p_name)
$$;
-- one wrapper per call
CREATE FUNCTION sec_def.item(p_name text) RETURNS TABLE (outcome text, name text)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT o.outcome, (o.result).name
      FROM upsert_guard.select_or_insert_outcome(NULL::sec_def.items,
               pg_catalog.jsonb_build_object('name', p_name)) AS o
$$;
CREATE FUNCTION sec_def.item_name(p_name text) RETURNS text
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT (upsert_guard.select_or_insert(NULL::sec_def.items,
               pg_catalog.jsonb_build_object('name', p_name), NULL, 'update')).name
$$;
CREATE FUNCTION sec_def.price(p_sku text, p_price numeric) RETURNS TABLE (outcome text, price numeric)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT o.outcome, (o.result).price
      FROM upsert_guard.idempotent_upsert_outcome(NULL::sec_def.products,
               pg_catalog.jsonb_build_object('sku', p_sku, 'price', p_price)) AS o
$$;
CREATE FUNCTION sec_def.set_price(p_sku text, p_price numeric) RETURNS numeric
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT (upsert_guard.idempotent_upsert(NULL::sec_def.products,
               pg_catalog.jsonb_build_object('sku', p_sku, 'price', p_price))).price
$$;
CREATE FUNCTION sec_def.visit(p_email text) RETURNS TABLE (outcome text, hits bigint)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT o.outcome, (o.result).hits
      FROM upsert_guard.increment_outcome(NULL::sec_def.visits,
               pg_catalog.jsonb_build_object('email', p_email, 'hits', 1), '{"hits": 1}') AS o
$$;
CREATE FUNCTION sec_def.bump(p_email text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT (upsert_guard.increment(NULL::sec_def.visits,
               pg_catalog.jsonb_build_object('email', p_email, 'hits', 1), '{"hits": 10}')).hits
$$;
CREATE FUNCTION sec_def.sync(p_rows jsonb)
RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint, duplicates bigint)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::sec_def.products, p_rows)
$$;
CREATE FUNCTION sec_def.sync_each(p_rows jsonb) RETURNS TABLE (ord bigint, outcome text)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::sec_def.products, p_rows)
$$;
CREATE FUNCTION sec_def.load()
RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint, duplicates bigint)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::sec_def.products, 'sec_def.staging')
$$;
CREATE FUNCTION sec_def.load_each() RETURNS TABLE (ord bigint, outcome text)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT * FROM upsert_guard.idempotent_upsert_from_outcomes(NULL::sec_def.products, 'sec_def.staging')
$$;
CREATE FUNCTION sec_def.account(p_id int, p_email text) RETURNS TABLE (outcome text, id int, email text)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT o.outcome, (o.result).id, (o.result).email
      FROM upsert_guard.select_or_insert_outcome(NULL::sec_def.accounts,
               pg_catalog.jsonb_build_object('id', p_id, 'email', p_email),
               NULL, 'key share', 'accounts_email_lower') AS o
$$;
CREATE FUNCTION sec_def.post(p_id int, p_user int, p_at timestamp, p_highlighted boolean, p_title text)
RETURNS text
LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO sec_def.posts VALUES (p_id, p_user, p_at, p_highlighted, p_title) RETURNING 'written'
$$;
CREATE FUNCTION sec_def.post_once(p_id int, p_user int, p_at timestamp, p_highlighted boolean, p_title text)
RETURNS text
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT o.outcome
      FROM upsert_guard.select_or_insert_outcome(NULL::sec_def.posts,
               pg_catalog.jsonb_build_object('id', p_id, 'user_id', p_user, 'at', p_at,
                                             'highlighted', p_highlighted, 'title', p_title)) AS o
$$;
CREATE FUNCTION sec_def.lock_user(p_user int) RETURNS bigint
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT upsert_guard.lock('sec_def_week', p_user)
$$;
CREATE FUNCTION sec_def.try_lock_user(p_user int) RETURNS boolean
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT upsert_guard.try_lock('sec_def_week', p_user)
$$;
RESET ROLE;

-- the hostile schema, made by the unprivileged role: each object records
-- its call, the captured call it ran in and the role it ran as, then lies
SET ROLE regress_sec_caller;
CREATE TABLE evil.calls (what text, during text, by_role name);
GRANT USAGE ON SCHEMA evil TO PUBLIC;
GRANT INSERT ON evil.calls TO PUBLIC;
CREATE FUNCTION evil.spy(what text) RETURNS void
    LANGUAGE sql AS $$INSERT INTO evil.calls
                      VALUES (what, pg_catalog.current_setting('sec_check.label', true), current_user)$$;
CREATE FUNCTION evil.text_eq(text, text) RETURNS boolean
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('= text'); RETURN true; END$$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_eq);
CREATE FUNCTION evil.int4_eq(int, int) RETURNS boolean
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('= int'); RETURN true; END$$;
CREATE OPERATOR evil.= (LEFTARG = int, RIGHTARG = int, FUNCTION = evil.int4_eq);
CREATE FUNCTION evil.int8_eq(bigint, bigint) RETURNS boolean
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('= bigint'); RETURN true; END$$;
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.int8_eq);
CREATE FUNCTION evil.int8_ne(bigint, bigint) RETURNS boolean
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('<> bigint'); RETURN false; END$$;
CREATE OPERATOR evil.<> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.int8_ne);
CREATE FUNCTION evil.int8_gt(bigint, bigint) RETURNS boolean
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('> bigint'); RETURN false; END$$;
CREATE OPERATOR evil.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.int8_gt);
CREATE FUNCTION evil.int8_pl(bigint, bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('+ bigint'); RETURN 0; END$$;
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.int8_pl);
CREATE FUNCTION evil.int4_pl(int, int) RETURNS int
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('+ int'); RETURN 0; END$$;
CREATE OPERATOR evil.+ (LEFTARG = int, RIGHTARG = int, FUNCTION = evil.int4_pl);
CREATE FUNCTION evil.text_cat(text, text) RETURNS text
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('|| text'); RETURN 'evil'; END$$;
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_cat);
CREATE FUNCTION evil.lower(text) RETURNS text
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('lower'); RETURN 'evil'; END$$;
CREATE FUNCTION evil.date_trunc(text, timestamp) RETURNS timestamp
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('date_trunc'); RETURN '2000-01-03'; END$$;
CREATE FUNCTION evil.date_trunc(text, timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('date_trunc tz'); RETURN '2000-01-03'; END$$;
CREATE FUNCTION evil.now() RETURNS timestamptz
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('now'); RETURN '2000-01-03'; END$$;
CREATE FUNCTION evil.count_step(bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('count'); RETURN 0; END$$;
CREATE AGGREGATE evil.count(*) (SFUNC = evil.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION evil.min_step(bigint, bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('min'); RETURN NULL; END$$;
CREATE AGGREGATE evil.min(bigint) (SFUNC = evil.min_step, STYPE = bigint);
CREATE FUNCTION evil.array_agg_step(bigint[], bigint) RETURNS bigint[]
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('array_agg'); RETURN '{}'; END$$;
CREATE AGGREGATE evil.array_agg(bigint) (SFUNC = evil.array_agg_step, STYPE = bigint[]);
CREATE FUNCTION evil.jsonb_populate_record(anyelement, jsonb) RETURNS anyelement
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('jsonb_populate_record'); RETURN $1; END$$;
CREATE FUNCTION evil.jsonb_populate_recordset(anyelement, jsonb) RETURNS SETOF anyelement
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('jsonb_populate_recordset'); END$$;
CREATE FUNCTION evil.jsonb_array_elements(jsonb) RETURNS SETOF jsonb
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('jsonb_array_elements'); END$$;
CREATE FUNCTION evil.jsonb_array_length(jsonb) RETURNS int
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('jsonb_array_length'); RETURN 0; END$$;
CREATE FUNCTION evil.hashtextextended(text, bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('hashtextextended'); RETURN 0; END$$;
CREATE FUNCTION evil.pg_advisory_xact_lock(bigint) RETURNS void
    LANGUAGE plpgsql AS $$BEGIN PERFORM evil.spy('pg_advisory_xact_lock'); END$$;
RESET ROLE;

-- the control: through the naive wrapper the hostile objects run, as the
-- wrapper's owner
SET ROLE regress_sec_caller;
SET search_path = evil, pg_catalog, public;
SELECT sec_check.capture('naive', $$SELECT sec_def.naive_count('GADGET')::text$$);
RESET search_path;
RESET ROLE;
SELECT is(
    (SELECT array_agg(DISTINCT what || ' as ' || by_role ORDER BY what || ' as ' || by_role)
       FROM evil.calls),
    ARRAY['= text as regress_sec_owner', 'count as regress_sec_owner',
          'lower as regress_sec_owner'],
    'control: the hostile =, lower and count take over the naive wrapper, and run as its owner');
SELECT is((SELECT result FROM sec_check.results WHERE label = 'naive'), '0',
    'control: and its answer is their lie (0, where one item is named gadget)');
DELETE FROM evil.calls;

-- now the calls of upsert_guard, through the wrappers, under the same path
SET ROLE regress_sec_caller;
SET search_path = evil, pg_catalog, public;
SELECT sec_check.capture('item widget', $$SELECT f::text FROM sec_def.item('widget') AS f$$);
SELECT sec_check.capture('item gadget', $$SELECT f::text FROM sec_def.item('gadget') AS f$$);
SELECT sec_check.capture('item widget again', $$SELECT f::text FROM sec_def.item('widget') AS f$$);
SELECT sec_check.capture('item_name sprocket', $$SELECT sec_def.item_name('sprocket')$$);
SELECT sec_check.capture('price unchanged', $$SELECT f::text FROM sec_def.price('LAP-001', 999) AS f$$);
SELECT sec_check.capture('price updated', $$SELECT f::text FROM sec_def.price('LAP-001', 949) AS f$$);
SELECT sec_check.capture('price inserted', $$SELECT f::text FROM sec_def.price('NEW-001', 5) AS f$$);
SELECT sec_check.capture('set_price', $$SELECT sec_def.set_price('NEW-001', 6)::text$$);
SELECT sec_check.capture('visit existing', $$SELECT f::text FROM sec_def.visit('amir@example.com') AS f$$);
SELECT sec_check.capture('visit new', $$SELECT f::text FROM sec_def.visit('betty@example.com') AS f$$);
SELECT sec_check.capture('bump', $$SELECT sec_def.bump('amir@example.com')::text$$);
SELECT sec_check.capture('sync',
    $$SELECT f::text FROM sec_def.sync('[{"sku": "LAP-001", "price": 949},
        {"sku": "NEW-001", "price": 7}, {"sku": "NEW-002", "price": 2}, {"sku": "NEW-002", "price": 3}]') AS f$$);
SELECT sec_check.capture('sync_each',
    $$SELECT pg_catalog.string_agg(f::text, ' ' ORDER BY f.ord) FROM sec_def.sync_each('[{"sku": "NEW-002", "price": 3},
        {"sku": "NEW-004", "price": 4}, {"sku": "LAP-001", "price": 899}]') AS f$$);
SELECT sec_check.capture('load', $$SELECT f::text FROM sec_def.load() AS f$$);
SELECT sec_check.capture('load_each',
    $$SELECT pg_catalog.string_agg(f::text, ' ' ORDER BY f.ord) FROM sec_def.load_each() AS f$$);
SELECT sec_check.capture('account Bob', $$SELECT f::text FROM sec_def.account(1, 'Bob@example.com') AS f$$);
SELECT sec_check.capture('account bob', $$SELECT f::text FROM sec_def.account(2, 'bob@EXAMPLE.com') AS f$$);
SELECT sec_check.capture('account eve', $$SELECT f::text FROM sec_def.account(3, 'eve@example.com') AS f$$);
SELECT sec_check.capture('post 1', $$SELECT sec_def.post(1, 1, '2026-11-02 10:00', true, 'First')$$);
SELECT sec_check.capture('post 2, next week', $$SELECT sec_def.post(2, 1, '2026-11-09 10:00', true, 'Second')$$);
SELECT sec_check.capture('post 3, same week', $$SELECT sec_def.post(3, 1, '2026-11-04 10:00', true, 'Third')$$);
SELECT sec_check.capture('post 4, same title', $$SELECT sec_def.post(4, 1, '2026-12-01 10:00', false, 'FIRST')$$);
SELECT sec_check.capture('post 5, other user', $$SELECT sec_def.post(5, 2, '2026-11-04 10:00', true, 'First')$$);
SELECT sec_check.capture('post_once 6', $$SELECT sec_def.post_once(6, 1, '2026-11-23 10:00', true, 'Sixth')$$);
SELECT sec_check.capture('post_once 6 again', $$SELECT sec_def.post_once(6, 1, '2026-11-23 10:00', true, 'Sixth')$$);
SELECT sec_check.capture('post_once 7, same week', $$SELECT sec_def.post_once(7, 1, '2026-11-24 10:00', true, 'Seventh')$$);
SELECT sec_check.capture('lock_user', $$SELECT sec_def.lock_user(42)::text$$);
SELECT sec_check.capture('try_lock_user', $$SELECT sec_def.try_lock_user(43)::text$$);
RESET search_path;
RESET ROLE;

-- none of the hostile objects ran, in any of the calls
CREATE FUNCTION sec_check.hostile_calls(labels text) RETURNS text[]
LANGUAGE sql AS $$
    SELECT array_agg(DISTINCT what || ' in "' || during || '" as ' || by_role)
      FROM evil.calls WHERE during LIKE ANY (pg_catalog.string_to_array(labels, '|'))
$$;
SELECT is(sec_check.hostile_calls('item%'), NULL,
    'select_or_insert(_outcome) through wrappers: no hostile object called');
SELECT is(sec_check.hostile_calls('price%|set_price'), NULL,
    'idempotent_upsert(_outcome) through wrappers: no hostile object called');
SELECT is(sec_check.hostile_calls('visit%|bump'), NULL,
    'increment(_outcome) through wrappers: no hostile object called');
SELECT is(sec_check.hostile_calls('sync%|load%'), NULL,
    'idempotent_upsert_batch(_outcomes) and idempotent_upsert_from(_outcomes) through wrappers: no hostile object called');
SELECT is(sec_check.hostile_calls('account%'), NULL,
    'select_or_insert with an expression arbiter through a wrapper: no hostile object called');
SELECT is(sec_check.hostile_calls('post%'), NULL,
    'guard-protected inserts through wrappers: no hostile object called, by the call nor by the guard''s check');
SELECT is(sec_check.hostile_calls('%lock%'), NULL,
    'lock and try_lock through wrappers: no hostile object called');
SELECT is((SELECT count(*) FROM evil.calls), 0::bigint,
    'no hostile object was called at all');
SELECT is(
    (SELECT array_agg(label || ' -> ' || coalesce(result, 'ERROR ' || sqlstate) ORDER BY label COLLATE "C")
       FROM sec_check.results WHERE label LIKE 'item%'),
    ARRAY['item gadget -> (found,gadget)',
          'item widget -> (inserted,widget)',
          'item widget again -> (found,widget)',
          'item_name sprocket -> sprocket'],
    'select_or_insert(_outcome) through the wrappers: the right row each time');
SELECT is(
    (SELECT array_agg(label || ' -> ' || coalesce(result, 'ERROR ' || sqlstate) ORDER BY label COLLATE "C")
       FROM sec_check.results WHERE label LIKE 'price%' OR label = 'set_price'),
    ARRAY['price inserted -> (inserted,5.00)',
          'price unchanged -> (unchanged,999.00)',
          'price updated -> (updated,949.00)',
          'set_price -> 6.00'],
    'idempotent_upsert(_outcome) through the wrappers: unchanged, updated, inserted');
SELECT is(
    (SELECT array_agg(label || ' -> ' || coalesce(result, 'ERROR ' || sqlstate) ORDER BY label COLLATE "C")
       FROM sec_check.results WHERE label LIKE 'visit%' OR label = 'bump'),
    ARRAY['bump -> 12', 'visit existing -> (updated,2)', 'visit new -> (inserted,1)'],
    'increment(_outcome) through the wrappers: the counts add up');
SELECT is(
    (SELECT array_agg(label || ' -> ' || coalesce(result, 'ERROR ' || sqlstate) ORDER BY label COLLATE "C")
       FROM sec_check.results WHERE label LIKE 'sync%' OR label LIKE 'load%'),
    ARRAY['load -> (1,0,1,0)',
          'load_each -> (1,unchanged) (2,unchanged)',
          'sync -> (1,1,1,1)',
          'sync_each -> (1,unchanged) (2,inserted) (3,updated)'],
    'idempotent_upsert_batch(_outcomes) and idempotent_upsert_from(_outcomes) through the wrappers: the right counts and outcomes');
SELECT is(
    (SELECT array_agg(label || ' -> ' || coalesce(result, 'ERROR ' || sqlstate) ORDER BY label COLLATE "C")
       FROM sec_check.results WHERE label LIKE 'account%'),
    ARRAY['account Bob -> (inserted,1,Bob@example.com)',
          'account bob -> (found,1,Bob@example.com)',
          'account eve -> (inserted,3,eve@example.com)'],
    'an expression arbiter (lower(email)) through a wrapper: the index''s own lower, not the hostile one');
SELECT is(
    (SELECT array_agg(label || ' -> ' || coalesce(result, 'ERROR ' || sqlstate) ORDER BY label COLLATE "C")
       FROM sec_check.results WHERE label LIKE 'post%'),
    ARRAY['post 1 -> written',
          'post 2, next week -> written',
          'post 3, same week -> ERROR 23P01',
          'post 4, same title -> ERROR 23P01',
          'post 5, other user -> written',
          'post_once 6 -> inserted',
          'post_once 6 again -> found',
          'post_once 7, same week -> ERROR 23P01'],
    'guard-protected inserts through wrappers: the guard''s own date_trunc, lower and =');
SELECT is(
    (SELECT array_agg(label || ' -> ' || coalesce(result, 'ERROR ' || sqlstate) ORDER BY label COLLATE "C")
       FROM sec_check.results WHERE label LIKE '%lock%'),
    ARRAY['lock_user -> ' || upsert_guard.lock_key('sec_def_week', 42),
          'try_lock_user -> true'],
    'lock and try_lock through wrappers: the documented key');
SELECT is(
    (SELECT count(*) FROM pg_locks
      WHERE locktype = 'advisory' AND pid = pg_backend_pid()
        AND ((classid::bigint << 32) | objid::bigint)
            IN (upsert_guard.lock_key('sec_def_week', 42), upsert_guard.lock_key('sec_def_week', 43))),
    2::bigint,
    'and both locks are held');
SELECT is(
    (SELECT array_agg(id || ':' || name ORDER BY id) FROM sec_def.items),
    ARRAY['1:gadget', '2:widget', '3:sprocket'],
    'items: one row per name');
SELECT is(
    (SELECT array_agg(sku || ':' || price ORDER BY sku) FROM sec_def.products),
    ARRAY['LAP-001:899.00', 'NEW-001:7.00', 'NEW-002:3.00', 'NEW-003:3.00', 'NEW-004:4.00'],
    'products: as the calls left them');
SELECT is(
    (SELECT array_agg(email || ':' || hits ORDER BY email) FROM sec_def.visits),
    ARRAY['amir@example.com:12', 'betty@example.com:1'],
    'visits: as the calls left them');
SELECT is(
    (SELECT array_agg(id || ':' || email ORDER BY id) FROM sec_def.accounts),
    ARRAY['1:Bob@example.com', '3:eve@example.com'],
    'accounts: one per lower(email)');
SELECT is(
    (SELECT array_agg(id || ':' || user_id || ':' || title ORDER BY id) FROM sec_def.posts),
    ARRAY['1:1:First', '2:1:Second', '5:2:First', '6:1:Sixth'],
    'posts: only those the guard admits');

-- the caller itself has no privilege on the tables: calling the functions
-- directly, after the wrappers cached their plans, is refused
SET ROLE regress_sec_caller;
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::sec_def.items, '{"name": "widget"}', NULL, 'none')$$,
    '42501', 'permission denied for table items',
    'the caller, directly: select_or_insert is refused');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::sec_def.products, '{"sku": "LAP-001", "price": 1}')$$,
    '42501', 'permission denied for table products',
    'the caller, directly: idempotent_upsert is refused');
SELECT throws_ok(
    $$SELECT upsert_guard.increment(NULL::sec_def.visits, '{"email": "amir@example.com", "hits": 1}', '{"hits": 1}')$$,
    '42501', 'permission denied for table visits',
    'the caller, directly: increment is refused');
SELECT throws_ok(
    $$SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::sec_def.products, '[{"sku": "LAP-001", "price": 1}]')$$,
    '42501', 'permission denied for table products',
    'the caller, directly: idempotent_upsert_batch is refused');
SELECT throws_ok(
    $$SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::sec_def.products, 'sec_def.staging')$$,
    '42501', 'permission denied for table products',
    'the caller, directly: idempotent_upsert_from is refused');
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert_outcome(NULL::sec_def.accounts, '{"id": 9, "email": "bob@example.com"}',
        NULL, 'none', 'accounts_email_lower')$$,
    '42501', 'permission denied for table accounts',
    'the caller, directly: select_or_insert with an arbiter is refused');
SELECT throws_ok(
    $$SELECT upsert_guard.drop_guard('sec_def_week')$$,
    '42501', 'must be owner of table posts',
    'the caller, directly: drop_guard is refused');
RESET ROLE;
SELECT is((SELECT count(*) FROM sec_def.items), 3::bigint,
    'nothing was written by the refused direct calls');

SELECT * FROM finish();
ROLLBACK;

-- the roles were created in the rolled-back transaction
SELECT 'leftover roles: ' || count(*) FROM pg_roles WHERE rolname LIKE 'regress\_sec\_%';
