#!/usr/bin/env bash
# What each row of an unbatched reservation costs PostgreSQL, measured the way the quota bench
# measures its ceiling (pgbench -M prepared, one hot quota), every statement side by side in the
# same run and interleaved round by round, so the ratios hold on a noisy shared machine.
#
#   e1      the raw hot-row conditional UPDATE (the ceiling set for the engine)
#   cte     a minimal reserve CTE: that UPDATE and one minimal reservation row
#   +res    the engine's conditional UPDATE and its reservation row (indexes, CHECKs, a FK)
#   +audit  and the audit ledger entry
#   engine  and the key's request record: the engine's whole statement (`reserve_fast`)
#   -fk     the engine's statement on copies of its three tables without their foreign keys
#   late    the engine's statement inserting the reservation before it locks the quota's row
#   elr     early lock release: the engine's statement committed without waiting for its WAL
#           flush (so the quota's row lock is released before the fsync), then a second
#           transaction that writes one WAL record and commits synchronously, flushing the WAL
#           through the first one's commit before the caller would be answered: as durable as
#           the engine, one more round trip and commit
#
# Usage: benches/pgbench/rows.sh [clients...]   (default: 1 16)
# Env:   PGHOST/PGPORT/PGUSER (default 127.0.0.1/5432/postgres), ROUNDS (3), SECS (4 per cell).
# Needs pgbench and psql (Debian: postgresql-client). Creates and drops its own database.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-4}
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(1 16)
db="cites_pgbench_rows_$$"
work=$(mktemp -d)
cleanup() {
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
for m in 0003_quota_ledger 0005_permit_validity_index; do
    psql -qX -v ON_ERROR_STOP=1 -d "$db" -f "$here/../../migrations/postgres/$m.sql" >/dev/null
done
psql -qX -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
INSERT INTO export_quotas (exporter, taxon_id, period_start, period_end, unit, limit_micro,
    origin, created_at, created_by)
VALUES ('NA', 4521, '2026-01-01', '2027-01-01', '', 9000000000000000000, 'national', now(), 'bench');
CREATE TABLE hot (id INT PRIMARY KEY, remaining BIGINT CHECK (remaining >= 0));
INSERT INTO hot VALUES (1, 9000000000000000000);
CREATE TABLE reservation (id BIGINT PRIMARY KEY, quota_id INT, qty BIGINT, state INT);
-- LIKE copies columns, identities, CHECKs and indexes, never foreign keys.
CREATE TABLE reservations_nofk (LIKE quota_reservations INCLUDING ALL);
CREATE TABLE ledger_nofk (LIKE quota_ledger INCLUDING ALL);
CREATE TABLE requests_nofk (LIKE quota_requests INCLUDING ALL);
SQL

update="UPDATE export_quotas SET held_micro = held_micro + 1 WHERE id = 1 AND unit = '' \
AND limit_micro IS NOT NULL AND limit_micro - held_micro - committed_micro - exported_micro >= 1 \
AND NOT EXISTS (SELECT 1 FROM quota_requests WHERE client_key = :k::text) RETURNING id, exporter, \
taxon_id, period_start, period_end, unit, limit_micro, held_micro, committed_micro, \
exported_micro, term, source, purpose, origin, speciesplus_id, notes"
res="res AS (INSERT INTO quota_reservations (quota_id, state, quantity_micro, expires_at, \
reject_reason, created_at, created_by) SELECT id, 'held', 1, now() + interval '14 days', NULL, \
now(), 'bench' FROM upd RETURNING id)"
audit="led AS (INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
delta_committed, delta_exported, limit_micro, actor, reason, at) SELECT upd.id, res.id, \
'reserve', 1, 0, 0, upd.limit_micro, 'bench', 'bench', now() FROM upd, res)"
request="req AS (INSERT INTO quota_requests (client_key, operation, params_hash, outcome, \
created_at) SELECT :k::text, 'reserve', md5(:k::text), format('{\"ref\":{\"reservation\":%s,\
\"held\":%s,\"committed\":%s,\"exported\":%s,\"limit\":%s}}', res.id, upd.held_micro, \
upd.committed_micro, upd.exported_micro, COALESCE(upd.limit_micro::TEXT, 'null')), now() \
FROM upd, res)"
select="SELECT upd.*, res.id AS reservation_id FROM upd, res"
key='\set k random(1, 9000000000000000000)'

printf '%s\n' "UPDATE hot SET remaining = remaining - 1 WHERE id = 1 AND remaining >= 1;" >"$work/e1.sql"
printf '%s\n' "$key" "WITH d AS (UPDATE hot SET remaining = remaining - 1 WHERE id = 1 AND \
remaining >= 1 RETURNING id) INSERT INTO reservation SELECT :k, id, 1, 0 FROM d;" >"$work/cte.sql"
printf '%s\n' "$key" "WITH upd AS ($update), $res $select;" >"$work/+res.sql"
printf '%s\n' "$key" "WITH upd AS ($update), $res, $audit $select;" >"$work/+audit.sql"
printf '%s\n' "$key" "WITH upd AS ($update), $res, $audit, $request $select;" >"$work/engine.sql"
sed -e 's/INTO quota_reservations/INTO reservations_nofk/; s/INTO quota_ledger/INTO ledger_nofk/' \
    -e 's/quota_requests/requests_nofk/g' "$work/engine.sql" >"$work/-fk.sql"
# The quota's row is locked when the UPDATE runs; the reservation's INSERT runs first when the
# UPDATE waits for it (an EXISTS over it), so only the UPDATE, the two later rows, the foreign-key
# checks and the commit happen under the lock.
late_res="res AS (INSERT INTO quota_reservations (quota_id, state, quantity_micro, expires_at, \
reject_reason, created_at, created_by) VALUES (1, 'held', 1, now() + interval '14 days', NULL, \
now(), 'bench') RETURNING id)"
late_update="${update/AND NOT EXISTS/AND EXISTS (SELECT 1 FROM res) AND NOT EXISTS}"
printf '%s\n' "$key" "WITH $late_res, upd AS ($late_update), $audit, $request $select;" >"$work/late.sql"
# set_config(..., true) is SET LOCAL: this transaction alone commits asynchronously. A commit
# record alone is not flushed unless the transaction wrote WAL before it, hence the transactional
# logical message (which needs no privilege and no wal_level=logical) rather than txid_current().
printf '%s\n' "$key" "WITH cfg AS (SELECT set_config('synchronous_commit', 'off', true) AS v), \
upd AS ($update), $res, $audit, $request $select, cfg;" \
    "SELECT pg_logical_emit_message(true, 'cites', '');" >"$work/elr.sql"
variants=(e1 cte +res +audit engine -fk late elr)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "pgbench -M prepared -T $SECS, $ROUNDS interleaved rounds; transactions/s (median) and x e1"
for c in "${clients[@]}"; do
    for r in $(seq "$ROUNDS"); do
        for v in "${variants[@]}"; do
            tps=$(pgbench -n -M prepared -j 2 -c "$c" -T "$SECS" -f "$work/$v.sql" "$db" 2>&1 |
                awk '/^tps/ {print int($3)}')
            [ -n "$tps" ] || { echo "pgbench failed on $v" >&2; exit 1; }
            echo "$tps" >>"$work/$c.$v"
        done
    done
    e1=$(median <"$work/$c.e1")
    line="clients $c:"
    for v in "${variants[@]}"; do
        m=$(median <"$work/$c.$v")
        line+=$(awk -v v="$v" -v m="$m" -v e="$e1" 'BEGIN {printf "  %s %d (%.2f)", v, m, m / e}')
    done
    echo "$line"
done
