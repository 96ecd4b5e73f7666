//! Client keys: claiming one, storing its first outcome, answering it again.

use chrono::{DateTime, Utc};
use db::{Tx, read_db, with_tx};
use domain::Quantity;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Ledger,
    decide::reservation_outcome,
    rows::{QuotaRow, ReservationRow, load_quota, load_reservation},
};
use crate::error::{Error, Result};
use crate::model::{ClientKey, LinkedOutcome, Outcome, Refusal};

/// A request's parameters as its key keeps them: hashed.
pub(crate) fn params_hash(params: &str) -> String {
    format!("{:x}", Sha256::digest(params.as_bytes()))
}

/// Claims `key` for this request. `Some(outcome)` when the key was used before with the same
/// parameters (the first outcome, to return again); an error when with other parameters.
pub(super) async fn claim_key<T>(
    tx: &mut Tx,
    key: &ClientKey,
    params: &str,
    now: DateTime<Utc>,
    parse: fn(&str) -> Result<T>,
) -> Result<Option<T>> {
    let hash = params_hash(params);
    let operation = params.split('|').next().unwrap_or_default();
    // On PostgreSQL a concurrent request with the same key waits here until the first one
    // commits, then finds its row.
    let inserted = with_tx!(tx, c => sqlx::query(
        "INSERT INTO quota_requests (client_key, operation, params_hash, outcome, created_at) \
         VALUES ($1, $2, $3, '', $4) ON CONFLICT (client_key) DO NOTHING")
        .bind(key.as_str()).bind(operation).bind(&hash).bind(now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    if inserted == 1 {
        return Ok(None);
    }
    let (first_op, first_hash, outcome): (String, String, String) = with_tx!(tx, c => sqlx::query_as(
        "SELECT operation, params_hash, outcome FROM quota_requests WHERE client_key = $1")
        .bind(key.as_str()).fetch_one(c).await)?;
    if first_hash != hash {
        return Err(Error::KeyConflict {
            key: key.client_part().to_owned(),
            first: first_op,
        });
    }
    parse(&outcome).map(Some)
}

/// Reads a stored first outcome (of a declaration or a transition).
pub(super) fn parse_stored<T: DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Invalid {
        field: "client_key",
        message: format!("the stored outcome of this key cannot be read: {e}"),
    })
}

pub(super) async fn store_outcome<T: Serialize>(
    tx: &mut Tx,
    key: &ClientKey,
    outcome: &T,
) -> Result<()> {
    store_raw_outcome(tx, key, outcome_json(outcome)?).await
}

/// Records the first outcome of the key [`claim_key`] claimed, already in its stored form.
pub(super) async fn store_raw_outcome(tx: &mut Tx, key: &ClientKey, json: String) -> Result<()> {
    with_tx!(tx, c => sqlx::query("UPDATE quota_requests SET outcome = $2 WHERE client_key = $1")
        .bind(key.as_str()).bind(json).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) fn outcome_json<T: Serialize>(outcome: &T) -> Result<String> {
    serde_json::to_string(outcome).map_err(|e| Error::Invalid {
        field: "outcome",
        message: e.to_string(),
    })
}

/// The parameters of a reservation as they identify it for idempotency.
pub(crate) fn reserve_params(
    quota_id: i64,
    quantity: &Quantity,
    requested_expiry: Option<DateTime<Utc>>,
) -> String {
    format!(
        "reserve|{quota_id}|{}|{}|{:?}",
        quantity.amount().normalize(),
        quantity.unit().code(),
        requested_expiry.map(|e| e.timestamp_millis())
    )
}

/// How a reservation's first outcome is stored with its key.
///
/// Written now: [`StoredOutcome::Ref`], the reservation's id and the quota's counters just
/// after it: a few dozen bytes built without a serialiser (in SQL on PostgreSQL), instead of
/// the whole answer. Everything else in the answer is in rows that never change after the
/// reservation is written (the quota's description; the reservation's quota, quantity,
/// expiry and refusal reason), so [`resolve_stored`] rebuilds the first answer exactly.
/// Read as well: the forms earlier versions wrote (the serialised [`Outcome`]; the rows).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum StoredOutcome {
    Ref {
        #[serde(rename = "ref")]
        reference: StoredRef,
    },
    Rows {
        rows: StoredRows,
        /// Set when the reservation was refused (a group-commit batch stores both kinds).
        #[serde(default)]
        refusal: Option<Refusal>,
    },
    Outcome(Outcome),
}

#[derive(Deserialize)]
pub(crate) struct StoredRows {
    quota: QuotaRow,
    reservation: ReservationRow,
}

/// A new reservation's id and its quota's counters (and limit) just after it.
#[derive(Deserialize)]
pub(crate) struct StoredRef {
    reservation: i64,
    held: i64,
    committed: i64,
    exported: i64,
    limit: Option<i64>,
}

impl StoredRef {
    /// `quota` with the counters and limit this reference recorded.
    fn counters_of(&self, quota: QuotaRow) -> QuotaRow {
        QuotaRow {
            held_micro: self.held,
            committed_micro: self.committed,
            exported_micro: self.exported,
            limit_micro: self.limit,
            ..quota
        }
    }
}

/// The stored form of a new reservation's first outcome ([`StoredOutcome::Ref`]). PostgreSQL's
/// statements build the same text with `format()` ([`stored_ref_sql!`]).
pub(crate) fn stored_ref(reservation_id: i64, quota_after: &QuotaRow) -> String {
    let limit = quota_after
        .limit_micro
        .map_or_else(|| "null".to_owned(), |l| l.to_string());
    format!(
        "{{\"ref\":{{\"reservation\":{},\"held\":{},\"committed\":{},\"exported\":{},\"limit\":{}}}}}",
        reservation_id,
        quota_after.held_micro,
        quota_after.committed_micro,
        quota_after.exported_micro,
        limit
    )
}

/// Reads a reservation's stored first outcome, in any of its forms.
pub(crate) fn parse_stored_outcome(json: &str) -> Result<StoredOutcome> {
    serde_json::from_str::<StoredOutcome>(json).map_err(|e| Error::Invalid {
        field: "client_key",
        message: format!("the stored outcome of this key cannot be read: {e}"),
    })
}

/// The first answer of a reservation from its stored form, read in `tx`.
pub(crate) async fn resolve_stored(tx: &mut Tx, stored: StoredOutcome) -> Result<Outcome> {
    let rows = match stored.reservation_id() {
        Some(id) => {
            let r = load_reservation(tx, id).await?;
            Some((load_quota(tx, r.quota_id).await?, r))
        }
        None => None,
    };
    stored.answer(rows)
}

impl StoredOutcome {
    /// The reservation a reference points to.
    pub(super) fn reservation_id(&self) -> Option<i64> {
        match self {
            StoredOutcome::Ref { reference } => Some(reference.reservation),
            _ => None,
        }
    }

    /// The first answer. A reference is completed from the quota and reservation `rows` it
    /// points to, as they were when it was written.
    pub(super) fn answer(self, rows: Option<(QuotaRow, ReservationRow)>) -> Result<Outcome> {
        match self {
            StoredOutcome::Ref { reference } => {
                let Some((quota, mut r)) = rows else {
                    return Err(Error::ReservationNotFound(reference.reservation));
                };
                let quota_after = reference.counters_of(quota);
                // A reservation is written held or rejected; only these three change afterwards.
                if r.state != "rejected" {
                    r.state = "held".into();
                }
                r.committed_micro = 0;
                r.exported_micro = 0;
                r.permit_expires_at = None;
                Ok(reservation_outcome(&quota_after, &r))
            }
            StoredOutcome::Rows {
                rows,
                refusal: None,
            } => Ok(Outcome::Done {
                reservation: rows.reservation.view(&rows.quota.unit),
                quota: rows.quota.view(),
            }),
            StoredOutcome::Rows {
                rows,
                refusal: Some(refusal),
            } => Ok(Outcome::Refused {
                refusal,
                reservation: Some(rows.reservation.view(&rows.quota.unit)),
                quota: rows.quota.view(),
            }),
            StoredOutcome::Outcome(o) => Ok(o),
        }
    }
}

/// How a transition's first outcome is stored with its key. A release made in one statement
/// ([`release_fast`](super::fast::release_fast)) stores [`StoredTransition::Released`]: the
/// reservation's id and the quota's counters just after it (a released reservation never changes
/// again, so its row rebuilds the rest exactly). Every other transition stores the serialised
/// [`Outcome`].
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum StoredTransition {
    Released { released: StoredRef },
    Committed { committed: StoredRef },
    Outcome(Box<Outcome>),
}

pub(super) fn parse_stored_transition(json: &str) -> Result<StoredTransition> {
    parse_stored(json)
}

impl StoredTransition {
    /// The first answer, read in `tx`.
    pub(super) async fn answer(self, tx: &mut Tx) -> Result<Outcome> {
        match self {
            StoredTransition::Outcome(o) => Ok(*o),
            StoredTransition::Released { released } => {
                let r = load_reservation(tx, released.reservation).await?;
                let quota = load_quota(tx, r.quota_id).await?;
                let after = released.counters_of(quota);
                Ok(Outcome::Done {
                    reservation: r.view(&after.unit),
                    quota: after.view(),
                })
            }
            StoredTransition::Committed { committed } => {
                let mut r = load_reservation(tx, committed.reservation).await?;
                let quota = load_quota(tx, r.quota_id).await?;
                let after = committed.counters_of(quota);
                // Its committed quantity and permit validity never change after the commit;
                // only exports and the close do.
                r.state = "committed".into();
                r.exported_micro = 0;
                Ok(Outcome::Done {
                    reservation: r.view(&after.unit),
                    quota: after.view(),
                })
            }
        }
    }
}

impl Ledger {
    /// Whether a request was made under `key` (its first answer is kept): the service then
    /// lets the ledger answer it, as the first time, rather than refusing it for what changed
    /// since.
    pub async fn key_used(&self, key: &ClientKey) -> Result<bool> {
        let used: Option<i32> = read_db!(&self.db, pool => sqlx::query_scalar(
            "SELECT 1 FROM quota_requests WHERE client_key = $1")
            .bind(key.as_str()).fetch_optional(pool).await)?;
        Ok(used.is_some())
    }

    /// The first outcome of a reservation made under `key`, if there was one.
    pub async fn reserved_under(&self, key: &ClientKey) -> Result<Option<Outcome>> {
        let stored: Option<String> = read_db!(&self.db, pool => sqlx::query_scalar(
            "SELECT outcome FROM quota_requests WHERE client_key = $1 AND operation = 'reserve'")
            .bind(key.as_str()).fetch_optional(pool).await)?;
        match stored {
            Some(stored) => self.answer_stored(&stored).await.map(Some),
            None => Ok(None),
        }
    }

    /// The first outcome of a reservation made under `key` by [`Ledger::reserve_linked`] (or by
    /// [`Ledger::reserve`], answered as a linked reservation of one quota), if there was one:
    /// what a permit check retried with its key answers again.
    pub async fn reserved_linked_under(&self, key: &ClientKey) -> Result<Option<LinkedOutcome>> {
        let stored: Option<(String, String)> = read_db!(&self.db, pool => sqlx::query_as(
            "SELECT operation, outcome FROM quota_requests WHERE client_key = $1 \
             AND operation IN ('reserve', 'reserve-linked')")
            .bind(key.as_str()).fetch_optional(pool).await)?;
        match stored {
            None => Ok(None),
            Some((operation, stored)) if operation == "reserve-linked" => {
                parse_stored(&stored).map(Some)
            }
            Some((_, stored)) => Ok(Some(self.answer_stored(&stored).await?.into())),
        }
    }

    /// The first answer under `key` to the reservation whose parameters hash to `hash`, if the
    /// key was used: [`Error::KeyConflict`] if it was used for another request. Reads only, for
    /// a request that cannot be carried out now but may be a retry of one that was.
    pub(crate) async fn first_reservation(
        &self,
        key: &ClientKey,
        hash: &str,
    ) -> Result<Option<Outcome>> {
        let first: Option<(String, String, String)> = read_db!(&self.db, pool => sqlx::query_as(
            "SELECT operation, params_hash, outcome FROM quota_requests WHERE client_key = $1")
            .bind(key.as_str()).fetch_optional(pool).await)?;
        let Some((operation, first_hash, stored)) = first else {
            return Ok(None);
        };
        if first_hash != hash {
            return Err(Error::KeyConflict {
                key: key.client_part().to_owned(),
                first: operation,
            });
        }
        self.answer_stored(&stored).await.map(Some)
    }

    /// A reservation's stored first outcome, answered as the first time.
    pub(super) async fn answer_stored(&self, stored: &str) -> Result<Outcome> {
        let stored = parse_stored_outcome(stored)?;
        // What a reference needs of the two rows never changes: no transaction to read them.
        let rows = match stored.reservation_id() {
            Some(id) => {
                let r = self.reservation_row(id).await?;
                Some((self.quota_row(r.quota_id).await?, r))
            }
            None => None,
        };
        stored.answer(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::decide::tests::quota;

    #[test]
    fn a_reference_is_read_back_as_written() {
        let q = quota(None, 2_000_000, 1_000_000, 500_000);
        let text = stored_ref(12, &q);
        assert_eq!(
            text,
            r#"{"ref":{"reservation":12,"held":2000000,"committed":1000000,"exported":500000,"limit":null}}"#
        );
        let Ok(StoredOutcome::Ref { reference }) = parse_stored_outcome(&text) else {
            panic!("a reference parses as one");
        };
        assert_eq!(
            (reference.reservation, reference.held, reference.limit),
            (12, 2_000_000, None)
        );
        let limited = stored_ref(3, &quota(Some(7_000_000), 0, 0, 0));
        assert!(limited.ends_with(r#""limit":7000000}}"#), "{limited}");
    }

    #[test]
    fn a_stored_outcome_that_cannot_be_read_names_the_key() {
        let Err(e) = parse_stored_outcome("{\"nothing\":1}") else {
            panic!("not a stored outcome");
        };
        assert_eq!(e.field(), Some("client_key"));
    }

    #[test]
    fn parameters_are_kept_hashed_and_a_reservation_s_name_its_expiry_as_sent() {
        assert_eq!(
            params_hash("release|1"),
            format!("{:x}", Sha256::digest(b"release|1"))
        );
        assert_eq!(params_hash("a").len(), 64);
        let q = crate::ledger::decide::tests::qty("2.50", "NAR");
        assert_eq!(reserve_params(4, &q, None), "reserve|4|2.5|NAR|None");
        let at = crate::ledger::decide::tests::at(2026, 1, 2, 0);
        assert_eq!(
            reserve_params(4, &q, Some(at)),
            format!("reserve|4|2.5|NAR|Some({})", at.timestamp_millis())
        );
    }
}
