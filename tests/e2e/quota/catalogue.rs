//! Quotas against the taxonomy catalogue: accepted taxa only, not before the first
//! synchronisation, retried after a taxon left it, on a concept since lumped.

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use super::{assert_invalid, post, quota, quota_on_a_concept_since_lumped_into_3210};
use crate::support::{TestApp, cites, on_both_backends, stderr, stdout};

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
