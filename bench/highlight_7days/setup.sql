-- bench/highlight_7days/setup.sql: objects for seed 002 case 4, "wait 7
-- days after a highlighted post before the next", created by bench/race in
-- its scratch schema upsert_guard_race, which it drops when the run ends.
-- The table posts is created per variant by reset.sql; the clock, the
-- events table and the INSERT wrapper are bench/lib/highlight.sql's.
--
--   take_post_modify_lock_function()  the article's trigger function,
--                                     attached by reset.sql for the
--                                     advisory_lock variant
--
-- The invariant: no two highlighted posts of a user less than 7 days apart.

\ir ../lib/highlight.sql

-- The article's trigger function, verbatim but for the schema: it takes
-- the transaction-scoped advisory lock (5000, "userId") of every row
-- written, so that a writer that forgot to take it first still queues
-- behind a check in progress.  (As the article writes it, a BEFORE DELETE
-- trigger returns NEW, which is NULL for a DELETE, so it silently cancels
-- every DELETE; the bench never deletes.)
CREATE FUNCTION upsert_guard_race.take_post_modify_lock_function()
RETURNS TRIGGER
LANGUAGE PLPGSQL
AS $$
BEGIN
    IF OLD."userId" IS NOT NULL THEN
        PERFORM PG_ADVISORY_XACT_LOCK(5000, OLD."userId");
    END IF;
    IF NEW."userId" IS NOT NULL THEN
        PERFORM PG_ADVISORY_XACT_LOCK(5000, NEW."userId");
    END IF;
    RETURN NEW;
END;
$$;
