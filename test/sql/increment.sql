--
-- increment: upsert_guard.increment and increment_outcome on the visit
-- counter of seed 003.  The first call for a key inserts new_row as given
-- (its starting values: the deltas are NOT applied); every later call adds
-- the deltas to the existing row, a NULL current value counting as 0.
-- Unlike INSERT ... ON CONFLICT DO UPDATE, a call on an existing row does
-- not evaluate new_row's defaults, so it burns no sequence value.
--
-- Errors are followed by psql's SQLSTATE variable (00000 had the call
-- succeeded) and by a look at the table: nothing written.
--
-- Everything lives in schema inc_test, dropped at the end.
--
CREATE SCHEMA inc_test;
SET search_path = inc_test, public;

--
-- Seed 003: one row per visitor, count the visits.
--
CREATE TABLE visits (
    id serial PRIMARY KEY,
    email text UNIQUE NOT NULL,
    count int NOT NULL
);
-- first visit: inserted with count 1 (the delta is not added to it)
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"count": 1}') o;
-- second visit: count + 1
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"count": 1}') o;
-- increment returns the row alone; conflict named; named arguments
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"count": 1}', '{email}');
SELECT * FROM upsert_guard.increment(target => NULL::visits,
    new_row => '{"email": "betty@example.com", "count": 1}',
    deltas => '{"count": 1}');
SELECT (upsert_guard.increment(deltas => '{"count": 1}',
    new_row => '{"email": "betty@example.com", "count": 1}',
    target => NULL::visits)).count;
-- the seed's goal: amir 3, betty 2
SELECT email, count FROM visits ORDER BY id;
-- a delta other than 1, and a negative one
SELECT o.outcome, (o.result).count
  FROM upsert_guard.increment_outcome(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"count": 10}') o;
SELECT o.outcome, (o.result).count
  FROM upsert_guard.increment_outcome(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"count": -12}') o;
SELECT o.outcome, (o.result).count
  FROM upsert_guard.increment_outcome(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"count": "-2"}') o;
-- new_row's starting value is used as given on insert, whatever the delta
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::visits,
    '{"email": "carol@example.com", "count": 100}', '{"count": -1}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::visits,
    '{"email": "carol@example.com", "count": 100}', '{"count": -1}') o;
SELECT * FROM visits ORDER BY id;

--
-- No sequence value burnt on the update path.  The three rows above took
-- ids 1 to 3; ten increments of existing rows leave the sequence alone.
-- INSERT ... ON CONFLICT DO UPDATE evaluates the id default before it
-- finds the conflict: one value burnt per call.
--
SELECT last_value FROM visits_id_seq;
SELECT count FROM visits WHERE email = 'amir@example.com';
DO $$
BEGIN
    FOR i IN 1 .. 10 LOOP
        PERFORM upsert_guard.increment(NULL::visits,
            '{"email": "amir@example.com", "count": 1}', '{"count": 1}');
    END LOOP;
END
$$;
SELECT count FROM visits WHERE email = 'amir@example.com';
SELECT last_value FROM visits_id_seq;
-- a new visitor takes the next value, 4
SELECT o.outcome, (o.result).id
  FROM upsert_guard.increment_outcome(NULL::visits,
    '{"email": "dave@example.com", "count": 1}', '{"count": 1}') o;
SELECT last_value FROM visits_id_seq;
-- the same ten increments with INSERT ... ON CONFLICT DO UPDATE: the
-- count goes up by 10 as well, and so does the sequence
DO $$
BEGIN
    FOR i IN 1 .. 10 LOOP
        INSERT INTO visits (email, count) VALUES ('amir@example.com', 1)
            ON CONFLICT (email) DO UPDATE SET count = visits.count + 1;
    END LOOP;
END
$$;
SELECT count FROM visits WHERE email = 'amir@example.com';
SELECT last_value FROM visits_id_seq;
-- and the next new visitor's id shows the gap
SELECT (upsert_guard.increment(NULL::visits,
    '{"email": "erin@example.com", "count": 1}', '{"count": 1}')).id;
SELECT email, count FROM visits ORDER BY id;

--
-- Several counters in one row, of several numeric types.
--
CREATE TABLE page_stats (
    path text PRIMARY KEY,
    views int NOT NULL DEFAULT 0,
    bytes bigint,
    seconds numeric(12,3),
    score float8,
    small smallint DEFAULT 0,
    label text
);
-- insert: only new_row's columns, the others take their defaults
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::page_stats,
    '{"path": "/", "views": 1, "label": "home"}',
    '{"views": 1, "bytes": 5000000000, "seconds": 1.25, "score": 0.5, "small": 2}') o;
-- update: every delta applied at once; bytes, seconds and score were NULL
-- and count as 0; a delta column need not be in new_row; label is not a
-- delta and stays as it is
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::page_stats,
    '{"path": "/", "views": 1, "label": "ignored"}',
    '{"views": 1, "bytes": 5000000000, "seconds": 1.25, "score": 0.5, "small": 2}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::page_stats,
    '{"path": "/"}',
    '{"views": 2, "bytes": 5000000000, "seconds": "0.0005", "score": -1.5e2, "small": -3}') o;
-- only some of the counters
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::page_stats,
    '{"path": "/"}', '{"bytes": -10000000000}') o;
-- bigint beyond the range of int
SELECT (upsert_guard.increment(NULL::page_stats,
    '{"path": "/"}', '{"bytes": 9000000000000000000}')).bytes;
-- a new key with no counter in new_row: the column defaults (views 0,
-- small 0, the others NULL); deltas apply from the second call
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::page_stats,
    '{"path": "/about"}', '{"views": 1, "seconds": 2}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::page_stats,
    '{"path": "/about"}', '{"views": 1, "seconds": 2}') o;
SELECT * FROM page_stats ORDER BY path;

--
-- A domain over a numeric type can be incremented, and its CHECK holds
-- for the result.
--
CREATE DOMAIN small_count AS int CHECK (VALUE <= 10);
CREATE TABLE limited (k text PRIMARY KEY, c small_count);
SELECT (upsert_guard.increment(NULL::limited, '{"k": "a", "c": 8}', '{"c": 1}')).c;
SELECT (upsert_guard.increment(NULL::limited, '{"k": "a", "c": 8}', '{"c": 2}')).c;
SELECT (upsert_guard.increment(NULL::limited, '{"k": "a", "c": 8}', '{"c": 1}')).c;
\echo SQLSTATE :SQLSTATE
SELECT * FROM limited;

--
-- A two-column key, given or inferred.
--
CREATE TABLE daily_visits (
    email text,
    day date,
    count int NOT NULL,
    PRIMARY KEY (email, day)
);
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::daily_visits,
    '{"email": "amir@example.com", "day": "2026-01-01", "count": 1}',
    '{"count": 1}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::daily_visits,
    '{"email": "amir@example.com", "day": "2026-01-02", "count": 1}',
    '{"count": 1}', '{day, email}') o;
SELECT o.outcome, (o.result).*
  FROM upsert_guard.increment_outcome(NULL::daily_visits,
    '{"email": "amir@example.com", "day": "2026-01-01", "count": 1}',
    '{"count": 1}', '{email, day}') o;
SELECT * FROM daily_visits ORDER BY day;

--
-- Errors, each followed by its SQLSTATE; nothing is written by any of
-- them.
--
SELECT string_agg(id || ':' || count || ':' || xmin::text, ',' ORDER BY id)
       AS before_errors
  FROM visits \gset
-- argument deltas: NULL, not an object, empty, a null amount
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', NULL);
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '["count", 1]');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '1');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', 'null');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"count": null}');
\echo SQLSTATE :SQLSTATE
-- a conflict column, inferred or named, cannot be incremented
SELECT * FROM upsert_guard.increment(NULL::daily_visits,
    '{"email": "amir@example.com", "day": "2026-01-01", "count": 1}',
    '{"day": 1}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"id": 1, "count": 1}', '{"id": 1}', '{id}');
\echo SQLSTATE :SQLSTATE
-- a column whose type is not numeric
SELECT * FROM upsert_guard.increment(NULL::page_stats,
    '{"path": "/"}', '{"label": 1}');
\echo SQLSTATE :SQLSTATE
-- a column the table does not have, a system column
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"visits": 1}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"xmin": 1}');
\echo SQLSTATE :SQLSTATE
-- the sum overflows the column's type: PostgreSQL's own error, raised
-- by the UPDATE
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "amir@example.com", "count": 1}', '{"count": 2147483647}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::page_stats,
    '{"path": "/"}', '{"bytes": 1000000000000000000}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::page_stats,
    '{"path": "/"}', '{"small": -32768}');
\echo SQLSTATE :SQLSTATE
-- errors shared with select_or_insert
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"count": 1}', '{"count": 1}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": null, "count": 1}', '{"count": 1}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::visits, NULL, '{"count": 1}');
\echo SQLSTATE :SQLSTATE
SELECT string_agg(id || ':' || count || ':' || xmin::text, ',' ORDER BY id)
       = :'before_errors' AS visits_unchanged
  FROM visits;
SELECT * FROM page_stats WHERE path = '/';
-- a new key whose new_row lacks a NOT NULL column: the INSERT's error;
-- only the INSERT evaluates the id default, which took a value that the
-- failed statement does not give back (sequences are not transactional)
SELECT last_value FROM visits_id_seq;
SELECT * FROM upsert_guard.increment(NULL::visits,
    '{"email": "zoe@example.com"}', '{"count": 1}');
\echo SQLSTATE :SQLSTATE
SELECT string_agg(id || ':' || count || ':' || xmin::text, ',' ORDER BY id)
       = :'before_errors' AS visits_unchanged
  FROM visits;
SELECT last_value FROM visits_id_seq;

--
-- Deltas: a bad amount is blamed on argument "deltas"; a domain's CHECK
-- applies to the sum, not to the amount; only smallint, integer, bigint,
-- numeric, real and double precision columns can be incremented.
--
CREATE DOMAIN nonneg AS int CHECK (VALUE >= 0);
CREATE TABLE stock (item text PRIMARY KEY, qty nonneg NOT NULL, worth money);
SELECT * FROM upsert_guard.increment(NULL::stock, '{"item": "bolt", "qty": 10}', '{"qty": 1}');
SELECT * FROM upsert_guard.increment(NULL::stock, '{"item": "bolt", "qty": 10}', '{"qty": -5}');
SELECT * FROM upsert_guard.increment(NULL::stock, '{"item": "bolt", "qty": 10}', '{"qty": -50}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::stock, '{"item": "bolt", "qty": 10}', '{"qty": 99999999999}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.increment(NULL::stock, '{"item": "bolt", "qty": 10}', '{"worth": 1}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM stock;

SET client_min_messages = warning;
DROP SCHEMA inc_test CASCADE;
RESET client_min_messages;
