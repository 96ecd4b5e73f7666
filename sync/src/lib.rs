//! The catalogue: a faithful local mirror of Species+ (CITES listings, quotas, suspensions,
//! distributions), the synchroniser that keeps it in step, and the queries over it (the listing
//! of a taxon on a date, the amendments taking effect in a range).
//!
//! Owns the catalogue and sync-run tables and every SQL statement that touches them.
//! `client` does HTTP, `store` does SQL, `run` orchestrates; `wire`, `model` and `listing` are
//! pure, so most of the logic is tested without a network or a database.
//!
//! Architecture invariant: depends on `domain` and `db`, never on `quota`, `trace`, `rules` or
//! the application; knows nothing of HTTP serving, cron or the CLI (the application schedules
//! [`Synchroniser::run_once`]).

pub mod batch;
pub mod catalogue;
pub mod client;
mod error;
pub mod listing;
pub mod model;
pub mod run;
pub mod store;
pub mod wire;

pub use catalogue::{Catalogue, CheckFacts};
pub use client::{Client, ClientConfig, Token};
pub use error::{Error, Result};
pub use run::{NoProgress, Progress, RunKind, SyncReport, SyncSettings, Synchroniser};
