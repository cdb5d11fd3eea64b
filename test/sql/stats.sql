--
-- stats: upsert_guard.backend_stats() and the view upsert_guard.stats
-- count, per call kind, what this backend's calls did: calls, found,
-- inserted, updated, unchanged, retries, exhausted; and per guard check,
-- checks, waits and violations.  pg_regress runs this file in a new
-- session, so the counters start at 0.  Each step shows the counters that
-- moved (the view show() prints every non-zero counter).  Lock waits, and
-- the cluster-wide counters of a preloaded library, are tested in
-- test/specs/stats_waits.spec and test/t/009_stats.pl.
--
-- Everything lives in schema stats_test, dropped at the end.
--
CREATE SCHEMA stats_test;
SET search_path = stats_test, public;

-- The counters that are not 0, one line per call kind.
CREATE FUNCTION show() RETURNS TABLE (call text, counters text)
LANGUAGE sql AS $$
    SELECT s.call,
           concat_ws(' ',
                     'calls=' || nullif(s.calls, 0), 'found=' || nullif(s.found, 0),
                     'inserted=' || nullif(s.inserted, 0), 'updated=' || nullif(s.updated, 0),
                     'unchanged=' || nullif(s.unchanged, 0), 'retries=' || nullif(s.retries, 0),
                     'exhausted=' || nullif(s.exhausted, 0), 'waits=' || nullif(s.waits, 0),
                     'violations=' || nullif(s.violations, 0))
      FROM upsert_guard.backend_stats() s
     WHERE (s.calls, s.found, s.inserted, s.updated, s.unchanged, s.retries,
            s.exhausted, s.waits, s.violations) <> (0, 0, 0, 0, 0, 0, 0, 0, 0)
$$;

-- a new session: five rows, all 0; the view has the same rows as scope
-- backend, and the cluster's only if the library is preloaded
SELECT * FROM upsert_guard.backend_stats();
SELECT count(*) AS backend_rows FROM upsert_guard.stats WHERE scope = 'backend';
SELECT * FROM show();

CREATE TABLE articles (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text UNIQUE NOT NULL,
    body text NOT NULL,
    views int NOT NULL DEFAULT 0
);

-- select_or_insert: inserted, then found
SELECT title FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a", "body": "x"}');
SELECT title FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a", "body": "x"}');
-- the _outcome variant counts too
SELECT outcome FROM upsert_guard.select_or_insert_outcome(NULL::articles, '{"title": "a", "body": "x"}');
SELECT * FROM show();

-- idempotent_upsert: inserted, updated, unchanged
SELECT title, body FROM upsert_guard.idempotent_upsert(NULL::articles, '{"title": "b", "body": "x"}');
SELECT title, body FROM upsert_guard.idempotent_upsert(NULL::articles, '{"title": "b", "body": "y"}');
SELECT title, body FROM upsert_guard.idempotent_upsert(NULL::articles, '{"title": "b", "body": "y"}');
-- increment: inserted, updated
SELECT title, views FROM upsert_guard.increment(NULL::articles, '{"title": "c", "body": "x"}', '{"views": 1}');
SELECT title, views FROM upsert_guard.increment(NULL::articles, '{"title": "c", "body": "x"}', '{"views": 1}');
SELECT * FROM show();

-- a batch counts one call, and an outcome per row: a (unchanged),
-- b (updated), d (inserted), d again (a duplicate: no outcome)
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::articles,
    '[{"title": "a", "body": "x"}, {"title": "b", "body": "z"},
      {"title": "d", "body": "x"}, {"title": "d", "body": "x"}]');
-- the per-row variant and _from count the same way
SELECT ord, outcome FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::articles,
    '[{"title": "e", "body": "x"}]');
CREATE TABLE feed AS SELECT 'f' AS title, 'x' AS body;
SELECT * FROM upsert_guard.idempotent_upsert_from(NULL::articles, 'feed');
SELECT * FROM show();

-- A call refused before its loop starts (an unknown column) is not a
-- call; one whose own statement fails (the NOT NULL body) is a call with
-- no outcome.
SELECT upsert_guard.select_or_insert(NULL::articles, '{"title": "g", "nope": 1}');
SELECT upsert_guard.select_or_insert(NULL::articles, '{"title": "g"}');
SELECT * FROM show() WHERE call = 'select_or_insert';

-- Exhausted: a row the caller may not see (row-level security) makes every
-- round find nothing and then meet the row on insert; with max_attempts 3
-- the call goes round twice and gives up (42501).
CREATE TABLE secret (k text PRIMARY KEY, owner text NOT NULL DEFAULT current_user);
INSERT INTO secret (k, owner) VALUES ('hidden', 'nobody');
ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON secret USING (owner = current_user);
CREATE ROLE stats_user;
GRANT USAGE ON SCHEMA stats_test TO stats_user;
GRANT SELECT, INSERT ON secret TO stats_user;
SET ROLE stats_user;
SET upsert_guard.max_attempts = 3;
SELECT upsert_guard.select_or_insert(NULL::secret, '{"k": "hidden"}', lock => 'none');
\echo SQLSTATE :SQLSTATE
RESET upsert_guard.max_attempts;
RESET ROLE;
SELECT * FROM show() WHERE call = 'select_or_insert';

-- Guards: every row the trigger handles is a check; a refused row is a
-- violation (also when the statement's error is caught).
CREATE TABLE posts (user_id int NOT NULL, day date NOT NULL);
SELECT upsert_guard.add_guard('stats_one_post_per_day', 'posts', '{user_id}',
    'other.day = new.day');
INSERT INTO posts VALUES (1, '2026-01-05'), (1, '2026-01-06');
DO $$
BEGIN
    INSERT INTO stats_test.posts VALUES (1, '2026-01-05');
EXCEPTION WHEN exclusion_violation THEN
    RAISE NOTICE 'refused: %', SQLERRM;
END
$$;
DELETE FROM posts WHERE day = '2026-01-06';
SELECT * FROM show() WHERE call = 'guard';

-- Counters are not transactional: a rolled-back call still counts.
BEGIN;
SELECT title FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "h", "body": "x"}');
ROLLBACK;
SELECT * FROM show() WHERE call = 'select_or_insert';

-- cluster_stats' missing_ok must not be null
SELECT * FROM upsert_guard.cluster_stats(NULL);
\echo SQLSTATE :SQLSTATE

-- The view: the same counters as scope backend.
SELECT s.scope, s.call, s.calls, s.found, s.inserted
  FROM upsert_guard.stats s WHERE s.scope = 'backend' ORDER BY s.call;

-- reset_stats is not granted to PUBLIC
SET ROLE stats_user;
SELECT upsert_guard.reset_stats();
\echo SQLSTATE :SQLSTATE
RESET ROLE;
-- the owner resets: every counter 0 again
SELECT upsert_guard.reset_stats();
SELECT count(*) AS nonzero FROM show();

SELECT upsert_guard.drop_guard('stats_one_post_per_day');
RESET search_path;
DROP SCHEMA stats_test CASCADE;
DROP ROLE stats_user;
