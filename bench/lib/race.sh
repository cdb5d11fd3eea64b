# shellcheck shell=bash
# bench/lib/race.sh: shared by the race lab's scenarios (sourced by bench/race).
#
# Where the bench runs: a throwaway cluster (test/lib/cluster.sh) unless
# PGHOST, PGPORT, PGDATABASE, PGUSER or PGSERVICE is set, then that
# database.  Either way everything the bench creates lives in one scratch
# schema, upsert_guard_race, dropped on exit, error and Ctrl-C.
#
# Every session the bench opens says application_name=upsert_guard_race,
# so race_wait_idle can wait for them to be gone: a backend flushes its
# table statistics (n_tup_ins, n_tup_upd) when it exits, before it leaves
# pg_stat_activity, so once they are gone the counters are complete.

RACE_SCHEMA=upsert_guard_race
RACE_APPNAME=upsert_guard_race
RACE_MARK='scratch schema of upsert_guard bench/race; dropped when the run ends'
RACE_MODE=
RACE_SCHEMA_CREATED=
RACE_DROP_EXTENSION=
RACE_TMP=
RACE_SAMPLER_PID=
RACE_SAMPLER_FLAG=
RACE_PGBENCH_PID=

race_log() { printf '== %s\n' "$*" >&2; }
race_die() { printf 'bench/race: %s\n' "$*" >&2; exit 1; }

race_psql() {
    PGAPPNAME=$RACE_APPNAME "$RACE_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"
}

# Connect: a throwaway cluster, or the database the PG* variables name
# (the choice is cluster.sh's ug_target_database, shared with bench/cost).
race_connect() {
    ug_target_database
    if [ "$UG_THROWAWAY" = 1 ]; then
        RACE_MODE=throwaway
        RACE_BINDIR=$UG_BINDIR
    else
        RACE_MODE=database
        RACE_BINDIR=$("$PG_CONFIG" --bindir) || race_die "no pg_config at $PG_CONFIG"
        local who
        who=$(PGAPPNAME=$RACE_APPNAME "$RACE_BINDIR/psql" -X -At -c \
              "SELECT format('database %s as %s, server %s', current_database(),
                             current_user, current_setting('server_version'))") \
            || race_die "cannot connect to the database given by PG* variables"
        race_log "running on $who (from PG* variables)"
    fi
    RACE_TMP=$(mktemp -d /tmp/upsert_guard_race.XXXXXX)
    # Replaces cluster.sh's EXIT trap; race_cleanup stops the cluster too.
    trap race_cleanup EXIT
    trap 'exit 130' INT TERM
}

race_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # pgbench runs in the background (race_pgbench), where a script's
    # jobs ignore SIGINT: stop it, or its clients would hold their
    # sessions and the schema could not be dropped.
    if [ -n "$RACE_PGBENCH_PID" ]; then
        printf '\n' >&2
        race_log "stopping pgbench"
        kill "$RACE_PGBENCH_PID" 2>/dev/null || true
        wait "$RACE_PGBENCH_PID" 2>/dev/null || true
        race_wait_idle || true
    fi
    if [ -n "$RACE_SAMPLER_PID" ]; then
        rm -f "$RACE_SAMPLER_FLAG"
        wait "$RACE_SAMPLER_PID" 2>/dev/null || true
    fi
    if [ -n "$RACE_SCHEMA_CREATED" ]; then
        race_log "dropping schema $RACE_SCHEMA"
        race_drop_guards || race_log "could not drop the guards of schema $RACE_SCHEMA"
        race_psql -c "SET client_min_messages = warning" \
            -c "DROP SCHEMA IF EXISTS $RACE_SCHEMA CASCADE" \
            || race_log "could not drop schema $RACE_SCHEMA; drop it by hand"
    fi
    if [ -n "$RACE_DROP_EXTENSION" ]; then
        race_log "dropping extension upsert_guard (this run created it)"
        race_psql -c "DROP EXTENSION IF EXISTS upsert_guard" \
            || race_log "could not drop extension upsert_guard"
    fi
    if [ -n "$RACE_TMP" ]; then rm -rf "$RACE_TMP"; fi
    if [ "$RACE_MODE" = throwaway ]; then ug_cluster_stop; fi
    exit $rc
}

# Install the extension if needed (on a user database it must be available
# on the server), then create the scratch schema.  A schema of that name is
# replaced only if it carries our comment (left by a killed run).
race_schema_create() {
    local had_ext err comment
    comment=$(race_psql -c "SELECT coalesce(obj_description(oid, 'pg_namespace'), '<none>')
                            FROM pg_namespace WHERE nspname = '$RACE_SCHEMA'")
    if [ -n "$comment" ]; then
        [ "$comment" = "$RACE_MARK" ] \
            || race_die "schema $RACE_SCHEMA exists and is not the bench's own; not touching it"
        race_log "dropping schema $RACE_SCHEMA left by an earlier run"
        race_drop_guards
        race_psql -c "SET client_min_messages = warning" -c "DROP SCHEMA $RACE_SCHEMA CASCADE"
    fi
    had_ext=$(race_psql -c "SELECT count(*) FROM pg_extension WHERE extname = 'upsert_guard'")
    if [ "$had_ext" = 0 ]; then
        if ! err=$(race_psql -c "CREATE EXTENSION IF NOT EXISTS upsert_guard" 2>&1); then
            race_die "cannot create extension upsert_guard in this database:
$err
It must be installed on that server (make install there) and the role needs
CREATE on the database (it is a trusted extension); or unset PGHOST, PGPORT,
PGDATABASE, PGUSER and PGSERVICE to run on a throwaway cluster."
        fi
        if [ "$RACE_MODE" = database ]; then
            # Leave the database as we found it: drop the extension again
            # (its schema upsert_guard goes with it).
            RACE_DROP_EXTENSION=1
        fi
    fi
    race_psql -c "CREATE SCHEMA $RACE_SCHEMA" \
        -c "COMMENT ON SCHEMA $RACE_SCHEMA IS '$RACE_MARK'"
    RACE_SCHEMA_CREATED=1
}

# Drop the guards (upsert_guard.add_guard) declared on tables of the
# scratch schema.  Call it before dropping the schema: DROP TABLE takes a
# guard's trigger with it but leaves its definition behind in
# upsert_guard.guard_definitions.  Nothing to do when the schema or the
# guards (an upsert_guard without them) do not exist.
race_drop_guards() {
    race_psql -c "SET client_min_messages = warning" -c "
        DO \$\$
        BEGIN
            IF to_regclass('upsert_guard.guards') IS NOT NULL
               AND to_regnamespace('$RACE_SCHEMA') IS NOT NULL THEN
                PERFORM upsert_guard.drop_guard(g.guard, true)
                FROM upsert_guard.guards g
                JOIN pg_catalog.pg_class c ON c.oid = g.table_name
                WHERE c.relnamespace = to_regnamespace('$RACE_SCHEMA');
            END IF;
        END
        \$\$"
}

# Lock waits during a run, sampled from outside: from start to stop, one
# psql session (application_name upsert_guard_race_locks) asks every
# 50 ms how many of the bench's sessions (application_name
# upsert_guard_race: the pgbench clients) are connected and which of them
# wait for a heavyweight lock (a pg_locks row NOT granted: a row's
# transaction in a unique index, an advisory lock, a tuple lock...), and
# by lock type.  Each sample is its own transaction, so pg_stat_activity
# is read afresh.  Works on any database: pg_locks and the sessions of
# one's own role are visible to every role.  LWLock and I/O waits are not
# lock waits here.
race_lock_sampler_start() {
    local q
    q="SELECT count(*), count(w.pid), coalesce(string_agg(w.locktype, ' '), '')
       FROM pg_stat_activity a
       LEFT JOIN (SELECT DISTINCT ON (pid) pid, locktype FROM pg_locks
                  WHERE NOT granted ORDER BY pid) w ON w.pid = a.pid
       WHERE a.application_name = '$RACE_APPNAME';"
    q=$(tr -s ' \n' ' ' <<<"$q")
    RACE_SAMPLER_FLAG=$RACE_TMP/locks.on
    : >"$RACE_SAMPLER_FLAG"
    : >"$RACE_TMP/locks.out"
    (
        while [ -e "$RACE_SAMPLER_FLAG" ]; do
            printf '%s\n' "$q"
            sleep 0.05
        done | PGAPPNAME=${RACE_APPNAME}_locks "$RACE_BINDIR/psql" -X -q -At -F '|' \
                   -v ON_ERROR_STOP=1 >"$RACE_TMP/locks.out" 2>"$RACE_TMP/locks.err"
    ) &
    RACE_SAMPLER_PID=$!
}

# Stop the sampler and set RACE_LOCK_FIGURES to its figures as CSV: mean
# waiting clients, share of samples with a waiting client (%), mean
# waiting clients by lock type ("advisory:1.20 transactionid:0.03", or
# "-"), samples.  Only samples with a bench session connected count.  (Not
# from a command substitution: wait needs the sampler to be its child.)
race_lock_sampler_stop() {
    rm -f "$RACE_SAMPLER_FLAG"
    if ! wait "$RACE_SAMPLER_PID"; then
        race_log "lock sampler failed: $(head -c 300 "$RACE_TMP/locks.err")"
    fi
    RACE_SAMPLER_PID=
    # shellcheck disable=SC2034  # read by bench/race
    RACE_LOCK_FIGURES=$(awk -F'|' '
        $1 > 0 {
            n++; w += $2; if ($2 > 0) any++
            m = split($3, t, " ")
            for (i = 1; i <= m; i++) { if (!(t[i] in by)) order[++nt] = t[i]; by[t[i]]++ }
        }
        END {
            if (!n) { print "-,-,-,0"; exit }
            for (i = 2; i <= nt; i++)       # by name, for a stable column
                for (j = i; j > 1 && order[j - 1] > order[j]; j--) {
                    x = order[j]; order[j] = order[j - 1]; order[j - 1] = x
                }
            s = ""
            for (i = 1; i <= nt; i++) s = s (s == "" ? "" : " ") sprintf("%s:%.2f", order[i], by[order[i]] / n)
            printf "%.2f,%.1f,%s,%d\n", w / n, 100 * any / n, (s == "" ? "-" : s), n
        }' "$RACE_TMP/locks.out")
}

# Wait until no session of the bench (but this check's own) is connected.
race_wait_idle() {
    local n
    for _ in $(seq 200); do
        n=$(PGAPPNAME=${RACE_APPNAME}_wait "$RACE_BINDIR/psql" -X -At -c \
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$RACE_APPNAME'")
        [ "$n" = 0 ] && return 0
        sleep 0.05
    done
    race_log "warning: bench sessions still connected after 10 s; statistics may be incomplete"
}

# Print a CSV file (no quoted fields) as an aligned table, numbers right-aligned.
race_table() {
    awk -F, '
        { for (i = 1; i <= NF; i++) {
              cell[NR, i] = $i
              if (length($i) > w[i]) w[i] = length($i)
              if (NR > 1 && $i !~ /^-?[0-9.]+$/) text[i] = 1
          }
          if (NF > nf) nf = NF }
        END {
            for (r = 1; r <= NR; r++) {
                line = ""
                for (i = 1; i <= nf; i++)
                    line = line (i > 1 ? "  " : "") \
                        sprintf(text[i] ? "%-" w[i] "s" : "%" w[i] "s", cell[r, i])
                sub(/ +$/, "", line)
                print line
                if (r == 1) {
                    line = ""
                    for (i = 1; i <= nf; i++) {
                        d = sprintf("%" w[i] "s", ""); gsub(/ /, "-", d)
                        line = line (i > 1 ? "  " : "") d
                    }
                    print line
                }
            }
        }' "$1"
}

# Run pgbench (its arguments after the first four) in the background,
# stdout to OUT and stderr to ERR, with a progress report every second
# (-P 1, to ERR), and show the latest report while it runs: on a terminal
# one line rewritten in place, otherwise a line every 5 s.  Sets
# RACE_PGBENCH_RC to pgbench's exit status.  Ctrl-C stops it
# (race_cleanup).
#   race_pgbench TAG DURATION OUT ERR pgbench-arguments...
race_pgbench() {
    local tag=$1 secs=$2 out=$3 err=$4 t=0 line tty=
    shift 4
    [ -t 2 ] && tty=1
    PGAPPNAME=$RACE_APPNAME "$RACE_BINDIR/pgbench" -P 1 "$@" >"$out" 2>"$err" &
    RACE_PGBENCH_PID=$!
    while kill -0 "$RACE_PGBENCH_PID" 2>/dev/null; do
        sleep 1
        t=$((t + 1))
        line=$(grep '^progress: ' "$err" | tail -n 1 || true)
        [ -n "$line" ] || continue
        line="$tag: ${line#progress: } (of $secs s)"
        if [ -n "$tty" ]; then
            printf '\r\033[K%s' "${line:0:$(( ${COLUMNS:-100} - 1 ))}" >&2
        elif [ $((t % 5)) -eq 0 ]; then
            printf '   %s\n' "$line" >&2
        fi
    done
    [ -n "$tty" ] && printf '\r\033[K' >&2
    # shellcheck disable=SC2034  # read by bench/race
    { RACE_PGBENCH_RC=0; wait "$RACE_PGBENCH_PID" || RACE_PGBENCH_RC=$?; }
    RACE_PGBENCH_PID=
}

# The 99th percentile latency, in milliseconds, of the transactions that
# pgbench logged (-l) to the files PREFIX.* as succeeded: a latency in
# microseconds in the third field (a failed transaction has a word there
# instead).  Prints "-" when there is none.  Removes the files.
race_p99() {
    local prefix=$1 p99
    p99=$(cat "$prefix".* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n \
          | awk '{ v[NR] = $1 }
                 END {
                     if (!NR) { print "-"; exit }
                     i = int(NR * 0.99); if (i < NR * 0.99) i++   # ceil
                     printf "%.2f\n", v[i] / 1000
                 }')
    rm -f "$prefix".*
    echo "$p99"
}
