//! The quota ledger through the HTTP service and the command line.

use cites::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use crate::support::{TestApp, cites, stderr, stdout};

async fn post(app: &TestApp, path: &str, role: Role, body: Value) -> (u16, Value) {
    let res = app
        .http
        .post(format!("{}{path}", app.base))
        .bearer_auth(app.key(role))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn quotas_are_declared_reserved_committed_and_exported_over_http(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let declare = json!({"client_key": "d1", "exporter": "NA", "taxon_id": 4521, "year": 2026, "limit": "10", "unit": ""});
    let (s, body) = post(&app, "/v1/quotas", Role::PermitOfficer, declare.clone()).await;
    assert_eq!(s, 403, "{body}");
    let (s, body) = post(&app, "/v1/quotas", Role::ScientificAuthority, declare).await;
    assert_eq!(s, 201, "{body}");
    let id = body["quota"]["id"].as_i64().unwrap();

    let reserve = |key: &str, q: &str| json!({"client_key": key, "quantity": q});
    let path = format!("/v1/quotas/{id}/reservations");
    let (s, _) = post(&app, &path, Role::Enforcement, reserve("r0", "1")).await;
    assert_eq!(s, 403, "enforcement may not reserve");
    let (s, r1) = post(&app, &path, Role::PermitOfficer, reserve("r1", "6")).await;
    assert_eq!((s, r1["outcome"].as_str()), (200, Some("done")), "{r1}");
    let (s, r2) = post(&app, &path, Role::PermitOfficer, reserve("r2", "5")).await;
    assert_eq!((s, r2["outcome"].as_str()), (200, Some("refused")), "{r2}");
    assert_eq!(r2["refusal"]["code"], "quota_exhausted");
    assert_eq!(r2["refusal"]["available"], "4");
    let (s, body) = post(&app, &path, Role::PermitOfficer, reserve("r1", "7")).await;
    assert_eq!(s, 409, "{body}");
    let (s, body) = post(&app, &path, Role::PermitOfficer, reserve("r3", "-2")).await;
    assert_eq!(
        (s, body["error"]["field"].as_str()),
        (422, Some("quantity")),
        "{body}"
    );
    let (s, body) = post(
        &app,
        &path,
        Role::PermitOfficer,
        json!({"client_key": "r4", "quantity": "2", "unit": "KGM"}),
    )
    .await;
    assert_eq!(s, 422, "a mass against a count quota: {body}");
    let (s, body) = post(&app, &path, Role::PermitOfficer, json!({"quantity": "2"})).await;
    assert_eq!(
        (s, body["error"]["field"].as_str()),
        (422, Some("client_key")),
        "{body}"
    );

    let rid = r1["reservation"]["id"].as_i64().unwrap();
    let (s, c) = post(
        &app,
        &format!("/v1/reservations/{rid}/commit"),
        Role::PermitOfficer,
        json!({"client_key": "c1", "quantity": "5"}),
    )
    .await;
    assert_eq!((s, c["outcome"].as_str()), (200, Some("done")), "{c}");
    let (_, e) = post(
        &app,
        &format!("/v1/reservations/{rid}/exports"),
        Role::PermitOfficer,
        json!({"client_key": "e1", "quantity": "2"}),
    )
    .await;
    assert_eq!(e["quota"]["exported"], "2", "{e}");
    let (s, q) = app
        .get(&format!("/v1/quotas/{id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(s, 200);
    assert_eq!(q["quota"]["box_11a_used"], "5");
    assert_eq!(q["quota"]["available"], "5");
    let (_, list) = app
        .get(
            "/v1/quotas?exporter=NA&taxon=4521&year=2026",
            Some(Role::ScientificAuthority),
        )
        .await;
    assert_eq!(list["quotas"].as_array().unwrap().len(), 1);
    let (s, body) = app
        .get("/v1/quotas?year=soon", Some(Role::ScientificAuthority))
        .await;
    assert_eq!((s, body["error"]["field"].as_str()), (422, Some("year")));
    let (_, h) = app
        .get(
            &format!("/v1/quotas/{id}/history"),
            Some(Role::ScientificAuthority),
        )
        .await;
    let events: Vec<&str> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["declare", "reserve", "reject", "commit", "export"]);
    assert_eq!(h["history"][1]["actor"], "test permit-officer");
    assert!(h["next_after"].is_null(), "one page holds it all: {h}");
    let last = &h["history"][4];
    let (_, now) = app
        .get(&format!("/v1/quotas/{id}"), Some(Role::Enforcement))
        .await;
    for counter in ["held", "committed", "exported"] {
        assert_eq!(
            last[format!("{counter}_after")],
            now["quota"][counter],
            "{counter}: {last} {now}"
        );
    }
    // Page by page, following next_after, the same entries.
    let (mut paged, mut after) = (Vec::new(), 0);
    loop {
        let (s, page) = app
            .get(
                &format!("/v1/quotas/{id}/history?limit=2&after={after}"),
                Some(Role::Enforcement),
            )
            .await;
        assert_eq!(s, 200, "{page}");
        assert!(page["history"].as_array().unwrap().len() <= 2, "{page}");
        paged.extend(page["history"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(&paged, h["history"].as_array().unwrap());
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=ten", "limit"),
        ("after=-3", "after"),
        ("after=999999", "after"),
    ] {
        let (s, body) = app
            .get(
                &format!("/v1/quotas/{id}/history?{query}"),
                Some(Role::Enforcement),
            )
            .await;
        assert_eq!(
            (s, body["error"]["field"].as_str()),
            (422, Some(field)),
            "{query}: {body}"
        );
    }
    let (s, _) = app
        .get("/v1/quotas/999999/history", Some(Role::Enforcement))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app.get("/v1/quotas/999999", Some(Role::Enforcement)).await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test]
async fn sqlite_quotas_are_declared_reserved_committed_and_exported_over_http() {
    quotas_are_declared_reserved_committed_and_exported_over_http(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_quotas_are_declared_reserved_committed_and_exported_over_http() {
    quotas_are_declared_reserved_committed_and_exported_over_http(Backend::Postgres).await;
}

#[tokio::test]
async fn species_plus_quotas_are_imported_once_and_usable_from_the_command_line() {
    let t = crate::support::sample_db(Backend::Sqlite).await;
    let out = cites(&t.url, &["quota", "import"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = stdout(&out);
    let again = cites(&t.url, &["quota", "import"]);
    assert_eq!(stdout(&again), first, "a second import changes nothing");
    let out = cites(&t.url, &["quota", "list", "--taxon", "4521", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert!(list.len() >= 10, "{}", list.len());
    assert!(list.iter().all(|q| q["origin"] == "speciesplus"));
    // A quota with a value: reserve one unit against it, by the command line.
    let q = list
        .iter()
        .find(|q| q["limit"].as_str().is_some_and(|l| l != "0"))
        .unwrap();
    let id = q["id"].as_i64().unwrap().to_string();
    let unit = q["unit"].as_str().unwrap();
    let out = cites(
        &t.url,
        &[
            "quota",
            "reserve",
            &id,
            "--quantity",
            "1",
            "--unit",
            unit,
            "--key",
            "k1",
        ],
    );
    assert!(
        stdout(&out).starts_with("done"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    let out = cites(&t.url, &["quota", "history", &id]);
    assert!(stdout(&out).contains("reserve"), "{}", stdout(&out));
    let out = cites(&t.url, &["quota", "history", &id, "--limit", "1"]);
    let page = stdout(&out);
    assert!(
        page.contains("declare") && !page.contains("reserve"),
        "{page}"
    );
    let next = page
        .lines()
        .find_map(|l| l.strip_prefix("more: --after "))
        .unwrap_or_else(|| panic!("no next page in {page}"));
    let out = cites(
        &t.url,
        &["quota", "history", &id, "--after", next, "--json"],
    );
    let rest: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rest[0]["event"], "reserve", "{rest}");
    let out = cites(&t.url, &["quota", "history", &id, "--limit", "0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("limit"), "{}", stderr(&out));
    let out = cites(
        &t.url,
        &["quota", "reserve", &id, "--quantity", "abc", "--key", "k2"],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("quantity"), "{}", stderr(&out));
    t.drop_db().await.unwrap();
}

#[tokio::test]
async fn a_national_quota_may_run_over_any_12_month_period_from_the_command_line() {
    let t = db::TestDb::create(Backend::Sqlite).await.unwrap();
    let out = cites(
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "ZA",
            "--taxon",
            "4521",
            "--period-start",
            "2026-04-01",
            "--period-last-day",
            "2027-03-31",
            "--limit",
            "5",
            "--unit",
            "",
            "--key",
            "fy",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cites(&t.url, &["quota", "list", "--year", "2027", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["period_start"], "2026-04-01");
    assert_eq!(list[0]["period_end"], "2027-04-01", "the end is exclusive");
    let out = cites(
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "ZA",
            "--taxon",
            "4521",
            "--year",
            "1900",
            "--limit",
            "5",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--year"), "{}", stderr(&out));
    let out = cites(
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "ZA",
            "--taxon",
            "4521",
            "--period-start",
            "2026-04-01",
            "--period-last-day",
            "2026-03-01",
            "--limit",
            "5",
        ],
    );
    assert!(
        !out.status.success(),
        "a period that ends before it starts is refused"
    );
    t.drop_db().await.unwrap();
}
