-- bench/highlight_7days/reset.sql: a fresh, empty posts table before each
-- variant's run, with that variant's protection.
-- psql variable: variant
--   naive          seed 002's table: no constraint
--   advisory_lock  the article's fix: its trigger take_post_modify_lock_trigger
--                  (the script takes the lock itself before the check)
--   guard          upsert_guard.add_guard with case 4's rule
-- Every variant also gets an ordinary index on ("userId", "createdAt").
SET client_min_messages = warning;
SELECT upsert_guard_race.drop_posts_guards('upsert_guard_race_one_highlight_per_7_days') AS dropped \gset
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

CREATE VIEW upsert_guard_race.highlights AS
    SELECT "userId", "createdAt" FROM upsert_guard_race.posts WHERE highlighted;

SELECT :'variant' = 'advisory_lock' AS with_lock, :'variant' = 'guard' AS with_guard \gset
\if :with_lock
CREATE TRIGGER take_post_modify_lock_trigger
    BEFORE INSERT OR UPDATE OR DELETE ON upsert_guard_race.posts
    FOR EACH ROW
    EXECUTE PROCEDURE upsert_guard_race.take_post_modify_lock_function();
\endif
\if :with_guard
SELECT upsert_guard.add_guard('upsert_guard_race_one_highlight_per_7_days',
    'upsert_guard_race.posts', '{userId}',
    $$new.highlighted AND other.highlighted
      AND other."createdAt" > new."createdAt" - interval '7 days'
      AND other."createdAt" < new."createdAt" + interval '7 days'$$) AS added \gset
\endif
ANALYZE upsert_guard_race.posts;
