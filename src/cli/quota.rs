//! `cites quota …`: the quota ledger from the command line, and the import of Species+ quotas.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use db::Db;
use domain::{
    Clock, CountryCode, Period, PurposeCode, Quantity, SourceCode, TaxonId, TermCode, UnitCode,
};
use quota::{Actor, ClientKey, Ledger, Outcome, QuotaSpec, QuotaView};
use rust_decimal::Decimal;

use crate::cli::{Ending, QuotaCommand};

/// The unit given, or else the quota's (`default`, read only then).
async fn unit_or(
    given: Option<String>,
    default: impl Future<Output = quota::Result<UnitCode>>,
) -> anyhow::Result<String> {
    Ok(match given {
        Some(u) => u,
        None => default.await?.code().to_owned(),
    })
}

/// A `--limit` in `unit`, read as the HTTP routes read a limit
/// ([`crate::http::quota::amount_in_unit`]).
fn quantity(field: &'static str, amount: &str, unit: &str) -> anyhow::Result<Quantity> {
    crate::http::quota::amount_in_unit([field, "--unit"], amount, unit, false)
        .map_err(|(_, message)| anyhow::anyhow!(message))
}

/// `--quantity` of a reservation, commit or export: it moves the quota, so more than nothing
/// (a `--limit`, read by [`quantity`], may be zero).
fn moved_quantity(amount: &str, unit: &str) -> anyhow::Result<Quantity> {
    crate::http::quota::amount_in_unit(["--quantity", "--unit"], amount, unit, true)
        .map_err(|(_, message)| anyhow::anyhow!(message))
}

/// The ledger operation an outcome answers, which says what its quantities mean.
#[derive(Debug, Clone, Copy)]
enum Operation {
    Reserve,
    Commit,
    Release,
    Export,
    Close,
}

/// Prints an outcome: for a done operation, what it moved (a partial commit shows what was
/// committed and what returned to the quota, not the hold); for a refusal, why. A refusal
/// ends the command with [`crate::cli::EXIT_REFUSED`].
#[allow(clippy::print_stdout)]
fn print_outcome(operation: Operation, o: &Outcome, json: bool) -> Ending {
    if json {
        println!("{:#}", crate::http::quota::outcome_json(o));
        return match o {
            Outcome::Done { .. } => Ending::Done,
            Outcome::Refused { .. } => Ending::Refused,
        };
    }
    match o {
        Outcome::Done {
            reservation: r,
            quota,
        } => {
            let returned = |amount: Decimal| {
                if amount.is_zero() {
                    String::new()
                } else {
                    format!(", {amount} returned to the quota")
                }
            };
            let moved = match operation {
                Operation::Reserve => format!(
                    "{} {} held until {}",
                    r.quantity,
                    r.unit,
                    r.expires_at
                        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                ),
                Operation::Commit => format!(
                    "{} {} committed{}{}",
                    r.committed,
                    r.unit,
                    returned(r.quantity - r.committed),
                    r.permit_expires_at
                        .map(|at| format!(
                            ", permit valid until {}",
                            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                        ))
                        .unwrap_or_default()
                ),
                Operation::Release => format!("{} {} returned to the quota", r.quantity, r.unit),
                Operation::Export => {
                    format!("{} of {} {} exported", r.exported, r.committed, r.unit)
                }
                Operation::Close => format!(
                    "{} {} exported{}",
                    r.exported,
                    r.unit,
                    returned(r.committed - r.exported)
                ),
            };
            println!(
                "done: reservation {} is {} ({moved}); quota {} available {} (box 11a: {} used)",
                r.id,
                r.state.as_str(),
                quota.id,
                quota.available,
                quota.box_11a_used
            );
            Ending::Done
        }
        Outcome::Refused {
            refusal,
            quota,
            reservation,
        } => {
            println!(
                "refused: {}{}; quota {} available {}",
                refusal.message(),
                reservation
                    .as_ref()
                    .map(|r| format!(" (reservation {})", r.id))
                    .unwrap_or_default(),
                quota.id,
                quota.available
            );
            Ending::Refused
        }
    }
}

/// Runs `cites quota …`; [`Ending::Refused`] when the ledger refused the operation or an
/// import left quotas not applied (printed).
pub async fn run(db: Db, clock: Arc<dyn Clock>, command: QuotaCommand) -> anyhow::Result<Ending> {
    run_command(db, clock, command)
        .await
        .map_err(named_as_option)
}

/// The ledger names its input fields as the HTTP routes do (`expires_at`); on the command line
/// the same input is an option (`--expires-at`), and an error must name what the user typed.
fn named_as_option(e: anyhow::Error) -> anyhow::Error {
    let option = match e.downcast_ref::<quota::Error>() {
        Some(quota::Error::Invalid { field, message }) => match *field {
            "client_key" => Some(("key", message.clone())),
            "expires_at" | "permit_expires_at" | "quantity" | "limit" | "reason" | "actor"
            | "notes" | "after" => Some((*field, message.clone())),
            _ => None,
        },
        // A quantity in a unit of another dimension: the unit is what was typed wrong.
        Some(quota::Error::Domain(d @ domain::Error::IncompatibleUnits { .. })) => {
            Some(("unit", d.to_string()))
        }
        _ => None,
    };
    match option {
        Some((field, message)) => {
            anyhow::anyhow!("invalid --{}: {message}", field.replace('_', "-"))
        }
        None => e,
    }
}

#[allow(clippy::print_stdout)]
async fn run_command(
    db: Db,
    clock: Arc<dyn Clock>,
    command: QuotaCommand,
) -> anyhow::Result<Ending> {
    let ledger = Ledger::new(db.clone(), clock);
    match command {
        QuotaCommand::Set {
            exporter,
            taxon,
            year,
            period_start,
            period_last_day,
            limit,
            unit,
            term,
            source,
            purpose,
            notes,
            who,
        } => {
            let period = match (year, period_start, period_last_day) {
                (Some(y), _, _) if (1975..=2200).contains(&y) => Period::calendar_year(y),
                (None, Some(start), Some(last)) => Period::from_inclusive(
                    domain::parse_date("--period-start", &start)?,
                    domain::parse_date("--period-last-day", &last)?,
                )
                .map_err(|e| e.for_field("--period-last-day"))?,
                _ => anyhow::bail!(
                    "invalid quota period: give --year (1975 to 2200), or --period-start and --period-last-day (any 12-month period)"
                ),
            };
            let unit = UnitCode::parse(&unit).map_err(|e| e.for_field("--unit"))?;
            let spec = QuotaSpec {
                exporter: CountryCode::parse(&exporter).map_err(|e| e.for_field("--exporter"))?,
                taxon_id: TaxonId::parse(&taxon).map_err(|e| e.for_field("--taxon"))?,
                period,
                limit: limit
                    .as_deref()
                    .map(|l| quantity("--limit", l, unit.code()))
                    .transpose()?,
                unit,
                term: term
                    .as_deref()
                    .map(|t| TermCode::parse(t).map_err(|e| e.for_field("--term")))
                    .transpose()?,
                source: source
                    .as_deref()
                    .map(|t| SourceCode::parse(t).map_err(|e| e.for_field("--source")))
                    .transpose()?,
                purpose: purpose
                    .as_deref()
                    .map(|t| PurposeCode::parse(t).map_err(|e| e.for_field("--purpose")))
                    .transpose()?,
                notes,
                speciesplus_id: None,
            };
            let key = who.key()?;
            // A retry gets its first answer even if a synchronisation has changed the taxon
            // since.
            let merged =
                crate::http::quota::declarable::<anyhow::Error>(&db, &ledger, &key, spec.taxon_id)
                    .await?
                    .map_err(|why| {
                        anyhow::anyhow!("invalid taxon {} for --taxon: {why}", spec.taxon_id)
                    })?;
            let q = ledger
                .declare_with_merged(&key, &spec, &merged, &who.actor())
                .await?;
            if who.json {
                println!("{:#}", serde_json::json!({ "quota": q }));
                return Ok(Ending::Done);
            }
            println!(
                "quota {} declared: {} {} of taxon {} for {}",
                q.id,
                shown_limit(q.limit),
                q.unit,
                q.taxon_id,
                shown_period(q.period_start, q.period_end)
            );
        }
        QuotaCommand::Revise {
            id,
            limit,
            in_preparation: _,
            unit,
            who,
        } => {
            let limit = match limit {
                Some(l) => {
                    let unit = unit_or(unit, ledger.quota_unit(id)).await?;
                    Some(quantity("--limit", &l, &unit)?)
                }
                None => None,
            };
            let q = match ledger
                .revise(&who.key()?, id, limit.as_ref(), &who.actor())
                .await
            {
                // Without --limit the limit asked was --in-preparation's: name what was typed.
                Err(quota::Error::Invalid {
                    field: "limit",
                    message,
                }) if limit.is_none() => {
                    anyhow::bail!("invalid --in-preparation: {message}")
                }
                answer => answer?,
            };
            if who.json {
                println!("{:#}", serde_json::json!({ "quota": q }));
                return Ok(Ending::Done);
            }
            println!(
                "quota {} revised: limit {} {}, available {}",
                q.id,
                shown_limit(q.limit),
                q.unit,
                q.available
            );
        }
        QuotaCommand::Import { who } => {
            let report = import_speciesplus(&db, &ledger, &who.actor()).await?;
            if who.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for n in report.revised.iter().chain(&report.not_applied) {
                    println!("{n}");
                }
                println!("Species+ quotas: {}", report.summary());
            }
            if !report.not_applied.is_empty() {
                return Ok(Ending::Refused);
            }
        }
        QuotaCommand::List {
            exporter,
            taxon,
            year,
            json,
        } => {
            // As the HTTP list: a taxon's quotas include those on concepts merged into it.
            let taxon = taxon
                .map(|t| TaxonId::parse(&t).map_err(|e| e.for_field("--taxon")))
                .transpose()?;
            let taxa = match taxon {
                Some(t) => Some(crate::http::quota::taxa_governing(&db, t).await?),
                None => None,
            };
            // Checked as the HTTP list checks them: a typo is an error, not an empty list.
            let exporter = exporter
                .as_deref()
                .map(|e| CountryCode::parse(e).map_err(|e| e.for_field("--exporter")))
                .transpose()?;
            if let Some(y) = year
                && !quota::QUOTA_YEARS.contains(&y)
            {
                anyhow::bail!(
                    "invalid --year {y}: accepted {} to {}",
                    quota::QUOTA_YEARS.start(),
                    quota::QUOTA_YEARS.end()
                );
            }
            let list = ledger
                .quotas(exporter.as_ref().map(|c| c.as_str()), taxa.as_deref(), year)
                .await?;
            if let Some(t) = taxon
                && list.is_empty()
                && let Some(why) = crate::http::quota::unknown_taxon(&db, t).await?
            {
                anyhow::bail!(
                    "invalid --taxon: {}",
                    why.replace(
                        "GET /v1/taxa?name= finds it",
                        "cites listing NAME --json gives it"
                    )
                );
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for q in list {
                    println!(
                        "{:>5}  {} taxon {:<8} {}  limit {:>10} {:<3} held {} committed {} exported {} available {}  {}{}",
                        q.id,
                        q.exporter,
                        q.taxon_id,
                        shown_period(q.period_start, q.period_end),
                        q.limit
                            .map(|l| l.to_string())
                            .unwrap_or_else(|| "in prep.".into()),
                        q.unit,
                        q.held,
                        q.committed,
                        q.exported,
                        q.available,
                        q.origin,
                        restrictions(&q)
                    );
                }
            }
        }
        QuotaCommand::Show { id, json } => {
            let (q, published) = ledger.quota_with_speciesplus_value(id).await?;
            if json {
                let shown = crate::http::quota::with_speciesplus_value(&q, published);
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                println!(
                    "quota {}: {} exports of taxon {} for {}",
                    q.id,
                    q.exporter,
                    q.taxon_id,
                    shown_period(q.period_start, q.period_end)
                );
                println!("  limit      {} {}", shown_limit(q.limit), q.unit);
                println!(
                    "  held       {}\n  committed  {}\n  exported   {}\n  available  {}",
                    q.held, q.committed, q.exported, q.available
                );
                println!("  box 11a    {} used against the quota", q.box_11a_used);
                println!(
                    "  scope      {}{}",
                    match q.speciesplus_id {
                        Some(id) => format!("Species+ quota {id}"),
                        None => "national".to_owned(),
                    },
                    match restrictions(&q).as_str() {
                        "" => ", every term, source and purpose".to_owned(),
                        only => format!(",{only}"),
                    }
                );
                if let Some(published) = published {
                    println!("  Species+   {} at the last import", shown_limit(published));
                }
                if let Some(notes) = &q.notes {
                    println!("  notes      {notes}");
                }
            }
        }
        QuotaCommand::History {
            id,
            after,
            limit,
            json,
        } => {
            // The unit a refused reservation's quantity is shown in (the ledger keeps it in the
            // quota's). An unknown quota ends here, with its error alone.
            let unit = ledger.quota_unit(id).await?;
            let print = |e: &quota::LedgerEntry| {
                println!(
                    "#{:<6} {} {:<8} res {:<6} held {:+} committed {:+} exported {:+}  \
                     -> {} / {} / {} of {}  by {}{}{}",
                    e.seq,
                    e.at.format("%Y-%m-%d %H:%M:%S"),
                    e.event,
                    e.reservation_id
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "-".into()),
                    e.delta_held,
                    e.delta_committed,
                    e.delta_exported,
                    e.held_after,
                    e.committed_after,
                    e.exported_after,
                    // The limit as the entry left it: a revision's shows what it changed.
                    shown_limit(e.limit),
                    e.actor,
                    e.reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    // A refusal moves no counter: say what was asked and why it was refused.
                    match (&e.requested, &e.refusal_message) {
                        (Some(q), Some(why)) => format!("  asked {q} {unit}, refused: {why}"),
                        (Some(q), None) => format!("  asked {q} {unit}, refused"),
                        (None, Some(why)) => format!("  refused: {why}"),
                        _ => String::new(),
                    }
                );
            };
            let header = "#seq    at                  event    reservation  deltas  -> held / committed / exported after";
            if let Some(limit) = limit {
                let page = ledger.history_page(id, after, limit).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&page)?);
                } else {
                    println!("{header}");
                    page.entries.iter().for_each(print);
                    if let Some(next) = page.next_after {
                        println!("more: --after {next}");
                    }
                }
                return Ok(Ending::Done);
            }
            // The whole ledger, a page at a time: a long history never sits in memory at once.
            // The first page is read before anything is printed, so that an unknown quota (or
            // a bad --after) prints its error alone.
            let mut page = ledger
                .history_page(id, after, quota::HISTORY_PAGE_DEFAULT)
                .await?;
            if json {
                print!("[");
            } else {
                println!("{header}");
            }
            let mut first = true;
            loop {
                for e in &page.entries {
                    if json {
                        print!(
                            "{}\n{}",
                            if first { "" } else { "," },
                            serde_json::to_string(e)?
                        );
                        first = false;
                    } else {
                        print(e);
                    }
                }
                match page.next_after {
                    Some(next) => {
                        page = ledger
                            .history_page(id, next, quota::HISTORY_PAGE_DEFAULT)
                            .await?;
                    }
                    None => break,
                }
            }
            if json {
                println!("\n]");
            }
        }
        QuotaCommand::Reserve {
            quota,
            quantity: q,
            unit,
            expires_at,
            who,
        } => {
            let unit = unit_or(unit, ledger.quota_unit(quota)).await?;
            let expires_at = expires_at
                .map(|at| instant("expires-at", &at))
                .transpose()?;
            let o = ledger
                .reserve(
                    &who.key()?,
                    quota,
                    &moved_quantity(&q, &unit)?,
                    expires_at,
                    &who.actor(),
                )
                .await?;
            return Ok(print_outcome(Operation::Reserve, &o, who.json));
        }
        QuotaCommand::Commit {
            reservation,
            quantity: q,
            unit,
            permit_expires_at,
            who,
        } => {
            let permit_expires_at = permit_expires_at
                .map(|at| instant("permit-expires-at", &at))
                .transpose()?;
            let q = match q {
                Some(q) => {
                    let unit = unit_or(unit, ledger.reservation_unit(reservation)).await?;
                    Some(moved_quantity(&q, &unit)?)
                }
                None => None,
            };
            let o = ledger
                .commit(
                    &who.key()?,
                    reservation,
                    q.as_ref(),
                    permit_expires_at,
                    &who.actor(),
                )
                .await?;
            return Ok(print_outcome(Operation::Commit, &o, who.json));
        }
        QuotaCommand::Release { reservation, who } => {
            let o = ledger
                .release(&who.key()?, reservation, &who.actor())
                .await?;
            return Ok(print_outcome(Operation::Release, &o, who.json));
        }
        QuotaCommand::Export {
            reservation,
            quantity: q,
            unit,
            who,
        } => {
            let unit = unit_or(unit, ledger.reservation_unit(reservation)).await?;
            let o = ledger
                .record_export(
                    &who.key()?,
                    reservation,
                    &moved_quantity(&q, &unit)?,
                    &who.actor(),
                )
                .await?;
            return Ok(print_outcome(Operation::Export, &o, who.json));
        }
        QuotaCommand::Close { reservation, who } => {
            let o = ledger.close(&who.key()?, reservation, &who.actor()).await?;
            return Ok(print_outcome(Operation::Close, &o, who.json));
        }
        QuotaCommand::Sweep => {
            let r = ledger
                .sweep_due(&Actor {
                    name: "cli".into(),
                    reason: Some("sweep".into()),
                })
                .await?;
            println!("expired {} holds, closed {} permits", r.expired, r.closed);
        }
    }
    Ok(Ending::Done)
}

/// A quota's term, source and purpose restrictions as " term SKI, source W" (empty: none):
/// two quotas of one taxon differ by them.
fn restrictions(q: &QuotaView) -> String {
    [
        ("term", &q.term),
        ("source", &q.source),
        ("purpose", &q.purpose),
    ]
    .iter()
    .filter_map(|(name, code)| code.as_ref().map(|c| format!(" {name} {c}")))
    .collect::<Vec<_>>()
    .join(",")
}

/// What an import did with the value Species+ publishes now for a quota it imported before.
enum Followed {
    Unchanged,
    Revised(String),
    NotApplied(String),
}

/// A limit as people read it.
fn shown_limit(limit: Option<Decimal>) -> String {
    limit.map_or_else(|| "in preparation".to_owned(), |l| l.to_string())
}

/// Brings the imported quota `q` to the value Species+ publishes now (`value`), if Species+
/// changed it since the last import (`imported`). A quota revised nationally since keeps its
/// limit, since a Scientific Authority's revision stands (until Species+ itself publishes
/// that limit: the quota then follows Species+ again); the import records the value Species+
/// publishes and reports it instead of overriding the revision: at every import while the
/// national limit is above it (exports must not go on above a published quota unseen), once
/// when the national limit is stricter (a stricter national quota is the Party's to keep). A
/// value coming back to an earlier one applies, as any change does.
async fn follow_speciesplus(
    ledger: &Ledger,
    speciesplus_id: i64,
    q: &QuotaView,
    imported: Option<Decimal>,
    value: Option<&Quantity>,
    actor: &Actor,
) -> anyhow::Result<Followed> {
    let normal = |v: Option<Decimal>| v.map(|d| d.normalize());
    let now = normal(value.map(|l| l.amount()));
    let not_applied = |why: String| {
        Followed::NotApplied(format!(
            "not applied: Species+ quota {speciesplus_id} (quota {}): {why}",
            q.id
        ))
    };
    // The national limit above the published quota: said at every import until revised. A
    // count's limit is whole, so the advice is the whole part of a fractional value.
    let above = match (q.limit, now) {
        (Some(limit), Some(published)) if limit > published => {
            let count = UnitCode::parse(&q.unit).is_ok_and(UnitCode::is_count);
            let most = if count { published.floor() } else { published };
            Some(not_applied(format!(
                "Species+ publishes {}, but the quota was revised nationally to {}, above it: revise it to at most {most} (cites quota revise {} --limit ...)",
                shown_limit(now),
                shown_limit(q.limit),
                q.id
            )))
        }
        _ => None,
    };
    if now == normal(imported) {
        return Ok(above.unwrap_or(Followed::Unchanged));
    }
    if normal(q.limit) != normal(imported) {
        // Revised nationally: the value Species+ publishes is recorded (what `show` gives),
        // the limit kept. Only if the quota still stands as this import read it.
        if !ledger
            .note_speciesplus_value(q.id, q.limit, imported, now)
            .await?
        {
            return Ok(not_applied(
                "the quota changed while it was imported; run the import again".to_owned(),
            ));
        }
        if normal(q.limit) == now {
            // Species+ now publishes the national limit: followed from now on.
            return Ok(Followed::Unchanged);
        }
        return Ok(above.unwrap_or_else(|| {
            not_applied(format!(
                "Species+ now publishes {} (imported: {}), but the quota was revised nationally to {} and keeps it (reported once); revise it if it must follow (cites quota revise {} --limit ...)",
                shown_limit(now),
                shown_limit(imported),
                shown_limit(q.limit),
                q.id
            ))
        }));
    }
    // A key of its own per revision: the value may come back to an earlier one.
    let key = ClientKey::parse(&format!(
        "speciesplus-{speciesplus_id}-revised-{}",
        ledger.clock().now().timestamp_micros()
    ))?;
    // The audit says which import moved the limit, and from what to what.
    let actor = Actor {
        name: actor.name.clone(),
        reason: Some(format!(
            "Species+ quota {speciesplus_id} published {} (was {}){}",
            shown_limit(now),
            shown_limit(imported),
            actor
                .reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )),
    };
    Ok(
        match ledger
            .revise_to_speciesplus(&key, q.id, value, &actor)
            .await
        {
            Ok(_) => Followed::Revised(format!(
                "revised: Species+ quota {speciesplus_id} (quota {}): value {} -> {}",
                q.id,
                shown_limit(q.limit),
                shown_limit(now)
            )),
            Err(e @ (quota::Error::Invalid { .. } | quota::Error::Domain(_))) => {
                not_applied(format!(
                    "value {} -> {}: {e}",
                    shown_limit(q.limit),
                    shown_limit(now)
                ))
            }
            Err(e) => return Err(e.into()),
        },
    )
}

/// Imports the catalogue's Species+ quotas into the ledger after a sync run succeeded, so that
/// what Species+ publishes limits permits from the moment it is synced (not only once someone
/// runs `cites quota import`). The import is idempotent; what it could not apply is logged, as
/// `cites quota import` would print it. A failure is logged too: the sync itself succeeded, and
/// the next run imports again.
pub async fn import_after_sync(db: &Db, clock: Arc<dyn Clock>) -> Option<ImportReport> {
    let ledger = Ledger::new(db.clone(), clock);
    let actor = Actor {
        name: "sync".to_owned(),
        reason: Some("Species+ quotas of the catalogue, imported after a sync".to_owned()),
    };
    match import_speciesplus(db, &ledger, &actor).await {
        Ok(report) => {
            for line in &report.not_applied {
                tracing::warn!(speciesplus_id = line.speciesplus_id, quota = ?line.quota_id, "{}", line.message);
            }
            tracing::info!(
                imported = report.imported,
                revised = report.revised.len(),
                unchanged = report.unchanged,
                not_applied = report.not_applied.len(),
                skipped = report.skipped,
                "Species+ quotas imported after the sync"
            );
            Some(report)
        }
        Err(e) => {
            tracing::error!(error = %e, "the Species+ quotas could not be imported after the sync; run cites quota import");
            None
        }
    }
}

/// What an import of the catalogue's Species+ quotas did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    /// Declared in the ledger by this import.
    pub imported: u64,
    /// Imported before, with the same values: nothing to do.
    pub unchanged: u64,
    /// Imported before, whose Species+ value changed (published after "in preparation", or
    /// revised): the ledger's limit was revised, each with a line saying from what to what.
    pub revised: Vec<ImportLine>,
    /// Rows the ledger did not take, each with a line saying which and why (a quota whose
    /// country, taxon, unit or year changed since it was imported; a new value below what is
    /// already used; a national limit that does not follow Species+).
    pub not_applied: Vec<ImportLine>,
    /// Rows that cannot be a quota: no taxon or publication date, unknown unit or country.
    pub skipped: u64,
}

/// One Species+ quota an import reports on: which, the ledger's quota if there is one (for a
/// program to act on), and the line a person reads.
#[derive(Debug, serde::Serialize)]
pub struct ImportLine {
    pub speciesplus_id: i64,
    pub quota_id: Option<i64>,
    pub message: String,
}

impl ImportReport {
    /// The one-line count `cites quota import` and `cites sync` print.
    pub fn summary(&self) -> String {
        format!(
            "{} imported, {} revised, {} unchanged, {} not applied, {} skipped (no taxon, unknown unit or country)",
            self.imported,
            self.revised.len(),
            self.unchanged,
            self.not_applied.len(),
            self.skipped
        )
    }
}

impl ImportLine {
    fn new(speciesplus_id: i64, quota_id: Option<i64>, message: String) -> ImportLine {
        ImportLine {
            speciesplus_id,
            quota_id,
            message,
        }
    }
}

impl std::fmt::Display for ImportLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Declares every current Species+ quota of the catalogue with a taxon in the ledger, keyed
/// `speciesplus-<id>` so that importing again changes nothing. A null value is a quota "in
/// preparation"; its period is the calendar year of its publication. A row the ledger does not
/// take (its values changed since it was imported, which would be a revision, not supported
/// yet; or a value it refuses) is reported and the import carries on with the others. An
/// empty catalogue is an error saying how to fill it.
pub async fn import_speciesplus(
    db: &Db,
    ledger: &Ledger,
    actor: &Actor,
) -> anyhow::Result<ImportReport> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        taxon_concept_id: Option<i64>,
        quota: Option<String>,
        unit_code: Option<String>,
        country: String,
        publication_date: Option<chrono::NaiveDate>,
        notes: Option<String>,
    }
    if sync::store::counts(db).await?.taxa == 0 {
        anyhow::bail!(
            "the catalogue is empty: there are no Species+ quotas to import. Fill it first: {}",
            crate::http::quota::FILL_THE_CATALOGUE
        );
    }
    let rows: Vec<Row> = db::with_db!(db, pool => sqlx::query_as::<_, Row>(
        "SELECT id, taxon_concept_id, quota, unit_code, country, publication_date, notes \
         FROM quotas WHERE is_current = $1 ORDER BY id")
        .bind(true).fetch_all(pool).await)?;
    // What earlier imports declared, by Species+ id, with the value Species+ published then:
    // to tell "unchanged" from "imported" and to show what a changed quota was.
    let before: HashMap<i64, (QuotaView, Option<Decimal>)> = ledger
        .imported_quotas()
        .await?
        .into_iter()
        .filter_map(|(q, value)| q.speciesplus_id.map(|id| (id, (q, value))))
        .collect();
    let mut report = ImportReport::default();
    for r in rows {
        let (Some(taxon), Some(published)) = (r.taxon_concept_id, r.publication_date) else {
            report.skipped += 1;
            continue;
        };
        let (Ok(exporter), Ok(unit)) = (
            CountryCode::parse(&r.country),
            UnitCode::parse(r.unit_code.as_deref().unwrap_or("")),
        ) else {
            report.skipped += 1;
            continue;
        };
        let Ok(taxon_id) = u32::try_from(taxon) else {
            report.skipped += 1;
            continue;
        };
        let limit = match r.quota.as_deref() {
            Some(v) => match Decimal::from_str(v)
                .map_err(anyhow::Error::from)
                .and_then(|d| Ok(Quantity::new(d, unit)?))
            {
                Ok(limit) => Some(limit),
                // One malformed value is that quota's problem, not the others'.
                Err(e) => {
                    report.not_applied.push(ImportLine::new(r.id, None, format!(
                        "not applied: Species+ quota {} ({exporter}, taxon {taxon}): its value {v:?}: {e}",
                        r.id
                    )));
                    continue;
                }
            },
            None => None,
        };
        let spec = QuotaSpec {
            exporter,
            taxon_id: TaxonId::new(taxon_id),
            period: Period::calendar_year(chrono::Datelike::year(&published)),
            limit,
            unit,
            term: None,
            source: None,
            purpose: None,
            notes: r.notes,
            speciesplus_id: Some(r.id),
        };
        if let Some((q, imported)) = before.get(&r.id) {
            if !same_quota(q, &spec) {
                report.not_applied.push(ImportLine::new(
                    r.id,
                    Some(q.id),
                    changed_since_import(r.id, &spec, Some(q)),
                ));
                continue;
            }
            match follow_speciesplus(ledger, r.id, q, *imported, spec.limit.as_ref(), actor).await?
            {
                Followed::Unchanged => report.unchanged += 1,
                Followed::Revised(line) => {
                    report.revised.push(ImportLine::new(r.id, Some(q.id), line));
                }
                Followed::NotApplied(line) => {
                    report
                        .not_applied
                        .push(ImportLine::new(r.id, Some(q.id), line));
                }
            }
            continue;
        }
        // A Species+ quota the ledger does not take, and why.
        let refused = |why: &dyn std::fmt::Display| {
            ImportLine::new(
                r.id,
                None,
                format!(
                    "not applied: Species+ quota {} ({}, taxon {}, {}): {why}",
                    r.id, spec.exporter, spec.taxon_id, spec.period.start
                ),
            )
        };
        let key = ClientKey::parse(&format!("speciesplus-{}", r.id))?;
        let merged =
            match crate::http::quota::declarable::<anyhow::Error>(db, ledger, &key, spec.taxon_id)
                .await?
            {
                Ok(merged) => merged,
                Err(why) => {
                    report.not_applied.push(refused(&why));
                    continue;
                }
            };
        match ledger
            .declare_with_merged(&key, &spec, &merged, actor)
            .await
        {
            Ok(_) => report.imported += 1,
            // A national quota of this scope: a second one would allow the same exports twice.
            // Reported at every import until the Management Authority settles it.
            Err(quota::Error::QuotaExists { existing, scope }) => {
                let follow = match &spec.limit {
                    Some(limit) => format!(
                        "to follow Species+, revise it: cites quota revise {existing} --limit {}",
                        limit.amount()
                    ),
                    None => format!(
                        "Species+ shows this quota in preparation: revise quota {existing} \
                         --in-preparation to follow it"
                    ),
                };
                report.not_applied.push(refused(&format!(
                    "national quota {existing} already covers {scope}; {follow}"
                )));
            }
            // Declared meanwhile (another import) with other values: not this run's to settle.
            Err(quota::Error::KeyConflict { .. }) => report.not_applied.push(ImportLine::new(
                r.id,
                None,
                changed_since_import(r.id, &spec, None),
            )),
            Err(e @ (quota::Error::Invalid { .. } | quota::Error::Domain(_))) => {
                report.not_applied.push(refused(&e));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}

/// Whether `spec` is still the quota `q` (country, taxon, unit, period): then only its value
/// may have changed, which a revision applies.
fn same_quota(q: &QuotaView, spec: &QuotaSpec) -> bool {
    q.exporter == spec.exporter.as_str()
        && q.taxon_id == i64::from(spec.taxon_id.get())
        && q.unit == spec.unit.code()
        && (q.period_start, q.period_end) == (spec.period.start, spec.period.end)
}

/// The line for a Species+ quota whose values changed since `first` imported it.
fn changed_since_import(speciesplus_id: i64, now: &QuotaSpec, first: Option<&QuotaView>) -> String {
    let limit = shown_limit;
    let mut changes = Vec::new();
    let mut quota = String::new();
    if let Some(q) = first {
        quota = format!(" as quota {}", q.id);
        let new_limit = now.limit.as_ref().map(|l| l.amount());
        if q.limit.map(|l| l.normalize()) != new_limit.map(|l| l.normalize()) {
            changes.push(format!("value {} -> {}", limit(q.limit), limit(new_limit)));
        }
        if q.unit != now.unit.code() {
            changes.push(format!("unit {:?} -> {:?}", q.unit, now.unit.code()));
        }
        if q.exporter != now.exporter.as_str() {
            changes.push(format!("country {} -> {}", q.exporter, now.exporter));
        }
        if q.taxon_id != i64::from(now.taxon_id.get()) {
            changes.push(format!("taxon {} -> {}", q.taxon_id, now.taxon_id));
        }
        if (q.period_start, q.period_end) != (now.period.start, now.period.end) {
            changes.push(format!(
                "period {} -> {}",
                shown_period(q.period_start, q.period_end),
                shown_period(now.period.start, now.period.end)
            ));
        }
    }
    if changes.is_empty() {
        changes.push(format!(
            "now value {} {}, country {}, taxon {}, period from {}",
            limit(now.limit.as_ref().map(|l| l.amount())),
            now.unit.code(),
            now.exporter,
            now.taxon_id,
            now.period.start
        ));
    }
    format!(
        "not applied: Species+ quota {speciesplus_id} changed since it was imported{quota} ({}); \
         only its value can be revised, so the ledger keeps the first values",
        changes.join(", ")
    )
}

/// A quota's period as people read it: its first and last days (the stored end is the day
/// after, which "2026-01-01..2027-01-01" would make look included).
fn shown_period(start: chrono::NaiveDate, end: chrono::NaiveDate) -> String {
    format!("{start} to {}", end.pred_opt().unwrap_or(end))
}

/// An instant given on the command line (`--{option}`), in RFC 3339, at a second 00 to 59.
fn instant(option: &str, value: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let at = chrono::DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&chrono::Utc))
        .map_err(|e| {
            anyhow::anyhow!(
                "invalid --{option} {value:?} ({e}): accepted an RFC 3339 instant, such as 2026-12-10T00:00:00Z"
            )
        })?;
    if domain::is_leap_second(&at) {
        anyhow::bail!(
            "invalid --{option} {value:?}: accepted {}",
            domain::LEAP_SECOND_REFUSED
        );
    }
    Ok(at)
}
