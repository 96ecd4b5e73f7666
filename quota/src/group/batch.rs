//! The group writer's batch statements.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use db::Tx;

use super::decide::{BatchItem, Decided, QuotaRows, UsedKey, answers, assemble, decide};
use crate::error::{Error, Result};
use crate::ledger::{
    QuotaRow, ReservationRow, is_unique_violation, parse_stored_outcome, reservation_outcome,
    resolve_stored, stored_ref,
};
use crate::model::{Outcome, Refusal};

/// (quota id, reservation id, event, held delta, limit, index of the item).
pub(super) type BatchLedgerRow = (i64, i64, &'static str, i64, Option<i64>, usize);

/// Reserves a whole batch with a handful of statements: the quota rows are read (and locked
/// on PostgreSQL) once, every request is decided in order in memory against them, and the
/// counters, reservations, ledger entries and request outcomes are written set-wise (one
/// statement on PostgreSQL; on SQLite one call to the connection's thread, a statement per
/// table and one UPDATE per distinct quota). Same outcomes as one transaction per request, in
/// queue order.
pub(crate) async fn reserve_batch(
    tx: &mut Tx,
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) -> Result<(Vec<Result<Outcome>>, QuotaRows)> {
    let ids = batch_quota_ids(items);
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    let mut sqlite_next: Option<SqliteBatchContext> = None;
    let rows: Vec<QuotaRow> = match tx {
        // BEGIN IMMEDIATE already excludes every other writer.
        Tx::Sqlite(t) => {
            let (rows, next) = read_batch_sqlite(t, &ids, &keys).await?;
            sqlite_next = next;
            rows
        }
        // Row locks in id order: no deadlock with another batch. Arrays keep one statement
        // text whatever the batch size, so it stays prepared.
        Tx::Postgres(t) => {
            sqlx::query_as(concat!(
                "SELECT ",
                quota_columns!(),
                " FROM export_quotas WHERE id = ANY($1) ORDER BY id FOR UPDATE"
            ))
            .bind(&ids)
            .fetch_all(&mut **t)
            .await?
        }
    };
    let mut quotas: QuotaRows = rows.into_iter().map(|q| (q.id, q)).collect();
    let before = quotas.clone();

    let stored: Vec<(String, String, String, String)> = match tx {
        // None of its keys was used before. (When none of its quotas exists, the keys are
        // read anyway: a key used for another operation is a conflict before anything else.)
        Tx::Sqlite(_) if sqlite_next.as_ref().is_some_and(|c| !c.keys_used) => Vec::new(),
        Tx::Sqlite(t) => {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT client_key, operation, params_hash, outcome FROM quota_requests \
                 WHERE client_key IN (",
            );
            let mut list = qb.separated(", ");
            for k in &keys {
                list.push_bind(*k);
            }
            qb.push(")");
            qb.build_query_as().fetch_all(&mut **t).await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as(
                "SELECT client_key, operation, params_hash, outcome FROM quota_requests \
                 WHERE client_key = ANY($1)",
            )
            .bind(&keys)
            .fetch_all(&mut **t)
            .await?
        }
    };
    // The first outcomes of the keys used before, rebuilt now (the decisions are pure).
    let mut used: HashMap<String, UsedKey> = HashMap::with_capacity(stored.len());
    for (key, operation, hash, outcome) in stored {
        let outcome = if operation == "reserve" {
            match parse_stored_outcome(&outcome) {
                Ok(s) => resolve_stored(tx, s).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        } else {
            Err(String::new())
        };
        used.insert(
            key,
            UsedKey {
                operation,
                hash,
                outcome,
            },
        );
    }
    let decided = decide(items, &mut quotas, &used);
    // Reservations, in queue order; ids come back in the same (ascending) order.
    let new_idx: Vec<usize> = decided
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d, Decided::New(_)))
        .map(|(i, _)| i)
        .collect();
    let t = match tx {
        // PostgreSQL writes everything in one statement.
        Tx::Postgres(t) => {
            let written =
                write_batch_postgres(t, &before, &quotas, &new_idx, &decided, items, now).await?;
            if written.len() != new_idx.len() {
                return Err(Error::Invalid {
                    field: "batch",
                    message: "the reservations of the batch were not all written".into(),
                });
            }
            return Ok((answers(decided, written), quotas));
        }
        Tx::Sqlite(t) => &mut **t,
    };
    let first_id = sqlite_next.map_or(1, |c| c.next_reservation_id);
    let (writes, outcomes) =
        writes_of_batch_sqlite(&decided, items, &before, &quotas, first_id, now);
    if let Some((mut writes, expected)) = writes {
        let written = writes.build().execute(&mut *t).await?.rows_affected();
        if written != expected {
            return Err(Error::Invalid {
                field: "batch",
                message: format!("the batch wrote {written} rows instead of {expected}"),
            });
        }
    }
    Ok((assemble(decided, outcomes), quotas))
}

/// SQLite, the usual batch in two calls to the connection's thread (each call costs a round
/// trip between threads, which on this kind of machine costs more than the statements): one
/// statement reads the quotas, the next reservation id and whether any key was used before;
/// one call writes the counters, reservations, ledger entries and request records and
/// commits. `conn` must be in a `BEGIN IMMEDIATE` transaction, which excludes every other
/// writer. `None` when a key of the batch was used before, or none of its quotas exists:
/// nothing was written or committed, and [`reserve_batch`] (which reads the keys' first
/// outcomes) takes the batch.
pub(crate) async fn reserve_batch_sqlite(
    conn: &mut sqlx::SqliteConnection,
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) -> Result<Option<(Vec<Result<Outcome>>, QuotaRows)>> {
    let ids = batch_quota_ids(items);
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    let (rows, next) = read_batch_sqlite(&mut *conn, &ids, &keys).await?;
    // Only when no key was used before. (When none of its quotas exists the statement could
    // not tell, and a key used for another operation is a conflict before anything else.)
    let Some(next) = next.filter(|c| !c.keys_used) else {
        return Ok(None);
    };
    let mut quotas: QuotaRows = rows.into_iter().map(|q| (q.id, q)).collect();
    let before = quotas.clone();
    let decided = decide(items, &mut quotas, &HashMap::new());
    let (writes, outcomes) = writes_of_batch_sqlite(
        &decided,
        items,
        &before,
        &quotas,
        next.next_reservation_id,
        now,
    );
    let mut writes = writes.map_or_else(|| sqlx::QueryBuilder::new(""), |(w, _)| w);
    writes.push("COMMIT");
    writes.build().execute(&mut *conn).await?;
    Ok(Some((assemble(decided, outcomes), quotas)))
}

/// The distinct quotas of a batch, in id order (the order their rows are locked in).
pub(super) fn batch_quota_ids(items: &[BatchItem<'_>]) -> Vec<i64> {
    items
        .iter()
        .map(|i| i.quota_id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// SQLite: a batch's quotas, and (when any exists) the id its first reservation takes and
/// whether any of its `keys` was used before, in one statement.
pub(super) async fn read_batch_sqlite(
    conn: &mut sqlx::SqliteConnection,
    ids: &[i64],
    keys: &[&str],
) -> Result<(Vec<QuotaRow>, Option<SqliteBatchContext>)> {
    let mut qb = sqlx::QueryBuilder::new(concat!(
        "SELECT ",
        quota_columns!(),
        ", (SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence \
         WHERE name = 'quota_reservations'), 0), \
         COALESCE((SELECT MAX(id) FROM quota_reservations), 0)) + 1) \
         AS next_reservation_id, \
         EXISTS (SELECT 1 FROM quota_requests WHERE client_key IN ("
    ));
    let mut list = qb.separated(", ");
    for k in keys {
        list.push_bind(k.to_string());
    }
    qb.push(")) AS keys_used FROM export_quotas WHERE id IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    qb.push(") ORDER BY id");
    let rows = qb
        .build_query_as::<SqliteBatchRow>()
        .fetch_all(&mut *conn)
        .await?;
    let next = rows.first().map(|r| SqliteBatchContext {
        next_reservation_id: r.next_reservation_id,
        keys_used: r.keys_used,
    });
    Ok((rows.into_iter().map(|r| r.quota).collect(), next))
}

/// SQLite: the statements writing what a batch `decided` (the counters of the quotas whose
/// holds grew from `before` to `after`, then the reservations, ledger entries and request
/// records), with the rows they change; `None` when there is nothing to write. And every
/// item's outcome. BEGIN IMMEDIATE excludes every other writer, so the batch numbers its
/// reservations itself from `first_id` (after the largest id ever given, as AUTOINCREMENT
/// would) and writes them without reading them back.
#[allow(clippy::type_complexity)]
pub(super) fn writes_of_batch_sqlite(
    decided: &[Decided],
    items: &[BatchItem<'_>],
    before: &QuotaRows,
    after: &QuotaRows,
    first_id: i64,
    now: DateTime<Utc>,
) -> (
    Option<(sqlx::QueryBuilder<sqlx::Sqlite>, u64)>,
    Vec<Option<Result<Outcome>>>,
) {
    let mut new_rows: Vec<NewReservation<'_>> = Vec::new();
    let mut outcomes: Vec<Option<Result<Outcome>>> = Vec::with_capacity(items.len());
    let mut ledger_rows: Vec<BatchLedgerRow> = Vec::new();
    let mut request_rows: Vec<(usize, &str, String)> = Vec::new();
    for (i, d) in decided.iter().enumerate() {
        match d {
            Decided::Failed(_) | Decided::SameAs(_) => outcomes.push(None),
            Decided::Stored(o) => outcomes.push(Some(Ok(o.clone()))),
            Decided::New(new) => {
                let id = first_id + new_rows.len() as i64;
                let row = new.row(id, &items[i]);
                let (event, held) = new.ledger_entry();
                ledger_rows.push((
                    new.quota_id,
                    id,
                    event,
                    held,
                    new.quota_after.limit_micro,
                    i,
                ));
                request_rows.push((i, new.hash.as_str(), stored_ref(id, &new.quota_after)));
                outcomes.push(Some(Ok(reservation_outcome(&new.quota_after, &row))));
                new_rows.push(NewReservation {
                    row,
                    created_by: &items[i].actor.name,
                });
            }
        }
    }
    let mut writes = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
    let mut expected: u64 = 0;
    for (id, delta) in after.values().filter_map(|q| {
        let delta = q.held_micro - before.get(&q.id).map_or(q.held_micro, |b| b.held_micro);
        (delta != 0).then_some((q.id, delta))
    }) {
        // The CHECK constraint guards the counters again.
        writes
            .push("UPDATE export_quotas SET held_micro = held_micro + ")
            .push_bind(delta)
            .push(" WHERE id = ")
            .push_bind(id)
            .push("; ");
        expected += 1;
    }
    push_reservations(&mut writes, &new_rows, now);
    push_batch_ledger(&mut writes, &ledger_rows, items, now);
    push_batch_requests(&mut writes, &request_rows, items, now);
    expected += (new_rows.len() + ledger_rows.len() + request_rows.len()) as u64;
    ((expected > 0).then_some((writes, expected)), outcomes)
}

/// A quota a batch reads on SQLite, with what the batch needs besides.
#[derive(sqlx::FromRow)]
pub(super) struct SqliteBatchRow {
    #[sqlx(flatten)]
    quota: QuotaRow,
    next_reservation_id: i64,
    keys_used: bool,
}

/// What a batch on SQLite learns with its quotas: the id its first reservation takes, and
/// whether any of its keys was used before.
pub(super) struct SqliteBatchContext {
    next_reservation_id: i64,
    keys_used: bool,
}

/// PostgreSQL, the batch on one quota whose counters the writer knows from its last batch
/// (`known`): the decisions are taken on them without reading anything, and written in one
/// autocommitted statement whose UPDATE only applies if the counters are still those, so that
/// the quota's row is locked for that statement and its commit alone (instead of a
/// transaction of four round trips). `None` when that does not apply and nothing was written:
/// the batch touches several quotas, the writer does not know this one, someone else moved it
/// meanwhile, a key was used before (the statement fails on it), or an item fails validation;
/// [`reserve_batch`] then takes it under lock.
pub(crate) async fn reserve_batch_known(
    conn: &mut sqlx::PgConnection,
    items: &[BatchItem<'_>],
    known: &QuotaRows,
    now: DateTime<Utc>,
) -> Result<Option<(Vec<Result<Outcome>>, QuotaRows)>> {
    let Some(first) = items.first() else {
        return Ok(None);
    };
    if items.iter().any(|i| i.quota_id != first.quota_id) {
        return Ok(None);
    }
    let Some(quota) = known.get(&first.quota_id) else {
        return Ok(None);
    };
    let mut quotas: QuotaRows = HashMap::from([(quota.id, quota.clone())]);
    let before = quotas.clone();
    let decided = decide(items, &mut quotas, &HashMap::new());
    if decided.iter().any(|d| matches!(d, Decided::Failed(_))) {
        // A key may have been used before: only the locked path reads them.
        return Ok(None);
    }
    let new_idx: Vec<usize> = decided
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d, Decided::New(_)))
        .map(|(i, _)| i)
        .collect();
    let written =
        match write_batch_postgres(conn, &before, &quotas, &new_idx, &decided, items, now).await {
            Ok(w) => w,
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
    if written.is_empty() {
        // The counters were not those any more: nothing was written.
        return Ok(None);
    }
    if written.len() != new_idx.len() {
        return Err(Error::Invalid {
            field: "batch",
            message: "the reservations of the batch were not all written".into(),
        });
    }
    Ok(Some((answers(decided, written), quotas)))
}

/// A reservation row a batch writes.
pub(super) struct NewReservation<'a> {
    row: ReservationRow,
    created_by: &'a str,
}

/// Rows per multi-row INSERT of a group-commit batch on SQLite: 90 rows of at most 11
/// parameters stay under the 999 of SQLite builds before 3.32, though the bundled one takes
/// 32,766; batches are at most [`crate::GROUP_BATCH_MAX`] anyway.
pub(super) const SQLITE_ROWS_PER_INSERT: usize = 90;

/// Adds the INSERTs of a batch's reservations to `writes` (SQLite); their ids ascend in the
/// order given.
pub(super) fn push_reservations(
    writes: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
    rows: &[NewReservation<'_>],
    now: DateTime<Utc>,
) {
    for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
        writes.push(
            "INSERT INTO quota_reservations (id, quota_id, state, quantity_micro, expires_at, \
             reject_reason, created_at, created_by) ",
        );
        writes.push_values(chunk, |mut b, r| {
            b.push_bind(r.row.id)
                .push_bind(r.row.quota_id)
                .push_bind(r.row.state.clone())
                .push_bind(r.row.quantity_micro)
                .push_bind(r.row.expires_at)
                .push_bind(r.row.reject_reason.clone())
                .push_bind(now)
                .push_bind(r.created_by.to_owned());
        });
        writes.push("; ");
    }
}

/// Adds the INSERTs of a batch's ledger entries to `writes` (SQLite; reserve or reject: only
/// holds move).
pub(super) fn push_batch_ledger(
    writes: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
    rows: &[BatchLedgerRow],
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) {
    for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
        writes.push(
            "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
             delta_committed, delta_exported, limit_micro, actor, reason, at) ",
        );
        writes.push_values(
            chunk,
            |mut b, (quota_id, reservation_id, event, held, limit, i)| {
                b.push_bind(*quota_id)
                    .push_bind(*reservation_id)
                    .push_bind(*event)
                    .push_bind(*held)
                    .push("0")
                    .push("0")
                    .push_bind(*limit)
                    .push_bind(items[*i].actor.name.clone())
                    .push_bind(items[*i].actor.reason.clone())
                    .push_bind(now);
            },
        );
        writes.push("; ");
    }
}

/// Adds the INSERTs recording a batch's client keys with their first outcomes to `writes`
/// (SQLite).
pub(super) fn push_batch_requests(
    writes: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
    rows: &[(usize, &str, String)],
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) {
    for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
        writes.push(
            "INSERT INTO quota_requests (client_key, operation, params_hash, outcome, \
             created_at) ",
        );
        writes.push_values(chunk, |mut b, (i, hash, stored)| {
            b.push_bind(items[*i].key.as_str().to_owned())
                .push("'reserve'")
                .push_bind(hash.to_string())
                .push_bind(stored.clone())
                .push_bind(now);
        });
        writes.push("; ");
    }
}

/// PostgreSQL: a batch's counters, reservations, ledger entries and request records in one
/// statement of data-modifying CTEs (one round trip instead of four). The counters of every
/// quota of the batch move from `before` to `after` only if they still are `before`; if one
/// is not, nothing is written and the answer is empty. The request records are references
/// (the ledger's `StoredOutcome::Ref`) built in the statement; the answers are built from what was
/// written, as a replay rebuilds them. Reservation ids ascend in queue order, which pairs
/// them with their items.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_batch_postgres(
    conn: &mut sqlx::PgConnection,
    before: &QuotaRows,
    after: &QuotaRows,
    new_idx: &[usize],
    decided: &[Decided],
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) -> Result<HashMap<usize, Outcome>> {
    let mut cols = BatchColumns::default();
    for i in new_idx {
        let Decided::New(new) = &decided[*i] else {
            continue;
        };
        let item = &items[*i];
        let (event, held) = new.ledger_entry();
        cols.quota_id.push(new.quota_id);
        cols.state.push(new.state());
        cols.quantity.push(new.requested);
        cols.expires_at.push(item.expires_at);
        cols.reject_reason
            .push(new.refusal.as_ref().map(Refusal::message));
        cols.created_by.push(item.actor.name.as_str());
        cols.reason.push(item.actor.reason.as_deref());
        cols.key.push(item.key.as_str());
        cols.hash.push(new.hash.as_str());
        cols.held_after.push(new.quota_after.held_micro);
        cols.committed_after.push(new.quota_after.committed_micro);
        cols.exported_after.push(new.quota_after.exported_micro);
        cols.ledger_held.push(held);
        cols.limit.push(new.quota_after.limit_micro);
        cols.event.push(event);
    }
    if cols.key.is_empty() {
        return Ok(HashMap::new());
    }
    let mut counters = CounterColumns::default();
    for (id, b) in before {
        counters.id.push(*id);
        counters
            .delta
            .push(after.get(id).map_or(0, |a| a.held_micro) - b.held_micro);
        counters.held.push(b.held_micro);
        counters.committed.push(b.committed_micro);
        counters.exported.push(b.exported_micro);
        counters.limit.push(b.limit_micro);
    }
    let ids: Vec<(i64, i64)> = sqlx::query_as(concat!(
        "WITH cnt AS (UPDATE export_quotas q SET held_micro = q.held_micro + d.delta \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[], $19::BIGINT[], $20::BIGINT[], $21::BIGINT[], \
         $22::BIGINT[]) AS d (id, delta, held, committed, exported, lim) WHERE q.id = d.id \
         AND q.held_micro = d.held AND q.committed_micro = d.committed \
         AND q.exported_micro = d.exported AND q.limit_micro IS NOT DISTINCT FROM d.lim \
         RETURNING q.id), \
         input AS (SELECT * FROM UNNEST($3::BIGINT[], $4::TEXT[], $5::BIGINT[], \
         $6::TIMESTAMPTZ[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], \
         $12::BIGINT[], $13::BIGINT[], $14::BIGINT[], $15::BIGINT[], $16::BIGINT[], $17::TEXT[]) \
         WITH ORDINALITY AS u (quota_id, state, qty, expires_at, reject_reason, created_by, \
         reason, client_key, params_hash, held_after, committed_after, exported_after, \
         ledger_held, limit_micro, event, ord) \
         WHERE (SELECT count(*) FROM cnt) = cardinality($1::BIGINT[])), \
         res AS (INSERT INTO quota_reservations (quota_id, state, quantity_micro, expires_at, \
         reject_reason, created_at, created_by) SELECT quota_id, state, qty, expires_at, \
         reject_reason, $18, created_by FROM input ORDER BY ord RETURNING id), \
         numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS ord FROM res), \
         led AS (INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
         delta_committed, delta_exported, limit_micro, actor, reason, at) \
         SELECT i.quota_id, n.id, i.event, i.ledger_held, 0, 0, i.limit_micro, i.created_by, \
         i.reason, $18 FROM input i JOIN numbered n ON n.ord = i.ord ORDER BY i.ord), \
         req AS (INSERT INTO quota_requests (client_key, operation, params_hash, outcome, \
         created_at) SELECT i.client_key, 'reserve', i.params_hash, ",
        stored_ref_sql!(
            "n.id",
            "i.held_after",
            "i.committed_after",
            "i.exported_after",
            "i.limit_micro"
        ),
        ", $18 FROM input i JOIN numbered n ON n.ord = i.ord RETURNING client_key) \
         SELECT n.ord, n.id FROM numbered n \
         WHERE (SELECT count(*) FROM req) = (SELECT count(*) FROM input) ORDER BY n.ord"
    ))
    .bind(&counters.id)
    .bind(&counters.delta)
    .bind(&cols.quota_id)
    .bind(&cols.state)
    .bind(&cols.quantity)
    .bind(&cols.expires_at)
    .bind(&cols.reject_reason)
    .bind(&cols.created_by)
    .bind(&cols.reason)
    .bind(&cols.key)
    .bind(&cols.hash)
    .bind(&cols.held_after)
    .bind(&cols.committed_after)
    .bind(&cols.exported_after)
    .bind(&cols.ledger_held)
    .bind(&cols.limit)
    .bind(&cols.event)
    .bind(now)
    .bind(&counters.held)
    .bind(&counters.committed)
    .bind(&counters.exported)
    .bind(&counters.limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = HashMap::with_capacity(ids.len());
    for (ord, id) in ids {
        // `ord` counts the written items from 1, in queue order.
        let Some(i) = usize::try_from(ord - 1).ok().and_then(|o| new_idx.get(o)) else {
            continue;
        };
        let Decided::New(new) = &decided[*i] else {
            continue;
        };
        out.insert(
            *i,
            reservation_outcome(&new.quota_after, &new.row(id, &items[*i])),
        );
    }
    Ok(out)
}

/// The quotas of a PostgreSQL batch write: each one's hold delta and the counters and limit
/// it expects (a revised limit, like moved counters, sends the batch to the locked path).
#[derive(Default)]
pub(super) struct CounterColumns {
    id: Vec<i64>,
    delta: Vec<i64>,
    held: Vec<i64>,
    committed: Vec<i64>,
    exported: Vec<i64>,
    limit: Vec<Option<i64>>,
}

/// The columns of a PostgreSQL batch write, one array each.
#[derive(Default)]
pub(super) struct BatchColumns<'a> {
    quota_id: Vec<i64>,
    state: Vec<&'static str>,
    quantity: Vec<i64>,
    expires_at: Vec<DateTime<Utc>>,
    reject_reason: Vec<Option<String>>,
    created_by: Vec<&'a str>,
    reason: Vec<Option<&'a str>>,
    key: Vec<&'a str>,
    hash: Vec<&'a str>,
    held_after: Vec<i64>,
    committed_after: Vec<i64>,
    exported_after: Vec<i64>,
    ledger_held: Vec<i64>,
    limit: Vec<Option<i64>>,
    event: Vec<&'static str>,
}
