//! `cites quota …`: the quota ledger from the command line, and the import of Species+ quotas.

use std::sync::Arc;

use db::Db;
use domain::{
    Clock, CountryCode, Period, PurposeCode, Quantity, SourceCode, TaxonId, TermCode, UnitCode,
};
use quota::{Actor, Ledger, Outcome, QuotaSpec, QuotaView};
use rust_decimal::Decimal;

use crate::app::permits::{PermitError, PermitNumber, Permits};
use crate::app::quota::{shown_limit, shown_period, unit_or};
use crate::app::quota_import::{ImportError, import_speciesplus};
use crate::cli::{Ending, Importer, QuotaCommand, SetArgs, Who};

/// A `--limit` in `unit`, read as the HTTP routes read a limit
/// ([`crate::app::quota::amount_in_unit`]).
fn quantity(field: &'static str, amount: &str, unit: &str) -> anyhow::Result<Quantity> {
    crate::app::quota::amount_in_unit([field, "--unit"], amount, unit, false)
        .map_err(|(_, message)| anyhow::anyhow!(message))
}

/// `--quantity` of a reservation, commit or export: it moves the quota, so more than nothing
/// (a `--limit`, read by [`quantity`], may be zero).
fn moved_quantity(amount: &str, unit: &str) -> anyhow::Result<Quantity> {
    crate::app::quota::amount_in_unit(["--quantity", "--unit"], amount, unit, true)
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
        println!("{:#}", crate::app::views::outcome_json(o));
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

/// Runs one quota subcommand, each in a function of its own.
async fn run_command(
    db: Db,
    clock: Arc<dyn Clock>,
    command: QuotaCommand,
) -> anyhow::Result<Ending> {
    let ledger = Ledger::new(db.clone(), clock);
    match command {
        QuotaCommand::Set(args) => set(&db, &ledger, args).await,
        QuotaCommand::Revise {
            id,
            limit,
            in_preparation: _,
            unit,
            who,
        } => revise(&ledger, id, limit, unit, who).await,
        QuotaCommand::Import { who } => import(&db, &ledger, who).await,
        QuotaCommand::List {
            exporter,
            taxon,
            year,
            json,
        } => list(&db, &ledger, exporter, taxon, year, json).await,
        QuotaCommand::Show { id, json } => show(&ledger, id, json).await,
        QuotaCommand::History {
            id,
            after,
            limit,
            json,
        } => history(&ledger, id, after, limit, json).await,
        QuotaCommand::Reserve {
            quota,
            quantity,
            unit,
            expires_at,
            who,
        } => reserve(&ledger, quota, quantity, unit, expires_at, who).await,
        QuotaCommand::Commit {
            reservation,
            quantity,
            unit,
            permit_expires_at,
            permit,
            who,
        } => {
            let permits = Permits::new(db.clone(), ledger.clone());
            let moved = Moved {
                quantity,
                unit,
                permit_expires_at,
                permit,
            };
            commit(&ledger, &permits, reservation, moved, who).await
        }
        QuotaCommand::Release { reservation, who } => release(&ledger, reservation, who).await,
        QuotaCommand::Export {
            reservation,
            quantity,
            unit,
            who,
        } => {
            let permits = Permits::new(db.clone(), ledger.clone());
            export(&ledger, &permits, reservation, quantity, unit, who).await
        }
        QuotaCommand::Close { reservation, who } => {
            let permits = Permits::new(db.clone(), ledger.clone());
            close(&ledger, &permits, reservation, who).await
        }
        QuotaCommand::Sweep => {
            let permits = Permits::new(db.clone(), ledger.clone());
            sweep(&ledger, &permits).await
        }
    }
}

/// `cites quota set`: declares a national quota on an accepted, active taxon of the catalogue.
#[allow(clippy::print_stdout)]
async fn set(db: &Db, ledger: &Ledger, args: SetArgs) -> anyhow::Result<Ending> {
    let SetArgs {
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
    } = args;
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
    let merged = crate::app::quota::declarable::<anyhow::Error>(db, ledger, &key, spec.taxon_id)
        .await?
        .map_err(|why| anyhow::anyhow!("invalid taxon {} for --taxon: {why}", spec.taxon_id))?;
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
    Ok(Ending::Done)
}

/// `cites quota revise`: the quota's limit anew (without `--limit`, in preparation).
#[allow(clippy::print_stdout)]
async fn revise(
    ledger: &Ledger,
    id: i64,
    limit: Option<String>,
    unit: Option<String>,
    who: Who,
) -> anyhow::Result<Ending> {
    let limit = match limit {
        Some(l) => {
            let unit = unit_or(unit.as_deref(), ledger.quota_unit(id)).await?;
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
    Ok(Ending::Done)
}

/// `cites quota import`: the catalogue's Species+ quotas into the ledger; [`Ending::Refused`]
/// when some were not applied (printed).
#[allow(clippy::print_stdout)]
async fn import(db: &Db, ledger: &Ledger, who: Importer) -> anyhow::Result<Ending> {
    let report = import_speciesplus(db, ledger, &who.actor())
        .await
        .map_err(|e| match e {
            // As the ledger's and the catalogue's own errors, which name the option.
            ImportError::Quota(e) => anyhow::Error::from(e),
            ImportError::Catalogue(e) => anyhow::Error::from(e),
            e => anyhow::Error::from(e),
        })?;
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
    Ok(Ending::Done)
}

/// `cites quota list`: the quotas, as the HTTP list filters them.
#[allow(clippy::print_stdout)]
async fn list(
    db: &Db,
    ledger: &Ledger,
    exporter: Option<String>,
    taxon: Option<String>,
    year: Option<i32>,
    json: bool,
) -> anyhow::Result<Ending> {
    // As the HTTP list: a taxon's quotas include those on concepts merged into it.
    let taxon = taxon
        .map(|t| TaxonId::parse(&t).map_err(|e| e.for_field("--taxon")))
        .transpose()?;
    let taxa = match taxon {
        Some(t) => Some(crate::app::quota::taxa_governing(db, t).await?),
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
        && let Some(why) = crate::app::quota::unknown_taxon(db, t).await?
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
    Ok(Ending::Done)
}

/// `cites quota show`: one quota, with the value Species+ published at its last import.
#[allow(clippy::print_stdout)]
async fn show(ledger: &Ledger, id: i64, json: bool) -> anyhow::Result<Ending> {
    let (q, published) = ledger.quota_with_speciesplus_value(id).await?;
    if json {
        let shown = crate::app::views::with_speciesplus_value(&q, published);
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
    Ok(Ending::Done)
}

/// `cites quota history`: the audit ledger of a quota, one page or all of it.
#[allow(clippy::print_stdout)]
async fn history(
    ledger: &Ledger,
    id: i64,
    after: i64,
    limit: Option<u32>,
    json: bool,
) -> anyhow::Result<Ending> {
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
    Ok(Ending::Done)
}

/// `cites quota reserve`: a hold on a quantity of a quota.
#[allow(clippy::print_stdout)]
async fn reserve(
    ledger: &Ledger,
    quota: i64,
    q: String,
    unit: Option<String>,
    expires_at: Option<String>,
    who: Who,
) -> anyhow::Result<Ending> {
    let unit = unit_or(unit.as_deref(), ledger.quota_unit(quota)).await?;
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
    Ok(print_outcome(Operation::Reserve, &o, who.json))
}

/// `cites quota commit`: a held reservation committed (an issued permit), all or part.
#[allow(clippy::print_stdout)]
async fn commit(
    ledger: &Ledger,
    permits: &Permits,
    reservation: i64,
    moved: Moved,
    who: Who,
) -> anyhow::Result<Ending> {
    let Moved {
        quantity: q,
        unit,
        permit_expires_at,
        permit,
    } = moved;
    let permit_expires_at = permit_expires_at
        .map(|at| instant("permit-expires-at", &at))
        .transpose()?;
    let number = permit
        .as_deref()
        .map(PermitNumber::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("invalid --permit: {e}"))?;
    let q = match q {
        Some(q) => {
            let unit = unit_or(unit.as_deref(), ledger.reservation_unit(reservation)).await?;
            Some(moved_quantity(&q, &unit)?)
        }
        None => None,
    };
    let o = permits
        .commit(
            &who.key()?,
            reservation,
            number.as_ref(),
            q.as_ref(),
            permit_expires_at,
            &who.actor(),
        )
        .await
        .map_err(|e| match e {
            PermitError::Ledger(q) => anyhow::Error::from(q),
            PermitError::Conflict(m) => anyhow::anyhow!("--permit: {m}"),
            e => anyhow::Error::from(e),
        })?;
    Ok(print_outcome(Operation::Commit, &o, who.json))
}

/// What `cites quota commit` takes besides the reservation.
struct Moved {
    quantity: Option<String>,
    unit: Option<String>,
    permit_expires_at: Option<String>,
    permit: Option<String>,
}

/// A permit's export or close as a new revision of its document in the register.
async fn registered(permits: &Permits, o: &Outcome) -> anyhow::Result<()> {
    if let Outcome::Done { reservation, .. } = o {
        permits.sync(reservation.id).await?;
    }
    Ok(())
}

/// `cites quota release`: a held reservation given back to its quota.
#[allow(clippy::print_stdout)]
async fn release(ledger: &Ledger, reservation: i64, who: Who) -> anyhow::Result<Ending> {
    let o = ledger
        .release(&who.key()?, reservation, &who.actor())
        .await?;
    Ok(print_outcome(Operation::Release, &o, who.json))
}

/// `cites quota export`: a quantity exported under a committed permit.
#[allow(clippy::print_stdout)]
async fn export(
    ledger: &Ledger,
    permits: &Permits,
    reservation: i64,
    q: String,
    unit: Option<String>,
    who: Who,
) -> anyhow::Result<Ending> {
    let unit = unit_or(unit.as_deref(), ledger.reservation_unit(reservation)).await?;
    let o = ledger
        .record_export(
            &who.key()?,
            reservation,
            &moved_quantity(&q, &unit)?,
            &who.actor(),
        )
        .await?;
    registered(permits, &o).await?;
    Ok(print_outcome(Operation::Export, &o, who.json))
}

/// `cites quota close`: a committed permit closed.
#[allow(clippy::print_stdout)]
async fn close(
    ledger: &Ledger,
    permits: &Permits,
    reservation: i64,
    who: Who,
) -> anyhow::Result<Ending> {
    let o = ledger.close(&who.key()?, reservation, &who.actor()).await?;
    registered(permits, &o).await?;
    Ok(print_outcome(Operation::Close, &o, who.json))
}

/// `cites quota sweep`: holds expired and permits closed whose time has passed.
#[allow(clippy::print_stdout)]
async fn sweep(ledger: &Ledger, permits: &Permits) -> anyhow::Result<Ending> {
    let r = ledger
        .sweep_due(&Actor {
            name: "cli".into(),
            reason: Some("sweep".into()),
        })
        .await?;
    println!("expired {} holds, closed {} permits", r.expired, r.closed);
    if r.closed > 0 {
        // The permits closed are ended in the register too.
        permits.backfill(&sync::NoProgress).await?;
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
