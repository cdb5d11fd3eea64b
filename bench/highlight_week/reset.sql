-- bench/highlight_week/reset.sql: a fresh, empty posts table before each
-- variant's run, with that variant's protection.
-- psql variable: variant
--   naive         seed 002's table as it stands: no constraint
--   unique_index  the article's fix: the partial unique index
--                 one_highlighted_post_per_week_constraint
--   guard         upsert_guard.add_guard with case 2's rule
-- Every variant also gets an ordinary index on ("userId", "createdAt"),
-- which the check (and the guard's count) use.
SET client_min_messages = warning;
SELECT upsert_guard_race.drop_posts_guards('upsert_guard_race_one_highlight_per_week') AS dropped \gset
DROP TABLE IF EXISTS upsert_guard_race.posts CASCADE;
TRUNCATE upsert_guard_race.events;

CREATE TABLE upsert_guard_race.posts (
    "userId"      int NOT NULL,
    "createdAt"   timestamp NOT NULL,
    highlighted   boolean NOT NULL,
    "postContent" text NOT NULL
);
CREATE TRIGGER posts_count_update
    AFTER UPDATE ON upsert_guard_race.posts
    FOR EACH ROW EXECUTE FUNCTION upsert_guard_race.count_update();
CREATE INDEX posts_user_created ON upsert_guard_race.posts ("userId", "createdAt");

-- the rows the invariant is about
CREATE VIEW upsert_guard_race.highlights AS
    SELECT "userId", "createdAt" FROM upsert_guard_race.posts WHERE highlighted;

SELECT :'variant' = 'unique_index' AS with_index, :'variant' = 'guard' AS with_guard \gset
\if :with_index
CREATE UNIQUE INDEX one_highlighted_post_per_week_constraint
    ON upsert_guard_race.posts ("userId", date_trunc('week', "createdAt"))
    WHERE highlighted IS TRUE;
\endif
\if :with_guard
SELECT upsert_guard.add_guard('upsert_guard_race_one_highlight_per_week',
    'upsert_guard_race.posts', '{userId}',
    $$new.highlighted AND other.highlighted
      AND date_trunc('week', other."createdAt") = date_trunc('week', new."createdAt")$$) AS added \gset
\endif
ANALYZE upsert_guard_race.posts;
