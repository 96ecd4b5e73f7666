//! Commit, release, export and close of a reservation: claim the key, lock the reservation,
//! check, write, or refuse through one path that audits the refusal.

use chrono::{DateTime, Utc};
use db::{Tx, with_tx};
use domain::{Clock, Quantity, UnitCode};

use super::{
    Ledger,
    audit::{append_refusal, settle},
    decide::permit_until,
    idempotency::{claim_key, parse_stored_transition, store_outcome},
    rows::{QuotaRow, ReservationRow, load_quota, load_reservation, lock_quota, set_state},
};
use crate::amount::{from_micro, to_micro};
use crate::error::{Error, Result};
use crate::model::{Actor, ClientKey, Outcome, Refusal, ReservationState};

#[derive(Clone, Copy)]
pub(super) enum Transition<'a> {
    Commit(Option<&'a Quantity>, Option<DateTime<Utc>>),
    Release,
    Export(&'a Quantity),
    Close,
}

impl Transition<'_> {
    /// The audit ledger's event for a refusal of this transition.
    pub(super) fn refused_event(self) -> &'static str {
        match self {
            Transition::Commit(..) => "commit_refused",
            Transition::Release => "release_refused",
            Transition::Export(_) => "export_refused",
            Transition::Close => "close_refused",
        }
    }

    /// The state a reservation must be in for this transition.
    pub(super) fn expected(self) -> ReservationState {
        match self {
            Transition::Commit(..) | Transition::Release => ReservationState::Held,
            Transition::Export(_) | Transition::Close => ReservationState::Committed,
        }
    }

    /// What was asked, in `unit`, for the audit entry of a refusal (none when no quantity was
    /// given: a release, a close, a commit of the whole hold). A quantity that cannot be
    /// converted is an error only where the transition needs it, after the state check.
    pub(super) fn asked_in(self, unit: UnitCode) -> Option<i64> {
        match self {
            Transition::Commit(Some(q), _) | Transition::Export(q) => q
                .convert_to(unit)
                .ok()
                .and_then(|q| to_micro("quantity", q.amount()).ok()),
            Transition::Commit(None, _) | Transition::Release | Transition::Close => None,
        }
    }
}

/// A reservation a transition moves, with its quota as read once the reservation is locked.
pub(super) struct Member {
    pub(super) r: ReservationRow,
    pub(super) quota: QuotaRow,
    pub(super) unit: UnitCode,
}

/// Where a transition's checks and writes came to.
enum Step {
    /// Every member moved: their answers, in member order.
    Done(Vec<Outcome>),
    /// Refused as `current` stands (member `at`'s reservation, read again if it changed):
    /// nothing was written.
    Refused {
        refusal: Refusal,
        current: ReservationRow,
        at: usize,
    },
}

impl Ledger {
    pub(super) async fn transition_once(
        &self,
        key: &ClientKey,
        params: &str,
        reservation_id: i64,
        transition: Transition<'_>,
        actor: &Actor,
    ) -> Result<Outcome> {
        let mut tx = self.db.begin().await?;
        // Read once the transaction holds what it waited for (a pooled connection; SQLite's
        // write lock).
        let now = self.clock.now();
        if let Some(stored) = claim_key(&mut tx, key, params, now, parse_stored_transition).await? {
            let first = stored.answer(&mut tx).await;
            tx.rollback().await?;
            return first;
        }
        let (members, asked) = lock_members(&mut tx, reservation_id).await?;
        // Again, after any wait for that lock: the expiry, period and validity checks and the
        // audit entry's time are those of the write.
        let now = self.clock.now();
        let step = match wrong_state(&members, transition.expected()) {
            Some(refused) => refused,
            None => match transition {
                Transition::Commit(quantity, permit_expires_at) => {
                    commit(&mut tx, &members, quantity, permit_expires_at, actor, now).await?
                }
                Transition::Release => release(&mut tx, &members, actor, now).await?,
                Transition::Export(quantity) => {
                    export(&mut tx, &members, quantity, actor, now).await?
                }
                Transition::Close => close(&mut tx, &members, actor, now).await?,
            },
        };
        let outcome = match step {
            Step::Done(mut done) if asked < done.len() => done.swap_remove(asked),
            Step::Done(_) => {
                return Err(Error::Invalid {
                    field: "reservation_id",
                    message: format!("the transition did not move reservation {reservation_id}"),
                });
            }
            Step::Refused {
                refusal,
                current,
                at,
            } => {
                refuse_and_audit(
                    &mut tx, &members, at, &current, refusal, transition, actor, now,
                )
                .await?
            }
        };
        store_outcome(&mut tx, key, &outcome).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

/// The reservations a transition moves: the one asked for and, when it is linked, every other
/// member of its linked reservation, in id order (the order every path locks several in), with
/// the index of the one asked for. Locked (PostgreSQL; SQLite's write transaction excludes
/// every other writer) before their quotas are read: a refusal decided from them cannot
/// contradict a change committed meanwhile, which its audit entry, written after, would
/// otherwise follow in the quota's history. A reservation's link never changes, so the
/// statement finds the members before it locks them.
async fn lock_members(tx: &mut Tx, reservation_id: i64) -> Result<(Vec<Member>, usize)> {
    let sql = match tx {
        Tx::Sqlite(_) => concat!(
            "SELECT ",
            reservation_columns!(),
            " FROM quota_reservations WHERE id = $1 \
             OR linked_to = (SELECT linked_to FROM quota_reservations WHERE id = $1) ORDER BY id"
        ),
        Tx::Postgres(_) => concat!(
            "SELECT ",
            reservation_columns!(),
            " FROM quota_reservations WHERE id = $1 \
             OR linked_to = (SELECT linked_to FROM quota_reservations WHERE id = $1) ORDER BY id \
             FOR NO KEY UPDATE"
        ),
    };
    let rows: Vec<ReservationRow> =
        with_tx!(tx, c => sqlx::query_as(sql).bind(reservation_id).fetch_all(c).await)?;
    let asked = (rows.iter().position(|r| r.id == reservation_id))
        .ok_or(Error::ReservationNotFound(reservation_id))?;
    let mut members = Vec::with_capacity(rows.len());
    for r in rows {
        let quota = load_quota(tx, r.quota_id).await?;
        let unit = UnitCode::parse(&quota.unit)?;
        members.push(Member { r, quota, unit });
    }
    Ok((members, asked))
}

/// A member after the first that its conditional UPDATE did not change. Every member is
/// locked, so this cannot follow from another writer; the transaction is dropped, with the
/// members moved before it, rather than refused half-moved.
fn moved_while_locked(at: usize, m: &Member) -> Result<()> {
    if at == 0 {
        return Ok(());
    }
    Err(Error::Invalid {
        field: "reservation_id",
        message: format!(
            "reservation {} changed while its transition held it; nothing was written",
            m.r.id
        ),
    })
}

/// The refusal of a reservation not (or no longer, after a racing change) in the state the
/// transition starts from.
fn wrong_state_of(current: ReservationRow, expected: ReservationState, at: usize) -> Step {
    Step::Refused {
        refusal: Refusal::WrongState {
            state: current.state(),
            expected,
        },
        current,
        at,
    }
}

/// The first member not in the state `expected`, refused.
fn wrong_state(members: &[Member], expected: ReservationState) -> Option<Step> {
    let (at, m) = (members.iter().enumerate()).find(|(_, m)| m.r.state() != expected)?;
    Some(wrong_state_of(m.r.clone(), expected, at))
}

/// Why a held reservation `r` of `quota` cannot become a permit for `c` (millionths) at
/// `now`. A permit counts against the quota of the 12 months it is issued in: a hold from
/// last year's quota cannot become this year's permit. Said first: such a hold has also
/// expired (holds end with their period), but the period is why.
pub(super) fn commit_refusal(
    quota: &QuotaRow,
    r: &ReservationRow,
    c: i64,
    now: DateTime<Utc>,
) -> Option<Refusal> {
    if let Some(refusal) = quota.outside_period(now) {
        Some(refusal)
    } else if r.expires_at <= now {
        Some(Refusal::ReservationExpired {
            expired_at: r.expires_at,
        })
    } else if c > r.quantity_micro {
        Some(Refusal::ExceedsReservation {
            requested: from_micro(c),
            allowed: from_micro(r.quantity_micro),
            unit: Some(quota.unit.clone()),
        })
    } else {
        None
    }
}

/// Why a committed permit `r` of `quota` cannot record an export of `e` (millionths) at
/// `now`.
pub(super) fn export_refusal(
    quota: &QuotaRow,
    r: &ReservationRow,
    e: i64,
    now: DateTime<Utc>,
) -> Option<Refusal> {
    let open = r.committed_micro - r.exported_micro;
    if let Some(expired_at) = r.permit_expires_at.filter(|at| *at <= now) {
        Some(Refusal::PermitExpired { expired_at })
    } else if e > open {
        Some(Refusal::ExceedsReservation {
            requested: from_micro(e),
            allowed: from_micro(open),
            unit: Some(quota.unit.clone()),
        })
    } else {
        None
    }
}

/// `quantity` in each member's unit, in millionths (the member's whole hold when `None`).
fn amounts(members: &[Member], quantity: Option<&Quantity>) -> Result<Vec<i64>> {
    (members.iter())
        .map(|m| match quantity {
            Some(q) => to_micro("quantity", q.convert_to(m.unit)?.amount()),
            None => Ok(m.r.quantity_micro),
        })
        .collect()
}

/// The members' reservations turned into a permit.
async fn commit(
    tx: &mut Tx,
    members: &[Member],
    quantity: Option<&Quantity>,
    permit_expires_at: Option<DateTime<Utc>>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Step> {
    let amounts = amounts(members, quantity)?;
    if amounts.contains(&0) {
        return Err(Error::Invalid {
            field: "quantity",
            message: "0 cannot be committed; release the reservation instead".into(),
        });
    }
    let permit_expires_at = permit_until(now, permit_expires_at)?;
    for (at, (m, c)) in members.iter().zip(&amounts).enumerate() {
        if let Some(refusal) = commit_refusal(&m.quota, &m.r, *c, now) {
            return Ok(refused(refusal, m, at));
        }
    }
    let mut done = Vec::with_capacity(members.len());
    for (at, (m, c)) in members.iter().zip(&amounts).enumerate() {
        // Conditional on the state and the expiry, so a commit racing the sweeper (or another
        // commit) changes the reservation at most once.
        let changed: Option<ReservationRow> = with_tx!(tx, conn => sqlx::query_as(concat!(
            "UPDATE quota_reservations SET state = 'committed', committed_micro = $2, \
             permit_expires_at = $3 WHERE id = $1 AND state = 'held' AND expires_at > $4 \
             RETURNING ", reservation_columns!()))
            .bind(m.r.id).bind(*c).bind(permit_expires_at).bind(now).fetch_optional(conn).await)?;
        let Some(changed) = changed else {
            moved_while_locked(at, m)?;
            let again = load_reservation(tx, m.r.id).await?;
            return Ok(wrong_state_of(again, ReservationState::Held, at));
        };
        let delta = (-m.r.quantity_micro, *c, 0);
        done.push(settle(tx, m.quota.id, &changed, "commit", delta, actor, now).await?);
    }
    Ok(Step::Done(done))
}

/// The members' holds cancelled.
async fn release(
    tx: &mut Tx,
    members: &[Member],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Step> {
    let mut done = Vec::with_capacity(members.len());
    for (at, m) in members.iter().enumerate() {
        let Some(changed) = set_state(tx, m.r.id, "held", "released").await? else {
            moved_while_locked(at, m)?;
            let again = load_reservation(tx, m.r.id).await?;
            return Ok(wrong_state_of(again, ReservationState::Held, at));
        };
        let delta = (-m.r.quantity_micro, 0, 0);
        done.push(settle(tx, m.quota.id, &changed, "release", delta, actor, now).await?);
    }
    Ok(Step::Done(done))
}

/// An export recorded under the members' permits.
async fn export(
    tx: &mut Tx,
    members: &[Member],
    quantity: &Quantity,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Step> {
    let amounts = amounts(members, Some(quantity))?;
    if amounts.contains(&0) {
        return Err(Error::Invalid {
            field: "quantity",
            message: "0 is not an export; accepted > 0".into(),
        });
    }
    for (at, (m, e)) in members.iter().zip(&amounts).enumerate() {
        if let Some(refusal) = export_refusal(&m.quota, &m.r, *e, now) {
            return Ok(refused(refusal, m, at));
        }
    }
    let mut done = Vec::with_capacity(members.len());
    for (at, (m, e)) in members.iter().zip(&amounts).enumerate() {
        let changed: Option<ReservationRow> = with_tx!(tx, conn => sqlx::query_as(concat!(
            "UPDATE quota_reservations SET exported_micro = exported_micro + $2 \
             WHERE id = $1 AND state = 'committed' AND committed_micro - exported_micro >= $2 \
             RETURNING ", reservation_columns!()))
            .bind(m.r.id).bind(*e).fetch_optional(conn).await)?;
        let Some(changed) = changed else {
            moved_while_locked(at, m)?;
            // Changed since it was read (closed, or exported meanwhile; a permit's validity
            // never changes): the answer says what stopped it now.
            let again = load_reservation(tx, m.r.id).await?;
            if again.state() != ReservationState::Committed {
                return Ok(wrong_state_of(again, ReservationState::Committed, at));
            }
            let refusal = Refusal::ExceedsReservation {
                requested: from_micro(*e),
                allowed: from_micro(again.committed_micro - again.exported_micro),
                unit: Some(m.quota.unit.clone()),
            };
            return Ok(Step::Refused {
                refusal,
                current: again,
                at,
            });
        };
        done.push(settle(tx, m.quota.id, &changed, "export", (0, -e, *e), actor, now).await?);
    }
    Ok(Step::Done(done))
}

/// The members' permits closed: what they did not export returns to their quotas.
async fn close(tx: &mut Tx, members: &[Member], actor: &Actor, now: DateTime<Utc>) -> Result<Step> {
    let mut done = Vec::with_capacity(members.len());
    for (at, m) in members.iter().enumerate() {
        let Some(changed) = set_state(tx, m.r.id, "committed", "closed").await? else {
            moved_while_locked(at, m)?;
            let again = load_reservation(tx, m.r.id).await?;
            return Ok(wrong_state_of(again, ReservationState::Committed, at));
        };
        let delta = (0, -(changed.committed_micro - changed.exported_micro), 0);
        done.push(settle(tx, m.quota.id, &changed, "close", delta, actor, now).await?);
    }
    Ok(Step::Done(done))
}

fn refused(refusal: Refusal, m: &Member, at: usize) -> Step {
    Step::Refused {
        refusal,
        current: m.r.clone(),
        at,
    }
}

/// The one path of every refused transition. A refusal changes nothing, but it is audited:
/// an attempt to export more than a permit allows, or to use a permit twice, is what an
/// enforcement officer looks for. Each entry is written under its quota's row lock, as every
/// entry of a quota's history; the answer shows member `at`'s quota as it stands there, with
/// `current`.
#[allow(clippy::too_many_arguments)]
async fn refuse_and_audit(
    tx: &mut Tx,
    members: &[Member],
    at: usize,
    current: &ReservationRow,
    refusal: Refusal,
    transition: Transition<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let mut locked = Vec::with_capacity(members.len());
    for m in members {
        let quota = lock_quota(tx, m.r.quota_id).await?;
        let asked = transition.asked_in(m.unit).filter(|a| *a > 0);
        let event = transition.refused_event();
        append_refusal(tx, &quota, m.r.id, event, asked, &refusal, actor, now).await?;
        locked.push(quota);
    }
    let quota = locked.swap_remove(at);
    Ok(Outcome::Refused {
        reservation: Some(current.view(&quota.unit)),
        quota: quota.view(),
        refusal,
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::ledger::decide::tests::{at, qty, quota};
    use crate::ledger::held_row;

    #[test]
    fn a_commit_is_refused_for_the_period_first_then_the_expiry_then_the_quantity() {
        let q = quota(Some(5_000_000), 2_000_000, 0, 0);
        let r = held_row(1, 7, 2_000_000, at(2026, 6, 1, 0));
        assert_eq!(commit_refusal(&q, &r, 2_000_000, at(2026, 5, 1, 0)), None);
        assert_eq!(commit_refusal(&q, &r, 1_000_000, at(2026, 5, 1, 0)), None);
        assert_eq!(
            commit_refusal(&q, &r, 3_000_000, at(2026, 5, 1, 0)),
            Some(Refusal::ExceedsReservation {
                requested: Decimal::from(3),
                allowed: Decimal::from(2),
                unit: Some("NAR".into()),
            })
        );
        // At its expiry exactly, the hold is gone.
        assert_eq!(
            commit_refusal(&q, &r, 3_000_000, at(2026, 6, 1, 0)),
            Some(Refusal::ReservationExpired {
                expired_at: at(2026, 6, 1, 0)
            })
        );
        // Outside the period the hold has expired too, but the period is why.
        assert!(matches!(
            commit_refusal(&q, &r, 3_000_000, at(2027, 1, 1, 0)),
            Some(Refusal::OutsidePeriod { .. })
        ));
    }

    #[test]
    fn an_export_is_refused_on_an_expired_permit_then_beyond_what_is_open() {
        let q = quota(Some(5_000_000), 0, 3_000_000, 1_000_000);
        let mut r = held_row(1, 7, 4_000_000, at(2026, 6, 1, 0));
        r.state = "committed".into();
        r.committed_micro = 4_000_000;
        r.exported_micro = 1_000_000;
        r.permit_expires_at = Some(at(2026, 9, 1, 0));
        assert_eq!(export_refusal(&q, &r, 3_000_000, at(2026, 8, 1, 0)), None);
        assert_eq!(
            export_refusal(&q, &r, 3_000_001, at(2026, 8, 1, 0)),
            Some(Refusal::ExceedsReservation {
                requested: Decimal::new(3_000_001, 6),
                allowed: Decimal::from(3),
                unit: Some("NAR".into()),
            })
        );
        assert_eq!(
            export_refusal(&q, &r, 1, at(2026, 9, 1, 0)),
            Some(Refusal::PermitExpired {
                expired_at: at(2026, 9, 1, 0)
            })
        );
    }

    #[test]
    fn a_refusal_is_audited_with_what_was_asked_in_the_quota_unit() {
        let kgm = UnitCode::parse("KGM").unwrap();
        let grams = qty("1500", "GRM");
        assert_eq!(Transition::Export(&grams).asked_in(kgm), Some(1_500_000));
        assert_eq!(
            Transition::Commit(Some(&grams), None).asked_in(kgm),
            Some(1_500_000)
        );
        // Nothing given, or nothing convertible: no figure.
        assert_eq!(Transition::Commit(None, None).asked_in(kgm), None);
        assert_eq!(Transition::Release.asked_in(kgm), None);
        assert_eq!(Transition::Export(&qty("2", "NAR")).asked_in(kgm), None);
        assert_eq!(Transition::Close.refused_event(), "close_refused");
        assert_eq!(Transition::Close.expected(), ReservationState::Committed);
        assert_eq!(Transition::Release.expected(), ReservationState::Held);
    }
}
