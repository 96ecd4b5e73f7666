//! The HTTP service: authentication, roles, listings, amendments, errors, OpenAPI.

use cites::app::keys::Role;
use db::Backend;

use crate::support::TestApp;

async fn listing_answers_cop19_cases_on_both_sides_of_entry_into_force(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = Some(Role::PermitOfficer);
    let (s, before) = app
        .get("/v1/taxa/900020/listing?date=2023-02-22&country=NA", r)
        .await;
    assert_eq!(s, 200, "{before}");
    assert_eq!(before["appendix"], "I");
    let (_, after) = app
        .get("/v1/taxa/900020/listing?date=2023-02-23&country=NA", r)
        .await;
    assert_eq!(after["appendix"], "II");
    assert_eq!(
        after["deciding_listing_change_ids"],
        serde_json::json!([910023])
    );
    let (_, kenya) = app
        .get("/v1/taxa/900020/listing?date=2023-02-23&country=KE", r)
        .await;
    assert_eq!(kenya["appendix"], "I");
    let (_, shark) = app.get("/v1/taxa/900002/listing?date=2023-11-24", r).await;
    assert_eq!(shark["status"], "not_listed");
    let (_, shark) = app.get("/v1/taxa/900002/listing?date=2023-11-25", r).await;
    assert_eq!(shark["appendix"], "II");
    assert_eq!(
        shark["inherited_from"],
        "FAMILY listing Carcharhinidae spp."
    );
    // A synonym id resolves to its accepted taxon.
    let (_, syn) = app.get("/v1/taxa/900004/listing?date=2023-11-25", r).await;
    assert_eq!(syn["taxon"]["id"], 900002);
    assert_eq!(syn["resolved_from_synonym"]["id"], 900004);
    // The elephant's split listing without a country.
    let (_, ele) = app.get("/v1/taxa/4521/listing?date=2022-11-27", r).await;
    assert_eq!(ele["status"], "depends_on_population");
    assert_eq!(ele["summary"], "I/II");
    app.stop().await;
}

#[tokio::test]
async fn sqlite_listing_answers_cop19_cases_on_both_sides_of_entry_into_force() {
    listing_answers_cop19_cases_on_both_sides_of_entry_into_force(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_listing_answers_cop19_cases_on_both_sides_of_entry_into_force() {
    listing_answers_cop19_cases_on_both_sides_of_entry_into_force(Backend::Postgres).await;
}

async fn requests_without_a_valid_key_get_401_and_wrong_roles_get_403(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (s, body) = app.get("/v1/taxa/4521/listing", None).await;
    assert_eq!(s, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let res = app
        .http
        .get(format!("{}/v1/taxa/4521/listing", app.base))
        .bearer_auth("cites_00000000_notakey")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let (s, body) = app.get("/v1/keys", Some(Role::Enforcement)).await;
    assert_eq!(s, 403);
    assert!(body["error"]["message"].as_str().unwrap().contains("admin"));
    let (s, body) = app.get("/v1/keys", Some(Role::Admin)).await;
    assert_eq!(s, 200);
    let listed = serde_json::to_string(&body).unwrap();
    for (_, key) in &app.keys {
        assert!(
            !listed.contains(key.as_str()),
            "a key secret appears in the listing"
        );
    }
    // X-API-Key works as well as Authorization: Bearer.
    let res = app
        .http
        .get(format!("{}/v1/sync/status", app.base))
        .header("X-API-Key", app.key(Role::ScientificAuthority))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // A revoked key stops working at once.
    cites::app::keys::revoke(&app.t.db, "test enforcement", crate::support::clock().now())
        .await
        .unwrap();
    let (s, _) = app.get("/v1/sync/status", Some(Role::Enforcement)).await;
    assert_eq!(s, 401);
    // Revoking it again says it was, not that there is no such key.
    let again =
        cites::app::keys::revoke(&app.t.db, "test enforcement", crate::support::clock().now())
            .await
            .unwrap_err()
            .to_string();
    assert!(
        again.starts_with("the key named \"test enforcement\" was already revoked, at "),
        "{again}"
    );
    let unknown = cites::app::keys::revoke(&app.t.db, "nobody", crate::support::clock().now())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(unknown, "no key named \"nobody\"");
    app.stop().await;
}

use domain::Clock as _;

#[tokio::test]
async fn sqlite_requests_without_a_valid_key_get_401_and_wrong_roles_get_403() {
    requests_without_a_valid_key_get_401_and_wrong_roles_get_403(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_requests_without_a_valid_key_get_401_and_wrong_roles_get_403() {
    requests_without_a_valid_key_get_401_and_wrong_roles_get_403(Backend::Postgres).await;
}

async fn bad_input_gets_422_naming_the_field_and_unknown_taxa_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = Some(Role::PermitOfficer);
    for (path, field) in [
        ("/v1/taxa/4521/listing?date=2023-13-01", "date"),
        ("/v1/taxa/4521/listing?date=yesterday", "date"),
        ("/v1/taxa/4521/listing?country=XY", "country"),
        ("/v1/taxa/abc/listing", "id"),
        ("/v1/amendments?from=2023-01-01", "to"),
        ("/v1/amendments?from=2023-12-01&to=2023-01-01", "to"),
        ("/v1/taxa?name=a", "name"),
        // PostgreSQL's text holds no NUL: refused on both backends, not a 500 on one.
        ("/v1/taxa?name=Lox%00odonta", "name"),
        ("/v1/taxa/4521/listing?date=", "date"),
    ] {
        let (s, body) = app.get(path, r).await;
        assert_eq!(s, 422, "{path}: {body}");
        assert_eq!(body["error"]["field"], field, "{path}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    let (s, body) = app.get("/v1/taxa/4521/listing?colour=blue", r).await;
    assert_eq!(s, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );
    let (s, body) = app.get("/v1/taxa/123456789/listing", r).await;
    assert_eq!(s, 404, "{body}");
    let (s, _) = app.get("/v1/nothing-here", r).await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test]
async fn sqlite_bad_input_gets_422_naming_the_field_and_unknown_taxa_404() {
    bad_input_gets_422_naming_the_field_and_unknown_taxa_404(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_bad_input_gets_422_naming_the_field_and_unknown_taxa_404() {
    bad_input_gets_422_naming_the_field_and_unknown_taxa_404(Backend::Postgres).await;
}

async fn amendments_list_the_delayed_cop19_entries_with_before_and_after(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (s, body) = app
        .get(
            "/v1/amendments?from=2023-11-25&to=2023-11-25",
            Some(Role::ScientificAuthority),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let list = body["amendments"].as_array().unwrap();
    let find = |name: &str| {
        list.iter()
            .find(|a| a["full_name"] == name)
            .unwrap()
            .clone()
    };
    let bulbul = find("Pycnonotus zeylanicus");
    assert_eq!(
        (bulbul["before"].as_str(), bulbul["after"].as_str()),
        (Some("II"), Some("I"))
    );
    let family = find("Carcharhinidae");
    assert_eq!(
        (family["before"].as_str(), family["after"].as_str()),
        (Some("not listed"), Some("II"))
    );
    let species = find("Carcharhinus obscurus");
    assert_eq!(species["after"], "II");
    // The rhino transfer is on 2023-02-23, outside this range.
    assert!(
        list.iter()
            .all(|a| a["full_name"] != "Ceratotherium simum simum")
    );
    let (_, feb) = app
        .get(
            "/v1/amendments?from=2023-02-23&to=2023-02-23",
            Some(Role::ScientificAuthority),
        )
        .await;
    let rhino = feb["amendments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["full_name"] == "Ceratotherium simum simum")
        .unwrap()
        .clone();
    assert_eq!(rhino["before"], "I/II");
    assert_eq!(rhino["after"], "I/II");
    assert_eq!(rhino["changes"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn sqlite_amendments_list_the_delayed_cop19_entries_with_before_and_after() {
    amendments_list_the_delayed_cop19_entries_with_before_and_after(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_amendments_list_the_delayed_cop19_entries_with_before_and_after() {
    amendments_list_the_delayed_cop19_entries_with_before_and_after(Backend::Postgres).await;
}

#[tokio::test]
async fn health_and_openapi_need_no_key_and_openapi_documents_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (s, health) = app.get("/health", None).await;
    assert_eq!(s, 200);
    assert_eq!(health["database"], "ok");
    let (s, doc) = app.get("/v1/openapi.json", None).await;
    assert_eq!(s, 200);
    for (method, path, roles) in cites::http::ROUTES {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not documented");
        if !roles.is_empty() {
            assert!(op["responses"]["401"].is_object(), "{path} lacks its 401");
            assert!(op["responses"]["403"].is_object(), "{path} lacks its 403");
            // Every request with a key reads the database, which may stay out of reach.
            assert!(op["responses"]["503"].is_object(), "{path} lacks its 503");
        }
        assert!(op["responses"]["422"].is_object(), "{path} lacks its 422");
        // A keyed write's 503 says how to retry it safely.
        if op["requestBody"]["content"]["application/json"]["schema"]["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|f| f == "client_key"))
        {
            let said = op["responses"]["503"]["description"].as_str().unwrap_or("");
            assert!(said.contains("same client_key"), "{path}: {said}");
        }
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        cites::http::ROUTES.len(),
        "a documented operation has no route"
    );
    app.stop().await;
}

#[tokio::test]
async fn search_finds_taxa_by_name_prefix_and_by_common_name() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = Some(Role::Enforcement);
    let (s, body) = app.get("/v1/taxa?name=Loxodonta", r).await;
    assert_eq!(s, 200);
    assert!(
        body["taxa"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == 4521)
    );
    let (_, body) = app.get("/v1/taxa?name=African%20Elephant", r).await;
    assert!(
        body["taxa"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == 4521),
        "{body}"
    );
    let (_, body) = app.get("/v1/taxa/4521", r).await;
    assert!(body["distributions"].as_array().unwrap().len() > 30);
    app.stop().await;
}

#[tokio::test]
async fn sync_status_shows_the_sample_load_and_the_catalogue_size() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let (s, body) = app.get("/v1/sync/status", Some(Role::PermitOfficer)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["runs"][0]["kind"], "dump");
    assert_eq!(body["runs"][0]["status"], "succeeded");
    assert_eq!(body["runs"][0]["report"]["taxa_added"], 570);
    assert_eq!(body["catalogue"]["taxa"], 570);
    app.stop().await;
}

/// A `limit` that is no number of runs, however many digits it has, is named with what is
/// accepted (it was named `query` when it did not fit a 64-bit integer).
#[tokio::test]
async fn a_sync_status_limit_out_of_range_names_limit_and_what_is_accepted() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for limit in [
        "99999999999999999999",
        "-99999999999999999999",
        "0",
        "101",
        "ten",
        "1.5",
    ] {
        let (s, body) = app
            .get(
                &format!("/v1/sync/status?limit={limit}"),
                Some(Role::Enforcement),
            )
            .await;
        assert_eq!(
            (s, &body["error"]["field"]),
            (422, &serde_json::json!("limit")),
            "{limit}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert_eq!(
            message,
            format!("invalid limit {limit:?}: accepted 1 to 100"),
            "{body}"
        );
    }
    let (s, body) = app
        .get("/v1/sync/status?limit=100", Some(Role::Enforcement))
        .await;
    assert_eq!(s, 200, "{body}");
    app.stop().await;
}

async fn health_answers_200_with_the_database_ok_when_the_database_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (s, health) = app.get("/health", None).await;
    assert_eq!(s, 200, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["database"], "ok", "{health}");
    app.stop().await;
}

#[tokio::test]
async fn sqlite_health_answers_200_with_the_database_ok_when_the_database_answers() {
    health_answers_200_with_the_database_ok_when_the_database_answers(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_health_answers_200_with_the_database_ok_when_the_database_answers() {
    health_answers_200_with_the_database_ok_when_the_database_answers(Backend::Postgres).await;
}

#[tokio::test]
async fn a_method_the_route_does_not_take_gets_405_in_the_error_format_naming_the_allowed_ones() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (method, path, allowed) in [
        (reqwest::Method::PUT, "/v1/quotas/1", "GET"),
        (reqwest::Method::DELETE, "/v1/reservations/1", "GET"),
        (reqwest::Method::GET, "/v1/reservations/1/commit", "POST"),
        (reqwest::Method::PATCH, "/v1/quotas", "GET, POST"),
        (reqwest::Method::POST, "/health", "GET"),
    ] {
        let res = app
            .http
            .request(method.clone(), format!("{}{path}", app.base))
            .bearer_auth(app.key(Role::Admin))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 405, "{method} {path}");
        let allow = res
            .headers()
            .get("allow")
            .and_then(|a| a.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            allow.contains(&allowed[..3]),
            "{method} {path}: Allow {allow:?}"
        );
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(
            body["error"]["code"], "method_not_allowed",
            "{method} {path}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(method.as_str()) && message.contains(&format!("allowed: {allowed}")),
            "{method} {path}: {message}"
        );
    }
    app.stop().await;
}

/// A body the service cannot parse, whichever route it goes to.
const MALFORMED: &str = r#"{"quantity": [1], "colour": "blue""#;

async fn the_role_is_checked_before_the_body_is_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let post = |path: &'static str, role: Option<Role>| {
        let mut req = app
            .http
            .post(format!("{}{path}", app.base))
            .header("content-type", "application/json")
            .body(MALFORMED);
        if let Some(r) = role {
            req = req.bearer_auth(app.key(r));
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (
                status,
                res.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    for (path, role) in [
        ("/v1/quotas/1/reservations", Role::Enforcement),
        ("/v1/quotas/1/reservations", Role::ScientificAuthority),
        ("/v1/quotas", Role::PermitOfficer),
        ("/v1/quotas", Role::Enforcement),
        ("/v1/reservations/1/commit", Role::Enforcement),
        ("/v1/reservations/1/release", Role::ScientificAuthority),
        ("/v1/reservations/1/exports", Role::Enforcement),
        ("/v1/reservations/1/close", Role::Enforcement),
    ] {
        let (s, body) = post(path, Some(role)).await;
        assert_eq!(s, 403, "{role} POST {path}: {body}");
        assert_eq!(
            body["error"]["code"], "forbidden",
            "{role} POST {path}: {body}"
        );
    }
    for path in [
        "/v1/quotas/1/reservations",
        "/v1/permit-checks",
        "/v1/quotas",
    ] {
        let (s, body) = post(path, None).await;
        assert_eq!(s, 401, "no key, POST {path}: {body}");
    }
    // A role that may: then the body is read, and refused at its first fault.
    let (s, body) = post("/v1/quotas/1/reservations", Some(Role::PermitOfficer)).await;
    assert_eq!(
        (s, body["error"]["field"].as_str()),
        (422, Some("quantity")),
        "{body}"
    );
    let (s, body) = post("/v1/permit-checks", Some(Role::Enforcement)).await;
    assert_eq!(s, 422, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn sqlite_the_role_is_checked_before_the_body_is_read() {
    the_role_is_checked_before_the_body_is_read(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_the_role_is_checked_before_the_body_is_read() {
    the_role_is_checked_before_the_body_is_read(Backend::Postgres).await;
}

#[test]
fn openapi_names_the_resource_each_404_did_not_find() {
    let doc = cites::http::openapi::document();
    let mut seen = 0;
    for (method, path, _) in cites::http::ROUTES {
        let op = &doc["paths"][path][method.to_lowercase()];
        let Some(said) = op["responses"]["404"]["description"].as_str() else {
            continue;
        };
        seen += 1;
        // The quota list by taxon answers 404 for a taxon id neither the catalogue nor any
        // quota knows.
        let by_taxon = [("GET", "/v1/quotas"), ("GET", "/v1/reports/quota-use")];
        let expected = if path.starts_with("/v1/taxa/") || by_taxon.contains(&(method, path)) {
            "no such taxon"
        } else if path.starts_with("/v1/quotas/") {
            "no such quota"
        } else if path.starts_with("/v1/reservations/") {
            "no such reservation"
        } else if path.starts_with("/v1/trace/specimens/") {
            "no such specimen"
        } else if path.starts_with("/v1/trace/events/") {
            "no such event"
        } else {
            panic!("{method} {path} has a 404 ({said}) for no resource")
        };
        assert_eq!(said, expected, "{method} {path}");
    }
    let on_an_id = cites::http::ROUTES
        .iter()
        .filter(|(_, path, _)| path.contains("{id}") || path.contains("{key}"))
        .count();
    assert_eq!(
        seen,
        on_an_id + 2,
        "every route on an id or a trace key has its 404, and the quota list and review by taxon"
    );
}

#[tokio::test]
async fn the_openapi_document_gives_the_statuses_a_declaration_answers_and_what_it_requires() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, doc) = app.get("/v1/openapi.json", None).await;
    let declare = &doc["paths"]["/v1/quotas"]["post"];
    // Sent without a unit (a count, the default), as the document allows.
    let body = serde_json::json!({"client_key": "d", "exporter": "NA", "taxon_id": 4521, "year": 2026, "limit": "10"});
    let required = declare["requestBody"]["content"]["application/json"]["schema"]["required"]
        .as_array()
        .unwrap();
    for field in required {
        assert!(body.get(field.as_str().unwrap()).is_some(), "{field}");
    }
    let res = app
        .http
        .post(format!("{}/v1/quotas", app.base))
        .bearer_auth(app.key(Role::ScientificAuthority))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16().to_string();
    assert_eq!(status, "201");
    assert!(declare["responses"][&status].is_object(), "{declare}");
    assert!(declare["responses"]["200"].is_null(), "{declare}");
    let conflict = declare["responses"]["409"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        conflict.contains("quota_exists") && conflict.contains("key_conflict"),
        "{conflict}"
    );
    app.stop().await;
}

/// The Bearer scheme is read in any case (RFC 9110 11.1), and an `Authorization` header that
/// is not `Bearer <key>` gets a 401 saying what is wrong with it, never repeating what it holds.
async fn the_bearer_scheme_is_case_insensitive_and_a_malformed_header_says_what_is_wrong(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let key = app.key(Role::Enforcement).to_owned();
    let status_of = |value: String| {
        let req = app
            .http
            .get(format!("{}/v1/sync/status", app.base))
            .header("Authorization", value);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    for scheme in ["Bearer", "BEARER", "bearer", "bEaReR"] {
        let (s, body) = status_of(format!("{scheme} {key}")).await;
        assert_eq!(s, 200, "{scheme}: {body}");
    }
    let (s, body) = status_of(format!("  BEARER \t {key}  ")).await;
    assert_eq!(s, 200, "spaces around: {body}");
    for (value, says) in [
        (format!("Basic {key}"), "uses a scheme other than Bearer"),
        (key.clone(), "has no scheme"),
        ("Bearer".to_owned(), "names the Bearer scheme but no key"),
        (
            format!("Bearer {key} {key}"),
            "holds more than one word after Bearer",
        ),
    ] {
        let (s, body) = status_of(value.clone()).await;
        assert_eq!(s, 401, "{value}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(says) && message.contains("send Authorization: Bearer <key>"),
            "{value}: {body}"
        );
        assert!(!message.contains("is required"), "{value}: {body}");
        assert_eq!(body["error"]["field"], "authorization", "{body}");
        assert!(
            !body.to_string().contains(&key),
            "the key is repeated: {body}"
        );
    }
    // A malformed Authorization beside a valid X-API-Key: the key is used.
    let res = app
        .http
        .get(format!("{}/v1/sync/status", app.base))
        .header("Authorization", "Basic abc")
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // No key at all still says one is required.
    let (s, body) = app.get("/v1/sync/status", None).await;
    assert_eq!(s, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("an API key is required"),
        "{body}"
    );
    app.stop().await;
}

crate::support::on_both_backends!(
    the_bearer_scheme_is_case_insensitive_and_a_malformed_header_says_what_is_wrong
);
