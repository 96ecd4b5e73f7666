//! A quota's audit ledger, read page by page.

use chrono::{DateTime, Utc};
use db::read_db;

use super::{HISTORY_PAGE_MAX, Ledger};
use crate::amount::from_micro;
use crate::error::{Error, Result};
use crate::model::{HistoryPage, LedgerEntry};

impl Ledger {
    /// The whole audit ledger of one quota, read `page` entries at a time, each page starting
    /// from the counters the previous one ended on (no sum over the entries before it).
    pub async fn history_read_by(&self, quota_id: i64, page: u32) -> Result<Vec<LedgerEntry>> {
        let mut all = Vec::new();
        let (mut after, mut sums) = (0, Some((0, 0, 0)));
        loop {
            let (page, next_sums) = self.page_of_history(quota_id, after, page, sums).await?;
            all.extend(page.entries);
            match page.next_after {
                Some(next) => (after, sums) = (next, Some(next_sums)),
                None => return Ok(all),
            }
        }
    }

    /// [`Ledger::history_page`], starting from the counters `sums` (micro held, committed,
    /// exported) after `after` when the caller knows them (the previous page's end), which
    /// spares summing every entry before; answers the page and the counters at its end.
    pub(super) async fn page_of_history(
        &self,
        quota_id: i64,
        after: i64,
        limit: u32,
        sums: Option<(i64, i64, i64)>,
    ) -> Result<(HistoryPage, (i64, i64, i64))> {
        let bad_after = || Error::Invalid {
            field: "after",
            message: format!(
                "{after} is not the sequence number of an entry of quota {quota_id}; accepted 0 \
                 or a next_after of its history"
            ),
        };
        if after < 0 {
            return Err(bad_after());
        }
        if limit == 0 || limit > HISTORY_PAGE_MAX {
            return Err(Error::Invalid {
                field: "limit",
                message: format!("{limit} entries per page; accepted 1 to {HISTORY_PAGE_MAX}"),
            });
        }
        self.quota(quota_id).await?;
        #[derive(sqlx::FromRow)]
        struct Row {
            seq: i64,
            quota_id: i64,
            reservation_id: Option<i64>,
            event: String,
            delta_held: i64,
            delta_committed: i64,
            delta_exported: i64,
            limit_micro: Option<i64>,
            actor: String,
            reason: Option<String>,
            at: DateTime<Utc>,
            requested_micro: Option<i64>,
            refusal_message: Option<String>,
        }
        if after > 0 {
            let entry: Option<i64> = read_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT seq FROM quota_ledger WHERE quota_id = $1 AND seq = $2")
                .bind(quota_id).bind(after).fetch_optional(pool).await)?;
            if entry.is_none() {
                return Err(bad_after());
            }
        }
        // Where the quota stood after `after`: entries up to it never change.
        let (mut held, mut committed, mut exported): (i64, i64, i64) = match sums {
            Some(known) => known,
            None => read_db!(&self.db, pool => sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(delta_held), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(delta_committed), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(delta_exported), 0) AS BIGINT) \
                 FROM quota_ledger WHERE quota_id = $1 AND seq <= $2")
                .bind(quota_id).bind(after).fetch_one(pool).await)?,
        };
        // One more than asked for tells whether another page follows.
        let mut rows: Vec<Row> = read_db!(&self.db, pool => sqlx::query_as(
            "SELECT l.seq, l.quota_id, l.reservation_id, l.event, l.delta_held, \
             l.delta_committed, l.delta_exported, l.limit_micro, l.actor, l.reason, l.at, \
             COALESCE(l.requested_micro, r.quantity_micro) AS requested_micro, \
             COALESCE(l.refusal, r.reject_reason) AS refusal_message \
             FROM quota_ledger l LEFT JOIN quota_reservations r \
             ON l.event = 'reject' AND r.id = l.reservation_id \
             WHERE l.quota_id = $1 AND l.seq > $2 ORDER BY l.seq LIMIT $3")
            .bind(quota_id).bind(after).bind(i64::from(limit) + 1).fetch_all(pool).await)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let entries: Vec<LedgerEntry> = rows
            .into_iter()
            .map(|r| {
                held += r.delta_held;
                committed += r.delta_committed;
                exported += r.delta_exported;
                LedgerEntry {
                    seq: r.seq,
                    quota_id: r.quota_id,
                    reservation_id: r.reservation_id,
                    event: r.event,
                    delta_held: from_micro(r.delta_held),
                    delta_committed: from_micro(r.delta_committed),
                    delta_exported: from_micro(r.delta_exported),
                    actor: r.actor,
                    reason: r.reason,
                    at: r.at,
                    limit: r.limit_micro.map(from_micro),
                    held_after: from_micro(held),
                    committed_after: from_micro(committed),
                    exported_after: from_micro(exported),
                    requested: r.requested_micro.map(from_micro),
                    refusal_message: r.refusal_message,
                }
            })
            .collect();
        let next_after = if more {
            entries.last().map(|e| e.seq)
        } else {
            None
        };
        Ok((
            HistoryPage {
                quota_id,
                entries,
                next_after,
            },
            (held, committed, exported),
        ))
    }
}
