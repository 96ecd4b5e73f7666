//! Exact amounts in storage: BIGINT millionths of the quota's unit.
//!
//! SQLite has no exact decimal type and PostgreSQL's NUMERIC would make the two backends differ;
//! scaled integers give identical, exact arithmetic and CHECK constraints on both.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::error::{Error, Result};

pub use domain::{MICRO_PER_UNIT, from_micro};

/// `amount` in millionths; refuses more than six decimal places and amounts beyond i64.
pub fn to_micro(field: &'static str, amount: Decimal) -> Result<i64> {
    if amount.is_sign_negative() {
        return Err(Error::Invalid {
            field,
            message: format!("{amount} is negative; accepted a quantity >= 0"),
        });
    }
    let too_large = || Error::Invalid {
        field,
        message: format!(
            "{amount} is too large; accepted at most {} in the quota's unit",
            from_micro(i64::MAX)
        ),
    };
    let scaled = amount
        .checked_mul(Decimal::from(MICRO_PER_UNIT))
        .ok_or_else(too_large)?;
    if scaled.fract() != Decimal::ZERO {
        return Err(Error::Invalid {
            field,
            message: format!("{amount} has more than 6 decimal places in the quota's unit"),
        });
    }
    scaled.to_i64().ok_or_else(too_large)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn micro_conversion_is_exact_both_ways() {
        for s in ["0", "1", "2.5", "0.000001", "123456.789012"] {
            let d = Decimal::from_str(s).unwrap();
            assert_eq!(from_micro(to_micro("q", d).unwrap()), d.normalize(), "{s}");
        }
    }

    #[test]
    fn an_amount_beyond_storage_is_refused_with_the_largest_accepted() {
        for s in ["9223372036854.775808", "79228162514264337593543950335"] {
            let e = to_micro("limit", Decimal::from_str(s).unwrap()).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "invalid limit: {s} is too large; accepted at most 9223372036854.775807 in \
                     the quota's unit"
                )
            );
        }
        assert!(to_micro("limit", Decimal::from_str("9223372036854.775807").unwrap()).is_ok());
    }

    #[test]
    fn more_than_six_decimals_is_refused_naming_the_field() {
        let e = to_micro("quantity", Decimal::from_str("0.0000001").unwrap()).unwrap_err();
        assert!(
            e.to_string().contains("quantity") && e.to_string().contains("6 decimal"),
            "{e}"
        );
    }
}
