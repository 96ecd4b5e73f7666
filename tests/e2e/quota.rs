//! The quota ledger through the HTTP service and the command line.

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use crate::support::{
    NOW, TEST_ONLY_NOW_ENV, TestApp, cites, cites_at, on_both_backends, sample_db, stderr, stdout,
};

pub(crate) async fn post(app: &TestApp, path: &str, role: Role, body: Value) -> (u16, Value) {
    post_with(app, app.key(role), path, body).await
}

/// POST with the API key `key`: for a caller other than the one key per role.
async fn post_with(app: &TestApp, key: &str, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .http
        .post(format!("{}{path}", app.base))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// POST `body` as it is, sent as `content_type`, to declare a quota as a Scientific Authority:
/// for bodies `post` cannot send (not JSON, a field twice, another media type's spelling).
async fn post_text(app: &TestApp, body: String, content_type: &str) -> (u16, Value) {
    let res = app
        .http
        .post(format!("{}/v1/quotas", app.base))
        .bearer_auth(app.key(Role::ScientificAuthority))
        .body(body)
        .header("content-type", content_type)
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
    // The period as a declaration gives it (its last day), beside its exclusive end.
    assert_eq!(
        (
            &body["quota"]["period_last_day"],
            &body["quota"]["period_end"]
        ),
        (&json!("2026-12-31"), &json!("2027-01-01")),
        "{body}"
    );

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

on_both_backends!(quotas_are_declared_reserved_committed_and_exported_over_http);

#[tokio::test]
async fn species_plus_quotas_are_imported_once_and_usable_from_the_command_line() {
    let t = crate::support::sample_db(Backend::Sqlite).await;
    let out = cites(&t.url, &["quota", "import"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let imported = imported_count(&stdout(&out));
    assert!(imported >= 10, "{}", stdout(&out));
    let again = cites(&t.url, &["quota", "import"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains(&format!(
            "0 imported, 0 revised, {imported} unchanged, 0 not applied"
        )),
        "a second import changes nothing: {}",
        stdout(&again)
    );
    let again = cites(&t.url, &["quota", "import", "--json"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let report: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(
        (
            &report["imported"],
            &report["unchanged"],
            &report["not_applied"]
        ),
        (&json!(0), &json!(imported), &json!([])),
        "{report}"
    );
    let out = cites(&t.url, &["quota", "list", "--taxon", "4521", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert!(list.len() >= 10, "{}", list.len());
    assert!(list.iter().all(|q| q["origin"] == "speciesplus"));
    // A quota with a value: the sample's are of 2021-2022, so a permit issued today cannot
    // count against them.
    let q = list
        .iter()
        .find(|q| q["limit"].as_str().is_some_and(|l| l != "0"))
        .unwrap();
    let past = q["id"].as_i64().unwrap().to_string();
    let unit = q["unit"].as_str().unwrap();
    let out = cites(
        &t.url,
        &[
            "quota",
            "reserve",
            &past,
            "--quantity",
            "1",
            "--unit",
            unit,
            "--key",
            "k0",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("today is outside it"),
        "{}",
        stdout(&out)
    );
    // This year's national quota for the same taxon: reserve one unit against it.
    let year = chrono::Datelike::year(&crate::support::today()).to_string();
    let out = cites(
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "NA",
            "--taxon",
            "4521",
            "--year",
            &year,
            "--limit",
            "10",
            "--unit",
            "",
            "--key",
            "national",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cites(
        &t.url,
        &[
            "quota", "list", "--taxon", "4521", "--year", &year, "--json",
        ],
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = list[0]["id"].as_i64().unwrap().to_string();
    let out = cites(
        &t.url,
        &["quota", "reserve", &id, "--quantity", "1", "--key", "k1"],
    );
    assert!(
        stdout(&out).starts_with("done"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    let out = cites(
        &t.url,
        &["quota", "revise", &id, "--limit", "12", "--key", "rev"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cites(&t.url, &["quota", "history", &id]);
    let history = stdout(&out);
    assert!(history.contains("reserve"), "{history}");
    // Each entry shows the limit it left: the revision's is the new one.
    let last = history.lines().last().unwrap_or_default();
    assert!(
        last.contains(" revise ") && last.contains("-> 1 / 0 / 0 of 12 "),
        "{history}"
    );
    let out = cites(&t.url, &["quota", "history", &id, "--limit", "1"]);
    let page = stdout(&out);
    assert!(
        page.contains("declare") && !page.contains("reserve"),
        "{page}"
    );
    assert!(
        page.starts_with("#seq "),
        "a page has the header too: {page}"
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
    assert!(
        stderr(&out).contains("invalid --limit: 0 entries per page"),
        "{}",
        stderr(&out)
    );
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
    let t = sample_db(Backend::Sqlite).await;
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
    // People read the first and last days; the JSON keeps the exclusive end.
    assert!(
        stdout(&out).contains("for 2026-04-01 to 2027-03-31"),
        "{}",
        stdout(&out)
    );
    let listed = stdout(&cites(&t.url, &["quota", "list", "--year", "2027"]));
    assert!(listed.contains(" 2026-04-01 to 2027-03-31 "), "{listed}");
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

/// The count of quotas an import's summary says it imported.
fn imported_count(out: &str) -> usize {
    out.lines()
        .find_map(|l| l.strip_prefix("Species+ quotas: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no import summary in {out}"))
}

/// Declares a national quota of `limit` specimens over HTTP; its id.
async fn declare(app: &TestApp, key: &str, limit: &str) -> i64 {
    declare_in(app, key, limit, "").await
}

/// NA's 2026 quota for taxon 4521 of `limit` `unit`, declared over HTTP; its id.
async fn declare_in(app: &TestApp, key: &str, limit: &str, unit: &str) -> i64 {
    let (s, body) = post(
        app,
        "/v1/quotas",
        Role::ScientificAuthority,
        json!({"client_key": key, "exporter": "NA", "taxon_id": 4521, "year": 2026, "limit": limit, "unit": unit}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    body["quota"]["id"].as_i64().unwrap()
}

async fn empty_query_parameters_are_taken_as_absent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "d1", "10").await;
    let r = Some(Role::Enforcement);
    for (with_empties, without) in [
        (
            "/v1/quotas?exporter=&taxon=&year=".to_owned(),
            "/v1/quotas".to_owned(),
        ),
        (
            "/v1/quotas?exporter=NA&taxon=&year=2026".to_owned(),
            "/v1/quotas?exporter=NA&year=2026".to_owned(),
        ),
        (
            format!("/v1/quotas/{id}/history?after=&limit="),
            format!("/v1/quotas/{id}/history"),
        ),
        (
            format!("/v1/quotas/{id}/history?after=&limit=1"),
            format!("/v1/quotas/{id}/history?limit=1"),
        ),
        (
            "/v1/taxa/4521/listing?country=".to_owned(),
            "/v1/taxa/4521/listing".to_owned(),
        ),
        (
            "/v1/sync/status?limit=".to_owned(),
            "/v1/sync/status".to_owned(),
        ),
    ] {
        let (s, body) = app.get(&with_empties, r).await;
        assert_eq!(s, 200, "{with_empties}: {body}");
        let (_, expected) = app.get(&without, r).await;
        assert_eq!(body, expected, "{with_empties}");
    }
    let (_, list) = app.get("/v1/quotas?exporter=&taxon=&year=", r).await;
    assert_eq!(list["quotas"][0]["id"], id, "{list}");
    // But an empty date is refused, naming it: absent, it would mean today.
    let (s, body) = app.get("/v1/taxa/4521/listing?date=&country=", r).await;
    assert_eq!(
        (s, body["error"]["field"].as_str()),
        (422, Some("date")),
        "{body}"
    );
    // Absent, so a required parameter is missing; an unknown one with a value is still refused.
    let (s, body) = app.get("/v1/amendments?from=2023-11-25&to=", r).await;
    assert_eq!(
        (s, body["error"]["field"].as_str()),
        (422, Some("to")),
        "{body}"
    );
    // A 422 naming the unknown parameter and those the route accepts.
    let refused = |path: String, name: &'static str, accepted: &'static str| {
        let app = &app;
        async move {
            let (s, body) = app.get(&path, r).await;
            assert_eq!(
                (
                    s,
                    body["error"]["field"].as_str(),
                    body["error"]["message"].as_str()
                ),
                (
                    422,
                    Some(name),
                    Some(
                        format!("unknown query parameter \"{name}\": accepted {accepted}").as_str()
                    )
                ),
                "{path}: {body}"
            );
        }
    };
    refused(
        "/v1/quotas?colour=blue&year=".to_owned(),
        "colour",
        "exporter, taxon, year",
    )
    .await;
    // A route that takes no parameters refuses one too, rather than ignore it.
    for path in [
        format!("/v1/quotas/{id}?year=2026"),
        "/v1/taxa/4521?year=2026".to_owned(),
        "/v1/reservations/1?year=2026".to_owned(),
    ] {
        refused(path, "year", "none").await;
    }
    let (s, body) = app.get(&format!("/v1/quotas/{id}?year="), r).await;
    assert_eq!(s, 200, "an empty parameter is absent: {body}");
    app.stop().await;
}

on_both_backends!(empty_query_parameters_are_taken_as_absent);

async fn reservation(app: &TestApp, id: i64) -> Value {
    let path = format!("/v1/reservations/{id}");
    app.get(&path, Some(Role::Enforcement)).await.1
}

async fn each_reservation_route_takes_only_the_fields_it_uses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "d1", "10").await;
    let reserve = |key: &str, q: &str| json!({"client_key": key, "quantity": q});
    let path = format!("/v1/quotas/{id}/reservations");
    let (_, r1) = post(&app, &path, Role::PermitOfficer, reserve("r1", "4")).await;
    let rid = r1["reservation"]["id"].as_i64().unwrap();
    let on = |what: &str| format!("/v1/reservations/{rid}/{what}");
    // A field the route does not use is refused, naming it, and nothing moves.
    for (what, body, field) in [
        (
            "release",
            json!({"client_key": "x1", "quantity": "3"}),
            "quantity",
        ),
        (
            "release",
            json!({"client_key": "x2", "unit": "NAR"}),
            "unit",
        ),
        (
            "commit",
            json!({"client_key": "x3", "expires_at": "2027-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let (s, answer) = post(&app, &on(what), Role::PermitOfficer, body).await;
        assert_eq!(s, 422, "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{what}: {message}");
        let r = reservation(&app, rid).await;
        assert_eq!(r["reservation"]["state"], "held", "{what}: {r}");
    }
    // An instant at second 60 is refused naming its field: no leap second since 2016.
    let (s, answer) = post(
        &app,
        &on("commit"),
        Role::PermitOfficer,
        json!({"client_key": "x3-leap", "permit_expires_at": "2026-12-31T23:59:60Z"}),
    )
    .await;
    assert_invalid(
        s,
        &answer,
        "permit_expires_at",
        "invalid permit_expires_at: second 60 (a leap second) is not accepted; accepted an \
         RFC 3339 instant",
    );
    assert_eq!(reservation(&app, rid).await["reservation"]["state"], "held");
    // A unit without the quantity it is the unit of.
    let (s, answer) = post(
        &app,
        &on("commit"),
        Role::PermitOfficer,
        json!({"client_key": "x4", "unit": "NAR"}),
    )
    .await;
    assert_eq!(
        (s, answer["error"]["field"].as_str()),
        (422, Some("unit")),
        "{answer}"
    );
    assert_eq!(reservation(&app, rid).await["reservation"]["state"], "held");
    let (s, c) = post(
        &app,
        &on("commit"),
        Role::PermitOfficer,
        json!({"client_key": "c1", "quantity": "3", "unit": "NAR"}),
    )
    .await;
    assert_eq!((s, c["outcome"].as_str()), (200, Some("done")), "{c}");
    assert_eq!(c["reservation"]["committed"], "3", "{c}");
    for (what, body, field) in [
        (
            "exports",
            json!({"client_key": "x5", "quantity": "1", "permit_expires_at": "2027-01-01T00:00:00Z"}),
            "permit_expires_at",
        ),
        (
            "close",
            json!({"client_key": "x6", "quantity": "1"}),
            "quantity",
        ),
    ] {
        let (s, answer) = post(&app, &on(what), Role::PermitOfficer, body).await;
        assert_eq!(s, 422, "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{what}: {message}");
        let r = reservation(&app, rid).await;
        assert_eq!(
            (
                r["reservation"]["state"].as_str(),
                r["reservation"]["exported"].as_str()
            ),
            (Some("committed"), Some("0")),
            "{what}: {r}"
        );
    }
    let (_, e) = post(
        &app,
        &on("exports"),
        Role::PermitOfficer,
        json!({"client_key": "e1", "quantity": "1", "reason": "endorsed"}),
    )
    .await;
    assert_eq!(e["reservation"]["exported"], "1", "{e}");
    let (_, closed) = post(
        &app,
        &on("close"),
        Role::PermitOfficer,
        json!({"client_key": "k1", "reason": "permit used"}),
    )
    .await;
    assert_eq!(closed["reservation"]["state"], "closed", "{closed}");
    let (_, r2) = post(&app, &path, Role::PermitOfficer, reserve("r2", "2")).await;
    let (_, released) = post(
        &app,
        &format!("/v1/reservations/{}/release", r2["reservation"]["id"]),
        Role::PermitOfficer,
        json!({"client_key": "l1", "reason": "withdrawn"}),
    )
    .await;
    assert_eq!(released["reservation"]["state"], "released", "{released}");
    assert_eq!(released["quota"]["available"], "9", "{released}");
    app.stop().await;
}

on_both_backends!(each_reservation_route_takes_only_the_fields_it_uses);

/// Declares a national quota of `limit` specimens for this year (the binary's clock starts at
/// `support::NOW`, and a quota takes reservations during its period) from the command line; its
/// id.
fn set_quota(url: &str, limit: &str) -> String {
    let year = chrono::Datelike::year(&crate::support::today()).to_string();
    let out = cites(
        url,
        &[
            "quota",
            "set",
            "--exporter",
            "NA",
            "--taxon",
            "4521",
            "--year",
            &year,
            "--limit",
            limit,
            "--key",
            "q1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).split_whitespace().nth(1).unwrap().to_owned()
}

/// A quota year the system clock will not reach while this code lives, within the years a
/// quota may have (1973 to 2200).
const A_FAR_YEAR: &str = "2150";

async fn the_binary_s_clock_starts_where_the_test_only_setting_says(backend: Backend) {
    let t = sample_db(backend).await;
    let then = "2150-06-01T00:00:00Z";
    let set = cites_at(
        Some(then),
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "NA",
            "--taxon",
            "4521",
            "--year",
            A_FAR_YEAR,
            "--limit",
            "10",
            "--key",
            "far",
        ],
    );
    assert!(set.status.success(), "{}", stderr(&set));
    assert!(
        stderr(&set).contains(&format!("{TEST_ONLY_NOW_ENV} is set"))
            && stderr(&set).contains("WARN"),
        "the test-only clock is used without a warning: {}",
        stderr(&set)
    );
    let id = stdout(&set).split_whitespace().nth(1).unwrap().to_owned();
    // On the system clock (the default) and on the tests' usual date, 2150 has not begun.
    for (now, key) in [(None, "on-system-clock"), (Some(NOW), "on-tests-date")] {
        let out = cites_at(
            now,
            &t.url,
            &["quota", "reserve", &id, "--quantity", "1", "--key", key],
        );
        assert_eq!(out.status.code(), Some(3), "{key}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("today is outside it"),
            "{key}: {}",
            stdout(&out)
        );
        assert_eq!(
            stderr(&out).contains(TEST_ONLY_NOW_ENV),
            now.is_some(),
            "{key}: {}",
            stderr(&out)
        );
    }
    // At an instant inside the period, the same reservation is taken.
    let out = cites_at(
        Some(then),
        &t.url,
        &[
            "quota",
            "reserve",
            &id,
            "--quantity",
            "1",
            "--key",
            "in-2150",
        ],
    );
    assert!(
        stdout(&out).starts_with("done"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    // A value that is not an RFC 3339 instant stops the command, naming the setting.
    let out = cites_at(Some("2150-06-01"), &t.url, &["quota", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(TEST_ONLY_NOW_ENV) && stderr(&out).contains("RFC 3339"),
        "{}",
        stderr(&out)
    );
    // Hidden: no help text mentions it.
    let help = cites_at(None, &t.url, &["--help"]);
    assert!(help.status.success(), "{}", stderr(&help));
    assert!(!stdout(&help).contains("NOW"), "{}", stdout(&help));
    t.drop_db().await.unwrap();
}

on_both_backends!(the_binary_s_clock_starts_where_the_test_only_setting_says);

/// Runs `cites quota set` for NA's 2026 quota of 10 specimens of `taxon`.
fn set_2026_quota_of(url: &str, taxon: &str) -> (Option<i32>, String, String) {
    quota(
        url,
        &[
            "set",
            "--exporter",
            "NA",
            "--taxon",
            taxon,
            "--year",
            "2026",
            "--limit",
            "10",
        ],
    )
}

/// Runs `cites quota <args>`; its exit code and stdout.
fn quota(url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = cites(url, &[&["quota"], args].concat());
    (out.status.code(), stdout(&out), stderr(&out))
}

async fn a_refused_quota_operation_exits_with_3_and_an_error_with_1(backend: Backend) {
    let t = sample_db(backend).await;
    let id = set_quota(&t.url, "5");
    let (rc, out, _) = quota(&t.url, &["reserve", &id, "--quantity", "1000"]);
    assert_eq!(rc, Some(3), "{out}");
    assert!(out.starts_with("refused: not enough quota"), "{out}");
    // The history keeps what was turned away, though no counter moved.
    let (rc, history, _) = quota(&t.url, &["history", &id]);
    assert_eq!(rc, Some(0), "{history}");
    let refusal = history.lines().last().unwrap_or_default();
    assert!(
        refusal.contains(" reject ")
            && refusal.contains(
                "asked 1000 NAR, refused: not enough quota: 1000 NAR requested, 5 NAR available"
            ),
        "{history}"
    );
    let (rc, out, err) = quota(&t.url, &["reserve", &id, "--quantity", "2"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let rid = out.split_whitespace().nth(2).unwrap().to_owned();
    let (rc, out, err) = quota(&t.url, &["commit", &rid]);
    assert_eq!(rc, Some(0), "{out} {err}");
    for args in [
        &["commit", rid.as_str()][..],
        &["release", &rid],
        &["export", &rid, "--quantity", "5"],
    ] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(3), "{args:?}: {out} {err}");
        assert!(out.starts_with("refused: "), "{args:?}: {out}");
    }
    let (rc, out, err) = quota(&t.url, &["close", &rid]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let (rc, out, _) = quota(&t.url, &["close", &rid]);
    assert_eq!(rc, Some(3), "{out}");
    // Each refused use of the permit is in the history too, with what it asked and why.
    let (rc, history, _) = quota(&t.url, &["history", &id]);
    assert_eq!(rc, Some(0), "{history}");
    let refused: Vec<&str> = history
        .lines()
        .filter(|l| l.contains("_refused "))
        .collect();
    assert_eq!(refused.len(), 4, "{history}");
    for (line, says) in refused.iter().zip([
        "commit_refused res",
        "release_refused res",
        "export_refused res",
        "close_refused res",
    ]) {
        assert!(line.contains(says), "{says}: {history}");
    }
    assert!(
        refused[2].ends_with("asked 5 NAR, refused: 5 NAR requested, at most 2 NAR allowed"),
        "{history}"
    );
    assert!(
        refused[3].ends_with("  refused: the reservation is closed, not committed"),
        "{history}"
    );
    // Errors keep their code.
    for args in [
        &["reserve", "999", "--quantity", "1"][..],
        &["reserve", &id, "--quantity", "abc"],
        &["commit", "999"],
    ] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(1), "{args:?}: {out} {err}");
    }
    // A negative amount is a value of its option, refused as such (not an unknown option);
    // a limit in a unit of another dimension names --unit.
    for (args, says) in [
        (
            &["reserve", id.as_str(), "--quantity", "-1"][..],
            "invalid --quantity -1: accepted a decimal above 0",
        ),
        (
            &["revise", &id, "--limit", "-5"],
            "invalid amount \"-5\" for field \"--limit\"",
        ),
        (
            &["revise", &id, "--limit", "5", "--unit", "KGM"],
            "invalid --unit: incompatible units",
        ),
        (
            &["reserve", &id, "--quantity", "1", "--unit", "KGM"],
            "invalid --unit: incompatible units",
        ),
        // An amount is written out: not 1e3 or 1_000.
        (
            &["reserve", &id, "--quantity", "1e3"],
            "invalid amount \"1e3\" for field \"--quantity\": accepted a decimal written out in \
             digits",
        ),
        (
            &[
                "reserve",
                &id,
                "--quantity",
                "1",
                "--expires-at",
                "2026-12-10T23:59:60Z",
            ],
            "invalid --expires-at \"2026-12-10T23:59:60Z\": accepted an RFC 3339 instant whose \
             second is 00 to 59",
        ),
    ] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(1), "{args:?}: {out} {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A history page holds 1 to 10,000 entries, as the command line says.
    let (rc, _, err) = quota(&t.url, &["history", &id, "--limit", "20000"]);
    assert_eq!(rc, Some(1), "{err}");
    assert!(
        err.contains("invalid --limit: 20000 entries per page; accepted 1 to 10000"),
        "{err}"
    );
    // An id that is none is said to be invalid, with what is accepted, not taken for an option.
    for args in [&["show", "-1"][..], &["history", "0"], &["commit", "-7"]] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(2), "{args:?}: {out} {err}");
        assert!(
            err.contains(&format!("invalid value '{}'", args[1]))
                && err.contains("accepted an id, a whole number from 1 to 9223372036854775807"),
            "{args:?}: {err}"
        );
    }
    let (rc, help, _) = quota(&t.url, &["--help"]);
    assert_eq!(rc, Some(0));
    assert!(help.contains("3 refused"), "{help}");
    t.drop_db().await.unwrap();
}

on_both_backends!(a_refused_quota_operation_exits_with_3_and_an_error_with_1);

async fn the_command_line_prints_what_each_operation_moved(backend: Backend) {
    let t = sample_db(backend).await;
    let id = set_quota(&t.url, "10");
    let shown =
        |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let now = domain::Clock::now(&*crate::support::clock());
    let asked = now + chrono::Duration::days(1);
    let asked = asked - chrono::Duration::nanoseconds(asked.timestamp_subsec_nanos().into());
    // The binary's clock (from `support::NOW`): a hold asked past the end of this year's quota
    // ends with it.
    let year_end = chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&now) + 1, 1, 1)
        .unwrap()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let (_, out, err) = quota(
        &t.url,
        &[
            "reserve",
            &id,
            "--quantity",
            "2",
            "--expires-at",
            &shown(asked),
        ],
    );
    assert!(
        out.contains(&format!(
            "is held (2 NAR held until {})",
            shown(asked.min(year_end))
        )),
        "{out} {err}"
    );
    let rid = out.split_whitespace().nth(2).unwrap().to_owned();
    let (rc, _, err) = quota(
        &t.url,
        &[
            "reserve",
            &id,
            "--quantity",
            "1",
            "--expires-at",
            "tomorrow",
        ],
    );
    assert_eq!(rc, Some(1), "{err}");
    assert!(
        err.contains("--expires-at \"tomorrow\"") && err.contains("RFC 3339"),
        "{err}"
    );
    // What the ledger refuses names the option typed, not the HTTP field.
    for (args, says) in [
        (
            vec![
                "reserve",
                &id,
                "--quantity",
                "1",
                "--expires-at",
                "2020-01-01T00:00:00Z",
            ],
            "invalid --expires-at: 2020-01-01 00:00:00 UTC is not in the future",
        ),
        (
            vec![
                "commit",
                &rid,
                "--permit-expires-at",
                "2099-01-01T00:00:00Z",
            ],
            "invalid --permit-expires-at: 2099-01-01 00:00:00 UTC is later than",
        ),
        (
            vec!["reserve", &id, "--quantity", "1", "--reason", "two\nlines"],
            "invalid --reason: accepted up to",
        ),
        (
            vec!["revise", &id, "--in-preparation"],
            "invalid --in-preparation: in preparation is below what the quota already holds",
        ),
    ] {
        let (rc, out, err) = quota(&t.url, &args);
        assert_eq!(rc, Some(1), "{args:?}: {out} {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let valid_until = asked + chrono::Duration::days(30);
    let (_, out, err) = quota(
        &t.url,
        &[
            "commit",
            &rid,
            "--quantity",
            "1",
            "--permit-expires-at",
            &shown(valid_until),
        ],
    );
    assert!(
        out.contains(&format!(
            "reservation {rid} is committed (1 NAR committed, 1 returned to the quota, permit valid until {})",
            shown(valid_until)
        )),
        "{out} {err}"
    );
    assert!(out.contains("available 9"), "{out}");
    let (_, out, _) = quota(&t.url, &["export", &rid, "--quantity", "1"]);
    assert!(out.contains("(1 of 1 NAR exported)"), "{out}");
    let (_, out, _) = quota(&t.url, &["close", &rid]);
    assert!(out.contains("is closed (1 NAR exported)"), "{out}");
    let (_, out, _) = quota(&t.url, &["reserve", &id, "--quantity", "3"]);
    let rid = out.split_whitespace().nth(2).unwrap().to_owned();
    let (_, out, _) = quota(&t.url, &["release", &rid]);
    assert!(
        out.contains("is released (3 NAR returned to the quota)"),
        "{out}"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(the_command_line_prints_what_each_operation_moved);

async fn the_history_of_an_unknown_quota_prints_only_the_error(backend: Backend) {
    let t = sample_db(backend).await;
    for args in [&["history", "999"][..], &["history", "999", "--json"]] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(1), "{args:?}");
        assert_eq!(out, "", "{args:?}");
        assert!(err.contains("quota 999 not found"), "{args:?}: {err}");
    }
    t.drop_db().await.unwrap();
}

on_both_backends!(the_history_of_an_unknown_quota_prints_only_the_error);

async fn importing_from_an_empty_catalogue_says_how_to_fill_it(backend: Backend) {
    let t = db::TestDb::create(backend).await.unwrap();
    // An import keys each Species+ quota by its own id: a key of the command's would be ignored.
    let (rc, _, err) = quota(&t.url, &["import", "--key", "k"]);
    assert_eq!(rc, Some(2), "{err}");
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(1), "{out} {err}");
    assert!(!out.contains("imported"), "{out}");
    for said in [
        "catalogue is empty",
        "cites sync --latest-dump",
        "cites serve",
        "sample",
    ] {
        assert!(err.contains(said), "{said}: {err}");
    }
    t.drop_db().await.unwrap();
}

on_both_backends!(importing_from_an_empty_catalogue_says_how_to_fill_it);

async fn a_species_plus_quota_changed_since_its_import_is_reported_and_the_others_still_import(
    backend: Backend,
) {
    let t = crate::support::sample_db(backend).await;
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let imported = imported_count(&out);
    // In the catalogue, the first quota imported (lowest Species+ id) gets a new value, the
    // second another unit (another quota, which the ledger does not apply), and a new one
    // appears after them.
    let (_, list, _) = quota(&t.url, &["list", "--json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    let mut imported_rows: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["speciesplus_id"].is_i64())
        .cloned()
        .collect();
    imported_rows.sort_by_key(|q| q["speciesplus_id"].as_i64());
    let (first, second) = (imported_rows[0].clone(), imported_rows[1].clone());
    let sid = first["speciesplus_id"].as_i64().unwrap();
    let other = second["speciesplus_id"].as_i64().unwrap();
    let old: rust_decimal::Decimal = first["limit"].as_str().unwrap_or("0").parse().unwrap();
    let new = old + rust_decimal::Decimal::from(7);
    let old_shown = first["limit"]
        .as_str()
        .unwrap_or("in preparation")
        .to_owned();
    let added = sid + 1_000_000_000;
    db::with_db!(&t.db, pool => sqlx::query("UPDATE quotas SET quota = $1 WHERE id = $2")
        .bind(new.to_string()).bind(sid).execute(pool).await.map(|_| ()))
    .unwrap();
    db::with_db!(&t.db, pool => sqlx::query(
        "UPDATE quotas SET unit_code = CASE WHEN unit_code = 'KGM' THEN 'GRM' ELSE 'KGM' END \
         WHERE id = $1")
        .bind(other).execute(pool).await.map(|_| ()))
    .unwrap();
    db::with_db!(&t.db, pool => sqlx::query(
        "INSERT INTO quotas (id, taxon_concept_id, quota, unit_code, unit_name, country, \
         country_name, publication_date, notes, url, public_display, is_current) \
         SELECT $1, taxon_concept_id, '5', unit_code, unit_name, country, country_name, \
         publication_date, notes, url, public_display, is_current FROM quotas WHERE id = $2")
        .bind(added).bind(sid).execute(pool).await.map(|_| ()))
    .unwrap();
    for run in ["after the change", "again"] {
        let (rc, out, err) = quota(&t.url, &["import"]);
        assert_eq!(rc, Some(3), "{run}: one quota not applied: {out} {err}");
        let line_of = |id: i64| {
            out.lines()
                .find(|l| l.contains(&format!("Species+ quota {id} ")))
                .map(str::to_owned)
        };
        let not_applied = line_of(other)
            .unwrap_or_else(|| panic!("{run}: no line names Species+ quota {other}: {out}"));
        assert!(
            not_applied.starts_with("not applied") && not_applied.contains("unit"),
            "{run}: {not_applied}"
        );
        let summary = if run == "again" {
            format!("0 imported, 0 revised, {imported} unchanged, 1 not applied")
        } else {
            let revised = line_of(sid)
                .unwrap_or_else(|| panic!("{run}: no line names Species+ quota {sid}: {out}"));
            assert!(
                revised.starts_with("revised")
                    && revised.contains(&format!("value {old_shown} -> {new}")),
                "{run}: {revised}"
            );
            format!(
                "1 imported, 1 revised, {} unchanged, 1 not applied",
                imported - 2
            )
        };
        assert!(out.contains(&summary), "{run}: {summary}: {out}");
    }
    let (_, list, _) = quota(&t.url, &["list", "--json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    let by_sid = |id: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|q| q["speciesplus_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        by_sid(sid)["limit"],
        new.to_string(),
        "the new value applies"
    );
    assert_eq!(
        by_sid(other)["unit"],
        second["unit"],
        "the first values stay"
    );
    assert_eq!(
        by_sid(added)["limit"],
        "5",
        "the row after them was imported"
    );
    let id = by_sid(sid)["id"].as_i64().unwrap().to_string();
    let (_, history, _) = quota(&t.url, &["history", &id, "--json"]);
    let history: Value = serde_json::from_str(&history).unwrap();
    let events: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        events,
        ["declare", "revise"],
        "the import and the revision, audited: {history}"
    );
    // The value comes back to the first one imported: that is a revision too.
    db::with_db!(&t.db, pool => sqlx::query("UPDATE quotas SET quota = $1 WHERE id = $2")
        .bind(first["limit"].as_str()).bind(sid).execute(pool).await.map(|_| ()))
    .unwrap();
    let (_, out, _) = quota(&t.url, &["import"]);
    assert!(
        out.contains(&format!(
            "Species+ quota {sid} (quota {id}): value {new} -> {old_shown}"
        )),
        "{out}"
    );
    let (_, shown, _) = quota(&t.url, &["show", &id, "--json"]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["limit"], first["limit"], "{shown}");
    t.drop_db().await.unwrap();
}

on_both_backends!(
    a_species_plus_quota_changed_since_its_import_is_reported_and_the_others_still_import
);

async fn a_quantity_sent_without_a_unit_is_in_the_quota_s_unit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare_in(&app, "kg", "10", "KGM").await;
    let path = format!("/v1/quotas/{id}/reservations");
    let (s, r) = post(
        &app,
        &path,
        Role::PermitOfficer,
        json!({"client_key": "r", "quantity": "2.5"}),
    )
    .await;
    assert_eq!((s, r["outcome"].as_str()), (200, Some("done")), "{r}");
    assert_eq!(
        (&r["reservation"]["quantity"], &r["reservation"]["unit"]),
        (&json!("2.5"), &json!("KGM"))
    );
    let rid = r["reservation"]["id"].as_i64().unwrap();
    let (s, c) = post(
        &app,
        &format!("/v1/reservations/{rid}/commit"),
        Role::PermitOfficer,
        json!({"client_key": "c", "quantity": "1.5"}),
    )
    .await;
    assert_eq!((s, c["outcome"].as_str()), (200, Some("done")), "{c}");
    let (s, e) = post(
        &app,
        &format!("/v1/reservations/{rid}/exports"),
        Role::PermitOfficer,
        json!({"client_key": "e", "quantity": "500", "unit": "GRM"}),
    )
    .await;
    assert_eq!((s, e["outcome"].as_str()), (200, Some("done")), "{e}");
    assert_eq!(e["reservation"]["exported"], "0.5", "{e}");
    let (s, body) = post(
        &app,
        "/v1/quotas/999/reservations",
        Role::PermitOfficer,
        json!({"client_key": "none", "quantity": "1"}),
    )
    .await;
    assert_eq!(s, 404, "{body}");

    // The command line, on this year's quota in kilograms.
    let year = chrono::Datelike::year(&crate::support::today()).to_string();
    let out = cites(
        &app.t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "BW",
            "--taxon",
            "4521",
            "--year",
            &year,
            "--limit",
            "10",
            "--unit",
            "KGM",
            "--key",
            "cli-kg",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let cli_id = stdout(&out).split_whitespace().nth(1).unwrap().to_owned();
    let (rc, out, err) = quota(&app.t.url, &["reserve", &cli_id, "--quantity", "0.25"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    assert!(out.contains("(0.25 KGM held until "), "{out}");
    app.stop().await;
}

on_both_backends!(a_quantity_sent_without_a_unit_is_in_the_quota_s_unit);

async fn a_malformed_body_names_the_field_at_fault_and_a_second_quota_of_a_scope_is_a_conflict(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let base = json!({"client_key": "d", "exporter": "NA", "taxon_id": 4521, "year": 2026, "limit": "10", "unit": ""});
    let with = |field: &str, value: Value| {
        let mut b = base.clone();
        b[field] = value;
        b
    };
    for (body, field, says) in [
        (
            with("limit", json!(5)),
            "limit",
            "accepted an exact decimal written as a JSON string, e.g. \"5\"",
        ),
        (
            with("taxon_id", json!("8")),
            "taxon_id",
            "expected a whole number",
        ),
        (
            with("year", json!("next")),
            "year",
            "expected a whole number",
        ),
        (
            with("period_start", json!("1 April")),
            "period_start",
            "accepted a date, YYYY-MM-DD",
        ),
        (
            with("taxon_id", json!(-1)),
            "taxon_id",
            "expected a whole number, 0 or more",
        ),
        (
            json!([]),
            "body",
            "the body must be one JSON object of this route's fields, not an array",
        ),
        (
            json!("quota"),
            "body",
            "the body must be one JSON object of this route's fields, not a string",
        ),
        (
            with("period_start", json!("2027-02-29")),
            "period_start",
            "invalid period_start: no such day; accepted a date, YYYY-MM-DD",
        ),
    ] {
        let (s, answer) = post(&app, "/v1/quotas", Role::ScientificAuthority, body).await;
        assert_invalid(s, &answer, field, says);
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        // In the caller's words: no Rust type, no position in the text.
        assert!(
            !message.contains(" u32")
                && !message.contains(" i32")
                && !message.contains("struct")
                && !message.contains("Body")
                && !message.contains(" at line "),
            "{answer}"
        );
    }
    // A field the body does not take is named with those it does, and given no format.
    let (s, answer) = post(
        &app,
        "/v1/quotas",
        Role::ScientificAuthority,
        with("period_end", json!("2026-12-31")),
    )
    .await;
    assert_invalid(
        s,
        &answer,
        "period_end",
        "unknown field `period_end`, expected one of",
    );
    assert!(
        !answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("accepted a date"),
        "{answer}"
    );
    let (s, answer) = post_text(&app, "{\"client_key\": \"d\"".into(), "application/json").await;
    assert_eq!(s, 422);
    assert_eq!(answer["error"]["field"], "body", "{answer}");
    // A field given twice is named, not called "not an object".
    let twice = "{\"year\": 2026, \"year\": 2027}".to_owned();
    let (s, answer) = post_text(&app, twice, "application/json").await;
    assert_eq!(s, 422);
    assert_eq!(
        (&answer["error"]["field"], &answer["error"]["message"]),
        (
            &json!("year"),
            &json!("invalid year: given twice; accepted once")
        ),
        "{answer}"
    );
    // A body larger than any request needs is refused as such.
    let huge = with("notes", json!("x".repeat(300 * 1024)));
    let (s, answer) = post_text(&app, huge.to_string(), "application/json").await;
    assert_eq!(s, 413);
    assert_eq!(
        (&answer["error"]["code"], &answer["error"]["field"]),
        (&json!("body_too_large"), &json!("body")),
        "{answer}"
    );
    // A media type's case does not matter.
    let (s, first) = post_text(&app, base.to_string(), "Application/JSON; charset=UTF-8").await;
    assert_eq!(s, 201, "{first}");
    let (s, second) = post(
        &app,
        "/v1/quotas",
        Role::ScientificAuthority,
        with("client_key", json!("d-again")),
    )
    .await;
    assert_eq!(
        (s, second["error"]["code"].as_str()),
        (409, Some("quota_exists")),
        "{second}"
    );
    app.stop().await;
}

on_both_backends!(
    a_malformed_body_names_the_field_at_fault_and_a_second_quota_of_a_scope_is_a_conflict
);

async fn a_quota_is_revised_by_a_scientific_authority_never_below_what_is_used(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "d", "10").await;
    let (s, r) = post(
        &app,
        &format!("/v1/quotas/{id}/reservations"),
        Role::PermitOfficer,
        json!({"client_key": "r", "quantity": "4"}),
    )
    .await;
    assert_eq!((s, r["outcome"].as_str()), (200, Some("done")), "{r}");
    let path = format!("/v1/quotas/{id}/revisions");
    let (s, body) = post(
        &app,
        &path,
        Role::PermitOfficer,
        json!({"client_key": "v0", "limit": "6"}),
    )
    .await;
    assert_eq!(s, 403, "a permit officer may not revise: {body}");
    for (body, why) in [
        (json!({"client_key": "v1"}), "no limit"),
        (
            json!({"client_key": "v2", "limit": "3"}),
            "below the 4 held",
        ),
        (
            json!({"client_key": "v3", "limit": null}),
            "in preparation while 4 are held",
        ),
    ] {
        let (s, answer) = post(&app, &path, Role::ScientificAuthority, body).await;
        assert_eq!(
            (s, answer["error"]["field"].as_str()),
            (422, Some("limit")),
            "{why}: {answer}"
        );
    }
    let (s, body) = post(
        &app,
        &path,
        Role::ScientificAuthority,
        json!({"client_key": "v4", "limit": "6", "reason": "NDF revised"}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        (&body["quota"]["limit"], &body["quota"]["available"]),
        (&json!("6"), &json!("2"))
    );
    let (s, body) = post(
        &app,
        &path,
        Role::ScientificAuthority,
        json!({"client_key": "v4", "limit": "7"}),
    )
    .await;
    assert_eq!(s, 409, "the key was used for 6: {body}");
    // A second declaration of the scope is pointed to the revision.
    let (s, body) = post(
        &app,
        "/v1/quotas",
        Role::ScientificAuthority,
        json!({"client_key": "d2", "exporter": "NA", "taxon_id": 4521, "year": 2026, "limit": "12", "unit": ""}),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("revise quota {id}"))),
        "{body}"
    );
    // The command line, on the same database.
    let (rc, out, err) = quota(
        &app.t.url,
        &["revise", &id.to_string(), "--limit", "8", "--key", "cli-v"],
    );
    assert_eq!(rc, Some(0), "{out} {err}");
    assert!(out.contains("limit 8 NAR, available 4"), "{out}");
    let (rc, _, err) = quota(&app.t.url, &["revise", &id.to_string()]);
    assert_eq!(
        rc,
        Some(2),
        "a limit or --in-preparation is required: {err}"
    );
    app.stop().await;
}

on_both_backends!(a_quota_is_revised_by_a_scientific_authority_never_below_what_is_used);

/// The permit officers of two provinces: the service's own key, and another one's.
async fn two_permit_officers(app: &TestApp) -> (String, String) {
    let north = app.key(Role::PermitOfficer).to_owned();
    let south = app
        .add_key("south permit-officer", Role::PermitOfficer)
        .await;
    (north, south)
}

/// The quota's figure `counter` (held, committed...) as the service shows it now.
async fn quota_counter(app: &TestApp, id: i64, counter: &str) -> Value {
    let (_, q) = app
        .get(&format!("/v1/quotas/{id}"), Some(Role::Enforcement))
        .await;
    q["quota"][counter].clone()
}

/// What [`two_callers_reserve_under_one_key`] leaves: the quota, its reservations path, the two
/// callers' API keys and their first answers.
struct SharedKey {
    id: i64,
    path: String,
    north: String,
    south: String,
    north_hold: Value,
    south_hold: Value,
}

/// A reservation of `quantity` under the key both provinces happen to use.
fn shared_key_reservation(quantity: &str) -> Value {
    json!({"client_key": "permit-2026-0001", "quantity": quantity})
}

/// Two provinces' permit officers reserve 2 and 3 units of a new quota under the same client
/// key, each getting a hold of its own.
async fn two_callers_reserve_under_one_key(app: &TestApp) -> SharedKey {
    let id = declare(app, "d1", "10").await;
    let (north, south) = two_permit_officers(app).await;
    let path = format!("/v1/quotas/{id}/reservations");
    let (s, north_hold) = post_with(app, &north, &path, shared_key_reservation("2")).await;
    assert_eq!(
        (s, north_hold["outcome"].as_str()),
        (200, Some("done")),
        "{north_hold}"
    );
    let (s, south_hold) = post_with(app, &south, &path, shared_key_reservation("3")).await;
    assert_eq!(
        (s, south_hold["outcome"].as_str()),
        (200, Some("done")),
        "{south_hold}"
    );
    SharedKey {
        id,
        path,
        north,
        south,
        north_hold,
        south_hold,
    }
}

async fn two_callers_using_the_same_client_key_each_get_their_own_reservation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "d1", "10").await;
    let (north, south) = two_permit_officers(&app).await;
    let path = format!("/v1/quotas/{id}/reservations");
    let body = json!({"client_key": "permit-2026-0001", "quantity": "2"});
    let (s, a) = post_with(&app, &north, &path, body.clone()).await;
    assert_eq!((s, a["outcome"].as_str()), (200, Some("done")), "{a}");
    let (s, b) = post_with(&app, &south, &path, body).await;
    assert_eq!((s, b["outcome"].as_str()), (200, Some("done")), "{b}");
    assert_ne!(a["reservation"]["id"], b["reservation"]["id"], "{a} {b}");
    assert_eq!(quota_counter(&app, id, "held").await, "4");
    // The transitions' keys are the caller's too: each commits its own hold under one key.
    for (caller, r) in [(&north, &a), (&south, &b)] {
        let rid = r["reservation"]["id"].as_i64().unwrap();
        let (s, c) = post_with(
            &app,
            caller,
            &format!("/v1/reservations/{rid}/commit"),
            json!({"client_key": "commit-0001"}),
        )
        .await;
        assert_eq!((s, c["outcome"].as_str()), (200, Some("done")), "{c}");
        assert_eq!(c["reservation"]["id"], rid, "{c}");
    }
    assert_eq!(quota_counter(&app, id, "committed").await, "4");
    app.stop().await;
}

on_both_backends!(two_callers_using_the_same_client_key_each_get_their_own_reservation);

async fn a_caller_retrying_with_its_key_gets_its_first_answer_whoever_else_used_the_key(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let SharedKey {
        id,
        path,
        north,
        south,
        north_hold: a,
        south_hold: b,
    } = two_callers_reserve_under_one_key(&app).await;
    for (caller, first) in [(&north, &a), (&south, &b)] {
        let q = first["reservation"]["quantity"].as_str().unwrap();
        let (s, again) = post_with(&app, caller, &path, shared_key_reservation(q)).await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(&again, first, "the first answer, as it was");
    }
    assert_eq!(quota_counter(&app, id, "held").await, "5", "nothing moved");
    app.stop().await;
}

on_both_backends!(a_caller_retrying_with_its_key_gets_its_first_answer_whoever_else_used_the_key);

/// A 409's message names the key as the caller sent it: not another caller's name, not the
/// form the ledger stores it in.
fn assert_names_key_as_sent(answer: &Value, key: &str, caller_name: &str) {
    assert_eq!(
        (&answer["error"]["code"], &answer["error"]["field"]),
        (&json!("key_conflict"), &json!("client_key")),
        "{answer}"
    );
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("{key:?}")), "{message}");
    assert!(
        message.contains("or the same with other parameters"),
        "{message}"
    );
    assert!(
        !message.contains(caller_name) && !message.contains('\u{1f}') && !message.contains("u{1f}"),
        "{message}"
    );
}

async fn a_caller_reusing_its_key_with_other_parameters_gets_409_naming_the_key_as_sent(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let SharedKey {
        id,
        path,
        south,
        south_hold: b,
        ..
    } = two_callers_reserve_under_one_key(&app).await;
    let (s, conflict) = post_with(&app, &south, &path, shared_key_reservation("4")).await;
    assert_eq!(s, 409, "{conflict}");
    assert_names_key_as_sent(&conflict, "permit-2026-0001", "south");
    // A transition's key the same way.
    let rid = b["reservation"]["id"].as_i64().unwrap();
    let commit = format!("/v1/reservations/{rid}/commit");
    let (s, c) = post_with(
        &app,
        &south,
        &commit,
        json!({"client_key": "commit-0001", "quantity": "1"}),
    )
    .await;
    assert_eq!((s, c["outcome"].as_str()), (200, Some("done")), "{c}");
    let (s, conflict) = post_with(
        &app,
        &south,
        &commit,
        json!({"client_key": "commit-0001", "quantity": "2"}),
    )
    .await;
    assert_eq!(s, 409, "{conflict}");
    assert_names_key_as_sent(&conflict, "commit-0001", "south");
    assert_eq!(quota_counter(&app, id, "held").await, "2", "north's 2 only");
    assert_eq!(quota_counter(&app, id, "committed").await, "1");
    app.stop().await;
}

on_both_backends!(a_caller_reusing_its_key_with_other_parameters_gets_409_naming_the_key_as_sent);

async fn a_command_line_key_is_the_same_request_whoever_runs_the_command(backend: Backend) {
    let t = sample_db(backend).await;
    let id = set_quota(&t.url, "10");
    let reserve = |actor: &str, q: &str| {
        quota(
            &t.url,
            &[
                "reserve",
                &id,
                "--quantity",
                q,
                "--key",
                "permit-2026-0001",
                "--actor",
                actor,
            ],
        )
    };
    let (rc, alice, err) = reserve("alice", "2");
    assert_eq!(rc, Some(0), "{alice} {err}");
    let rid = |out: &str| out.split_whitespace().nth(2).unwrap().to_owned();
    // The same command retried under another account (sudo, cron): the first answer.
    let (rc, again, err) = reserve("root", "2");
    assert_eq!((rc, rid(&again)), (Some(0), rid(&alice)), "{again} {err}");
    // The key with other parameters: refused, naming the key as given.
    let (rc, out, err) = reserve("bob", "4");
    assert_eq!(rc, Some(1), "{out} {err}");
    assert!(err.contains("\"permit-2026-0001\""), "{err}");
    assert!(!err.contains("u{1f}") && !err.contains('\u{1f}'), "{err}");
    let (_, out, _) = quota(&t.url, &["show", &id, "--json"]);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["held"], "2", "one hold, nothing moved since: {shown}");
    t.drop_db().await.unwrap();
}

on_both_backends!(a_command_line_key_is_the_same_request_whoever_runs_the_command);

async fn a_quota_is_declared_only_against_an_accepted_taxon_of_the_catalogue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = |taxon: u32| json!({"client_key": format!("d-{taxon}"), "exporter": "NA", "taxon_id": taxon, "year": 2026, "limit": "10", "unit": ""});
    // A permit check would never find these: an id the catalogue lacks, and a synonym's id
    // (the sample's Carcharias obscurus, whose accepted name is Carcharhinus obscurus).
    for (taxon, says) in [
        (99_999_999, "no taxon 99999999 in the catalogue"),
        (
            900_004,
            "taxon 900004 (Carcharias obscurus) is a synonym: declare the quota against its accepted taxon (900002)",
        ),
    ] {
        let (s, answer) = post(&app, "/v1/quotas", Role::ScientificAuthority, body(taxon)).await;
        assert_invalid(s, &answer, "taxon_id", says);
        let (rc, out, err) = set_2026_quota_of(&app.t.url, &taxon.to_string());
        assert_eq!(rc, Some(1), "{out}");
        assert!(err.contains("--taxon") && err.contains(says), "{err}");
    }
    let (s, listed) = app
        .get("/v1/quotas?exporter=NA", Some(Role::PermitOfficer))
        .await;
    assert_eq!(
        (s, listed["quotas"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{listed}"
    );
    // The accepted name is declared.
    let (s, declared) = post(&app, "/v1/quotas", Role::ScientificAuthority, body(900_002)).await;
    assert_eq!(s, 201, "{declared}");
    app.stop().await;
}

on_both_backends!(a_quota_is_declared_only_against_an_accepted_taxon_of_the_catalogue);

async fn a_quota_cannot_be_declared_before_the_catalogue_is_synchronised(backend: Backend) {
    let t = db::TestDb::create(backend).await.unwrap();
    let (rc, out, err) = set_2026_quota_of(&t.url, "4521");
    assert_eq!(rc, Some(1), "{out}");
    assert!(
        err.contains(
            "no taxon 4521: the catalogue is empty; fill it first: `cites sync --latest-dump`"
        ),
        "{err}"
    );
    let (rc, out, _) = quota(&t.url, &["list", "--json"]);
    assert_eq!(rc, Some(0), "{out}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!([]),
        "{out}"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(a_quota_cannot_be_declared_before_the_catalogue_is_synchronised);

async fn a_retried_declaration_gets_its_first_answer_after_its_taxon_left_the_catalogue(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let body = |key: &str| json!({"client_key": key, "exporter": "NA", "taxon_id": 3057, "year": 2026, "limit": "10", "unit": ""});
    let (s, first) = post(&app, "/v1/quotas", Role::ScientificAuthority, body("d")).await;
    assert_eq!(s, 201, "{first}");
    // A later synchronisation finds the concept no longer active in Species+.
    db::with_db!(&app.t.db, pool => sqlx::query("UPDATE taxa SET active = $1 WHERE id = $2")
        .bind(false).bind(3057_i64).execute(pool).await.map(|_| ()))
    .unwrap();
    let (s, again) = post(&app, "/v1/quotas", Role::ScientificAuthority, body("d")).await;
    assert_eq!(
        (s, &again["quota"]["id"]),
        (201, &first["quota"]["id"]),
        "{again}"
    );
    let (s, refused) = post(&app, "/v1/quotas", Role::ScientificAuthority, body("d-new")).await;
    assert_invalid(
        s,
        &refused,
        "taxon_id",
        "taxon 3057 (Ailuropoda melanoleuca) is no longer active in Species+: declare the quota against the taxon that replaced it",
    );
    app.stop().await;
}

on_both_backends!(a_retried_declaration_gets_its_first_answer_after_its_taxon_left_the_catalogue);

async fn a_species_plus_quota_on_a_synonym_or_an_unknown_taxon_is_reported_not_imported(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let imported = imported_count(&out);
    // Two more Species+ rows, copies of one already imported: one on a synonym's id, one on
    // an id the catalogue lacks.
    let sid: i64 = db::with_db!(&t.db, pool => sqlx::query_scalar(
        "SELECT MIN(id) FROM quotas WHERE is_current = $1 AND publication_date IS NOT NULL")
        .bind(true).fetch_one(pool).await)
    .unwrap();
    let taxon: i64 = db::with_db!(&t.db, pool => sqlx::query_scalar(
        "SELECT taxon_concept_id FROM quotas WHERE id = $1").bind(sid).fetch_one(pool).await)
    .unwrap();
    for (added, taxon, value) in [
        (sid + 1_000_000_000, 900_004_i64, "5"),
        (sid + 1_000_000_001, 99_999_999, "5"),
        // And one whose value no quota can have: that row alone is not applied.
        (sid + 1_000_000_002, taxon, "-1"),
    ] {
        db::with_db!(&t.db, pool => sqlx::query(
            "INSERT INTO quotas (id, taxon_concept_id, quota, unit_code, unit_name, country, \
             country_name, publication_date, notes, url, public_display, is_current) \
             SELECT $1, $2, $4, unit_code, unit_name, country, country_name, \
             publication_date, notes, url, public_display, is_current FROM quotas WHERE id = $3")
            .bind(added).bind(taxon).bind(sid).bind(value).execute(pool).await.map(|_| ()))
        .unwrap();
    }
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(3), "three quotas not applied: {out} {err}");
    for (added, says) in [
        (
            sid + 1_000_000_000,
            "taxon 900004 (Carcharias obscurus) is a synonym",
        ),
        (sid + 1_000_000_001, "no taxon 99999999 in the catalogue"),
        (sid + 1_000_000_002, "its value \"-1\""),
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(&format!("Species+ quota {added} ")))
            .unwrap_or_else(|| panic!("no line names Species+ quota {added}: {out}"));
        assert!(
            line.starts_with("not applied") && line.contains(says),
            "{line}"
        );
    }
    assert!(
        out.contains(&format!(
            "0 imported, 0 revised, {imported} unchanged, 3 not applied"
        )),
        "{out}"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(a_species_plus_quota_on_a_synonym_or_an_unknown_taxon_is_reported_not_imported);

async fn a_species_plus_quota_over_a_national_quota_of_its_scope_is_reported_not_imported(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    // A Species+ quota of the sample, and a national quota declared first on its scope.
    let (sid, taxon, country, unit, published, value): (
        i64,
        i64,
        String,
        Option<String>,
        chrono::NaiveDate,
        Option<String>,
    ) = db::with_db!(&t.db, pool => sqlx::query_as(
        "SELECT id, taxon_concept_id, country, unit_code, publication_date, quota FROM quotas \
         WHERE is_current = $1 AND publication_date IS NOT NULL AND quota IS NOT NULL \
         AND taxon_concept_id IS NOT NULL ORDER BY id LIMIT 1")
        .bind(true).fetch_one(pool).await)
    .unwrap();
    let year = chrono::Datelike::year(&published).to_string();
    let unit = unit.unwrap_or_default();
    let taxon = taxon.to_string();
    let (rc, out, err) = quota(
        &t.url,
        &[
            "set",
            "--exporter",
            &country,
            "--taxon",
            &taxon,
            "--year",
            &year,
            "--limit",
            "7",
            "--unit",
            &unit,
        ],
    );
    assert_eq!(rc, Some(0), "{out} {err}");
    let national = out.split_whitespace().nth(1).unwrap().to_owned();
    // Imported twice: the Species+ quota is reported each time, never declared beside it.
    for _ in 0..2 {
        let (rc, out, err) = quota(&t.url, &["import"]);
        assert_eq!(rc, Some(3), "{out} {err}");
        let line = out
            .lines()
            .find(|l| l.contains(&format!("Species+ quota {sid} ")))
            .unwrap_or_else(|| panic!("no line names Species+ quota {sid}: {out}"));
        let value = value.as_deref().unwrap();
        assert!(
            line.starts_with("not applied")
                && line.contains(&format!("national quota {national} already covers"))
                && line.ends_with(&format!("cites quota revise {national} --limit {value}")),
            "{line}"
        );
    }
    let (rc, listed, err) = quota(
        &t.url,
        &[
            "list",
            "--exporter",
            &country,
            "--taxon",
            &taxon,
            "--year",
            &year,
            "--json",
        ],
    );
    assert_eq!(rc, Some(0), "{err}");
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|q| q["id"].to_string())
            .collect::<Vec<_>>(),
        [national],
        "one quota for the scope"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(a_species_plus_quota_over_a_national_quota_of_its_scope_is_reported_not_imported);

async fn a_reservation_in_a_unit_or_with_a_hold_end_it_cannot_take_names_the_field_and_what_is_accepted(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "d", "10").await;
    for (body, field, says) in [
        (
            json!({"client_key": "kg", "quantity": "2", "unit": "KGM"}),
            "unit",
            "cannot convert KGM",
        ),
        (
            json!({"client_key": "day", "quantity": "2", "expires_at": "2026-12-05"}),
            "expires_at",
            "invalid expires_at: incomplete; accepted an RFC 3339 instant, such as 2026-12-10T00:00:00Z",
        ),
        (
            json!({"client_key": "leap", "quantity": "2", "expires_at": "2027-02-29T00:00:00Z"}),
            "expires_at",
            "invalid expires_at: no such day or time; accepted an RFC 3339 instant",
        ),
        (
            json!([1]),
            "body",
            "the body must be one JSON object of this route's fields, not an array",
        ),
        (
            json!({"client_key": "zero", "quantity": "0"}),
            "quantity",
            "invalid quantity 0: accepted a decimal above 0",
        ),
        (
            json!({"client_key": "neg", "quantity": "-2"}),
            "quantity",
            "invalid quantity -2: accepted a decimal above 0",
        ),
        (
            json!({"client_key": "leap60", "quantity": "2", "expires_at": "2026-12-10T23:59:60Z"}),
            "expires_at",
            "invalid expires_at: second 60 (a leap second) is not accepted",
        ),
        (
            json!({"client_key": "sci", "quantity": "1e3"}),
            "quantity",
            "invalid amount \"1e3\" for field \"quantity\": accepted a decimal written out in \
             digits",
        ),
        (
            json!({"client_key": "big", "quantity": "9".repeat(32)}),
            "quantity",
            "is out of range: accepted at most 28 significant digits, what an exact decimal holds",
        ),
    ] {
        let (s, answer) = post(
            &app,
            &format!("/v1/quotas/{id}/reservations"),
            Role::PermitOfficer,
            body,
        )
        .await;
        assert_invalid(s, &answer, field, says);
    }
    app.stop().await;
}

on_both_backends!(
    a_reservation_in_a_unit_or_with_a_hold_end_it_cannot_take_names_the_field_and_what_is_accepted
);

/// A 422 naming `field`, whose message says `says`.
fn assert_invalid(status: u16, answer: &Value, field: &str, says: &str) {
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (422, Some(field)),
        "{answer}"
    );
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{answer}");
}

/// BR's 2026 quota of 5 specimens declared on a concept of its own (990001, made for the test),
/// which Species+ then lumped into Amazilia versicolor (3210): the concept is now a synonym
/// pointing to it. Answers the quota's id.
pub(crate) async fn quota_on_a_concept_since_lumped_into_3210(app: &TestApp) -> i64 {
    db::with_db!(&app.t.db, pool => sqlx::query(
        "INSERT INTO taxa (id, full_name, rank, name_status, active, kingdom, class, family, \
         genus, updated_at, content_hash) SELECT 990001, 'Amazilia lumpedii', rank, 'A', active, \
         kingdom, class, family, genus, updated_at, 'test' FROM taxa WHERE id = $1")
        .bind(3210_i64).execute(pool).await.map(|_| ()))
    .unwrap();
    let (s, declared) = post(
        app,
        "/v1/quotas",
        Role::ScientificAuthority,
        json!({"client_key": "q-lumped", "exporter": "BR", "taxon_id": 990001, "year": 2026, "limit": "5", "unit": ""}),
    )
    .await;
    assert_eq!(s, 201, "{declared}");
    for sql in [
        "UPDATE taxa SET name_status = 'S' WHERE id = 990001",
        "INSERT INTO synonym_accepted (synonym_id, accepted_id, full_name) \
         VALUES (990001, 3210, 'Amazilia versicolor')",
    ] {
        db::with_db!(&app.t.db, pool => sqlx::query(sql).execute(pool).await.map(|_| ())).unwrap();
    }
    declared["quota"]["id"].as_i64().unwrap()
}

async fn a_quota_on_a_concept_since_lumped_is_listed_with_the_taxon_and_not_declared_twice(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let lumped = quota_on_a_concept_since_lumped_into_3210(&app).await;
    // Listed under the accepted taxon, and under the old concept's id as well.
    for taxon in ["3210", "990001"] {
        let (s, listed) = app
            .get(
                &format!("/v1/quotas?taxon={taxon}"),
                Some(Role::Enforcement),
            )
            .await;
        assert_eq!(s, 200, "{listed}");
        let ids: Vec<i64> = (listed["quotas"].as_array().unwrap().iter())
            .map(|q| q["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![lumped], "taxon {taxon}: {listed}");
        assert_eq!(listed["taxon_ids"], json!([3210, 990001]), "{listed}");
        let out = cites(&app.t.url, &["quota", "list", "--taxon", taxon, "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let listed: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(listed[0]["id"], lumped, "{listed}");
    }
    // A taxon the catalogue does not hold is not a taxon without quotas; one it holds is.
    let (s, unknown) = app
        .get("/v1/quotas?taxon=99999999", Some(Role::Enforcement))
        .await;
    assert_eq!(
        (s, &unknown["error"]["field"]),
        (404, &json!("taxon")),
        "{unknown}"
    );
    let (s, none) = app
        .get("/v1/quotas?taxon=4521", Some(Role::Enforcement))
        .await;
    assert_eq!((s, &none["quotas"]), (200, &json!([])), "{none}");
    // A second allowance for the same specimens is refused, naming the quota to revise ...
    let body = |key: &str, year: i32| json!({"client_key": key, "exporter": "BR", "taxon_id": 3210, "year": year, "limit": "7", "unit": ""});
    let (s, refused) = post(
        &app,
        "/v1/quotas",
        Role::ScientificAuthority,
        body("again", 2026),
    )
    .await;
    assert_eq!(
        (s, refused["error"]["code"].as_str()),
        (409, Some("quota_exists")),
        "{refused}"
    );
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("quota {lumped} already covers BR 3210 (declared on taxon 990001, which Species+ has merged into it)")),
        "{refused}"
    );
    let (rc, _, err) = quota(
        &app.t.url,
        &[
            "set",
            "--exporter",
            "BR",
            "--taxon",
            "3210",
            "--year",
            "2026",
            "--limit",
            "7",
            "--unit",
            "",
            "--key",
            "again-cli",
            "--actor",
            "sa",
        ],
    );
    assert_eq!(rc, Some(1), "{err}");
    assert!(err.contains("declared on taxon 990001"), "{err}");
    // ... and the next year's quota is declared on the accepted taxon.
    let (s, next) = post(
        &app,
        "/v1/quotas",
        Role::ScientificAuthority,
        body("next-year", 2027),
    )
    .await;
    assert_eq!(s, 201, "{next}");
    assert_eq!(next["quota"]["taxon_id"], 3210, "{next}");
    app.stop().await;
}

on_both_backends!(
    a_quota_on_a_concept_since_lumped_is_listed_with_the_taxon_and_not_declared_twice
);

async fn every_quota_command_answers_in_json_when_asked_with_the_same_exit_status(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    let run = |args: &[&str]| -> (Option<i32>, Value) {
        let (rc, out, err) = quota(&t.url, &[args, &["--json"]].concat());
        let answer = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out} {err}"));
        (rc, answer)
    };
    let (rc, declared) = run(&[
        "set",
        "--exporter",
        "NA",
        "--taxon",
        "4521",
        "--year",
        "2026",
        "--limit",
        "10",
    ]);
    assert_eq!(
        (rc, &declared["quota"]["limit"]),
        (Some(0), &json!("10")),
        "{declared}"
    );
    let id = declared["quota"]["id"].to_string();
    let (rc, revised) = run(&["revise", &id, "--limit", "12"]);
    assert_eq!(
        (rc, &revised["quota"]["available"]),
        (Some(0), &json!("12")),
        "{revised}"
    );
    // The bodies the HTTP routes answer: the outcome, the reservation and the quota after it.
    let (rc, held) = run(&["reserve", &id, "--quantity", "3"]);
    assert_eq!((rc, &held["outcome"]), (Some(0), &json!("done")), "{held}");
    assert_eq!(held["quota"]["held"], "3", "{held}");
    let rid = held["reservation"]["id"].to_string();
    let (rc, refused) = run(&["reserve", &id, "--quantity", "100"]);
    assert_eq!(
        (rc, &refused["outcome"]),
        (Some(3), &json!("refused")),
        "{refused}"
    );
    assert_eq!(refused["refusal"]["code"], "quota_exhausted", "{refused}");
    assert_eq!(
        refused["message"], "not enough quota: 100 NAR requested, 9 NAR available",
        "{refused}"
    );
    let (rc, committed) = run(&["commit", &rid, "--quantity", "2"]);
    assert_eq!(
        (
            rc,
            &committed["reservation"]["state"],
            &committed["quota"]["available"]
        ),
        (Some(0), &json!("committed"), &json!("10")),
        "{committed}"
    );
    let (rc, exported) = run(&["export", &rid, "--quantity", "2"]);
    assert_eq!(
        (rc, &exported["quota"]["exported"]),
        (Some(0), &json!("2")),
        "{exported}"
    );
    let (rc, closed) = run(&["close", &rid]);
    assert_eq!(
        (rc, &closed["reservation"]["state"]),
        (Some(0), &json!("closed")),
        "{closed}"
    );
    let (rc, again) = run(&["release", &rid]);
    assert_eq!(
        (rc, &again["outcome"]),
        (Some(3), &json!("refused")),
        "{again}"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(every_quota_command_answers_in_json_when_asked_with_the_same_exit_status);

/// Imports the sample catalogue's Species+ quotas (all applied) and lists the ledger's quotas.
fn import_then_list(url: &str) -> Vec<Value> {
    let (rc, out, err) = quota(url, &["import"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let (_, list, _) = quota(url, &["list", "--json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    list.as_array().cloned().unwrap_or_default()
}

async fn a_national_revision_of_an_imported_quota_stands_until_species_plus_changes_its_value(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    let list = import_then_list(&t.url);
    // An imported quota with a value: the Scientific Authority cuts it nationally.
    let q = (list.iter())
        .find(|q| q["speciesplus_id"].is_i64() && q["limit"].is_string())
        .cloned()
        .unwrap();
    let (id, sid) = (q["id"].to_string(), q["speciesplus_id"].as_i64().unwrap());
    let published: rust_decimal::Decimal = q["limit"].as_str().unwrap().parse().unwrap();
    let cut = (published / rust_decimal::Decimal::from(2)).floor();
    let (rc, out, err) = quota(
        &t.url,
        &[
            "revise",
            &id,
            "--limit",
            &cut.to_string(),
            "--reason",
            "NDF",
        ],
    );
    assert_eq!(rc, Some(0), "{out} {err}");
    let limit = || {
        let (_, shown, _) = quota(&t.url, &["show", &id, "--json"]);
        let shown: Value = serde_json::from_str(&shown).unwrap();
        shown["limit"].as_str().unwrap_or_default().to_owned()
    };
    // Species+ has not changed: the import leaves the national limit alone.
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    assert!(!out.contains(&format!("Species+ quota {sid} ")), "{out}");
    assert_eq!(limit(), cut.to_string());
    // Species+ publishes a new value: reported once, the national limit kept.
    // Species+'s value for the quota, in the synchronised catalogue.
    let db = &t.db;
    let publish = |value: rust_decimal::Decimal| async move {
        db::with_db!(db, pool => sqlx::query("UPDATE quotas SET quota = $1 WHERE id = $2")
            .bind(value.to_string()).bind(sid).execute(pool).await.map(|_| ()))
        .unwrap();
    };
    // An import that leaves every quota as it is.
    let import_changes_nothing = |run: &str| {
        let (rc, out, err) = quota(&t.url, &["import"]);
        assert_eq!(
            (rc, out.contains(", 0 not applied")),
            (Some(0), true),
            "{run}: {out} {err}"
        );
    };
    // An import that reports the quota not applied, saying `says`.
    let import_reports = |run: &str, says: &str| {
        let (rc, out, err) = quota(&t.url, &["import"]);
        assert_eq!(rc, Some(3), "{run}: {out} {err}");
        assert!(out.contains(says), "{run}: {out}");
    };
    let new = published + rust_decimal::Decimal::from(3);
    publish(new).await;
    import_reports(
        "stricter",
        &format!(
            "not applied: Species+ quota {sid} (quota {id}): Species+ now publishes {new} (imported: {published}), but the quota was revised nationally to {cut} and keeps it"
        ),
    );
    assert_eq!(limit(), cut.to_string());
    import_changes_nothing("reported once");
    assert_eq!(limit(), cut.to_string());
    let (_, shown, _) = quota(&t.url, &["show", &id, "--json"]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["speciesplus_value"], new.to_string(), "{shown}");
    // Species+ publishes a value below the national limit: reported at every import until the
    // quota is revised to it, which the next import then takes as followed.
    let lower = cut - rust_decimal::Decimal::ONE;
    publish(lower).await;
    for run in ["above", "again"] {
        import_reports(
            run,
            &format!(
                "Species+ publishes {lower}, but the quota was revised nationally to {cut}, above it: revise it to at most {lower}"
            ),
        );
    }
    assert_eq!(limit(), cut.to_string());
    // What Species+ publishes is shown, though the quota does not follow it.
    let (_, shown, _) = quota(&t.url, &["show", &id, "--json"]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["speciesplus_value"], lower.to_string(), "{shown}");
    let (rc, out, err) = quota(&t.url, &["revise", &id, "--limit", &lower.to_string()]);
    assert_eq!(rc, Some(0), "{out} {err}");
    for run in ["followed", "again"] {
        import_changes_nothing(run);
    }
    let (_, shown, _) = quota(&t.url, &["show", &id]);
    assert!(
        shown.contains(&format!("Species+   {lower} at the last import")),
        "{shown}"
    );
    // The history shows the import and the national revisions only.
    let (_, history, _) = quota(&t.url, &["history", &id, "--json"]);
    let history: Value = serde_json::from_str(&history).unwrap();
    let events: Vec<(&str, &str)> = (history.as_array().unwrap().iter())
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default(),
                e["limit"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let (published, cut, lower) = (published.to_string(), cut.to_string(), lower.to_string());
    assert_eq!(
        events,
        [
            ("declare", published.as_str()),
            ("revise", cut.as_str()),
            ("revise", lower.as_str())
        ]
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(
    a_national_revision_of_an_imported_quota_stands_until_species_plus_changes_its_value
);

async fn the_command_line_shows_a_quota_s_restrictions_and_refuses_a_list_filter_it_cannot_match(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    let set = |key: &str, restriction: &[&str]| {
        let (rc, out, err) = quota(
            &t.url,
            &[
                &[
                    "set",
                    "--exporter",
                    "KE",
                    "--taxon",
                    "4521",
                    "--year",
                    "2026",
                    "--limit",
                    "5",
                    "--key",
                    key,
                ][..],
                restriction,
            ]
            .concat(),
        );
        assert_eq!(rc, Some(0), "{out} {err}");
        out.split_whitespace().nth(1).unwrap().to_owned()
    };
    let zoos = set(
        "zoos",
        &["--purpose", "Z", "--notes", "zoological exchanges"],
    );
    let every = set("every", &[]);
    // Two quotas of one taxon and exporter, told apart by their scope.
    let (_, listed, _) = quota(&t.url, &["list", "--exporter", "ke"]);
    let line = |id: &str| {
        (listed.lines())
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line(&zoos).ends_with("national purpose Z"), "{listed}");
    assert!(line(&every).ends_with("national"), "{listed}");
    let (_, shown, _) = quota(&t.url, &["show", &zoos]);
    assert!(shown.contains("scope      national, purpose Z"), "{shown}");
    assert!(shown.contains("notes      zoological exchanges"), "{shown}");
    let (_, shown, _) = quota(&t.url, &["show", &every]);
    assert!(
        shown.contains("scope      national, every term, source and purpose"),
        "{shown}"
    );
    // A filter no quota could match is a typo: an error, as over HTTP, not an empty list.
    for (args, says) in [
        (
            &["list", "--exporter", "QQ"][..],
            "for field \"--exporter\"",
        ),
        (
            &["list", "--year", "1800"],
            "invalid --year 1800: accepted 1975 to 2200",
        ),
        (&["list", "--taxon", "abc"], "for field \"--taxon\""),
        (
            &["list", "--taxon", "99999999"],
            "invalid --taxon: no taxon 99999999 in the catalogue, and no quota on it",
        ),
        // The options typed, not the fields they fill.
        (
            &["reserve", &zoos, "--quantity", "abc"],
            "invalid amount \"abc\" for field \"--quantity\"",
        ),
        (
            &["reserve", &zoos, "--quantity", "1", "--unit", "XYZ"],
            "for field \"--unit\"",
        ),
    ] {
        let (rc, out, err) = quota(&t.url, args);
        assert_eq!(rc, Some(1), "{args:?}: {out} {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    t.drop_db().await.unwrap();
}

on_both_backends!(
    the_command_line_shows_a_quota_s_restrictions_and_refuses_a_list_filter_it_cannot_match
);

#[tokio::test]
async fn a_listing_piped_into_a_reader_that_stops_early_ends_without_a_panic() {
    let t = sample_db(Backend::Sqlite).await;
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    // The reader goes before the first line is written, as `cites quota list | head -0`.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cites"))
        .env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW)
        .args(["quota", "list"])
        .env("DATABASE_URL", &t.url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    // Ended as other Unix tools are by SIGPIPE (a shell shows 141), not by a panic's 101.
    assert_eq!(out.status.code(), Some(141), "{err}");
    t.drop_db().await.unwrap();
}

async fn an_import_s_revision_says_which_species_plus_value_moved_it_and_a_count_is_advised_whole(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    let list = import_then_list(&t.url);
    // An imported count quota of at least 4 specimens.
    let q = (list.iter())
        .find(|q| {
            q["speciesplus_id"].is_i64()
                && q["unit"] == "NAR"
                && q["limit"]
                    .as_str()
                    .and_then(|l| l.parse::<rust_decimal::Decimal>().ok())
                    .is_some_and(|l| l >= rust_decimal::Decimal::from(4))
        })
        .cloned()
        .unwrap_or_else(|| panic!("no imported count quota of 4 or more in {list:?}"));
    let (id, sid) = (q["id"].to_string(), q["speciesplus_id"].as_i64().unwrap());
    let first: rust_decimal::Decimal = q["limit"].as_str().unwrap().parse().unwrap();
    let db = &t.db;
    let publish = |value: &str| {
        let value = value.to_owned();
        async move {
            db::with_db!(db, pool => sqlx::query("UPDATE quotas SET quota = $1 WHERE id = $2")
                .bind(value).bind(sid).execute(pool).await.map(|_| ()))
            .unwrap();
        }
    };
    // Followed: the audit entry says which Species+ value moved the limit, and the reason given.
    let raised = first + rust_decimal::Decimal::from(2);
    publish(&raised.to_string()).await;
    let (rc, out, err) = quota(&t.url, &["import", "--reason", "weekly import"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let (_, history, _) = quota(&t.url, &["history", &id, "--json"]);
    let history: Value = serde_json::from_str(&history).unwrap();
    let last = history.as_array().unwrap().last().cloned().unwrap();
    assert_eq!(
        (&last["event"], &last["reason"]),
        (
            &json!("revise"),
            &json!(format!(
                "Species+ quota {sid} published {raised} (was {first}): weekly import"
            ))
        ),
        "{history}"
    );
    // Revised nationally, then Species+ publishes half a specimen less than it: the advice is
    // a limit a count can have, and the value is shown as Species+ gives it.
    let (rc, out, err) = quota(&t.url, &["revise", &id, "--limit", "3"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    publish("2.5").await;
    for run in ["first", "again"] {
        let (rc, out, err) = quota(&t.url, &["import"]);
        assert_eq!(rc, Some(3), "{run}: {out} {err}");
        assert!(
            out.contains(&format!(
                "not applied: Species+ quota {sid} (quota {id}): Species+ publishes 2.5, but the quota was revised nationally to 3, above it: revise it to at most 2 "
            )),
            "{run}: {out}"
        );
    }
    // A program reading the report finds which quota to act on.
    let (rc, out, err) = quota(&t.url, &["import", "--json"]);
    assert_eq!(rc, Some(3), "{out} {err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let line = (report["not_applied"].as_array().unwrap().iter())
        .find(|l| l["speciesplus_id"] == sid)
        .cloned()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(line["quota_id"].to_string(), id, "{line}");
    assert!(
        line["message"]
            .as_str()
            .is_some_and(|m| m.contains("revise it to at most 2 ")),
        "{line}"
    );
    let (_, shown, _) = quota(&t.url, &["show", &id, "--json"]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        (&shown["limit"], &shown["speciesplus_value"]),
        (&json!("3"), &json!("2.5")),
        "{shown}"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(
    an_import_s_revision_says_which_species_plus_value_moved_it_and_a_count_is_advised_whole
);
