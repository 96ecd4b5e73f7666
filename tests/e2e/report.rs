//! The quota-use review through both interfaces: `GET /v1/reports/quota-use` on both backends
//! (JSON rows with hand-checked figures, CSV with `Accept: text/csv`, a 422 naming the
//! parameter) and `cites report quota-use` on SQLite (the table, CSV, Parquet and HTML files).

use cites::app::keys::Role;
use db::Backend;
use polars::prelude::{ParquetReader, SerReader};
use serde_json::{Value, json};

use crate::support::{TestApp, cites, on_both_backends, repo_path, stderr, stdout};

async fn post(app: &TestApp, path: &str, role: Role, body: Value) -> Value {
    let res = app
        .http
        .post(format!("{}{path}", app.base))
        .bearer_auth(app.key(role))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

/// Namibia's 2026 quota of 10 *Loxodonta africana*: 6 reserved, 5 more refused (4 left), 5 of
/// the 6 committed (1 returns), 2 of those exported, then 2 more reserved. Every step at the
/// tests' today, 2026-11-27. Returns the quota's id.
async fn seed(app: &TestApp) -> i64 {
    let q = post(
        app,
        "/v1/quotas",
        Role::ScientificAuthority,
        json!({"client_key": "d1", "exporter": "NA", "taxon_id": 4521, "year": 2026, "limit": "10", "unit": ""}),
    )
    .await;
    let id = q["quota"]["id"].as_i64().unwrap();
    let path = format!("/v1/quotas/{id}/reservations");
    let reserve = |key: &str, q: &str| json!({"client_key": key, "quantity": q});
    let r1 = post(app, &path, Role::PermitOfficer, reserve("r1", "6")).await;
    let refused = post(app, &path, Role::PermitOfficer, reserve("r2", "5")).await;
    assert_eq!(refused["outcome"], "refused", "{refused}");
    let rid = r1["reservation"]["id"].as_i64().unwrap();
    let commit = json!({"client_key": "c1", "quantity": "5"});
    post(
        app,
        &format!("/v1/reservations/{rid}/commit"),
        Role::PermitOfficer,
        commit,
    )
    .await;
    let export = json!({"client_key": "e1", "quantity": "2"});
    post(
        app,
        &format!("/v1/reservations/{rid}/exports"),
        Role::PermitOfficer,
        export,
    )
    .await;
    post(app, &path, Role::PermitOfficer, reserve("r3", "2")).await;
    id
}

async fn the_review_answers_the_ledger_figures_as_json_and_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = seed(&app).await;
    let (s, body) = app
        .get(
            "/v1/reports/quota-use?exporter=NA&year=2026",
            Some(Role::Enforcement),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["today"], "2026-11-27", "{body}");
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    let row = &rows[0];
    // Held 2 (r3); committed 5 - 2 exported = 3; exported 2; used (box 11a) 3 + 2 = 5;
    // available 10 - 2 - 5 = 3; half the limit used; one refusal, of 5.
    let figures: Vec<&Value> = [
        "quota_id",
        "taxon_name",
        "limit",
        "held",
        "committed",
        "exported",
        "used",
        "available",
        "used_share",
        "refused_requests",
        "refused_quantity",
        "published",
        "runs_out_on",
    ]
    .iter()
    .map(|f| &row[*f])
    .collect();
    assert_eq!(
        figures,
        [
            &json!(id),
            &json!("Loxodonta africana"),
            &json!("10"),
            &json!("2"),
            &json!("3"),
            &json!("2"),
            &json!("5"),
            &json!("3"),
            &json!(0.5),
            &json!(1),
            &json!("5"),
            &Value::Null,
            // 5 used in the 331 days to 27 November: 10 would take 662, past the year's end.
            &Value::Null,
        ],
        "{row}"
    );
    assert_eq!(row["flags"], json!([]), "{row}");
    let months = row["months"].as_array().unwrap();
    assert_eq!(months.len(), 11, "January to November: {row}");
    assert_eq!(
        months[10],
        json!({"month": "2026-11", "used": "5", "cumulative": "5", "refused_requests": 1}),
        "{row}"
    );

    // The same row as CSV, read back by its header.
    let res = app
        .http
        .get(format!(
            "{}/v1/reports/quota-use?exporter=NA&year=2026&taxon=4521",
            app.base
        ))
        .bearer_auth(app.key(Role::ScientificAuthority))
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let data: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(data.len(), 1, "{csv}");
    let cell = |name: &str| {
        let i = header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name}: {csv}"));
        data[0][i]
    };
    assert_eq!(
        [
            "quota_id",
            "held",
            "committed",
            "exported",
            "used",
            "available"
        ]
        .map(cell),
        [id.to_string().as_str(), "2", "3", "2", "5", "3"],
        "{csv}"
    );

    // Another exporter's year has no rows; a bad year is a 422 naming it.
    let (s, body) = app
        .get(
            "/v1/reports/quota-use?exporter=ZA&year=2026",
            Some(Role::PermitOfficer),
        )
        .await;
    assert_eq!(
        (s, body["rows"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{body}"
    );
    for bad in [
        "exporter=NA&year=1974",
        "exporter=NA&year=2026x",
        "exporter=NA",
    ] {
        let (s, body) = app
            .get(
                &format!("/v1/reports/quota-use?{bad}"),
                Some(Role::Enforcement),
            )
            .await;
        assert_eq!(
            (s, &body["error"]["field"]),
            (422, &json!("year")),
            "{bad}: {body}"
        );
    }
    let (s, body) = app
        .get("/v1/reports/quota-use?exporter=NA&year=2026", None)
        .await;
    assert_eq!(s, 401, "{body}");
    app.stop().await;
}

on_both_backends!(the_review_answers_the_ledger_figures_as_json_and_csv);

/// The cell under `heading` in a row of the text table: cells start where their heading does.
fn column<'a>(header: &str, row: &'a str, heading: &str, next: &str) -> &'a str {
    let from = header.find(heading).unwrap();
    let to = header.find(next).unwrap();
    row.get(from..to.min(row.len())).unwrap_or("").trim()
}

#[test]
fn the_command_line_prints_the_table_and_writes_csv_parquet_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let sample = repo_path("fixtures/sample/catalogue.ndjson");
    let run = |args: &[&str]| {
        let o = cites(&url, args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o)
    };
    run(&["sync", "--from-dump", sample.to_str().unwrap()]);
    let set = run(&[
        "quota",
        "set",
        "--exporter",
        "NA",
        "--taxon",
        "4521",
        "--year",
        "2026",
        "--limit",
        "10",
        "--key",
        "q1",
    ]);
    let id = set.split_whitespace().nth(1).unwrap().to_owned();
    let reserved: Value = serde_json::from_str(&run(&[
        "quota",
        "reserve",
        &id,
        "--quantity",
        "6",
        "--key",
        "r1",
        "--json",
    ]))
    .unwrap();
    let rid = reserved["reservation"]["id"].as_i64().unwrap().to_string();
    // Refused (4 left): exit status 3, recorded in the ledger.
    let o = cites(
        &url,
        &["quota", "reserve", &id, "--quantity", "5", "--key", "r2"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    run(&["quota", "commit", &rid, "--quantity", "5", "--key", "c1"]);
    run(&["quota", "export", &rid, "--quantity", "2", "--key", "e1"]);
    let table = run(&["report", "quota-use", "--exporter", "NA", "--year", "2026"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "Quota use on 2026-11-27", "{table}");
    let (header, row) = (lines[1], lines[3]);
    assert_eq!(lines.len(), 4, "{table}");
    let cells = [
        ("id", "exporter"),
        ("taxon", "period"),
        ("limit", "held"),
        ("held", "used"),
        ("used", "available"),
        ("available", "used %"),
        ("used %", "runs out"),
        ("refused", "Species+"),
    ]
    .map(|(h, next)| column(header, row, h, next));
    assert_eq!(
        cells,
        [
            id.as_str(),
            "Loxodonta africana",
            "10",
            "0",
            "5",
            "5",
            "50.0",
            "1 (5)"
        ],
        "{table}"
    );

    let csv = dir.path().join("q.csv");
    run(&[
        "report",
        "quota-use",
        "--exporter",
        "NA",
        "--year",
        "2026",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines().nth(1).unwrap().contains("Loxodonta africana"),
        "{text}"
    );

    let parquet = dir.path().join("q.parquet");
    run(&[
        "report",
        "quota-use",
        "--exporter",
        "NA",
        "--year",
        "2026",
        "--parquet",
        parquet.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&parquet).unwrap();
    assert!(
        bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
        "{} bytes",
        bytes.len()
    );
    let df = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .unwrap();
    assert_eq!(df.height(), 1);
    let text = |name: &str| {
        df.column(name)
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .map(str::to_owned)
    };
    assert_eq!(
        ["taxon_name", "limit", "held", "used", "available"].map(text),
        ["Loxodonta africana", "10", "0", "5", "5"].map(|v| Some(v.to_owned()))
    );

    // An earlier year's quota of the same taxon: the HTML report and the chart files carry the
    // trend over both years; the tables stay on the year asked for.
    run(&[
        "quota",
        "set",
        "--exporter",
        "NA",
        "--taxon",
        "4521",
        "--year",
        "2025",
        "--limit",
        "12",
        "--key",
        "q2025",
    ]);
    let html = dir.path().join("q.html");
    let charts = dir.path().join("charts");
    run(&[
        "report",
        "quota-use",
        "--exporter",
        "NA",
        "--year",
        "2026",
        "--taxon",
        "4521",
        "--html",
        html.to_str().unwrap(),
        "--charts",
        charts.to_str().unwrap(),
    ]);
    let (width, height) = crate::support::png_size(&charts.join(format!("quota-{id}.png")));
    assert!(width >= 400 && height >= 200, "{width}x{height}");
    let svg = std::fs::read_to_string(charts.join(format!("quota-{id}.svg"))).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("</svg>"),
        "{svg:.200}"
    );
    let trend = charts.join("trend-1-na-loxodonta-africana.png");
    let (width, height) = crate::support::png_size(&trend);
    assert!(width >= 400 && height >= 200, "{width}x{height}");
    assert_eq!(
        std::fs::read_dir(&charts).unwrap().count(),
        4,
        "one quota and one trend, two formats each"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Trends over the years"),
        "the trend is in the page"
    );
    assert_eq!(page.matches("<section class=\"trend\"").count(), 1);
    assert!(
        page.contains("Loxodonta africana") && page.contains(&id),
        "{}",
        &page[..page.len().min(400)]
    );

    let json: Value = serde_json::from_str(&run(&[
        "report",
        "quota-use",
        "--exporter",
        "NA",
        "--year",
        "2026",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["rows"][0]["used"], "5", "{json}");

    let o = cites(
        &url,
        &["report", "quota-use", "--exporter", "NA", "--year", "1974"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("invalid --year"), "{}", stderr(&o));
}
