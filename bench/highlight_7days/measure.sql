-- bench/highlight_7days/measure.sql: the figures of one run.  Prints one
-- CSV fragment: violations, highlighted_posts, min_gap_days.
--   violations    highlighted posts less than 7 days after the user's
--                 previous highlighted post.  Must be 0.
--   min_gap_days  the shortest time between two highlighted posts of one
--                 user, in days (the rule: 7 or more; a real millisecond
--                 is 20 virtual minutes, bench/lib/highlight.sql).
WITH g AS (
    SELECT "createdAt" - lag("createdAt") OVER (PARTITION BY "userId" ORDER BY "createdAt") AS gap
    FROM upsert_guard_race.highlights
)
SELECT concat_ws(',',
    (SELECT count(*) FROM g WHERE gap < interval '7 days'),
    (SELECT count(*) FROM upsert_guard_race.highlights),
    (SELECT coalesce(round(extract(epoch FROM min(gap)) / 86400, 3)::text, '-') FROM g));
