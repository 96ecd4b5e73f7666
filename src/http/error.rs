//! Every error the service answers, mapped to its HTTP status here and nowhere else: the
//! library crates' errors and the application's, each to a status, a stable code and a
//! message. Internal causes are logged with the request; clients get a short message and a
//! code, never a database error or a secret.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::RETRY_AFTER_SECS;

/// An error answer: status, stable code, message, and the field at fault if any.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) field: Option<std::borrow::Cow<'static, str>>,
    /// Every fault of a refused body, each with its path and message (a trace batch's).
    pub(crate) problems: Option<Vec<trace::Problem>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            problems: None,
        }
    }

    /// The same error, naming the field at fault.
    pub fn on_field(mut self, field: &'static str) -> ApiError {
        self.field = Some(field.into());
        self
    }

    pub fn invalid(
        field: impl Into<std::borrow::Cow<'static, str>>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_input",
            message: message.into(),
            field: Some(field.into()),
            problems: None,
        }
    }

    /// The database connection broke on every attempt (`db::is_connection_lost`): a 503 the
    /// client may retry, rather than a 500 that says the server is wrong. The cause is logged.
    pub fn unavailable(context: &str, error: &sqlx::Error) -> ApiError {
        tracing::warn!(context, error = %error, "database unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database could not be reached; try again shortly",
        )
    }

    pub fn internal(context: &str, error: &dyn std::error::Error) -> ApiError {
        // The chain goes to the log; the client gets no internals.
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(context, error = %chain, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not answer; the error is logged",
        )
    }
}

/// Whether a database error says the database is out of reach (every retry found the
/// connection broken, or the pool could not get one in time) or locked by another process
/// past the wait a statement is allowed, rather than that a statement failed: a 503, not a 500.
pub fn database_unavailable(e: &sqlx::Error) -> bool {
    db::is_connection_lost(e) || db::is_locked(e) || matches!(e, sqlx::Error::PoolTimedOut)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        if let Some(problems) = self.problems {
            error["problems"] = json!(problems);
        }
        let response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            with_retry_after(response)
        } else {
            response
        }
    }
}

/// `response` (a 503) with `Retry-After: RETRY_AFTER_SECS`.
pub(crate) fn with_retry_after(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(RETRY_AFTER_SECS),
    );
    response
}

impl From<sync::Error> for ApiError {
    fn from(e: sync::Error) -> ApiError {
        match &e {
            sync::Error::TaxonNotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            sync::Error::AmbiguousName { .. } => ApiError::invalid("name", e.to_string()),
            sync::Error::InvalidRange { .. } => ApiError::invalid("to", e.to_string()),
            sync::Error::LimitExceeded { .. } => ApiError::invalid("to", e.to_string()),
            sync::Error::Domain(d) => {
                ApiError::invalid(d.field().unwrap_or("input"), d.to_string())
            }
            sync::Error::Sqlx(s) if database_unavailable(s) => {
                ApiError::unavailable("catalogue", s)
            }
            _ => ApiError::internal("catalogue", &e),
        }
    }
}

impl From<quota::Error> for ApiError {
    fn from(e: quota::Error) -> ApiError {
        match &e {
            quota::Error::QuotaNotFound(_) | quota::Error::ReservationNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            quota::Error::KeyConflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "key_conflict", e.to_string())
                    .on_field("client_key")
            }
            quota::Error::QuotaExists { .. } => {
                ApiError::new(StatusCode::CONFLICT, "quota_exists", e.to_string())
            }
            quota::Error::Invalid { field, .. } => ApiError::invalid(*field, e.to_string()),
            quota::Error::Stopped => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "stopping", e.to_string())
            }
            // A conversion names no field of its own: a unit that cannot measure against the
            // quota's is the unit's fault, an amount that cannot be converted the quantity's.
            quota::Error::Domain(d) => ApiError::invalid(
                d.field().unwrap_or(match d {
                    domain::Error::IncompatibleUnits { .. } => "unit",
                    _ => "quantity",
                }),
                d.to_string(),
            ),
            // The database stayed busy or out of reach through every retry. Whether the
            // request took effect is for a retry with the same key to tell; the cause is
            // logged, not sent.
            quota::Error::Busy(_) | quota::Error::GroupFailed(_) => {
                tracing::warn!(error = %e, "quota ledger unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the quota ledger could not be reached in time; send the request again with \
                     the same client_key and the same API key: it takes effect at most once",
                )
            }
            quota::Error::Sqlx(s) if crate::http::database_unavailable(s) => {
                ApiError::unavailable("quota ledger", s)
            }
            _ => ApiError::internal("quota ledger", &e),
        }
    }
}

impl From<crate::app::trace::TraceError> for ApiError {
    fn from(e: crate::app::trace::TraceError) -> ApiError {
        use crate::app::trace::TraceError as E;
        match e {
            E::Invalid { field, message } => ApiError::invalid(field, message),
            E::Refused(problems) => {
                let mut refused = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "batch_refused",
                    format!(
                        "the batch was refused whole, nothing stored: {} problem(s), each named in error.problems with its JSON path",
                        problems.len()
                    ),
                )
                .on_field("body");
                refused.problems = Some(problems);
                refused
            }
            e @ E::KeyConflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "key_conflict", e.to_string())
                    .on_field("client_key")
            }
            E::NotFound(message) => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
            e => match e.sqlx() {
                Some(s) if database_unavailable(s) => ApiError::unavailable("trace register", s),
                _ => ApiError::internal("trace register", &e),
            },
        }
    }
}

impl From<crate::app::permits::PermitError> for ApiError {
    fn from(e: crate::app::permits::PermitError) -> ApiError {
        use crate::app::permits::PermitError as E;
        match e {
            E::Invalid { field, message } => ApiError::invalid(field, message),
            E::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "permit_number_conflict", message)
                    .on_field("permit_number")
            }
            E::Ledger(q) => ApiError::from(q),
            e => match e.sqlx() {
                Some(s) if database_unavailable(s) => ApiError::unavailable("permit register", s),
                _ => ApiError::internal("permit register", &e),
            },
        }
    }
}

impl From<crate::app::permit_check::CheckError> for ApiError {
    fn from(e: crate::app::permit_check::CheckError) -> ApiError {
        use crate::app::permit_check::CheckError as E;
        match (e.field(), e) {
            (Some(field), e) => ApiError::invalid(field, e.to_string()),
            (None, E::KeyConflict(k)) => ApiError::new(
                StatusCode::CONFLICT,
                "key_conflict",
                E::KeyConflict(k).to_string(),
            )
            .on_field("client_key"),
            (None, E::Quota(q)) => ApiError::from(q),
            (None, E::Catalogue(c)) => ApiError::from(c),
            (None, E::CatalogueLoading) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "catalogue_loading",
                E::CatalogueLoading.to_string(),
            ),
            (None, E::Store(s)) if database_unavailable(&s) => {
                ApiError::unavailable("permit check", &s)
            }
            (None, E::RecordLost(s)) => {
                tracing::warn!(error = %s, "permit check record lost");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "outcome_unknown",
                    "the database connection broke while the check was being recorded: it may \
                     or may not have been; a check sent with a client_key can be sent again \
                     safely with the same API key, one without may then be recorded twice",
                )
            }
            (None, e) => ApiError::internal("permit check", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use serde_json::Value;

    use super::*;

    /// The body of `answer`, which must be a 503 coded "unavailable".
    async fn unavailable_body(answer: ApiError) -> Value {
        let answer = answer.into_response();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "unavailable");
        body
    }

    #[tokio::test]
    async fn a_ledger_out_of_reach_is_a_503_telling_to_retry_with_the_same_key_without_the_cause() {
        for e in [
            quota::Error::Busy(quota::TRANSIENT_RETRIES_MAX),
            quota::Error::GroupFailed("error communicating with database at db-7.internal".into()),
        ] {
            let body = unavailable_body(ApiError::from(e)).await;
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("same client_key"), "{message}");
            assert!(!message.contains("db-7"), "{message}");
        }
    }

    #[tokio::test]
    async fn a_database_out_of_reach_on_a_read_is_a_503_not_a_500_and_keeps_its_cause_to_the_log() {
        let lost = || {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "reset by db-7.internal",
            ))
        };
        for answer in [
            ApiError::from(quota::Error::Sqlx(lost())),
            ApiError::from(sync::Error::Sqlx(lost())),
            ApiError::from(crate::app::permit_check::CheckError::Store(lost())),
            ApiError::from(quota::Error::Sqlx(sqlx::Error::PoolTimedOut)),
        ] {
            let body = unavailable_body(answer).await;
            assert!(!body.to_string().contains("db-7"), "{body}");
        }
        // An unkeyed check whose record was lost: not "try again", since it may count twice.
        let lost_record = ApiError::from(crate::app::permit_check::CheckError::RecordLost(lost()))
            .into_response();
        assert_eq!(lost_record.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(lost_record.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "outcome_unknown");
        assert!(!body.to_string().contains("db-7"), "{body}");
        // A statement that failed is still the server's fault, not a reason to retry.
        let failed = ApiError::from(quota::Error::Sqlx(sqlx::Error::RowNotFound)).into_response();
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
