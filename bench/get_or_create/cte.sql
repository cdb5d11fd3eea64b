-- bench/get_or_create/cte.sql: INSERT ... ON CONFLICT DO NOTHING RETURNING,
-- UNION ALL a SELECT of the existing row, in one statement.
--
-- The whole statement runs with one snapshot.  When the conflicting row
-- was inserted by a session that had not committed when the snapshot was
-- taken, the INSERT waits for it and then does nothing, and the SELECT does
-- not see the row: the call returns no id (recorded as 'noid').
--
-- pgbench script; bench/race runs it with -D new=1 (key spread "new": a new
-- hot key every 2 ms that all clients race for) or -D new=0 ("existing":
-- one of the 1,000 keys setup put in the table).
\if :new
SELECT (extract(epoch FROM clock_timestamp()) * 500)::bigint AS k \gset
\else
\set k random(1, 1000)
\endif
WITH ins AS (
    INSERT INTO upsert_guard_race.articles (title, content)
    VALUES ('key-' || :k, 'content of key-' || :k)
    ON CONFLICT (title) DO NOTHING
    RETURNING id
), r AS (
    SELECT id FROM ins
    UNION ALL
    SELECT id FROM upsert_guard_race.articles WHERE title = 'key-' || :k
)
SELECT count(id) AS got FROM r \gset
\if :got = 0
INSERT INTO upsert_guard_race.events (kind) VALUES ('noid');
\endif
