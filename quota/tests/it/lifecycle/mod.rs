//! One reservation through its life, idempotency, units, expiry, audit.

mod audit;
mod expiry;
mod journey;
mod quotas;
mod release_and_commit_replay;
mod reservation_replay;
