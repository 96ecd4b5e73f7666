//! EPCIS 2.0 JSON-LD capture documents (`EPCISDocument`) mapped onto the register's model.
//!
//! - `ObjectEvent` ADD: an acquisition (`cites:acquisition` in `ilmd` names its kind) that
//!   commissions its objects as new specimens; OBSERVE: custody (`cites:eventKind`: export,
//!   re_export, import, seizure or transfer, the default); DELETE: a destruction.
//! - `AggregationEvent` ADD: a merge of the children into `parentID`, a new specimen described
//!   by the children (taxon, term, source, unless the event's `cites:` fields say otherwise;
//!   the sum of their quantities), completed by ingest (`crate::inherit`). OBSERVE and DELETE:
//!   custody of the children, which move with their container (not a specimen).
//! - `TransformationEvent`: a transform (`cites:yield` its declared yield; `cites:eventKind`
//!   split, merge or relabel for those) whose outputs are new specimens; with no
//!   `cites:taxon` in `ilmd`, they take their inputs' taxon.
//! - `TransactionEvent`: custody of its objects.
//! - `errorDeclaration`: the event is stored and declared erroneous, its
//!   `correctiveEventIDs` named; it is read no more.
//!
//! Objects are EPC URIs (whole specimens) or `quantityList` entries (an `epcClass` lot and a
//! quantity, in the UN/ECE unit `uom`, a count without one). A new specimen takes its taxon,
//! term and source from the event's `ilmd` (`cites:taxon`, `cites:term`, `cites:source`):
//! GS1's own examples carry none, so their transformations are refused naming the term and
//! source. `cites:country` and `cites:agent` name the event's country and agent.
//! A `bizTransaction` or `certificationInfo` URI `urn:cites:document:{country}:{type}:{number}`
//! cites a document of the register; other business transactions (purchase orders, despatch
//! advices) are not CITES documents and are not kept. Extension fields are read under the
//! `cites:` prefix only; other extensions are ignored.

use std::collections::HashSet;

use domain::{CountryCode, Quantity, SourceCode, TaxonId, TermCode, UnitCode};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Problems, Result};
use crate::model::{
    Batch, Correction, DocType, DocumentKey, Event, EventKind, Flow, Inherited, Specimen,
};
use crate::parse::{amount_text, array, join, key_rule, object, optional, required};

/// The URI prefix of a document of the register in a `bizTransaction` or `certificationInfo`.
pub const DOCUMENT_URI_PREFIX: &str = "urn:cites:document:";
/// The prefix of a key given to an event that has no `eventID` (GS1 allows that): the
/// SHA-256 of the event's JSON, so the same event gets the same key again.
pub const DERIVED_EVENT_PREFIX: &str = "urn:cites-engine:epcis-event:sha-256:";

/// Reads an EPCIS 2.0 document. Refuses it with every problem found, each naming the event
/// (`epcisBody.eventList[2]`) and the field.
pub fn parse_epcis(json: &Value) -> Result<Batch> {
    let mut p = Problems::default();
    let mut batch = Batch::default();
    if let Some(top) = object(json, "$", &mut p) {
        match top.get("type").and_then(Value::as_str) {
            Some("EPCISDocument") => {}
            other => p.push(
                "type",
                format!("{other:?}: accepted an EPCIS capture document, \"EPCISDocument\""),
            ),
        }
        match top.get("schemaVersion").and_then(Value::as_str) {
            Some(v) if v == "2.0" || v.starts_with("2.0.") => {}
            other => p.push("schemaVersion", format!("{other:?}: accepted \"2.0\"")),
        }
        let body = top.get("epcisBody").and_then(Value::as_object);
        match body.and_then(|b| b.get("eventList")) {
            Some(Value::Array(_)) => {}
            _ => p.push("epcisBody.eventList", "missing: the document's events"),
        }
        let mut declared = HashSet::new();
        if let Some(body) = body {
            for (path, v) in array(body, "epcisBody", "eventList", &mut p) {
                read_event(&path, v, &mut batch, &mut declared, &mut p);
            }
        }
    }
    p.into_result(batch)
}

fn read_event(
    path: &str,
    v: &Value,
    batch: &mut Batch,
    declared: &mut HashSet<String>,
    p: &mut Problems,
) {
    let Some(m) = object(v, path, p) else { return };
    let key = event_key(m, v, path, p);
    let at = required(m, path, "eventTime", p, |s| {
        domain::parse_timestamp("eventTime", s).map_err(|e| e.to_string())
    });
    let erroneous = m.get("errorDeclaration").is_some();
    let (kind, inputs, outputs, subjects) = event_flows(m, path, p);
    // The outputs of an acquisition or a transformation are new specimens, described by ilmd
    // (a transformation's may inherit their taxon from the inputs); the parent of an
    // aggregation is described by its children, unless the event says otherwise.
    if !outputs.is_empty() && !erroneous {
        let empty = Map::new();
        let described = match m.get("type").and_then(Value::as_str) {
            Some("AggregationEvent") => Described {
                map: m,
                path: path.to_owned(),
                may_inherit: &["cites:taxon", "cites:term", "cites:source"],
                sum_of_inputs: true,
            },
            Some("TransformationEvent") => Described {
                map: ilmd(m).unwrap_or(&empty),
                path: join(path, "ilmd"),
                may_inherit: &["cites:taxon"],
                sum_of_inputs: false,
            },
            _ => Described {
                map: ilmd(m).unwrap_or(&empty),
                path: join(path, "ilmd"),
                may_inherit: &[],
                sum_of_inputs: false,
            },
        };
        declare_outputs(&described, path, &inputs, &outputs, batch, declared, p);
    }
    let yield_ratio = optional(m, path, "cites:yield", p, |s| {
        domain::parse_amount("cites:yield", s).map_err(|e| e.to_string())
    });
    let country = optional(m, path, "cites:country", p, |s| {
        CountryCode::parse(s).map_err(|e| e.to_string())
    });
    let agent = optional(m, path, "cites:agent", p, key_rule);
    let documents = documents(m, path, p);
    if let (Some(key), Some(Some(e))) = (&key, m.get("errorDeclaration").map(|d| d.as_object())) {
        read_correction(key, e, path, batch, p);
    }
    if let (
        Some(key),
        Some(kind),
        Some(at),
        Some(yield_ratio),
        Some(country),
        Some(agent),
        Some(documents),
    ) = (key, kind, at, yield_ratio, country, agent, documents)
    {
        batch.events.push(Event {
            path: path.to_owned(),
            key,
            kind,
            at,
            country,
            agent,
            inputs,
            outputs,
            subjects,
            documents,
            yield_ratio,
        });
    }
}

/// The event's key: its `eventID`, or one derived from its whole text when it has none.
fn event_key(m: &Map<String, Value>, v: &Value, path: &str, p: &mut Problems) -> Option<String> {
    match m.get("eventID") {
        Some(Value::String(s)) => match key_rule(s) {
            Ok(k) => Some(k),
            Err(message) => {
                p.push(join(path, "eventID"), message);
                None
            }
        },
        _ => {
            let hash = Sha256::digest(v.to_string().as_bytes());
            Some(format!(
                "{DERIVED_EVENT_PREFIX}{}",
                hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ))
        }
    }
}

/// An event's kind and its flows (inputs, outputs, subjects), read from its type and action.
type KindAndFlows = (Option<EventKind>, Vec<Flow>, Vec<Flow>, Vec<Flow>);

fn event_flows(m: &Map<String, Value>, path: &str, p: &mut Problems) -> KindAndFlows {
    let action = m.get("action").and_then(Value::as_str);
    let objects = |list: &str, quantities: &str, p: &mut Problems| {
        let mut flows = epcs(m, path, list, p);
        flows.extend(class_quantities(m, path, quantities, p));
        flows
    };
    match m.get("type").and_then(Value::as_str) {
        Some("ObjectEvent") => {
            let objs = objects("epcList", "quantityList", p);
            match action {
                Some("ADD") => {
                    let kind = ilmd_acquisition(m, path, p);
                    (kind, vec![], objs, vec![])
                }
                Some("DELETE") => (Some(EventKind::Destruction), objs, vec![], vec![]),
                Some("OBSERVE") => (custody_kind(m, path, p), vec![], vec![], objs),
                other => {
                    p.push(
                        join(path, "action"),
                        format!("{other:?}: accepted ADD, OBSERVE or DELETE"),
                    );
                    (None, vec![], vec![], vec![])
                }
            }
        }
        Some("AggregationEvent") => {
            let objs = objects("childEPCs", "childQuantityList", p);
            if action == Some("ADD") {
                let parent = parent_of(m, path, p);
                (
                    parent.as_ref().map(|_| EventKind::Merge),
                    objs,
                    parent.into_iter().collect(),
                    vec![],
                )
            } else {
                (Some(EventKind::Transfer), vec![], vec![], objs)
            }
        }
        Some("TransactionEvent") => {
            let objs = objects("epcList", "quantityList", p);
            (custody_kind(m, path, p), vec![], vec![], objs)
        }
        Some("TransformationEvent") => {
            let ins = objects("inputEPCList", "inputQuantityList", p);
            let outs = objects("outputEPCList", "outputQuantityList", p);
            (transformation_kind(m, path, p), ins, outs, vec![])
        }
        Some("AssociationEvent") => {
            p.push(
                join(path, "type"),
                "AssociationEvent is not mapped onto the register: an association (a sensor on \
                 a container) moves, consumes and produces no specimen",
            );
            (None, vec![], vec![], vec![])
        }
        other => {
            p.push(
                join(path, "type"),
                format!("{other:?}: accepted ObjectEvent, AggregationEvent, TransformationEvent or TransactionEvent"),
            );
            (None, vec![], vec![], vec![])
        }
    }
}

/// An `errorDeclaration`: the event `key` declared erroneous, as a correction of the batch.
fn read_correction(
    key: &str,
    e: &Map<String, Value>,
    path: &str,
    batch: &mut Batch,
    p: &mut Problems,
) {
    let epath = join(path, "errorDeclaration");
    let declared_at = required(e, &epath, "declarationTime", p, |s| {
        domain::parse_timestamp("declarationTime", s).map_err(|e| e.to_string())
    });
    let reason = e
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("declared in error")
        .to_owned();
    let corrective: Vec<String> = array(e, &epath, "correctiveEventIDs", p)
        .into_iter()
        .filter_map(|(cpath, c)| match c.as_str().map(key_rule) {
            Some(Ok(k)) => Some(k),
            _ => {
                p.push(cpath, "expected an event ID (a string)");
                None
            }
        })
        .collect();
    if let Some(declared_at) = declared_at {
        batch.corrections.push(Correction {
            path: epath,
            event: key.to_owned(),
            declared_at,
            reason,
            corrective_events: corrective,
        });
    }
}

/// Whole specimens named by EPC.
fn epcs(m: &Map<String, Value>, path: &str, field: &str, p: &mut Problems) -> Vec<Flow> {
    array(m, path, field, p)
        .into_iter()
        .filter_map(|(epath, v)| match v.as_str().map(key_rule) {
            Some(Ok(k)) => Some(Flow {
                specimen_path: epath.clone(),
                quantity_path: epath,
                specimen: k,
                quantity: None,
            }),
            Some(Err(message)) => {
                p.push(epath, message);
                None
            }
            None => {
                p.push(epath, "expected an EPC URI (a string)");
                None
            }
        })
        .collect()
}

/// Lots named by class with a quantity (`{epcClass, quantity, uom?}`).
fn class_quantities(
    m: &Map<String, Value>,
    path: &str,
    field: &str,
    p: &mut Problems,
) -> Vec<Flow> {
    let mut out = Vec::new();
    for (qpath, v) in array(m, path, field, p) {
        let Some(q) = object(v, &qpath, p) else {
            continue;
        };
        let class = required(q, &qpath, "epcClass", p, key_rule);
        // A JSON number is read as its text, in the one grammar of amounts.
        let amount = required(q, &qpath, "quantity", p, |s| {
            domain::parse_amount("quantity", s).map_err(|e| e.to_string())
        });
        let unit = optional(q, &qpath, "uom", p, |s| {
            UnitCode::parse(s).map_err(|e| e.to_string())
        });
        let (Some(class), Some(amount), Some(unit)) = (class, amount, unit) else {
            continue;
        };
        let unit = unit.unwrap_or_else(UnitCode::number_of_specimens);
        match Quantity::new(amount, unit) {
            Ok(quantity) if !quantity.is_zero() => out.push(Flow {
                specimen_path: join(&qpath, "epcClass"),
                quantity_path: join(
                    &qpath,
                    if q.contains_key("uom") {
                        "uom"
                    } else {
                        "quantity"
                    },
                ),
                specimen: class,
                quantity: Some(quantity),
            }),
            _ => p.push(join(&qpath, "quantity"), "accepted a quantity above 0"),
        }
    }
    out
}

fn ilmd(m: &Map<String, Value>) -> Option<&Map<String, Value>> {
    m.get("ilmd").and_then(Value::as_object)
}

fn ilmd_acquisition(m: &Map<String, Value>, path: &str, p: &mut Problems) -> Option<EventKind> {
    let ipath = join(path, "ilmd");
    let Some(i) = ilmd(m) else {
        p.push(
            join(&ipath, "cites:acquisition"),
            format!(
                "missing: an ObjectEvent ADD commissions specimens and names how they were \
                 acquired: accepted {}",
                acquisition_kinds()
            ),
        );
        return None;
    };
    required(i, &ipath, "cites:acquisition", p, |s| {
        EventKind::parse(s)
            .filter(|k| k.is_acquisition())
            .ok_or_else(|| format!("{s:?}: accepted {}", acquisition_kinds()))
    })
}

fn acquisition_kinds() -> String {
    EventKind::ALL
        .iter()
        .filter(|k| k.is_acquisition())
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn custody_kind(m: &Map<String, Value>, path: &str, p: &mut Problems) -> Option<EventKind> {
    optional(m, path, "cites:eventKind", p, |s| {
        EventKind::parse(s)
            .filter(|k| k.is_custody())
            .ok_or_else(|| {
                format!("{s:?}: accepted export, re_export, import, seizure or transfer")
            })
    })
    .map(|k| k.unwrap_or(EventKind::Transfer))
}

/// Where an event's new specimens are described: a map (the `ilmd`, or the event itself for an
/// aggregation's parent) and the fields that may be left to the inputs.
struct Described<'m> {
    map: &'m Map<String, Value>,
    path: String,
    may_inherit: &'static [&'static str],
    sum_of_inputs: bool,
}

/// The parent an `AggregationEvent` ADD merges its children into: a new specimen.
fn parent_of(m: &Map<String, Value>, path: &str, p: &mut Problems) -> Option<Flow> {
    let ppath = join(path, "parentID");
    match m.get("parentID").and_then(Value::as_str).map(key_rule) {
        Some(Ok(parent)) => Some(Flow {
            specimen_path: ppath.clone(),
            quantity_path: ppath,
            specimen: parent,
            quantity: None,
        }),
        Some(Err(message)) => {
            p.push(ppath, message);
            None
        }
        None => {
            p.push(
                ppath,
                "missing: an AggregationEvent ADD merges its children into the parent it names",
            );
            None
        }
    }
}

/// A transformation's kind: `cites:eventKind` split, merge, relabel or transform (the default).
fn transformation_kind(m: &Map<String, Value>, path: &str, p: &mut Problems) -> Option<EventKind> {
    optional(m, path, "cites:eventKind", p, |s| {
        EventKind::parse(s)
            .filter(|k| {
                matches!(
                    k,
                    EventKind::Split | EventKind::Merge | EventKind::Relabel | EventKind::Transform
                )
            })
            .ok_or_else(|| format!("{s:?}: accepted split, merge, relabel or transform"))
    })
    .map(|k| k.unwrap_or(EventKind::Transform))
}

/// New specimens for an event's outputs, described by `d`; those with a field left to the
/// inputs are handed to ingest as [`Inherited`].
fn declare_outputs(
    d: &Described<'_>,
    event_path: &str,
    inputs: &[Flow],
    outputs: &[Flow],
    batch: &mut Batch,
    declared: &mut HashSet<String>,
    p: &mut Problems,
) {
    let mut faulty = false;
    let mut field = |name: &str,
                     p: &mut Problems,
                     check: &dyn Fn(&str) -> std::result::Result<(), String>|
     -> Option<String> {
        match d.map.get(name).and_then(amount_text) {
            Some(v) => match check(&v) {
                Ok(()) => Some(v),
                Err(message) => {
                    p.push(join(&d.path, name), message);
                    faulty = true;
                    None
                }
            },
            None if d.may_inherit.contains(&name) => None,
            None => {
                p.push(
                    join(&d.path, name),
                    "missing: the event's outputs are new specimens, and ilmd describes them \
                     (cites:taxon, cites:term, cites:source)",
                );
                faulty = true;
                None
            }
        }
    };
    let taxon = field("cites:taxon", p, &|s| {
        TaxonId::parse(s).map(|_| ()).map_err(|e| e.to_string())
    });
    let term = field("cites:term", p, &|s| {
        TermCode::parse(s).map(|_| ()).map_err(|e| e.to_string())
    });
    let source = field("cites:source", p, &|s| {
        SourceCode::parse(s).map(|_| ()).map_err(|e| e.to_string())
    });
    if faulty {
        return;
    }
    let taxon = taxon.and_then(|s| TaxonId::parse(&s).ok());
    let term = term.and_then(|s| TermCode::parse(&s).ok());
    let source = source.and_then(|s| SourceCode::parse(&s).ok());
    let fresh: Vec<Flow> = outputs
        .iter()
        .filter(|f| declared.insert(f.specimen.clone()))
        .cloned()
        .collect();
    match (taxon, term, source) {
        (Some(taxon), Some(term), Some(source)) if !d.sum_of_inputs => {
            for f in fresh {
                batch.specimens.push(Specimen {
                    path: f.specimen_path.clone(),
                    key: f.specimen.clone(),
                    taxon,
                    term,
                    // An EPC is one specimen; a class, the quantity the event gives.
                    quantity: f.quantity.unwrap_or_else(one_specimen),
                    source,
                    identifiers: Vec::new(),
                });
            }
        }
        (taxon, term, source) => batch.inherited.push(Inherited {
            path: event_path.to_owned(),
            inputs: inputs.to_vec(),
            outputs: fresh,
            taxon,
            term,
            source,
            fields: ["cites:taxon", "cites:term", "cites:source"].map(|f| join(&d.path, f)),
            sum_of_inputs: d.sum_of_inputs,
        }),
    }
}

/// Documents of the register cited by `bizTransactionList` or `certificationInfo`.
fn documents(
    m: &Map<String, Value>,
    path: &str,
    p: &mut Problems,
) -> Option<Vec<(String, DocumentKey)>> {
    let mut uris: Vec<(String, String)> = Vec::new();
    for (bpath, b) in array(m, path, "bizTransactionList", p) {
        if let Some(uri) = b.get("bizTransaction").and_then(Value::as_str) {
            uris.push((join(&bpath, "bizTransaction"), uri.to_owned()));
        }
    }
    match m.get("certificationInfo") {
        Some(Value::String(s)) => uris.push((join(path, "certificationInfo"), s.clone())),
        Some(Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                if let Some(s) = v.as_str() {
                    uris.push((
                        format!("{}[{i}]", join(path, "certificationInfo")),
                        s.to_owned(),
                    ));
                }
            }
        }
        _ => {}
    }
    let mut out = Some(Vec::new());
    for (upath, uri) in uris {
        let Some(rest) = uri.strip_prefix(DOCUMENT_URI_PREFIX) else {
            continue; // not a CITES document
        };
        let parts: Vec<&str> = rest.splitn(3, ':').collect();
        let key = match parts.as_slice() {
            [country, doc_type, number] => CountryCode::parse(country)
                .ok()
                .zip(DocType::parse(doc_type))
                .filter(|_| {
                    !number.is_empty()
                        && number.chars().count() <= 35
                        && !number.chars().any(char::is_control)
                })
                .map(|(country, doc_type)| DocumentKey {
                    country,
                    doc_type,
                    number: (*number).to_owned(),
                }),
            _ => None,
        };
        match key {
            Some(k) => {
                if let Some(o) = out.as_mut() {
                    o.push((upath, k));
                }
            }
            None => {
                p.push(
                    upath,
                    format!(
                        "{uri:?} is not a document of the register: accepted \
                         {DOCUMENT_URI_PREFIX}{{country}}:{{type}}:{{number}}, type one of {}",
                        DocType::accepted()
                    ),
                );
                out = None;
            }
        }
    }
    out
}

pub(crate) fn one_specimen() -> Quantity {
    Quantity::new(rust_decimal::Decimal::ONE, UnitCode::number_of_specimens())
        .expect("invariant: one specimen is a valid quantity")
}
