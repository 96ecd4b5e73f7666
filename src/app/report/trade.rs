//! The Trade Database comparison (`cites report trade`): the one reading of its parameters,
//! and what the `report` crate is handed: the files scanned (on a blocking thread: polars runs
//! its own engine; one pass, keeping what the catalogue's names of the quotas' taxa need, and a
//! second only when a reported name needs more), every reported name resolved through the
//! catalogue (synonyms, the concepts merged into a taxon, its ancestors), and the quotas of the
//! ledger and of the catalogue (Species+'s published quotas the ledger has not imported, of
//! the taxa the files name).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use db::Db;
use domain::{CountryCode, Period, PurposeCode, SourceCode, TaxonId, TermCode, UnitCode};
use report::trade::{
    Keep, NameMap, QuotaOrigin, Resolution, Resolve, ScanFilter, ScanProgress, TRADE_YEARS,
    TradeComparison, TradeQuota,
};
use rust_decimal::Decimal;
use sync::catalogue::Catalogue;

use super::ReportError;
use crate::app::quota::taxa_governing;

/// What a comparison is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeQuery {
    pub files: Vec<PathBuf>,
    pub exporter: Option<CountryCode>,
    pub year: Option<i32>,
    /// The taxon to tabulate, and whose quotas to compare.
    pub taxon: Option<TaxonId>,
}

/// Reads the parameters; an error is the parameter at fault with its message.
pub fn parse_trade_query(
    files: Vec<PathBuf>,
    exporter: Option<&str>,
    year: Option<&str>,
    taxon: Option<&str>,
) -> Result<TradeQuery, (&'static str, String)> {
    if files.is_empty() {
        return Err((
            "files",
            "files is required: the Trade Database's shipment-level CSV files".to_owned(),
        ));
    }
    let exporter = exporter
        .map(|e| {
            CountryCode::parse(e).map_err(|e| ("exporter", e.for_field("exporter").to_string()))
        })
        .transpose()?;
    let accepted = format!("accepted {} to {}", TRADE_YEARS.start(), TRADE_YEARS.end());
    let year = year
        .map(|y| {
            y.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| TRADE_YEARS.contains(n))
                .ok_or(("year", format!("invalid year {y:?}: {accepted}")))
        })
        .transpose()?;
    let taxon = taxon
        .map(|t| TaxonId::parse(t).map_err(|e| ("taxon", e.for_field("taxon").to_string())))
        .transpose()?;
    Ok(TradeQuery {
        files,
        exporter,
        year,
        taxon,
    })
}

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TradeError {
    /// The catalogue or the ledger failed, or a stored quota does not read.
    #[error(transparent)]
    Gather(#[from] ReportError),
    /// A Trade Database file could not be read (named in the message).
    #[error("{0}")]
    Scan(String),
}

/// The comparison `query` asks for; `progress` is told of each file read.
pub async fn trade(
    db: &Db,
    ledger: &quota::Ledger,
    query: &TradeQuery,
    progress: Arc<dyn ScanProgress + Send + Sync>,
) -> Result<TradeComparison, TradeError> {
    let filter = ScanFilter {
        exporter: query.exporter,
        year: query.year,
    };
    // One pass when it can: the scan keeps what the catalogue's names of every taxon a quota
    // could count need (the ledger's quotas, and every published quota of the query's
    // exporter and year); the names the files report are then resolved, their quotas
    // gathered, and when a reported name needs what the scan set apart (a spelling the
    // catalogue does not list, a synonym known only from a listing), a second pass keeps it.
    let candidates = candidate_quotas(db, ledger, query).await?;
    let known = known_names(db, &candidates, query.taxon).await?;
    let keep = Keep::for_comparison(known.spellings(), &known, &candidates, query.taxon);
    let scanned = scan_pass(query, filter, keep.clone(), progress.clone()).await?;
    let names = resolve_names(db, scanned.names()).await?;
    let quotas = quotas_of_names(db, query, &candidates, &names).await?;
    let needed = Keep::for_comparison(scanned.names(), &names, &quotas, query.taxon);
    let (scanned, passes) = if keep.covers(&needed) {
        (scanned, 1)
    } else {
        drop(scanned);
        (scan_pass(query, filter, needed, progress).await?, 2)
    };
    tracing::info!(passes, files = query.files.len(), "trade database scanned");
    Ok(report::trade::compare_scan(
        scanned,
        &names,
        &quotas,
        query.taxon,
    ))
}

/// One streaming pass over the query's files, keeping what `keep` names.
async fn scan_pass(
    query: &TradeQuery,
    filter: ScanFilter,
    keep: Keep,
    progress: Arc<dyn ScanProgress + Send + Sync>,
) -> Result<report::trade::Scan, TradeError> {
    let files = query.files.clone();
    off_runtime(move || report::trade::scan_keeping(&files, &filter, Some(&keep), &*progress)).await
}

/// A pass over the files on a blocking thread (polars' streaming engine blocks), its faults as
/// [`TradeError::Scan`].
async fn off_runtime<T: Send + 'static>(
    pass: impl FnOnce() -> report::Result<T> + Send + 'static,
) -> Result<T, TradeError> {
    tokio::task::spawn_blocking(pass)
        .await
        .map_err(|e| TradeError::Scan(format!("the scan stopped: {e}")))?
        .map_err(|e| TradeError::Scan(e.to_string()))
}

/// The name as the catalogue knows it: the Trade Database writes a genus or family reported
/// as a whole "Python spp.".
fn catalogue_name(reported: &str) -> &str {
    let t = reported.trim();
    t.strip_suffix(" spp.")
        .or_else(|| t.strip_suffix(" spp"))
        .unwrap_or(t)
        .trim()
}

/// Every name resolved through the catalogue; a name it does not know, or knows as more than
/// one taxon, is left out of the map (and listed by the comparison as not resolved).
async fn resolve_names(db: &Db, names: BTreeSet<&str>) -> Result<NameMap, ReportError> {
    let catalogue = Catalogue::new(db.clone());
    let mut map = NameMap::default();
    let mut counts: HashMap<i64, Vec<TaxonId>> = HashMap::new();
    for name in names {
        let resolved = match catalogue.resolve(catalogue_name(name)).await {
            Ok(r) => r,
            Err(sync::Error::TaxonNotFound { .. } | sync::Error::AmbiguousName { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let Ok(id) = u32::try_from(resolved.taxon.id) else {
            continue;
        };
        let counts_for = match counts.get(&resolved.taxon.id) {
            Some(c) => c.clone(),
            None => {
                let c = counts_for(db, &resolved.taxon).await?;
                counts.insert(resolved.taxon.id, c.clone());
                c
            }
        };
        map.insert(
            name,
            Resolution {
                taxon_id: TaxonId::new(id),
                taxon_name: resolved.taxon.full_name.clone(),
                via_synonym: resolved.via_synonym.is_some(),
                counts_for,
            },
        );
    }
    Ok(map)
}

/// The taxa whose quotas count a taxon's trade: itself and its ancestors (by the higher-taxon
/// names the catalogue gives it), each with the concepts merged into it.
async fn counts_for(
    db: &Db,
    taxon: &sync::store::TaxonSummary,
) -> Result<Vec<TaxonId>, ReportError> {
    let higher: Vec<&str> = [
        &taxon.genus,
        &taxon.family,
        &taxon.taxon_order,
        &taxon.class,
        &taxon.phylum,
        &taxon.kingdom,
    ]
    .into_iter()
    .filter_map(|n| n.as_deref())
    .filter(|n| *n != taxon.full_name)
    .collect();
    let mut ids = vec![taxon.id];
    ids.extend(
        sync::store::higher_taxa_named(db, &higher)
            .await?
            .into_iter()
            .map(|t| t.id),
    );
    let mut all: Vec<i64> = ids.clone();
    for id in ids {
        all.extend(sync::store::synonyms_of(db, id).await?);
    }
    let mut seen = HashSet::new();
    Ok(all
        .into_iter()
        .filter(|id| seen.insert(*id))
        .filter_map(|id| u32::try_from(id).ok().map(TaxonId::new))
        .collect())
}

/// Every quota a comparison of `query` may read, before the files' names are known: the
/// ledger's (of the exporter, year and taxon asked), then the catalogue's published quotas the
/// ledger has not imported, of the taxon asked or, without one, of every taxon.
async fn candidate_quotas(
    db: &Db,
    ledger: &quota::Ledger,
    query: &TradeQuery,
) -> Result<Vec<TradeQuota>, ReportError> {
    let taxa = match query.taxon {
        Some(t) => Some(taxa_governing(db, t).await?),
        None => None,
    };
    let exporter = query.exporter.map(|e| e.as_str());
    let mut out = Vec::new();
    let mut imported = HashSet::new();
    for q in ledger.quotas(exporter, taxa.as_deref(), query.year).await? {
        if let Some(id) = q.speciesplus_id {
            imported.insert(id);
        }
        out.push(ledger_quota(db, &q).await?);
    }
    let rows = match &taxa {
        Some(taxa) => catalogue_rows_of(db, taxa.iter().copied()).await?,
        None => sync::store::quotas_of_country(db, exporter).await?,
    };
    let mut seen = HashSet::new();
    for row in rows {
        if imported.contains(&row.id) || !seen.insert(row.id) {
            continue;
        }
        if let Some(q) = catalogue_quota(db, &row, query).await? {
            out.push(q);
        }
    }
    Ok(out)
}

/// The catalogue's quota rows of each taxon, in the taxa's order (a row may come twice).
async fn catalogue_rows_of(
    db: &Db,
    taxa: impl IntoIterator<Item = i64>,
) -> Result<Vec<sync::model::QuotaRow>, ReportError> {
    let mut rows = Vec::new();
    for id in taxa {
        rows.extend(sync::store::quotas_of(db, id).await?);
    }
    Ok(rows)
}

/// Of `candidates`, the quotas a comparison reads once the files' names are resolved: the
/// ledger's, and the catalogue's of the taxa the names count for (with a taxon asked, every
/// candidate: they are already its).
async fn quotas_of_names(
    db: &Db,
    query: &TradeQuery,
    candidates: &[TradeQuota],
    names: &NameMap,
) -> Result<Vec<TradeQuota>, ReportError> {
    if query.taxon.is_some() {
        return Ok(candidates.to_vec());
    }
    let published: HashMap<i64, &TradeQuota> = candidates
        .iter()
        .filter_map(|q| match q.origin {
            QuotaOrigin::Catalogue { speciesplus_id } => Some((speciesplus_id, q)),
            QuotaOrigin::Ledger { .. } => None,
        })
        .collect();
    let mut out: Vec<TradeQuota> = candidates
        .iter()
        .filter(|q| matches!(q.origin, QuotaOrigin::Ledger { .. }))
        .cloned()
        .collect();
    let taxa: BTreeSet<i64> = names
        .resolutions()
        .flat_map(|r| r.counts_for.iter().map(|t| i64::from(t.get())))
        .collect();
    let mut seen = HashSet::new();
    for row in catalogue_rows_of(db, taxa).await? {
        if seen.insert(row.id)
            && let Some(q) = published.get(&row.id)
        {
            out.push((*q).clone());
        }
    }
    Ok(out)
}

/// The catalogue's names of the taxa of `quotas` and of `tabulate`: each taxon's, those of the
/// taxa below it and of their synonyms, a higher taxon's also as the Trade Database writes it
/// for the whole taxon ("Python spp."), each resolved as a reported name would be.
async fn known_names(
    db: &Db,
    quotas: &[TradeQuota],
    tabulate: Option<TaxonId>,
) -> Result<NameMap, ReportError> {
    let roots: BTreeSet<i64> = quotas
        .iter()
        .map(|q| q.taxon_id)
        .chain(tabulate)
        .map(|t| i64::from(t.get()))
        .collect();
    let mut ids: BTreeSet<i64> = BTreeSet::new();
    for root in roots {
        let Some(taxon) = sync::store::taxon(db, root).await? else {
            continue;
        };
        ids.insert(root);
        // Only a higher taxon (a name of one word) has taxa below it by name; the catalogue
        // is scanned for each.
        if !taxon.full_name.contains(' ') {
            ids.extend(sync::store::descendants_of(db, &taxon.full_name).await?);
        }
    }
    let mut all = ids.clone();
    for id in ids {
        all.extend(sync::store::synonyms_of(db, id).await?);
    }
    let mut spellings: BTreeSet<String> = BTreeSet::new();
    for id in all {
        if let Some(t) = sync::store::taxon(db, id).await? {
            if !t.full_name.contains(' ') {
                spellings.insert(format!("{} spp.", t.full_name));
            }
            spellings.insert(t.full_name);
        }
    }
    resolve_names(db, spellings.iter().map(String::as_str).collect()).await
}

async fn taxon_name(db: &Db, id: i64) -> Result<String, ReportError> {
    Ok(sync::store::taxon(db, id)
        .await?
        .map_or_else(|| format!("taxon {id}"), |t| t.full_name))
}

async fn ledger_quota(db: &Db, q: &quota::QuotaView) -> Result<TradeQuota, ReportError> {
    let stored = |message: String| ReportError::Stored {
        quota_id: q.id,
        message,
    };
    let code = |c: &Option<String>| c.clone();
    Ok(TradeQuota {
        origin: QuotaOrigin::Ledger {
            id: q.id,
            speciesplus: q.origin == "speciesplus",
        },
        exporter: CountryCode::parse(&q.exporter).map_err(|e| stored(e.to_string()))?,
        taxon_id: u32::try_from(q.taxon_id)
            .map(TaxonId::new)
            .map_err(|e| stored(e.to_string()))?,
        taxon_name: taxon_name(db, q.taxon_id).await?,
        period: Period::new(q.period_start, q.period_end).map_err(|e| stored(e.to_string()))?,
        unit: UnitCode::parse(&q.unit).map_err(|e| stored(e.to_string()))?,
        limit: q.limit,
        term: code(&q.term)
            .map(|t| TermCode::parse(&t))
            .transpose()
            .map_err(|e| stored(e.to_string()))?,
        source: code(&q.source)
            .map(|s| SourceCode::parse(&s))
            .transpose()
            .map_err(|e| stored(e.to_string()))?,
        purpose: code(&q.purpose)
            .map(|p| PurposeCode::parse(&p))
            .transpose()
            .map_err(|e| stored(e.to_string()))?,
        scope_known: q.origin != "speciesplus",
    })
}

/// A published quota as the ledger would import it (the calendar year of its publication, no
/// term, source or purpose known); `None` when outside the query or not readable (no
/// publication date, an unknown unit or country, a malformed value).
async fn catalogue_quota(
    db: &Db,
    row: &sync::model::QuotaRow,
    query: &TradeQuery,
) -> Result<Option<TradeQuota>, ReportError> {
    let (Some(taxon), Some(published)) = (row.taxon_concept_id, row.publication_date) else {
        return Ok(None);
    };
    let year = chrono::Datelike::year(&published);
    let (Ok(exporter), Ok(unit), Ok(taxon_id)) = (
        CountryCode::parse(&row.country),
        UnitCode::parse(row.unit_code.as_deref().unwrap_or("")),
        u32::try_from(taxon),
    ) else {
        return Ok(None);
    };
    if query.exporter.is_some_and(|e| e != exporter) || query.year.is_some_and(|y| y != year) {
        return Ok(None);
    }
    let limit = match row.quota.as_deref() {
        Some(v) => match Decimal::from_str(v) {
            Ok(d) => Some(d),
            Err(_) => return Ok(None),
        },
        None => None,
    };
    Ok(Some(TradeQuota {
        origin: QuotaOrigin::Catalogue {
            speciesplus_id: row.id,
        },
        exporter,
        taxon_id: TaxonId::new(taxon_id),
        taxon_name: taxon_name(db, taxon).await?,
        period: Period::calendar_year(year),
        unit,
        limit,
        term: None,
        source: None,
        purpose: None,
        scope_known: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameters_are_read_with_their_names() {
        let q = parse_trade_query(vec!["a.csv".into()], Some("gh"), Some("2023"), Some("1001"))
            .unwrap();
        assert_eq!(q.exporter.map(CountryCode::as_str), Some("GH"));
        assert_eq!((q.year, q.taxon), (Some(2023), Some(TaxonId::new(1001))));
        assert_eq!(
            parse_trade_query(vec![], None, None, None).unwrap_err().0,
            "files"
        );
        let f = || vec![PathBuf::from("a.csv")];
        assert_eq!(
            parse_trade_query(f(), Some("QQ"), None, None)
                .unwrap_err()
                .0,
            "exporter"
        );
        assert_eq!(
            parse_trade_query(f(), None, Some("1970"), None)
                .unwrap_err()
                .0,
            "year"
        );
        assert_eq!(
            parse_trade_query(f(), None, None, Some("x")).unwrap_err().0,
            "taxon"
        );
    }

    #[test]
    fn a_name_reported_for_a_whole_genus_is_looked_up_as_the_genus() {
        assert_eq!(catalogue_name(" Python spp. "), "Python");
        assert_eq!(catalogue_name("Python regius"), "Python regius");
    }
}
