//! End-to-end tests of the `cites` binary and its HTTP service, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod check;
mod check_after_sync;
mod cli;
mod connection_loss;
mod crash;
mod credentials;
mod db_faults;
mod first_start;
mod held_lock;
mod http;
mod nested_quotas;
mod permits;
mod quota;
mod quota_crash;
mod report;
mod report_trade;
mod schedule;
mod slow_clients;
mod support;
mod tidy;
mod trace;
mod trace_check;
mod trace_output;
