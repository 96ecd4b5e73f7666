//! The provenance register: specimens and lots, the events that produce, consume and move them
//! (acquisitions, splits, merges, transforms, relabels, custody and trade events), the
//! documents that authorise them and the agents that act, with the queries an enforcement
//! officer asks of them: where a specimen came from, where an acquisition went, what a
//! document or an identifier refers to.
//!
//! A batch of records is ingested whole or refused whole ([`Register::ingest`]): every
//! structural fault is named with its JSON path, and nothing is stored. Batches come in the
//! project's own JSON ([`parse_batch`]) or as EPCIS 2.0 JSON-LD documents ([`parse_epcis`]).
//! Plausibility faults (conservation, time order, identifiers used twice) do not refuse a
//! batch: they are stored as [`Finding`]s. Quantities are exact: integer millionths of a unit
//! with the unit's code, never floats. The tables are append-only (database triggers refuse a
//! change or a deletion): a correction is a new record that supersedes.
//!
//! Queries fetch a bounded subgraph from SQL (depth and size limits, a `truncated` flag) and
//! analyse it with petgraph, using only iterative algorithms: the recursive ones abort the
//! process on deep chains.
//!
//! The full sweep ([`Register::sweep`]) loads the whole register into petgraph and checks
//! every invariant across batches, with the anomaly scans (breeding plausibility, re-exports
//! exceeding imports, implausible source codes) against the yield and breeding tables of
//! [`TraceConfig`]; [`Register::legal_acquisition`] reports the evidence present and missing
//! for a specimen's legal acquisition (Res. Conf. 18.7).
//!
//! Owns the `trace_*` tables. Architecture invariant: depends on `domain` and `db` among our
//! crates, never on `quota`, `sync` or `rules` (the application hands in what they know);
//! knows nothing of HTTP or the CLI.

mod config;
mod documents;
mod epcis;
mod error;
mod evidence;
mod findings;
mod ingest;
mod inherit;
mod model;
mod parse;
mod query;
pub mod render;
mod store;
mod sweep;

pub use config::{BreedingEntry, TRACE_DEFAULT_TOML, TaxonRef, TraceConfig, YieldEntry};
pub use documents::Reexported;
pub use epcis::{DERIVED_EVENT_PREFIX, DOCUMENT_URI_PREFIX, parse_epcis};
pub use error::{Error, Problem, Result};
pub use evidence::{
    AcquisitionPath, EvidenceMissing, EvidencePresent, LegalAcquisition, PARENT_ORIGINS_MAX,
    Unrooted,
};
pub use findings::{Finding, Severity, YIELD_TOLERANCE};
pub use ingest::{BATCH_RECORDS_MAX, CLIENT_KEY_CHARS_MAX, Ingested, Register};
pub use model::{
    Agent, AgentKind, Batch, Correction, DocStatus, DocType, Document, DocumentKey, Event,
    EventKind, Flow, IdScheme, Identifier, Inherited, Specimen,
};
pub use parse::{DOCUMENT_NUMBER_CHARS_MAX, parse_batch};
pub use query::{
    DEPTH_DEFAULT, DEPTH_MAX, DocumentView, Forward, Limits, NODES_DEFAULT, NODES_MAX, Node,
    Origin, QueryEdge, Reached,
};
pub use render::{RenderError, View};
pub use sweep::{PAGE_ROWS, Progress, Sweep, TaxonFacts};
