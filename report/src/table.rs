//! The review's tables: a text table for a terminal, and polars frames written as CSV (what a
//! spreadsheet opens) or Parquet. Exact amounts stay exact: they are written as decimal text,
//! never as floats; dates are dates; shares are floats.

use std::io::Write;

use polars::prelude::{
    Column, CsvWriter, DataFrame, DateChunked, IntoColumn, ParquetWriter, SerWriter,
};
use rust_decimal::Decimal;

use crate::quota_use::{QuotaUseReview, QuotaUseRow};

/// Which of the review's two tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// One row per quota.
    Quotas,
    /// One row per quota and month.
    Months,
}

/// The review's rows as a polars frame (one row per quota); flags joined by `;`.
pub fn quotas_frame(review: &QuotaUseReview) -> crate::Result<DataFrame> {
    let rows = &review.rows;
    let text = |name: &str, f: &dyn Fn(&QuotaUseRow) -> Option<String>| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let amount = |name: &str, f: &dyn Fn(&QuotaUseRow) -> Option<Decimal>| {
        text(name, &|r| f(r).map(|d| d.to_string()))
    };
    let columns = vec![
        Column::new(
            "quota_id".into(),
            rows.iter().map(|r| r.quota_id).collect::<Vec<_>>(),
        ),
        text("exporter", &|r| Some(r.exporter.as_str().to_owned())),
        text("taxon_id", &|r| Some(r.taxon_id.to_string())),
        text("taxon_name", &|r| Some(r.taxon_name.clone())),
        DateChunked::from_naive_date("period_start".into(), rows.iter().map(|r| r.period_start))
            .into_column(),
        DateChunked::from_naive_date(
            "period_last_day".into(),
            rows.iter().map(|r| r.period_last_day),
        )
        .into_column(),
        text("unit", &|r| Some(r.unit.clone())),
        text("term", &|r| r.term.clone()),
        text("source", &|r| r.source.clone()),
        text("purpose", &|r| r.purpose.clone()),
        amount("limit", &|r| r.limit),
        amount("held", &|r| Some(r.held)),
        amount("committed", &|r| Some(r.committed)),
        amount("exported", &|r| Some(r.exported)),
        amount("used", &|r| Some(r.used)),
        amount("available", &|r| r.available),
        Column::new(
            "used_share".into(),
            rows.iter().map(|r| r.used_share).collect::<Vec<_>>(),
        ),
        Column::new(
            "period_elapsed_share".into(),
            rows.iter()
                .map(|r| r.period_elapsed_share)
                .collect::<Vec<_>>(),
        ),
        DateChunked::from_naive_date_options(
            "runs_out_on".into(),
            rows.iter().map(|r| r.runs_out_on),
        )
        .into_column(),
        Column::new(
            "refused_requests".into(),
            rows.iter().map(|r| r.refused_requests).collect::<Vec<_>>(),
        ),
        amount("refused_quantity", &|r| Some(r.refused_quantity)),
        text("published", &|r| r.published.clone()),
        text("flags", &|r| {
            Some(
                r.flags
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            )
        }),
    ];
    Ok(DataFrame::new(rows.len(), columns)?)
}

/// Use by month: one row per quota and month.
pub fn months_frame(review: &QuotaUseReview) -> crate::Result<DataFrame> {
    let months: Vec<(i64, &crate::quota_use::MonthUse)> = review
        .rows
        .iter()
        .flat_map(|r| r.months.iter().map(move |m| (r.quota_id, m)))
        .collect();
    let columns = vec![
        Column::new(
            "quota_id".into(),
            months.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ),
        Column::new(
            "month".into(),
            months
                .iter()
                .map(|(_, m)| m.month.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "used".into(),
            months
                .iter()
                .map(|(_, m)| m.used.to_string())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "cumulative".into(),
            months
                .iter()
                .map(|(_, m)| m.cumulative.to_string())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "refused_requests".into(),
            months
                .iter()
                .map(|(_, m)| m.refused_requests)
                .collect::<Vec<_>>(),
        ),
    ];
    Ok(DataFrame::new(months.len(), columns)?)
}

fn frame(review: &QuotaUseReview, table: Table) -> crate::Result<DataFrame> {
    match table {
        Table::Quotas => quotas_frame(review),
        Table::Months => months_frame(review),
    }
}

/// Writes one of the review's tables as CSV with a header row.
pub fn write_csv<W: Write>(review: &QuotaUseReview, table: Table, out: W) -> crate::Result<()> {
    let mut df = frame(review, table)?;
    CsvWriter::new(out).include_header(true).finish(&mut df)?;
    Ok(())
}

/// Writes one of the review's tables as Parquet.
pub fn write_parquet<W: Write>(review: &QuotaUseReview, table: Table, out: W) -> crate::Result<()> {
    let mut df = frame(review, table)?;
    ParquetWriter::new(out).finish(&mut df)?;
    Ok(())
}

/// The headings and cells of the text and HTML tables, one row per quota.
pub fn display_rows(review: &QuotaUseReview) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let headings = vec![
        "id",
        "exporter",
        "taxon",
        "period",
        "unit",
        "limit",
        "held",
        "used",
        "available",
        "used %",
        "runs out",
        "refused",
        "Species+",
        "flags",
    ];
    let rows = review
        .rows
        .iter()
        .map(|r| {
            vec![
                r.quota_id.to_string(),
                r.exporter.as_str().to_owned(),
                r.taxon_name.clone(),
                format!("{} to {}", r.period_start, r.period_last_day),
                r.unit.clone(),
                r.limit
                    .map_or_else(|| "in preparation".to_owned(), |l| l.to_string()),
                r.held.to_string(),
                r.used.to_string(),
                r.available.map_or_else(String::new, |a| a.to_string()),
                r.used_share
                    .map_or_else(String::new, |s| format!("{:.1}", s * 100.0)),
                r.runs_out_on.map_or_else(String::new, |d| d.to_string()),
                if r.refused_requests == 0 {
                    String::new()
                } else {
                    format!("{} ({})", r.refused_requests, r.refused_quantity)
                },
                r.published.clone().unwrap_or_default(),
                r.flags
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    (headings, rows)
}

/// A table for a terminal: columns padded to their widest cell, numbers as exact decimals.
pub fn text_table(review: &QuotaUseReview) -> String {
    let (headings, rows) = display_rows(review);
    let mut widths: Vec<usize> = headings.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = format!("Quota use on {}\n", review.today);
    out += &line(headings.clone());
    out += &line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    );
    for row in &rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}
