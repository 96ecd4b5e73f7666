//! The export quota ledger: declare quotas, then `reserve` → `commit` | `release` | `expire`
//! quantities against them atomically, record what was actually exported, and keep an
//! append-only audit ledger whose replay reproduces every quota's counters.
//!
//! Two-phase like TigerBeetle's pending transfers: a reservation holds a quantity (an approved
//! application); `commit` turns it into a permit (possibly for less; the rest returns);
//! `release` cancels it; the sweeper `expire`s holds whose time has passed, never before. A
//! committed permit records exports (endorsements, at most what was committed); what was not
//! exported returns to the quota when the permit is closed or its validity ends.
//!
//! Available = limit − held − committed-not-yet-exported − exported. It never goes negative:
//! every change is one conditional UPDATE of the quota row (READ COMMITTED on PostgreSQL, which
//! re-checks the condition after waiting for the row lock; `BEGIN IMMEDIATE` on SQLite), and a
//! CHECK constraint says the same. Every request carries a client key: a repeated key returns the
//! first outcome and changes nothing. A key is its caller's own ([`ClientKey::of_caller`]): the
//! ledger compares stored keys only for equality, and a scoped key holds its caller's name.
//!
//! Owns the `export_quotas`, `quota_reservations`, `quota_ledger` and `quota_requests` tables.
//! Architecture invariant: depends on `domain` and `db` only; knows nothing of HTTP, the CLI or
//! Species+ (the application hands it Species+ quotas to import).

#[macro_use]
mod sql;

mod amount;
mod error;
mod group;
mod ledger;
mod model;

pub use amount::{MICRO_PER_UNIT, from_micro, to_micro};
pub use error::{Error, Result};
pub use group::{GROUP_BATCH_MAX, GROUP_QUEUE_MAX, GroupCommit};
pub use ledger::{
    HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, HOLD_DEFAULT, HOLD_MAX, ISSUED_HISTORY_MAX,
    IssuedPermit, LINKED_QUOTAS_MAX, LOCK_WAIT, Ledger, PERMIT_VALIDITY_MONTHS, PERMITS_PAGE_MAX,
    QUOTA_YEARS, TRANSIENT_RETRIES_MAX, WRITE_DEADLINE, permit_valid_until,
};
pub use model::{
    Actor, ClientKey, HistoryPage, LedgerEntry, LinkedOutcome, NOTES_CHARS_MAX, Outcome, QuotaSpec,
    QuotaView, REASON_CHARS_MAX, Refusal, ReservationState, ReservationView, SweepReport,
};
