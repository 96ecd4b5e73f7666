//! The full sweep and the legal-acquisition report end to end: `cites trace check` as a table
//! and as JSON, exit status 3 on an error-severity finding and 0 otherwise, a configuration
//! file that names its bad key; `GET /v1/trace/findings`; `cites trace evidence` and
//! `GET /v1/trace/specimens/{key}/legal-acquisition` on the laundering scenario.

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use crate::support::{TestApp, cites, on_both_backends, repo_path, stderr, stdout};

fn scenario(name: &str) -> Value {
    let path = repo_path(&format!("trace/fixtures/scenarios/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn ingest(app: &TestApp, key: &str, batch: &Value) {
    let res = app
        .http
        .post(format!("{}/v1/trace/events?client_key={key}", app.base))
        .header("content-type", "application/json")
        .bearer_auth(app.key(Role::PermitOfficer))
        .body(batch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

const LAUNDERED: &str = "urn:cites:skins:SG:2024:lot-A-3";

async fn the_sweep_exits_3_on_an_error_and_the_report_names_what_is_missing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    ingest(&app, "caviar", &scenario("caviar")).await;
    let out = cites(&app.t.url, &["trace", "check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("Swept 18 specimens, 7 events"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("0 error"), "{}", stdout(&out));

    ingest(&app, "laundering", &scenario("laundering")).await;
    let out = cites(&app.t.url, &["trace", "check"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let table = stdout(&out);
    assert!(table.contains("re_export_exceeds_import"), "{table}");
    assert!(table.contains("re_exported=160 unit=NAR"), "{table}");
    let out = cites(&app.t.url, &["trace", "check", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let sweep: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let exceeded: Vec<&Value> = sweep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == json!("re_export_exceeds_import"))
        .collect();
    assert_eq!(exceeded.len(), 1, "{sweep}");
    assert_eq!(
        (
            &exceeded[0]["severity"],
            &exceeded[0]["numbers"]["imported"]
        ),
        (&json!("error"), &json!("100"))
    );

    // The same sweep over HTTP, for every role.
    let (s, swept) = app
        .get("/v1/trace/findings", Some(Role::ScientificAuthority))
        .await;
    assert_eq!(s, 200, "{swept}");
    assert_eq!(swept["findings"], sweep["findings"]);
    assert_eq!(swept["specimens"], json!(24));

    // A configuration file with a bad value names the key; nothing is swept.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("trace.toml");
    std::fs::write(
        &bad,
        "[[yield]]\nfrom = \"LOG\"\nto = \"SAW\"\nmax = \"-1\"\n",
    )
    .unwrap();
    let out = cites(
        &app.t.url,
        &["trace", "check", "--config", bad.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("yield[0].max"), "{}", stderr(&out));

    // The report over HTTP and in the command line.
    let (s, r) = app
        .get(
            &format!("/v1/trace/specimens/{LAUNDERED}/legal-acquisition"),
            Some(Role::Enforcement),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["complete"], json!(false));
    assert_eq!(
        r["unrooted"],
        json!([{"specimen": LAUNDERED, "unaccounted_share": "0.375"}])
    );
    assert_eq!(r["paths"][0]["acquisition"], json!("ev:python:harvest"));
    assert_eq!(r["paths"][0]["missing"], json!([]));
    let (s, _) = app
        .get(
            "/v1/trace/specimens/nope/legal-acquisition",
            Some(Role::Enforcement),
        )
        .await;
    assert_eq!(s, 404);
    let out = cites(&app.t.url, &["trace", "evidence", LAUNDERED]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("EVIDENCE INCOMPLETE"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("0.375 of"), "{}", stdout(&out));
    app.stop().await;
}
on_both_backends!(the_sweep_exits_3_on_an_error_and_the_report_names_what_is_missing);

/// `cites serve --trace-config FILE` (here as `CITES_TRACE_CONFIG`): a file with a bad value stops the service before it
/// listens, naming the key; a good one is what `GET /v1/trace/findings` sweeps under, the same
/// findings `cites trace check --config FILE` gives, and not the shipped tables' findings.
#[tokio::test]
async fn the_service_sweeps_under_its_trace_configuration() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let timber = repo_path("trace/fixtures/scenarios/timber.json");
    let out = cites(
        &url,
        &[
            "trace",
            "ingest",
            timber.to_str().unwrap(),
            "--key",
            "timber",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cites(
        &url,
        &[
            "keys",
            "create",
            "--role",
            "scientific-authority",
            "--name",
            "sa",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&out).lines().nth(1).unwrap().trim().to_owned();
    let serve = |config: &std::path::Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cites"));
        cmd.env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW)
            .env("DATABASE_URL", &url)
            .env_remove("CITES_SPECIESPLUS_TOKEN")
            .env("CITES_TRACE_CONFIG", config)
            .env("RUST_LOG", "warn");
        cmd
    };

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[yield]]\nfrom = \"LOG\"\nto = \"SAW\"\nmax = \"-1\"\n",
    )
    .unwrap();
    let out = serve(&bad)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stdout(&out).contains("listening"), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("invalid --trace-config") && err.contains("yield[0].max"),
        "{err}"
    );

    // Sawing logs may yield at most a tenth: both sawing events now exceed their table.
    let strict = dir.path().join("strict.toml");
    std::fs::write(
        &strict,
        "[[yield]]\nfrom = \"LOG\"\nto = \"SAW\"\nmax = \"0.1\"\n",
    )
    .unwrap();
    let swept = |args: &[&str]| -> Value {
        let out = cites(&url, args);
        assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let shipped = swept(&["trace", "check", "--json"]);
    let expected = swept(&[
        "trace",
        "check",
        "--json",
        "--config",
        strict.to_str().unwrap(),
    ]);
    assert_ne!(
        expected["findings"], shipped["findings"],
        "the table changes the findings"
    );

    let mut cmd = serve(&strict);
    cmd.stderr(Stdio::null());
    let (mut child, base) = crate::support::spawn_serve(cmd);
    sync::client::install_tls_provider();
    let served: Value = reqwest::Client::new()
        .get(format!("{base}/v1/trace/findings"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(served["findings"], expected["findings"], "{served}");
}
