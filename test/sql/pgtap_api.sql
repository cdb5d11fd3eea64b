--
-- pgtap_api: the API contract of upsert_guard in pgTAP: the functions'
-- exact signatures, defaults and properties, the schema and the GUC; then
-- privileges: table and column privileges and row-level security apply to
-- the caller exactly as for the INSERT and SELECT ... FOR ... it runs.
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
SELECT plan(44);

--
-- The functions.
--
SELECT has_schema('upsert_guard', 'schema upsert_guard exists');
SELECT has_function('upsert_guard', 'select_or_insert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'],
    'select_or_insert(anyelement, jsonb, text[], text, text) exists');
SELECT has_function('upsert_guard', 'select_or_insert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'],
    'select_or_insert_outcome(anyelement, jsonb, text[], text, text) exists');
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text)
       FROM pg_proc p WHERE p.pronamespace = 'upsert_guard'::regnamespace),
    ARRAY['upsert_guard._batch_rows(anyelement,jsonb)',
          'upsert_guard._batch_rows_support(internal)',
          'upsert_guard._guard_trigger()',
          'upsert_guard.add_guard(text,regclass,text[],text,integer)',
          'upsert_guard.backend_stats()',
          'upsert_guard.cluster_stats(boolean)',
          'upsert_guard.drop_guard(text,boolean)',
          'upsert_guard.idempotent_upsert(anyelement,jsonb,text[],text[],text)',
          'upsert_guard.idempotent_upsert_batch(anyelement,jsonb,text[],text[],text)',
          'upsert_guard.idempotent_upsert_batch_outcomes(anyelement,jsonb,text[],text[],text)',
          'upsert_guard.idempotent_upsert_from(anyelement,regclass,text[],text[],text)',
          'upsert_guard.idempotent_upsert_from_outcomes(anyelement,regclass,text[],text[],text)',
          'upsert_guard.idempotent_upsert_outcome(anyelement,jsonb,text[],text[],text)',
          'upsert_guard.increment(anyelement,jsonb,jsonb,text[],text)',
          'upsert_guard.increment_outcome(anyelement,jsonb,jsonb,text[],text)',
          'upsert_guard.lock(text,"any")',
          'upsert_guard.lock_key(text,"any")',
          'upsert_guard.reset_stats()',
          'upsert_guard.select_or_insert(anyelement,jsonb,text[],text,text)',
          'upsert_guard.select_or_insert_outcome(anyelement,jsonb,text[],text,text)',
          'upsert_guard.try_lock(text,"any")'],
    'the schema has these ten calls, five guard and lock functions (pgtap_guard tests them), three statistics functions (stats tests them), three internal ones, and no others');
SELECT function_returns('upsert_guard', 'select_or_insert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'], 'anyelement',
    'select_or_insert returns anyelement');
SELECT function_returns('upsert_guard', 'select_or_insert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'], 'record',
    'select_or_insert_outcome returns record');
SELECT is(pg_get_function_arguments(
        'upsert_guard.select_or_insert(anyelement, jsonb, text[], text, text)'::regprocedure),
    'target anyelement, new_row jsonb, conflict text[] DEFAULT NULL::text[], lock text DEFAULT ''key share''::text, arbiter text DEFAULT NULL::text',
    'select_or_insert argument names and defaults');
SELECT is(pg_get_function_arguments(
        'upsert_guard.select_or_insert_outcome(anyelement, jsonb, text[], text, text)'::regprocedure),
    'target anyelement, new_row jsonb, conflict text[] DEFAULT NULL::text[], lock text DEFAULT ''key share''::text, arbiter text DEFAULT NULL::text, OUT outcome text, OUT result anyelement',
    'select_or_insert_outcome argument names, defaults and OUT parameters');
SELECT isnt_definer('upsert_guard', 'select_or_insert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'],
    'select_or_insert is SECURITY INVOKER');
SELECT isnt_definer('upsert_guard', 'select_or_insert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'],
    'select_or_insert_outcome is SECURITY INVOKER');
SELECT volatility_is('upsert_guard', 'select_or_insert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'], 'volatile',
    'select_or_insert is VOLATILE');
SELECT volatility_is('upsert_guard', 'select_or_insert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'], 'volatile',
    'select_or_insert_outcome is VOLATILE');
SELECT function_lang_is('upsert_guard', 'select_or_insert',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'], 'c',
    'select_or_insert is LANGUAGE C');
SELECT function_lang_is('upsert_guard', 'select_or_insert_outcome',
    ARRAY['anyelement', 'jsonb', 'text[]', 'text', 'text'], 'c',
    'select_or_insert_outcome is LANGUAGE C');
SELECT is(
    (SELECT array_agg(p.proname || ':' || p.proisstrict::text || ':' || p.proparallel::text
                      ORDER BY p.proname)
       FROM pg_proc p WHERE p.pronamespace = 'upsert_guard'::regnamespace
        AND p.proname NOT LIKE '\_%'),
    ARRAY['add_guard:false:u', 'backend_stats:false:r', 'cluster_stats:false:s',
          'drop_guard:false:u',
          'idempotent_upsert:false:u', 'idempotent_upsert_batch:false:u',
          'idempotent_upsert_batch_outcomes:false:u', 'idempotent_upsert_from:false:u',
          'idempotent_upsert_from_outcomes:false:u', 'idempotent_upsert_outcome:false:u',
          'increment:false:u', 'increment_outcome:false:u',
          'lock:false:u', 'lock_key:false:s', 'reset_stats:false:u',
          'select_or_insert:false:u', 'select_or_insert_outcome:false:u',
          'try_lock:false:u'],
    'all are CALLED ON NULL INPUT (a NULL is an error, not a silent NULL) and PARALLEL UNSAFE, but lock_key, which only computes, and the statistics readers (backend_stats restricted to the leader, whose counters they are)');

--
-- The extension, its schema and its GUC.
--
SELECT is(
    (SELECT ROW(e.extrelocatable, e.extnamespace::regnamespace::text)::text
       FROM pg_extension e WHERE e.extname = 'upsert_guard'),
    '(f,pg_catalog)',
    'the extension is not relocatable; like pg_cron, it is registered in pg_catalog and creates its own schema');
SELECT ok(
    (SELECT trusted FROM pg_available_extension_versions
      WHERE name = 'upsert_guard' AND version = '0.2.0'),
    'the extension is trusted');
SELECT ok(has_schema_privilege('public', 'upsert_guard', 'USAGE'),
    'PUBLIC may use schema upsert_guard');
SELECT ok(
    has_function_privilege('public',
        'upsert_guard.select_or_insert(anyelement, jsonb, text[], text, text)', 'EXECUTE')
    AND has_function_privilege('public',
        'upsert_guard.select_or_insert_outcome(anyelement, jsonb, text[], text, text)', 'EXECUTE'),
    'PUBLIC may execute both functions');
SELECT ok(
    EXISTS (SELECT FROM pg_depend d
             WHERE d.classid = 'pg_namespace'::regclass
               AND d.objid = 'upsert_guard'::regnamespace
               AND d.refclassid = 'pg_extension'::regclass
               AND d.refobjid = (SELECT oid FROM pg_extension
                                  WHERE extname = 'upsert_guard')
               AND d.deptype = 'e'),
    'schema upsert_guard belongs to the extension');
--
-- Privileges.  The tables are owned by the test's superuser; the roles get
-- only what each case grants.
--
CREATE SCHEMA soi_tap;
CREATE TABLE soi_tap.articles (
    id bigserial PRIMARY KEY,
    title text UNIQUE,
    content text
);
INSERT INTO soi_tap.articles (title, content) VALUES ('existing', 'body');
CREATE ROLE regress_ug_reader;
CREATE ROLE regress_ug_writer;
CREATE ROLE regress_ug_all;
CREATE ROLE regress_ug_columns;
GRANT USAGE ON SCHEMA soi_tap TO regress_ug_reader, regress_ug_writer,
    regress_ug_all, regress_ug_columns;
GRANT SELECT ON soi_tap.articles TO regress_ug_reader;
GRANT SELECT, INSERT ON soi_tap.articles TO regress_ug_writer;
GRANT SELECT, INSERT, UPDATE ON soi_tap.articles TO regress_ug_all;
GRANT USAGE ON SEQUENCE soi_tap.articles_id_seq TO regress_ug_writer,
    regress_ug_all, regress_ug_columns;
GRANT SELECT (id, title, content), INSERT (title) ON soi_tap.articles
    TO regress_ug_columns;

-- the owner calls first, so the roles below run plans it cached: privileges
-- are checked for the role that executes them
SELECT is(
    (SELECT (upsert_guard.select_or_insert(NULL::soi_tap.articles,
        '{"title": "existing"}', NULL, 'none')).content || ',' ||
            (upsert_guard.select_or_insert(NULL::soi_tap.articles,
        '{"title": "existing"}')).content),
    'body,body',
    'the owner finds the row with lock none and key share');
-- SELECT only: an existing row is found with lock 'none', a new one cannot
-- be inserted, and a row lock needs UPDATE
SET ROLE regress_ug_reader;
SELECT is(
    (SELECT (upsert_guard.select_or_insert(NULL::soi_tap.articles,
        '{"title": "existing"}', NULL, 'none')).content),
    'body',
    'SELECT privilege: an existing row is found with lock none');
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::soi_tap.articles,
        '{"title": "new"}', NULL, 'none')$$,
    '42501', 'permission denied for table articles',
    'without INSERT privilege a new row cannot be inserted');
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::soi_tap.articles,
        '{"title": "existing"}')$$,
    '42501', 'permission denied for table articles',
    'without UPDATE privilege the default lock key share is refused');
RESET ROLE;
SELECT is((SELECT count(*) FROM soi_tap.articles), 1::bigint,
    'nothing was written by the SELECT-only role');

-- SELECT and INSERT: lock 'none' works; every locking mode needs UPDATE
SET ROLE regress_ug_writer;
SELECT is(
    (SELECT o.outcome || ':' || (o.result).title
       FROM upsert_guard.select_or_insert_outcome(NULL::soi_tap.articles,
           '{"title": "by writer"}', NULL, 'none') o),
    'inserted:by writer',
    'SELECT and INSERT privileges: lock none inserts');
SELECT is(
    (SELECT o.outcome || ':' || (o.result).title
       FROM upsert_guard.select_or_insert_outcome(NULL::soi_tap.articles,
           '{"title": "by writer"}', NULL, 'none') o),
    'found:by writer',
    'SELECT and INSERT privileges: lock none finds');
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::soi_tap.articles,
        '{"title": "by writer"}', NULL, 'key share')$$,
    '42501', 'permission denied for table articles',
    'without UPDATE privilege lock key share is refused');
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::soi_tap.articles,
        '{"title": "writer two"}', NULL, 'update')$$,
    '42501', 'permission denied for table articles',
    'without UPDATE privilege lock update is refused, for a new key too');
RESET ROLE;
SELECT is((SELECT count(*) FROM soi_tap.articles), 2::bigint,
    'the writer role inserted one row');

-- SELECT, INSERT and UPDATE: every lock mode
SET ROLE regress_ug_all;
SELECT is(
    (SELECT string_agg(o.outcome, ',' ORDER BY m.n)
       FROM unnest(ARRAY['none', 'key share', 'share', 'no key update', 'update'])
            WITH ORDINALITY AS m(lock, n),
            LATERAL upsert_guard.select_or_insert_outcome(NULL::soi_tap.articles,
                jsonb_build_object('title', 'all ' || m.n % 2), NULL, m.lock) o),
    'inserted,inserted,found,found,found',
    'SELECT, INSERT and UPDATE privileges: every lock mode works');
RESET ROLE;

-- column privileges: INSERT on title only
SET ROLE regress_ug_columns;
SELECT is(
    (SELECT (upsert_guard.select_or_insert(NULL::soi_tap.articles,
        '{"title": "by columns"}', NULL, 'none')).title),
    'by columns',
    'column INSERT privilege on title: a row with title only is inserted');
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::soi_tap.articles,
        '{"title": "with content", "content": "x"}', NULL, 'none')$$,
    '42501', 'permission denied for table articles',
    'no INSERT privilege on column content: refused');
RESET ROLE;
SELECT is(
    (SELECT array_agg(title ORDER BY id) FROM soi_tap.articles),
    ARRAY['existing', 'by writer', 'all 1', 'all 0', 'by columns'],
    'exactly the rows the roles were allowed to insert');

-- the GUC, defined when the library is loaded (the calls above loaded it)
SELECT is(
    (SELECT ROW(s.boot_val, s.setting, s.vartype, s.min_val, s.max_val, s.context)::text
       FROM pg_settings s WHERE s.name = 'upsert_guard.max_attempts'),
    '(10,10,integer,1,1000,user)',
    'GUC upsert_guard.max_attempts: default 10, 1 .. 1000, settable by any user');
SELECT is(
    (SELECT ROW(s.boot_val, s.setting, s.unit, s.vartype, s.min_val, s.max_val, s.context)::text
       FROM pg_settings s WHERE s.name = 'upsert_guard.plan_cache_size'),
    '(16384,16384,kB,integer,1024,1048576,superuser)',
    'GUC upsert_guard.plan_cache_size: default 16 MB, 1 MB .. 1 GB, set by a superuser only');

--
-- Row-level security: each owner sees only its own rows.  The policies
-- cover SELECT, INSERT and UPDATE (row locks apply UPDATE policies too).
--
CREATE TABLE soi_tap.docs (
    k text PRIMARY KEY,
    owner name NOT NULL DEFAULT current_user,
    v text
);
ALTER TABLE soi_tap.docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY docs_select ON soi_tap.docs FOR SELECT USING (owner = current_user);
CREATE POLICY docs_insert ON soi_tap.docs FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY docs_update ON soi_tap.docs FOR UPDATE USING (owner = current_user);
GRANT SELECT, INSERT, UPDATE ON soi_tap.docs TO regress_ug_all, regress_ug_writer;
INSERT INTO soi_tap.docs VALUES ('mine', 'regress_ug_all', 'of all'),
                                ('theirs', 'regress_ug_writer', 'of writer');
CREATE FUNCTION soi_tap.error_of(sql text) RETURNS text
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
-- the owner (a superuser, not subject to the policies) calls first, so the
-- plans of the calls below are cached before any policy applies
SELECT is(
    (SELECT (upsert_guard.select_or_insert(NULL::soi_tap.docs,
        '{"k": "theirs"}')).v),
    'of writer',
    'the table owner bypasses row-level security');
SET upsert_guard.max_attempts = 3;
SET ROLE regress_ug_all;
SELECT is(
    (SELECT o.outcome || ':' || (o.result).v
       FROM upsert_guard.select_or_insert_outcome(NULL::soi_tap.docs,
           '{"k": "mine"}') o),
    'found:of all',
    'row-level security: a visible row is found');
SELECT is(
    (SELECT o.outcome || ':' || (o.result).owner
       FROM upsert_guard.select_or_insert_outcome(NULL::soi_tap.docs,
           '{"k": "new", "v": "x"}') o),
    'inserted:regress_ug_all',
    'row-level security: a new row is inserted, the owner defaulted');
SELECT throws_ok(
    $$SELECT upsert_guard.select_or_insert(NULL::soi_tap.docs,
        '{"k": "theirs"}')$$,
    '42501', 'could not select or insert a row in table "docs"',
    'row-level security: a key that exists but is hidden is an error, not a new row');
SELECT is(
    soi_tap.error_of($$SELECT upsert_guard.select_or_insert(NULL::soi_tap.docs,
        '{"k": "theirs", "v": "x"}', NULL, 'none')$$),
    '42501: could not select or insert a row in table "docs" DETAIL: Each attempt met an existing row with key (k)=(theirs) that row-level security policies of the table keep the current user from selecting or changing.',
    'row-level security: with lock none too, and the detail names the key');
SELECT is(
    (SELECT array_agg(k ORDER BY k) FROM soi_tap.docs),
    ARRAY['mine', 'new'],
    'row-level security: the role sees its own two rows');
RESET ROLE;
RESET upsert_guard.max_attempts;
SELECT is(
    (SELECT array_agg(k || ':' || owner || ':' || coalesce(v, '') ORDER BY k)
       FROM soi_tap.docs),
    ARRAY['mine:regress_ug_all:of all', 'new:regress_ug_all:x',
          'theirs:regress_ug_writer:of writer'],
    'row-level security: nothing written for the hidden key');
-- and the owner, after the role, still bypasses the policies
SELECT is(
    (SELECT (upsert_guard.select_or_insert(NULL::soi_tap.docs,
        '{"k": "theirs"}')).v),
    'of writer',
    'the table owner still bypasses row-level security');

SELECT * FROM finish();
ROLLBACK;

-- the roles were created in the rolled-back transaction
SELECT 'leftover roles: ' || count(*) FROM pg_roles WHERE rolname LIKE 'regress\_ug\_%';
