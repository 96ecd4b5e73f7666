//! What the application layer hands in: plain rows read from the ledger and the catalogue,
//! already in `domain` types. Nothing here is read by this crate from anywhere else; the day
//! of a review is an argument of `review`, never the wall clock.

use domain::{
    CountryCode, Period, PurposeCode, SourceCode, TaxonId, TermCode, Timestamp, UnitCode,
};
use rust_decimal::Decimal;

/// One quota as the ledger holds it, with its counters now. Amounts are exact, in `unit`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaInput {
    /// The ledger's quota id.
    pub id: i64,
    pub exporter: CountryCode,
    pub taxon_id: TaxonId,
    /// The accepted name, for people reading the report.
    pub taxon_name: String,
    pub period: Period,
    pub unit: UnitCode,
    /// `None`: "in preparation" (no value published yet).
    pub limit: Option<Decimal>,
    /// Reserved by permit checks and not yet committed.
    pub held: Decimal,
    /// Committed to permits issued and not yet exported.
    pub committed: Decimal,
    /// Exported (endorsed) under those permits.
    pub exported: Decimal,
    pub term: Option<TermCode>,
    pub source: Option<SourceCode>,
    pub purpose: Option<PurposeCode>,
    /// What Species+ publishes for the same exporter, taxon and period; `None` when it
    /// publishes nothing for them (a national quota of the Party's own).
    pub published: Option<PublishedLimit>,
}

/// A quota as Species+ publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishedLimit {
    /// Shown "in preparation" (Species+'s `quota` is null).
    InPreparation,
    /// A value, in its own unit (which may differ from the ledger's).
    Value { amount: Decimal, unit: UnitCode },
}

/// One entry of a quota's ledger history that moved its counters (refusals move none and come
/// as [`RefusalRecord`]s). Deltas are in the quota's unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub delta_held: Decimal,
    pub delta_committed: Decimal,
    pub delta_exported: Decimal,
}

/// Demand turned away: a refused reservation in the ledger or a recorded permit-check refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRecord {
    pub at: Timestamp,
    /// The quantity asked, in the quota's unit; `None` when none was given.
    pub requested: Option<Decimal>,
    /// Why, as the refusal said it.
    pub reason: String,
}

/// One quota with everything its review needs.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaUseInput {
    pub quota: QuotaInput,
    /// In any order; sorted by time when reviewed.
    pub history: Vec<HistoryEntry>,
    pub refusals: Vec<RefusalRecord>,
}

/// One year of a multi-year trend for a taxon and an exporter, in the series' unit. A figure
/// not known for that year is `None` and leaves a gap in its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint {
    pub year: i32,
    pub quota: Option<Decimal>,
    /// Used according to the engine's own ledger (box 11a: committed + exported).
    pub used: Option<Decimal>,
    /// Reported by the exporting Party in its annual report.
    pub exporter_reported: Option<Decimal>,
    /// Reported by importing Parties.
    pub importer_reported: Option<Decimal>,
}

/// The years of one taxon and exporter, for the trend chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendSeries {
    pub taxon_name: String,
    pub exporter: CountryCode,
    pub unit: UnitCode,
    pub points: Vec<TrendPoint>,
}
