# Copyright (c) upsert_guard contributors
#
# 003_batch_workers.pl: two sync workers of seed 000 that upsert the same
# 10,000 keys in one batch per transaction, in opposite orders (pgbench,
# 2 clients: client 0 sends the keys ascending, client 1 descending; every
# transaction has new values).
#
#  1. the broken pattern: one INSERT ... ON CONFLICT DO UPDATE per batch,
#     taking the rows in the order they are given: the two clients lock
#     the same rows in opposite orders and deadlock (pg_stat_database
#     counts deadlocks, pgbench failed transactions) -- this shows the
#     load does race;
#  2. upsert_guard.idempotent_upsert_batch under the same load for about
#     10 s: no deadlock (pgbench exit status 0, no failed transaction, no
#     'deadlock detected' in its output, pg_stat_database.deadlocks
#     unchanged), no error, every batch settled all its 10,000 rows, each
#     key was inserted exactly once, and the table ends with exactly
#     10,000 rows all carrying the values of one batch (batches over the
#     same keys serialize: no row of one batch mixed with rows of
#     another).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $keys = 10000;
# Length of the pgbench runs, in seconds.
my $control_duration = 3;
my $duration = 10;

my $node = PostgreSQL::Test::Cluster->new('batch_workers');
$node->init;
# Detect deadlocks quickly in the broken pattern.
$node->append_conf('postgresql.conf', "deadlock_timeout = 50ms\n");
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION upsert_guard;
-- v is '<batch tag>:<key>': the tag tells which batch wrote the row.
CREATE TABLE items (k int PRIMARY KEY, v text NOT NULL);
-- One row per batch: the client, its tag and the counts it returned.
CREATE TABLE batches (
    client int NOT NULL,
    tag text NOT NULL,
    inserted bigint,
    updated bigint,
    unchanged bigint,
    duplicates bigint
);
});

# The rows of one batch as a jsonb array built in SQL, keys ascending for
# client 0 and descending for client 1, with the values of the batch's
# tag, unique to each transaction: the client and a random number.
my $tag_sql = q{('c' || :client_id || '-' || :r)};
my $rows_sql = qq{(SELECT jsonb_agg(jsonb_build_object('k', i, 'v', $tag_sql || ':' || i)
               ORDER BY CASE WHEN :client_id = 0 THEN i ELSE -i END)
       FROM generate_series(1, $keys) i)};

# Runs pgbench with one script for $secs seconds on 2 clients; returns
# (exit status, stdout, stderr).
my $script_no = 0;

sub run_pgbench
{
	my ($script, $secs) = @_;

	my $file = $node->basedir . '/script_' . ++$script_no . '.sql';
	PostgreSQL::Test::Utils::append_to_file($file, $script);
	my @cmd = (
		'pgbench', '-n', '-c', 2, '-j', 2, '-T', $secs,
		'--failures-detailed',
		'-h', $node->host, '-p', $node->port, '-f', $file, 'postgres');
	note "running: @cmd";
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr);
	my $ret = $?;
	die "pgbench exited with signal " . ($ret & 127) if $ret & 127;
	return ($ret >> 8, $stdout, $stderr);
}

# Runs one SQL query returning a single value.
sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# The deadlocks pg_stat_database counts for the database, once every
# pgbench backend has exited (a backend flushes its statistics when it
# exits).
sub deadlocks
{
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity
		  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()})
	  or die "pgbench backends did not exit";
	return query(
		q{SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()});
}

my $tag = q{\set r random(1, 1000000000)
};

############################################################################
# 1. The broken pattern: the batch as one INSERT ... ON CONFLICT DO UPDATE,
# rows in the order given.  The two clients deadlock.
my $deadlocks_before = deadlocks();
my ($ret, $stdout, $stderr) = run_pgbench(
	$tag . qq{INSERT INTO items (k, v)
SELECT (r->>'k')::int, r->>'v'
  FROM jsonb_array_elements($rows_sql) WITH ORDINALITY AS e(r, ord)
 ORDER BY ord
ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;
}, $control_duration);
my $control_deadlocks = deadlocks() - $deadlocks_before;
note "broken pattern: pgbench exit status $ret, $control_deadlocks deadlock(s)";
note "broken pattern stdout:\n$stdout";
cmp_ok($control_deadlocks, '>', 0,
	'broken pattern: opposite orders deadlock (pg_stat_database.deadlocks grew)');
like($stdout . $stderr, qr/deadlock/,
	'broken pattern: pgbench reports deadlocks');

$node->safe_psql('postgres', 'TRUNCATE items, batches');

############################################################################
# 2. idempotent_upsert_batch under the same load: no deadlock.
$deadlocks_before = deadlocks();
($ret, $stdout, $stderr) = run_pgbench(
	$tag . qq{INSERT INTO batches
SELECT :client_id, $tag_sql, b.*
  FROM upsert_guard.idempotent_upsert_batch(NULL::items, $rows_sql) b;
}, $duration);
my $batch_deadlocks = deadlocks() - $deadlocks_before;
note "idempotent_upsert_batch stdout:\n$stdout";
is($ret, 0, 'idempotent_upsert_batch: pgbench exit status 0')
  or diag("stderr:\n$stderr");
unlike($stderr, qr/deadlock detected/,
	"idempotent_upsert_batch: no 'deadlock detected' in pgbench stderr");
unlike($stderr, qr/ERROR|FATAL|abort/,
	'idempotent_upsert_batch: no error in pgbench stderr');
like($stdout, qr/^number of failed transactions: 0 /m,
	'idempotent_upsert_batch: pgbench reports 0 failed transactions');
is($batch_deadlocks, 0,
	'idempotent_upsert_batch: pg_stat_database.deadlocks unchanged');

my $batches = query('SELECT count(*) FROM batches');
note "idempotent_upsert_batch: $batches batches, by client: "
  . query(q{SELECT string_agg(client || ': ' || n, ', ' ORDER BY client)
            FROM (SELECT client, count(*) AS n FROM batches GROUP BY client) s});
like($stdout, qr/^number of transactions actually processed: $batches$/m,
	'idempotent_upsert_batch: one batch logged per pgbench transaction');
# enough that each client's batches overlapped the other's in opposite
# order more than once (the control deadlocked on fewer); 4, not more, so
# the ASan build (test/asan), several times slower, passes too
cmp_ok($batches, '>=', 4, 'idempotent_upsert_batch: at least 4 batches ran');
is( query(q{SELECT count(DISTINCT client) FROM batches WHERE updated > 0}),
	2, 'idempotent_upsert_batch: both clients updated rows');
is( query(
		qq{SELECT count(*) FROM batches
		   WHERE inserted + updated <> $keys OR unchanged <> 0 OR duplicates <> 0}),
	0,
	"idempotent_upsert_batch: every batch inserted or updated all its $keys rows");
is(query('SELECT sum(inserted) FROM batches'),
	$keys, "idempotent_upsert_batch: $keys rows inserted in all, one per key");

# The table: exactly the keys 1 .. 10,000, each row written by one batch
# and all rows by the same one (a batch that committed), each value for its
# own key.
is(query('SELECT count(*) FROM items'), $keys, "$keys rows");
is( query(qq{SELECT count(*) FROM items WHERE k NOT BETWEEN 1 AND $keys}),
	0, "only the keys 1 .. $keys");
is(query(q{SELECT count(DISTINCT split_part(v, ':', 1)) FROM items}),
	1, 'every row carries the values of the same batch');
is( query(q{SELECT count(*) FROM items WHERE split_part(v, ':', 2) <> k::text}),
	0, 'every row has the value for its own key');
is( query(
		q{SELECT count(*) FROM batches
		  WHERE tag = (SELECT split_part(v, ':', 1) FROM items WHERE k = 1)}),
	1,
	'the values are those of a batch that committed');

$node->stop;

done_testing();
