//! The application layer: the use cases the command line and the HTTP service share (the
//! permit check, API keys, the sample catalogue, the sync schedule, the provenance register),
//! over the library crates.
//! It imports neither `crate::cli` nor `crate::http`.

pub mod keys;
pub mod origin_permit;
pub mod permit_check;
pub mod permits;
pub mod progress;
pub mod quota;
pub mod quota_import;
pub mod report;
pub mod sample;
pub mod schedule;
pub mod settings;
pub mod trace;
pub mod trace_output;
pub mod views;
