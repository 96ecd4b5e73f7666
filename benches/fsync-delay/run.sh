#!/usr/bin/env bash
# The quota benchmark at several fsync latencies, to tell what the engine does from what this
# machine's disk does. quota-notes 5.5 set its goals on a machine of this kind whose fsync took
# 0.13 to 3.1 ms (quota-notes 2.2); today's disk may answer in 0.15 ms, where the work inside a
# transaction, not its commit, sets the rates, and batching commits away gains less.
#
# For each latency the bench runs with an LD_PRELOAD shim (delay.c) that makes every fsync and
# fdatasync take that much longer, in the bench's own process (SQLite, and the bench's fdatasync
# probe, which so reports the latency in effect) and in a PostgreSQL cluster of its own, started
# for the run with the same shim (its WAL flushes). Latency 0 runs the same setup without delay.
#
# Usage: benches/fsync-delay/run.sh [delay_us...]   (default: 0 1000 3000)
# Env:   every CITES_BENCH_* setting of benches/quota.rs is passed on (default here: the goal
#        cells, CITES_BENCH_VARIANTS=d,f,e1,e2,e3 CITES_BENCH_CLIENTS=16,64 CITES_BENCH_QUOTAS=1);
#        PGPORT_DELAYED (55432) the port of the cluster it starts; BENCH an already built bench
#        binary (default: cargo bench --bench quota --no-run builds it).
# Needs gcc and PostgreSQL's server binaries (initdb, pg_ctl; Debian: postgresql). Leaves
# nothing behind: the cluster and the shim live in a temporary directory removed at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
delays=("$@")
[ ${#delays[@]} -gt 0 ] || delays=(0 1000 3000)
port=${PGPORT_DELAYED:-55432}
export CITES_BENCH_VARIANTS=${CITES_BENCH_VARIANTS:-d,f,e1,e2,e3}
export CITES_BENCH_CLIENTS=${CITES_BENCH_CLIENTS:-16,64}
export CITES_BENCH_QUOTAS=${CITES_BENCH_QUOTAS:-1}

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "run.sh: PostgreSQL's initdb not found under /usr/lib/postgresql" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"
as_pg() {
    # initdb and the server refuse to run as root.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_cluster() {
    [ -f "$work/pg/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true
}
cleanup() {
    stop_cluster
    rm -rf "$work"
}
trap cleanup EXIT

gcc -O2 -shared -fPIC -o "$work/fsync-delay.so" "$here/delay.c" -ldl

bench=${BENCH:-}
if [ -z "$bench" ]; then
    bench=$(cd "$here/../.." && cargo bench --bench quota --no-run 2>&1 \
        | sed -n 's/.*Executable benches\/quota.rs (\(.*\))/\1/p' | tail -1)
    bench="$here/../../$bench"
fi
[ -x "$bench" ] || { echo "run.sh: no bench binary ($bench)" >&2; exit 1; }

# The cluster, its log and its socket, in a directory the server's user owns.
mkdir "$work/pg" "$work/run"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg" "$work/run"
as_pg "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null

for delay in "${delays[@]}"; do
    echo "=== fsync delay ${delay} us (added to every fsync/fdatasync of the bench and of PostgreSQL on port $port)"
    as_pg env LD_PRELOAD="$work/fsync-delay.so" CITES_FSYNC_DELAY_US="$delay" \
        "$pgbin/pg_ctl" -D "$work/pg" -l "$work/run/pg.log" -w \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $work/run" start >/dev/null
    LD_PRELOAD="$work/fsync-delay.so" CITES_FSYNC_DELAY_US="$delay" \
        CITES_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres" \
        "$bench" --bench
    stop_cluster
done
