//! The error type of the register. A plausibility fault is not an error: it is a stored
//! [`crate::Finding`]. A structural fault refuses the batch with every problem named.

use serde::Serialize;

/// One structural fault of a batch: where it is (a JSON path such as
/// `events[2].inputs[0].specimen`) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// Errors of the register.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("batch refused, nothing stored: {}", summary(.problems))]
    Refused { problems: Vec<Problem> },
    #[error(
        "client key {key:?} was first used for another batch ({first}); a key identifies one batch (sent again with the same content, it gets its first answer): use a new key for a new batch"
    )]
    KeyConflict { key: String, first: String },
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The sweep's configuration (the yield and breeding tables) cannot be taken.
    #[error("trace configuration: {key}: {message}")]
    Config { key: String, message: String },
    #[error("specimen {0:?} is not in the register")]
    SpecimenNotFound(String),
    #[error("event {0:?} is not in the register")]
    EventNotFound(String),
    #[error("stored data the register cannot read: {0}")]
    Corrupt(String),
    #[error("database error")]
    Db(#[from] db::Error),
    #[error("database error")]
    Sqlx(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn summary(problems: &[Problem]) -> String {
    let shown: Vec<String> = problems
        .iter()
        .take(5)
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    let more = problems.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} (and {more} more)", shown.join("; "))
    } else {
        shown.join("; ")
    }
}

/// Problems collected while reading or checking a batch.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was found, the refusal otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::Refused { problems: self.0 })
        }
    }
}
