-- bench/serializable/reset.sql: a fresh, empty posts table before each
-- variant's run: highlight_7days's table, with an index on
-- ("userId", "createdAt") (the article: "make sure you have indexes that
-- support your queries", so that SERIALIZABLE's predicate locks cover the
-- user's rows and not the whole table).
-- psql variable: variant
--   naive, serializable, serializable_retry   no constraint
--   guard          upsert_guard.add_guard with case 4's rule
\ir ../highlight_7days/reset.sql
