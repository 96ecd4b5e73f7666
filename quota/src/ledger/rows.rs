//! The quota and reservation rows as read, and the statements that read and change them.

use chrono::{DateTime, NaiveDate, Utc};
use db::{Tx, with_tx};
use serde::{Deserialize, Serialize};

use super::decide::period_refusal;
use crate::amount::from_micro;
use crate::error::{Error, Result};
use crate::model::{Actor, QuotaView, Refusal, ReservationState, ReservationView};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
pub(crate) struct QuotaRow {
    pub(crate) id: i64,
    pub(crate) exporter: String,
    pub(crate) taxon_id: i64,
    pub(crate) period_start: NaiveDate,
    pub(crate) period_end: NaiveDate,
    pub(crate) unit: String,
    pub(crate) limit_micro: Option<i64>,
    pub(crate) held_micro: i64,
    pub(crate) committed_micro: i64,
    pub(crate) exported_micro: i64,
    pub(crate) term: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) purpose: Option<String>,
    pub(crate) origin: String,
    pub(crate) speciesplus_id: Option<i64>,
    pub(crate) notes: Option<String>,
}

impl QuotaRow {
    pub(crate) fn outside_period(&self, now: DateTime<Utc>) -> Option<Refusal> {
        period_refusal(self.period_start, self.period_end, now)
    }

    pub(crate) fn available_micro(&self) -> i64 {
        self.limit_micro.unwrap_or(0) - self.held_micro - self.committed_micro - self.exported_micro
    }

    pub(crate) fn view(&self) -> QuotaView {
        QuotaView {
            id: self.id,
            exporter: self.exporter.clone(),
            taxon_id: self.taxon_id,
            period_start: self.period_start,
            period_end: self.period_end,
            period_last_day: crate::model::last_day(self.period_end),
            unit: self.unit.clone(),
            limit: self.limit_micro.map(from_micro),
            held: from_micro(self.held_micro),
            committed: from_micro(self.committed_micro),
            exported: from_micro(self.exported_micro),
            available: from_micro(self.available_micro().max(0)),
            box_11a_used: from_micro(self.committed_micro + self.exported_micro),
            term: self.term.clone(),
            source: self.source.clone(),
            purpose: self.purpose.clone(),
            origin: self.origin.clone(),
            speciesplus_id: self.speciesplus_id,
            notes: self.notes.clone(),
        }
    }
}

/// A quota's row with the value Species+ published at its last import (migration 0008), which
/// only the import and a quota read alone need: kept out of [`QuotaRow`], which every
/// reservation reads and writes back.
#[derive(sqlx::FromRow)]
pub(super) struct ImportedRow {
    #[sqlx(flatten)]
    pub(super) quota: QuotaRow,
    pub(super) speciesplus_value_micro: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
pub(crate) struct ReservationRow {
    pub(crate) id: i64,
    pub(crate) quota_id: i64,
    pub(crate) state: String,
    pub(crate) quantity_micro: i64,
    pub(crate) committed_micro: i64,
    pub(crate) exported_micro: i64,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) permit_expires_at: Option<DateTime<Utc>>,
    pub(crate) reject_reason: Option<String>,
}

impl ReservationRow {
    pub(crate) fn state(&self) -> ReservationState {
        ReservationState::parse(&self.state).unwrap_or(ReservationState::Rejected)
    }

    pub(crate) fn view(&self, unit: &str) -> ReservationView {
        ReservationView {
            id: self.id,
            quota_id: self.quota_id,
            state: self.state(),
            quantity: from_micro(self.quantity_micro),
            committed: from_micro(self.committed_micro),
            exported: from_micro(self.exported_micro),
            unit: unit.to_owned(),
            expires_at: self.expires_at,
            permit_expires_at: self.permit_expires_at,
            reject_reason: self.reject_reason.clone(),
        }
    }
}

/// A reservation as it is written when held: what the database returns for it, without
/// asking.
pub(crate) fn held_row(
    id: i64,
    quota_id: i64,
    quantity_micro: i64,
    expires_at: DateTime<Utc>,
) -> ReservationRow {
    ReservationRow {
        id,
        quota_id,
        state: "held".into(),
        quantity_micro,
        committed_micro: 0,
        exported_micro: 0,
        expires_at,
        permit_expires_at: None,
        reject_reason: None,
    }
}

/// A row the ledger reads by id inside a transaction, plain or locked.
pub(super) trait KeyedRow:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + Send
    + Unpin
{
    /// `SELECT <columns> FROM <table> WHERE id = $1`.
    const SELECT: &'static str;
    /// [`KeyedRow::SELECT`] holding the row's lock until the transaction ends: PostgreSQL's
    /// `FOR NO KEY UPDATE`, the lock an UPDATE of the row takes.
    const SELECT_LOCKED: &'static str;
    fn not_found(id: i64) -> Error;
}

impl KeyedRow for QuotaRow {
    const SELECT: &'static str = concat!(
        "SELECT ",
        quota_columns!(),
        " FROM export_quotas WHERE id = $1"
    );
    const SELECT_LOCKED: &'static str = concat!(
        "SELECT ",
        quota_columns!(),
        " FROM export_quotas WHERE id = $1 FOR NO KEY UPDATE"
    );
    fn not_found(id: i64) -> Error {
        Error::QuotaNotFound(id)
    }
}

impl KeyedRow for ReservationRow {
    const SELECT: &'static str = concat!(
        "SELECT ",
        reservation_columns!(),
        " FROM quota_reservations WHERE id = $1"
    );
    const SELECT_LOCKED: &'static str = concat!(
        "SELECT ",
        reservation_columns!(),
        " FROM quota_reservations WHERE id = $1 FOR NO KEY UPDATE"
    );
    fn not_found(id: i64) -> Error {
        Error::ReservationNotFound(id)
    }
}

/// Whether a row read in a transaction is locked until it ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Lock {
    /// Read as it stands.
    No,
    /// Locked (PostgreSQL's `FOR NO KEY UPDATE`; SQLite's `BEGIN IMMEDIATE` already excludes
    /// every other writer, so the plain read is used there).
    ForUpdate,
}

/// The row `id` of `R`'s table in `tx`, locked or not.
pub(super) async fn row_in<R: KeyedRow>(tx: &mut Tx, id: i64, lock: Lock) -> Result<R> {
    let sql = match (tx as &Tx, lock) {
        (Tx::Postgres(_), Lock::ForUpdate) => R::SELECT_LOCKED,
        _ => R::SELECT,
    };
    let row: Option<R> = with_tx!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?;
    row.ok_or_else(|| R::not_found(id))
}

pub(super) async fn load_quota(tx: &mut Tx, id: i64) -> Result<QuotaRow> {
    row_in(tx, id, Lock::No).await
}

/// [`load_quota`] holding the row's lock until the transaction ends.
pub(super) async fn lock_quota(tx: &mut Tx, id: i64) -> Result<QuotaRow> {
    row_in(tx, id, Lock::ForUpdate).await
}

pub(super) async fn load_reservation(tx: &mut Tx, id: i64) -> Result<ReservationRow> {
    row_in(tx, id, Lock::No).await
}

pub(super) async fn set_state(
    tx: &mut Tx,
    id: i64,
    from: &'static str,
    to: &'static str,
) -> Result<Option<ReservationRow>> {
    Ok(with_tx!(tx, c => sqlx::query_as(concat!(
        "UPDATE quota_reservations SET state = $3 WHERE id = $1 AND state = $2 RETURNING ",
        reservation_columns!()))
        .bind(id).bind(from).bind(to).fetch_optional(c).await)?)
}

/// Moves the quota's counters by (held, committed, exported); the CHECK constraints refuse any
/// move that would break the invariant.
pub(super) async fn move_counters(
    tx: &mut Tx,
    quota_id: i64,
    delta: (i64, i64, i64),
) -> Result<QuotaRow> {
    Ok(with_tx!(tx, c => sqlx::query_as(concat!(
        "UPDATE export_quotas SET held_micro = held_micro + $2, \
         committed_micro = committed_micro + $3, exported_micro = exported_micro + $4 \
         WHERE id = $1 RETURNING ", quota_columns!()))
        .bind(quota_id).bind(delta.0).bind(delta.1).bind(delta.2).fetch_one(c).await)?)
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_reservation(
    tx: &mut Tx,
    quota_id: i64,
    state: &'static str,
    quantity_micro: i64,
    expires_at: DateTime<Utc>,
    reject_reason: Option<&str>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ReservationRow> {
    Ok(with_tx!(tx, c => sqlx::query_as(concat!(
        "INSERT INTO quota_reservations (quota_id, state, quantity_micro, expires_at, \
         reject_reason, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        reservation_columns!()))
        .bind(quota_id).bind(state).bind(quantity_micro).bind(expires_at).bind(reject_reason)
        .bind(now).bind(&actor.name).fetch_one(c).await)?)
}
