//! The engine's own permits in the provenance register: a permit committed
//! through the quota engine is an export permit document of the register, found by its number
//! and in a trace without being entered again, with its exports and its end as later revisions;
//! the back-fill puts earlier commits in once; a re-export check naming it reads its status and
//! balance from the register and is refused beyond the balance.

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use crate::check::{declare_quota, hummingbird_export};
use crate::quota::post;
use crate::support::{TestApp, cites, cites_at, clock, on_both_backends, stdout};

/// A hold of `quantity` on quota `quota_id` under `key`: the reservation's id.
async fn reserve(app: &TestApp, quota_id: i64, key: &str, quantity: &str) -> i64 {
    let path = format!("/v1/quotas/{quota_id}/reservations");
    let body = json!({"client_key": key, "quantity": quantity});
    let (s, r) = post(app, &path, Role::PermitOfficer, body).await;
    assert_eq!((s, r["outcome"].as_str()), (200, Some("done")), "{r}");
    r["reservation"]["id"].as_i64().unwrap()
}

/// A permit officer's commit, export or close of reservation `rid`: status and answer.
async fn move_permit(app: &TestApp, rid: i64, action: &str, body: Value) -> (u16, Value) {
    let path = format!("/v1/reservations/{rid}/{action}");
    post(app, &path, Role::PermitOfficer, body).await
}

async fn done(app: &TestApp, rid: i64, action: &str, body: Value) {
    let (s, b) = move_permit(app, rid, action, body).await;
    assert_eq!((s, b["outcome"].as_str()), (200, Some("done")), "{b}");
}

/// The register's documents numbered `number`, as `GET /v1/trace/documents/{number}` answers.
async fn documents(app: &TestApp, number: &str) -> Vec<Value> {
    let (s, found) = app
        .get(
            &format!("/v1/trace/documents/{number}"),
            Some(Role::Enforcement),
        )
        .await;
    assert_eq!(s, 200, "{found}");
    found["documents"].as_array().unwrap().clone()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    db::with_db!(&app.t.db, pool => {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap()
    })
}

async fn a_committed_permit_is_in_the_register_and_in_a_trace_without_re_entry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let quota_id = declare_quota(&app, "12").await;
    let rid = reserve(&app, quota_id, "r1", "10").await;
    let commit = json!({"client_key": "c1", "permit_number": "BR-2026-0042"});
    done(&app, rid, "commit", commit.clone()).await;
    let docs = documents(&app, "BR-2026-0042").await;
    assert_eq!(docs.len(), 1, "{docs:?}");
    let d = &docs[0];
    assert_eq!(
        (&d["country"], &d["doc_type"], &d["status"], &d["revision"]),
        (
            &json!("BR"),
            &json!("export_permit"),
            &json!("issued"),
            &json!(1)
        )
    );
    assert_eq!(
        (&d["permitted"], &d["unit"], &d["actual"], &d["taxon"]),
        (&json!("10"), &json!("NAR"), &Value::Null, &json!(3210))
    );
    assert_eq!(d["issuer"], json!("engine:management-authority:BR"));
    assert_eq!(d["issued_on"], json!(crate::support::today().to_string()));

    // A retried commit answers as the first and stores nothing more; another number for the
    // same permit, or a number taken, is a conflict naming permit_number.
    done(&app, rid, "commit", commit).await;
    assert_eq!(count(&app, "trace_documents").await, 1);
    let other = json!({"client_key": "c1-again", "permit_number": "BR-2026-0043"});
    let (s, b) = move_permit(&app, rid, "commit", other).await;
    assert_eq!(
        (s, &b["error"]["field"]),
        (409, &json!("permit_number")),
        "{b}"
    );
    let rid2 = reserve(&app, quota_id, "r2", "1").await;
    let taken = json!({"client_key": "c2", "permit_number": "BR-2026-0042"});
    let (s, b) = move_permit(&app, rid2, "commit", taken).await;
    assert_eq!(
        (s, &b["error"]["field"]),
        (409, &json!("permit_number")),
        "{b}"
    );
    let (s, r) = app
        .get(
            &format!("/v1/reservations/{rid2}"),
            Some(Role::PermitOfficer),
        )
        .await;
    assert_eq!(
        (s, &r["reservation"]["state"]),
        (200, &json!("held")),
        "nothing committed: {r}"
    );
    for bad in ["", "ENGINE-7", "BR 2026", &"9".repeat(36)] {
        let body = json!({"client_key": "c3", "permit_number": bad});
        let (s, b) = move_permit(&app, rid2, "commit", body).await;
        assert_eq!(
            (s, &b["error"]["field"]),
            (422, &json!("permit_number")),
            "{bad:?}: {b}"
        );
    }

    // Events cite the permit by its key, without declaring it again, and the trace shows it.
    let batch = json!({
        "specimens": [{"key": "urn:test:bird:1", "taxon": "3210", "term": "LIV",
            "quantity": {"amount": "4"}, "source": "W"}],
        "events": [
            {"key": "ev:bird:harvest", "kind": "wild_harvest", "at": "2026-11-20T08:00:00Z",
             "country": "BR", "outputs": [{"specimen": "urn:test:bird:1"}]},
            {"key": "ev:bird:export", "kind": "export", "at": "2026-11-27T09:00:00Z",
             "country": "BR", "subjects": [{"specimen": "urn:test:bird:1"}],
             "documents": [{"country": "BR", "type": "export_permit", "number": "BR-2026-0042"}]}
        ]
    });
    let res = app
        .http
        .post(format!("{}/v1/trace/events?client_key=birds", app.base))
        .bearer_auth(app.key(Role::PermitOfficer))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", res.text().await.unwrap());
    let (s, o) = app
        .get(
            "/v1/trace/specimens/urn:test:bird:1/origin",
            Some(Role::Enforcement),
        )
        .await;
    assert_eq!(s, 200, "{o}");
    let permit = o["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["number"] == "BR-2026-0042")
        .unwrap_or_else(|| panic!("the permit is in the trace: {o}"));
    assert_eq!(
        (&permit["status"], &permit["events"]),
        (&json!("issued"), &json!(["ev:bird:export"]))
    );

    // Its exports and its end are later revisions; the earlier ones stay.
    done(
        &app,
        rid,
        "exports",
        json!({"client_key": "e1", "quantity": "4"}),
    )
    .await;
    let d = &documents(&app, "BR-2026-0042").await[0];
    assert_eq!(
        (&d["revision"], &d["actual"], &d["status"]),
        (&json!(2), &json!("4"), &json!("issued"))
    );
    done(&app, rid, "close", json!({"client_key": "x1"})).await;
    let d = &documents(&app, "BR-2026-0042").await[0];
    assert_eq!(
        (&d["revision"], &d["actual"], &d["status"]),
        (&json!(3), &json!("4"), &json!("used"))
    );
    assert_eq!(count(&app, "trace_documents").await, 3);

    // A commit the ledger refuses, or an invalid one, issues nothing: its number stays free.
    let refused = json!({"client_key": "c3a", "permit_number": "BR-2026-0098", "quantity": "5"});
    let (s, b) = move_permit(&app, rid2, "commit", refused).await;
    assert_eq!((s, b["outcome"].as_str()), (200, Some("refused")), "{b}");
    let invalid = json!({"client_key": "c3b", "permit_number": "BR-2026-0098",
        "permit_expires_at": "2028-01-01T00:00:00Z"});
    let (s, b) = move_permit(&app, rid2, "commit", invalid).await;
    assert_eq!(
        (s, &b["error"]["field"]),
        (422, &json!("permit_expires_at")),
        "{b}"
    );
    let fixed = json!({"client_key": "c3c", "permit_number": "BR-2026-0097", "quantity": "1"});
    done(&app, rid2, "commit", fixed).await;
    assert_eq!(documents(&app, "BR-2026-0097").await.len(), 1);
    assert!(documents(&app, "BR-2026-0098").await.is_empty());
    let rid4 = reserve(&app, quota_id, "r4", "1").await;
    done(
        &app,
        rid4,
        "commit",
        json!({"client_key": "c6", "permit_number": "BR-2026-0098"}),
    )
    .await;
    let rid2 = reserve(&app, quota_id, "r2b", "1").await;
    done(&app, rid2, "release", json!({"client_key": "rel2"})).await;
    let late = json!({"client_key": "c4", "permit_number": "BR-2026-0099"});
    let (s, b) = move_permit(&app, rid2, "commit", late).await;
    assert_eq!((s, b["outcome"].as_str()), (200, Some("refused")), "{b}");
    assert!(documents(&app, "BR-2026-0099").await.is_empty());
    let rid3 = reserve(&app, quota_id, "r3", "1").await;
    let reused = json!({"client_key": "c5", "permit_number": "BR-2026-0099"});
    done(&app, rid3, "commit", reused).await;
    assert_eq!(documents(&app, "BR-2026-0099").await.len(), 1);

    // The command line finds it by its number too.
    let out = cites(
        &app.t.url,
        &["trace", "lookup", "--document", "BR-2026-0042", "--json"],
    );
    let listed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listed["documents"][0]["status"], json!("used"), "{listed}");
    app.stop().await;
}
on_both_backends!(a_committed_permit_is_in_the_register_and_in_a_trace_without_re_entry);

async fn the_backfill_puts_every_permit_in_the_register_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let quota_id = declare_quota(&app, "12").await;
    // Committed straight through the ledger: a commit from before the register took permits,
    // or one whose register write a crash prevented.
    let ledger = quota::Ledger::new(app.t.db.clone(), clock());
    let actor = quota::Actor {
        name: "test".into(),
        reason: None,
    };
    let early = reserve(&app, quota_id, "r1", "3").await;
    let key = quota::ClientKey::parse("early").unwrap();
    ledger
        .commit(&key, early, None, None, &actor)
        .await
        .unwrap();
    // Committed with its number, then an export whose register write was lost.
    let numbered = reserve(&app, quota_id, "r2", "5").await;
    done(
        &app,
        numbered,
        "commit",
        json!({"client_key": "c2", "permit_number": "P-77"}),
    )
    .await;
    let q = domain::Quantity::new(2.into(), domain::UnitCode::number_of_specimens()).unwrap();
    let key = quota::ClientKey::parse("lost-export").unwrap();
    ledger
        .record_export(&key, numbered, &q, &actor)
        .await
        .unwrap();
    assert!(documents(&app, &format!("ENGINE-{early}")).await.is_empty());
    assert_eq!(documents(&app, "P-77").await[0]["actual"], Value::Null);

    let out = cites(&app.t.url, &["trace", "backfill-permits", "--json"]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let first: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(first, json!({"permits": 2, "written": 2, "unchanged": 0}));
    let d = &documents(&app, &format!("ENGINE-{early}")).await[0];
    assert_eq!(
        (&d["status"], &d["permitted"]),
        (&json!("issued"), &json!("3"))
    );
    let d = &documents(&app, "P-77").await[0];
    assert_eq!((&d["revision"], &d["actual"]), (&json!(2), &json!("2")));
    let (docs, batches) = (
        count(&app, "trace_documents").await,
        count(&app, "trace_batches").await,
    );

    // Run twice, stored once.
    let out = cites(&app.t.url, &["trace", "backfill-permits", "--json"]);
    let again: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(again, json!({"permits": 2, "written": 0, "unchanged": 2}));
    assert_eq!(count(&app, "trace_documents").await, docs);
    assert_eq!(count(&app, "trace_batches").await, batches);
    let out = cites(&app.t.url, &["trace", "backfill-permits"]);
    assert_eq!(
        stdout(&out).trim(),
        "2 permits: 0 written to the register, 2 already there"
    );

    // The command line's commit names its permit too, and writes it at once.
    let held = reserve(&app, quota_id, "r3", "1").await.to_string();
    let commit = |permit: &str| {
        let args = [
            "quota", "commit", &held, "--permit", permit, "--key", "cli-c",
        ];
        cites(&app.t.url, &args)
    };
    let out = commit("BR 7");
    assert!(!out.status.success());
    assert!(
        crate::support::stderr(&out).contains("invalid --permit"),
        "{}",
        crate::support::stderr(&out)
    );
    let out = commit("CLI-7");
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    assert_eq!(documents(&app, "CLI-7").await[0]["status"], json!("issued"));
    app.stop().await;
}
on_both_backends!(the_backfill_puts_every_permit_in_the_register_once);

/// A re-export from Germany of hummingbirds imported under Brazil's permit `number`.
fn reexport(quantity: &str, number: &str, claimed_remaining: &str) -> Value {
    let mut a = hummingbird_export(quantity);
    a["transaction"] = json!("re_export");
    a["exporter"] = json!("DE");
    a["importer"] = json!("US");
    a["origin"] = json!("BR");
    a["documents"] = json!({"origin_permit": {"number": number, "country": "BR",
        "issued_on": crate::support::today().to_string(), "quantity_remaining": claimed_remaining}});
    a
}

fn reasons(answer: &Value) -> Vec<&Value> {
    answer["reasons"].as_array().unwrap().iter().collect()
}

fn has(answer: &Value, code: &str) -> bool {
    reasons(answer).iter().any(|r| r["code"] == code)
}

async fn a_reexport_check_reads_the_origin_permits_balance_from_the_register(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let quota_id = declare_quota(&app, "12").await;
    let rid = reserve(&app, quota_id, "r1", "10").await;
    done(
        &app,
        rid,
        "commit",
        json!({"client_key": "c1", "permit_number": "BR-1"}),
    )
    .await;
    done(
        &app,
        rid,
        "exports",
        json!({"client_key": "e1", "quantity": "10"}),
    )
    .await;
    // Germany already re-exported 3 of them under it.
    let batch = json!({
        "specimens": [{"key": "urn:test:birds:de", "taxon": "3210", "term": "LIV",
            "quantity": {"amount": "3"}, "source": "W"}],
        "events": [{"key": "ev:birds:reexport", "kind": "re_export", "at": "2026-11-26T09:00:00Z",
            "country": "DE", "subjects": [{"specimen": "urn:test:birds:de"}],
            "documents": [{"country": "BR", "type": "export_permit", "number": "BR-1"}]}]
    });
    let res = app
        .http
        .post(format!(
            "{}/v1/trace/events?client_key=de-reexport",
            app.base
        ))
        .bearer_auth(app.key(Role::PermitOfficer))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", res.text().await.unwrap());

    // The client claims 100 remain; the register says 10 exported less 3 re-exported.
    let (s, refused) =
        crate::check::post(&app, Role::PermitOfficer, &reexport("8", "BR-1", "100")).await;
    assert_eq!(s, 200, "{refused}");
    assert_eq!(refused["decision"], json!("REFUSE"), "{refused}");
    let balance = reasons(&refused)
        .into_iter()
        .find(|r| r["code"] == "REEXPORT_NO_BALANCE")
        .unwrap_or_else(|| panic!("{refused}"));
    let evidence = balance["evidence"].to_string();
    assert!(
        evidence.contains("\"7\"") && evidence.contains("\"8\""),
        "{balance}"
    );
    assert!(
        balance["message"].as_str().unwrap().contains("only 7"),
        "{balance}"
    );

    let (s, within) =
        crate::check::post(&app, Role::PermitOfficer, &reexport("7", "BR-1", "0")).await;
    assert_eq!(s, 200, "{within}");
    assert!(
        !has(&within, "REEXPORT_NO_BALANCE") && !has(&within, "REEXPORT_ORIGIN_INVALID"),
        "{within}"
    );
    assert_ne!(within["decision"], json!("REFUSE"), "{within}");

    // A permit closed unused is cancelled: a re-export under it fails closed.
    let unused = reserve(&app, quota_id, "r2", "1").await;
    done(
        &app,
        unused,
        "commit",
        json!({"client_key": "c2", "permit_number": "BR-2"}),
    )
    .await;
    done(&app, unused, "close", json!({"client_key": "x2"})).await;
    let (_, cancelled) =
        crate::check::post(&app, Role::PermitOfficer, &reexport("1", "BR-2", "1")).await;
    assert!(has(&cancelled, "REEXPORT_ORIGIN_INVALID"), "{cancelled}");
    assert_ne!(cancelled["decision"], json!("ALLOW"), "{cancelled}");

    // A permit whose validity ran out unused is ended by the sweep as expired: it fails closed.
    let lapsed = reserve(&app, quota_id, "r3", "1").await;
    let commit = json!({"client_key": "c3", "permit_number": "BR-3",
        "permit_expires_at": "2026-12-01T00:00:00Z"});
    done(&app, lapsed, "commit", commit).await;
    let out = cites_at(
        Some("2026-12-02T00:00:00Z"),
        &app.t.url,
        &["quota", "sweep"],
    );
    assert!(
        stdout(&out).contains("closed 1 permits"),
        "{}",
        stdout(&out)
    );
    let d = &documents(&app, "BR-3").await[0];
    assert_eq!(
        (&d["status"], &d["revision"]),
        (&json!("expired"), &json!(2))
    );
    let (_, expired) =
        crate::check::post(&app, Role::PermitOfficer, &reexport("1", "BR-3", "1")).await;
    assert!(has(&expired, "REEXPORT_ORIGIN_INVALID"), "{expired}");
    assert_ne!(expired["decision"], json!("ALLOW"), "{expired}");

    // A permit the register does not hold: the client's claim, as before.
    let (_, foreign) =
        crate::check::post(&app, Role::PermitOfficer, &reexport("8", "BR-999", "100")).await;
    assert!(
        !has(&foreign, "REEXPORT_NO_BALANCE") && !has(&foreign, "REEXPORT_ORIGIN_INVALID"),
        "{foreign}"
    );
    app.stop().await;
}
on_both_backends!(a_reexport_check_reads_the_origin_permits_balance_from_the_register);
