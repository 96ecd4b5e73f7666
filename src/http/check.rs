//! `POST /v1/permit-checks`: the permit check over HTTP (the checking is
//! `app::permit_check::Checker`'s).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use crate::http::quota::PERMIT_ROLES;
use crate::http::{ApiError, AppJson, AppState, Authenticated, require};

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/permit-checks", post(permit_check))
}

/// `POST /v1/permit-checks`: one decision, and with `reserve: true` the reservation.
async fn permit_check(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    AppJson(input): AppJson<rules::ApplicationInput>,
) -> Result<Json<Value>, ApiError> {
    if input.reserve {
        require(&caller, PERMIT_ROLES)?;
    }
    let actor = ::quota::Actor {
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
