-- bench/serializable/measure.sql: the figures of one run, as for
-- highlight_7days: violations, highlighted_posts, min_gap_days.
\ir ../highlight_7days/measure.sql
