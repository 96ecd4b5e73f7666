#!/usr/bin/env bash
# The quota benchmark at several fsync latencies, to tell what the engine does from what this
# machine's disk does. The quota goals (benches/README.md) were set on a machine of this kind
# whose fsync took 0.13 to 3.1 ms; today's disk may answer in 0.15 ms, where the work inside a
# transaction, not its commit, sets the rates, and batching commits away gains less.
#
# For each latency the bench runs with an LD_PRELOAD shim (delay.c) that makes every fsync and
# fdatasync take that much longer, in the bench's own process (SQLite, and the bench's fdatasync
# probe, which so reports the latency in effect) and in a PostgreSQL cluster of its own, started
# for the run with the same shim (its WAL flushes). Latency 0 runs the same setup without delay.
#
# Usage: benches/fsync-delay/run.sh [delay_us...]   (default: 0 1000 3000)
# Env:   every CITES_BENCH_* setting of benches/quota.rs is passed on (default here: the goal
#        cells, CITES_BENCH_VARIANTS=d,f,e1,e2,e3 CITES_BENCH_CLIENTS=16,64 CITES_BENCH_QUOTAS=1,
#        and CITES_BENCH_RUNS=3, the protocol's median of three runs);
#        PGPORT_DELAYED (55432) the port of the cluster it starts; PGBIN the directory of
#        PostgreSQL's initdb and pg_ctl (default: pg_config --bindir, then /usr/lib/postgresql);
#        WORKDIR where the run's directory (the cluster, the SQLite files, the probe) is made
#        (default: $TMPDIR or /tmp; it must be on a real disk, not tmpfs);
#        BENCH an already built bench binary (default: cargo bench --bench quota --no-run).
# Needs gcc and PostgreSQL's server binaries. Leaves nothing behind: the cluster and the shim
# live in a temporary directory removed at exit (the server's log is printed first on failure).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
delays=("$@")
[ ${#delays[@]} -gt 0 ] || delays=(0 1000 3000)
for d in "${delays[@]}"; do
    [[ $d =~ ^[0-9]+$ ]] && [ "$d" -le 1000000 ] || {
        echo "run.sh: delay '$d': accepted a whole number of microseconds from 0 to 1000000" >&2
        exit 2
    }
done
port=${PGPORT_DELAYED:-55432}
export CITES_BENCH_VARIANTS=${CITES_BENCH_VARIANTS:-d,f,e1,e2,e3}
export CITES_BENCH_CLIENTS=${CITES_BENCH_CLIENTS:-16,64}
export CITES_BENCH_QUOTAS=${CITES_BENCH_QUOTAS:-1}
export CITES_BENCH_RUNS=${CITES_BENCH_RUNS:-3}

pgbin=${PGBIN:-}
[ -n "$pgbin" ] || pgbin=$(pg_config --bindir 2>/dev/null || true)
[ -x "$pgbin/initdb" ] || pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -x "$pgbin/initdb" ] && [ -x "$pgbin/pg_ctl" ] || {
    echo "run.sh: PostgreSQL's initdb and pg_ctl not found (set PGBIN; Debian: apt install postgresql)" >&2
    exit 1
}
if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
    echo "run.sh: a server already answers on port $port; set PGPORT_DELAYED to a free port" >&2
    exit 1
fi

work=$(mktemp -d "${WORKDIR:-${TMPDIR:-/tmp}}/cites-fsync-delay.XXXXXX")
chmod 755 "$work"
if [ "$(stat -f -c %T "$work")" = tmpfs ]; then
    echo "run.sh: $work is on tmpfs, where fsync does nothing; set WORKDIR to a directory on disk" >&2
    exit 1
fi
as_pg() {
    # initdb and the server refuse to run as root.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_cluster() {
    if [ -f "$work/pg/postmaster.pid" ]; then
        as_pg "$pgbin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true
    fi
}
cleanup() {
    local status=$?
    stop_cluster
    if [ "$status" != 0 ] && [ -f "$work/run/pg.log" ]; then
        echo "run.sh: failed; the PostgreSQL server's log ends:" >&2
        tail -n 30 "$work/run/pg.log" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT

gcc -O2 -Wall -shared -fPIC -o "$work/fsync-delay.so" "$here/delay.c" -ldl

bench=${BENCH:-}
if [ -z "$bench" ]; then
    # Cargo's own messages (a compile error among them) go to the terminal.
    bench=$(cd "$root" && cargo bench --bench quota --no-run 2>&1 | tee /dev/stderr \
        | sed -n 's/.*Executable benches\/quota.rs (\(.*\))/\1/p' | tail -1)
    case $bench in
        /*) ;;
        ?*) bench="$root/$bench" ;;
    esac
fi
[ -n "$bench" ] && [ -x "$bench" ] || { echo "run.sh: no bench binary (${bench:-cargo printed none})" >&2; exit 1; }

# The cluster, its log and its socket, in directories the server's user owns.
mkdir "$work/pg" "$work/run"
if [ "$(id -u)" = 0 ]; then chown postgres "$work/pg" "$work/run"; fi
as_pg "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null

for delay in "${delays[@]}"; do
    echo "=== fsync delay ${delay} us (added to every fsync/fdatasync of the bench and of PostgreSQL on port $port)"
    as_pg env LD_PRELOAD="$work/fsync-delay.so" CITES_FSYNC_DELAY_US="$delay" \
        "$pgbin/pg_ctl" -D "$work/pg" -l "$work/run/pg.log" -w \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $work/run" start >/dev/null
    LD_PRELOAD="$work/fsync-delay.so" CITES_FSYNC_DELAY_US="$delay" TMPDIR="$work" \
        CITES_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres" \
        "$bench" --bench
    stop_cluster
done
