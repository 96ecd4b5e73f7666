//! The comparison as one self-contained HTML page (the same rules as the quota-use report: no
//! script, nothing fetched): the quotas with their verdicts, a multi-year trend chart per
//! taxon and exporter (quota, exporter- and importer-reported, inlined SVG), the rows not
//! compared, the names not resolved, the malformed rows and the comparative tabulation.

use std::fmt::Write as _;

use super::TradeComparison;
use super::render::{quota_rows, tabulation_rows, trends};
use crate::chart::{self, ImageFormat};
use crate::html::{STYLE, escape, svg_of};

fn table(id: &str, headings: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = format!("<table id=\"{id}\">\n<thead><tr>");
    for h in headings {
        let _ = write!(html, "<th>{}</th>", escape(h));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

/// The whole page.
pub fn trade_report(c: &TradeComparison) -> crate::Result<String> {
    let mut html = String::new();
    let title = "Export quotas against the CITES Trade Database";
    let rows: u64 = c.files.iter().map(|f| f.rows).sum();
    // Writing to a String cannot fail: the results of write! are discarded.
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p>{files} files, {rows} shipment rows summed, {bad} malformed. Re-exports and \
         confiscated specimens (source I) are left out, as Species+'s compliance tool does; \
         amounts are exact, in each quota's unit. A quota whose scope is unknown (from \
         Species+) is compared on every term and needs review when above its limit.</p>\n\
         <h2>Quotas</h2>\n",
        files = c.files.len(),
        bad = c.malformed_total,
    );
    let (headings, quota_table) = quota_rows(c);
    html.push_str(&table("trade-quotas", &headings, &quota_table));
    let series = trends(c);
    if !series.is_empty() {
        html.push_str("<h2>Trends</h2>\n");
        for (i, s) in series.iter().enumerate() {
            let svg = svg_of(chart::trend(s, ImageFormat::Svg)?);
            let _ = write!(
                html,
                "<section class=\"trend\" id=\"trade-trend-{i}\">\n<h3>{} from {}</h3>\n\
                 <figure class=\"chart\">{svg}</figure>\n</section>\n",
                escape(&s.taxon_name),
                s.exporter.as_str(),
            );
        }
    }
    let not_compared: Vec<Vec<String>> = c
        .quotas
        .iter()
        .flat_map(|q| {
            q.not_compared.iter().map(move |n| {
                vec![
                    super::render::quota_label(q),
                    n.year.to_string(),
                    n.taxon.to_string(),
                    n.term.to_string(),
                    n.unit.to_string(),
                    n.quantity.to_string(),
                    n.rows.to_string(),
                    n.reason.clone(),
                ]
            })
        })
        .collect();
    if !not_compared.is_empty() {
        html.push_str("<h2>Rows not compared</h2>\n");
        html.push_str(&table(
            "trade-not-compared",
            &[
                "quota", "year", "taxon", "term", "unit", "quantity", "rows", "reason",
            ],
            &not_compared,
        ));
    }
    if !c.unresolved.is_empty() {
        html.push_str("<h2>Names not in the catalogue</h2>\n");
        let rows: Vec<Vec<String>> = c
            .unresolved
            .iter()
            .map(|u| vec![u.name.clone(), u.rows.to_string()])
            .collect();
        html.push_str(&table("trade-unresolved", &["name", "rows"], &rows));
    }
    if !c.malformed.is_empty() {
        let _ = writeln!(
            html,
            "<h2>Malformed rows ({} in all)</h2>",
            c.malformed_total
        );
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
        html.push_str(&table(
            "trade-malformed",
            &["file", "line", "problems"],
            &rows,
        ));
    }
    if let Some(t) = &c.tabulation {
        let _ = writeln!(
            html,
            "<h2>Comparative tabulation of taxon {}</h2>",
            t.taxon_id
        );
        let (headings, rows) = tabulation_rows(c);
        html.push_str(&table("trade-tabulation", &headings, &rows));
    }
    html.push_str("</body>\n</html>\n");
    Ok(html)
}
