//! The one-statement paths of the usual reservation, commit and release.

use chrono::{DateTime, Utc};
use db::{Db, with_tx};
use domain::Quantity;

use super::{
    audit::record_reservation,
    decide::{permit_until, reservation_outcome},
    idempotency::{params_hash, stored_ref},
    rows::{QuotaRow, ReservationRow, held_row},
};
use crate::amount::to_micro;
use crate::error::Result;
use crate::model::{Actor, ClientKey, Outcome};

/// The reservation every request hopes for, in as few round trips as the backend allows: a new key,
/// a quantity in the quota's own unit, and enough available. `None` sends the request to the
/// general path ([`reserve_in_tx`](super::reserve::reserve_in_tx)), which handles everything else
/// (another unit, a repeated key, a refusal, an unknown quota) the same way as before; nothing was
/// written.
///
/// PostgreSQL: one autocommitted statement (data-modifying CTEs), so the hot row's lock is held for
/// one round trip and the commit, like the raw conditional UPDATE. Its outcome is stored as a
/// reference ([`StoredOutcome::Ref`](super::idempotency::StoredOutcome::Ref)) built in the
/// statement. A concurrent request with the same key makes the request record's INSERT fail on the
/// key's primary key, which aborts the whole statement: the general path then finds the first
/// request's outcome.
///
/// SQLite: `BEGIN IMMEDIATE`, the conditional UPDATE, three INSERTs, COMMIT, in-process.
#[allow(clippy::too_many_arguments)]
pub(super) async fn reserve_fast(
    db: &Db,
    key: &ClientKey,
    params: &str,
    quota_id: i64,
    quantity: &Quantity,
    expires_at: DateTime<Utc>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>> {
    // In another unit the amount may only become exact, or small enough, once converted:
    // the general path converts it.
    let Ok(requested) = to_micro("quantity", quantity.amount()) else {
        return Ok(None);
    };
    if requested <= 0 {
        return Ok(None);
    }
    let unit = quantity.unit().code();
    let hash = params_hash(params);
    match db {
        Db::Postgres(pool) => {
            let written: std::result::Result<Option<FastRow>, sqlx::Error> =
                sqlx::query_as(concat!(
                    "WITH upd AS (UPDATE export_quotas SET held_micro = held_micro + $2 \
                     WHERE id = $1 AND unit = $3 AND limit_micro IS NOT NULL \
                     AND limit_micro - held_micro - committed_micro - exported_micro >= $2 \
                     AND NOT EXISTS (SELECT 1 FROM quota_requests WHERE client_key = $4) \
                     RETURNING ",
                    quota_columns!(),
                    "), \
                     res AS (INSERT INTO quota_reservations (quota_id, state, quantity_micro, \
                     expires_at, reject_reason, created_at, created_by) \
                     SELECT id, 'held', $2, $5, NULL, $6, $7 FROM upd RETURNING id), \
                     led AS (INSERT INTO quota_ledger (quota_id, reservation_id, event, \
                     delta_held, delta_committed, delta_exported, limit_micro, actor, reason, at) \
                     SELECT upd.id, res.id, 'reserve', $2, 0, 0, upd.limit_micro, $7, $8, $6 \
                     FROM upd, res), \
                     req AS (INSERT INTO quota_requests (client_key, operation, params_hash, \
                     outcome, created_at) SELECT $4, 'reserve', $9, ",
                    stored_ref_sql!(
                        "res.id",
                        "upd.held_micro",
                        "upd.committed_micro",
                        "upd.exported_micro",
                        "upd.limit_micro"
                    ),
                    ", $6 FROM upd, res) \
                     SELECT upd.*, res.id AS reservation_id FROM upd, res"
                ))
                .bind(quota_id)
                .bind(requested)
                .bind(unit)
                .bind(key.as_str())
                .bind(expires_at)
                .bind(now)
                .bind(&actor.name)
                .bind(&actor.reason)
                .bind(&hash)
                .fetch_optional(pool)
                .await;
            match written {
                Ok(Some(FastRow {
                    quota,
                    reservation_id,
                })) => {
                    let r = held_row(reservation_id, quota_id, requested, expires_at);
                    Ok(Some(reservation_outcome(&quota, &r)))
                }
                Ok(None) => Ok(None),
                Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
        Db::Sqlite(_) => {
            let mut tx = db.begin().await?;
            let updated: Option<QuotaRow> = with_tx!(&mut tx, c => sqlx::query_as(concat!(
                "UPDATE export_quotas SET held_micro = held_micro + $2 \
                 WHERE id = $1 AND unit = $3 AND limit_micro IS NOT NULL \
                 AND limit_micro - held_micro - committed_micro - exported_micro >= $2 \
                 AND NOT EXISTS (SELECT 1 FROM quota_requests WHERE client_key = $4) \
                 RETURNING ", quota_columns!()))
                .bind(quota_id).bind(requested).bind(unit).bind(key.as_str())
                .fetch_optional(c).await)?;
            let Some(quota) = updated else {
                tx.rollback().await?;
                return Ok(None);
            };
            let r = record_reservation(&mut tx, &quota, requested, expires_at, None, actor, now)
                .await?;
            with_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO quota_requests (client_key, operation, params_hash, outcome, created_at) \
                 VALUES ($1, 'reserve', $2, $3, $4)")
                .bind(key.as_str()).bind(&hash).bind(stored_ref(r.id, &quota)).bind(now)
                .execute(c).await.map(|r| r.rows_affected()))?;
            tx.commit().await?;
            Ok(Some(reservation_outcome(&quota, &r)))
        }
    }
}

/// A commit in one autocommitted PostgreSQL statement, as [`release_fast`] is for a release: the
/// reservation becomes committed (all of it, or the part given in the quota's own unit, the rest
/// returning to the quota), the quota's counters move, the audit entry and the key's record are
/// written, and the quota's row lock is held for the commit alone. `None` when it does not apply
/// (the reservation is not held or has expired, the quantity is in another unit, zero or more than
/// held, the permit's validity is not in the future, the day is outside the quota's period, the key
/// was used before or at the same moment, the reservation is a member of a linked reservation,
/// which moves with its other members); nothing was written and the general path answers, with its
/// refusals and errors. Locks the reservation, then the quota, as the general path and the sweeper
/// do.
#[allow(clippy::too_many_arguments)]
pub(super) async fn commit_fast(
    pool: &sqlx::PgPool,
    key: &ClientKey,
    params: &str,
    reservation_id: i64,
    quantity: Option<&Quantity>,
    permit_expires_at: Option<DateTime<Utc>>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>> {
    #[derive(sqlx::FromRow)]
    pub(super) struct Committed {
        #[sqlx(flatten)]
        quota: QuotaRow,
        r_id: i64,
        r_quota_id: i64,
        r_quantity_micro: i64,
        r_committed_micro: i64,
        r_expires_at: DateTime<Utc>,
    }
    // An invalid validity is the general path's to refuse, after it has looked for the key.
    let Ok(permit_expires_at) = permit_until(now, permit_expires_at) else {
        return Ok(None);
    };
    let (micro, unit) = match quantity {
        Some(q) => match to_micro("quantity", q.amount()) {
            Ok(m) if m > 0 => (Some(m), Some(q.unit().code())),
            _ => return Ok(None),
        },
        None => (None, None),
    };
    let written: std::result::Result<Option<Committed>, sqlx::Error> = sqlx::query_as(concat!(
        "WITH r AS (UPDATE quota_reservations x SET state = 'committed', \
         committed_micro = COALESCE($2, x.quantity_micro), permit_expires_at = $3 \
         WHERE x.id = $1 AND x.state = 'held' AND x.expires_at > $4 AND x.linked_to IS NULL \
         AND COALESCE($2, x.quantity_micro) <= x.quantity_micro \
         AND EXISTS (SELECT 1 FROM export_quotas q WHERE q.id = x.quota_id \
         AND ($5::TEXT IS NULL OR q.unit = $5) AND q.period_start <= $10 AND q.period_end > $10) \
         AND NOT EXISTS (SELECT 1 FROM quota_requests WHERE client_key = $6) \
         RETURNING x.id, x.quota_id, x.quantity_micro, x.committed_micro, x.expires_at), \
         upd AS (UPDATE export_quotas SET held_micro = held_micro - (SELECT quantity_micro FROM r), \
         committed_micro = committed_micro + (SELECT committed_micro FROM r) \
         WHERE id = (SELECT quota_id FROM r) RETURNING ",
        quota_columns!(),
        "), \
         led AS (INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
         delta_committed, delta_exported, limit_micro, actor, reason, at) \
         SELECT upd.id, r.id, 'commit', -r.quantity_micro, r.committed_micro, 0, \
         upd.limit_micro, $7, $8, $4 FROM upd, r), \
         req AS (INSERT INTO quota_requests (client_key, operation, params_hash, outcome, \
         created_at) SELECT $6, 'commit', $9, ",
        stored_committed_sql!(),
        ", $4 FROM upd, r) \
         SELECT upd.*, r.id AS r_id, r.quota_id AS r_quota_id, \
         r.quantity_micro AS r_quantity_micro, r.committed_micro AS r_committed_micro, \
         r.expires_at AS r_expires_at FROM upd, r"
    ))
    .bind(reservation_id)
    .bind(micro)
    .bind(permit_expires_at)
    .bind(now)
    .bind(unit)
    .bind(key.as_str())
    .bind(&actor.name)
    .bind(&actor.reason)
    .bind(params_hash(params))
    .bind(now.date_naive())
    .fetch_optional(pool)
    .await;
    fast_answer(written.map(|w| {
        w.map(|w| {
            let r = ReservationRow {
                state: "committed".into(),
                committed_micro: w.r_committed_micro,
                permit_expires_at: Some(permit_expires_at),
                ..held_row(w.r_id, w.r_quota_id, w.r_quantity_micro, w.r_expires_at)
            };
            (w.quota, r)
        })
    }))
}

/// The answer of a one-statement transition from the quota and reservation as it left them:
/// done, or `None` when it did not apply or its key was recorded at the same moment (its
/// record's primary key aborted the statement); nothing was written then, and the general
/// path answers.
pub(super) fn fast_answer(
    written: std::result::Result<Option<(QuotaRow, ReservationRow)>, sqlx::Error>,
) -> Result<Option<Outcome>> {
    match written {
        Ok(Some((quota, r))) => Ok(Some(Outcome::Done {
            reservation: r.view(&quota.unit),
            quota: quota.view(),
        })),
        Ok(None) => Ok(None),
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A release in one autocommitted PostgreSQL statement, as [`reserve_fast`] is for a
/// reservation: the reservation leaves `held`, the quota's hold shrinks, the audit entry and
/// the key's record are written, and the quota's row lock is held for the commit alone instead
/// of four round trips. `None` when it does not apply (the reservation is not held, the key was
/// used before, or used at the same moment: its record's primary key then aborts the whole
/// statement; or it is a member of a linked reservation, which moves with its other members);
/// nothing was written and the general path answers, as before. Locks the reservation, then
/// the quota, as the general path and the sweeper do.
pub(super) async fn release_fast(
    pool: &sqlx::PgPool,
    key: &ClientKey,
    params: &str,
    reservation_id: i64,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>> {
    #[derive(sqlx::FromRow)]
    pub(super) struct Released {
        #[sqlx(flatten)]
        quota: QuotaRow,
        r_id: i64,
        r_quota_id: i64,
        r_quantity_micro: i64,
        r_expires_at: DateTime<Utc>,
    }
    let written: std::result::Result<Option<Released>, sqlx::Error> = sqlx::query_as(concat!(
        "WITH r AS (UPDATE quota_reservations SET state = 'released' \
         WHERE id = $1 AND state = 'held' AND linked_to IS NULL \
         AND NOT EXISTS (SELECT 1 FROM quota_requests WHERE client_key = $2) \
         RETURNING id, quota_id, quantity_micro, expires_at), \
         upd AS (UPDATE export_quotas SET held_micro = held_micro - (SELECT quantity_micro FROM r) \
         WHERE id = (SELECT quota_id FROM r) RETURNING ",
        quota_columns!(),
        "), \
         led AS (INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
         delta_committed, delta_exported, limit_micro, actor, reason, at) \
         SELECT upd.id, r.id, 'release', -r.quantity_micro, 0, 0, upd.limit_micro, $3, $4, $5 \
         FROM upd, r), \
         req AS (INSERT INTO quota_requests (client_key, operation, params_hash, outcome, \
         created_at) SELECT $2, 'release', $6, ",
        stored_released_sql!(),
        ", $5 FROM upd, r) \
         SELECT upd.*, r.id AS r_id, r.quota_id AS r_quota_id, \
         r.quantity_micro AS r_quantity_micro, r.expires_at AS r_expires_at FROM upd, r"
    ))
    .bind(reservation_id)
    .bind(key.as_str())
    .bind(&actor.name)
    .bind(&actor.reason)
    .bind(now)
    .bind(params_hash(params))
    .fetch_optional(pool)
    .await;
    fast_answer(written.map(|w| {
        w.map(|w| {
            let r = ReservationRow {
                state: "released".into(),
                ..held_row(w.r_id, w.r_quota_id, w.r_quantity_micro, w.r_expires_at)
            };
            (w.quota, r)
        })
    }))
}

/// What PostgreSQL's one-statement reservation returns: the quota after it, the new id.
#[derive(sqlx::FromRow)]
pub(super) struct FastRow {
    #[sqlx(flatten)]
    quota: QuotaRow,
    reservation_id: i64,
}
