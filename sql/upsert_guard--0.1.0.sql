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
    lock text DEFAULT 'key share',
    arbiter text DEFAULT NULL)
RETURNS anyelement
AS 'MODULE_PATHNAME', 'upsert_guard_select_or_insert'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.select_or_insert(anyelement, jsonb, text[], text, text) IS
'return the row with new_row''s key, inserting new_row if there is none';

-- The same call, also telling whether the row was 'inserted' or 'found'.
CREATE FUNCTION upsert_guard.select_or_insert_outcome(
    target anyelement,
    new_row jsonb,
    conflict text[] DEFAULT NULL,
    lock text DEFAULT 'key share',
    arbiter text DEFAULT NULL,
    OUT outcome text,
    OUT result anyelement)
RETURNS record
AS 'MODULE_PATHNAME', 'upsert_guard_select_or_insert_outcome'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.select_or_insert_outcome(anyelement, jsonb, text[], text, text) IS
'select_or_insert, with outcome ''inserted'' or ''found''';

-- Insert new_row, or update the existing row with its key in the update
-- columns (default: every column of new_row outside the key) when one of
-- them differs; write nothing when none does.
CREATE FUNCTION upsert_guard.idempotent_upsert(
    target anyelement,
    new_row jsonb,
    conflict text[] DEFAULT NULL,
    update_columns text[] DEFAULT NULL,
    arbiter text DEFAULT NULL)
RETURNS anyelement
AS 'MODULE_PATHNAME', 'upsert_guard_idempotent_upsert'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.idempotent_upsert(anyelement, jsonb, text[], text[], text) IS
'insert new_row, or update the row with its key where a value differs; write nothing when none does';

-- The same call, also telling whether the row was 'inserted', 'updated' or
-- 'unchanged'.
CREATE FUNCTION upsert_guard.idempotent_upsert_outcome(
    target anyelement,
    new_row jsonb,
    conflict text[] DEFAULT NULL,
    update_columns text[] DEFAULT NULL,
    arbiter text DEFAULT NULL,
    OUT outcome text,
    OUT result anyelement)
RETURNS record
AS 'MODULE_PATHNAME', 'upsert_guard_idempotent_upsert_outcome'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.idempotent_upsert_outcome(anyelement, jsonb, text[], text[], text) IS
'idempotent_upsert, with outcome ''inserted'', ''updated'' or ''unchanged''';

-- Insert new_row (the starting values), or add deltas to numeric columns
-- of the existing row with its key; no increment is lost.
CREATE FUNCTION upsert_guard.increment(
    target anyelement,
    new_row jsonb,
    deltas jsonb,
    conflict text[] DEFAULT NULL,
    arbiter text DEFAULT NULL)
RETURNS anyelement
AS 'MODULE_PATHNAME', 'upsert_guard_increment'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.increment(anyelement, jsonb, jsonb, text[], text) IS
'insert new_row, or add deltas to the row with its key';

-- The same call, also telling whether the row was 'inserted' or 'updated'.
CREATE FUNCTION upsert_guard.increment_outcome(
    target anyelement,
    new_row jsonb,
    deltas jsonb,
    conflict text[] DEFAULT NULL,
    arbiter text DEFAULT NULL,
    OUT outcome text,
    OUT result anyelement)
RETURNS record
AS 'MODULE_PATHNAME', 'upsert_guard_increment_outcome'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.increment_outcome(anyelement, jsonb, jsonb, text[], text) IS
'increment, with outcome ''inserted'' or ''updated''';

-- Internal: the rows of a jsonb array as rows of target's type (what
-- jsonb_populate_recordset does), with a support function that gives the
-- planner the array's length as the row estimate.  The batch statements
-- read their rows through it.
CREATE FUNCTION upsert_guard._batch_rows_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'upsert_guard_batch_rows_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION upsert_guard._batch_rows(target anyelement, rows jsonb)
RETURNS SETOF anyelement
AS 'MODULE_PATHNAME', 'upsert_guard_batch_rows'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE SECURITY INVOKER
SUPPORT upsert_guard._batch_rows_support;

COMMENT ON FUNCTION upsert_guard._batch_rows(anyelement, jsonb) IS
'internal: jsonb_populate_recordset with a row estimate, for the batch functions';

-- idempotent_upsert for many rows in one call, from a jsonb array of
-- objects that all have the same keys.  A key given more than once keeps
-- its last row; rows are locked and inserted in key order.
CREATE FUNCTION upsert_guard.idempotent_upsert_batch(
    target anyelement,
    rows jsonb,
    conflict text[] DEFAULT NULL,
    update_columns text[] DEFAULT NULL,
    arbiter text DEFAULT NULL)
RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint, duplicates bigint)
AS 'MODULE_PATHNAME', 'upsert_guard_idempotent_upsert_batch'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER ROWS 1;

COMMENT ON FUNCTION upsert_guard.idempotent_upsert_batch(anyelement, jsonb, text[], text[], text) IS
'idempotent_upsert for a jsonb array of rows; returns the counts';

-- The same, one row per input row: its position in rows (from 1) and its
-- outcome ('inserted', 'updated', 'unchanged', or 'duplicate' when a later
-- row has the same key).
CREATE FUNCTION upsert_guard.idempotent_upsert_batch_outcomes(
    target anyelement,
    rows jsonb,
    conflict text[] DEFAULT NULL,
    update_columns text[] DEFAULT NULL,
    arbiter text DEFAULT NULL)
RETURNS TABLE (ord bigint, outcome text)
AS 'MODULE_PATHNAME', 'upsert_guard_idempotent_upsert_batch_outcomes'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.idempotent_upsert_batch_outcomes(anyelement, jsonb, text[], text[], text) IS
'idempotent_upsert_batch, with the outcome of every row';

-- idempotent_upsert for every row of a relation (a staging table filled by
-- COPY, say), whose columns, matched by name, are columns of the table.
CREATE FUNCTION upsert_guard.idempotent_upsert_from(
    target anyelement,
    source regclass,
    conflict text[] DEFAULT NULL,
    update_columns text[] DEFAULT NULL,
    arbiter text DEFAULT NULL)
RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint, duplicates bigint)
AS 'MODULE_PATHNAME', 'upsert_guard_idempotent_upsert_from'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER ROWS 1;

COMMENT ON FUNCTION upsert_guard.idempotent_upsert_from(anyelement, regclass, text[], text[], text) IS
'idempotent_upsert for every row of a relation; returns the counts';

CREATE FUNCTION upsert_guard.idempotent_upsert_from_outcomes(
    target anyelement,
    source regclass,
    conflict text[] DEFAULT NULL,
    update_columns text[] DEFAULT NULL,
    arbiter text DEFAULT NULL)
RETURNS TABLE (ord bigint, outcome text)
AS 'MODULE_PATHNAME', 'upsert_guard_idempotent_upsert_from_outcomes'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.idempotent_upsert_from_outcomes(anyelement, regclass, text[], text[], text) IS
'idempotent_upsert_from, with the outcome of every row';
