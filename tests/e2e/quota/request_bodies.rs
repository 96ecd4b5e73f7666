//! Declaration and reservation bodies over HTTP: a quantity without a unit, malformed bodies
//! naming the field at fault, units and hold ends a reservation cannot take.

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use super::{assert_invalid, declare, declare_in, post, quota};
use crate::support::{TestApp, cites, on_both_backends, stderr, stdout};

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
