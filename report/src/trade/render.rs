//! The comparison's tables: text for a terminal, CSV through polars (amounts as decimal text),
//! and the multi-year trend series of each taxon and exporter for the charts.

use std::collections::BTreeMap;
use std::io::Write;

use polars::prelude::{Column, CsvWriter, DataFrame, SerWriter};

use super::{QuotaComparison, QuotaOrigin, TradeComparison};
use crate::input::{TrendPoint, TrendSeries};

/// How a quota is named in the tables.
pub fn quota_label(c: &QuotaComparison) -> String {
    match c.origin {
        QuotaOrigin::Ledger { id, speciesplus } if speciesplus => format!("ledger {id} (Species+)"),
        QuotaOrigin::Ledger { id, .. } => format!("ledger {id}"),
        QuotaOrigin::Catalogue { speciesplus_id } => format!("Species+ {speciesplus_id}"),
    }
}

/// The quota's term, source and purpose as the tables show them.
pub fn scope(c: &QuotaComparison) -> String {
    if !c.scope_known {
        return "scope unknown".to_owned();
    }
    let part = |name: &str, v: Option<&str>| v.map(|v| format!("{name} {v}"));
    let parts: Vec<String> = [
        part("term", c.term.map(|t| t.code())),
        part("source", c.source.map(|s| s.code())),
        part("purpose", c.purpose.map(|p| p.code())),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "all terms, sources, purposes".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The headings and cells of the per-quota table.
pub fn quota_rows(c: &TradeComparison) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let headings = vec![
        "quota",
        "exporter",
        "taxon",
        "year",
        "scope",
        "unit",
        "limit",
        "exporter-reported",
        "importer-reported",
        "verdict",
        "flags",
    ];
    let rows = c
        .quotas
        .iter()
        .map(|q| {
            vec![
                quota_label(q),
                q.exporter.as_str().to_owned(),
                q.taxon_name.clone(),
                q.year.to_string(),
                scope(q),
                q.unit.code().to_owned(),
                q.limit
                    .map_or_else(|| "in preparation".to_owned(), |l| l.to_string()),
                q.exporter_reported.to_string(),
                q.importer_reported.to_string(),
                verdict(q).to_owned(),
                q.flags
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    (headings, rows)
}

pub fn verdict(q: &QuotaComparison) -> &'static str {
    match q.verdict {
        super::Verdict::Exceeded => "exceeded",
        super::Verdict::Within => "within",
        super::Verdict::NeedsReview => "needs review",
    }
}

fn text_table(headings: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headings.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(&headings.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    out += &line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for row in rows {
        out += &line(row);
    }
    out
}

/// Everything for a terminal: the files read, the quotas, the rows not compared, the names
/// not resolved, the malformed rows and the tabulation.
pub fn text(c: &TradeComparison) -> String {
    let rows: u64 = c.files.iter().map(|f| f.rows).sum();
    let bytes: u64 = c.files.iter().map(|f| f.bytes).sum();
    let mut out = format!(
        "Trade Database comparison: {} files, {bytes} bytes, {rows} rows summed, {} malformed\n\n",
        c.files.len(),
        c.malformed_total
    );
    let (headings, table) = quota_rows(c);
    out += &text_table(&headings, &table);
    let not_compared: Vec<Vec<String>> = c
        .quotas
        .iter()
        .flat_map(|q| {
            q.not_compared.iter().map(move |n| {
                vec![
                    quota_label(q),
                    n.year.to_string(),
                    n.taxon.to_string(),
                    n.term.to_string(),
                    n.unit.to_string(),
                    format!("{:?}", n.reporter).to_lowercase(),
                    n.quantity.to_string(),
                    n.rows.to_string(),
                    n.reason.clone(),
                ]
            })
        })
        .collect();
    if !not_compared.is_empty() {
        out += "\nRows not compared\n";
        out += &text_table(
            &[
                "quota", "year", "taxon", "term", "unit", "reporter", "quantity", "rows", "reason",
            ],
            &not_compared,
        );
    }
    if !c.unresolved.is_empty() {
        out += "\nNames not in the catalogue\n";
        let rows: Vec<Vec<String>> = c
            .unresolved
            .iter()
            .map(|u| {
                let years: Vec<String> = u.years.iter().map(i32::to_string).collect();
                vec![u.name.clone(), u.rows.to_string(), years.join(" ")]
            })
            .collect();
        out += &text_table(&["name", "rows", "years"], &rows);
    }
    if c.malformed_total > 0 {
        out += &format!("\nMalformed rows ({} in all)\n", c.malformed_total);
        let rows: Vec<Vec<String>> = c
            .malformed
            .iter()
            .map(|m| {
                vec![
                    m.file.display().to_string(),
                    m.line.to_string(),
                    m.problems.join("; "),
                ]
            })
            .collect();
        out += &text_table(&["file", "line", "problems"], &rows);
    }
    if let Some(t) = &c.tabulation {
        out += &format!("\nComparative tabulation of taxon {}\n", t.taxon_id);
        let (headings, rows) = tabulation_rows(c);
        out += &text_table(&headings, &rows);
        let _ = t;
    }
    out
}

/// The headings and cells of the comparative tabulation (empty without one).
pub fn tabulation_rows(c: &TradeComparison) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let headings = vec![
        "year",
        "taxon",
        "importer",
        "exporter",
        "origin",
        "importer-reported",
        "exporter-reported",
        "term",
        "unit",
        "purpose",
        "source",
    ];
    let rows = c.tabulation.iter().flat_map(|t| &t.rows).map(|r| {
        vec![
            r.year.to_string(),
            r.taxon.clone(),
            r.importer.clone(),
            r.exporter.clone(),
            r.origin.clone(),
            r.importer_reported.to_string(),
            r.exporter_reported.to_string(),
            r.term.clone(),
            r.unit.clone(),
            r.purpose.clone(),
            r.source.clone(),
        ]
    });
    (headings, rows.collect())
}

/// One row per quota as CSV with a header row (amounts as exact decimal text).
pub fn write_csv<W: Write>(c: &TradeComparison, out: W) -> crate::Result<()> {
    let (headings, rows) = quota_rows(c);
    let columns: Vec<Column> = headings
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Column::new(
                (*h).into(),
                rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>(),
            )
        })
        .collect();
    let mut df = DataFrame::new(rows.len(), columns)?;
    CsvWriter::new(out).include_header(true).finish(&mut df)?;
    Ok(())
}

/// The years of each taxon, exporter, unit and scope: the quota, the exporter- and the
/// importer-reported totals, for the trend chart (a taxon and exporter with one year only
/// still gets its chart).
pub fn trends(c: &TradeComparison) -> Vec<TrendSeries> {
    let mut series: BTreeMap<(String, &str, &str, String), TrendSeries> = BTreeMap::new();
    for q in &c.quotas {
        let key = (
            q.taxon_name.clone(),
            q.exporter.as_str(),
            q.unit.code(),
            scope(q),
        );
        let s = series.entry(key).or_insert_with(|| TrendSeries {
            taxon_name: format!("{} ({})", q.taxon_name, scope(q)),
            exporter: q.exporter,
            unit: q.unit,
            points: Vec::new(),
        });
        s.points.push(TrendPoint {
            year: q.year,
            quota: q.limit,
            used: None,
            exporter_reported: Some(q.exporter_reported),
            importer_reported: Some(q.importer_reported),
        });
    }
    series.into_values().collect()
}
