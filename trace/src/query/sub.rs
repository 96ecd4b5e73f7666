//! The subgraph a trace fetched, read from [`super::sql::trace`]'s answer: its rows borrowed
//! from the answer's JSON text where they can be, and every flow pointing at its specimen and
//! event by index, so that the analysis compares integers, not keys.
//!
//! Specimens and events are each held in key order, so an index order is a key order: an
//! answer built from indices is the one built from keys.

use std::borrow::Cow;

use chrono::NaiveDate;
use domain::{Timestamp, UnitCode};
use serde::Deserialize;

use super::Limits;
use crate::error::{Error, Result};
use crate::model::EventKind;
use crate::store::DocumentRow;

/// A kept specimen: the row of `specimens` in [`super::sql::trace`]'s answer.
#[derive(Deserialize)]
pub(super) struct Specimen<'a> {
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    pub taxon: i64,
    #[serde(borrow)]
    pub term: Cow<'a, str>,
    pub quantity_micro: i64,
    #[serde(borrow)]
    pub unit: Cow<'a, str>,
    #[serde(borrow)]
    pub source: Cow<'a, str>,
    /// Steps of material flow from where the query started.
    pub depth: i64,
}

/// How a flow joins its specimen to its event (`trace_flows.direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Direction {
    In,
    Out,
    Subject,
}

/// A row of `flows`: event, specimen, direction, quantity, and the unit of a specimen the
/// walk did not keep (a forward trace's other inputs).
#[derive(Deserialize)]
struct FlowRow<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow)]
    specimen: Cow<'a, str>,
    direction: Direction,
    quantity_micro: Option<i64>,
    #[serde(borrow)]
    unit: Option<Cow<'a, str>>,
}

/// A row of `events`.
#[derive(Deserialize)]
struct EventRow<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    at: Timestamp,
    #[serde(borrow)]
    country: Option<Cow<'a, str>>,
    #[serde(borrow)]
    agent: Option<Cow<'a, str>>,
}

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
    /// The unit the quantity is in: its specimen's.
    pub unit: Option<UnitCode>,
}

/// A row of `documents`: [`crate::store::DOCUMENT_COLUMNS`] and the event citing it.
type DocumentJson = (
    String,
    String,
    String,
    i64,
    String,
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
);

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

/// One part of [`super::sql::trace`]'s answer, its rows as a JSON array of arrays.
fn rows<'a, T: Deserialize<'a>>(json: &'a str, part: &str) -> Result<Vec<T>> {
    serde_json::from_str(json).map_err(|e| Error::Corrupt(format!("the trace's {part}: {e}")))
}

fn position<T>(sorted: &[T], key: &str, key_of: impl Fn(&T) -> &str) -> Option<usize> {
    sorted.binary_search_by(|x| key_of(x).cmp(key)).ok()
}

impl<'a> Sub<'a> {
    /// Reads the statement's four parts. Of the specimens' flows, an origin (`backward`)
    /// keeps an input only into an event producing a kept specimen, a forward trace an output
    /// only of an event consuming one: the others lead away from the trace (a split's siblings,
    /// a seed's own producer).
    pub fn read(parts: &'a super::Parts, backward: bool, limits: Limits) -> Result<Sub<'a>> {
        let (specimens, truncated) = kept_specimens(rows(&parts.0, "specimens")?, limits);
        let units: Vec<Option<UnitCode>> = specimens
            .iter()
            .map(|s| UnitCode::parse(&s.unit).ok())
            .collect();
        let specimen_of = |key: &str| position(&specimens, key, |s| &s.key);
        let mut flow_rows: Vec<FlowRow<'a>> = rows(&parts.1, "flows")?;
        let mut event_rows: Vec<EventRow<'a>> = rows(&parts.2, "events")?;
        event_rows.sort_unstable_by(|a, b| a.key.cmp(&b.key));
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
            let event = position(&event_rows, &f.event, |e| &e.key);
            let specimen = specimen_of(&f.specimen);
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
        let flows: Vec<Flow> = kept
            .into_iter()
            .map(|(i, e)| {
                let f = &mut flow_rows[i];
                let specimen = found[i].1;
                let unit = match specimen {
                    Some(s) => units[s],
                    None => f.unit.take().and_then(|u| UnitCode::parse(&u).ok()),
                };
                Flow {
                    event: renumber[e],
                    specimen,
                    direction: f.direction,
                    quantity_micro: f.quantity_micro,
                    unit,
                }
            })
            .collect();
        let documents = documents_of(rows(&parts.3, "documents")?, &events);
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
        position(&self.specimens, key, |s| &s.key)
    }
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
fn documents_of(rows: Vec<DocumentJson>, events: &[Event<'_>]) -> Vec<(usize, DocumentRow)> {
    let mut documents: Vec<(usize, DocumentRow)> = rows
        .into_iter()
        .filter_map(|r| {
            let event = position(events, &r.13, |e| &e.key)?;
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
