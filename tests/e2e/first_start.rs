//! `cites serve` with a Species+ token: the sample is never loaded, the first run at start-up
//! mirrors Species+ (the weekly dump, or a full walk when there is none), the catalogue says
//! `loading` until it has succeeded and no permit is checked on it meanwhile, and a catalogue
//! that held the sample is replaced by the mirror, never merged with it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use db::{Backend, TestDb};
use serde_json::{Value, json};
use speciesplus_fake::{Catalogue, FakeConfig, FakeSpeciesPlus, Faults};
use sync::{SyncSettings, Synchroniser};

use crate::support::{cites, clock, on_both_backends, spawn_serve, stdout};

const TOKEN: &str = "first-start-token-9Kq";
/// Each fake response is this slow, so the first mirror lasts a few seconds: long enough to
/// see the catalogue loading, short enough for a test.
const SLOW: Duration = Duration::from_secs(3);
/// Longest wait for the first mirror (a few requests to the fake, each [`SLOW`]).
const MIRROR_DEADLINE: Duration = Duration::from_secs(90);
/// A synthetic taxon of the sample (`fixtures/cop19`), in no generated catalogue.
const SAMPLE_ONLY_TAXON: i64 = 900_010;

/// `cites serve` as a child process with a token; killed when dropped.
struct Serve {
    child: Child,
    base: String,
}

impl Serve {
    fn start(database_url: &str, fake: &FakeSpeciesPlus) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cites"));
        cmd.env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW);
        cmd.env("DATABASE_URL", database_url)
            .env("CITES_SPECIESPLUS_TOKEN", TOKEN)
            .env("CITES_SPECIESPLUS_URL", fake.base_url())
            .env("CITES_SPECIESPLUS_PACE_MS", "0")
            .env("CITES_SPECIESPLUS_CONCURRENCY", "4")
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null());
        let (child, base) = spawn_serve(cmd);
        Serve { child, base }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(http: &reqwest::Client, url: String, key: &str) -> (u16, Value) {
    let res = http.get(url).bearer_auth(key).send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

/// `from_sample`: the database holds the sample when the service starts (else it is empty),
/// and Species+ offers no dump, so the first mirror is a full walk (else the weekly dump).
async fn first_start(backend: Backend, from_sample: bool) {
    sync::client::install_tls_provider();
    let t = TestDb::create(backend).await.unwrap();
    if from_sample {
        let no_client = Synchroniser::new(
            t.db.clone(),
            None,
            clock(),
            SyncSettings {
                fetch_concurrency: 1,
                fetch_distributions: false,
            },
        );
        cites::app::sample::load(&no_client).await.unwrap();
    }
    let out = cites(
        &t.url,
        &["keys", "create", "--role", "permit-officer", "--name", "p"],
    );
    let key = stdout(&out).lines().nth(1).unwrap().trim().to_owned();
    let catalogue = Catalogue::generate(40, 31);
    let config = FakeConfig::new(vec![TOKEN.to_owned()]);
    let config = if from_sample {
        config.with_dumps_enabled(false).with_latency(SLOW)
    } else {
        config.with_faults(Faults {
            slow_rate: 1.0,
            slow_by: SLOW,
            ..Faults::default()
        })
    };
    let fake = FakeSpeciesPlus::start(catalogue.clone(), config).await;
    let serve = Serve::start(&t.url, &fake);
    let http = reqwest::Client::new();

    // Loading: said by /health and /v1/sync/status, and no permit is checked on it.
    let (status, health) = get(&http, format!("{}/health", serve.base), "").await;
    assert_eq!(
        (status, &health["catalogue"]),
        (200, &json!("loading")),
        "{health}"
    );
    let (_, sync_status) = get(&http, format!("{}/v1/sync/status", serve.base), &key).await;
    assert_eq!(sync_status["catalogue_state"], "loading", "{sync_status}");
    let check = json!({
        "transaction": "export", "taxon": "Panthera tigris", "exporter": "IN", "importer": "US",
        "source": "W", "purpose": "T", "term": "SKI", "quantity": 1,
        "date_issue": "2026-11-27", "date_trade": "2026-11-30",
        "documents": {"ndf_reference": "N", "laf_reference": "L"}
    });
    let res = http
        .post(format!("{}/v1/permit-checks", serve.base))
        .bearer_auth(&key)
        .json(&check)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "catalogue_loading", "{body}");

    // The first mirror, at start-up (the cron's next slot is days away).
    let started = Instant::now();
    loop {
        let (_, health) = get(&http, format!("{}/health", serve.base), "").await;
        if health["catalogue"] == "mirror" {
            break;
        }
        assert!(
            started.elapsed() < MIRROR_DEADLINE,
            "the first mirror did not complete in {MIRROR_DEADLINE:?}: {health}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Species+'s taxa are there, and nothing of the sample is.
    let accepted = catalogue
        .lines()
        .find(|l| l.name_status == "A" && l.active && l.rank == "SPECIES")
        .expect("a generated catalogue has accepted species");
    let (status, taxon) = get(
        &http,
        format!("{}/v1/taxa/{}", serve.base, accepted.id),
        &key,
    )
    .await;
    assert_eq!(status, 200, "{taxon}");
    let (status, _) = get(
        &http,
        format!("{}/v1/taxa/{SAMPLE_ONLY_TAXON}", serve.base),
        &key,
    )
    .await;
    assert_eq!(status, 404, "a sample taxon outlived the first mirror");
    let counts = sync::store::counts(&t.db).await.unwrap();
    assert_eq!(counts.taxa, catalogue.len() as i64);
    let runs = sync::store::recent_runs(&t.db, 50).await.unwrap();
    let newest = &runs[0];
    assert_eq!(newest.status, "succeeded", "{runs:?}");
    assert_eq!(
        newest.kind,
        if from_sample { "full" } else { "dump" },
        "{runs:?}"
    );
    let samples = runs
        .iter()
        .filter(|r| {
            r.report
                .as_deref()
                .is_some_and(|r| r.contains("built-in SAMPLE catalogue"))
        })
        .count();
    assert_eq!(samples, usize::from(from_sample), "{runs:?}");
    if from_sample {
        assert!(
            newest
                .report
                .as_deref()
                .is_some_and(|r| r.contains(sync::run::SAMPLE_REPLACED)),
            "{newest:?}"
        );
    }
    let (_, sync_status) = get(&http, format!("{}/v1/sync/status", serve.base), &key).await;
    assert_eq!(sync_status["catalogue_state"], "mirror", "{sync_status}");

    drop(serve);
    t.drop_db().await.unwrap();
    fake.shutdown().await;
}

on_both_backends!(
    multi_thread an_empty_catalogue_is_mirrored_from_the_weekly_dump_at_start_up = first_start(false)
);
on_both_backends!(
    multi_thread a_sample_catalogue_is_replaced_by_a_full_walk_at_start_up = first_start(true)
);
