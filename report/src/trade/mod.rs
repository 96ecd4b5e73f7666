//! The Trade Database comparison: the CITES Trade Database's shipment-level
//! bulk download (many CSV files in the layout `Id, Year, Appendix, Taxon, Class, Order,
//! Family, Genus, Term, Quantity, Unit, Importer, Exporter, Origin, Purpose, Source,
//! Reporter.type, Import.permit.RandomID, Export.permit.RandomID, Origin.permit.RandomID`)
//! compared with export quotas, as Species+'s compliance tool compares them.
//!
//! The entry points:
//! - [`compare`](fn@compare)`(files, &ScanFilter, &dyn Resolve, &[TradeQuota], Option<TaxonId>, &dyn
//!   ScanProgress) -> Result<TradeComparison>`: everything in one call, with a [`NameMap`]
//!   built beforehand: one pass, unless a name is reported in a spelling the map lacks.
//! - or in steps, for a caller that resolves names from a database between them:
//!   [`Keep::for_comparison`] of the names it knows beforehand, [`scan_keeping`] (the streaming
//!   pass that sums only what the comparison reads, and counts the rest by name and year),
//!   the names the scan saw resolved and their quotas gathered, a second pass only when the
//!   first does not [`Keep::covers`] what they need, then [`compare_scan`].
//!
//! - **Scan** ([`scan()`]): one lazy polars query per file on the streaming engine (never the
//!   whole file in memory); every column read as text, the year, quantity and reporter type
//!   parsed in the query; rows summed by year, reported name, term, unit, importer, exporter,
//!   origin, purpose, source and reporter type; a malformed row reported with its file and line
//!   while the rest is summed.
//! - **Names** ([`Resolve`]): a reported name resolves to a Species+ taxon and the taxa whose
//!   quotas count its trade (itself, its ancestors, the concepts merged into either); the
//!   application builds the map from the catalogue. A name that does not resolve is listed.
//! - **Per quota** ([`compare_scan`]): for the quota's exporter, year (its period's first
//!   year), taxon, and its term, source and purpose where it has them, the exporter-reported
//!   and the importer-reported totals in the quota's unit (exact decimals), re-exports (a
//!   non-empty `Origin`) and confiscated specimens (source I) excluded; trade above the quota,
//!   trade under a zero quota. A quota from Species+ (no term, source or purpose known) is
//!   compared on every term and marked [`TradeFlag::ScopeUnknown`]: above its limit it needs
//!   review, never "exceeded". Rows of the quota's trade that cannot be compared (a unit of
//!   another dimension, an unknown code, a source or purpose not reported) are listed with
//!   the reason.
//! - **Comparative tabulation** ([`Tabulation`]) for one taxon: exporter- against
//!   importer-reported quantities per year, country pair, origin, term, unit, purpose and
//!   source.

mod codes;
mod compare;
mod each_file;
pub mod html;
mod problems;
pub mod render;
mod scan;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use compact_str::CompactString;
use domain::{CountryCode, Period, PurposeCode, SourceCode, TaxonId, TermCode, UnitCode};
use rust_decimal::Decimal;
use serde::Serialize;

pub use compare::compare_scan;
pub use problems::{QUANTITY_SCALE, QUANTITY_WHOLE_DIGITS_MAX, TRADE_YEARS};
pub use scan::{COLUMNS, FileRead, MalformedRow};

/// Most malformed rows listed one by one; the others are counted (a file of another export
/// format would otherwise list every row).
pub const MALFORMED_LISTED_MAX: usize = 1_000;

/// Which shipments to read: an exporter, a year; `None` reads all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanFilter {
    pub exporter: Option<CountryCode>,
    pub year: Option<i32>,
}

/// Who reported a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Reporter {
    Exporter,
    Importer,
}

/// Shipments summed by everything a comparison keys on: the text as reported (trimmed), each
/// inline up to 24 bytes (`CompactString`): codes and most names take no heap block, and a
/// scan keeps millions of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipments {
    pub year: i32,
    pub taxon: CompactString,
    pub term: CompactString,
    pub unit: CompactString,
    /// Empty in a group kept only for the quotas ([`Keep`]): no quota reads the importer, and
    /// summed without it a download makes far fewer groups.
    pub importer: CompactString,
    pub exporter: CompactString,
    /// Empty when the exporter is the origin (or none was reported); else a re-export, which,
    /// kept only for the quotas, keeps only its name, year, exporter and origin (the other
    /// codes empty, the quantity zero: a quota counts a re-export's rows, nothing else).
    pub origin: CompactString,
    pub purpose: CompactString,
    pub source: CompactString,
    pub reporter: Reporter,
    pub quantity: Decimal,
    pub rows: u64,
}

/// Shipments a scan with a [`Keep`] set apart (no comparison reads them), counted by the name
/// reported and the year: what the list of names the catalogue does not resolve needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRows {
    pub taxon: CompactString,
    pub year: i32,
    pub rows: u64,
}

/// Told how far a scan is (a progress bar on a terminal; nothing elsewhere).
pub trait ScanProgress {
    /// Before the scan: every file and its size.
    fn start(&self, _files: usize, _bytes: u64) {}
    /// A file was read whole.
    fn file_read(&self, _file: &Path, _bytes: u64) {}
}

/// No progress shown.
pub struct NoProgress;
impl ScanProgress for NoProgress {}

/// The streaming pass over every file.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub files: Vec<FileRead>,
    pub groups: Vec<Shipments>,
    /// With a [`Keep`], the rows not in `groups`, by name and year.
    pub set_apart: Vec<NameRows>,
    /// The first [`MALFORMED_LISTED_MAX`] malformed rows, by file and line.
    pub malformed: Vec<MalformedRow>,
    pub malformed_total: u64,
}

impl Scan {
    /// The distinct names reported in `Taxon`, to resolve.
    pub fn names(&self) -> BTreeSet<&str> {
        self.groups
            .iter()
            .map(|g| g.taxon.as_str())
            .chain(self.set_apart.iter().map(|n| n.taxon.as_str()))
            .collect()
    }
}

/// Which summed groups a scan keeps, and by what: those of an exporter, a year and a name whose
/// taxon some quota counts (as [`compare_scan`] reads them), summed without the importer (no
/// quota reads it), and every group of the tabulated taxon's names, summed by every key. The
/// other rows are counted by name and year ([`Scan::set_apart`]), which is all the list of
/// unresolved names needs. A whole download is mostly rows no quota reads; summed by every key
/// they would hold the download in memory as groups (20 million rows gave 19.8 million groups,
/// 8.5 GiB: `benches/README.md`). Malformed rows are always kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keep {
    /// Exporter as reported (ISO code) to the (year, taxon) of its quotas (a period's first
    /// year).
    pub quotas: HashMap<String, HashSet<(i32, TaxonId)>>,
    /// Each reported name that counts for a taxon some quota is on, with those taxa.
    pub counts_for: HashMap<String, Vec<TaxonId>>,
    /// Names whose every group is kept, by every key (the tabulated taxon's).
    pub names: BTreeSet<String>,
}

impl Keep {
    /// What [`compare_scan`] reads of a scan for `quotas` and the tabulation of `tabulate`,
    /// given every name the files report ([`Scan::names`]), or, before
    /// a scan, the names a resolver knows ([`Resolve::spellings`]).
    pub fn for_comparison<'a>(
        reported: impl IntoIterator<Item = &'a str>,
        names: &dyn Resolve,
        quotas: &[TradeQuota],
        tabulate: Option<TaxonId>,
    ) -> Keep {
        let mut by_exporter: HashMap<String, HashSet<(i32, TaxonId)>> = HashMap::new();
        let mut quota_taxa = HashSet::new();
        for q in quotas {
            by_exporter
                .entry(q.exporter.as_str().to_owned())
                .or_default()
                .insert((chrono::Datelike::year(&q.period.start()), q.taxon_id));
            quota_taxa.insert(q.taxon_id);
        }
        let mut counts_for = HashMap::new();
        let mut kept_names = BTreeSet::new();
        for name in reported {
            // A name the catalogue does not resolve is listed by its rows and years, which the
            // rows set apart give.
            let Some(r) = names.resolve(name) else {
                continue;
            };
            if tabulate.is_some_and(|t| r.counts_for.contains(&t)) {
                kept_names.insert(name.to_owned());
            }
            let taxa: Vec<TaxonId> = r
                .counts_for
                .iter()
                .copied()
                .filter(|t| quota_taxa.contains(t))
                .collect();
            if !taxa.is_empty() {
                counts_for.insert(name.to_owned(), taxa);
            }
        }
        Keep {
            quotas: by_exporter,
            counts_for,
            names: kept_names,
        }
    }

    /// Whether a group of this exporter, year and name is kept.
    pub fn keeps(&self, exporter: &str, year: i32, name: &str) -> bool {
        if self.names.contains(name) {
            return true;
        }
        let (Some(quotas), Some(taxa)) = (self.quotas.get(exporter), self.counts_for.get(name))
        else {
            return false;
        };
        taxa.iter().any(|t| quotas.contains(&(year, *t)))
    }

    /// Whether a scan kept by `self` holds every group `other` keeps, by the same keys: a
    /// scan made before the names were resolved can then stand for the scan `other` asks for.
    pub fn covers(&self, other: &Keep) -> bool {
        if !other.names.is_subset(&self.names) {
            return false;
        }
        let mut names_of: HashMap<TaxonId, Vec<&str>> = HashMap::new();
        for (name, taxa) in &other.counts_for {
            for t in taxa {
                names_of.entry(*t).or_default().push(name);
            }
        }
        other.quotas.iter().all(|(exporter, wanted)| {
            wanted.iter().all(|(year, taxon)| {
                names_of
                    .get(taxon)
                    .is_none_or(|names| names.iter().all(|n| self.keeps(exporter, *year, n)))
            })
        })
    }
}

/// The bytes of every file, for a progress bar (a file that cannot be read counts 0: its scan
/// names it).
fn total_size(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// Scans `files` (each on polars' streaming engine, two at a time: `each_file`), reading only
/// what `filter` keeps, and gathers them in their order. A file that cannot be read, or is not in the shipment-level layout, is an error
/// naming it; a malformed row is not.
pub fn scan(
    files: &[PathBuf],
    filter: &ScanFilter,
    progress: &dyn ScanProgress,
) -> crate::Result<Scan> {
    scan_keeping(files, filter, None, progress)
}

/// [`scan()`], keeping only the groups `keep` names (all without it).
pub fn scan_keeping(
    files: &[PathBuf],
    filter: &ScanFilter,
    keep: Option<&Keep>,
    progress: &dyn ScanProgress,
) -> crate::Result<Scan> {
    progress.start(files.len(), total_size(files));
    let mut out = Scan::default();
    each_file::each_file(
        files,
        progress,
        |file| {
            let one = scan::scan_file(file, filter, keep)?;
            let bytes = one.read.bytes;
            Ok((one, bytes))
        },
        |one| {
            out.malformed_total += one.read.malformed_rows;
            let room = MALFORMED_LISTED_MAX.saturating_sub(out.malformed.len());
            out.malformed.extend(one.malformed.into_iter().take(room));
            out.groups.extend(one.groups);
            out.set_apart.extend(one.set_apart);
            out.files.push(one.read);
        },
    )?;
    Ok(out)
}

/// What a reported name is in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// The accepted taxon.
    pub taxon_id: TaxonId,
    pub taxon_name: String,
    /// The name was a synonym of the accepted taxon.
    pub via_synonym: bool,
    /// The taxa whose quotas count this name's trade: the taxon, its ancestors (a quota on a
    /// genus or family), and the concepts Species+ has merged into any of them.
    pub counts_for: Vec<TaxonId>,
}

/// Reported names to taxa.
pub trait Resolve {
    fn resolve(&self, name: &str) -> Option<&Resolution>;
    /// The names it resolves, as spelled when they were given: what a scan made before the
    /// files' own names are known keeps ([`compare()`]).
    fn spellings(&self) -> Vec<&str>;
}

/// A map of names (trimmed, spaces collapsed, any case) to their resolutions, with each name
/// as it was given.
#[derive(Debug, Clone, Default)]
pub struct NameMap(HashMap<String, (String, Resolution)>);

impl NameMap {
    /// How a name is looked up: trimmed, inner spaces collapsed, lower case.
    pub fn key(name: &str) -> String {
        name.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }

    pub fn insert(&mut self, name: &str, resolution: Resolution) {
        self.0
            .insert(NameMap::key(name), (name.trim().to_owned(), resolution));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Every resolution in the map.
    pub fn resolutions(&self) -> impl Iterator<Item = &Resolution> {
        self.0.values().map(|(_, r)| r)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Resolve for NameMap {
    fn resolve(&self, name: &str) -> Option<&Resolution> {
        self.0.get(&NameMap::key(name)).map(|(_, r)| r)
    }

    fn spellings(&self) -> Vec<&str> {
        self.0.values().map(|(name, _)| name.as_str()).collect()
    }
}

/// Where a quota was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QuotaOrigin {
    /// The engine's ledger, by its id; `speciesplus` when it was imported from Species+.
    Ledger { id: i64, speciesplus: bool },
    /// Species+'s published quotas in the catalogue, by Species+'s id.
    Catalogue { speciesplus_id: i64 },
}

/// A quota to compare, as the application hands it in.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeQuota {
    pub origin: QuotaOrigin,
    pub exporter: CountryCode,
    pub taxon_id: TaxonId,
    pub taxon_name: String,
    pub period: Period,
    pub unit: UnitCode,
    /// `None`: in preparation.
    pub limit: Option<Decimal>,
    pub term: Option<TermCode>,
    pub source: Option<SourceCode>,
    pub purpose: Option<PurposeCode>,
    /// False for a quota whose term, source and purpose are not known (one from Species+,
    /// which publishes them only in its notes): `term`, `source`, `purpose` are then `None`
    /// without meaning "all".
    pub scope_known: bool,
}

/// What a comparison of one quota found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeFlag {
    /// Exporter-reported trade above the limit (exact decimals), of a quota whose scope is known.
    ExporterReportedAboveQuota,
    /// Importer-reported trade above the limit, of a quota whose scope is known.
    ImporterReportedAboveQuota,
    /// Trade reported under a zero quota.
    TradeUnderZeroQuota,
    /// The quota's term, source and purpose are not known: its trade of every term, source and
    /// purpose is shown, and a total above the limit needs review.
    ScopeUnknown,
    /// Scope unknown, and a reported total above the limit: review.
    AboveQuotaIfEveryTermCounts,
    /// The quota was in preparation: nothing to compare against.
    InPreparation,
    /// The quota's period is not a calendar year; the Trade Database's year of its start is
    /// compared.
    PeriodNotCalendarYear,
    /// Some of the quota's trade could not be compared (listed).
    RowsNotCompared,
}

impl TradeFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeFlag::ExporterReportedAboveQuota => "exporter_reported_above_quota",
            TradeFlag::ImporterReportedAboveQuota => "importer_reported_above_quota",
            TradeFlag::TradeUnderZeroQuota => "trade_under_zero_quota",
            TradeFlag::ScopeUnknown => "scope_unknown",
            TradeFlag::AboveQuotaIfEveryTermCounts => "above_quota_if_every_term_counts",
            TradeFlag::InPreparation => "in_preparation",
            TradeFlag::PeriodNotCalendarYear => "period_not_calendar_year",
            TradeFlag::RowsNotCompared => "rows_not_compared",
        }
    }
}

/// The verdict on one quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Reported trade above the limit, on a quota whose scope is known (exact decimals).
    Exceeded,
    /// Within the limit, every row of its trade compared.
    Within,
    /// Scope unknown and above the limit, rows not compared, or in preparation: a person
    /// decides.
    NeedsReview,
}

/// Reported trade that could not be compared with a quota, summed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCompared {
    pub year: i32,
    /// As reported, inline (a comparison of a whole download lists hundreds of thousands).
    pub taxon: CompactString,
    pub term: CompactString,
    pub unit: CompactString,
    pub source: CompactString,
    pub purpose: CompactString,
    pub reporter: Reporter,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    pub rows: u64,
    pub reason: String,
}

/// One term's share of a quota's compared trade, in the quota's unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermTotal {
    pub term: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub exporter_reported: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub importer_reported: Decimal,
}

/// One quota against reported trade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaComparison {
    pub origin: QuotaOrigin,
    pub exporter: CountryCode,
    pub taxon_id: TaxonId,
    pub taxon_name: String,
    /// The Trade Database year compared.
    pub year: i32,
    pub unit: UnitCode,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub limit: Option<Decimal>,
    pub term: Option<TermCode>,
    pub source: Option<SourceCode>,
    pub purpose: Option<PurposeCode>,
    pub scope_known: bool,
    #[serde(with = "rust_decimal::serde::str")]
    pub exporter_reported: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub importer_reported: Decimal,
    pub exporter_rows: u64,
    pub importer_rows: u64,
    pub re_export_rows: u64,
    pub confiscated_rows: u64,
    pub by_term: Vec<TermTotal>,
    pub not_compared: Vec<NotCompared>,
    pub flags: Vec<TradeFlag>,
    pub verdict: Verdict,
}

/// A reported name the catalogue does not resolve, with what it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnresolvedName {
    pub name: String,
    pub rows: u64,
    pub years: Vec<i32>,
}

/// One row of a comparative tabulation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TabulationRow {
    pub year: i32,
    pub taxon: String,
    pub importer: String,
    pub exporter: String,
    pub origin: String,
    pub term: String,
    pub unit: String,
    pub purpose: String,
    pub source: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub importer_reported: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub exporter_reported: Decimal,
}

/// The comparative tabulation of one taxon (and the taxa below it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tabulation {
    pub taxon_id: TaxonId,
    pub rows: Vec<TabulationRow>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeComparison {
    pub files: Vec<FileRead>,
    pub quotas: Vec<QuotaComparison>,
    pub unresolved: Vec<UnresolvedName>,
    pub malformed: Vec<MalformedRow>,
    pub malformed_total: u64,
    pub tabulation: Option<Tabulation>,
}

impl TradeComparison {
    pub fn to_json(&self) -> crate::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

/// Scans `files` and compares them with `quotas` in one call; with `tabulate`, the comparative
/// tabulation of that taxon too. One pass when it can: the scan keeps what the names `names`
/// knows would need ([`Keep`]), and stands when that covers what the names the files report
/// need ([`Keep::covers`]); a name reported in a spelling `names` does not hold (another case,
/// doubled spaces) takes a second pass, keeping what the reported names need.
pub fn compare(
    files: &[PathBuf],
    filter: &ScanFilter,
    names: &dyn Resolve,
    quotas: &[TradeQuota],
    tabulate: Option<TaxonId>,
    progress: &dyn ScanProgress,
) -> crate::Result<TradeComparison> {
    let known = Keep::for_comparison(names.spellings(), names, quotas, tabulate);
    let scanned = scan_keeping(files, filter, Some(&known), progress)?;
    let needed = Keep::for_comparison(scanned.names(), names, quotas, tabulate);
    let scanned = if known.covers(&needed) {
        scanned
    } else {
        drop(scanned);
        scan_keeping(files, filter, Some(&needed), progress)?
    };
    Ok(compare_scan(scanned, names, quotas, tabulate))
}
