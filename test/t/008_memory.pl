# Copyright (c) upsert_guard contributors
#
# 008_memory.pl: a million calls in one backend, and its memory does not
# grow.
#
# One psql session (one backend) runs the procedure churn() in rounds of
# 12,500 iterations.  Each iteration calls:
#
#   select_or_insert    a key that exists (found) and a new one (inserted)
#   idempotent_upsert   a new key (inserted), a changed value (updated),
#                       the same value again (unchanged)
#   increment           an existing counter (and, every 10th, a new one)
#   a guarded insert    a row into a table with a guard (its trigger
#                       takes the key's lock and runs the check)
#   lock_key            the lock key of a value
#
# and every 10th iteration seven calls that fail, each caught by its own
# exception block that expects its SQLSTATE (23P01 from the guard, 42703,
# 42804, 23502 from the INSERT inside a call, with and without a named
# arbiter, 22P02, 22004).  It commits every 100 iterations, as a batch
# job would, and every 1,000 iterations changes a storage parameter of
# each table, which invalidates its cached plans (as autovacuum's ANALYZE
# does) so that they are rebuilt and the old ones freed.
#
# After a first round (the warm-up, 110k calls: every cache is filled)
# and after each further round, the session records its memory: every
# memory context (pg_backend_memory_contexts: how many, total and used
# bytes; CacheMemoryContext with its children, where the plan cache
# lives; the extension's own "upsert_guard ..." contexts) and the
# process's RssAnon and VmRSS from /proc/self/status (read by the backend
# itself with pg_read_file, so the numbers are that backend's).  From
# the warm-up to the end (990k more calls, 79k of them errors, 112
# rebuilds of each table's plans) the growth must stay under bounds that
# a leak would break:
#
#   used bytes of all contexts   < 256 kB: the chunks in use.  The
#       smallest palloc chunk with its header is 24 bytes: one lost every
#       50 calls would add 475 kB, one per error 1.9 MB, one per call
#       24 MB;
#   total bytes of all contexts  < 2 MB: the same with the free space of
#       the blocks (a context grows by doubling blocks, so one more block
#       of CacheMemoryContext can be 1 MB without any leak);
#   CacheMemoryContext with its children < 2 MB, and the extension's own
#       contexts < 64 kB: a replaced plan kept would add about 15 kB;
#   number of contexts           < 10 more: a plan or context kept per
#       call, or per rebuild, would add hundreds;
#   RssAnon                      < 8 MB: the process's private memory,
#       malloc'd blocks included, whatever the contexts say (under
#       test/asan it includes ASan's 64 MB quarantine of freed memory,
#       full after the warm-up).  VmRSS also counts the shared buffers
#       the backend touches, which grow with the tables and are no leak:
#       it is reported, not bounded.
#
# A second part checks memory within one statement: a SELECT over
# generate_series calls the functions for 50,000 rows, and records the
# memory at row 5,000 and at row 50,000 from inside the statement; memory
# a call left in the statement's or the transaction's contexts (freed
# only at its end) would grow there.  The guarded insert is left out of
# it: the guard's locks are held until the transaction ends, by design.
#
# Last, the tables show that the calls took the paths the test counts
# (rows inserted, values updated, the unchanged row never written,
# increments added, refused posts absent).
#
# Measured: the used bytes stay within a few kB (they go down by 16 kB),
# the contexts are the same 348, RssAnon grows by about 100 kB.  A leak
# of 32 bytes per call in TopMemoryContext fails the first part (33 MB),
# one in TopTransactionContext the second (11 MB in 45k rows), 24 bytes
# per error in a call's error context 2.1 MB, and replaced plans not
# freed 8 MB and 560 contexts.  About 25 s on an idle machine, 35 s
# under test/asan.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rounds = 10;	# of 12,500 iterations, 110k calls each
my $iterations = 12_500;
my $keys = 200_000;	# rows present from the start in each table

my $node = PostgreSQL::Test::Cluster->new('memory');
$node->init;
$node->start;

$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION upsert_guard;
CREATE TABLE items (k bigint PRIMARY KEY, label text NOT NULL);
CREATE TABLE profiles (k bigint PRIMARY KEY, v text NOT NULL);
CREATE TABLE counters (k bigint PRIMARY KEY, n bigint NOT NULL);
CREATE TABLE posts (user_id bigint NOT NULL, day date NOT NULL);
CREATE INDEX ON posts (user_id);
SELECT upsert_guard.add_guard('one_post_per_day', 'posts', ARRAY['user_id'],
  'new.day = other.day');
INSERT INTO items SELECT i, 'item' FROM generate_series(0, $keys - 1) i;
INSERT INTO profiles SELECT i, 'init' FROM generate_series(-1, $keys - 1) i;
INSERT INTO counters SELECT i, 0 FROM generate_series(0, $keys - 1) i;
VACUUM ANALYZE;

-- One iteration's calls for the global iteration number g; returns how
-- many calls it made.  Keys g % $keys exist (a round of 100 iterations,
-- one transaction, touches each at most once); keys from 1,000,000 up
-- are new.
CREATE FUNCTION one_iteration(g bigint) RETURNS int LANGUAGE plpgsql AS \$\$
DECLARE
    calls int := 8;
BEGIN
    PERFORM upsert_guard.select_or_insert(NULL::items,
        jsonb_build_object('k', g % $keys, 'label', 'item'));
    PERFORM upsert_guard.select_or_insert(NULL::items,
        jsonb_build_object('k', 1000000 + g, 'label', 'item'));
    PERFORM upsert_guard.idempotent_upsert(NULL::profiles,
        jsonb_build_object('k', 1000000 + g, 'v', 'new'));
    PERFORM upsert_guard.idempotent_upsert(NULL::profiles,
        jsonb_build_object('k', g % $keys, 'v', 'A' || g));
    PERFORM upsert_guard.idempotent_upsert(NULL::profiles,
        jsonb_build_object('k', -1, 'v', 'init'));
    PERFORM upsert_guard.increment(NULL::counters,
        jsonb_build_object('k', g % $keys, 'n', 0), '{"n": 1}');
    INSERT INTO posts VALUES (g, date '2026-01-01');
    PERFORM upsert_guard.lock_key('memory', g);

    IF g % 10 = 0 THEN
        PERFORM upsert_guard.increment(NULL::counters,
            jsonb_build_object('k', 1000000 + g, 'n', 0), '{"n": 1}');
        calls := calls + 1;
    END IF;

    IF g % 10 = 5 THEN
        BEGIN   -- a second post of the user that day: the guard refuses it
            INSERT INTO posts VALUES (g, date '2026-01-01');
            RAISE EXCEPTION 'the guard admitted a second post of user %', g;
        EXCEPTION WHEN exclusion_violation THEN
        END;
        BEGIN
            PERFORM upsert_guard.select_or_insert(NULL::items,
                jsonb_build_object('k', g, 'nope', 1));
            RAISE EXCEPTION 'no error for an unknown column';
        EXCEPTION WHEN undefined_column THEN
        END;
        BEGIN
            PERFORM upsert_guard.increment(NULL::profiles,
                jsonb_build_object('k', g % $keys, 'v', 'x'), '{"v": 1}');
            RAISE EXCEPTION 'no error for a delta on a text column';
        EXCEPTION WHEN datatype_mismatch THEN
        END;
        BEGIN   -- the INSERT inside the call fails: label is NOT NULL
            PERFORM upsert_guard.select_or_insert(NULL::items,
                jsonb_build_object('k', 2000000 + g, 'label', NULL));
            RAISE EXCEPTION 'no error for a NULL label';
        EXCEPTION WHEN not_null_violation THEN
        END;
        BEGIN   -- the same under a named arbiter (fixed search_path)
            PERFORM upsert_guard.select_or_insert(NULL::items,
                jsonb_build_object('k', 2000000 + g, 'label', NULL),
                arbiter => 'items_pkey');
            RAISE EXCEPTION 'no error for a NULL label with an arbiter';
        EXCEPTION WHEN not_null_violation THEN
        END;
        BEGIN
            PERFORM upsert_guard.idempotent_upsert(NULL::profiles,
                '{"k": "abc", "v": "x"}');
            RAISE EXCEPTION 'no error for a key that is not a number';
        EXCEPTION WHEN invalid_text_representation THEN
        END;
        BEGIN
            PERFORM upsert_guard.lock_key(NULL, g);
            RAISE EXCEPTION 'no error for a NULL namespace';
        EXCEPTION WHEN null_value_not_allowed THEN
        END;
        calls := calls + 7;
    END IF;
    RETURN calls;
END
\$\$;

-- n iterations from g = first, committing every 100; every 1,000 a
-- storage parameter change invalidates each table's plans.
CREATE PROCEDURE churn(first bigint, n int, INOUT calls bigint)
LANGUAGE plpgsql AS \$\$
BEGIN
    calls := 0;
    FOR g IN first .. first + n - 1 LOOP
        calls := calls + one_iteration(g);
        IF g % 1000 = 999 THEN
            ALTER TABLE items SET (fillfactor = 100);
            ALTER TABLE profiles SET (fillfactor = 100);
            ALTER TABLE counters SET (fillfactor = 100);
            ALTER TABLE posts SET (fillfactor = 100);
        END IF;
        IF g % 100 = 99 THEN
            COMMIT;
        END IF;
    END LOOP;
END
\$\$;

-- The backend's memory now, as a row of samples.
CREATE TABLE samples (
    seq serial, label text, calls bigint, pid int,
    contexts bigint, total_bytes bigint, used_bytes bigint,
    cache_bytes bigint, ug_contexts bigint, ug_bytes bigint,
    rss_anon_kb bigint, vm_rss_kb bigint);
CREATE FUNCTION record_memory(p_label text, p_calls bigint) RETURNS int
LANGUAGE sql AS \$\$
WITH c AS (
    SELECT * FROM pg_get_backend_memory_contexts() WITH ORDINALITY
      AS c(name, ident, parent, level, total_bytes, total_nblocks,
           free_bytes, free_chunks, used_bytes, ord)),
-- the rows come depth first: CacheMemoryContext's subtree runs to the
-- next row at its level or above
cache AS (
    SELECT ord AS first,
           (SELECT min(n.ord) FROM c AS n
             WHERE n.ord > c.ord AND n.level <= c.level) AS next
      FROM c WHERE name = 'CacheMemoryContext'),
status AS (SELECT pg_read_file('/proc/self/status') AS s)
INSERT INTO samples (label, calls, pid, contexts, total_bytes, used_bytes,
                     cache_bytes, ug_contexts, ug_bytes, rss_anon_kb, vm_rss_kb)
SELECT p_label, p_calls, pg_backend_pid(),
       (SELECT count(*) FROM c),
       (SELECT sum(total_bytes) FROM c),
       (SELECT sum(used_bytes) FROM c),
       (SELECT sum(c.total_bytes) FROM c, cache
         WHERE c.ord >= cache.first AND (cache.next IS NULL OR c.ord < cache.next)),
       (SELECT count(*) FROM c WHERE name LIKE 'upsert_guard%'),
       (SELECT coalesce(sum(total_bytes), 0) FROM c WHERE name LIKE 'upsert_guard%'),
       substring(s FROM 'RssAnon:\\s+(\\d+) kB')::bigint,
       substring(s FROM 'VmRSS:\\s+(\\d+) kB')::bigint
  FROM status
RETURNING 1
\$\$;
});
my $unchanged_xmin = $node->safe_psql('postgres',
	'SELECT xmin FROM profiles WHERE k = -1');

# The session: the rounds, a sample after each, then the statement.
my $script = "\\set total 0\n";
foreach my $r (1 .. $rounds)
{
	my $first = ($r - 1) * $iterations;
	my $label = $r == 1 ? 'warm-up' : "round $r";
	$script .= qq{CALL churn($first, $iterations, NULL) \\gset
SELECT :total + :calls AS total \\gset
SELECT record_memory('$label', :total);
};
}
my $n = $rounds * $iterations;
my $stmt_rows = 50_000;
$script .= qq{
SELECT count(*) FROM (
  SELECT i,
    upsert_guard.select_or_insert(NULL::items,
      jsonb_build_object('k', i % $keys, 'label', 'item')) AS found,
    upsert_guard.select_or_insert(NULL::items,
      jsonb_build_object('k', 3000000 + i, 'label', 'item')) AS inserted,
    upsert_guard.idempotent_upsert(NULL::profiles,
      jsonb_build_object('k', i % $keys, 'v', 'B' || i)) AS updated,
    upsert_guard.idempotent_upsert(NULL::profiles,
      jsonb_build_object('k', -1, 'v', 'init')) AS unchanged,
    upsert_guard.increment(NULL::counters,
      jsonb_build_object('k', i % $keys, 'n', 0), '{"n": 1}') AS incremented,
    upsert_guard.lock_key('memory', i) AS lock_key,
    CASE WHEN i IN (5000, $stmt_rows)
      THEN record_memory('statement row ' || i, i * 6) END AS sampled
  FROM generate_series(1, $stmt_rows) AS i OFFSET 0) s;
};

my $started = time;
my ($stdout, $stderr) = ('', '');
my $ret = $node->psql(
	'postgres', $script,
	stdout => \$stdout,
	stderr => \$stderr,
	on_error_stop => 1,
	timeout => 1800);
is($ret, 0, 'the session ran every call without an unexpected error')
  or diag("stderr:\n$stderr");
note 'the session took ' . (time - $started) . ' s';

# The samples, by label.
my %s;
my @labels;
foreach my $line (
	split /\n/,
	$node->safe_psql(
		'postgres', 'SELECT label, calls, pid, contexts, total_bytes,
		   used_bytes, cache_bytes, ug_contexts, ug_bytes, rss_anon_kb,
		   vm_rss_kb FROM samples ORDER BY seq'))
{
	my @f = split /\|/, $line;
	my %row;
	@row{qw(label calls pid contexts total used cache ug_contexts ug_bytes rss_anon vm_rss)} = @f;
	$s{ $row{label} } = \%row;
	push @labels, $row{label};
	note sprintf(
		'%-18s %8s calls: %4d contexts, total %8d B, used %8d B, '
		  . 'cache %8d B, upsert_guard %2d contexts %6d B, '
		  . 'RssAnon %6d kB, VmRSS %6d kB',
		@row{qw(label calls contexts total used cache ug_contexts ug_bytes rss_anon vm_rss)});
}
my %pids = map { $s{$_}{pid} => 1 } @labels;
is(scalar(keys %pids), 1, 'every sample comes from the same backend');

my $warm = $s{'warm-up'};
my $end = $s{"round $rounds"};
ok($warm && $end, 'samples after the warm-up and the last round')
  or BAIL_OUT('no samples');
cmp_ok($end->{calls}, '>=', 1_000_000, "a million calls ($end->{calls})");

# Checks that $key grew by less than $max from sample $from to sample $to.
sub bounded
{
	my ($from, $to, $what, $key, $max, $unit) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $growth = $to->{$key} - $from->{$key};
	$unit = $unit ? " $unit" : '';
	cmp_ok($growth, '<', $max,
		"$what grew by $growth$unit from $from->{label} to $to->{label} (bound $max$unit)"
	);
}

my $calls = $end->{calls} - $warm->{calls};
bounded($warm, $end, "used bytes of all contexts, $calls calls,",
	'used', 256 * 1024, 'B');
bounded($warm, $end, 'total bytes of all contexts', 'total', 2 * 1024 * 1024, 'B');
bounded($warm, $end, 'CacheMemoryContext with its children', 'cache',
	2 * 1024 * 1024, 'B');
bounded($warm, $end, "the extension's own contexts", 'ug_bytes', 64 * 1024, 'B');
bounded($warm, $end, 'the number of contexts', 'contexts', 10, '');
bounded($warm, $end, 'RssAnon', 'rss_anon', 8 * 1024, 'kB');

my $first = $s{'statement row 5000'};
my $last = $s{"statement row $stmt_rows"};
ok($first && $last, 'samples at two rows of one statement')
  or BAIL_OUT('no statement samples');
bounded($first, $last, 'within one statement, used bytes of all contexts',
	'used', 256 * 1024, 'B');
bounded($first, $last, 'within one statement, total bytes of all contexts',
	'total', 2 * 1024 * 1024, 'B');
bounded($first, $last, 'within one statement, RssAnon', 'rss_anon',
	8 * 1024, 'kB');

# The calls took the paths counted above.
my $new_keys = $n / 10;
is( $node->safe_psql(
		'postgres', qq{SELECT
  (SELECT count(*) FROM items WHERE k BETWEEN 1000000 AND 1999999),
  (SELECT count(*) FROM items WHERE k >= 2000000 AND k < 3000000),
  (SELECT count(*) FROM items WHERE k >= 3000000),
  (SELECT count(*) FROM profiles WHERE k >= 1000000),
  (SELECT count(*) FROM profiles WHERE k BETWEEN 0 AND $keys - 1 AND v LIKE 'A%'),
  (SELECT count(*) FROM profiles WHERE k BETWEEN 0 AND $keys - 1 AND v LIKE 'B%'),
  (SELECT sum(n) FROM counters WHERE k < $keys),
  (SELECT count(*) FROM counters WHERE k >= 1000000),
  (SELECT count(*) FROM posts),
  (SELECT count(DISTINCT user_id) FROM posts)}),
	join('|',
		$n, 0, $stmt_rows, $n,
		($n < $keys ? $n : $keys) - $stmt_rows, $stmt_rows,
		$n + $stmt_rows, $new_keys, $n, $n),
	'rows inserted, updated and incremented as counted; no refused row kept');
is($node->safe_psql('postgres', 'SELECT v, xmin FROM profiles WHERE k = -1'),
	"init|$unchanged_xmin", 'the unchanged row was never written');

$node->stop;

done_testing();
