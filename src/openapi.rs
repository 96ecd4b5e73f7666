//! The OpenAPI 3.1 document of the HTTP service, served at `/v1/openapi.json`.
//!
//! Written out by hand: the service has a handful of routes, and a test checks that every
//! route of `server::ROUTES` is documented here with its error responses, so the document
//! cannot drift from the router unnoticed.

use serde_json::{Value, json};

fn error_responses(auth: bool) -> Value {
    let mut r = json!({
        "422": {"description": "invalid input; `error.field` names the field", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "500": {"description": "the server could not answer", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    });
    if auth {
        r["401"] = json!({"description": "missing, unknown or revoked API key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        r["403"] = json!({"description": "the key's role may not do this", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    }
    r
}

fn op(summary: &str, params: Value, ok: &str, auth: bool, not_found: bool) -> Value {
    let mut responses = error_responses(auth);
    responses["200"] =
        json!({"description": ok, "content": {"application/json": {"schema": {"type": "object"}}}});
    if not_found {
        responses["404"] = json!({"description": "no such taxon", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    }
    let mut o = json!({"summary": summary, "parameters": params, "responses": responses});
    if !auth {
        o["security"] = json!([]);
    }
    o
}

fn param(name: &str, location: &str, required: bool, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": location, "required": required, "description": description, "schema": schema})
}

/// The document.
pub fn document() -> Value {
    let date = json!({"type": "string", "format": "date"});
    let id = param(
        "id",
        "path",
        true,
        "Species+ taxon concept id",
        json!({"type": "integer", "minimum": 1}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cites-engine",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "CITES listings mirrored from Species+, answered at any date."
        },
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "an API key from `cites keys create`; X-API-Key is also accepted"}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}
                    }}}
                }
            }
        },
        "paths": {
            "/health": {"get": op("Liveness and database reachability", json!([]), "the service and its database answer", false, false)},
            "/v1/openapi.json": {"get": op("This document", json!([]), "the OpenAPI document", false, false)},
            "/v1/sync/status": {"get": op("The last sync runs and the catalogue's size", json!([
                param("limit", "query", false, "runs to list (1-100, default 10)", json!({"type": "integer"}))
            ]), "runs, newest first", true, false)},
            "/v1/taxa": {"get": op("Find taxa by scientific name prefix or common name", json!([
                param("name", "query", true, "at least 2 characters", json!({"type": "string"}))
            ]), "matching taxa (at most 50)", true, false)},
            "/v1/taxa/{id}": {"get": op("One taxon with its distribution", json!([id.clone()]), "the taxon", true, true)},
            "/v1/taxa/{id}/listing": {"get": op("The CITES listing of a taxon on a date", json!([
                id,
                param("date", "query", false, "YYYY-MM-DD, default today", date.clone()),
                param("country", "query", false, "ISO 3166-1 alpha-2 country of origin (split listings)", json!({"type": "string"}))
            ]), "appendix or not listed, annotations, App III parties, reservations and the deciding listing changes", true, true)},
            "/v1/amendments": {"get": op("Listing changes taking effect in a date range, per taxon, with the listing before and after", json!([
                param("from", "query", true, "first day, YYYY-MM-DD", date.clone()),
                param("to", "query", true, "last day, YYYY-MM-DD", date)
            ]), "amendments in date order", true, false)},
            "/v1/keys": {"get": op("API keys (names, roles, prefixes; never secrets); admin only", json!([]), "the keys", true, false)}
        }
    })
}
