//! The HTTP service (axum): JSON under `/v1`, API keys with roles, one error format. The
//! routes and their roles, the router and the role check are here; each resource's handlers
//! are in a module of their own; errors are mapped to statuses in `error` alone and requests
//! read by the extractors of `extract`.

mod catalogue;
mod check;
pub mod error;
pub mod extract;
mod health;
mod keys;
pub mod listen;
pub mod openapi;
pub mod quota;
mod report;
pub mod serve;
mod trace;

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use db::Db;
use domain::Clock;
use tower_http::trace::TraceLayer;

use crate::app::keys::{Caller, Role};
pub use crate::http::error::{ApiError, database_unavailable};
use crate::http::extract::authenticate;
pub use crate::http::extract::{AppJson, AppQuery, Authenticated, NoQuery};
use crate::http::quota::{DECLARE_ROLES, PERMIT_ROLES};
use crate::http::trace::INGEST_ROLES;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub catalogue: sync::Catalogue,
    pub ledger: ::quota::Ledger,
    /// Reservations go through one writer task that commits concurrent requests together.
    pub reserver: ::quota::GroupCommit,
    pub clock: Arc<dyn Clock>,
    /// National settings of the permit check (`--check-config`).
    pub check_settings: Arc<crate::app::permit_check::CheckSettings>,
    /// The yield and breeding tables of the trace sweep (`--trace-config`).
    pub trace_config: Arc<::trace::TraceConfig>,
    /// Whether the service mirrors Species+ (a token is configured): until its first complete
    /// run has succeeded, the catalogue is "loading" and permit checks are not answered.
    pub mirrors_speciesplus: bool,
}

impl AppState {
    /// Starts the reservation writer task, so it must run inside a tokio runtime.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> AppState {
        let ledger = ::quota::Ledger::new(db.clone(), clock.clone());
        AppState {
            catalogue: sync::Catalogue::new(db.clone()),
            reserver: ::quota::GroupCommit::start(ledger.clone()),
            ledger,
            db,
            clock,
            check_settings: Arc::new(crate::app::permit_check::CheckSettings::default()),
            trace_config: Arc::new(::trace::TraceConfig::default()),
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
    pub fn checker(&self) -> crate::app::permit_check::Checker {
        crate::app::permit_check::Checker {
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
/// is checked against this list in the tests. `authorize` enforces it before a handler runs
/// (so before a body is read), and a 405 names the methods it lists for the path.
pub const ROUTES: [(&str, &str, &[Role]); 29] = [
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
    ("POST", "/v1/trace/events", INGEST_ROLES),
    ("GET", "/v1/trace/specimens/{key}/origin", &Role::ALL),
    ("GET", "/v1/trace/specimens/{key}/forward", &Role::ALL),
    (
        "GET",
        "/v1/trace/specimens/{key}/legal-acquisition",
        &Role::ALL,
    ),
    ("GET", "/v1/trace/events/{key}/forward", &Role::ALL),
    ("GET", "/v1/trace/identifiers/{value}", &Role::ALL),
    ("GET", "/v1/trace/documents/{number}", &Role::ALL),
    ("GET", "/v1/trace/findings", &Role::ALL),
    ("GET", "/v1/reports/quota-use", &Role::ALL),
];

/// Largest request body accepted, in bytes: a permit check or a quota is a few hundred.
pub const BODY_BYTES_MAX: usize = 256 * 1024;
/// Seconds a 503 asks the client to wait before sending the request again (`Retry-After`):
/// a database that was locked or restarting is often back by then, and a client retrying at
/// once would only add to the requests waiting on it.
pub const RETRY_AFTER_SECS: u32 = 2;
/// The longest `/health` waits for the database's answer before saying it is unreachable
/// (the ledger's writes are bounded alike: [`::quota::WRITE_DEADLINE`]).
pub const HEALTH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// The service's router: each resource's routes, behind the role check of [`ROUTES`].
pub fn app(state: AppState) -> Router {
    // The route layer runs only for a matched route and method, inside the router, so it
    // sees the matched path; the method fallback is set after every route, which it covers.
    Router::new()
        .merge(health::routes())
        .merge(catalogue::routes())
        .merge(keys::routes())
        .merge(quota::routes())
        .merge(check::routes())
        .merge(trace::routes())
        .merge(report::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
        tracing::error!(method = %parts.method, path = ?path, "route missing from http::ROUTES");
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
