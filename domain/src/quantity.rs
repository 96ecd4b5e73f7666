//! `Quantity`: a non-negative exact decimal amount with a unit, and exact unit conversion.

#[cfg(test)]
mod tests;

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::unit::UnitCode;

/// A non-negative amount in a unit, e.g. 1.5 KGM or 12 NAR.
///
/// Equality is structural: 1 KGM and 1000 GRM are different values; convert first to compare.
/// Serialised as `{"amount": "1.5", "unit": "KGM"}` (amount as a string, so no float rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "QuantityRepr")]
pub struct Quantity {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    unit: UnitCode,
}

/// Unvalidated serde shape of [`Quantity`].
#[derive(Deserialize)]
struct QuantityRepr {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    unit: UnitCode,
}

impl Quantity {
    /// Builds a quantity, refusing negative amounts (the error names the field `"quantity"`).
    /// A negative zero is stored as zero.
    pub fn new(amount: Decimal, unit: UnitCode) -> Result<Quantity> {
        if amount.is_zero() {
            return Ok(Quantity {
                amount: Decimal::ZERO,
                unit,
            });
        }
        if amount.is_sign_negative() {
            return Err(Error::invalid(
                "amount",
                "quantity",
                &amount.to_string(),
                "zero or a positive decimal number",
            ));
        }
        Ok(Quantity { amount, unit })
    }

    /// Zero in `unit`.
    pub fn zero(unit: UnitCode) -> Quantity {
        Quantity {
            amount: Decimal::ZERO,
            unit,
        }
    }

    /// The amount, in [`Quantity::unit`] units.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The unit, always a current code (never blank or legacy).
    pub fn unit(&self) -> UnitCode {
        self.unit
    }

    /// True when the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Converts exactly into `target`, which must measure the same dimension.
    ///
    /// Fails with [`Error::IncompatibleUnits`] across dimensions (a count against a mass, bags
    /// against boxes), with [`Error::InexactConversion`] when the result has no exact decimal
    /// form (1 KGM in pounds), and with [`Error::QuantityOverflow`] beyond `Decimal`'s range.
    /// The result's amount has trailing zeros removed (1500 GRM is 1.5 KGM, not 1.500 KGM).
    pub fn convert_to(&self, target: UnitCode) -> Result<Quantity> {
        let from = self.unit.unit();
        let to = target.unit();
        if from.dimension() != to.dimension() {
            return Err(Error::IncompatibleUnits {
                from: self.unit,
                to: target,
            });
        }
        if self.unit == target {
            return Ok(*self);
        }
        let overflow = || Error::QuantityOverflow {
            amount: self.amount,
            from: self.unit,
            to: target,
        };
        let inexact = || Error::InexactConversion {
            amount: self.amount,
            from: self.unit,
            to: target,
        };

        let in_base = self
            .amount
            .checked_mul(from.factor_to_base())
            .ok_or_else(overflow)?;
        if !is_exact_product(self.amount, from.factor_to_base(), in_base) {
            return Err(inexact());
        }
        let converted = in_base
            .checked_div(to.factor_to_base())
            .ok_or_else(overflow)?;
        // Division rounds to 28 significant digits; only an exact quotient multiplies back.
        if !is_exact_product(converted, to.factor_to_base(), in_base) {
            return Err(inexact());
        }
        Ok(Quantity {
            amount: converted.normalize(),
            unit: target,
        })
    }

    /// Adds `other`, converted exactly into this quantity's unit.
    pub fn checked_add(&self, other: &Quantity) -> Result<Quantity> {
        let other = other.convert_to(self.unit)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(Error::QuantityOverflow {
                amount: other.amount,
                from: other.unit,
                to: self.unit,
            })?;
        Ok(Quantity {
            amount,
            unit: self.unit,
        })
    }
}

/// Whether `a * b == product` holds exactly, using integer arithmetic on the mantissas.
///
/// `Decimal` multiplication and division round silently once a result needs more than 28
/// decimal places, so their results are checked here. Products too large for `i128` count as
/// inexact, which errs on the side of refusing a conversion.
fn is_exact_product(a: Decimal, b: Decimal, product: Decimal) -> bool {
    let scale_ab = a.scale() + b.scale();
    let scale = scale_ab.max(product.scale());
    let lhs = a
        .mantissa()
        .checked_mul(b.mantissa())
        .and_then(|m| m.checked_mul(pow10(scale - scale_ab)?));
    let rhs = pow10(scale - product.scale()).and_then(|p| product.mantissa().checked_mul(p));
    matches!((lhs, rhs), (Some(l), Some(r)) if l == r)
}

fn pow10(exp: u32) -> Option<i128> {
    10_i128.checked_pow(exp)
}

impl TryFrom<QuantityRepr> for Quantity {
    type Error = Error;

    fn try_from(repr: QuantityRepr) -> Result<Quantity> {
        Quantity::new(repr.amount, repr.unit)
    }
}

impl fmt::Display for Quantity {
    /// `1.5 KGM`; counts print as `12 NAR`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit)
    }
}
