-- bench/cost_setup.sql: tables, the seed's loop and the timing harness for
-- bench/cost.  :rows is substituted by the runner.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS upsert_guard_bench CASCADE;
CREATE SCHEMA upsert_guard_bench;

CREATE TABLE upsert_guard_bench.items_existing (
    id bigserial PRIMARY KEY,
    k text NOT NULL UNIQUE,
    v text
);
CREATE TABLE upsert_guard_bench.items_new (LIKE upsert_guard_bench.items_existing INCLUDING ALL);
INSERT INTO upsert_guard_bench.items_existing (k, v)
    SELECT g::text, 'x' FROM generate_series(1, :rows) g;
VACUUM ANALYZE upsert_guard_bench.items_existing;

-- The loop of seed 001, in our words: look the key up with a row lock, else
-- insert ON CONFLICT DO NOTHING, else go round.  One function per table
-- and lock strength, as application code would have it.
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN
        SELECT * FROM (VALUES ('existing', 'key_share', 'FOR KEY SHARE'),
                              ('existing', 'none', ''),
                              ('new', 'key_share', 'FOR KEY SHARE')) s(tab, mode, clause)
    LOOP
        EXECUTE format($f$
            CREATE FUNCTION upsert_guard_bench.%I(_k text, _v text, OUT _id bigint)
            LANGUAGE plpgsql AS $body$
            BEGIN
                LOOP
                    SELECT id INTO _id FROM upsert_guard_bench.%I WHERE k = _k %s;
                    EXIT WHEN FOUND;
                    INSERT INTO upsert_guard_bench.%I AS t (k, v) VALUES (_k, _v)
                        ON CONFLICT (k) DO NOTHING RETURNING t.id INTO _id;
                    EXIT WHEN FOUND;
                END LOOP;
            END $body$ $f$,
            'loop_' || spec.tab || '_' || spec.mode, 'items_' || spec.tab,
            spec.clause, 'items_' || spec.tab);
    END LOOP;
END $$;

-- The floor for new keys: one INSERT ... ON CONFLICT DO NOTHING statement
-- per row, with no function call around it.
CREATE FUNCTION upsert_guard_bench.bare_insert(n int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        INSERT INTO upsert_guard_bench.items_new (k, v) VALUES (i::text, 'x')
            ON CONFLICT (k) DO NOTHING;
    END LOOP;
END $$;

CREATE TABLE upsert_guard_bench.results (
    run int, workload text, variant text, us_per_call float8);

-- Time one variant over n keys; record microseconds per call.
CREATE FUNCTION upsert_guard_bench.measure(run int, workload text, variant text, n int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tab text := 'upsert_guard_bench.items_' || workload;
    sql text;
    got bigint;
    t0 timestamptz;
    t1 timestamptz;
BEGIN
    sql := CASE variant
        WHEN 'select_or_insert_key_share' THEN format(
            'SELECT count(r.id) FROM generate_series(1, %s) g, LATERAL upsert_guard.select_or_insert('
            'NULL::%s, jsonb_build_object(''k'', g::text, ''v'', ''x''), ''{k}'', ''key share'') r', n, tab)
        WHEN 'select_or_insert_none' THEN format(
            'SELECT count(r.id) FROM generate_series(1, %s) g, LATERAL upsert_guard.select_or_insert('
            'NULL::%s, jsonb_build_object(''k'', g::text, ''v'', ''x''), ''{k}'', ''none'') r', n, tab)
        WHEN 'plpgsql_loop_key_share' THEN format(
            'SELECT count(r._id) FROM generate_series(1, %s) g, LATERAL upsert_guard_bench.%I(g::text, ''x'') r',
            n, 'loop_' || workload || '_key_share')
        WHEN 'plpgsql_loop_none' THEN format(
            'SELECT count(r._id) FROM generate_series(1, %s) g, LATERAL upsert_guard_bench.%I(g::text, ''x'') r',
            n, 'loop_' || workload || '_none')
        WHEN 'raw_lookup_key_share' THEN format(
            'SELECT count(r.id) FROM generate_series(1, %s) g, LATERAL (SELECT id FROM %s WHERE k = g::text FOR KEY SHARE) r',
            n, tab)
        -- OFFSET 0 keeps it a lookup per key, as the others are, not a hash join
        WHEN 'raw_lookup_none' THEN format(
            'SELECT count(r.id) FROM generate_series(1, %s) g, LATERAL (SELECT id FROM %s WHERE k = g::text OFFSET 0) r',
            n, tab)
        WHEN 'bare_insert' THEN format('SELECT %s::bigint FROM upsert_guard_bench.bare_insert(%s)', n, n)
    END;
    IF workload = 'new' THEN
        TRUNCATE upsert_guard_bench.items_new RESTART IDENTITY;
    END IF;
    t0 := clock_timestamp();
    EXECUTE sql INTO got;
    t1 := clock_timestamp();
    IF got <> n THEN
        RAISE EXCEPTION 'variant % returned % rows, expected %', variant, got, n;
    END IF;
    IF workload = 'new' THEN
        EXECUTE 'SELECT count(*) FROM upsert_guard_bench.items_new' INTO got;
        IF got <> n THEN
            RAISE EXCEPTION 'variant % left % rows, expected %', variant, got, n;
        END IF;
    END IF;
    INSERT INTO upsert_guard_bench.results
        VALUES (run, workload, variant, extract(epoch FROM t1 - t0) * 1e6 / n);
END $$;

SET jit = off;
