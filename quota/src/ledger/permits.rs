//! The permits the ledger has issued, as the application's permit register reads them: every
//! reservation ever committed (committed now, or closed since), one per permit (the first
//! member of a linked reservation stands for the others), with its quota's exporter and taxon
//! and the instants of its commit and close from the audit ledger.

use chrono::{DateTime, Utc};
use db::read_db;
use serde::Serialize;

use super::{Ledger, rows::ReservationRow};
use crate::error::Result;
use crate::model::ReservationView;

/// Permits one page of [`Ledger::issued_permits`] returns at most: a back-fill reads the
/// ledger page by page, each page one short read.
pub const PERMITS_PAGE_MAX: i64 = 1_000;

/// A permit the ledger issued, as it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuedPermit {
    /// The reservation (the first member of a linked one), in its quota's unit.
    pub reservation: ReservationView,
    /// The quota's exporter: the country that issued the permit.
    pub exporter: String,
    pub taxon_id: i64,
    /// When it was committed (the audit ledger's commit entry).
    pub committed_at: Option<DateTime<Utc>>,
    /// When it was closed (by an officer, or by the sweeper when its validity ended).
    pub closed_at: Option<DateTime<Utc>>,
}

impl Ledger {
    /// The permits with a reservation id above `after`, in id order, at most `limit`
    /// ([`PERMITS_PAGE_MAX`] at most); `only`: the permit of that reservation alone (any member
    /// of a linked reservation names the permit), or none when it was never committed.
    pub async fn issued_permits(
        &self,
        after: i64,
        limit: i64,
        only: Option<i64>,
    ) -> Result<Vec<IssuedPermit>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            r: ReservationRow,
            unit: String,
            exporter: String,
            taxon_id: i64,
            committed_at: Option<DateTime<Utc>>,
            closed_at: Option<DateTime<Utc>>,
        }
        let limit = limit.clamp(1, PERMITS_PAGE_MAX);
        let rows: Vec<Row> = read_db!(&self.db, pool => sqlx::query_as(concat!(
            "SELECT x.*, q.unit, q.exporter, q.taxon_id, \
             (SELECT MIN(l.at) FROM quota_ledger l WHERE l.reservation_id = x.id \
              AND l.event = 'commit') AS committed_at, \
             (SELECT MAX(l.at) FROM quota_ledger l WHERE l.reservation_id = x.id \
              AND l.event = 'close') AS closed_at \
             FROM (SELECT ", reservation_columns!(), " FROM quota_reservations \
             WHERE state IN ('committed', 'closed') AND (linked_to IS NULL OR linked_to = id) \
             AND id > $1 AND ($3 IS NULL OR id = COALESCE((SELECT linked_to FROM \
             quota_reservations WHERE id = $3), $3)) ORDER BY id LIMIT $2) x \
             JOIN export_quotas q ON q.id = x.quota_id ORDER BY x.id"))
            .bind(after).bind(limit).bind(only).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|row| IssuedPermit {
                reservation: row.r.view(&row.unit),
                exporter: row.exporter,
                taxon_id: row.taxon_id,
                committed_at: row.committed_at,
                closed_at: row.closed_at,
            })
            .collect())
    }
}
