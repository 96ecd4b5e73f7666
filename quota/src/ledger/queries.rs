//! Reads of quotas and reservations.

use chrono::NaiveDate;
use db::read_db;
use rust_decimal::Decimal;

use super::{
    ISSUED_HISTORY_MAX, Ledger,
    rows::{QuotaRow, ReservationRow},
};
use crate::amount::from_micro;
use crate::error::{Error, Result};
use crate::model::{QuotaView, ReservationView};

impl Ledger {
    pub(super) async fn quota_row(&self, id: i64) -> Result<QuotaRow> {
        let row: Option<QuotaRow> = read_db!(&self.db, pool => sqlx::query_as(concat!(
                "SELECT ", quota_columns!(), " FROM export_quotas WHERE id = $1"))
                .bind(id).fetch_optional(pool).await)?;
        row.ok_or(Error::QuotaNotFound(id))
    }

    /// Quotas, optionally of one exporter, of some taxa (none when `taxon_ids` is empty), or
    /// in force during part of one year.
    pub async fn quotas(
        &self,
        exporter: Option<&str>,
        taxon_ids: Option<&[i64]>,
        year: Option<i32>,
    ) -> Result<Vec<QuotaView>> {
        // Country codes are stored upper-case (`CountryCode`); `na` finds NA's quotas.
        let exporter = exporter.map(|e| e.trim().to_ascii_uppercase());
        let (from, to) = match year {
            Some(y) => (
                NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(NaiveDate::MIN),
                NaiveDate::from_ymd_opt(y + 1, 1, 1).unwrap_or(NaiveDate::MAX),
            ),
            // Dates are ISO text on SQLite: bounds must be four-digit years to compare right.
            None => (
                NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN),
                NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX),
            ),
        };
        if taxon_ids.is_some_and(<[i64]>::is_empty) {
            return Ok(Vec::new());
        }
        let rows: Vec<QuotaRow> = read_db!(&self.db, pool => {
            let mut qb = sqlx::QueryBuilder::new(concat!(
                "SELECT ", quota_columns!(), " FROM export_quotas WHERE period_start < "));
            qb.push_bind(to);
            qb.push(" AND period_end > ");
            qb.push_bind(from);
            if let Some(exporter) = &exporter {
                qb.push(" AND exporter = ");
                qb.push_bind(exporter.as_str());
            }
            if let Some(ids) = taxon_ids {
                qb.push(" AND taxon_id IN (");
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                qb.push(")");
            }
            qb.push(" ORDER BY id");
            qb.build_query_as::<QuotaRow>().fetch_all(pool).await
        })?;
        Ok(rows.iter().map(QuotaRow::view).collect())
    }

    /// The quantities of the latest permits issued (committed, then possibly exported and
    /// closed) against `exporter`'s quotas for any of `taxon_ids` (a taxon and the concepts
    /// merged into it), newest first, each with its quota's unit: the exporter's history a
    /// permit check compares a new application with; without reservation `except` (a retried
    /// check's own permit, which its first answer was not compared with, and the reservations
    /// linked to it).
    pub async fn issued_quantities(
        &self,
        exporter: &str,
        taxon_ids: &[i64],
        except: Option<i64>,
    ) -> Result<Vec<(Decimal, String)>> {
        if taxon_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, String)> = read_db!(&self.db, pool => {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT r.committed_micro, q.unit FROM quota_reservations r \
                 JOIN export_quotas q ON q.id = r.quota_id \
                 WHERE r.state IN ('committed', 'closed') AND q.exporter = ");
            qb.push_bind(exporter);
            qb.push(" AND q.taxon_id IN (");
            let mut list = qb.separated(", ");
            for id in taxon_ids {
                list.push_bind(*id);
            }
            qb.push(")");
            if let Some(id) = except {
                // And every reservation linked to it (nested quotas: one permit, several rows).
                qb.push(" AND r.id <> ").push_bind(id);
                qb.push(" AND (r.linked_to IS NULL OR r.linked_to <> ").push_bind(id).push(")");
            }
            qb.push(" ORDER BY r.id DESC LIMIT ");
            qb.push_bind(ISSUED_HISTORY_MAX);
            qb.build_query_as().fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(micro, unit)| (from_micro(micro), unit))
            .collect())
    }

    /// The quotas of `exporter` for any of `taxon_ids` (a taxon, its ancestors and the concepts
    /// merged into it), in one query.
    pub async fn quotas_of_taxa(
        &self,
        exporter: &str,
        taxon_ids: &[i64],
    ) -> Result<Vec<QuotaView>> {
        self.quotas(Some(exporter), Some(taxon_ids), None).await
    }

    pub(super) async fn reservation_row(&self, id: i64) -> Result<ReservationRow> {
        let r: Option<ReservationRow> = read_db!(&self.db, pool => sqlx::query_as(concat!(
                "SELECT ", reservation_columns!(), " FROM quota_reservations WHERE id = $1"))
                .bind(id).fetch_optional(pool).await)?;
        r.ok_or(Error::ReservationNotFound(id))
    }

    /// The reservations linked with `reservation_id` ([`Ledger::reserve_linked`]), itself
    /// included, in id order (which is their quotas' order): what a permit under nested quotas
    /// holds. A reservation of one quota: itself alone.
    pub async fn linked_reservations(&self, reservation_id: i64) -> Result<Vec<ReservationView>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            r: ReservationRow,
            unit: String,
        }
        let rows: Vec<Row> = read_db!(&self.db, pool => sqlx::query_as(concat!(
            "SELECT x.*, q.unit FROM (SELECT ", reservation_columns!(),
            " FROM quota_reservations WHERE id = $1 OR linked_to = (SELECT linked_to \
             FROM quota_reservations WHERE id = $1)) x JOIN export_quotas q ON q.id = x.quota_id \
             ORDER BY x.id"))
            .bind(reservation_id).fetch_all(pool).await)?;
        if rows.is_empty() {
            return Err(Error::ReservationNotFound(reservation_id));
        }
        Ok(rows.iter().map(|row| row.r.view(&row.unit)).collect())
    }
}
