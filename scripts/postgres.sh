#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests, in a temporary folder, on a loopback port.
#
#   scripts/postgres.sh start OWNER_PID   initdb + pg_ctl start; prints the shell variables
#                                         PGDIR, PGBIN, PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
#   scripts/postgres.sh stop PGDIR        stops the server and removes its folder
#   scripts/postgres.sh down|up PGDIR     stops or restarts the server, keeping its data and port
#
# The server runs as the `postgres` user when this runs as root (PostgreSQL refuses to run as
# root), else as the calling user. It listens on 127.0.0.1 only, its Unix socket is in its own
# folder, and clients must give the password (scram-sha-256), so the tests exercise the same
# login path as a real deployment. A watcher stops and removes the cluster once OWNER_PID (the
# test process) is gone, so a crashed or killed test run leaves nothing behind.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

# The server binaries of the newest installed major version (Debian keeps them off PATH).
bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return; fi
    if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
    die "no PostgreSQL server installed (run scripts/install-deps.sh)"
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
    local dir=$1
    [ -n "$dir" ] && [ -f "$dir/owner" ] || die "$dir is not a cluster made by postgres.sh"
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$(bindir)/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

# Closes every descriptor inherited beyond stdin/out/err before anything outlives this script:
# the server and the watcher would otherwise hold them, and a caller that learns of this
# script's exit through one (Foundation's Process on Linux does) would wait forever.
close_inherited() {
    local fd
    for fd in $(ls /proc/$$/fd); do
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}

start() {
    local owner_pid=$1
    close_inherited
    kill -0 "$owner_pid" 2>/dev/null || die "owner process $owner_pid is not running"
    local bin; bin=$(bindir)
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        die "running as root and there is no postgres user to run the server (install the postgresql package)"
    fi
    local dir; dir=$(mktemp -d /tmp/singan-pg.XXXXXX)
    echo "$owner_pid" > "$dir/owner"
    local password; password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    echo "$password" > "$dir/password"
    mkdir "$dir/data" "$dir/socket"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi
    chmod 700 "$dir"

    if ! as_owner "$bin/initdb" -D "$dir/data" -U singan --pwfile="$dir/password" -A scram-sha-256 \
            -E UTF8 --no-locale > "$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"
    fi
    # A random loopback port; another one if it is taken (pg_ctl then fails to start).
    local port started=0
    for _ in 1 2 3 4 5 6 7 8; do
        port=$(( 20000 + RANDOM % 20000 ))
        echo "-h 127.0.0.1 -p $port -k $dir/socket -c fsync=off -c max_connections=200" > "$dir/options"
        if as_owner "$bin/pg_ctl" start -D "$dir/data" -w -t 30 -l "$dir/server.log" -o "$(cat "$dir/options")" \
                >/dev/null 2>&1; then
            started=1; break
        fi
    done
    if [ "$started" -ne 1 ]; then
        cat "$dir/server.log" >&2 || true; rm -rf "$dir"; die "the server did not start"
    fi

    # The watcher: detached from the caller's pipes so that reading this script's output ends.
    nohup bash -c "while kill -0 $owner_pid 2>/dev/null; do sleep 1; done; bash '$(realpath "$0")' stop '$dir'" \
        >/dev/null 2>&1 < /dev/null &

    echo "PGDIR=$dir"
    echo "PGBIN=$bin"
    echo "PGHOST=127.0.0.1"
    echo "PGPORT=$port"
    echo "PGUSER=singan"
    echo "PGPASSWORD=$password"
    echo "PGDATABASE=postgres"
}

# The server of a cluster goes down (fast shutdown: clients are disconnected) or comes back up
# on its port, its data kept: for the tests of what clients do while the database restarts.
down() {
    [ -f "$1/owner" ] || die "$1 is not a cluster made by postgres.sh"
    as_owner "$(bindir)/pg_ctl" stop -D "$1/data" -m fast -w >/dev/null
}
up() {
    [ -f "$1/owner" ] || die "$1 is not a cluster made by postgres.sh"
    close_inherited
    as_owner "$(bindir)/pg_ctl" start -D "$1/data" -w -t 30 -l "$1/server.log" -o "$(cat "$1/options")" >/dev/null
}

usage="usage: postgres.sh start OWNER_PID | stop PGDIR | down PGDIR | up PGDIR"
case "${1:-}" in
    start) [ $# -eq 2 ] || die "$usage"; start "$2" ;;
    stop) [ $# -eq 2 ] || die "$usage"; stop "$2" ;;
    down) [ $# -eq 2 ] || die "$usage"; down "$2" ;;
    up) [ $# -eq 2 ] || die "$usage"; up "$2" ;;
    *) die "$usage" ;;
esac
