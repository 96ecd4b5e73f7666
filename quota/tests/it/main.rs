//! Integration tests of the quota ledger, every scenario on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod support;

mod concurrency;
mod connection_loss;
mod group;
mod history_order;
mod lifecycle;
mod linked;
mod model;
mod permits;
mod rules_of_use;
