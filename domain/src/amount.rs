//! `parse_amount`: the one grammar for amounts typed by people (the permit check, the quota
//! routes and the quota commands all read theirs here).

#[cfg(test)]
mod tests;

use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// Storage units per unit of measure: stored amounts are BIGINT millionths of their unit (a
/// milligram of a kilogram quota, a millionth of a specimen count), identical and exact on
/// both backends (the quota ledger's amounts, the provenance register's quantities).
pub const MICRO_PER_UNIT: i64 = 1_000_000;

/// Millionths of a unit back to an exact decimal, without trailing zeros.
pub fn from_micro(micro: i64) -> Decimal {
    Decimal::new(micro, 6).normalize()
}

/// Most significant digits an amount may have: what an exact decimal (`Decimal`) holds.
pub const AMOUNT_DIGITS_MAX: usize = 28;

/// What [`parse_amount`] accepts, as error messages say it.
pub const AMOUNT_ACCEPTED: &str = "a decimal written out in digits with at most one decimal \
     point, e.g. 12 or 2.5 (no exponent such as 1e3, no separator such as 1_000)";

const DIGITS_ACCEPTED: &str = "at most 28 significant digits, what an exact decimal holds";

/// Reads an amount as people write it on a permit: an optional sign, digits, at most one
/// decimal point with digits on at least one side and never a trailing one (`.5` is read,
/// `2.` is not); surrounding spaces are ignored. Not `1e3`, `1_000` or `2.`, which Rust's
/// decimal parsers would also read. The sign is kept: whether a negative or zero amount is
/// acceptable is the caller's rule. Errors name `field` ([`Error::for_field`] renames it).
pub fn parse_amount(field: &'static str, text: &str) -> Result<Decimal> {
    let t = text.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let written = !whole.is_empty() || !fraction.is_empty();
    let dot_without_digits = digits.ends_with('.');
    if !written
        || dot_without_digits
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Error::invalid("amount", field, text, AMOUNT_ACCEPTED));
    }
    if whole.trim_start_matches('0').len() + fraction.len() > AMOUNT_DIGITS_MAX {
        return Err(Error::out_of_range("amount", field, t, DIGITS_ACCEPTED));
    }
    Decimal::from_str_exact(t).map_err(|_| Error::out_of_range("amount", field, t, DIGITS_ACCEPTED))
}
