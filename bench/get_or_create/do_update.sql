-- bench/get_or_create/do_update.sql: INSERT ... ON CONFLICT DO UPDATE with a
-- no-op SET, so that RETURNING gives the existing row too.
--
-- It always returns an id, but every conflict is an UPDATE: a new row
-- version, WAL, a row lock, and UPDATE triggers firing (counted by the
-- trigger in setup.sql) although nothing changed.
--
-- pgbench script; bench/race runs it with -D new=1 (key spread "new": a new
-- hot key every 2 ms that all clients race for) or -D new=0 ("existing":
-- one of the 1,000 keys setup put in the table).
\if :new
SELECT (extract(epoch FROM clock_timestamp()) * 500)::bigint AS k \gset
\else
\set k random(1, 1000)
\endif
WITH r AS (
    INSERT INTO upsert_guard_race.articles (title, content)
    VALUES ('key-' || :k, 'content of key-' || :k)
    ON CONFLICT (title) DO UPDATE SET title = EXCLUDED.title
    RETURNING id
)
SELECT count(id) AS got FROM r \gset
\if :got = 0
INSERT INTO upsert_guard_race.events (kind) VALUES ('noid');
\endif
