/* upsert_guard 0.1.0: install script */

\echo Use "CREATE EXTENSION upsert_guard" to load this file. \quit

CREATE SCHEMA upsert_guard;
GRANT USAGE ON SCHEMA upsert_guard TO PUBLIC;

-- Return the row of target's table whose conflict key equals new_row's,
-- inserting new_row first if there is none; race-free under concurrency.
CREATE FUNCTION upsert_guard.select_or_insert(
    target anyelement,
    new_row jsonb,
    conflict text[] DEFAULT NULL,
    lock text DEFAULT 'key share')
RETURNS anyelement
AS 'MODULE_PATHNAME', 'upsert_guard_select_or_insert'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.select_or_insert(anyelement, jsonb, text[], text) IS
'return the row with new_row''s key, inserting new_row if there is none';

-- The same call, also telling whether the row was 'inserted' or 'found'.
CREATE FUNCTION upsert_guard.select_or_insert_outcome(
    target anyelement,
    new_row jsonb,
    conflict text[] DEFAULT NULL,
    lock text DEFAULT 'key share',
    OUT outcome text,
    OUT result anyelement)
RETURNS record
AS 'MODULE_PATHNAME', 'upsert_guard_select_or_insert_outcome'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.select_or_insert_outcome(anyelement, jsonb, text[], text) IS
'select_or_insert, with outcome ''inserted'' or ''found''';
