--
-- pgtap_upsert: the API contract of upsert_guard.idempotent_upsert,
-- idempotent_upsert_outcome, increment and increment_outcome in pgTAP:
-- exact signatures, defaults and properties; then privileges and
-- row-level security.  Each call runs its statements as the caller, so a
-- statement that runs needs the caller's privileges, and one that does
-- not run needs none: an 'unchanged' upsert runs no UPDATE, so it works
-- without UPDATE privilege, while increment always starts with its UPDATE.
--
-- Everything happens in one transaction that is rolled back, roles
-- included.
--
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(51);

--
-- The functions.
--
SELECT has_function('upsert_guard', 'idempotent_upsert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'],
    'idempotent_upsert(anyelement, jsonb, text[], text[], text) exists');
SELECT has_function('upsert_guard', 'idempotent_upsert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'],
    'idempotent_upsert_outcome(anyelement, jsonb, text[], text[], text) exists');
SELECT has_function('upsert_guard', 'increment',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'],
    'increment(anyelement, jsonb, jsonb, text[], text) exists');
SELECT has_function('upsert_guard', 'increment_outcome',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'],
    'increment_outcome(anyelement, jsonb, jsonb, text[], text) exists');
SELECT function_returns('upsert_guard', 'idempotent_upsert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'], 'anyelement',
    'idempotent_upsert returns anyelement');
SELECT function_returns('upsert_guard', 'idempotent_upsert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'], 'record',
    'idempotent_upsert_outcome returns record');
SELECT function_returns('upsert_guard', 'increment',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'], 'anyelement',
    'increment returns anyelement');
SELECT function_returns('upsert_guard', 'increment_outcome',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'], 'record',
    'increment_outcome returns record');
SELECT is(pg_get_function_arguments(
        'upsert_guard.idempotent_upsert(anyelement, jsonb, text[], text[], text)'::regprocedure),
    'target anyelement, new_row jsonb, conflict text[] DEFAULT NULL::text[], update_columns text[] DEFAULT NULL::text[], arbiter text DEFAULT NULL::text',
    'idempotent_upsert argument names and defaults');
SELECT is(pg_get_function_arguments(
        'upsert_guard.idempotent_upsert_outcome(anyelement, jsonb, text[], text[], text)'::regprocedure),
    'target anyelement, new_row jsonb, conflict text[] DEFAULT NULL::text[], update_columns text[] DEFAULT NULL::text[], arbiter text DEFAULT NULL::text, OUT outcome text, OUT result anyelement',
    'idempotent_upsert_outcome argument names, defaults and OUT parameters');
SELECT is(pg_get_function_arguments(
        'upsert_guard.increment(anyelement, jsonb, jsonb, text[], text)'::regprocedure),
    'target anyelement, new_row jsonb, deltas jsonb, conflict text[] DEFAULT NULL::text[], arbiter text DEFAULT NULL::text',
    'increment argument names and defaults');
SELECT is(pg_get_function_arguments(
        'upsert_guard.increment_outcome(anyelement, jsonb, jsonb, text[], text)'::regprocedure),
    'target anyelement, new_row jsonb, deltas jsonb, conflict text[] DEFAULT NULL::text[], arbiter text DEFAULT NULL::text, OUT outcome text, OUT result anyelement',
    'increment_outcome argument names, defaults and OUT parameters');
SELECT isnt_definer('upsert_guard', 'idempotent_upsert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'],
    'idempotent_upsert is SECURITY INVOKER');
SELECT isnt_definer('upsert_guard', 'idempotent_upsert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'],
    'idempotent_upsert_outcome is SECURITY INVOKER');
SELECT isnt_definer('upsert_guard', 'increment',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'],
    'increment is SECURITY INVOKER');
SELECT isnt_definer('upsert_guard', 'increment_outcome',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'],
    'increment_outcome is SECURITY INVOKER');
SELECT volatility_is('upsert_guard', 'idempotent_upsert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'], 'volatile',
    'idempotent_upsert is VOLATILE');
SELECT volatility_is('upsert_guard', 'idempotent_upsert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'], 'volatile',
    'idempotent_upsert_outcome is VOLATILE');
SELECT volatility_is('upsert_guard', 'increment',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'], 'volatile',
    'increment is VOLATILE');
SELECT volatility_is('upsert_guard', 'increment_outcome',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'], 'volatile',
    'increment_outcome is VOLATILE');
SELECT function_lang_is('upsert_guard', 'idempotent_upsert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'], 'c',
    'idempotent_upsert is LANGUAGE C');
SELECT function_lang_is('upsert_guard', 'idempotent_upsert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text[]', 'text'], 'c',
    'idempotent_upsert_outcome is LANGUAGE C');
SELECT function_lang_is('upsert_guard', 'increment',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'], 'c',
    'increment is LANGUAGE C');
SELECT function_lang_is('upsert_guard', 'increment_outcome',
    ARRAY['anyelement', 'jsonb', 'jsonb', 'text[]', 'text'], 'c',
    'increment_outcome is LANGUAGE C');
SELECT ok(
    (SELECT bool_and(has_function_privilege('public', p.oid, 'EXECUTE'))
       FROM pg_proc p
      WHERE p.pronamespace = 'upsert_guard'::regnamespace
        AND p.proname IN ('idempotent_upsert', 'idempotent_upsert_outcome',
                          'increment', 'increment_outcome')
     HAVING count(*) = 4),
    'PUBLIC may execute the four functions');
SELECT is(
    (SELECT array_agg(p.proname || ':' || p.prorettype::regtype::text || ':' ||
                      coalesce(array_to_string(p.proallargtypes::regtype[], ','), '-')
                      ORDER BY p.proname)
       FROM pg_proc p
      WHERE p.pronamespace = 'upsert_guard'::regnamespace
        AND p.proname LIKE '%\_outcome'
        AND p.proname <> 'select_or_insert_outcome'),
    ARRAY['idempotent_upsert_outcome:record:anyelement,jsonb,text[],text[],text,text,anyelement',
          'increment_outcome:record:anyelement,jsonb,jsonb,text[],text,text,anyelement'],
    'the _outcome variants return the record (outcome text, result anyelement)');

--
-- Privileges.  The tables are owned by the test's superuser; the roles get
-- only what each case grants.
--
CREATE SCHEMA ugu_tap;
CREATE TABLE ugu_tap.products (
    product_id serial PRIMARY KEY,
    sku text UNIQUE NOT NULL,
    name text,
    price numeric(10,2)
);
INSERT INTO ugu_tap.products (sku, name, price) VALUES ('LAP-001', 'Laptop', 999);
CREATE TABLE ugu_tap.update_fires (sku text);
CREATE FUNCTION ugu_tap.log_update() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER AS
$$BEGIN
    INSERT INTO ugu_tap.update_fires VALUES (NEW.sku);
    RETURN NULL;
END$$;
CREATE TRIGGER products_log_update AFTER UPDATE ON ugu_tap.products
    FOR EACH ROW EXECUTE FUNCTION ugu_tap.log_update();
CREATE TABLE ugu_tap.visits (
    id serial PRIMARY KEY,
    email text UNIQUE NOT NULL,
    count int NOT NULL
);
INSERT INTO ugu_tap.visits (email, count) VALUES ('amir@example.com', 1);
CREATE ROLE regress_ugu_writer;
CREATE ROLE regress_ugu_all;
CREATE ROLE regress_ugu_price;
GRANT USAGE ON SCHEMA ugu_tap TO regress_ugu_writer, regress_ugu_all,
    regress_ugu_price;
GRANT SELECT, INSERT ON ugu_tap.products, ugu_tap.visits TO regress_ugu_writer;
GRANT SELECT, INSERT, UPDATE ON ugu_tap.products, ugu_tap.visits TO regress_ugu_all;
GRANT SELECT, INSERT, UPDATE (price) ON ugu_tap.products TO regress_ugu_price;
GRANT USAGE ON SEQUENCE ugu_tap.products_product_id_seq, ugu_tap.visits_id_seq
    TO regress_ugu_writer, regress_ugu_all, regress_ugu_price;

-- the owner calls first, so the roles below run plans it cached: privileges
-- are checked for the role that executes them
SELECT is(
    (SELECT o.outcome || ',' || p.outcome
       FROM upsert_guard.idempotent_upsert_outcome(NULL::ugu_tap.products,
                '{"sku": "LAP-001", "name": "Laptop", "price": 999}') o,
            upsert_guard.increment_outcome(NULL::ugu_tap.visits,
                '{"email": "amir@example.com", "count": 1}', '{"count": 1}') p),
    'unchanged,updated',
    'the owner: an unchanged upsert and an increment');

-- SELECT and INSERT, no UPDATE
SET ROLE regress_ugu_writer;
SELECT is(
    (SELECT o.outcome || ':' || (o.result).name
       FROM upsert_guard.idempotent_upsert_outcome(NULL::ugu_tap.products,
           '{"sku": "LAP-002", "name": "Laptop 2", "price": 1299}') o),
    'inserted:Laptop 2',
    'without UPDATE privilege: idempotent_upsert inserts a new key');
SELECT is(
    (SELECT o.outcome || ':' || (o.result).price
       FROM upsert_guard.idempotent_upsert_outcome(NULL::ugu_tap.products,
           '{"sku": "LAP-001", "name": "Laptop", "price": "999.00"}') o),
    'unchanged:999.00',
    'without UPDATE privilege: an existing row with the same values is unchanged (no UPDATE runs)');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::ugu_tap.products,
        '{"sku": "LAP-001", "name": "Laptop", "price": 899}')$$,
    '42501', 'permission denied for table products',
    'without UPDATE privilege: an existing row with other values is refused');
SELECT throws_ok(
    $$SELECT upsert_guard.increment(NULL::ugu_tap.visits,
        '{"email": "amir@example.com", "count": 1}', '{"count": 1}')$$,
    '42501', 'permission denied for table visits',
    'without UPDATE privilege: increment of an existing row is refused');
SELECT throws_ok(
    $$SELECT upsert_guard.increment(NULL::ugu_tap.visits,
        '{"email": "betty@example.com", "count": 1}', '{"count": 1}')$$,
    '42501', 'permission denied for table visits',
    'without UPDATE privilege: increment is refused for a new key too (its UPDATE runs first)');
RESET ROLE;
SELECT is(
    (SELECT array_agg(sku || ':' || name || ':' || price ORDER BY product_id)
       FROM ugu_tap.products),
    ARRAY['LAP-001:Laptop:999.00', 'LAP-002:Laptop 2:1299.00'],
    'the writer role inserted one product and changed none');
SELECT is((SELECT count(*) FROM ugu_tap.update_fires), 0::bigint,
    'no UPDATE trigger fired for the writer role');
SELECT is(
    (SELECT array_agg(email || ':' || count ORDER BY id) FROM ugu_tap.visits),
    ARRAY['amir@example.com:2'],
    'the writer role changed no visit and inserted none');

-- SELECT, INSERT and UPDATE: everything works
SET ROLE regress_ugu_all;
SELECT is(
    (SELECT string_agg(o.outcome, ',' ORDER BY m.n)
       FROM unnest(ARRAY[899, 899, 999]) WITH ORDINALITY AS m(price, n),
            LATERAL upsert_guard.idempotent_upsert_outcome(NULL::ugu_tap.products,
                jsonb_build_object('sku', 'LAP-001', 'price', m.price)) o),
    'updated,unchanged,updated',
    'SELECT, INSERT and UPDATE privileges: idempotent_upsert updates');
SELECT is(
    (SELECT string_agg(o.outcome || ':' || (o.result).count, ',' ORDER BY m.n)
       FROM unnest(ARRAY['amir@example.com', 'betty@example.com', 'betty@example.com'])
            WITH ORDINALITY AS m(email, n),
            LATERAL upsert_guard.increment_outcome(NULL::ugu_tap.visits,
                jsonb_build_object('email', m.email, 'count', 1), '{"count": 1}') o),
    'updated:3,inserted:1,updated:2',
    'SELECT, INSERT and UPDATE privileges: increment inserts and updates');
RESET ROLE;
SELECT is((SELECT count(*) FROM ugu_tap.update_fires), 2::bigint,
    'the UPDATE trigger fired once per updated outcome');

-- column privilege UPDATE (price): the UPDATE sets every update column,
-- so with the default update_columns (name and price) it is refused even
-- when only the price differs; naming update_columns => '{price}' works
SET ROLE regress_ugu_price;
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::ugu_tap.products,
        '{"sku": "LAP-001", "name": "Laptop", "price": 949}')$$,
    '42501', 'permission denied for table products',
    'UPDATE privilege on price only: an update that sets name too is refused');
SELECT is(
    (SELECT o.outcome || ':' || (o.result).price
       FROM upsert_guard.idempotent_upsert_outcome(NULL::ugu_tap.products,
           '{"sku": "LAP-001", "name": "Laptop", "price": 949}', NULL, '{price}') o),
    'updated:949.00',
    'UPDATE privilege on price only: update_columns {price} updates');
SELECT is(
    (SELECT o.outcome
       FROM upsert_guard.idempotent_upsert_outcome(NULL::ugu_tap.products,
           '{"sku": "LAP-001", "name": "Laptop", "price": 949}') o),
    'unchanged',
    'UPDATE privilege on price only: nothing differs, so nothing is refused');
RESET ROLE;

--
-- Row-level security: each owner sees and updates its own rows; the row
-- with key 'public' is visible to all but updatable only by its owner.
--
CREATE TABLE ugu_tap.docs (
    k text PRIMARY KEY,
    owner name NOT NULL DEFAULT current_user,
    v text,
    n int
);
ALTER TABLE ugu_tap.docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY docs_select ON ugu_tap.docs FOR SELECT
    USING (owner = current_user OR k = 'public');
CREATE POLICY docs_insert ON ugu_tap.docs FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY docs_update ON ugu_tap.docs FOR UPDATE USING (owner = current_user);
GRANT SELECT, INSERT, UPDATE ON ugu_tap.docs TO regress_ugu_all;
INSERT INTO ugu_tap.docs VALUES ('mine', 'regress_ugu_all', 'of all', 0),
                                ('theirs', 'regress_ugu_writer', 'of writer', 0),
                                ('public', 'regress_ugu_writer', 'of writer', 0);
CREATE FUNCTION ugu_tap.error_of(sql text) RETURNS text
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
    RETURN state || ': ' || message || ' DETAIL: ' || detail;
END
$$;
-- the owner (a superuser, not subject to the policies) calls first
SELECT is(
    (SELECT o.outcome || ',' || p.outcome
       FROM upsert_guard.idempotent_upsert_outcome(NULL::ugu_tap.docs,
                '{"k": "theirs", "v": "of writer"}') o,
            upsert_guard.increment_outcome(NULL::ugu_tap.docs,
                '{"k": "theirs"}', '{"n": 1}') p),
    'unchanged,updated',
    'the table owner bypasses row-level security');
SET upsert_guard.max_attempts = 3;
SET ROLE regress_ugu_all;
SELECT is(
    (SELECT string_agg(o.outcome || ':' || (o.result).v, ',' ORDER BY m.n)
       FROM unnest(ARRAY['mine', 'mine', 'new']) WITH ORDINALITY AS m(k, n),
            LATERAL upsert_guard.idempotent_upsert_outcome(NULL::ugu_tap.docs,
                jsonb_build_object('k', m.k, 'v', 'by all')) o),
    'updated:by all,unchanged:by all,inserted:by all',
    'row-level security: own rows are updated and inserted');
SELECT is(
    (SELECT o.outcome || ':' || (o.result).n
       FROM upsert_guard.increment_outcome(NULL::ugu_tap.docs,
           '{"k": "mine"}', '{"n": 5}') o),
    'updated:5',
    'row-level security: an own row is incremented');
SELECT is(
    ugu_tap.error_of($$SELECT upsert_guard.idempotent_upsert(NULL::ugu_tap.docs,
        '{"k": "theirs", "v": "by all"}')$$),
    '42501: could not insert or update a row in table "docs" DETAIL: Each attempt met an existing row with key (k)=(theirs) that row-level security policies of the table keep the current user from selecting or changing.',
    'row-level security: idempotent_upsert of a hidden key is an error, not a new row');
SELECT is(
    ugu_tap.error_of($$SELECT upsert_guard.increment(NULL::ugu_tap.docs,
        '{"k": "theirs"}', '{"n": 1}')$$),
    '42501: could not increment or insert a row in table "docs" DETAIL: Each attempt met an existing row with key (k)=(theirs) that row-level security policies of the table keep the current user from selecting or changing.',
    'row-level security: increment of a hidden key is an error, not a new row');
-- a row the role may select but not update: unchanged needs no UPDATE;
-- a change cannot be made
SELECT is(
    (SELECT o.outcome || ':' || (o.result).owner
       FROM upsert_guard.idempotent_upsert_outcome(NULL::ugu_tap.docs,
           '{"k": "public", "v": "of writer"}') o),
    'unchanged:regress_ugu_writer',
    'row-level security: a visible row that the UPDATE policy hides can be unchanged');
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::ugu_tap.docs,
        '{"k": "public", "v": "by all"}')$$,
    '42501', 'could not insert or update a row in table "docs"',
    'row-level security: a visible row that the UPDATE policy hides cannot be changed');
SELECT throws_ok(
    $$SELECT upsert_guard.increment(NULL::ugu_tap.docs,
        '{"k": "public"}', '{"n": 1}')$$,
    '42501', 'could not increment or insert a row in table "docs"',
    'row-level security: a visible row that the UPDATE policy hides cannot be incremented');
-- the UPDATE policy's check applies to the new version of an own row
SELECT throws_ok(
    $$SELECT upsert_guard.idempotent_upsert(NULL::ugu_tap.docs,
        '{"k": "mine", "owner": "regress_ugu_writer"}')$$,
    '42501', 'new row violates row-level security policy for table "docs"',
    'row-level security: an update that gives the row away is refused');
RESET ROLE;
RESET upsert_guard.max_attempts;
SELECT is(
    (SELECT array_agg(k || ':' || owner || ':' || v || ':' || n ORDER BY k)
       FROM ugu_tap.docs WHERE k <> 'new'),
    ARRAY['mine:regress_ugu_all:by all:5',
          'public:regress_ugu_writer:of writer:0',
          'theirs:regress_ugu_writer:of writer:1'],
    'row-level security: nothing written to the rows of another owner');

SELECT * FROM finish();
ROLLBACK;

-- the roles were created in the rolled-back transaction
SELECT 'leftover roles: ' || count(*) FROM pg_roles WHERE rolname LIKE 'regress\_ugu\_%';
