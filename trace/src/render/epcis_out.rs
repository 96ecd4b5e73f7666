//! An answer as an EPCIS 2.0 JSON-LD capture document (`EPCISDocument`) that validates
//! against GS1's JSON schema and that the register's EPCIS reader ([`crate::parse_epcis`])
//! takes back, giving the same origin:
//!
//! - an acquisition is an `ObjectEvent` ADD (`bizStep` commissioning) whose `ilmd` names its
//!   kind (`cites:acquisition`) and describes what it produced (`cites:taxon`, `cites:term`,
//!   `cites:source`);
//! - a split, merge, relabel or transform is a `TransformationEvent` (`cites:eventKind` names
//!   which), its outputs described by `ilmd` the same way;
//! - custody and trade (transfer, export, re-export, import, seizure) is an `ObjectEvent`
//!   OBSERVE with `cites:eventKind`; a destruction an `ObjectEvent` DELETE;
//! - material flows are `quantityList` entries (the specimen's key as `epcClass`, the exact
//!   quantity in the specimen's unit as `uom`); custody of a whole specimen is an `epcList`
//!   entry;
//! - the documents an event cites are `certificationInfo` URIs
//!   `urn:cites:document:{country}:{type}:{number}`; its country and agent are `cites:country`
//!   and `cites:agent`.
//!
//! Fail closed: keys that are not absolute URIs, outputs of one event that differ in taxon,
//! term or source (one `ilmd` describes them all), an output whose flow is not the whole of its
//! specimen, or a quantity a JSON number cannot carry exactly are refused, named; the document
//! is never written partly. Specimens produced outside the answer (the start of a forward
//! trace, or a specimen with no producing event) are referred to, not declared: the register
//! that reads the document must hold them.

use chrono::SecondsFormat;
use domain::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Map, Number, Value, json};

use super::{RenderError, View};
use crate::epcis::DOCUMENT_URI_PREFIX;
use crate::model::EventKind;
use crate::query::{Node, QueryEdge};

/// The JSON-LD context of EPCIS 2.0 documents.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/// The namespace of the `cites:` extension fields.
pub const CITES_NAMESPACE: &str = "urn:cites:";

/// The EPCIS document of `view`, created at `created`.
pub fn render(view: &View<'_>, created: Timestamp) -> Result<Value, RenderError> {
    let specimens: std::collections::HashMap<&str, &Node> = view
        .nodes
        .iter()
        .filter(|n| matches!(n, Node::Specimen { .. }))
        .map(|n| (n.key(), n))
        .collect();
    let docs = documents_by_event(view)?;
    let mut events: Vec<&Node> = view
        .nodes
        .iter()
        .filter(|n| matches!(n, Node::Event { .. }))
        .collect();
    events.sort_by_key(|n| match n {
        Node::Event { at, key, .. } => (*at, key.clone()),
        Node::Specimen { key, .. } => (Timestamp::MIN_UTC, key.clone()),
    });
    let edges = view.sorted_edges();
    let mut list = Vec::with_capacity(events.len());
    for e in events {
        let Node::Event {
            key,
            event,
            at,
            country,
            agent,
        } = e
        else {
            continue;
        };
        let of = |kind: &str| -> Vec<&QueryEdge> {
            edges
                .iter()
                .filter(|x| {
                    let end = if kind == "output" { &x.from } else { &x.to };
                    x.kind == kind && end == key
                })
                .copied()
                .collect()
        };
        let what = format!("event {key}");
        let kind = EventKind::parse(event).ok_or_else(|| not(&what, "its kind is unknown"))?;
        let mut m = Map::new();
        m.insert("eventID".into(), json!(uri(key, &what)?));
        m.insert(
            "eventTime".into(),
            json!(at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        );
        m.insert("eventTimeZoneOffset".into(), json!("+00:00"));
        if let Some(c) = country {
            m.insert("cites:country".into(), json!(c));
        }
        if let Some(a) = agent {
            m.insert("cites:agent".into(), json!(a));
        }
        if let Some(d) = docs.get(key.as_str()) {
            m.insert("certificationInfo".into(), json!(d));
        }
        let (ins, outs, subs) = (of("input"), of("output"), of("subject"));
        if kind.is_acquisition() {
            m.insert("type".into(), json!("ObjectEvent"));
            m.insert("action".into(), json!("ADD"));
            m.insert("bizStep".into(), json!("commissioning"));
            m.insert("epcList".into(), json!([]));
            m.insert("quantityList".into(), quantities(&outs, &what)?);
            let mut ilmd = describe(&outs, &specimens, &what)?;
            ilmd.insert("cites:acquisition".into(), json!(event));
            m.insert("ilmd".into(), Value::Object(ilmd));
        } else if kind.is_custody() {
            m.insert("type".into(), json!("ObjectEvent"));
            m.insert("action".into(), json!("OBSERVE"));
            match kind {
                EventKind::Export | EventKind::ReExport => {
                    m.insert("bizStep".into(), json!("shipping"));
                }
                EventKind::Import => {
                    m.insert("bizStep".into(), json!("receiving"));
                }
                _ => {}
            }
            m.insert("cites:eventKind".into(), json!(event));
            let whole: Vec<Value> = subs
                .iter()
                .filter(|s| s.quantity.is_none())
                .map(|s| uri(&s.from, &what).map(Value::from))
                .collect::<Result<_, _>>()?;
            m.insert("epcList".into(), Value::Array(whole));
            let parts: Vec<&QueryEdge> = subs
                .iter()
                .filter(|s| s.quantity.is_some())
                .copied()
                .collect();
            if !parts.is_empty() {
                m.insert("quantityList".into(), quantities(&parts, &what)?);
            }
        } else if kind == EventKind::Destruction {
            m.insert("type".into(), json!("ObjectEvent"));
            m.insert("action".into(), json!("DELETE"));
            m.insert("bizStep".into(), json!("destroying"));
            m.insert("epcList".into(), json!([]));
            m.insert("quantityList".into(), quantities(&ins, &what)?);
        } else {
            m.insert("type".into(), json!("TransformationEvent"));
            m.insert("cites:eventKind".into(), json!(event));
            m.insert("inputQuantityList".into(), quantities(&ins, &what)?);
            m.insert("outputQuantityList".into(), quantities(&outs, &what)?);
            m.insert(
                "ilmd".into(),
                Value::Object(describe(&outs, &specimens, &what)?),
            );
        }
        list.push(Value::Object(m));
    }
    Ok(json!({
        "@context": [EPCIS_CONTEXT, {"cites": CITES_NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created.to_rfc3339_opts(SecondsFormat::Secs, true),
        "epcisBody": {"eventList": list}
    }))
}

fn not(what: &str, why: &str) -> RenderError {
    RenderError::NotExpressible {
        what: what.to_owned(),
        why: why.to_owned(),
    }
}

/// Each event's documents as URIs.
fn documents_by_event<'a>(
    view: &View<'a>,
) -> Result<std::collections::BTreeMap<&'a str, Vec<String>>, RenderError> {
    let mut by: std::collections::BTreeMap<&'a str, Vec<String>> = Default::default();
    for d in view.documents {
        let u = format!(
            "{DOCUMENT_URI_PREFIX}{}:{}:{}",
            d.country, d.doc_type, d.number
        );
        let u = uri(
            &u,
            &format!("document {} {} {}", d.country, d.doc_type, d.number),
        )?;
        for e in &d.events {
            by.entry(e.as_str()).or_default().push(u.clone());
        }
    }
    Ok(by)
}

/// `key` when it is an absolute URI of printable URI characters (what EPCIS's `uri` format
/// takes), a refusal naming `what` otherwise.
fn uri(key: &str, what: &str) -> Result<String, RenderError> {
    let (scheme, rest) = key.split_once(':').unwrap_or(("", ""));
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let rest_ok = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c));
    if scheme_ok && rest_ok {
        Ok(key.to_owned())
    } else {
        Err(not(
            what,
            &format!("{key:?} is not an absolute URI, which EPCIS requires of identifiers"),
        ))
    }
}

/// Flows as a `quantityList`, each in its specimen's unit.
fn quantities(flows: &[&QueryEdge], what: &str) -> Result<Value, RenderError> {
    let mut out = Vec::with_capacity(flows.len());
    for f in flows {
        let specimen = if f.kind == "output" { &f.to } else { &f.from };
        let (Some(q), Some(unit)) = (f.quantity, &f.unit) else {
            return Err(not(
                what,
                &format!("the flow of {specimen} has no quantity"),
            ));
        };
        out.push(
            json!({"epcClass": uri(specimen, what)?, "quantity": number(q, what)?, "uom": unit}),
        );
    }
    Ok(Value::Array(out))
}

/// An exact quantity as a JSON number that reads back as the same decimal.
fn number(q: Decimal, what: &str) -> Result<Number, RenderError> {
    let text = q.normalize().to_string();
    let n: Option<Number> = serde_json::from_str(&text).ok();
    match n {
        Some(n)
            if domain::parse_amount("quantity", &n.to_string())
                .is_ok_and(|back| back == q.normalize()) =>
        {
            Ok(n)
        }
        _ => Err(not(
            what,
            &format!("the quantity {text} cannot be written exactly as a JSON number"),
        )),
    }
}

/// The `ilmd` describing an event's outputs: one taxon, term and source for all, each output
/// whole (its flow is its specimen's quantity).
fn describe(
    outs: &[&QueryEdge],
    specimens: &std::collections::HashMap<&str, &Node>,
    what: &str,
) -> Result<Map<String, Value>, RenderError> {
    let mut described: Option<(i64, &str, &str)> = None;
    for o in outs {
        let Some(Node::Specimen {
            taxon,
            term,
            quantity,
            unit,
            source,
            ..
        }) = specimens.get(o.to.as_str())
        else {
            return Err(not(
                what,
                &format!("its output {} is not in the answer", o.to),
            ));
        };
        if o.quantity != Some(*quantity) || o.unit.as_deref() != Some(unit.as_str()) {
            return Err(not(
                what,
                &format!(
                    "its output {} is not the whole specimen, which EPCIS cannot say",
                    o.to
                ),
            ));
        }
        let this = (*taxon, term.as_str(), source.as_str());
        match described {
            None => described = Some(this),
            Some(d) if d == this => {}
            Some(_) => {
                return Err(not(
                    what,
                    "its outputs differ in taxon, term or source, and one ilmd describes them all",
                ));
            }
        }
    }
    let (taxon, term, source) = described.ok_or_else(|| not(what, "it produced nothing"))?;
    let mut m = Map::new();
    m.insert("cites:taxon".into(), json!(taxon.to_string()));
    m.insert("cites:term".into(), json!(term));
    m.insert("cites:source".into(), json!(source));
    Ok(m)
}
