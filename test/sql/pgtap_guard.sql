--
-- pgtap_guard: the guard API in pgTAP: signatures and properties of
-- add_guard, drop_guard and the lock helpers; the definitions table, its
-- view and its registration with pg_dump; then privileges: only a table's
-- owner adds or drops its guards, nobody writes the definitions directly,
-- and the check sees every row (it runs as the table's owner, like a
-- foreign key's) while a violation shows the writer only what the writer
-- may read.
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
SELECT plan(41);

--
-- Functions.
--
SELECT is(pg_get_function_arguments('upsert_guard.add_guard(text, regclass, text[], text, integer)'::regprocedure),
    'guard text, target regclass, key_columns text[], conflict text, max_conflicts integer DEFAULT 0',
    'add_guard argument names and defaults');
SELECT function_returns('upsert_guard', 'add_guard',
    ARRAY['text', 'regclass', 'text[]', 'text', 'integer'], 'void', 'add_guard returns void');
SELECT is(pg_get_function_arguments('upsert_guard.drop_guard(text, boolean)'::regprocedure),
    'guard text, missing_ok boolean DEFAULT false',
    'drop_guard argument names and defaults');
SELECT function_returns('upsert_guard', 'drop_guard', ARRAY['text', 'boolean'], 'boolean',
    'drop_guard returns boolean');
SELECT is(pg_get_function_arguments('upsert_guard.lock(text, "any")'::regprocedure),
    'namespace text, VARIADIC key "any"', 'lock takes a namespace and a variadic key');
SELECT function_returns('upsert_guard', 'lock', ARRAY['text', '"any"'], 'bigint',
    'lock returns the lock key');
SELECT function_returns('upsert_guard', 'try_lock', ARRAY['text', '"any"'], 'boolean',
    'try_lock returns whether it got the lock');
SELECT function_returns('upsert_guard', 'lock_key', ARRAY['text', '"any"'], 'bigint',
    'lock_key returns the lock key');
SELECT is(
    (SELECT array_agg(p.proname || ':' || p.provolatile::text || ':' || p.prosecdef::text ORDER BY p.proname)
       FROM pg_proc p WHERE p.pronamespace = 'upsert_guard'::regnamespace
        AND p.proname IN ('add_guard', 'drop_guard', 'lock', 'try_lock', 'lock_key', '_guard_trigger')),
    ARRAY['_guard_trigger:v:false', 'add_guard:v:false', 'drop_guard:v:false',
          'lock:v:false', 'lock_key:i:false', 'try_lock:v:false'],
    'all SECURITY INVOKER; lock_key IMMUTABLE, the others VOLATILE');
SELECT function_returns('upsert_guard', '_guard_trigger', ARRAY[]::text[], 'trigger',
    '_guard_trigger is a trigger function');

--
-- The definitions: a table pg_dump dumps, a view, read-only for PUBLIC.
--
SELECT has_table('upsert_guard', 'guard_definitions', 'table guard_definitions exists');
SELECT columns_are('upsert_guard', 'guard_definitions',
    ARRAY['guard', 'table_name', 'key_columns', 'conflict', 'max_conflicts'],
    'guard_definitions has these columns');
SELECT col_is_pk('upsert_guard', 'guard_definitions', 'guard', 'a guard is known by its name');
SELECT col_type_is('upsert_guard', 'guard_definitions', 'table_name', 'regclass',
    'the table is a regclass: it follows renames, and pg_dump writes it by name');
SELECT ok(
    (SELECT 'upsert_guard.guard_definitions'::regclass = ANY (extconfig)
       FROM pg_extension WHERE extname = 'upsert_guard'),
    'guard_definitions is registered with pg_extension_config_dump');
SELECT has_view('upsert_guard', 'guards', 'view guards exists');
SELECT columns_are('upsert_guard', 'guards',
    ARRAY['guard', 'table_name', 'key_columns', 'conflict', 'max_conflicts', 'table_owner', 'enforced'],
    'guards has these columns');
SELECT ok(has_table_privilege('public', 'upsert_guard.guard_definitions', 'SELECT')
      AND has_table_privilege('public', 'upsert_guard.guards', 'SELECT'),
    'PUBLIC may read the definitions and the view');
SELECT ok(NOT has_table_privilege('public', 'upsert_guard.guard_definitions', 'INSERT')
      AND NOT has_table_privilege('public', 'upsert_guard.guard_definitions', 'UPDATE')
      AND NOT has_table_privilege('public', 'upsert_guard.guard_definitions', 'DELETE'),
    'PUBLIC may not write the definitions');

--
-- Roles: an owner of a guarded table, a writer with INSERT and UPDATE but
-- no SELECT, and a reader-writer under row-level security.
--
CREATE ROLE regress_ug_owner;
CREATE ROLE regress_ug_blind;
CREATE ROLE regress_ug_rls;
CREATE SCHEMA guard_tap AUTHORIZATION regress_ug_owner;
GRANT USAGE ON SCHEMA guard_tap TO regress_ug_blind, regress_ug_rls;
SET ROLE regress_ug_owner;
CREATE TABLE guard_tap.posts (
    "userId" int NOT NULL,
    "createdAt" timestamp NOT NULL,
    highlighted boolean NOT NULL,
    author name NOT NULL DEFAULT current_user
);
GRANT INSERT, UPDATE ON guard_tap.posts TO regress_ug_blind;
GRANT SELECT, INSERT ON guard_tap.posts TO regress_ug_rls;
ALTER TABLE guard_tap.posts ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON guard_tap.posts USING (author = current_user);
CREATE POLICY any_insert ON guard_tap.posts FOR INSERT WITH CHECK (true);
RESET ROLE;

-- only the owner adds a guard
SET ROLE regress_ug_blind;
SELECT throws_ok(
    $$SELECT upsert_guard.add_guard('tap_7_days', 'guard_tap.posts', '{userId}', 'true')$$,
    '42501', 'must be owner of table posts',
    'a writer that is not the owner cannot add a guard');
SELECT throws_ok(
    $$INSERT INTO upsert_guard.guard_definitions VALUES ('x', 'guard_tap.posts', '{userId}', 'true', 0)$$,
    '42501', 'permission denied for table guard_definitions',
    'nor write a definition directly');
RESET ROLE;
SET ROLE regress_ug_owner;
SELECT lives_ok(
    $$SELECT upsert_guard.add_guard('tap_7_days', 'guard_tap.posts', '{userId}',
        'new.highlighted AND other.highlighted
         AND other."createdAt" > new."createdAt" - interval ''7 days''
         AND other."createdAt" < new."createdAt" + interval ''7 days''')$$,
    'the owner adds the guard (no privilege on the definitions table needed)');
SELECT is(
    (SELECT ROW(table_name, key_columns, max_conflicts, table_owner, enforced)::text
       FROM upsert_guard.guards WHERE guard = 'tap_7_days'),
    '(guard_tap.posts,{userId},0,regress_ug_owner,t)',
    'the view lists it, with the table''s owner, enforced');
SELECT trigger_is('guard_tap', 'posts', 'tap_7_days', 'upsert_guard', '_guard_trigger',
    'its trigger, named like the guard, calls upsert_guard._guard_trigger');
SELECT is(
    (SELECT ROW(tgtype::int & 1 = 1, tgtype::int & 2 = 2, tgtype::int & 28, tgnargs,
                encode(tgargs, 'escape'))::text
       FROM pg_trigger WHERE tgname = 'tap_7_days'),
    '(t,f,28,1,"tap_7_days\\000")',
    'FOR EACH ROW, AFTER, on INSERT, DELETE and UPDATE, with the guard''s name as argument');
INSERT INTO guard_tap.posts VALUES (1, '2026-11-02', true, 'regress_ug_owner');
RESET ROLE;

-- a writer without SELECT: its write is checked all the same, and the
-- violation does not show it the row or the key it may not read
SET ROLE regress_ug_blind;
SELECT throws_ok(
    $$INSERT INTO guard_tap.posts VALUES (1, '2026-11-04', true)$$,
    '23P01', 'row violates guard "tap_7_days" on table "posts"',
    'a writer without SELECT is held to the guard');
CREATE FUNCTION pg_temp.detail_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN d;
END$$;
SELECT is(pg_temp.detail_of($$INSERT INTO guard_tap.posts VALUES (1, '2026-11-04', true)$$),
    'The row conflicts with an existing row.',
    'the detail names no key and no row to a writer who may not read them');
SELECT lives_ok($$INSERT INTO guard_tap.posts VALUES (2, '2026-11-04', true)$$,
    'a row that keeps the rule is written');
SELECT throws_ok(
    $$UPDATE guard_tap.posts SET "userId" = 1 WHERE "userId" = 2$$,
    '42501', 'permission denied for table posts',
    'UPDATE with a WHERE still needs SELECT: privileges apply as usual');
RESET ROLE;

-- under row-level security the writer sees only its own rows, but the
-- check sees them all
SET ROLE regress_ug_rls;
SELECT is((SELECT count(*) FROM guard_tap.posts), 0::bigint,
    'row-level security hides the other authors'' posts from this role');
SELECT throws_ok(
    $$INSERT INTO guard_tap.posts VALUES (1, '2026-11-05', true)$$,
    '23P01', 'row violates guard "tap_7_days" on table "posts"',
    'the check sees rows row-level security hides from the writer');
SELECT is(pg_temp.detail_of($$INSERT INTO guard_tap.posts VALUES (1, '2026-11-05', true)$$),
    'The row conflicts with an existing row.',
    'and names no row the writer may not see');
RESET ROLE;

-- the owner sees the row in the detail
SET ROLE regress_ug_owner;
SELECT is(pg_temp.detail_of($$INSERT INTO guard_tap.posts VALUES (1, '2026-11-06', true)$$),
    'Key ("userId")=(1) conflicts with row (1,"2026-11-02 00:00:00",t,regress_ug_owner).',
    'the owner is shown the key and the conflicting row');
RESET ROLE;

-- a trigger borrowing the guard on a table of another role is refused
CREATE TABLE guard_tap.borrower (k int);
ALTER TABLE guard_tap.borrower OWNER TO regress_ug_blind;
SET ROLE regress_ug_blind;
CREATE TRIGGER borrow AFTER INSERT ON guard_tap.borrower
    FOR EACH ROW EXECUTE FUNCTION upsert_guard._guard_trigger('tap_7_days');
SELECT throws_ok($$INSERT INTO guard_tap.borrower VALUES (1)$$,
    '55000', 'trigger on table "borrower" does not belong to guard "tap_7_days"',
    'another table''s trigger cannot run a guard''s check as the guard''s owner');
-- only the owner drops a guard
SELECT throws_ok($$SELECT upsert_guard.drop_guard('tap_7_days')$$,
    '42501', 'must be owner of table posts',
    'a writer that is not the owner cannot drop the guard');
RESET ROLE;
SET ROLE regress_ug_owner;
SELECT is(upsert_guard.drop_guard('tap_7_days'), true, 'the owner drops it');
SELECT hasnt_trigger('guard_tap', 'posts', 'tap_7_days', 'its trigger is gone');
SELECT is((SELECT count(*) FROM upsert_guard.guard_definitions WHERE guard = 'tap_7_days'),
    0::bigint, 'and its definition');
SELECT lives_ok($$INSERT INTO guard_tap.posts VALUES (1, '2026-11-04', true)$$,
    'writes are no longer checked');
RESET ROLE;

-- lock helpers (guard.sql shows the lock gone at COMMIT)
SELECT is(upsert_guard.lock('tap', 7), upsert_guard.lock_key('tap', 7), 'lock returns its key');
SELECT is(
    (SELECT count(*) FROM pg_locks
      WHERE locktype = 'advisory' AND pid = pg_backend_pid()
        AND ((classid::bigint << 32) | objid::bigint) = upsert_guard.lock_key('tap', 7)),
    1::bigint, 'the lock is held, on the key lock_key derives');
SELECT * FROM finish();
ROLLBACK;

SELECT 'leftover roles: ' || count(*) FROM pg_roles WHERE rolname LIKE 'regress\_ug\_%';
