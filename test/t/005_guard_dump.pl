# Copyright (c) upsert_guard contributors
#
# 005_guard_dump.pl: guards survive pg_dump and restore.
#
# A guard is two things: its row in upsert_guard.guard_definitions (an
# extension configuration table, registered with pg_extension_config_dump,
# so pg_dump dumps its rows although the table belongs to the extension)
# and its trigger (an ordinary trigger, dumped with its table).  The
# database "src" has the posts table of seed 002 with the three guards of
# its rules, and a second table, in a schema with a mixed-case name, with
# a two-column guard whose name needs quoting.  It is dumped in custom
# format (restored with pg_restore) and in plain format (restored with
# psql); in each restored database:
#
#  1. upsert_guard.guards lists the same guards, all enforced, and the
#     same triggers exist (pg_get_triggerdef), with the same rows;
#  2. the guards work: a violating insert fails with 23P01 naming the
#     guard, a valid one succeeds, for each guard (the posts guards are
#     dropped one by one, since a post that breaks case 2 or 3 also breaks
#     the guard that fires before it);
#  3. drop_guard works: it drops the trigger and the definition, and the
#     insert the guard refused goes in.
#
# Also: a database whose extension was created at 0.1.0 (before guards)
# and updated keeps its guards through a dump as well (the update script
# registers the definitions table for pg_dump too).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('guard_dump');
$node->init;
$node->start;

my $tempdir = PostgreSQL::Test::Utils::tempdir;

# The guards of the seed, and one on a second table.
my $schema = q{
CREATE EXTENSION upsert_guard;
CREATE TABLE posts ("userId" int NOT NULL, "createdAt" timestamp NOT NULL,
                    highlighted boolean NOT NULL, "postContent" text NOT NULL);
SELECT upsert_guard.add_guard('one_highlight_per_week', 'posts', '{userId}',
  $$new.highlighted AND other.highlighted
    AND date_trunc('week', other."createdAt") = date_trunc('week', new."createdAt")$$);
SELECT upsert_guard.add_guard('three_highlights_per_week', 'posts', '{userId}',
  $$new.highlighted AND other.highlighted
    AND date_trunc('week', other."createdAt") = date_trunc('week', new."createdAt")$$,
  max_conflicts => 2);
SELECT upsert_guard.add_guard('one_highlight_per_7_days', 'posts', '{userId}',
  $$new.highlighted AND other.highlighted
    AND other."createdAt" > new."createdAt" - interval '7 days'
    AND other."createdAt" < new."createdAt" + interval '7 days'$$);

CREATE SCHEMA "Blog";
CREATE TABLE "Blog"."Reactions" ("postId" bigint NOT NULL, "userId" int NOT NULL,
                                 kind text NOT NULL);
SELECT upsert_guard.add_guard('One reaction per post', '"Blog"."Reactions"',
  '{postId,userId}', 'true');
};

# Rows that keep every rule.  User 1: Monday 2026-11-02 and Monday
# 2026-11-16; user 2: Wednesday 2026-11-18; and posts not highlighted.
my $data = q{
INSERT INTO posts VALUES
  (1, '2026-11-02 10:00', true, 'one'),
  (1, '2026-11-16 10:00', true, 'two'),
  (1, '2026-11-17 10:00', false, 'plain'),
  (2, '2026-11-18 10:00', true, 'three'),
  (2, '2026-11-18 11:00', false, 'plain');
INSERT INTO "Blog"."Reactions" VALUES (1, 1, 'like'), (1, 2, 'like'), (2, 1, 'love');
};

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', $schema . $data);

# What is compared between the source and each restored database.
my %snapshot = (
	guards => q{SELECT guard, table_name, key_columns, conflict, max_conflicts,
	                   table_owner, enforced
	            FROM upsert_guard.guards ORDER BY guard},
	triggers => q{SELECT tgrelid::regclass, tgname, tgenabled, pg_get_triggerdef(oid)
	              FROM pg_trigger WHERE NOT tgisinternal
	              ORDER BY tgrelid::regclass::text, tgname},
	posts => q{SELECT * FROM posts ORDER BY "createdAt", "postContent"},
	reactions => q{SELECT * FROM "Blog"."Reactions" ORDER BY 1, 2},
);
my %src;
$src{$_} = $node->safe_psql('src', $snapshot{$_}) foreach keys %snapshot;
note "guards in src:\n$src{guards}";
is($node->safe_psql('src', 'SELECT count(*) FROM upsert_guard.guards WHERE enforced'),
	4, 'src: 4 guards, enforced');

# Runs a command against the node; checks it succeeds with nothing on
# stderr.
sub run_ok
{
	my ($name, @cmd) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	my ($stdout, $stderr);
	my $ok = IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr);
	ok($ok, "$name: exit status 0") or diag("@cmd\nstderr:\n$stderr");
	is($stderr, '', "$name: nothing on stderr");
}

my @conn = ('-h', $node->host, '-p', $node->port);

# Runs SQL in $db expecting it to fail; returns stderr (VERBOSITY verbose,
# so the SQLSTATE follows "ERROR:").
sub psql_fails
{
	my ($db, $sql) = @_;
	my ($ret, $stdout, $stderr) =
	  $node->psql($db, "\\set VERBOSITY verbose\n$sql", on_error_stop => 1);
	return $ret == 0 ? "(succeeded)" : $stderr;
}

# Checks a restored database: the same guards, triggers and rows, and
# every guard enforced, then dropped.
sub check_restored
{
	my ($db) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	########################################################################
	# 1. The same guards, triggers and rows as src.
	foreach my $what (sort keys %snapshot)
	{
		is($node->safe_psql($db, $snapshot{$what}),
			$src{$what}, "$db: the same $what as src");
	}
	is( $node->safe_psql(
			$db, 'SELECT count(*) FROM upsert_guard.guards WHERE enforced'),
		4,
		"$db: 4 guards, all enforced");
	is( $node->safe_psql(
			$db, q{SELECT string_agg(tgname, ', ' ORDER BY tgname) FROM pg_trigger
			       WHERE tgfoid = 'upsert_guard._guard_trigger()'::regprocedure}),
		'One reaction per post, one_highlight_per_7_days, one_highlight_per_week, three_highlights_per_week',
		"$db: one guard trigger per guard");

	########################################################################
	# 2. and 3. The guards at work, and drop_guard.

	# Case 4: Monday 2026-11-23 is another week than user 2's post of
	# Wednesday 18th, but only 5 days later.
	like(
		psql_fails($db, q{INSERT INTO posts VALUES (2, '2026-11-23 10:00', true, 'x')}),
		qr/ERROR:  23P01: row violates guard "one_highlight_per_7_days" on table "posts"/,
		"$db: a post 5 days after the last one: 23P01 from one_highlight_per_7_days");
	# Exactly 7 days later, in a new week, is allowed; a post that is not
	# highlighted always is.
	$node->safe_psql(
		$db, q{INSERT INTO posts VALUES (2, '2026-11-25 10:00', true, 'seven days later'),
		                                (2, '2026-11-25 11:00', false, 'plain')});
	is( $node->safe_psql(
			$db, q{SELECT count(*) FROM posts WHERE "userId" = 2 AND "createdAt" >= '2026-11-25'}),
		2,
		"$db: a post 7 days after the last one, and one not highlighted, are inserted");

	is($node->safe_psql($db, q{SELECT upsert_guard.drop_guard('one_highlight_per_7_days')}),
		't', "$db: drop_guard('one_highlight_per_7_days') returns true");
	is( $node->safe_psql(
			$db, q{SELECT count(*) FROM pg_trigger WHERE tgname = 'one_highlight_per_7_days'}),
		0,
		"$db: drop_guard dropped the trigger");
	is( $node->safe_psql(
			$db, q{SELECT string_agg(guard, ', ' ORDER BY guard) FROM upsert_guard.guards}),
		'One reaction per post, one_highlight_per_week, three_highlights_per_week',
		"$db: drop_guard dropped the definition");
	# Friday 2026-11-13: alone in its week, but 3 days before user 1's post
	# of Monday 16th.
	$node->safe_psql($db,
		q{INSERT INTO posts VALUES (1, '2026-11-13 10:00', true, 'three days before')});
	pass("$db: without the 7-day guard, a post 3 days before another is inserted");

	# Case 2: another highlighted post of user 2 in the week of 2026-11-23
	# (Wednesday 25th has one).
	like(
		psql_fails($db, q{INSERT INTO posts VALUES (2, '2026-11-26 10:00', true, 'x')}),
		qr/ERROR:  23P01: row violates guard "one_highlight_per_week" on table "posts"/,
		"$db: a second post in a week: 23P01 from one_highlight_per_week");
	is($node->safe_psql($db, q{SELECT upsert_guard.drop_guard('one_highlight_per_week')}),
		't', "$db: drop_guard('one_highlight_per_week') returns true");

	# Case 3: user 1 has one highlighted post in the week of 2026-11-16;
	# two more are allowed, a fourth is not.
	$node->safe_psql(
		$db, q{INSERT INTO posts VALUES (1, '2026-11-17 10:00', true, 'second'),
		                                (1, '2026-11-18 10:00', true, 'third')});
	pass("$db: a second and a third post in a week are inserted");
	like(
		psql_fails($db, q{INSERT INTO posts VALUES (1, '2026-11-19 10:00', true, 'fourth')}),
		qr/ERROR:  23P01: row violates guard "three_highlights_per_week" on table "posts"/,
		"$db: a fourth post in a week: 23P01 from three_highlights_per_week");

	# The second table's guard, two key columns.
	like(
		psql_fails($db, q{INSERT INTO "Blog"."Reactions" VALUES (1, 1, 'love')}),
		qr/ERROR:  23P01: row violates guard "One reaction per post" on table "Reactions"/,
		"$db: a second reaction of a user to a post: 23P01 from \"One reaction per post\"");
	$node->safe_psql($db, q{INSERT INTO "Blog"."Reactions" VALUES (3, 1, 'like')});
	pass("$db: a reaction to another post is inserted");

	# Drop the rest: nothing is guarded any more.
	is( $node->safe_psql(
			$db, q{SELECT upsert_guard.drop_guard('three_highlights_per_week'),
			              upsert_guard.drop_guard('One reaction per post')}),
		't|t',
		"$db: drop_guard of the last two guards returns true");
	is( $node->safe_psql(
			$db, q{SELECT upsert_guard.drop_guard('one_highlight_per_week', missing_ok => true)}),
		'f',
		"$db: drop_guard of a dropped guard with missing_ok returns false");
	like(
		psql_fails($db, q{SELECT upsert_guard.drop_guard('one_highlight_per_week')}),
		qr/ERROR:  42704: guard "one_highlight_per_week" does not exist/,
		"$db: drop_guard of a dropped guard: 42704");
	is( $node->safe_psql(
			$db, q{SELECT (SELECT count(*) FROM upsert_guard.guards)
			            + (SELECT count(*) FROM upsert_guard.guard_definitions)
			            + (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)}),
		0,
		"$db: no guard, no definition, no trigger left");
	$node->safe_psql(
		$db, q{INSERT INTO posts VALUES (1, '2026-11-19 10:00', true, 'fourth');
		       INSERT INTO "Blog"."Reactions" VALUES (1, 1, 'love')});
	pass("$db: with the guards dropped, the refused rows are inserted");
}

############################################################################
# Custom format, pg_restore.
my $custom = "$tempdir/src.dump";
run_ok('pg_dump -Fc', 'pg_dump', @conn, '-Fc', '-f', $custom, 'src');
$node->safe_psql('postgres', 'CREATE DATABASE restored_custom');
run_ok('pg_restore', 'pg_restore', @conn, '--exit-on-error', '-d', 'restored_custom',
	$custom);
check_restored('restored_custom');

############################################################################
# Plain format, psql.
my $plain = "$tempdir/src.sql";
run_ok('pg_dump -Fp', 'pg_dump', @conn, '-Fp', '-f', $plain, 'src');
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
run_ok('psql -f', 'psql', @conn, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
	'restored_plain', '-f', $plain);
check_restored('restored_plain');

############################################################################
# An install updated from 0.1.0, the version before guards.
$node->safe_psql('postgres', 'CREATE DATABASE src_updated');
my $updated_schema = $schema;
$updated_schema =~ s/CREATE EXTENSION upsert_guard;/CREATE EXTENSION upsert_guard VERSION '0.1.0';
ALTER EXTENSION upsert_guard UPDATE;/;
$node->safe_psql('src_updated', $updated_schema . $data);
is($node->safe_psql('src_updated', 'SELECT count(*) FROM upsert_guard.guards WHERE enforced'),
	4, 'src_updated: 4 guards, enforced');
my $updated = "$tempdir/src_updated.dump";
run_ok('pg_dump -Fc of src_updated', 'pg_dump', @conn, '-Fc', '-f', $updated,
	'src_updated');
$node->safe_psql('postgres', 'CREATE DATABASE restored_updated');
run_ok('pg_restore of src_updated', 'pg_restore', @conn, '--exit-on-error', '-d',
	'restored_updated', $updated);
check_restored('restored_updated');

$node->stop;

done_testing();
