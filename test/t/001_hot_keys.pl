# Copyright (c) upsert_guard contributors
#
# 001_hot_keys.pl: the get-or-create race of the seeds (case 1, "select id
# from articles where title = ...; if not found then insert"), under load.
#
# 16 pgbench clients hammer the same few keys at once:
#
#  1. the naive check-then-insert script of the seed on new hot keys: two
#     clients both see "no row" and both insert, so one of them fails with a
#     unique violation (23505) -- the bug upsert_guard exists to fix;
#  2. upsert_guard.select_or_insert on the same load: no error, and every
#     call returns the one row of its key (no duplicate, no lost row);
#  3. the same on a handful of existing hot keys (lock 'key share') and on
#     a mix of existing and new keys with every lock mode;
#  4. select_or_insert_outcome: exactly one 'inserted' outcome per key.
#
# A "new hot key" changes every 2 ms: it is derived from clock_timestamp(),
# so all clients that run at about the same moment race to create the same,
# not yet existing row.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

# Length of each pgbench run, in seconds.
my $duration = 3;

my $node = PostgreSQL::Test::Cluster->new('hot_keys');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION upsert_guard;
CREATE TABLE articles (
    id bigserial PRIMARY KEY,
    title text UNIQUE,
    content text
);
-- One row per pgbench transaction: the key asked for, the id returned, the
-- pgbench client that asked and (phase 4) the outcome reported.
CREATE TABLE calls (
    k text NOT NULL,
    id bigint,
    client int NOT NULL,
    outcome text
);
});

# Runs pgbench with one script, returns (exit status, stdout, stderr).
my $script_no = 0;

sub run_pgbench
{
	my ($script, @opts) = @_;

	my $file = $node->basedir . '/script_' . ++$script_no . '.sql';
	PostgreSQL::Test::Utils::append_to_file($file, $script);
	my @cmd = (
		'pgbench', '-n', '-c', '16', '-j', '2',
		'-h', $node->host, '-p', $node->port,
		@opts, '-f', $file, 'postgres');
	note "running: @cmd";
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr);
	my $ret = $?;
	die "pgbench exited with signal " . ($ret & 127) if $ret & 127;
	return ($ret >> 8, $stdout, $stderr);
}

# Runs pgbench for $duration seconds, checks that no client failed, and
# returns the number of transactions processed.
sub run_pgbench_ok
{
	my ($name, $script) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	my ($ret, $stdout, $stderr) = run_pgbench($script, '-T', $duration);
	is($ret, 0, "$name: pgbench exit status 0")
	  or diag("stdout:\n$stdout\nstderr:\n$stderr");
	unlike($stderr, qr/ERROR|FATAL|abort/, "$name: no error in pgbench stderr");
	like($stdout, qr/^number of failed transactions: 0 /m,
		"$name: pgbench reports 0 failed transactions");
	my ($ntx) = $stdout =~ /^number of transactions actually processed: (\d+)/m;
	ok(defined $ntx && $ntx > 0,
		"$name: pgbench processed transactions ("
		  . ($ntx // 'none') . ")");
	return $ntx // -1;
}

# Runs one SQL query returning a single value.
sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# Checks the calls log against the articles table after a guarded run.
sub check_calls
{
	my ($name, $ntx) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	is(query('SELECT count(*) FROM calls'),
		$ntx, "$name: one call logged per pgbench transaction");
	is(query('SELECT count(*) FROM calls WHERE id IS NULL'),
		0, "$name: no call returned a NULL row");
	is( query(
			'SELECT count(*) FROM calls c WHERE NOT EXISTS
			   (SELECT FROM articles a WHERE a.id = c.id AND a.title = c.k)'),
		0,
		"$name: every returned id is the article with the asked title");
	is( query(
			'SELECT count(*) FROM
			   (SELECT k FROM calls GROUP BY k HAVING count(DISTINCT id) > 1) s'),
		0,
		"$name: all calls for one key returned the same id");
	is( query(
			'SELECT count(*) = count(DISTINCT title) FROM articles'),
		't', "$name: no duplicate title in articles");
	note "$name: "
	  . query('SELECT count(DISTINCT k) FROM calls')
	  . " keys asked for, "
	  . raced_keys()
	  . " of them by several clients";
}

# Number of keys that more than one client asked for: the race happened.
sub raced_keys
{
	return query(
		'SELECT count(*) FROM
		   (SELECT k FROM calls GROUP BY k HAVING count(DISTINCT client) > 1) s');
}

# The new hot key of the moment: changes every 2 ms.
my $new_key =
  q{SELECT (extract(epoch FROM clock_timestamp()) * 500)::bigint AS k \gset
};

############################################################################
# 1. The seed's naive check-then-insert on new hot keys must fail.
#
# pgbench 15 can only branch on a \gset variable, so "select id; if not
# found then insert" becomes "select count(*); \if :n = 0 insert".
# Two clients that both count 0 both insert: the second one gets a unique
# violation, pgbench aborts that client and exits with status 2.
#
# The race depends on scheduling.  It happens in nearly every run, but
# a run on a slow or busy machine may happen not to interleave two clients
# between the count and the insert; so repeat a few times before declaring
# that the naive script does not fail (which would mean this test cannot
# tell a broken pattern from a good one).
my ($naive_ret, $naive_out, $naive_err);
my $naive_runs = 0;
for (1 .. 5)
{
	$naive_runs++;
	($naive_ret, $naive_out, $naive_err) = run_pgbench(
		$new_key . q{
SELECT count(*) AS n FROM articles WHERE title = 'k' || :k \gset
\if :n = 0
INSERT INTO articles (title, content) VALUES ('k' || :k, 'c');
\endif
}, '-T', 2);
	last if $naive_ret != 0;
}
note "naive check-then-insert: $naive_runs run(s)";
isnt($naive_ret, 0, 'naive check-then-insert: pgbench exits non-zero');
like(
	$naive_err,
	qr/duplicate key value violates unique constraint "articles_title_key"/,
	'naive check-then-insert: a client failed with a unique violation');

$node->safe_psql('postgres', 'TRUNCATE articles, calls RESTART IDENTITY');

############################################################################
# 2. select_or_insert on new hot keys: no error, one row per key, every
# call gets it.
my $ntx = run_pgbench_ok(
	'select_or_insert, new hot keys',
	$new_key . q{
INSERT INTO calls (k, id, client)
  SELECT 'k' || :k, id, :client_id
  FROM upsert_guard.select_or_insert(NULL::articles,
         jsonb_build_object('title', 'k' || :k, 'content', 'c'));
});
check_calls('select_or_insert, new hot keys', $ntx);
is(query('SELECT count(*) = (SELECT count(DISTINCT k) FROM calls) FROM articles'),
	't', 'select_or_insert, new hot keys: one article per key asked, no more');
cmp_ok(raced_keys(), '>', 0,
	'select_or_insert, new hot keys: several clients raced on some keys');

$node->safe_psql('postgres', 'TRUNCATE articles, calls RESTART IDENTITY');

############################################################################
# 3a. select_or_insert with lock 'key share' on 5 existing hot keys: every
# call finds the existing row, nothing is inserted.
$node->safe_psql('postgres',
	q{INSERT INTO articles (title, content)
	  SELECT 'h' || i, 'hot' FROM generate_series(1, 5) i});
$ntx = run_pgbench_ok(
	'select_or_insert, existing hot keys',
	q{\set h random(1, 5)
INSERT INTO calls (k, id, client)
  SELECT 'h' || :h, id, :client_id
  FROM upsert_guard.select_or_insert(NULL::articles,
         jsonb_build_object('title', 'h' || :h, 'content', 'c'),
         ARRAY['title'], 'key share');
});
check_calls('select_or_insert, existing hot keys', $ntx);
is(query('SELECT count(*) FROM articles'),
	5, 'select_or_insert, existing hot keys: no article inserted');
is(query('SELECT count(*) FROM articles WHERE content <> \'hot\''),
	0, 'select_or_insert, existing hot keys: existing rows unchanged');
is(query('SELECT count(DISTINCT k) FROM calls'),
	5, 'select_or_insert, existing hot keys: all 5 keys were asked for');
cmp_ok(raced_keys(), '>', 0,
	'select_or_insert, existing hot keys: several clients raced on some keys');

$node->safe_psql('postgres', 'TRUNCATE calls');

############################################################################
# 3b. A mix: one call in four on an existing hot key, the others on new hot
# keys, each with a lock mode drawn at random among all five.
$ntx = run_pgbench_ok(
	'select_or_insert, mixed keys and locks',
	$new_key . q{\set r random(1, 4)
\set h random(1, 5)
\set l random(1, 5)
INSERT INTO calls (k, id, client)
  SELECT s.k, a.id, :client_id
  FROM (SELECT CASE WHEN :r = 1 THEN 'h' || :h ELSE 'k' || :k END AS k) s,
       upsert_guard.select_or_insert(NULL::articles,
         jsonb_build_object('title', s.k, 'content', 'c'),
         NULL,
         (ARRAY['none', 'key share', 'share', 'no key update', 'update'])[:l]) a;
});
check_calls('select_or_insert, mixed keys and locks', $ntx);
is( query(
		q{SELECT count(*) = 5 + (SELECT count(DISTINCT k) FROM calls WHERE k LIKE 'k%')
		  FROM articles}),
	't',
	'select_or_insert, mixed keys and locks: one article per new key asked, no more');
is(query(q{SELECT count(*) FROM articles WHERE title LIKE 'h%' AND content <> 'hot'}),
	0, 'select_or_insert, mixed keys and locks: existing rows unchanged');
cmp_ok(raced_keys(), '>', 0,
	'select_or_insert, mixed keys and locks: several clients raced on some keys');

$node->safe_psql('postgres', 'TRUNCATE articles, calls RESTART IDENTITY');

############################################################################
# 4. select_or_insert_outcome on new hot keys: exactly one call per key
# reports 'inserted' (no duplicate row, no lost row), all others 'found'.
$ntx = run_pgbench_ok(
	'select_or_insert_outcome, new hot keys',
	$new_key . q{
INSERT INTO calls (k, id, client, outcome)
  SELECT 'k' || :k, (o.result).id, :client_id, o.outcome
  FROM upsert_guard.select_or_insert_outcome(NULL::articles,
         jsonb_build_object('title', 'k' || :k, 'content', 'c')) o;
});
check_calls('select_or_insert_outcome, new hot keys', $ntx);
is( query(
		q{SELECT count(*) FILTER (WHERE outcome = 'inserted') = count(DISTINCT k)
		  FROM calls}),
	't',
	"select_or_insert_outcome, new hot keys: as many 'inserted' as distinct keys");
is( query(
		q{SELECT count(*) FROM
		    (SELECT k FROM calls GROUP BY k
		     HAVING count(*) FILTER (WHERE outcome = 'inserted') <> 1) s}),
	0,
	"select_or_insert_outcome, new hot keys: exactly one 'inserted' per key");
is( query(
		q{SELECT count(*) FROM calls
		  WHERE outcome IS NULL OR outcome NOT IN ('inserted', 'found')}),
	0,
	"select_or_insert_outcome, new hot keys: outcome is 'inserted' or 'found'");
is(query('SELECT count(*) = (SELECT count(DISTINCT k) FROM calls) FROM articles'),
	't', 'select_or_insert_outcome, new hot keys: one article per key asked, no more');
cmp_ok(
	query(q{SELECT count(*) FROM calls WHERE outcome = 'found'}),
	'>', 0,
	"select_or_insert_outcome, new hot keys: some calls found the row another inserted");
cmp_ok(raced_keys(), '>', 0,
	'select_or_insert_outcome, new hot keys: several clients raced on some keys');

$node->stop;

done_testing();
