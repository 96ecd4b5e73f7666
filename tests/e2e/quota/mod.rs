//! The quota ledger through the HTTP service and the command line. Each file holds one subject;
//! this one, the helpers several of them use to post, declare and run `cites quota`.

mod catalogue;
mod client_keys;
mod command_line;
mod import;
mod over_http;
mod request_bodies;
mod revision;

use cites::app::keys::Role;
use serde_json::{Value, json};

use crate::support::{TestApp, cites, stderr, stdout};

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

/// Runs `cites quota <args>`; its exit code and stdout.
fn quota(url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = cites(url, &[&["quota"], args].concat());
    (out.status.code(), stdout(&out), stderr(&out))
}

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
