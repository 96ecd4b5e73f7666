//! One self-contained HTML file: the review's table, each quota's use by month with its chart,
//! and the multi-year trends. Charts are inlined as SVG; there is no script, no stylesheet or
//! font to fetch, and no link to follow, so the file opens in any browser with no server and
//! no network.

use std::fmt::Write as _;

use crate::chart::{self, ImageFormat};
use crate::input::TrendSeries;
use crate::quota_use::{QuotaUseReview, QuotaUseRow};
use crate::table::display_rows;

pub(crate) const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #bbb;padding:0.25em 0.5em;text-align:left;vertical-align:top}\
th{background:#eee}td.number{text-align:right}tr.flagged td{background:#fff3e0}\
figure.chart{margin:0.5em 0}figure.chart svg{display:block;max-width:100%;height:auto}";

/// Escapes text for an HTML element or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole report as one HTML document.
pub fn quota_use_report(review: &QuotaUseReview, trends: &[TrendSeries]) -> crate::Result<String> {
    let mut html = String::new();
    let title = format!("Quota use on {}", review.today);
    // Writing to a String cannot fail: the results of write! are discarded below.
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n\
         <p>Used is box 11a of the permit: committed plus exported. Amounts are exact, in each \
         quota's unit; the run-out day is projected at the pace so far.</p>\n",
        t = escape(&title)
    );
    html.push_str(&summary_table(review));
    for row in &review.rows {
        html.push_str(&quota_section(review, row)?);
    }
    if !trends.is_empty() {
        html.push_str("<h2>Trends over the years</h2>\n");
        for (i, series) in trends.iter().enumerate() {
            let svg = svg_of(chart::trend(series, ImageFormat::Svg)?);
            let _ = write!(
                html,
                "<section class=\"trend\" id=\"trend-{i}\">\n<h3>{} from {}</h3>\n\
                 <figure class=\"chart\">{svg}</figure>\n</section>\n",
                escape(&series.taxon_name),
                series.exporter.as_str(),
            );
        }
    }
    html.push_str("</body>\n</html>\n");
    Ok(html)
}

/// plotters writes valid UTF-8; anything else would be a bug of its, shown rather than hidden.
pub(crate) fn svg_of(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

fn summary_table(review: &QuotaUseReview) -> String {
    let (headings, rows) = display_rows(review);
    let mut html = String::from("<table id=\"quota-use\">\n<thead><tr>");
    for h in headings {
        let _ = write!(html, "<th>{}</th>", escape(h));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (row, cells) in review.rows.iter().zip(rows) {
        let class = if row.flags.is_empty() {
            ""
        } else {
            " class=\"flagged\""
        };
        let _ = write!(html, "<tr data-quota-id=\"{}\"{class}>", row.quota_id);
        for cell in cells {
            let _ = write!(html, "<td>{}</td>", escape(&cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

fn quota_section(review: &QuotaUseReview, row: &QuotaUseRow) -> crate::Result<String> {
    let svg = svg_of(chart::quota_use(row, review.today, ImageFormat::Svg)?);
    let mut html = String::new();
    let _ = write!(
        html,
        "<section class=\"quota\" id=\"quota-{id}\">\n<h2>Quota {id}: {name} from {exporter}, \
         {start} to {last}</h2>\n<figure class=\"chart\">{svg}</figure>\n\
         <table class=\"months\">\n<thead><tr><th>month</th><th>used ({unit})</th>\
         <th>cumulative</th><th>refused requests</th></tr></thead>\n<tbody>\n",
        id = row.quota_id,
        name = escape(&row.taxon_name),
        exporter = row.exporter.as_str(),
        start = row.period_start,
        last = row.period_last_day,
        unit = escape(&row.unit),
    );
    for m in &row.months {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td>\
             <td class=\"number\">{}</td></tr>",
            m.month, m.used, m.cumulative, m.refused_requests
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
    Ok(html)
}
