//! The engine's comparison as the bench runs it: `report::trade::compare` (the streaming scan of
//! every file on polars, then every quota against its exporter's, year's and taxon's trade),
//! handed a name map and a quota list built from the generated catalogue, as the application
//! hands it the catalogue's resolutions and the ledger's quotas.
//!
//! The engine's output is per quota, not the bench's groups, so the two contenders are compared
//! on what both can give: for every quota, the exporter-reported and importer-reported totals in
//! the quota's unit, and the quantities of its trade that could not be compared (by reporter, in
//! their own units). The row-by-row reader's side is computed from its groups by the rules the
//! engine documents (`report::trade` module header), written out here on their own
//! (`quota_fate`); the small check also compares the engine's scan with the row-by-row groups
//! row for row (`scan_groups`).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::time::Instant;

use domain::{CountryCode, Period, PurposeCode, SourceCode, TaxonId, TermCode, UnitCode};
use report::trade::{
    NameMap, NoProgress, QuotaOrigin, Reporter, Resolution, Resolve, Scan, ScanFilter,
    TradeComparison, TradeQuota,
};
use rust_decimal::Decimal;

use super::generate::{self, LAST_YEAR};
use super::{Groups, rowwise};

/// Every this-many-th name of the catalogue (in popularity order) is left out of the name map:
/// a name the catalogue does not know, which the comparison lists as unresolved.
const UNRESOLVED_EVERY: usize = 97;
/// Taxa with quotas: the most traded accepted species and genera ("Genus spp.").
const QUOTA_TAXA: usize = 100;
/// Exporters with quotas: the most trading countries.
const QUOTA_EXPORTERS: usize = 12;
/// Years with quotas: the last 28 of the generated database (1997 on), where most rows are.
const QUOTA_FIRST_YEAR: i64 = 1997;
/// Taxon ids: species from here (by popularity rank), genera from `GENUS_ID_BASE`.
const SPECIES_ID_BASE: u32 = 1_000;
const GENUS_ID_BASE: u32 = 100_000;
/// The mass units the generator writes, with their exact factor to kilograms (the quota unit
/// KGM); every other unit is of another dimension or unknown.
const MASS_UNITS: [(&str, i64, u32); 4] =
    [("KIL", 1, 0), ("KGM", 1, 0), ("GRM", 1, 3), ("MGM", 1, 6)];

/// What the engine is handed: the name map and the quota list.
pub struct Inputs {
    pub names: NameMap,
    pub quotas: Vec<TradeQuota>,
}

fn resolution(id: u32, name: &str, via_synonym: bool, counts_for: Vec<u32>) -> Resolution {
    Resolution {
        taxon_id: TaxonId::new(id),
        taxon_name: name.to_owned(),
        via_synonym,
        counts_for: counts_for.into_iter().map(TaxonId::new).collect(),
    }
}

/// The name map of the generated catalogue: a species counts for itself and its genus, a
/// synonym resolves to its accepted species, "Genus spp." to the genus; every
/// `UNRESOLVED_EVERY`-th name is unknown.
fn name_map(catalogue: &generate::Catalogue) -> NameMap {
    let mut genera: HashMap<&str, u32> = HashMap::new();
    for n in &catalogue.names {
        let next = GENUS_ID_BASE + genera.len() as u32;
        genera.entry(n.genus.as_str()).or_insert(next);
    }
    let mut species: HashMap<&str, Resolution> = HashMap::new();
    for (rank, n) in catalogue.names.iter().enumerate() {
        if n.synonym_of.is_none() && !n.higher {
            let ids = vec![SPECIES_ID_BASE + rank as u32, genera[n.genus.as_str()]];
            species.insert(&n.name, resolution(ids[0], &n.name, false, ids));
        }
    }
    let mut map = NameMap::default();
    for (rank, n) in catalogue.names.iter().enumerate() {
        if rank % UNRESOLVED_EVERY == UNRESOLVED_EVERY - 1 {
            continue;
        }
        let r = match &n.synonym_of {
            Some(accepted) => Resolution {
                via_synonym: true,
                ..species[accepted.as_str()].clone()
            },
            None if n.higher => {
                let g = genera[n.genus.as_str()];
                resolution(g, &n.genus, false, vec![g])
            }
            None => species[n.name.as_str()].clone(),
        };
        map.insert(&n.name, r);
    }
    map
}

/// The quota list: for the `QUOTA_TAXA` most traded accepted taxa, the `QUOTA_EXPORTERS` most
/// trading exporters and every year from `QUOTA_FIRST_YEAR`, one quota each, its kind turning
/// over four: Species+'s (scope unknown) in specimens; the ledger's for live wild specimens;
/// for trade; in kilograms. Limits spread over 1 to 2,000, a few zero or in preparation.
fn quota_list(catalogue: &generate::Catalogue, names: &NameMap) -> Vec<TradeQuota> {
    let mut taxa: Vec<&Resolution> = Vec::new();
    for n in catalogue.names.iter().filter(|n| n.synonym_of.is_none()) {
        if let Some(r) = names.resolve(&n.name)
            && taxa.len() < QUOTA_TAXA
            && !taxa.iter().any(|t| t.taxon_id == r.taxon_id)
        {
            taxa.push(r);
        }
    }
    let code = |c: &str| UnitCode::parse(c).unwrap();
    let mut quotas = Vec::new();
    for taxon in taxa {
        for exporter in &catalogue.countries[..QUOTA_EXPORTERS] {
            for year in QUOTA_FIRST_YEAR..=LAST_YEAR {
                let k = quotas.len();
                let limit = match k {
                    k if k % 97 == 5 => None,
                    k if k % 50 == 7 => Some(Decimal::ZERO),
                    k => Some(Decimal::from((k as u64 * 7919) % 2000 + 1)),
                };
                let mut q = TradeQuota {
                    origin: QuotaOrigin::Ledger {
                        id: k as i64 + 1,
                        speciesplus: false,
                    },
                    exporter: CountryCode::parse(exporter).unwrap(),
                    taxon_id: taxon.taxon_id,
                    taxon_name: taxon.taxon_name.clone(),
                    period: Period::calendar_year(year as i32),
                    unit: code("NAR"),
                    limit,
                    term: None,
                    source: None,
                    purpose: None,
                    scope_known: true,
                };
                match k % 4 {
                    0 => {
                        q.origin = QuotaOrigin::Catalogue {
                            speciesplus_id: k as i64 + 1,
                        };
                        q.scope_known = false;
                    }
                    1 => {
                        q.term = Some(TermCode::parse("LIV").unwrap());
                        q.source = Some(SourceCode::parse("W").unwrap());
                    }
                    2 => q.purpose = Some(PurposeCode::parse("T").unwrap()),
                    _ => q.unit = code("KGM"),
                }
                quotas.push(q);
            }
        }
    }
    quotas
}

/// The name map and quota list of the database `seed` generates.
pub fn inputs(seed: u64) -> Inputs {
    let catalogue = generate::catalogue(seed);
    let names = name_map(&catalogue);
    let quotas = quota_list(&catalogue, &names);
    Inputs { names, quotas }
}

/// Where the engine's time and memory go: its scan, then its comparison.
pub struct Steps {
    /// Passes over the files: 1 when the scan kept by the name map's names covers what the
    /// reported names need ([`report::trade::Keep::covers`]), as it does here.
    pub passes: u32,
    pub scan_secs: f64,
    /// Peak RSS when the scan is done, in KiB.
    pub scan_peak_kib: u64,
    /// The scan's groups (the shipments summed per file by every key the engine keeps).
    pub scan_groups: usize,
    pub compare_secs: f64,
}

/// The engine's comparison of every file with the quotas, without a filter, in the steps
/// `report::trade::compare` takes (the names are resolved beforehand here): the `Keep` of the
/// names the map knows, `scan_keeping`, the `Keep` the reported names need, a second pass only
/// when the first does not cover it, then `compare_scan`; the passes timed as the scan,
/// `compare_scan` apart.
pub fn compare(files: &[PathBuf], inputs: &Inputs) -> (TradeComparison, Steps) {
    use report::trade::{Keep, Resolve};
    let started = Instant::now();
    let filter = ScanFilter::default();
    let (names, quotas) = (&inputs.names, &inputs.quotas);
    let known = Keep::for_comparison(names.spellings(), names, quotas, None);
    let mut scanned =
        report::trade::scan_keeping(files, &filter, Some(&known), &NoProgress).unwrap();
    let needed = Keep::for_comparison(scanned.names(), names, quotas, None);
    let mut passes = 1;
    if !known.covers(&needed) {
        scanned = report::trade::scan_keeping(files, &filter, Some(&needed), &NoProgress).unwrap();
        passes += 1;
    }
    let scan_secs = started.elapsed().as_secs_f64();
    let scan_peak_kib = super::peak_rss_kib();
    let scan_groups = scanned.groups.len();
    let started = Instant::now();
    let compared = report::trade::compare_scan(scanned, names, quotas, None);
    let steps = Steps {
        passes,
        scan_secs,
        scan_peak_kib,
        scan_groups,
        compare_secs: started.elapsed().as_secs_f64(),
    };
    (compared, steps)
}

/// A quantity in thousandths; the generated quantities have at most three decimals.
fn thousandths(q: Decimal) -> i64 {
    let t = q * Decimal::from(1000);
    assert!(t.fract().is_zero(), "{q}: more than three decimals");
    i64::try_from(t).unwrap()
}

/// One quota's totals: counted in its unit, and not compared (thousandths of their own units).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct QuotaTotals {
    pub exporter: Decimal,
    pub importer: Decimal,
    pub exporter_not_compared: i64,
    pub importer_not_compared: i64,
}

/// Per-quota totals, summed and digested (order-sensitive by quota index), with the rows read.
pub fn summary(rows: u64, totals: &[QuotaTotals]) -> String {
    let mut digest = 0u64;
    let mut sum = QuotaTotals::default();
    let mut with_trade = 0;
    for (k, t) in totals.iter().enumerate() {
        let mut h = DefaultHasher::new();
        let (e, i) = (t.exporter.normalize(), t.importer.normalize());
        let not_compared = (t.exporter_not_compared, t.importer_not_compared);
        (k, e.to_string(), i.to_string(), not_compared).hash(&mut h);
        digest = digest.wrapping_add(h.finish());
        sum.exporter += t.exporter;
        sum.importer += t.importer;
        sum.exporter_not_compared += t.exporter_not_compared;
        sum.importer_not_compared += t.importer_not_compared;
        with_trade += usize::from(!(t.exporter.is_zero() && t.importer.is_zero()));
    }
    format!(
        "rows={rows} quotas={} with_trade={with_trade} exporter_counted={} importer_counted={} \
         exporter_not_compared={} importer_not_compared={} quota_digest={digest:016x}",
        totals.len(),
        sum.exporter.normalize(),
        sum.importer.normalize(),
        sum.exporter_not_compared,
        sum.importer_not_compared,
    )
}

/// The engine's side: each quota's totals as the comparison gives them, and the rows read.
pub fn engine_totals(c: &TradeComparison) -> (u64, Vec<QuotaTotals>) {
    let rows = c.files.iter().map(|f| f.rows).sum::<u64>() + c.malformed_total;
    let totals = c
        .quotas
        .iter()
        .map(|q| {
            let mut t = QuotaTotals {
                exporter: q.exporter_reported,
                importer: q.importer_reported,
                ..QuotaTotals::default()
            };
            for n in &q.not_compared {
                match n.reporter {
                    Reporter::Exporter => t.exporter_not_compared += thousandths(n.quantity),
                    Reporter::Importer => t.importer_not_compared += thousandths(n.quantity),
                }
            }
            t
        })
        .collect();
    (rows, totals)
}

/// Where a group of the row-by-row reader goes for a quota.
enum QuotaFate {
    /// Counted, times this factor into the quota's unit.
    Counted(Decimal),
    OutOfScope,
    NotCompared,
}

/// The engine's documented rules for one group (re-exports and source I already left out):
/// a quota restricted by source or purpose cannot place a group reporting none; a term, unit,
/// source or purpose of another value is out of its scope; a unit of another dimension is not
/// compared. Checked in the engine's order (source, purpose, term, unit), which decides a
/// group failing two of them.
fn quota_fate(q: &TradeQuota, term: &str, unit: &str, source: &str, purpose: &str) -> QuotaFate {
    if let Some(wanted) = q.source {
        if source.is_empty() {
            return QuotaFate::NotCompared;
        }
        if source != wanted.code() {
            return QuotaFate::OutOfScope;
        }
    }
    if let Some(wanted) = q.purpose {
        if purpose.is_empty() {
            return QuotaFate::NotCompared;
        }
        if purpose != wanted.code() {
            return QuotaFate::OutOfScope;
        }
    }
    if q.term.is_some_and(|t| t.code() != term) {
        return QuotaFate::OutOfScope;
    }
    match (q.unit.code(), unit) {
        ("NAR", "") => QuotaFate::Counted(Decimal::ONE),
        ("KGM", unit) => MASS_UNITS
            .iter()
            .find(|(code, _, _)| *code == unit)
            .map_or(QuotaFate::NotCompared, |(_, m, scale)| {
                QuotaFate::Counted(Decimal::new(*m, *scale))
            }),
        _ => QuotaFate::NotCompared,
    }
}

/// The row-by-row reader's side: each quota's totals from its groups.
pub fn rowwise_totals(sums: &rowwise::Sums, inputs: &Inputs) -> Vec<QuotaTotals> {
    let mut index: HashMap<(&str, i64, TaxonId), Vec<usize>> = HashMap::new();
    for (k, q) in inputs.quotas.iter().enumerate() {
        let year = i64::from(chrono::Datelike::year(&q.period.start()));
        index
            .entry((q.exporter.as_str(), year, q.taxon_id))
            .or_default()
            .push(k);
    }
    let mut totals = vec![QuotaTotals::default(); inputs.quotas.len()];
    for (key, (e, i)) in sums {
        let f = rowwise::fields(key);
        let &[
            year,
            exporter,
            _importer,
            taxon,
            term,
            unit,
            source,
            purpose,
        ] = f.as_slice()
        else {
            panic!("a key of {} fields", f.len());
        };
        let Some(r) = inputs.names.resolve(taxon) else {
            continue;
        };
        let year: i64 = year.parse().unwrap();
        for t in &r.counts_for {
            for &k in index.get(&(exporter, year, *t)).into_iter().flatten() {
                let total = &mut totals[k];
                match quota_fate(&inputs.quotas[k], term, unit, source, purpose) {
                    QuotaFate::Counted(factor) => {
                        total.exporter += Decimal::new(*e, 3) * factor;
                        total.importer += Decimal::new(*i, 3) * factor;
                    }
                    QuotaFate::OutOfScope => {}
                    QuotaFate::NotCompared => {
                        total.exporter_not_compared += e;
                        total.importer_not_compared += i;
                    }
                }
            }
        }
    }
    totals
}

/// The engine's scan summed by the bench's groups (re-exports and source I left out), for the
/// check's row-for-row comparison.
pub fn scan_groups(scan: &Scan, keep_rows: bool) -> Groups {
    type Key<'a> = (i32, [&'a str; 7]);
    let mut sums: HashMap<Key<'_>, (i64, i64)> = HashMap::new();
    for g in &scan.groups {
        if !g.origin.is_empty() || g.source == "I" {
            continue;
        }
        let fields: [&str; 7] = [
            &g.exporter,
            &g.importer,
            &g.taxon,
            &g.term,
            &g.unit,
            &g.source,
            &g.purpose,
        ];
        let sum = sums.entry((g.year, fields)).or_default();
        match g.reporter {
            Reporter::Exporter => sum.0 += thousandths(g.quantity),
            Reporter::Importer => sum.1 += thousandths(g.quantity),
        }
    }
    let mut groups = Groups::new(keep_rows);
    for ((year, fields), (e, i)) in sums {
        groups.add(i64::from(year), &fields, e, i);
    }
    groups
}
