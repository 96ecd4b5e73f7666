//! Client keys shared by two callers, retried, or reused with other parameters, over HTTP and on
//! the command line.

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use super::{declare, post_with, quota, set_quota};
use crate::support::{TestApp, on_both_backends, sample_db};

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
