-- bench/get_or_create/select_or_insert_none.sql: upsert_guard.select_or_insert
-- with lock 'none'.
--
-- The same loop without a row lock: a found row is only read (no WAL, no
-- XID), at the price that a concurrent DELETE may remove it before the
-- caller uses its id.
--
-- pgbench script; bench/race runs it with -D new=1 (key spread "new": a new
-- hot key every 2 ms that all clients race for) or -D new=0 ("existing":
-- one of the 1,000 keys setup put in the table).
\if :new
SELECT (extract(epoch FROM clock_timestamp()) * 500)::bigint AS k \gset
\else
\set k random(1, 1000)
\endif
SELECT count(r.id) AS got
FROM upsert_guard.select_or_insert(
    NULL::upsert_guard_race.articles,
    jsonb_build_object('title', 'key-' || :k, 'content', 'content of key-' || :k),
    '{title}', 'none') r \gset
\if :got = 0
INSERT INTO upsert_guard_race.events (kind) VALUES ('noid');
\endif
