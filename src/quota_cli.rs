//! `cites quota …`: the quota ledger from the command line, and the import of Species+ quotas.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use db::Db;
use domain::{
    Clock, CountryCode, Period, PurposeCode, Quantity, SourceCode, TaxonId, TermCode, UnitCode,
};
use quota::{Actor, ClientKey, Ledger, Outcome, QuotaSpec};
use rust_decimal::Decimal;

use crate::cli::QuotaCommand;

fn quantity(field: &'static str, amount: &str, unit: &str) -> anyhow::Result<Quantity> {
    let a = Decimal::from_str(amount.trim()).with_context(|| {
        format!("invalid {field} {amount:?}: accepted an exact decimal such as 12.5")
    })?;
    Ok(
        Quantity::new(a, UnitCode::parse(unit).map_err(|e| e.for_field("unit"))?)
            .map_err(|e| e.for_field(field))?,
    )
}

#[allow(clippy::print_stdout)]
fn print_outcome(o: &Outcome) -> anyhow::Result<()> {
    match o {
        Outcome::Done { reservation, quota } => {
            println!(
                "done: reservation {} is {} ({} {}); quota {} available {} (box 11a: {} used)",
                reservation.id,
                reservation.state.as_str(),
                reservation.quantity,
                quota.unit,
                quota.id,
                quota.available,
                quota.box_11a_used
            );
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
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
pub async fn run(db: Db, clock: Arc<dyn Clock>, command: QuotaCommand) -> anyhow::Result<()> {
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
                    domain::parse_date("period_start", &start)?,
                    domain::parse_date("period_last_day", &last)?,
                )?,
                _ => anyhow::bail!(
                    "invalid quota period: give --year (1975 to 2200), or --period-start and --period-last-day (any 12-month period)"
                ),
            };
            let unit = UnitCode::parse(&unit).map_err(|e| e.for_field("unit"))?;
            let spec = QuotaSpec {
                exporter: CountryCode::parse(&exporter).map_err(|e| e.for_field("exporter"))?,
                taxon_id: TaxonId::parse(&taxon).map_err(|e| e.for_field("taxon"))?,
                period,
                limit: limit
                    .as_deref()
                    .map(|l| quantity("limit", l, unit.code()))
                    .transpose()?,
                unit,
                term: term
                    .as_deref()
                    .map(|t| TermCode::parse(t).map_err(|e| e.for_field("term")))
                    .transpose()?,
                source: source
                    .as_deref()
                    .map(|t| SourceCode::parse(t).map_err(|e| e.for_field("source")))
                    .transpose()?,
                purpose: purpose
                    .as_deref()
                    .map(|t| PurposeCode::parse(t).map_err(|e| e.for_field("purpose")))
                    .transpose()?,
                notes,
                speciesplus_id: None,
            };
            let q = ledger.declare(&who.key()?, &spec, &who.actor()).await?;
            println!(
                "quota {} declared: {} {} of taxon {} for {}..{}",
                q.id,
                q.limit
                    .map(|l| l.to_string())
                    .unwrap_or_else(|| "in preparation".into()),
                q.unit,
                q.taxon_id,
                q.period_start,
                q.period_end
            );
        }
        QuotaCommand::Import { who } => {
            let (imported, skipped) = import_speciesplus(&db, &ledger, &who.actor()).await?;
            println!(
                "imported {imported} Species+ quotas ({skipped} skipped: no taxon, unknown unit or country)"
            );
        }
        QuotaCommand::List {
            exporter,
            taxon,
            year,
            json,
        } => {
            let list = ledger.quotas(exporter.as_deref(), taxon, year).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for q in list {
                    println!(
                        "{:>5}  {} taxon {:<8} {}..{}  limit {:>10} {:<3} held {} committed {} exported {} available {}",
                        q.id,
                        q.exporter,
                        q.taxon_id,
                        q.period_start,
                        q.period_end,
                        q.limit
                            .map(|l| l.to_string())
                            .unwrap_or_else(|| "in prep.".into()),
                        q.unit,
                        q.held,
                        q.committed,
                        q.exported,
                        q.available
                    );
                }
            }
        }
        QuotaCommand::Show { id, json } => {
            let q = ledger.quota(id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&q)?);
            } else {
                println!(
                    "quota {}: {} exports of taxon {} for {}..{}",
                    q.id, q.exporter, q.taxon_id, q.period_start, q.period_end
                );
                println!(
                    "  limit      {} {}",
                    q.limit
                        .map(|l| l.to_string())
                        .unwrap_or_else(|| "in preparation".into()),
                    q.unit
                );
                println!(
                    "  held       {}\n  committed  {}\n  exported   {}\n  available  {}",
                    q.held, q.committed, q.exported, q.available
                );
                println!("  box 11a    {} used against the quota", q.box_11a_used);
            }
        }
        QuotaCommand::History {
            id,
            after,
            limit,
            json,
        } => {
            let print = |e: &quota::LedgerEntry| {
                println!(
                    "#{:<6} {} {:<8} res {:<6} held {:+} committed {:+} exported {:+}  \
                     -> {} / {} / {}  by {}{}",
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
                    e.actor,
                    e.reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
            };
            if let Some(limit) = limit {
                let page = ledger.history_page(id, after, limit).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&page)?);
                } else {
                    page.entries.iter().for_each(print);
                    if let Some(next) = page.next_after {
                        println!("more: --after {next}");
                    }
                }
                return Ok(());
            }
            // The whole ledger, a page at a time: a long history never sits in memory at once.
            if json {
                print!("[");
            } else {
                println!(
                    "#seq    at                  event    reservation  deltas  -> held / committed / exported after"
                );
            }
            let (mut after, mut first) = (after, true);
            loop {
                let page = ledger
                    .history_page(id, after, quota::HISTORY_PAGE_DEFAULT)
                    .await?;
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
                    Some(next) => after = next,
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
            who,
        } => {
            let o = ledger
                .reserve(
                    &who.key()?,
                    quota,
                    &quantity("quantity", &q, &unit)?,
                    None,
                    &who.actor(),
                )
                .await?;
            print_outcome(&o)?;
        }
        QuotaCommand::Commit {
            reservation,
            quantity: q,
            unit,
            who,
        } => {
            let q = q
                .as_deref()
                .map(|q| quantity("quantity", q, &unit))
                .transpose()?;
            let o = ledger
                .commit(&who.key()?, reservation, q.as_ref(), None, &who.actor())
                .await?;
            print_outcome(&o)?;
        }
        QuotaCommand::Release { reservation, who } => {
            print_outcome(
                &ledger
                    .release(&who.key()?, reservation, &who.actor())
                    .await?,
            )?;
        }
        QuotaCommand::Export {
            reservation,
            quantity: q,
            unit,
            who,
        } => {
            let o = ledger
                .record_export(
                    &who.key()?,
                    reservation,
                    &quantity("quantity", &q, &unit)?,
                    &who.actor(),
                )
                .await?;
            print_outcome(&o)?;
        }
        QuotaCommand::Close { reservation, who } => {
            print_outcome(&ledger.close(&who.key()?, reservation, &who.actor()).await?)?;
        }
        QuotaCommand::Sweep => {
            let r = ledger
                .sweep(&Actor {
                    name: "cli".into(),
                    reason: Some("sweep".into()),
                })
                .await?;
            println!("expired {} holds, closed {} permits", r.expired, r.closed);
        }
    }
    Ok(())
}

/// Declares every current Species+ quota of the catalogue with a taxon in the ledger, keyed
/// `speciesplus-<id>` so that importing again changes nothing. A null value is a quota "in
/// preparation"; its period is the calendar year of its publication.
pub async fn import_speciesplus(
    db: &Db,
    ledger: &Ledger,
    actor: &Actor,
) -> anyhow::Result<(u64, u64)> {
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
    let rows: Vec<Row> = db::with_db!(db, pool => sqlx::query_as::<_, Row>(
        "SELECT id, taxon_concept_id, quota, unit_code, country, publication_date, notes \
         FROM quotas WHERE is_current = $1 ORDER BY id")
        .bind(true).fetch_all(pool).await)?;
    let (mut imported, mut skipped) = (0, 0);
    for r in rows {
        let (Some(taxon), Some(published)) = (r.taxon_concept_id, r.publication_date) else {
            skipped += 1;
            continue;
        };
        let (Ok(exporter), Ok(unit)) = (
            CountryCode::parse(&r.country),
            UnitCode::parse(r.unit_code.as_deref().unwrap_or("")),
        ) else {
            skipped += 1;
            continue;
        };
        let limit = match r.quota.as_deref() {
            Some(v) => Some(Quantity::new(Decimal::from_str(v)?, unit)?),
            None => None,
        };
        let Ok(taxon_id) = u32::try_from(taxon) else {
            skipped += 1;
            continue;
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
        ledger
            .declare(
                &ClientKey::parse(&format!("speciesplus-{}", r.id))?,
                &spec,
                actor,
            )
            .await?;
        imported += 1;
    }
    Ok((imported, skipped))
}
