//! The service's reads and permit checks while an administrator terminates its PostgreSQL
//! connections again and again (on PostgreSQL, backends are also killed). A broken
//! connection is read again on a new one, and a keyed check's record written again, so no caller
//! sees the break; the quota's own requests are tested in the quota crate. A check's reservation
//! is retried until `quota::WRITE_DEADLINE`: on a machine loaded enough that every connection it
//! gets is terminated for that long, it is a 503, and the check is sent again with its key, as
//! the contract says. SQLite has no server connection to lose: the test is PostgreSQL's alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cites::app::keys::Role;
use db::Backend;
use serde_json::json;
use sqlx::Connection;

use crate::check::{declare_quota, hummingbird_export, post};
use crate::support::TestApp;

const CLIENTS: usize = 6;
/// Rounds each client makes; a round is four reads and one keyed permit check.
const ROUNDS_PER_CLIENT: usize = 25;
/// How often every connection of the service's database is terminated.
const TERMINATE_EVERY: Duration = Duration::from_millis(100);
/// Times a check answered 503 is sent again with its key, at most.
const UNAVAILABLE_RESENDS_MAX: usize = 5;

/// Posts `check` until it is answered other than 503 `unavailable` (at most
/// [`UNAVAILABLE_RESENDS_MAX`] times more).
async fn post_until_definite(app: &TestApp, check: &serde_json::Value) -> (u16, serde_json::Value) {
    for _ in 0..UNAVAILABLE_RESENDS_MAX {
        let (s, body) = post(app, Role::PermitOfficer, check).await;
        if (s, body["error"]["code"].as_str()) != (503, Some("unavailable")) {
            return (s, body);
        }
    }
    post(app, Role::PermitOfficer, check).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_terminated_connections_never_reach_a_reader_or_a_keyed_check() {
    let app = Arc::new(TestApp::spawn(Backend::Postgres).await);
    let quota_id = declare_quota(&app, "100000").await;

    let stop = Arc::new(AtomicBool::new(false));
    let terminator = tokio::spawn({
        let (stop, url) = (stop.clone(), app.t.url.clone());
        async move {
            let mut terminated = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                terminated += db::TestDb::terminate_connections_to(&url).await.unwrap();
                tokio::time::sleep(TERMINATE_EVERY).await;
            }
            terminated
        }
    });

    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let app = app.clone();
        clients.push(tokio::spawn(async move {
            let mut check_ids = Vec::new();
            for i in 0..ROUNDS_PER_CLIENT {
                for path in [
                    "/v1/taxa/4521/listing?date=2022-11-27".to_owned(),
                    "/v1/taxa?name=Loxodonta".to_owned(),
                    format!("/v1/quotas/{quota_id}"),
                    format!("/v1/quotas/{quota_id}/history"),
                ] {
                    let (s, body) = app.get(&path, Some(Role::Enforcement)).await;
                    assert_eq!(s, 200, "client {c} round {i} {path}: {body}");
                }
                let mut check = hummingbird_export("1");
                check["reserve"] = json!(true);
                check["client_key"] = json!(format!("check-{c}-{i}"));
                let (s, first) = post_until_definite(&app, &check).await;
                assert_eq!(s, 200, "client {c} check {i}: {first}");
                assert_eq!(first["decision"], "ALLOW", "client {c} check {i}: {first}");
                // Asked again, the check answers as it did: one record, one reservation.
                let (s, again) = post_until_definite(&app, &check).await;
                assert_eq!(s, 200, "client {c} check {i} again: {again}");
                assert_eq!(again["check_id"], first["check_id"], "{again}");
                assert_eq!(again["reservation"], first["reservation"], "{again}");
                check["quantity"] = json!("2");
                let (s, other) = post_until_definite(&app, &check).await;
                assert_eq!(s, 409, "client {c} check {i}, other application: {other}");
                check_ids.push(first["check_id"].as_i64().unwrap());
            }
            check_ids
        }));
    }
    let mut check_ids = Vec::new();
    for c in clients {
        check_ids.extend(c.await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let terminated = terminator.await.unwrap();
    assert!(
        terminated >= 10,
        "the test must break connections under the service: {terminated} terminated"
    );

    let checks = CLIENTS * ROUNDS_PER_CLIENT;
    check_ids.sort_unstable();
    check_ids.dedup();
    assert_eq!(check_ids.len(), checks, "one record per check");
    let (_, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(
        quota["quota"]["held"],
        checks.to_string(),
        "one unit held per check, none twice: {quota}"
    );
    let mut conn = sqlx::PgConnection::connect(&app.t.url).await.unwrap();
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM permit_checks")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(recorded, checks as i64, "no check recorded twice");
    drop(conn);
    Arc::into_inner(app)
        .expect("every client finished")
        .stop()
        .await;
}
