//! Shared set-up: a ledger over a fresh database, a manual clock, quotas and quantities.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use db::{Backend, TestDb};
use domain::{CountryCode, ManualClock, Period, Quantity, TaxonId, UnitCode};
use quota::{Actor, ClientKey, Ledger, QuotaSpec, QuotaView};
use rust_decimal::Decimal;

/// `db`'s, shared by every test binary.
pub(crate) use db::on_both_backends;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().unwrap()
}

pub struct Fixture {
    pub t: TestDb,
    pub clock: Arc<ManualClock>,
    pub ledger: Ledger,
}

pub async fn fixture(backend: Backend) -> Fixture {
    let t = TestDb::create(backend).await.unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let ledger = Ledger::new(t.db.clone(), clock.clone());
    Fixture { t, clock, ledger }
}

pub fn actor(name: &str) -> Actor {
    Actor {
        name: name.to_owned(),
        reason: Some("test".to_owned()),
    }
}

pub fn key(k: &str) -> ClientKey {
    ClientKey::parse(k).unwrap()
}

pub fn qty(amount: &str, unit: &str) -> Quantity {
    Quantity::new(
        Decimal::from_str(amount).unwrap(),
        UnitCode::parse(unit).unwrap(),
    )
    .unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// A taxon of its own for each quota name (the same for the same name): a national quota is
/// declared once for an exporter, taxon, unit and restrictions over a period.
pub fn taxon_for(name: &str) -> TaxonId {
    let h = name
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        .wrapping_mul(2_654_435_761);
    TaxonId::new(1_000_000 + h % 1_000_000_000)
}

/// A 2026 calendar-year quota of `limit` `unit` for NA, its taxon [`taxon_for`] `name`.
pub async fn declare(f: &Fixture, name: &str, limit: Option<&str>, unit: &str) -> QuotaView {
    declare_on(&f.ledger, name, limit, unit).await
}

pub async fn declare_on(ledger: &Ledger, name: &str, limit: Option<&str>, unit: &str) -> QuotaView {
    let spec = spec_of(name, limit, unit);
    ledger
        .declare(&key(&format!("declare-{name}")), &spec, &actor("sa"))
        .await
        .unwrap()
}

/// The national quota [`declare`] declares for `name`.
pub fn spec_of(name: &str, limit: Option<&str>, unit: &str) -> QuotaSpec {
    QuotaSpec {
        exporter: CountryCode::parse("NA").unwrap(),
        taxon_id: taxon_for(name),
        period: Period::calendar_year(2026),
        limit: limit.map(|l| qty(l, unit)),
        unit: UnitCode::parse(unit).unwrap(),
        term: None,
        source: None,
        purpose: None,
        notes: Some(name.to_owned()),
        speciesplus_id: None,
    }
}

/// The events of a quota's history, in order.
pub async fn events(f: &Fixture, quota_id: i64) -> Vec<String> {
    let history = f.ledger.history(quota_id).await.unwrap();
    history.into_iter().map(|e| e.event).collect()
}
