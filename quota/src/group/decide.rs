//! A batch decided in memory.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{Quantity, UnitCode};

use crate::amount::to_micro;
use crate::error::{Error, Result};
use crate::ledger::{QuotaRow, ReservationRow, held_row, refusal_for};
use crate::model::{Actor, ClientKey, Outcome, Refusal};

/// One reservation request of a group-commit batch.
pub(crate) struct BatchItem<'a> {
    pub(crate) key: &'a ClientKey,
    pub(crate) quota_id: i64,
    pub(crate) quantity: &'a Quantity,
    /// [`ledger::params_hash`](crate::ledger::params_hash) of
    /// [`ledger::reserve_params`](crate::ledger::reserve_params).
    pub(crate) params_hash: &'a str,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) actor: &'a Actor,
}

/// The quotas a batch decides against, by id, as they stand after it.
pub(crate) type QuotaRows = HashMap<i64, QuotaRow>;

/// What the batch decided for one item before anything is written.
pub(super) enum Decided {
    /// A validation error or a key conflict: nothing written for it.
    Failed(Error),
    /// The first outcome of a key used before (stored, or earlier in this batch).
    Stored(Outcome),
    SameAs(usize),
    New(NewItem),
}

/// A batch item that writes a reservation: held, or rejected with its refusal.
pub(super) struct NewItem {
    pub(super) quota_id: i64,
    /// In millionths of the quota's unit.
    pub(super) requested: i64,
    /// `None` when granted.
    pub(super) refusal: Option<Refusal>,
    /// The quota's counters just after this item.
    pub(super) quota_after: QuotaRow,
    pub(super) hash: String,
}

impl NewItem {
    pub(super) fn granted(&self) -> bool {
        self.refusal.is_none()
    }

    pub(super) fn state(&self) -> &'static str {
        if self.granted() { "held" } else { "rejected" }
    }

    /// The audit entry's event and the hold it adds.
    pub(super) fn ledger_entry(&self) -> (&'static str, i64) {
        if self.granted() {
            ("reserve", self.requested)
        } else {
            ("reject", 0)
        }
    }

    /// The reservation as written under `id`.
    pub(super) fn row(&self, id: i64, item: &BatchItem<'_>) -> ReservationRow {
        let mut row = held_row(id, self.quota_id, self.requested, item.expires_at);
        if let Some(refusal) = &self.refusal {
            row.state = "rejected".into();
            row.reject_reason = Some(refusal.message());
        }
        row
    }
}

/// A key found in `quota_requests` by a batch.
pub(super) struct UsedKey {
    pub(super) operation: String,
    pub(super) hash: String,
    /// Its first outcome when it reserved (an error's text otherwise).
    pub(super) outcome: std::result::Result<Outcome, String>,
}

/// Decides every item of a batch in queue order against `quotas`, which it moves as it
/// grants: the replays of keys `used` before, in-batch repeats, validation failures, grants
/// and refusals. Pure: nothing is written.
pub(super) fn decide(
    items: &[BatchItem<'_>],
    quotas: &mut QuotaRows,
    used: &HashMap<String, UsedKey>,
) -> Vec<Decided> {
    let mut decided: Vec<Decided> = Vec::with_capacity(items.len());
    let mut first_in_batch: HashMap<&str, (usize, &str)> = HashMap::new();
    for (idx, item) in items.iter().enumerate() {
        let hash = item.params_hash;
        if let Some(k) = used.get(item.key.as_str()) {
            decided.push(if k.hash != hash {
                Decided::Failed(Error::KeyConflict {
                    key: item.key.client_part().to_owned(),
                    first: k.operation.clone(),
                })
            } else {
                match &k.outcome {
                    Ok(o) => Decided::Stored(o.clone()),
                    Err(e) => Decided::Failed(Error::Invalid {
                        field: "client_key",
                        message: format!("the stored outcome of this key cannot be read: {e}"),
                    }),
                }
            });
            continue;
        }
        if let Some((first, first_hash)) = first_in_batch.get(item.key.as_str()) {
            decided.push(if *first_hash != hash {
                Decided::Failed(Error::KeyConflict {
                    key: item.key.client_part().to_owned(),
                    first: "reserve".into(),
                })
            } else {
                Decided::SameAs(*first)
            });
            continue;
        }
        let Some(quota) = quotas.get_mut(&item.quota_id) else {
            decided.push(Decided::Failed(Error::QuotaNotFound(item.quota_id)));
            continue;
        };
        let requested = match UnitCode::parse(&quota.unit)
            .map_err(Error::from)
            .and_then(|unit| Ok(item.quantity.convert_to(unit)?))
            .and_then(|q| to_micro("quantity", q.amount()))
        {
            Ok(0) => {
                decided.push(Decided::Failed(Error::Invalid {
                    field: "quantity",
                    message: "0 is not a quantity to reserve; accepted > 0".into(),
                }));
                continue;
            }
            Ok(n) => n,
            Err(e) => {
                decided.push(Decided::Failed(e));
                continue;
            }
        };
        let refusal = if quota.limit_micro.is_some() && quota.available_micro() >= requested {
            quota.held_micro += requested;
            None
        } else {
            Some(refusal_for(quota, requested))
        };
        first_in_batch.insert(item.key.as_str(), (idx, hash));
        decided.push(Decided::New(NewItem {
            quota_id: item.quota_id,
            requested,
            refusal,
            quota_after: quota.clone(),
            hash: hash.to_owned(),
        }));
    }
    decided
}

/// Every item's answer from what was decided and the reservations written (PostgreSQL).
pub(super) fn answers(
    decided: Vec<Decided>,
    written: HashMap<usize, Outcome>,
) -> Vec<Result<Outcome>> {
    let outcomes = decided
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Decided::Stored(o) => Some(Ok(o.clone())),
            Decided::New(_) => written.get(&i).cloned().map(Ok),
            Decided::Failed(_) | Decided::SameAs(_) => None,
        })
        .collect();
    assemble(decided, outcomes)
}

/// Every item's answer: its own outcome, a failure, or (an in-batch repeat of a key) the
/// first one's.
pub(super) fn assemble(
    decided: Vec<Decided>,
    outcomes: Vec<Option<Result<Outcome>>>,
) -> Vec<Result<Outcome>> {
    let mut out = Vec::with_capacity(decided.len());
    for (i, d) in decided.into_iter().enumerate() {
        out.push(match d {
            Decided::Failed(e) => Err(e),
            Decided::SameAs(first) => match outcomes.get(first).and_then(|o| o.as_ref()) {
                Some(Ok(o)) => Ok(o.clone()),
                _ => Err(Error::Invalid {
                    field: "client_key",
                    message: "the first request with this key failed".into(),
                }),
            },
            // Cloned, not taken: a later repeat of the same key needs it too.
            _ => match outcomes.get(i).and_then(|o| o.as_ref()) {
                Some(Ok(o)) => Ok(o.clone()),
                _ => Err(Error::Invalid {
                    field: "batch",
                    message: "no outcome".into(),
                }),
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use domain::Quantity;

    use crate::ledger::decide_tests::{at, qty, quota};
    use crate::ledger::reservation_outcome;
    use crate::model::{Actor, ClientKey};

    struct Input {
        key: ClientKey,
        quota_id: i64,
        quantity: Quantity,
        hash: String,
    }

    fn input(key: &str, quota_id: i64, amount: &str, hash: &str) -> Input {
        Input {
            key: ClientKey::parse(key).unwrap(),
            quota_id,
            quantity: qty(amount, "NAR"),
            hash: hash.into(),
        }
    }

    fn items<'a>(
        inputs: &'a [Input],
        actor: &'a Actor,
        until: DateTime<Utc>,
    ) -> Vec<BatchItem<'a>> {
        (inputs.iter())
            .map(|i| BatchItem {
                key: &i.key,
                quota_id: i.quota_id,
                quantity: &i.quantity,
                params_hash: &i.hash,
                expires_at: until,
                actor,
            })
            .collect()
    }

    fn actor() -> Actor {
        Actor {
            name: "officer".into(),
            reason: None,
        }
    }

    #[test]
    fn a_batch_grants_in_queue_order_until_the_quota_is_used() {
        let inputs = [
            input("a", 7, "3", "h1"),
            input("b", 7, "3", "h2"),
            input("c", 7, "2", "h3"),
        ];
        let actor = actor();
        let items = items(&inputs, &actor, at(2026, 3, 1, 0));
        let mut quotas: QuotaRows = HashMap::from([(7, quota(Some(5_000_000), 0, 0, 0))]);
        let decided = decide(&items, &mut quotas, &HashMap::new());
        let news: Vec<(bool, i64, i64)> = (decided.iter())
            .map(|d| match d {
                Decided::New(n) => (n.granted(), n.requested, n.quota_after.held_micro),
                _ => panic!("every item is new"),
            })
            .collect();
        assert_eq!(
            news,
            [
                (true, 3_000_000, 3_000_000),
                (false, 3_000_000, 3_000_000),
                (true, 2_000_000, 5_000_000)
            ]
        );
        assert_eq!(quotas[&7].held_micro, 5_000_000);
        let Decided::New(refused) = &decided[1] else {
            unreachable!()
        };
        assert_eq!(
            (refused.state(), refused.ledger_entry()),
            ("rejected", ("reject", 0))
        );
        assert!(matches!(
            refused.refusal,
            Some(Refusal::QuotaExhausted { .. })
        ));
    }

    #[test]
    fn a_key_repeated_in_a_batch_answers_as_its_first_or_conflicts() {
        let inputs = [
            input("a", 7, "1", "h1"),
            input("a", 7, "1", "h1"),
            input("a", 7, "2", "h2"),
            input("z", 99, "1", "h4"),
            input("y", 7, "0", "h5"),
        ];
        let actor = actor();
        let items = items(&inputs, &actor, at(2026, 3, 1, 0));
        let mut quotas: QuotaRows = HashMap::from([(7, quota(Some(5_000_000), 0, 0, 0))]);
        let decided = decide(&items, &mut quotas, &HashMap::new());
        assert!(matches!(decided[0], Decided::New(_)));
        assert!(matches!(decided[1], Decided::SameAs(0)));
        assert!(matches!(
            &decided[2],
            Decided::Failed(Error::KeyConflict { first, .. }) if first == "reserve"
        ));
        assert!(matches!(
            decided[3],
            Decided::Failed(Error::QuotaNotFound(99))
        ));
        assert!(matches!(
            &decided[4],
            Decided::Failed(e) if e.field() == Some("quantity")
        ));
        // Only the first holds.
        assert_eq!(quotas[&7].held_micro, 1_000_000);
        let first = reservation_outcome(
            &quota(Some(5_000_000), 1_000_000, 0, 0),
            &held_row(1, 7, 1_000_000, at(2026, 3, 1, 0)),
        );
        let outcomes = vec![Some(Ok(first.clone())), None, None, None, None];
        let answers = assemble(decided, outcomes);
        assert_eq!(answers[0].as_ref().unwrap(), &first);
        assert_eq!(answers[1].as_ref().unwrap(), &first);
        assert!(answers[2..].iter().all(Result::is_err));
    }

    #[test]
    fn a_key_used_before_answers_its_first_outcome_or_conflicts() {
        let inputs = [input("a", 7, "1", "h1"), input("b", 7, "1", "h2")];
        let actor = actor();
        let items = items(&inputs, &actor, at(2026, 3, 1, 0));
        let first = reservation_outcome(
            &quota(Some(5_000_000), 1_000_000, 0, 0),
            &held_row(1, 7, 1_000_000, at(2026, 3, 1, 0)),
        );
        let used = HashMap::from([
            (
                "a".to_owned(),
                UsedKey {
                    operation: "reserve".into(),
                    hash: "h1".into(),
                    outcome: Ok(first.clone()),
                },
            ),
            (
                "b".to_owned(),
                UsedKey {
                    operation: "release".into(),
                    hash: "other".into(),
                    outcome: Err(String::new()),
                },
            ),
        ]);
        let mut quotas: QuotaRows = HashMap::from([(7, quota(Some(5_000_000), 0, 0, 0))]);
        let decided = decide(&items, &mut quotas, &used);
        assert!(matches!(&decided[0], Decided::Stored(o) if *o == first));
        assert!(matches!(
            &decided[1],
            Decided::Failed(Error::KeyConflict { first, .. }) if first == "release"
        ));
        assert_eq!(quotas[&7].held_micro, 0);
    }
}
