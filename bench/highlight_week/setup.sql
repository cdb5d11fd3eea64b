-- bench/highlight_week/setup.sql: objects for seed 002 case 2, "one
-- highlighted post per user and calendar week", created by bench/race in
-- its scratch schema upsert_guard_race, which it drops when the run ends.
-- The table posts is created per variant by reset.sql; the clock, the
-- events table and the INSERT wrapper are bench/lib/highlight.sql's.
--
-- The invariant: no user has two highlighted posts in one week
-- (date_trunc('week', "createdAt"): weeks start on Monday).

\ir ../lib/highlight.sql
