//! The HTTP service (axum): JSON under `/v1`, API keys with roles, one error format.
//!
//! Errors are mapped to HTTP statuses here and nowhere else. Internal causes are logged with
//! the request; clients get a short message and a code, never a database error or a secret.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use db::Db;
use domain::{Clock, CountryCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_http::trace::TraceLayer;

use crate::keys::{self, Caller, Role};
use crate::quota_api::{self as q, DECLARE_ROLES, PERMIT_ROLES};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub catalogue: sync::Catalogue,
    pub ledger: quota::Ledger,
    /// Reservations go through one writer task that commits concurrent requests together.
    pub reserver: quota::GroupCommit,
    pub clock: Arc<dyn Clock>,
    /// National settings of the permit check (`--check-config`).
    pub check_settings: Arc<crate::permit_check::CheckSettings>,
    /// Whether the service mirrors Species+ (a token is configured): until its first complete
    /// run has succeeded, the catalogue is "loading" and permit checks are not answered.
    pub mirrors_speciesplus: bool,
}

impl AppState {
    /// Starts the reservation writer task, so it must run inside a tokio runtime.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> AppState {
        let ledger = quota::Ledger::new(db.clone(), clock.clone());
        AppState {
            catalogue: sync::Catalogue::new(db.clone()),
            reserver: quota::GroupCommit::start(ledger.clone()),
            ledger,
            db,
            clock,
            check_settings: Arc::new(crate::permit_check::CheckSettings::default()),
            mirrors_speciesplus: false,
        }
    }

    /// What the catalogue is, for `/health`, `/v1/sync/status` and the permit check.
    pub async fn catalogue_state(&self) -> Result<CatalogueState, sync::Error> {
        use sync::store::CatalogueOrigin as O;
        Ok(
            match (
                sync::store::catalogue_origin(&self.db).await?,
                self.mirrors_speciesplus,
            ) {
                (O::Mirror, _) => CatalogueState::Mirror,
                (_, true) => CatalogueState::Loading,
                (O::Sample, false) => CatalogueState::Sample,
                (O::Empty, false) => CatalogueState::Empty,
            },
        )
    }

    /// The permit checker over this state, reserving through the group-commit writer.
    pub fn checker(&self) -> crate::permit_check::Checker {
        crate::permit_check::Checker {
            db: self.db.clone(),
            catalogue: self.catalogue.clone(),
            ledger: self.ledger.clone(),
            reserver: Some(self.reserver.clone()),
            clock: self.clock.clone(),
            settings: self.check_settings.clone(),
            mirrors_speciesplus: self.mirrors_speciesplus,
        }
    }
}

/// What the catalogue the service answers from is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogueState {
    /// A complete mirror of Species+.
    Mirror,
    /// The first mirror of Species+ has not succeeded yet: nothing is decided on it.
    Loading,
    /// The built-in sample (no Species+ token): every permit decision says so.
    Sample,
    /// Nothing loaded, and no Species+ token to load it.
    Empty,
}

impl CatalogueState {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogueState::Mirror => "mirror",
            CatalogueState::Loading => "loading",
            CatalogueState::Sample => "sample",
            CatalogueState::Empty => "empty",
        }
    }
}

/// Every route, with the roles that may call it (empty: no key needed). The OpenAPI document
/// is checked against this list in the tests. [`authorize`] enforces it before a handler runs
/// (so before a body is read), and a 405 names the methods it lists for the path.
pub const ROUTES: [(&str, &str, &[Role]); 20] = [
    ("GET", "/health", &[]),
    ("GET", "/v1/openapi.json", &[]),
    ("GET", "/v1/sync/status", &Role::ALL),
    ("GET", "/v1/taxa", &Role::ALL),
    ("GET", "/v1/taxa/{id}", &Role::ALL),
    ("GET", "/v1/taxa/{id}/listing", &Role::ALL),
    ("GET", "/v1/amendments", &Role::ALL),
    ("GET", "/v1/keys", &[Role::Admin]),
    ("GET", "/v1/quotas", &Role::ALL),
    ("POST", "/v1/quotas", DECLARE_ROLES),
    ("GET", "/v1/quotas/{id}", &Role::ALL),
    ("GET", "/v1/quotas/{id}/history", &Role::ALL),
    ("POST", "/v1/quotas/{id}/revisions", DECLARE_ROLES),
    ("POST", "/v1/quotas/{id}/reservations", PERMIT_ROLES),
    ("GET", "/v1/reservations/{id}", &Role::ALL),
    ("POST", "/v1/reservations/{id}/commit", PERMIT_ROLES),
    ("POST", "/v1/reservations/{id}/release", PERMIT_ROLES),
    ("POST", "/v1/reservations/{id}/exports", PERMIT_ROLES),
    ("POST", "/v1/reservations/{id}/close", PERMIT_ROLES),
    // Every role may check; `reserve: true` needs a permit officer or an admin.
    ("POST", "/v1/permit-checks", &Role::ALL),
];

/// Largest request body accepted, in bytes: a permit check or a quota is a few hundred.
pub const BODY_BYTES_MAX: usize = 256 * 1024;
/// Seconds a 503 asks the client to wait before sending the request again (`Retry-After`):
/// a database that was locked or restarting is often back by then, and a client retrying at
/// once would only add to the requests waiting on it.
pub const RETRY_AFTER_SECS: u32 = 2;
/// The longest `/health` waits for the database's answer before saying it is unreachable
/// (the ledger's writes are bounded alike: [`quota::WRITE_DEADLINE`]).
pub const HEALTH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// The service's router.
pub fn app(state: AppState) -> Router {
    // The route layer runs only for a matched route and method, inside the router, so it
    // sees the matched path; the method fallback is set after every route, which it covers.
    Router::new()
        .route("/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/sync/status", get(sync_status))
        .route("/v1/taxa", get(search_taxa))
        .route("/v1/taxa/{id}", get(get_taxon))
        .route("/v1/taxa/{id}/listing", get(get_listing))
        .route("/v1/amendments", get(get_amendments))
        .route("/v1/keys", get(list_keys))
        .route("/v1/quotas", get(q::list_quotas).post(q::declare_quota))
        .route("/v1/quotas/{id}", get(q::get_quota))
        .route("/v1/quotas/{id}/history", get(q::quota_history))
        .route("/v1/quotas/{id}/revisions", post(q::revise_quota))
        .route("/v1/quotas/{id}/reservations", post(q::reserve))
        .route("/v1/reservations/{id}", get(q::get_reservation))
        .route("/v1/reservations/{id}/commit", post(q::commit))
        .route("/v1/reservations/{id}/release", post(q::release))
        .route("/v1/reservations/{id}/exports", post(q::record_export))
        .route("/v1/reservations/{id}/close", post(q::close))
        .route("/v1/permit-checks", post(permit_check))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// An error answer: status, stable code, message, and the field at fault if any.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<std::borrow::Cow<'static, str>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
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
        let response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            with_retry_after(response)
        } else {
            response
        }
    }
}

/// `response` (a 503) with `Retry-After: RETRY_AFTER_SECS`.
fn with_retry_after(mut response: Response) -> Response {
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

/// The authenticated caller, from `Authorization: Bearer <key>` or `X-API-Key: <key>`: the
/// one [`authorize`] found for the request (looked up here if it has not been).
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Authenticated(caller.clone()));
        }
        authenticate(parts, state).await.map(Authenticated)
    }
}

/// The caller presenting the request's key; a 401 without a valid one.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let presented = presented_key(&parts.headers)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an API key is required: send Authorization: Bearer <key> (create one with `cites keys create`)",
        )
    })?;
    match keys::authenticate(&state.db, &presented).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the API key is unknown or revoked",
        )),
        Err(keys::KeyError::Db(e)) if database_unavailable(&e) => {
            Err(ApiError::unavailable("authenticate", &e))
        }
        Err(e) => Err(ApiError::internal("authenticate", &e)),
    }
}

/// The key sent as `Authorization: Bearer <key>` (the scheme in any case) or `X-API-Key`;
/// `None` if neither is sent. An `Authorization` header that is not `Bearer <key>`, with no
/// `X-API-Key` beside it, is a 401 saying so; what it holds is never repeated (it may be a key).
fn presented_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let bearer = headers.get(header::AUTHORIZATION).map(bearer_key);
    if let Some(Ok(key)) = bearer {
        return Ok(Some(key));
    }
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    match (api_key, bearer) {
        (Some(key), _) => Ok(Some(key)),
        (None, Some(Err(problem))) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("the Authorization header {problem}: send Authorization: Bearer <key>"),
        )
        .on_field("authorization")),
        (None, _) => Ok(None),
    }
}

/// The key of an `Authorization` value `Bearer <key>` (RFC 9110 11.1: the scheme is
/// case-insensitive); otherwise what is wrong with it.
fn bearer_key(value: &axum::http::HeaderValue) -> Result<String, &'static str> {
    let value = value
        .to_str()
        .map_err(|_| "holds characters other than visible ASCII")?
        .trim();
    if value.is_empty() {
        return Err("is empty");
    }
    let Some((scheme, key)) = value.split_once(|c: char| c.is_ascii_whitespace()) else {
        return Err(if value.eq_ignore_ascii_case("bearer") {
            "names the Bearer scheme but no key"
        } else {
            "has no scheme"
        });
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("uses a scheme other than Bearer");
    }
    let key = key.trim();
    if key.split_ascii_whitespace().count() != 1 {
        return Err("holds more than one word after Bearer");
    }
    Ok(key.to_owned())
}

/// The roles [`ROUTES`] gives `method` on the route `path` (as the router matched it, with
/// `{id}`); a HEAD is a GET. `None` for a route the table lacks.
fn roles_of(method: &Method, path: &str) -> Option<&'static [Role]> {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, roles)| *roles)
}

/// The role check of every route, before its handler and so before its body is read: a
/// caller whose role may not use the route gets its 401 or 403 whatever it sent. The caller
/// is left in the request's extensions for [`Authenticated`].
async fn authorize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let Some(roles) = path.as_deref().and_then(|p| roles_of(&parts.method, p)) else {
        // A route missing from the table: refused, not served unchecked.
        tracing::error!(method = %parts.method, path = ?path, "route missing from server::ROUTES");
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not answer; the error is logged",
        )
        .into_response();
    };
    if !roles.is_empty() {
        let caller = match authenticate(&parts, &state).await {
            Ok(caller) => caller,
            Err(e) => return e.into_response(),
        };
        if let Err(e) = require(&caller, roles) {
            return e.into_response();
        }
        parts.extensions.insert(caller);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Refuses callers whose role may not use the route.
pub fn require(caller: &Caller, allowed: &[Role]) -> Result<(), ApiError> {
    if allowed.contains(&caller.role) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "role {} may not do this; allowed: {}",
                caller.role,
                allowed
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// Query-string extraction whose rejections use our error format (422 naming the problem).
/// A parameter with an empty value (`?year=`, `?after=&limit=`) is absent: forms and the
/// the `?name=` spellings of `docs/http.md` send them so. Where absence means a value the
/// caller may not have meant (`date=`: today), [`refuse_empty`] refuses it instead.
pub struct AppQuery<T>(pub T);

/// The query of a route that takes no parameters: one sent is refused, naming it, rather than
/// ignored (a caller who adds `?year=2026` to a quota's route believes it filtered something).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // A value is empty exactly when its encoded form is: drop those pairs, parse the rest.
        let kept: Vec<&str> = parts
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
            .collect();
        let query = kept.join("&");
        // Through serde_path_to_error, so that a value that does not decode names its field.
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(AppQuery)
            .map_err(|e| query_rejection(&kept, e))
    }
}

/// A 422 naming `name` when the query sends it with an empty value: for a parameter whose
/// absence stands for a value of its own (a listing's `date` is today), an empty one is more
/// likely a form left blank than a request for that value.
pub fn refuse_empty(uri: &Uri, name: &'static str, accepted: &str) -> Result<(), ApiError> {
    let empty = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .any(|(n, v)| n == name && v.is_empty());
    if empty {
        return Err(ApiError::invalid(
            name,
            format!("{name} is empty: accepted {accepted}"),
        ));
    }
    Ok(())
}

/// A query string the route cannot take: an unknown parameter is named as the field at fault,
/// with the ones accepted; a value that does not decode is named by its parameter, with what
/// it holds; anything else is the query's.
fn query_rejection(
    pairs: &[&str],
    error: serde_path_to_error::Error<serde_urlencoded::de::Error>,
) -> ApiError {
    let path = error.path().to_string();
    let said = error.into_inner().to_string();
    if let Some((_, rest)) = said.split_once("unknown field `")
        && let Some((name, tail)) = rest.split_once('`')
    {
        let accepted = match tail.trim_start_matches(", ") {
            "there are no fields" => "none".to_owned(),
            expected => expected
                .trim_start_matches("expected ")
                .trim_start_matches("one of ")
                .replace('`', ""),
        };
        return ApiError::invalid(
            name.to_owned(),
            format!("unknown query parameter {name:?}: accepted {accepted}"),
        );
    }
    if path == "." {
        return ApiError::invalid(
            "query",
            format!("the query string could not be read: {said}"),
        );
    }
    // The value as sent, for the message (the last one, as serde keeps the last of repeats).
    let value = form_urlencoded::parse(pairs.join("&").as_bytes())
        .filter(|(name, _)| *name == path.as_str())
        .last()
        .map(|(_, v)| {
            v.chars()
                .take(domain::ERROR_VALUE_CHARS_MAX)
                .collect::<String>()
        })
        .unwrap_or_default();
    let number = said.contains("digit") || said.contains("number");
    let accepted = if number {
        "; accepted a whole number"
    } else {
        ""
    };
    ApiError::invalid(
        path.clone(),
        format!("invalid {path} {value:?}: {said}{accepted}"),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; see /v1/openapi.json",
    )
}

/// A method the route does not answer: the error format, naming the methods it does (axum
/// adds the `Allow` header).
async fn method_not_allowed(method: Method, path: Option<MatchedPath>, uri: Uri) -> ApiError {
    let path = path.map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let allowed: Vec<&str> = ROUTES
        .iter()
        .filter(|(_, p, _)| *p == path)
        .map(|(m, _, _)| *m)
        .collect();
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {path}; allowed: {}",
            allowed.join(", ")
        ),
    )
}

/// Liveness and what the service can answer from: the database reachable (else 503), and the
/// catalogue's state (`loading` until a service that mirrors Species+ has its first mirror).
async fn health(State(state): State<AppState>, _: AppQuery<NoQuery>) -> Response {
    // `SELECT 1` is an INT4 on PostgreSQL and an INTEGER on SQLite: both decode as i32.
    let ping = async {
        db::with_db!(&state.db, pool => sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool).await)
    };
    let ok = matches!(tokio::time::timeout(HEALTH_DEADLINE, ping).await, Ok(Ok(_)));
    if ok {
        let catalogue = match tokio::time::timeout(HEALTH_DEADLINE, state.catalogue_state()).await {
            Ok(Ok(c)) => c.as_str(),
            _ => "unknown",
        };
        return Json(json!({"status": "ok", "database": "ok", "catalogue": catalogue}))
            .into_response();
    }
    with_retry_after(
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "unavailable", "database": "unreachable", "catalogue": "unknown"}),
            ),
        )
            .into_response(),
    )
}

async fn openapi(_: AppQuery<NoQuery>) -> Json<Value> {
    Json(crate::openapi::document())
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
        "runs": runs.iter().map(crate::cli::run_json).collect::<Vec<_>>(),
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
    Ok(Json(crate::cli::listing_json(&listing)))
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

async fn list_keys(
    State(state): State<AppState>,
    _: Authenticated,
    _: AppQuery<NoQuery>,
) -> Result<Json<Value>, ApiError> {
    let list = keys::list(&state.db)
        .await
        .map_err(|e| ApiError::internal("list keys", &e))?;
    Ok(Json(json!({ "keys": list })))
}

/// `POST /v1/permit-checks`: one decision, and with `reserve: true` the reservation.
async fn permit_check(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    q::AppJson(input): q::AppJson<rules::ApplicationInput>,
) -> Result<Json<Value>, ApiError> {
    if input.reserve {
        require(&caller, PERMIT_ROLES)?;
    }
    let actor = quota::Actor {
        name: caller.name.clone(),
        reason: None,
    };
    // A client_key is the caller's own: scoped to its API key.
    Ok(Json(
        state
            .checker()
            .check(input, &actor, Some(&caller.name))
            .await?,
    ))
}

impl From<crate::permit_check::CheckError> for ApiError {
    fn from(e: crate::permit_check::CheckError) -> ApiError {
        use crate::permit_check::CheckError as E;
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A query with a number, as a route may take one.
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Paged {
        page: Option<u32>,
        name: Option<String>,
    }

    async fn read(query: &str) -> Result<Paged, ApiError> {
        let request = axum::http::Request::builder()
            .uri(format!("/x?{query}"))
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        AppQuery::<Paged>::from_request_parts(&mut parts, &())
            .await
            .map(|AppQuery(q)| q)
    }

    /// Any parameter whose value does not decode is named, not "query" (issue 18, point 5).
    #[tokio::test]
    async fn a_query_value_that_does_not_decode_names_its_parameter() {
        for (value, why) in [
            ("99999999999999999999", "number too large"),
            ("-1", "invalid digit"),
            ("ten", "invalid digit"),
        ] {
            let e = read(&format!("name=x&page={value}")).await.unwrap_err();
            assert_eq!(
                (e.status, e.field.as_deref()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("page")),
                "{value}: {}",
                e.message
            );
            assert!(
                e.message.starts_with(&format!("invalid page {value:?}: "))
                    && e.message.contains(why)
                    && e.message.ends_with("; accepted a whole number"),
                "{value}: {}",
                e.message
            );
        }
        let e = read("colour=red").await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colour"), "{}", e.message);
        assert!(e.message.contains("accepted page or name"), "{}", e.message);
        let q = read("page=3&name=").await.unwrap();
        assert_eq!((q.page, q.name), (Some(3), None));
    }
}
