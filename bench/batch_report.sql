-- bench/batch_report.sql: medians and the ratios README quotes.
\pset footer off
\echo
\echo Median per batch call (one backend, jit off)
SELECT workload, variant, count(*) AS runs,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms,
       round(min(ms)::numeric, 1) AS min_ms, round(max(ms)::numeric, 1) AS max_ms,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY row_versions)::bigint AS row_versions,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY wal_bytes)::numeric / 1024 / 1024, 1) AS wal_mb
FROM upsert_guard_bench.results WHERE run > 0
GROUP BY workload, variant ORDER BY workload, variant;

\echo Ratios of medians
WITH m AS (
    SELECT workload || '/' || variant AS wv,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
    FROM upsert_guard_bench.results WHERE run > 0 GROUP BY 1)
SELECT r.what, round(r.ratio::numeric, 2) AS ratio, r.target
FROM (VALUES
    ('unchanged re-sync: do_update / idempotent_upsert_batch',
     (SELECT ms FROM m WHERE wv = 'unchanged/do_update') /
     (SELECT ms FROM m WHERE wv = 'unchanged/idempotent_upsert_batch'), '>= 3'),
    ('new rows: idempotent_upsert_batch / do_update',
     (SELECT ms FROM m WHERE wv = 'new/idempotent_upsert_batch') /
     (SELECT ms FROM m WHERE wv = 'new/do_update'), '<= 1.3')
) r(what, ratio, target);
\copy (SELECT * FROM upsert_guard_bench.results WHERE run > 0 ORDER BY run, workload, variant) TO 'bench/out/batch.csv' CSV HEADER
