//! The audit ledger's entries: appended, never changed.

use chrono::{DateTime, Utc};
use db::{Tx, with_tx};

use super::rows::{QuotaRow, ReservationRow, insert_reservation, move_counters};
use crate::error::Result;
use crate::model::{Actor, Outcome, Refusal};

/// After a reservation changed: moves the quota's counters by `delta`, records the ledger
/// entry, and answers with both.
#[allow(clippy::too_many_arguments)]
pub(super) async fn settle(
    tx: &mut Tx,
    quota_id: i64,
    changed: &ReservationRow,
    event: &'static str,
    delta: (i64, i64, i64),
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let q = move_counters(tx, quota_id, delta).await?;
    append(
        tx,
        quota_id,
        Some(changed.id),
        event,
        delta,
        q.limit_micro,
        actor,
        now,
    )
    .await?;
    Ok(Outcome::Done {
        reservation: changed.view(&q.unit),
        quota: q.view(),
    })
}

/// Writes a decided reservation against `quota` (its counters already moved if granted): the
/// reservation, held or rejected with its refusal, and its audit entry.
pub(super) async fn record_reservation(
    tx: &mut Tx,
    quota: &QuotaRow,
    requested: i64,
    expires_at: DateTime<Utc>,
    refusal: Option<&Refusal>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ReservationRow> {
    let (state, event, held) = match refusal {
        None => ("held", "reserve", requested),
        Some(_) => ("rejected", "reject", 0),
    };
    let reason = refusal.map(Refusal::message);
    let r = insert_reservation(
        tx,
        quota.id,
        state,
        requested,
        expires_at,
        reason.as_deref(),
        actor,
        now,
    )
    .await?;
    append(
        tx,
        quota.id,
        Some(r.id),
        event,
        (held, 0, 0),
        quota.limit_micro,
        actor,
        now,
    )
    .await?;
    Ok(r)
}

/// Appends the audit entry of a refused transition of reservation `reservation_id`: no
/// counter moves; the quantity asked (in the quota's unit) and why it was refused are kept.
#[allow(clippy::too_many_arguments)]
pub(super) async fn append_refusal(
    tx: &mut Tx,
    quota: &QuotaRow,
    reservation_id: i64,
    event: &'static str,
    requested_micro: Option<i64>,
    refusal: &Refusal,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, delta_committed, \
         delta_exported, limit_micro, actor, reason, at, requested_micro, refusal) \
         VALUES ($1, $2, $3, 0, 0, 0, $4, $5, $6, $7, $8, $9)")
        .bind(quota.id).bind(reservation_id).bind(event).bind(quota.limit_micro)
        .bind(&actor.name).bind(&actor.reason).bind(now).bind(requested_micro)
        .bind(refusal.message())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Appends one audit entry.
#[allow(clippy::too_many_arguments)]
pub(super) async fn append(
    tx: &mut Tx,
    quota_id: i64,
    reservation_id: Option<i64>,
    event: &'static str,
    delta: (i64, i64, i64),
    limit_micro: Option<i64>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, delta_committed, \
         delta_exported, limit_micro, actor, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(quota_id).bind(reservation_id).bind(event).bind(delta.0).bind(delta.1)
        .bind(delta.2).bind(limit_micro).bind(&actor.name).bind(&actor.reason).bind(now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
