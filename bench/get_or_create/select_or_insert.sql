-- bench/get_or_create/select_or_insert.sql: upsert_guard.select_or_insert,
-- the extension's select-then-insert loop in C with cached plans, with one
-- of its five row locks on a found row:
--   -D lock=1  'none'           the row is only read (no WAL, no XID), at
--                               the price that a concurrent DELETE may
--                               remove it before the caller uses its id
--   -D lock=2  'key share'      the default: the row cannot be deleted or
--                               have its key changed before the
--                               transaction ends (what a foreign key check
--                               takes); writes a lock to the row
--   -D lock=3  'share'          no UPDATE either
--   -D lock=4  'no key update'  exclusive but for KEY SHARE lockers
--   -D lock=5  'update'         exclusive
-- bench/race runs it for the variants select_or_insert (2),
-- select_or_insert_none (1), select_or_insert_share (3),
-- select_or_insert_no_key_update (4) and select_or_insert_update (5).
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
    '{title}',
    (ARRAY['none', 'key share', 'share', 'no key update', 'update'])[:lock]) r \gset
\if :got = 0
INSERT INTO upsert_guard_race.events (kind) VALUES ('noid');
\endif
