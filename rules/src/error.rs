//! The crate's single error type: the application or the risk configuration could not be read.
//!
//! A permit that breaks a rule is not an error: it is a [`crate::Decision`] with reasons. `Err`
//! means the input could not be evaluated at all, and every variant names the field (or the
//! configuration key) to fix.

use std::borrow::Cow;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that stops an application or a configuration from being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required field is absent (or blank).
    #[error("{field}: missing; accepted: {accepted}")]
    Missing {
        /// The input field, e.g. `"date_trade"` or `"documents.origin_permit.country"`.
        field: &'static str,
        /// What a valid value looks like.
        accepted: &'static str,
    },
    /// A field is present but its value cannot be accepted.
    #[error("{field}: {problem}; accepted: {accepted}")]
    Invalid {
        /// The input field.
        field: &'static str,
        /// What is wrong, quoting the value, e.g. `"-3 is negative"`.
        problem: String,
        /// What a valid value looks like.
        accepted: Cow<'static, str>,
    },
    /// A code, country, unit, quantity or date that `domain` rejected.
    #[error("{field}: {source}")]
    Domain {
        /// The input field.
        field: &'static str,
        /// The domain parse error, which repeats the value and the accepted ones.
        #[source]
        source: domain::Error,
    },
    /// The risk configuration text is not valid.
    #[error("risk configuration: {key}: {message}")]
    Config {
        /// The offending key (or `"(document)"` when the error has no position).
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// The input field (or configuration key) the error is about.
    pub fn field(&self) -> &str {
        match self {
            Error::Missing { field, .. }
            | Error::Invalid { field, .. }
            | Error::Domain { field, .. } => field,
            Error::Config { key, .. } => key,
        }
    }

    pub(crate) fn invalid(
        field: &'static str,
        problem: impl Into<String>,
        accepted: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::Invalid {
            field,
            problem: problem.into(),
            accepted: accepted.into(),
        }
    }

    pub(crate) fn domain(field: &'static str, source: domain::Error) -> Error {
        Error::Domain {
            field,
            source: source.for_field(field),
        }
    }
}
