//! Integration tests of the permit check, through the public API only: the decision table,
//! input errors, the risk score and snapshots of whole explanations.

// A panic in a test is a failure with a backtrace, which is what we want.
#![allow(clippy::unwrap_used)]

mod evidence;
mod fail_closed;
mod input;
mod risk;
mod snapshots;
mod support;
mod table;
