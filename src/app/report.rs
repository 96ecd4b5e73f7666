//! The quota-use review of both interfaces (`cites report quota-use`, `GET
//! /v1/reports/quota-use`): the one reading of its parameters, and the rows the `report` crate
//! reviews, gathered from the ledger and the catalogue (the quotas of an exporter and year,
//! each quota's whole audit ledger, Species+'s published value), as of the clock's today.

use std::collections::HashMap;

use db::Db;
use domain::{CountryCode, Date, Period, PurposeCode, SourceCode, TaxonId, TermCode, UnitCode};
use quota::{LedgerEntry, QuotaView};
use report::{
    HistoryEntry, PublishedLimit, QuotaInput, QuotaUseInput, QuotaUseReview, RefusalRecord,
};

use crate::app::quota::{taxa_governing, unknown_taxon};

pub mod trade;
pub mod trends;

/// What a quota-use review is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUseQuery {
    pub exporter: CountryCode,
    /// Quotas in force during part of this calendar year.
    pub year: i32,
    /// A Species+ taxon id, read as `/v1/quotas` reads it: the quotas declared on it, on the
    /// concepts merged into it and, for a synonym, on its accepted taxon.
    pub taxon: Option<TaxonId>,
}

/// Reads the parameters as the command line and the HTTP route both give them (text, absent
/// when not given); an error is the parameter at fault (`exporter`, `year`, `taxon`) with its
/// message.
pub fn parse_query(
    exporter: Option<&str>,
    year: Option<&str>,
    taxon: Option<&str>,
) -> Result<QuotaUseQuery, (&'static str, String)> {
    let exporter = exporter.ok_or((
        "exporter",
        "exporter is required: an ISO 3166-1 alpha-2 code such as NA".to_owned(),
    ))?;
    let exporter = CountryCode::parse(exporter)
        .map_err(|e| ("exporter", e.for_field("exporter").to_string()))?;
    let years = quota::QUOTA_YEARS;
    let accepted = format!("accepted {} to {}", years.start(), years.end());
    let year = year.ok_or(("year", format!("year is required: {accepted}")))?;
    let year = year
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|y| years.contains(y))
        .ok_or(("year", format!("invalid year {year:?}: {accepted}")))?;
    let taxon = taxon
        .map(|t| TaxonId::parse(t).map_err(|e| ("taxon", e.for_field("taxon").to_string())))
        .transpose()?;
    Ok(QuotaUseQuery {
        exporter,
        year,
        taxon,
    })
}

/// Why a review could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Ledger(#[from] quota::Error),
    #[error(transparent)]
    Catalogue(#[from] sync::Error),
    /// The taxon asked for is not in the catalogue and no quota is declared on it.
    #[error("{0}")]
    UnknownTaxon(String),
    /// A quota the ledger holds does not read as `domain` values (a stored code no list has).
    #[error("quota {quota_id} cannot be reviewed: {message}")]
    Stored { quota_id: i64, message: String },
}

/// The review of the quotas `query` asks for, as of `today`.
pub async fn quota_use(
    db: &Db,
    ledger: &quota::Ledger,
    today: Date,
    query: &QuotaUseQuery,
) -> Result<QuotaUseReview, ReportError> {
    Ok(report::review(
        today,
        &quota_use_inputs(db, ledger, query).await?,
    ))
}

/// The rows of the review: each quota with its history, refusals and published value.
pub async fn quota_use_inputs(
    db: &Db,
    ledger: &quota::Ledger,
    query: &QuotaUseQuery,
) -> Result<Vec<QuotaUseInput>, ReportError> {
    let taxa = match query.taxon {
        Some(t) => Some(taxa_governing(db, t).await?),
        None => None,
    };
    let quotas = ledger
        .quotas(
            Some(query.exporter.as_str()),
            taxa.as_deref(),
            Some(query.year),
        )
        .await?;
    if let Some(t) = query.taxon
        && quotas.is_empty()
        && let Some(why) = unknown_taxon(db, t).await?
    {
        return Err(ReportError::UnknownTaxon(why));
    }
    let mut names: HashMap<i64, String> = HashMap::new();
    let mut inputs = Vec::with_capacity(quotas.len());
    for q in quotas {
        let name = match names.get(&q.taxon_id) {
            Some(n) => n.clone(),
            None => {
                let n = sync::store::taxon(db, q.taxon_id)
                    .await?
                    .map_or_else(|| format!("taxon {}", q.taxon_id), |t| t.full_name);
                names.insert(q.taxon_id, n.clone());
                n
            }
        };
        let (_, value) = ledger.quota_with_speciesplus_value(q.id).await?;
        let (history, refusals) = history(ledger, q.id).await?;
        inputs.push(QuotaUseInput {
            quota: quota_input(&q, name, value)?,
            history,
            refusals,
        });
    }
    Ok(inputs)
}

/// A refusal's event in the audit ledger: it moved no counter, and is demand turned away.
fn is_refusal(event: &str) -> bool {
    event == "reject" || event.ends_with("_refused")
}

/// The whole audit ledger of `quota_id`, page by page: the entries that moved its counters
/// and its refusals (a declaration or revision moves none and is left out).
async fn history(
    ledger: &quota::Ledger,
    quota_id: i64,
) -> Result<(Vec<HistoryEntry>, Vec<RefusalRecord>), ReportError> {
    let (mut moved, mut refused) = (Vec::new(), Vec::new());
    let mut after = 0;
    loop {
        let page = ledger
            .history_page(quota_id, after, quota::HISTORY_PAGE_MAX)
            .await?;
        for e in page.entries {
            sort_entry(e, &mut moved, &mut refused);
        }
        match page.next_after {
            Some(next) => after = next,
            None => return Ok((moved, refused)),
        }
    }
}

fn sort_entry(e: LedgerEntry, moved: &mut Vec<HistoryEntry>, refused: &mut Vec<RefusalRecord>) {
    if is_refusal(&e.event) {
        refused.push(RefusalRecord {
            at: e.at,
            requested: e.requested,
            reason: e.refusal_message.unwrap_or(e.event),
        });
    } else if !(e.delta_held.is_zero() && e.delta_committed.is_zero() && e.delta_exported.is_zero())
    {
        moved.push(HistoryEntry {
            at: e.at,
            delta_held: e.delta_held,
            delta_committed: e.delta_committed,
            delta_exported: e.delta_exported,
        });
    }
}

/// A ledger quota in `domain` values; `value` is what the ledger says Species+ published
/// (`None`: a national quota; `Some(None)`: in preparation).
fn quota_input(
    q: &QuotaView,
    taxon_name: String,
    value: Option<Option<rust_decimal::Decimal>>,
) -> Result<QuotaInput, ReportError> {
    let stored = |message: String| ReportError::Stored {
        quota_id: q.id,
        message,
    };
    let exporter = CountryCode::parse(&q.exporter).map_err(|e| stored(e.to_string()))?;
    let taxon_id = u32::try_from(q.taxon_id)
        .map(TaxonId::new)
        .map_err(|e| stored(format!("taxon id {}: {e}", q.taxon_id)))?;
    let period = Period::new(q.period_start, q.period_end).map_err(|e| stored(e.to_string()))?;
    let unit = UnitCode::parse(&q.unit).map_err(|e| stored(e.to_string()))?;
    Ok(QuotaInput {
        id: q.id,
        exporter,
        taxon_id,
        taxon_name,
        period,
        unit,
        limit: q.limit,
        held: q.held,
        committed: q.committed,
        exported: q.exported,
        term: code(&q.term, TermCode::parse).map_err(stored)?,
        source: code(&q.source, SourceCode::parse).map_err(stored)?,
        purpose: code(&q.purpose, PurposeCode::parse).map_err(stored)?,
        published: value.map(|v| match v {
            None => PublishedLimit::InPreparation,
            Some(amount) => PublishedLimit::Value { amount, unit },
        }),
    })
}

/// A stored code of one of `domain`'s lists, if the quota has one.
fn code<T>(c: &Option<String>, parse: fn(&str) -> domain::Result<T>) -> Result<Option<T>, String> {
    c.as_deref()
        .map(parse)
        .transpose()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameters_are_read_once_for_both_interfaces() {
        let q = parse_query(Some("na"), Some("2026"), Some("4521")).unwrap();
        assert_eq!(q.exporter.as_str(), "NA");
        assert_eq!(q.year, 2026);
        assert_eq!(q.taxon, Some(TaxonId::new(4521)));
        assert_eq!(
            parse_query(Some("NA"), Some("1974"), None).unwrap_err().0,
            "year"
        );
        assert_eq!(
            parse_query(Some("NA"), Some("twenty"), None).unwrap_err().0,
            "year"
        );
        assert_eq!(parse_query(Some("NA"), None, None).unwrap_err().0, "year");
        assert_eq!(
            parse_query(None, Some("2026"), None).unwrap_err().0,
            "exporter"
        );
        assert_eq!(
            parse_query(Some("QQ"), Some("2026"), None).unwrap_err().0,
            "exporter"
        );
        assert_eq!(
            parse_query(Some("NA"), Some("2026"), Some("x"))
                .unwrap_err()
                .0,
            "taxon"
        );
    }

    #[test]
    fn refusals_are_told_apart_from_movements() {
        for e in [
            "reject",
            "commit_refused",
            "export_refused",
            "close_refused",
        ] {
            assert!(is_refusal(e), "{e}");
        }
        for e in ["reserve", "commit", "export", "declare", "expire"] {
            assert!(!is_refusal(e), "{e}");
        }
    }
}
