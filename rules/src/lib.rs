//! The permit check: one explainable decision (ALLOW, REFUSE, NEEDS_REVIEW or NOT_CITES) from an
//! application and the facts the application gathered about its taxon, listing, annotations,
//! Parties, suspensions, quotas and history, plus an advisory risk score.
//!
//! Owns: parsing an application into checked values ([`Application::parse`], every error naming
//! its field), the thirteen rules of the permit-check checklist (`tests/it/table/` walks them)
//! and their reason codes, the precedence NOT_CITES > NOT_CONTROLLED_ANNOTATION > REFUSE >
//! NEEDS_REVIEW > ALLOW, box 11a, and the risk score with its configuration ([`RiskConfig`]).
//!
//! Layout: `input` (application in and checked), `facts` (what the caller supplies),
//! `check` (the rules, one module per group of checklist items), `annotation` (# annotation
//! table and "exclusive purpose" parser), `risk`, `decision` (the explanation), `error`.
//!
//! Architecture invariant: pure. Depends only on `domain` (plus serde, thiserror, chrono,
//! rust_decimal and toml for the configuration text); it must not depend on `db`, `sync`,
//! `quota`, or any I/O crate (sqlx, tokio, reqwest, axum). It reads no files, no environment and
//! no clock: "today" arrives in [`Facts::today`]. The caller (server or CLI) gathers the facts
//! from the catalogue and the quota ledger, calls [`check()`], and does any reservation itself.
//! A failed rule is data in the [`Decision`]; `Err` only means the input could not be read.

// Tests may unwrap: a panic there is a test failure with a backtrace, which is what we want.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod annotation;
mod check;
mod decision;
mod error;
mod facts;
mod input;
pub mod measure;
mod risk;

pub use check::{
    EXPORT_VALIDITY_MONTHS_MAX, IMPORT_VALIDITY_MONTHS_MAX, SUSPENSION_CONDITION_WORDS, check,
};
pub use decision::{
    Box11a, Decision, Effect, Evidence, ListingRef, ListingSummary, Precedence, Reason, ReasonCode,
    RiskCode, RiskIndicator, RiskLevel, RiskScore, Role, Verdict,
};
pub use error::{Error, Result};
pub use facts::{
    Facts, HashAnnotationFact, ListingChangeFact, ListingFacts, ListingStatus, PriorDocumentStatus,
    QuotaFact, ReservationFact, SuspensionFact, SuspensionKind, TaxonFacts,
};
pub use input::{
    Application, ApplicationInput, CLIENT_KEY_CHARS_MAX, Documents, DocumentsInput, ImportPermit,
    ImportPermitInput, PRE_CONVENTION_YEAR_MIN, PresentedPermit, PresentedPermitInput,
    PriorDocument, PriorDocumentInput, QUANTITY_MAX, REFERENCE_CHARS_MAX, TAXON_NAME_CHARS_MAX,
    Transaction,
};
pub use risk::{
    Levels, QuantityAboveHistory, QuotaNearlyUsed, RISK_WEIGHT_MAX, RISK_WINDOW_DAYS_MAX,
    RecentListingAmendment, RefusedApplications, RiskConfig, Weight,
};

/// The default risk configuration as documented TOML, for the application to ship or print.
pub const RISK_DEFAULT_TOML: &str = include_str!("../risk.default.toml");
