-- bench/highlight_week/measure.sql: the figures of one run.  Prints one
-- CSV fragment: violations, highlighted_posts, max_per_week.
--   violations    highlighted posts beyond the first of a user's week:
--                 sum(n - 1) over (user, week) with n > 1.  Must be 0.
--   max_per_week  the most highlighted posts one user has in one week
--                 (the rule: 1).
WITH w AS (
    SELECT count(*) AS n
    FROM upsert_guard_race.highlights
    GROUP BY "userId", date_trunc('week', "createdAt")
)
SELECT concat_ws(',',
    (SELECT coalesce(sum(n - 1), 0) FROM w WHERE n > 1),
    (SELECT count(*) FROM upsert_guard_race.highlights),
    (SELECT coalesce(max(n), 0) FROM w));
