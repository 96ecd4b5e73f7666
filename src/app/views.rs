//! The JSON shapes both interfaces answer with: an HTTP route's body and the `--json` output of
//! the command that does the same (a ledger outcome, a quota with its Species+ value, a sync
//! run, a listing).

use rust_decimal::Decimal;
use serde_json::{Value, json};
use sync::listing::Status;

/// A ledger outcome as the quota routes answer it: the outcome, and a refusal's message.
pub fn outcome_json(o: &quota::Outcome) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let quota::Outcome::Refused { refusal, .. } = o {
        v["message"] = json!(refusal.message());
    }
    v
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

/// A sync run as JSON (the stored report parsed back into an object).
pub fn run_json(r: &sync::store::RunRecord) -> Value {
    json!({
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "updated_since": r.updated_since,
        "checkpoint": r.checkpoint.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok()),
        "report": r.report.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok()),
        "error": r.error,
    })
}

/// A listing as JSON: the shape of `GET /v1/taxa/{id}/listing` and `cites listing --json`.
pub fn listing_json(l: &sync::catalogue::TaxonListing) -> Value {
    let (appendix, status) = match &l.listing.status {
        Status::Listed { appendix } => (json!(appendix), "listed"),
        Status::NotListed => (Value::Null, "not_listed"),
        Status::DependsOnPopulation { .. } => (Value::Null, "depends_on_population"),
    };
    json!({
        "taxon": l.taxon,
        "resolved_from_synonym": l.via_synonym,
        "date": l.listing.date,
        "country": l.listing.country,
        "status": status,
        "appendix": appendix,
        "summary": l.listing.summary(),
        "needs_review": l.listing.needs_review,
        "inherited_from": l.inherited_from,
        "app_iii_parties": l.listing.app_iii_parties,
        "reservations": l.listing.reservations,
        "deciding_listing_changes": l.listing.deciding,
        "deciding_listing_change_ids": l.listing.deciding.iter().map(|f| f.listing_id).collect::<Vec<_>>(),
    })
}
