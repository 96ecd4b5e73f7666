//! The outputs of an origin or forward answer besides its JSON node-link graph: GraphViz DOT
//! ([`dot`]), an SVG picture drawn here with a layered layout ([`svg`]), and an EPCIS 2.0
//! JSON-LD document ([`epcis_out`]) that the register's EPCIS reader takes back.
//!
//! Each output is a pure function of the answer: the same answer gives byte-identical text
//! (nodes and edges in key order, quantities exact). An answer an output cannot show
//! faithfully (a picture too large to read, an event EPCIS cannot carry) is refused with a
//! [`RenderError`] naming what and why, never drawn or written partly.

pub mod dot;
pub mod epcis_out;
mod layout;
pub mod svg;

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::query::{DocumentView, Forward, Node, Origin, QueryEdge};

/// Why an answer cannot be given in a format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The answer is larger than the format shows readably.
    #[error(
        "the answer has {nodes} nodes; {format} shows at most {max}: lower nodes or depth, or take the JSON or DOT"
    )]
    TooLarge {
        format: &'static str,
        nodes: usize,
        max: usize,
    },
    /// Part of the answer cannot be written in the format; `what` names it.
    #[error("{what}: {why}")]
    NotExpressible { what: String, why: String },
}

/// What every output reads of an answer: its graph, documents and whether it was cut.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// "origin" or "forward".
    pub question: &'static str,
    /// The specimen (or event) the question was asked of.
    pub start: &'a str,
    pub nodes: &'a [Node],
    pub edges: &'a [QueryEdge],
    pub documents: &'a [DocumentView],
    pub truncated: bool,
}

impl Origin {
    pub fn view(&self) -> View<'_> {
        View {
            question: "origin",
            start: &self.specimen,
            nodes: &self.nodes,
            edges: &self.edges,
            documents: &self.documents,
            truncated: self.truncated,
        }
    }
}

impl Forward {
    pub fn view(&self) -> View<'_> {
        View {
            question: "forward",
            start: &self.from,
            nodes: &self.nodes,
            edges: &self.edges,
            documents: &self.documents,
            truncated: self.truncated,
        }
    }
}

impl View<'_> {
    /// The title an output shows.
    pub fn title(&self) -> String {
        let what = if self.question == "origin" {
            "Origin of"
        } else {
            "Forward trace from"
        };
        format!("{what} {}", self.start)
    }

    /// The nodes in key order, specimens before events of the same key.
    pub fn sorted_nodes(&self) -> Vec<&Node> {
        let mut nodes: Vec<&Node> = self.nodes.iter().collect();
        nodes.sort_by(|a, b| {
            a.key()
                .cmp(b.key())
                .then_with(|| is_event(a).cmp(&is_event(b)))
        });
        nodes
    }

    /// The edges by source, target and kind.
    pub fn sorted_edges(&self) -> Vec<&QueryEdge> {
        let mut edges: Vec<&QueryEdge> = self.edges.iter().collect();
        edges.sort_by(|a, b| {
            (&a.from, &a.to, a.kind, a.quantity, &a.unit)
                .cmp(&(&b.from, &b.to, b.kind, b.quantity, &b.unit))
        });
        edges
    }

    /// The documents each event cites, as `country type number`, in the answer's order.
    pub fn documents_by_event(&self) -> BTreeMap<&str, Vec<String>> {
        let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for d in self.documents {
            for e in &d.events {
                by.entry(e.as_str())
                    .or_default()
                    .push(format!("{} {} {}", d.country, d.doc_type, d.number));
            }
        }
        by
    }

    /// The lines of text a node's box or label shows: its kind first, then its key, then what
    /// an officer reads of it (taxon, term, quantity and source; date, country, agent and the
    /// documents cited).
    pub fn node_lines(&self, node: &Node, docs: &BTreeMap<&str, Vec<String>>) -> Vec<String> {
        match node {
            Node::Specimen {
                key,
                taxon,
                term,
                quantity,
                unit,
                source,
                ..
            } => vec![
                "specimen".to_owned(),
                key.clone(),
                format!("taxon {taxon} · {term} · source {source}"),
                quantity_text(*quantity, unit),
            ],
            Node::Event {
                key,
                event,
                at,
                country,
                agent,
            } => {
                let mut lines = vec![event.clone(), key.clone()];
                let mut when = at.format("%Y-%m-%d %H:%M UTC").to_string();
                if let Some(c) = country {
                    when.push_str(&format!(" · {c}"));
                }
                lines.push(when);
                if let Some(a) = agent {
                    lines.push(format!("by {a}"));
                }
                for d in docs.get(key.as_str()).into_iter().flatten() {
                    lines.push(d.clone());
                }
                lines
            }
        }
    }
}

fn is_event(n: &Node) -> bool {
    matches!(n, Node::Event { .. })
}

/// An exact quantity as text: `12.5 KGM`.
pub fn quantity_text(q: Decimal, unit: &str) -> String {
    format!("{} {unit}", q.normalize())
}

/// An edge's label: its quantity and unit when it carries one.
pub fn edge_label(e: &QueryEdge) -> Option<String> {
    match (e.quantity, &e.unit) {
        (Some(q), Some(u)) => Some(quantity_text(q, u)),
        (Some(q), None) => Some(q.normalize().to_string()),
        _ => None,
    }
}
