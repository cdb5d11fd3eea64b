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
    if [ -n "$RACE_SCHEMA_CREATED" ]; then
        race_log "dropping schema $RACE_SCHEMA"
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
