--
-- arbiter: the last argument of every function, naming the unique index or
-- the unique/primary-key constraint that decides conflicts -- expression
-- and partial indexes included, which conflict columns cannot name.
--
-- Seed 002, case 2: one highlighted post per user and week, enforced by a
-- partial unique index on an expression:
--   CREATE UNIQUE INDEX one_highlighted_post_per_week_constraint
--       ON posts ("userId", date_trunc('week', "createdAt"))
--       WHERE highlighted IS TRUE;
-- Its check-then-insert races; the calls below, naming the index as
-- arbiter, find the week's post or insert one.
--
-- The dates: 2026-11-16 is a Monday, so 2026-11-18 (Wednesday) and
-- 2026-11-20 (Friday) are one week, 2026-11-23 (Monday) the next.
--
-- Errors are followed by psql's SQLSTATE variable and by a look at the
-- table: nothing written.
--
-- Everything lives in schema arbiter_test (and schema hostile), dropped at
-- the end.
--
CREATE SCHEMA arbiter_test;
SET search_path = arbiter_test, public;

CREATE TABLE posts (
    "userId" int NOT NULL,
    "createdAt" timestamp NOT NULL,
    highlighted boolean NOT NULL,
    "postContent" text NOT NULL
);
CREATE UNIQUE INDEX one_highlighted_post_per_week_constraint
    ON posts ("userId", date_trunc('week', "createdAt"))
    WHERE highlighted IS TRUE;

--
-- select_or_insert.
--
-- user 1's first highlighted post of the week: inserted
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-18 10:00", "highlighted": true,
      "postContent": "Wednesday"}',
    arbiter => 'one_highlighted_post_per_week_constraint') o;
-- another one on Friday of the same week: the Wednesday post is found,
-- nothing inserted
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-20 18:30", "highlighted": true,
      "postContent": "Friday"}',
    arbiter => 'one_highlighted_post_per_week_constraint') o;
-- the next week: inserted
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-23 09:00", "highlighted": true,
      "postContent": "next Monday"}',
    arbiter => 'one_highlighted_post_per_week_constraint') o;
-- another user, the first week: inserted
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::posts,
    '{"userId": 2, "createdAt": "2026-11-20 18:30", "highlighted": true,
      "postContent": "user 2"}',
    arbiter => 'one_highlighted_post_per_week_constraint') o;
-- select_or_insert returns the row alone
SELECT * FROM upsert_guard.select_or_insert(NULL::posts,
    '{"userId": 2, "createdAt": "2026-11-16 00:00", "highlighted": true,
      "postContent": "user 2, Monday"}',
    arbiter => 'one_highlighted_post_per_week_constraint');
SELECT * FROM posts ORDER BY "userId", "createdAt";

--
-- idempotent_upsert: the week's post gets the new content.  Only
-- "postContent" is an update column here, so the post keeps its date.
--
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-19 12:00", "highlighted": true,
      "postContent": "Wednesday, edited"}',
    update_columns => '{postContent}',
    arbiter => 'one_highlighted_post_per_week_constraint') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-22 23:59", "highlighted": true,
      "postContent": "Wednesday, edited"}',
    update_columns => '{postContent}',
    arbiter => 'one_highlighted_post_per_week_constraint') o;
-- a week without a post: inserted
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-30 08:00", "highlighted": true,
      "postContent": "third week"}',
    update_columns => '{postContent}',
    arbiter => 'one_highlighted_post_per_week_constraint') o;
SELECT * FROM posts ORDER BY "userId", "createdAt";

--
-- idempotent_upsert_batch: the key of each row is its user and week.  Two
-- rows of user 3 in one week are one key (the first is a duplicate, the
-- last wins); user 1's week of 2026-11-16 gets new content; user 2's
-- post is as stored.
--
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::posts,
    '[{"userId": 3, "createdAt": "2026-11-17 10:00", "highlighted": true, "postContent": "draft"},
      {"userId": 1, "createdAt": "2026-11-16 00:00", "highlighted": true, "postContent": "batch"},
      {"userId": 2, "createdAt": "2026-11-20 18:30", "highlighted": true, "postContent": "user 2"},
      {"userId": 3, "createdAt": "2026-11-21 10:00", "highlighted": true, "postContent": "final"}]',
    update_columns => '{postContent}',
    arbiter => 'one_highlighted_post_per_week_constraint');
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::posts,
    '[{"userId": 3, "createdAt": "2026-11-17 10:00", "highlighted": true, "postContent": "draft"},
      {"userId": 1, "createdAt": "2026-11-16 00:00", "highlighted": true, "postContent": "batch"},
      {"userId": 2, "createdAt": "2026-11-20 18:30", "highlighted": true, "postContent": "user 2"},
      {"userId": 3, "createdAt": "2026-11-21 10:00", "highlighted": true, "postContent": "final"}]',
    update_columns => '{postContent}',
    arbiter => 'one_highlighted_post_per_week_constraint');
SELECT * FROM posts ORDER BY "userId", "createdAt";

--
-- Rows the index does not decide for, each followed by its SQLSTATE;
-- nothing is inserted.
--
SELECT count(*) AS posts_before FROM posts \gset
-- a post that is not highlighted is outside the index's predicate: no
-- existing row can ever conflict with it
SELECT * FROM upsert_guard.select_or_insert(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-18 10:00", "highlighted": false,
      "postContent": "plain"}',
    arbiter => 'one_highlighted_post_per_week_constraint');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert(NULL::posts,
    '{"userId": 4, "createdAt": "2026-11-18 10:00", "highlighted": false,
      "postContent": "plain"}',
    arbiter => 'one_highlighted_post_per_week_constraint');
\echo SQLSTATE :SQLSTATE
-- in a batch, naming the row; the good first row is not written either
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::posts,
    '[{"userId": 5, "createdAt": "2026-11-18 10:00", "highlighted": true, "postContent": "ok"},
      {"userId": 5, "createdAt": "2026-11-25 10:00", "highlighted": false, "postContent": "plain"}]',
    arbiter => 'one_highlighted_post_per_week_constraint');
\echo SQLSTATE :SQLSTATE
-- "createdAt" missing: the key depends on it
SELECT * FROM upsert_guard.select_or_insert(NULL::posts,
    '{"userId": 1, "highlighted": true, "postContent": "no date"}',
    arbiter => 'one_highlighted_post_per_week_constraint');
\echo SQLSTATE :SQLSTATE
-- highlighted missing: the predicate depends on it
SELECT * FROM upsert_guard.select_or_insert(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-18 10:00", "postContent": "no flag"}',
    arbiter => 'one_highlighted_post_per_week_constraint');
\echo SQLSTATE :SQLSTATE
SELECT count(*) - :posts_before AS posts_inserted FROM posts;

--
-- Conflict columns cannot name this index: its second column is an
-- expression, so no column list matches, and inference skips it.
--
SELECT * FROM upsert_guard.select_or_insert(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-18 10:00", "highlighted": true,
      "postContent": "x"}', '{userId, createdAt}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-18 10:00", "highlighted": true,
      "postContent": "x"}');
\echo SQLSTATE :SQLSTATE
-- a partial unique index on plain columns, named by its columns: 42P10,
-- with the HINT to name it as arbiter instead
CREATE TABLE drafts ("userId" int NOT NULL, slot int NOT NULL,
                     active boolean NOT NULL, body text);
CREATE UNIQUE INDEX one_active_draft_per_slot ON drafts ("userId", slot) WHERE active;
SELECT * FROM upsert_guard.select_or_insert(NULL::drafts,
    '{"userId": 1, "slot": 1, "active": true, "body": "x"}', '{userId, slot}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::drafts,
    '[{"userId": 1, "slot": 1, "active": true, "body": "x"}]', '{userId, slot}');
\echo SQLSTATE :SQLSTATE
-- as arbiter it works
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::drafts,
    '{"userId": 1, "slot": 1, "active": true, "body": "x"}',
    arbiter => 'one_active_draft_per_slot') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::drafts,
    '{"userId": 1, "slot": 1, "active": true, "body": "y"}',
    arbiter => 'one_active_draft_per_slot') o;

--
-- increment with an arbiter: a weekly visit counter (seed 003's counter,
-- one row per email and week).
--
CREATE TABLE weekly_visits (
    email text NOT NULL,
    visited_at timestamp NOT NULL,
    count int NOT NULL
);
CREATE UNIQUE INDEX weekly_visits_per_week
    ON weekly_visits (email, date_trunc('week', visited_at));
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::weekly_visits,
    '{"email": "a@x", "visited_at": "2026-11-18 10:00", "count": 1}', '{"count": 1}',
    arbiter => 'weekly_visits_per_week') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::weekly_visits,
    '{"email": "a@x", "visited_at": "2026-11-20 10:00", "count": 1}', '{"count": 1}',
    arbiter => 'weekly_visits_per_week') o;
SELECT * FROM upsert_guard.increment(NULL::weekly_visits,
    '{"email": "a@x", "visited_at": "2026-11-22 23:00", "count": 1}', '{"count": 1}',
    arbiter => 'weekly_visits_per_week');
-- the next week, and another email: inserted
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::weekly_visits,
    '{"email": "a@x", "visited_at": "2026-11-23 10:00", "count": 1}', '{"count": 1}',
    arbiter => 'weekly_visits_per_week') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::weekly_visits,
    '{"email": "b@x", "visited_at": "2026-11-20 10:00", "count": 1}', '{"count": 1}',
    arbiter => 'weekly_visits_per_week') o;
-- visited_at missing: 22023
SELECT * FROM upsert_guard.increment(NULL::weekly_visits,
    '{"email": "a@x", "count": 1}', '{"count": 1}',
    arbiter => 'weekly_visits_per_week');
\echo SQLSTATE :SQLSTATE
SELECT * FROM weekly_visits ORDER BY email, visited_at;

--
-- Naming the arbiter: by the name of a PRIMARY KEY or UNIQUE constraint,
-- or of a unique index that is no constraint.  The name is matched
-- exactly, as stored (not parsed as an identifier).
--
CREATE TABLE accounts (
    id int CONSTRAINT accounts_pk PRIMARY KEY,
    email text,
    handle text CONSTRAINT accounts_handle_unique UNIQUE,
    name text
);
CREATE UNIQUE INDEX accounts_email_lower ON accounts (lower(email));
INSERT INTO accounts VALUES (1, 'bob@x', 'bob', 'Bob');
-- the primary key: id 1 found (although handle and email differ)
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::accounts,
    '{"id": 1, "email": "robert@x", "handle": "robert", "name": "Robert"}',
    arbiter => 'accounts_pk') o;
-- the UNIQUE constraint: handle bob found
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::accounts,
    '{"id": 2, "email": "robert@x", "handle": "bob", "name": "Robert"}',
    arbiter => 'accounts_handle_unique') o;
-- the expression index lower(email): 'Bob@X' finds 'bob@x'
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::accounts,
    '{"id": 2, "email": "Bob@X", "handle": "bobby", "name": "Bobby"}',
    arbiter => 'accounts_email_lower') o;
-- idempotent_upsert by lower(email), name only: updates Bob's name
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::accounts,
    '{"id": 2, "email": "BOB@x", "handle": "bobby", "name": "Bobby"}',
    update_columns => '{name}', arbiter => 'accounts_email_lower') o;
-- a new email: inserted
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::accounts,
    '{"id": 2, "email": "Carol@X", "handle": "carol", "name": "Carol"}',
    arbiter => 'accounts_email_lower') o;
-- the batch by lower(email): 'CAROL@x' and 'carol@X' are one key
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::accounts,
    '[{"id": 3, "email": "CAROL@x", "name": "Caroline"},
      {"id": 3, "email": "dave@x", "name": "Dave"},
      {"id": 4, "email": "carol@X", "name": "Carol B."}]',
    update_columns => '{name}', arbiter => 'accounts_email_lower');
SELECT * FROM accounts ORDER BY id;

--
-- Errors in naming the arbiter, each followed by its SQLSTATE.
--
SELECT count(*) AS accounts_before FROM accounts \gset
-- an unknown name, a name of another table's index, the name in another
-- case or quoted: 42704
SELECT * FROM upsert_guard.select_or_insert(NULL::accounts,
    '{"id": 9, "email": "e@x", "handle": "e", "name": "E"}', arbiter => 'accounts_email');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::accounts,
    '{"id": 9, "email": "e@x", "handle": "e", "name": "E"}',
    arbiter => 'one_highlighted_post_per_week_constraint');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::accounts,
    '{"id": 9, "email": "e@x", "handle": "e", "name": "E"}', arbiter => 'ACCOUNTS_PK');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::accounts,
    '[{"id": 9, "email": "e@x", "handle": "e", "name": "E"}]', arbiter => '"accounts_pk"');
\echo SQLSTATE :SQLSTATE
-- both conflict and arbiter: 22023
SELECT * FROM upsert_guard.select_or_insert(NULL::accounts,
    '{"id": 9, "email": "e@x", "handle": "e", "name": "E"}', '{id}',
    arbiter => 'accounts_pk');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::accounts,
    '[{"id": 9, "email": "e@x", "handle": "e", "name": "E"}]', '{id}',
    arbiter => 'accounts_pk');
\echo SQLSTATE :SQLSTATE
-- a deferrable unique constraint cannot decide conflicts: 42809
ALTER TABLE accounts ADD CONSTRAINT accounts_name_unique UNIQUE (name) DEFERRABLE;
SELECT * FROM upsert_guard.select_or_insert(NULL::accounts,
    '{"id": 9, "email": "e@x", "handle": "e", "name": "E"}',
    arbiter => 'accounts_name_unique');
\echo SQLSTATE :SQLSTATE
-- an exclusion constraint is no unique index: 42704
CREATE TABLE bookings (room int, during tsrange,
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (during WITH &&));
SELECT * FROM upsert_guard.select_or_insert(NULL::bookings,
    '{"room": 1, "during": "[2026-11-18 10:00, 2026-11-18 11:00)"}',
    arbiter => 'bookings_no_overlap');
\echo SQLSTATE :SQLSTATE
SELECT count(*) AS bookings FROM bookings;
-- a key expression that is NULL (lower(NULL)): such a row never
-- conflicts, 22004
SELECT * FROM upsert_guard.select_or_insert(NULL::accounts,
    '{"id": 9, "email": null, "handle": "e", "name": "E"}',
    arbiter => 'accounts_email_lower');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert(NULL::accounts,
    '{"id": 9, "email": null, "handle": "e", "name": "E"}',
    arbiter => 'accounts_email_lower');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.idempotent_upsert_batch(NULL::accounts,
    '[{"id": 9, "email": "e@x", "name": "E"}, {"id": 10, "email": null, "name": "F"}]',
    arbiter => 'accounts_email_lower');
\echo SQLSTATE :SQLSTATE
SELECT count(*) - :accounts_before AS accounts_inserted FROM accounts;

--
-- A hostile search_path: schema hostile, searched before pg_catalog, has
-- its own date_trunc(text, timestamp) and lower(text) returning constants
-- (with them, every post would be in one week and every email one key).
-- The calls evaluate the index's expressions as the index does, with the
-- functions it was built with, and leave the caller's search_path as it
-- was.
--
CREATE SCHEMA hostile;
CREATE FUNCTION hostile.date_trunc(text, timestamp) RETURNS timestamp
    LANGUAGE sql IMMUTABLE AS $$SELECT timestamp '2000-01-03'$$;
CREATE FUNCTION hostile.lower(text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$SELECT 'everyone'$$;
SET search_path = hostile, pg_catalog, arbiter_test, public;
SELECT date_trunc('week', timestamp '2026-11-18') AS hostile_week,
       lower('Bob@X') AS hostile_lower;
-- user 1's week of 2026-11-16 is found; a new week of user 1 and a new
-- email are inserted (with the hostile functions both would be "found")
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::posts,
    '{"userId": 1, "createdAt": "2026-11-18 10:00", "highlighted": true,
      "postContent": "x"}',
    arbiter => 'one_highlighted_post_per_week_constraint') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.select_or_insert_outcome(NULL::posts,
    '{"userId": 1, "createdAt": "2026-12-07 10:00", "highlighted": true,
      "postContent": "December"}',
    arbiter => 'one_highlighted_post_per_week_constraint') o;
SHOW search_path;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::accounts,
    '{"id": 5, "email": "Eve@x", "handle": "eve", "name": "Eve"}',
    arbiter => 'accounts_email_lower') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.idempotent_upsert_outcome(NULL::accounts,
    '{"id": 5, "email": "eve@x", "handle": "eve", "name": "Eve"}',
    update_columns => '{handle, name}', arbiter => 'accounts_email_lower') o;
SHOW search_path;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::weekly_visits,
    '{"email": "a@x", "visited_at": "2026-11-30 10:00", "count": 1}', '{"count": 1}',
    arbiter => 'weekly_visits_per_week') o;
SELECT * FROM upsert_guard.idempotent_upsert_batch_outcomes(NULL::posts,
    '[{"userId": 2, "createdAt": "2026-11-17 10:00", "highlighted": true, "postContent": "user 2"},
      {"userId": 2, "createdAt": "2026-12-08 10:00", "highlighted": true, "postContent": "user 2, December"}]',
    update_columns => '{postContent}',
    arbiter => 'one_highlighted_post_per_week_constraint');
SHOW search_path;
-- after an error, too
SELECT * FROM upsert_guard.select_or_insert(NULL::accounts,
    '{"id": 9, "email": null, "handle": "e", "name": "E"}',
    arbiter => 'accounts_email_lower');
\echo SQLSTATE :SQLSTATE
SHOW search_path;
SELECT date_trunc('week', timestamp '2026-11-18') AS still_hostile_week;
SET search_path = arbiter_test, public;
SELECT * FROM posts ORDER BY "userId", "createdAt";
SELECT * FROM accounts ORDER BY id;
SELECT * FROM weekly_visits ORDER BY email, visited_at;

SET client_min_messages = warning;
DROP SCHEMA hostile CASCADE;
DROP SCHEMA arbiter_test CASCADE;
RESET client_min_messages;
