//! The multi-year trends of a quota-use review: for each taxon, exporter, unit and scope the
//! review holds, the ledger's limit and use (box 11a) in each of the earlier years, each quota
//! counted in the year its period starts.

use std::collections::{BTreeMap, HashSet};

use domain::{PurposeCode, SourceCode, TermCode, UnitCode};
use report::{QuotaUseReview, TrendPoint, TrendSeries};

use super::{QuotaUseQuery, ReportError};
use crate::app::quota::taxa_governing;

/// Years a trend covers, the review's own included: ten, twice the five years the Review of
/// Significant Trade looks back over, so a change of pace shows against what came before.
pub const TREND_YEARS: i32 = 10;

/// What makes quotas of different years one line: taxon, unit and scope (term, source,
/// purpose).
type SeriesKey = (i64, String, Option<String>, Option<String>, Option<String>);

/// The trends of the quotas `review` holds, over the [`TREND_YEARS`] up to the review's year.
/// A series with one year only is left out: it would be a point, not a trend.
pub async fn quota_use_trends(
    db: &db::Db,
    ledger: &quota::Ledger,
    query: &QuotaUseQuery,
    review: &QuotaUseReview,
) -> Result<Vec<TrendSeries>, ReportError> {
    let wanted: BTreeMap<SeriesKey, (String, UnitCode)> = review
        .rows
        .iter()
        .filter_map(|r| {
            let unit = UnitCode::parse(&r.unit).ok()?;
            let key = (
                i64::from(r.taxon_id.get()),
                r.unit.clone(),
                r.term.clone(),
                r.source.clone(),
                r.purpose.clone(),
            );
            Some((
                key,
                (
                    series_name(&r.taxon_name, &r.term, &r.source, &r.purpose),
                    unit,
                ),
            ))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let taxa = match query.taxon {
        Some(t) => Some(taxa_governing(db, t).await?),
        None => None,
    };
    let mut seen = HashSet::new();
    let mut years: BTreeMap<SeriesKey, BTreeMap<i32, TrendPoint>> = BTreeMap::new();
    for year in (query.year - TREND_YEARS + 1)..=query.year {
        let quotas = ledger
            .quotas(Some(query.exporter.as_str()), taxa.as_deref(), Some(year))
            .await?;
        for q in quotas {
            let start = chrono::Datelike::year(&q.period_start);
            if start > query.year || !seen.insert(q.id) {
                continue;
            }
            // As the review's rows spell them: each code as its list writes it.
            let key = (
                q.taxon_id,
                UnitCode::parse(&q.unit).map_or(q.unit.clone(), |u| u.code().to_owned()),
                canonical(q.term, TermCode::parse, TermCode::code),
                canonical(q.source, SourceCode::parse, SourceCode::code),
                canonical(q.purpose, PurposeCode::parse, PurposeCode::code),
            );
            if !wanted.contains_key(&key) {
                continue;
            }
            let point = years
                .entry(key)
                .or_default()
                .entry(start)
                .or_insert(TrendPoint {
                    year: start,
                    quota: Some(rust_decimal::Decimal::ZERO),
                    used: Some(rust_decimal::Decimal::ZERO),
                    exporter_reported: None,
                    importer_reported: None,
                });
            // A year with a quota in preparation has no limit to draw.
            point.quota = point.quota.zip(q.limit).map(|(a, b)| a + b);
            point.used = point.used.map(|u| u + q.box_11a_used);
        }
    }
    Ok(years
        .into_iter()
        .filter(|(_, points)| points.len() > 1)
        .filter_map(|(key, points)| {
            let (taxon_name, unit) = wanted.get(&key)?.clone();
            Some(TrendSeries {
                taxon_name,
                exporter: query.exporter,
                unit,
                points: points.into_values().collect(),
            })
        })
        .collect())
}

/// A stored code as its list writes it (a code no list has stays as stored, and matches no row).
fn canonical<T>(
    code: Option<String>,
    parse: fn(&str) -> domain::Result<T>,
    write: fn(T) -> &'static str,
) -> Option<String> {
    code.map(|c| parse(&c).map_or(c, |t| write(t).to_owned()))
}

/// The taxon's name, with the quota's scope when it has one.
fn series_name(
    taxon: &str,
    term: &Option<String>,
    source: &Option<String>,
    purpose: &Option<String>,
) -> String {
    let scope: Vec<String> = [("term", term), ("source", source), ("purpose", purpose)]
        .into_iter()
        .filter_map(|(what, code)| code.as_ref().map(|c| format!("{what} {c}")))
        .collect();
    if scope.is_empty() {
        taxon.to_owned()
    } else {
        format!("{taxon} ({})", scope.join(", "))
    }
}
