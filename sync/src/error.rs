//! The error type of the `sync` crate.

use std::time::Duration;

/// Errors of synchronising with Species+ and of querying the catalogue. Outcomes a caller
/// expects (a taxon that is not listed, an empty amendment range) are data, not errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "Species+ refused the token (401 Unauthorized) at {url}: check the token configured in CITES_SPECIESPLUS_TOKEN (it may have been regenerated on the Species+ dashboard)"
    )]
    Unauthorized { url: String },
    #[error("Species+ rejected the request {url} with {status}: {message}")]
    Rejected {
        url: String,
        status: u16,
        message: String,
    },
    #[error("Species+ request {url} still failing after {attempts} attempts: {last}")]
    RetriesExhausted {
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("malformed response from {url}: {message}")]
    Malformed { url: String, message: String },
    #[error("malformed dump {path} line {line}: {message}")]
    MalformedDump {
        path: String,
        line: usize,
        message: String,
    },
    #[error("cannot read dump {path}")]
    DumpIo {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid Species+ configuration: {0}")]
    Config(String),
    #[error("Species+ offers no bulk dump at the moment; run a full walk (cites sync --full)")]
    NoDump,
    #[error(
        "another sync run is in progress (held by {holder} since {since}); wait for it or let its lock go stale ({stale:?})"
    )]
    AlreadyRunning {
        holder: String,
        since: String,
        stale: Duration,
    },
    #[error("limit exceeded: {what} (limit {limit})")]
    LimitExceeded { what: &'static str, limit: u64 },
    #[error(
        "invalid date range for field \"to\": {to} is before \"from\" {from}; accepted: to >= from"
    )]
    InvalidRange {
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    },
    #[error("taxon not found: {query:?}")]
    TaxonNotFound { query: String },
    #[error("{query:?} names several accepted taxa ({candidates}); ask by id")]
    AmbiguousName { query: String, candidates: String },
    #[error(transparent)]
    Domain(#[from] domain::Error),
    #[error("database error")]
    Db(#[from] db::Error),
    #[error("database error")]
    Sqlx(#[from] sqlx::Error),
    #[error("cannot build the HTTP client")]
    Http(#[source] reqwest::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
