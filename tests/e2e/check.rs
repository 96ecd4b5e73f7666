//! The permit check through the HTTP service and the command line: facts gathered from the
//! sample catalogue and the quota ledger, the decision explained, and with `reserve: true` the
//! quota reserved in the same call, never disagreeing with the decision.

use std::sync::Arc;

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use crate::support::{TestApp, cites, on_both_backends, stderr, stdout};

pub(crate) async fn post(app: &TestApp, role: Role, body: &Value) -> (u16, Value) {
    post_with(app, app.key(role), body).await
}

/// A check sent with the API key `key`: for a caller other than the one key per role.
async fn post_with(app: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    let res = app
        .http
        .post(format!("{}/v1/permit-checks", app.base))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn codes(answer: &Value) -> Vec<String> {
    answer["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

/// A wild-caught Amazilia versicolor (App II through Trochilidae spp.) exported live from
/// Brazil, with its findings.
pub(crate) fn hummingbird_export(quantity: &str) -> Value {
    json!({
        "transaction": "export", "taxon": "Amazilia versicolor", "exporter": "BR",
        "importer": "DE", "source": "W", "purpose": "T", "term": "LIV",
        "quantity": quantity, "date_issue": "2026-11-27", "date_trade": "2026-12-01",
        "documents": {"ndf_reference": "NDF-BR-2026-7", "laf_reference": "LAF-BR-2026-88"}
    })
}

pub(crate) async fn declare_quota(app: &TestApp, limit: &str) -> i64 {
    let res = app
        .http
        .post(format!("{}/v1/quotas", app.base))
        .bearer_auth(app.key(Role::ScientificAuthority))
        .json(
            &json!({"client_key": "q-amazilia", "exporter": "BR", "taxon_id": 3210,
            "year": 2026, "limit": limit, "unit": ""}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let body: Value = res.json().await.unwrap();
    body["quota"]["id"].as_i64().unwrap()
}

async fn a_check_explains_its_decision_and_reserves_only_what_it_allows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let quota_id = declare_quota(&app, "5").await;

    let (s, allowed) = post(&app, Role::Enforcement, &hummingbird_export("2")).await;
    assert_eq!(s, 200, "{allowed}");
    assert_eq!(allowed["decision"], "ALLOW", "{allowed}");
    assert_eq!(allowed["taxon"]["id"], 3210);
    assert_eq!(allowed["box_11a"]["quota_id"], quota_id, "{allowed}");
    assert_eq!(allowed["box_11a"]["total_after"], "2", "{allowed}");
    assert!(allowed["reservation"].is_null(), "no reserve asked");
    assert!(allowed["check_id"].as_i64().unwrap() > 0);

    // Reserving needs a permit officer, and a client key.
    let mut reserve = hummingbird_export("2");
    reserve["reserve"] = json!(true);
    let (s, body) = post(&app, Role::Enforcement, &reserve).await;
    assert_eq!(s, 403, "{body}");
    let (s, body) = post(&app, Role::PermitOfficer, &reserve).await;
    assert_eq!(
        (s, body["error"]["field"].as_str()),
        (422, Some("client_key")),
        "{body}"
    );
    reserve["client_key"] = json!("app-1");
    let (s, first) = post(&app, Role::PermitOfficer, &reserve).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["decision"], "ALLOW", "{first}");
    assert_eq!(first["reservation"]["outcome"], "done", "{first}");
    // A retried check with the same key reserves once and still allows.
    let (s, again) = post(&app, Role::PermitOfficer, &reserve).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["decision"], "ALLOW", "{again}");
    assert_eq!(
        again["reservation"]["reservation"]["id"],
        first["reservation"]["reservation"]["id"]
    );
    assert_eq!(again["check_id"], first["check_id"], "the recorded answer");
    // The same key for another application is a conflict, not a second reservation.
    let mut other = reserve.clone();
    other["quantity"] = json!("1");
    let (s, body) = post(&app, Role::PermitOfficer, &other).await;
    assert_eq!(
        (s, &body["error"]["field"]),
        (409, &json!("client_key")),
        "{body}"
    );
    let (_, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(quota["quota"]["held"], "2", "{quota}");
    // The quota's history says which check made the hold.
    let (_, history) = app
        .get(
            &format!("/v1/quotas/{quota_id}/history"),
            Some(Role::Enforcement),
        )
        .await;
    let hold = &history["history"][1];
    assert_eq!(
        (&hold["event"], &hold["reason"]),
        (&json!("reserve"), &json!("permit check app-1")),
        "{history}"
    );

    // More than what is left is refused with the quota's figures, and nothing is reserved.
    let mut too_many = hummingbird_export("4");
    too_many["reserve"] = json!(true);
    too_many["client_key"] = json!("app-2");
    let (s, refused) = post(&app, Role::PermitOfficer, &too_many).await;
    assert_eq!(s, 200, "{refused}");
    assert_eq!(refused["decision"], "REFUSE", "{refused}");
    assert!(
        codes(&refused).contains(&"QUOTA_EXCEEDED".to_owned()),
        "{refused}"
    );
    assert!(refused["reservation"].is_null(), "{refused}");

    // A check that reserves is made when the permit is issued: a date of issue other than
    // today (the service's clock says 2026-11-27) would count against another year's quota.
    let mut back_dated = hummingbird_export("1");
    back_dated["reserve"] = json!(true);
    back_dated["client_key"] = json!("app-3");
    back_dated["date_issue"] = json!("2026-11-20");
    let (s, body) = post(&app, Role::PermitOfficer, &back_dated).await;
    assert_eq!(
        (s, body["error"]["field"].as_str()),
        (422, Some("date_issue")),
        "{body}"
    );
    let (_, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(quota["quota"]["held"], "2", "nothing more held: {quota}");

    // Appendix I for commercial purposes, with no import permit: refused, with the legal basis.
    let tiger = json!({
        "transaction": "export", "taxon": "Panthera tigris", "exporter": "IN", "importer": "US",
        "source": "W", "purpose": "T", "term": "SKI", "quantity": 1,
        "date_issue": "2026-11-27", "date_trade": "2026-11-30",
        "documents": {"ndf_reference": "N", "laf_reference": "L"}
    });
    let (s, tiger) = post(&app, Role::PermitOfficer, &tiger).await;
    assert_eq!(s, 200, "{tiger}");
    assert_eq!(tiger["decision"], "REFUSE", "{tiger}");
    let tiger_codes = codes(&tiger);
    assert!(
        tiger_codes.contains(&"APP_I_PRIMARILY_COMMERCIAL".to_owned()),
        "{tiger}"
    );
    assert!(
        tiger_codes.contains(&"MISSING_IMPORT_PERMIT".to_owned()),
        "{tiger}"
    );
    assert!(
        tiger["reasons"][0]["legal_reference"]
            .as_str()
            .unwrap()
            .contains("Art."),
        "{tiger}"
    );

    // A synonym resolves to its accepted taxon, and says so.
    let mut shark = hummingbird_export("1");
    shark["taxon"] = json!("Carcharias obscurus");
    shark["exporter"] = json!("ZA");
    let (s, shark) = post(&app, Role::PermitOfficer, &shark).await;
    assert_eq!(s, 200, "{shark}");
    assert_eq!(shark["taxon"]["id"], 900002, "{shark}");
    assert_eq!(
        shark["taxon"]["via_synonym"], "Carcharias obscurus",
        "{shark}"
    );
    assert!(
        codes(&shark).contains(&"SYNONYM_RESOLVED".to_owned()),
        "{shark}"
    );
    app.stop().await;
}

#[tokio::test]
async fn sqlite_a_check_explains_its_decision_and_reserves_only_what_it_allows() {
    a_check_explains_its_decision_and_reserves_only_what_it_allows(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_a_check_explains_its_decision_and_reserves_only_what_it_allows() {
    a_check_explains_its_decision_and_reserves_only_what_it_allows(Backend::Postgres).await;
}

async fn concurrent_checks_for_the_last_units_never_allow_more_than_they_reserve(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let quota_id = declare_quota(&app, "5").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let http = app.http.clone();
        let url = format!("{}/v1/permit-checks", app.base);
        let key = app.key(Role::PermitOfficer).to_owned();
        let mut body = hummingbird_export("1");
        body["reserve"] = json!(true);
        body["client_key"] = json!(format!("race-{i}"));
        tasks.push(tokio::spawn(async move {
            let res = http
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 200);
            res.json::<Value>().await.unwrap()
        }));
    }
    let mut allowed = 0;
    for t in tasks {
        let answer = t.await.unwrap();
        match answer["decision"].as_str().unwrap() {
            "ALLOW" => {
                allowed += 1;
                assert_eq!(answer["reservation"]["outcome"], "done", "{answer}");
            }
            "REFUSE" => {
                assert!(
                    codes(&answer).contains(&"QUOTA_EXCEEDED".to_owned()),
                    "{answer}"
                );
                assert_ne!(answer["reservation"]["outcome"], "done", "{answer}");
            }
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    assert_eq!(allowed, 5, "exactly the quota is allowed");
    let (_, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(quota["quota"]["held"], "5", "{quota}");
    app.stop().await;
}

#[tokio::test]
async fn sqlite_concurrent_checks_for_the_last_units_never_allow_more_than_they_reserve() {
    concurrent_checks_for_the_last_units_never_allow_more_than_they_reserve(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_concurrent_checks_for_the_last_units_never_allow_more_than_they_reserve() {
    concurrent_checks_for_the_last_units_never_allow_more_than_they_reserve(Backend::Postgres)
        .await;
}

#[tokio::test]
async fn bad_applications_get_a_422_naming_the_field_never_a_panic() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let cases: [(&str, Value, &str); 6] = [
        ("unknown source code", json!({"source": "QQ"}), "source"),
        ("negative quantity", json!({"quantity": "-3"}), "quantity"),
        (
            "unknown taxon",
            json!({"taxon": "Nonexistus imaginarius"}),
            "taxon",
        ),
        (
            "date out of range",
            json!({"date_trade": "1800-01-01"}),
            "date_trade",
        ),
        ("unknown country", json!({"importer": "ZZZ"}), "importer"),
        ("unknown field", json!({"colour": "green"}), "colour"),
    ];
    for (what, change, field) in cases {
        let mut body = hummingbird_export("1");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, answer) = post(&app, Role::PermitOfficer, &body).await;
        assert_eq!(s, 422, "{what}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{what}: {answer}");
    }
    app.stop().await;
}

#[test]
fn the_command_line_checks_an_application_from_flags_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let sample = crate::support::repo_path("fixtures/sample/catalogue.ndjson");
    let o = cites(&url, &["sync", "--from-dump", sample.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cites(
        &url,
        &[
            "check",
            "--json",
            "--transaction",
            "export",
            "--taxon",
            "Panthera tigris",
            "--exporter",
            "IN",
            "--importer",
            "US",
            "--source",
            "W",
            "--purpose",
            "T",
            "--term",
            "SKI",
            "--quantity",
            "1",
            "--date-issue",
            "2026-11-27",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let answer: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(answer["decision"], "REFUSE", "{answer}");
    assert!(codes(&answer).contains(&"APP_I_PRIMARILY_COMMERCIAL".to_owned()));

    let input = dir.path().join("app.json");
    std::fs::write(&input, hummingbird_export("1").to_string()).unwrap();
    let o = cites(&url, &["check", "--input", input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("ALLOW"), "{}", stdout(&o));

    let o = cites(
        &url,
        &[
            "check",
            "--input",
            input.to_str().unwrap(),
            "--quantity",
            "-1",
        ],
    );
    assert!(!o.status.success());
    // Named as the option typed; a field of the file as the file's field.
    assert!(
        stderr(&o).contains("invalid --quantity: -1 is negative"),
        "{}",
        stderr(&o)
    );
    let mut file_quantity = hummingbird_export("1");
    file_quantity["quantity"] = json!("-1");
    std::fs::write(&input, file_quantity.to_string()).unwrap();
    let o = cites(&url, &["check", "--input", input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("quantity: -1 is negative") && !stderr(&o).contains("--quantity"),
        "{}",
        stderr(&o)
    );
    // A file that is not one object is said to be so.
    std::fs::write(&input, "[]").unwrap();
    let o = cites(&url, &["check", "--input", input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the application must be one JSON object of its fields, not an array"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&input, hummingbird_export("1").to_string()).unwrap();
    // A taxon by name and by id at once is refused before anything is checked.
    let o = cites(
        &url,
        &[
            "check",
            "--input",
            input.to_str().unwrap(),
            "--taxon",
            "Loxodonta africana",
            "--taxon-id",
            "3210",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}

async fn a_check_whose_hold_is_written_after_its_quota_year_ended_is_not_an_allow(
    backend: Backend,
) {
    let t = crate::support::sample_db(backend).await;
    let (rc, out, err) = {
        let o = cites(
            &t.url,
            &[
                "quota",
                "set",
                "--exporter",
                "BR",
                "--taxon",
                "3210",
                "--year",
                "2026",
                "--limit",
                "5",
                "--unit",
                "",
            ],
        );
        (o.status.code(), stdout(&o), stderr(&o))
    };
    assert_eq!(rc, Some(0), "{out} {err}");
    // Decided in the last second of 2026; its hold written in the first of 2027.
    let at = |s: &str| -> Arc<dyn domain::Clock> {
        Arc::new(domain::ManualClock::new(
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc),
        ))
    };
    let checker = cites::app::permit_check::Checker {
        db: t.db.clone(),
        catalogue: sync::Catalogue::new(t.db.clone()),
        ledger: quota::Ledger::new(t.db.clone(), at("2027-01-01T00:00:00.001Z")),
        reserver: None,
        clock: at("2026-12-31T23:59:59.999Z"),
        settings: Arc::new(cites::app::permit_check::CheckSettings::default()),
        mirrors_speciesplus: false,
    };
    let mut application = hummingbird_export("1");
    application["date_issue"] = json!("2026-12-31");
    application["date_trade"] = json!("2026-12-31");
    application["reserve"] = json!(true);
    application["client_key"] = json!("new-year");
    let input: rules::ApplicationInput = serde_json::from_value(application).unwrap();
    let actor = quota::Actor {
        name: "po".into(),
        reason: None,
    };
    let answer = checker.check(input, &actor, None).await;
    let err = answer.expect_err("not an ALLOW beside a refused hold");
    assert_eq!(err.field(), Some("date_issue"), "{err}");
    assert!(
        err.to_string()
            .starts_with("date_issue: 2026-12-31 is not today (2027-01-01, UTC)"),
        "{err}"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(a_check_whose_hold_is_written_after_its_quota_year_ended_is_not_an_allow);

async fn checks_that_reserve_from_two_callers_under_one_key_are_two_records_and_two_reservations(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let quota_id = declare_quota(&app, "5").await;
    let north = app.key(Role::PermitOfficer).to_owned();
    let south = app
        .add_key("south permit-officer", Role::PermitOfficer)
        .await;
    let mut check = hummingbird_export("2");
    check["reserve"] = json!(true);
    check["client_key"] = json!("permit-2026-0001");
    let (s, a) = post_with(&app, &north, &check).await;
    assert_eq!((s, a["decision"].as_str()), (200, Some("ALLOW")), "{a}");
    let (s, b) = post_with(&app, &south, &check).await;
    assert_eq!((s, b["decision"].as_str()), (200, Some("ALLOW")), "{b}");
    assert_eq!(b["reservation"]["outcome"], "done", "{b}");
    assert_ne!(a["check_id"], b["check_id"], "two records: {a} {b}");
    assert_ne!(
        a["reservation"]["reservation"]["id"], b["reservation"]["reservation"]["id"],
        "two reservations: {a} {b}"
    );
    let (_, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(quota["quota"]["held"], "4", "{quota}");
    // Each caller's retry is its own recorded answer.
    for (caller, first) in [(&north, &a), (&south, &b)] {
        let (s, again) = post_with(&app, caller, &check).await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(again["check_id"], first["check_id"], "{again}");
    }
    // The key for another application is a conflict naming the key as the caller sent it.
    let mut other = check.clone();
    other["quantity"] = json!("1");
    let (s, conflict) = post_with(&app, &south, &other).await;
    assert_eq!(s, 409, "{conflict}");
    let message = conflict["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("client_key permit-2026-0001 "),
        "{message}"
    );
    assert!(
        !message.contains("south") && !message.contains('\u{1f}'),
        "{message}"
    );
    let (_, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(quota["quota"]["held"], "4", "nothing more: {quota}");
    app.stop().await;
}

on_both_backends!(
    checks_that_reserve_from_two_callers_under_one_key_are_two_records_and_two_reservations
);

/// The command line is the database's own operator: a reserving check retried under another
/// account (`--actor`, `$USER` by default) is the same request and gets the recorded answer.
#[test]
fn a_command_line_check_that_reserves_is_the_same_request_whoever_retries_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let sample = crate::support::repo_path("fixtures/sample/catalogue.ndjson");
    let o = cites(&url, &["sync", "--from-dump", sample.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Reserving checks are issued today, against the quota of this year.
    let today = crate::support::today();
    let year = chrono::Datelike::year(&today).to_string();
    let o = cites(
        &url,
        &[
            "quota",
            "set",
            "--exporter",
            "BR",
            "--taxon",
            "3210",
            "--year",
            &year,
            "--limit",
            "5",
            "--key",
            "q-amazilia",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let quota_id = stdout(&o).split_whitespace().nth(1).unwrap().to_owned();
    let mut app = hummingbird_export("2");
    app["date_issue"] = json!(today.to_string());
    app["date_trade"] = json!(today.to_string());
    let input = dir.path().join("app.json");
    std::fs::write(&input, app.to_string()).unwrap();
    let check = |actor: &str| {
        let o = cites(
            &url,
            &[
                "check",
                "--json",
                "--input",
                input.to_str().unwrap(),
                "--reserve",
                "--client-key",
                "check-0001",
                "--actor",
                actor,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<Value>(&stdout(&o)).unwrap()
    };
    let first = check("alice");
    assert_eq!(first["decision"], "ALLOW", "{first}");
    assert_eq!(first["reservation"]["outcome"], "done", "{first}");
    let again = check("root");
    assert_eq!(
        again["check_id"], first["check_id"],
        "the recorded answer: {again}"
    );
    let o = cites(&url, &["quota", "show", &quota_id, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shown: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(shown["held"], "2", "one reservation: {shown}");
}

async fn a_quota_on_a_concept_since_lumped_into_the_taxon_still_limits_its_exports(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let quota_id = crate::quota::quota_on_a_concept_since_lumped_into_3210(&app).await;
    let (s, within) = post(&app, Role::Enforcement, &hummingbird_export("2")).await;
    assert_eq!(s, 200, "{within}");
    assert_eq!(within["decision"], "ALLOW", "{within}");
    assert_eq!(within["box_11a"]["quota_id"], quota_id, "{within}");
    let (s, over) = post(&app, Role::Enforcement, &hummingbird_export("6")).await;
    assert_eq!(s, 200, "{over}");
    assert_eq!(over["decision"], "REFUSE", "{over}");
    assert!(
        codes(&over).contains(&"QUOTA_EXCEEDED".to_owned()),
        "{over}"
    );
    // The permits issued through that quota are the exporter's history for the taxon: three
    // of one specimen, then an application for four is far above them.
    let (s, raised) = crate::quota::post(
        &app,
        &format!("/v1/quotas/{quota_id}/revisions"),
        Role::ScientificAuthority,
        json!({"client_key": "raise", "limit": "50"}),
    )
    .await;
    assert_eq!(s, 200, "{raised}");
    for i in 0..3 {
        let (s, held) = crate::quota::post(
            &app,
            &format!("/v1/quotas/{quota_id}/reservations"),
            Role::PermitOfficer,
            json!({"client_key": format!("permit-{i}"), "quantity": "1"}),
        )
        .await;
        assert_eq!((s, &held["outcome"]), (200, &json!("done")), "{held}");
        let rid = held["reservation"]["id"].as_i64().unwrap();
        let (s, issued) = crate::quota::post(
            &app,
            &format!("/v1/reservations/{rid}/commit"),
            Role::PermitOfficer,
            json!({"client_key": format!("issue-{i}")}),
        )
        .await;
        assert_eq!((s, &issued["outcome"]), (200, &json!("done")), "{issued}");
    }
    let (s, larger) = post(&app, Role::Enforcement, &hummingbird_export("4")).await;
    assert_eq!(s, 200, "{larger}");
    let fired: Vec<&str> = (larger["risk"]["indicators"].as_array().unwrap().iter())
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert!(fired.contains(&"QUANTITY_ABOVE_HISTORY"), "{larger}");
    app.stop().await;
}

on_both_backends!(a_quota_on_a_concept_since_lumped_into_the_taxon_still_limits_its_exports);

/// What a crash after a check's reservation and before its record leaves behind.
async fn lose_record(app: &TestApp, answer: &Value) {
    let id = answer["check_id"].as_i64().unwrap();
    let sql = "DELETE FROM permit_checks WHERE id = $1";
    let deleted = match &app.t.db {
        db::Db::Sqlite(p) => sqlx::query(sql)
            .bind(id)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
        db::Db::Postgres(p) => sqlx::query(sql)
            .bind(id)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(deleted, 1);
}

/// A permit officer's commit, export or close of reservation `rid`, which must be done.
async fn move_permit(app: &TestApp, rid: i64, action: &str, body: Value) {
    let path = format!("/v1/reservations/{rid}/{action}");
    let (s, b) = crate::quota::post(app, &path, Role::PermitOfficer, body).await;
    assert_eq!(
        (s, b["outcome"].as_str()),
        (200, Some("done")),
        "{path}: {b}"
    );
}

/// A check whose service stopped between its reservation and its record is answered again when
/// retried: its own reservation, whatever became of it since (a permit issued on it, exported,
/// closed), is not someone else's use of the quota, nor one of the exporter's earlier permits.
async fn a_retried_check_whose_record_was_lost_counts_its_own_permit_as_its_own(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let quota_id = declare_quota(&app, "12").await;
    // Two earlier permits of 1: the exporter's history the check is compared with (one fewer
    // than the risk indicator needs to compare).
    for n in ["0040", "0041"] {
        let mut earlier = hummingbird_export("1");
        earlier["reserve"] = json!(true);
        earlier["client_key"] = json!(format!("permit-2026-{n}"));
        let (s, a) = post(&app, Role::PermitOfficer, &earlier).await;
        assert_eq!((s, a["decision"].as_str()), (200, Some("ALLOW")), "{a}");
        let id = a["reservation"]["reservation"]["id"].as_i64().unwrap();
        move_permit(&app, id, "commit", json!({"client_key": format!("c-{n}")})).await;
    }
    let mut check = hummingbird_export("10");
    check["reserve"] = json!(true);
    check["client_key"] = json!("permit-2026-0042");
    let (s, first) = post(&app, Role::PermitOfficer, &check).await;
    assert_eq!(
        (s, first["decision"].as_str()),
        (200, Some("ALLOW")),
        "{first}"
    );
    let rid = first["reservation"]["reservation"]["id"].as_i64().unwrap();
    lose_record(&app, &first).await;
    move_permit(
        &app,
        rid,
        "commit",
        json!({"client_key": "c-42", "quantity": "10"}),
    )
    .await;
    move_permit(
        &app,
        rid,
        "exports",
        json!({"client_key": "e-42-1", "quantity": "4"}),
    )
    .await;
    let (s, again) = post(&app, Role::PermitOfficer, &check).await;
    assert_eq!(
        (s, again["decision"].as_str()),
        (200, Some("ALLOW")),
        "committed: {again}"
    );
    assert_eq!(again["reservation"]["reservation"]["id"], rid, "{again}");
    // Its own permit is not one of the exporter's earlier permits either.
    assert_eq!(again["risk"], first["risk"], "{again}");

    lose_record(&app, &again).await;
    move_permit(
        &app,
        rid,
        "exports",
        json!({"client_key": "e-42-2", "quantity": "6"}),
    )
    .await;
    move_permit(&app, rid, "close", json!({"client_key": "x-42"})).await;
    let (s, again) = post(&app, Role::PermitOfficer, &check).await;
    assert_eq!(
        (s, again["decision"].as_str()),
        (200, Some("ALLOW")),
        "closed: {again}"
    );
    assert_eq!(again["reservation"]["reservation"]["id"], rid, "{again}");
    assert_eq!(again["risk"], first["risk"], "{again}");
    let (_, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(
        (
            quota["quota"]["exported"].as_str(),
            quota["quota"]["committed"].as_str(),
            quota["quota"]["held"].as_str()
        ),
        (Some("10"), Some("2"), Some("0")),
        "nothing reserved twice: {quota}"
    );
    app.stop().await;
}

on_both_backends!(a_retried_check_whose_record_was_lost_counts_its_own_permit_as_its_own);

/// Amounts the quota routes refuse as not written out.
const NOT_WRITTEN_OUT: [&str; 5] = ["1e3", "1_000", ".5e1", "2.", "1e0"];

/// The permit check reads amounts in the ledger's one grammar: what the quota routes refuse it
/// refuses, naming `quantity`, and reserves nothing; written-out amounts still pass.
async fn a_check_refuses_the_amounts_the_ledger_refuses_and_reserves_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let quota_id = declare_quota(&app, "5000").await;
    for (n, text) in NOT_WRITTEN_OUT.iter().enumerate() {
        let mut body = hummingbird_export(text);
        body["reserve"] = json!(true);
        body["client_key"] = json!(format!("amount-{n}"));
        let (s, answer) = post(&app, Role::PermitOfficer, &body).await;
        assert_eq!(s, 422, "{text}: {answer}");
        assert_eq!(answer["error"]["field"], "quantity", "{text}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("invalid amount {text:?}"))
                && message.contains(domain::AMOUNT_ACCEPTED),
            "{text}: {message}"
        );
    }
    let held = |quota: &Value| quota["quota"]["held"].clone();
    let (_, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(held(&quota), "0", "nothing reserved: {quota}");

    let mut plain = hummingbird_export("1000");
    plain["reserve"] = json!(true);
    plain["client_key"] = json!("amount-plain");
    let (s, answer) = post(&app, Role::PermitOfficer, &plain).await;
    assert_eq!((s, &answer["decision"]), (200, &json!("ALLOW")), "{answer}");
    let (_, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(held(&quota), "1000", "{quota}");
    let mut half = hummingbird_export("0.5");
    half["unit"] = json!("KGM");
    let (s, answer) = post(&app, Role::Enforcement, &half).await;
    assert_eq!(s, 200, "0.5 KGM is read: {answer}");
    app.stop().await;
}
on_both_backends!(a_check_refuses_the_amounts_the_ledger_refuses_and_reserves_nothing);

/// `cites check --quantity` reads the same grammar: exit 1 naming --quantity, nothing reserved.
#[test]
fn a_command_line_check_refuses_the_amounts_the_ledger_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let sample = crate::support::repo_path("fixtures/sample/catalogue.ndjson");
    let o = cites(&url, &["sync", "--from-dump", sample.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cites(
        &url,
        &[
            "quota",
            "set",
            "--exporter",
            "BR",
            "--taxon",
            "3210",
            "--year",
            "2026",
            "--limit",
            "5000",
            "--key",
            "q-amazilia",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let quota_id = stdout(&o).split_whitespace().nth(1).unwrap().to_owned();
    let input = dir.path().join("app.json");
    std::fs::write(&input, hummingbird_export("1").to_string()).unwrap();
    for (n, text) in NOT_WRITTEN_OUT.iter().enumerate() {
        let key = format!("check-amount-{n}");
        let o = cites(
            &url,
            &[
                "check",
                "--input",
                input.to_str().unwrap(),
                "--quantity",
                text,
                "--reserve",
                "--client-key",
                &key,
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{text}: {}", stdout(&o));
        assert!(
            stderr(&o).contains(&format!("invalid --quantity: invalid amount {text:?}"))
                && stderr(&o).contains(domain::AMOUNT_ACCEPTED),
            "{text}: {}",
            stderr(&o)
        );
    }
    let o = cites(&url, &["quota", "show", &quota_id, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shown: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(shown["held"], "0", "nothing reserved: {shown}");
    let o = cites(
        &url,
        &[
            "check",
            "--input",
            input.to_str().unwrap(),
            "--quantity",
            "1000",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}
