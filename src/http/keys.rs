//! `GET /v1/keys`: the API keys, never their secrets (admins only).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::app::keys;
use crate::http::{ApiError, AppQuery, AppState, Authenticated, NoQuery};

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/keys", get(list_keys))
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
