//! The anomaly scans over the whole graph (trace-notes 6.3): breeding plausibility per
//! operation and taxon, re-exports exceeding imports per origin document, and source codes
//! implausible for the event that produced a specimen, for its ancestry or for its taxon.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use domain::{CountryCode, Dimension, SourceCode};
use petgraph::Direction;
use petgraph::visit::EdgeRef;
use rust_decimal::Decimal;

use super::invariants::{flows, producers, total};
use super::load::{Dir, Loaded};
use super::{TaxonFacts, in_base, text};
use crate::config::TraceConfig;
use crate::findings::{Finding, Severity};
use crate::model::{DocType, EventKind};

pub(super) fn scan(
    l: &Loaded,
    config: &TraceConfig,
    taxa: &HashMap<i64, TaxonFacts>,
    out: &mut Vec<Finding>,
) {
    // The producers again (their findings were given by the invariants).
    let producer = producers(l, &mut Vec::new());
    breeding(l, config, taxa, &producer, out);
    re_exports(l, &producer, out);
    source_codes(l, taxa, out);
}

/// The source codes a specimen produced by an acquisition of this kind may carry.
fn sources_of(kind: EventKind) -> &'static [&'static str] {
    match kind {
        EventKind::WildHarvest => &["W", "X"],
        EventKind::CaptiveBirth => &["C", "D", "F"],
        EventKind::ArtificialPropagation => &["A", "Y"],
        EventKind::Ranching => &["R"],
        EventKind::PreConvention => &["O"],
        EventKind::Confiscation => &["I"],
        _ => &[],
    }
}

fn source_codes(l: &Loaded, taxa: &HashMap<i64, TaxonFacts>, out: &mut Vec<Finding>) {
    for j in 0..l.events.len() as u32 {
        let e = &l.ev[j as usize];
        let key = l.events.get(j);
        let outputs = flows(l, j, Dir::Out);
        let accepted: Vec<SourceCode> = if e.kind.is_acquisition() {
            sources_of(e.kind)
                .iter()
                .filter_map(|c| SourceCode::parse(c).ok())
                .collect()
        } else {
            flows(l, j, Dir::In)
                .iter()
                .map(|(i, _)| l.spec[*i as usize].source)
                .collect()
        };
        if accepted.is_empty() {
            continue;
        }
        for (i, _) in outputs {
            let s = l.spec[i as usize].source;
            if !accepted.contains(&s) {
                let mut codes: Vec<&str> = accepted.iter().map(|c| c.code()).collect();
                codes.sort_unstable();
                codes.dedup();
                let why = if e.kind.is_acquisition() {
                    format!("a {} gives {}", e.kind.as_str(), codes.join(" or "))
                } else {
                    format!("its inputs are {}", codes.join(", "))
                };
                out.push(Finding::new(
                    "source_code",
                    Severity::Error,
                    format!(
                        "specimen {} has source {s} from {} {key}, but {why}",
                        l.specimens.get(i),
                        e.kind.as_str()
                    ),
                    vec![key.to_owned(), l.specimens.get(i).to_owned()],
                    &[
                        ("source", s.code().to_owned()),
                        ("accepted", codes.join(",")),
                    ],
                ));
            }
        }
    }
    let mut unknown: BTreeSet<i64> = BTreeSet::new();
    for i in 0..l.specimens.len() as u32 {
        let s = &l.spec[i as usize];
        match taxa.get(&s.taxon).map(|f| f.kingdom) {
            None => {
                unknown.insert(s.taxon);
            }
            Some(Some(k)) if !s.source.valid_for(k) => out.push(Finding::new(
                "source_code_taxon",
                Severity::Error,
                format!(
                    "specimen {} has source {}, which is not used for {} (taxon {})",
                    l.specimens.get(i),
                    s.source,
                    k.as_str(),
                    s.taxon
                ),
                vec![l.specimens.get(i).to_owned()],
                &[
                    ("source", s.source.code().to_owned()),
                    ("kingdom", k.as_str().to_owned()),
                    ("taxon", s.taxon.to_string()),
                ],
            )),
            Some(_) => {}
        }
    }
    for taxon in unknown {
        out.push(Finding::new(
            "taxon_unknown",
            Severity::Info,
            format!(
                "taxon {taxon} is not in the catalogue: its source codes and breeding figures \
                 cannot be checked"
            ),
            Vec::new(),
            &[("taxon", taxon.to_string())],
        ));
    }
}

/// Young of one operation and taxon in one year, from how many parents, by which births.
#[derive(Default)]
struct Season {
    young: Decimal,
    parents: BTreeSet<u32>,
    births: Vec<u32>,
}

/// Seasons of breeding: one operation's young of one taxon in one year.
type Seasons = BTreeMap<(Option<u32>, i64, i32), Season>;

fn breeding(
    l: &Loaded,
    config: &TraceConfig,
    taxa: &HashMap<i64, TaxonFacts>,
    producer: &[Option<u32>],
    out: &mut Vec<Finding>,
) {
    let mut seasons: Seasons = BTreeMap::new();
    for j in 0..l.events.len() as u32 {
        birth(l, config, taxa, producer, j, &mut seasons, out);
    }
    by_season(l, config, taxa, seasons, out);
}

/// One captive birth against the breeding table: its clutch, its parents named and of age;
/// its young counted into the season of its operation.
fn birth(
    l: &Loaded,
    config: &TraceConfig,
    taxa: &HashMap<i64, TaxonFacts>,
    producer: &[Option<u32>],
    j: u32,
    seasons: &mut Seasons,
    out: &mut Vec<Finding>,
) {
    let none = Vec::new();
    let grow = Decimal::ONE + config.breeding_tolerance;
    let e = &l.ev[j as usize];
    if e.kind != EventKind::CaptiveBirth {
        return;
    }
    let key = l.events.get(j);
    let young = flows(l, j, Dir::Out);
    let parents = flows(l, j, Dir::Subject);
    let Some(&(first, _)) = young.first() else {
        return;
    };
    let taxon = l.spec[first as usize].taxon;
    let lineage = taxa.get(&taxon).map_or(&none, |f| &f.lineage);
    let Some(entry) = config.breeding_of(taxon, lineage) else {
        out.push(Finding::new(
            "breeding_unverifiable",
            Severity::Info,
            format!(
                "captive birth {key}: the breeding table has no figures for taxon {taxon} \
                 ({}): its clutch cannot be checked",
                if lineage.is_empty() {
                    "not in the catalogue".to_owned()
                } else {
                    lineage.join(", ")
                }
            ),
            vec![key.to_owned()],
            &[("taxon", taxon.to_string())],
        ));
        return;
    };
    let count = match total(l, &young) {
        Some((Dimension::Count, n)) => n,
        _ => {
            out.push(Finding::new(
                "breeding_unverifiable",
                Severity::Info,
                format!("captive birth {key}: its young are not counted in number of specimens"),
                vec![key.to_owned()],
                &[],
            ));
            return;
        }
    };
    let mut nodes = vec![key.to_owned()];
    nodes.extend(parents.iter().map(|(i, _)| l.specimens.get(*i).to_owned()));
    if parents.is_empty() {
        out.push(Finding::new(
            "breeding_founders_unknown",
            Severity::Warning,
            format!(
                "captive birth {key} names no parents: the breeding stock cannot be shown \
                 legally acquired (Res. Conf. 10.16)"
            ),
            nodes.clone(),
            &[],
        ));
    }
    let females = Decimal::from((parents.len() / 2).max(1));
    let limit = Decimal::from(entry.clutch_size_max) * females * grow;
    if count > limit {
        out.push(Finding::new(
            "breeding_clutch_size",
            Severity::Error,
            format!(
                "captive birth {key} gave {} young from {} parent(s): one clutch or litter of \
                 {} is at most {} ({} per female)",
                text(count),
                parents.len(),
                entry.taxon,
                text(limit),
                entry.clutch_size_max
            ),
            nodes.clone(),
            &[
                ("young", text(count)),
                ("parents", parents.len().to_string()),
                ("clutch_size_max", entry.clutch_size_max.to_string()),
                ("limit", text(limit)),
            ],
        ));
    }
    for (p, _) in &parents {
        // Only a parent born in captivity has a known age: a wild-caught or confiscated
        // founder's acquisition says nothing of when it hatched.
        let Some(born) = producer[*p as usize]
            .map(|b| &l.ev[b as usize])
            .filter(|b| b.kind == EventKind::CaptiveBirth)
            .map(|b| b.at)
        else {
            continue;
        };
        let age = (e.at - born).num_days();
        if age < i64::from(entry.first_breeding_age_days) {
            let pk = l.specimens.get(*p);
            out.push(Finding::new(
                "breeding_parent_immature",
                Severity::Error,
                format!(
                    "captive birth {key}: parent {pk} was {age} days old; {} breed from {} \
                     days",
                    entry.taxon, entry.first_breeding_age_days
                ),
                vec![key.to_owned(), pk.to_owned()],
                &[
                    ("age_days", age.to_string()),
                    (
                        "first_breeding_age_days",
                        entry.first_breeding_age_days.to_string(),
                    ),
                ],
            ));
        }
    }
    use chrono::Datelike;
    let season = seasons.entry((e.agent, taxon, e.at.year())).or_default();
    season.young += count;
    season.parents.extend(parents.iter().map(|(i, _)| *i));
    season.births.push(j);
}

/// Each operation's young of a taxon in a year against its parents' capacity.
fn by_season(
    l: &Loaded,
    config: &TraceConfig,
    taxa: &HashMap<i64, TaxonFacts>,
    seasons: Seasons,
    out: &mut Vec<Finding>,
) {
    let none = Vec::new();
    let grow = Decimal::ONE + config.breeding_tolerance;
    for ((agent, taxon, year), s) in seasons {
        let lineage = taxa.get(&taxon).map_or(&none, |f| &f.lineage);
        let Some(entry) = config.breeding_of(taxon, lineage) else {
            continue;
        };
        let females = Decimal::from((s.parents.len() / 2).max(1));
        let limit = Decimal::from(entry.clutch_size_max)
            * Decimal::from(entry.clutches_per_year_max)
            * females
            * grow;
        if s.young > limit {
            let operation = agent.map_or("an unnamed operation", |a| l.agents[a as usize].as_str());
            let mut nodes: Vec<String> = s
                .births
                .iter()
                .map(|j| l.events.get(*j).to_owned())
                .collect();
            nodes.extend(s.parents.iter().map(|i| l.specimens.get(*i).to_owned()));
            out.push(Finding::new(
                "breeding_output",
                Severity::Error,
                format!(
                    "{operation} bred {} young of taxon {taxon} in {year} from {} parent(s): at \
                     most {} ({} per clutch, {} clutches a year per female, {})",
                    text(s.young),
                    s.parents.len(),
                    text(limit),
                    entry.clutch_size_max,
                    entry.clutches_per_year_max,
                    entry.taxon
                ),
                nodes,
                &[
                    ("young", text(s.young)),
                    ("parents", s.parents.len().to_string()),
                    ("limit", text(limit)),
                    ("year", year.to_string()),
                ],
            ));
        }
    }
}

/// Documents of the origin types (an export permit, an earlier re-export certificate) cited by
/// event `j` and issued outside `country`.
fn foreign_origin_docs(l: &Loaded, j: u32, country: Option<CountryCode>) -> Vec<u32> {
    l.docs_of(j)
        .iter()
        .map(|(_, d)| *d)
        .filter(|d| {
            let doc = &l.docs[*d as usize];
            matches!(
                doc.doc_type,
                DocType::ExportPermit | DocType::ReExportCertificate
            ) && country.is_none_or(|c| c != doc.country)
        })
        .collect()
}

/// The origin documents of what a re-export ships: going up its material ancestry (an
/// iterative walk) to the specimens imported into the re-exporting country, the foreign
/// permit each import cites, or else the one the specimen was exported under.
fn imported_under(
    l: &Loaded,
    producer: &[Option<u32>],
    start: &[(u32, i64)],
    country: Option<CountryCode>,
    before: domain::Timestamp,
) -> BTreeSet<u32> {
    let mut found = BTreeSet::new();
    let mut seen: HashSet<u32> = HashSet::new();
    let mut stack: Vec<u32> = start.iter().map(|(i, _)| *i).collect();
    while let Some(s) = stack.pop() {
        if !seen.insert(s) {
            continue;
        }
        let concerning: Vec<u32> =
            l.g.edges_directed(l.spec_node(s), Direction::Outgoing)
                .filter(|e| e.weight().dir == Dir::Subject)
                .filter_map(|e| l.event_of(e.target()))
                .collect();
        let imports: Vec<u32> = concerning
            .iter()
            .copied()
            .filter(|j| {
                let e = &l.ev[*j as usize];
                e.kind == EventKind::Import
                    && e.at <= before
                    && (e.country.is_none() || country.is_none() || e.country == country)
            })
            .collect();
        if !imports.is_empty() {
            for i in imports {
                let at = l.ev[i as usize].at;
                let mut docs = foreign_origin_docs(l, i, l.ev[i as usize].country);
                if docs.is_empty() {
                    for x in &concerning {
                        let e = &l.ev[*x as usize];
                        if matches!(e.kind, EventKind::Export | EventKind::ReExport) && e.at <= at {
                            docs.extend(foreign_origin_docs(l, *x, l.ev[i as usize].country));
                        }
                    }
                }
                found.extend(docs);
            }
            continue;
        }
        if let Some(p) = producer[s as usize] {
            stack.extend(flows(l, p, Dir::In).iter().map(|(i, _)| *i));
        }
    }
    found
}

/// Per origin document: what re-exports drew on it (base unit), by which events, and whether
/// some of it could not be measured.
type Drawn = BTreeMap<u32, (Option<Dimension>, Decimal, Vec<u32>, bool)>;

fn re_exports(l: &Loaded, producer: &[Option<u32>], out: &mut Vec<Finding>) {
    let mut drawn: Drawn = BTreeMap::new();
    for j in 0..l.events.len() as u32 {
        let e = &l.ev[j as usize];
        if e.kind != EventKind::ReExport {
            continue;
        }
        let key = l.events.get(j);
        let subjects = flows(l, j, Dir::Subject);
        let mut origin: BTreeSet<u32> = foreign_origin_docs(l, j, e.country).into_iter().collect();
        if origin.is_empty() {
            origin = imported_under(l, producer, &subjects, e.country, e.at);
        }
        let Some(&d) = origin.first() else {
            out.push(Finding::new(
                "re_export_origin_unknown",
                Severity::Warning,
                format!(
                    "re-export {key} cites no origin permit and what it ships was not imported \
                     under one: it cannot be matched to an import (Res. Conf. 12.3, box 12)"
                ),
                vec![key.to_owned()],
                &[],
            ));
            continue;
        };
        if origin.len() > 1 {
            let mut nodes = vec![key.to_owned()];
            nodes.extend(origin.iter().map(|d| l.docs[*d as usize].key()));
            out.push(Finding::new(
                "re_export_balance_unverifiable",
                Severity::Info,
                format!(
                    "re-export {key} draws on {} origin documents: its quantity cannot be split \
                     between them",
                    origin.len()
                ),
                nodes,
                &[],
            ));
            continue;
        }
        let entry = drawn
            .entry(d)
            .or_insert((None, Decimal::ZERO, Vec::new(), false));
        entry.2.push(j);
        for (i, q) in subjects {
            let (dim, v) = in_base(q, l.spec[i as usize].unit);
            match entry.0 {
                None => entry.0 = Some(dim),
                Some(x) if x != dim => entry.3 = true,
                Some(_) => {}
            }
            entry.1 += v;
        }
    }
    balances(l, drawn, out);
}

/// What re-exports drew on each origin document against what it covered.
fn balances(l: &Loaded, drawn: Drawn, out: &mut Vec<Finding>) {
    for (d, (dim, sum, events, mixed)) in drawn {
        let doc = &l.docs[d as usize];
        let mut nodes = vec![doc.key()];
        nodes.extend(events.iter().map(|j| l.events.get(*j).to_owned()));
        let imported = match (doc.actual.or(doc.permitted), doc.unit) {
            (Some(m), Some(u)) if !mixed && Some(u.dimension()) == dim => in_base(m, u).1,
            _ => {
                out.push(Finding::new(
                    "re_export_balance_unverifiable",
                    Severity::Info,
                    format!(
                        "{}: re-exports drew on it, but its quantity is not stated in a unit \
                         they convert into",
                        doc.key()
                    ),
                    nodes,
                    &[],
                ));
                continue;
            }
        };
        if sum > imported {
            let base = dim.map_or("", |d| d.base_code());
            out.push(Finding::new(
                "re_export_exceeds_import",
                Severity::Error,
                format!(
                    "{} re-export(s) shipped {} {base} under origin document {}, which covered \
                     {} {base}",
                    events.len(),
                    text(sum),
                    doc.key(),
                    text(imported)
                ),
                nodes,
                &[
                    ("re_exported", text(sum)),
                    ("imported", text(imported)),
                    ("unit", base.to_owned()),
                ],
            ));
        }
    }
}
