//! The subgraph a trace fetched, made from the rows of [`super::sql::trace`]'s answer
//! ([`super::answer`]): every flow pointing at its specimen and event by index, so that the
//! analysis compares integers, not keys.
//!
//! Specimens and events are each held in key order, so an index order is a key order: an
//! answer built from indices is the one built from keys.

use std::borrow::Cow;
use std::collections::HashMap;

use domain::{Timestamp, UnitCode};

use super::Limits;
use super::answer::{CitedDocument, EventRow, FlowRow, Rows};
pub(super) use super::answer::{Direction, Specimen};
use crate::error::{Error, Result};
use crate::model::EventKind;
use crate::store::DocumentRow;

/// A kept event.
pub(super) struct Event<'a> {
    pub key: Cow<'a, str>,
    pub kind: EventKind,
    pub at: Timestamp,
    pub country: Option<Cow<'a, str>>,
    pub agent: Option<Cow<'a, str>>,
}

/// A kept flow.
pub(super) struct Flow {
    /// Index into [`Sub::events`].
    pub event: usize,
    /// Index into [`Sub::specimens`]; `None` for an input the walk did not keep (a forward
    /// trace's other inputs, which weigh in their event's split).
    pub specimen: Option<usize>,
    pub direction: Direction,
    pub quantity_micro: Option<i64>,
    /// The unit of an input the walk did not keep (a kept specimen's is in
    /// [`Sub::units`]).
    pub outside_unit: Option<UnitCode>,
}

/// The subgraph a query fetched.
pub(super) struct Sub<'a> {
    /// Within the limits, by key.
    pub specimens: Vec<Specimen<'a>>,
    /// Each specimen's unit, parsed (by specimen index).
    pub units: Vec<Option<UnitCode>>,
    /// The events of the kept flows, by key.
    pub events: Vec<Event<'a>>,
    /// In key order: event, direction, specimen.
    pub flows: Vec<Flow>,
    /// The kept events' documents, one row per revision and citing event (index into
    /// `events`): by document key, latest revision first, then by event.
    pub documents: Vec<(usize, DocumentRow)>,
    /// Whether the limits cut the walk short.
    pub truncated: bool,
}

/// Each key's index.
fn index_of<'k, T>(items: &'k [T], key_of: impl Fn(&'k T) -> &'k str) -> HashMap<&'k str, usize> {
    items
        .iter()
        .enumerate()
        .map(|(i, x)| (key_of(x), i))
        .collect()
}

impl<'a> Sub<'a> {
    /// Reads the statement's four parts: the specimens within `limits`, the flows an origin
    /// (`backward`) or a forward trace reads ([`kept_flows`]) with their events, and those
    /// events' documents.
    pub fn read(rows: Rows<'a>, backward: bool, limits: Limits) -> Result<Sub<'a>> {
        let (specimens, truncated) = kept_specimens(rows.specimens, limits);
        let units: Vec<Option<UnitCode>> = specimens
            .iter()
            .map(|s| UnitCode::parse(&s.unit).ok())
            .collect();
        let (events, flows) = kept_flows(&specimens, rows.flows, rows.events, backward)?;
        let documents = documents_of(rows.documents, &events);
        Ok(Sub {
            specimens,
            units,
            events,
            flows,
            documents,
            truncated,
        })
    }

    /// A specimen's index by key.
    pub fn specimen(&self, key: &str) -> Option<usize> {
        self.specimens
            .binary_search_by(|s| s.key.as_ref().cmp(key))
            .ok()
    }
}

/// The flows an analysis reads, with their events (both in key order). Of the specimens'
/// flows, an origin (`backward`) keeps an input only into an event producing a kept specimen,
/// a forward trace an output only of an event consuming one: the others lead away from the
/// trace (a split's siblings, a seed's own producer).
fn kept_flows<'a>(
    specimens: &[Specimen<'a>],
    mut flow_rows: Vec<FlowRow<'a>>,
    mut event_rows: Vec<EventRow<'a>>,
    backward: bool,
) -> Result<(Vec<Event<'a>>, Vec<Flow>)> {
    let specimen_index = index_of(specimens, |s| &s.key);
    event_rows.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    let event_index = index_of(&event_rows, |e| &e.key);
    // The events through which the trace goes on: those producing a kept specimen (an
    // origin) or consuming one (a forward trace).
    let onward = if backward {
        Direction::Out
    } else {
        Direction::In
    };
    let mut through = vec![false; event_rows.len()];
    let mut found: Vec<(Option<usize>, Option<usize>)> = Vec::with_capacity(flow_rows.len());
    for f in &flow_rows {
        let event = event_index.get(f.event.as_ref()).copied();
        let specimen = specimen_index.get(f.specimen.as_ref()).copied();
        if let (Some(e), Some(_), true) = (event, specimen, f.direction == onward) {
            through[e] = true;
        }
        found.push((event, specimen));
    }
    let mut kept_event = vec![false; event_rows.len()];
    let mut kept: Vec<(usize, usize)> = Vec::with_capacity(flow_rows.len());
    for (i, (f, (event, _))) in flow_rows.iter().zip(&found).enumerate() {
        let Some(e) = *event else {
            return Err(Error::Corrupt(format!("event {} of a flow", f.event)));
        };
        if f.direction == Direction::Subject || f.direction == onward || through[e] {
            kept_event[e] = true;
            kept.push((i, e));
        }
    }
    // Kept events renumbered in key order.
    let mut renumber = vec![usize::MAX; event_rows.len()];
    let mut events = Vec::new();
    for (i, row) in event_rows.into_iter().enumerate() {
        if !kept_event[i] {
            continue;
        }
        let kind = EventKind::parse(&row.kind)
            .ok_or_else(|| Error::Corrupt(format!("kind of event {}", row.key)))?;
        renumber[i] = events.len();
        events.push(Event {
            key: row.key,
            kind,
            at: row.at,
            country: row.country,
            agent: row.agent,
        });
    }
    // In key order: event, direction, specimen.
    kept.sort_unstable_by(|&(i, e), &(j, f)| {
        (
            renumber[e],
            flow_rows[i].direction as u8,
            &flow_rows[i].specimen,
        )
            .cmp(&(
                renumber[f],
                flow_rows[j].direction as u8,
                &flow_rows[j].specimen,
            ))
    });
    let flows = kept
        .into_iter()
        .map(|(i, e)| {
            let f = &mut flow_rows[i];
            let specimen = found[i].1;
            let outside_unit = match specimen {
                Some(_) => None,
                None => f.unit.take().and_then(|u| UnitCode::parse(&u).ok()),
            };
            Flow {
                event: renumber[e],
                specimen,
                direction: f.direction,
                quantity_micro: f.quantity_micro,
                outside_unit,
            }
        })
        .collect();
    Ok((events, flows))
}

/// The specimens within `limits`, by key, and whether the limits cut the walk short (the
/// statement reads one more of each): the nearest are kept, then by key.
fn kept_specimens(mut rows: Vec<Specimen<'_>>, limits: Limits) -> (Vec<Specimen<'_>>, bool) {
    rows.sort_unstable_by(|a, b| (a.depth, &a.key).cmp(&(b.depth, &b.key)));
    let depth = i64::from(limits.depth);
    let within = rows
        .iter()
        .take(limits.nodes)
        .take_while(|s| s.depth <= depth)
        .count();
    let truncated = within < rows.len();
    rows.truncate(within);
    rows.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    (rows, truncated)
}

/// The documents of the kept events, each document's latest revision first, then by event.
fn documents_of(rows: Vec<CitedDocument>, events: &[Event<'_>]) -> Vec<(usize, DocumentRow)> {
    let events = index_of(events, |e| &e.key);
    let mut documents: Vec<(usize, DocumentRow)> = rows
        .into_iter()
        .filter_map(|r| {
            let event = *events.get(r.event.as_str())?;
            let d = DocumentRow {
                country: r.country,
                doc_type: r.doc_type,
                number: r.number,
                revision: r.revision,
                status: r.status,
                issued_on: r.issued_on,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                taxon: r.taxon,
                unit: r.unit,
                permitted_micro: r.permitted_micro,
                actual_micro: r.actual_micro,
                issuer: r.issuer,
            };
            Some((event, d))
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
