# Copyright (c) upsert_guard contributors
#
# 009_stats.pl: upsert_guard's counters across backends.
#
#  1. Without shared_preload_libraries: each backend has its own counters
#     (upsert_guard.backend_stats()), cluster_stats() refuses with 55000
#     and a hint, cluster_stats(true) and the view's cluster scope are
#     empty.
#  2. With upsert_guard in shared_preload_libraries: 8 pgbench clients race
#     select_or_insert on hot keys and post under a guard; the cluster-wide
#     counters add up every client's calls exactly: calls = pgbench's
#     transactions, inserted = rows in the table, found + inserted = calls,
#     some calls retried (the race happened), guard checks = posts tried,
#     refusals = posts refused (logged by the script), and waits > 0.  A
#     new session's own counters are 0 while the cluster's are not;
#     reset_stats() zeroes the cluster's, and is not granted to PUBLIC.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $duration = 3;

#
# 1. Not preloaded.
#
my $plain = PostgreSQL::Test::Cluster->new('stats_plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION upsert_guard');
$plain->safe_psql('postgres',
	'CREATE TABLE t (k int PRIMARY KEY); '
	  . q{SELECT upsert_guard.select_or_insert(NULL::t, '{"k": 1}')});

my ($ret, $out, $err) = $plain->psql('postgres',
	'SELECT * FROM upsert_guard.cluster_stats()',
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'not preloaded: cluster_stats() fails');
like($err, qr/ERROR:  55000: cluster-wide upsert_guard statistics are not being collected/,
	'not preloaded: 55000 and the message');
like($err, qr/HINT:  Add upsert_guard to shared_preload_libraries/,
	'not preloaded: the hint says what to do');
is($plain->safe_psql('postgres',
		'SELECT count(*) FROM upsert_guard.cluster_stats(true)'),
	'0', 'not preloaded: cluster_stats(true) has no rows');
is($plain->safe_psql('postgres',
		q{SELECT string_agg(DISTINCT scope, ',') FROM upsert_guard.stats}),
	'backend', 'not preloaded: the view shows the backend scope only');
# each backend counts its own calls: a second call in a new session
is($plain->safe_psql('postgres',
		q{SELECT upsert_guard.select_or_insert(NULL::t, '{"k": 1}'); }
		  . q{SELECT calls || ' ' || found FROM upsert_guard.backend_stats() }
		  . q{WHERE call = 'select_or_insert'}),
	"(1)\n1 1", 'not preloaded: a new backend counts only its own call');
$plain->stop;

#
# 2. Preloaded.
#
my $node = PostgreSQL::Test::Cluster->new('stats_preloaded');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'upsert_guard'\nmax_connections = 40\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION upsert_guard;
	CREATE TABLE keys (k bigint PRIMARY KEY, v int);
	CREATE TABLE posts (user_id int NOT NULL, day bigint NOT NULL);
	SELECT upsert_guard.add_guard('one_post_per_day', 'posts', '{user_id}',
	                              'other.day = new.day');
	CREATE UNLOGGED TABLE outcomes (ok boolean NOT NULL);
	-- one post attempt; records whether the guard refused it
	CREATE FUNCTION try_post(u int, d bigint) RETURNS void LANGUAGE plpgsql AS $$
	BEGIN
	    INSERT INTO posts VALUES (u, d);
	    INSERT INTO outcomes VALUES (true);
	EXCEPTION WHEN exclusion_violation THEN
	    INSERT INTO outcomes VALUES (false);
	END
	$$;
});

is($node->safe_psql('postgres',
		q{SELECT string_agg(DISTINCT scope, ',' ORDER BY scope) FROM upsert_guard.stats}),
	'backend,cluster', 'preloaded: the view shows both scopes');
is($node->safe_psql('postgres',
		'SELECT sum(calls + found + inserted + retries + waits + violations) '
		  . 'FROM upsert_guard.cluster_stats()'),
	'0', 'preloaded: the cluster counters start at 0');

# a new key every 5 ms that all clients race for; posts of 4 users on a
# day that changes every 20 ms
my $script = PostgreSQL::Test::Utils::tempdir . '/race.sql';
open my $fh, '>', $script or die $!;
print $fh q{SELECT (extract(epoch FROM clock_timestamp()) * 200)::bigint AS k \gset
SELECT k FROM upsert_guard.select_or_insert(NULL::keys, jsonb_build_object('k', :k, 'v', 1));
\set u random(1, 4)
SELECT try_post(:u, (extract(epoch FROM clock_timestamp()) * 50)::bigint);
};
close $fh;

my ($stdout, $stderr);
my $ok = IPC::Run::run(
	[ 'pgbench', '-n', '-c', '8', '-j', '2', '-T', $duration, '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pgbench ran') or diag($stderr);
my ($txns) = $stdout =~ /number of transactions actually processed: (\d+)/;
ok($txns && $txns > 100, "pgbench processed transactions ($txns)");

my %soi = split /[|\n]/, $node->safe_psql('postgres', q{
	SELECT 'calls', calls, 'found', found, 'inserted', inserted,
	       'retries', retries, 'exhausted', exhausted
	  FROM upsert_guard.cluster_stats() WHERE call = 'select_or_insert'});
my %g = split /[|\n]/, $node->safe_psql('postgres', q{
	SELECT 'calls', calls, 'waits', waits, 'violations', violations
	  FROM upsert_guard.cluster_stats() WHERE call = 'guard'});
my ($rows, $tried, $refused) = split /\|/, $node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM keys), count(*), count(*) FILTER (WHERE NOT ok)
	  FROM outcomes});

is($soi{calls}, $txns, "select_or_insert calls = pgbench's transactions ($txns)");
is($soi{inserted}, $rows, "inserted = rows in the table ($rows)");
is($soi{found} + $soi{inserted}, $soi{calls}, 'found + inserted = calls');
is($soi{exhausted}, 0, 'no call gave up');
cmp_ok($soi{retries}, '>', 0, "calls retried after losing a race ($soi{retries})");
is($g{calls}, $tried, "guard checks = posts tried ($tried)");
is($g{violations}, $refused, "guard refusals = posts refused ($refused)");
cmp_ok($refused, '>', 0, 'the guard refused some posts (the race happened)');
cmp_ok($g{waits}, '>', 0, "guard checks waited for a key's lock ($g{waits})");

# a new session's own counters are 0; the cluster's are not
is($node->safe_psql('postgres',
		'SELECT sum(calls) FROM upsert_guard.backend_stats()'),
	'0', "a new session's backend counters are 0");

# reset_stats: not for PUBLIC; the owner zeroes the cluster's counters
$node->safe_psql('postgres', 'CREATE ROLE nobody LOGIN');
($ret, $out, $err) = $node->psql('postgres', 'SELECT upsert_guard.reset_stats()',
	extra_params => [ '-U', 'nobody' ]);
like($err, qr/permission denied for function reset_stats/,
	'reset_stats is not granted to PUBLIC');
$node->safe_psql('postgres', 'SELECT upsert_guard.reset_stats()');
is($node->safe_psql('postgres',
		'SELECT sum(calls + found + inserted + retries + waits + violations) '
		  . 'FROM upsert_guard.cluster_stats()'),
	'0', 'reset_stats zeroes the cluster counters');

$node->stop;
done_testing();
