-- bench/visit_counter/reset.sql: a fresh, empty table before each
-- variant's run (the id sequence restarts too).
SET client_min_messages = warning;
TRUNCATE upsert_guard_race.visits, upsert_guard_race.events RESTART IDENTITY;
ANALYZE upsert_guard_race.visits;
