//! Workload W5 of the quota notes (section 5.3): `cites serve` is killed with SIGKILL while
//! permit officers reserve, commit, release, export and close against two quotas. After every
//! restart each request that got no answer is retried with its client key and must now get a
//! definite one; acknowledged requests answer again exactly as the first time; no acknowledged
//! change is lost; and the invariants of section 5.2 hold (within the limit, ledger replay and
//! reservation sums equal to the counters).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use db::{Backend, TestDb, with_db};
use domain::Clock;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::{Server, cites, stderr, stdout, tail};

/// Kill cycles per backend, unless `CITES_CRASH_KILLS` says otherwise (the engine's
/// correctness gate is 100: `CITES_CRASH_KILLS=100 cargo test --test e2e quota_invariants`).
const KILLS_DEFAULT: u64 = 20;
/// Concurrent clients during each cycle.
const CLIENTS: u64 = 8;
/// Every random choice (kill delays, operations, quantities) derives from this seed.
const SEED: u64 = 0x0C17_E5C2_A5E5;
/// The server is killed this many milliseconds after the clients start.
const KILL_AFTER_MS: std::ops::RangeInclusive<u64> = 20..=300;
/// Requests one client sends in one cycle, at most (the kill normally ends it much earlier).
const REQUESTS_PER_CLIENT_MAX: usize = 2_000;
/// Open (held or committed) reservations one client works on at once, at most.
const OWNED_MAX: usize = 4;
/// Acknowledged requests sent again after each restart, at most, besides each client's last.
const ACKNOWLEDGED_RETRIES_MAX: usize = 24;
/// Acknowledged requests of earlier cycles sent again after each restart, at most.
const EARLIER_RETRIES_MAX: usize = 8;
/// The contended quota: far less than the clients ask for.
const CONTENDED_LIMIT: &str = "50";
/// The roomy quota: reservations are rarely refused, so holds move on to permits and exports.
const ROOMY_LIMIT: &str = "100000";
const RESERVE_QUANTITIES: &[&str] = &["0.5", "1", "1.25", "2", "3.5", "5"];
const EXPORT_QUANTITIES: &[&str] = &["0.25", "0.5", "1"];
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CLIENTS_END_TIMEOUT: Duration = Duration::from_secs(30);
/// A whole scenario (one backend) fails rather than run longer than this per kill cycle.
const BUDGET_PER_KILL: Duration = Duration::from_millis(7_500);

fn kills() -> u64 {
    match std::env::var("CITES_CRASH_KILLS") {
        Err(_) => KILLS_DEFAULT,
        Ok(v) => v.parse().ok().filter(|n| *n > 0).unwrap_or_else(|| {
            panic!("CITES_CRASH_KILLS={v:?}: accepted a positive whole number of kills")
        }),
    }
}

/// One request as sent: retrying it means sending exactly this again.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    body: Value,
}

/// A request and its answer: the first one (200), or, when there was none before the kill
/// (`lost`), the one its retry got after the restart.
#[derive(Clone, Debug)]
struct Record {
    req: Request,
    answer: Option<Value>,
    lost: bool,
}

enum Answer {
    /// 200 with a JSON body.
    Ack(Value),
    /// No answer: the connection failed or broke before the whole answer arrived.
    Lost(String),
    /// Any other answer.
    Unexpected(u16, String),
}

async fn send(http: &reqwest::Client, base: &str, key: &str, req: &Request) -> Answer {
    let res = match http
        .post(format!("{base}{}", req.path))
        .bearer_auth(key)
        .json(&req.body)
        .send()
        .await
    {
        Ok(res) => res,
        Err(e) => return Answer::Lost(e.to_string()),
    };
    let status = res.status().as_u16();
    let bytes = match res.bytes().await {
        Ok(b) => b,
        Err(e) => return Answer::Lost(e.to_string()),
    };
    match (status, serde_json::from_slice::<Value>(&bytes)) {
        (200, Ok(v)) => Answer::Ack(v),
        _ => Answer::Unexpected(status, String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// Sends a request again after a restart: it must get a definite answer, a 200.
async fn resend(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    req: &Request,
    context: &str,
) -> Value {
    match send(http, base, key, req).await {
        Answer::Ack(v) => v,
        Answer::Lost(e) => panic!("{context}: retry of {req:?} got no answer: {e}"),
        Answer::Unexpected(s, b) => panic!("{context}: retry of {req:?} answered {s}: {b}"),
    }
}

pub(crate) async fn get(http: &reqwest::Client, base: &str, key: &str, path: &str) -> (u16, Value) {
    let res = http
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub(crate) fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("not a decimal: {v}")))
        .unwrap_or_else(|e| panic!("not a decimal: {v}: {e}"))
}

/// A reservation a client works on.
#[derive(Clone, Debug)]
struct Owned {
    id: i64,
    state: String,
    quantity: Decimal,
    /// Committed and not yet exported.
    open: Decimal,
}

fn owned_from(r: &Value) -> Owned {
    Owned {
        id: r["id"].as_i64().unwrap(),
        state: r["state"].as_str().unwrap().to_owned(),
        quantity: dec(&r["quantity"]),
        open: dec(&r["committed"]) - dec(&r["exported"]),
    }
}

fn is_open(state: &str) -> bool {
    matches!(state, "held" | "committed")
}

/// What the clients know for one cycle.
struct Ctx {
    http: reqwest::Client,
    officer: String,
    quotas: [i64; 2],
    expires_at: String,
}

/// What one client did in one cycle.
struct ClientRun {
    records: Vec<Record>,
    unexpected: Vec<String>,
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// The next request of a client: a new reservation, or a move of one it holds.
fn next_request(rng: &mut StdRng, ctx: &Ctx, owned: &[Owned], key: String) -> Request {
    if owned.is_empty() || (owned.len() < OWNED_MAX && rng.random_bool(0.4)) {
        let quota = *pick(rng, &ctx.quotas);
        let mut body = json!({
            "client_key": key,
            "quantity": pick(rng, RESERVE_QUANTITIES),
        });
        // Half the reservations leave the expiry to the server's default: a retry of those
        // must still be recognised as the same request.
        if rng.random_bool(0.5) {
            body["expires_at"] = json!(ctx.expires_at);
        }
        return Request {
            path: format!("/v1/quotas/{quota}/reservations"),
            body,
        };
    }
    let o = pick(rng, owned);
    let id = o.id;
    if o.state == "held" {
        if rng.random_bool(0.35) {
            return Request {
                path: format!("/v1/reservations/{id}/release"),
                body: json!({ "client_key": key }),
            };
        }
        let quantity = match rng.random_range(0..20) {
            0..=9 => None,
            // More than held: refused, as data.
            10 => Some(o.quantity + Decimal::ONE),
            _ => Some(o.quantity / Decimal::TWO),
        };
        let body = match quantity {
            None => json!({ "client_key": key }),
            Some(q) => json!({ "client_key": key, "quantity": q.normalize().to_string() }),
        };
        return Request {
            path: format!("/v1/reservations/{id}/commit"),
            body,
        };
    }
    if o.open > Decimal::ZERO && rng.random_bool(0.7) {
        Request {
            path: format!("/v1/reservations/{id}/exports"),
            body: json!({ "client_key": key, "quantity": pick(rng, EXPORT_QUANTITIES) }),
        }
    } else {
        Request {
            path: format!("/v1/reservations/{id}/close"),
            body: json!({ "client_key": key }),
        }
    }
}

/// Sends requests until the first one gets no answer (the server is gone), the deadline, or
/// the bound on requests.
async fn client(
    ctx: Arc<Ctx>,
    base: String,
    prefix: String,
    mut owned: Vec<Owned>,
    seed: u64,
    deadline: Instant,
) -> ClientRun {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut run = ClientRun {
        records: Vec::new(),
        unexpected: Vec::new(),
    };
    for n in 0..REQUESTS_PER_CLIENT_MAX {
        if Instant::now() > deadline {
            break;
        }
        let req = next_request(&mut rng, &ctx, &owned, format!("{prefix}-{n}"));
        match send(&ctx.http, &base, &ctx.officer, &req).await {
            Answer::Ack(v) => {
                let r = &v["reservation"];
                if r.is_object() {
                    let seen = owned_from(r);
                    owned.retain(|o| o.id != seen.id);
                    if is_open(&seen.state) {
                        owned.push(seen);
                    }
                }
                run.records.push(Record {
                    req,
                    answer: Some(v),
                    lost: false,
                });
            }
            Answer::Lost(_) => {
                run.records.push(Record {
                    req,
                    answer: None,
                    lost: true,
                });
                break;
            }
            Answer::Unexpected(status, body) => {
                run.unexpected
                    .push(format!("{req:?} answered {status}: {body}"));
                break;
            }
        }
    }
    run
}

/// The latest acknowledged view of one reservation.
#[derive(Clone, Debug)]
struct Seen {
    state: String,
    committed: Decimal,
    exported: Decimal,
}

fn rank(state: &str) -> u8 {
    match state {
        "held" => 0,
        "committed" => 1,
        _ => 2,
    }
}

/// Whether a reservation seen in state `from` may later be in state `to`.
fn reachable(from: &str, to: &str) -> bool {
    from == to
        || matches!(
            (from, to),
            ("held", "committed" | "released" | "expired" | "closed") | ("committed", "closed")
        )
}

/// Keeps, per reservation, the latest state any answer showed.
fn observe(seen: &mut BTreeMap<i64, Seen>, ids: &mut BTreeSet<i64>, answer: &Value) {
    let r = &answer["reservation"];
    if !r.is_object() {
        return;
    }
    let id = r["id"].as_i64().unwrap();
    let now = Seen {
        state: r["state"].as_str().unwrap().to_owned(),
        committed: dec(&r["committed"]),
        exported: dec(&r["exported"]),
    };
    ids.insert(id);
    match seen.get(&id) {
        Some(old) if (rank(&old.state), old.exported) >= (rank(&now.state), now.exported) => {}
        _ => {
            seen.insert(id, now);
        }
    }
}

/// Every reservation in `ids` is present and at or past what was acknowledged of it; returns
/// the ones still open (held or committed), for the next cycle.
async fn check_reservations(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    seen: &BTreeMap<i64, Seen>,
    ids: &BTreeSet<i64>,
    context: &str,
) -> Vec<Owned> {
    let mut open = Vec::new();
    for id in ids {
        let (s, body) = get(http, base, key, &format!("/v1/reservations/{id}")).await;
        assert_eq!(
            s, 200,
            "{context}: acknowledged reservation {id} is missing: {body}"
        );
        let r = &body["reservation"];
        let state = r["state"].as_str().unwrap();
        if let Some(want) = seen.get(id) {
            assert!(
                reachable(&want.state, state),
                "{context}: reservation {id} was acknowledged {}, is now {state}: {body}",
                want.state
            );
            assert!(
                dec(&r["exported"]) >= want.exported,
                "{context}: reservation {id} lost acknowledged exports ({want:?}): {body}"
            );
            if want.state != "held" {
                assert_eq!(
                    dec(&r["committed"]),
                    want.committed,
                    "{context}: reservation {id} changed its committed quantity ({want:?}): {body}"
                );
            }
        }
        if is_open(state) {
            open.push(owned_from(r));
        }
    }
    open
}

/// Counters within the limit by the API; the ledger's own check, and no client key claimed
/// without its outcome, on a fresh connection to the database.
pub(crate) async fn check_quotas(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    db: &db::Db,
    quotas: &[i64],
    context: &str,
) {
    for id in quotas {
        let (s, body) = get(http, base, key, &format!("/v1/quotas/{id}")).await;
        assert_eq!(s, 200, "{context}: quota {id}: {body}");
        let q = &body["quota"];
        let used = dec(&q["held"]) + dec(&q["committed"]) + dec(&q["exported"]);
        assert!(
            used <= dec(&q["limit"]),
            "{context}: quota {id} is over its limit: {body}"
        );
    }
    let ledger = ::quota::Ledger::new(db.clone(), crate::support::clock());
    for id in quotas {
        let violations = ledger.verify(*id).await.unwrap();
        assert!(violations.is_empty(), "{context}: {violations:#?}");
    }
    let half_done: Vec<String> = with_db!(db, pool => sqlx::query_scalar::<_, String>(
        "SELECT client_key FROM quota_requests WHERE outcome = ''").fetch_all(pool).await)
    .unwrap();
    assert!(
        half_done.is_empty(),
        "{context}: client keys claimed without an outcome: {half_done:?}"
    );
}

/// A client with no connection to any earlier server: one per server started.
pub(crate) fn http_client() -> reqwest::Client {
    sync::client::install_tls_provider();
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap()
}

pub(crate) fn new_key(url: &str, role: &str) -> String {
    let out = cites(url, &["keys", "create", "--role", role, "--name", role]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().nth(1).unwrap().trim().to_owned()
}

/// The server's clock starts at `support::NOW`, and it reserves only against a quota whose
/// period holds today.
pub(crate) fn this_year() -> i32 {
    chrono::Datelike::year(&crate::support::today())
}

/// A quota in kilograms, whose quantities may have decimals (specimens are counted whole).
pub(crate) async fn declare(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    taxon_id: u32,
    limit: &str,
) -> i64 {
    let res = http
        .post(format!("{base}/v1/quotas"))
        .bearer_auth(key)
        .json(
            &json!({"client_key": format!("declare-{taxon_id}"), "exporter": "NA",
            "taxon_id": taxon_id, "year": this_year(), "limit": limit, "unit": "KGM"}),
        )
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["quota"]["id"].as_i64().unwrap()
}

async fn quota_invariants_hold_after_killing_the_server_under_load(backend: Backend) {
    let started = Instant::now();
    let kills = kills();
    let budget = BUDGET_PER_KILL * u32::try_from(kills).unwrap_or(u32::MAX);
    let t = crate::support::sample_db(backend).await;
    let officer = new_key(&t.url, "permit-officer");
    let authority = new_key(&t.url, "scientific-authority");
    let logs = tempfile::tempdir().unwrap();
    let log: PathBuf = logs.path().join("serve.log");
    let mut http = http_client();
    // The expiry half the reservations send; the others take the server's default.
    let expires_at = (crate::support::clock().now() + chrono::Duration::days(7))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    let mut server = Server::start(&t.url, &log).await;
    let quotas = [
        declare(&http, &server.base, &authority, 4521, CONTENDED_LIMIT).await,
        declare(&http, &server.base, &authority, 3057, ROOMY_LIMIT).await,
    ];
    let mut rng = StdRng::seed_from_u64(SEED ^ backend as u64);
    let mut seen: BTreeMap<i64, Seen> = BTreeMap::new();
    let mut pool: Vec<Owned> = Vec::new();
    let mut earlier: Vec<Record> = Vec::new();
    let (mut sent, mut acknowledged, mut refused) = (0_usize, 0_usize, 0_usize);
    let (mut lost_done, mut lost_undone) = (0_usize, 0_usize);
    let mut backends_terminated = 0_i64;

    for cycle in 0..kills {
        assert!(
            started.elapsed() < budget,
            "cycle {cycle}: over the budget of {budget:?}"
        );
        let context = format!("{backend:?} cycle {cycle}");
        let ctx = Arc::new(Ctx {
            http: http.clone(),
            officer: officer.clone(),
            quotas,
            expires_at: expires_at.clone(),
        });
        let kill_after = Duration::from_millis(rng.random_range(KILL_AFTER_MS));
        let deadline = Instant::now() + kill_after + Duration::from_secs(5);
        // Reservations handed to the clients are checked after the restart too.
        let mut ids: BTreeSet<i64> = pool.iter().map(|o| o.id).collect();
        let mut shares: Vec<Vec<Owned>> = vec![Vec::new(); CLIENTS as usize];
        for (i, o) in pool.drain(..).enumerate() {
            shares[i % CLIENTS as usize].push(o);
        }
        let tasks: Vec<_> = shares
            .into_iter()
            .enumerate()
            .map(|(c, owned)| {
                tokio::spawn(client(
                    ctx.clone(),
                    server.base.clone(),
                    format!("k{cycle}-c{c}"),
                    owned,
                    rng.random(),
                    deadline,
                ))
            })
            .collect();
        if backend == Backend::Postgres && cycle % 2 == 1 {
            // Half-way, the server's database connections are terminated under it (W5: on
            // PostgreSQL, backends are killed too); its retries must hide that from clients.
            tokio::time::sleep(kill_after / 2).await;
            backends_terminated += TestDb::terminate_connections_to(&t.url).await.unwrap();
            tokio::time::sleep(kill_after - kill_after / 2).await;
        } else {
            tokio::time::sleep(kill_after).await;
        }
        server.kill();
        let mut runs = Vec::new();
        for task in tasks {
            runs.push(
                tokio::time::timeout(CLIENTS_END_TIMEOUT, task)
                    .await
                    .unwrap_or_else(|_| panic!("{context}: a client did not stop after the kill"))
                    .unwrap(),
            );
        }
        let unexpected: Vec<&String> = runs.iter().flat_map(|r| &r.unexpected).collect();
        assert!(
            unexpected.is_empty(),
            "{context}: requests answered other than 200: {unexpected:#?}\nserver log:\n{}",
            tail(&log)
        );

        server = Server::start(&t.url, &log).await;
        http = http_client();
        let base = server.base.clone();
        let db = db::Db::connect(&t.url).await.unwrap();
        // Which requests without an answer had taken effect before the kill (for the report).
        // The ledger stores a key after its caller's name and a unit separator: the key as the
        // client sent it is what follows.
        let stored: BTreeSet<String> = with_db!(&db, pool => sqlx::query_scalar::<_, String>(
            "SELECT client_key FROM quota_requests").fetch_all(pool).await)
        .unwrap()
        .into_iter()
        .map(|k| {
            k.split_once('\u{1f}')
                .map_or(k.clone(), |(_, sent)| sent.to_owned())
        })
        .collect();
        // Every request without an answer gets a definite one now, and the same one again.
        for record in runs.iter_mut().flat_map(|r| &mut r.records) {
            sent += 1;
            if !record.lost {
                acknowledged += 1;
                continue;
            }
            let key = record.req.body["client_key"].as_str().unwrap();
            if stored.contains(key) {
                lost_done += 1;
            } else {
                lost_undone += 1;
            }
            let first = resend(&http, &base, &officer, &record.req, &context).await;
            let second = resend(&http, &base, &officer, &record.req, &context).await;
            assert_eq!(
                second, first,
                "{context}: two retries of {:?} answered differently",
                record.req
            );
            record.answer = Some(first);
        }
        // Acknowledged requests answer exactly as the first time: each client's last, a
        // sample of this cycle's and a sample of earlier cycles' (answered before other kills).
        let mut again: Vec<&Record> = runs
            .iter()
            .filter_map(|r| r.records.iter().rfind(|x| !x.lost))
            .collect();
        let this_cycle: Vec<&Record> = runs
            .iter()
            .flat_map(|r| &r.records)
            .filter(|x| !x.lost)
            .collect();
        for _ in 0..ACKNOWLEDGED_RETRIES_MAX.min(this_cycle.len()) {
            again.push(*pick(&mut rng, &this_cycle));
        }
        for _ in 0..EARLIER_RETRIES_MAX.min(earlier.len()) {
            again.push(pick(&mut rng, &earlier));
        }
        for record in again {
            let got = resend(&http, &base, &officer, &record.req, &context).await;
            assert_eq!(
                Some(&got),
                record.answer.as_ref(),
                "{context}: retrying {:?} changed its answer",
                record.req
            );
        }
        for record in runs.iter().flat_map(|r| &r.records) {
            let answer = record.answer.as_ref().unwrap();
            if answer["outcome"] == "refused" {
                refused += 1;
            }
            observe(&mut seen, &mut ids, answer);
        }
        // The open ones go to the next cycle's clients.
        pool = check_reservations(&http, &base, &officer, &seen, &ids, &context).await;
        check_quotas(&http, &base, &officer, &db, &quotas, &context).await;
        db.close().await;
        earlier.extend(runs.into_iter().flat_map(|r| r.records));
    }

    // At the end, every reservation ever acknowledged, once more.
    let all_ids: BTreeSet<i64> = seen.keys().copied().collect();
    let context = format!("{backend:?} at the end");
    check_reservations(&http, &server.base, &officer, &seen, &all_ids, &context).await;
    let db = db::Db::connect(&t.url).await.unwrap();
    check_quotas(&http, &server.base, &officer, &db, &quotas, &context).await;
    db.close().await;
    let (_, contended) = get(
        &http,
        &server.base,
        &officer,
        &format!("/v1/quotas/{}", quotas[0]),
    )
    .await;
    server.stop();
    println!(
        "{backend:?}: {kills} kills in {:.1?}; {sent} requests, {acknowledged} acknowledged, \
         {} without answer and retried ({lost_done} had taken effect, {lost_undone} had not), \
         {refused} refused; {} reservations; {backends_terminated} database connections \
         terminated; contended quota: {}",
        started.elapsed(),
        lost_done + lost_undone,
        all_ids.len(),
        contended["quota"]
    );
    assert!(
        lost_done + lost_undone > 0,
        "no kill interrupted a request: the test proves nothing"
    );
    assert!(
        acknowledged > 0,
        "no request was acknowledged before a kill"
    );
    assert!(
        backend == Backend::Sqlite || backends_terminated > 0,
        "no database connection was terminated under the server"
    );
    t.drop_db().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_quota_invariants_hold_after_killing_the_server_again_and_again_under_load() {
    quota_invariants_hold_after_killing_the_server_under_load(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_quota_invariants_hold_after_killing_the_server_again_and_again_under_load() {
    quota_invariants_hold_after_killing_the_server_under_load(Backend::Postgres).await;
}
