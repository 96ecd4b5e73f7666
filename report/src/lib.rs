//! Reports for Scientific Authorities: the quota-use review of the ledger (figures, use by
//! month, run-out date at the current pace, refused demand, flags), its tables (text, JSON, CSV
//! and Parquet through polars), its charts (PNG and SVG through plotters, with an embedded
//! DejaVu Sans font, no system fonts) and one self-contained HTML report; and the comparison of
//! export quotas with the CITES Trade Database's shipment-level files (`trade`: a streaming
//! polars scan, names resolved through a map the application builds, exact per-quota totals,
//! the comparative tabulation of a taxon).
//!
//! The application layer gathers the rows (quotas with their counters, their ledger history,
//! recorded refusals, Species+'s published values, earlier years for trends, and "today") and
//! hands them in as the plain structs of [`input`]; this crate only computes and renders.
//!
//! Architecture invariant: no SQL and no I/O of its own beyond the writers it is handed and the
//! Trade Database files it is told to read; it
//! depends on `domain` among our crates and must not depend on `db`, `sqlx`, `quota`, `sync` or
//! `rules`. Whether a quota is exceeded is decided on exact decimals; only shares and
//! projections are floating point.

// Tests may unwrap: a panic there is a test failure with a backtrace, which is what we want.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod chart;
mod error;
pub mod html;
pub mod input;
pub mod quota_use;
pub mod table;
pub mod trade;

pub use error::{Error, Result};
pub use input::{
    HistoryEntry, PublishedLimit, QuotaInput, QuotaUseInput, RefusalRecord, TrendPoint, TrendSeries,
};
pub use quota_use::{Flag, MonthUse, QuotaUseReview, QuotaUseRow, review};
