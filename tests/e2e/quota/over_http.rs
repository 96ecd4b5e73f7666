//! Quotas declared, reserved, committed and exported over HTTP; the query parameters and fields
//! each reservation route takes.

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use super::{assert_invalid, declare, post};
use crate::support::{TestApp, on_both_backends};

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
