//! `Register::ingest`: a batch is checked against itself and the register and then stored
//! whole, or refused whole with every structural fault and nothing stored. A retried batch
//! (same client key, same content) is stored once.

use std::collections::{BTreeSet, HashMap, HashSet};

use db::Db;
use domain::{Clock, MICRO_PER_UNIT, Quantity, UnitCode};
use petgraph::graph::{DiGraph, NodeIndex};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Problems, Result};
use crate::findings::{self, CheckedEvent, Facts, Finding, Severity};
use crate::model::{Batch, Event};
use crate::store::{self, AgentRow, DocumentRow, Rows, StoredSpecimen};

/// Records (agents, documents, specimens, events, corrections) in one batch at most: a batch
/// is one transaction, which holds SQLite's write lock while it is checked and stored (20,000
/// records take seconds, not minutes: the trace bench's figures in `benches/README.md`).
pub const BATCH_RECORDS_MAX: usize = 20_000;
/// Flows (inputs, outputs and subjects of all events) in one batch at most, for the same
/// reason: a split into many tins is many flows.
pub const BATCH_FLOWS_MAX: usize = 100_000;
/// A client key's length at most: a caller's name and its own key, with room to spare.
pub const CLIENT_KEY_CHARS_MAX: usize = 400;

/// The register over one database.
#[derive(Clone)]
pub struct Register {
    pub(crate) db: Db,
    clock: std::sync::Arc<dyn Clock>,
}

/// What an accepted batch gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ingested {
    pub batch_id: i64,
    /// True when the batch had been stored before under the same key: nothing was stored now.
    pub replayed: bool,
    pub findings: Vec<Finding>,
}

impl Register {
    pub fn new(db: Db, clock: std::sync::Arc<dyn Clock>) -> Register {
        Register { db, clock }
    }

    /// Ingests a batch in the project's JSON ([`crate::parse_batch`]). `client_key` is the
    /// caller's own key (the application scopes it to its caller, as the quota ledger's): the
    /// register compares keys for equality only.
    pub async fn ingest(&self, json: &serde_json::Value, client_key: &str) -> Result<Ingested> {
        self.ingest_with("trace", json, client_key, crate::parse::parse_batch)
            .await
    }

    /// Ingests an EPCIS 2.0 JSON-LD document ([`crate::parse_epcis`]), under the same rules.
    pub async fn ingest_epcis(
        &self,
        json: &serde_json::Value,
        client_key: &str,
    ) -> Result<Ingested> {
        self.ingest_with("epcis", json, client_key, crate::epcis::parse_epcis)
            .await
    }

    async fn ingest_with(
        &self,
        format: &'static str,
        json: &serde_json::Value,
        client_key: &str,
        parse: fn(&serde_json::Value) -> Result<Batch>,
    ) -> Result<Ingested> {
        if client_key.trim().is_empty()
            || client_key.chars().count() > CLIENT_KEY_CHARS_MAX
            || client_key.contains('\0')
        {
            return Err(Error::Invalid {
                field: "client_key",
                message: format!("accepted 1 to {CLIENT_KEY_CHARS_MAX} characters, no NUL"),
            });
        }
        let digest = digest(format, json);
        if let Some(done) = self.replay(client_key, &digest).await? {
            return Ok(done);
        }
        let batch = parse(json)?;
        check_size(&batch)?;
        let mut tx = self.db.begin().await?;
        let batch = match crate::inherit::complete(&mut tx, batch).await {
            Ok(batch) => batch,
            Err(e) => {
                tx.rollback().await?;
                return Err(e);
            }
        };
        let Some(batch_id) =
            store::insert_batch(&mut tx, client_key, &digest, format, self.clock.now()).await?
        else {
            // The same key was stored meanwhile: answer as for a retry.
            tx.rollback().await?;
            return match self.replay(client_key, &digest).await? {
                Some(done) => Ok(done),
                None => Err(Error::Corrupt(format!(
                    "client key {client_key:?} is taken and its batch cannot be read"
                ))),
            };
        };
        match resolve(&mut tx, &batch).await {
            Ok(mut rows) => {
                store::insert(&mut tx, batch_id, &rows).await?;
                tx.commit().await?;
                let findings = std::mem::take(&mut rows.findings)
                    .into_iter()
                    .map(finding_of_row)
                    .collect::<Result<Vec<_>>>()?;
                Ok(Ingested {
                    batch_id,
                    replayed: false,
                    findings,
                })
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    /// The first answer for a key already used with this content; a conflict for other content.
    /// The findings stored with a batch, in the order they were found.
    pub async fn findings_of_batch(&self, batch_id: i64) -> Result<Vec<Finding>> {
        store::findings(&self.db, batch_id)
            .await?
            .into_iter()
            .map(finding_of_row)
            .collect()
    }

    async fn replay(&self, client_key: &str, digest: &str) -> Result<Option<Ingested>> {
        let Some((batch_id, stored)) = store::batch_by_key(&self.db, client_key).await? else {
            return Ok(None);
        };
        if stored != digest {
            return Err(Error::KeyConflict {
                key: client_key.to_owned(),
                first: format!("batch {batch_id}"),
            });
        }
        Ok(Some(Ingested {
            batch_id,
            replayed: true,
            findings: self.findings_of_batch(batch_id).await?,
        }))
    }
}

fn digest(format: &str, json: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(format.as_bytes());
    h.update([0]);
    h.update(json.to_string().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn check_size(batch: &Batch) -> Result<()> {
    let flows: usize = batch
        .events
        .iter()
        .map(|e| e.inputs.len() + e.outputs.len() + e.subjects.len())
        .sum();
    if batch.records() > BATCH_RECORDS_MAX {
        return Err(Error::Invalid {
            field: "batch",
            message: format!(
                "{} records; accepted at most {BATCH_RECORDS_MAX} per batch: send it in several",
                batch.records()
            ),
        });
    }
    if flows > BATCH_FLOWS_MAX {
        return Err(Error::Invalid {
            field: "batch",
            message: format!(
                "{flows} inputs, outputs and subjects; accepted at most {BATCH_FLOWS_MAX} per \
                 batch: send it in several"
            ),
        });
    }
    Ok(())
}

pub(crate) fn finding_of_row(r: store::FindingRow) -> Result<Finding> {
    let corrupt = |what: &str| Error::Corrupt(format!("finding {what}"));
    Ok(Finding {
        rule: r.rule,
        severity: Severity::parse(r.severity).ok_or_else(|| corrupt("severity"))?,
        message: r.message,
        nodes: serde_json::from_str(&r.nodes).map_err(|_| corrupt("nodes"))?,
        numbers: serde_json::from_str(&r.numbers).map_err(|_| corrupt("numbers"))?,
    })
}

/// `q` in millionths of `unit`: the conversion must exist and be exact to six decimals.
/// A decimal in millionths, when it has at most six decimals and fits.
pub(crate) fn decimal_micro(d: Decimal) -> Option<i64> {
    let scaled = d.checked_mul(Decimal::from(MICRO_PER_UNIT))?;
    if scaled.fract() == Decimal::ZERO {
        scaled.to_i64()
    } else {
        None
    }
}

pub(crate) fn to_micro(q: &Quantity, unit: UnitCode) -> std::result::Result<i64, String> {
    let converted = q.convert_to(unit).map_err(|e| e.to_string())?;
    let scaled = converted
        .amount()
        .checked_mul(Decimal::from(MICRO_PER_UNIT))
        .ok_or_else(|| format!("{q} is too large"))?;
    if scaled.fract() != Decimal::ZERO {
        return Err(format!(
            "{q} has more than 6 decimal places in {}",
            unit.code()
        ));
    }
    scaled.to_i64().ok_or_else(|| format!("{q} is too large"))
}

/// What ingest knows of a specimen named in the batch.
struct Known {
    unit: UnitCode,
    quantity_micro: i64,
    in_batch: bool,
}

/// Checks the batch against itself and the register and turns it into rows, or refuses it.
async fn resolve(tx: &mut db::Tx, batch: &Batch) -> Result<Rows> {
    let mut p = Problems::default();
    let mut rows = Rows::default();
    duplicates(batch, &mut p);

    let flow_keys: BTreeSet<String> = batch
        .events
        .iter()
        .flat_map(|e| e.inputs.iter().chain(&e.outputs).chain(&e.subjects))
        .map(|f| f.specimen.clone())
        .chain(batch.specimens.iter().map(|s| s.key.clone()))
        .collect();
    let stored = store::specimens(tx, &flow_keys.into_iter().collect::<Vec<_>>()).await?;
    let event_keys: BTreeSet<String> = batch
        .events
        .iter()
        .map(|e| e.key.clone())
        .chain(batch.corrections.iter().flat_map(|c| {
            std::iter::once(c.event.clone()).chain(c.corrective_events.iter().cloned())
        }))
        .collect();
    let stored_events = store::events(tx, &event_keys.into_iter().collect::<Vec<_>>()).await?;
    let agent_keys: BTreeSet<String> = batch
        .agents
        .iter()
        .map(|a| a.key.clone())
        .chain(batch.events.iter().filter_map(|e| e.agent.clone()))
        .chain(batch.documents.iter().filter_map(|d| d.issuer.clone()))
        .collect();
    let stored_agents = store::agents(tx, &agent_keys.into_iter().collect::<Vec<_>>()).await?;
    let numbers: BTreeSet<String> = batch
        .documents
        .iter()
        .map(|d| d.key.number.clone())
        .chain(
            batch
                .events
                .iter()
                .flat_map(|e| e.documents.iter().map(|(_, k)| k.number.clone())),
        )
        .collect();
    let stored_documents =
        store::documents_by_number(tx, &numbers.into_iter().collect::<Vec<_>>()).await?;

    // Agents: a key is registered once; the same details again are no news.
    let batch_agents: HashSet<&str> = batch.agents.iter().map(|a| a.key.as_str()).collect();
    for a in &batch.agents {
        let row = AgentRow {
            key: a.key.clone(),
            kind: a.kind.as_str().to_owned(),
            name: a.name.clone(),
            country: a.country.map(|c| c.as_str().to_owned()),
            registration: a.registration.clone(),
        };
        match stored_agents.get(&a.key) {
            Some(s) if *s == row => {}
            Some(_) => p.push(
                format!("{}.key", a.path),
                format!("agent {} is already registered with other details", a.key),
            ),
            None => rows.agents.push(row),
        }
    }
    let agent_known = |k: &str| batch_agents.contains(k) || stored_agents.contains_key(k);

    documents(batch, &stored_documents, &agent_known, &mut rows, &mut p);

    let known = specimens(batch, &stored, &mut rows, &mut p)?;
    let corrected = corrections(batch, &stored_events, &mut rows, &mut p);
    events(
        batch,
        &known,
        &stored_events,
        &agent_known,
        &stored_documents,
        &corrected,
        &mut rows,
        &mut p,
    );
    cycles(batch, &mut p);
    if !p.is_empty() {
        return p.into_result(rows);
    }
    let ids: Vec<(String, String)> = rows
        .identifiers
        .iter()
        .map(|i| (i.0.clone(), i.1.clone()))
        .collect();
    let mut identifiers = store::identifiers(tx, &ids).await?;
    identifiers.extend(rows.identifiers.iter().cloned());
    rows.findings = plausibility(batch, &known, &stored, &corrected, &identifiers)
        .into_iter()
        .map(|f| store::FindingRow {
            severity: f.severity.as_str(),
            nodes: serde_json::Value::from(f.nodes.clone()).to_string(),
            numbers: serde_json::to_string(&f.numbers).unwrap_or_else(|_| "{}".to_owned()),
            rule: f.rule,
            message: f.message,
        })
        .collect();
    Ok(rows)
}

/// The batch's specimens (each registered once) as rows, and what ingest knows of every
/// specimen the batch names, in the batch or in the register.
fn specimens(
    batch: &Batch,
    stored: &HashMap<String, StoredSpecimen>,
    rows: &mut Rows,
    p: &mut Problems,
) -> Result<HashMap<String, Known>> {
    let mut known: HashMap<String, Known> = HashMap::new();
    for s in &batch.specimens {
        if stored.contains_key(&s.key) {
            p.push(
                format!("{}.key", s.path),
                format!(
                    "specimen {} is already in the register; a specimen is registered once",
                    s.key
                ),
            );
            continue;
        }
        match to_micro(&s.quantity, s.quantity.unit()) {
            Ok(m) => {
                known.insert(
                    s.key.clone(),
                    Known {
                        unit: s.quantity.unit(),
                        quantity_micro: m,
                        in_batch: true,
                    },
                );
                rows.specimens.push(store::SpecimenRow {
                    key: s.key.clone(),
                    taxon: i64::from(s.taxon.get()),
                    term: s.term.code().to_owned(),
                    quantity_micro: m,
                    unit: s.quantity.unit().code().to_owned(),
                    source: s.source.code().to_owned(),
                });
                for i in &s.identifiers {
                    rows.identifiers.push((
                        i.scheme.as_str().to_owned(),
                        i.value.clone(),
                        s.key.clone(),
                    ));
                }
            }
            Err(message) => p.push(format!("{}.quantity", s.path), message),
        }
    }
    for (key, s) in stored {
        if !known.contains_key(key) {
            let unit = UnitCode::parse(&s.unit)
                .map_err(|_| Error::Corrupt(format!("unit of specimen {key}")))?;
            known.insert(
                key.clone(),
                Known {
                    unit,
                    quantity_micro: s.quantity_micro,
                    in_batch: false,
                },
            );
        }
    }

    Ok(known)
}

/// Two records of the batch under one key.
fn duplicates(batch: &Batch, p: &mut Problems) {
    fn check<'a>(items: impl Iterator<Item = (&'a str, String)>, what: &str, p: &mut Problems) {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (path, key) in items {
            if let Some(first) = seen.get(&key) {
                p.push(
                    path,
                    format!("{what} {key} appears twice in the batch (first at {first})"),
                );
            } else {
                seen.insert(key, path);
            }
        }
    }
    check(
        batch
            .agents
            .iter()
            .map(|a| (a.path.as_str(), a.key.clone())),
        "agent",
        p,
    );
    check(
        batch
            .specimens
            .iter()
            .map(|s| (s.path.as_str(), s.key.clone())),
        "specimen",
        p,
    );
    check(
        batch
            .events
            .iter()
            .map(|e| (e.path.as_str(), e.key.clone())),
        "event",
        p,
    );
    check(
        batch
            .documents
            .iter()
            .map(|d| (d.path.as_str(), d.key.to_string())),
        "document",
        p,
    );
    check(
        batch
            .corrections
            .iter()
            .map(|c| (c.path.as_str(), c.event.clone())),
        "correction of event",
        p,
    );
}

fn documents(
    batch: &Batch,
    stored: &[DocumentRow],
    agent_known: &dyn Fn(&str) -> bool,
    rows: &mut Rows,
    p: &mut Problems,
) {
    for d in &batch.documents {
        let mut row = DocumentRow {
            country: d.key.country.as_str().to_owned(),
            doc_type: d.key.doc_type.as_str().to_owned(),
            number: d.key.number.clone(),
            revision: 1,
            status: d.status.as_str().to_owned(),
            issued_on: d.issued_on,
            valid_from: d.valid_from,
            valid_until: d.valid_until,
            taxon: d.taxon.map(|t| i64::from(t.get())),
            unit: None,
            permitted_micro: None,
            actual_micro: None,
            issuer: d.issuer.clone(),
        };
        if let Some(issuer) = &d.issuer
            && !agent_known(issuer)
        {
            p.push(
                format!("{}.issuer", d.path),
                format!("unknown agent {issuer}: not in the batch nor in the register"),
            );
        }
        // Both quantities in the unit of the first given.
        let unit = d.permitted.or(d.actual).map(|q| q.unit());
        row.unit = unit.map(|u| u.code().to_owned());
        for (field, q, slot) in [
            ("permitted", d.permitted, &mut row.permitted_micro),
            ("actual", d.actual, &mut row.actual_micro),
        ] {
            if let (Some(q), Some(u)) = (q, unit) {
                match to_micro(&q, u) {
                    Ok(m) => *slot = Some(m),
                    Err(message) => p.push(format!("{}.{field}", d.path), message),
                }
            }
        }
        let latest = stored.iter().find(|s| {
            s.country == row.country && s.doc_type == row.doc_type && s.number == row.number
        });
        match latest {
            Some(s) if s.same_content(&row) => {}
            Some(s) => {
                row.revision = s.revision + 1;
                rows.documents.push(row);
            }
            None => rows.documents.push(row),
        }
    }
}

/// Checks the corrections and answers the events the batch declares erroneous.
fn corrections(
    batch: &Batch,
    stored_events: &HashMap<String, store::StoredEvent>,
    rows: &mut Rows,
    p: &mut Problems,
) -> HashSet<String> {
    let batch_events: HashSet<&str> = batch.events.iter().map(|e| e.key.as_str()).collect();
    let known = |k: &str| batch_events.contains(k) || stored_events.contains_key(k);
    let mut corrected = HashSet::new();
    for c in &batch.corrections {
        if !known(&c.event) {
            p.push(
                format!("{}.event", c.path),
                format!(
                    "unknown event {}: not in the batch nor in the register",
                    c.event
                ),
            );
        } else if stored_events.get(&c.event).is_some_and(|s| s.corrected) {
            p.push(
                format!("{}.event", c.path),
                format!("event {} is already declared erroneous", c.event),
            );
        }
        for (i, k) in c.corrective_events.iter().enumerate() {
            if !known(k) {
                p.push(
                    format!("{}.corrective_events[{i}]", c.path),
                    format!("unknown event {k}: not in the batch nor in the register"),
                );
            }
        }
        corrected.insert(c.event.clone());
        rows.corrections.push(store::CorrectionRow {
            event: c.event.clone(),
            declared_at: c.declared_at,
            reason: c.reason.clone(),
            corrective_events: serde_json::Value::from(c.corrective_events.clone()).to_string(),
        });
    }
    corrected
}

/// Shape, references and quantities of every event; the rows of events, flows and their
/// documents. Long for a reason: one pass over the event's parts in the order a reader checks
/// them, each fault named with its path.
#[allow(clippy::too_many_arguments)]
fn events(
    batch: &Batch,
    known: &HashMap<String, Known>,
    stored_events: &HashMap<String, store::StoredEvent>,
    agent_known: &dyn Fn(&str) -> bool,
    stored_documents: &[DocumentRow],
    corrected: &HashSet<String>,
    rows: &mut Rows,
    p: &mut Problems,
) {
    let batch_docs: HashSet<String> = batch.documents.iter().map(|d| d.key.to_string()).collect();
    let doc_known = |k: &crate::model::DocumentKey| {
        batch_docs.contains(&k.to_string())
            || stored_documents.iter().any(|s| {
                s.country == k.country.as_str()
                    && s.doc_type == k.doc_type.as_str()
                    && s.number == k.number
            })
    };
    let mut producers: HashMap<&str, &str> = HashMap::new();
    for e in &batch.events {
        if stored_events.contains_key(&e.key) {
            p.push(
                format!("{}.key", e.path),
                format!(
                    "event {} is already in the register; an event is recorded once",
                    e.key
                ),
            );
        }
        shape(e, p);
        if let Some(agent) = &e.agent
            && !agent_known(agent)
        {
            p.push(
                format!("{}.agent", e.path),
                format!("unknown agent {agent}: not in the batch nor in the register"),
            );
        }
        for (path, k) in &e.documents {
            if doc_known(k) {
                rows.event_documents.push((
                    e.key.clone(),
                    k.country.as_str().to_owned(),
                    k.doc_type.as_str().to_owned(),
                    k.number.clone(),
                ));
            } else {
                p.push(
                    path.clone(),
                    format!("unknown document {k}: not in the batch nor in the register"),
                );
            }
        }
        let parts = [
            (&e.inputs, "in"),
            (&e.outputs, "out"),
            (&e.subjects, "subject"),
        ];
        for (flows, direction) in parts {
            for f in flows {
                let Some(k) = known.get(&f.specimen) else {
                    p.push(
                        f.specimen_path.clone(),
                        format!(
                            "unknown specimen {}: not in the batch nor in the register",
                            f.specimen
                        ),
                    );
                    continue;
                };
                if direction == "out" {
                    if !k.in_batch {
                        p.push(
                            f.specimen_path.clone(),
                            format!(
                                "specimen {} is already in the register: an event produces only \
                                 specimens declared in its own batch",
                                f.specimen
                            ),
                        );
                    } else if !corrected.contains(&e.key) {
                        if let Some(first) = producers.get(f.specimen.as_str()) {
                            p.push(
                                f.specimen_path.clone(),
                                format!(
                                    "specimen {} is produced by event {first} already; a \
                                     specimen comes into being once (declare the first event \
                                     erroneous to correct it)",
                                    f.specimen
                                ),
                            );
                        } else {
                            producers.insert(&f.specimen, &e.key);
                        }
                    }
                }
                let quantity = match &f.quantity {
                    Some(q) => match to_micro(q, k.unit) {
                        Ok(m) => Some(m),
                        Err(message) => {
                            p.push(
                                f.quantity_path.clone(),
                                format!("{message} (the unit of specimen {})", f.specimen),
                            );
                            continue;
                        }
                    },
                    None if direction == "subject" => None,
                    None => Some(k.quantity_micro),
                };
                rows.flows.push(store::FlowRow {
                    event: e.key.clone(),
                    specimen: f.specimen.clone(),
                    direction,
                    quantity_micro: quantity,
                });
            }
        }
        let yield_micro = match e.yield_ratio.map(decimal_micro) {
            Some(Some(m)) if m > 0 => Some(m),
            Some(_) => {
                p.push(
                    format!("{}.yield", e.path),
                    "not a yield: accepted a ratio above 0 with at most 6 decimals",
                );
                None
            }
            None => None,
        };
        rows.events.push(store::EventRow {
            key: e.key.clone(),
            kind: e.kind.as_str().to_owned(),
            at: e.at,
            country: e.country.map(|c| c.as_str().to_owned()),
            agent: e.agent.clone(),
            yield_micro,
        });
    }
}

/// How many inputs, outputs and subjects an event of its kind takes.
fn shape(e: &Event, p: &mut Problems) {
    let s = e.kind.shape();
    for (field, n, (min, max)) in [
        ("inputs", e.inputs.len(), s.inputs),
        ("outputs", e.outputs.len(), s.outputs),
        ("subjects", e.subjects.len(), s.subjects),
    ] {
        let accepted = match max {
            Some(0) => "none".to_owned(),
            Some(m) if m == min => format!("exactly {m}"),
            Some(m) => format!("{min} to {m}"),
            None => format!("at least {min}"),
        };
        if n < min || max.is_some_and(|m| n > m) {
            p.push(
                format!("{}.{field}", e.path),
                format!(
                    "a {} event takes {accepted} {field}; found {n}",
                    e.kind.as_str()
                ),
            );
        }
    }
}

/// Material flow is acyclic. Events produce only specimens of their own batch, so a cycle can
/// only lie within the batch: a topological sort of the batch's graph (iterative) finds it.
fn cycles(batch: &Batch, p: &mut Problems) {
    // Specimen nodes by key, event nodes by their index in the batch.
    let mut g: DiGraph<(), ()> = DiGraph::new();
    let mut specimens: HashMap<&str, NodeIndex> = HashMap::new();
    let mut event_nodes: HashMap<NodeIndex, &Event> = HashMap::new();
    for e in &batch.events {
        let en = g.add_node(());
        event_nodes.insert(en, e);
        for (f, consumed) in e
            .inputs
            .iter()
            .map(|f| (f, true))
            .chain(e.outputs.iter().map(|f| (f, false)))
        {
            let sn = *specimens
                .entry(f.specimen.as_str())
                .or_insert_with(|| g.add_node(()));
            if consumed {
                g.add_edge(sn, en, ());
            } else {
                g.add_edge(en, sn, ());
            }
        }
    }
    if let Err(cycle) = petgraph::algo::toposort(&g, None) {
        // The node where the sort stopped lies on a cycle; name an event on it (a specimen's
        // producer is on the cycle too).
        let at = cycle.node_id();
        let event = event_nodes.get(&at).copied().or_else(|| {
            g.neighbors_directed(at, petgraph::Direction::Incoming)
                .find_map(|n| event_nodes.get(&n).copied())
        });
        let (path, key) = event.map_or(("events".to_owned(), String::new()), |e| {
            (e.path.clone(), e.key.clone())
        });
        p.push(
            path,
            format!(
                "material flow forms a cycle through event {key}: a specimen would be among \
                 its own ancestors"
            ),
        );
    }
}

/// The plausibility checks over the events not declared erroneous.
fn plausibility(
    batch: &Batch,
    known: &HashMap<String, Known>,
    stored: &HashMap<String, StoredSpecimen>,
    corrected: &HashSet<String>,
    identifiers: &[(String, String, String)],
) -> Vec<Finding> {
    let live: Vec<&Event> = batch
        .events
        .iter()
        .filter(|e| !corrected.contains(&e.key))
        .collect();
    let micro_of = |f: &crate::model::Flow| -> i64 {
        let k = &known[&f.specimen];
        f.quantity
            .and_then(|q| to_micro(&q, k.unit).ok())
            .unwrap_or(k.quantity_micro)
    };
    let checked: Vec<CheckedEvent<'_>> = live
        .iter()
        .map(|e| CheckedEvent {
            key: &e.key,
            kind: e.kind,
            at: e.at,
            inputs: e
                .inputs
                .iter()
                .map(|f| (f.specimen.as_str(), micro_of(f)))
                .collect(),
            outputs: e
                .outputs
                .iter()
                .map(|f| (f.specimen.as_str(), micro_of(f)))
                .collect(),
            subjects: e.subjects.iter().map(|f| f.specimen.as_str()).collect(),
            yield_ratio: e.yield_ratio,
        })
        .collect();
    let mut produced_at = HashMap::new();
    for e in &live {
        for f in &e.outputs {
            produced_at.insert(f.specimen.as_str(), e.at);
        }
    }
    let facts: HashMap<String, Facts> = known
        .iter()
        .map(|(key, k)| {
            let s = stored.get(key);
            (
                key.clone(),
                Facts {
                    unit: k.unit,
                    quantity_micro: k.quantity_micro,
                    produced_at: produced_at
                        .get(key.as_str())
                        .copied()
                        .or(s.and_then(|s| s.produced_at)),
                    consumed_before: s.map_or(0, |s| s.consumed_micro),
                },
            )
        })
        .collect();
    let unproduced: Vec<&str> = batch
        .specimens
        .iter()
        .map(|s| s.key.as_str())
        .filter(|k| !produced_at.contains_key(k))
        .collect();
    findings::check(&checked, &facts, identifiers, &unproduced)
}
