//! End-to-end tests of the `cites` binary and its HTTP service, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod check;
mod cli;
mod connection_loss;
mod crash;
mod credentials;
mod http;
mod quota;
mod quota_crash;
mod schedule;
mod support;
mod tidy;
