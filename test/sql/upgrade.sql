--
-- upgrade: 0.1.0 updated to 0.2.0 with upsert_guard--0.1.0--0.2.0.sql has
-- exactly what a fresh 0.2.0 has: the same members, function properties,
-- privileges, columns, constraints, view text and pg_dump registration.
-- Ends with a fresh default install, as the other tests expect.
--
SET client_min_messages = warning;

-- one line per fact about the installed extension
CREATE FUNCTION pg_temp.extension_facts() RETURNS SETOF text
LANGUAGE sql AS $$
    WITH ext AS (SELECT oid, extconfig FROM pg_extension WHERE extname = 'upsert_guard'),
    members AS (
        SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
         WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid
           AND d.deptype = 'e')
    SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM members
    UNION ALL
    SELECT format('function %s returns %s: %s %s %s %s %s acl %s',
                  p.oid::regprocedure, pg_get_function_result(p.oid),
                  pg_get_function_arguments(p.oid), p.provolatile, p.proisstrict,
                  p.proparallel, p.prosecdef, coalesce(p.proacl::text, 'default'))
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    UNION ALL
    SELECT format('relation %s kind %s acl %s', c.oid::regclass, c.relkind,
                  coalesce(c.relacl::text, 'default'))
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
    UNION ALL
    SELECT format('column %s.%s %s not null %s default %s', a.attrelid::regclass, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid))
      FROM pg_attribute a
      JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = a.attrelid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s on %s: %s', co.conname, co.conrelid::regclass,
                  pg_get_constraintdef(co.oid))
      FROM pg_constraint co JOIN members m ON m.classid = 'pg_class'::regclass
       AND m.objid = co.conrelid
    UNION ALL
    SELECT format('view %s: %s', c.oid::regclass, pg_get_viewdef(c.oid))
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
     WHERE c.relkind = 'v'
    UNION ALL
    SELECT 'config dump ' || coalesce(extconfig::regclass[]::text, 'none') FROM ext
$$;

DROP EXTENSION upsert_guard CASCADE;
CREATE EXTENSION upsert_guard VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'upsert_guard';
SELECT count(*) AS functions_in_0_1_0 FROM pg_proc WHERE pronamespace = 'upsert_guard'::regnamespace;
-- 0.1.0 works, then is updated in place
CREATE TABLE upgrade_articles (id serial PRIMARY KEY, title text UNIQUE);
SELECT title FROM upsert_guard.select_or_insert(NULL::upgrade_articles, '{"title": "before"}');
ALTER EXTENSION upsert_guard UPDATE TO '0.2.0';
SELECT extversion FROM pg_extension WHERE extname = 'upsert_guard';
CREATE TEMP TABLE updated AS SELECT pg_temp.extension_facts() AS fact;

DROP EXTENSION upsert_guard CASCADE;
CREATE EXTENSION upsert_guard;
SELECT extversion FROM pg_extension WHERE extname = 'upsert_guard';
CREATE TEMP TABLE fresh AS SELECT pg_temp.extension_facts() AS fact;

-- nothing differs, either way round
SELECT 'only after update: ' || fact FROM (SELECT fact FROM updated EXCEPT ALL SELECT fact FROM fresh) d;
SELECT 'only in fresh install: ' || fact FROM (SELECT fact FROM fresh EXCEPT ALL SELECT fact FROM updated) d;
SELECT count(*) > 40 AS many_facts_compared FROM fresh;
SELECT replace(replace(fact, current_user || '=', 'OWNER='), '/' || current_user, '/OWNER') AS fact FROM fresh
 WHERE fact LIKE 'config dump%' OR fact LIKE 'relation%' ORDER BY fact;

-- the calls of 0.1.0 still work, and guards are there
SELECT title FROM upsert_guard.select_or_insert(NULL::upgrade_articles, '{"title": "before"}');
SELECT upsert_guard.add_guard('upgrade_guard', 'upgrade_articles', '{title}', 'true');
SELECT upsert_guard.drop_guard('upgrade_guard');
DROP TABLE upgrade_articles;
