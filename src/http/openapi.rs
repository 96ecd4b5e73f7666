//! The OpenAPI 3.1 document of the HTTP service, served at `/v1/openapi.json`.
//!
//! Written out by hand: the service has a handful of routes, and a test checks that every
//! route of `http::ROUTES` is documented here with its error responses, so the document
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
        r["503"] = json!({"description": "the database stayed out of reach, or locked by another process, through the server's retries; try again after `Retry-After` seconds", "headers": retry_after(), "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    }
    r
}

/// An operation; `not_found` is its 404's description ("no such quota"), if it has one.
fn op(summary: &str, params: Value, ok: &str, auth: bool, not_found: Option<&str>) -> Value {
    let mut responses = error_responses(auth);
    responses["200"] =
        json!({"description": ok, "content": {"application/json": {"schema": {"type": "object"}}}});
    if let Some(not_found) = not_found {
        responses["404"] = json!({"description": not_found, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
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

/// An operation with a JSON body; one on `/{id}` has `not_found`, its 404's description.
fn body_op(summary: &str, schema: Value, ok: &str, not_found: Option<&str>) -> Value {
    let mut o = op(summary, json!([]), ok, true, not_found);
    if not_found.is_some() {
        o["parameters"] = json!([param(
            "id",
            "path",
            true,
            "id",
            json!({"type": "integer", "minimum": 1})
        )]);
    }
    o["responses"]["409"] = json!({"description": "this API key first used the client_key with other parameters (client keys are per API key: another key's same client_key is another request)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    o["responses"]["503"] = json!({"description": format!("the database stayed out of reach, or locked by another process, for {} s; send the request again, after `Retry-After` seconds, with the same client_key and the same API key (it takes effect at most once)", quota::WRITE_DEADLINE.as_secs()), "headers": retry_after(), "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    o["requestBody"] =
        json!({"required": true, "content": {"application/json": {"schema": schema}}});
    o
}

/// Declaring answers 201 (a retry with its client key too), and 409 for a second quota of one
/// scope as well as for a reused key.
fn declare_op(mut o: Value) -> Value {
    if let Some(responses) = o["responses"].as_object_mut()
        && let Some(ok) = responses.remove("200")
    {
        responses.insert("201".into(), ok);
    }
    o["responses"]["409"]["description"] = json!(
        "quota_exists: a national quota of this exporter, taxon, unit and restrictions already covers part of the period (revise it); or key_conflict: this API key first used the client_key with other parameters"
    );
    o
}

/// What the commit takes: all of the hold, or `quantity` of it (`unit` only with `quantity`).
fn commit_body() -> Value {
    json!({"type": "object", "required": ["client_key"], "additionalProperties": false,
        "description": "Unknown fields are refused. Without quantity the whole hold is committed; unit goes with quantity only.",
        "properties": {
        "client_key": {"type": "string"},
        "quantity": {"type": "string", "description": "exact decimal, at most the hold; the rest returns to the quota"},
        "unit": {"type": "string", "description": "the unit of quantity (default: the quota's)"},
        "permit_expires_at": {"type": "string", "format": "date-time"}, "reason": {"type": "string"}}})
}

/// What release and close take: they move everything still open, so no quantity.
fn whole_body() -> Value {
    json!({"type": "object", "required": ["client_key"], "additionalProperties": false,
        "description": "Unknown fields (a quantity among them) are refused.",
        "properties": {"client_key": {"type": "string"}, "reason": {"type": "string"}}})
}

/// What an export takes: the quantity exported.
fn export_body() -> Value {
    json!({"type": "object", "required": ["client_key", "quantity"], "additionalProperties": false,
        "description": "Unknown fields are refused.",
        "properties": {
        "client_key": {"type": "string"}, "quantity": {"type": "string", "description": "exact decimal"},
        "unit": {"type": "string", "description": "the unit of quantity (default: the quota's)"},
        "reason": {"type": "string"}}})
}

fn check_body() -> Value {
    let s = json!({"type": "string"});
    let prior = json!({"type": "object", "properties": {
        "number": s, "country": s, "issued_on": {"type": "string", "format": "date"},
        "appendix": s, "source": s, "quantity_remaining": s, "unit": s}});
    json!({"type": "object", "required": ["transaction", "exporter", "importer", "source", "purpose", "term", "quantity", "date_issue", "date_trade"],
        "description": "Unknown fields are refused. Give taxon (a name; synonyms resolve) or taxon_id.",
        "properties": {
        "transaction": {"type": "string", "enum": ["export", "re-export", "import", "introduction_from_the_sea"]},
        "taxon": s, "taxon_id": {"type": ["integer", "string"]},
        "exporter": s, "importer": s, "origin": s, "source": s, "purpose": s, "term": s,
        "quantity": {"type": ["string", "number"]}, "unit": s,
        "date_issue": {"type": "string", "format": "date"}, "date_trade": {"type": "string", "format": "date"},
        "documents": {"type": "object", "properties": {
            "import_permit": {"type": "object", "properties": {"number": s, "issued_on": {"type": "string", "format": "date"}, "taxon": s, "quantity": s, "unit": s}},
            "export_permit": {"type": "object", "properties": {"number": s, "country": s, "issued_on": {"type": "string", "format": "date"}}},
            "origin_permit": prior, "last_reexport": prior,
            "pre_convention_date": {"type": "string", "format": "date"}, "pre_convention_certificate": s,
            "ifs_certificate": s, "certificate_of_origin": s, "captive_breeding_registration": s,
            "ndf_reference": s, "laf_reference": s, "lawful_disposal_reference": s,
            "valid_until": {"type": "string", "format": "date"}, "security_stamp": s}},
        "reserve": {"type": "boolean", "description": "reserve the quota when the decision is ALLOW (permit officers and admins; needs client_key)"},
        "client_key": {"type": "string", "description": "this API key's own: another key's check under the same client_key is another check"}}})
}

/// The document.
pub fn document() -> Value {
    let date = json!({"type": "string", "format": "date"});
    let qid = param(
        "id",
        "path",
        true,
        "id",
        json!({"type": "integer", "minimum": 1}),
    );
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
            "/health": {"get": op("Liveness, database reachability (503 when unreachable) and the catalogue's state: mirror, loading (a service with a Species+ token whose first mirror has not succeeded: permit checks answer 503 catalogue_loading), sample (the built-in sample: every decision NEEDS_REVIEW with SAMPLE_CATALOGUE) or empty", json!([]), "the service and its database answer", false, None)},
            "/v1/openapi.json": {"get": op("This document", json!([]), "the OpenAPI document", false, None)},
            "/v1/sync/status": {"get": op("The last sync runs, the catalogue's size and its state (catalogue_state: mirror, loading, sample or empty)", json!([
                param("limit", "query", false, "runs to list (1-100, default 10)", json!({"type": "integer"}))
            ]), "runs, newest first", true, None)},
            "/v1/taxa": {"get": op("Find taxa by scientific name prefix or common name", json!([
                param("name", "query", true, "at least 2 characters", json!({"type": "string"}))
            ]), "matching taxa (at most 50)", true, None)},
            "/v1/taxa/{id}": {"get": op("One taxon with its distribution", json!([id.clone()]), "the taxon", true, Some("no such taxon"))},
            "/v1/taxa/{id}/listing": {"get": op("The CITES listing of a taxon on a date", json!([
                id,
                param("date", "query", false, "YYYY-MM-DD, default today", date.clone()),
                param("country", "query", false, "ISO 3166-1 alpha-2 country of origin (split listings)", json!({"type": "string"}))
            ]), "appendix or not listed, annotations, App III parties, reservations and the deciding listing changes", true, Some("no such taxon"))},
            "/v1/amendments": {"get": op("Listing changes taking effect in a date range, per taxon, with the listing before and after", json!([
                param("from", "query", true, "first day, YYYY-MM-DD", date.clone()),
                param("to", "query", true, "last day, YYYY-MM-DD", date)
            ]), "amendments in date order", true, None)},
            "/v1/keys": {"get": op("API keys (names, roles, prefixes; never secrets); admin only", json!([]), "the keys", true, None)},
            "/v1/quotas": {
                "get": op("Export quotas, with held / committed / exported / available and the box-11a figure", json!([
                    param("exporter", "query", false, "ISO 3166-1 alpha-2 exporting country", json!({"type": "string"})),
                    param("taxon", "query", false, "Species+ taxon id: the quotas declared on it, on concepts Species+ has merged into it and, for a synonym, on its accepted taxon (the answer's taxon_ids lists the ids searched; a permit check also applies its ancestors' quotas)", json!({"type": "integer"})),
                    param("year", "query", false, "quotas in force during part of this year", json!({"type": "integer"}))
                ]), "quotas", true, None),
                "post": declare_op(body_op("Declare a national quota (scientific-authority, admin); idempotent on client_key",
                    json!({"type": "object", "required": ["client_key", "exporter", "taxon_id"], "additionalProperties": false, "properties": {
                        "client_key": {"type": "string"}, "exporter": {"type": "string"}, "taxon_id": {"type": "integer", "description": "Species+ id of an accepted, active taxon in the catalogue (422 otherwise, and on an empty catalogue: a synonym's answer names its accepted taxon)"},
                        "year": {"type": "integer"}, "period_start": {"type": "string", "format": "date"},
                        "period_last_day": {"type": "string", "format": "date"},
                        "limit": {"type": ["string", "null"], "description": "exact decimal; null = in preparation"},
                        "unit": {"type": "string", "description": "default blank: a count of specimens (NAR), whose limit is whole"}, "term": {"type": "string"}, "source": {"type": "string"},
                        "purpose": {"type": "string"}, "notes": {"type": "string"}, "reason": {"type": "string"}}}),
                    "the quota", None))
            },
            "/v1/quotas/{id}": {"get": op("One quota and where it stands (box 11a: committed + exported); an imported quota also gives speciesplus_value, the value Species+ published at the last import (null: in preparation)", json!([qid.clone()]), "the quota", true, Some("no such quota"))},
            "/v1/quotas/{id}/history": {"get": op("The quota's audit ledger, in sequence, one page at a time; each entry carries the counters just after it, and a refusal (reject, commit_refused, release_refused, export_refused, close_refused) the quantity asked (requested: none when none was given: a release, a close, a commit of the whole hold) and why it was refused (refusal_message)", json!([qid.clone(),
                param("after", "query", false, "the next_after of the previous page (default 0: from the start)", json!({"type": "integer", "minimum": 0})),
                param("limit", "query", false, "entries per page (default 1000)", json!({"type": "integer", "minimum": 1, "maximum": 10000}))]),
                "ledger entries and next_after (null on the last page)", true, Some("no such quota"))},
            "/v1/quotas/{id}/revisions": {"post": body_op("Revise a quota's limit (scientific-authority, admin): a national quota amended, or null for in preparation again; refused (422, field limit) below what is already held, committed and exported; idempotent on client_key",
                json!({"type": "object", "required": ["client_key", "limit"], "additionalProperties": false, "properties": {
                    "client_key": {"type": "string"},
                    "limit": {"type": ["string", "null"], "description": "exact decimal; null = in preparation"},
                    "unit": {"type": "string", "description": "default: the quota's"}, "reason": {"type": "string"}}}),
                "the quota as revised", Some("no such quota"))},
            "/v1/quotas/{id}/reservations": {"post": body_op("Reserve a quantity (permit-officer, admin); refused as data when the quota cannot cover it",
                json!({"type": "object", "required": ["client_key", "quantity"], "additionalProperties": false, "properties": {
                    "client_key": {"type": "string"}, "quantity": {"type": "string"}, "unit": {"type": "string"},
                    "expires_at": {"type": "string", "format": "date-time", "description": "end of the hold (default now + 14 days, at most 180 days); a later one than the end of the quota's period is brought back to it, as the answer's expires_at shows"}, "reason": {"type": "string"}}}),
                "outcome done or refused", Some("no such quota"))},
            "/v1/reservations/{id}": {"get": op("One reservation", json!([qid.clone()]), "the reservation", true, Some("no such reservation"))},
            "/v1/reservations/{id}/commit": {"post": body_op("Commit a held reservation as an issued permit, possibly for less", commit_body(), "outcome", Some("no such reservation"))},
            "/v1/reservations/{id}/release": {"post": body_op("Release a held reservation; all of it returns to the quota", whole_body(), "outcome", Some("no such reservation"))},
            "/v1/reservations/{id}/exports": {"post": body_op("Record a quantity actually exported under a committed permit", export_body(), "outcome", Some("no such reservation"))},
            "/v1/reservations/{id}/close": {"post": body_op("Close a committed permit; what it did not export returns", whole_body(), "outcome", Some("no such reservation"))},
            "/v1/permit-checks": {"post": body_op("Check a permit application: ALLOW, REFUSE, NEEDS_REVIEW or NOT_CITES with every reason, its legal basis and evidence, box 11a and a risk score; with reserve: true an ALLOW reserves the quota in the same call", check_body(), "the decision", None)}
        }
    })
}

/// The `Retry-After` header of a 503 ([`crate::http::RETRY_AFTER_SECS`]).
fn retry_after() -> serde_json::Value {
    json!({"Retry-After": {"description": "seconds to wait before sending the request again",
        "schema": {"type": "integer", "example": crate::http::RETRY_AFTER_SECS}}})
}
