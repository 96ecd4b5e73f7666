//! `GET /health` and `GET /v1/openapi.json`: what a monitor and a client read without a key.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::http::error::with_retry_after;
use crate::http::extract::{AppQuery, NoQuery};
use crate::http::{AppState, HEALTH_DEADLINE};

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/v1/openapi.json", get(openapi))
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
    Json(crate::http::openapi::document())
}
