-- bench/lib/update_fires.sql: the UPDATE-trigger counter every scenario's
-- table carries, included by each setup.sql in bench/race's scratch schema.
--
--   update_fires    counts AFTER UPDATE trigger fires (the side effect seed
--                   001 wants to avoid: an UPDATE trigger firing for a row
--                   that did not change); an UNLOGGED sequence: cheap,
--                   non-transactional, no row contention, no WAL
--   count_update()  the trigger function; a scenario attaches it to its
--                   table AFTER UPDATE FOR EACH ROW
--
-- bench/race reads the sequence before and after each run; the difference
-- is the report's upd_trig column.

CREATE UNLOGGED SEQUENCE upsert_guard_race.update_fires;

CREATE FUNCTION upsert_guard_race.count_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('upsert_guard_race.update_fires');
    RETURN NULL;
END
$$;
