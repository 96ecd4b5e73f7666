//! The crate's single error type, `domain::Error`, and the `for_field` helpers.

use std::borrow::Cow;

use rust_decimal::Decimal;

use crate::time::Date;
use crate::unit::UnitCode;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest input value (in characters) that an error message repeats.
///
/// Inputs come from files and HTTP bodies; an unbounded value would make log lines unbounded.
pub const ERROR_VALUE_CHARS_MAX: usize = 64;

/// Everything that can go wrong when building or combining domain values.
///
/// Parse errors name the field, the rejected value and what is accepted, so the message alone is
/// enough for a user to fix their input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value could not be parsed into a domain type.
    #[error("invalid {what} {value:?} for field \"{field}\": accepted {accepted}")]
    Invalid {
        /// What was being parsed, e.g. "source code".
        what: &'static str,
        /// Name of the input field, settable with [`Error::for_field`].
        field: &'static str,
        /// The rejected input, truncated to [`ERROR_VALUE_CHARS_MAX`] characters.
        value: String,
        /// Human-readable description of the accepted values.
        accepted: Cow<'static, str>,
    },
    /// A value was well-formed but outside the range the engine accepts.
    #[error("{what} {value:?} for field \"{field}\" is out of range: accepted {accepted}")]
    OutOfRange {
        /// What was being checked, e.g. "date".
        what: &'static str,
        /// Name of the input field, settable with [`Error::for_field`].
        field: &'static str,
        /// The rejected input, truncated to [`ERROR_VALUE_CHARS_MAX`] characters.
        value: String,
        /// Human-readable description of the accepted range.
        accepted: Cow<'static, str>,
    },
    /// A period whose end is not after its start.
    #[error(
        "invalid period for field \"{field}\": end {end} must be after start {start} \
         (periods are half-open, the end date is excluded)"
    )]
    InvalidPeriod {
        /// Name of the input field, settable with [`Error::for_field`].
        field: &'static str,
        /// First day of the rejected period.
        start: Date,
        /// Exclusive end of the rejected period.
        end: Date,
    },
    /// Two units measure different things (e.g. a count and a mass) and cannot be converted.
    #[error(
        "incompatible units: cannot convert {} ({}, {}) to {} ({}, {})",
        from.code(), from.description(), from.dimension(),
        to.code(), to.description(), to.dimension()
    )]
    IncompatibleUnits {
        /// Unit of the quantity being converted.
        from: UnitCode,
        /// Requested target unit.
        to: UnitCode,
    },
    /// The converted amount cannot be represented exactly as a decimal.
    #[error(
        "conversion of {amount} {} to {} has no exact decimal result; convert to a metric unit instead",
        from.code(), to.code()
    )]
    InexactConversion {
        /// Amount being converted, in `from` units.
        amount: Decimal,
        /// Unit of the quantity being converted.
        from: UnitCode,
        /// Requested target unit.
        to: UnitCode,
    },
    /// Arithmetic on quantities exceeded the range of `Decimal`.
    #[error("quantity overflow: {amount} {} cannot be expressed in {}", from.code(), to.code())]
    QuantityOverflow {
        /// Amount being converted or added, in `from` units.
        amount: Decimal,
        /// Unit of the amount.
        from: UnitCode,
        /// Unit the result was wanted in.
        to: UnitCode,
    },
}

impl Error {
    /// Renames the field an error refers to, for callers whose input field differs from the
    /// default (e.g. `"origin_country"` rather than `"country"`). Errors without a field are
    /// returned unchanged.
    #[must_use]
    pub fn for_field(mut self, name: &'static str) -> Error {
        match &mut self {
            Error::Invalid { field, .. }
            | Error::OutOfRange { field, .. }
            | Error::InvalidPeriod { field, .. } => *field = name,
            Error::IncompatibleUnits { .. }
            | Error::InexactConversion { .. }
            | Error::QuantityOverflow { .. } => {}
        }
        self
    }

    /// The field this error refers to, if it refers to one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Invalid { field, .. }
            | Error::OutOfRange { field, .. }
            | Error::InvalidPeriod { field, .. } => Some(field),
            Error::IncompatibleUnits { .. }
            | Error::InexactConversion { .. }
            | Error::QuantityOverflow { .. } => None,
        }
    }

    /// Builds an [`Error::Invalid`], truncating the value.
    pub(crate) fn invalid(
        what: &'static str,
        field: &'static str,
        value: &str,
        accepted: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::Invalid {
            what,
            field,
            value: truncate(value),
            accepted: accepted.into(),
        }
    }

    /// Builds an [`Error::OutOfRange`], truncating the value.
    pub(crate) fn out_of_range(
        what: &'static str,
        field: &'static str,
        value: &str,
        accepted: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::OutOfRange {
            what,
            field,
            value: truncate(value),
            accepted: accepted.into(),
        }
    }
}

/// Lets callers name the field on a whole `Result`: `SourceCode::parse(s).for_field("source")`.
pub trait ResultExt<T> {
    /// Applies [`Error::for_field`] to the error, if any.
    fn for_field(self, field: &'static str) -> Result<T>;
}

impl<T> ResultExt<T> for Result<T> {
    fn for_field(self, field: &'static str) -> Result<T> {
        self.map_err(|err| err.for_field(field))
    }
}

fn truncate(value: &str) -> String {
    match value.char_indices().nth(ERROR_VALUE_CHARS_MAX) {
        None => value.to_owned(),
        Some((idx, _)) => format!("{}…", &value[..idx]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_error_message_names_field_value_and_accepted_values() {
        let err = Error::invalid("appendix", "appendix", "IV", "I, II, III");
        assert_eq!(
            err.to_string(),
            r#"invalid appendix "IV" for field "appendix": accepted I, II, III"#
        );
    }

    #[test]
    fn for_field_renames_the_field_in_the_message() {
        let err: Result<()> = Err(Error::invalid("source code", "source", "Q", "W"));
        let err = err.for_field("origin_source").unwrap_err();
        assert_eq!(err.field(), Some("origin_source"));
        assert!(err.to_string().contains(r#"field "origin_source""#));
    }

    #[test]
    fn long_values_are_truncated_in_error_messages() {
        let long = "x".repeat(1000);
        let err = Error::invalid("term code", "term", &long, "see terms.csv");
        let Error::Invalid { value, .. } = &err else {
            panic!("expected Invalid, got {err:?}")
        };
        assert_eq!(value.chars().count(), ERROR_VALUE_CHARS_MAX + 1);
        assert!(value.ends_with('…'));
    }

    #[test]
    fn error_values_with_quotes_are_escaped_in_messages() {
        let err = Error::invalid("appendix", "appendix", "a\"b", "I, II, III");
        assert!(err.to_string().contains(r#""a\"b""#), "{err}");
    }
}
