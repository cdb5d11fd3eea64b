-- bench/highlight_three/slot_number.sql: the article's fix for seed 002
-- case 3, its CTE INSERT that takes the first free
-- "weeklyHighlightedPostNumber" (insert_slot_post() in setup.sql), on its
-- table with the CHECK 1 to 3 and the partial unique index.
--
-- One statement per call.  It cannot insert a fourth post, but two
-- sessions that pick the same free number collide on the unique index:
-- the second fails with 23505 (recorded) although another slot may be free.
--
-- pgbench script; bench/race runs it with -D users=5 (key spread "hot") or
-- -D users=100 ("wide"), and -D t0=<the virtual clock's origin>.
\set u random(1, :users)
SELECT upsert_guard_race.vclock(:t0) AS vt \gset
SELECT upsert_guard_race.insert_slot_post(:u, :vt);
