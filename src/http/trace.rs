//! The provenance register over HTTP: `POST /v1/trace/events` ingests a batch (the project's
//! JSON, or an EPCIS 2.0 document), and the queries answer the origin and forward trace of a
//! specimen, the forward trace of an event, and look-ups by identifier and document number
//! a specimen's legal-acquisition report, and the full sweep's findings under the shipped
//! yield and breeding tables (one sweep at a time: it holds the whole register in memory); the
//! use cases are `app::trace`'s. A trace answer is JSON, or by `Accept` GraphViz DOT, an SVG
//! picture or an EPCIS 2.0 document (`app::trace_output`).
//!
//! Permit officers, enforcement and admins ingest; every key reads. A batch is accepted whole
//! or refused whole (422 `batch_refused`, every fault in `error.problems`); its `client_key`
//! (a query parameter, since the body is the batch itself) is scoped to the API key.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use quota::ClientKey;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::keys::Role;
use crate::app::trace::{Format, Tracing, limits};
use crate::app::trace_output::{OutputFormat, render as render_answer};
use crate::http::{ApiError, AppQuery, AppState, Authenticated};

/// Roles that may ingest: permit officers (their documents and trade events), enforcement
/// (seizures) and admins.
pub const INGEST_ROLES: &[Role] = &[Role::PermitOfficer, Role::Enforcement, Role::Admin];

/// Largest batch body accepted, in bytes: a batch holds up to [`trace::BATCH_RECORDS_MAX`]
/// records, far more than any other body of the service.
pub const TRACE_BODY_BYTES_MAX: usize = 32 * 1024 * 1024;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/trace/events",
            post(ingest).layer(DefaultBodyLimit::max(TRACE_BODY_BYTES_MAX)),
        )
        .route("/v1/trace/specimens/{key}/origin", get(origin))
        .route("/v1/trace/specimens/{key}/forward", get(forward))
        .route(
            "/v1/trace/specimens/{key}/legal-acquisition",
            get(legal_acquisition),
        )
        .route("/v1/trace/events/{key}/forward", get(event_forward))
        .route("/v1/trace/identifiers/{value}", get(by_identifier))
        .route("/v1/trace/findings", get(findings))
        .route("/v1/trace/documents/{number}", get(by_document))
}

fn tracing_of(state: &AppState) -> Tracing {
    Tracing::new(state.db.clone(), state.clock.clone())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestQuery {
    client_key: Option<String>,
}

/// `POST /v1/trace/events?client_key=K`: one batch, accepted whole with its findings or
/// refused whole.
async fn ingest(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    AppQuery(q): AppQuery<IngestQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let key = q.client_key.ok_or_else(|| {
        ApiError::invalid(
            "client_key",
            "client_key is required (a query parameter): a unique key per batch, reused only to retry it",
        )
    })?;
    let key = ClientKey::of_caller(&caller.name, &key)?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    let json = media_type
        .as_deref()
        .is_some_and(|m| m == "application/json" || m == "application/ld+json");
    if !json {
        return Err(ApiError::invalid(
            "body",
            "send the batch as JSON, with Content-Type: application/json (the project's batch, or an EPCIS document) or application/ld+json (an EPCIS 2.0 document)",
        ));
    }
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the batch is larger than the {TRACE_BODY_BYTES_MAX} bytes accepted: send it in several"),
            )
            .on_field("body")
        } else {
            ApiError::invalid("body", r.body_text())
        }
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::invalid("body", format!("the body is not one JSON document: {e}"))
    })?;
    let format = Format::detect(media_type.as_deref(), &value);
    let ingested = tracing_of(&state).ingest(&value, format, &key).await?;
    Ok(Json(json!({
        "client_key": key.client_part(),
        "batch_id": ingested.batch_id,
        "replayed": ingested.replayed,
        "findings": ingested.findings,
    })))
}

/// The `depth` and `nodes` of a query, read by [`limits`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsQuery {
    depth: Option<String>,
    nodes: Option<String>,
}

impl LimitsQuery {
    fn limits(&self) -> Result<trace::Limits, ApiError> {
        Ok(limits(self.depth.as_deref(), self.nodes.as_deref())?)
    }
}

/// A path segment as sent, percent-decoded; one that does not decode is a 422 naming it.
fn segment(name: &'static str, p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(s)| s)
        .map_err(|e| ApiError::invalid(name, format!("invalid {name}: {}", e.body_text())))
}

/// A trace answer in the format `Accept` asks for (JSON unless it names one of the others).
fn answer(
    state: &AppState,
    headers: &HeaderMap,
    answer: &impl serde::Serialize,
    view: &trace::View<'_>,
) -> Result<Response, ApiError> {
    let format = OutputFormat::from_accept(
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    if format == OutputFormat::Json {
        return Ok(Json(json!(answer)).into_response());
    }
    let body = render_answer(answer, view, format, state.clock.now()).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_renderable",
            format!("the answer cannot be given as {}: {e}", format.media_type()),
        )
        .on_field("Accept")
    })?;
    let content_type = format!("{}; charset=utf-8", format.media_type());
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

async fn origin(
    State(state): State<AppState>,
    _: Authenticated,
    key: Result<Path<String>, PathRejection>,
    AppQuery(q): AppQuery<LimitsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = segment("key", key)?;
    let o = tracing_of(&state).origin(&key, q.limits()?).await?;
    answer(&state, &headers, &o, &o.view())
}

async fn forward(
    State(state): State<AppState>,
    _: Authenticated,
    key: Result<Path<String>, PathRejection>,
    AppQuery(q): AppQuery<LimitsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = segment("key", key)?;
    let f = tracing_of(&state).forward(&key, q.limits()?).await?;
    answer(&state, &headers, &f, &f.view())
}

async fn legal_acquisition(
    State(state): State<AppState>,
    _: Authenticated,
    key: Result<Path<String>, PathRejection>,
    AppQuery(q): AppQuery<LimitsQuery>,
) -> Result<Json<Value>, ApiError> {
    let key = segment("key", key)?;
    let r = tracing_of(&state)
        .legal_acquisition(&key, q.limits()?)
        .await?;
    Ok(Json(json!(r)))
}

/// One sweep at a time: each holds the whole register in memory, so concurrent requests wait
/// their turn rather than multiply it.
static SWEEPS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// `GET /v1/trace/findings`: the full sweep of the register, under the service's tables
/// (`--trace-config`, the shipped ones by default).
async fn findings(
    State(state): State<AppState>,
    _: Authenticated,
    AppQuery(crate::http::NoQuery {}): AppQuery<crate::http::NoQuery>,
) -> Result<Json<Value>, ApiError> {
    let _turn = SWEEPS
        .acquire()
        .await
        .map_err(|e| ApiError::internal("trace sweep", &e))?;
    let sweep = tracing_of(&state)
        .check(&state.trace_config, &|_, _| {})
        .await?;
    Ok(Json(json!(sweep)))
}

async fn event_forward(
    State(state): State<AppState>,
    _: Authenticated,
    key: Result<Path<String>, PathRejection>,
    AppQuery(q): AppQuery<LimitsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = segment("key", key)?;
    let f = tracing_of(&state)
        .forward_from_event(&key, q.limits()?)
        .await?;
    answer(&state, &headers, &f, &f.view())
}

async fn by_identifier(
    State(state): State<AppState>,
    _: Authenticated,
    value: Result<Path<String>, PathRejection>,
    AppQuery(crate::http::NoQuery {}): AppQuery<crate::http::NoQuery>,
) -> Result<Json<Value>, ApiError> {
    let value = segment("value", value)?;
    let found = tracing_of(&state).by_identifier(&value).await?;
    Ok(Json(json!({"value": value, "specimens": found})))
}

async fn by_document(
    State(state): State<AppState>,
    _: Authenticated,
    number: Result<Path<String>, PathRejection>,
    AppQuery(crate::http::NoQuery {}): AppQuery<crate::http::NoQuery>,
) -> Result<Json<Value>, ApiError> {
    let number = segment("number", number)?;
    let found = tracing_of(&state).by_document(&number).await?;
    Ok(Json(json!({"number": number, "documents": found})))
}
