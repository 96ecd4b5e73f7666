//! The command line: `cites serve | sync | listing | amendments | quota | check | trace | keys`.
//!
//! The only place that reads configuration (flags and their environment variables) and builds
//! the clock; everything below receives typed settings.

mod catalogue;
pub mod check;
mod keys;
pub mod quota;
pub mod report;
mod sync;
pub mod trace;
pub mod trace_output;

use std::path::PathBuf;
use std::sync::Arc;

use ::sync::{Client, ClientConfig, SyncSettings, Synchroniser, Token};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use db::Db;
use domain::{Clock, SystemClock, Timestamp};

use crate::app::settings::ServeSettings;

/// The Species+ API used when none is configured.
pub const SPECIESPLUS_URL_DEFAULT: &str = "https://api.speciesplus.net/api/v1/";
/// Where the service listens when not told otherwise.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:8080";

#[derive(Parser, Debug)]
#[command(
    name = "cites",
    version,
    about = "CITES permit engine: Species+ catalogue, listings at any date"
)]
pub struct Cli {
    /// Database URL: sqlite://FILE (embedded default) or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "sqlite://cites.db"
    )]
    pub database_url: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP service, with the scheduled sync when a Species+ token is configured.
    Serve(ServeArgs),
    /// Synchronise the catalogue with Species+ now, or show the last runs.
    Sync(SyncArgs),
    /// The CITES listing of a taxon on a date.
    Listing(ListingArgs),
    /// Listing changes taking effect in a date range.
    Amendments(AmendmentsArgs),
    /// Export quotas: declare, import from the catalogue, reserve, commit, release, export.
    #[command(after_help = QUOTA_EXIT_STATUS)]
    Quota {
        #[command(subcommand)]
        command: QuotaCommand,
    },
    /// Check a permit application: ALLOW, REFUSE, NEEDS_REVIEW or NOT_CITES, with every reason.
    Check(CheckArgs),
    /// The provenance register: ingest events, trace a specimen's origin or where it went,
    /// look up an identifier or a document.
    #[command(after_help = TRACE_EXIT_STATUS)]
    Trace {
        #[command(subcommand)]
        command: crate::cli::trace::TraceCommand,
    },
    /// Reports for Scientific Authorities: the quota-use review, the Trade Database comparison.
    Report {
        #[command(subcommand)]
        command: report::ReportCommand,
    },
    /// Manage API keys of the HTTP service.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// The exit status of a command the quota ledger refused (the refusal is printed): distinct
/// from 1, an error, and 2, invalid arguments (clap's).
pub const EXIT_REFUSED: u8 = 3;

/// The exit statuses of `cites quota`, in its help.
const QUOTA_EXIT_STATUS: &str = "Exit status: 0 done; 1 error (on stderr); 2 invalid \
    arguments; 3 refused by the ledger, the refusal printed (such as not enough quota, or a \
    reservation in another state), or for `import`, Species+ quotas not applied (printed).";

/// The exit statuses of `cites trace`, in its help.
const TRACE_EXIT_STATUS: &str = "Exit status: 0 done; 1 error (on stderr), such as an unknown \
    specimen; 2 invalid arguments; 3 a batch refused, every fault printed on stderr, nothing stored.";

/// How a command that did not fail ended; `main` turns it into the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Done as asked: exit status 0.
    Done,
    /// Refused as an expected outcome, printed: exit status [`EXIT_REFUSED`].
    Refused,
}

#[derive(Args, Debug, Clone)]
pub struct SpeciesPlusArgs {
    /// Species+ API token (sent as X-Authentication-Token; never logged).
    #[arg(
        long = "speciesplus-token",
        env = "CITES_SPECIESPLUS_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Species+ API base URL.
    #[arg(long = "speciesplus-url", env = "CITES_SPECIESPLUS_URL", default_value = SPECIESPLUS_URL_DEFAULT)]
    pub url: String,
    /// Milliseconds between two requests to Species+ (its edge throttles bursts).
    #[arg(
        long = "speciesplus-pace-ms",
        env = "CITES_SPECIESPLUS_PACE_MS",
        default_value_t = 1000
    )]
    pub pace_ms: u64,
    /// Taxa whose legislation is fetched at once (requests stay paced).
    #[arg(
        long = "speciesplus-concurrency",
        env = "CITES_SPECIESPLUS_CONCURRENCY",
        default_value_t = 1
    )]
    pub concurrency: usize,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CITES_LISTEN", default_value = LISTEN_DEFAULT)]
    pub listen: String,
    /// When to sync (cron with seconds, UTC).
    #[arg(long, env = "CITES_SYNC_CRON", default_value = crate::app::schedule::SYNC_CRON_DEFAULT)]
    pub sync_cron: String,
    /// Do not load the built-in sample catalogue into an empty database.
    #[arg(long)]
    pub no_sample: bool,
    /// National settings of the permit check (TOML: non_parties, captive_breeding_review_taxa,
    /// security_stamp_required, a risk table); the documented defaults without it.
    #[arg(long, env = "CITES_CHECK_CONFIG", value_name = "FILE")]
    pub check_config: Option<PathBuf>,
    /// The trace register's yield and breeding tables for GET /v1/trace/findings (TOML;
    /// trace/trace.default.toml documents each key and is the default).
    #[arg(long, env = "CITES_TRACE_CONFIG", value_name = "FILE")]
    pub trace_config: Option<PathBuf>,
    #[command(flatten)]
    pub speciesplus: SpeciesPlusArgs,
}

/// `cites check`: the application as a JSON file (`--input`, `-` for stdin) or as flags; a flag
/// given with `--input` replaces that field.
#[derive(Args, Debug, Default)]
pub struct CheckArgs {
    /// The application as JSON, the body of `POST /v1/permit-checks`.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// export, re-export, import or introduction_from_the_sea.
    #[arg(long)]
    pub transaction: Option<String>,
    /// Scientific name (synonyms resolve) ...
    #[arg(long)]
    pub taxon: Option<String>,
    /// ... or Species+ taxon id.
    #[arg(long, conflicts_with = "taxon")]
    pub taxon_id: Option<u32>,
    #[arg(long)]
    pub exporter: Option<String>,
    #[arg(long)]
    pub importer: Option<String>,
    /// Country of origin (box 12).
    #[arg(long)]
    pub origin: Option<String>,
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long)]
    pub purpose: Option<String>,
    #[arg(long)]
    pub term: Option<String>,
    /// An exact decimal above zero (a whole number for a count of specimens); anything else
    /// is an input error naming `quantity`.
    #[arg(long, allow_hyphen_values = true)]
    pub quantity: Option<String>,
    /// Unit code (default: number of specimens).
    #[arg(long)]
    pub unit: Option<String>,
    /// YYYY-MM-DD (default: today).
    #[arg(long)]
    pub date_issue: Option<String>,
    /// YYYY-MM-DD (default: the date of issue).
    #[arg(long)]
    pub date_trade: Option<String>,
    /// Reserve the quota when the decision is ALLOW (needs --client-key).
    #[arg(long)]
    pub reserve: bool,
    #[arg(long)]
    pub client_key: Option<String>,
    /// Recorded as who checked (and, with --reserve, in the quota's audit ledger).
    #[arg(long, env = "USER", default_value = "cli")]
    pub actor: String,
    #[arg(long, env = "CITES_CHECK_CONFIG", value_name = "FILE")]
    pub check_config: Option<PathBuf>,
    /// Print the whole answer as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// Walk the whole catalogue instead of fetching what changed since the last run.
    #[arg(long, conflicts_with_all = ["from_dump", "status", "latest_dump"])]
    pub full: bool,
    /// Download the latest weekly bulk dump through the API and load it (the fast baseline).
    #[arg(long, conflicts_with_all = ["from_dump", "status"])]
    pub latest_dump: bool,
    /// Load a Species+ bulk dump (NDJSON, gzipped or not) instead of calling the API.
    #[arg(long, value_name = "FILE", conflicts_with = "status")]
    pub from_dump: Option<PathBuf>,
    /// Show the last runs instead of running.
    #[arg(long)]
    pub status: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub speciesplus: SpeciesPlusArgs,
}

#[derive(Args, Debug)]
pub struct ListingArgs {
    /// A Species+ taxon id or a scientific name (synonyms resolve to the accepted name).
    pub taxon: String,
    /// The date, YYYY-MM-DD (default: today).
    #[arg(long)]
    pub date: Option<String>,
    /// ISO 3166-1 alpha-2 country of origin, for split listings.
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct AmendmentsArgs {
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum QuotaCommand {
    /// Declare a national export quota.
    Set(SetArgs),
    /// Revise a quota's limit (a national quota amended; never below what is already held,
    /// committed and exported).
    #[command(group(clap::ArgGroup::new("new_limit").required(true).args(["limit", "in_preparation"])))]
    Revise {
        #[arg(allow_negative_numbers = true, value_parser = positive_id)]
        id: i64,
        /// The new limit, an exact decimal.
        #[arg(long, allow_hyphen_values = true)]
        limit: Option<String>,
        /// No limit yet: "in preparation" again (only while nothing is used).
        #[arg(long)]
        in_preparation: bool,
        /// The limit's unit (default: the quota's).
        #[arg(long, requires = "limit")]
        unit: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Import the current Species+ quotas of the catalogue into the ledger (idempotent). A
    /// quota whose Species+ value changed since it was imported is revised, unless it was
    /// revised nationally since: that limit stands, and the new value is reported (at every
    /// import while it is below the national limit, once otherwise); one whose country,
    /// taxon, unit or year changed, whose taxon is not an accepted, active one of the
    /// catalogue, or whose value no quota can have, is not applied: named, counted, and the
    /// exit status is 3. The others are imported all the same.
    Import {
        #[command(flatten)]
        who: Importer,
    },
    /// List quotas.
    List {
        /// Exporting country, ISO 3166-1 alpha-2 (e.g. NA).
        #[arg(long)]
        exporter: Option<String>,
        /// A Species+ taxon id: the quotas declared on it, on concepts Species+ has merged into
        /// it and, for a synonym, on its accepted taxon (not its ancestors').
        #[arg(long)]
        taxon: Option<String>,
        /// Quotas in force during part of this calendar year (1975 to 2200).
        #[arg(long)]
        year: Option<i32>,
        /// Print the quotas as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// One quota, with the box-11a figure.
    Show {
        #[arg(allow_negative_numbers = true, value_parser = positive_id)]
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// The audit ledger of a quota: all of it, or with --limit one page (after --after).
    History {
        #[arg(allow_negative_numbers = true, value_parser = positive_id)]
        id: i64,
        /// Start after this sequence number (the `next` a page printed).
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Print one page of at most this many entries instead of the whole ledger.
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Reserve a quantity against a quota.
    Reserve {
        #[arg(allow_negative_numbers = true, value_parser = positive_id)]
        quota: i64,
        /// The quantity to hold, an exact decimal (whole for a count of specimens).
        #[arg(long, allow_hyphen_values = true)]
        quantity: String,
        /// The quantity's unit (default: the quota's).
        #[arg(long)]
        unit: Option<String>,
        /// End of the hold, an RFC 3339 instant (default: 14 days from now; at most 180 days;
        /// brought back to the end of the quota's period if later).
        #[arg(long)]
        expires_at: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Commit a held reservation (an issued permit), for all of it or less.
    Commit {
        #[arg(allow_negative_numbers = true, value_parser = positive_id)]
        reservation: i64,
        /// The quantity the permit is issued for, at most what is held (default: all of it);
        /// the rest returns to the quota.
        #[arg(long, allow_hyphen_values = true)]
        quantity: Option<String>,
        /// The quantity's unit (default: the quota's).
        #[arg(long, requires = "quantity")]
        unit: Option<String>,
        /// End of the permit's validity, an RFC 3339 instant (default, and at most: six
        /// calendar months from issue).
        #[arg(long)]
        permit_expires_at: Option<String>,
        /// The number of the permit issued (box 1): 1 to 35 letters, digits and - / . _
        /// (default: the engine's own, ENGINE- and the reservation's number). The permit becomes an export
        /// permit document of the provenance register.
        #[arg(long)]
        permit: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Release a held reservation.
    Release {
        #[arg(allow_negative_numbers = true, value_parser = positive_id)]
        reservation: i64,
        #[command(flatten)]
        who: Who,
    },
    /// Record a quantity exported under a committed permit.
    Export {
        #[arg(allow_negative_numbers = true, value_parser = positive_id)]
        reservation: i64,
        /// The quantity actually exported (endorsed), at most what is committed and not yet
        /// exported.
        #[arg(long, allow_hyphen_values = true)]
        quantity: String,
        /// The quantity's unit (default: the quota's).
        #[arg(long)]
        unit: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Close a committed permit.
    Close {
        #[arg(allow_negative_numbers = true, value_parser = positive_id)]
        reservation: i64,
        #[command(flatten)]
        who: Who,
    },
    /// Expire holds and close permits whose time has passed.
    Sweep,
}

// The options of `cites quota set` (the subcommand's help is its variant's).
#[derive(Args, Debug)]
pub struct SetArgs {
    /// Exporting country, ISO 3166-1 alpha-2 (e.g. NA).
    #[arg(long)]
    pub exporter: String,
    /// Species+ id of an accepted, active taxon in the catalogue.
    #[arg(long)]
    pub taxon: String,
    /// Calendar year of the quota.
    #[arg(
        long,
        required_unless_present = "period_start",
        conflicts_with = "period_start"
    )]
    pub year: Option<i32>,
    /// First day of a quota period that is not a calendar year (YYYY-MM-DD).
    #[arg(long, requires = "period_last_day")]
    pub period_start: Option<String>,
    /// Last day of that period, inclusive (YYYY-MM-DD).
    #[arg(long, requires = "period_start")]
    pub period_last_day: Option<String>,
    /// The limit, an exact decimal; omit for "in preparation".
    #[arg(long, allow_hyphen_values = true)]
    pub limit: Option<String>,
    /// Unit code (blank or NAR: number of specimens, whose limit is whole).
    #[arg(long, default_value = "")]
    pub unit: String,
    /// Only specimens of this CITES term code (e.g. SKI); default: every term.
    #[arg(long)]
    pub term: Option<String>,
    /// Only specimens of this CITES source code (e.g. W); default: every source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only trade for this CITES purpose code (e.g. H); default: every purpose.
    #[arg(long)]
    pub purpose: Option<String>,
    /// Free text kept with the quota (its basis, conditions).
    #[arg(long)]
    pub notes: Option<String>,
    #[command(flatten)]
    pub who: Who,
}

/// An id argument (a quota's, a reservation's): a whole number, 1 or more. Negative numbers are
/// read as values, not options (`cites quota show -1`), so the message says what is accepted.
fn positive_id(text: &str) -> Result<i64, String> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| "accepted an id, a whole number from 1 to 9223372036854775807".to_owned())
}

/// Who asks, why, the request's idempotency key, and the form of the answer.
#[derive(Args, Debug)]
pub struct Who {
    /// The idempotency key of this request (default: a new random one). Repeating a command
    /// with its key returns the first answer, whoever runs it.
    #[arg(long)]
    pub key: Option<String>,
    /// Recorded in the audit ledger.
    #[arg(long, env = "USER", default_value = "cli")]
    pub actor: String,
    /// Why, recorded in the audit ledger (one line).
    #[arg(long)]
    pub reason: Option<String>,
    /// Print the answer as JSON, the body the HTTP route answers (the exit status is the same).
    #[arg(long)]
    pub json: bool,
}

/// Who runs an import: no `--key`, since an import keys each Species+ quota by its own id (a
/// second import is the same requests again).
#[derive(Args, Debug)]
pub struct Importer {
    /// Recorded in the audit ledger.
    #[arg(long, env = "USER", default_value = "cli")]
    pub actor: String,
    /// Why, recorded in the audit ledger (one line).
    #[arg(long)]
    pub reason: Option<String>,
    /// Print the report as JSON (the exit status is the same).
    #[arg(long)]
    pub json: bool,
}

impl Importer {
    pub fn actor(&self) -> ::quota::Actor {
        ::quota::Actor {
            name: self.actor.clone(),
            reason: self.reason.clone(),
        }
    }
}

impl Who {
    pub fn actor(&self) -> ::quota::Actor {
        ::quota::Actor {
            name: self.actor.clone(),
            reason: self.reason.clone(),
        }
    }

    /// The request's key. The command line is the database's own operator, not a caller of
    /// the service: its keys are one namespace whoever runs it, so that a command retried under
    /// another account (`sudo`, cron, a colleague re-running a script whose outcome was unknown;
    /// `--actor` defaults to `$USER`) finds its first answer instead of acting twice. They never
    /// meet an HTTP caller's keys, which are scoped to an API key ([`::quota::ClientKey::of_caller`]).
    pub fn key(&self) -> anyhow::Result<::quota::ClientKey> {
        let k = self
            .key
            .clone()
            .unwrap_or_else(|| format!("cli-{:032x}", rand::random::<u128>()));
        Ok(::quota::ClientKey::parse(&k)?)
    }
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key; it is shown once and stored only as a hash.
    Create {
        /// permit-officer, scientific-authority, enforcement or admin.
        #[arg(long)]
        role: String,
        /// A name to tell keys apart (unique).
        #[arg(long)]
        name: String,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

/// Test-only, never for production: an RFC 3339 instant at which the binary's clock starts
/// (it then runs on at the real pace), so that end-to-end tests choose their own date. Not a
/// flag, absent from `--help`, and warned about in the log whenever it is set.
pub const TEST_ONLY_NOW_ENV: &str = "CITES_TEST_ONLY_NOW";

/// A clock that starts at a given instant and runs on at the pace of the monotonic clock, so
/// that leases, heartbeats and expiries still pass while dates are the test's.
struct TestOnlyClock {
    start: Timestamp,
    started: std::time::Instant,
}

impl Clock for TestOnlyClock {
    fn now(&self) -> Timestamp {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}

/// The system clock, or the test-only one when [`TEST_ONLY_NOW_ENV`] is set.
fn clock_from_env() -> anyhow::Result<Arc<dyn Clock>> {
    let Some(value) = std::env::var_os(TEST_ONLY_NOW_ENV) else {
        return Ok(Arc::new(SystemClock));
    };
    let value = value.to_string_lossy();
    let start = domain::parse_timestamp(TEST_ONLY_NOW_ENV, &value)?;
    tracing::warn!(
        now = %start.to_rfc3339(),
        "{TEST_ONLY_NOW_ENV} is set: the clock is a test's, not the system's (never set it in production)"
    );
    Ok(Arc::new(TestOnlyClock {
        start,
        started: std::time::Instant::now(),
    }))
}

/// What runs the service of `cites serve` once its options are read: given by `main`, since
/// the command line does not know the HTTP service.
pub type Serve = fn(
    Db,
    Arc<dyn Clock>,
    ServeSettings,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>>>>;

/// Runs the parsed command; `cites serve` runs `serve`.
pub async fn run(cli: Cli, serve: Serve) -> anyhow::Result<Ending> {
    let clock = clock_from_env()?;
    let db = Db::connect(&cli.database_url)
        .await
        .with_context(|| format!("opening the database {}", db::redact(&cli.database_url)))?;
    let done = |r: anyhow::Result<()>| r.map(|()| Ending::Done);
    let result = match cli.command {
        Command::Serve(args) => done(serve_command(db.clone(), clock, args, serve).await),
        Command::Sync(args) => done(sync::sync_command(db.clone(), clock, args).await),
        Command::Listing(args) => done(catalogue::listing_command(db.clone(), clock, args).await),
        Command::Amendments(args) => {
            done(catalogue::amendments_command(db.clone(), clock, args).await)
        }
        Command::Keys { command } => done(keys::keys_command(db.clone(), clock, command).await),
        Command::Check(args) => done(crate::cli::check::run(db.clone(), clock, args).await),
        Command::Quota { command } => crate::cli::quota::run(db.clone(), clock, command).await,
        Command::Trace { command } => crate::cli::trace::run(db.clone(), clock, command).await,
        Command::Report { command } => done(report::run(db.clone(), clock, command).await),
    };
    db.close().await;
    result
}

/// Builds the synchroniser from the Species+ settings (without a client if there is no token).
pub fn synchroniser(
    db: Db,
    clock: Arc<dyn Clock>,
    sp: &SpeciesPlusArgs,
) -> anyhow::Result<Synchroniser> {
    let client = match sp.token.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(token) => {
            let mut config = ClientConfig::new(&sp.url, Token::new(token)?)?;
            config.pace = std::time::Duration::from_millis(sp.pace_ms);
            Some(Client::new(config)?)
        }
        None => None,
    };
    if sp.concurrency == 0 || sp.concurrency > 64 {
        bail!(
            "invalid --speciesplus-concurrency {}: accepted 1 to 64",
            sp.concurrency
        );
    }
    Ok(Synchroniser::new(
        db,
        client,
        clock,
        SyncSettings {
            fetch_concurrency: sp.concurrency,
            fetch_distributions: true,
        },
    ))
}

/// Reads and checks `cites serve`'s options, then runs the service through `serve` (which
/// `main` passes: the command line does not know the HTTP service).
async fn serve_command(
    db: Db,
    clock: Arc<dyn Clock>,
    args: ServeArgs,
    serve: Serve,
) -> anyhow::Result<()> {
    crate::app::schedule::validate_cron(&args.sync_cron).map_err(anyhow::Error::msg)?;
    let listen: std::net::SocketAddr = args.listen.parse().map_err(|e| {
        anyhow::anyhow!(
            "invalid --listen {:?}: {e}; accepted HOST:PORT, e.g. 127.0.0.1:8080",
            args.listen
        )
    })?;
    let synchroniser = synchroniser(db.clone(), clock.clone(), &args.speciesplus)?;
    let settings = ServeSettings {
        listen,
        sync_cron: args.sync_cron,
        no_sample: args.no_sample,
        check_config: args.check_config,
        trace_config: args.trace_config,
        synchroniser,
    };
    serve(db, clock, settings).await
}
