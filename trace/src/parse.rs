//! The project's own batch JSON, read field by field so that every fault is reported with its
//! JSON path, not only the first:
//!
//! ```json
//! {"agents": [{"key", "kind", "name", "country"?, "registration"?}],
//!  "documents": [{"country", "type", "number", "status", "issued_on"?, "valid_from"?,
//!                 "valid_until"?, "taxon"?, "permitted"?, "actual"?, "issuer"?}],
//!  "specimens": [{"key", "taxon", "term", "quantity", "source", "identifiers"?: [{"scheme", "value"}]}],
//!  "events": [{"key", "kind", "at", "country"?, "agent"?, "inputs"?, "outputs"?, "subjects"?,
//!              "documents"?: [{"country", "type", "number"}], "yield"?}],
//!  "corrections": [{"event", "declared_at", "reason", "corrective_events"}]}
//! ```
//!
//! A quantity is `{"amount": "1.5", "unit": "KGM"}` (the amount a string in the one grammar of
//! amounts, or a JSON number written the same way); a flow is `{"specimen", "quantity"?}`.

use domain::{CountryCode, Quantity, SourceCode, TaxonId, TermCode, UnitCode};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::error::{Problems, Result};
use crate::model::{
    Agent, AgentKind, Batch, Correction, DocStatus, DocType, Document, DocumentKey, Event,
    EventKind, Flow, IdScheme, Identifier, Specimen,
};

/// The longest key (of a specimen, event or agent) or identifier the register takes: URIs
/// such as EPCIS event hashes fit with room to spare.
pub const KEY_CHARS_MAX: usize = 512;
/// A document number: box 1 of the standard permit form is 1 to 35 characters.
pub const DOCUMENT_NUMBER_CHARS_MAX: usize = 35;

/// Reads a batch in the project's JSON. Refuses it with every problem found.
pub fn parse_batch(json: &Value) -> Result<Batch> {
    let mut p = Problems::default();
    let batch = read_batch(json, &mut p);
    p.into_result(batch)
}

fn read_batch(json: &Value, p: &mut Problems) -> Batch {
    let mut batch = Batch::default();
    let Some(top) = object(json, "$", p) else {
        return batch;
    };
    allowed(
        top,
        "",
        &["agents", "documents", "specimens", "events", "corrections"],
        p,
    );
    for (path, v) in array(top, "", "agents", p) {
        if let Some(a) = read_agent(&path, v, p) {
            batch.agents.push(a);
        }
    }
    for (path, v) in array(top, "", "documents", p) {
        if let Some(d) = read_document(&path, v, p) {
            batch.documents.push(d);
        }
    }
    for (path, v) in array(top, "", "specimens", p) {
        if let Some(s) = read_specimen(&path, v, p) {
            batch.specimens.push(s);
        }
    }
    for (path, v) in array(top, "", "events", p) {
        if let Some(e) = read_event(&path, v, p) {
            batch.events.push(e);
        }
    }
    for (path, v) in array(top, "", "corrections", p) {
        if let Some(c) = read_correction(&path, v, p) {
            batch.corrections.push(c);
        }
    }
    batch
}

fn read_agent(path: &str, v: &Value, p: &mut Problems) -> Option<Agent> {
    let m = object(v, path, p)?;
    allowed(
        m,
        path,
        &["key", "kind", "name", "country", "registration"],
        p,
    );
    let key = key(m, path, "key", p);
    let kind = vocab(m, path, "kind", AgentKind::parse, AgentKind::accepted, p);
    let name = text(m, path, "name", p);
    let country = optional(m, path, "country", p, |s| {
        CountryCode::parse(s).map_err(|e| e.to_string())
    });
    let registration = optional_text(m, path, "registration", p);
    Some(Agent {
        path: path.to_owned(),
        key: key?,
        kind: kind?,
        name: name?,
        country: country?,
        registration: registration?,
    })
}

pub(crate) fn read_document_key(
    path: &str,
    m: &Map<String, Value>,
    p: &mut Problems,
) -> Option<DocumentKey> {
    let country = required(m, path, "country", p, |s| {
        CountryCode::parse(s).map_err(|e| e.to_string())
    });
    let doc_type = vocab(m, path, "type", DocType::parse, DocType::accepted, p);
    let number = required(m, path, "number", p, |s| {
        let n = s.trim();
        if n.is_empty()
            || n.chars().count() > DOCUMENT_NUMBER_CHARS_MAX
            || n.chars().any(char::is_control)
        {
            Err(format!(
                "{s:?} is not a document number: accepted 1 to {DOCUMENT_NUMBER_CHARS_MAX} printable characters (box 1 of the permit form)"
            ))
        } else {
            Ok(n.to_owned())
        }
    });
    Some(DocumentKey {
        country: country?,
        doc_type: doc_type?,
        number: number?,
    })
}

fn read_document(path: &str, v: &Value, p: &mut Problems) -> Option<Document> {
    let m = object(v, path, p)?;
    allowed(
        m,
        path,
        &[
            "country",
            "type",
            "number",
            "status",
            "issued_on",
            "valid_from",
            "valid_until",
            "taxon",
            "permitted",
            "actual",
            "issuer",
        ],
        p,
    );
    let key = read_document_key(path, m, p);
    let status = vocab(m, path, "status", DocStatus::parse, DocStatus::accepted, p);
    let date = |field: &'static str, p: &mut Problems| {
        optional(m, path, field, p, |s| {
            domain::parse_date(field, s).map_err(|e| e.to_string())
        })
    };
    let issued_on = date("issued_on", p);
    let valid_from = date("valid_from", p);
    let valid_until = date("valid_until", p);
    if let (Some(Some(from)), Some(Some(until))) = (valid_from, valid_until)
        && from > until
    {
        p.push(
            format!("{path}.valid_until"),
            format!("{until} is before valid_from {from}"),
        );
    }
    let taxon = optional(m, path, "taxon", p, |s| {
        TaxonId::parse(s).map_err(|e| e.to_string())
    });
    let permitted = optional_quantity(m, path, "permitted", p);
    let actual = optional_quantity(m, path, "actual", p);
    let issuer = optional_text(m, path, "issuer", p);
    Some(Document {
        path: path.to_owned(),
        key: key?,
        status: status?,
        issued_on: issued_on?,
        valid_from: valid_from?,
        valid_until: valid_until?,
        taxon: taxon?,
        permitted: permitted?,
        actual: actual?,
        issuer: issuer?,
    })
}

fn read_specimen(path: &str, v: &Value, p: &mut Problems) -> Option<Specimen> {
    let m = object(v, path, p)?;
    allowed(
        m,
        path,
        &["key", "taxon", "term", "quantity", "source", "identifiers"],
        p,
    );
    let key = key(m, path, "key", p);
    let taxon = required(m, path, "taxon", p, |s| {
        TaxonId::parse(s).map_err(|e| e.to_string())
    });
    let term = required(m, path, "term", p, |s| {
        TermCode::parse(s).map_err(|e| e.to_string())
    });
    let quantity = match m.get("quantity") {
        None => {
            p.push(format!("{path}.quantity"), "missing");
            None
        }
        Some(q) => read_quantity(&format!("{path}.quantity"), q, p),
    };
    if let Some(q) = quantity
        && q.is_zero()
    {
        p.push(
            format!("{path}.quantity"),
            "a specimen's quantity is more than 0",
        );
    }
    let source = required(m, path, "source", p, |s| {
        SourceCode::parse(s).map_err(|e| e.to_string())
    });
    let mut identifiers = Some(Vec::new());
    for (ipath, iv) in array(m, path, "identifiers", p) {
        match read_identifier(&ipath, iv, p) {
            Some(i) => {
                if let Some(ids) = identifiers.as_mut() {
                    ids.push(i);
                }
            }
            None => identifiers = None,
        }
    }
    Some(Specimen {
        path: path.to_owned(),
        key: key?,
        taxon: taxon?,
        term: term?,
        quantity: quantity?,
        source: source?,
        identifiers: identifiers?,
    })
}

fn read_identifier(path: &str, v: &Value, p: &mut Problems) -> Option<Identifier> {
    let m = object(v, path, p)?;
    allowed(m, path, &["scheme", "value"], p);
    let scheme = vocab(m, path, "scheme", IdScheme::parse, IdScheme::accepted, p);
    let value = key(m, path, "value", p);
    Some(Identifier {
        scheme: scheme?,
        value: value?,
    })
}

fn read_event(path: &str, v: &Value, p: &mut Problems) -> Option<Event> {
    let m = object(v, path, p)?;
    allowed(
        m,
        path,
        &[
            "key",
            "kind",
            "at",
            "country",
            "agent",
            "inputs",
            "outputs",
            "subjects",
            "documents",
            "yield",
        ],
        p,
    );
    let key = key(m, path, "key", p);
    let kind = vocab(m, path, "kind", EventKind::parse, EventKind::accepted, p);
    let at = required(m, path, "at", p, |s| {
        domain::parse_timestamp("at", s).map_err(|e| e.to_string())
    });
    let country = optional(m, path, "country", p, |s| {
        CountryCode::parse(s).map_err(|e| e.to_string())
    });
    let agent = optional_text(m, path, "agent", p);
    let flows = |field: &str, p: &mut Problems| {
        let mut out = Some(Vec::new());
        for (fpath, fv) in array(m, path, field, p) {
            match read_flow(&fpath, fv, p) {
                Some(f) => {
                    if let Some(o) = out.as_mut() {
                        o.push(f);
                    }
                }
                None => out = None,
            }
        }
        out
    };
    let inputs = flows("inputs", p);
    let outputs = flows("outputs", p);
    let subjects = flows("subjects", p);
    let mut documents = Some(Vec::new());
    for (dpath, dv) in array(m, path, "documents", p) {
        let key = object(dv, &dpath, p).and_then(|dm| {
            allowed(dm, &dpath, &["country", "type", "number"], p);
            read_document_key(&dpath, dm, p)
        });
        match key {
            Some(k) => {
                if let Some(d) = documents.as_mut() {
                    d.push((dpath, k));
                }
            }
            None => documents = None,
        }
    }
    let yield_ratio = optional_value(m, path, "yield", p, |v| {
        let text = amount_text(v).ok_or("a decimal ratio, e.g. \"0.12\"")?;
        let d = domain::parse_amount("yield", &text).map_err(|e| e.to_string())?;
        if d <= Decimal::ZERO {
            return Err(format!("{d} is not a yield: accepted a ratio above 0"));
        }
        Ok(d)
    });
    if let (Some(Some(_)), Some(k)) = (&yield_ratio, kind)
        && k != EventKind::Transform
    {
        p.push(format!("{path}.yield"), "only a transform declares a yield");
    }
    Some(Event {
        path: path.to_owned(),
        key: key?,
        kind: kind?,
        at: at?,
        country: country?,
        agent: agent?,
        inputs: inputs?,
        outputs: outputs?,
        subjects: subjects?,
        documents: documents?,
        yield_ratio: yield_ratio?,
    })
}

fn read_flow(path: &str, v: &Value, p: &mut Problems) -> Option<Flow> {
    // A bare string is a whole specimen.
    if let Value::String(s) = v {
        return check_key(path, s, p).map(|specimen| Flow {
            specimen_path: path.to_owned(),
            quantity_path: path.to_owned(),
            specimen,
            quantity: None,
        });
    }
    let m = object(v, path, p)?;
    allowed(m, path, &["specimen", "quantity"], p);
    let specimen = key(m, path, "specimen", p);
    let quantity = optional_quantity(m, path, "quantity", p);
    if let Some(Some(q)) = quantity
        && q.is_zero()
    {
        p.push(
            format!("{path}.quantity"),
            "a flow's quantity is more than 0",
        );
    }
    Some(Flow {
        specimen_path: format!("{path}.specimen"),
        quantity_path: format!("{path}.quantity"),
        specimen: specimen?,
        quantity: quantity?,
    })
}

fn read_correction(path: &str, v: &Value, p: &mut Problems) -> Option<Correction> {
    let m = object(v, path, p)?;
    allowed(
        m,
        path,
        &["event", "declared_at", "reason", "corrective_events"],
        p,
    );
    let event = key(m, path, "event", p);
    let declared_at = required(m, path, "declared_at", p, |s| {
        domain::parse_timestamp("declared_at", s).map_err(|e| e.to_string())
    });
    let reason = text(m, path, "reason", p);
    let mut corrective = Some(Vec::new());
    for (cpath, cv) in array(m, path, "corrective_events", p) {
        match cv.as_str().and_then(|s| check_key(&cpath, s, p)) {
            Some(k) => {
                if let Some(c) = corrective.as_mut() {
                    c.push(k);
                }
            }
            None => {
                if !cv.is_string() {
                    p.push(cpath, "expected an event key (a string)");
                }
                corrective = None;
            }
        }
    }
    Some(Correction {
        path: path.to_owned(),
        event: event?,
        declared_at: declared_at?,
        reason: reason?,
        corrective_events: corrective?,
    })
}

// --- the reader: each helper reports what it finds wrong and answers `None` ----------------

pub(crate) fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

pub(crate) fn object<'v>(
    v: &'v Value,
    path: &str,
    p: &mut Problems,
) -> Option<&'v Map<String, Value>> {
    match v.as_object() {
        Some(m) => Some(m),
        None => {
            p.push(path, format!("expected an object, found {}", kind_of(v)));
            None
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reports every field of `m` not in `known`.
fn allowed(m: &Map<String, Value>, path: &str, known: &[&str], p: &mut Problems) {
    for name in m.keys() {
        if !known.contains(&name.as_str()) {
            p.push(
                join(path, name),
                format!("unknown field; accepted {}", known.join(", ")),
            );
        }
    }
}

/// The elements of an optional array field, each with its path.
pub(crate) fn array<'v>(
    m: &'v Map<String, Value>,
    path: &str,
    field: &str,
    p: &mut Problems,
) -> Vec<(String, &'v Value)> {
    match m.get(field) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{}[{i}]", join(path, field)), v))
            .collect(),
        Some(other) => {
            p.push(
                join(path, field),
                format!("expected an array, found {}", kind_of(other)),
            );
            Vec::new()
        }
    }
}

/// A required string field parsed by `parse`.
pub(crate) fn required<T>(
    m: &Map<String, Value>,
    path: &str,
    field: &str,
    p: &mut Problems,
    parse: impl FnOnce(&str) -> std::result::Result<T, String>,
) -> Option<T> {
    match optional(m, path, field, p, parse) {
        Some(Some(v)) => Some(v),
        Some(None) => {
            p.push(join(path, field), "missing");
            None
        }
        None => None,
    }
}

/// An optional string field parsed by `parse`: `Some(None)` when absent, `None` when faulty.
pub(crate) fn optional<T>(
    m: &Map<String, Value>,
    path: &str,
    field: &str,
    p: &mut Problems,
    parse: impl FnOnce(&str) -> std::result::Result<T, String>,
) -> Option<Option<T>> {
    optional_value(m, path, field, p, |v| match v {
        Value::String(s) => parse(s),
        // Numbers are accepted where a code or id is expected (a taxon id written 12345).
        Value::Number(n) => parse(&n.to_string()),
        other => Err(format!("expected a string, found {}", kind_of(other))),
    })
}

pub(crate) fn optional_value<T>(
    m: &Map<String, Value>,
    path: &str,
    field: &str,
    p: &mut Problems,
    parse: impl FnOnce(&Value) -> std::result::Result<T, String>,
) -> Option<Option<T>> {
    match m.get(field) {
        None | Some(Value::Null) => Some(None),
        Some(v) => match parse(v) {
            Ok(t) => Some(Some(t)),
            Err(message) => {
                p.push(join(path, field), message);
                None
            }
        },
    }
}

pub(crate) fn text(
    m: &Map<String, Value>,
    path: &str,
    field: &str,
    p: &mut Problems,
) -> Option<String> {
    required(m, path, field, p, nonblank)
}

fn optional_text(
    m: &Map<String, Value>,
    path: &str,
    field: &str,
    p: &mut Problems,
) -> Option<Option<String>> {
    optional(m, path, field, p, nonblank)
}

fn nonblank(s: &str) -> std::result::Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        Err("blank; accepted a non-empty text".to_owned())
    } else if t.contains('\0') {
        Err("contains NUL".to_owned())
    } else {
        Ok(t.to_owned())
    }
}

pub(crate) fn key(
    m: &Map<String, Value>,
    path: &str,
    field: &str,
    p: &mut Problems,
) -> Option<String> {
    required(m, path, field, p, key_rule)
}

pub(crate) fn key_rule(s: &str) -> std::result::Result<String, String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > KEY_CHARS_MAX || t.chars().any(char::is_control) {
        Err(format!(
            "{:?} is not a key: accepted 1 to {KEY_CHARS_MAX} printable characters",
            s.chars().take(40).collect::<String>()
        ))
    } else {
        Ok(t.to_owned())
    }
}

pub(crate) fn check_key(path: &str, s: &str, p: &mut Problems) -> Option<String> {
    match key_rule(s) {
        Ok(k) => Some(k),
        Err(message) => {
            p.push(path, message);
            None
        }
    }
}

pub(crate) fn vocab<T>(
    m: &Map<String, Value>,
    path: &str,
    field: &str,
    parse: fn(&str) -> Option<T>,
    accepted: fn() -> String,
    p: &mut Problems,
) -> Option<T> {
    required(m, path, field, p, |s| {
        parse(s.trim()).ok_or_else(|| format!("{s:?} is not accepted; accepted {}", accepted()))
    })
}

/// The text of an amount written as a JSON string or number.
pub(crate) fn amount_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `{"amount", "unit"}`; a missing unit is a number of specimens.
fn read_quantity(path: &str, v: &Value, p: &mut Problems) -> Option<Quantity> {
    let m = object(v, path, p)?;
    allowed(m, path, &["amount", "unit"], p);
    let amount = optional_value(m, path, "amount", p, |v| {
        let text = amount_text(v).ok_or("expected an amount, e.g. \"1.5\"")?;
        domain::parse_amount("amount", &text).map_err(|e| e.to_string())
    });
    let amount = match amount {
        Some(None) => {
            p.push(join(path, "amount"), "missing");
            None
        }
        Some(Some(a)) => Some(a),
        None => None,
    };
    let unit = optional(m, path, "unit", p, |s| {
        UnitCode::parse(s).map_err(|e| e.to_string())
    });
    let unit = unit?.unwrap_or_else(UnitCode::number_of_specimens);
    match Quantity::new(amount?, unit) {
        Ok(q) => Some(q),
        Err(e) => {
            p.push(join(path, "amount"), e.to_string());
            None
        }
    }
}

fn optional_quantity(
    m: &Map<String, Value>,
    path: &str,
    field: &str,
    p: &mut Problems,
) -> Option<Option<Quantity>> {
    match m.get(field) {
        None | Some(Value::Null) => Some(None),
        Some(v) => read_quantity(&join(path, field), v, p).map(Some),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::error::Error;
    use serde_json::json;

    fn problems(v: Value) -> Vec<(String, String)> {
        match parse_batch(&v) {
            Err(Error::Refused { problems }) => {
                problems.into_iter().map(|p| (p.path, p.message)).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_fault_is_named_by_its_path_not_only_the_first() {
        let found = problems(json!({
            "specimens": [{"key": "", "taxon": "1", "term": "XXX", "source": "W", "colour": "red"}],
            "documents": [{"country": "ZZ", "type": "permit", "number": "1234567890123456789012345678901234567890", "status": "issued"}],
            "events": [{"key": "e", "kind": "split", "at": "2024-01-01T00:00:00Z", "yield": "0.5"}],
            "extra": 1
        }));
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "extra",
                "documents[0].country",
                "documents[0].type",
                "documents[0].number",
                "specimens[0].colour",
                "specimens[0].key",
                "specimens[0].term",
                "specimens[0].quantity",
                "events[0].yield",
            ]
        );
        assert!(found[0].1.contains("unknown field"));
        assert!(found[8].1.contains("only a transform"));
    }

    #[test]
    fn a_flow_is_a_key_or_a_key_with_a_quantity_in_any_unit() {
        let batch = parse_batch(&json!({"events": [{
            "key": "e", "kind": "transform", "at": "2024-01-01T00:00:00+02:00", "yield": 0.12,
            "inputs": ["fish"], "outputs": [{"specimen": "lot", "quantity": {"amount": "1500", "unit": "GRM"}}]
        }]}))
        .unwrap();
        let e = &batch.events[0];
        assert_eq!(e.at.to_rfc3339(), "2023-12-31T22:00:00+00:00");
        assert_eq!(e.yield_ratio.unwrap().to_string(), "0.12");
        assert_eq!(e.inputs[0].quantity, None);
        assert_eq!(e.outputs[0].quantity.unwrap().to_string(), "1500 GRM");
        assert_eq!(e.outputs[0].quantity_path, "events[0].outputs[0].quantity");
    }
}
