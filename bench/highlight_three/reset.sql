-- bench/highlight_three/reset.sql: a fresh, empty posts table before each
-- variant's run, with that variant's protection.
-- psql variable: variant
--   naive        seed 002's table with the boolean highlighted: no constraint
--   slot_number  the article's fix: its table, where the integer
--                "weeklyHighlightedPostNumber" (NULL: not highlighted)
--                replaces highlighted, with the CHECK 1 to 3 and the partial
--                unique index on ("userId", week, number)
--   guard        the boolean table and upsert_guard.add_guard with case
--                3's rule (max_conflicts 2)
-- Every variant also gets an ordinary index on ("userId", "createdAt").
SET client_min_messages = warning;
SELECT upsert_guard_race.drop_posts_guards('upsert_guard_race_three_highlights_per_week') AS dropped \gset
DROP TABLE IF EXISTS upsert_guard_race.posts CASCADE;
TRUNCATE upsert_guard_race.events;

SELECT :'variant' = 'slot_number' AS with_slots, :'variant' = 'guard' AS with_guard \gset
\if :with_slots
CREATE TABLE upsert_guard_race.posts (
    "userId"                      int NOT NULL,
    "createdAt"                   timestamp NOT NULL,
    "weeklyHighlightedPostNumber" int,
    "postContent"                 text NOT NULL
);
ALTER TABLE upsert_guard_race.posts ADD CONSTRAINT num_weekly_posts_constraint CHECK (
    ("weeklyHighlightedPostNumber" IS NULL)
    OR ("weeklyHighlightedPostNumber" BETWEEN 1 AND 3)
);
CREATE UNIQUE INDEX three_highlighted_posts_per_week_constraint
    ON upsert_guard_race.posts (
        "userId", date_trunc('week', "createdAt"), "weeklyHighlightedPostNumber")
    WHERE "weeklyHighlightedPostNumber" IS NOT NULL;
CREATE VIEW upsert_guard_race.highlights AS
    SELECT "userId", "createdAt" FROM upsert_guard_race.posts
    WHERE "weeklyHighlightedPostNumber" IS NOT NULL;
\else
CREATE TABLE upsert_guard_race.posts (
    "userId"      int NOT NULL,
    "createdAt"   timestamp NOT NULL,
    highlighted   boolean NOT NULL,
    "postContent" text NOT NULL
);
CREATE VIEW upsert_guard_race.highlights AS
    SELECT "userId", "createdAt" FROM upsert_guard_race.posts WHERE highlighted;
\endif
CREATE TRIGGER posts_count_update
    AFTER UPDATE ON upsert_guard_race.posts
    FOR EACH ROW EXECUTE FUNCTION upsert_guard_race.count_update();
CREATE INDEX posts_user_created ON upsert_guard_race.posts ("userId", "createdAt");

\if :with_guard
SELECT upsert_guard.add_guard('upsert_guard_race_three_highlights_per_week',
    'upsert_guard_race.posts', '{userId}',
    $$new.highlighted AND other.highlighted
      AND date_trunc('week', other."createdAt") = date_trunc('week', new."createdAt")$$,
    max_conflicts => 2) AS added \gset
\endif
ANALYZE upsert_guard_race.posts;
