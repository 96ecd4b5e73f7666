//! Integration tests of the `sync` crate against the fake Species+ server, each scenario on
//! SQLite and on PostgreSQL (127.0.0.1:5432, or `CITES_TEST_POSTGRES_URL`).

mod support;

mod dump;
mod faults;
mod full;
mod incremental;
mod listing;
mod requests;
mod resume;
mod sample;
