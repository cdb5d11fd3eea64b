--
-- attack: what an ordinary role can try with a temporary table of its own
-- (issue 12).  Each section is one class of hole, with the case that
-- found it; on the code before the fix each fails (a crash, a row in the
-- wrong table, memory that grows, a broken rule), and here each must end
-- as its comment says.
--
--   1. a key that reads more columns than an index has keys
--   2. increment with an arbiter whose expressions or predicate read the
--      column it adds to
--   3. the plan cache, fed a new column set per call
--   4. a call of the maximum number of rounds
--   5. (in test/specs/privilege_lock.spec: no lock without privilege)
--   6. a writer's settings against a guard's condition
--   7. an arbiter over the whole row
--   8. code run by the call that renames the table and creates another
--      under its name, or adds a column
--
CREATE ROLE regress_ug_attacker;
GRANT CREATE ON SCHEMA public TO regress_ug_attacker;

-- Memory of this backend, for the superuser-owned probes below: the
-- attacker cannot read pg_backend_memory_contexts itself.
CREATE FUNCTION public.attack_memory() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
    AS $$SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts$$;
-- Called by a policy in every round of a call: remembers the memory at its
-- 10th call and says at its n-th whether it grew by less than 1 MB since.
-- Counting in a setting: the call's error at the end rolls it back, its
-- NOTICE stays.
CREATE FUNCTION public.attack_probe(n int) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
    AS $$
DECLARE
    calls int := coalesce(nullif(current_setting('attack.calls', true), ''), '0')::int + 1;
BEGIN
    PERFORM set_config('attack.calls', calls::text, true);
    IF calls = 10 THEN
        PERFORM set_config('attack.base', public.attack_memory()::text, true);
    ELSIF calls = n THEN
        RAISE NOTICE 'probe call %: memory grew by less than 1 MB since call 10: %', n,
            public.attack_memory() - current_setting('attack.base')::bigint < 1024 * 1024;
    END IF;
    RETURN false;
END
$$;
GRANT EXECUTE ON FUNCTION public.attack_probe(int) TO regress_ug_attacker;

SET ROLE regress_ug_attacker;

--
-- 1. A partial arbiter whose predicate reads 40 columns, and an existing
--    row that a SELECT policy hides: the insert meets it in every round,
--    and giving up describes a key of 41 columns (it crashed the server:
--    the key was described in arrays of INDEX_MAX_KEYS = 32).  The same
--    with an expression index over 40 columns.
--
SELECT format('CREATE TEMP TABLE wide (k int, %s)',
              string_agg(format('c%s int', i), ', ' ORDER BY i))
  FROM generate_series(1, 40) i \gexec
SELECT format('CREATE UNIQUE INDEX wide_partial ON wide (k) WHERE %s',
              string_agg(format('c%s IS NOT NULL', i), ' AND ' ORDER BY i))
  FROM generate_series(1, 40) i \gexec
SELECT format('CREATE UNIQUE INDEX wide_expr ON wide ((k + %s))',
              string_agg(format('coalesce(c%s, 0)', i), ' + ' ORDER BY i))
  FROM generate_series(1, 40) i \gexec
SELECT format('INSERT INTO wide VALUES (1, %s)', string_agg('1', ', '))
  FROM generate_series(1, 40) \gexec
ALTER TABLE wide ENABLE ROW LEVEL SECURITY;
ALTER TABLE wide FORCE ROW LEVEL SECURITY;
CREATE POLICY wide_read ON wide FOR SELECT USING (c1 <> 1);
CREATE POLICY wide_write ON wide FOR INSERT WITH CHECK (true);
SET upsert_guard.max_attempts = 1;
\set VERBOSITY default
SELECT upsert_guard.select_or_insert(NULL::wide,
    (SELECT jsonb_object_agg('c' || i, 2) FROM generate_series(1, 40) i) || '{"k": 1}',
    lock => 'none', arbiter => 'wide_partial');
-- k + the 40 columns: 1 + 40 = 41 in the hidden row, and in this one
SELECT upsert_guard.select_or_insert(NULL::wide,
    (SELECT jsonb_object_agg('c' || i, CASE WHEN i = 1 THEN 2 ELSE 1 END)
       FROM generate_series(1, 40) i) || '{"k": 0}',
    lock => 'none', arbiter => 'wide_expr');
RESET upsert_guard.max_attempts;
SELECT count(*) AS rows_of_wide FROM wide;   -- the hidden row only: 0 shown
RESET ROLE;
SELECT count(*) AS rows_of_wide FROM pg_temp.wide;   -- as the superuser: 1
SET ROLE regress_ug_attacker;

--
-- 2. increment with an expression or partial arbiter: a delta on a column
--    that the index reads is refused (it changes the row's key, or moves
--    the row out of the index); one on another column counts.
--
CREATE TEMP TABLE visits (page text, n int, hidden boolean);
CREATE UNIQUE INDEX visits_page ON visits (lower(page)) WHERE NOT hidden;
SELECT upsert_guard.increment(NULL::visits, '{"page": "Home", "n": 1, "hidden": false}',
                              '{"n": 1}', arbiter => 'visits_page');
SELECT upsert_guard.increment(NULL::visits, '{"page": "HOME", "n": 1, "hidden": false}',
                              '{"n": 1}', arbiter => 'visits_page');
CREATE TEMP TABLE counted (k text, n int, m int);
CREATE UNIQUE INDEX counted_sum ON counted ((k || n::text));
SELECT upsert_guard.increment(NULL::counted, '{"k": "a", "n": 1, "m": 0}',
                              '{"n": 1}', arbiter => 'counted_sum');
CREATE UNIQUE INDEX visits_shown ON visits (page) WHERE n < 100;
SELECT upsert_guard.increment(NULL::visits, '{"page": "Home", "n": 1, "hidden": false}',
                              '{"n": 1}', arbiter => 'visits_shown');
SELECT * FROM visits;

--
-- 3. The plan cache, fed 300 column sets of a 40-column table (each a
--    plan-cache entry): it keeps at most upsert_guard.plan_cache_size,
--    here 2 MB (about 30 entries of this table), dropping the least
--    recently used; the calls' results are right throughout.  Before the
--    bound, the 300 entries took about 60 MB.
--
RESET ROLE;
SET upsert_guard.plan_cache_size = '2MB';
SET ROLE regress_ug_attacker;
SELECT format('CREATE TEMP TABLE sparse (k int PRIMARY KEY, %s)',
              string_agg(format('c%s text', i), ', ' ORDER BY i))
  FROM generate_series(1, 40) i \gexec
-- call i gives k and the columns of the bits of i: a new column set each
DO $$
DECLARE
    i int;
    rk int;
    o text;
BEGIN
    FOR i IN 1 .. 300 LOOP
        SELECT x.outcome, (x.result).k INTO o, rk
          FROM upsert_guard.idempotent_upsert_outcome(NULL::sparse,
                 (SELECT jsonb_object_agg('c' || b, 'v' || i)
                    FROM generate_series(1, 9) b WHERE i & (1 << (b - 1)) <> 0)
                 || jsonb_build_object('k', i % 50)) AS x;
        IF rk <> i % 50 OR o <> (CASE WHEN i <= 50 THEN 'inserted' ELSE 'updated' END) THEN
            RAISE EXCEPTION 'call %: % %', i, o, rk;
        END IF;
    END LOOP;
END
$$;
RESET ROLE;
-- the entries' own contexts, and the plans PostgreSQL keeps for them
SELECT count(*) FILTER (WHERE name = 'upsert_guard plan') BETWEEN 10 AND 60 AS entries_bounded,
       sum(total_bytes) < 3 * 1024 * 1024 AS memory_bounded
  FROM pg_backend_memory_contexts
 WHERE name = 'upsert_guard plan'
    OR (name IN ('CachedPlanSource', 'CachedPlan') AND ident LIKE '%.sparse AS r%');
SELECT count(*) AS rows_of_sparse, count(*) FILTER (WHERE c1 IS NOT NULL) AS with_c1
  FROM pg_temp.sparse;
RESET upsert_guard.plan_cache_size;
-- not for every role: the bound is the server's
SET ROLE regress_ug_attacker;
SET upsert_guard.plan_cache_size = '1GB';
RESET ROLE;

--
-- 4. A call of 1,000 rounds (the most upsert_guard.max_attempts allows):
--    each round's statement results are freed, so memory stays flat.  The
--    policy hides the row with v = 'a' and calls the probe for it (once or
--    twice a round); the insert meets the hidden row every time.  Before,
--    each round kept about 14 kB (and the setting went to 1,000,000).
--
SET ROLE regress_ug_attacker;
CREATE TEMP TABLE hidden (k int PRIMARY KEY, v text);
INSERT INTO hidden VALUES (1, 'a');
ALTER TABLE hidden ENABLE ROW LEVEL SECURITY;
ALTER TABLE hidden FORCE ROW LEVEL SECURITY;
CREATE POLICY hidden_read ON hidden FOR SELECT USING (v <> 'a' OR public.attack_probe(1000));
CREATE POLICY hidden_write ON hidden FOR INSERT WITH CHECK (true);
SET upsert_guard.max_attempts = 1001;
SET upsert_guard.max_attempts = 1000;
BEGIN;
SELECT upsert_guard.select_or_insert(NULL::hidden, '{"k": 1, "v": "b"}', lock => 'none');
ROLLBACK;
BEGIN;
SELECT upsert_guard.idempotent_upsert(NULL::hidden, '{"k": 1, "v": "b"}');
ROLLBACK;
-- a batch: one statement per round, its pending ordinals replaced each time
BEGIN;
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::hidden,
    '[{"k": 1, "v": "b"}, {"k": 2, "v": "c"}]');
ROLLBACK;
RESET upsert_guard.max_attempts;

--
-- 6. A guard means what its owner wrote, whatever the writer's settings.
--    "One payout per account and UTC day": a writer in Tokyo, where the
--    second payout falls on the next day, is still refused; and a date
--    literal in a condition reads as ISO, MDY whatever DateStyle says.
--    The writer's own settings are back after the statement.
--
CREATE TEMP TABLE payouts (account int, at timestamptz);
SELECT upsert_guard.add_guard('attack_one_payout_per_day', 'payouts', '{account}',
    $$date_trunc('day', other.at) = date_trunc('day', new.at)$$);
INSERT INTO payouts VALUES (1, '2026-12-04 10:00+00');
SET TimeZone = 'Asia/Tokyo';
INSERT INTO payouts VALUES (1, '2026-12-04 16:00+00');   -- 01:00 on the 5th in Tokyo
INSERT INTO payouts VALUES (1, '2026-12-05 00:30+00');   -- the next UTC day: admitted
SHOW TimeZone;
RESET TimeZone;
SELECT account, at AT TIME ZONE 'UTC' AS at_utc FROM payouts ORDER BY at;
CREATE TEMP TABLE bookings (room int, day date);
SELECT upsert_guard.add_guard('attack_one_booking_on_feb_3', 'bookings', '{room}',
    $$new.day = '02/03/2026' AND other.day = new.day$$);
SET DateStyle = 'ISO, DMY';
INSERT INTO bookings VALUES (7, '2026-02-03');
INSERT INTO bookings VALUES (7, '2026-02-03');           -- refused: 3 February
INSERT INTO bookings VALUES (7, '2026-03-02'), (7, '2026-03-02');  -- 2 March: admitted
SHOW DateStyle;
RESET DateStyle;
SELECT upsert_guard.drop_guard('attack_one_payout_per_day');
SELECT upsert_guard.drop_guard('attack_one_booking_on_feb_3');

--
-- 7. An arbiter over the whole row, in its key or its predicate: refused
--    with 0A000 (it was XX000, "cache lookup failed for attribute 0").
--
CREATE TEMP TABLE whole (k int, v text);
CREATE UNIQUE INDEX whole_row ON whole ((whole));
CREATE UNIQUE INDEX whole_pred ON whole (k) WHERE whole IS NOT NULL;
SELECT upsert_guard.select_or_insert(NULL::whole, '{"k": 1, "v": "a"}', arbiter => 'whole_row');
SELECT upsert_guard.idempotent_upsert(NULL::whole, '{"k": 1, "v": "a"}', arbiter => 'whole_pred');
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::whole, '[{"k": 1, "v": "a"}]',
                                                   arbiter => 'whole_pred');
SELECT count(*) AS rows_of_whole FROM whole;

--
-- 8. A domain's CHECK that, while the call converts new_row, renames the
--    table and creates another under its name: the row goes to the table
--    the call's target named (by OID), now called swap_old; the new swap
--    stays empty.  The same during a statement of the call: a SELECT
--    policy that swaps the tables while the lookup runs; the insert after
--    it goes to swap_old too.  A CHECK that adds a column instead is
--    refused: the values were converted for the old columns.
--
CREATE FUNCTION pg_temp.swap_tables() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.swap_old') IS NULL THEN
        ALTER TABLE swap RENAME TO swap_old;
        CREATE TEMP TABLE swap (k int PRIMARY KEY, v text);
    END IF;
    RETURN true;
END
$$;
CREATE DOMAIN pg_temp.swapping AS text CHECK (pg_temp.swap_tables());
CREATE TEMP TABLE swap (k int PRIMARY KEY, v pg_temp.swapping);
SELECT upsert_guard.select_or_insert(NULL::swap, '{"k": 1, "v": "a"}');
SELECT 'swap_old' AS t, * FROM swap_old UNION ALL SELECT 'swap', k, v FROM swap;
DROP TABLE swap, swap_old;
CREATE TEMP TABLE swap (k int PRIMARY KEY, v text);
ALTER TABLE swap ENABLE ROW LEVEL SECURITY;
ALTER TABLE swap FORCE ROW LEVEL SECURITY;
CREATE POLICY swap_read ON swap FOR SELECT USING (pg_temp.swap_tables());
CREATE POLICY swap_write ON swap FOR INSERT WITH CHECK (true);
SELECT upsert_guard.select_or_insert(NULL::swap, '{"k": 2, "v": "b"}', lock => 'none');
SELECT 'swap_old' AS t, * FROM swap_old UNION ALL SELECT 'swap', k, v FROM swap;
DROP TABLE swap, swap_old;

CREATE TEMP TABLE grow (k int PRIMARY KEY, v text);
CREATE FUNCTION pg_temp.grow_table() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE grow ADD COLUMN extra int;
    RETURN true;
END
$$;
CREATE DOMAIN pg_temp.growing AS text CHECK (pg_temp.grow_table());
ALTER TABLE grow ALTER COLUMN v TYPE pg_temp.growing;
SELECT upsert_guard.select_or_insert(NULL::grow, '{"k": 1, "v": "a"}');
SELECT count(*) AS rows_of_grow FROM grow;

RESET ROLE;
DROP FUNCTION public.attack_probe(int);
DROP FUNCTION public.attack_memory();
REVOKE CREATE ON SCHEMA public FROM regress_ug_attacker;
DROP OWNED BY regress_ug_attacker;
DROP ROLE regress_ug_attacker;
