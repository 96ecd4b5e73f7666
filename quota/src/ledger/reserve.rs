//! Reserving: admission, the period, and the general path in one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use db::{Tx, read_db, with_tx};
use domain::{Clock, Quantity, UnitCode};

use super::{
    Ledger,
    audit::record_reservation,
    decide::{hold_until, period_refusal, refusal_for, reservation_outcome, start_of_day},
    fast::reserve_fast,
    idempotency::{
        claim_key, parse_stored_outcome, resolve_stored, store_outcome, store_raw_outcome,
        stored_ref,
    },
    retry::retry,
    rows::{QuotaRow, load_quota, lock_quota},
};
use crate::amount::to_micro;
use crate::error::{Error, Result};
use crate::model::{Actor, ClientKey, Outcome, Refusal, check_whole};

/// A quota's period `[start, end)` and unit: declared once, never changed afterwards.
#[derive(Clone, Copy)]
pub(super) struct Fixed {
    period_start: NaiveDate,
    period_end: NaiveDate,
    unit: UnitCode,
}

impl Ledger {
    /// What a reservation refused as invalid answers when its key was used before: the first
    /// answer if it was this request (a retry may come after the expiry it asked for has
    /// passed), a conflict if it was another (as the batch, which claims the key first,
    /// answers); the error otherwise.
    pub(crate) async fn or_first_answer(
        &self,
        key: &ClientKey,
        hash: &str,
        result: Result<Outcome>,
    ) -> Result<Outcome> {
        match result {
            Err(e @ (Error::Invalid { .. } | Error::Domain(_) | Error::QuotaNotFound(_))) => {
                self.first_reservation(key, hash).await?.ok_or(e)
            }
            other => other,
        }
    }

    /// What is decided before a reservation is written (by the group commit's batch too,
    /// which never sees it): a quantity or a hold's end the ledger cannot take (an error), a
    /// day outside the quota's period (refused: nothing is held). Otherwise the hold's end
    /// the reservation is written with.
    pub(crate) async fn admit(
        &self,
        key: &ClientKey,
        params: &str,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Admitted> {
        check_whole("quantity", quantity)?;
        let expires_at = hold_until(self.clock.now(), expires_at)?;
        match self
            .hold_in_period(quota_id, self.clock.now(), expires_at)
            .await?
        {
            Ok(at) => Ok(Admitted::Queued(at)),
            Err(refusal) => self
                .refuse_reservation(key, params, quota_id, quantity, expires_at, actor, refusal)
                .await
                .map(|o| Admitted::Answered(Box::new(o))),
        }
    }

    /// [`Ledger::reserve`] of a request whose key's first use, if any, is not known yet.
    pub(super) async fn reserve_new(
        &self,
        key: &ClientKey,
        params: &str,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Outcome> {
        let expires_at = match self
            .admit(key, params, quota_id, quantity, expires_at, actor)
            .await?
        {
            Admitted::Queued(at) => at,
            Admitted::Answered(outcome) => return Ok(*outcome),
        };
        retry(|| async {
            let now = self.clock.now();
            if let Some(refusal) = self.outside_period_at(quota_id, now) {
                return self
                    .refuse_reservation(key, params, quota_id, quantity, expires_at, actor, refusal)
                    .await;
            }
            let fast = reserve_fast(
                &self.db, key, params, quota_id, quantity, expires_at, actor, now,
            )
            .await?;
            match fast {
                Some(outcome) => Ok(outcome),
                None => {
                    self.reserve_once(key, params, quota_id, quantity, expires_at, actor, now)
                        .await
                }
            }
        })
        .await
    }

    /// The quota's period and unit, read once (`None`: no such quota).
    pub(super) async fn fixed(&self, quota_id: i64) -> Result<Option<Fixed>> {
        if let Some(f) = self
            .fixed
            .lock()
            .ok()
            .and_then(|f| f.get(&quota_id).copied())
        {
            return Ok(Some(f));
        }
        let row: Option<(NaiveDate, NaiveDate, String)> = read_db!(&self.db, pool => sqlx::query_as(
            "SELECT period_start, period_end, unit FROM export_quotas WHERE id = $1")
            .bind(quota_id).fetch_optional(pool).await)?;
        let Some((period_start, period_end, unit)) = row else {
            return Ok(None);
        };
        let f = Fixed {
            period_start,
            period_end,
            unit: UnitCode::parse(&unit)?,
        };
        if let Ok(mut fixed) = self.fixed.lock() {
            fixed.insert(quota_id, f);
        }
        Ok(Some(f))
    }

    /// Why a reservation written at `now` would be refused for the quota's period, from the
    /// period read before ([`Ledger::hold_in_period`] reads it). The period is checked when a
    /// request arrives and again at the `now` its write carries: a retry or a queue may take
    /// it past the period's last midnight, and a hold dated after its period would be a
    /// reservation no permit can use. `None` when the quota was not read (it does not exist:
    /// the write answers that).
    pub(crate) fn outside_period_at(&self, quota_id: i64, now: DateTime<Utc>) -> Option<Refusal> {
        let f = self.fixed.lock().ok()?.get(&quota_id).copied()?;
        period_refusal(f.period_start, f.period_end, now)
    }

    /// The unit a quota counts in: what a quantity given without a unit is in.
    pub async fn quota_unit(&self, quota_id: i64) -> Result<UnitCode> {
        Ok(self
            .fixed(quota_id)
            .await?
            .ok_or(Error::QuotaNotFound(quota_id))?
            .unit)
    }

    /// The unit of the quota a reservation is against: what a quantity given without a unit
    /// is in when committing or exporting.
    pub async fn reservation_unit(&self, reservation_id: i64) -> Result<UnitCode> {
        let quota_id: Option<i64> = read_db!(&self.db, pool => sqlx::query_scalar(
            "SELECT quota_id FROM quota_reservations WHERE id = $1")
            .bind(reservation_id).fetch_optional(pool).await)?;
        self.quota_unit(quota_id.ok_or(Error::ReservationNotFound(reservation_id))?)
            .await
    }

    /// A reservation asked at `now` against the quota's period, read once: refused when the
    /// day (UTC) is outside it; otherwise its hold's end, brought back to the end of the period
    /// (midnight UTC after the last day) if it asked for later. No permit can be issued against
    /// the quota after that (a commit is refused), so a longer hold would only keep the quantity
    /// from the Scientific Authority's figures until it expired. No such quota: the hold as
    /// asked (the reservation path then answers).
    pub(crate) async fn hold_in_period(
        &self,
        quota_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<std::result::Result<DateTime<Utc>, Refusal>> {
        Ok(match self.fixed(quota_id).await? {
            None => Ok(expires_at),
            Some(f) => match period_refusal(f.period_start, f.period_end, now) {
                Some(refusal) => Err(refusal),
                None => Ok(expires_at.min(start_of_day(f.period_end))),
            },
        })
    }

    /// Refuses a reservation of `quantity` for `refusal`, found before the quota's counters
    /// were read (the day is outside the quota's period), and records the answer with the key
    /// so that it stays refused (or answers the key's first outcome). Nothing is held; the
    /// reservation is written rejected with its audit entry, as a refusal for lack of quota
    /// is: a Scientific Authority reviewing the quota sees the demand it turned away.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn refuse_reservation(
        &self,
        key: &ClientKey,
        params: &str,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: DateTime<Utc>,
        actor: &Actor,
        refusal: Refusal,
    ) -> Result<Outcome> {
        let unit = self.quota_unit(quota_id).await?;
        let requested = to_micro("quantity", quantity.convert_to(unit)?.amount())?;
        if requested == 0 {
            return Err(Error::Invalid {
                field: "quantity",
                message: "0 is not a quantity to reserve; accepted > 0".into(),
            });
        }
        retry(|| async {
            let now = self.clock.now();
            let mut tx = self.db.begin().await?;
            let outcome = match claim_key(&mut tx, key, params, now, parse_stored_outcome).await? {
                Some(stored) => resolve_stored(&mut tx, stored).await?,
                None => {
                    let quota = lock_quota(&mut tx, quota_id).await?;
                    let r = record_reservation(
                        &mut tx,
                        &quota,
                        requested,
                        expires_at,
                        Some(&refusal),
                        actor,
                        now,
                    )
                    .await?;
                    // Stored whole: the refusal cannot be told again from the counters, as a
                    // refusal for lack of quota is.
                    let outcome = Outcome::Refused {
                        refusal: refusal.clone(),
                        reservation: Some(r.view(&quota.unit)),
                        quota: quota.view(),
                    };
                    store_outcome(&mut tx, key, &outcome).await?;
                    outcome
                }
            };
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn reserve_once(
        &self,
        key: &ClientKey,
        params: &str,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: DateTime<Utc>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let mut tx = self.db.begin().await?;
        let outcome = reserve_in_tx(
            &mut tx, key, params, quota_id, quantity, expires_at, actor, now,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

/// One reservation inside an open transaction: validates, claims the key (returning the
/// first outcome of a repeated key), then the conditional UPDATE decides. Validation comes
/// before any write, so a refused input leaves nothing in the transaction (which a group
/// commit shares with other requests).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn reserve_in_tx(
    tx: &mut Tx,
    key: &ClientKey,
    params: &str,
    quota_id: i64,
    quantity: &Quantity,
    expires_at: DateTime<Utc>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let quota = load_quota(tx, quota_id).await?;
    let unit = UnitCode::parse(&quota.unit)?;
    let requested = to_micro("quantity", quantity.convert_to(unit)?.amount())?;
    if requested == 0 {
        return Err(Error::Invalid {
            field: "quantity",
            message: "0 is not a quantity to reserve; accepted > 0".into(),
        });
    }
    if let Some(stored) = claim_key(tx, key, params, now, parse_stored_outcome).await? {
        return resolve_stored(tx, stored).await;
    }
    // The one statement that decides: it re-checks availability under the row lock.
    let updated: Option<QuotaRow> = with_tx!(tx, c => sqlx::query_as(concat!(
        "UPDATE export_quotas SET held_micro = held_micro + $2 WHERE id = $1 \
         AND limit_micro IS NOT NULL \
         AND limit_micro - held_micro - committed_micro - exported_micro >= $2 RETURNING ",
        quota_columns!()))
        .bind(quota_id).bind(requested).fetch_optional(c).await)?;
    let (quota, refusal) = match updated {
        Some(quota) => (quota, None),
        None => {
            // Read again: what is available now, not when the request started. Locked like
            // an UPDATE would, so the refusal's audit entry, like every other of this quota,
            // takes its sequence number under the quota's row lock and becomes visible in
            // sequence order: a reader who has seen entry s has seen all before it.
            let quota = lock_quota(tx, quota_id).await?;
            if quota.limit_micro.is_some() && quota.available_micro() >= requested {
                // On PostgreSQL a release committed between the UPDATE and the lock: a refusal
                // now would contradict the audit entries before it. Under the lock the same
                // UPDATE cannot miss.
                let updated: Option<QuotaRow> = with_tx!(tx, c => sqlx::query_as(concat!(
                    "UPDATE export_quotas SET held_micro = held_micro + $2 WHERE id = $1 RETURNING ",
                    quota_columns!()))
                    .bind(quota_id).bind(requested).fetch_optional(c).await)?;
                (updated.ok_or(Error::QuotaNotFound(quota_id))?, None)
            } else {
                let refusal = refusal_for(&quota, requested);
                (quota, Some(refusal))
            }
        }
    };
    let r = record_reservation(
        tx,
        &quota,
        requested,
        expires_at,
        refusal.as_ref(),
        actor,
        now,
    )
    .await?;
    store_raw_outcome(tx, key, stored_ref(r.id, &quota)).await?;
    Ok(reservation_outcome(&quota, &r))
}

/// A reservation request as [`Ledger::admit`] leaves it.
pub(crate) enum Admitted {
    /// To be written, holding until this instant.
    Queued(DateTime<Utc>),
    /// Answered without a write of its own.
    Answered(Box<Outcome>),
}
