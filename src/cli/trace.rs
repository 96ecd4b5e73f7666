//! `cites trace …`: the provenance register from the command line: a batch ingested from a
//! file, the origin of a specimen as an officer reads it (the acquisitions it comes from, with
//! the share of its quantity and one explaining path each, and the documents on the way), the
//! forward trace, and look-ups by identifier or document number. The use cases and the reading
//! of limits are `app::trace`'s, shared with the HTTP routes.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use db::Db;
use domain::Clock;
use trace::{DocumentView, Forward, Origin};

use crate::app::permits::Permits;
use crate::app::progress::ConsoleProgress;
use crate::app::trace::{Format, TraceError, Tracing, limits};
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
        TraceCommand::BackfillPermits { json } => {
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
        TraceCommand::Ingest {
            file,
            epcis,
            key,
            json,
        } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading the batch from stdin")?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading the batch {}", file.display()))?
            };
            let body: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not one JSON document", file.display()))?;
            let format = if epcis {
                Format::Epcis
            } else {
                Format::detect(None, &body)
            };
            let key = ::quota::ClientKey::parse(&key)?;
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
        TraceCommand::Lookup {
            identifier,
            document,
            json,
        } => {
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
