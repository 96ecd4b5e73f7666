//! The database's own faults under load: `cites serve` runs over a PostgreSQL cluster
//! of the test's own, through a TCP proxy of the test's own. In turn, the proxy drops every
//! connection and refuses new ones (a cut network), or the server is stopped with `immediate`
//! shutdown (a crash) and started again. While the database is gone, quota writes and permit
//! checks answer 503 within `quota::WRITE_DEADLINE` and `/health` says it is unreachable; when it
//! is back the service recovers by itself; after each cycle the ledger's invariants hold, every
//! request without a definite answer gets one when sent again with its key (and the same one
//! twice), and nothing answered as done is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use tokio::net::{TcpListener, TcpStream};

use crate::quota_crash::{check_quotas, dec, declare, get, http_client, new_key, this_year};
use crate::support::{Server, load_sample, tail};

/// Fault cycles, half of each kind, unless `CITES_DB_FAULT_CYCLES` says otherwise.
const CYCLES_DEFAULT: u64 = 20;
/// Concurrent clients reserving through each cycle.
const CLIENTS: u64 = 4;
/// A client's pause between two requests, so that a cycle's requests stay few enough to
/// check one by one.
const CLIENT_PAUSE: Duration = Duration::from_millis(15);
/// The fault comes this many milliseconds after the clients start.
const FAULT_AFTER_MS: std::ops::RangeInclusive<u64> = 100..=400;
/// The clients go on this long once the service answers again.
const AFTER_RECOVERY: Duration = Duration::from_millis(300);
/// Slack over a documented bound for a noisy machine.
const MARGIN: Duration = Duration::from_secs(3);
/// How long the service may take to answer `/health` with a 200 again once the database is back.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(20);
/// How often `/health` is asked while waiting for the recovery.
const RECOVERY_POLL: Duration = Duration::from_millis(100);
/// Acknowledged requests of a cycle sent again after it, at most.
const ACKNOWLEDGED_RETRIES_MAX: usize = 16;
const SEED: u64 = 0xDB_FA_17;
const RESERVE_QUANTITIES: &[&str] = &["0.5", "1", "2"];

fn cycles() -> u64 {
    match std::env::var("CITES_DB_FAULT_CYCLES") {
        Err(_) => CYCLES_DEFAULT,
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("CITES_DB_FAULT_CYCLES={v:?}: a number of cycles")),
    }
}

/// Whether this process runs as root, which initdb and postgres refuse.
fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// `program` run as the `postgres` user when the test runs as root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// PostgreSQL's programs: `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`.
fn postgres_bin() -> PathBuf {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut installed: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    installed.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or_default()
    });
    from_pg_config
        .into_iter()
        .chain(installed.into_iter().rev())
        .find(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .expect(
            "PostgreSQL's initdb and pg_ctl were not found (pg_config --bindir, \
             /usr/lib/postgresql/*/bin): install the PostgreSQL server (Debian: apt install postgresql)",
        )
}

/// A free port on 127.0.0.1 (free when asked).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL cluster of the test's own, in a temporary directory: never the shared server,
/// which other tests use. Stopped when dropped.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn create() -> Cluster {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("run")).unwrap();
        if is_root() {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres"]).arg(dir.path());
            run(chown, "chown postgres");
        }
        let mut initdb = as_postgres(&bin.join("initdb"));
        initdb
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(dir.path().join("pg"));
        run(initdb, "initdb");
        let cluster = Cluster {
            bin,
            dir,
            port: free_port(),
        };
        cluster.start();
        cluster
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut c = as_postgres(&self.bin.join("pg_ctl"));
        c.arg("-D").arg(self.dir.path().join("pg")).args(args);
        c
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().join("run").display()
        );
        let log = self.dir.path().join("pg.log");
        let log = log.to_str().unwrap();
        let start = self.pg_ctl(&["-l", log, "-w", "-t", "30", "-o", &options, "start"]);
        run(start, "pg_ctl start");
    }

    /// A crash: no checkpoint, no goodbye to the clients; the next start recovers from the WAL.
    fn stop_immediately(&self) {
        run(
            self.pg_ctl(&["-m", "immediate", "-w", "stop"]),
            "pg_ctl stop",
        );
    }

    fn url(&self, port: u16, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{database}")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]).output();
    }
}

/// A TCP proxy on 127.0.0.1 to the cluster. Cut, it drops every connection it carries and
/// closes each new one at once; restored, it carries new ones again.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    /// Bumped at each cut: every connection carried ends.
    cuts: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = tokio::sync::watch::channel(0_u64);
        let task = tokio::spawn({
            let (up, cuts) = (up.clone(), cuts.clone());
            async move {
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else {
                        continue;
                    };
                    if !up.load(Ordering::SeqCst) {
                        continue;
                    }
                    let mut cut = cuts.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await
                        else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            }
        });
        Proxy {
            port,
            up,
            cuts,
            task,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request as sent: sending it again means sending exactly this.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    body: Value,
}

/// What a request was told.
#[derive(Clone, Debug)]
enum Told {
    Done(Value),
    /// A 503 with `Retry-After`, after this long.
    Unavailable(Duration),
    /// No answer (the connection to the service failed).
    Lost(String),
    Unexpected(u16, String),
}

async fn send(http: &reqwest::Client, base: &str, key: &str, req: &Request) -> Told {
    let started = Instant::now();
    let res = match http
        .post(format!("{base}{}", req.path))
        .bearer_auth(key)
        .json(&req.body)
        .send()
        .await
    {
        Ok(res) => res,
        Err(e) => return Told::Lost(e.to_string()),
    };
    let status = res.status().as_u16();
    let retry_after = res.headers().contains_key("retry-after");
    let text = res.text().await.unwrap_or_default();
    match (status, serde_json::from_str::<Value>(&text)) {
        (200, Ok(v)) => Told::Done(v),
        (503, Ok(v)) if retry_after && v["error"]["code"] == "unavailable" => {
            Told::Unavailable(started.elapsed())
        }
        _ => Told::Unexpected(status, text),
    }
}

/// Sends `req` again once the database is back: it must now get a definite answer.
async fn resend(http: &reqwest::Client, base: &str, key: &str, req: &Request, ctx: &str) -> Value {
    match send(http, base, key, req).await {
        Told::Done(v) => v,
        other => panic!("{ctx}: sent again, {req:?} was told {other:?}"),
    }
}

/// A reservation of `quantity` on `quota_id` under `key`.
fn reserve(quota_id: i64, key: String, quantity: &str) -> Request {
    Request {
        path: format!("/v1/quotas/{quota_id}/reservations"),
        body: json!({"client_key": key, "quantity": quantity}),
    }
}

/// A permit check that reserves one live hummingbird of Brazil's quota, issued today (the
/// service's clock starts at `support::NOW`).
fn permit_check(key: String) -> Request {
    let today = crate::support::today().to_string();
    Request {
        path: "/v1/permit-checks".to_owned(),
        body: json!({
            "transaction": "export", "taxon": "Amazilia versicolor", "exporter": "BR",
            "importer": "DE", "source": "W", "purpose": "T", "term": "LIV", "quantity": "1",
            "date_issue": today, "date_trade": today, "reserve": true, "client_key": key,
            "documents": {"ndf_reference": "NDF-BR-1", "laf_reference": "LAF-BR-1"}
        }),
    }
}

/// Sends requests, one every [`CLIENT_PAUSE`] (after a 503, as its `Retry-After` says), until
/// `stop`: every third a permit check, the others reservations. Each is recorded with what it
/// was told.
async fn client(
    http: reqwest::Client,
    base: String,
    key: String,
    quotas: [i64; 2],
    name: String,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> Vec<(Request, Told)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut records = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let k = format!("{name}-{i}");
        let req = if i % 3 == 2 {
            permit_check(k)
        } else {
            let q = RESERVE_QUANTITIES[rng.random_range(0..RESERVE_QUANTITIES.len())];
            reserve(quotas[0], k, q)
        };
        let told = send(&http, &base, &key, &req).await;
        // A 503 asks to wait (`Retry-After`) before sending more: this client does.
        let pause = match told {
            Told::Unavailable(_) => Duration::from_secs(cites::http::RETRY_AFTER_SECS.into()),
            _ => CLIENT_PAUSE,
        };
        records.push((req, told));
        i += 1;
        let resume = Instant::now() + pause;
        while Instant::now() < resume && !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(CLIENT_PAUSE).await;
        }
    }
    records
}

/// The reservation a definite answer made, if it made one: its id and quantity.
fn reservation_made(req: &Request, answer: &Value) -> Option<(i64, Decimal)> {
    let outcome = if req.path == "/v1/permit-checks" {
        &answer["reservation"]
    } else {
        answer
    };
    (outcome["outcome"] == "done").then(|| {
        let r = &outcome["reservation"];
        (r["id"].as_i64().unwrap(), dec(&r["quantity"]))
    })
}

/// While the database is gone: a reservation and a permit check answer 503 within the deadline,
/// `/health` 503 saying the database is unreachable within its own. Returns the two requests
/// (to be sent again once it is back) and how long the slowest answer took.
async fn probe_outage(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    quota_id: i64,
    name: &str,
    ctx: &str,
) -> (Vec<Request>, Duration) {
    let requests = vec![
        reserve(quota_id, format!("{name}-probe-reserve"), "1"),
        permit_check(format!("{name}-probe-check")),
    ];
    let health = async {
        let started = Instant::now();
        let res = http.get(format!("{base}/health")).send().await.unwrap();
        let status = res.status().as_u16();
        (
            status,
            res.json::<Value>().await.unwrap(),
            started.elapsed(),
        )
    };
    let (reserved, checked, (health_status, health_body, health_took)) = tokio::join!(
        send(http, base, key, &requests[0]),
        send(http, base, key, &requests[1]),
        health
    );
    assert_eq!(
        (health_status, &health_body["database"]),
        (503, &json!("unreachable")),
        "{ctx}: /health while the database is gone: {health_body}"
    );
    assert!(
        health_took < cites::http::HEALTH_DEADLINE + MARGIN,
        "{ctx}: /health took {health_took:?}"
    );
    let mut slowest = health_took;
    for told in [reserved, checked] {
        match told {
            Told::Unavailable(took) => {
                assert!(
                    took < quota::WRITE_DEADLINE + MARGIN,
                    "{ctx}: a 503 after {took:?}"
                );
                slowest = slowest.max(took);
            }
            other => panic!("{ctx}: while the database is gone, a write was told {other:?}"),
        }
    }
    (requests, slowest)
}

/// Asks `/health` until it answers 200; how long that took.
async fn wait_for_recovery(http: &reqwest::Client, base: &str, ctx: &str, log: &Path) -> Duration {
    let started = Instant::now();
    loop {
        if let Ok(res) = http.get(format!("{base}/health")).send().await
            && res.status().as_u16() == 200
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < RECOVERY_TIMEOUT,
            "{ctx}: the service did not recover in {RECOVERY_TIMEOUT:?}: {}",
            tail(log)
        );
        tokio::time::sleep(RECOVERY_POLL).await;
    }
}

/// Brazil's quota of live hummingbirds for this year, for the permit checks; its id.
async fn declare_hummingbirds(http: &reqwest::Client, base: &str, key: &str) -> i64 {
    let res = http
        .post(format!("{base}/v1/quotas"))
        .bearer_auth(key)
        .json(
            &json!({"client_key": "declare-br", "exporter": "BR", "taxon_id": 3210,
            "year": this_year(), "limit": "100000", "unit": ""}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    res.json::<Value>().await.unwrap()["quota"]["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_the_service_rides_out_its_database_crashing_and_its_network_cut() {
    let started = Instant::now();
    let cycles = cycles();
    let cluster = tokio::task::spawn_blocking(Cluster::create).await.unwrap();
    let mut admin = sqlx::PgConnection::connect(&cluster.url(cluster.port, "postgres"))
        .await
        .unwrap();
    admin.execute("CREATE DATABASE cites").await.unwrap();
    drop(admin);
    let direct = db::Db::connect(&cluster.url(cluster.port, "cites"))
        .await
        .unwrap();
    load_sample(&direct).await;
    let proxy = Proxy::start(cluster.port).await;
    let url = cluster.url(proxy.port, "cites");
    let officer = new_key(&url, "permit-officer");
    let authority = new_key(&url, "scientific-authority");
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("serve.log");
    // One instance through the proxy, which both faults reach; another connected directly,
    // which sees the crash as a refused connection (through the proxy, a closed one).
    let server = Server::start(&url, &log).await;
    let direct_log = logs.path().join("serve-direct.log");
    let direct_server = Server::start(&cluster.url(cluster.port, "cites"), &direct_log).await;
    let http = http_client();
    let base = server.base.clone();
    let bases = [base.clone(), direct_server.base.clone()];
    let quotas = [
        declare(&http, &base, &authority, 4521, "100000").await,
        declare_hummingbirds(&http, &base, &authority).await,
    ];
    let mut rng = StdRng::seed_from_u64(SEED);
    // Every reservation a client was told was made, by id: its quantity.
    let mut made: std::collections::BTreeMap<i64, (usize, Decimal)> = Default::default();
    let (mut sent, mut unavailable) = (0_usize, 0_usize);
    let (mut slowest_503, mut slowest_recovery) = (Duration::ZERO, Duration::ZERO);
    let mut slowest_direct_503 = Duration::ZERO;

    for cycle in 0..cycles {
        let crash = cycle % 2 == 1;
        let ctx = format!(
            "cycle {cycle} ({})",
            if crash { "server crash" } else { "network cut" }
        );
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                tokio::spawn(client(
                    http.clone(),
                    bases[c as usize % bases.len()].clone(),
                    officer.clone(),
                    quotas,
                    format!("k{cycle}-c{c}"),
                    rng.random(),
                    stop.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(FAULT_AFTER_MS))).await;
        if crash {
            let c = &cluster;
            tokio::task::block_in_place(|| c.stop_immediately());
        } else {
            proxy.cut();
        }
        // The cut reaches the instance behind the proxy; the crash, both.
        let (name, direct_name) = (format!("k{cycle}"), format!("k{cycle}-direct"));
        let direct_ctx = format!("{ctx}, direct");
        let (through_proxy, direct_probe) = tokio::join!(
            probe_outage(&http, &bases[0], &officer, quotas[0], &name, &ctx),
            async {
                if crash {
                    let (b, q) = (&bases[1], quotas[0]);
                    Some(probe_outage(&http, b, &officer, q, &direct_name, &direct_ctx).await)
                } else {
                    None
                }
            }
        );
        let mut probes = through_proxy.0;
        slowest_503 = slowest_503.max(through_proxy.1);
        if let Some((requests, slowest)) = direct_probe {
            probes.extend(requests);
            slowest_direct_503 = slowest_direct_503.max(slowest);
        }
        if crash {
            let c = &cluster;
            tokio::task::block_in_place(|| c.start());
        } else {
            proxy.restore();
        }
        for (b, l) in bases.iter().zip([&log, &direct_log]) {
            slowest_recovery = slowest_recovery.max(wait_for_recovery(&http, b, &ctx, l).await);
        }
        tokio::time::sleep(AFTER_RECOVERY).await;
        stop.store(true, Ordering::SeqCst);
        let mut records = Vec::new();
        for c in clients {
            records.extend(c.await.unwrap());
        }

        // Every request without a definite answer gets one now, and the same one again.
        let mut definite: Vec<(Request, Value)> = Vec::new();
        for req in probes {
            let first = resend(&http, &base, &officer, &req, &ctx).await;
            definite.push((req, first));
        }
        let mut acknowledged = Vec::new();
        for (req, told) in records {
            sent += 1;
            let answer = match told {
                Told::Done(v) => {
                    acknowledged.push((req.clone(), v.clone()));
                    v
                }
                Told::Unavailable(took) => {
                    assert!(
                        took < quota::WRITE_DEADLINE + MARGIN,
                        "{ctx}: a 503 after {took:?}"
                    );
                    unavailable += 1;
                    resend(&http, &base, &officer, &req, &ctx).await
                }
                // The service itself never went away: none of its answers may be missing.
                Told::Lost(e) => panic!("{ctx}: {req:?} got no answer from the service: {e}"),
                Told::Unexpected(status, body) => {
                    panic!(
                        "{ctx}: {req:?} was answered {status}: {body}\n{}",
                        tail(&log)
                    )
                }
            };
            definite.push((req, answer));
        }
        for i in 0..ACKNOWLEDGED_RETRIES_MAX.min(acknowledged.len()) {
            let (req, first) = &acknowledged[(i * 7 + cycle as usize) % acknowledged.len()];
            let again = resend(&http, &base, &officer, req, &ctx).await;
            assert_eq!(
                &again, first,
                "{ctx}: {req:?} answered otherwise when sent again"
            );
        }
        for (req, answer) in &definite {
            let again = resend(&http, &base, &officer, req, &ctx).await;
            assert_eq!(
                &again, answer,
                "{ctx}: {req:?} answered otherwise the second time"
            );
            if let Some((id, quantity)) = reservation_made(req, answer) {
                let quota = usize::from(req.path == "/v1/permit-checks");
                let before = made.insert(id, (quota, quantity));
                assert!(
                    before.is_none_or(|b| b == (quota, quantity)),
                    "{ctx}: reservation {id} answered to two requests"
                );
            }
        }

        // Nothing answered as done is missing: each quota holds exactly what was made on it.
        for (i, quota_id) in quotas.iter().enumerate() {
            let (s, body) = get(&http, &base, &officer, &format!("/v1/quotas/{quota_id}")).await;
            assert_eq!(s, 200, "{ctx}: {body}");
            let expected: Decimal = made
                .values()
                .filter(|(q, _)| *q == i)
                .map(|(_, n)| *n)
                .sum();
            assert_eq!(
                dec(&body["quota"]["held"]),
                expected,
                "{ctx}: quota {quota_id} holds other than the reservations answered as made"
            );
        }
        check_quotas(&http, &base, &officer, &direct, &quotas, &ctx).await;
    }
    let per_quota: Vec<usize> = (0..2)
        .map(|i| made.values().filter(|(q, _)| *q == i).count())
        .collect();
    println!(
        "{cycles} database faults in {:.1?}: {sent} requests, {unavailable} answered 503 and \
         sent again; reservations made {per_quota:?}; slowest 503 {slowest_503:?} \
         (through the proxy), {slowest_direct_503:?} (direct), slowest recovery {slowest_recovery:?}",
        started.elapsed()
    );
    assert!(
        unavailable > 0,
        "no client request met the fault: the test proves nothing"
    );
    server.stop();
    direct_server.stop();
    direct.close().await;
}
