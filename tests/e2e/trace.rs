//! The provenance register through the service and the command line: the trace crate's
//! scenarios ingested, the origin of a caviar tin and of a crocodile handbag over HTTP and as
//! the table `cites trace origin` prints, a refused batch with every problem and nothing
//! stored, a retried batch stored once, the roles, the limits, and an EPCIS 2.0 document.

use cites::app::keys::Role;
use db::Backend;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::{TestApp, cites, on_both_backends, repo_path, stderr, stdout};

const CAVIAR_TIN: &str = "urn:cites:tin:IT-0001:24RU000123:0001";
const HANDBAG: &str = "urn:cites:handbag:FR:0001";

fn scenario_path(name: &str) -> std::path::PathBuf {
    repo_path(&format!("trace/fixtures/scenarios/{name}.json"))
}

fn scenario(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(scenario_path(name)).unwrap()).unwrap()
}

fn gs1(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("trace/fixtures/epcis/{name}"))).unwrap()
}

/// `POST /v1/trace/events?client_key=KEY` with `body` as `content_type`, by `role`.
async fn post_batch(
    app: &TestApp,
    role: Option<Role>,
    key: &str,
    body: String,
    content_type: &str,
) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/v1/trace/events?client_key={key}", app.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(r) = role {
        req = req.bearer_auth(app.key(r));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn ingest(app: &TestApp, role: Role, key: &str, batch: &Value) -> (u16, Value) {
    post_batch(app, Some(role), key, batch.to_string(), "application/json").await
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    db::with_db!(&app.t.db, pool => {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap()
    })
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

async fn a_caviar_tin_is_traced_to_its_harvest_over_http_and_in_the_cli_table(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (s, body) = ingest(&app, Role::PermitOfficer, "caviar-1", &scenario("caviar")).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        (&body["replayed"], &body["client_key"], &body["findings"]),
        (&json!(false), &json!("caviar-1"), &json!([]))
    );
    let (s, o) = app
        .get(
            &format!("/v1/trace/specimens/{CAVIAR_TIN}/origin"),
            Some(Role::ScientificAuthority),
        )
        .await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["truncated"], json!(false));
    let acquisitions = o["acquisitions"].as_array().unwrap();
    assert_eq!(acquisitions.len(), 1, "{o}");
    let a = &acquisitions[0];
    assert_eq!(
        (&a["event"], &a["kind"], dec(&a["share"])),
        (
            &json!("ev:caviar:harvest"),
            &json!("wild_harvest"),
            Decimal::ONE
        )
    );
    assert_eq!(
        strings(&a["path"]),
        [
            "ev:caviar:harvest",
            "urn:cites:fish:RU:2024:0451",
            "ev:caviar:processing",
            "urn:cites:lot:RU-AST-001:L24-017",
            "ev:caviar:tinning",
            "urn:cites:tin:RU-AST-001:L24-017:0001",
            "ev:caviar:repackaging",
            CAVIAR_TIN,
        ]
    );
    assert_eq!(dec(&o["unaccounted_share"]), Decimal::ZERO);
    let numbers: Vec<&str> = o["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["IT24IM0001", "IT24RE0007", "24RU000123", "HL-2024-0042"]
    );

    // The same origin as the officer's table, read back from the command line.
    let out = cites(&app.t.url, &["trace", "origin", CAVIAR_TIN]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().map(str::trim_end).collect();
    assert_eq!(lines[0], format!("Origin of {CAVIAR_TIN}"));
    assert!(lines.contains(&"Acquisitions (1):"), "{table}");
    let row = lines
        .iter()
        .find(|l| l.trim_start().starts_with("ev:caviar:harvest"))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        ["ev:caviar:harvest", "wild_harvest", "2024-04-10", "1"]
    );
    assert!(
        lines.contains(&"    path: ev:caviar:harvest -> urn:cites:fish:RU:2024:0451 -> ev:caviar:processing -> urn:cites:lot:RU-AST-001:L24-017 -> ev:caviar:tinning -> urn:cites:tin:RU-AST-001:L24-017:0001 -> ev:caviar:repackaging -> urn:cites:tin:IT-0001:24RU000123:0001"),
        "{table}"
    );
    assert!(lines.contains(&"Documents (4):"), "{table}");
    assert!(
        lines.iter().any(|l| l.starts_with(
            "  RU export_permit 24RU000123 (revision 1, used, valid 2024-05-01 to 2024-10-31)"
        )),
        "{table}"
    );
    assert!(
        lines.contains(&"    permitted 12 KGM, actual 12 KGM"),
        "{table}"
    );
    assert!(!table.contains("TRUNCATED"), "{table}");
    // --json is the body the route answers.
    let out = cites(&app.t.url, &["trace", "origin", CAVIAR_TIN, "--json"]);
    let printed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(printed, o);

    // Look-ups: a caviar label (slashes percent-encoded in the path) and a permit number.
    let label = "GUE/W/RU/2024/RU-AST-001/L24-017/0001";
    let (s, found) = app
        .get(
            &format!("/v1/trace/identifiers/{}", label.replace('/', "%2F")),
            Some(Role::Enforcement),
        )
        .await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(
        found["specimens"],
        json!([{"scheme": "caviar_label", "value": label, "specimen": "urn:cites:tin:RU-AST-001:L24-017:0001"}])
    );
    let (s, found) = app
        .get("/v1/trace/documents/24RU000123", Some(Role::Enforcement))
        .await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(
        strings(&found["documents"][0]["events"]),
        ["ev:caviar:export", "ev:caviar:import"]
    );
    let out = cites(&app.t.url, &["trace", "lookup", "--identifier", label]);
    assert!(
        stdout(&out).contains("urn:cites:tin:RU-AST-001:L24-017:0001"),
        "{}",
        stdout(&out)
    );
    let out = cites(&app.t.url, &["trace", "lookup", "--document", "NOPE-1"]);
    assert_eq!(
        stdout(&out).trim(),
        "no document numbered \"NOPE-1\" in the register"
    );
    app.stop().await;
}
on_both_backends!(a_caviar_tin_is_traced_to_its_harvest_over_http_and_in_the_cli_table);

async fn a_batch_ingested_by_the_cli_is_traced_over_http_with_a_share_per_acquisition(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let file = scenario_path("crocodile");
    let args = ["trace", "ingest", file.to_str().unwrap(), "--key", "croc"];
    let out = cites(&app.t.url, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("batch "), "{}", stdout(&out));
    // Again with its key: nothing stored, the first answer.
    let again = cites(&app.t.url, &args);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("nothing stored now"),
        "{}",
        stdout(&again)
    );
    assert_eq!(count(&app, "trace_batches").await, 1);

    let (s, o) = app
        .get(
            &format!("/v1/trace/specimens/{HANDBAG}/origin"),
            Some(Role::Enforcement),
        )
        .await;
    assert_eq!(s, 200, "{o}");
    let reached: Vec<(&str, Decimal)> = o["acquisitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["event"].as_str().unwrap(), dec(&a["share"])))
        .collect();
    let half = Decimal::new(5, 1);
    assert_eq!(
        reached,
        [
            ("ev:croc:ranching-2022", half),
            ("ev:croc:ranching-2023", half)
        ]
    );
    // Forward from an acquisition: both handbags carry half of it.
    let (s, f) = app
        .get(
            "/v1/trace/events/ev:croc:ranching-2022/forward",
            Some(Role::PermitOfficer),
        )
        .await;
    assert_eq!(s, 200, "{f}");
    assert!(
        f["descendants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d[0] == json!(HANDBAG) && dec(&d[1]) == half),
        "{f}"
    );
    let out = cites(
        &app.t.url,
        &["trace", "forward", "ev:croc:ranching-2022", "--event"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(HANDBAG), "{}", stdout(&out));

    // The limits: one step back is truncated; a bad limit is named; an unknown specimen 404s.
    let (s, cut) = app
        .get(
            &format!("/v1/trace/specimens/{HANDBAG}/origin?depth=1"),
            Some(Role::Enforcement),
        )
        .await;
    assert_eq!((s, &cut["truncated"]), (200, &json!(true)), "{cut}");
    for (query, field) in [
        ("depth=0", "depth"),
        ("nodes=ten", "nodes"),
        ("depth=200001", "depth"),
    ] {
        let (s, e) = app
            .get(
                &format!("/v1/trace/specimens/{HANDBAG}/origin?{query}"),
                Some(Role::Enforcement),
            )
            .await;
        assert_eq!(
            (s, &e["error"]["field"]),
            (422, &json!(field)),
            "{query}: {e}"
        );
    }
    let (s, e) = app
        .get(
            "/v1/trace/specimens/urn:nothing/forward",
            Some(Role::Enforcement),
        )
        .await;
    assert_eq!((s, &e["error"]["code"]), (404, &json!("not_found")), "{e}");
    // A key with a control character cannot be in the register (PostgreSQL's text cannot even
    // hold a NUL): not found, without asking the database.
    let (s, e) = app
        .get("/v1/trace/specimens/a%00b/origin", Some(Role::Enforcement))
        .await;
    assert_eq!(s, 404, "{e}");
    let (s, found) = app
        .get("/v1/trace/identifiers/a%00b", Some(Role::Enforcement))
        .await;
    assert_eq!((s, &found["specimens"]), (200, &json!([])), "{found}");
    let out = cites(&app.t.url, &["trace", "origin", HANDBAG, "--depth", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid --depth \"0\""),
        "{}",
        stderr(&out)
    );
    let out = cites(&app.t.url, &["trace", "origin", HANDBAG, "--depth", "1"]);
    assert!(stdout(&out).contains("TRUNCATED"), "{}", stdout(&out));
    app.stop().await;
}
on_both_backends!(a_batch_ingested_by_the_cli_is_traced_over_http_with_a_share_per_acquisition);

async fn a_faulty_batch_is_refused_whole_and_a_retried_one_stored_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let faulty = json!({
        "specimens": [
            {"key": "s:fish", "taxon": "10001", "term": "BOD", "quantity": {"amount": "120", "unit": "KGM"}, "source": "W"},
            {"key": "s:lot", "taxon": "ten", "term": "CAV", "quantity": {"amount": "12", "unit": "KGM"}, "source": "W"}
        ],
        "events": [
            {"key": "e:harvest", "kind": "wild_harvest", "at": "2024-04-10T06:00:00Z", "outputs": ["s:fish"]},
            {"key": "e:odd", "kind": "smuggle", "at": "yesterday"}
        ]
    });
    let (s, e) = ingest(&app, Role::Enforcement, "bad-1", &faulty).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(
        (&e["error"]["code"], &e["error"]["field"]),
        (&json!("batch_refused"), &json!("body"))
    );
    let paths: Vec<&str> = e["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p["message"].as_str().is_some_and(|m| !m.is_empty()), "{p}");
            p["path"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        paths,
        ["specimens[1].taxon", "events[1].kind", "events[1].at"]
    );
    for table in ["trace_batches", "trace_specimens", "trace_events"] {
        assert_eq!(count(&app, table).await, 0, "{table}");
    }
    // The command line refuses it alike: exit 3, every problem on stderr.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("faulty.json");
    std::fs::write(&file, faulty.to_string()).unwrap();
    let out = cites(
        &app.t.url,
        &["trace", "ingest", file.to_str().unwrap(), "--key", "bad-2"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("  specimens[1].taxon: "),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&app, "trace_batches").await, 0);

    // A batch retried with its key answers as the first time and is stored once.
    let caviar = scenario("caviar");
    let (s, first) = ingest(&app, Role::Admin, "caviar", &caviar).await;
    assert_eq!(s, 200, "{first}");
    let events = count(&app, "trace_events").await;
    let (s, again) = ingest(&app, Role::Admin, "caviar", &caviar).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(
        (&again["batch_id"], &again["findings"], &again["replayed"]),
        (&first["batch_id"], &first["findings"], &json!(true))
    );
    assert_eq!(count(&app, "trace_batches").await, 1);
    assert_eq!(count(&app, "trace_events").await, events);
    // The same key with other content is a conflict, named.
    let (s, e) = ingest(&app, Role::Admin, "caviar", &json!({"agents": []})).await;
    assert_eq!(
        (s, &e["error"]["code"], &e["error"]["field"]),
        (409, &json!("key_conflict"), &json!("client_key")),
        "{e}"
    );
    assert!(
        !e["error"]["message"].as_str().unwrap().contains('\u{1f}'),
        "{e}"
    );
    // A key is the caller's own: another key's "caviar" is another batch.
    let other = app.add_key("second officer", Role::PermitOfficer).await;
    let res = app
        .http
        .post(format!("{}/v1/trace/events?client_key=caviar", app.base))
        .bearer_auth(other)
        .json(&json!({"agents": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // Without a client_key, and with a body that is not JSON: 422, named.
    let res = app
        .http
        .post(format!("{}/v1/trace/events", app.base))
        .bearer_auth(app.key(Role::Admin))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"]["field"], json!("client_key"));
    let (s, e) = post_batch(&app, Some(Role::Admin), "x", "{".into(), "application/json").await;
    assert_eq!((s, &e["error"]["field"]), (422, &json!("body")), "{e}");
    app.stop().await;
}
on_both_backends!(a_faulty_batch_is_refused_whole_and_a_retried_one_stored_once);

async fn only_permit_officers_enforcement_and_admins_ingest_and_every_role_reads(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let batch = json!({"agents": [{"key": "agent:x", "kind": "trader", "name": "X"}]});
    let (s, e) = ingest(&app, Role::ScientificAuthority, "sa", &batch).await;
    assert_eq!((s, &e["error"]["code"]), (403, &json!("forbidden")), "{e}");
    let (s, _) = post_batch(&app, None, "none", batch.to_string(), "application/json").await;
    assert_eq!(s, 401);
    assert_eq!(count(&app, "trace_batches").await, 0);
    for (i, role) in [Role::PermitOfficer, Role::Enforcement, Role::Admin]
        .into_iter()
        .enumerate()
    {
        let batch =
            json!({"agents": [{"key": format!("agent:{i}"), "kind": "trader", "name": "X"}]});
        let (s, body) = ingest(&app, role, "k", &batch).await;
        assert_eq!(s, 200, "{role}: {body}");
    }
    for role in Role::ALL {
        let (s, body) = app.get("/v1/trace/documents/none", Some(role)).await;
        assert_eq!((s, &body["documents"]), (200, &json!([])), "{role}");
    }
    let (s, _) = app.get("/v1/trace/documents/none", None).await;
    assert_eq!(s, 401);
    app.stop().await;
}
on_both_backends!(only_permit_officers_enforcement_and_admins_ingest_and_every_role_reads);

async fn an_epcis_document_is_accepted_over_http_or_refused_naming_the_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = gs1("Example_9.6.1-ObjectEvent.jsonld");
    // The objects it ships are not in the register yet: refused, naming each event's field.
    let (s, e) = post_batch(
        &app,
        Some(Role::Enforcement),
        "epcis-1",
        doc.clone(),
        "application/ld+json",
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let paths: Vec<&str> = e["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "epcisBody.eventList[0].epcList[0]",
            "epcisBody.eventList[0].epcList[1]",
            "epcisBody.eventList[1].epcList[0]",
        ]
    );
    let objects = json!({"specimens": [
        {"key": "urn:epc:id:sgtin:0614141.107346.2017", "taxon": "10001", "term": "CAV", "quantity": {"amount": "1", "unit": "NAR"}, "source": "W"},
        {"key": "urn:epc:id:sgtin:0614141.107346.2018", "taxon": "10001", "term": "CAV", "quantity": {"amount": "1", "unit": "NAR"}, "source": "W"}
    ]});
    let (s, body) = ingest(&app, Role::Enforcement, "objects", &objects).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = post_batch(
        &app,
        Some(Role::Enforcement),
        "epcis-1",
        doc.clone(),
        "application/ld+json",
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["findings"], json!([]));
    assert_eq!(count(&app, "trace_events").await, 2);
    // Sent as application/json, the document is recognised by its @context: the same batch.
    let (s, again) = post_batch(
        &app,
        Some(Role::Enforcement),
        "epcis-1",
        doc,
        "application/json",
    )
    .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(
        (&again["batch_id"], &again["replayed"]),
        (&body["batch_id"], &json!(true))
    );
    app.stop().await;
}
on_both_backends!(an_epcis_document_is_accepted_over_http_or_refused_naming_the_event);
