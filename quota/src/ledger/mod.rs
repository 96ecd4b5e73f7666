//! The ledger's operations and every SQL statement on the quota tables but the group writer's
//! batch (`crate::group::batch`), which reaches the ledger only through the `pub(crate)` items
//! re-exported here.
//!
//! Module map:
//! - `mod.rs` (here): [`Ledger`], its limits, and the entry points of its operations.
//! - `declare`: declaring quotas, revising limits, the values Species+ published.
//! - `reserve`: admitting a reservation (its period, its hold) and the general path.
//! - `fast`: the one-statement paths of the usual reservation, commit and release.
//! - `linked`: a reservation holding several quotas (nested quotas), refused or held whole.
//! - `transition`: commit, release, export and close (of every member of a linked
//!   reservation together), with one refuse-and-audit path.
//! - `sweep`: expiring holds and closing permits whose time has passed.
//! - `permits`: the permits issued, as the application's permit register reads them.
//! - `queries`, `history`, `verify`: reads of quotas, reservations and the audit ledger, and
//!   the invariants checked over them.
//! - `idempotency`: client keys, their claim, their stored first outcomes.
//! - `retry`: which failures are transient, and retrying them until the deadline.
//! - `rows`: the quota and reservation rows, read (locked or not) and changed.
//! - `audit`: appending the audit ledger's entries.
//! - `decide`: the pure decisions (periods, holds, permits, limits, refusals).

mod audit;
mod decide;
mod declare;
mod fast;
mod history;
mod idempotency;
mod linked;
mod permits;
mod queries;
mod reserve;
mod retry;
mod rows;
mod sweep;
mod transition;
mod verify;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use db::Db;
use domain::{Clock, Quantity};

use crate::error::Result;
use crate::model::{
    Actor, ClientKey, HistoryPage, LedgerEntry, LinkedOutcome, Outcome, QuotaSpec, QuotaView,
    ReservationView, SweepReport, check_whole,
};

use fast::{commit_fast, release_fast};
use reserve::Fixed;
use retry::retry;
use sweep::SWEEP_BATCH_MAX;
use transition::Transition;

pub use decide::{QUOTA_YEARS, permit_valid_until};
pub use permits::{IssuedPermit, PERMITS_PAGE_MAX};

// What the group writer (`crate::group`) uses of the ledger: the rows, the answers built
// from them, the stored form of a new reservation's outcome, admission and retries.
pub(crate) use decide::{refusal_for, reservation_outcome};
pub(crate) use idempotency::{
    params_hash, parse_stored_outcome, reserve_params, resolve_stored, stored_ref,
};
pub(crate) use reserve::Admitted;
pub(crate) use retry::{is_unique_violation, retry_including_duplicates};
pub(crate) use rows::{QuotaRow, ReservationRow, held_row};

/// The rows the unit tests of the crate's pure decisions start from.
#[cfg(test)]
pub(crate) use decide::tests as decide_tests;

/// How long a reservation is held when the request does not say.
pub const HOLD_DEFAULT: chrono::Duration = chrono::Duration::days(14);
/// The longest hold a request may ask for.
pub const HOLD_MAX: chrono::Duration = chrono::Duration::days(180);
/// An export permit is valid at most six months from issue (Art. VI(2)), and this long when
/// a commit does not say: what it did not export then returns to the quota.
pub const PERMIT_VALIDITY_MONTHS: u32 = 6;
/// Attempts of one operation, at most, when the database reports a transient conflict (a lock
/// not granted in time, PostgreSQL serialization failure or deadlock) or the connection
/// breaks; none of these reaches a caller before. [`WRITE_DEADLINE`] usually ends the retries
/// first.
pub const TRANSIENT_RETRIES_MAX: u32 = 50;
/// The longest one ledger operation takes, retries included, when the database is locked by another
/// process (a dump loading, an administrator's `LOCK TABLE`) or out of reach; it then fails with
/// [`Error::Busy`](crate::Error::Busy) (an HTTP 503) and the client sends it again with the same
/// key. Long enough to ride out a PostgreSQL restart or a burst of terminated connections; short
/// enough that waiting requests do not pile up behind a lock held for minutes (a SQLite busy
/// timeout of 30 s times 50 attempts was up to 25 minutes).
pub const WRITE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);
/// What one statement of the ledger waits, at most, for a lock another session holds (SQLite
/// `busy_timeout`, PostgreSQL `lock_timeout`) or for a pooled connection, before its attempt
/// fails and is made again; no attempt starts later than this before [`WRITE_DEADLINE`]. The
/// ledger's own transactions hold a lock for milliseconds.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Quotas one linked reservation holds at most ([`Ledger::reserve_linked`]): a taxon's own quota
/// and its ancestors' (species, genus, family, order, class, phylum, kingdom), with room to
/// spare; more is a request no permit needs.
pub const LINKED_QUOTAS_MAX: usize = 16;
/// Permits [`Ledger::issued_quantities`] returns at most (the latest).
pub const ISSUED_HISTORY_MAX: i64 = 500;
/// Entries per page of a quota's history, at most ([`Ledger::history_page`]).
pub const HISTORY_PAGE_MAX: u32 = 10_000;
/// Entries per page of a quota's history when the caller does not say.
pub const HISTORY_PAGE_DEFAULT: u32 = 1_000;

/// The quota ledger over one database.
#[derive(Clone)]
pub struct Ledger {
    db: Db,
    clock: Arc<dyn Clock>,
    /// What never changes about a quota once declared, once read.
    fixed: Arc<std::sync::Mutex<HashMap<i64, Fixed>>>,
}

impl Ledger {
    /// ([`Db::for_keyed_statements`]): every statement here finds its rows by key, and waits
    /// at most [`LOCK_WAIT`] for a lock.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Ledger {
        Ledger {
            db: db.for_keyed_statements(LOCK_WAIT),
            clock,
            fixed: Arc::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Declares a quota (or imports one from Species+). Idempotent on `key`.
    pub async fn declare(
        &self,
        key: &ClientKey,
        spec: &QuotaSpec,
        actor: &Actor,
    ) -> Result<QuotaView> {
        self.declare_with_merged(key, spec, &[], actor).await
    }

    /// Sets a quota's limit anew: a Species+ quota published after "in preparation" or revised,
    /// or a national quota amended (`None`: in preparation again). Audited as a declaration
    /// with the new limit (the counters do not move); refused, with nothing written, when the
    /// new limit is below what the quota already holds, has committed and has exported.
    /// Idempotent on `key`.
    pub async fn revise(
        &self,
        key: &ClientKey,
        quota_id: i64,
        limit: Option<&Quantity>,
        actor: &Actor,
    ) -> Result<QuotaView> {
        self.revise_with(key, quota_id, limit, false, actor).await
    }

    /// [`Ledger::revise`] to a value Species+ now publishes for an imported quota, recorded as
    /// the value last imported. Only while the quota's limit is still the value imported
    /// before (checked under the quota's lock): one revised nationally meanwhile keeps its
    /// limit, and this is refused as `limit`, with nothing written.
    pub async fn revise_to_speciesplus(
        &self,
        key: &ClientKey,
        quota_id: i64,
        limit: Option<&Quantity>,
        actor: &Actor,
    ) -> Result<QuotaView> {
        self.revise_with(key, quota_id, limit, true, actor).await
    }

    /// Holds `quantity` (in the quota's unit or one convertible to it) until `expires_at`
    /// (default now + [`HOLD_DEFAULT`]), or until the end of the quota's period if that comes
    /// first. Refused, as data, when the quota cannot cover it.
    pub async fn reserve(
        &self,
        key: &ClientKey,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        // The fingerprint holds the expiry as the client sent it: a default filled in here
        // differs on every retry and would make a retry look like another request.
        let params = reserve_params(quota_id, quantity, expires_at);
        let reserved = self
            .reserve_new(key, &params, quota_id, quantity, expires_at, actor)
            .await;
        self.or_first_answer(key, &params_hash(&params), reserved)
            .await
    }

    /// Holds `quantity` against every quota of `quota_ids` at once: the quotas a permit under
    /// nested quotas counts against (a species quota and its genus's). One transaction locks
    /// the quotas in id order and writes one held reservation per quota, linked, each with its
    /// audit entry; or, when any quota refuses (outside its period, or without room), refuses
    /// the whole, naming that quota and its figures, and holds nothing anywhere. The hold ends
    /// at `expires_at` (default now + [`HOLD_DEFAULT`]) or when the first of the periods does.
    /// Every member then moves with any other: [`Ledger::commit`], [`Ledger::release`],
    /// [`Ledger::record_export`], [`Ledger::close`] and the sweeper take them all together.
    /// One client key for the whole; the quantity is converted to each quota's unit. A single
    /// quota is exactly [`Ledger::reserve`] (its paths, its stored answer).
    pub async fn reserve_linked(
        &self,
        key: &ClientKey,
        quota_ids: &[i64],
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<LinkedOutcome> {
        actor.check()?;
        match quota_ids {
            [one] => (self.reserve(key, *one, quantity, expires_at, actor).await)
                .map(LinkedOutcome::from),
            _ => {
                self.reserve_several(key, quota_ids, quantity, expires_at, actor)
                    .await
            }
        }
    }

    /// Turns a held reservation into an issued permit for `quantity` (default: all of it; less
    /// returns the rest to the quota), valid until `permit_expires_at` (default now +
    /// [`PERMIT_VALIDITY_MONTHS`], the most it may be).
    pub async fn commit(
        &self,
        key: &ClientKey,
        reservation_id: i64,
        quantity: Option<&Quantity>,
        permit_expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        if let Some(q) = quantity {
            check_whole("quantity", q)?;
        }
        let params = format!(
            "commit|{reservation_id}|{:?}|{:?}|{:?}",
            quantity.map(|q| q.amount().normalize()),
            quantity.map(|q| q.unit().code()),
            permit_expires_at.map(|p| p.timestamp_millis())
        );
        retry(|| async {
            if let Db::Postgres(pool) = &self.db
                && let Some(outcome) = commit_fast(
                    pool,
                    key,
                    &params,
                    reservation_id,
                    quantity,
                    permit_expires_at,
                    actor,
                    self.clock.now(),
                )
                .await?
            {
                return Ok(outcome);
            }
            self.transition_once(
                key,
                &params,
                reservation_id,
                Transition::Commit(quantity, permit_expires_at),
                actor,
            )
            .await
        })
        .await
    }

    /// Cancels a held reservation; its quantity returns to the quota.
    pub async fn release(
        &self,
        key: &ClientKey,
        reservation_id: i64,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        let params = format!("release|{reservation_id}");
        retry(|| async {
            if let Db::Postgres(pool) = &self.db
                && let Some(outcome) =
                    release_fast(pool, key, &params, reservation_id, actor, self.clock.now())
                        .await?
            {
                return Ok(outcome);
            }
            self.transition_once(key, &params, reservation_id, Transition::Release, actor)
                .await
        })
        .await
    }

    /// Records a quantity actually exported under a committed permit (an endorsement).
    pub async fn record_export(
        &self,
        key: &ClientKey,
        reservation_id: i64,
        quantity: &Quantity,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        check_whole("quantity", quantity)?;
        let params = format!(
            "export|{reservation_id}|{}|{}",
            quantity.amount().normalize(),
            quantity.unit().code()
        );
        retry(|| {
            self.transition_once(
                key,
                &params,
                reservation_id,
                Transition::Export(quantity),
                actor,
            )
        })
        .await
    }

    /// Closes a committed permit: what it did not export returns to the quota.
    pub async fn close(
        &self,
        key: &ClientKey,
        reservation_id: i64,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        let params = format!("close|{reservation_id}");
        retry(|| self.transition_once(key, &params, reservation_id, Transition::Close, actor)).await
    }

    /// Expires holds whose expiry has passed and closes permits whose validity has ended,
    /// returning their quantities. Never touches anything before its time.
    pub async fn sweep(&self, actor: &Actor) -> Result<SweepReport> {
        retry(|| self.sweep_once(actor)).await
    }

    /// [`Ledger::sweep`] again while one sweep found as many as it handles at most, so that a
    /// backlog (a service down for a while, a burst of holds falling due at once) is cleared in
    /// one call rather than one sweep's worth per minute, each transaction staying that small.
    pub async fn sweep_due(&self, actor: &Actor) -> Result<SweepReport> {
        let mut total = SweepReport::default();
        loop {
            let r = self.sweep(actor).await?;
            total.expired += r.expired;
            total.closed += r.closed;
            let full =
                i64::try_from(r.expired.max(r.closed)).unwrap_or(i64::MAX) >= SWEEP_BATCH_MAX;
            if !full {
                return Ok(total);
            }
        }
    }

    pub async fn quota(&self, id: i64) -> Result<QuotaView> {
        Ok(self.quota_row(id).await?.view())
    }

    pub async fn reservation(&self, id: i64) -> Result<ReservationView> {
        let r = self.reservation_row(id).await?;
        let q = self.quota_row(r.quota_id).await?;
        Ok(r.view(&q.unit))
    }

    /// The audit ledger of one quota, in order: every page of [`Ledger::history_page`].
    pub async fn history(&self, quota_id: i64) -> Result<Vec<LedgerEntry>> {
        self.history_read_by(quota_id, HISTORY_PAGE_MAX).await
    }

    /// The entries of one quota's audit ledger after sequence number `after` (0: from the
    /// start), at most `limit` ([`HISTORY_PAGE_MAX`] at most), each with the counters just
    /// after it. A quota's entries become visible in sequence order (every one is written
    /// under the quota's row lock), so paging by `next_after` misses none. `after` must be 0
    /// or the sequence number of one of this quota's entries: any other number could fall
    /// between the entries of a write still in flight.
    pub async fn history_page(&self, quota_id: i64, after: i64, limit: u32) -> Result<HistoryPage> {
        Ok(self.page_of_history(quota_id, after, limit, None).await?.0)
    }
}
