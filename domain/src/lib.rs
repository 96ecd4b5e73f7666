//! Pure CITES vocabulary shared by every other crate: Appendices and listing change types,
//! source/purpose/term/unit codes (from the embedded `fixtures/codes/*.csv`), ISO country codes,
//! Species+ taxon ids, the one grammar of amounts people write, exact quantities with unit
//! conversion, dates, periods and the `Clock`.
//!
//! Every value is built through a `parse`/`new` that validates it, so holding one proves it is
//! well-formed. Parse errors name the field, the rejected value and what is accepted.
//!
//! Architecture invariant: this crate is pure. It does no I/O, has no async code, and must not
//! depend on sqlx, reqwest, axum, tokio or any other I/O crate; its only dependencies are serde,
//! thiserror, rust_decimal and chrono. Time enters only through the `Clock` trait.

// Tests may unwrap: a panic there is a test failure with a backtrace, which is what we want.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod amount;
mod appendix;
mod codes;
mod country;
mod error;
mod quantity;
mod serde_util;
mod taxon;
mod time;
mod unit;

pub use amount::{AMOUNT_ACCEPTED, AMOUNT_DIGITS_MAX, MICRO_PER_UNIT, from_micro, parse_amount};
pub use appendix::{Appendix, ChangeType};
pub use codes::{ACCEPTED_LIST_CHARS_MAX, CodeEntry, Kingdom, PurposeCode, SourceCode, TermCode};
pub use country::CountryCode;
pub use error::{ERROR_VALUE_CHARS_MAX, Error, Result, ResultExt};
pub use quantity::Quantity;
pub use taxon::TaxonId;
pub use time::{
    Clock, DATE_YEAR_MAX, DATE_YEAR_MIN, Date, LEAP_SECOND_REFUSED, ManualClock, Period,
    SystemClock, Timestamp, deserialize_instant_option, is_leap_second, parse_date,
    parse_timestamp,
};
pub use unit::{Dimension, LEGACY_UNIT_CODES, NUMBER_OF_SPECIMENS_CODE, Unit, UnitCode};
