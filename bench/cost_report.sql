-- bench/cost_report.sql: medians and the ratios README quotes.
\pset footer off
\echo
\echo Median microseconds per call (one backend, jit off)
SELECT workload, variant, count(*) AS runs,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us_per_call)::numeric, 2) AS median_us,
       round(min(us_per_call)::numeric, 2) AS min_us,
       round(max(us_per_call)::numeric, 2) AS max_us
FROM upsert_guard_bench.results
WHERE run > 0
GROUP BY workload, variant
ORDER BY workload, variant;

\echo Ratios of medians
WITH m AS (
    SELECT workload || '/' || variant AS wv,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY us_per_call) AS us
    FROM upsert_guard_bench.results WHERE run > 0 GROUP BY 1)
SELECT r.what, round(r.ratio::numeric, 2) AS ratio, r.target
FROM (VALUES
    ('existing keys, key share: plpgsql_loop / select_or_insert',
     (SELECT us FROM m WHERE wv = 'existing/plpgsql_loop_key_share') /
     (SELECT us FROM m WHERE wv = 'existing/select_or_insert_key_share'), '>= 3'),
    ('existing keys, none: plpgsql_loop / select_or_insert',
     (SELECT us FROM m WHERE wv = 'existing/plpgsql_loop_none') /
     (SELECT us FROM m WHERE wv = 'existing/select_or_insert_none'), '>= 4'),
    ('existing keys, key share: select_or_insert / raw_lookup',
     (SELECT us FROM m WHERE wv = 'existing/select_or_insert_key_share') /
     (SELECT us FROM m WHERE wv = 'existing/raw_lookup_key_share'), ''),
    ('existing keys, none: select_or_insert / raw_lookup',
     (SELECT us FROM m WHERE wv = 'existing/select_or_insert_none') /
     (SELECT us FROM m WHERE wv = 'existing/raw_lookup_none'), ''),
    ('new keys: select_or_insert / bare_insert',
     (SELECT us FROM m WHERE wv = 'new/select_or_insert_key_share') /
     (SELECT us FROM m WHERE wv = 'new/bare_insert'), '<= 1.2'),
    ('new keys: plpgsql_loop / select_or_insert',
     (SELECT us FROM m WHERE wv = 'new/plpgsql_loop_key_share') /
     (SELECT us FROM m WHERE wv = 'new/select_or_insert_key_share'), '')
) r(what, ratio, target);
\copy (SELECT * FROM upsert_guard_bench.results WHERE run > 0 ORDER BY run, workload, variant) TO 'bench/out/cost.csv' CSV HEADER
