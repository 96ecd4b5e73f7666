//! Reports for Scientific Authorities over HTTP: `GET /v1/reports/quota-use`, the quota-use
//! review of an exporter's quotas for a year, as JSON rows or, with `Accept: text/csv`, as CSV.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::app::report::{ReportError, parse_query, quota_use};
use crate::http::{ApiError, AppQuery, AppState, Authenticated};

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/reports/quota-use", get(quota_use_report))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaUseParams {
    exporter: Option<String>,
    year: Option<String>,
    taxon: Option<String>,
}

/// Whether the caller asked for CSV (`Accept: text/csv`, alone or among other types).
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"))
        })
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> ApiError {
        match e {
            ReportError::Ledger(e) => e.into(),
            ReportError::Catalogue(e) => e.into(),
            ReportError::UnknownTaxon(why) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", why).on_field("taxon")
            }
            e @ ReportError::Stored { .. } => ApiError::internal("quota-use report", &e),
        }
    }
}

/// `GET /v1/reports/quota-use?exporter=&year=&taxon=`: one row per quota in force during
/// part of the year, as of the service's today.
pub async fn quota_use_report(
    State(state): State<AppState>,
    _: Authenticated,
    headers: HeaderMap,
    AppQuery(q): AppQuery<QuotaUseParams>,
) -> Result<Response, ApiError> {
    let query = parse_query(q.exporter.as_deref(), q.year.as_deref(), q.taxon.as_deref())
        .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let review = quota_use(&state.db, &state.ledger, state.clock.today(), &query).await?;
    if wants_csv(&headers) {
        let mut csv = Vec::new();
        report::table::write_csv(&review, report::table::Table::Quotas, &mut csv)
            .map_err(|e| ApiError::internal("quota-use report as CSV", &e))?;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response());
    }
    Ok(axum::Json(review).into_response())
}
