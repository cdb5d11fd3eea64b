--
-- guard: guards in one session.  Seed 002's rules declared once and then
-- enforced on every write (the races themselves are in the isolation specs
-- guard_*.spec and the TAP test 004_guard_load.pl); what a violation
-- says; validation when a guard is declared; every misuse, with its
-- SQLSTATE shown after the message (psql's SQLSTATE variable, 00000 had it
-- succeeded); the lock helpers.
--
CREATE SCHEMA guard_test;
SET search_path = guard_test, public;

-- seed 002, cases 2 and 4: posts of users, some highlighted
CREATE TABLE posts (
    "userId" int NOT NULL,
    "createdAt" timestamp NOT NULL,
    highlighted boolean NOT NULL,
    "postContent" text NOT NULL
);

--
-- Case 4: "must wait 7 days before making another highlighted post".
--
SELECT upsert_guard.add_guard('one_highlight_per_7_days', 'posts', '{userId}',
    $$new.highlighted AND other.highlighted
      AND other."createdAt" > new."createdAt" - interval '7 days'
      AND other."createdAt" < new."createdAt" + interval '7 days'$$);
SELECT guard, table_name, key_columns, max_conflicts, table_owner = current_user::regrole AS mine, enforced
  FROM upsert_guard.guards;
-- the trigger it installed, named like the guard
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'posts'::regclass;

INSERT INTO posts VALUES (1, '2026-11-02 10:00', true, 'first highlight');
-- not highlighted: no conflict
INSERT INTO posts VALUES (1, '2026-11-03 10:00', false, 'plain');
-- another user: another key
INSERT INTO posts VALUES (2, '2026-11-03 10:00', true, 'user 2');
-- six days later: refused, naming the guard, the key and the conflicting row
INSERT INTO posts VALUES (1, '2026-11-08 10:00', true, 'too soon');
\echo SQLSTATE :SQLSTATE
-- and before it, too: the condition is symmetric
INSERT INTO posts VALUES (1, '2026-10-27 10:01', true, 'backdated');
\echo SQLSTATE :SQLSTATE
-- seven days later: allowed
INSERT INTO posts VALUES (1, '2026-11-09 10:00', true, 'a week later');
\echo SQLSTATE :SQLSTATE
-- two rows of one statement conflict with each other: the statement fails whole
INSERT INTO posts VALUES (3, '2026-11-10', true, 'a'), (3, '2026-11-11', true, 'b');
\echo SQLSTATE :SQLSTATE
SELECT count(*) AS user3_posts FROM posts WHERE "userId" = 3;
-- an UPDATE that moves a post to a user with a recent highlight
UPDATE posts SET "userId" = 1, "createdAt" = '2026-11-10' WHERE "userId" = 2;
\echo SQLSTATE :SQLSTATE
-- an UPDATE that makes a post highlighted too soon
UPDATE posts SET highlighted = true WHERE "postContent" = 'plain';
\echo SQLSTATE :SQLSTATE
-- an UPDATE that changes nothing the rule looks at passes
UPDATE posts SET "postContent" = 'edited' WHERE "postContent" = 'first highlight';
\echo SQLSTATE :SQLSTATE
-- deleting the first highlight frees the week before the second one
DELETE FROM posts WHERE "postContent" = 'edited';
INSERT INTO posts VALUES (1, '2026-11-02 09:00', true, 'now allowed');
\echo SQLSTATE :SQLSTATE
-- under REPEATABLE READ a violation the snapshot sees is still 23P01
BEGIN ISOLATION LEVEL REPEATABLE READ;
INSERT INTO posts VALUES (1, '2026-11-04', true, 'rr');
\echo SQLSTATE :SQLSTATE
ROLLBACK;
SELECT "userId", "createdAt", highlighted, "postContent" FROM posts ORDER BY 1, 2;
SELECT upsert_guard.drop_guard('one_highlight_per_7_days');

--
-- Case 2, one highlighted post per calendar week, and case 3, three:
-- the same condition, with max_conflicts 0 and 2.
--
TRUNCATE posts;
SELECT upsert_guard.add_guard('three_highlights_per_week', 'posts', '{userId}',
    $$new.highlighted AND other.highlighted
      AND date_trunc('week', other."createdAt") = date_trunc('week', new."createdAt")$$,
    max_conflicts => 2);
INSERT INTO posts
SELECT 1, timestamp '2026-11-16' + d * interval '1 day', true, 'day ' || d
  FROM generate_series(0, 2) AS d;
-- the fourth of the week is refused; the first of the next week is not
INSERT INTO posts VALUES (1, '2026-11-22 23:59', true, 'fourth');
\echo SQLSTATE :SQLSTATE
INSERT INTO posts VALUES (1, '2026-11-23 00:00', true, 'next week');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.drop_guard('three_highlights_per_week');
-- rows that already break a rule: the guard is refused, and nothing stays
SELECT upsert_guard.add_guard('one_highlight_per_week', 'posts', '{userId}',
    $$new.highlighted AND other.highlighted
      AND date_trunc('week', other."createdAt") = date_trunc('week', new."createdAt")$$);
\echo SQLSTATE :SQLSTATE
SELECT count(*) AS guards FROM upsert_guard.guard_definitions;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'posts'::regclass;
DELETE FROM posts WHERE "postContent" IN ('day 1', 'day 2');
SELECT upsert_guard.add_guard('one_highlight_per_week', 'posts', '{userId}',
    $$new.highlighted AND other.highlighted
      AND date_trunc('week', other."createdAt") = date_trunc('week', new."createdAt")$$);
\echo SQLSTATE :SQLSTATE
INSERT INTO posts VALUES (1, '2026-11-20', true, 'second this week');
\echo SQLSTATE :SQLSTATE

--
-- Keys with NULL are not grouped (as in a unique index): neither locked
-- nor checked.
--
CREATE TABLE badges (owner text, kind text, granted date);
SELECT upsert_guard.add_guard('one_badge_kind', 'badges', '{owner, kind}', 'true');
INSERT INTO badges VALUES ('ann', 'gold', '2026-01-01');
INSERT INTO badges VALUES ('ann', 'gold', '2026-02-01');
\echo SQLSTATE :SQLSTATE
INSERT INTO badges VALUES ('ann', 'silver', '2026-02-01');
INSERT INTO badges VALUES (NULL, 'gold', '2026-02-01'), (NULL, 'gold', '2026-03-01');
\echo SQLSTATE :SQLSTATE
SELECT count(*) FROM badges;

--
-- Partitioned tables: the guard sees every partition.
--
CREATE TABLE events (account int, at date, kind text) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT upsert_guard.add_guard('one_signup', 'events', '{account}',
    $$new.kind = 'signup' AND other.kind = 'signup'$$);
INSERT INTO events VALUES (1, '2025-06-01', 'signup');
INSERT INTO events VALUES (1, '2026-06-01', 'signup');
\echo SQLSTATE :SQLSTATE
INSERT INTO events VALUES (1, '2026-06-01', 'login'), (2, '2026-06-01', 'signup');
\echo SQLSTATE :SQLSTATE
-- a partition added later is guarded too
CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
INSERT INTO events VALUES (2, '2027-06-01', 'signup');
\echo SQLSTATE :SQLSTATE
-- a row moving to another partition is checked where it lands
UPDATE events SET account = 1, at = '2025-02-01' WHERE account = 2;
\echo SQLSTATE :SQLSTATE
UPDATE events SET at = '2025-02-01' WHERE account = 2;
\echo SQLSTATE :SQLSTATE
SELECT tableoid::regclass, * FROM events ORDER BY account, at;

--
-- The condition is parsed under search_path pg_catalog, pg_temp: a
-- function or operator the caller's search_path puts first is not used.
--
CREATE SCHEMA guard_evil;
CREATE FUNCTION guard_evil.date_trunc(text, timestamp) RETURNS timestamp
    LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'guard_evil.date_trunc called'; RETURN $2; END$$;
CREATE FUNCTION guard_evil.lower(text) RETURNS text
    LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'guard_evil.lower called'; RETURN $1; END$$;
CREATE FUNCTION guard_evil.text_eq(text, text) RETURNS boolean
    LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'guard_evil.= called'; RETURN false; END$$;
CREATE OPERATOR guard_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = guard_evil.text_eq);
SET search_path = guard_evil, pg_catalog, guard_test, public;
-- they do shadow the built-ins in plain SQL
SELECT date_trunc('week', timestamp '2026-11-20'), lower('X'), 'a' = 'a' AS eq;
CREATE TABLE guard_test.tags (name text, owner int);
SELECT upsert_guard.add_guard('unique_tag', 'guard_test.tags', '{owner}',
    'lower(new.name) = lower(other.name)');
INSERT INTO guard_test.tags VALUES ('Red', 1);
INSERT INTO guard_test.tags VALUES ('RED', 1);
\echo SQLSTATE :SQLSTATE
INSERT INTO guard_test.posts VALUES (9, '2026-11-20', true, 'x'), (9, '2026-11-21', true, 'y');
\echo SQLSTATE :SQLSTATE
SET search_path = guard_test, public;
-- Nor does the writer's string syntax: a backslash in the condition's
-- literal means a backslash for every writer, standard_conforming_strings
-- off included.
CREATE TABLE paths (owner int, path text);
SELECT upsert_guard.add_guard('one_backslash_path', 'paths', '{owner}',
    $$new.path = 'a\b' AND other.path = 'a\b'$$);
INSERT INTO paths VALUES (1, E'a\\b');
SET standard_conforming_strings = off;
INSERT INTO paths VALUES (1, E'a\\b');
\echo SQLSTATE :SQLSTATE
RESET standard_conforming_strings;
SELECT count(*) AS paths FROM paths;
SELECT upsert_guard.drop_guard('one_backslash_path');
DROP TABLE paths;

--
-- Misuse.
--
-- NULL arguments
SELECT upsert_guard.add_guard(NULL, 'posts', '{userId}', 'true');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', NULL, 'true');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', NULL);
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.drop_guard(NULL);
\echo SQLSTATE :SQLSTATE
-- names: empty, too long for a trigger, taken
SELECT upsert_guard.add_guard('', 'posts', '{userId}', 'true');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard(repeat('g', 64), 'posts', '{userId}', 'true');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('one_highlight_per_week', 'badges', '{owner}', 'true');
\echo SQLSTATE :SQLSTATE
-- not a table
CREATE VIEW posts_view AS SELECT * FROM posts;
SELECT upsert_guard.add_guard('g', 'posts_view', '{userId}', 'true');
\echo SQLSTATE :SQLSTATE
-- an inheritance parent: rows written to a child would not be guarded
CREATE TABLE parent (k int);
CREATE TABLE child () INHERITS (parent);
SELECT upsert_guard.add_guard('g', 'parent', '{k}', 'true');
\echo SQLSTATE :SQLSTATE
-- key columns: none, unknown, system, twice, NULL, a type with no hash opclass
SELECT upsert_guard.add_guard('g', 'posts', '{}', 'true');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{userid}', 'true');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{ctid}', 'true');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{userId,userId}', 'true');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', ARRAY['userId', NULL], 'true');
\echo SQLSTATE :SQLSTATE
CREATE TABLE shapes (p point, note text);
SELECT upsert_guard.add_guard('g', 'shapes', '{p}', 'true');
\echo SQLSTATE :SQLSTATE
-- max_conflicts below 0
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'true', -1);
\echo SQLSTATE :SQLSTATE
-- conditions that are not one boolean expression over new and other
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'true; DROP TABLE posts');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'true) FROM pg_class WHERE (true');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'true), (false');
\echo SQLSTATE :SQLSTATE
-- one expression alone, but it would close the check's own parenthesis
-- and escape the key match: refused
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'true) OR (true');
\echo SQLSTATE :SQLSTATE
-- parentheses in literals, quoted names and comments are not counted
SELECT upsert_guard.add_guard('g', 'posts', '{userId}',
    $$'x) OR (y' <> '' AND new."postContent" = other."postContent" -- ) OR (true$$);
SELECT upsert_guard.drop_guard('g');
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'true /*');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'new.nope');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'highlighted');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'new."createdAt"');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.add_guard('g', 'posts', '{userId}', 'new.ctid = other.ctid');
\echo SQLSTATE :SQLSTATE
-- a trailing comment is harmless: the condition ends on its own line
SELECT upsert_guard.add_guard('g', 'badges', '{owner}', 'new.kind = other.kind -- same kind');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.drop_guard('g');
-- nothing of the failed calls stayed
SELECT guard FROM upsert_guard.guard_definitions ORDER BY guard;
-- dropping a guard that is not there
SELECT upsert_guard.drop_guard('no_such_guard');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.drop_guard('no_such_guard', missing_ok => true);
-- the trigger function is only for guards' triggers
SELECT upsert_guard._guard_trigger();
\echo SQLSTATE :SQLSTATE
CREATE TABLE other_table (k int);
CREATE TRIGGER borrowed AFTER INSERT ON other_table
    FOR EACH ROW EXECUTE FUNCTION upsert_guard._guard_trigger('one_signup');
INSERT INTO other_table VALUES (1);
\echo SQLSTATE :SQLSTATE
CREATE TRIGGER before_trigger BEFORE INSERT ON other_table
    FOR EACH ROW EXECUTE FUNCTION upsert_guard._guard_trigger('one_signup');
DROP TRIGGER borrowed ON other_table;
INSERT INTO other_table VALUES (1);
\echo SQLSTATE :SQLSTATE
DROP TABLE other_table;

--
-- Schema changes: a renamed key column breaks the guard loudly (the
-- definition keeps names, so pg_dump can restore it); re-adding fixes it.
--
ALTER TABLE badges RENAME COLUMN owner TO holder;
INSERT INTO badges VALUES ('bob', 'gold', '2026-01-01');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.drop_guard('one_badge_kind');
SELECT upsert_guard.add_guard('one_badge_kind', 'badges', '{holder, kind}', 'true');
INSERT INTO badges VALUES ('bob', 'gold', '2026-01-01');
\echo SQLSTATE :SQLSTATE
-- a dropped table leaves its definition behind, not enforced; adding a
-- guard clears such leftovers away
DROP TABLE shapes, events;
SELECT guard, enforced, table_owner FROM upsert_guard.guards ORDER BY guard;
CREATE TABLE shapes (p point, note text);
SELECT upsert_guard.add_guard('notes', 'shapes', '{note}', 'true');
SELECT guard, enforced FROM upsert_guard.guards ORDER BY guard;
-- a trigger someone disabled shows as not enforced
ALTER TABLE shapes DISABLE TRIGGER notes;
SELECT guard, enforced FROM upsert_guard.guards WHERE guard = 'notes';

--
-- Lock helpers.  lock_key follows the documented derivation.
--
SELECT upsert_guard.lock_key('one_highlight_per_7_days', 42)
     = hashint4extended(42, hashtextextended('one_highlight_per_7_days', 0)) AS int4_derivation,
       upsert_guard.lock_key('ns', 42) = upsert_guard.lock_key('ns', 42::bigint) AS int8_alike,
       upsert_guard.lock_key('ns', 42) = upsert_guard.lock_key('ns', 42::smallint) AS int2_alike,
       upsert_guard.lock_key('ns', 1, 'x')
     = hashtextextended('x', hashint4extended(1, hashtextextended('ns', 0))) AS two_values,
       upsert_guard.lock_key('ns', VARIADIC ARRAY[1, 2])
     = upsert_guard.lock_key('ns', 1, 2) AS variadic_array,
       upsert_guard.lock_key('ns', 'x') = upsert_guard.lock_key('ns', 'x'::text) AS literal_is_text,
       upsert_guard.lock_key('ns', 42) <> upsert_guard.lock_key('other ns', 42) AS namespaces_differ;
-- the lock is pg_advisory_xact_lock's, visible in pg_locks, and gone at COMMIT
BEGIN;
SELECT upsert_guard.lock('ns', 42) = upsert_guard.lock_key('ns', 42) AS returns_its_key;
SELECT upsert_guard.try_lock('ns', 42) AS try_again_in_same_transaction;
SELECT locktype, mode, granted, objsubid,
       ((classid::bigint << 32) | objid::bigint) = upsert_guard.lock_key('ns', 42) AS same_key
  FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
-- the same lock through PostgreSQL's own function: no new lock
SELECT pg_advisory_xact_lock(upsert_guard.lock_key('ns', 42));
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
COMMIT;
SELECT count(*) AS advisory_locks_after_commit FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid();
-- a guarded write takes the guard's lock for the row's key
BEGIN;
INSERT INTO badges VALUES ('cy', 'gold', '2026-01-01');
SELECT ((classid::bigint << 32) | objid::bigint) = upsert_guard.lock_key('one_badge_kind', 'cy', 'gold')
       AS guard_lock_held
  FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
ROLLBACK;
-- misuse
SELECT upsert_guard.lock(NULL, 1);
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.lock('ns', NULL::int);
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.lock_key('ns', VARIADIC ARRAY[]::int[]);
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.lock_key('ns', VARIADIC NULL::int[]);
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.lock_key('ns', point '(1,2)');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.lock_key('ns');
\echo SQLSTATE :SQLSTATE

RESET search_path;
DROP SCHEMA guard_test, guard_evil CASCADE;
-- the definitions stay, enforcing nothing, until dropped
SELECT guard, enforced FROM upsert_guard.guards ORDER BY guard;
SELECT upsert_guard.drop_guard(guard) FROM upsert_guard.guard_definitions ORDER BY guard;
SELECT count(*) AS leftover_definitions FROM upsert_guard.guard_definitions;
