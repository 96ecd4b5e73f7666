//! Quota writes and keyed permit checks while another process holds the database locked
//! (`BEGIN EXCLUSIVE` on the SQLite file, `LOCK TABLE export_quotas IN
//! ACCESS EXCLUSIVE MODE` on PostgreSQL): each answers 503 with `Retry-After` within
//! `quota::WRITE_DEADLINE`, and sent again with the same key once the lock is gone, is done
//! exactly once.

use std::time::{Duration, Instant};

use cites::app::keys::Role;
use db::{Backend, TestDb};
use serde_json::{Value, json};
use sqlx::{Connection, Executor};

use crate::check::{declare_quota, hummingbird_export};
use crate::support::{TestApp, on_both_backends};

/// Slack over the deadline for a noisy machine: an answer later than the deadline plus this
/// is a wait the deadline did not bound.
const MARGIN: Duration = Duration::from_secs(5);
/// A 503 sooner than this did not wait for the lock at all (a lock waited out for
/// `quota::LOCK_WAIT` at least once).
const WAITED_AT_LEAST: Duration = Duration::from_millis(900);

/// Another session holding the lock; dropping it (or [`Holder::release`]) lets go.
enum Holder {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Holder {
    async fn take(t: &TestDb) -> Holder {
        match t.db.backend() {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&t.url).await.unwrap();
                c.execute("BEGIN EXCLUSIVE").await.unwrap();
                Holder::Sqlite(c)
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&t.url).await.unwrap();
                c.execute("BEGIN").await.unwrap();
                c.execute("LOCK TABLE export_quotas IN ACCESS EXCLUSIVE MODE")
                    .await
                    .unwrap();
                Holder::Postgres(c)
            }
        }
    }

    async fn release(self) {
        match self {
            Holder::Sqlite(mut c) => c.execute("ROLLBACK").await.map(|_| ()),
            Holder::Postgres(mut c) => c.execute("ROLLBACK").await.map(|_| ()),
        }
        .unwrap();
    }
}

/// A write as the client sends it (again, after a 503).
struct Write {
    name: &'static str,
    path: String,
    role: Role,
    body: Value,
}

/// Sends `w`, giving up (status 0) after the deadline plus the margin: the old service
/// answered only once the lock was gone.
async fn send(app: &TestApp, w: &Write) -> (u16, Option<String>, Value, Duration) {
    let started = Instant::now();
    let sent = app
        .http
        .post(format!("{}{}", app.base, w.path))
        .bearer_auth(app.key(w.role))
        .json(&w.body)
        .timeout(quota::WRITE_DEADLINE + MARGIN)
        .send()
        .await;
    let Ok(res) = sent else {
        return (0, None, Value::Null, started.elapsed());
    };
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.json().await.unwrap_or(Value::Null);
    (status, retry_after, body, started.elapsed())
}

/// GETs `path` with the enforcement key, giving up (status 0) after the deadline plus the
/// margin: its status and how long it took.
async fn read(app: &TestApp, path: &str) -> (u16, Duration) {
    let started = Instant::now();
    let sent = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(app.key(Role::Enforcement))
        .timeout(quota::WRITE_DEADLINE + MARGIN)
        .send()
        .await;
    (sent.map_or(0, |r| r.status().as_u16()), started.elapsed())
}

/// Runs `cites` on `url`, killed (status `None`) after the deadline plus the margin: its exit
/// status, stderr and how long it took.
async fn run_cites(url: &str, args: &[&str]) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cites"))
        .env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW)
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .env_remove("CITES_SPECIESPLUS_TOKEN")
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(quota::WRITE_DEADLINE + MARGIN, child).await {
        Ok(out) => {
            let out = out.unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            (out.status.code(), err, started.elapsed())
        }
        Err(_) => (None, String::new(), started.elapsed()),
    }
}

async fn quota_writes_answer_503_within_the_deadline_while_the_database_is_locked_and_once_after(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let quota_id = declare_quota(&app, "100").await;
    let reservations = format!("/v1/quotas/{quota_id}/reservations");
    let write = |name, path: &str, role, body| Write {
        name,
        path: path.to_owned(),
        role,
        body,
    };
    let (s, _, held, _) = send(
        &app,
        &write(
            "hold",
            &reservations,
            Role::PermitOfficer,
            json!({"client_key": "before", "quantity": "5"}),
        ),
    )
    .await;
    assert_eq!(s, 200, "{held}");
    let held_id = held["reservation"]["id"].as_i64().unwrap();
    let mut check = hummingbird_export("2");
    check["reserve"] = json!(true);
    check["client_key"] = json!("check-1");
    let writes = [
        write(
            "reserve",
            &reservations,
            Role::PermitOfficer,
            json!({"client_key": "r-1", "quantity": "3"}),
        ),
        write(
            "commit",
            &format!("/v1/reservations/{held_id}/commit"),
            Role::PermitOfficer,
            json!({"client_key": "c-1", "quantity": "4"}),
        ),
        write(
            "declare",
            "/v1/quotas",
            Role::ScientificAuthority,
            json!({"client_key": "d-1", "exporter": "NA", "taxon_id": 4521, "year": 2026,
                   "limit": "10", "unit": ""}),
        ),
        write(
            "permit check",
            "/v1/permit-checks",
            Role::PermitOfficer,
            check,
        ),
    ];

    let holder = Holder::take(&app.t).await;
    let [w0, w1, w2, w3] = &writes;
    let quota_path = format!("/v1/quotas/{quota_id}");
    let sent = tokio::join!(
        send(&app, w0),
        send(&app, w1),
        send(&app, w2),
        send(&app, w3),
        read(&app, "/health"),
        read(&app, "/v1/taxa?name=Loxodonta"),
        read(&app, &quota_path),
    );
    let answers = [sent.0, sent.1, sent.2, sent.3];
    // Reads do not wait for the lock either: the catalogue and /health are not locked (SQLite
    // readers go on beside a writer; on PostgreSQL the lock is on the quotas alone); the
    // quota, locked on PostgreSQL, is a 503 once a statement's lock wait is over.
    let quota_read = if backend == Backend::Sqlite { 200 } else { 503 };
    for ((path, (status, took)), expected) in [
        ("/health", sent.4),
        ("/v1/taxa", sent.5),
        ("/v1/quotas/{id}", sent.6),
    ]
    .into_iter()
    .zip([200, 200, quota_read])
    {
        assert_eq!(status, expected, "{backend:?} GET {path} while locked");
        assert!(
            took < quota::WRITE_DEADLINE + MARGIN,
            "{backend:?} GET {path} took {took:?}"
        );
    }
    let cli_declare = [
        "quota",
        "set",
        "--exporter",
        "ZA",
        "--taxon",
        "4521",
        "--year",
        "2026",
        "--limit",
        "7",
        "--key",
        "cli-d-1",
    ];
    let (cli_status, cli_err, cli_took) = run_cites(&app.t.url, &cli_declare).await;
    holder.release().await;
    for (w, (status, retry_after, body, took)) in writes.iter().zip(&answers) {
        assert_eq!(
            (*status, body["error"]["code"].as_str()),
            (503, Some("unavailable")),
            "{backend:?} {}: a 503 while the database is locked, within {:?} (after {took:?}): {body}",
            w.name,
            quota::WRITE_DEADLINE + MARGIN,
        );
        assert!(
            *took < quota::WRITE_DEADLINE + MARGIN && *took >= WAITED_AT_LEAST,
            "{backend:?} {}: answered after {took:?}",
            w.name
        );
        assert_eq!(retry_after.as_deref(), Some("2"), "{backend:?} {}", w.name);
    }

    assert!(
        cli_status == Some(1) && cli_err.contains("stayed locked by another process"),
        "{backend:?}: the command line fails saying why ({cli_status:?} after {cli_took:?}): {cli_err}"
    );
    assert!(
        cli_took < quota::WRITE_DEADLINE + MARGIN,
        "{backend:?}: the command line failed after {cli_took:?}"
    );

    // The lock gone, each is sent again with its key: done, and the same when sent once more.
    for w in &writes {
        let (s, _, first, _) = send(&app, w).await;
        assert!(
            s == 200 || s == 201,
            "{backend:?} {} after the lock: {first}",
            w.name
        );
        let (s2, _, again, _) = send(&app, w).await;
        assert_eq!(s2, s, "{backend:?} {} again: {again}", w.name);
        for field in ["reservation", "quota", "check_id"] {
            assert_eq!(again[field], first[field], "{backend:?} {} again", w.name);
        }
    }
    let (cli_status, cli_err, _) = run_cites(&app.t.url, &cli_declare).await;
    assert_eq!(cli_status, Some(0), "{backend:?}: {cli_err}");
    let (cli_status, cli_err, _) = run_cites(&app.t.url, &cli_declare).await;
    assert_eq!(cli_status, Some(0), "{backend:?}, once more: {cli_err}");
    let ledger = quota::Ledger::new(app.t.db.clone(), crate::support::clock());
    assert!(ledger.verify(quota_id).await.unwrap().is_empty());
    let (s, quota) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(s, 200, "{quota}");
    // 4 committed of the first hold (1 of it returned), 3 reserved, 2 by the check: once each.
    assert_eq!(
        (&quota["quota"]["committed"], &quota["quota"]["held"]),
        (&json!("4"), &json!("5")),
        "{backend:?}: {quota}"
    );
    let (reservations, checks, quotas): (i64, i64, i64) = db::with_db!(&app.t.db, pool => {
        let count = |sql| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool);
        (
            count("SELECT count(*) FROM quota_reservations").await.unwrap(),
            count("SELECT count(*) FROM permit_checks").await.unwrap(),
            count("SELECT count(*) FROM export_quotas").await.unwrap(),
        )
    });
    assert_eq!((reservations, checks, quotas), (3, 1, 3), "{backend:?}");
    app.stop().await;
}
on_both_backends!(
    quota_writes_answer_503_within_the_deadline_while_the_database_is_locked_and_once_after
);
