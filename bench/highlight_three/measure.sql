-- bench/highlight_three/measure.sql: the figures of one run.  Prints one
-- CSV fragment: violations, highlighted_posts, max_per_week.
--   violations    highlighted posts beyond the third of a user's week:
--                 sum(n - 3) over (user, week) with n > 3.  Must be 0.
--   max_per_week  the most highlighted posts one user has in one week
--                 (the rule: 3).
WITH w AS (
    SELECT count(*) AS n
    FROM upsert_guard_race.highlights
    GROUP BY "userId", date_trunc('week', "createdAt")
)
SELECT concat_ws(',',
    (SELECT coalesce(sum(n - 3), 0) FROM w WHERE n > 3),
    (SELECT count(*) FROM upsert_guard_race.highlights),
    (SELECT coalesce(max(n), 0) FROM w));
