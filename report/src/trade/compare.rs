//! Each quota against the reported trade of its exporter, year and taxon, and the comparative
//! tabulation of a taxon. Exact decimals throughout: a quantity converts into the quota's
//! unit only when `domain` converts it exactly.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Datelike;
use domain::{Quantity, TaxonId};
use rust_decimal::Decimal;

use super::codes::Codes;
use super::{
    NotCompared, QuotaComparison, Reporter, Resolution, Resolve, Scan, Shipments, Tabulation,
    TabulationRow, TermTotal, TradeComparison, TradeFlag, TradeQuota, UnresolvedName, Verdict,
};

/// The source code of confiscated or seized specimens, which Species+'s compliance tool leaves
/// out of a quota's trade.
const CONFISCATED: &str = "I";

/// Compares the scanned shipments with every quota; with `tabulate`, tabulates that taxon.
pub fn compare_scan(
    scanned: Scan,
    names: &dyn Resolve,
    quotas: &[TradeQuota],
    tabulate: Option<TaxonId>,
) -> TradeComparison {
    let mut codes = Codes::default();
    // The groups of each (exporter, year, taxon counted for) a quota is for: a quota reads
    // only its own, and the groups no quota reads are not indexed (a whole download is
    // mostly those).
    let wanted: HashSet<(&str, i32, TaxonId)> = quotas
        .iter()
        .map(|q| (q.exporter.as_str(), q.period.start().year(), q.taxon_id))
        .collect();
    let mut index: HashMap<(&str, i32, TaxonId), Vec<&Shipments>> = HashMap::new();
    let mut unresolved: BTreeMap<&str, (u64, Vec<i32>)> = BTreeMap::new();
    let mut resolved: HashMap<&str, Option<&Resolution>> = HashMap::new();
    for g in &scanned.groups {
        match resolve_once(&mut resolved, names, &g.taxon) {
            Some(r) => {
                for t in &r.counts_for {
                    let key = (g.exporter.as_str(), g.year, *t);
                    if wanted.contains(&key) {
                        index.entry(key).or_default().push(g);
                    }
                }
            }
            None => unresolved_rows(&mut unresolved, &g.taxon, g.year, g.rows),
        }
    }
    for n in &scanned.set_apart {
        if resolve_once(&mut resolved, names, &n.taxon).is_none() {
            unresolved_rows(&mut unresolved, &n.taxon, n.year, n.rows);
        }
    }
    let compared = each_quota(quotas, &index);
    let tabulation = tabulate.map(|t| tabulation(&scanned.groups, names, t, &mut codes));
    TradeComparison {
        files: scanned.files,
        quotas: compared,
        unresolved: unresolved
            .into_iter()
            .map(|(name, (rows, mut years))| {
                years.sort_unstable();
                UnresolvedName {
                    name: name.to_owned(),
                    rows,
                    years,
                }
            })
            .collect(),
        malformed: scanned.malformed,
        malformed_total: scanned.malformed_total,
        tabulation,
    }
}

/// Quotas one thread compares at the least: below it, starting a thread costs more than it
/// saves.
const QUOTAS_PER_THREAD_MIN: usize = 1_000;

/// Every quota against its groups, in order: the quotas shared among the machine's cores
/// (each quota reads only its own groups; 33,600 quotas over 2.9 million groups took 2.3 s
/// on one thread, `benches/README.md`).
fn each_quota(
    quotas: &[TradeQuota],
    index: &HashMap<(&str, i32, TaxonId), Vec<&Shipments>>,
) -> Vec<QuotaComparison> {
    let compare = |chunk: &[TradeQuota]| {
        let mut codes = Codes::default();
        chunk
            .iter()
            .map(|q| {
                let year = q.period.start().year();
                let groups = index
                    .get(&(q.exporter.as_str(), year, q.taxon_id))
                    .map_or(&[][..], Vec::as_slice);
                one_quota(q, year, groups, &mut codes)
            })
            .collect::<Vec<_>>()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(quotas.len() / QUOTAS_PER_THREAD_MIN)
        .max(1);
    if threads == 1 {
        return compare(quotas);
    }
    let chunk = quotas.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let running: Vec<_> = quotas
            .chunks(chunk)
            .map(|c| scope.spawn(move || compare(c)))
            .collect();
        running
            .into_iter()
            .flat_map(|r| r.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// A reported name's resolution, looked up once (a name is reported in many groups).
fn resolve_once<'s, 'n>(
    resolved: &mut HashMap<&'s str, Option<&'n Resolution>>,
    names: &'n dyn Resolve,
    name: &'s str,
) -> Option<&'n Resolution> {
    *resolved.entry(name).or_insert_with(|| names.resolve(name))
}

/// Counts rows of a name the catalogue does not resolve.
fn unresolved_rows<'a>(
    unresolved: &mut BTreeMap<&'a str, (u64, Vec<i32>)>,
    name: &'a str,
    year: i32,
    rows: u64,
) {
    let e = unresolved.entry(name).or_default();
    e.0 += rows;
    if !e.1.contains(&year) {
        e.1.push(year);
    }
}

/// Where one group of shipments goes for a quota.
enum Fate {
    /// Counted, in the quota's unit, under this term.
    Counted(Decimal, &'static str),
    /// Outside the quota's declared term, source or purpose.
    OutOfScope,
    ReExport,
    Confiscated,
    NotCompared(String),
}

fn fate(q: &TradeQuota, g: &Shipments, codes: &mut Codes) -> Fate {
    if !g.origin.is_empty() {
        return Fate::ReExport;
    }
    // Source: confiscated rows never count; a blank or unknown one cannot be placed when the
    // quota is restricted by source (an unknown code might be I).
    let source = codes.source(&g.source);
    if source.is_some_and(|s| s.code() == CONFISCATED) {
        return Fate::Confiscated;
    }
    if source.is_none() && !g.source.is_empty() {
        return Fate::NotCompared(format!("unknown source code {:?}", g.source));
    }
    if let Some(wanted) = q.source {
        match source {
            None => {
                return Fate::NotCompared(
                    "no source reported; the quota is for source ".to_owned() + wanted.code(),
                );
            }
            Some(s) if s != wanted => return Fate::OutOfScope,
            Some(_) => {}
        }
    }
    if let Some(wanted) = q.purpose {
        match codes.purpose(&g.purpose) {
            None if g.purpose.is_empty() => {
                return Fate::NotCompared(format!(
                    "no purpose reported; the quota is for purpose {}",
                    wanted.code()
                ));
            }
            None => return Fate::NotCompared(format!("unknown purpose code {:?}", g.purpose)),
            Some(p) if p != wanted => return Fate::OutOfScope,
            Some(_) => {}
        }
    }
    let Some(term) = codes.term(&g.term) else {
        return Fate::NotCompared(format!("unknown term {:?}", g.term));
    };
    if q.term.is_some_and(|t| t != term) {
        return Fate::OutOfScope;
    }
    let Some(unit) = codes.unit(&g.unit) else {
        return Fate::NotCompared(format!("unknown unit {:?}", g.unit));
    };
    let converted =
        Quantity::new(g.quantity, unit).and_then(|quantity| quantity.convert_to(q.unit));
    match converted {
        Ok(c) => Fate::Counted(c.amount(), term.code()),
        Err(_) if unit.dimension() != q.unit.dimension() => Fate::NotCompared(format!(
            "unit {} ({}) does not convert to the quota's unit {} ({})",
            unit.code(),
            unit.dimension(),
            q.unit.code(),
            q.unit.dimension()
        )),
        Err(e) => Fate::NotCompared(e.to_string()),
    }
}

fn one_quota(
    q: &TradeQuota,
    year: i32,
    groups: &[&Shipments],
    codes: &mut Codes,
) -> QuotaComparison {
    let mut c = QuotaComparison {
        origin: q.origin,
        exporter: q.exporter,
        taxon_id: q.taxon_id,
        taxon_name: q.taxon_name.clone(),
        year,
        unit: q.unit,
        limit: q.limit,
        term: q.term,
        source: q.source,
        purpose: q.purpose,
        scope_known: q.scope_known,
        exporter_reported: Decimal::ZERO,
        importer_reported: Decimal::ZERO,
        exporter_rows: 0,
        importer_rows: 0,
        re_export_rows: 0,
        confiscated_rows: 0,
        by_term: Vec::new(),
        not_compared: Vec::new(),
        flags: Vec::new(),
        verdict: Verdict::Within,
    };
    let mut by_term: BTreeMap<&'static str, (Decimal, Decimal)> = BTreeMap::new();
    for g in groups {
        match fate(q, g, codes) {
            Fate::Counted(amount, term) => {
                let t = by_term.entry(term).or_default();
                match g.reporter {
                    Reporter::Exporter => {
                        c.exporter_reported += amount;
                        c.exporter_rows += g.rows;
                        t.0 += amount;
                    }
                    Reporter::Importer => {
                        c.importer_reported += amount;
                        c.importer_rows += g.rows;
                        t.1 += amount;
                    }
                }
            }
            Fate::OutOfScope => {}
            Fate::ReExport => c.re_export_rows += g.rows,
            Fate::Confiscated => c.confiscated_rows += g.rows,
            Fate::NotCompared(reason) => c.not_compared.push(NotCompared {
                year: g.year,
                taxon: g.taxon.clone(),
                term: g.term.clone(),
                unit: g.unit.clone(),
                source: g.source.clone(),
                purpose: g.purpose.clone(),
                reporter: g.reporter,
                quantity: g.quantity,
                rows: g.rows,
                reason,
            }),
        }
    }
    c.exporter_reported = c.exporter_reported.normalize();
    c.importer_reported = c.importer_reported.normalize();
    c.by_term = by_term
        .into_iter()
        .map(|(term, (e, i))| TermTotal {
            term: term.to_owned(),
            exporter_reported: e.normalize(),
            importer_reported: i.normalize(),
        })
        .collect();
    c.not_compared.sort_by(|a, b| {
        (a.year, &a.taxon, &a.term, &a.unit).cmp(&(b.year, &b.taxon, &b.term, &b.unit))
    });
    judge(q, &mut c);
    c
}

/// The flags and the verdict, on exact decimals.
fn judge(q: &TradeQuota, c: &mut QuotaComparison) {
    let period = q.period;
    let calendar = period.start().month() == 1
        && period.start().day() == 1
        && period.days() == domain::Period::calendar_year(period.start().year()).days();
    if !calendar {
        c.flags.push(TradeFlag::PeriodNotCalendarYear);
    }
    if !q.scope_known {
        c.flags.push(TradeFlag::ScopeUnknown);
    }
    let mut review = !c.not_compared.is_empty();
    match q.limit {
        None => {
            c.flags.push(TradeFlag::InPreparation);
            review = true;
        }
        Some(limit) => {
            let above_e = c.exporter_reported > limit;
            let above_i = c.importer_reported > limit;
            if limit.is_zero() && (above_e || above_i) {
                c.flags.push(TradeFlag::TradeUnderZeroQuota);
            }
            if q.scope_known {
                if above_e {
                    c.flags.push(TradeFlag::ExporterReportedAboveQuota);
                }
                if above_i {
                    c.flags.push(TradeFlag::ImporterReportedAboveQuota);
                }
                if above_e || above_i {
                    c.verdict = Verdict::Exceeded;
                }
            } else if above_e || above_i {
                c.flags.push(TradeFlag::AboveQuotaIfEveryTermCounts);
                review = true;
            }
        }
    }
    if !c.not_compared.is_empty() {
        c.flags.push(TradeFlag::RowsNotCompared);
    }
    if c.verdict != Verdict::Exceeded && review {
        c.verdict = Verdict::NeedsReview;
    }
}

/// The comparative tabulation of `taxon` and the taxa below it: exporter- against
/// importer-reported quantities per year, accepted name, country pair, origin, term, unit,
/// purpose and source (terms and units as codes where `domain` reads them, quantities in
/// their own units).
fn tabulation(
    groups: &[Shipments],
    names: &dyn Resolve,
    taxon: TaxonId,
    codes: &mut Codes,
) -> Tabulation {
    type Key = (
        i32,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let mut rows: BTreeMap<Key, (Decimal, Decimal)> = BTreeMap::new();
    for g in groups {
        let Some(r) = names
            .resolve(&g.taxon)
            .filter(|r| r.counts_for.contains(&taxon))
        else {
            continue;
        };
        let term = codes
            .term(&g.term)
            .map_or_else(|| g.term.to_string(), |t| t.code().to_owned());
        let unit = codes
            .unit(&g.unit)
            .map_or_else(|| g.unit.to_string(), |u| u.code().to_owned());
        let key = (
            g.year,
            r.taxon_name.clone(),
            g.importer.to_string(),
            g.exporter.to_string(),
            g.origin.to_string(),
            term,
            unit,
            g.purpose.to_string(),
            g.source.to_string(),
        );
        let e = rows.entry(key).or_default();
        match g.reporter {
            Reporter::Importer => e.0 += g.quantity,
            Reporter::Exporter => e.1 += g.quantity,
        }
    }
    Tabulation {
        taxon_id: taxon,
        rows: rows
            .into_iter()
            .map(|(k, (i, e))| TabulationRow {
                year: k.0,
                taxon: k.1,
                importer: k.2,
                exporter: k.3,
                origin: k.4,
                term: k.5,
                unit: k.6,
                purpose: k.7,
                source: k.8,
                importer_reported: i.normalize(),
                exporter_reported: e.normalize(),
            })
            .collect(),
    }
}
