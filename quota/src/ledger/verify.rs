//! The invariants of one quota, checked.

use db::read_db;
use rust_decimal::Decimal;

use super::{
    Ledger,
    decide::{period_refusal, start_of_day},
};
use crate::amount::from_micro;
use crate::error::Result;

impl Ledger {
    /// Checks the invariants of one quota; returns the violations (empty when all hold):
    /// the counters within the limit, the counters equal to the replayed ledger, and equal to
    /// the sums over its reservations; every reservation and commit dated within the quota's
    /// period, and no hold outliving it. Its reads are separate statements, not one snapshot:
    /// it is for a quota nothing writes to meanwhile (after a load, a restart, a test), where a
    /// change between two reads would show as a violation that is not one.
    pub async fn verify(&self, quota_id: i64) -> Result<Vec<String>> {
        let q = self.quota(quota_id).await?;
        let mut violations = Vec::new();
        let used = q.held + q.committed + q.exported;
        if used > q.limit.unwrap_or(Decimal::ZERO) {
            violations.push(format!(
                "quota {quota_id}: held + committed + exported = {used} exceeds the limit {:?}",
                q.limit
            ));
        }
        let history = self.history(quota_id).await?;
        let replay =
            history
                .iter()
                .fold((Decimal::ZERO, Decimal::ZERO, Decimal::ZERO), |acc, e| {
                    (
                        acc.0 + e.delta_held,
                        acc.1 + e.delta_committed,
                        acc.2 + e.delta_exported,
                    )
                });
        if replay != (q.held, q.committed, q.exported) {
            violations.push(format!(
                "quota {quota_id}: ledger replay gives {replay:?}, counters are {:?}",
                (q.held, q.committed, q.exported)
            ));
        }
        // A permit counts against the quota of the period it is issued in, and nothing is held
        // against a quota outside its period.
        let period_end = start_of_day(q.period_end);
        for e in history.iter().filter(|e| {
            matches!(e.event.as_str(), "reserve" | "commit")
                && period_refusal(q.period_start, q.period_end, e.at).is_some()
        }) {
            violations.push(format!(
                "quota {quota_id}: entry {} ({}) is dated {}, outside the period {} to {}",
                e.seq, e.event, e.at, q.period_start, q.period_end
            ));
        }
        let outliving: Vec<i64> = read_db!(&self.db, pool => sqlx::query_scalar(
            "SELECT id FROM quota_reservations WHERE quota_id = $1 AND state = 'held' \
             AND expires_at > $2 ORDER BY id")
            .bind(quota_id).bind(period_end).fetch_all(pool).await)?;
        if !outliving.is_empty() {
            violations.push(format!(
                "quota {quota_id}: holds {outliving:?} outlive the period ending {period_end}"
            ));
        }
        let sums: (i64, i64, i64) = read_db!(&self.db, pool => sqlx::query_as(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN state = 'held' THEN quantity_micro ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN state = 'committed' THEN committed_micro - exported_micro ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN state IN ('committed', 'closed') THEN exported_micro ELSE 0 END), 0) AS BIGINT) \
             FROM quota_reservations WHERE quota_id = $1")
            .bind(quota_id).fetch_one(pool).await)?;
        let sums = (from_micro(sums.0), from_micro(sums.1), from_micro(sums.2));
        if sums != (q.held, q.committed, q.exported) {
            violations.push(format!(
                "quota {quota_id}: reservations sum to {sums:?}, counters are {:?}",
                (q.held, q.committed, q.exported)
            ));
        }
        Ok(violations)
    }
}
