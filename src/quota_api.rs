//! The quota ledger over HTTP: quotas, reservations and their history.
//!
//! Permit officers reserve, commit, release, record exports and close; Scientific Authorities
//! and admins declare quotas; every key reads. A refused reservation is a 200 answer with
//! `"outcome": "refused"` and its reason: it is an answer, not a failure.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use chrono::{DateTime, NaiveDate, Utc};
use db::Db;
use domain::{CountryCode, Period, PurposeCode, Quantity, SourceCode, TaxonId, TermCode, UnitCode};
use quota::{Actor, ClientKey, QuotaSpec};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::keys::Role;
use crate::server::{ApiError, AppQuery, AppState, Authenticated};

/// Roles that may reserve and move reservations.
pub const PERMIT_ROLES: &[Role] = &[Role::PermitOfficer, Role::Admin];
/// Roles that may declare quotas.
pub const DECLARE_ROLES: &[Role] = &[Role::ScientificAuthority, Role::Admin];

/// A JSON body whose rejections use our error format (422 naming the problem).
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    /// A value of the wrong type names its field by its path in the body (`limit`,
    /// `documents.ndf_reference`), found by `serde_path_to_error`; what is not JSON at all, or
    /// not an object, is the `body`'s fault.
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                // Media types are case-insensitive (RFC 9110 8.3.1).
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !json {
            return Err(ApiError::invalid(
                "body",
                "send the body as JSON, with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "the body is larger than the {} bytes accepted",
                        crate::server::BODY_BYTES_MAX
                    ),
                )
                .on_field("body")
            } else {
                ApiError::invalid("body", r.body_text())
            }
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                ApiError::invalid(
                    "body",
                    format!("the body is not the JSON object expected: {inner}"),
                )
            } else if let Some(name) = inner
                .to_string()
                .strip_prefix("duplicate field `")
                .and_then(|rest| rest.split('`').next())
            {
                let field = if path == "." {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
                ApiError::invalid(
                    field.clone(),
                    format!("invalid {field}: given twice; accepted once"),
                )
            } else if path == "." || path.starts_with('[') {
                // The body is JSON, but not an object: say what it is, not the Rust type it
                // was to become.
                let found = inner.to_string();
                // serde reads an array as the struct's fields in order: "invalid length", or
                // an error at its first element ("[0]").
                let found = found
                    .strip_prefix("invalid type: ")
                    .filter(|_| !path.starts_with('['))
                    .or_else(|| path.starts_with('[').then_some("sequence"))
                    .or_else(|| found.strip_prefix("invalid length").map(|_| "sequence"))
                    .and_then(|t| t.split([',', ' ']).next())
                    .map_or("something else", |t| match t {
                        "sequence" => "an array",
                        "string" => "a string",
                        "integer" | "floating" => "a number",
                        "boolean" => "a boolean",
                        "null" => "null",
                        _ => "something else",
                    });
                ApiError::invalid(
                    "body",
                    format!("the body must be one JSON object of this route's fields, not {found}"),
                )
            } else {
                ApiError::invalid(path.clone(), explain(&path, &inner.to_string()))
            }
        })?;
        de.end().map_err(|e| {
            ApiError::invalid("body", format!("the body is not one JSON object: {e}"))
        })?;
        // serde reads an array as an object's fields in order; no field of any body is an
        // array (the OpenAPI document's tests hold this), so one is refused, named.
        let whole: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if let Some(field) = first_array(&whole, "") {
            return Err(ApiError::invalid(
                field.clone(),
                format!("invalid {field}: an array; accepted a JSON object of its fields"),
            ));
        }
        Ok(AppJson(value))
    }
}

/// The path (`documents.import_permit`) of the first array among the members of `value`.
fn first_array(value: &Value, at: &str) -> Option<String> {
    let Value::Object(members) = value else {
        return None;
    };
    members.iter().find_map(|(name, member)| {
        let path = if at.is_empty() {
            name.clone()
        } else {
            format!("{at}.{name}")
        };
        match member {
            Value::Array(_) => Some(path),
            _ => first_array(member, &path),
        }
    })
}

/// A field's decoding error as a caller reads it: serde's Rust type names in plain words, and
/// what is accepted where the decoder does not say (the formats of instants and dates, and
/// that a quota's quantities are strings).
fn explain(path: &str, serde_says: &str) -> String {
    let mut said = serde_says.to_owned();
    // The path names the field: where it sits in the text adds nothing.
    if let Some(at) = said.find(" at line ") {
        said.truncate(at);
    }
    // serde names an unknown field together with the fields accepted: nothing to add.
    if said.starts_with("unknown field") {
        return format!("invalid {path}: {said}");
    }
    for int in ["u8", "u16", "u32", "u64"] {
        said = said.replace(
            &format!("expected {int}"),
            "expected a whole number, 0 or more",
        );
    }
    for int in ["i8", "i16", "i32", "i64"] {
        said = said.replace(&format!("expected {int}"), "expected a whole number");
    }
    if let Some(at) = said.find("expected struct ") {
        said.truncate(at);
        said.push_str("expected a JSON object");
    }
    let field = path.rsplit('.').next().unwrap_or(path);
    // chrono's words for a date or an instant it could not read.
    let chrono_says = |said: &mut String| match said.as_str() {
        "input is out of range" => *said = "no such day or time".to_owned(),
        "premature end of input" | "input is not enough for unique date and time" => {
            *said = "incomplete".to_owned();
        }
        "input contains invalid characters" | "trailing input" => {
            *said = "not in the format accepted".to_owned();
        }
        _ => {}
    };
    let accepted = if field.ends_with("_at") {
        chrono_says(&mut said);
        "; accepted an RFC 3339 instant, such as 2026-12-10T00:00:00Z"
    } else if field.starts_with("date_")
        || field.starts_with("period_")
        || field.ends_with("_date")
        || field.ends_with("_on")
        || field == "valid_until"
    {
        chrono_says(&mut said);
        if said == "no such day or time" {
            said = "no such day".to_owned();
        }
        "; accepted a date, YYYY-MM-DD"
    } else if (field == "quantity" || field == "limit") && said.contains("expected a string") {
        "; accepted an exact decimal written as a JSON string, e.g. \"5\""
    } else {
        ""
    };
    format!("invalid {path}: {said}{accepted}")
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
            quota::Error::Sqlx(s) if crate::server::database_unavailable(s) => {
                ApiError::unavailable("quota ledger", s)
            }
            _ => ApiError::internal("quota ledger", &e),
        }
    }
}

/// Parses one input field with a `domain` parser; a failure is a 422 naming the field.
fn parse_field<T>(
    field: &'static str,
    value: &str,
    parse: fn(&str) -> domain::Result<T>,
) -> Result<T, ApiError> {
    parse(value).map_err(|e| ApiError::invalid(field, e.for_field(field).to_string()))
}

fn actor(caller: &crate::keys::Caller, reason: Option<String>) -> Actor {
    Actor {
        name: caller.name.clone(),
        reason,
    }
}

/// The request's key, in its caller's namespace: two API keys that happen to send the same
/// client_key make two requests (key names are unique, so the caller's name tells them apart).
fn client_key(caller: &crate::keys::Caller, k: Option<&str>) -> Result<ClientKey, ApiError> {
    let k = k.ok_or_else(|| {
        ApiError::invalid(
            "client_key",
            "client_key is required: a unique key per request, reused only to retry it",
        )
    })?;
    Ok(ClientKey::of_caller(&caller.name, k)?)
}

/// The unit a request gave, or the one its quota counts in when it gave none (read only then).
async fn unit_or(
    given: Option<&str>,
    quota_unit: impl Future<Output = quota::Result<UnitCode>>,
) -> Result<String, ApiError> {
    Ok(match given {
        Some(u) => u.to_owned(),
        None => quota_unit.await?.code().to_owned(),
    })
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

/// `amount` in `unit` (blank: a count of specimens), as every quota route and `cites quota`
/// command reads them: the one grammar of amounts ([`domain::parse_amount`]); `moved`: the
/// amount moves the quota (a reservation, commit or export), so it must be more than nothing
/// (a limit may be zero). `fields` names the amount and the unit as the caller calls them
/// (`quantity` and `unit` here, `--quantity` and `--unit` on the command line); an error is
/// the field at fault with its message.
pub(crate) fn amount_in_unit(
    [field, unit_field]: [&'static str; 2],
    amount: &str,
    unit: &str,
    moved: bool,
) -> Result<Quantity, (&'static str, String)> {
    let amount = domain::parse_amount(field, amount).map_err(|e| (field, e.to_string()))?;
    if moved && amount <= Decimal::ZERO {
        let message = format!("invalid {field} {amount}: accepted a decimal above 0");
        return Err((field, message));
    }
    let unit =
        UnitCode::parse(unit).map_err(|e| (unit_field, e.for_field(unit_field).to_string()))?;
    Quantity::new(amount, unit).map_err(|e| (field, e.for_field(field).to_string()))
}

/// A ledger outcome as the quota routes answer it: the outcome, and a refusal's message.
pub(crate) fn outcome_json(o: &quota::Outcome) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let quota::Outcome::Refused { refusal, .. } = o {
        v["message"] = json!(refusal.message());
    }
    v
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
    _: AppQuery<crate::server::NoQuery>,
) -> Result<Json<Value>, ApiError> {
    let (q, value) = state
        .ledger
        .quota_with_speciesplus_value(parse_id("id", &id)?)
        .await?;
    Ok(Json(json!({ "quota": with_speciesplus_value(&q, value) })))
}

/// A quota as one reads it alone: for an imported quota, with the value Species+ published at
/// its last import (`speciesplus_value`, null while in preparation), which a national revision
/// may have left behind.
pub fn with_speciesplus_value(q: &quota::QuotaView, value: Option<Option<Decimal>>) -> Value {
    let mut v = serde_json::to_value(q).unwrap_or(Value::Null);
    if let Some(value) = value {
        v["speciesplus_value"] = json!(value.map(|d| d.normalize().to_string()));
    }
    v
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

/// How to fill an empty catalogue, for answers that need one.
pub const FILL_THE_CATALOGUE: &str = "`cites sync --latest-dump` (the weekly Species+ dump; needs \
     CITES_SPECIESPLUS_TOKEN), `cites sync --from-dump FILE`, or `cites serve`, which loads the \
     built-in sample catalogue into an empty database (not for permit decisions)";

/// Why no quota can be declared for `taxon_id`, or `None` when one can. A permit check
/// resolves a name to its accepted taxon and finds the quotas of that taxon and its ancestors,
/// so a quota on an id the catalogue does not hold, or on a concept Species+ no longer keeps
/// active, would never count a permit; one on a synonym belongs on the accepted taxon, which
/// the answer names. (A quota declared before Species+ merged its taxon into another still
/// counts: the check also reads the quotas of the synonyms pointing to the taxon.)
pub async fn undeclarable_taxon(db: &Db, taxon_id: TaxonId) -> sync::Result<Option<String>> {
    let id = i64::from(taxon_id.get());
    Ok(match sync::store::taxon(db, id).await? {
        Some(t) if t.name_status == "A" && t.active => None,
        Some(t) if t.name_status == "A" => Some(format!(
            "taxon {id} ({}) is no longer active in Species+: declare the quota against the taxon that replaced it",
            t.full_name
        )),
        Some(t) => {
            let accepted = sync::store::accepted_of(db, id).await?;
            let accepted: Vec<String> = accepted.iter().map(i64::to_string).collect();
            Some(format!(
                "taxon {id} ({}) is a synonym: declare the quota against its accepted taxon ({})",
                t.full_name,
                if accepted.is_empty() {
                    "none recorded".to_owned()
                } else {
                    accepted.join(" or ")
                }
            ))
        }
        None if sync::store::counts(db).await?.taxa == 0 => Some(format!(
            "no taxon {id}: the catalogue is empty; fill it first: {FILL_THE_CATALOGUE}"
        )),
        None => Some(format!(
            "no taxon {id} in the catalogue: give the Species+ id of an accepted taxon in it \
             (`cites listing NAME` or GET /v1/taxa?name=NAME shows it)"
        )),
    })
}

/// What the service checks before the ledger declares a quota on `taxon_id` under `key`: the
/// concepts merged into the taxon, to pass to [`quota::Ledger::declare_with_merged`], or why no
/// quota can be declared on it. A key already used is answered by the ledger as the first
/// time, so a retry gets its first answer even after a synchronisation changed the taxon.
pub async fn declarable<E>(
    db: &Db,
    ledger: &quota::Ledger,
    key: &ClientKey,
    taxon_id: TaxonId,
) -> Result<Result<Vec<TaxonId>, String>, E>
where
    E: From<quota::Error> + From<sync::Error>,
{
    if ledger.key_used(key).await? {
        return Ok(Ok(Vec::new()));
    }
    if let Some(why) = undeclarable_taxon(db, taxon_id).await? {
        return Ok(Err(why));
    }
    Ok(Ok(merged_into(db, taxon_id).await?))
}

/// Why a list of `taxon_id`'s quotas would be empty for a reason other than its having none:
/// the catalogue does not hold the taxon (a typo would otherwise read as "no quota"). A quota
/// declared on a taxon that has since left the catalogue is still listed: this is asked only
/// when the list is empty.
pub async fn unknown_taxon(db: &Db, taxon_id: TaxonId) -> sync::Result<Option<String>> {
    let id = i64::from(taxon_id.get());
    Ok(match sync::store::taxon(db, id).await? {
        Some(_) => None,
        None => Some(format!(
            "no taxon {id} in the catalogue, and no quota on it: give the Species+ id of a taxon \
             in the catalogue (GET /v1/taxa?name= finds it)"
        )),
    })
}

/// The concepts Species+ has merged into the accepted taxon `taxon_id` (the synonyms pointing
/// to it): a quota still declared on one of them limits the taxon's exports, so a new one of
/// the same scope on the taxon would be a second allowance for the same specimens.
pub async fn merged_into(db: &Db, taxon_id: TaxonId) -> sync::Result<Vec<TaxonId>> {
    let ids = sync::store::synonyms_of(db, i64::from(taxon_id.get())).await?;
    Ok(ids
        .into_iter()
        .filter_map(|id| u32::try_from(id).ok().map(TaxonId::new))
        .collect())
}

/// The taxa whose own quotas govern exports of `taxon_id` (a permit check adds its
/// ancestors'): the taxon and the concepts merged into it; for a synonym, each accepted taxon
/// it points to and the concepts merged into those. An id the catalogue does not know stands
/// for itself.
pub async fn taxa_governing(db: &Db, taxon_id: TaxonId) -> sync::Result<Vec<i64>> {
    let id = i64::from(taxon_id.get());
    let accepted = sync::store::accepted_of(db, id).await?;
    let roots = if accepted.is_empty() {
        vec![id]
    } else {
        accepted
    };
    let mut ids = roots.clone();
    for root in roots {
        ids.extend(sync::store::synonyms_of(db, root).await?);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
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
    _: AppQuery<crate::server::NoQuery>,
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
    let o = state
        .ledger
        .commit(
            &key,
            id,
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
    Ok(Json(outcome_json(&o)))
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

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
            ApiError::from(crate::permit_check::CheckError::Store(lost())),
            ApiError::from(quota::Error::Sqlx(sqlx::Error::PoolTimedOut)),
        ] {
            let body = unavailable_body(answer).await;
            assert!(!body.to_string().contains("db-7"), "{body}");
        }
        // An unkeyed check whose record was lost: not "try again", since it may count twice.
        let lost_record =
            ApiError::from(crate::permit_check::CheckError::RecordLost(lost())).into_response();
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
