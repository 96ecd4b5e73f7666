//! Integration tests of the provenance register, every scenario on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod support;

mod documents;
mod epcis;
mod ingest;
mod queries;
mod render;
mod scenarios;
mod svg_chromium;
mod sweep;
mod upgrade;
