//! The catalogue over HTTP: the sync status, taxa, a taxon's listing on a date, amendments.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use domain::CountryCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::extract::refuse_empty;
use crate::http::{ApiError, AppQuery, AppState, Authenticated, NoQuery};

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/sync/status", get(sync_status))
        .route("/v1/taxa", get(search_taxa))
        .route("/v1/taxa/{id}", get(get_taxon))
        .route("/v1/taxa/{id}/listing", get(get_listing))
        .route("/v1/amendments", get(get_amendments))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    limit: Option<String>,
}

/// Most runs `/v1/sync/status` lists.
const STATUS_RUNS_MAX: i64 = 100;

async fn sync_status(
    State(state): State<AppState>,
    _: Authenticated,
    AppQuery(q): AppQuery<StatusQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = match q.limit.as_deref() {
        None => 10,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=STATUS_RUNS_MAX).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!("invalid limit {text:?}: accepted 1 to {STATUS_RUNS_MAX}"),
                )
            })?,
    };
    let runs = sync::store::recent_runs(&state.db, limit).await?;
    let counts = sync::store::counts(&state.db).await?;
    let last_success = sync::store::last_success_start(&state.db).await?;
    let catalogue_state = state.catalogue_state().await?;
    Ok(Json(json!({
        "catalogue_state": catalogue_state.as_str(),
        "last_successful_start": last_success,
        "catalogue": counts,
        "runs": runs.iter().map(crate::app::views::run_json).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    name: Option<String>,
}

async fn search_taxa(
    State(state): State<AppState>,
    _: Authenticated,
    AppQuery(q): AppQuery<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let name = q.name.unwrap_or_default();
    let name = name.trim();
    if name.chars().count() < 2 {
        return Err(ApiError::invalid(
            "name",
            "name must have at least 2 characters: a scientific name, its beginning, or a common name",
        ));
    }
    // PostgreSQL's text cannot hold NUL: refused alike on both backends, not a 500 on one.
    if name.contains('\0') {
        return Err(ApiError::invalid(
            "name",
            "name holds a NUL character: accepted a scientific name, its beginning, or a common name",
        ));
    }
    let taxa = state.catalogue.search(name).await?;
    Ok(Json(json!({ "taxa": taxa })))
}

async fn get_taxon(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    _: AppQuery<NoQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let taxon = sync::store::taxon(&state.db, id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("taxon not found: {id}"),
        )
    })?;
    let distributions = sync::store::distributions(&state.db, id).await?;
    Ok(Json(
        json!({ "taxon": taxon, "distributions": distributions }),
    ))
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<u32>()
        .map(i64::from)
        .map_err(|_| ApiError::invalid("id", format!("invalid taxon id {text:?}: accepted a Species+ taxon concept id (a positive integer)")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListingQuery {
    date: Option<String>,
    country: Option<String>,
}

async fn get_listing(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    uri: Uri,
    AppQuery(q): AppQuery<ListingQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    refuse_empty(
        &uri,
        "date",
        "a date YYYY-MM-DD, or no date parameter for today",
    )?;
    let date = match q.date.as_deref() {
        Some(d) => parse_date("date", d)?,
        None => state.clock.today(),
    };
    let country = match q.country.as_deref() {
        Some(c) => Some(
            CountryCode::parse(c)
                .map_err(|e| ApiError::invalid("country", e.for_field("country").to_string()))?,
        ),
        None => None,
    };
    let listing = state
        .catalogue
        .listing(&id.to_string(), date, country)
        .await?;
    Ok(Json(crate::app::views::listing_json(&listing)))
}

fn parse_date(field: &'static str, text: &str) -> Result<NaiveDate, ApiError> {
    domain::parse_date(field, text).map_err(|e| ApiError::invalid(field, e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmendmentsQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn get_amendments(
    State(state): State<AppState>,
    _: Authenticated,
    AppQuery(q): AppQuery<AmendmentsQuery>,
) -> Result<Json<Value>, ApiError> {
    let from = parse_date(
        "from",
        q.from
            .as_deref()
            .ok_or_else(|| ApiError::invalid("from", "from is required: a YYYY-MM-DD date"))?,
    )?;
    let to = parse_date(
        "to",
        q.to.as_deref()
            .ok_or_else(|| ApiError::invalid("to", "to is required: a YYYY-MM-DD date"))?,
    )?;
    let amendments = state.catalogue.amendments(from, to).await?;
    Ok(Json(
        json!({ "from": from, "to": to, "amendments": amendments }),
    ))
}
