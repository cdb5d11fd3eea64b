-- bench/serializable/setup.sql: objects for seed 002's last section, the
-- 7-day rule of case 4 kept by SERIALIZABLE transactions instead of a
-- lock, created by bench/race in its scratch schema upsert_guard_race,
-- which it drops when the run ends.  The same objects as highlight_7days:
-- the clock, the events table and the INSERT wrapper
-- (bench/lib/highlight.sql); the posts table comes from reset.sql.
--
-- The invariant: no two highlighted posts of a user less than 7 days apart.

\ir ../highlight_7days/setup.sql
