//! The questions asked of the register: the origin of a specimen (its ancestors, the
//! acquisitions they reach, one explaining path and the share of its quantity from each, every
//! document on the way), the forward trace from a specimen or an acquisition, and look-ups by
//! identifier (document numbers are in `documents.rs`).
//!
//! A query fetches a bounded subgraph with a recursive CTE (depth and size limits; `truncated`
//! says when either cut it) and analyses it with petgraph: a breadth-first walk with parent
//! pointers and a topological order, both iterative. petgraph's recursive algorithms
//! (`is_cyclic_directed`, `tarjan_scc`, `depth_first_search`) abort the process on chains of
//! some 60,000 nodes and are never used here.

use db::read_db;
use domain::{Timestamp, from_micro};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use crate::error::{Error, Result};
use crate::ingest::Register;
use crate::model::EventKind;
use crate::store::DocumentRow;

use answer::Answer;
use sub::Sub;

mod analyse;
mod answer;
mod sql;
mod sub;

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

/// Shares are rounded to this many places: exact enough to add up to 1 in any answer.
const SHARE_PLACES: u32 = 12;

impl Register {
    /// Where `specimen` came from, within `limits`.
    pub async fn origin(&self, specimen: &str, limits: Limits) -> Result<Origin> {
        let limits = limits.checked()?;
        let answer = self.fetch(specimen, true, false, limits).await?;
        let sub = Sub::read(answer.rows()?, true, limits)?;
        let t = sub
            .specimen(specimen)
            .ok_or_else(|| Error::SpecimenNotFound(specimen.to_owned()))?;
        Ok(analyse::origin(specimen, t, sub))
    }

    /// Where `specimen` went, within `limits`.
    pub async fn forward(&self, specimen: &str, limits: Limits) -> Result<Forward> {
        let limits = limits.checked()?;
        let answer = self.fetch(specimen, false, false, limits).await?;
        let sub = Sub::read(answer.rows()?, false, limits)?;
        let s = sub
            .specimen(specimen)
            .ok_or_else(|| Error::SpecimenNotFound(specimen.to_owned()))?;
        Ok(analyse::forward(specimen, &[s], sub))
    }

    /// Where what an event produced (an acquisition, most often) went, within `limits`.
    pub async fn forward_from_event(&self, event: &str, limits: Limits) -> Result<Forward> {
        let limits = limits.checked()?;
        let answer = self.fetch(event, false, true, limits).await?;
        let sub = Sub::read(answer.rows()?, false, limits)?;
        let starts: Vec<usize> = (0..sub.specimens.len())
            .filter(|&i| sub.specimens[i].depth == 1)
            .collect();
        if starts.is_empty() {
            return Err(Error::EventNotFound(event.to_owned()));
        }
        Ok(analyse::forward(event, &starts, sub))
    }

    /// Runs the statement of an origin (`backward`) or a forward trace from specimen `seed`
    /// within `limits`, and drops its answer unread: what a trace costs in the database and its
    /// driver alone, which the trace bench times beside the whole query and the bare walk.
    pub async fn trace_statement_only(
        &self,
        seed: &str,
        backward: bool,
        limits: Limits,
    ) -> Result<()> {
        self.fetch(seed, backward, false, limits.checked()?).await?;
        Ok(())
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

    /// Runs the subgraph around `seed` within `limits` as one statement ([`sql::trace`]):
    /// the specimens the walk reaches, the flows the analysis reads with their events, and the
    /// documents of those events ([`Answer::rows`] reads them).
    async fn fetch(
        &self,
        seed: &str,
        backward: bool,
        seed_is_event: bool,
        limits: Limits,
    ) -> Result<Answer> {
        let sql = sql::trace(self.db.backend(), backward, seed_is_event);
        let depth = i64::from(limits.depth) + 1;
        let nodes = i64::try_from(limits.nodes).unwrap_or(i64::MAX);
        let answer = read_db!(&self.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(seed)
                .bind(depth)
                .bind(nodes)
                .fetch_one(pool)
                .await
                .map(Answer::from)
        })?;
        Ok(answer)
    }
}

/// Groups document rows into views. The rows come grouped by document, each document's
/// latest revision first (one row per citing event, `None` for a document no event cites):
/// a document's first row gives its revision and fields.
pub(crate) fn document_views(
    rows: impl Iterator<Item = (Option<String>, DocumentRow)>,
) -> Vec<DocumentView> {
    let mut views: Vec<DocumentView> = Vec::new();
    for (event, d) in rows {
        let same = views.last().is_some_and(|v| {
            (&v.country, &v.doc_type, &v.number) == (&d.country, &d.doc_type, &d.number)
        });
        if !same {
            views.push(DocumentView {
                country: d.country,
                doc_type: d.doc_type,
                number: d.number,
                revision: d.revision,
                status: d.status,
                issued_on: d.issued_on,
                valid_from: d.valid_from,
                valid_until: d.valid_until,
                taxon: d.taxon,
                unit: d.unit,
                permitted: d.permitted_micro.map(from_micro),
                actual: d.actual_micro.map(from_micro),
                issuer: d.issuer,
                events: Vec::new(),
            });
        }
        if let (Some(view), Some(e)) = (views.last_mut(), event)
            && !view.events.contains(&e)
        {
            view.events.push(e);
        }
    }
    views
}
