#!/usr/bin/env bash
# Throughput of a fleet on this machine (issue 16's numbers): 1, 2 and 3 daemons on one root
# and one PostgreSQL database, and one daemon on the SQLite journal for the journal's overhead.
#
#   scripts/fleet-bench.sh [JOBS]        JOBS resize inputs per run (default 60)
#
# Each run: the daemons start on a fresh root (pipeline: resize by 0.5 of examples/balloons.png),
# JOBS inputs are renamed into the inbox at once (a burst), and the run ends when all are in
# done/: jobs per second over the burst. Then 10 inputs arrive one a second, into idle daemons:
# the claim latency is the time from the job's row (right after the rename into processing/) to
# its start, from the journal (average and maximum). The PostgreSQL cluster is scripts/postgres.sh's,
# with fsync turned back on so that it pays for durability as SQLite does.
# Timings are only valid on a quiet machine: say in BENCHMARKS.md what else ran.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${1:-60}
singan=${SINGAN:-.build/release/singan}
[ -x "$singan" ] || { echo "fleet-bench: no $singan (swift build -c release)" >&2; exit 1; }
image=examples/balloons.png

eval "$(bash scripts/postgres.sh start $$)"
export PGPASSWORD
trap 'bash scripts/postgres.sh stop "$PGDIR"' EXIT
psql() { "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$@"; }
psql -d postgres -c "ALTER SYSTEM SET fsync = on" -c "SELECT pg_reload_conf()" >/dev/null

# Drops inputs NAME_1..NAME_COUNT into the inbox of ROOT: copied beside, then renamed in at once.
drop() {
    local root=$1 name=$2 count=$3 i
    for i in $(seq 1 "$count"); do cp "$image" "$root/staging/${name}_$i.png"; done
    for i in $(seq 1 "$count"); do mv "$root/staging/${name}_$i.png" "$root/inbox/half/"; done
}

# Waits until ROOT/done/half holds COUNT files.
wait_done() {
    local root=$1 count=$2
    until [ "$(ls "$root/done/half" 2>/dev/null | wc -l)" -ge "$count" ]; do sleep 0.05; done
}

# One run: DAEMONS daemons on JOURNAL ("sqlite" or a database name); prints one result line.
run() {
    local daemons=$1 journal=$2 root pids=() args=() k
    root=$(mktemp -d /tmp/singan-fleet-bench.XXXXXX)
    mkdir -p "$root/pipelines" "$root/staging"
    printf 'steps:\n  - task: resize\n    params: {factor: 0.5}\noutput: {name: "{stem}_half"}\n' > "$root/pipelines/half.yaml"
    if [ "$journal" != sqlite ]; then
        psql -d postgres -c "CREATE DATABASE $journal" >/dev/null
        args=(--journal "postgres://$PGUSER@$PGHOST:$PGPORT/$journal")
    fi
    for k in $(seq 1 "$daemons"); do
        "$singan" daemon --root "$root" "${args[@]}" 2> "$root/daemon$k.log" &
        pids+=($!)
    done
    for k in $(seq 1 "$daemons"); do
        until grep -q daemon.started "$root/daemon$k.log"; do sleep 0.05; done
    done

    local start end
    start=$(date +%s.%N)
    drop "$root" burst "$jobs"
    wait_done "$root" "$jobs"
    end=$(date +%s.%N)
    for k in $(seq 1 10); do drop "$root" trickle 1; sleep 1; done
    wait_done "$root" $((jobs + 10))

    local latency
    if [ "$journal" = sqlite ]; then
        latency=$(sqlite3 "$root/journal.sqlite" \
            "SELECT printf('%.3f s avg, %.3f s max', avg(started_at - created_at), max(started_at - created_at)) FROM jobs WHERE input LIKE 'trickle%'")
    else
        latency=$(psql -d "$journal" -c "SELECT to_char(avg(extract(epoch FROM started_at - created_at)), 'FM0.000') || ' s avg, ' ||
            to_char(max(extract(epoch FROM started_at - created_at)), 'FM0.000') || ' s max' FROM singan_jobs WHERE input LIKE 'trickle%'")
    fi
    kill -TERM "${pids[@]}"
    wait "${pids[@]}" || true
    echo "$daemons daemon(s), journal $journal: $jobs jobs in $(echo "$end - $start" | bc -l | xargs printf '%.2f') s," \
         "$(echo "$jobs / ($end - $start)" | bc -l | xargs printf '%.1f') jobs/s; claim latency $latency"
    rm -rf "$root"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(uname -srm)"
run 1 sqlite
run 1 bench1
run 2 bench2
run 3 bench3
