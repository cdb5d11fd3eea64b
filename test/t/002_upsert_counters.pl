# Copyright (c) upsert_guard contributors
#
# 002_upsert_counters.pl: the visit counter of seed 003 and the idempotent
# product sync of seed 000, under load.
#
# 16 pgbench clients, each running a fixed number of transactions, so the
# exact expected totals are known:
#
#  1. the seed's naive read-modify-write counter ("SELECT count; UPDATE
#     SET count = <what I read> + 1") on 5 hot keys LOSES increments: the
#     final sum is less than the number of calls -- the bug;
#  2. upsert_guard.increment_outcome on 5 new hot keys: no error, the sum
#     of the counts is exactly the number of calls (each key's count is the
#     number of calls for it: the first inserts 1, every other adds 1), and
#     exactly one call per key reports 'inserted';
#  3. upsert_guard.idempotent_upsert_outcome on 50 keys with values derived
#     from the key, so every call after a key's first finds it up to date:
#     no error, one 'inserted' per key and never 'updated', the rows right,
#     the table's AFTER UPDATE trigger never fired and the statistics count
#     no updated tuple (n_tup_upd = 0, read after the clients have exited
#     and flushed their statistics);
#  4. idempotent_upsert_outcome on 20 keys with values that differ between
#     clients (the client id): no error, every call returned its own
#     values, every key ends with a row some client wrote (no mix of two
#     clients' columns), and exactly one row version and one trigger firing
#     per 'updated' outcome.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $clients = 16;
# Transactions per client in phases 1 and 2, and in phases 3 and 4.
my $counter_tx = 2000;
my $upsert_tx = 500;

my $node = PostgreSQL::Test::Cluster->new('upsert_counters');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION upsert_guard;
-- seed 003
CREATE TABLE visits (
    id serial PRIMARY KEY,
    email text UNIQUE NOT NULL,
    count int NOT NULL
);
-- seed 000, with an AFTER UPDATE trigger that counts every row version
-- an UPDATE writes
CREATE TABLE products (
    product_id serial PRIMARY KEY,
    sku text UNIQUE NOT NULL,
    name text,
    price numeric(10,2),
    category_id int,
    supplier_id int
);
CREATE TABLE update_fires (sku text NOT NULL);
CREATE FUNCTION log_update() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN
    INSERT INTO update_fires VALUES (NEW.sku);
    RETURN NULL;
END$$;
CREATE TRIGGER products_log_update AFTER UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION log_update();
-- One row per pgbench transaction: the key, the client, the outcome
-- reported and the values of the row returned.
CREATE TABLE calls (
    k text NOT NULL,
    client int NOT NULL,
    outcome text,
    count int,
    name text,
    price numeric
);
});

# Runs pgbench with one script, $counter_tx or $upsert_tx transactions per
# client; returns (exit status, stdout, stderr).
my $script_no = 0;

sub run_pgbench
{
	my ($script, $tx) = @_;

	my $file = $node->basedir . '/script_' . ++$script_no . '.sql';
	PostgreSQL::Test::Utils::append_to_file($file, $script);
	my @cmd = (
		'pgbench', '-n', '-c', $clients, '-j', '4', '-t', $tx,
		'-h', $node->host, '-p', $node->port, '-f', $file, 'postgres');
	note "running: @cmd";
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr);
	my $ret = $?;
	die "pgbench exited with signal " . ($ret & 127) if $ret & 127;
	return ($ret >> 8, $stdout, $stderr);
}

# The same, checking that every transaction of every client succeeded.
sub run_pgbench_ok
{
	my ($name, $script, $tx) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	my ($ret, $stdout, $stderr) = run_pgbench($script, $tx);
	is($ret, 0, "$name: pgbench exit status 0")
	  or diag("stdout:\n$stdout\nstderr:\n$stderr");
	unlike($stderr, qr/ERROR|FATAL|abort/, "$name: no error in pgbench stderr");
	like($stdout, qr/^number of failed transactions: 0 /m,
		"$name: pgbench reports 0 failed transactions");
	my $expected = $clients * $tx;
	like(
		$stdout,
		qr/^number of transactions actually processed: $expected\/$expected$/m,
		"$name: all $expected transactions processed");
}

# Runs one SQL query returning a single value.
sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# Waits until the pgbench clients' backends have exited: a backend
# flushes its table statistics when it exits.
sub wait_for_clients_to_exit
{
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity
		  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()})
	  or die "pgbench backends did not exit";
}

# n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del of products, once every
# client has exited.
sub product_stats
{
	wait_for_clients_to_exit();
	return query(
		q{SELECT n_tup_ins || ',' || n_tup_upd || ',' || n_tup_hot_upd || ',' || n_tup_del
		  FROM pg_stat_user_tables WHERE relid = 'products'::regclass});
}

my $calls = $clients * $counter_tx;

############################################################################
# 1. The naive read-modify-write counter loses increments.
#
# 5 existing hot keys at count 0; each transaction reads a key's count and
# writes back what it read plus one.  Two clients that read the same count
# write the same value: one increment is lost.  Lost updates need an
# interleaving, which nearly every run has; repeat a few times before
# concluding that the naive counter does not lose any (which would mean
# this test cannot tell a broken counter from a good one).
my ($naive_sum, $naive_runs) = (undef, 0);
for (1 .. 3)
{
	$naive_runs++;
	$node->safe_psql('postgres',
		q{TRUNCATE visits RESTART IDENTITY;
		  INSERT INTO visits (email, count)
		  SELECT 'h' || i, 0 FROM generate_series(1, 5) i});
	run_pgbench_ok(
		'naive read-modify-write', q{\set h random(1, 5)
SELECT count AS c FROM visits WHERE email = 'h' || :h \gset
UPDATE visits SET count = :c + 1 WHERE email = 'h' || :h;
}, $counter_tx);
	$naive_sum = query('SELECT sum(count) FROM visits');
	last if $naive_sum < $calls;
}
note "naive read-modify-write: $naive_runs run(s), sum $naive_sum of $calls calls";
cmp_ok($naive_sum, '<', $calls,
	'naive read-modify-write: increments were lost (sum < number of calls)');

$node->safe_psql('postgres', 'TRUNCATE visits, calls RESTART IDENTITY');

############################################################################
# 2. increment on 5 new hot keys: no increment lost, one insert per key.
run_pgbench_ok(
	'increment', q{\set h random(1, 5)
INSERT INTO calls (k, client, outcome, count)
  SELECT 'h' || :h, :client_id, o.outcome, (o.result).count
  FROM upsert_guard.increment_outcome(NULL::visits,
         jsonb_build_object('email', 'h' || :h, 'count', 1),
         jsonb_build_object('count', 1)) o;
}, $counter_tx);
is(query('SELECT count(*) FROM calls'), $calls, 'increment: one call logged per transaction');
is(query('SELECT sum(count) FROM visits'),
	$calls, "increment: sum of the counts is exactly the number of calls ($calls)");
is( query(
		q{SELECT count(*) FROM visits v
		  WHERE v.count <> (SELECT count(*) FROM calls c WHERE c.k = v.email)}),
	0,
	'increment: each key\'s count is the number of calls for it');
is(query('SELECT count(*) FROM visits'), 5, 'increment: 5 rows, one per key');
is(query(q{SELECT count(*) FROM calls WHERE outcome = 'inserted'}),
	5, "increment: exactly 5 'inserted' outcomes");
is( query(
		q{SELECT count(*) FROM
		    (SELECT k FROM calls GROUP BY k
		     HAVING count(*) FILTER (WHERE outcome = 'inserted') <> 1) s}),
	0,
	"increment: exactly one 'inserted' per key");
is(query(q{SELECT count(*) FROM calls WHERE outcome IS DISTINCT FROM 'updated'
           AND outcome IS DISTINCT FROM 'inserted'}),
	0, "increment: every other outcome is 'updated'");
# every call saw a distinct count of its key: the counts returned for one
# key are 1, 2, ..., n, each once (no two calls added to the same version)
is( query(
		q{SELECT count(*) FROM
		    (SELECT k FROM calls GROUP BY k
		     HAVING count(DISTINCT count) <> count(*) OR min(count) <> 1
		        OR max(count) <> count(*)) s}),
	0,
	'increment: the counts returned for each key are 1 .. n, each once');

############################################################################
# 3. idempotent_upsert on 50 keys, each call with the values of its key:
# after the first call per key, every call finds the row up to date and
# writes nothing.
$node->safe_psql('postgres', 'TRUNCATE calls');
run_pgbench_ok(
	'idempotent_upsert, same values', q{\set k random(1, 50)
INSERT INTO calls (k, client, outcome, name, price)
  SELECT 'sku' || :k, :client_id, o.outcome, (o.result).name, (o.result).price
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
         jsonb_build_object('sku', 'sku' || :k, 'name', 'product ' || :k,
                            'price', :k * 10, 'category_id', :k % 7,
                            'supplier_id', null)) o;
}, $upsert_tx);
my $upsert_calls = $clients * $upsert_tx;
is(query('SELECT count(*) FROM calls'), $upsert_calls,
	'idempotent_upsert, same values: one call logged per transaction');
is(query('SELECT count(DISTINCT k) FROM calls'), 50,
	'idempotent_upsert, same values: all 50 keys were asked for');
is( query(
		q{SELECT count(*) FILTER (WHERE outcome = 'inserted') || ',' ||
		         count(*) FILTER (WHERE outcome = 'updated') || ',' ||
		         count(*) FILTER (WHERE outcome = 'unchanged')
		  FROM calls}),
	'50,0,' . ($upsert_calls - 50),
	"idempotent_upsert, same values: 50 'inserted', no 'updated', all others 'unchanged'");
is( query(
		q{SELECT count(*) FROM products
		  WHERE name <> 'product ' || substr(sku, 4)
		     OR price <> substr(sku, 4)::int * 10
		     OR category_id <> substr(sku, 4)::int % 7
		     OR supplier_id IS NOT NULL}),
	0,
	'idempotent_upsert, same values: every row has the values of its key');
is(query('SELECT count(*) FROM products'), 50,
	'idempotent_upsert, same values: 50 rows');
is( query(
		q{SELECT count(*) FROM calls
		  WHERE name <> 'product ' || substr(k, 4) OR price <> substr(k, 4)::int * 10}),
	0,
	'idempotent_upsert, same values: every call returned its key\'s row');
is(query('SELECT count(*) FROM update_fires'), 0,
	'idempotent_upsert, same values: the UPDATE trigger never fired');
# The statistics: no tuple updated.  Inserts are counted, speculative
# insertions that met a concurrent row's key included, and each of those
# is counted as deleted too when it is taken back: net 50 rows.
my ($ins, $upd, $hot, $del) = split /,/, product_stats();
note "products: n_tup_ins $ins, n_tup_upd $upd, n_tup_hot_upd $hot, n_tup_del $del";
is($ins - $del, 50,
	'idempotent_upsert, same values: the statistics count 50 rows inserted');
is("$upd,$hot", '0,0',
	'idempotent_upsert, same values: the statistics count no updated tuple');

############################################################################
# 4. idempotent_upsert on 20 keys with values that differ between clients:
# the last writer wins, no error, no mixed row.
$node->safe_psql('postgres', 'TRUNCATE calls, update_fires');
my $upd_before = $upd;
run_pgbench_ok(
	'idempotent_upsert, values per client', q{\set k random(1, 20)
INSERT INTO calls (k, client, outcome, name, price)
  SELECT 'race' || :k, :client_id, o.outcome, (o.result).name, (o.result).price
  FROM upsert_guard.idempotent_upsert_outcome(NULL::products,
         jsonb_build_object('sku', 'race' || :k, 'name', 'client ' || :client_id,
                            'price', :client_id)) o;
}, $upsert_tx);
is(query('SELECT count(*) FROM calls'), $upsert_calls,
	'idempotent_upsert, values per client: one call logged per transaction');
is( query(
		q{SELECT count(*) FROM calls
		  WHERE price <> client OR name <> 'client ' || client}),
	0,
	'idempotent_upsert, values per client: every call returned its own values');
is(query(q{SELECT count(*) FROM products WHERE sku LIKE 'race%'}),
	20, 'idempotent_upsert, values per client: 20 rows, one per key');
is( query(
		q{SELECT count(*) FROM products p
		  WHERE p.sku LIKE 'race%'
		    AND (p.name <> 'client ' || p.price::int
		         OR NOT EXISTS (SELECT FROM calls c
		                        WHERE c.k = p.sku AND c.client = p.price))}),
	0,
	'idempotent_upsert, values per client: every key ends with the values of a client that wrote it');
is( query(
		q{SELECT count(*) FROM
		    (SELECT k FROM calls GROUP BY k
		     HAVING count(*) FILTER (WHERE outcome = 'inserted') <> 1) s}),
	0,
	"idempotent_upsert, values per client: exactly one 'inserted' per key");
my $updated = query(q{SELECT count(*) FROM calls WHERE outcome = 'updated'});
cmp_ok($updated, '>', 0,
	"idempotent_upsert, values per client: some calls 'updated'");
is(query('SELECT count(*) FROM update_fires'), $updated,
	"idempotent_upsert, values per client: the trigger fired once per 'updated' outcome");
($ins, $upd, $hot, $del) = split /,/, product_stats();
is($upd - $upd_before, $updated,
	"idempotent_upsert, values per client: one row version per 'updated' outcome");
note "values per client: "
  . query(
	q{SELECT string_agg(outcome || ' ' || n, ', ' ORDER BY outcome)
	  FROM (SELECT outcome, count(*) AS n FROM calls GROUP BY outcome) s});

$node->stop;

done_testing();
