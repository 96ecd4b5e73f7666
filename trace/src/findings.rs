//! The cheap invariants checked on ingest (conservation through splits, merges and
//! transforms, consumption within a specimen's quantity, time order, identifiers used once,
//! specimens with a producing event). A finding names its rule, severity, the nodes involved
//! and the numbers; it is stored with the batch and never refuses it: findings are indicators
//! for officers, not legal conclusions.

use std::collections::{BTreeMap, HashMap};

use domain::{Dimension, Timestamp, UnitCode, from_micro};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::EventKind;

/// How far above its inputs (times the declared yield, for a transform) an event's outputs
/// may go before conservation is reported: weighing scales and rounding on labels, not
/// inflation. One per cent.
pub const YIELD_TOLERANCE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Error]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One plausibility fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `conservation`, `conservation_unverifiable`, `consumption`, `time_order`,
    /// `identifier_reused` or `unrooted`.
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// The keys of the specimens and events involved.
    pub nodes: Vec<String>,
    /// The numbers the finding rests on, by name (exact decimals as text).
    pub numbers: BTreeMap<String, String>,
}

impl Finding {
    /// A finding of `rule` about `nodes`, with the numbers it rests on by name.
    pub(crate) fn new(
        rule: &str,
        severity: Severity,
        message: String,
        nodes: Vec<String>,
        numbers: &[(&str, String)],
    ) -> Finding {
        Finding {
            rule: rule.to_owned(),
            severity,
            message,
            nodes,
            numbers: numbers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }
}

/// An event of the batch as the checks see it (events declared erroneous are left out).
pub(crate) struct CheckedEvent<'a> {
    pub key: &'a str,
    pub kind: EventKind,
    pub at: Timestamp,
    pub inputs: Vec<(&'a str, i64)>,
    pub outputs: Vec<(&'a str, i64)>,
    pub subjects: Vec<&'a str>,
    pub yield_ratio: Option<Decimal>,
}

/// A specimen as the checks see it: its unit, quantity, when it was produced and what had
/// been consumed of it before this batch.
pub(crate) struct Facts {
    pub unit: UnitCode,
    pub quantity_micro: i64,
    pub produced_at: Option<Timestamp>,
    pub consumed_before: i64,
}

/// The checks over a batch. `identifiers` are `(scheme, value, specimen)` of the batch and of
/// the register for the same values; `unproduced` the batch's specimens no event produces.
pub(crate) fn check(
    events: &[CheckedEvent<'_>],
    facts: &HashMap<String, Facts>,
    identifiers: &[(String, String, String)],
    unproduced: &[&str],
) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in events {
        conservation(e, facts, &mut out);
        time_order(e, facts, &mut out);
    }
    consumption(events, facts, &mut out);
    reused_identifiers(identifiers, &mut out);
    for key in unproduced {
        out.push(Finding::new(
            "unrooted",
            Severity::Warning,
            format!("specimen {key} has no producing event: its origin cannot be traced"),
            vec![(*key).to_owned()],
            &[],
        ));
    }
    out
}

/// Σ of flows in their dimension's base unit, or `None` when they mix dimensions.
fn in_base(flows: &[(&str, i64)], facts: &HashMap<String, Facts>) -> Option<(Dimension, Decimal)> {
    let mut dimension = None;
    let mut total = Decimal::ZERO;
    for (key, m) in flows {
        let unit = facts.get(*key)?.unit;
        match dimension {
            None => dimension = Some(unit.dimension()),
            Some(d) if d != unit.dimension() => return None,
            Some(_) => {}
        }
        total += from_micro(*m) * unit.unit().factor_to_base();
    }
    dimension.map(|d| (d, total))
}

fn conservation(e: &CheckedEvent<'_>, facts: &HashMap<String, Facts>, out: &mut Vec<Finding>) {
    if !matches!(
        e.kind,
        EventKind::Split | EventKind::Merge | EventKind::Transform | EventKind::Relabel
    ) {
        return;
    }
    let mut nodes: Vec<String> = vec![e.key.to_owned()];
    nodes.extend(
        e.inputs
            .iter()
            .chain(&e.outputs)
            .map(|(k, _)| (*k).to_owned()),
    );
    match (in_base(&e.inputs, facts), in_base(&e.outputs, facts)) {
        (Some((din, input)), Some((dout, output))) if din == dout => {
            let ratio = e.yield_ratio.unwrap_or(Decimal::ONE);
            let limit = input * ratio * (Decimal::ONE + YIELD_TOLERANCE);
            if output > limit {
                let base = din.base_code();
                out.push(Finding::new(
                    "conservation",
                    Severity::Error,
                    format!(
                        "{} {} produced {} {base} from {} {base}: more than the inputs allow \
                         (times a yield of {ratio}, with {}% tolerance: at most {} {base})",
                        e.kind.as_str(),
                        e.key,
                        output.normalize(),
                        input.normalize(),
                        YIELD_TOLERANCE * Decimal::ONE_HUNDRED,
                        limit.normalize()
                    ),
                    nodes,
                    &[
                        ("inputs", input.normalize().to_string()),
                        ("outputs", output.normalize().to_string()),
                        ("yield", ratio.to_string()),
                        ("limit", limit.normalize().to_string()),
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
                "{} {}: inputs and outputs are measured in units that do not convert into each \
                 other; conservation cannot be checked",
                e.kind.as_str(),
                e.key
            ),
            nodes,
            &[],
        )),
    }
}

fn time_order(e: &CheckedEvent<'_>, facts: &HashMap<String, Facts>, out: &mut Vec<Finding>) {
    let used = e
        .inputs
        .iter()
        .map(|(k, _)| *k)
        .chain(e.subjects.iter().copied());
    for key in used {
        if let Some(produced) = facts.get(key).and_then(|f| f.produced_at)
            && produced > e.at
        {
            out.push(Finding::new(
                "time_order",
                Severity::Error,
                format!(
                    "{} {} at {} uses specimen {key} before it came into being at {produced}",
                    e.kind.as_str(),
                    e.key,
                    e.at
                ),
                vec![e.key.to_owned(), key.to_owned()],
                &[
                    ("event_at", e.at.to_rfc3339()),
                    ("produced_at", produced.to_rfc3339()),
                ],
            ));
        }
    }
}

fn consumption(
    events: &[CheckedEvent<'_>],
    facts: &HashMap<String, Facts>,
    out: &mut Vec<Finding>,
) {
    let mut used: BTreeMap<&str, (i64, Vec<String>)> = BTreeMap::new();
    for e in events {
        for (key, m) in &e.inputs {
            let entry = used.entry(key).or_default();
            entry.0 = entry.0.saturating_add(*m);
            entry.1.push(e.key.to_owned());
        }
    }
    for (key, (batch, users)) in used {
        let Some(f) = facts.get(key) else { continue };
        let total = f.consumed_before.saturating_add(batch);
        if total > f.quantity_micro {
            let mut nodes = vec![key.to_owned()];
            nodes.extend(users);
            out.push(Finding::new(
                "consumption",
                Severity::Error,
                format!(
                    "specimen {key} is consumed for {} {} in all, more than its {} {}",
                    from_micro(total),
                    f.unit.code(),
                    from_micro(f.quantity_micro),
                    f.unit.code()
                ),
                nodes,
                &[
                    ("consumed", from_micro(total).to_string()),
                    ("quantity", from_micro(f.quantity_micro).to_string()),
                    ("unit", f.unit.code().to_owned()),
                ],
            ));
        }
    }
}

fn reused_identifiers(identifiers: &[(String, String, String)], out: &mut Vec<Finding>) {
    let mut by_id: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for (scheme, value, specimen) in identifiers {
        let v = by_id.entry((scheme, value)).or_default();
        if !v.contains(&specimen.as_str()) {
            v.push(specimen);
        }
    }
    for ((scheme, value), specimens) in by_id {
        if specimens.len() > 1 {
            out.push(Finding::new(
                "identifier_reused",
                Severity::Error,
                format!(
                    "{scheme} {value} identifies {} specimens ({}); an identifier is used once \
                     (a new one is attached by a relabel)",
                    specimens.len(),
                    specimens.join(", ")
                ),
                specimens.iter().map(|s| (*s).to_owned()).collect(),
                &[("specimens", specimens.len().to_string())],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::{TimeZone, Utc};

    fn facts(entries: &[(&str, &str, i64)]) -> HashMap<String, Facts> {
        entries
            .iter()
            .map(|(k, unit, m)| {
                (
                    (*k).to_owned(),
                    Facts {
                        unit: UnitCode::parse(unit).unwrap(),
                        quantity_micro: *m,
                        produced_at: None,
                        consumed_before: 0,
                    },
                )
            })
            .collect()
    }

    fn transform<'a>(
        inputs: Vec<(&'a str, i64)>,
        outputs: Vec<(&'a str, i64)>,
        yield_ratio: Option<&str>,
    ) -> CheckedEvent<'a> {
        CheckedEvent {
            key: "t",
            kind: EventKind::Transform,
            at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().unwrap(),
            inputs,
            outputs,
            subjects: vec![],
            yield_ratio: yield_ratio.map(|y| y.parse().unwrap()),
        }
    }

    #[test]
    fn a_transform_may_produce_its_yield_plus_the_tolerance_and_no_more() {
        let f = facts(&[
            ("fish", "KGM", 120_000_000),
            ("caviar", "GRM", 12_120_000_000),
        ]);
        // 12.12 kg of caviar from 120 kg at a yield of 0.1: within 1 %.
        let ok = transform(
            vec![("fish", 120_000_000)],
            vec![("caviar", 12_120_000_000)],
            Some("0.1"),
        );
        assert_eq!(check(&[ok], &f, &[], &[]), vec![]);
        let over = transform(
            vec![("fish", 120_000_000)],
            vec![("caviar", 12_130_000_000)],
            Some("0.1"),
        );
        let found = check(&[over], &f, &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "conservation");
        assert_eq!(found[0].numbers["limit"], "12.12");
        assert_eq!(found[0].numbers["outputs"], "12.13");
        assert_eq!(found[0].numbers["unit"], "KGM");
    }

    #[test]
    fn units_that_do_not_convert_make_conservation_unverifiable_never_a_silent_pass() {
        let f = facts(&[("skin", "NAR", 1_000_000), ("leather", "KGM", 2_000_000)]);
        let t = transform(
            vec![("skin", 1_000_000)],
            vec![("leather", 2_000_000)],
            None,
        );
        let found = check(&[t], &f, &[], &[]);
        assert_eq!(
            found
                .iter()
                .map(|x| (x.rule.as_str(), x.severity))
                .collect::<Vec<_>>(),
            [("conservation_unverifiable", Severity::Info)]
        );
    }
}
