//! The quota ledger over HTTP: quotas, reservations and their history.
//!
//! Permit officers reserve, commit, release, record exports and close; Scientific Authorities
//! and admins declare quotas; every key reads. A refused reservation is a 200 answer with
//! `"outcome": "refused"` and its reason: it is an answer, not a failure.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{CountryCode, Period, PurposeCode, Quantity, SourceCode, TaxonId, TermCode, UnitCode};
use quota::{Actor, ClientKey, QuotaSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::keys::Role;
use crate::app::permits::{PermitNumber, Permits};
use crate::app::quota::{amount_in_unit, declarable, taxa_governing, unit_or, unknown_taxon};
use crate::app::views::{outcome_json, with_speciesplus_value};
use crate::http::{ApiError, AppJson, AppQuery, AppState, Authenticated};

/// Roles that may reserve and move reservations.
pub const PERMIT_ROLES: &[Role] = &[Role::PermitOfficer, Role::Admin];
/// Roles that may declare quotas.
pub const DECLARE_ROLES: &[Role] = &[Role::ScientificAuthority, Role::Admin];

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/quotas", get(list_quotas).post(declare_quota))
        .route("/v1/quotas/{id}", get(get_quota))
        .route("/v1/quotas/{id}/history", get(quota_history))
        .route("/v1/quotas/{id}/revisions", post(revise_quota))
        .route("/v1/quotas/{id}/reservations", post(reserve))
        .route("/v1/reservations/{id}", get(get_reservation))
        .route("/v1/reservations/{id}/commit", post(commit))
        .route("/v1/reservations/{id}/release", post(release))
        .route("/v1/reservations/{id}/exports", post(record_export))
        .route("/v1/reservations/{id}/close", post(close))
}

/// Parses one input field with a `domain` parser; a failure is a 422 naming the field.
fn parse_field<T>(
    field: &'static str,
    value: &str,
    parse: fn(&str) -> domain::Result<T>,
) -> Result<T, ApiError> {
    parse(value).map_err(|e| ApiError::invalid(field, e.for_field(field).to_string()))
}

fn actor(caller: &crate::app::keys::Caller, reason: Option<String>) -> Actor {
    Actor {
        name: caller.name.clone(),
        reason,
    }
}

/// The request's key, in its caller's namespace: two API keys that happen to send the same
/// client_key make two requests (key names are unique, so the caller's name tells them apart).
fn client_key(caller: &crate::app::keys::Caller, k: Option<&str>) -> Result<ClientKey, ApiError> {
    let k = k.ok_or_else(|| {
        ApiError::invalid(
            "client_key",
            "client_key is required: a unique key per request, reused only to retry it",
        )
    })?;
    Ok(ClientKey::of_caller(&caller.name, k)?)
}

/// A limit: `amount` (required) in `unit`, zero allowed.
fn quantity(
    field: &'static str,
    amount: Option<&str>,
    unit: Option<&str>,
) -> Result<Quantity, ApiError> {
    let amount = required_amount(field, amount)?;
    amount_in_unit([field, "unit"], amount, unit.unwrap_or(""), false)
        .map_err(|(field, message)| ApiError::invalid(field, message))
}

/// The `quantity` of a reservation, commit or export: it moves the quota, so more than nothing
/// (a limit, read by [`quantity`], may be zero).
fn moved_quantity(amount: Option<&str>, unit: Option<&str>) -> Result<Quantity, ApiError> {
    let amount = required_amount("quantity", amount)?;
    amount_in_unit(["quantity", "unit"], amount, unit.unwrap_or(""), true)
        .map_err(|(field, message)| ApiError::invalid(field, message))
}

fn required_amount<'a>(field: &'static str, amount: Option<&'a str>) -> Result<&'a str, ApiError> {
    amount.ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("{field} is required: an exact decimal such as \"12.5\""),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    exporter: Option<String>,
    taxon: Option<String>,
    year: Option<String>,
}

pub async fn list_quotas(
    State(state): State<AppState>,
    _: Authenticated,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let exporter = q
        .exporter
        .as_deref()
        .map(|v| parse_field("exporter", v, CountryCode::parse))
        .transpose()?;
    let taxon = q
        .taxon
        .as_deref()
        .map(|v| parse_field("taxon", v, TaxonId::parse))
        .transpose()?;
    let year = q
        .year
        .as_deref()
        .map(|y| {
            y.parse::<i32>()
                .ok()
                .filter(|y| (1975..=2200).contains(y))
                .ok_or_else(|| {
                    ApiError::invalid("year", format!("invalid year {y:?}: accepted 1975 to 2200"))
                })
        })
        .transpose()?;
    let taxa = match taxon {
        Some(t) => Some(taxa_governing(&state.db, t).await?),
        None => None,
    };
    let quotas = state
        .ledger
        .quotas(exporter.as_ref().map(|c| c.as_str()), taxa.as_deref(), year)
        .await?;
    if let Some(t) = taxon
        && quotas.is_empty()
        && let Some(why) = unknown_taxon(&state.db, t).await?
    {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", why).on_field("taxon"));
    }
    Ok(Json(match taxa {
        // Which taxa were searched: a quota on a merged concept carries that concept's id.
        Some(taxa) => json!({ "quotas": quotas, "taxon_ids": taxa }),
        None => json!({ "quotas": quotas }),
    }))
}

pub async fn get_quota(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    _: AppQuery<crate::http::NoQuery>,
) -> Result<Json<Value>, ApiError> {
    let (q, value) = state
        .ledger
        .quota_with_speciesplus_value(parse_id("id", &id)?)
        .await?;
    Ok(Json(json!({ "quota": with_speciesplus_value(&q, value) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/quotas/{id}/history?after=&limit=`: one page of the audit ledger, each entry with
/// the counters just after it, and `next_after` to ask for the next page (null at the end).
pub async fn quota_history(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let after = match q.after.as_deref() {
        None => 0,
        Some(a) => a.parse::<i64>().ok().filter(|a| *a >= 0).ok_or_else(|| {
            ApiError::invalid(
                "after",
                format!("invalid after {a:?}: accepted a sequence number, 0 or more"),
            )
        })?,
    };
    let limit = match q.limit.as_deref() {
        None => quota::HISTORY_PAGE_DEFAULT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=quota::HISTORY_PAGE_MAX).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!(
                        "invalid limit {l:?}: accepted 1 to {} entries",
                        quota::HISTORY_PAGE_MAX
                    ),
                )
            })?,
    };
    let page = state.ledger.history_page(id, after, limit).await?;
    Ok(Json(json!(page)))
}

fn parse_id(field: &'static str, text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("invalid {field} {text:?}: accepted a positive integer"),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclareBody {
    client_key: Option<String>,
    exporter: Option<String>,
    taxon_id: Option<u32>,
    year: Option<i32>,
    period_start: Option<NaiveDate>,
    /// Inclusive last day of the period.
    period_last_day: Option<NaiveDate>,
    /// An exact decimal, or null for "in preparation".
    limit: Option<String>,
    unit: Option<String>,
    term: Option<String>,
    source: Option<String>,
    purpose: Option<String>,
    notes: Option<String>,
    reason: Option<String>,
}

/// `POST /v1/quotas/{id}/revisions`: the quota's limit anew. `limit` must be present, as null
/// for "in preparation": an absent limit is a mistake, not a request to withdraw the quota.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviseBody {
    client_key: Option<String>,
    #[serde(default, deserialize_with = "present")]
    limit: Option<Option<String>>,
    unit: Option<String>,
    reason: Option<String>,
}

/// `Some(value)` for a field that is present, even as null.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

pub async fn revise_quota(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    AppJson(b): AppJson<ReviseBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let key = client_key(&caller, b.client_key.as_deref())?;
    let limit = b.limit.ok_or_else(|| {
        ApiError::invalid(
            "limit",
            "limit is required: an exact decimal such as \"12.5\", or null for in preparation",
        )
    })?;
    let limit = match limit {
        Some(l) => {
            let unit = unit_or(b.unit.as_deref(), state.ledger.quota_unit(id)).await?;
            Some(quantity("limit", Some(&l), Some(&unit))?)
        }
        None => None,
    };
    let q = state
        .ledger
        .revise(&key, id, limit.as_ref(), &actor(&caller, b.reason))
        .await?;
    Ok(Json(json!({ "quota": q })))
}

pub async fn declare_quota(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    AppJson(b): AppJson<DeclareBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = client_key(&caller, b.client_key.as_deref())?;
    let exporter = CountryCode::parse(b.exporter.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::invalid("exporter", e.for_field("exporter").to_string()))?;
    let taxon_id = TaxonId::new(b.taxon_id.ok_or_else(|| {
        ApiError::invalid("taxon_id", "taxon_id is required: a Species+ taxon id")
    })?);
    let period = match (b.year, b.period_start, b.period_last_day) {
        (Some(y), None, None) if (1975..=2200).contains(&y) => Period::calendar_year(y),
        (None, Some(start), Some(last)) => Period::from_inclusive(start, last)
            .map_err(|e| ApiError::invalid("period_last_day", e.to_string()))?,
        _ => {
            return Err(ApiError::invalid(
                "year",
                "give either year (1975-2200, a calendar-year quota) or period_start and period_last_day (any 12-month period)",
            ));
        }
    };
    let unit = UnitCode::parse(b.unit.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::invalid("unit", e.for_field("unit").to_string()))?;
    let limit = match b.limit.as_deref() {
        Some(l) => Some(quantity("limit", Some(l), Some(unit.code()))?),
        None => None,
    };
    let term = b
        .term
        .as_deref()
        .map(|v| parse_field("term", v, TermCode::parse))
        .transpose()?;
    let source = b
        .source
        .as_deref()
        .map(|v| parse_field("source", v, SourceCode::parse))
        .transpose()?;
    let purpose = b
        .purpose
        .as_deref()
        .map(|v| parse_field("purpose", v, PurposeCode::parse))
        .transpose()?;
    let spec = QuotaSpec {
        exporter,
        taxon_id,
        period,
        limit,
        unit,
        term,
        source,
        purpose,
        notes: b.notes,
        speciesplus_id: None,
    };
    let merged = declarable::<ApiError>(&state.db, &state.ledger, &key, taxon_id)
        .await?
        .map_err(|why| ApiError::invalid("taxon_id", why))?;
    let q = state
        .ledger
        .declare_with_merged(&key, &spec, &merged, &actor(&caller, b.reason))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "quota": q }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReserveBody {
    client_key: Option<String>,
    quantity: Option<String>,
    unit: Option<String>,
    #[serde(default, deserialize_with = "domain::deserialize_instant_option")]
    expires_at: Option<DateTime<Utc>>,
    reason: Option<String>,
}

pub async fn reserve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    AppJson(b): AppJson<ReserveBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let key = client_key(&caller, b.client_key.as_deref())?;
    let unit = unit_or(b.unit.as_deref(), state.ledger.quota_unit(id)).await?;
    let q = moved_quantity(b.quantity.as_deref(), Some(&unit))?;
    let o = state
        .reserver
        .reserve(&key, id, &q, b.expires_at, &actor(&caller, b.reason))
        .await?;
    Ok(Json(outcome_json(&o)))
}

/// `POST /v1/reservations/{id}/commit`: all of the hold, or `quantity` of it (in `unit`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitBody {
    client_key: Option<String>,
    quantity: Option<String>,
    unit: Option<String>,
    #[serde(default, deserialize_with = "domain::deserialize_instant_option")]
    permit_expires_at: Option<DateTime<Utc>>,
    /// The number of the permit issued (box 1); absent: the engine gives its own.
    permit_number: Option<String>,
    reason: Option<String>,
}

/// `POST /v1/reservations/{id}/release` and `/close`: they move all of what is open, so they
/// take no quantity (one sent is refused rather than ignored).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WholeBody {
    client_key: Option<String>,
    reason: Option<String>,
}

/// `POST /v1/reservations/{id}/exports`: the quantity exported.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportBody {
    client_key: Option<String>,
    quantity: Option<String>,
    unit: Option<String>,
    reason: Option<String>,
}

pub async fn get_reservation(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    _: AppQuery<crate::http::NoQuery>,
) -> Result<Json<Value>, ApiError> {
    let r = state.ledger.reservation(parse_id("id", &id)?).await?;
    Ok(Json(json!({ "reservation": r })))
}

pub async fn commit(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    AppJson(b): AppJson<CommitBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let key = client_key(&caller, b.client_key.as_deref())?;
    let q = match (b.quantity.as_deref(), b.unit.as_deref()) {
        (Some(q), unit) => {
            let unit = unit_or(unit, state.ledger.reservation_unit(id)).await?;
            Some(moved_quantity(Some(q), Some(&unit))?)
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "unit",
                "unit is the unit of quantity, which is missing: give quantity with it to commit \
                 part of the hold, or neither to commit all of it",
            ));
        }
        (None, None) => None,
    };
    let number = b
        .permit_number
        .as_deref()
        .map(PermitNumber::parse)
        .transpose()?;
    let o = permits(&state)
        .commit(
            &key,
            id,
            number.as_ref(),
            q.as_ref(),
            b.permit_expires_at,
            &actor(&caller, b.reason),
        )
        .await?;
    Ok(Json(outcome_json(&o)))
}

pub async fn release(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    AppJson(b): AppJson<WholeBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let key = client_key(&caller, b.client_key.as_deref())?;
    let o = state
        .ledger
        .release(&key, id, &actor(&caller, b.reason))
        .await?;
    Ok(Json(outcome_json(&o)))
}

pub async fn record_export(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    AppJson(b): AppJson<ExportBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let key = client_key(&caller, b.client_key.as_deref())?;
    let unit = unit_or(b.unit.as_deref(), state.ledger.reservation_unit(id)).await?;
    let q = moved_quantity(b.quantity.as_deref(), Some(&unit))?;
    let o = state
        .ledger
        .record_export(&key, id, &q, &actor(&caller, b.reason))
        .await?;
    registered(&state, &o).await?;
    Ok(Json(outcome_json(&o)))
}

pub async fn close(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    AppJson(b): AppJson<WholeBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let key = client_key(&caller, b.client_key.as_deref())?;
    let o = state
        .ledger
        .close(&key, id, &actor(&caller, b.reason))
        .await?;
    registered(&state, &o).await?;
    Ok(Json(outcome_json(&o)))
}

/// The permit use cases over the service's ledger and database.
fn permits(state: &AppState) -> Permits {
    Permits::new(state.db.clone(), state.ledger.clone())
}

/// A permit's export or close as a new revision of its document in the register (a failure
/// here is repaired by a retry with the same key, or by `cites trace backfill-permits`).
async fn registered(state: &AppState, o: &quota::Outcome) -> Result<(), ApiError> {
    if let quota::Outcome::Done { reservation, .. } = o {
        permits(state).sync(reservation.id).await?;
    }
    Ok(())
}
