//! A reservation that holds several quotas at once: a permit under nested quotas (a genus quota
//! and a species quota inside it) counts against every quota that applies. One reservation row
//! per quota, all naming the first (`linked_to`), written in one transaction that locks the
//! quotas in id order; refused whole when any one quota refuses. Every transition of a member
//! moves every member (`transition`), and the sweeper expires or closes them together.

use chrono::{DateTime, Utc};
use db::{Tx, with_tx};
use domain::{Clock, Quantity, UnitCode};

use super::{
    LINKED_QUOTAS_MAX, Ledger,
    audit::record_reservation,
    decide::{hold_until, refusal_for, start_of_day},
    idempotency::{claim_key, parse_stored, store_outcome},
    retry::retry,
    rows::{QuotaRow, ReservationRow, lock_quota, move_counters},
};
use crate::amount::to_micro;
use crate::error::{Error, Result};
use crate::model::{Actor, ClientKey, LinkedOutcome, Outcome, Refusal};

impl Ledger {
    /// [`Ledger::reserve_linked`] of two quotas or more.
    pub(super) async fn reserve_several(
        &self,
        key: &ClientKey,
        quota_ids: &[i64],
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<LinkedOutcome> {
        let ids = linked_ids(quota_ids)?;
        crate::model::check_whole("quantity", quantity)?;
        let params = linked_params(&ids, quantity, expires_at);
        retry(|| self.reserve_several_once(key, &params, &ids, quantity, expires_at, actor)).await
    }

    async fn reserve_several_once(
        &self,
        key: &ClientKey,
        params: &str,
        ids: &[i64],
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<LinkedOutcome> {
        let mut tx = self.db.begin().await?;
        let now = self.clock.now();
        if let Some(first) = claim_key(&mut tx, key, params, now, parse_stored).await? {
            tx.rollback().await?;
            return Ok(first);
        }
        // After the key: a retry may come after the expiry it asked for has passed.
        let expires_at = hold_until(now, expires_at)?;
        // In id order, as every path that locks several quotas does: no deadlock.
        let mut quotas = Vec::with_capacity(ids.len());
        for id in ids {
            quotas.push(lock_quota(&mut tx, *id).await?);
        }
        let requested = amounts_of(&quotas, quantity)?;
        // The hold ends with the first period to end, so that every member ends together.
        let hold_end = (quotas.iter()).fold(expires_at, |e, q| e.min(start_of_day(q.period_end)));
        let outcome = match first_refusal(&quotas, &requested, now) {
            Some((at, refusal)) => {
                refuse(
                    &mut tx,
                    &quotas,
                    at,
                    requested[at],
                    hold_end,
                    refusal,
                    actor,
                    now,
                )
                .await?
            }
            None => hold_all(&mut tx, &quotas, &requested, hold_end, actor, now).await?,
        };
        store_outcome(&mut tx, key, &outcome).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

/// The quotas of a linked reservation in id order: at least one, each once, at most
/// [`LINKED_QUOTAS_MAX`].
pub(super) fn linked_ids(quota_ids: &[i64]) -> Result<Vec<i64>> {
    let mut ids = quota_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() != quota_ids.len() || ids.len() > LINKED_QUOTAS_MAX {
        return Err(Error::Invalid {
            field: "quota_ids",
            message: format!(
                "{quota_ids:?}: accepted 1 to {LINKED_QUOTAS_MAX} quota ids, each once"
            ),
        });
    }
    Ok(ids)
}

/// The parameters of a linked reservation as they identify it for idempotency (the quotas in
/// id order, the expiry as the client sent it).
pub(super) fn linked_params(
    ids: &[i64],
    quantity: &Quantity,
    requested_expiry: Option<DateTime<Utc>>,
) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!(
        "reserve-linked|{}|{}|{}|{:?}",
        ids.join(","),
        quantity.amount().normalize(),
        quantity.unit().code(),
        requested_expiry.map(|e| e.timestamp_millis())
    )
}

/// `quantity` in each quota's unit, in millionths; more than zero.
fn amounts_of(quotas: &[QuotaRow], quantity: &Quantity) -> Result<Vec<i64>> {
    let mut amounts = Vec::with_capacity(quotas.len());
    for q in quotas {
        let unit = UnitCode::parse(&q.unit)?;
        let micro = to_micro("quantity", quantity.convert_to(unit)?.amount())?;
        if micro == 0 {
            return Err(Error::Invalid {
                field: "quantity",
                message: "0 is not a quantity to reserve; accepted > 0".into(),
            });
        }
        amounts.push(micro);
    }
    Ok(amounts)
}

/// The first quota (in id order) that refuses its amount at `now`, and why: outside its
/// period, or unable to hold it.
pub(super) fn first_refusal(
    quotas: &[QuotaRow],
    requested: &[i64],
    now: DateTime<Utc>,
) -> Option<(usize, Refusal)> {
    quotas
        .iter()
        .zip(requested)
        .enumerate()
        .find_map(|(at, (q, r))| {
            let refusal = q.outside_period(now).or_else(|| {
                (q.limit_micro.is_none() || q.available_micro() < *r).then(|| refusal_for(q, *r))
            });
            refusal.map(|refusal| (at, refusal))
        })
}

/// Holds every amount: the counters of each quota move, a held reservation per quota is
/// written with its audit entry, and the reservations are linked to the first.
async fn hold_all(
    tx: &mut Tx,
    quotas: &[QuotaRow],
    requested: &[i64],
    hold_end: DateTime<Utc>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<LinkedOutcome> {
    let mut after = Vec::with_capacity(quotas.len());
    let mut held: Vec<ReservationRow> = Vec::with_capacity(quotas.len());
    for (q, r) in quotas.iter().zip(requested) {
        // Under the quota's row lock, with the room checked: the CHECK constraint says it again.
        let q = move_counters(tx, q.id, (*r, 0, 0)).await?;
        let row = record_reservation(tx, &q, *r, hold_end, None, actor, now).await?;
        after.push(q);
        held.push(row);
    }
    link(tx, &held).await?;
    Ok(LinkedOutcome::Done {
        reservations: (held.iter().zip(&after))
            .map(|(r, q)| r.view(&q.unit))
            .collect(),
        quotas: after.iter().map(QuotaRow::view).collect(),
    })
}

/// Links `rows` to the first of them (its own `linked_to` included).
async fn link(tx: &mut Tx, rows: &[ReservationRow]) -> Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    with_tx!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new("UPDATE quota_reservations SET linked_to = ");
        qb.push_bind(first.id).push(" WHERE id IN (");
        let mut list = qb.separated(", ");
        for r in rows {
            list.push_bind(r.id);
        }
        qb.push(")");
        qb.build().execute(&mut *c).await.map(|_| ())
    })?;
    Ok(())
}

/// Refuses the whole reservation for `refusal` of quota `at`: nothing is held anywhere; the
/// refusing quota keeps the demand it turned away (a rejected reservation and its audit entry),
/// as a refusal of one quota does.
#[allow(clippy::too_many_arguments)]
async fn refuse(
    tx: &mut Tx,
    quotas: &[QuotaRow],
    at: usize,
    requested: i64,
    hold_end: DateTime<Utc>,
    refusal: Refusal,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<LinkedOutcome> {
    let q = &quotas[at];
    let row = record_reservation(tx, q, requested, hold_end, Some(&refusal), actor, now).await?;
    Ok(LinkedOutcome::Refused {
        quota_id: q.id,
        refusal,
        reservation: Some(row.view(&q.unit)),
        quotas: quotas.iter().map(QuotaRow::view).collect(),
    })
}

impl From<Outcome> for LinkedOutcome {
    /// The answer of a reservation of one quota, as a linked reservation answers.
    fn from(outcome: Outcome) -> LinkedOutcome {
        match outcome {
            Outcome::Done { reservation, quota } => LinkedOutcome::Done {
                reservations: vec![reservation],
                quotas: vec![quota],
            },
            Outcome::Refused {
                refusal,
                reservation,
                quota,
            } => LinkedOutcome::Refused {
                quota_id: quota.id,
                refusal,
                reservation,
                quotas: vec![quota],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::decide::tests::{at, qty, quota};

    #[test]
    fn the_quotas_of_a_linked_reservation_are_in_id_order_each_once() {
        assert_eq!(linked_ids(&[9, 3, 5]).unwrap(), [3, 5, 9]);
        assert_eq!(linked_ids(&[]).unwrap_err().field(), Some("quota_ids"));
        assert_eq!(linked_ids(&[3, 3]).unwrap_err().field(), Some("quota_ids"));
        let many: Vec<i64> = (1..=LINKED_QUOTAS_MAX as i64 + 1).collect();
        assert!(linked_ids(&many).is_err());
        assert!(linked_ids(&many[1..]).is_ok());
        assert_eq!(
            linked_params(&[3, 9], &qty("2.0", "NAR"), None),
            "reserve-linked|3,9|2|NAR|None"
        );
    }

    #[test]
    fn the_first_quota_to_refuse_is_named_with_its_figures() {
        let now = at(2026, 3, 1, 9);
        let outer = QuotaRow {
            id: 1,
            ..quota(Some(5_000_000), 4_000_000, 0, 0)
        };
        let inner = QuotaRow {
            id: 2,
            ..quota(Some(2_000_000), 0, 0, 0)
        };
        let both = [outer.clone(), inner.clone()];
        assert_eq!(first_refusal(&both, &[1_000_000, 1_000_000], now), None);
        assert_eq!(
            first_refusal(&both, &[2_000_000, 2_000_000], now),
            Some((
                0,
                Refusal::QuotaExhausted {
                    requested: 2.into(),
                    available: 1.into(),
                    unit: Some("NAR".into()),
                }
            ))
        );
        let roomy = QuotaRow {
            held_micro: 0,
            ..outer
        };
        assert!(matches!(
            first_refusal(
                &[roomy.clone(), inner.clone()],
                &[3_000_000, 3_000_000],
                now
            ),
            Some((1, Refusal::QuotaExhausted { .. }))
        ));
        let preparing = QuotaRow {
            limit_micro: None,
            ..inner
        };
        assert_eq!(
            first_refusal(&[roomy.clone(), preparing], &[1, 1], now),
            Some((1, Refusal::QuotaInPreparation))
        );
        assert!(matches!(
            first_refusal(&[roomy], &[1], at(2027, 1, 1, 0)),
            Some((0, Refusal::OutsidePeriod { .. }))
        ));
    }
}
