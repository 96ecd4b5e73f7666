//! The report crate's tests over its public API, on one seeded review (`support`): tables and
//! files, and charts decoded as images.

#![allow(clippy::unwrap_used)]

mod charts;
mod support;
mod tables;
