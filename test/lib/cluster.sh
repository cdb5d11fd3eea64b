# shellcheck shell=bash
# test/lib/cluster.sh: shared by test/run and bench/race.
#
# Installs what is missing (Debian packages), builds and installs the
# extension, and runs a throwaway PostgreSQL cluster in a temporary
# directory that listens on a Unix socket only.  The cluster is stopped
# and its directory removed on exit, on error and on Ctrl-C.
#
# The server cannot run as root (initdb refuses), so as root it runs as
# the "postgres" user that Debian's packages create.

UG_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap \
libtap-parser-sourcehandler-pgtap-perl libipc-run-perl make gcc gnuplot-nox"

ug_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG

ug_log() { printf '== %s\n' "$*" >&2; }

# Install the Debian packages the project needs, if any is missing.
ug_ensure_packages() {
    local wanted
    read -ra wanted <<<"$UG_PACKAGES"
    ug_install_missing "${wanted[@]}"
}

# Install those of the Debian packages named that are missing (as root).
ug_install_missing() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        ug_log "missing packages: ${missing[*]}; install them as root"
        return 1
    fi
    ug_log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Build and install the extension into the server's directories.  With
# UG_CHECKED=1 (test/run) the build first compiles with -Werror, then
# installs a build with -Werror and -DUSE_ASSERT_CHECKING, so the
# project's Asserts run under the tests (Debian's server has no cassert).
ug_build_install() {
    local flags=()
    if [ "${UG_CHECKED:-0}" = 1 ]; then
        ug_log "building upsert_guard with -Werror"
        make -C "$ug_root" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
        make -C "$ug_root" -s PG_CONFIG="$PG_CONFIG" COPT=-Werror >/dev/null
        make -C "$ug_root" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
        flags=(COPT=-Werror PG_CPPFLAGS=-DUSE_ASSERT_CHECKING)
        ug_log "building and installing upsert_guard with assertions"
    else
        ug_log "building and installing upsert_guard"
    fi
    make -C "$ug_root" -s PG_CONFIG="$PG_CONFIG" "${flags[@]}" >/dev/null
    make -C "$ug_root" -s PG_CONFIG="$PG_CONFIG" "${flags[@]}" install >/dev/null
    [ "${UG_CHECKED:-0}" = 1 ] && make -C "$ug_root" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
    return 0
}

# Run a command as the cluster's owner (postgres when we are root).
ug_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- env PATH="$PATH" "$@"
    else
        "$@"
    fi
}

# Start a throwaway cluster; exports PGHOST, PGPORT, PGUSER, PGDATABASE.
ug_cluster_start() {
    local bindir
    bindir=$("$PG_CONFIG" --bindir)
    UG_TMP=$(mktemp -d /tmp/upsert_guard.XXXXXX)
    chmod 755 "$UG_TMP"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$UG_TMP"
    trap ug_cluster_stop EXIT
    trap 'exit 130' INT TERM

    ug_log "starting a throwaway cluster in $UG_TMP"
    ug_as_owner "$bindir/initdb" -D "$UG_TMP/data" -U postgres -A trust \
        --no-sync >"$UG_TMP/initdb.log" 2>&1 \
        || { cat "$UG_TMP/initdb.log" >&2; return 1; }
    cat >>"$UG_TMP/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$UG_TMP'
port = 5432
fsync = off
max_connections = 100
shared_buffers = 256MB
max_locks_per_transaction = 256
log_line_prefix = '%m [%p] %e '
${UG_EXTRA_CONF:-}
CONF
    ug_as_owner "$bindir/pg_ctl" -D "$UG_TMP/data" -l "$UG_TMP/server.log" \
        -w -s start || { cat "$UG_TMP/server.log" >&2; return 1; }
    export PGHOST=$UG_TMP PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
    UG_BINDIR=$bindir
}

ug_cluster_stop() {
    [ -n "${UG_TMP:-}" ] || return 0
    if [ -f "$UG_TMP/data/postmaster.pid" ]; then
        ug_as_owner "$UG_BINDIR/pg_ctl" -D "$UG_TMP/data" -m fast -w -s stop \
            >/dev/null 2>&1 || true
    fi
    rm -rf "$UG_TMP"
    UG_TMP=
}

# The database to run against: the one the standard PG* variables name, if
# any is set (the extension must then be installed on that server), or a
# throwaway cluster otherwise.  Sets UG_THROWAWAY=1 for the latter.
ug_target_database() {
    if [ -n "${PGHOST:-}${PGPORT:-}${PGDATABASE:-}${PGUSER:-}${PGSERVICE:-}" ]; then
        UG_THROWAWAY=0
        ug_log "using the database named by PG* variables"
        return 0
    fi
    # shellcheck disable=SC2034  # read by the scripts that source this file
    UG_THROWAWAY=1
    ug_ensure_packages
    ug_build_install
    ug_cluster_start
}
