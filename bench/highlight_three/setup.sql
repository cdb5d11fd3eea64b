-- bench/highlight_three/setup.sql: objects for seed 002 case 3, "at most
-- three highlighted posts per user and calendar week", created by
-- bench/race in its scratch schema upsert_guard_race, which it drops when
-- the run ends.  The table posts is created per variant by reset.sql; the
-- clock, the events table and the INSERT wrapper of the naive and guard
-- variants are bench/lib/highlight.sql's.
--
--   insert_slot_post()  the article's fix: its CTE INSERT, which picks the
--                       first free "weeklyHighlightedPostNumber" (1 to 3)
--
-- The invariant: no user has more than three highlighted posts in one week.

\ir ../lib/highlight.sql

-- The article's statement, verbatim but for NOW(), which is the request's
-- (virtual) time _vt, and the schema.  One statement: it finds the first
-- slot number no post of the user's week holds and inserts the post with
-- it, or inserts nothing when the three are taken (a refusal, not an
-- error).  Two sessions whose snapshots both show slot n free both insert
-- n, and the unique index three_highlighted_posts_per_week_constraint
-- makes the second fail with 23505 (after waiting for the first to
-- commit); the article's application would throw.  This wrapper records
-- the 23505 instead, like insert_post() does for the naive script; unlike
-- there, every call enters it (the check is inside the statement), so
-- this variant pays a subtransaction on every call.  Returns the slot
-- taken, 0 when none was free, NULL on 23505.
CREATE FUNCTION upsert_guard_race.insert_slot_post(_user int, _vt numeric)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    _slot int;
BEGIN
    WITH next_highlighted_post_num AS MATERIALIZED (
        SELECT series_num
        FROM generate_series(1, 3) AS series_num
        WHERE NOT EXISTS (
            SELECT *
            FROM upsert_guard_race.posts
            WHERE posts."userId" = _user
              AND date_trunc('week', upsert_guard_race.ts(_vt)) <= posts."createdAt"
              AND posts."weeklyHighlightedPostNumber" = series_num
        )
        LIMIT 1
    ), ins AS (
        INSERT INTO upsert_guard_race.posts
        SELECT _user, upsert_guard_race.ts(_vt), series_num,
               'highlighted post of user ' || _user
        FROM next_highlighted_post_num
        RETURNING "weeklyHighlightedPostNumber"
    )
    SELECT coalesce(max("weeklyHighlightedPostNumber"), 0) INTO _slot FROM ins;
    RETURN _slot;
EXCEPTION WHEN unique_violation THEN
    INSERT INTO upsert_guard_race.events (kind, sqlstate) VALUES ('error', SQLSTATE);
    RETURN NULL;
END
$$;
