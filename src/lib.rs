//! The `cites` application: command line, HTTP service, configuration, API keys and the sync
//! schedule. It composes the library crates (`sync`, `quota`, `rules`) in three layers: `app`
//! (the use cases), `http` and `cli` (the two interfaces over it, never over each other);
//! `main.rs` wires them. `cli` is the only place that builds the system clock or reads the
//! environment.
//!
//! Architecture invariant: the library crates never depend on this one.

pub mod app;
pub mod cli;
pub mod http;
