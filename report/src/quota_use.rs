//! The quota-use review (Art. IV(3) monitoring): per quota and period, the figures, use by
//! month, the run-out date at the current pace, refused demand and flags.
//!
//! "Used" is box 11a of the permit: committed + exported. Holds are pending permit checks and
//! are shown but not counted as use. Exceeded, over 80 % and the run-out day are decided on
//! exact decimals; only `used_share` and `period_elapsed_share` are floating point.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, Duration};
use domain::{CountryCode, Date, Quantity, TaxonId};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use crate::input::{HistoryEntry, PublishedLimit, QuotaInput, QuotaUseInput, RefusalRecord};

/// Something a Scientific Authority should look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// More than 80 % of the limit used (and not exceeded).
    Over80Percent,
    /// More used than the limit allows (possible after the limit was revised down).
    Exceeded,
    /// A zero quota with counters, ledger changes or refused requests.
    ActivityUnderZeroQuota,
    /// No value yet: nothing can be reserved.
    InPreparation,
    /// The national limit is not what Species+ publishes for the same exporter, taxon and period.
    DiffersFromSpeciesPlus,
}

impl Flag {
    /// The flag's name as JSON, CSV and the tables give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Over80Percent => "over_80_percent",
            Flag::Exceeded => "exceeded",
            Flag::ActivityUnderZeroQuota => "activity_under_zero_quota",
            Flag::InPreparation => "in_preparation",
            Flag::DiffersFromSpeciesPlus => "differs_from_species_plus",
        }
    }
}

/// By the name `as_str` gives, the same in JSON as in CSV and the tables.
impl Serialize for Flag {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One calendar month of a quota's use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthUse {
    /// `YYYY-MM`.
    pub month: String,
    /// Net change of committed + exported in the month (a release or an expiry subtracts).
    pub used: Decimal,
    /// Committed + exported at the month's end (from the period's start at zero).
    pub cumulative: Decimal,
    pub refused_requests: u32,
}

/// One quota's review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaUseRow {
    pub quota_id: i64,
    pub exporter: CountryCode,
    pub taxon_id: TaxonId,
    pub taxon_name: String,
    pub period_start: Date,
    pub period_last_day: Date,
    pub unit: String,
    pub term: Option<String>,
    pub source: Option<String>,
    pub purpose: Option<String>,
    /// `None` while in preparation.
    pub limit: Option<Decimal>,
    pub held: Decimal,
    pub committed: Decimal,
    pub exported: Decimal,
    /// Box 11a: committed + exported.
    pub used: Decimal,
    /// limit - held - used; negative when exceeded. `None` while in preparation.
    pub available: Option<Decimal>,
    /// used / limit; `None` for a zero quota or one in preparation.
    pub used_share: Option<f64>,
    /// Share of the period's days gone by on `today` (0 before it starts, 1 after it ends).
    pub period_elapsed_share: f64,
    /// The day use reaches the limit at the pace so far (or the day it did); `None` when it
    /// does not within the period, there is no use yet, or there is no positive limit.
    pub runs_out_on: Option<Date>,
    pub refused_requests: u32,
    /// Sum of the quantities refused requests asked for (those that gave one).
    pub refused_quantity: Decimal,
    /// What Species+ publishes: `in preparation`, `<amount> <unit>`, or `None`.
    pub published: Option<String>,
    pub flags: Vec<Flag>,
    pub months: Vec<MonthUse>,
}

/// The review of every quota handed in, as of `today`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaUseReview {
    pub today: Date,
    pub rows: Vec<QuotaUseRow>,
}

impl QuotaUseReview {
    /// The review as JSON (amounts as strings, exact).
    pub fn to_json(&self) -> crate::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

/// Reviews each quota as of `today`; rows are sorted by exporter, taxon name, period, id.
pub fn review(today: Date, quotas: &[QuotaUseInput]) -> QuotaUseReview {
    let mut rows: Vec<QuotaUseRow> = quotas.iter().map(|q| review_one(today, q)).collect();
    rows.sort_by(|a, b| {
        (
            a.exporter.as_str(),
            &a.taxon_name,
            a.period_start,
            a.quota_id,
        )
            .cmp(&(
                b.exporter.as_str(),
                &b.taxon_name,
                b.period_start,
                b.quota_id,
            ))
    });
    QuotaUseReview { today, rows }
}

fn review_one(today: Date, input: &QuotaUseInput) -> QuotaUseRow {
    let q = &input.quota;
    let mut history: Vec<&HistoryEntry> = input.history.iter().collect();
    history.sort_by_key(|e| e.at);
    let used = q.committed + q.exported;
    let start = q.period.start();
    let last_day = q.period.last_day().unwrap_or(start);
    let elapsed = elapsed_days(today, start, last_day);
    let refused_quantity = input.refusals.iter().filter_map(|r| r.requested).sum();
    QuotaUseRow {
        quota_id: q.id,
        exporter: q.exporter,
        taxon_id: q.taxon_id,
        taxon_name: q.taxon_name.clone(),
        period_start: start,
        period_last_day: last_day,
        unit: q.unit.code().to_owned(),
        term: q.term.map(|c| c.code().to_owned()),
        source: q.source.map(|c| c.code().to_owned()),
        purpose: q.purpose.map(|c| c.code().to_owned()),
        limit: q.limit,
        held: q.held,
        committed: q.committed,
        exported: q.exported,
        used,
        available: q.limit.map(|l| l - q.held - used),
        used_share: q
            .limit
            .filter(|l| !l.is_zero())
            .and_then(|l| (used / l).to_f64()),
        period_elapsed_share: elapsed as f64 / q.period.days().max(1) as f64,
        runs_out_on: runs_out_on(q, used, elapsed, last_day, &history),
        refused_requests: count(input.refusals.len()),
        refused_quantity,
        published: q.published.map(|p| match p {
            PublishedLimit::InPreparation => "in preparation".to_owned(),
            PublishedLimit::Value { amount, unit } => format!("{amount} {}", unit.code()),
        }),
        flags: flags(q, used, &history, &input.refusals),
        months: months(start, today.min(last_day), &history, &input.refusals),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Days of the period gone by on `today`, today included.
fn elapsed_days(today: Date, start: Date, last_day: Date) -> i64 {
    if today < start {
        0
    } else {
        (today.min(last_day) - start).num_days() + 1
    }
}

/// At the pace so far (`used` over `elapsed` days), the first day on which use reaches the
/// limit: day n with n * used / elapsed >= limit, n = ceil(limit * elapsed / used), exactly.
/// A limit already reached gives the day the history reached it (today, or the period's last
/// day, when the history handed in does not show it).
fn runs_out_on(
    q: &QuotaInput,
    used: Decimal,
    elapsed: i64,
    last_day: Date,
    history: &[&HistoryEntry],
) -> Option<Date> {
    let limit = q.limit.filter(|l| l.is_sign_positive() && !l.is_zero())?;
    let start = q.period.start();
    if used >= limit {
        let mut cumulative = Decimal::ZERO;
        for e in history {
            cumulative += e.delta_committed + e.delta_exported;
            if cumulative >= limit {
                return Some(e.at.date_naive());
            }
        }
        return Some(start + Duration::days(elapsed.max(1) - 1));
    }
    if used <= Decimal::ZERO || elapsed == 0 {
        return None;
    }
    let n = (limit * Decimal::from(elapsed) / used).ceil().to_i64()?;
    let day = start.checked_add_signed(Duration::days(n - 1))?;
    (day <= last_day).then_some(day)
}

fn flags(
    q: &QuotaInput,
    used: Decimal,
    history: &[&HistoryEntry],
    refusals: &[RefusalRecord],
) -> Vec<Flag> {
    let mut flags = Vec::new();
    match q.limit {
        None => flags.push(Flag::InPreparation),
        Some(limit) if limit.is_zero() => {
            let moved = history.iter().any(|e| {
                !(e.delta_held.is_zero()
                    && e.delta_committed.is_zero()
                    && e.delta_exported.is_zero())
            });
            if moved || !refusals.is_empty() || !(q.held + used).is_zero() {
                flags.push(Flag::ActivityUnderZeroQuota);
            }
            if used > limit {
                flags.push(Flag::Exceeded);
            }
        }
        Some(limit) => {
            if used > limit {
                flags.push(Flag::Exceeded);
            } else if used * Decimal::from(10) > limit * Decimal::from(8) {
                flags.push(Flag::Over80Percent);
            }
        }
    }
    if differs_from_published(q) {
        flags.push(Flag::DiffersFromSpeciesPlus);
    }
    flags.sort();
    flags
}

/// Compared exactly, in the ledger's unit; a published value in a unit of another dimension
/// (or that cannot be a quantity) differs.
fn differs_from_published(q: &QuotaInput) -> bool {
    match (q.published, q.limit) {
        (None, _) => false,
        (Some(PublishedLimit::InPreparation), limit) => limit.is_some(),
        (Some(PublishedLimit::Value { .. }), None) => true,
        (Some(PublishedLimit::Value { amount, unit }), Some(limit)) => {
            match Quantity::new(amount, unit).and_then(|p| p.convert_to(q.unit)) {
                Ok(p) => p.amount() != limit,
                Err(_) => true,
            }
        }
    }
}

type MonthKey = (i32, u32);

fn month_key(d: Date) -> MonthKey {
    (d.year(), d.month())
}

fn next_month((y, m): MonthKey) -> MonthKey {
    if m == 12 { (y + 1, 1) } else { (y, m + 1) }
}

/// Every month from the period's start to `as_of`'s month, and any month an entry or a
/// refusal falls in, without gaps.
fn months(
    start: Date,
    as_of: Date,
    history: &[&HistoryEntry],
    refusals: &[RefusalRecord],
) -> Vec<MonthUse> {
    let mut used: BTreeMap<MonthKey, Decimal> = BTreeMap::new();
    let mut refused: BTreeMap<MonthKey, u32> = BTreeMap::new();
    for e in history {
        *used.entry(month_key(e.at.date_naive())).or_default() +=
            e.delta_committed + e.delta_exported;
    }
    for r in refusals {
        *refused.entry(month_key(r.at.date_naive())).or_default() += 1;
    }
    let first = [month_key(start)]
        .into_iter()
        .chain(used.keys().next().copied())
        .chain(refused.keys().next().copied())
        .min();
    let last = [month_key(as_of.max(start))]
        .into_iter()
        .chain(used.keys().next_back().copied())
        .chain(refused.keys().next_back().copied())
        .max();
    let (Some(mut key), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cumulative = Decimal::ZERO;
    loop {
        let change = used.get(&key).copied().unwrap_or_default();
        cumulative += change;
        out.push(MonthUse {
            month: format!("{:04}-{:02}", key.0, key.1),
            used: change,
            cumulative,
            refused_requests: refused.get(&key).copied().unwrap_or(0),
        });
        if key >= last {
            break;
        }
        key = next_month(key);
    }
    out
}
