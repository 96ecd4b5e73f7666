//! Sync runs: full walks, incremental runs and bulk-dump loads, staged and applied atomically.
//!
//! A run fetches into `sync_stage` (committed as it goes, so a killed run resumes where it
//! stopped) and then applies everything it staged in one transaction, which also marks the run
//! succeeded and moves the `updated_since` watermark. A run that fails or is killed therefore
//! leaves the catalogue exactly as it was, and running again converges on the same catalogue as
//! an uninterrupted run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use db::Db;
use domain::Clock;
use serde::{Deserialize, Serialize};

use crate::batch::{self, APPLY_BATCH_TAXA, Batch, BatchOutcome};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{DistributionRow, Legislation, NameStatus, TaxonRecord};
use crate::store::{self, TaxonOutcome};
use crate::wire;

/// Incremental runs ask for changes since the last successful start minus this: one weekly
/// Species+ rebuild, its backdated timestamps, the one-hour cache and clock skew.
pub const INCREMENTAL_OVERLAP: chrono::Duration = chrono::Duration::days(8);
/// A lock not refreshed for this long belongs to a dead run and may be taken over.
pub const LOCK_STALE_AFTER: Duration = Duration::from_secs(10 * 60);
/// Most pages one walk may request (85,000 taxa are 171 pages of 500).
pub const WALK_PAGES_MAX: u64 = 2_000;
/// Walks of the list in one run when rows drifted between pages during a walk. The first two
/// are whole; later ones only walk the tail of synonyms and deleted rows again when that is
/// where rows are missing, so they are cheap.
pub const WALK_PASSES_MAX: u64 = 10;
/// Page keys of pass `p` are `p * PASS_KEY_STRIDE + page`.
const PASS_KEY_STRIDE: i64 = 1_000_000;
/// Most dump lines one load accepts (Species+ had 89,616 records in 2025).
pub const DUMP_LINES_MAX: usize = 2_000_000;

/// The warning of the complete run that replaced the sample catalogue.
pub const SAMPLE_REPLACED: &str = "replaced the built-in sample catalogue: none of its taxa, listings, quotas or suspensions were kept";

/// Fetched bodies staged per commit. A killed run re-fetches at most this many taxa.
pub const STAGE_BATCH_ITEMS: usize = 100;

const STAGE_PAGE: &str = "taxa_page";
const STAGE_LEGISLATION: &str = "legislation";
const STAGE_DISTRIBUTIONS: &str = "distributions";

/// What kind of run to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKind {
    /// Walk every page of `/taxon_concepts`, then fetch every accepted taxon's legislation.
    Full,
    /// Only what changed since the last successful run (a full run if there was none).
    Incremental,
    /// Load a bulk dump file (NDJSON, optionally gzipped) in the `/downloads` shape.
    Dump(std::path::PathBuf),
    /// Download the latest weekly bulk dump through the API (`/downloads`) and load it.
    LatestDump,
}

impl RunKind {
    fn as_str(&self) -> &'static str {
        match self {
            RunKind::Full => "full",
            RunKind::Incremental => "incremental",
            RunKind::Dump(_) | RunKind::LatestDump => "dump",
        }
    }
}

/// Settings of the synchroniser.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Taxa whose legislation is fetched at the same time. Requests are paced anyway; this only
    /// helps when pacing is off (loopback benchmarks, a mirror with no rate limit).
    pub fetch_concurrency: usize,
    /// Also fetch `/distributions` for each taxon whose legislation is fetched.
    pub fetch_distributions: bool,
}

/// Progress of long work, shown as a bar on a terminal or as log lines otherwise.
pub trait Progress: Send + Sync {
    fn phase(&self, name: &str, total: Option<u64>);
    fn advance(&self, n: u64);
}

/// Progress that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _name: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
}

/// What a run did, stored with the run and printed at its end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub run_id: i64,
    pub kind: String,
    pub resumed: bool,
    pub updated_since: Option<String>,
    pub taxa_seen: u64,
    pub taxa_added: u64,
    pub taxa_changed: u64,
    pub taxa_deleted: u64,
    pub taxa_renamed: u64,
    pub taxa_unchanged: u64,
    pub legislation_fetched: u64,
    pub listing_changes: u64,
    pub quotas: u64,
    pub suspensions: u64,
    pub requests: u64,
    pub retries: u64,
    pub warnings: Vec<String>,
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sync run {} ({}{}) succeeded",
            self.run_id,
            self.kind,
            if self.resumed { ", resumed" } else { "" }
        )?;
        if let Some(since) = &self.updated_since {
            writeln!(f, "  updated since:       {since}")?;
        }
        writeln!(f, "  taxa seen:           {}", self.taxa_seen)?;
        writeln!(f, "  taxa added:          {}", self.taxa_added)?;
        writeln!(f, "  taxa changed:        {}", self.taxa_changed)?;
        writeln!(f, "  taxa deleted:        {}", self.taxa_deleted)?;
        writeln!(f, "  taxa renamed:        {}", self.taxa_renamed)?;
        writeln!(f, "  legislation fetched: {}", self.legislation_fetched)?;
        writeln!(f, "  listing changes:     {}", self.listing_changes)?;
        writeln!(f, "  quotas:              {}", self.quotas)?;
        writeln!(f, "  suspensions:         {}", self.suspensions)?;
        writeln!(
            f,
            "  requests:            {} ({} retries)",
            self.requests, self.retries
        )?;
        write!(f, "  warnings:            {}", self.warnings.len())?;
        for w in self.warnings.iter().take(20) {
            write!(f, "\n    - {w}")?;
        }
        Ok(())
    }
}

/// Progress of a run, saved after every page and every taxon so a killed run can resume.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Checkpoint {
    pass: u64,
    next_page: u64,
    walk_done: bool,
    last_total: Option<u64>,
    /// First page of the current pass holding a synonym or a deleted row.
    #[serde(default)]
    tail_page: Option<u64>,
    /// Accepted rows seen before the current pass.
    #[serde(default)]
    accepted_seen: u64,
}

/// Mirrors Species+ into the catalogue.
pub struct Synchroniser {
    db: Db,
    client: Option<Arc<Client>>,
    clock: Arc<dyn Clock>,
    settings: SyncSettings,
    holder: String,
}

impl Synchroniser {
    /// `client` may be `None` for a synchroniser that only loads dumps.
    pub fn new(
        db: Db,
        client: Option<Client>,
        clock: Arc<dyn Clock>,
        settings: SyncSettings,
    ) -> Synchroniser {
        Synchroniser {
            db,
            client: client.map(Arc::new),
            clock,
            settings,
            holder: format!(
                "{}:{}:{}:{:08x}",
                hostname(),
                std::process::id(),
                process_nonce(),
                rand::random::<u32>()
            ),
        }
    }

    /// Whether it can reach Species+ (a token was configured), or only loads dump files.
    pub fn has_client(&self) -> bool {
        self.client.is_some()
    }

    /// Runs once, to the end. Two runs never overlap: across processes a lock row in the
    /// database decides, and a run left behind by a dead process is resumed.
    ///
    /// After a crash (the process died, or a container restarted with the same pid) the next
    /// process on the same host takes the lock over at once and resumes the run. Within one
    /// process, a run whose future was dropped keeps the lock: this synchroniser retakes it at
    /// once and resumes, while another synchroniser waits until the lock has had no heartbeat
    /// for [`LOCK_STALE_AFTER`] (the dropped run's tasks might still be running).
    pub async fn run_once(&self, kind: RunKind, progress: &dyn Progress) -> Result<SyncReport> {
        self.lock().await?;
        let result = self.run_locked(kind, progress).await;
        if let Err(e) = store::unlock(&self.db, &self.holder).await {
            tracing::warn!(error = %e, "could not release the sync lock");
        }
        result
    }

    async fn lock(&self) -> Result<()> {
        let now = self.clock.now();
        let stale = chrono::Duration::from_std(LOCK_STALE_AFTER).unwrap_or_default();
        // Try once normally; if the holder is a process of this machine that no longer
        // exists, take the lock over at once instead of waiting for it to go stale.
        match store::try_lock(&self.db, &self.holder, now, now - stale).await? {
            None => Ok(()),
            Some((holder, since)) if holder_is_dead(&holder) => {
                tracing::warn!(%holder, "taking over the sync lock of a process that died");
                match store::try_lock(
                    &self.db,
                    &self.holder,
                    now,
                    since + chrono::Duration::seconds(1),
                )
                .await?
                {
                    None => Ok(()),
                    Some((holder, since)) => Err(Error::AlreadyRunning {
                        holder,
                        since: since.to_rfc3339(),
                        stale: LOCK_STALE_AFTER,
                    }),
                }
            }
            Some((holder, since)) => Err(Error::AlreadyRunning {
                holder,
                since: since.to_rfc3339(),
                stale: LOCK_STALE_AFTER,
            }),
        }
    }

    async fn run_locked(&self, kind: RunKind, progress: &dyn Progress) -> Result<SyncReport> {
        if let RunKind::Dump(path) = &kind {
            return self.load_dump(path, progress).await;
        }
        if kind == RunKind::LatestDump {
            return self.load_latest_dump(progress).await;
        }
        let client = self.client.clone().ok_or_else(|| {
            Error::Config("no Species+ token configured: set CITES_SPECIESPLUS_TOKEN, or load a dump with --from-dump".into())
        })?;
        let mut kind = kind;
        // An incremental run starts only from a complete mirror: never from nothing, nor from
        // the sample (whose load time says nothing of what Species+ changed since).
        if kind == RunKind::Incremental
            && store::catalogue_origin(&self.db).await? != store::CatalogueOrigin::Mirror
        {
            tracing::info!(
                "the catalogue is no complete mirror of Species+ yet: doing a full run instead of an incremental one"
            );
            kind = RunKind::Full;
        }

        // Resume a run of the same kind left by a process that died; abandon one of another kind.
        let (run_id, started_at, updated_since, checkpoint, resumed) =
            match store::unfinished_run(&self.db).await? {
                Some(r) if r.kind == kind.as_str() => {
                    tracing::info!(run = r.id, "resuming an interrupted sync run");
                    let cp: Checkpoint = r
                        .checkpoint
                        .as_deref()
                        .and_then(|c| serde_json::from_str(c).ok())
                        .unwrap_or_default();
                    (r.id, r.started_at, r.updated_since, cp, true)
                }
                other => {
                    if let Some(r) = other {
                        store::fail_run(
                            &self.db,
                            r.id,
                            self.clock.now(),
                            &format!("abandoned: superseded by a {} run", kind.as_str()),
                        )
                        .await?;
                    }
                    let started_at = self.clock.now();
                    let since = match kind {
                        RunKind::Incremental => {
                            store::last_success_start(&self.db).await?.map(|t| {
                                (t - INCREMENTAL_OVERLAP)
                                    .format("%Y-%m-%dT%H:%M:%S")
                                    .to_string()
                            })
                        }
                        _ => None,
                    };
                    let id =
                        store::insert_run(&self.db, kind.as_str(), started_at, since.as_deref())
                            .await?;
                    (id, started_at, since, Checkpoint::default(), false)
                }
            };

        let outcome = self
            .fetch_and_apply(
                &client,
                run_id,
                &kind,
                started_at,
                updated_since.clone(),
                checkpoint,
                resumed,
                progress,
            )
            .await;
        match outcome {
            Ok(report) => Ok(report),
            Err(e) => {
                // Unauthorized, rejected and malformed responses end the run: staying
                // "running" would make the next run resume into the same wall.
                let message = e.to_string();
                if let Err(fe) = store::fail_run(&self.db, run_id, self.clock.now(), &message).await
                {
                    tracing::warn!(error = %fe, "could not mark the run failed");
                }
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn fetch_and_apply(
        &self,
        client: &Arc<Client>,
        run_id: i64,
        kind: &RunKind,
        started_at: DateTime<Utc>,
        updated_since: Option<String>,
        mut checkpoint: Checkpoint,
        resumed: bool,
        progress: &dyn Progress,
    ) -> Result<SyncReport> {
        let stats_before = client.stats();
        // 1. Walk the list, staging every page.
        if !checkpoint.walk_done {
            self.walk(
                client,
                run_id,
                updated_since.as_deref(),
                &mut checkpoint,
                progress,
            )
            .await?;
        }
        // 2. Decide whose legislation to fetch.
        let staged = self.staged_taxa(run_id).await?;
        let mut warnings = Vec::new();
        let records: BTreeMap<i64, TaxonRecord> = staged
            .values()
            .filter_map(|t| TaxonRecord::from_wire(t, &mut warnings).map(|r| (r.id, r)))
            .collect();
        let mut targets: BTreeSet<i64> = records
            .values()
            .filter(|r| r.active && r.name_status == NameStatus::Accepted)
            .map(|r| r.id)
            .collect();
        if *kind == RunKind::Incremental {
            // A family or genus listing does not bump its species' `updated_at`: fetch the
            // legislation of every descendant of a changed higher taxon.
            for r in records.values().filter(|r| r.is_higher_taxon() && r.active) {
                targets.extend(store::descendants_of(&self.db, &r.full_name).await?);
                targets.extend(
                    records
                        .values()
                        .filter(|d| {
                            d.active
                                && d.name_status == NameStatus::Accepted
                                && d.id != r.id
                                && [
                                    &d.genus, &d.family, &d.order, &d.class, &d.phylum, &d.kingdom,
                                ]
                                .iter()
                                .any(|n| n.as_deref() == Some(r.full_name.as_str()))
                        })
                        .map(|d| d.id),
                );
            }
        }
        // 3. Fetch what is not staged yet.
        let done: BTreeSet<i64> = store::staged_keys(&self.db, run_id, STAGE_LEGISLATION)
            .await?
            .into_iter()
            .collect();
        let todo: Vec<i64> = targets
            .iter()
            .copied()
            .filter(|id| !done.contains(id))
            .collect();
        progress.phase("legislation", Some(targets.len() as u64));
        progress.advance(done.len() as u64);
        self.fetch_legislation(client, run_id, &todo, progress)
            .await?;

        // 4. Apply in one transaction.
        progress.phase("apply", None);
        let stats = client.stats();
        let mut report = SyncReport {
            run_id,
            kind: kind.as_str().to_owned(),
            resumed,
            updated_since,
            taxa_seen: staged.len() as u64,
            legislation_fetched: targets.len() as u64,
            requests: stats.requests - stats_before.requests,
            retries: stats.retries - stats_before.retries,
            ..SyncReport::default()
        };
        let mut tx = self.db.begin().await?;
        if *kind == RunKind::Full && store::clear_sample(&mut tx).await? {
            warnings.push(SAMPLE_REPLACED.to_owned());
        }
        let records: Vec<TaxonRecord> = records.into_values().collect();
        for chunk in records.chunks(APPLY_BATCH_TAXA) {
            let batch = Batch {
                taxa: chunk.to_vec(),
                ..Batch::default()
            };
            count_batch(&mut report, batch::apply(&mut tx, &batch).await?);
        }
        let target_ids: Vec<i64> = targets.iter().copied().collect();
        for chunk in target_ids.chunks(APPLY_BATCH_TAXA) {
            let mut batch = Batch::default();
            for (id, body) in
                store::staged_bodies(&self.db, run_id, STAGE_LEGISLATION, chunk).await?
            {
                let parsed: wire::CitesLegislation =
                    serde_json::from_str(&body).map_err(|e| Error::Malformed {
                        url: format!("staged legislation of taxon {id}"),
                        message: e.to_string(),
                    })?;
                let legislation = Legislation::from_wire(
                    id,
                    &parsed.cites_listings,
                    &parsed.cites_quotas,
                    &parsed.cites_suspensions,
                    &mut warnings,
                );
                batch.legislation.push((id, legislation));
            }
            for (id, body) in
                store::staged_bodies(&self.db, run_id, STAGE_DISTRIBUTIONS, chunk).await?
            {
                let parsed: Vec<wire::Distribution> =
                    serde_json::from_str(&body).map_err(|e| Error::Malformed {
                        url: format!("staged distributions of taxon {id}"),
                        message: e.to_string(),
                    })?;
                let rows: Vec<DistributionRow> = parsed
                    .iter()
                    .filter_map(|d| DistributionRow::from_wire(id, d))
                    .collect();
                batch.distributions.push((id, rows));
            }
            count_batch(&mut report, batch::apply(&mut tx, &batch).await?);
        }
        report.warnings = warnings;
        let report_json = serde_json::to_string(&report).unwrap_or_default();
        store::finish_run(&mut tx, run_id, self.clock.now(), &report_json, started_at).await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn walk(
        &self,
        client: &Client,
        run_id: i64,
        updated_since: Option<&str>,
        checkpoint: &mut Checkpoint,
        progress: &dyn Progress,
    ) -> Result<()> {
        if checkpoint.next_page == 0 {
            checkpoint.next_page = 1;
        }
        loop {
            progress.phase(&format!("taxon pages (pass {})", checkpoint.pass + 1), None);
            loop {
                let page = checkpoint.next_page;
                if page > WALK_PAGES_MAX {
                    return Err(Error::LimitExceeded {
                        what: "pages in one walk",
                        limit: WALK_PAGES_MAX,
                    });
                }
                let (parsed, info, fetched) =
                    client.taxon_concepts_page(page, updated_since).await?;
                let empty = parsed.taxon_concepts.is_empty();
                if checkpoint.tail_page.is_none() && parsed.taxon_concepts.iter().any(in_tail) {
                    checkpoint.tail_page = Some(page);
                }
                if !empty {
                    let key = checkpoint.pass as i64 * PASS_KEY_STRIDE + page as i64;
                    store::stage(&self.db, run_id, STAGE_PAGE, key, &fetched.body).await?;
                }
                checkpoint.last_total = info.total.or(checkpoint.last_total);
                checkpoint.next_page = page + 1;
                let more = !empty
                    && (info.has_next
                        || info
                            .total
                            .is_some_and(|t| page * u64::from(client.config().page_size) < t));
                if !more {
                    break;
                }
                self.save_checkpoint(run_id, checkpoint).await?;
                progress.advance(1);
            }
            // Rows inserted or deleted during the walk shift others across pages; compare what
            // was seen with the final total and walk again (de-duplicating) if something slipped.
            let staged = self.staged_taxa(run_id).await?;
            let seen = staged.len() as u64;
            let accepted = staged.values().filter(|t| !in_tail(t)).count() as u64;
            let total = checkpoint.last_total.unwrap_or(0);
            if seen >= total || checkpoint.pass + 1 >= WALK_PASSES_MAX {
                if seen < total {
                    tracing::warn!(
                        seen,
                        total,
                        "rows kept drifting between pages; some may be picked up by the next run"
                    );
                }
                break;
            }
            tracing::info!(
                seen,
                total,
                "rows drifted between pages during the walk: walking again"
            );
            // Accepted names come in a stable taxonomic order, synonyms and deleted rows after
            // them in an order that changes between calls. Once a whole
            // walk found no accepted row the ones before it missed, only that tail is walked again.
            let start = match checkpoint.tail_page {
                Some(tail) if checkpoint.pass > 0 && accepted <= checkpoint.accepted_seen => tail,
                _ => 1,
            };
            checkpoint.accepted_seen = accepted;
            checkpoint.tail_page = None;
            checkpoint.pass += 1;
            checkpoint.next_page = start;
        }
        checkpoint.walk_done = true;
        self.save_checkpoint(run_id, checkpoint).await
    }

    async fn save_checkpoint(&self, run_id: i64, checkpoint: &Checkpoint) -> Result<()> {
        let text = serde_json::to_string(checkpoint).unwrap_or_default();
        store::save_checkpoint(&self.db, run_id, &text).await?;
        store::heartbeat(&self.db, &self.holder, self.clock.now()).await
    }

    /// Every taxon row staged by the run, one per id (the most recently updated version).
    async fn staged_taxa(&self, run_id: i64) -> Result<BTreeMap<i64, wire::TaxonConcept>> {
        let mut out: BTreeMap<i64, wire::TaxonConcept> = BTreeMap::new();
        for key in store::staged_keys(&self.db, run_id, STAGE_PAGE).await? {
            let Some(body) = store::staged_body(&self.db, run_id, STAGE_PAGE, key).await? else {
                continue;
            };
            let page: wire::TaxonConceptsPage =
                serde_json::from_str(&body).map_err(|e| Error::Malformed {
                    url: format!("staged page {key}"),
                    message: e.to_string(),
                })?;
            for t in page.taxon_concepts {
                match out.get(&t.id) {
                    Some(old) if old.updated_at >= t.updated_at => {}
                    _ => {
                        out.insert(t.id, t);
                    }
                }
            }
        }
        Ok(out)
    }

    async fn fetch_legislation(
        &self,
        client: &Arc<Client>,
        run_id: i64,
        ids: &[i64],
        progress: &dyn Progress,
    ) -> Result<()> {
        let concurrency = self.settings.fetch_concurrency.max(1);
        let with_distributions = self.settings.fetch_distributions;
        let mut set = tokio::task::JoinSet::new();
        let mut pending = ids.iter().copied();
        let mut batch: Vec<(&'static str, i64, String)> = Vec::with_capacity(2 * STAGE_BATCH_ITEMS);
        let mut batched_taxa = 0usize;
        loop {
            while set.len() < concurrency {
                let Some(id) = pending.next() else { break };
                let client = client.clone();
                set.spawn(async move {
                    let (_, legislation) = client.cites_legislation(id).await?;
                    let distributions = if with_distributions {
                        Some(client.distributions(id).await?.1)
                    } else {
                        None
                    };
                    Ok::<_, Error>((id, legislation, distributions))
                });
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            let (id, legislation, distributions) =
                joined.map_err(|e| Error::Config(format!("fetch task failed: {e}")))??;
            if let Some(d) = distributions {
                batch.push((STAGE_DISTRIBUTIONS, id, d.body));
            }
            // The legislation's presence marks the taxon done for a resumed run; both bodies
            // of a taxon are committed together.
            batch.push((STAGE_LEGISLATION, id, legislation.body));
            batched_taxa += 1;
            if batched_taxa >= STAGE_BATCH_ITEMS {
                store::stage_many(&self.db, run_id, &batch).await?;
                store::heartbeat(&self.db, &self.holder, self.clock.now()).await?;
                progress.advance(batched_taxa as u64);
                batch.clear();
                batched_taxa = 0;
            }
        }
        store::stage_many(&self.db, run_id, &batch).await?;
        progress.advance(batched_taxa as u64);
        Ok(())
    }

    /// Loads a bulk dump: every line is a taxon concept with its legislation and distributions.
    /// Lines are parsed and applied inside one transaction, so a malformed line leaves the
    /// catalogue untouched.
    /// Downloads the latest weekly bulk dump through the API and loads it. The dump's own
    /// creation time becomes the watermark of the next incremental run.
    async fn load_latest_dump(&self, progress: &dyn Progress) -> Result<SyncReport> {
        let client = self.client.clone().ok_or_else(|| {
            Error::Config("no Species+ token configured: set CITES_SPECIESPLUS_TOKEN".into())
        })?;
        let info = client.latest_dump().await?.ok_or(Error::NoDump)?;
        progress.phase("download dump", info.compressed_bytes);
        let file = tempfile::Builder::new()
            .prefix("speciesplus-dump-")
            .suffix(".ndjson.gz")
            .tempfile()
            .map_err(|source| Error::DumpIo {
                path: "temporary file".into(),
                source,
            })?;
        let bytes = client
            .download_dump(&info.download_url, file.path())
            .await?;
        tracing::info!(
            bytes,
            records = info.record_count,
            "downloaded the Species+ bulk dump"
        );
        self.load_dump_with(file.path(), info.started_at, None, progress)
            .await
    }

    async fn load_dump(&self, path: &Path, progress: &dyn Progress) -> Result<SyncReport> {
        self.load_dump_with(path, None, None, progress).await
    }

    /// Loads the built-in sample (a file in the dump shape) as [`RunKind::Dump`] does, its
    /// report opening with `note`, stored with the run: what the run was must be told wherever
    /// it is shown (`cites sync --status`, `GET /v1/sync/status`), from the moment it is
    /// recorded. The catalogue is marked as the sample ([`store::CatalogueOrigin::Sample`]):
    /// no incremental run starts from it, and the first complete run replaces it.
    pub async fn load_sample(
        &self,
        path: &Path,
        note: &str,
        progress: &dyn Progress,
    ) -> Result<SyncReport> {
        self.lock().await?;
        let result = self.load_dump_with(path, None, Some(note), progress).await;
        if let Err(e) = store::unlock(&self.db, &self.holder).await {
            tracing::warn!(error = %e, "could not release the sync lock");
        }
        result
    }

    /// `made_at`: when the dump was made, if known; otherwise the file's modification time.
    /// `sample_note`: given only for the built-in sample, the report's first warning; the
    /// catalogue is then marked as the sample instead of replacing one.
    async fn load_dump_with(
        &self,
        path: &Path,
        made_at: Option<DateTime<Utc>>,
        sample_note: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<SyncReport> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| Error::DumpIo {
            path: shown.clone(),
            source,
        })?;
        let modified: Option<DateTime<Utc>> = file
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .map(DateTime::<Utc>::from);
        let mut reader = BufReader::new(file);
        let gz = reader
            .fill_buf()
            .map_err(|source| Error::DumpIo {
                path: shown.clone(),
                source,
            })?
            .starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn BufRead + Send> = if gz {
            Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(reader)))
        } else {
            Box::new(reader)
        };
        let started_at = self.clock.now();
        // A dump shows Species+ as it was when it was made: the next incremental run must ask
        // for changes since then, not since now.
        let watermark = made_at
            .or(modified)
            .map_or(started_at, |m| m.min(started_at));
        if let Some(r) = store::unfinished_run(&self.db).await? {
            store::fail_run(
                &self.db,
                r.id,
                started_at,
                "abandoned: superseded by a dump load",
            )
            .await?;
        }
        let run_id = store::insert_run(&self.db, "dump", started_at, None).await?;
        let result = self
            .apply_dump(reader, &shown, run_id, sample_note, watermark, progress)
            .await;
        if let Err(e) = &result
            && let Err(fe) =
                store::fail_run(&self.db, run_id, self.clock.now(), &e.to_string()).await
        {
            tracing::warn!(error = %fe, "could not mark the run failed");
        }
        result
    }

    async fn apply_dump(
        &self,
        reader: Box<dyn BufRead + Send>,
        shown: &str,
        run_id: i64,
        sample_note: Option<&str>,
        watermark: DateTime<Utc>,
        progress: &dyn Progress,
    ) -> Result<SyncReport> {
        progress.phase("dump", None);
        let mut report = SyncReport {
            run_id,
            kind: "dump".into(),
            ..SyncReport::default()
        };
        let mut warnings = Vec::new();
        let mut tx = self.db.begin().await?;
        // A real dump replaces the sample; the sample itself is marked.
        let sample = sample_note.is_some();
        if !sample && store::clear_sample(&mut tx).await? {
            warnings.push(SAMPLE_REPLACED.to_owned());
        }
        let mut seen = BTreeSet::new();
        let mut batch = Batch::default();
        for (idx, line) in reader.lines().enumerate() {
            let line_no = idx + 1;
            if line_no > DUMP_LINES_MAX {
                return Err(Error::LimitExceeded {
                    what: "lines in a dump",
                    limit: DUMP_LINES_MAX as u64,
                });
            }
            let line = line.map_err(|source| Error::DumpIo {
                path: shown.to_owned(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let t: wire::TaxonConcept =
                serde_json::from_str(&line).map_err(|e| Error::MalformedDump {
                    path: shown.to_owned(),
                    line: line_no,
                    message: e.to_string(),
                })?;
            if !seen.insert(t.id) {
                warnings.push(format!(
                    "dump line {line_no}: taxon {} appears twice; later line wins",
                    t.id
                ));
                // The earlier line must be applied before the later one replaces it.
                if batch.taxa.iter().any(|r| r.id == t.id) {
                    count_batch(&mut report, batch::apply(&mut tx, &batch).await?);
                    progress.advance(batch.taxa.len() as u64);
                    batch = Batch::default();
                }
            }
            report.taxa_seen += 1;
            let Some(record) = TaxonRecord::from_wire(&t, &mut warnings) else {
                continue;
            };
            if record.active && record.name_status == NameStatus::Accepted {
                let legislation = Legislation::from_wire(
                    t.id,
                    &t.cites_listings,
                    &t.cites_quotas,
                    &t.cites_suspensions,
                    &mut warnings,
                );
                report.legislation_fetched += 1;
                let rows: Vec<DistributionRow> = t
                    .distributions
                    .iter()
                    .filter_map(|d| DistributionRow::from_wire(t.id, d))
                    .collect();
                batch.legislation.push((t.id, legislation));
                batch.distributions.push((t.id, rows));
            }
            batch.taxa.push(record);
            if batch.taxa.len() >= APPLY_BATCH_TAXA {
                count_batch(&mut report, batch::apply(&mut tx, &batch).await?);
                progress.advance(batch.taxa.len() as u64);
                batch = Batch::default();
            }
        }
        if !batch.is_empty() {
            count_batch(&mut report, batch::apply(&mut tx, &batch).await?);
            progress.advance(batch.taxa.len() as u64);
        }
        report.warnings = sample_note
            .map(str::to_owned)
            .into_iter()
            .chain(warnings)
            .collect();
        let report_json = serde_json::to_string(&report).unwrap_or_default();
        store::finish_run(&mut tx, run_id, self.clock.now(), &report_json, watermark).await?;
        if sample {
            store::mark_sample(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(report)
    }
}

/// Whether a row belongs to the tail of the list (synonyms and deleted concepts), whose order
/// changes between calls.
fn in_tail(t: &wire::TaxonConcept) -> bool {
    t.active == Some(false) || t.name_status.as_deref() == Some("S")
}

fn count_batch(report: &mut SyncReport, outcome: BatchOutcome) {
    for (_, o) in outcome.taxa {
        count_outcome(report, o);
    }
    report.listing_changes += outcome.listing_changes;
    report.quotas += outcome.quotas;
    report.suspensions += outcome.suspensions;
}

fn count_outcome(report: &mut SyncReport, outcome: TaxonOutcome) {
    match outcome {
        TaxonOutcome::Added => report.taxa_added += 1,
        TaxonOutcome::Changed => report.taxa_changed += 1,
        TaxonOutcome::Renamed => report.taxa_renamed += 1,
        TaxonOutcome::Deleted => report.taxa_deleted += 1,
        TaxonOutcome::Unchanged => report.taxa_unchanged += 1,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// A random id of this process, in every lock holder it writes: tells this process from an
/// earlier one that had the same pid (a restarted container runs as PID 1 again).
fn process_nonce() -> &'static str {
    static NONCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NONCE.get_or_init(|| format!("{:08x}", rand::random::<u32>()))
}

/// Whether a lock holder (`host:pid:process:nonce`) is a process of this machine that no longer
/// runs.
fn holder_is_dead(holder: &str) -> bool {
    let mut parts = holder.split(':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    if host != hostname() {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if pid == std::process::id() {
        // Our pid: alive only if it is this very process (holders written before the process
        // id was added to them are from an earlier process too).
        return parts.next() != Some(process_nonce());
    }
    !Path::new(&format!("/proc/{pid}")).exists()
}
