//! The invariants of the register checked over the whole graph (trace-notes 6.2): acyclic
//! material flow, conservation per event within the yield table, consumption per specimen,
//! time order, one producer per specimen and a root for each, acquisitions with evidence,
//! documents inside their validity, status and quantity, identifiers used once.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::from_micro;
use petgraph::Direction;
use petgraph::visit::{EdgeFiltered, EdgeRef};
use rust_decimal::Decimal;

use super::load::{Dir, Loaded};
use super::{in_base, text};
use crate::config::TraceConfig;
use crate::evidence::{acquisition_documents, trade_documents};
use crate::findings::{Finding, Severity};
use crate::model::{DocStatus, DocType, EventKind};

/// `(specimen, quantity in millionths of its unit)` of an event's flows in one direction.
pub(crate) fn flows(l: &Loaded, j: u32, dir: Dir) -> Vec<(u32, i64)> {
    let n = l.event_node(j);
    let d = if dir == Dir::Out {
        Direction::Outgoing
    } else {
        Direction::Incoming
    };
    let mut v: Vec<(u32, i64)> =
        l.g.edges_directed(n, d)
            .filter(|e| e.weight().dir == dir)
            .filter_map(|e| {
                let other = if d == Direction::Outgoing {
                    e.target()
                } else {
                    e.source()
                };
                let i = l.specimen_of(other)?;
                Some((
                    i,
                    e.weight().quantity().unwrap_or(l.spec[i as usize].quantity),
                ))
            })
            .collect();
    v.sort_unstable();
    v
}

/// The event producing each specimen (`None`: none), and findings for a second producer.
pub(crate) fn producers(l: &Loaded, out: &mut Vec<Finding>) -> Vec<Option<u32>> {
    let mut producer: Vec<Option<u32>> = vec![None; l.specimens.len()];
    for i in 0..l.specimens.len() as u32 {
        let mut by: Vec<u32> =
            l.g.edges_directed(l.spec_node(i), Direction::Incoming)
                .filter(|e| e.weight().dir == Dir::Out)
                .filter_map(|e| l.event_of(e.source()))
                .collect();
        by.sort_unstable();
        if by.len() > 1 {
            let mut nodes = vec![l.specimens.get(i).to_owned()];
            nodes.extend(by.iter().map(|j| l.events.get(*j).to_owned()));
            out.push(Finding::new(
                "produced_twice",
                Severity::Error,
                format!(
                    "specimen {} is produced by {} events; a specimen comes into being once",
                    l.specimens.get(i),
                    by.len()
                ),
                nodes,
                &[("producers", by.len().to_string())],
            ));
        }
        producer[i as usize] = by.first().copied();
    }
    producer
}

pub(super) fn check(l: &Loaded, config: &TraceConfig, out: &mut Vec<Finding>) {
    acyclic(l, out);
    let producer = producers(l, out);
    let mut shipped: BTreeMap<u32, (Decimal, Vec<u32>, bool)> = BTreeMap::new();
    for j in 0..l.events.len() as u32 {
        conservation(l, config, j, out);
        time_order(l, &producer, j, out);
        documents(l, j, &mut shipped, out);
    }
    document_quantities(l, &shipped, out);
    for i in 0..l.specimens.len() as u32 {
        consumption(l, i, out);
        if producer[i as usize].is_none() {
            let key = l.specimens.get(i);
            out.push(Finding::new(
                "unrooted",
                Severity::Warning,
                format!("specimen {key} has no producing event: its origin cannot be traced"),
                vec![key.to_owned()],
                &[],
            ));
        }
    }
    for (scheme, value, specimens) in &l.reused {
        out.push(Finding::new(
            "identifier_reused",
            Severity::Error,
            format!(
                "{scheme} {value} identifies {} specimens ({}); an identifier is used once \
                 (a new one is attached by a relabel)",
                specimens.len(),
                specimens.join(", ")
            ),
            specimens.clone(),
            &[("specimens", specimens.len().to_string())],
        ));
    }
}

/// Material flow has no cycle: petgraph's iterative topological sort over the material edges.
fn acyclic(l: &Loaded, out: &mut Vec<Finding>) {
    let material = EdgeFiltered::from_fn(&l.g, |e| e.weight().dir != Dir::Subject);
    if let Err(cycle) = petgraph::algo::toposort(&material, None) {
        let n = cycle.node_id();
        let key = match (l.specimen_of(n), l.event_of(n)) {
            (Some(i), _) => l.specimens.get(i).to_owned(),
            (None, Some(j)) => l.events.get(j).to_owned(),
            _ => String::new(),
        };
        out.push(Finding::new(
            "cycle",
            Severity::Error,
            format!(
                "material flow forms a cycle through {key}: a specimen is among its own ancestors"
            ),
            vec![key],
            &[],
        ));
    }
}

/// The one term of these specimens, when they share it.
fn one_term(l: &Loaded, flows: &[(u32, i64)]) -> Option<domain::TermCode> {
    let first = l.spec[flows.first()?.0 as usize].term;
    flows
        .iter()
        .all(|(i, _)| l.spec[*i as usize].term == first)
        .then_some(first)
}

/// Σ of flows in their dimension's base unit, `None` when they mix dimensions.
pub(crate) fn total(l: &Loaded, flows: &[(u32, i64)]) -> Option<(domain::Dimension, Decimal)> {
    let mut dim = None;
    let mut sum = Decimal::ZERO;
    for (i, q) in flows {
        let (d, v) = in_base(*q, l.spec[*i as usize].unit);
        match dim {
            None => dim = Some(d),
            Some(x) if x != d => return None,
            Some(_) => {}
        }
        sum += v;
    }
    dim.map(|d| (d, sum))
}

/// The yield an event's outputs may reach over its inputs, and the tolerance: the table's for
/// a transform between its terms (or the declared yield, if lower), the declared yield
/// alone, or 1 for the same term; `None` (with a finding) when nothing bounds it.
fn limit_of(
    l: &Loaded,
    config: &TraceConfig,
    j: u32,
    inputs: &[(u32, i64)],
    outputs: &[(u32, i64)],
    nodes: &[String],
    out: &mut Vec<Finding>,
) -> Option<(Decimal, Decimal)> {
    let e = &l.ev[j as usize];
    let key = l.events.get(j);
    let declared = e.yield_micro.map(from_micro);
    if e.kind == EventKind::Transform {
        let terms = (one_term(l, inputs), one_term(l, outputs));
        let entry = match terms {
            (Some(a), Some(b)) => config.yield_of(a, b),
            _ => None,
        };
        match (entry, declared) {
            (Some(y), d) => {
                // The declared yield binds too: an operator producing more than it declared.
                if let Some(d) = d.filter(|d| *d > y.max) {
                    out.push(Finding::new(
                        "yield_above_table",
                        Severity::Warning,
                        format!(
                            "transform {key} declares a yield of {d}, above the table's {} for \
                             {} to {}",
                            text(y.max),
                            y.from,
                            y.to
                        ),
                        nodes.to_vec(),
                        &[("declared", text(d)), ("max", text(y.max))],
                    ));
                }
                Some((d.map_or(y.max, |d| d.min(y.max)), y.tolerance))
            }
            (None, Some(d)) => Some((d, config.yield_tolerance)),
            (None, None) if terms.0.is_some() && terms.0 == terms.1 => {
                Some((Decimal::ONE, config.yield_tolerance))
            }
            (None, None) => {
                out.push(Finding::new(
                    "conservation_unverifiable",
                    Severity::Info,
                    format!(
                        "transform {key} declares no yield and the yield table has none for its \
                         terms: conservation cannot be checked"
                    ),
                    nodes.to_vec(),
                    &[],
                ));
                None
            }
        }
    } else {
        Some((Decimal::ONE, config.yield_tolerance))
    }
}

fn conservation(l: &Loaded, config: &TraceConfig, j: u32, out: &mut Vec<Finding>) {
    let e = &l.ev[j as usize];
    if !matches!(
        e.kind,
        EventKind::Split | EventKind::Merge | EventKind::Transform | EventKind::Relabel
    ) {
        return;
    }
    let key = l.events.get(j);
    let (inputs, outputs) = (flows(l, j, Dir::In), flows(l, j, Dir::Out));
    let mut nodes = vec![key.to_owned()];
    nodes.extend(
        inputs
            .iter()
            .chain(&outputs)
            .map(|(i, _)| l.specimens.get(*i).to_owned()),
    );
    let Some((ratio, tolerance)) = limit_of(l, config, j, &inputs, &outputs, &nodes, out) else {
        return;
    };
    match (total(l, &inputs), total(l, &outputs)) {
        (Some((din, input)), Some((dout, output))) if din == dout => {
            let limit = input * ratio * (Decimal::ONE + tolerance);
            if output > limit {
                let base = din.base_code();
                out.push(Finding::new(
                    "conservation",
                    Severity::Error,
                    format!(
                        "{} {key} produced {} {base} from {} {base}: more than the inputs allow \
                         (times a yield of {}, with {}% tolerance: at most {} {base})",
                        e.kind.as_str(),
                        text(output),
                        text(input),
                        text(ratio),
                        text(tolerance * Decimal::ONE_HUNDRED),
                        text(limit)
                    ),
                    nodes,
                    &[
                        ("inputs", text(input)),
                        ("outputs", text(output)),
                        ("yield", text(ratio)),
                        ("limit", text(limit)),
                        ("unit", base.to_owned()),
                    ],
                ));
            }
        }
        _ => out.push(Finding::new(
            "conservation_unverifiable",
            if e.kind == EventKind::Transform {
                Severity::Info
            } else {
                Severity::Warning
            },
            format!(
                "{} {key}: inputs and outputs are measured in units that do not convert into \
                 each other; conservation cannot be checked",
                e.kind.as_str()
            ),
            nodes,
            &[],
        )),
    }
}

fn time_order(l: &Loaded, producer: &[Option<u32>], j: u32, out: &mut Vec<Finding>) {
    let e = &l.ev[j as usize];
    let key = l.events.get(j);
    let used = flows(l, j, Dir::In)
        .into_iter()
        .chain(flows(l, j, Dir::Subject));
    for (i, _) in used {
        let Some(p) = producer[i as usize] else {
            continue;
        };
        let produced = l.ev[p as usize].at;
        if produced > e.at {
            let s = l.specimens.get(i);
            out.push(Finding::new(
                "time_order",
                Severity::Error,
                format!(
                    "{} {key} at {} uses specimen {s} before it came into being at {produced}",
                    e.kind.as_str(),
                    e.at
                ),
                vec![key.to_owned(), s.to_owned()],
                &[
                    ("event_at", e.at.to_rfc3339()),
                    ("produced_at", produced.to_rfc3339()),
                ],
            ));
        }
    }
}

/// The document type whose quantity a trade event draws on.
fn drawn_type(kind: EventKind) -> Option<DocType> {
    match kind {
        EventKind::Export => Some(DocType::ExportPermit),
        EventKind::ReExport => Some(DocType::ReExportCertificate),
        EventKind::Import => Some(DocType::ImportPermit),
        _ => None,
    }
}

/// The evidence an event's kind needs (a licence for a harvest, a permit for an export, ...):
/// a finding when none of the accepted types is cited.
fn evidence_needed(l: &Loaded, j: u32, out: &mut Vec<Finding>) {
    let e = &l.ev[j as usize];
    let key = l.events.get(j);
    let cited = l.docs_of(j);
    let needed = if e.kind.is_acquisition() {
        Some((
            acquisition_documents(e.kind),
            Severity::Warning,
            "acquisition_evidence",
        ))
    } else {
        trade_documents(e.kind).map(|r| {
            let severity = if e.kind == EventKind::Transfer {
                Severity::Warning
            } else {
                Severity::Error
            };
            (r, severity, "document_missing")
        })
    };
    if let Some(((requirement, accepted), severity, rule)) = needed
        && !cited
            .iter()
            .any(|(_, d)| accepted.contains(&l.docs[*d as usize].doc_type))
    {
        let names: Vec<&str> = accepted.iter().map(|t| t.as_str()).collect();
        out.push(Finding::new(
            rule,
            severity,
            format!(
                "{} {key} cites no {requirement} (accepted: {})",
                e.kind.as_str(),
                names.join(", ")
            ),
            vec![key.to_owned()],
            &[],
        ));
    }
}

/// The documents an event cites: the evidence its kind needs, each used inside its validity
/// and status; what trade events ship under a permit is added to `shipped`.
fn documents(
    l: &Loaded,
    j: u32,
    shipped: &mut BTreeMap<u32, (Decimal, Vec<u32>, bool)>,
    out: &mut Vec<Finding>,
) {
    let e = &l.ev[j as usize];
    let key = l.events.get(j);
    let cited = l.docs_of(j);
    evidence_needed(l, j, out);
    let day: NaiveDate = e.at.date_naive();
    for (_, d) in cited {
        let doc = &l.docs[*d as usize];
        // A re-export cites the permit its goods were first exported under (box 12) as a
        // reference, not as its authority: that one's validity was checked at the import.
        let reference = e.kind == EventKind::ReExport
            && matches!(
                doc.doc_type,
                DocType::ExportPermit | DocType::ReExportCertificate
            )
            && e.country.is_some_and(|c| c != doc.country);
        if reference {
            continue;
        }
        let dk = doc.key();
        let before = doc.valid_from.is_some_and(|f| day < f);
        let after = doc.valid_until.is_some_and(|u| day > u);
        if before || after {
            out.push(Finding::new(
                "document_outside_validity",
                Severity::Error,
                format!(
                    "{} {key} on {day} cites {dk}, valid {} to {}",
                    e.kind.as_str(),
                    doc.valid_from.map_or("-".to_owned(), |f| f.to_string()),
                    doc.valid_until.map_or("-".to_owned(), |u| u.to_string()),
                ),
                vec![key.to_owned(), dk.clone()],
                &[
                    ("event_on", day.to_string()),
                    (
                        "valid_from",
                        doc.valid_from.map_or(String::new(), |f| f.to_string()),
                    ),
                    (
                        "valid_until",
                        doc.valid_until.map_or(String::new(), |u| u.to_string()),
                    ),
                ],
            ));
        }
        if matches!(doc.status, DocStatus::Cancelled | DocStatus::Lost) {
            out.push(Finding::new(
                "document_status",
                Severity::Warning,
                format!(
                    "{} {key} cites {dk}, now {} (the register keeps its latest status: check \
                     it was valid on {day})",
                    e.kind.as_str(),
                    doc.status.as_str()
                ),
                vec![key.to_owned(), dk.clone()],
                &[("status", doc.status.as_str().to_owned())],
            ));
        }
        if drawn_type(e.kind) == Some(doc.doc_type) {
            let entry = shipped
                .entry(*d)
                .or_insert((Decimal::ZERO, Vec::new(), false));
            entry.1.push(j);
            for (i, q) in flows(l, j, Dir::Subject) {
                let s = &l.spec[i as usize];
                if doc.taxon.is_some_and(|t| t != s.taxon) {
                    let sk = l.specimens.get(i);
                    out.push(Finding::new(
                        "document_taxon",
                        Severity::Warning,
                        format!(
                            "{} {key} ships {sk} (taxon {}) under {dk}, issued for taxon {}",
                            e.kind.as_str(),
                            s.taxon,
                            doc.taxon.unwrap_or_default()
                        ),
                        vec![key.to_owned(), dk.clone(), sk.to_owned()],
                        &[
                            ("specimen_taxon", s.taxon.to_string()),
                            ("document_taxon", doc.taxon.unwrap_or_default().to_string()),
                        ],
                    ));
                }
                match doc.unit.map(|u| u.dimension()) {
                    Some(dim) if dim == s.unit.dimension() => entry.0 += in_base(q, s.unit).1,
                    _ => entry.2 = true,
                }
            }
        }
    }
}

/// What trade events shipped under each permit against its permitted and endorsed quantity.
fn document_quantities(
    l: &Loaded,
    shipped: &BTreeMap<u32, (Decimal, Vec<u32>, bool)>,
    out: &mut Vec<Finding>,
) {
    for (d, (sum, events, unverifiable)) in shipped {
        let doc = &l.docs[*d as usize];
        let Some(unit) = doc.unit else { continue };
        let mut nodes = vec![doc.key()];
        nodes.extend(events.iter().map(|j| l.events.get(*j).to_owned()));
        if *unverifiable {
            out.push(Finding::new(
                "document_quantity_unverifiable",
                Severity::Info,
                format!(
                    "{}: what was shipped under it is measured in units that do not convert into \
                     its {}",
                    doc.key(),
                    unit.code()
                ),
                nodes,
                &[],
            ));
            continue;
        }
        for (what, limit) in [("permitted", doc.permitted), ("actual", doc.actual)] {
            let Some(limit) = limit.map(|m| in_base(m, unit).1) else {
                continue;
            };
            if *sum > limit {
                let base = unit.dimension().base_code();
                out.push(Finding::new(
                    "document_quantity",
                    Severity::Error,
                    format!(
                        "{} events shipped {} {base} under {}, more than its {what} {} {base}",
                        events.len(),
                        text(*sum),
                        doc.key(),
                        text(limit)
                    ),
                    nodes.clone(),
                    &[
                        ("shipped", text(*sum)),
                        (what, text(limit)),
                        ("unit", base.to_owned()),
                    ],
                ));
            }
        }
    }
}

fn consumption(l: &Loaded, i: u32, out: &mut Vec<Finding>) {
    let s = &l.spec[i as usize];
    let mut users: Vec<(u32, i64)> =
        l.g.edges_directed(l.spec_node(i), Direction::Outgoing)
            .filter(|e| e.weight().dir == Dir::In)
            .filter_map(|e| {
                Some((
                    l.event_of(e.target())?,
                    e.weight().quantity().unwrap_or(s.quantity),
                ))
            })
            .collect();
    let used: i64 = users.iter().fold(0i64, |a, (_, q)| a.saturating_add(*q));
    if used > s.quantity {
        users.sort_unstable();
        let key = l.specimens.get(i);
        let mut nodes = vec![key.to_owned()];
        nodes.extend(users.iter().map(|(j, _)| l.events.get(*j).to_owned()));
        let unit = s.unit.code();
        out.push(Finding::new(
            "consumption",
            Severity::Error,
            format!(
                "specimen {key} is consumed for {} {unit} in all, more than its {} {unit}",
                text(Decimal::new(used, 6)),
                text(Decimal::new(s.quantity, 6))
            ),
            nodes,
            &[
                ("consumed", text(Decimal::new(used, 6))),
                ("quantity", text(Decimal::new(s.quantity, 6))),
                ("unit", unit.to_owned()),
            ],
        ));
    }
}
