//! The HTML report's structure: one document with the summary table (a row per quota), a
//! section per quota with its chart and months, the trends, and nothing fetched from anywhere.

use crate::support::{seeded, trend};

#[test]
fn the_report_is_one_self_contained_document_with_every_table_and_chart() {
    let html = report::html::quota_use_report(&seeded(), &[trend()]).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.contains("<title>Quota use on 2026-05-15</title>"));
    // Nothing to fetch: no script, no external stylesheet, image or link. plotters' SVG names
    // its XML namespace with an http URL: that is a name, not a fetch.
    let without_namespaces = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for outside in [
        "<script", "<link", "<img", "<iframe", "http:", "https:", "src=", "href=", "@import",
        "url(",
    ] {
        assert!(
            !without_namespaces.contains(outside),
            "the report refers to something outside it: {outside}"
        );
    }
    let summary_rows: Vec<&str> = html
        .split("<tr data-quota-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(summary_rows, vec!["3", "1", "2", "4"]);
    assert_eq!(html.matches("<tr data-quota-id=").count(), 4);
    assert_eq!(
        html.matches(" class=\"flagged\"").count(),
        3,
        "MZ, TZ and ZA are flagged"
    );
    assert_eq!(html.matches("<section class=\"quota\"").count(), 4);
    assert_eq!(html.matches("<section class=\"trend\"").count(), 1);
    // Four quota charts and one trend, inlined.
    assert_eq!(html.matches("<figure class=\"chart\"><svg").count(), 5);
    assert!(html.contains(
        "<tr><td>2026-05</td><td class=\"number\">250</td><td class=\"number\">850</td>"
    ));
    assert!(html.ends_with("</body>\n</html>\n"));
}

#[test]
fn text_from_the_rows_is_escaped() {
    let mut inputs = crate::support::inputs();
    inputs[0].quota.taxon_name = "Aloe <ferox> & \"friends\"".to_owned();
    let review = report::review(crate::support::d(crate::support::TODAY), &inputs);
    let html = report::html::quota_use_report(&review, &[]).unwrap();
    assert!(html.contains("Aloe &lt;ferox&gt; &amp; &quot;friends&quot;"));
    assert!(!html.contains("<ferox>"));
}
