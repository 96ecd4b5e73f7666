//! The `cites` application: command line, HTTP service, configuration, API keys and the sync
//! schedule. It composes the library crates (`sync`, and later `quota`, `trace`, `rules`) and is
//! the only place that builds the system clock or reads the environment.
//!
//! Architecture invariant: the library crates never depend on this one.

pub mod check_cli;
pub mod cli;
pub mod keys;
pub mod listen;
pub mod openapi;
pub mod permit_check;
pub mod progress;
pub mod quota_api;
pub mod quota_cli;
pub mod sample;
pub mod schedule;
pub mod server;
