# Copyright (c) upsert_guard contributors
#
# 004_guard_load.pl: seed 002's rules for highlighted posts under load,
# the application's check-then-insert with and without a guard.
#
#   week    case 2: one highlighted post per user and calendar week
#   three   case 3: at most three per user and calendar week
#   7_days  case 4: 7 days between two highlighted posts of a user
#
# 16 pgbench clients post highlighted posts for 4 users, each transaction
# the seed's naive code: count the user's posts the rule forbids, and
# insert only if the rule allows it, with a 1 ms pause between check and
# insert (the time an application spends between two round trips) so that
# the race is wide enough to happen in every run.  For each rule:
#
#  1. on a table without a guard, the rule ends broken: the invariant
#     query, run afterwards, finds violations;
#  2. the same script on a table with the rule's guard (READ COMMITTED):
#     no violation, posts were written, and the guard refused some
#     inserts with 23P01 (the race did happen); every row in the table is
#     an insert that reported success;
#  3. the same in REPEATABLE READ transactions (check and insert in one
#     transaction), with pgbench retrying serialization failures
#     (--max-tries): no violation, and some transactions were retried
#     (the guard's 40001).
#
# Posting times run on a virtual clock, one virtual hour per real
# millisecond (a week in 168 ms), so that during a 3 s run every user may
# post again many times and the clients race for each new week (case 2,
# 3) or each end of a 7-day wait (case 4), not only once at the start.
#
# pgbench 15 aborts a client on any error but 40001 and 40P01, so the
# insert is made by try_post(), which catches 23P01 (and, under READ
# COMMITTED, 40001, which must not happen there) and logs every outcome
# in the table outcomes, in the transaction of the insert.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

# Length of each pgbench run, in seconds.
my $duration = 3;
my $users = 4;

my $node = PostgreSQL::Test::Cluster->new('guard_load');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;

# The rules: the guard, the application's check (the number of the user's
# posts that count against a post at virtual time :vt, and how many of
# them the rule allows), and the invariant: a query counting what breaks
# the rule in table T.
my $vt = q{(timestamp '2026-01-05 00:00' + :h * interval '1 hour')};
my %rules = (
	week => {
		guard => 'one_highlight_per_week',
		conflict => q{new.highlighted AND other.highlighted
		  AND date_trunc('week', other."createdAt") = date_trunc('week', new."createdAt")},
		max_conflicts => 0,
		check => qq{date_trunc('week', "createdAt") = date_trunc('week', $vt)},
		allowed => 1,
		invariant => q{SELECT count(*) FROM
		  (SELECT FROM T WHERE highlighted
		   GROUP BY "userId", date_trunc('week', "createdAt")
		   HAVING count(*) > 1) s},
	},
	three => {
		guard => 'three_highlights_per_week',
		conflict => q{new.highlighted AND other.highlighted
		  AND date_trunc('week', other."createdAt") = date_trunc('week', new."createdAt")},
		max_conflicts => 2,
		check => qq{date_trunc('week', "createdAt") = date_trunc('week', $vt)},
		allowed => 3,
		invariant => q{SELECT count(*) FROM
		  (SELECT FROM T WHERE highlighted
		   GROUP BY "userId", date_trunc('week', "createdAt")
		   HAVING count(*) > 3) s},
	},
	'7_days' => {
		guard => 'one_highlight_per_7_days',
		conflict => q{new.highlighted AND other.highlighted
		  AND other."createdAt" > new."createdAt" - interval '7 days'
		  AND other."createdAt" < new."createdAt" + interval '7 days'},
		max_conflicts => 0,
		check => qq{"createdAt" > $vt - interval '7 days'
		  AND "createdAt" < $vt + interval '7 days'},
		allowed => 1,
		invariant => q{SELECT count(*) FROM T a JOIN T b
		  ON b."userId" = a."userId" AND b.ctid > a.ctid
		  WHERE a.highlighted AND b.highlighted
		    AND b."createdAt" > a."createdAt" - interval '7 days'
		    AND b."createdAt" < a."createdAt" + interval '7 days'},
	},
);
my @rules = ('week', 'three', '7_days');

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION upsert_guard;
-- One row per insert attempted: the table, and 'inserted', '23P01' or
-- '40001'.  Written in the inserting transaction: a rolled-back attempt
-- leaves nothing.
CREATE TABLE outcomes (tbl text NOT NULL, outcome text NOT NULL);
CREATE FUNCTION try_post(tbl regclass, u int, ts timestamp, catch_40001 boolean)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %s VALUES ($1, $2, true, $3)', tbl)
      USING u, ts, 'post of user ' || u;
    INSERT INTO outcomes VALUES (tbl::text, 'inserted');
    RETURN 'inserted';
EXCEPTION
    WHEN exclusion_violation THEN
        INSERT INTO outcomes VALUES (tbl::text, '23P01');
        RETURN '23P01';
    WHEN serialization_failure THEN
        IF NOT catch_40001 THEN
            RAISE;
        END IF;
        INSERT INTO outcomes VALUES (tbl::text, '40001');
        RETURN '40001';
END
$$;
});

# Per rule: naive_<rule> without a guard, guarded_<rule> and rr_<rule>
# with one (the REPEATABLE READ round's guard is named rr_<guard>).
foreach my $rule (@rules)
{
	my $r = $rules{$rule};
	my $sql = '';
	foreach my $t ("naive_$rule", "guarded_$rule", "rr_$rule")
	{
		$sql .= qq{
CREATE TABLE $t ("userId" int NOT NULL, "createdAt" timestamp NOT NULL,
                 highlighted boolean NOT NULL, "postContent" text NOT NULL);
CREATE INDEX ON $t ("userId");
};
	}
	foreach my $t ("guarded_$rule", "rr_$rule")
	{
		my $guard = ($t =~ /^rr_/ ? 'rr_' : '') . $r->{guard};
		$sql .= qq{
SELECT upsert_guard.add_guard('$guard', '$t', ARRAY['userId'],
  \$cond\$$r->{conflict}\$cond\$, $r->{max_conflicts});
};
	}
	$node->safe_psql('postgres', $sql);
}

# Runs one SQL query returning a single value.
sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# The naive check-then-insert on table $t for $rule; in one REPEATABLE
# READ transaction if $rr.  :base is the start of the virtual clock.
sub script
{
	my ($rule, $t, $rr) = @_;
	my $r = $rules{$rule};
	my $catch = $rr ? 'false' : 'true';
	my $s = qq{\\set u random(1, $users)
};
	$s .= qq{BEGIN ISOLATION LEVEL REPEATABLE READ;
} if $rr;
	$s .= qq{SELECT ((extract(epoch FROM clock_timestamp()) - :base) * 1000)::bigint AS h \\gset
SELECT count(*) AS n FROM $t
  WHERE "userId" = :u AND highlighted IS TRUE AND $r->{check} \\gset
\\if :n < $r->{allowed}
SELECT pg_sleep(0.001);
SELECT try_post('$t', :u, $vt, $catch);
\\endif
};
	$s .= qq{END;
} if $rr;
	return $s;
}

# Runs pgbench with a script for $duration seconds; returns (exit status,
# stdout, stderr).
my $script_no = 0;

sub run_pgbench
{
	my ($script, @opts) = @_;

	my $file = $node->basedir . '/script_' . ++$script_no . '.sql';
	PostgreSQL::Test::Utils::append_to_file($file, $script);
	my @cmd = (
		'pgbench', '-n', '-c', '16', '-j', '2', '-T', $duration,
		'-D', 'base=' . time(),
		'-h', $node->host, '-p', $node->port,
		@opts, '-f', $file, 'postgres');
	note "running: @cmd";
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr);
	my $ret = $?;
	die "pgbench exited with signal " . ($ret & 127) if $ret & 127;
	return ($ret >> 8, $stdout, $stderr);
}

# Checks that pgbench ran cleanly: no client aborted, no error.
sub pgbench_ok
{
	my ($name, $ret, $stdout, $stderr) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	is($ret, 0, "$name: pgbench exit status 0")
	  or diag("stdout:\n$stdout\nstderr:\n$stderr");
	unlike($stderr, qr/ERROR|FATAL|abort/, "$name: no error in pgbench stderr");
	my ($ntx) = $stdout =~ /^number of transactions actually processed: (\d+)/m;
	ok(defined $ntx && $ntx > 0,
		"$name: pgbench processed transactions (" . ($ntx // 'none') . ")");
}

sub violations
{
	my ($rule, $t) = @_;
	(my $sql = $rules{$rule}{invariant}) =~ s/\bT\b/$t/g;
	return query($sql);
}

sub outcomes
{
	my ($t, $outcome) = @_;
	return query(
		qq{SELECT count(*) FROM outcomes WHERE tbl = '$t' AND outcome = '$outcome'});
}

foreach my $rule (@rules)
{
	my $r = $rules{$rule};

	########################################################################
	# 1. No guard: the rule ends broken.
	my $t = "naive_$rule";
	my $name = "$rule, no guard";
	pgbench_ok($name, run_pgbench(script($rule, $t, 0)));
	my $rows = query("SELECT count(*) FROM $t");
	my $broken = violations($rule, $t);
	note "$name: $rows posts, $broken violations";
	cmp_ok($rows, '>', 0, "$name: posts were written");
	cmp_ok($broken, '>', 0, "$name: the rule is broken ($broken violations)");

	########################################################################
	# 2. The guard, READ COMMITTED: the rule holds.
	$t = "guarded_$rule";
	$name = "$rule, guard $r->{guard}";
	my ($ret, $stdout, $stderr) = run_pgbench(script($rule, $t, 0));
	pgbench_ok($name, $ret, $stdout, $stderr);
	like($stdout, qr/^number of failed transactions: 0 /m,
		"$name: pgbench reports 0 failed transactions");
	$rows = query("SELECT count(*) FROM $t");
	my $refused = outcomes($t, '23P01');
	note "$name: $rows posts, $refused inserts refused";
	is(violations($rule, $t), 0, "$name: no violation");
	cmp_ok($rows, '>', 0, "$name: posts were written");
	is(outcomes($t, 'inserted'), $rows,
		"$name: one post per insert that reported success");
	cmp_ok($refused, '>', 0, "$name: the guard refused racing inserts with 23P01");
	is(outcomes($t, '40001'), 0, "$name: no 40001 under READ COMMITTED");

	########################################################################
	# 3. The guard, REPEATABLE READ, pgbench retrying 40001.
	$t = "rr_$rule";
	$name = "$rule, guard rr_$r->{guard}, repeatable read";
	($ret, $stdout, $stderr) = run_pgbench(script($rule, $t, 1),
		'--max-tries=100', '--failures-detailed');
	pgbench_ok($name, $ret, $stdout, $stderr);
	$rows = query("SELECT count(*) FROM $t");
	my ($retried) = $stdout =~ /^number of transactions retried: (\d+)/m;
	my ($failed) = $stdout =~ /^number of failed transactions: (\d+)/m;
	note "$name: $rows posts, "
	  . ($retried // 'no') . " transactions retried, "
	  . ($failed // 'no') . " failed after all tries, "
	  . outcomes($t, '23P01') . " inserts refused with 23P01";
	is(violations($rule, $t), 0, "$name: no violation");
	cmp_ok($rows, '>', 0, "$name: posts were written");
	is(outcomes($t, 'inserted'), $rows,
		"$name: one post per insert that reported success");
	ok(defined $retried && $retried > 0,
		"$name: pgbench retried transactions the guard failed with 40001");
}

$node->stop;

done_testing();
