//! The engine's own permits in the provenance register, with no re-entry: a commit names the
//! permit it issues ([`Permits::commit`]), and each committed reservation becomes an export
//! permit document of the quota's exporter in the register, its endorsed exports and its end
//! (used, expired, cancelled) as later revisions ([`Permits::sync`]). `trace` never depends
//! on `quota`: this module reads the ledger and writes the register.
//!
//! Two writes, two transactions: the number is claimed (`engine_permits`) before the ledger
//! commits, and the document is written after. A crash between the commit and the document
//! loses nothing: [`Permits::backfill`] (`cites trace backfill-permits`) writes every permit
//! the register lacks or holds in an older state, idempotently (run twice, stored once). A
//! permit committed without a number (or before numbers were taken) gets the engine's own
//! ([`assigned_number`]).

mod document;

use std::sync::Arc;

use db::Db;
use domain::{Clock, Quantity};
use quota::{Actor, ClientKey, IssuedPermit, Ledger, Outcome, PERMITS_PAGE_MAX};
use sha2::{Digest, Sha256};
use sqlx::Row;
use trace::{DocType, DocumentKey, Register};

pub use document::{
    ASSIGNED_NUMBER_PREFIX, PermitNumber, assigned_number, is_news, issuer_key, permit_batch,
    permit_status,
};

/// Why a permit use case did not answer.
#[derive(Debug, thiserror::Error)]
pub enum PermitError {
    /// A value that cannot be taken, named with what is accepted.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The number is another permit's, or the reservation is already another number's permit.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Ledger(#[from] quota::Error),
    #[error("the provenance register could not record the permit")]
    Register(#[from] trace::Error),
    #[error("the permit numbers could not be read or written")]
    Store(#[from] sqlx::Error),
}

impl PermitError {
    /// The database error under this one, if any.
    pub fn sqlx(&self) -> Option<&sqlx::Error> {
        match self {
            PermitError::Store(e) | PermitError::Register(trace::Error::Sqlx(e)) => Some(e),
            PermitError::Register(trace::Error::Db(db::Error::Sqlx(e))) => Some(e),
            _ => None,
        }
    }
}

impl From<db::Error> for PermitError {
    fn from(e: db::Error) -> PermitError {
        PermitError::Register(trace::Error::Db(e))
    }
}

/// Whether a ledger error leaves unknown whether the operation took effect (the database out
/// of reach or busy through every retry), rather than saying it did not (a refusal of the
/// request itself).
fn outcome_unknown(e: &quota::Error) -> bool {
    matches!(
        e,
        quota::Error::Busy(_)
            | quota::Error::GroupFailed(_)
            | quota::Error::Db(_)
            | quota::Error::Sqlx(_)
            | quota::Error::Stopped
    )
}

/// The longest wait between two attempts of [`retrying`].
const RETRY_WAIT_MAX: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs `op` again while it fails for a transient reason (a connection broken, a lock not
/// granted in time, a concurrent writer's revision taken first), within the ledger's
/// [`quota::WRITE_DEADLINE`]: every operation here is idempotent (a claim is inserted unless
/// there, a document written from the ledger's state as read again), so a retry is safe, and
/// a request the ledger rode out a fault for is not failed by the register after it.
async fn retrying<T, F, Fut>(mut op: F) -> Result<T, PermitError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, PermitError>>,
{
    let start = std::time::Instant::now();
    let mut wait = std::time::Duration::from_millis(10);
    loop {
        match op().await {
            Err(e) if transient(&e) && start.elapsed() + wait < quota::WRITE_DEADLINE => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_WAIT_MAX);
            }
            done => return done,
        }
    }
}

fn transient(e: &PermitError) -> bool {
    match e {
        PermitError::Ledger(quota::Error::Sqlx(s)) => transient_sqlx(s),
        e => e.sqlx().is_some_and(transient_sqlx),
    }
}

fn transient_sqlx(s: &sqlx::Error) -> bool {
    db::is_connection_lost(s)
        || db::is_locked(s)
        || matches!(s, sqlx::Error::PoolTimedOut)
        || s.as_database_error()
            .is_some_and(|d| d.is_unique_violation())
}

/// What [`Permits::sync`] did with one permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Synced {
    /// A new revision of the permit document is in the register.
    Written,
    /// The register already held the permit as it stands.
    Unchanged,
    /// The reservation is no permit (never committed).
    NotIssued,
}

/// What a back-fill did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Backfilled {
    pub permits: u64,
    pub written: u64,
    pub unchanged: u64,
}

/// The permit use cases over the ledger and the register of one database.
#[derive(Clone)]
pub struct Permits {
    db: Db,
    ledger: Ledger,
    register: Register,
    clock: Arc<dyn Clock>,
}

impl Permits {
    /// The numbers are claimed through the ledger's pool ([`Ledger::db`]): a statement waits
    /// at most [`quota::LOCK_WAIT`] for a lock, so a database locked by another process
    /// answers "unavailable" as the ledger's own writes do, not after the main pool's wait.
    pub fn new(db: Db, ledger: Ledger) -> Permits {
        let clock = ledger.clock().clone();
        Permits {
            register: Register::new(db, clock.clone()),
            db: ledger.db().clone(),
            ledger,
            clock,
        }
    }

    /// Commits reservation `reservation_id` as the permit numbered `number` (`None`: the
    /// engine's own number), then writes the permit document. The number is claimed first:
    /// a retry with the same key and number answers as the first commit; another number for
    /// a reservation already claimed, or a number another permit of the same country holds,
    /// is a [`PermitError::Conflict`] and nothing is committed.
    pub async fn commit(
        &self,
        key: &ClientKey,
        reservation_id: i64,
        number: Option<&PermitNumber>,
        quantity: Option<&Quantity>,
        permit_expires_at: Option<chrono::DateTime<chrono::Utc>>,
        actor: &Actor,
    ) -> Result<Outcome, PermitError> {
        let first = self.first_member(reservation_id).await?;
        let (_, claimed_now) = retrying(|| self.claim(first, number)).await?;
        let outcome = self
            .ledger
            .commit(key, reservation_id, quantity, permit_expires_at, actor)
            .await;
        let issued = match &outcome {
            Ok(Outcome::Done { .. }) => true,
            Ok(Outcome::Refused { .. }) => false,
            // The database failed: the commit may have happened, and the claim stays for the
            // retry with the same key (or the back-fill).
            Err(e) if outcome_unknown(e) => true,
            Err(_) => false,
        };
        if !issued && claimed_now {
            // Nothing was issued: the number is free again.
            retrying(|| self.unclaim(first)).await?;
        }
        let outcome = outcome?;
        if let Outcome::Done { .. } = outcome {
            self.sync(first).await?;
        }
        Ok(outcome)
    }

    /// Writes the register's document of the permit of `reservation_id` as the ledger has it
    /// now, unless the register holds it so (or in a later state already).
    pub async fn sync(&self, reservation_id: i64) -> Result<Synced, PermitError> {
        retrying(|| self.sync_once(reservation_id)).await
    }

    async fn sync_once(&self, reservation_id: i64) -> Result<Synced, PermitError> {
        let Some(permit) = self
            .ledger
            .issued_permits(0, 1, Some(reservation_id))
            .await?
            .into_iter()
            .next()
        else {
            return Ok(Synced::NotIssued);
        };
        self.write(&permit).await
    }

    /// Puts every permit the ledger has issued into the register, page by page, reporting
    /// progress (`phase` once, `advance` per permit). Idempotent.
    pub async fn backfill(&self, progress: &dyn sync::Progress) -> Result<Backfilled, PermitError> {
        progress.phase("permits", None);
        let mut done = Backfilled::default();
        let mut after = 0;
        loop {
            let page = self
                .ledger
                .issued_permits(after, PERMITS_PAGE_MAX, None)
                .await?;
            let Some(last) = page.last() else {
                return Ok(done);
            };
            after = last.reservation.id;
            for permit in &page {
                match retrying(|| self.write(permit)).await? {
                    Synced::Written => done.written += 1,
                    _ => done.unchanged += 1,
                }
                done.permits += 1;
                progress.advance(1);
            }
        }
    }

    /// The permit numbered `number` of `country` as the register holds it.
    pub fn document_key(country: &str, number: &str) -> Option<DocumentKey> {
        Some(DocumentKey {
            country: domain::CountryCode::parse(country).ok()?,
            doc_type: DocType::ExportPermit,
            number: number.to_owned(),
        })
    }

    async fn write(&self, permit: &IssuedPermit) -> Result<Synced, PermitError> {
        let number = self
            .number_of(permit.reservation.id, &permit.exporter)
            .await?;
        let batch = permit_batch(permit, &permit.exporter, &number);
        let key = Self::document_key(&permit.exporter, &number).ok_or_else(|| {
            PermitError::Conflict(format!(
                "the quota of reservation {} has exporter {:?}, no country code",
                permit.reservation.id, permit.exporter
            ))
        })?;
        let latest = self.register.document(&key).await?;
        if !is_news(latest.as_ref(), &batch) {
            return Ok(Synced::Unchanged);
        }
        // The batch's key is its content: the same state written twice is stored once.
        let digest = format!("{:x}", Sha256::digest(batch.to_string().as_bytes()));
        let client_key = format!("engine-permit:{key}:{digest}");
        let ingested = self.register.ingest(&batch, &client_key).await?;
        Ok(if ingested.replayed {
            Synced::Unchanged
        } else {
            Synced::Written
        })
    }

    /// The first member of the reservation's linked set (itself when it is alone): the one
    /// that stands for the permit.
    async fn first_member(&self, reservation_id: i64) -> Result<i64, PermitError> {
        let linked = self.ledger.linked_reservations(reservation_id).await?;
        Ok(linked.first().map_or(reservation_id, |r| r.id))
    }

    /// The number claimed for the permit of `reservation_id` (a first member), claiming the
    /// engine's own for a permit that has none.
    async fn number_of(&self, reservation_id: i64, country: &str) -> Result<String, PermitError> {
        if let Some((_, number)) = self.claimed(reservation_id).await? {
            return Ok(number);
        }
        let number = assigned_number(reservation_id);
        self.insert_claim(reservation_id, country, &number, true)
            .await?;
        match self.claimed(reservation_id).await? {
            Some((_, n)) => Ok(n),
            None => Err(PermitError::Conflict(format!(
                "the number {number} of reservation {reservation_id} could not be claimed"
            ))),
        }
    }

    /// Claims `number` (or the engine's own) for reservation `first`: the number it holds, and
    /// whether this call claimed it.
    async fn claim(
        &self,
        first: i64,
        number: Option<&PermitNumber>,
    ) -> Result<(String, bool), PermitError> {
        if let Some((_, held)) = self.claimed(first).await? {
            return match number {
                Some(n) if n.as_str() != held => Err(PermitError::Conflict(format!(
                    "reservation {first} is permit {held} already; a permit keeps its number"
                ))),
                _ => Ok((held, false)),
            };
        }
        let reservation = self.ledger.reservation(first).await?;
        let country = self.ledger.quota(reservation.quota_id).await?.exporter;
        let (text, assigned) = match number {
            Some(n) => (n.as_str().to_owned(), false),
            None => (assigned_number(first), true),
        };
        let inserted = self.insert_claim(first, &country, &text, assigned).await?;
        match self.claimed(first).await? {
            Some((_, held)) if held == text => Ok((held, inserted)),
            Some((_, held)) => Err(PermitError::Conflict(format!(
                "reservation {first} is permit {held} already; a permit keeps its number"
            ))),
            None => Err(PermitError::Conflict(format!(
                "permit_number {text} is already the number of another permit of {country}"
            ))),
        }
    }

    async fn claimed(&self, reservation_id: i64) -> Result<Option<(String, String)>, PermitError> {
        let row = db::read_db!(&self.db, pool => {
            sqlx::query("SELECT country, number FROM engine_permits WHERE reservation_id = $1")
                .bind(reservation_id)
                .fetch_optional(pool)
                .await?
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
                .transpose()
        })
        .map_err(PermitError::from)?;
        Ok(row)
    }

    /// Whether the row went in (not when the reservation or the number is claimed already).
    async fn insert_claim(
        &self,
        reservation_id: i64,
        country: &str,
        number: &str,
        assigned: bool,
    ) -> Result<bool, PermitError> {
        let now = self.clock.now();
        let done = db::with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO engine_permits (reservation_id, country, number, assigned, \
                 claimed_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(reservation_id)
            .bind(country)
            .bind(number)
            .bind(assigned)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    async fn unclaim(&self, reservation_id: i64) -> Result<(), PermitError> {
        db::with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM engine_permits WHERE reservation_id = $1")
                .bind(reservation_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
