//! The error type of the quota ledger: "could not answer". A refused reservation is not an
//! error; it is an [`crate::Outcome::Refused`].

/// Errors of the quota ledger.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("quota {0} not found")]
    QuotaNotFound(i64),
    #[error("reservation {0} not found")]
    ReservationNotFound(i64),
    #[error(
        "client key {key:?} was first used for another request ({first}, or the same with other parameters); a key identifies one request (sent again with the same parameters, it gets its first answer): use a new key for a new request"
    )]
    KeyConflict {
        /// As the client sent it ([`crate::ClientKey::client_part`]): never the stored form,
        /// which holds the caller's name.
        key: String,
        first: String,
    },
    #[error(
        "quota {existing} already covers {scope}: a national quota is declared once for an exporter, taxon, unit and restrictions over a period; revise quota {existing} instead, or declare a period that does not overlap it"
    )]
    QuotaExists { existing: i64, scope: String },
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Domain(#[from] domain::Error),
    #[error("the reservation writer has stopped (the service is shutting down)")]
    Stopped,
    #[error(
        "the batch this reservation was in could not be written ({0}); send the request again with the same client key: it takes effect at most once"
    )]
    GroupFailed(String),
    #[error(
        "the database stayed locked by another process, or out of reach, for {secs} s ({0} attempts); send the request again with the same client key: it takes effect at most once",
        secs = crate::ledger::WRITE_DEADLINE.as_secs()
    )]
    Busy(u32),
    #[error("database error")]
    Db(#[from] db::Error),
    #[error("database error")]
    Sqlx(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The input field at fault, for a 422 answer.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            Error::Domain(d) => d.field(),
            _ => None,
        }
    }
}
