//! `cites trace …`: the provenance register from the command line: a batch ingested from a
//! file, the origin of a specimen as an officer reads it (the acquisitions it comes from, with
//! the share of its quantity and one explaining path each, and the documents on the way), the
//! forward trace, look-ups by identifier or document number, the full sweep (`check`, exit
//! status 3 when an error-severity finding exists) and a specimen's legal-acquisition report
//! (`evidence`). The use cases and the reading of limits are `app::trace`'s, shared with the
//! HTTP routes.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use db::Db;
use domain::Clock;
use trace::{DocumentView, Forward, LegalAcquisition, Origin, Sweep};

use crate::app::permits::Permits;
use crate::app::progress::ConsoleProgress;
use crate::app::trace::{Format, TraceError, Tracing, limits, trace_config};
use crate::cli::Ending;
use crate::cli::trace_output::{OutputArgs, emit};

#[derive(Subcommand, Debug)]
pub enum TraceCommand {
    /// Ingest a batch of events from a file (`-` for stdin): the project's JSON, or an EPCIS
    /// 2.0 document. Accepted whole, with its findings printed, or refused whole with every
    /// fault named (exit status 3).
    Ingest {
        file: PathBuf,
        /// The file is an EPCIS 2.0 JSON-LD document (also recognised by its `@context` or
        /// `epcisBody`).
        #[arg(long)]
        epcis: bool,
        /// The batch's idempotency key: ingesting again with it stores nothing and prints the
        /// first answer; another batch under it is refused.
        #[arg(long)]
        key: String,
        /// Print the answer as JSON, the body the HTTP route answers.
        #[arg(long)]
        json: bool,
    },
    /// Where a specimen came from: the acquisitions it reaches, the share of its quantity from
    /// each with one explaining path, and every document on the way.
    Origin {
        /// The specimen's key.
        key: String,
        #[command(flatten)]
        limits: LimitArgs,
        /// Print the whole answer as JSON (the node-link graph included).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Where a specimen went (or, with --event, what an event such as an acquisition produced).
    Forward {
        /// The specimen's key (the event's with --event).
        key: String,
        /// KEY is an event's.
        #[arg(long)]
        event: bool,
        #[command(flatten)]
        limits: LimitArgs,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The specimens an identifier names, or the documents of a number.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["identifier", "document"])))]
    Lookup {
        /// An identifier of any scheme (a tag, label, microchip, ring, lot or log number).
        #[arg(long)]
        identifier: Option<String>,
        /// A document number (any issuing country and type).
        #[arg(long)]
        document: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Sweep the whole register: every invariant across batches (conservation within the
    /// yield table, consumption, time order, documents inside their validity and quantity,
    /// identifiers used once) and the scans (breeding plausibility, re-exports exceeding
    /// imports, implausible source codes). Exit status 3 when an error-severity finding exists.
    Check {
        /// The yield and breeding tables (TOML; trace/trace.default.toml documents each key
        /// and is the default).
        #[arg(long, env = "CITES_TRACE_CONFIG")]
        config: Option<PathBuf>,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The legal-acquisition report of a specimen (Res. Conf. 18.7): per acquisition path, the
    /// evidence present and the evidence missing, with the parental stock of captive-bred
    /// specimens.
    Evidence {
        /// The specimen's key.
        key: String,
        #[command(flatten)]
        limits: LimitArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put every permit the quota ledger has issued into the register as an export permit
    /// document (with its exports and its end), or bring it up to date: the repair after a
    /// crash between a commit and the register's write, and the first load of permits
    /// committed before the register took them. Idempotent; a bar on a terminal.
    BackfillPermits {
        /// Print the counts as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How far a query goes.
#[derive(Args, Debug)]
pub struct LimitArgs {
    /// Steps of material flow to follow (default 64; 1 to 200000).
    #[arg(long)]
    pub depth: Option<String>,
    /// Specimens to return at most (default 10000; 1 to 1000000).
    #[arg(long)]
    pub nodes: Option<String>,
}

impl LimitArgs {
    fn limits(&self) -> anyhow::Result<trace::Limits> {
        limits(self.depth.as_deref(), self.nodes.as_deref()).map_err(|e| match e {
            TraceError::Invalid { field, message } => {
                anyhow::anyhow!("{}", message.replacen(&field, &format!("--{field}"), 1))
            }
            e => anyhow::Error::new(e),
        })
    }
}

/// Runs `cites trace`.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub async fn run(db: Db, clock: Arc<dyn Clock>, command: TraceCommand) -> anyhow::Result<Ending> {
    let tracing = Tracing::new(db.clone(), clock.clone());
    match command {
        TraceCommand::BackfillPermits { json } => backfill_permits(db, clock, json).await,
        TraceCommand::Ingest {
            file,
            epcis,
            key,
            json,
        } => ingest(&tracing, &file, epcis, &key, json).await,
        TraceCommand::Origin {
            key,
            limits,
            json,
            output,
        } => {
            let o = tracing.origin(&key, limits.limits()?).await?;
            emit(&o, &o.view(), &output, json, clock.now(), || {
                origin_table(&o)
            })?;
            Ok(Ending::Done)
        }
        TraceCommand::Forward {
            key,
            event,
            limits,
            json,
            output,
        } => {
            let limits = limits.limits()?;
            let f = if event {
                tracing.forward_from_event(&key, limits).await?
            } else {
                tracing.forward(&key, limits).await?
            };
            emit(&f, &f.view(), &output, json, clock.now(), || {
                forward_table(&f)
            })?;
            Ok(Ending::Done)
        }
        TraceCommand::Check { config, json } => check(&tracing, config, json).await,
        TraceCommand::Evidence { key, limits, json } => {
            let report = tracing.legal_acquisition(&key, limits.limits()?).await?;
            if json {
                println!("{:#}", serde_json::json!(report));
            } else {
                print!("{}", evidence_table(&report));
            }
            Ok(Ending::Done)
        }
        TraceCommand::Lookup {
            identifier,
            document,
            json,
        } => lookup(&tracing, identifier, document, json).await,
    }
}

/// The origin as an officer reads it.
fn origin_table(o: &Origin) -> String {
    let mut out = format!("Origin of {}\n", o.specimen);
    if o.truncated {
        out.push_str(
            "TRUNCATED: the limits cut the trace; raise --depth or --nodes to see all of it\n",
        );
    }
    out.push_str(&format!("\nAcquisitions ({}):\n", o.acquisitions.len()));
    out.push_str(&format!(
        "  {:<32} {:<22} {:<10} {}\n",
        "EVENT", "KIND", "DATE", "SHARE"
    ));
    for a in &o.acquisitions {
        out.push_str(&format!(
            "  {:<32} {:<22} {:<10} {}\n",
            a.event,
            a.kind.as_str(),
            a.at.date_naive(),
            a.share.normalize()
        ));
        out.push_str(&format!("    path: {}\n", a.path.join(" -> ")));
    }
    if !o.unaccounted_share.is_zero() {
        out.push_str(&format!(
            "  reaching no acquisition: {}\n",
            o.unaccounted_share.normalize()
        ));
    }
    out.push_str(&format!("\nDocuments ({}):\n", o.documents.len()));
    out.push_str(&documents_table(&o.documents));
    out
}

/// The forward trace: every specimen reached, with the share of it derived from the start.
fn forward_table(f: &Forward) -> String {
    let mut out = format!("Forward trace from {}\n", f.from);
    if f.truncated {
        out.push_str(
            "TRUNCATED: the limits cut the trace; raise --depth or --nodes to see all of it\n",
        );
    }
    out.push_str(&format!("\nSpecimens reached ({}):\n", f.descendants.len()));
    for (key, share) in &f.descendants {
        out.push_str(&format!("  {key:<48} {}\n", share.normalize()));
    }
    out.push_str(&format!("\nDocuments ({}):\n", f.documents.len()));
    out.push_str(&documents_table(&f.documents));
    out
}

fn documents_table(docs: &[DocumentView]) -> String {
    let mut out = String::new();
    for d in docs {
        let valid = match (d.valid_from, d.valid_until) {
            (Some(from), Some(until)) => format!(", valid {from} to {until}"),
            (None, Some(until)) => format!(", valid until {until}"),
            (Some(from), None) => format!(", valid from {from}"),
            (None, None) => String::new(),
        };
        let unit = d.unit.as_deref().unwrap_or("");
        let amount = |a: Option<rust_decimal::Decimal>| {
            a.map_or_else(|| "-".to_owned(), |a| format!("{} {unit}", a.normalize()))
        };
        out.push_str(&format!(
            "  {} {} {} (revision {}, {}{valid})\n",
            d.country, d.doc_type, d.number, d.revision, d.status
        ));
        if d.permitted.is_some() || d.actual.is_some() {
            out.push_str(&format!(
                "    permitted {}, actual {}\n",
                amount(d.permitted).trim_end(),
                amount(d.actual).trim_end()
            ));
        }
        out.push_str(&format!("    events: {}\n", d.events.join(", ")));
    }
    out
}

/// `cites trace check`: the sweep, its findings printed; [`Ending::Refused`] (exit status 3)
/// when one has error severity.
/// `cites trace backfill-permits`: the ledger's permits into the register, with a bar.
#[allow(clippy::print_stdout)]
async fn backfill_permits(db: Db, clock: Arc<dyn Clock>, json: bool) -> anyhow::Result<Ending> {
    let permits = Permits::new(db.clone(), ::quota::Ledger::new(db, clock));
    let progress = ConsoleProgress::new();
    let done = permits.backfill(&progress).await;
    progress.finish();
    let done = done?;
    if json {
        println!("{:#}", serde_json::json!(done));
    } else {
        println!(
            "{} permits: {} written to the register, {} already there",
            done.permits, done.written, done.unchanged
        );
    }
    Ok(Ending::Done)
}

/// `cites trace ingest`: one batch from a file or stdin; a refusal lists every problem.
#[allow(clippy::print_stdout, clippy::print_stderr)]
async fn ingest(
    tracing: &Tracing,
    file: &std::path::Path,
    epcis: bool,
    key: &str,
    json: bool,
) -> anyhow::Result<Ending> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the batch from stdin")?
    } else {
        std::fs::read_to_string(file)
            .with_context(|| format!("reading the batch {}", file.display()))?
    };
    let body: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not one JSON document", file.display()))?;
    let format = if epcis {
        Format::Epcis
    } else {
        Format::detect(None, &body)
    };
    let key = ::quota::ClientKey::parse(key)?;
    match tracing.ingest(&body, format, &key).await {
        Ok(done) => {
            if json {
                let answer = serde_json::json!({
                    "client_key": key.client_part(),
                    "batch_id": done.batch_id,
                    "replayed": done.replayed,
                    "findings": done.findings,
                });
                println!("{answer:#}");
            } else {
                let again = if done.replayed {
                    " (sent before with this key: nothing stored now)"
                } else {
                    ""
                };
                println!("batch {} stored{again}", done.batch_id);
                println!("findings: {}", done.findings.len());
                for f in &done.findings {
                    println!(
                        "  {} {}: {} [{}]",
                        f.severity.as_str(),
                        f.rule,
                        f.message,
                        f.nodes.join(", ")
                    );
                }
            }
            Ok(Ending::Done)
        }
        Err(TraceError::Refused(problems)) => {
            eprintln!(
                "batch refused, nothing stored: {} problem(s)",
                problems.len()
            );
            for p in &problems {
                eprintln!("  {}: {}", p.path, p.message);
            }
            Ok(Ending::Refused)
        }
        Err(e) => Err(e.into()),
    }
}

/// `cites trace lookup`: the specimens carrying an identifier, or the documents of a number.
#[allow(clippy::print_stdout)]
async fn lookup(
    tracing: &Tracing,
    identifier: Option<String>,
    document: Option<String>,
    json: bool,
) -> anyhow::Result<Ending> {
    if let Some(value) = identifier {
        let found = tracing.by_identifier(&value).await?;
        if json {
            println!(
                "{:#}",
                serde_json::json!({"value": value, "specimens": found})
            );
        } else if found.is_empty() {
            println!("no specimen carries the identifier {value:?}");
        } else {
            for f in found {
                println!("{:<14} {:<40} {}", f.scheme, f.value, f.specimen);
            }
        }
    } else if let Some(number) = document {
        let found = tracing.by_document(&number).await?;
        if json {
            println!(
                "{:#}",
                serde_json::json!({"number": number, "documents": found})
            );
        } else if found.is_empty() {
            println!("no document numbered {number:?} in the register");
        } else {
            print!("{}", documents_table(&found));
        }
    }
    Ok(Ending::Done)
}

#[allow(clippy::print_stdout)]
async fn check(tracing: &Tracing, config: Option<PathBuf>, json: bool) -> anyhow::Result<Ending> {
    let config = trace_config(config.as_deref())?;
    let bar = sweep_bar();
    let shown = bar.clone();
    let progress = move |phase: &'static str, rows: u64| {
        if let Some(bar) = &shown {
            bar.set_message(format!("sweeping the register: {phase} {rows}"));
            bar.tick();
        }
    };
    let sweep = tracing.check(&config, &progress).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let sweep = sweep?;
    if json {
        println!("{:#}", serde_json::json!(sweep));
    } else {
        print!("{}", findings_table(&sweep));
    }
    Ok(if sweep.has_errors() {
        Ending::Refused
    } else {
        Ending::Done
    })
}

/// A spinner on a terminal for a long sweep; nothing otherwise.
fn sweep_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    })
}

/// The sweep's findings as a table: severity, rule, message, nodes and numbers.
fn findings_table(s: &Sweep) -> String {
    let count = |sev: trace::Severity| s.findings.iter().filter(|f| f.severity == sev).count();
    let mut out = format!(
        "Swept {} specimens, {} events, {} flows, {} documents\n\
         Findings: {} ({} error, {} warning, {} info)\n",
        s.specimens,
        s.events,
        s.flows,
        s.documents,
        s.findings.len(),
        count(trace::Severity::Error),
        count(trace::Severity::Warning),
        count(trace::Severity::Info)
    );
    if s.findings.is_empty() {
        return out;
    }
    out.push_str(&format!(
        "\n  {:<8} {:<32} {}\n",
        "SEVERITY", "RULE", "FINDING"
    ));
    for f in &s.findings {
        out.push_str(&format!(
            "  {:<8} {:<32} {}\n",
            f.severity.as_str(),
            f.rule,
            f.message
        ));
        if !f.nodes.is_empty() {
            out.push_str(&format!(
                "  {:<8} {:<32} nodes: {}\n",
                "",
                "",
                f.nodes.join(", ")
            ));
        }
        if !f.numbers.is_empty() {
            let numbers: Vec<String> = f.numbers.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("  {:<8} {:<32} {}\n", "", "", numbers.join(" ")));
        }
    }
    out
}

/// The legal-acquisition report as an officer reads it.
fn evidence_table(r: &LegalAcquisition) -> String {
    let mut out = format!(
        "Legal acquisition of {} (Res. Conf. 18.7): {}\n",
        r.specimen,
        if r.complete {
            "evidence complete"
        } else {
            "EVIDENCE INCOMPLETE"
        }
    );
    if r.truncated {
        out.push_str("TRUNCATED: the limits cut a trace; raise --depth or --nodes\n");
    }
    for u in &r.unrooted {
        out.push_str(&format!(
            "  {} of {} reaches no acquisition\n",
            u.unaccounted_share.normalize(),
            u.specimen
        ));
    }
    for p in &r.paths {
        out.push_str(&format!(
            "\n{} {} on {} (share {})\n",
            p.kind.as_str(),
            p.acquisition,
            p.at.date_naive(),
            p.share.normalize()
        ));
        if let (Some(parent), Some(of)) = (&p.parent, &p.parent_of) {
            out.push_str(&format!("  parental stock: {parent}, a parent in {of}\n"));
        }
        out.push_str(&format!("  path: {}\n", p.path.join(" -> ")));
        for e in &p.present {
            out.push_str(&format!(
                "  present  {:<48} {} ({}, {})\n",
                e.requirement, e.document, e.event, e.status
            ));
        }
        for m in &p.missing {
            out.push_str(&format!(
                "  MISSING  {:<48} {}: {} (accepted: {})\n",
                m.requirement,
                m.event,
                m.reason,
                if m.accepted.is_empty() {
                    "-".to_owned()
                } else {
                    m.accepted.join(", ")
                }
            ));
        }
    }
    out
}
