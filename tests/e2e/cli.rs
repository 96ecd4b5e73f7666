//! The command line, run as a user would: a real binary, a real database file.

use std::process::{Command, Stdio};

use db::Backend;

use crate::support::{cites, repo_path, spawn_serve, stderr, stdout};

fn sample_path() -> String {
    repo_path("fixtures/sample/catalogue.ndjson")
        .display()
        .to_string()
}

async fn cli_answers_listings_and_amendments_after_loading_a_dump(backend: Backend) {
    let t = db::TestDb::create(backend).await.unwrap();
    let out = cites(&t.url, &["sync", "--from-dump", &sample_path()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("taxa added:          570"),
        "{}",
        stdout(&out)
    );

    let out = cites(
        &t.url,
        &["listing", "Pycnonotus zeylanicus", "--date", "2023-11-24"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Appendix II"), "{}", stdout(&out));
    let out = cites(
        &t.url,
        &[
            "listing",
            "Pycnonotus zeylanicus",
            "--date",
            "2023-11-25",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["appendix"], "I");
    assert_eq!(
        json["deciding_listing_change_ids"],
        serde_json::json!([910011])
    );

    let out = cites(
        &t.url,
        &[
            "listing",
            "Loxodonta africana",
            "--date",
            "2022-11-27",
            "--country",
            "BW",
        ],
    );
    assert!(stdout(&out).contains("Appendix II"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("reservation in force: BW"),
        "{}",
        stdout(&out)
    );

    let out = cites(
        &t.url,
        &[
            "amendments",
            "--from",
            "2023-02-23",
            "--to",
            "2023-02-23",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json["amendments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["full_name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Tiliqua adelaidensis"), "{names:?}");
    assert!(names.contains(&"Cynomys mexicanus"), "{names:?}");

    let out = cites(&t.url, &["sync", "--status"]);
    assert!(stdout(&out).contains("dump"), "{}", stdout(&out));
    t.drop_db().await.unwrap();
}

#[tokio::test]
async fn sqlite_cli_answers_listings_and_amendments_after_loading_a_dump() {
    cli_answers_listings_and_amendments_after_loading_a_dump(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_cli_answers_listings_and_amendments_after_loading_a_dump() {
    cli_answers_listings_and_amendments_after_loading_a_dump(Backend::Postgres).await;
}

#[tokio::test]
async fn bad_arguments_fail_with_a_message_naming_the_field() {
    let t = db::TestDb::create(Backend::Sqlite).await.unwrap();
    let out = cites(&t.url, &["listing", "4521", "--country", "XY"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("\"country\""), "{}", stderr(&out));
    let out = cites(&t.url, &["listing", "4521", "--date", "2023-02-30"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("\"date\""), "{}", stderr(&out));
    // Refused for its arguments, a command changed nothing: the catalogue is still empty.
    assert_eq!(sync::store::counts(&t.db).await.unwrap().taxa, 0);
    let out = cites(&t.url, &["listing", "Nonexistent species"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("taxon not found"), "{}", stderr(&out));
    let out = cites(&t.url, &["keys", "create", "--role", "boss", "--name", "x"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("permit-officer"), "{}", stderr(&out));
    let out = cites(&t.url, &["sync"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("CITES_SPECIESPLUS_TOKEN"),
        "{}",
        stderr(&out)
    );
    let out = cites("mysql://localhost/x", &["sync", "--status"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("accepted sqlite://"),
        "{}",
        stderr(&out)
    );
    t.drop_db().await.unwrap();
}

#[tokio::test]
async fn a_malformed_dump_fails_naming_the_line_and_applies_nothing() {
    let t = db::TestDb::create(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ndjson");
    let sample = std::fs::read_to_string(repo_path("fixtures/sample/catalogue.ndjson")).unwrap();
    let mut lines: Vec<&str> = sample.lines().take(10).collect();
    lines.push("{\"id\": 1, \"full_name\": ");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = cites(&t.url, &["sync", "--from-dump", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 11"), "{}", stderr(&out));
    let counts = sync::store::counts(&t.db).await.unwrap();
    assert_eq!(counts.taxa, 0, "nothing of the failed load may be applied");
    let runs = sync::store::recent_runs(&t.db, 1).await.unwrap();
    assert_eq!(runs[0].status, "failed");
    t.drop_db().await.unwrap();
}

#[tokio::test]
async fn an_api_key_is_shown_once_and_stored_only_as_a_hash() {
    let t = db::TestDb::create(Backend::Sqlite).await.unwrap();
    let out = cites(
        &t.url,
        &[
            "keys",
            "create",
            "--role",
            "enforcement",
            "--name",
            "customs",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&out).lines().nth(1).unwrap().trim().to_owned();
    assert!(key.starts_with("cites_"), "{key}");
    let stored: Vec<String> = db::with_db!(&t.db, pool => sqlx::query_scalar::<_, String>(
        "SELECT name || role || key_prefix || secret_hash FROM api_keys").fetch_all(pool).await)
    .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains(&key[15..]),
        "the secret is stored in clear"
    );
    let out = cites(&t.url, &["keys", "list"]);
    assert!(
        stdout(&out).contains("customs") && !stdout(&out).contains(&key),
        "{}",
        stdout(&out)
    );
    let out = cites(
        &t.url,
        &["keys", "create", "--role", "admin", "--name", "customs"],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    t.drop_db().await.unwrap();
}

/// `cites serve` on an empty database: loads the sample, answers, and stops cleanly on SIGTERM.
#[tokio::test]
async fn serve_starts_offline_with_the_sample_and_shuts_down_gracefully_on_sigterm() {
    let t = db::TestDb::create(Backend::Sqlite).await.unwrap();
    let out = cites(
        &t.url,
        &["keys", "create", "--role", "permit-officer", "--name", "p"],
    );
    let key = stdout(&out).lines().nth(1).unwrap().trim().to_owned();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cites"));
    cmd.env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW);
    cmd.env("DATABASE_URL", &t.url)
        .env_remove("CITES_SPECIESPLUS_TOKEN")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    let (mut child, base) = spawn_serve(cmd);
    sync::client::install_tls_provider();
    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["catalogue"], "sample", "{health}");
    // A decision taken on the sample says so, and is never an ALLOW.
    let check: serde_json::Value = http
        .post(format!("{base}/v1/permit-checks"))
        .bearer_auth(&key)
        .json(&serde_json::json!({
            "transaction": "export", "taxon": "Amazilia versicolor", "exporter": "BR",
            "importer": "DE", "source": "W", "purpose": "T", "term": "LIV", "quantity": 1,
            "date_issue": "2026-11-27", "date_trade": "2026-12-01",
            "documents": {"ndf_reference": "NDF-BR-2026-7", "laf_reference": "LAF-BR-2026-88"}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(check["decision"], "NEEDS_REVIEW", "{check}");
    assert_eq!(check["reasons"][0]["code"], "SAMPLE_CATALOGUE", "{check}");
    let listing: serde_json::Value = http
        .get(format!("{base}/v1/taxa/900010/listing?date=2023-11-25"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing["appendix"], "I", "{listing}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "serve did not shut down cleanly: {exit:?}");
    // The sample is labelled where an operator looks for what the catalogue holds.
    let out = cites(&t.url, &["sync", "--status"]);
    let status = stdout(&out);
    assert!(
        status.contains("warning: loaded the built-in SAMPLE catalogue")
            && status.contains("not for permit decisions"),
        "{status}"
    );
    t.drop_db().await.unwrap();
}

/// Logs read from a pipe or a file, not a terminal, are plain text: no colour escape codes.
#[test]
fn logs_not_written_to_a_terminal_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    // serve warns at once (no token: the sample, no scheduled sync) and is stopped then.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cites"));
    cmd.env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW);
    cmd.env("DATABASE_URL", &url)
        .env_remove("CITES_SPECIESPLUS_TOKEN")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped());
    let (child, _) = spawn_serve(cmd);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(err.contains("WARN"), "nothing was logged: {err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in a piped log: {err:?}"
    );
}

/// A newcomer's first command, before any `serve` or `sync`: the README's tour answers from
/// the sample catalogue, loaded as `serve` loads it and labelled as such.
#[test]
fn the_readme_tour_answers_on_a_fresh_database_from_the_labelled_sample() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let out = cites(
        &url,
        &[
            "listing",
            "Loxodonta africana",
            "--date",
            "2022-11-27",
            "--country",
            "NA",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("II"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("loaded the built-in SAMPLE catalogue"),
        "{}",
        stderr(&out)
    );
    // Loaded once: the next command finds it and says nothing.
    let out = cites(
        &url,
        &["amendments", "--from", "2023-02-23", "--to", "2023-11-25"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("SAMPLE"), "{}", stderr(&out));
    let status = stdout(&cites(&url, &["sync", "--status"]));
    assert_eq!(status.matches("SAMPLE catalogue").count(), 1, "{status}");
}
