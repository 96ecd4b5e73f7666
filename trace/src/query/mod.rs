//! The questions asked of the register: the origin of a specimen (its ancestors, the
//! acquisitions they reach, one explaining path and the share of its quantity from each, every
//! document on the way), the forward trace from a specimen or an acquisition, and look-ups by
//! identifier or document number.
//!
//! A query fetches a bounded subgraph with a recursive CTE (depth and size limits; `truncated`
//! says when either cut it) and analyses it with petgraph: a breadth-first walk with parent
//! pointers and a topological order, both iterative. petgraph's recursive algorithms
//! (`is_cyclic_directed`, `tarjan_scc`, `depth_first_search`) abort the process on chains of
//! some 60,000 nodes and are never used here.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use db::read_db;
use domain::{Timestamp, UnitCode};
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use crate::error::{Error, Result};
use crate::ingest::Register;
use crate::model::EventKind;
use crate::store::{DOCUMENT_COLUMNS, DocumentRow, document_row};

mod sql;

/// Steps of material flow a query follows by default: a supply chain from harvest to a
/// finished product is a few dozen events.
pub const DEPTH_DEFAULT: u32 = 64;
/// The most a caller may ask for: a chain as deep as any the register can hold in practice.
pub const DEPTH_MAX: u32 = 200_000;
/// Specimens a query returns by default: enough for any realistic trace (a merge-heavy region
/// can reach millions of ancestors, which no officer reads).
pub const NODES_DEFAULT: usize = 10_000;
/// The most a caller may ask for; the whole subgraph is held in memory.
pub const NODES_MAX: usize = 1_000_000;

/// How far a query goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub depth: u32,
    pub nodes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth: DEPTH_DEFAULT,
            nodes: NODES_DEFAULT,
        }
    }
}

impl Limits {
    fn checked(self) -> Result<Limits> {
        if self.depth == 0 || self.depth > DEPTH_MAX {
            return Err(Error::Invalid {
                field: "depth",
                message: format!("{}; accepted 1 to {DEPTH_MAX}", self.depth),
            });
        }
        if self.nodes == 0 || self.nodes > NODES_MAX {
            return Err(Error::Invalid {
                field: "nodes",
                message: format!("{}; accepted 1 to {NODES_MAX}", self.nodes),
            });
        }
        Ok(self)
    }
}

/// A node of the node-link graph an answer gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    Specimen {
        key: String,
        taxon: i64,
        term: String,
        quantity: Decimal,
        unit: String,
        source: String,
        /// Steps of material flow from where the query started.
        depth: i64,
    },
    Event {
        key: String,
        event: String,
        at: Timestamp,
        country: Option<String>,
        agent: Option<String>,
    },
}

impl Node {
    pub fn key(&self) -> &str {
        match self {
            Node::Specimen { key, .. } | Node::Event { key, .. } => key,
        }
    }
}

/// An edge: `input` (specimen to the event that consumed it), `output` (event to the specimen
/// it produced), `subject` (specimen to a custody or trade event that concerned it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryEdge {
    pub from: String,
    pub to: String,
    pub kind: &'static str,
    pub quantity: Option<Decimal>,
    pub unit: Option<String>,
}

/// An acquisition an origin reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reached {
    pub event: String,
    pub kind: EventKind,
    pub at: Timestamp,
    /// The fraction of the specimen's quantity that comes from it (exact to 12 places).
    pub share: Decimal,
    /// One explaining path, from the acquisition to the specimen: alternating event and
    /// specimen keys, the shortest in steps.
    pub path: Vec<String>,
}

/// A document met on the way, at its latest revision, with the events that cite it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentView {
    pub country: String,
    pub doc_type: String,
    pub number: String,
    pub revision: i64,
    pub status: String,
    pub issued_on: Option<chrono::NaiveDate>,
    pub valid_from: Option<chrono::NaiveDate>,
    pub valid_until: Option<chrono::NaiveDate>,
    pub taxon: Option<i64>,
    pub unit: Option<String>,
    pub permitted: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub issuer: Option<String>,
    pub events: Vec<String>,
}

/// Where a specimen came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub specimen: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<QueryEdge>,
    /// In the order of their share, largest first, then by key.
    pub acquisitions: Vec<Reached>,
    /// The fraction that reaches no acquisition: specimens with no producing event, or beyond
    /// the limits when `truncated`.
    pub unaccounted_share: Decimal,
    pub documents: Vec<DocumentView>,
    pub truncated: bool,
}

/// Where a specimen or an acquisition went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forward {
    pub from: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<QueryEdge>,
    /// Every specimen reached, with the fraction of its quantity derived from the start, by
    /// depth then key.
    pub descendants: Vec<(String, Decimal)>,
    pub documents: Vec<DocumentView>,
    pub truncated: bool,
}

pub(crate) fn micro(m: i64) -> Decimal {
    Decimal::new(m, 6).normalize()
}

/// Shares are rounded to this many places: exact enough to add up to 1 in any answer.
const SHARE_PLACES: u32 = 12;

struct SpecimenRow {
    taxon: i64,
    term: String,
    quantity_micro: i64,
    unit: String,
    source: String,
    depth: i64,
}

struct EventRow {
    kind: EventKind,
    at: Timestamp,
    country: Option<String>,
    agent: Option<String>,
}

struct FlowRow {
    event: String,
    specimen: String,
    direction: String,
    quantity_micro: Option<i64>,
    /// The specimen's unit (flows are stored in it).
    unit: String,
}

/// The subgraph a query fetched.
struct Sub {
    specimens: BTreeMap<String, SpecimenRow>,
    events: BTreeMap<String, EventRow>,
    flows: Vec<FlowRow>,
    documents: Vec<(String, DocumentRow)>,
    truncated: bool,
}

impl Register {
    /// Where `specimen` came from, within `limits`.
    pub async fn origin(&self, specimen: &str, limits: Limits) -> Result<Origin> {
        let limits = limits.checked()?;
        let sub = self.fetch(specimen, true, false, limits).await?;
        if !sub.specimens.contains_key(specimen) {
            return Err(Error::SpecimenNotFound(specimen.to_owned()));
        }
        Ok(analyse_origin(specimen, sub))
    }

    /// Where `specimen` went, within `limits`.
    pub async fn forward(&self, specimen: &str, limits: Limits) -> Result<Forward> {
        let limits = limits.checked()?;
        let sub = self.fetch(specimen, false, false, limits).await?;
        if !sub.specimens.contains_key(specimen) {
            return Err(Error::SpecimenNotFound(specimen.to_owned()));
        }
        Ok(analyse_forward(specimen, &[specimen.to_owned()], sub))
    }

    /// Where what an event produced (an acquisition, most often) went, within `limits`.
    pub async fn forward_from_event(&self, event: &str, limits: Limits) -> Result<Forward> {
        let limits = limits.checked()?;
        let sub = self.fetch(event, false, true, limits).await?;
        let starts: Vec<String> = sub
            .specimens
            .iter()
            .filter(|(_, s)| s.depth == 1)
            .map(|(k, _)| k.clone())
            .collect();
        if starts.is_empty() {
            return Err(Error::EventNotFound(event.to_owned()));
        }
        Ok(analyse_forward(event, &starts, sub))
    }

    /// The specimens an identifier names, as `(scheme, value, specimen)`; `scheme` `None`
    /// for every scheme.
    pub async fn by_identifier(
        &self,
        scheme: Option<crate::model::IdScheme>,
        value: &str,
    ) -> Result<Vec<(String, String, String)>> {
        let scheme = scheme.map(|s| s.as_str());
        let rows = read_db!(&self.db, pool => {
            sqlx::query(
                "SELECT scheme, value, specimen_key FROM trace_identifiers WHERE value = $1 \
                 AND (CAST($2 AS TEXT) IS NULL OR scheme = $2) ORDER BY scheme, specimen_key",
            )
            .bind(value)
            .bind(scheme)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?;
        Ok(rows)
    }

    /// Every document with this number (any issuing country or type), at its latest revision,
    /// with the events that cite it.
    pub async fn by_document(&self, number: &str) -> Result<Vec<DocumentView>> {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS}, ed.event_key FROM trace_documents d \
             LEFT JOIN trace_event_documents ed ON ed.country = d.country \
             AND ed.doc_type = d.doc_type AND ed.number = d.number \
             WHERE d.number = $1 AND d.revision = (SELECT MAX(l.revision) FROM trace_documents l \
             WHERE l.country = d.country AND l.doc_type = d.doc_type AND l.number = d.number) \
             ORDER BY d.country, d.doc_type, ed.event_key"
        );
        let rows = read_db!(&self.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(number)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get::<Option<String>, _>(13)?, document_row(r)?)))
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?;
        Ok(document_views(rows.into_iter()))
    }

    /// Fetches the subgraph around `seed` within `limits` in one statement ([`sql::trace`]):
    /// the specimens the walk reaches, the flows the analysis reads with their events, and the
    /// documents of those events.
    async fn fetch(
        &self,
        seed: &str,
        backward: bool,
        seed_is_event: bool,
        limits: Limits,
    ) -> Result<Sub> {
        let sql = sql::trace(self.db.backend(), backward, seed_is_event);
        let depth = i64::from(limits.depth);
        let nodes = i64::try_from(limits.nodes).unwrap_or(i64::MAX);
        let (specimens, flows, events, documents): Parts = read_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(seed)
                .bind(depth + 1)
                .bind(nodes)
                .fetch_one(pool)
                .await
        })?;
        let (specimens, truncated) = kept_specimens(rows(&specimens, "specimens")?, limits);
        let (flows, events) = kept_flows(
            &specimens,
            rows(&flows, "flows")?,
            rows(&events, "events")?,
            backward,
        )?;
        let documents = documents_of(rows(&documents, "documents")?, &events);
        Ok(Sub {
            specimens,
            events,
            flows,
            documents,
            truncated,
        })
    }
}

/// [`sql::trace`]'s answer: its four parts, each a JSON array of arrays.
type Parts = (String, String, String, String);

/// One part of [`sql::trace`]'s answer, its rows as a JSON array of arrays.
fn rows<T: serde::de::DeserializeOwned>(json: &str, part: &str) -> Result<Vec<T>> {
    serde_json::from_str(json).map_err(|e| Error::Corrupt(format!("the trace's {part}: {e}")))
}

/// A specimen's row: key, taxon, term, quantity, unit, source, depth.
type SpecimenJson = (String, i64, String, i64, String, String, i64);
/// A flow's row: event, specimen, direction, quantity, unit (a forward trace's other inputs).
type FlowJson = (String, String, String, Option<i64>, Option<String>);
/// An event's row: key, kind, time, country, agent.
type EventJson = (String, String, Timestamp, Option<String>, Option<String>);
/// A document's row ([`DOCUMENT_COLUMNS`]) and the event citing it.
type DocumentJson = (
    String,
    String,
    String,
    i64,
    String,
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
);

/// The specimens within `limits`, nearest first then by key, and whether the limits cut the
/// walk short (the statement reads one more of each).
fn kept_specimens(
    mut rows: Vec<SpecimenJson>,
    limits: Limits,
) -> (BTreeMap<String, SpecimenRow>, bool) {
    rows.sort_unstable_by(|a, b| (a.6, &a.0).cmp(&(b.6, &b.0)));
    let depth = i64::from(limits.depth);
    let mut truncated = false;
    let mut specimens = BTreeMap::new();
    for (key, taxon, term, quantity_micro, unit, source, d) in rows {
        if d > depth || specimens.len() >= limits.nodes {
            truncated = true;
        } else {
            let row = SpecimenRow {
                taxon,
                term,
                quantity_micro,
                unit,
                source,
                depth: d,
            };
            specimens.insert(key, row);
        }
    }
    (specimens, truncated)
}

/// The flows an analysis reads, with their events. Of the kept specimens' flows, an origin
/// (`backward`) keeps an input only into an event producing a kept specimen, a forward trace
/// an output only of an event consuming one: the others lead away from the trace (a split's
/// siblings, a seed's own producer).
fn kept_flows(
    specimens: &BTreeMap<String, SpecimenRow>,
    rows: Vec<FlowJson>,
    events: Vec<EventJson>,
    backward: bool,
) -> Result<(Vec<FlowRow>, BTreeMap<String, EventRow>)> {
    let mut known: HashMap<String, EventJson> =
        events.into_iter().map(|e| (e.0.clone(), e)).collect();
    // The events through which the trace goes on: those producing a kept specimen (an
    // origin) or consuming one (a forward trace).
    let onward = if backward { "out" } else { "in" };
    let through: HashSet<String> = rows
        .iter()
        .filter(|f| f.2 == onward && specimens.contains_key(&f.1))
        .map(|f| f.0.clone())
        .collect();
    let mut kept_events = BTreeMap::new();
    let mut flows = Vec::with_capacity(rows.len());
    for (event, specimen, direction, quantity_micro, unit) in rows {
        let kept = direction == "subject" || direction == onward || through.contains(&event);
        if !kept {
            continue;
        }
        let unit = match specimens.get(&specimen) {
            Some(s) => s.unit.clone(),
            None => unit.unwrap_or_default(),
        };
        if !kept_events.contains_key(&event) {
            let (_, kind, at, country, agent) = known
                .remove(&event)
                .ok_or_else(|| Error::Corrupt(format!("event {event} of a flow")))?;
            let kind = EventKind::parse(&kind)
                .ok_or_else(|| Error::Corrupt(format!("kind of event {event}")))?;
            kept_events.insert(
                event.clone(),
                EventRow {
                    kind,
                    at,
                    country,
                    agent,
                },
            );
        }
        flows.push(FlowRow {
            event,
            specimen,
            direction,
            quantity_micro,
            unit,
        });
    }
    Ok((flows, kept_events))
}

/// The documents of the kept events, each document's latest revision first
/// ([`document_views`] keeps the first).
fn documents_of(
    rows: Vec<DocumentJson>,
    events: &BTreeMap<String, EventRow>,
) -> Vec<(String, DocumentRow)> {
    let mut documents: Vec<(String, DocumentRow)> = rows
        .into_iter()
        .filter(|r| events.contains_key(&r.13))
        .map(|r| {
            let d = DocumentRow {
                country: r.0,
                doc_type: r.1,
                number: r.2,
                revision: r.3,
                status: r.4,
                issued_on: r.5,
                valid_from: r.6,
                valid_until: r.7,
                taxon: r.8,
                unit: r.9,
                permitted_micro: r.10,
                actual_micro: r.11,
                issuer: r.12,
            };
            (r.13, d)
        })
        .collect();
    documents.sort_unstable_by(|(ea, a), (eb, b)| {
        (&a.country, &a.doc_type, &a.number)
            .cmp(&(&b.country, &b.doc_type, &b.number))
            .then_with(|| b.revision.cmp(&a.revision))
            .then_with(|| ea.cmp(eb))
    });
    documents
}

/// Groups document rows (one per citing event) into views: a document's first row gives its
/// revision and fields.
pub(crate) fn document_views(
    rows: impl Iterator<Item = (Option<String>, DocumentRow)>,
) -> Vec<DocumentView> {
    let mut views: BTreeMap<(String, String, String), DocumentView> = BTreeMap::new();
    for (event, d) in rows {
        let view = views
            .entry((d.country.clone(), d.doc_type.clone(), d.number.clone()))
            .or_insert_with(|| DocumentView {
                country: d.country.clone(),
                doc_type: d.doc_type.clone(),
                number: d.number.clone(),
                revision: d.revision,
                status: d.status.clone(),
                issued_on: d.issued_on,
                valid_from: d.valid_from,
                valid_until: d.valid_until,
                taxon: d.taxon,
                unit: d.unit.clone(),
                permitted: d.permitted_micro.map(micro),
                actual: d.actual_micro.map(micro),
                issuer: d.issuer.clone(),
                events: Vec::new(),
            });
        if let Some(e) = event
            && !view.events.contains(&e)
        {
            view.events.push(e);
        }
    }
    views.into_values().collect()
}

/// Marks an event's key in [`Material::index`] (no key holds a control character).
const EVENT_MARK: char = '\u{1f}';

/// The material graph of a subgraph: specimen and event nodes, `in` and `out` edges weighted
/// by quantity in millionths of the specimen's unit.
struct Material {
    g: DiGraph<String, i64>,
    index: HashMap<String, NodeIndex>,
}

impl Material {
    fn build(sub: &Sub) -> Material {
        let mut g = DiGraph::with_capacity(sub.specimens.len() * 2, sub.flows.len());
        let mut index = HashMap::with_capacity(sub.specimens.len() * 2);
        for key in sub.specimens.keys() {
            index.insert(key.clone(), g.add_node(key.clone()));
        }
        for f in &sub.flows {
            let (Some(&s), true) = (index.get(&f.specimen), f.direction != "subject") else {
                continue;
            };
            // Events apart from specimens: the two kinds of key are separate namespaces.
            let e = *index
                .entry(format!("{EVENT_MARK}{}", f.event))
                .or_insert_with(|| g.add_node(f.event.clone()));
            let q = f.quantity_micro.unwrap_or(0);
            if f.direction == "in" {
                g.add_edge(s, e, q);
            } else {
                g.add_edge(e, s, q);
            }
        }
        Material { g, index }
    }

    /// Neighbours in one direction, by key, for answers that do not depend on insertion order.
    fn sorted(&self, n: NodeIndex, dir: Direction) -> Vec<(NodeIndex, i64)> {
        let mut v: Vec<(NodeIndex, i64)> = self
            .g
            .edges_directed(n, dir)
            .map(|e| {
                use petgraph::visit::EdgeRef;
                let other = if dir == Direction::Incoming {
                    e.source()
                } else {
                    e.target()
                };
                (other, *e.weight())
            })
            .collect();
        v.sort_by(|a, b| self.g[a.0].cmp(&self.g[b.0]));
        v
    }
}

/// Weights of an event's inputs: by quantity in the base unit when they share a dimension,
/// equal otherwise.
fn input_weights(
    inputs: &[(NodeIndex, i64)],
    unit_of: impl Fn(NodeIndex) -> Option<UnitCode>,
) -> Vec<Decimal> {
    let units: Vec<Option<UnitCode>> = inputs.iter().map(|(n, _)| unit_of(*n)).collect();
    let same = units.first().copied().flatten().is_some_and(|u0| {
        units
            .iter()
            .all(|u| u.is_some_and(|u| u.dimension() == u0.dimension()))
    });
    let amounts: Vec<Decimal> = if same {
        inputs
            .iter()
            .zip(&units)
            .map(|((_, m), u)| micro(*m) * u.map_or(Decimal::ONE, |u| u.unit().factor_to_base()))
            .collect()
    } else {
        vec![Decimal::ONE; inputs.len()]
    };
    let total: Decimal = amounts.iter().sum();
    if total.is_zero() {
        let n = Decimal::from(inputs.len().max(1));
        return vec![Decimal::ONE / n; inputs.len()];
    }
    amounts.iter().map(|a| a / total).collect()
}

/// The answer's graph: every kept specimen and event, and the flows between kept nodes.
fn nodes_and_edges(sub: &Sub) -> (Vec<Node>, Vec<QueryEdge>) {
    let mut nodes: Vec<Node> = sub
        .specimens
        .iter()
        .map(|(key, s)| Node::Specimen {
            key: key.clone(),
            taxon: s.taxon,
            term: s.term.clone(),
            quantity: micro(s.quantity_micro),
            unit: s.unit.clone(),
            source: s.source.clone(),
            depth: s.depth,
        })
        .collect();
    nodes.extend(sub.events.iter().map(|(key, e)| Node::Event {
        key: key.clone(),
        event: e.kind.as_str().to_owned(),
        at: e.at,
        country: e.country.clone(),
        agent: e.agent.clone(),
    }));
    let edges = sub
        .flows
        .iter()
        .filter(|f| sub.specimens.contains_key(&f.specimen))
        .map(|f| {
            let (from, to, kind) = match f.direction.as_str() {
                "out" => (f.event.clone(), f.specimen.clone(), "output"),
                "in" => (f.specimen.clone(), f.event.clone(), "input"),
                _ => (f.specimen.clone(), f.event.clone(), "subject"),
            };
            QueryEdge {
                from,
                to,
                kind,
                quantity: f.quantity_micro.map(micro),
                unit: f.quantity_micro.map(|_| f.unit.clone()),
            }
        })
        .collect();
    (nodes, edges)
}

fn analyse_origin(target: &str, sub: Sub) -> Origin {
    // Kept (by `kept_flows`): the events producing a kept specimen, their inputs, and
    // custody events on kept specimens; not the other consumers of an ancestor.
    let m = Material::build(&sub);
    let unit_of = |n: NodeIndex| {
        sub.specimens
            .get(&m.g[n])
            .and_then(|s| UnitCode::parse(&s.unit).ok())
    };
    let is_acquisition = |n: NodeIndex| {
        m.index.get(&m.g[n]) != Some(&n)
            && sub
                .events
                .get(&m.g[n])
                .is_some_and(|e| e.kind.is_acquisition())
    };

    // Breadth-first up the material flow, with parent pointers (iterative).
    let t = m.index[target];
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut seen: HashSet<NodeIndex> = HashSet::from([t]);
    let mut queue = VecDeque::from([t]);
    let mut reached = Vec::new();
    while let Some(n) = queue.pop_front() {
        if is_acquisition(n) {
            reached.push(n);
        }
        for (up, _) in m.sorted(n, Direction::Incoming) {
            if seen.insert(up) {
                parent.insert(up, n);
                queue.push_back(up);
            }
        }
    }

    // Shares in topological order, ancestors first (iterative; the graph is acyclic).
    let order = petgraph::algo::toposort(&m.g, None).unwrap_or_default();
    let mut shares: HashMap<NodeIndex, BTreeMap<NodeIndex, Decimal>> = HashMap::new();
    let unaccounted = NodeIndex::end();
    for n in order {
        if m.index.get(&m.g[n]) != Some(&n) {
            continue; // an event
        }
        let producers = m.sorted(n, Direction::Incoming);
        let mut share = BTreeMap::new();
        match producers.first() {
            None => {
                share.insert(unaccounted, Decimal::ONE);
            }
            Some((e, _)) if is_acquisition(*e) => {
                share.insert(*e, Decimal::ONE);
            }
            Some((e, _)) => {
                let inputs = m.sorted(*e, Direction::Incoming);
                if inputs.is_empty() {
                    share.insert(unaccounted, Decimal::ONE);
                }
                for ((i, _), w) in inputs.iter().zip(input_weights(&inputs, unit_of)) {
                    for (root, s) in shares.get(i).into_iter().flatten() {
                        *share.entry(*root).or_insert(Decimal::ZERO) += w * s;
                    }
                }
            }
        }
        shares.insert(n, share);
    }
    let target_share = shares.remove(&t).unwrap_or_default();
    let mut acquisitions: Vec<Reached> = reached
        .into_iter()
        .map(|a| {
            let mut path = vec![m.g[a].clone()];
            let mut at = a;
            while let Some(&next) = parent.get(&at) {
                path.push(m.g[next].clone());
                at = next;
            }
            let e = &sub.events[&m.g[a]];
            Reached {
                event: m.g[a].clone(),
                kind: e.kind,
                at: e.at,
                share: target_share
                    .get(&a)
                    .copied()
                    .unwrap_or_default()
                    .round_dp(SHARE_PLACES)
                    .normalize(),
                path,
            }
        })
        .collect();
    acquisitions.sort_by(|a, b| b.share.cmp(&a.share).then_with(|| a.event.cmp(&b.event)));
    let documents = document_views(
        sub.documents
            .iter()
            .map(|(e, d)| (Some(e.clone()), d.clone())),
    );
    let (nodes, edges) = nodes_and_edges(&sub);
    Origin {
        specimen: target.to_owned(),
        nodes,
        edges,
        acquisitions,
        unaccounted_share: target_share
            .get(&unaccounted)
            .copied()
            .unwrap_or_default()
            .round_dp(SHARE_PLACES)
            .normalize(),
        documents,
        truncated: sub.truncated,
    }
}

fn analyse_forward(from: &str, starts: &[String], sub: Sub) -> Forward {
    // Kept (by `kept_flows`): every event consuming a kept specimen (with all its
    // inputs, for the weights) and custody events on kept specimens.
    let m = Material::build(&sub);
    // Inputs from outside the subgraph weigh in each event's split of shares.
    let mut outside: HashMap<&str, Vec<(i64, Option<UnitCode>)>> = HashMap::new();
    for f in &sub.flows {
        if f.direction == "in" && !sub.specimens.contains_key(&f.specimen) {
            outside
                .entry(f.event.as_str())
                .or_default()
                .push((f.quantity_micro.unwrap_or(0), UnitCode::parse(&f.unit).ok()));
        }
    }
    let mut share: HashMap<NodeIndex, Decimal> = starts
        .iter()
        .filter_map(|s| m.index.get(s))
        .map(|n| (*n, Decimal::ONE))
        .collect();
    let order = petgraph::algo::toposort(&m.g, None).unwrap_or_default();
    for n in order {
        if m.index.get(&m.g[n]) == Some(&n) {
            continue; // a specimen
        }
        let inside = m.sorted(n, Direction::Incoming);
        let extra = outside.get(m.g[n].as_str()).cloned().unwrap_or_default();
        // Outside inputs as phantom nodes: weights over all inputs, shares only from inside.
        let mut all: Vec<(NodeIndex, i64)> = inside.clone();
        let phantom_base = m.g.node_count();
        all.extend(
            extra
                .iter()
                .enumerate()
                .map(|(i, (q, _))| (NodeIndex::new(phantom_base + i), *q)),
        );
        let unit_of = |x: NodeIndex| {
            if x.index() >= phantom_base {
                extra[x.index() - phantom_base].1
            } else {
                sub.specimens
                    .get(&m.g[x])
                    .and_then(|s| UnitCode::parse(&s.unit).ok())
            }
        };
        let weights = input_weights(&all, unit_of);
        let derived: Decimal = inside
            .iter()
            .zip(&weights)
            .map(|((i, _), w)| w * share.get(i).copied().unwrap_or_default())
            .sum();
        for (o, _) in m.sorted(n, Direction::Outgoing) {
            let s = share.entry(o).or_insert(Decimal::ZERO);
            *s = (*s).max(derived);
        }
    }
    let mut descendants: Vec<(i64, String, Decimal)> = sub
        .specimens
        .iter()
        .filter(|(k, _)| k.as_str() != from)
        .map(|(k, s)| {
            let v = m
                .index
                .get(k)
                .and_then(|n| share.get(n))
                .copied()
                .unwrap_or_default();
            (s.depth, k.clone(), v.round_dp(SHARE_PLACES).normalize())
        })
        .collect();
    descendants.sort();
    let documents = document_views(
        sub.documents
            .iter()
            .map(|(e, d)| (Some(e.clone()), d.clone())),
    );
    let (nodes, edges) = nodes_and_edges(&sub);
    Forward {
        from: from.to_owned(),
        nodes,
        edges,
        descendants: descendants.into_iter().map(|(_, k, s)| (k, s)).collect(),
        documents,
        truncated: sub.truncated,
    }
}
