//! The import of the catalogue's Species+ quotas into the ledger (`cites quota import`, and
//! after every successful sync): declared once, keyed by the Species+ id, revised while the
//! limit is still the imported one, reported otherwise.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use db::Db;
use domain::{Clock, CountryCode, Period, Quantity, TaxonId, UnitCode};
use quota::{Actor, ClientKey, Ledger, QuotaSpec, QuotaView};
use rust_decimal::Decimal;

use crate::app::quota::{FILL_THE_CATALOGUE, declarable, shown_limit, shown_period};

/// Why an import stopped (what one Species+ quota's row could not do is reported, not an
/// error).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "the catalogue is empty: there are no Species+ quotas to import. Fill it first: {}",
        FILL_THE_CATALOGUE
    )]
    EmptyCatalogue,
    #[error(transparent)]
    Catalogue(#[from] sync::Error),
    #[error(transparent)]
    Quota(#[from] quota::Error),
}

/// What an import did with the value Species+ publishes now for a quota it imported before.
enum Followed {
    Unchanged,
    Revised(String),
    NotApplied(String),
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
) -> Result<Followed, ImportError> {
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
) -> Result<ImportReport, ImportError> {
    if sync::store::counts(db).await?.taxa == 0 {
        return Err(ImportError::EmptyCatalogue);
    }
    let rows = sync::store::current_quotas(db).await?;
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
                .map_err(|e| e.to_string())
                .and_then(|d| Quantity::new(d, unit).map_err(|e| e.to_string()))
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
        let merged = match declarable::<ImportError>(db, ledger, &key, spec.taxon_id).await? {
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
