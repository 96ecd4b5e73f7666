//! Credentials in the Species+ URL (`CITES_SPECIESPLUS_URL='http://user:secret@host/…'`) are
//! shown nowhere: not in the WARN log, `sync_runs.error`, `cites sync --status` or
//! `GET /v1/sync/status`.

use std::process::Output;

use cites::app::keys::Role;
use db::{Backend, with_db};
use speciesplus_fake::{Catalogue, FakeConfig, FakeSpeciesPlus, Faults};

use crate::support::{TestApp, cites, on_both_backends, stderr, stdout};

const TOKEN: &str = "credentials-test-token-0000";
const PASSWORD: &str = "s3cretpass";

/// `cites sync --full` against `speciesplus_url` with `token`, awaited (the fake Species+ runs
/// on this test's runtime, which a blocking wait would stall).
async fn sync(database_url: &str, speciesplus_url: &str, token: &str) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cites"))
        .env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW)
        .args(["sync", "--full"])
        .env("DATABASE_URL", database_url)
        .env("CITES_SPECIESPLUS_TOKEN", token)
        .env("CITES_SPECIESPLUS_URL", speciesplus_url)
        .env("CITES_SPECIESPLUS_PACE_MS", "0")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap()
}

async fn credentials_in_the_speciesplus_url_are_shown_nowhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A retried 503 (logged at WARN), then a 400 that ends the run.
    let faults = Faults {
        fail_paths: vec![
            ("taxon_concepts".to_owned(), 503, 1),
            ("taxon_concepts".to_owned(), 400, 1),
        ],
        ..Faults::default()
    };
    let config = FakeConfig::new(vec![TOKEN.to_owned()]).with_faults(faults);
    let fake = FakeSpeciesPlus::start(Catalogue::generate(30, 3), config).await;
    let url = fake
        .base_url()
        .replace("http://", &format!("http://user:{PASSWORD}@"));
    let host = fake.addr().to_string();

    let rejected = sync(&app.t.url, &url, TOKEN).await;
    assert!(!rejected.status.success(), "{}", stderr(&rejected));
    assert!(
        stderr(&rejected).contains("WARN") && stderr(&rejected).contains("retrying"),
        "the retry is logged: {}",
        stderr(&rejected)
    );
    // A token Species+ refuses: 401.
    let refused = sync(&app.t.url, &url, "wrong-token-0000").await;
    assert!(!refused.status.success(), "{}", stderr(&refused));
    for o in [&rejected, &refused] {
        let said = format!("{}{}", stdout(o), stderr(o));
        assert!(said.contains(&host), "the URL is still shown: {said}");
        assert!(!said.contains(PASSWORD), "{said}");
    }

    let errors: Vec<Option<String>> = with_db!(&app.t.db, pool => sqlx::query_scalar(
        "SELECT error FROM sync_runs ORDER BY id").fetch_all(pool).await)
    .unwrap();
    let errors: Vec<String> = errors.into_iter().flatten().collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("400") && errors[1].contains("401"),
        "{errors:?}"
    );
    for e in &errors {
        assert!(e.contains(&host) && !e.contains(PASSWORD), "{e}");
    }

    for args in [&["sync", "--status"][..], &["sync", "--status", "--json"]] {
        let o = cites(&app.t.url, args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("401"), "{args:?}: {}", stdout(&o));
        assert!(!stdout(&o).contains(PASSWORD), "{args:?}: {}", stdout(&o));
    }
    let (s, status) = app.get("/v1/sync/status", Some(Role::Enforcement)).await;
    assert_eq!(s, 200, "{status}");
    assert!(status.to_string().contains("401"), "{status}");
    assert!(!status.to_string().contains(PASSWORD), "{status}");
    app.stop().await;
}
on_both_backends!(credentials_in_the_speciesplus_url_are_shown_nowhere);
