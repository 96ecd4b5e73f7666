//! What a query's answer says of its subgraph: the material graph in petgraph, walked
//! breadth-first with parent pointers and in topological order, both iterative.
//!
//! Node `i` of the graph is specimen `i` of [`Sub::specimens`] for `i` below their count, and
//! event `i - count` of [`Sub::events`] above: both are in key order, so neighbours sorted by
//! index are sorted by key, and every answer is the same whatever order the rows came in.

use std::collections::VecDeque;

use domain::{UnitCode, from_micro};
use petgraph::Direction as Towards;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use rust_decimal::Decimal;

use super::sub::{Direction, Sub};
use super::{DocumentView, Forward, Node, Origin, QueryEdge, Reached, SHARE_PLACES};

/// The material graph of a subgraph: specimens, then events, joined by their `in` and `out`
/// flows weighted by quantity in millionths of the specimen's unit.
struct Material {
    g: DiGraph<(), i64>,
    specimens: usize,
}

impl Material {
    fn build(sub: &Sub<'_>) -> Material {
        let specimens = sub.specimens.len();
        let mut g = DiGraph::with_capacity(specimens + sub.events.len(), sub.flows.len());
        for _ in 0..specimens + sub.events.len() {
            g.add_node(());
        }
        for f in &sub.flows {
            let Some(s) = f.specimen else { continue };
            let (s, e) = (NodeIndex::new(s), NodeIndex::new(specimens + f.event));
            let q = f.quantity_micro.unwrap_or(0);
            match f.direction {
                Direction::In => g.add_edge(s, e, q),
                Direction::Out => g.add_edge(e, s, q),
                Direction::Subject => continue,
            };
        }
        Material { g, specimens }
    }

    /// The event a node is, if it is one.
    fn event(&self, n: NodeIndex) -> Option<usize> {
        n.index().checked_sub(self.specimens)
    }

    /// Neighbours in one direction with their edges' quantities, by key, into `out`.
    fn sorted(&self, n: NodeIndex, dir: Towards, out: &mut Vec<(NodeIndex, i64)>) {
        out.clear();
        out.extend(self.g.edges_directed(n, dir).map(|e| {
            let other = match dir {
                Towards::Incoming => e.source(),
                Towards::Outgoing => e.target(),
            };
            (other, *e.weight())
        }));
        out.sort_unstable_by_key(|&(other, _)| other);
    }

    /// A node's key.
    fn key(&self, sub: &Sub<'_>, n: NodeIndex) -> String {
        match self.event(n) {
            Some(e) => sub.events[e].key.to_string(),
            None => sub.specimens[n.index()].key.to_string(),
        }
    }
}

/// Weights of an event's inputs, each a quantity in millionths of its unit: by quantity in
/// the base unit when they share a dimension, equal otherwise.
fn input_weights(inputs: &[(i64, Option<UnitCode>)]) -> Vec<Decimal> {
    let same = inputs.first().and_then(|i| i.1).is_some_and(|u0| {
        inputs
            .iter()
            .all(|(_, u)| u.is_some_and(|u| u.dimension() == u0.dimension()))
    });
    let amounts: Vec<Decimal> = if same {
        inputs
            .iter()
            .map(|(m, u)| from_micro(*m) * u.map_or(Decimal::ONE, |u| u.unit().factor_to_base()))
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

fn rounded(share: Decimal) -> Decimal {
    share.round_dp(SHARE_PLACES).normalize()
}

/// Where specimen `t` (`target`) came from. Its subgraph holds the events producing a kept
/// specimen, their inputs, and custody events on kept specimens; not the other consumers of
/// an ancestor.
pub(super) fn origin(target: &str, t: usize, sub: Sub<'_>) -> Origin {
    let m = Material::build(&sub);
    let n = m.g.node_count();
    // The event an acquisition node is.
    let acquisition = |x: NodeIndex| m.event(x).filter(|&e| sub.events[e].kind.is_acquisition());
    let t = NodeIndex::new(t);
    let mut near = Vec::new();
    let mut far = Vec::new();

    // Breadth-first up the material flow, with parent pointers.
    let mut parent = vec![NodeIndex::end(); n];
    let mut seen = vec![false; n];
    seen[t.index()] = true;
    let mut queue = VecDeque::from([t]);
    let mut reached = Vec::new();
    while let Some(x) = queue.pop_front() {
        if let Some(e) = acquisition(x) {
            reached.push((x, e));
        }
        m.sorted(x, Towards::Incoming, &mut near);
        for &(up, _) in &near {
            if !seen[up.index()] {
                seen[up.index()] = true;
                parent[up.index()] = x;
                queue.push_back(up);
            }
        }
    }

    // Shares: the target's whole quantity handed up the graph from descendants to ancestors
    // (the reverse of a topological order), each specimen's to the inputs of its producing
    // event by their weights, until it reaches an acquisition (its node keeps what reaches
    // it) or a specimen with no producer (unaccounted). One pass over the edges.
    let order = petgraph::algo::toposort(&m.g, None).unwrap_or_default();
    let mut share = vec![Decimal::ZERO; n];
    share[t.index()] = Decimal::ONE;
    let mut unaccounted = Decimal::ZERO;
    for &x in order.iter().rev() {
        let w = share[x.index()];
        if m.event(x).is_some() || w.is_zero() {
            continue;
        }
        m.sorted(x, Towards::Incoming, &mut near);
        match near.first() {
            None => unaccounted += w,
            Some(&(e, _)) if acquisition(e).is_some() => share[e.index()] += w,
            Some(&(e, _)) => {
                m.sorted(e, Towards::Incoming, &mut far);
                if far.is_empty() {
                    unaccounted += w;
                }
                let amounts: Vec<(i64, Option<UnitCode>)> = far
                    .iter()
                    .map(|(i, q)| (*q, sub.units[i.index()]))
                    .collect();
                for ((i, _), wi) in far.iter().zip(input_weights(&amounts)) {
                    share[i.index()] += w * wi;
                }
            }
        }
    }

    let mut acquisitions: Vec<Reached> = reached
        .into_iter()
        .map(|(a, e)| {
            let mut path = vec![m.key(&sub, a)];
            let mut at = a;
            while parent[at.index()] != NodeIndex::end() {
                at = parent[at.index()];
                path.push(m.key(&sub, at));
            }
            let e = &sub.events[e];
            Reached {
                event: e.key.to_string(),
                kind: e.kind,
                at: e.at,
                share: rounded(share[a.index()]),
                path,
            }
        })
        .collect();
    acquisitions.sort_by(|a, b| b.share.cmp(&a.share).then_with(|| a.event.cmp(&b.event)));
    let (nodes, edges, documents, truncated) = answer(sub);
    Origin {
        specimen: target.to_owned(),
        nodes,
        edges,
        acquisitions,
        unaccounted_share: rounded(unaccounted),
        documents,
        truncated,
    }
}

/// Where specimens `starts` went (`from`: the specimen or the event a forward trace started
/// at). Its subgraph holds every event consuming a kept specimen, with all its inputs (those
/// the walk did not keep weigh in the event's split, but bring no share of the start) and
/// custody events on kept specimens.
pub(super) fn forward(from: &str, starts: &[usize], sub: Sub<'_>) -> Forward {
    let m = Material::build(&sub);
    let mut share = vec![Decimal::ZERO; m.g.node_count()];
    for &s in starts {
        share[s] = Decimal::ONE;
    }
    let (mut inside, mut outputs) = (Vec::new(), Vec::new());
    let order = petgraph::algo::toposort(&m.g, None).unwrap_or_default();
    for x in order {
        let Some(e) = m.event(x) else { continue };
        m.sorted(x, Towards::Incoming, &mut inside);
        // The flows are in event order: this event's inputs from outside the subgraph.
        let first = sub.flows.partition_point(|f| f.event < e);
        let outside = sub.flows[first..]
            .iter()
            .take_while(|f| f.event == e)
            .filter(|f| f.direction == Direction::In && f.specimen.is_none())
            .map(|f| (f.quantity_micro.unwrap_or(0), f.outside_unit));
        let amounts: Vec<(i64, Option<UnitCode>)> = inside
            .iter()
            .map(|(i, q)| (*q, sub.units[i.index()]))
            .chain(outside)
            .collect();
        let derived: Decimal = inside
            .iter()
            .zip(input_weights(&amounts))
            .map(|((i, _), w)| w * share[i.index()])
            .sum();
        m.sorted(x, Towards::Outgoing, &mut outputs);
        for &(o, _) in &outputs {
            share[o.index()] = share[o.index()].max(derived);
        }
    }
    // By depth, then key (the specimens are in key order).
    let mut descendants: Vec<(i64, String, Decimal)> = sub
        .specimens
        .iter()
        .enumerate()
        .filter(|(_, s)| s.key != from)
        .map(|(i, s)| (s.depth, s.key.to_string(), rounded(share[i])))
        .collect();
    descendants.sort_by_key(|d| d.0);
    let (nodes, edges, documents, truncated) = answer(sub);
    Forward {
        from: from.to_owned(),
        nodes,
        edges,
        descendants: descendants.into_iter().map(|(_, k, s)| (k, s)).collect(),
        documents,
        truncated,
    }
}

/// The answer's graph and documents: every kept specimen and event, the flows of kept
/// specimens (in key order: event, direction, specimen), the documents the events cite.
fn answer(sub: Sub<'_>) -> (Vec<Node>, Vec<QueryEdge>, Vec<DocumentView>, bool) {
    let edges = sub
        .flows
        .iter()
        .filter_map(|f| {
            let s = &sub.specimens[f.specimen?];
            let (specimen, event) = (s.key.to_string(), sub.events[f.event].key.to_string());
            let (from, to, kind) = match f.direction {
                Direction::Out => (event, specimen, "output"),
                Direction::In => (specimen, event, "input"),
                Direction::Subject => (specimen, event, "subject"),
            };
            Some(QueryEdge {
                from,
                to,
                kind,
                quantity: f.quantity_micro.map(from_micro),
                unit: f.quantity_micro.map(|_| s.unit.to_string()),
            })
        })
        .collect();
    let events = &sub.events;
    let documents = super::document_views(
        sub.documents
            .into_iter()
            .map(|(e, d)| (Some(events[e].key.to_string()), d)),
    );
    let mut nodes: Vec<Node> = sub
        .specimens
        .into_iter()
        .map(|s| Node::Specimen {
            key: s.key.into_owned(),
            taxon: s.taxon,
            term: s.term.into_owned(),
            quantity: from_micro(s.quantity_micro),
            unit: s.unit.into_owned(),
            source: s.source.into_owned(),
            depth: s.depth,
        })
        .collect();
    nodes.extend(sub.events.into_iter().map(|e| Node::Event {
        key: e.key.into_owned(),
        event: e.kind.as_str().to_owned(),
        at: e.at,
        country: e.country.map(|c| c.into_owned()),
        agent: e.agent.map(|a| a.into_owned()),
    }));
    (nodes, edges, documents, sub.truncated)
}
