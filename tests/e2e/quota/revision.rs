//! Revising a quota: by a Scientific Authority never below what is used, and against the value
//! Species+ publishes.

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use super::{declare, post, quota};
use crate::support::{TestApp, on_both_backends, sample_db};

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
