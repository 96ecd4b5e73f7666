//! `speciesplus-fake`: an in-process fake of the Species+ / CITES Checklist API v1, the test
//! double the project's tests and benchmarks talk to instead of the real API. It is a dev
//! dependency only and never ships in the `cites` binary.
//!
//! [`FakeSpeciesPlus::start`] binds `127.0.0.1:0` and serves real HTTP with axum from a
//! [`Catalogue`] (bulk-dump NDJSON lines, loaded or [`Catalogue::generate`]d). It reproduces the
//! behaviour the recordings in `fixtures/speciesplus/` show: token auth (401 with an empty body),
//! parameter validation (422 / 400 per [`Shape`]), pagination with `Total-Count` and RFC 5988
//! `Link` headers, taxonomic ordering with synonyms and deleted rows last, `updated_since`
//! (inclusive), the weekly-rebuild blind spots, the 1-hour visibility lag, unstable array order,
//! both response-shape versions, weak ETags (optionally 304), the bulk dump, golden recorded
//! bodies, and injected faults ([`Faults`]).
//!
//! Connection resets are real: the handler flags the connection, and the socket's next write
//! fails, so hyper drops it (with `SO_LINGER` 0, i.e. an RST) before any response byte is sent.

mod catalogue;
mod config;
mod generate;
mod golden;
mod http;
mod model;
mod server;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use catalogue::Catalogue;
pub use config::{FakeConfig, Faults, Shape};
pub use model::{
    CommonName, DistributionRow, Event, GeoEntity, HigherTaxa, ListingRow, NameRef, QuotaRow,
    ReferenceRow, SuspensionRow, TaxonLine,
};
pub use server::RecordedRequest;

use server::{MutState, Shared};

/// Reads a recorded body from `fixtures/speciesplus/` (e.g. `"cites_legislation_3210.json"`).
///
/// # Panics
/// If the file cannot be read (a test-setup error).
pub fn recorded_body(file: &str) -> String {
    let path = golden::fixtures_dir().join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

impl Catalogue {
    /// A realistic synthetic catalogue of `n_taxa` lines, deterministic from `seed`: a
    /// kingdom → subspecies tree (~73% accepted), ~25% synonyms, ~2% deleted; listing
    /// histories with transfers, deletions, reservations and App. III parties; family and genus
    /// listings inherited with the `[FAMILY listing X spp.] ` prefix; quotas (~5% of species),
    /// suspensions (~3%, plus two country-wide ones), 1–5 distributions per species.
    pub fn generate(n_taxa: usize, seed: u64) -> Catalogue {
        generate::generate(n_taxa, seed)
    }
}

/// A running fake Species+ server. Dropping it stops the server.
pub struct FakeSpeciesPlus {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeSpeciesPlus {
    /// Binds `127.0.0.1:0` and spawns the server on the current tokio runtime.
    ///
    /// # Panics
    /// If no local port can be bound (see [`FakeSpeciesPlus::try_start`]).
    pub async fn start(catalogue: Catalogue, config: FakeConfig) -> FakeSpeciesPlus {
        FakeSpeciesPlus::try_start(catalogue, config)
            .await
            .expect("speciesplus-fake: cannot bind 127.0.0.1:0")
    }

    /// Like [`FakeSpeciesPlus::start`], returning the bind error.
    pub async fn try_start(
        mut catalogue: Catalogue,
        config: FakeConfig,
    ) -> std::io::Result<FakeSpeciesPlus> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        catalogue.record_history = !config.visibility_lag.is_zero();
        let golden = if config.golden {
            golden::load().unwrap_or_else(|e| {
                tracing::warn!("speciesplus-fake: golden fixtures unavailable: {e}");
                Default::default()
            })
        } else {
            Default::default()
        };
        let mut state = MutState {
            cat: catalogue,
            tokens: config.tokens.iter().cloned().collect::<HashSet<_>>(),
            faults: Faults::default(),
            fail_remaining: Vec::new(),
            fault_rng: StdRng::seed_from_u64(0),
            shuffle_rng: StdRng::seed_from_u64(config.seed),
            now: None,
            requests: Vec::new(),
            window: None,
            counter: 0,
            version: 0,
            dumps: BTreeMap::new(),
        };
        state.set_faults(config.faults.clone());
        let shared = Arc::new(Shared {
            config,
            origin: format!("http://{addr}"),
            golden,
            state: Mutex::new(state),
        });
        let app = Router::new()
            .fallback(server::handle)
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let listener = http::KillListener { inner: listener };
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<http::ConnHandle>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::warn!("speciesplus-fake: server error: {e}");
            }
        });
        Ok(FakeSpeciesPlus {
            shared,
            addr,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT/api/v1/` (with the trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1/", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in arrival order of completion.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Stops accepting tokens equal to `token` (the next request with it gets 401).
    pub fn revoke_token(&self, token: &str) {
        self.shared.lock().tokens.remove(token);
    }

    /// Accepts one more token.
    pub fn add_token(&self, token: &str) {
        self.shared.lock().tokens.insert(token.to_string());
    }

    /// Replaces the injected faults (resets `fail_paths` counters and the fault RNG).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().set_faults(faults);
    }

    /// Sets the fake clock (used for the visibility lag, hook defaults and dump URL expiry).
    /// Until called, the real clock is used.
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.shared.lock().now = Some(now);
    }

    /// The fake clock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.lock().now()
    }

    /// A copy of the current catalogue state.
    pub fn catalogue(&self) -> Catalogue {
        self.shared.lock().cat.clone()
    }

    fn mutate<T>(&self, f: impl FnOnce(&mut MutState) -> T) -> T {
        let mut st = self.shared.lock();
        st.version += 1;
        f(&mut st)
    }

    /// Inserts a new taxon (a dump line) at the fake clock's now. It appears before the
    /// positioned accepted names until the next rebuild, shifting pages (drift).
    pub fn insert_taxon(&self, line: serde_json::Value) -> Result<i64, String> {
        self.mutate(|st| {
            let at = st.now();
            st.cat.insert_taxon(line, at)
        })
    }

    /// Deletes a taxon at `at` (it becomes an `active: false` row with nulls).
    pub fn delete_taxon(&self, id: i64, at: DateTime<Utc>) -> Result<(), String> {
        self.mutate(|st| st.cat.delete_taxon(id, at))
    }

    /// Saves a listing change at `at`: the taxon's `updated_at` moves now, the row (and its
    /// inheritance by descendants) shows in `/cites_legislation` only after [`Self::rebuild`].
    pub fn add_listing_change(
        &self,
        taxon_id: i64,
        row: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        self.mutate(|st| st.cat.add_listing_change(taxon_id, row, at))
    }

    /// Runs the weekly SAPI rebuild at `at` (see [`Catalogue::rebuild`]).
    pub fn rebuild(&self, at: DateTime<Utc>) {
        self.mutate(|st| st.cat.rebuild(at));
    }

    /// Adds or replaces a quota, visible at once (see [`Catalogue::set_quota`]).
    pub fn set_quota(
        &self,
        taxon_id: Option<i64>,
        row: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        self.mutate(|st| st.cat.set_quota(taxon_id, row, at))
    }

    /// Adds or replaces a suspension, visible at once (see [`Catalogue::set_suspension`]).
    pub fn set_suspension(
        &self,
        taxon_id: Option<i64>,
        row: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        self.mutate(|st| st.cat.set_suspension(taxon_id, row, at))
    }

    /// Stops the server and waits (at most 2 s) for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for FakeSpeciesPlus {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
