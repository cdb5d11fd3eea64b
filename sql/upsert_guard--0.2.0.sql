/* upsert_guard 0.2.0: install script */

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

-------------------------------------------------------------------------
-- Guards: rules no unique index can express, enforced for every writer.
-------------------------------------------------------------------------

-- Transaction-scoped advisory locks on a (namespace, key) pair.  The lock
-- key is derived as
--   h := hashtextextended(namespace, 0)
--   for each key value v, in order: h := <v's extended hash function>(v, h)
-- (hashint4extended for integer, hashtextextended for text, ...), so
-- upsert_guard.lock(ns, k) is pg_advisory_xact_lock(upsert_guard.lock_key(ns, k)).
-- No session-level lock exists: they end with the transaction.
CREATE FUNCTION upsert_guard.lock_key(namespace text, VARIADIC key "any")
RETURNS bigint
AS 'MODULE_PATHNAME', 'upsert_guard_lock_key'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.lock_key(text, "any") IS
'the advisory lock key of a (namespace, key) pair, as upsert_guard.lock and guards take it';

CREATE FUNCTION upsert_guard.lock(namespace text, VARIADIC key "any")
RETURNS bigint
AS 'MODULE_PATHNAME', 'upsert_guard_lock'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.lock(text, "any") IS
'wait for and take the transaction-scoped advisory lock of a (namespace, key) pair; returns its key';

CREATE FUNCTION upsert_guard.try_lock(namespace text, VARIADIC key "any")
RETURNS boolean
AS 'MODULE_PATHNAME', 'upsert_guard_try_lock'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.try_lock(text, "any") IS
'take the transaction-scoped advisory lock of a (namespace, key) pair if it is free';

-- The guards, one row each.  Written only by add_guard and drop_guard;
-- dumped by pg_dump with the extension's other user data.
CREATE TABLE upsert_guard.guard_definitions (
    guard text PRIMARY KEY
        CHECK (pg_catalog.octet_length(guard) BETWEEN 1 AND 63),
    table_name regclass NOT NULL,
    key_columns text[] NOT NULL
        CHECK (pg_catalog.cardinality(key_columns) BETWEEN 1 AND 32),
    conflict text NOT NULL,
    max_conflicts integer NOT NULL DEFAULT 0 CHECK (max_conflicts >= 0)
);

SELECT pg_catalog.pg_extension_config_dump('upsert_guard.guard_definitions', '');
REVOKE ALL ON upsert_guard.guard_definitions FROM PUBLIC;
GRANT SELECT ON upsert_guard.guard_definitions TO PUBLIC;

COMMENT ON TABLE upsert_guard.guard_definitions IS
'the guards; change them only with upsert_guard.add_guard and upsert_guard.drop_guard';

-- The trigger every guard installs on its table (AFTER INSERT OR UPDATE OR
-- DELETE, FOR EACH ROW, the guard's name as its argument).
CREATE FUNCTION upsert_guard._guard_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'upsert_guard_guard_trigger'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard._guard_trigger() IS
'internal: the trigger of every guard; it locks the row''s key and checks the rule';

-- Declare a guard on a table: from now on every INSERT, UPDATE and DELETE
-- takes the advisory lock (guard, key) of each key it touches, and a row
-- written may conflict with at most max_conflicts other rows of its key.
-- conflict is a boolean SQL expression over "new" (the row written) and
-- "other" (another row with the same key).
CREATE FUNCTION upsert_guard.add_guard(
    guard text,
    target regclass,
    key_columns text[],
    conflict text,
    max_conflicts integer DEFAULT 0)
RETURNS void
AS 'MODULE_PATHNAME', 'upsert_guard_add_guard'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.add_guard(text, regclass, text[], text, integer) IS
'declare a guard: lock per key on every write, and refuse rows with more than max_conflicts conflicting rows';

CREATE FUNCTION upsert_guard.drop_guard(guard text, missing_ok boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'upsert_guard_drop_guard'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.drop_guard(text, boolean) IS
'drop a guard and its trigger; false if missing_ok and there is none';

CREATE VIEW upsert_guard.guards AS
SELECT d.guard,
       d.table_name,
       d.key_columns,
       d.conflict,
       d.max_conflicts,
       c.relowner::pg_catalog.regrole AS table_owner,
       t.oid IS NOT NULL AND t.tgenabled OPERATOR(pg_catalog.<>) 'D' AS enforced
  FROM upsert_guard.guard_definitions AS d
  LEFT JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) d.table_name
  LEFT JOIN pg_catalog.pg_trigger AS t
    ON t.tgrelid OPERATOR(pg_catalog.=) d.table_name
   AND t.tgname OPERATOR(pg_catalog.=) d.guard
   AND t.tgfoid OPERATOR(pg_catalog.=) 'upsert_guard._guard_trigger()'::pg_catalog.regprocedure;

GRANT SELECT ON upsert_guard.guards TO PUBLIC;

COMMENT ON VIEW upsert_guard.guards IS
'the guards, their tables'' owners, and whether each trigger is installed and enabled';

-------------------------------------------------------------------------
-- Race counters: per call kind, in this backend and (with upsert_guard in
-- shared_preload_libraries) in the whole cluster.  Not transactional.
-------------------------------------------------------------------------

CREATE FUNCTION upsert_guard.backend_stats(
    OUT call text, OUT calls bigint, OUT found bigint, OUT inserted bigint,
    OUT updated bigint, OUT unchanged bigint, OUT retries bigint,
    OUT exhausted bigint, OUT waits bigint, OUT violations bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'upsert_guard_backend_stats'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.backend_stats() IS
'this backend''s upsert_guard counters, one row per call kind and one for guard checks';

CREATE FUNCTION upsert_guard.cluster_stats(
    missing_ok boolean DEFAULT false,
    OUT call text, OUT calls bigint, OUT found bigint, OUT inserted bigint,
    OUT updated bigint, OUT unchanged bigint, OUT retries bigint,
    OUT exhausted bigint, OUT waits bigint, OUT violations bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'upsert_guard_cluster_stats'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL SAFE SECURITY INVOKER;

COMMENT ON FUNCTION upsert_guard.cluster_stats(boolean) IS
'every backend''s upsert_guard counters since the server started; needs upsert_guard in shared_preload_libraries (missing_ok: no rows without it)';

CREATE FUNCTION upsert_guard.reset_stats()
RETURNS void
AS 'MODULE_PATHNAME', 'upsert_guard_reset_stats'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY INVOKER;

REVOKE ALL ON FUNCTION upsert_guard.reset_stats() FROM PUBLIC;

COMMENT ON FUNCTION upsert_guard.reset_stats() IS
'zero this backend''s upsert_guard counters and the cluster-wide ones; not granted to PUBLIC';

CREATE VIEW upsert_guard.stats AS
SELECT 'backend'::text AS scope, s.* FROM upsert_guard.backend_stats() AS s
UNION ALL
SELECT 'cluster'::text, s.* FROM upsert_guard.cluster_stats(true) AS s;

GRANT SELECT ON upsert_guard.stats TO PUBLIC;

COMMENT ON VIEW upsert_guard.stats IS
'upsert_guard counters of this backend (scope backend) and, when preloaded, of the cluster (scope cluster)';
