# Copyright (c) upsert_guard contributors
#
# 007_crash.pl: what a call acknowledged survives a crash, and nothing
# else does.
#
# 8 psql clients write through every kind of call at once, each a script
# of thousands of autocommit statements: select_or_insert on titles all
# clients share (so they race to insert them), idempotent_upsert on each
# client's own products with a rising version, increment on 20 visit
# counters all clients share, and highlighted posts on 4 shared users
# under the guard "one highlighted post per user and calendar week" (so
# most of them are refused with 23P01).  Every statement prints one line,
# naming the statement, only when the server returned success; with
# autocommit and synchronous_commit on, the server reports success after
# its commit is flushed, so a line in a client's log is a commit the
# client was told about.
#
# Five rounds of: start the clients, let them run for 1 to 3 s, stop the
# server with an immediate shutdown (every process killed, no
# checkpoint: the crash of the server's processes; the operating system
# and its page cache survive), wait for the clients to lose their
# connection, start the server (crash recovery), then check the tables
# against all the acknowledgements logged so far:
#
#  - the server came back after crash recovery; every client was still
#    running when the server went down, and printed nothing but
#    acknowledgements, guard refusals and the lost connection; every
#    statement before its last acknowledgement was acknowledged or
#    refused (none vanished), and the round acknowledged writes of every
#    kind (so that the checks below cannot pass on empty tables);
#  - no key twice in any table, read from the heap by a sequential scan
#    and through the unique index by an index scan (both plans checked),
#    the two counts equal;
#  - select_or_insert: every title acknowledged is there with the id the
#    call returned, each title had one id and one 'inserted' in all the
#    acknowledgements, and no title is there that no call asked for;
#  - idempotent_upsert: every product acknowledged is there with its last
#    acknowledged version, or with a later one that a call in flight at
#    a crash wrote; repeating the last call reported 'unchanged';
#  - increment: each counter is at least its acknowledged calls and at
#    most those plus the calls in flight at the crashes (one per client
#    and round at most), the sum likewise, and no two acknowledged calls
#    of a counter returned the same count (no lost update);
#  - the guard: no user has two highlighted posts in a calendar week,
#    every acknowledged post is there, every post there was acknowledged
#    or in flight, and the guard is still enforced;
#  - amcheck, when installed: bt_index_check and bt_index_parent_check
#    (with heapallindexed) on every btree index, verify_heapam on every
#    table, of the test's tables and the extension's.
#
# A statement "in flight" is the one a client had sent when the server
# went down: it may have committed without the client hearing of it.  It
# is the first statement after the client's last acknowledgement that
# the guard did not refuse.
#
# The clients' random choices are seeded; the seed is printed, and
# CRASH_SEED=<seed> repeats the choices (not the timing).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes ();

my $rounds = 5;
my $clients = 8;
# Statements in each client's script per round: more than a client runs
# in 3 s (one client alone runs about 4,000 a second), so that every
# client is still running when the server goes down.
my $statements = 20000;
my $users = 4;

my $seed = $ENV{CRASH_SEED} // (time() ^ ($$ << 8));
srand($seed);
note "random seed $seed";

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf',
	"max_connections = 40\nsynchronous_commit = on\n");
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION upsert_guard;
-- select_or_insert: seed 001's articles, by title
CREATE TABLE articles (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text NOT NULL UNIQUE,
    content text
);
-- idempotent_upsert: seed 000's products, each row with the version of
-- the feed that wrote it
CREATE TABLE products (
    sku text PRIMARY KEY,
    version int NOT NULL,
    name text NOT NULL
);
-- increment: seed 003's visit counter
CREATE TABLE visits (
    email text PRIMARY KEY,
    count bigint NOT NULL
);
-- the guard: seed 002, case 2
CREATE TABLE posts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id int NOT NULL,
    created_at timestamp NOT NULL,
    highlighted boolean NOT NULL,
    note text NOT NULL UNIQUE
);
CREATE INDEX ON posts (user_id);
SELECT upsert_guard.add_guard('one_highlight_per_week', 'posts', '{user_id}',
  $$new.highlighted AND other.highlighted
    AND date_trunc('week', other.created_at) = date_trunc('week', new.created_at)$$);
});

# Runs SQL; returns its output.
sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# Runs a query; returns its rows, each a reference to its fields.
sub rows
{
	my ($sql) = @_;
	return map { [ split /\|/, $_, -1 ] } grep { length } split /\n/,
	  query($sql);
}

my $amcheck = query(
	"SELECT count(*) FROM pg_available_extensions WHERE name = 'amcheck'");
query('CREATE EXTENSION amcheck') if $amcheck;

# The unique keys checked for duplicates: table, column, unique index.
my @unique_keys = (
	[ 'articles', 'title', 'articles_title_key' ],
	[ 'articles', 'id', 'articles_pkey' ],
	[ 'products', 'sku', 'products_pkey' ],
	[ 'visits', 'email', 'visits_pkey' ],
	[ 'posts', 'id', 'posts_pkey' ],
	[ 'posts', 'note', 'posts_note_key' ]);

# The posts that break the guard's rule.
my $violations_sql = q{SELECT count(*) FROM
  (SELECT FROM posts WHERE highlighted
   GROUP BY user_id, date_trunc('week', created_at)
   HAVING count(*) > 1) s};

# Client $c's script for round $r: the SQL, one statement on line j for
# statement j, and the plan: for each j, what statement j asks for.
sub script
{
	my ($c, $r) = @_;
	my (@plan, %issued);
	my $sql = '';
	foreach my $j (1 .. $statements)
	{
		my $x = rand();
		if ($x < 0.30)
		{
			# 600 titles a round, half of them the last round's
			my $title = sprintf('article %05d', $r * 300 + int(rand(600)));
			$plan[$j] = { kind => 'soi', key => $title };
			$sql .=
			  qq{SELECT 'soi', $j, o.outcome, (o.result).title, (o.result).id FROM upsert_guard.select_or_insert_outcome(NULL::articles, '{"title": "$title", "content": "the text of $title"}', '{title}') o;\n};
		}
		elsif ($x < 0.50)
		{
			# a quarter of the calls repeat the product's last call
			my $sku = "sku-$c-" . int(rand(30));
			my $repeat = exists $issued{$sku} && rand() < 0.25;
			my $version = $repeat ? $issued{$sku} : $r * 1_000_000 + $j;
			$issued{$sku} = $version;
			$plan[$j] = {
				kind => 'iu',
				key => $sku,
				version => $version,
				repeat => $repeat
			};
			$sql .=
			  qq{SELECT 'iu', $j, o.outcome, (o.result).sku, (o.result).version FROM upsert_guard.idempotent_upsert_outcome(NULL::products, '{"sku": "$sku", "version": $version, "name": "$sku version $version"}', '{sku}') o;\n};
		}
		elsif ($x < 0.75)
		{
			my $email = 'visitor' . int(rand(20)) . '@example.com';
			$plan[$j] = { kind => 'inc', key => $email };
			$sql .=
			  qq{SELECT 'inc', $j, v.email, v.count FROM upsert_guard.increment(NULL::visits, '{"email": "$email", "count": 1}', '{"count": 1}', '{email}') v;\n};
		}
		else
		{
			# the clients move through the weeks at the same pace, each
			# posting about twice a week for a random user
			my $user = 1 + int(rand($users));
			my $week = $r * 5000 + int($j / 8);
			my $hour = int(rand(168));
			my $note = "post $j of client $c in round $r";
			$plan[$j] = { kind => 'g', key => $note, user => $user };
			$sql .=
			  qq{INSERT INTO posts (user_id, created_at, highlighted, note) VALUES ($user, timestamp '2000-01-03' + $week * interval '1 week' + $hour * interval '1 hour', true, '$note') RETURNING 'g', $j, user_id, created_at, note;\n};
		}
	}
	return ($sql, \@plan);
}

# Checks that a list of problems is empty; shows the first few.
sub none
{
	my ($name, @problems) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is(scalar @problems, 0, $name)
	  or diag(join("\n", grep { defined } @problems[ 0 .. 9 ]));
}

# What the acknowledgements of all rounds so far say.
my %article_id;          # title -> id returned
my %article_inserted;    # title -> acknowledged 'inserted' outcomes
my %article_inflight;    # title -> 1 if a call was in flight at a crash
my %product_version;     # sku -> last acknowledged version
my %product_inflight;    # sku -> versions of calls in flight
my %visit_acks;          # email -> acknowledged increments
my %visit_inflight;      # email -> increments in flight
my %visit_returned;      # email -> count -> times returned
my %post_acked;          # note -> "user_id|created_at"
my %post_inflight;       # note -> 1

foreach my $r (1 .. $rounds)
{
	my $name = "round $r";

	# the scripts
	my (@plans, @base);
	foreach my $c (1 .. $clients)
	{
		my ($sql, $plan) = script($c, $r);
		$base[$c] = $node->basedir . "/round${r}_client$c";
		open my $fh, '>', "$base[$c].sql" or die "cannot write $base[$c].sql: $!";
		print $fh $sql;
		close $fh;
		$plans[$c] = $plan;
	}

	# run, crash, restart
	my $log_offset = -s $node->logfile;
	my @clients;
	foreach my $c (1 .. $clients)
	{
		$clients[$c] = IPC::Run::start(
			[
				'psql', '-X', '-Atq', '-v', 'ON_ERROR_STOP=0',
				'-d', $node->connstr('postgres'),
				'-f', "$base[$c].sql"
			],
			'<', '/dev/null',
			'>', "$base[$c].out",
			'2>', "$base[$c].err",
			IPC::Run::timeout(20));
	}
	my $run = 1 + rand(2);
	Time::HiRes::sleep($run);
	$node->stop('immediate');
	my (@exit, @hung);
	foreach my $c (1 .. $clients)
	{
		if (eval { $clients[$c]->finish; 1 })
		{
			$exit[$c] = $clients[$c]->full_result(0);
		}
		else
		{
			$clients[$c]->kill_kill;
			push @hung, "client $c did not exit: $@";
		}
	}
	none("$name: every client exited after the crash", @hung);
	ok($node->start(fail_ok => 1), "$name: the server starts after the crash")
	  or BAIL_OUT('the server did not come back');
	my $log = slurp_file($node->logfile, $log_offset);
	like(
		$log,
		qr/database system was not properly shut down; automatic recovery in progress/,
		"$name: the server ran crash recovery");
	unlike(
		$log,
		qr/PANIC|TRAP:|terminated by signal/,
		"$name: no PANIC, failed assertion or crashed process in the server log");

	# the clients' logs
	my (@unexpected, @not_stopped, @vanished, @wrong);
	my %acked = (soi_inserted => 0, soi_found => 0, iu_written => 0,
		inc => 0, g => 0);
	my ($refused, $statements_run, %inflight_kinds) = (0, 0);
	foreach my $c (1 .. $clients)
	{
		my $plan = $plans[$c];
		my $who = "round $r client $c";

		push @not_stopped,
		  "$who: exit status " . ($exit[$c] >> 8) . ', signal ' . ($exit[$c] & 127)
		  if defined $exit[$c] && $exit[$c] != 2 << 8;

		# statements the server refused; anything else on stderr
		my %refused;
		my $lost = 0;
		foreach my $line (split /\n/, slurp_file("$base[$c].err"))
		{
			if ($line =~ /^psql:[^:]*:(\d+): ERROR:  (.*)$/)
			{
				my ($j, $msg) = ($1, $2);
				$refused{$j} = 1;
				if (   $plan->[$j]{kind} eq 'g'
					&& $msg eq 'row violates guard "one_highlight_per_week" on table "posts"')
				{
					$refused++;
				}
				else
				{
					push @unexpected, "$who: $line";
				}
			}
			elsif ($line =~ /^DETAIL:  Key \(user_id\)=\(\d+\) conflicts with row/
				|| $line =~ /^psql:[^:]*:\d+: (WARNING|FATAL):  terminating connection due to immediate shutdown/
				|| $line =~ /^psql:[^:]*:\d+: (server closed the connection unexpectedly|no connection to the server|could not (send|receive) data (to|from) server)/
				|| $line =~ /^\t/)
			{
			}
			elsif ($line =~ /^psql:[^:]*:\d+: error: connection to server was lost$/)
			{
				$lost = 1;
			}
			else
			{
				push @unexpected, "$who: $line";
			}
		}
		push @not_stopped, "$who: did not report the lost connection"
		  unless $lost;

		# the acknowledgements, in order
		my $last = 0;
		foreach my $line (split /\n/, slurp_file("$base[$c].out"))
		{
			my ($kind, $j, @f) = split /\|/, $line, -1;
			my $p = defined $j && $j =~ /^\d+$/ ? $plan->[$j] : undef;
			if (!defined $p || $p->{kind} ne $kind || $j <= $last)
			{
				push @unexpected, "$who: unexpected output: $line";
				next;
			}
			foreach my $k ($last + 1 .. $j - 1)
			{
				push @vanished, "$who: statement $k neither acknowledged nor refused"
				  unless $refused{$k};
			}
			$last = $j;

			if ($kind eq 'soi')
			{
				my ($outcome, $title, $id) = @f;
				push @wrong, "$who: select_or_insert $j returned title $title, not $p->{key}"
				  if $title ne $p->{key};
				push @wrong, "$who: select_or_insert $j: title $title has id $id, an earlier call returned $article_id{$title}"
				  if exists $article_id{$title} && $article_id{$title} ne $id;
				$article_id{$title} //= $id;
				if ($outcome eq 'inserted')
				{
					push @wrong, "$who: select_or_insert $j inserted title $title a second time"
					  if $article_inserted{$title}++;
					$acked{soi_inserted}++;
				}
				elsif ($outcome eq 'found')
				{
					$acked{soi_found}++;
				}
				else
				{
					push @wrong, "$who: select_or_insert $j: outcome $outcome";
				}
			}
			elsif ($kind eq 'iu')
			{
				my ($outcome, $sku, $version) = @f;
				push @wrong, "$who: idempotent_upsert $j returned $sku version $version, not $p->{key} version $p->{version}"
				  if $sku ne $p->{key} || $version != $p->{version};
				# a repeat finds its own last call's values; a new version
				# updates a product acknowledged before, and may find one
				# a call in flight at a crash inserted
				my @expected =
				    $p->{repeat} ? ('unchanged')
				  : exists $product_version{$sku} ? ('updated')
				  :                                 ('inserted', 'updated');
				push @wrong, "$who: idempotent_upsert $j of $sku version $version: $outcome, expected "
				  . join(' or ', @expected)
				  unless grep { $_ eq $outcome } @expected;
				$acked{iu_written}++ if $outcome ne 'unchanged';
				$product_version{$sku} = $version;
			}
			elsif ($kind eq 'inc')
			{
				my ($email, $count) = @f;
				push @wrong, "$who: increment $j returned $email, not $p->{key}"
				  if $email ne $p->{key};
				push @wrong, "$who: increment $j returned count $count for $email, as an earlier call did"
				  if $visit_returned{$email}{$count}++;
				$visit_acks{$email}++;
				$acked{inc}++;
			}
			else
			{
				my ($user, $created_at, $note) = @f;
				push @wrong, "$who: insert $j returned $note of user $user"
				  if $note ne $p->{key} || $user != $p->{user};
				$post_acked{$note} = "$user|$created_at";
				$acked{g}++;
			}
		}

		# the statement in flight at the crash
		my $j = $last + 1;
		$j++ while $j <= $statements && $refused{$j};
		$statements_run += $j - 1;
		if ($j > $statements)
		{
			push @not_stopped, "$who: ran its whole script";
			next;
		}
		my $p = $plan->[$j];
		$inflight_kinds{ $p->{kind} }++;
		if ($p->{kind} eq 'soi')
		{
			$article_inflight{ $p->{key} } = 1;
		}
		elsif ($p->{kind} eq 'iu')
		{
			push @{ $product_inflight{ $p->{key} } }, $p->{version};
		}
		elsif ($p->{kind} eq 'inc')
		{
			$visit_inflight{ $p->{key} }++;
		}
		else
		{
			$post_inflight{ $p->{key} } = 1;
		}
	}
	unlink "$base[$_].sql" foreach 1 .. $clients;
	note sprintf(
		"$name: %.1f s, %d statements run; acknowledged: select_or_insert "
		  . "%d inserted, %d found; idempotent_upsert %d writes; increment %d; "
		  . "posts %d, %d refused by the guard; in flight: %s",
		$run, $statements_run, $acked{soi_inserted}, $acked{soi_found},
		$acked{iu_written}, $acked{inc}, $acked{g}, $refused,
		join(', ', map { "$_ $inflight_kinds{$_}" } sort keys %inflight_kinds));

	none("$name: every client was running at the crash and lost its connection",
		@not_stopped);
	none("$name: the clients printed only acknowledgements, guard refusals and the lost connection",
		@unexpected);
	none("$name: every statement before a client's last acknowledgement was acknowledged or refused",
		@vanished);
	none("$name: the acknowledgements agree with the calls and with each other",
		@wrong);
	cmp_ok($acked{soi_inserted}, '>', 0, "$name: select_or_insert acknowledged inserts");
	cmp_ok($acked{soi_found}, '>', 0, "$name: select_or_insert acknowledged finds");
	cmp_ok($acked{iu_written}, '>', 0, "$name: idempotent_upsert acknowledged writes");
	cmp_ok($acked{inc}, '>', 0, "$name: increment acknowledged increments");
	cmp_ok($acked{g}, '>', 0, "$name: guarded inserts were acknowledged");
	cmp_ok($refused, '>', 0, "$name: the guard refused racing inserts");

	# no key twice, in the heap and through the unique index
	foreach my $u (@unique_keys)
	{
		my ($table, $column, $index) = @$u;
		my $heap_set =
		  'SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off;';
		my $by_heap = "SELECT count(*), count(DISTINCT $column) FROM $table";
		my $index_set =
		  'SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off;';
		my $by_index = qq{SELECT count(*), count(DISTINCT $column)
		  FROM (SELECT $column FROM $table ORDER BY $column) s};
		my $heap_plan = query("$heap_set EXPLAIN (COSTS OFF) $by_heap");
		my $index_plan = query("$index_set EXPLAIN (COSTS OFF) $by_index");
		ok( $heap_plan =~ /Seq Scan on $table\b/
			  && $index_plan =~ /Index (Only )?Scan using $index\b/,
			"$name: $table.$column is read by a sequential scan, then through $index")
		  or diag("plans:\n$heap_plan\n$index_plan");
		my ($heap_rows, $heap_keys) = @{ (rows("$heap_set $by_heap"))[0] };
		my ($index_rows, $index_keys) = @{ (rows("$index_set $by_index"))[0] };
		ok( $heap_rows == $heap_keys
			  && $index_rows == $index_keys
			  && $heap_rows == $index_rows,
			"$name: no duplicate $table.$column in the heap nor in $index")
		  or diag("heap: $heap_rows rows, $heap_keys keys; "
			  . "$index: $index_rows rows, $index_keys keys");
	}

	# select_or_insert
	my %db = map { $_->[0] => $_->[1] } rows('SELECT title, id FROM articles');
	none(
		"$name: every title select_or_insert acknowledged is there with its id",
		map { "title $_: id " . ($db{$_} // 'missing') . ", acknowledged $article_id{$_}" }
		  grep { ($db{$_} // '') ne $article_id{$_} } sort keys %article_id);
	none("$name: every title there was acknowledged or in flight",
		map { "title $_ (id $db{$_})" }
		  grep { !exists $article_id{$_} && !$article_inflight{$_} } sort keys %db);

	# idempotent_upsert
	%db = map { $_->[0] => [ @$_[ 1, 2 ] ] } rows('SELECT sku, version, name FROM products');
	my @bad;
	foreach my $sku (sort keys %product_version)
	{
		my $row = $db{$sku};
		my $acked = $product_version{$sku};
		my @allowed = ($acked, grep { $_ > $acked } @{ $product_inflight{$sku} // [] });
		push @bad, "product $sku: version " . ($row ? $row->[0] : 'missing')
		  . ", last acknowledged $acked, in flight "
		  . join(' ', @{ $product_inflight{$sku} // [] })
		  unless $row && grep { $_ == $row->[0] } @allowed;
	}
	none("$name: every product acknowledged is there with its last acknowledged version or a later one in flight",
		@bad);
	none("$name: every product there was acknowledged or in flight, its name that of its version",
		map { "product $_: version $db{$_}[0], name $db{$_}[1]" }
		  grep {
			my ($sku, $version) = ($_, $db{$_}[0]);
			(!exists $product_version{$sku}
				  && !grep { $_ == $version } @{ $product_inflight{$sku} // [] })
			  || $db{$sku}[1] ne "$sku version $version"
		  } sort keys %db);

	# increment
	%db = map { $_->[0] => $_->[1] } rows('SELECT email, count FROM visits');
	my %emails = map { $_ => 1 } keys %db, keys %visit_acks, keys %visit_inflight;
	my ($sum, $sum_acks, $sum_inflight) = (0, 0, 0);
	@bad = ();
	foreach my $email (sort keys %emails)
	{
		my $count = $db{$email} // 0;
		my $acks = $visit_acks{$email} // 0;
		my $inflight = $visit_inflight{$email} // 0;
		push @bad, "visits of $email: $count, acknowledged $acks, in flight $inflight"
		  unless $count >= $acks && $count <= $acks + $inflight;
		$sum += $count;
		$sum_acks += $acks;
		$sum_inflight += $inflight;
	}
	none("$name: every counter is between its acknowledged increments and those plus the ones in flight",
		@bad);
	ok($sum >= $sum_acks && $sum <= $sum_acks + $sum_inflight,
		"$name: the counters' sum $sum is between $sum_acks acknowledged and "
		  . ($sum_acks + $sum_inflight) . " with the ones in flight");

	# the guard
	is(query($violations_sql), 0, "$name: no user has two highlighted posts in a week");
	%db = map { $_->[0] => "$_->[1]|$_->[2]" }
	  rows('SELECT note, user_id, created_at FROM posts');
	none("$name: every acknowledged post is there",
		map { "$_: " . ($db{$_} // 'missing') . ", acknowledged $post_acked{$_}" }
		  grep { ($db{$_} // '') ne $post_acked{$_} } sort keys %post_acked);
	none("$name: every post there was acknowledged or in flight",
		map { "$_: $db{$_}" }
		  grep { !exists $post_acked{$_} && !$post_inflight{$_} } sort keys %db);
	is( query(q{SELECT enforced FROM upsert_guard.guards
			WHERE guard = 'one_highlight_per_week'}),
		't', "$name: the guard is enforced");

	# amcheck
  SKIP:
	{
		skip 'amcheck is not available', 2 unless $amcheck;
		@bad = ();
		foreach my $index (rows(q{SELECT c.oid, c.oid::regclass
			FROM pg_class c JOIN pg_am a ON a.oid = c.relam
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'i' AND a.amname = 'btree'
			  AND n.nspname IN ('public', 'upsert_guard')}))
		{
			my ($oid, $relname) = @$index;
			my ($ret, $stdout, $stderr) = $node->psql('postgres',
				"SELECT bt_index_check(${oid}::regclass, true);
				 SELECT bt_index_parent_check(${oid}::regclass, true, true);");
			push @bad, "$relname: $stderr" if $ret != 0 || $stderr ne '';
		}
		none("$name: amcheck finds every btree index sound", @bad);
		@bad = ();
		foreach my $table (rows(q{SELECT c.oid, c.oid::regclass
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'r' AND n.nspname IN ('public', 'upsert_guard')}))
		{
			my ($oid, $relname) = @$table;
			my ($ret, $stdout, $stderr) = $node->psql('postgres',
				"SELECT blkno, offnum, msg FROM verify_heapam(${oid}::regclass, check_toast => true)");
			push @bad, "$relname: $stdout $stderr" if $ret != 0 || $stdout ne '' || $stderr ne '';
		}
		none("$name: verify_heapam finds every table sound", @bad);
	}
}

$node->stop;

done_testing();
