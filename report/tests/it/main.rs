//! The report crate's tests over its public API, on one seeded review (`support`): tables and
//! files.

#![allow(clippy::unwrap_used)]

mod support;
mod tables;
