--
-- errors: every misuse of upsert_guard.select_or_insert, with its SQLSTATE
-- shown after the message (psql's SQLSTATE variable: the outcome of the
-- last query, 00000 had it succeeded), and the table unchanged after it.
--
CREATE SCHEMA soi_errors;
SET search_path = soi_errors, public;

CREATE TABLE articles (
    id bigserial PRIMARY KEY,
    title text UNIQUE,
    content text
);
INSERT INTO articles (title, content) VALUES ('existing', 'body');

--
-- Column names.
--
-- new_row names a column the table does not have
SELECT * FROM upsert_guard.select_or_insert(NULL::articles,
    '{"title": "a", "body": "x"}');
\echo SQLSTATE :SQLSTATE
-- names are matched exactly: no case folding, no identifier truncation
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"Title": "a"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::articles,
    jsonb_build_object('title' || repeat('x', 80), 'a'));
\echo SQLSTATE :SQLSTATE
-- conflict names a column the table does not have
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}',
    '{name}');
\echo SQLSTATE :SQLSTATE
-- a system column, in new_row and in conflict
SELECT * FROM upsert_guard.select_or_insert(NULL::articles,
    '{"title": "a", "ctid": "(0,1)"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}',
    '{xmin}');
\echo SQLSTATE :SQLSTATE
SELECT count(*) FROM articles;

--
-- The conflict target.
--
-- conflict names columns no unique index has exactly
SELECT * FROM upsert_guard.select_or_insert(NULL::articles,
    '{"title": "a", "content": "x"}', '{content}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::articles,
    '{"id": 7, "title": "a"}', '{id, title}');
\echo SQLSTATE :SQLSTATE
-- inference: no unique index has all of its columns in new_row
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"content": "x"}');
\echo SQLSTATE :SQLSTATE
-- inference: several have
SELECT * FROM upsert_guard.select_or_insert(NULL::articles,
    '{"id": 7, "title": "a"}');
\echo SQLSTATE :SQLSTATE
-- a table without any unique index
CREATE TABLE no_unique (k int, v text);
SELECT * FROM upsert_guard.select_or_insert(NULL::no_unique, '{"k": 1}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::no_unique, '{"k": 1}', '{k}');
\echo SQLSTATE :SQLSTATE
-- an expression index cannot be inferred nor named
CREATE TABLE expr_unique (k text, v text);
CREATE UNIQUE INDEX expr_unique_lower ON expr_unique (lower(k));
SELECT * FROM upsert_guard.select_or_insert(NULL::expr_unique, '{"k": "A"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::expr_unique, '{"k": "A"}', '{k}');
\echo SQLSTATE :SQLSTATE
-- a partial unique index is not supported as a conflict target
CREATE TABLE partial_unique (k int, active boolean);
CREATE UNIQUE INDEX partial_unique_k ON partial_unique (k) WHERE active;
SELECT * FROM upsert_guard.select_or_insert(NULL::partial_unique,
    '{"k": 1, "active": true}', '{k}');
\echo SQLSTATE :SQLSTATE
-- and is not inferred either
SELECT * FROM upsert_guard.select_or_insert(NULL::partial_unique,
    '{"k": 1, "active": true}');
\echo SQLSTATE :SQLSTATE
-- a deferrable unique constraint cannot be an arbiter
CREATE TABLE deferrable_unique (k int UNIQUE DEFERRABLE, v text);
SELECT * FROM upsert_guard.select_or_insert(NULL::deferrable_unique,
    '{"k": 1}', '{k}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::deferrable_unique, '{"k": 1}');
\echo SQLSTATE :SQLSTATE
SELECT (SELECT count(*) FROM articles) AS articles,
       (SELECT count(*) FROM no_unique) AS no_unique,
       (SELECT count(*) FROM expr_unique) AS expr_unique,
       (SELECT count(*) FROM partial_unique) AS partial_unique,
       (SELECT count(*) FROM deferrable_unique) AS deferrable_unique;

--
-- Argument "target".
--
-- not NULL
SELECT * FROM upsert_guard.select_or_insert(ROW(1, 'x', 'y')::articles,
    '{"title": "a"}');
\echo SQLSTATE :SQLSTATE
-- untyped NULL: PostgreSQL cannot resolve the polymorphic type
SELECT upsert_guard.select_or_insert(NULL, '{"title": "a"}');
\echo SQLSTATE :SQLSTATE
-- not a row type
SELECT upsert_guard.select_or_insert(NULL::int, '{"title": "a"}');
\echo SQLSTATE :SQLSTATE
SELECT upsert_guard.select_or_insert(NULL::articles[], '{"title": "a"}');
\echo SQLSTATE :SQLSTATE
-- row types of relations that are not tables
CREATE VIEW articles_view AS SELECT * FROM articles;
SELECT * FROM upsert_guard.select_or_insert(NULL::articles_view, '{"title": "a"}');
\echo SQLSTATE :SQLSTATE
CREATE MATERIALIZED VIEW articles_matview AS SELECT * FROM articles;
SELECT * FROM upsert_guard.select_or_insert(NULL::articles_matview, '{"title": "a"}');
\echo SQLSTATE :SQLSTATE
CREATE TYPE pair AS (title text, content text);
SELECT * FROM upsert_guard.select_or_insert(NULL::pair, '{"title": "a"}');
\echo SQLSTATE :SQLSTATE
-- (a sequence has no row type: PostgreSQL itself refuses the cast)
CREATE SEQUENCE counter;
SELECT * FROM upsert_guard.select_or_insert(NULL::counter, '{"last_value": 1}');
\echo SQLSTATE :SQLSTATE
CREATE FOREIGN DATA WRAPPER soi_errors_fdw;
CREATE SERVER soi_errors_server FOREIGN DATA WRAPPER soi_errors_fdw;
CREATE FOREIGN TABLE remote_articles (title text) SERVER soi_errors_server;
SELECT * FROM upsert_guard.select_or_insert(NULL::remote_articles, '{"title": "a"}');
\echo SQLSTATE :SQLSTATE
SELECT count(*) FROM articles;

--
-- Argument "new_row".
--
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '["title", "a"]');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '"title"');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, 'null');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, NULL);
\echo SQLSTATE :SQLSTATE
-- an empty object has no conflict columns
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{}');
\echo SQLSTATE :SQLSTATE
SELECT count(*) FROM articles;

--
-- Argument "lock".
--
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}',
    NULL, 'exclusive');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}',
    NULL, 'keyshare');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}',
    NULL, NULL);
\echo SQLSTATE :SQLSTATE
SELECT count(*) FROM articles;

--
-- Argument "conflict".
--
-- empty
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}', '{}');
\echo SQLSTATE :SQLSTATE
-- a NULL element
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}',
    ARRAY['title', NULL]);
\echo SQLSTATE :SQLSTATE
-- a column twice
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}',
    '{title, title}');
\echo SQLSTATE :SQLSTATE
-- a column without a value in new_row
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}',
    '{id}');
\echo SQLSTATE :SQLSTATE
-- two dimensions
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": "a"}',
    '{{title}}');
\echo SQLSTATE :SQLSTATE
SELECT count(*) FROM articles;

--
-- Values.
--
-- a NULL key never conflicts, so it is refused
SELECT * FROM upsert_guard.select_or_insert(NULL::articles, '{"title": null}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::articles,
    '{"id": null, "title": "a"}', '{id}');
\echo SQLSTATE :SQLSTATE
-- a NULLS NOT DISTINCT index could find a NULL key, but that is not done yet
CREATE TABLE nnd (k int UNIQUE NULLS NOT DISTINCT, v text);
SELECT * FROM upsert_guard.select_or_insert(NULL::nnd, '{"k": null}');
\echo SQLSTATE :SQLSTATE
-- values the column type's input function rejects
CREATE TABLE typed (
    k int PRIMARY KEY,
    code varchar(3),
    day date,
    amount numeric(4,2),
    flag boolean
);
SELECT * FROM upsert_guard.select_or_insert(NULL::typed, '{"k": "one"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::typed, '{"k": 1.5}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::typed, '{"k": 99999999999}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::typed, '{"k": true}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::typed, '{"k": 1, "code": "toolong"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::typed, '{"k": 1, "day": "2026-02-30"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::typed, '{"k": 1, "amount": 100}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::typed, '{"k": 1, "flag": "maybe"}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::typed, '{"k": 1, "flag": {"a": 1}}');
\echo SQLSTATE :SQLSTATE
-- an array column takes array input syntax, not a JSON array
CREATE TABLE with_array (k int PRIMARY KEY, a int[]);
SELECT * FROM upsert_guard.select_or_insert(NULL::with_array, '{"k": 1, "a": [1, 2]}');
\echo SQLSTATE :SQLSTATE
SELECT (SELECT count(*) FROM typed) AS typed,
       (SELECT count(*) FROM with_array) AS with_array;

--
-- Constraints of the table, raised by the INSERT.
--
CREATE TABLE constrained (
    id int PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    age int CHECK (age >= 0)
);
INSERT INTO constrained VALUES (1, 'a@example.com', 'a', 30);
-- not null: a column absent from new_row, and a JSON null
SELECT * FROM upsert_guard.select_or_insert(NULL::constrained,
    '{"id": 2, "email": "b@example.com"}', '{id}');
\echo SQLSTATE :SQLSTATE
SELECT * FROM upsert_guard.select_or_insert(NULL::constrained,
    '{"id": 2, "email": "b@example.com", "name": null}', '{id}');
\echo SQLSTATE :SQLSTATE
-- a unique violation on the unique index that is not the arbiter
SELECT * FROM upsert_guard.select_or_insert(NULL::constrained,
    '{"id": 2, "email": "a@example.com", "name": "b"}', '{id}');
\echo SQLSTATE :SQLSTATE
-- a check violation
SELECT * FROM upsert_guard.select_or_insert(NULL::constrained,
    '{"id": 2, "email": "b@example.com", "name": "b", "age": -1}', '{id}');
\echo SQLSTATE :SQLSTATE
-- a foreign key violation
CREATE TABLE orders (
    id int PRIMARY KEY,
    customer int NOT NULL REFERENCES constrained
);
SELECT * FROM upsert_guard.select_or_insert(NULL::orders,
    '{"id": 1, "customer": 2}');
\echo SQLSTATE :SQLSTATE
-- a generated column given a value
CREATE TABLE generated (
    k int PRIMARY KEY,
    v int,
    doubled int GENERATED ALWAYS AS (v * 2) STORED
);
SELECT * FROM upsert_guard.select_or_insert(NULL::generated,
    '{"k": 1, "v": 1, "doubled": 2}');
\echo SQLSTATE :SQLSTATE
SELECT (SELECT count(*) FROM constrained) AS constrained,
       (SELECT count(*) FROM orders) AS orders,
       (SELECT count(*) FROM generated) AS generated;
-- the existing row is still found: violations only concern inserts
SELECT * FROM upsert_guard.select_or_insert(NULL::constrained,
    '{"id": 1, "email": "x@example.com", "age": -1}', '{id}');

--
-- The GUC upsert_guard.max_attempts: default 10, at least 1.  (Running out
-- of attempts needs concurrent transactions: see the isolation specs.)
--
SHOW upsert_guard.max_attempts;
SET upsert_guard.max_attempts = 0;
\echo SQLSTATE :SQLSTATE
SET upsert_guard.max_attempts = 'many';
\echo SQLSTATE :SQLSTATE
SET upsert_guard.max_attempts = 1;
SHOW upsert_guard.max_attempts;
-- one attempt is enough when nothing runs concurrently
SELECT o.outcome, (o.result).title
  FROM upsert_guard.select_or_insert_outcome(NULL::articles,
    '{"title": "one attempt"}') o;
RESET upsert_guard.max_attempts;
SHOW upsert_guard.max_attempts;
-- the prefix is reserved: a misspelt name is an error
SET upsert_guard.max_attempt = 5;
\echo SQLSTATE :SQLSTATE

--
-- statement_timeout cancels a call (here one whose insert is slowed by a
-- trigger): 57014, nothing written, and the session goes on.
--
CREATE TABLE slow (k int PRIMARY KEY);
CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN PERFORM pg_sleep(5); RETURN NEW; END$$;
CREATE TRIGGER slow_down BEFORE INSERT ON slow
    FOR EACH ROW EXECUTE FUNCTION slow_down();
SET statement_timeout = '200ms';
SELECT * FROM upsert_guard.select_or_insert(NULL::slow, '{"k": 1}');
\echo SQLSTATE :SQLSTATE
RESET statement_timeout;
SELECT count(*) AS slow_rows FROM slow;

-- after all of the above, only the rows inserted on purpose
SELECT * FROM articles ORDER BY id;

SET client_min_messages = warning;
DROP SCHEMA soi_errors CASCADE;
DROP SERVER soi_errors_server CASCADE;
DROP FOREIGN DATA WRAPPER soi_errors_fdw;
RESET client_min_messages;
