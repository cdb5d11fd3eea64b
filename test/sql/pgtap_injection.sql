--
-- pgtap_injection: hostile names through every argument of upsert_guard
-- that names something.  About 10,300 distinct strings, generated below
-- from fragments (quotes, semicolons, comments, backslashes, dollar
-- quotes, control characters, newlines, combining marks, right-to-left
-- marks, emoji, full-width and Cyrillic look-alike letters, SQL keywords,
-- qualified names, the empty string, names of 63, 64, 100, 1000 and 10000
-- bytes, names that a truncation to 63 bytes would turn into a column's,
-- names that differ from a real one only in case), each go through:
--
--   new_row keys, conflict, arbiter and lock of select_or_insert; new_row
--   keys, conflict, update_columns and arbiter of idempotent_upsert;
--   new_row keys, deltas keys, conflict and arbiter of increment; the row
--   keys, conflict, update_columns and arbiter of idempotent_upsert_batch;
--   key_columns of add_guard; the name of drop_guard, with and without
--   missing_ok; the namespace of lock_key.  add_guard's name and condition
--   get one string in three (and every name it must refuse): each one it
--   accepts creates a trigger, which costs a millisecond.
--
-- The targets are an ordinary table and a table whose schema, name, key
-- column, other columns, indexes, constraint, trigger and guard all have
-- hostile names, so that a hostile string is sometimes a real name: then
-- the call must work and write exactly the column (use exactly the index,
-- add or drop exactly the guard) it names.  Otherwise it must fail with
-- the SQLSTATE README's "Errors" gives for that argument.  Each call runs
-- in its own exception block; about 380,000 outcomes are kept in a table
-- and asserted all at once, one line per assertion.
--
-- Nothing injected may run, and nothing may be written but by the calls
-- that work: a canary table with a trigger, a canary function and an event
-- trigger on every DDL command other than the guards' own CREATE and DROP
-- TRIGGER count their calls in sequences, which no rollback undoes, and
-- row triggers on the targets count every row the calls try to insert or
-- update; the canary's rows, the catalog (tables, indexes, columns,
-- functions, triggers, constraints, schemas, types, roles) and the guard
-- definitions must be as before, and the targets must hold exactly the
-- rows of the calls that worked.
--
-- A guard's condition is SQL by design: what is checked is that text that
-- is not one expression (that closes its parenthesis to add a clause, a
-- statement, a comment...) is refused with 42601, and that the condition
-- reads the same for a writer with standard_conforming_strings off.
--
-- Everything happens in one transaction that is rolled back.
--
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(24);

--
-- The canary: a table, a trigger on it, a function an injection would
-- call, and an event trigger; each call of any of them advances a
-- sequence.
--
CREATE SCHEMA ugi;
CREATE SEQUENCE ugi.canary_calls;
CREATE SEQUENCE ugi.unexpected_ddl;
CREATE TABLE ugi.canary (id int PRIMARY KEY, secret text UNIQUE);
INSERT INTO ugi.canary VALUES (1, 'one'), (2, 'two');
CREATE FUNCTION ugi.canary_fn() RETURNS bigint LANGUAGE sql
    AS $$SELECT nextval('ugi.canary_calls')$$;
CREATE FUNCTION ugi.canary_trg() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN
    PERFORM nextval('ugi.canary_calls');
    RETURN NULL;
END$$;
CREATE TRIGGER canary_touch BEFORE INSERT OR UPDATE OR DELETE ON ugi.canary
    FOR EACH ROW EXECUTE FUNCTION ugi.canary_trg();
CREATE TRIGGER canary_truncate BEFORE TRUNCATE ON ugi.canary
    FOR EACH STATEMENT EXECUTE FUNCTION ugi.canary_trg();

--
-- The targets.  ugi.articles has ordinary names.  The hostile table's
-- names are data (ugi.hostile_names), so the strings below can include
-- them.  The columns marked 'column' or 'index' are unique on their own,
-- under an automatic, hostile or case-variant index name; "secret" is
-- unique under the name canary_pkey, which is also the name of the
-- canary's primary key in schema ugi; n and the 'plain column's are not
-- unique.
--
CREATE TABLE ugi.articles (
    id int PRIMARY KEY,
    title text UNIQUE,
    body text,
    hits int
);
INSERT INTO ugi.articles (id) VALUES (0);

CREATE TABLE ugi.hostile_names (what text, name text);
INSERT INTO ugi.hostile_names VALUES
    ('schema', 'ugi "h"; --'),
    ('table', 't"; DROP TABLE ugi.canary; --'),
    ('key', 'id"; DROP TABLE ugi.canary; --'),
    ('pk', 'pk"; DROP TABLE ugi.canary; --'),
    ('column', 'a"b'),
    ('column', 'it''s'),
    ('plain column', 'with space'),
    ('plain column', ' lead'),
    ('plain column', 'trail '),
    ('plain column', 'semi;colon'),
    ('column', 'x); DROP TABLE ugi.canary; --'),
    ('column', 'title" = ''x'' OR "1'),
    ('plain column', '--comment'),
    ('plain column', '/* c */'),
    ('plain column', 'back\slash'),
    ('column', '$$'),
    ('plain column', '$tag$'),
    ('column', E'line\nbreak'),
    ('plain column', E'tab\there'),
    ('column', 'ключ'),
    ('plain column', 'ｔｉｔｌｅ'),
    ('column', U&'e\0301'),
    ('column', U&'\00E9'),
    ('plain column', U&'\202Eevil'),
    ('column', U&'\+01F511'),
    ('column', 'Title'),
    ('column', 'TITLE'),
    ('column', 'title'),
    ('plain column', 'select'),
    ('plain column', 'pg_catalog.n'),
    ('column', repeat('k', 63)),
    ('column', repeat('ж', 31) || 'k'),
    ('plain column', repeat('ж', 31)),
    ('column', '"'),
    ('column', ''''),
    ('column', ' '),
    ('plain column', '%s%I'),
    ('plain column', '$1'),
    ('column', 'secret'),
    ('index', 'it''s'),
    ('index', 'Title'),
    ('index', 'TITLE'),
    ('index', 'secret'),
    ('trigger', 'audit"; --'),
    ('guard', 'g"; DROP TABLE ugi.canary; --');

DO $$
DECLARE
    sch text := (SELECT name FROM ugi.hostile_names WHERE what = 'schema');
    tbl text := format('%I.%I', sch,
                       (SELECT name FROM ugi.hostile_names WHERE what = 'table'));
BEGIN
    EXECUTE format('CREATE SCHEMA %I', sch);
    EXECUTE format('CREATE TABLE %s (%I int CONSTRAINT %I PRIMARY KEY, n int, %s)', tbl,
        (SELECT name FROM ugi.hostile_names WHERE what = 'key'),
        (SELECT name FROM ugi.hostile_names WHERE what = 'pk'),
        (SELECT string_agg(format('%I int', c.name), ', ')
           FROM ugi.hostile_names c WHERE c.what LIKE '%column'));
    EXECUTE (SELECT string_agg(format('ALTER TABLE %s ADD UNIQUE (%I)', tbl, c.name), '; ')
               FROM ugi.hostile_names c
              WHERE c.what = 'column'
                AND c.name NOT IN (SELECT name FROM ugi.hostile_names WHERE what = 'index'));
    EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I)', 'idx "q"; --', tbl, 'it''s');
    EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I)', 'UQ', tbl, 'Title');
    EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I)', 'uq', tbl, 'TITLE');
    EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I)', 'canary_pkey', tbl, 'secret');
    EXECUTE format('CREATE INDEX %I ON %s (n)', 'plain; --', tbl);
END
$$;

-- row triggers count every row the calls try to insert or update, in
-- sequences (a rolled-back attempt counts too)
CREATE SEQUENCE ugi.insert_attempts;
CREATE SEQUENCE ugi.update_attempts;
CREATE FUNCTION ugi.count_write() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN
    PERFORM nextval(CASE TG_OP WHEN 'INSERT' THEN 'ugi.insert_attempts'
                               ELSE 'ugi.update_attempts' END);
    RETURN NEW;
END$$;
CREATE TRIGGER count_write BEFORE INSERT OR UPDATE ON ugi.articles
    FOR EACH ROW EXECUTE FUNCTION ugi.count_write();

CREATE TABLE ugi.targets (
    relid regclass PRIMARY KEY,
    rowtype regtype,
    pk text,
    counter text
);
INSERT INTO ugi.targets VALUES ('ugi.articles', 'ugi.articles', 'id', 'hits');
DO $$
DECLARE
    tbl regclass := format('%I.%I',
        (SELECT name FROM ugi.hostile_names WHERE what = 'schema'),
        (SELECT name FROM ugi.hostile_names WHERE what = 'table'))::regclass;
BEGIN
    INSERT INTO ugi.targets
        SELECT tbl, t.oid::regtype, k.name, 'n'
          FROM pg_type t, ugi.hostile_names k
         WHERE t.typrelid = tbl AND k.what = 'key';
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION ugi.count_write()',
                   (SELECT name FROM ugi.hostile_names WHERE what = 'trigger'), tbl);
    EXECUTE format('INSERT INTO %s (%I) VALUES (0)', tbl,
                   (SELECT pk FROM ugi.targets WHERE relid = tbl));
END
$$;
\set hostile '"ugi ""h""; --"."t""; DROP TABLE ugi.canary; --"'
SELECT upsert_guard.add_guard('g"; DROP TABLE ugi.canary; --', :'hostile', ARRAY['a"b'],
    $$new."a""b" OPERATOR(pg_catalog.=) other."a""b"$$);
SELECT upsert_guard.add_guard('Guard', 'ugi.articles', '{title}', 'false');

--
-- The hostile strings.  Case is changed in ASCII letters only, so that
-- the set does not depend on the database's locale.
--
CREATE FUNCTION ugi.upper_ascii(x text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$SELECT translate(x, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')$$;
CREATE FUNCTION ugi.lower_ascii(x text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$SELECT translate(x, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')$$;
CREATE TABLE ugi.fragments (f text);
INSERT INTO ugi.fragments SELECT unnest(ARRAY[
    '''', '"', '''''', '""', '\', '\\', '\''', '\"', ';', '--', '-- x', '/*', '*/',
    '/* x */', '$$', '$t$', '$tag$ x $tag$', ')', '(', '); DROP TABLE ugi.canary; --',
    '" = ''x'' OR "1', '''; SELECT ugi.canary_fn(); --', '"; SELECT ugi.canary_fn(); --',
    '$$; SELECT ugi.canary_fn(); $$', ''' || ugi.canary_fn() || ''', E'\n', E'\r\n',
    E'\t', chr(1), chr(27) || '[31m', chr(127), chr(8), U&'\0301', U&'\202E', U&'\200F',
    U&'\200B', U&'\FEFF', U&'\+01F511', U&'\+01F468\200D\+01F469\200D\+01F467',
    'ｔｉｔｌｅ', U&'t\0456tle', U&'\041ER', U&'\00A0', U&'\3000', ' ', '  ', '.', ',',
    ' OR 1=1', '::text', '[1]', '.*', '%s', '%I%L', '$1', ':x', 'NULL', '*', ' AS x',
    'U&"\0041"', E'\\x00', 'DEFAULT']);
CREATE TABLE ugi.prefixes (p text);
INSERT INTO ugi.prefixes SELECT unnest(ARRAY[
    '', 'n', 'title', 'id', 'Title', repeat('k', 63), repeat('ж', 31) || 'k', 'a"b',
    'it''s', 'pg_catalog.', 'ugi.', 'select', '"', '''']);

CREATE TABLE ugi.strings AS
SELECT row_number() OVER (ORDER BY s COLLATE "C")::int AS id, s
  FROM (SELECT DISTINCT s FROM (
    -- prefix, fragment, suffix
    SELECT p || f || q AS s
      FROM ugi.prefixes, ugi.fragments,
           unnest(ARRAY['', ' ', '--', '"', '''', E'\n', U&'\+01F511', U&'\0301'])
               AS q
    UNION ALL
    -- two fragments
    SELECT a.f || b.f FROM ugi.fragments a, ugi.fragments b WHERE a.f < b.f
    UNION ALL
    -- control characters around a prefix
    SELECT p || chr(c) FROM ugi.prefixes, generate_series(1, 31) c
    UNION ALL
    SELECT chr(c) || p FROM ugi.prefixes, generate_series(1, 31) c
    UNION ALL
    -- lengths around the 63-byte limit and far beyond it
    SELECT left(repeat(x, 10000), n)
      FROM unnest(ARRAY['k', 'ж', U&'\+01F511', U&'e\0301', '"', '''', ';', 'K']) x,
           unnest(ARRAY[1, 2, 15, 16, 20, 21, 31, 32, 62, 63, 64, 65, 100, 128,
                        1000, 10000]) n
    UNION ALL
    SELECT left('title' || repeat('_', 10000), n)
      FROM unnest(ARRAY[62, 63, 64, 100, 1000]) n
    UNION ALL
    -- names given whole
    SELECT unnest(ARRAY[
        '', ' ', 'title" = ''x'' OR "1', 'x); DROP TABLE canary; --',
        'x); DROP TABLE ugi.canary; --', 'pg_catalog.title', 'pg_catalog.n',
        'pg_catalog.pg_class', 'public.n', 'ugi.canary', 'canary', 'canary.secret',
        'ugi.canary.secret', 'canary_pkey', 'canary_secret_key', 'ugi.canary_pkey',
        'canary_touch', 'canary_truncate', 'articles_pkey', 'articles_title_key',
        'ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid', 'oid',
        'select', 'SELECT', 'from', 'where', 'table', 'user', 'current_user', 'default',
        'null', 'NULL', 'true', 'order', 'group', 'all', 'column', 'constraint',
        'primary', 'key', 'values', 'returning', 'on', 'conflict', 'do', 'nothing',
        'excluded', 'new', 'other', 'old', 'none', 'share', 'update', 'key share',
        'no key update', 'NONE', 'Share', 'UPDATE', 'KEY SHARE', 'Key Share',
        'nO kEy UpDaTe', 'key share ', ' key share', 'key  share', 'keyshare',
        'key_share', 'key share;', 'update; DROP TABLE ugi.canary; --',
        'FOR UPDATE', 'FOR KEY SHARE', 'update nowait', 'update skip locked',
        'nowait', U&'\212Aey share', U&'\043Aey share', 'ｎｏｎｅ', E'none\n',
        E'update\t', 'upd' || U&'\0430' || 'te', 'share' || U&'\0301'])
    UNION ALL
    -- every real name of the targets, and its look-alikes
    SELECT v
      FROM (SELECT a.attname::text AS x FROM pg_attribute a, ugi.targets t
             WHERE a.attrelid = t.relid AND a.attnum > 0 AND NOT a.attisdropped
            UNION SELECT c.relname::text FROM pg_index i, pg_class c, ugi.targets t
             WHERE i.indrelid = t.relid AND c.oid = i.indexrelid
            UNION SELECT c.conname::text FROM pg_constraint c, ugi.targets t
             WHERE c.conrelid = t.relid
            UNION SELECT g.tgname::text FROM pg_trigger g, ugi.targets t
             WHERE g.tgrelid = t.relid
            UNION SELECT guard FROM upsert_guard.guard_definitions) names,
           LATERAL unnest(ARRAY[x, ugi.upper_ascii(x), ugi.lower_ascii(x),
                                ugi.upper_ascii(left(x, 1)) || substr(x, 2), ' ' || x, x || ' ',
                                '"' || x || '"', x || 'x', x || repeat('x', 40),
                                x || 'ж', x || U&'\0301', 'pg_catalog.' || x,
                                'ugi.' || x, 'articles.' || x, x || ';', x || E'\n'])
                   AS v
     WHERE v IS NOT NULL
) all_strings) d;

--
-- The cases: every string through every argument, against both targets
-- where the argument names something of the table, with the SQLSTATE
-- README's "Errors" gives (00000: the call must work).  The expectation
-- is read from the catalog here, independently of the extension: a
-- string is a column when pg_attribute has exactly that name.
--
CREATE TABLE ugi.kinds (ord int, kind text, runs_on text);
INSERT INTO ugi.kinds VALUES
    (1, 'drop_guard.guard', 'hostile'), (2, 'drop_guard.missing_ok', 'hostile'),
    (3, 'lock_key.namespace', 'hostile'), (4, 'add_guard.key_columns', 'both'),
    (5, 'add_guard.guard', 'articles'), (6, 'add_guard.condition', 'articles'),
    (11, 'select_or_insert.new_row', 'both'), (12, 'select_or_insert.conflict', 'both'),
    (13, 'select_or_insert.arbiter', 'both'), (14, 'select_or_insert.lock', 'hostile'),
    (15, 'idempotent_upsert.new_row', 'both'), (16, 'idempotent_upsert.conflict', 'both'),
    (17, 'idempotent_upsert.update_columns', 'both'),
    (18, 'idempotent_upsert.arbiter', 'both'),
    (19, 'increment.new_row', 'both'), (20, 'increment.deltas', 'both'),
    (21, 'increment.conflict', 'both'), (22, 'increment.arbiter', 'both'),
    (23, 'idempotent_upsert_batch.rows', 'both'),
    (24, 'idempotent_upsert_batch.conflict', 'both'),
    (25, 'idempotent_upsert_batch.update_columns', 'both'),
    (26, 'idempotent_upsert_batch.arbiter', 'both');

ANALYZE ugi.strings, ugi.kinds, ugi.targets;
CREATE TABLE ugi.facts AS
WITH arbiters AS (
    SELECT i.indrelid AS relid, n.name, array_agg(DISTINCT a.attname::text) AS cols
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid
      CROSS JOIN LATERAL (VALUES (c.relname::text), (k.conname::text)) AS n(name)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indisunique AND n.name IS NOT NULL
       AND i.indrelid IN (SELECT relid FROM ugi.targets)
     GROUP BY 1, 2
), facts AS (
    SELECT t.relid, t.pk, t.counter, s.id, s.s,
           a.attnum IS NOT NULL AS is_col,
           a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype,
                          'numeric'::regtype, 'float4'::regtype, 'float8'::regtype)
               AS is_number,
           EXISTS (SELECT FROM pg_index i
                    WHERE i.indrelid = t.relid AND i.indisunique AND i.indnkeyatts = 1
                      AND i.indkey[0] = a.attnum AND i.indexprs IS NULL
                      AND i.indpred IS NULL) AS is_unique,
           s.s IN ('ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid') AS is_system,
           ar.cols AS arbcols,
           s.s IN (SELECT guard FROM upsert_guard.guard_definitions) AS is_guard,
           s.s IN (SELECT tgname::text FROM pg_trigger WHERE tgrelid = t.relid) AS is_trigger
      FROM ugi.targets t
     CROSS JOIN ugi.strings s
      LEFT JOIN pg_attribute a ON a.attrelid = t.relid AND a.attnum > 0
                              AND NOT a.attisdropped AND a.attname::text = s.s
      LEFT JOIN arbiters ar ON ar.relid = t.relid AND ar.name = s.s
)
SELECT * FROM facts;
CREATE TABLE ugi.cases AS
SELECT f.relid, k.ord, k.kind, f.s,
       (1000 + row_number() OVER (ORDER BY k.ord, f.relid, f.id))::int AS k,
       CASE WHEN k.kind LIKE 'drop_guard.%' THEN f.is_guard ELSE f.is_col END AS is_real,
       f.arbcols,
       CASE
       WHEN k.kind IN ('select_or_insert.new_row', 'idempotent_upsert.new_row',
                       'increment.new_row', 'idempotent_upsert_batch.rows')
           THEN CASE WHEN f.is_col THEN '00000' ELSE '42703' END
       WHEN k.kind IN ('select_or_insert.conflict', 'idempotent_upsert.conflict',
                       'increment.conflict', 'idempotent_upsert_batch.conflict')
           THEN CASE WHEN NOT f.is_col THEN '42703' WHEN f.is_unique THEN '00000'
                     ELSE '42P10' END
       WHEN k.kind IN ('idempotent_upsert.update_columns',
                       'idempotent_upsert_batch.update_columns')
           THEN CASE WHEN NOT f.is_col THEN '42703' WHEN f.s = f.pk THEN '22023'
                     ELSE '00000' END
       WHEN k.kind = 'increment.deltas'
           THEN CASE WHEN NOT f.is_col THEN '42703' WHEN f.s = f.pk THEN '22023'
                     WHEN NOT f.is_number THEN '42804' ELSE '00000' END
       WHEN k.kind LIKE '%.arbiter'
           THEN CASE WHEN f.arbcols IS NOT NULL THEN '00000' ELSE '42704' END
       WHEN k.kind = 'select_or_insert.lock'
           THEN CASE WHEN ugi.lower_ascii(f.s)
                          IN ('none', 'key share', 'share', 'no key update', 'update')
                     THEN '00000' ELSE '22023' END
       WHEN k.kind = 'add_guard.guard'
           THEN CASE WHEN f.s = '' OR octet_length(f.s) >= 64 THEN '42602'
                     WHEN f.is_guard OR f.is_trigger THEN '42710' ELSE '00000' END
       WHEN k.kind = 'add_guard.key_columns'
           THEN CASE WHEN f.is_system THEN '42P10' WHEN NOT f.is_col THEN '42703'
                     ELSE '00000' END
       WHEN k.kind = 'drop_guard.guard'
           THEN CASE WHEN f.is_guard THEN '00000' ELSE '42704' END
       WHEN k.kind IN ('drop_guard.missing_ok', 'lock_key.namespace') THEN '00000'
       END AS expected
  FROM ugi.facts f
  JOIN ugi.kinds k
    ON k.runs_on IN ('both', CASE WHEN f.relid = :'hostile'::regclass THEN 'hostile'
                                  ELSE 'articles' END)
 -- add_guard's name: every name it must refuse, and one in three of the
 -- others, each of which creates and drops a trigger (about a millisecond);
 -- its condition: one string in three (what parses costs as much)
 WHERE k.kind NOT IN ('add_guard.guard', 'add_guard.condition') OR f.id % 3 = 0
    OR (k.kind = 'add_guard.guard'
        AND (octet_length(f.s) NOT BETWEEN 1 AND 63 OR f.is_guard OR f.is_trigger));

--
-- One case: the call in its own exception block, then, if it worked,
-- whether it wrote exactly what the string names.  Guard cases roll their
-- work back (SQLSTATE UG000), so the next case finds the guards as they
-- were.  t is NULL of the target's row type.
--
CREATE FUNCTION ugi.json_is(got jsonb, want jsonb) RETURNS boolean
LANGUAGE sql AS $$
    -- want's keys have want's values (as text), every other key is null
    SELECT got IS NOT NULL
       AND NOT EXISTS (SELECT FROM jsonb_each(got) e
                        WHERE CASE WHEN want ? e.key
                                   THEN (e.value #>> '{}') IS DISTINCT FROM (want ->> e.key)
                                   ELSE e.value <> 'null'::jsonb END)
       AND NOT EXISTS (SELECT FROM jsonb_object_keys(want) w WHERE NOT got ? w)
$$;

CREATE FUNCTION ugi.stored_as(tg ugi.targets, k int, want jsonb, returned jsonb)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    stored jsonb;
BEGIN
    EXECUTE format('SELECT to_jsonb(x) FROM %s AS x WHERE %I = $1', tg.relid, tg.pk)
        INTO stored USING k;
    RETURN ugi.json_is(stored, want) AND (returned IS NULL OR returned = stored);
END
$$;

-- the guard's definition and trigger are there, exactly as given
CREATE FUNCTION ugi.guard_is(g text, relid regclass, keys text[], cond text)
RETURNS boolean LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM upsert_guard.guard_definitions d
             WHERE d.guard = g AND d.table_name = relid AND d.key_columns = keys
               AND d.conflict = cond) = 1
       AND (SELECT count(*) FROM pg_trigger t
             WHERE t.tgrelid = relid AND t.tgname::text = g
               AND t.tgfoid = 'upsert_guard._guard_trigger'::regproc
               AND t.tgargs = convert_to(g, 'UTF8') || '\x00'::bytea) = 1
$$;

-- no definition and no trigger of that name is left
CREATE FUNCTION ugi.guard_gone(g text, relid regclass) RETURNS boolean
LANGUAGE sql AS $$
    SELECT NOT EXISTS (SELECT FROM upsert_guard.guard_definitions d WHERE d.guard = g)
       AND NOT EXISTS (SELECT FROM pg_trigger t
                        WHERE t.tgrelid = relid AND t.tgname::text = g)
$$;

CREATE FUNCTION ugi.attempt(t anyelement, tg ugi.targets, kind text, s text, k int,
                            is_real boolean, arbcols text[],
                            OUT got text, OUT verified boolean)
LANGUAGE plpgsql AS $f$
DECLARE
    kv text := k::text;
    key jsonb;
    new_row jsonb;
    rj jsonb;
    oc text;
    oc2 text;
    counts bigint[];
    gr regclass;
    ndefs bigint;
    dropped boolean;
BEGIN
    key := jsonb_build_object(tg.pk, kv);
    -- when s is the argument under test and a real column, the row gives
    -- it a value, so the call can work
    new_row := key || CASE WHEN is_real THEN jsonb_build_object(s, kv) ELSE '{}' END;
    IF kind LIKE '%.arbiter' THEN
        new_row := key || coalesce((SELECT jsonb_object_agg(c, kv) FROM unnest(arbcols) c),
                                   '{}');
    ELSIF kind LIKE '%.new_row' OR kind LIKE '%.rows' THEN
        new_row := key || jsonb_build_object(s, kv);
    END IF;

    BEGIN
        CASE kind
        WHEN 'select_or_insert.new_row' THEN
            rj := to_jsonb(upsert_guard.select_or_insert(t, new_row, ARRAY[tg.pk]));
            verified := ugi.stored_as(tg, k, new_row, rj);
        WHEN 'select_or_insert.conflict' THEN
            rj := to_jsonb(upsert_guard.select_or_insert(t, new_row, ARRAY[s]));
            verified := ugi.stored_as(tg, k, new_row, rj);
        WHEN 'select_or_insert.arbiter' THEN
            rj := to_jsonb(upsert_guard.select_or_insert(t, new_row, NULL, 'key share', s));
            verified := ugi.stored_as(tg, k, new_row, rj);
        WHEN 'select_or_insert.lock' THEN
            -- the row of key 0 exists: it is found and locked
            SELECT o.outcome, to_jsonb(o.result) INTO oc, rj
              FROM upsert_guard.select_or_insert_outcome(t,
                       jsonb_build_object(tg.pk, '0'), ARRAY[tg.pk], s) o;
            verified := oc = 'found'
                    AND ugi.stored_as(tg, 0, jsonb_build_object(tg.pk, '0'), rj);
        WHEN 'idempotent_upsert.new_row' THEN
            SELECT o.outcome, to_jsonb(o.result) INTO oc, rj
              FROM upsert_guard.idempotent_upsert_outcome(t, new_row, ARRAY[tg.pk]) o;
            verified := oc = 'inserted' AND ugi.stored_as(tg, k, new_row, rj);
        WHEN 'idempotent_upsert.conflict' THEN
            SELECT o.outcome, to_jsonb(o.result) INTO oc, rj
              FROM upsert_guard.idempotent_upsert_outcome(t, new_row, ARRAY[s]) o;
            verified := oc = 'inserted' AND ugi.stored_as(tg, k, new_row, rj);
        WHEN 'idempotent_upsert.update_columns' THEN
            -- a row with only its key, then the update sets exactly s
            IF is_real THEN
                PERFORM upsert_guard.select_or_insert(t, key, ARRAY[tg.pk]);
            END IF;
            SELECT o.outcome, to_jsonb(o.result) INTO oc, rj
              FROM upsert_guard.idempotent_upsert_outcome(t, new_row, ARRAY[tg.pk],
                                                          ARRAY[s]) o;
            verified := oc = 'updated' AND ugi.stored_as(tg, k, new_row, rj);
        WHEN 'idempotent_upsert.arbiter' THEN
            SELECT o.outcome, to_jsonb(o.result) INTO oc, rj
              FROM upsert_guard.idempotent_upsert_outcome(t, new_row, NULL, NULL, s) o;
            verified := oc = 'inserted' AND ugi.stored_as(tg, k, new_row, rj);
        WHEN 'increment.new_row' THEN
            SELECT o.outcome, to_jsonb(o.result) INTO oc, rj
              FROM upsert_guard.increment_outcome(t, new_row,
                       jsonb_build_object(tg.counter, 1), ARRAY[tg.pk]) o;
            verified := oc = 'inserted' AND ugi.stored_as(tg, k, new_row, rj);
        WHEN 'increment.deltas' THEN
            -- inserted with s NULL, then incremented: s = 1
            SELECT o.outcome INTO oc
              FROM upsert_guard.increment_outcome(t, key, jsonb_build_object(s, 1),
                                                  ARRAY[tg.pk]) o;
            SELECT o.outcome, to_jsonb(o.result) INTO oc2, rj
              FROM upsert_guard.increment_outcome(t, key, jsonb_build_object(s, 1),
                                                  ARRAY[tg.pk]) o;
            verified := oc = 'inserted' AND oc2 = 'updated'
                    AND ugi.stored_as(tg, k, key || jsonb_build_object(s, '1'), rj);
        WHEN 'increment.conflict' THEN
            SELECT o.outcome, to_jsonb(o.result) INTO oc, rj
              FROM upsert_guard.increment_outcome(t, new_row,
                       jsonb_build_object(tg.counter, 1), ARRAY[s]) o;
            verified := oc = 'inserted' AND ugi.stored_as(tg, k, new_row, rj);
        WHEN 'increment.arbiter' THEN
            SELECT o.outcome, to_jsonb(o.result) INTO oc, rj
              FROM upsert_guard.increment_outcome(t, new_row,
                       jsonb_build_object(tg.counter, 1), NULL, s) o;
            verified := oc = 'inserted' AND ugi.stored_as(tg, k, new_row, rj);
        WHEN 'idempotent_upsert_batch.rows' THEN
            SELECT ARRAY[b.inserted, b.updated, b.unchanged, b.duplicates] INTO counts
              FROM upsert_guard.idempotent_upsert_batch(t, jsonb_build_array(new_row),
                                                        ARRAY[tg.pk]) b;
            verified := counts = '{1,0,0,0}' AND ugi.stored_as(tg, k, new_row, NULL);
        WHEN 'idempotent_upsert_batch.conflict' THEN
            SELECT ARRAY[b.inserted, b.updated, b.unchanged, b.duplicates] INTO counts
              FROM upsert_guard.idempotent_upsert_batch(t, jsonb_build_array(new_row),
                                                        ARRAY[s]) b;
            verified := counts = '{1,0,0,0}' AND ugi.stored_as(tg, k, new_row, NULL);
        WHEN 'idempotent_upsert_batch.update_columns' THEN
            IF is_real THEN
                PERFORM upsert_guard.select_or_insert(t, key, ARRAY[tg.pk]);
            END IF;
            SELECT ARRAY[b.inserted, b.updated, b.unchanged, b.duplicates] INTO counts
              FROM upsert_guard.idempotent_upsert_batch(t, jsonb_build_array(new_row),
                                                        ARRAY[tg.pk], ARRAY[s]) b;
            verified := counts = '{0,1,0,0}' AND ugi.stored_as(tg, k, new_row, NULL);
        WHEN 'idempotent_upsert_batch.arbiter' THEN
            SELECT ARRAY[b.inserted, b.updated, b.unchanged, b.duplicates] INTO counts
              FROM upsert_guard.idempotent_upsert_batch(t, jsonb_build_array(new_row),
                                                        NULL, NULL, s) b;
            verified := counts = '{1,0,0,0}' AND ugi.stored_as(tg, k, new_row, NULL);
        WHEN 'add_guard.guard' THEN
            PERFORM upsert_guard.add_guard(s, tg.relid, ARRAY[tg.counter], 'false');
            verified := ugi.guard_is(s, tg.relid, ARRAY[tg.counter], 'false');
            dropped := upsert_guard.drop_guard(s);
            verified := verified AND dropped AND ugi.guard_gone(s, tg.relid);
            RAISE EXCEPTION USING ERRCODE = 'UG000';
        WHEN 'add_guard.key_columns' THEN
            PERFORM upsert_guard.add_guard('ugi key probe', tg.relid, ARRAY[s], 'false');
            verified := ugi.guard_is('ugi key probe', tg.relid, ARRAY[s], 'false');
            RAISE EXCEPTION USING ERRCODE = 'UG000';
        WHEN 'add_guard.condition' THEN
            PERFORM upsert_guard.add_guard('ugi condition probe', tg.relid, ARRAY[tg.pk], s);
            verified := ugi.guard_is('ugi condition probe', tg.relid, ARRAY[tg.pk], s);
            RAISE EXCEPTION USING ERRCODE = 'UG000';
        WHEN 'drop_guard.guard' THEN
            SELECT d.table_name INTO gr FROM upsert_guard.guard_definitions d WHERE d.guard = s;
            ndefs := (SELECT count(*) FROM upsert_guard.guard_definitions);
            dropped := upsert_guard.drop_guard(s);
            verified := dropped AND ugi.guard_gone(s, gr)
                    AND (SELECT count(*) FROM upsert_guard.guard_definitions) = ndefs - 1;
            RAISE EXCEPTION USING ERRCODE = 'UG000';
        WHEN 'drop_guard.missing_ok' THEN
            ndefs := (SELECT count(*) FROM upsert_guard.guard_definitions);
            dropped := upsert_guard.drop_guard(s, true);
            verified := dropped = is_real
                    AND (SELECT count(*) FROM upsert_guard.guard_definitions)
                        = ndefs - CASE WHEN is_real THEN 1 ELSE 0 END;
            IF dropped THEN
                RAISE EXCEPTION USING ERRCODE = 'UG000';
            END IF;
        WHEN 'lock_key.namespace' THEN
            verified := upsert_guard.lock_key(s, 1)
                        = hashint4extended(1, hashtextextended(s, 0));
        END CASE;
        got := '00000';
    EXCEPTION
        WHEN SQLSTATE 'UG000' THEN
            got := '00000';
        WHEN OTHERS THEN
            got := SQLSTATE;
            verified := NULL;
    END;
END
$f$;

--
-- A guard's condition: text that is not one expression must be refused
-- with 42601, whatever it tries; one expression must be accepted.
--
CREATE TABLE ugi.conditions AS
SELECT DISTINCT head || gap || tail AS s, '42601' AS expected
  FROM unnest(ARRAY['true', 'new.n IS NULL', '1 = 1', '(true)', 'other.n = new.n']) head,
       unnest(ARRAY['', ' ', E'\n', '/**/', E' -- c\n']) gap,
       unnest(ARRAY[
           ') OR (true', ') AND (true', ') OR true OR (false', ') = (true',
           ')) OR ((true', ') IS NOT NULL OR (true',
           '); DROP TABLE ugi.canary; --', ');DROP TABLE ugi.canary;(true',
           '); SELECT ugi.canary_fn(); --', '); COMMIT; --', '; COMMIT', ';',
           ') FROM ugi.canary WHERE (true', ') UNION SELECT (true',
           ') UNION ALL SELECT (true', ') INTERSECT SELECT (true', ') AS x, (true',
           ') , (true', ') ORDER BY (1', ') LIMIT (1', ') OFFSET (0', ') GROUP BY (1',
           ') HAVING (true', ') FOR UPDATE; --', ') FETCH FIRST 1 ROWS ONLY; --',
           ') INTO ugi.newtable FROM (SELECT 1) s WHERE (true',
           ') WINDOW w AS (ORDER BY 1', ') WHERE (true', ' /*', ' $$', ' ''', ' "',
           ' $t$ x']) tail
UNION ALL
SELECT s, '00000'
  FROM unnest(ARRAY['true', 'true -- ) OR (true', E'true\n-- ) OR (true',
                    '/* ) OR (true */ true', 'true /* ) OR (true */', '(true)', '((true))',
                    '$$t$$::boolean', '$q$) OR (true$q$ <> ''''',
                    '''x) OR (y'' <> ''''', 'new.n IS NOT DISTINCT FROM other.n',
                    'new."a""b" IS NULL AND other."it''s" IS NULL',
                    '"new"."x); DROP TABLE ugi.canary; --" IS NULL']) s;


--
-- The catalog and the counters before the cases.
--
CREATE FUNCTION ugi.catalog_state() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT 'class ' || oid || ' ' || relnamespace::regnamespace || '.'
           || quote_ident(relname) || ' ' || relkind::text FROM pg_class
    UNION ALL
    SELECT 'column ' || attrelid || ' ' || attnum || ' ' || quote_ident(attname)
           || ' ' || atttypid || ' ' || attisdropped FROM pg_attribute
    UNION ALL
    SELECT 'function ' || oid::regprocedure FROM pg_proc
    UNION ALL
    SELECT 'trigger ' || tgrelid || ' ' || quote_ident(tgname) || ' ' || tgenabled::text
      FROM pg_trigger
    UNION ALL
    SELECT 'constraint ' || conrelid || ' ' || quote_ident(conname) FROM pg_constraint
    UNION ALL
    SELECT 'index ' || indexrelid || ' ' || indrelid || ' ' || indisvalid FROM pg_index
    UNION ALL
    SELECT 'schema ' || quote_ident(nspname) FROM pg_namespace
    UNION ALL
    SELECT 'type ' || oid || ' ' || oid::regtype FROM pg_type
    UNION ALL
    SELECT 'rule ' || ev_class || ' ' || quote_ident(rulename) FROM pg_rewrite
    UNION ALL
    SELECT 'policy ' || polrelid || ' ' || quote_ident(polname) FROM pg_policy
    UNION ALL
    SELECT 'event trigger ' || quote_ident(evtname) || ' ' || evtenabled::text
      FROM pg_event_trigger
    UNION ALL
    SELECT 'role ' || quote_ident(rolname) FROM pg_roles
    UNION ALL
    SELECT 'guard ' || quote_ident(guard) || ' ' || table_name || ' '
           || key_columns::text || ' ' || conflict || ' ' || max_conflicts
      FROM upsert_guard.guard_definitions
$$;
CREATE FUNCTION ugi.calls(seq regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM %s', seq)
        INTO n;
    RETURN n;
END
$$;
CREATE TABLE ugi.results (relid regclass, kind text, s text, k int, expected text,
                          got text, verified boolean);
CREATE TABLE ugi.before (item text);
CREATE TABLE ugi.counters (insert_attempts bigint, update_attempts bigint);
-- a case as one line, for the diagnostics of a failed assertion
CREATE FUNCTION ugi.show(r ugi.results) RETURNS text LANGUAGE sql AS $$
    SELECT r.kind || ' on ' || r.relid || ': ' || quote_literal(left(r.s, 80))
           || ' expected ' || coalesce(r.expected, '?') || ', got ' || r.got
           || CASE WHEN r.verified IS FALSE THEN ' (wrote something else)' ELSE '' END
$$;

-- the event trigger: any DDL but the guards' own trigger DDL is counted
CREATE FUNCTION ugi.canary_ddl() RETURNS event_trigger LANGUAGE plpgsql AS
$$BEGIN
    IF tg_tag NOT IN ('CREATE TRIGGER', 'DROP TRIGGER') THEN
        PERFORM nextval('ugi.unexpected_ddl');
    END IF;
END$$;
CREATE EVENT TRIGGER ugi_canary_ddl ON ddl_command_start
    EXECUTE FUNCTION ugi.canary_ddl();
INSERT INTO ugi.counters SELECT ugi.calls('ugi.insert_attempts'),
                                ugi.calls('ugi.update_attempts');
INSERT INTO ugi.before SELECT ugi.catalog_state();

--
-- Run every case.
--
-- The guards' cases first: the calls that write rows commit their
-- subtransactions, and with more than 64 of those every catalog scan that
-- meets the dead rows of a rolled-back guard gets slower.
INSERT INTO ugi.results
SELECT t.relid, 'add_guard.condition (fixed)', c.s, NULL, c.expected, a.got, a.verified
  FROM ugi.conditions c, ugi.targets t,
       LATERAL ugi.attempt(NULL::"ugi ""h""; --"."t""; DROP TABLE ugi.canary; --", t,
                           'add_guard.condition', c.s, 0, false, NULL) a
 WHERE t.relid = :'hostile'::regclass;
INSERT INTO ugi.results
SELECT c.relid, c.kind, c.s, c.k, c.expected, a.got, a.verified
  FROM (SELECT * FROM ugi.cases c JOIN ugi.targets t USING (relid)
         WHERE t.pk <> 'id' AND c.ord < 10
         ORDER BY c.k OFFSET 0) c,
       LATERAL ugi.attempt(NULL::"ugi ""h""; --"."t""; DROP TABLE ugi.canary; --",
                           ROW(c.relid, c.rowtype, c.pk, c.counter),
                           c.kind, c.s, c.k, c.is_real, c.arbcols) a;
INSERT INTO ugi.results
SELECT c.relid, c.kind, c.s, c.k, c.expected, a.got, a.verified
  FROM (SELECT * FROM ugi.cases c JOIN ugi.targets t USING (relid)
         WHERE t.pk = 'id' AND c.ord < 10
         ORDER BY c.k OFFSET 0) c,
       LATERAL ugi.attempt(NULL::ugi.articles, ROW(c.relid, c.rowtype, c.pk, c.counter),
                           c.kind, c.s, c.k, c.is_real, c.arbcols) a;
INSERT INTO ugi.results
SELECT c.relid, c.kind, c.s, c.k, c.expected, a.got, a.verified
  FROM (SELECT * FROM ugi.cases c JOIN ugi.targets t USING (relid)
         WHERE t.pk = 'id' AND c.ord >= 10
         ORDER BY c.k OFFSET 0) c,
       LATERAL ugi.attempt(NULL::ugi.articles, ROW(c.relid, c.rowtype, c.pk, c.counter),
                           c.kind, c.s, c.k, c.is_real, c.arbcols) a;
INSERT INTO ugi.results
SELECT c.relid, c.kind, c.s, c.k, c.expected, a.got, a.verified
  FROM (SELECT * FROM ugi.cases c JOIN ugi.targets t USING (relid)
         WHERE t.pk <> 'id' AND c.ord >= 10
         ORDER BY c.k OFFSET 0) c,
       LATERAL ugi.attempt(NULL::"ugi ""h""; --"."t""; DROP TABLE ugi.canary; --",
                           ROW(c.relid, c.rowtype, c.pk, c.counter),
                           c.kind, c.s, c.k, c.is_real, c.arbcols) a;


--
-- The strings and the cases.
--
SELECT cmp_ok((SELECT count(*) FROM ugi.strings), '>=', 10000::bigint,
    'at least 10,000 distinct hostile strings');
SELECT is(
    (SELECT array_agg(DISTINCT octet_length(s) >= 64) FROM ugi.strings),
    ARRAY[false, true],
    'the strings include names longer than an identifier');
SELECT is(
    (SELECT count(*) FROM ugi.strings s, pg_attribute a, ugi.targets t
      WHERE a.attrelid = t.relid AND a.attnum > 0 AND a.attname::text = s.s),
    (SELECT count(*) FROM pg_attribute a, ugi.targets t
      WHERE a.attrelid = t.relid AND a.attnum > 0),
    'every real column name of the targets is one of the strings');
SELECT is(
    (SELECT count(*) FROM ugi.strings s, ugi.targets t, pg_attribute a
      WHERE a.attrelid = t.relid AND a.attnum > 0 AND octet_length(s.s) > 63
        AND left(s.s, char_length(a.attname::text)) = a.attname::text
        AND octet_length(left(s.s, char_length(a.attname::text) + 1)) > 63),
    1058::bigint,
    'strings that a truncation to 63 bytes would make a column name: 1058');
SELECT cmp_ok((SELECT count(*) FROM ugi.results), '>=', 10000::bigint,
    'at least 10,000 cases ran');
SELECT is(
    (SELECT array_agg(kind ORDER BY kind)
       FROM (SELECT DISTINCT kind FROM ugi.results WHERE kind NOT LIKE '% (fixed)') k),
    (SELECT array_agg(kind ORDER BY kind) FROM ugi.kinds),
    'every argument that names something was exercised');

--
-- The outcomes.
--
SELECT is(
    (SELECT string_agg(ugi.show(r), E'\n')
       FROM (SELECT * FROM ugi.results WHERE got = 'XX000' ORDER BY k LIMIT 10) r),
    NULL,
    'no case raised an internal error (XX000)');
SELECT is(
    (SELECT string_agg(ugi.show(r), E'\n')
       FROM (SELECT * FROM ugi.results
              WHERE got = '00000' AND expected <> '00000'
                AND kind NOT LIKE '% (fixed)' ORDER BY k LIMIT 10) r),
    NULL,
    'no call worked on a name that names nothing');
SELECT is(
    (SELECT string_agg(ugi.show(r), E'\n')
       FROM (SELECT * FROM ugi.results
              WHERE got <> '00000' AND expected = '00000'
                AND kind NOT LIKE '% (fixed)' ORDER BY k LIMIT 10) r),
    NULL,
    'every call on a real hostile name worked');
SELECT is(
    (SELECT string_agg(ugi.show(r), E'\n')
       FROM (SELECT * FROM ugi.results
              WHERE got IS DISTINCT FROM expected AND expected IS NOT NULL
                AND kind NOT LIKE '% (fixed)' ORDER BY k LIMIT 10) r),
    NULL,
    'every failing call failed with the SQLSTATE its argument documents');
SELECT is(
    (SELECT array_agg(DISTINCT got ORDER BY got) FROM ugi.results
      WHERE kind NOT LIKE 'add_guard.condition%'),
    ARRAY['00000', '22023', '42602', '42703', '42704', '42710', '42804', '42P10'],
    'the SQLSTATEs seen: 22023, 42602, 42703, 42704, 42710, 42804, 42P10 and success');
SELECT is(
    (SELECT string_agg(ugi.show(r), E'\n')
       FROM (SELECT * FROM ugi.results
              WHERE got = '00000' AND verified IS NOT TRUE
                AND kind NOT LIKE '% (fixed)' ORDER BY k LIMIT 10) r),
    NULL,
    'every call that worked wrote exactly the row and column, index or guard named');
SELECT is(
    (SELECT array_agg(kind || ' ' || n ORDER BY kind)
       FROM (SELECT kind, count(*) AS n FROM ugi.results
              WHERE got = '00000' AND kind NOT LIKE 'add_guard.condition%'
                AND kind NOT IN ('drop_guard.missing_ok', 'lock_key.namespace')
              GROUP BY kind) k),
    ARRAY['add_guard.guard 3031',
          'add_guard.key_columns 41',
          'drop_guard.guard 2',
          'idempotent_upsert.arbiter 22',
          'idempotent_upsert.conflict 22',
          'idempotent_upsert.new_row 41',
          'idempotent_upsert.update_columns 39',
          'idempotent_upsert_batch.arbiter 22',
          'idempotent_upsert_batch.conflict 22',
          'idempotent_upsert_batch.rows 41',
          'idempotent_upsert_batch.update_columns 39',
          'increment.arbiter 22',
          'increment.conflict 22',
          'increment.deltas 37',
          'increment.new_row 41',
          'select_or_insert.arbiter 22',
          'select_or_insert.conflict 22',
          'select_or_insert.lock 11',
          'select_or_insert.new_row 41'],
    'calls that worked, by argument');

--
-- A guard's condition.
--
SELECT is(
    (SELECT string_agg(ugi.show(r), E'\n')
       FROM (SELECT * FROM ugi.results
              WHERE kind = 'add_guard.condition (fixed)'
                AND got IS DISTINCT FROM expected ORDER BY s COLLATE "C" LIMIT 20) r),
    NULL,
    'a condition that is not one expression is refused (42601), one that is is accepted');
SELECT is(
    (SELECT array_agg(DISTINCT got ORDER BY got) FROM ugi.results
      WHERE kind = 'add_guard.condition' AND got NOT IN ('00000', '42601', '42702', '42703',
                                                         '42804', '22P02', '42704',
                                                         '42883', '42P01', '42P02')),
    NULL,
    'hostile strings as conditions: refused as SQL that does not parse (42601) or does not analyze as an expression over new and other');
SELECT is(
    (SELECT array_agg(left(s, 80) ORDER BY s COLLATE "C") FROM ugi.results
      WHERE kind = 'add_guard.condition' AND got = '00000'
        AND ugi.upper_ascii(btrim(regexp_replace(s, '/\* x \*/|--.*$', '', 'g'), E' \t\r\n'))
            NOT IN ('NULL', 'TRUE')),
    NULL,
    'hostile strings as conditions: the only ones accepted are NULL and true, with blanks and comments');

--
-- Nothing else was reached.
--
SELECT is(lock_keys, ARRAY[count, count],
    'lock_key hashes every namespace as documented, and distinct ones apart')
  FROM (SELECT count(*),
               ARRAY[count(DISTINCT upsert_guard.lock_key(s, 1)),
                     count(*) FILTER (WHERE upsert_guard.lock_key(s, 1)
                                            = hashint4extended(1, hashtextextended(s, 0)))]
                   AS lock_keys
          FROM ugi.strings) l;
SELECT is((SELECT array_agg(id || ':' || secret ORDER BY id) FROM ugi.canary),
    ARRAY['1:one', '2:two'],
    'the canary table is unchanged');
SELECT is(ARRAY[ugi.calls('ugi.canary_calls'), ugi.calls('ugi.unexpected_ddl')],
    ARRAY[0, 0]::bigint[],
    'the canary function and trigger were never called, and no DDL ran but the guards'' triggers');
SELECT is(
    (SELECT string_agg(d, E'\n' ORDER BY d) FROM (
        (SELECT '+ ' || i FROM ugi.catalog_state() i
         EXCEPT SELECT '+ ' || item FROM ugi.before)
        UNION ALL
        (SELECT '- ' || item FROM ugi.before
         EXCEPT SELECT '- ' || i FROM ugi.catalog_state() i)) x(d)),
    NULL,
    'no object was created, dropped or changed in any schema, guards included');
SELECT is(
    ARRAY[(SELECT count(*) FROM ugi.articles),
          (SELECT count(*) FROM "ugi ""h""; --"."t""; DROP TABLE ugi.canary; --")],
    ARRAY[1 + (SELECT count(*) FROM ugi.results JOIN ugi.kinds USING (kind)
                WHERE relid = 'ugi.articles'::regclass AND got = '00000'
                  AND ord > 10 AND kind <> 'select_or_insert.lock'),
          1 + (SELECT count(*) FROM ugi.results JOIN ugi.kinds USING (kind)
                WHERE relid = :'hostile'::regclass AND got = '00000'
                  AND ord > 10 AND kind <> 'select_or_insert.lock')],
    'the targets hold their first row and one row per call that worked');
SELECT is(
    ARRAY[ugi.calls('ugi.insert_attempts') - insert_attempts,
          ugi.calls('ugi.update_attempts') - update_attempts],
    ARRAY[(SELECT count(*) FROM ugi.results JOIN ugi.kinds USING (kind)
            WHERE (got = '00000' AND ord > 10 AND kind <> 'select_or_insert.lock')
               OR (kind LIKE '%.update_columns' AND expected <> '42703')),
          (SELECT count(*) FROM ugi.results
            WHERE got = '00000'
              AND kind IN ('idempotent_upsert.update_columns', 'increment.deltas',
                           'idempotent_upsert_batch.update_columns'))],
    'rows inserted and updated: exactly those of the calls that worked')
  FROM ugi.counters;

-- a call refused while its plans were being built (an arbiter that names
-- no index, say) must not leave an entry in the backend's plan cache: the
-- successful calls need a few hundred entries, well under 2 MB
SELECT cmp_ok(
    (SELECT total_bytes FROM pg_backend_memory_contexts
      WHERE name = 'upsert_guard plans'),
    '<', 2097152::bigint,
    'the refused calls left nothing behind in the plan cache');

--
-- A condition is checked as it is written, so it must be read the same way
-- when the trigger runs it, whatever the writer's settings: with
-- standard_conforming_strings off, 'a\b' would be a\x08 (a backspace) and
-- the rule would not hold for that writer.
--
CREATE TABLE ugi.scs (k int, v text);
INSERT INTO ugi.scs VALUES (1, E'a\\b');
SELECT upsert_guard.add_guard('ugi scs', 'ugi.scs', '{k}',
    $$new.v = 'a\b' AND other.v = 'a\b'$$);
SET LOCAL escape_string_warning = off;
SET LOCAL standard_conforming_strings = off;
SELECT throws_ok($$INSERT INTO ugi.scs VALUES (1, E'a\\b')$$, '23P01',
    'row violates guard "ugi scs" on table "scs"',
    'a guard''s condition means the same with standard_conforming_strings off');
RESET standard_conforming_strings;
RESET escape_string_warning;

SELECT * FROM finish();
ROLLBACK;
