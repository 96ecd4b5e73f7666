//! Declaring quotas, revising their limits, and the values Species+ published.

use chrono::NaiveDate;
use db::{Tx, read_db, with_db, with_tx};
use domain::{Clock, Quantity, TaxonId};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::{
    Ledger,
    audit::append,
    decide::{check_period, shown_limit, whole_limit_micro},
    idempotency::{claim_key, parse_stored, store_outcome},
    retry::retry,
    rows::{ImportedRow, QuotaRow, lock_quota},
};
use crate::amount::{from_micro, to_micro};
use crate::error::{Error, Result};
use crate::model::{Actor, ClientKey, QuotaSpec, QuotaView, check_notes};

impl Ledger {
    /// [`Ledger::declare`] for a taxon into which the concepts `merged` have been merged (the
    /// synonyms pointing to it, which the caller reads from the catalogue: the ledger does
    /// not). A quota still declared on one of them limits the taxon's exports (a permit check
    /// reads both), so it counts as an existing quota of the same scope.
    pub async fn declare_with_merged(
        &self,
        key: &ClientKey,
        spec: &QuotaSpec,
        merged: &[TaxonId],
        actor: &Actor,
    ) -> Result<QuotaView> {
        actor.check()?;
        check_notes(spec.notes.as_deref())?;
        check_period(&spec.period)?;
        let limit_micro = (spec.limit.as_ref())
            .map(|q| whole_limit_micro(q, spec.unit))
            .transpose()?;
        let params = format!(
            "declare|{}|{}|{}|{}|{:?}|{}|{:?}|{:?}|{:?}|{:?}",
            spec.exporter,
            spec.taxon_id,
            spec.period.start,
            spec.period.end,
            limit_micro,
            spec.unit.code(),
            spec.term.map(|t| t.code()),
            spec.source.map(|s| s.code()),
            spec.purpose.map(|p| p.code()),
            spec.speciesplus_id
        );
        retry(|| self.declare_once(key, &params, spec, merged, limit_micro, actor)).await
    }

    pub(super) async fn declare_once(
        &self,
        key: &ClientKey,
        params: &str,
        spec: &QuotaSpec,
        merged: &[TaxonId],
        limit_micro: Option<i64>,
        actor: &Actor,
    ) -> Result<QuotaView> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        if let Some(stored) =
            claim_key(&mut tx, key, params, now, parse_stored::<QuotaView>).await?
        {
            tx.rollback().await?;
            return Ok(stored);
        }
        // A national quota is the only one of its scope. Species+ may publish two quotas an
        // import cannot tell apart (their term, source or purpose are only in their notes):
        // an imported quota overlaps only a national one, which would be a second allowance
        // for the same exports.
        if let Some((existing, on_taxon, start, end)) =
            overlapping_quota(&mut tx, spec, merged).await?
        {
            let last_day = crate::model::last_day;
            let asked = if (start, end) == (spec.period.start, spec.period.end) {
                String::new()
            } else {
                format!(
                    " (overlapping the period asked, {} to {})",
                    spec.period.start,
                    last_day(spec.period.end)
                )
            };
            let through = if on_taxon == i64::from(spec.taxon_id.get()) {
                String::new()
            } else {
                format!(" (declared on taxon {on_taxon}, which Species+ has merged into it)")
            };
            return Err(Error::QuotaExists {
                existing,
                scope: format!(
                    "{} {}{through} in {} from {} to {}{asked}{}{}{}",
                    spec.exporter,
                    spec.taxon_id,
                    spec.unit.code(),
                    start,
                    last_day(end),
                    spec.term
                        .map_or(String::new(), |t| format!(", term {}", t.code())),
                    spec.source
                        .map_or(String::new(), |x| format!(", source {}", x.code())),
                    spec.purpose
                        .map_or(String::new(), |x| format!(", purpose {}", x.code())),
                ),
            });
        }
        let row: QuotaRow = with_tx!(&mut tx, c => sqlx::query_as(concat!(
            "INSERT INTO export_quotas (exporter, taxon_id, period_start, period_end, unit, \
             limit_micro, term, source, purpose, origin, speciesplus_id, notes, created_at, \
             created_by, speciesplus_value_micro) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15) RETURNING ", quota_columns!()))
            .bind(spec.exporter.as_str())
            .bind(i64::from(spec.taxon_id.get()))
            .bind(spec.period.start)
            .bind(spec.period.end)
            .bind(spec.unit.code())
            .bind(limit_micro)
            .bind(spec.term.map(|t| t.code()))
            .bind(spec.source.map(|s| s.code()))
            .bind(spec.purpose.map(|p| p.code()))
            .bind(if spec.speciesplus_id.is_some() { "speciesplus" } else { "national" })
            .bind(spec.speciesplus_id)
            .bind(&spec.notes)
            .bind(now)
            .bind(&actor.name)
            // An import records the value Species+ published, which the limit starts from.
            .bind(spec.speciesplus_id.and(limit_micro))
            .fetch_one(c).await)?;
        append(
            &mut tx,
            row.id,
            None,
            "declare",
            (0, 0, 0),
            row.limit_micro,
            actor,
            now,
        )
        .await?;
        let view = row.view();
        store_outcome(&mut tx, key, &view).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// [`Ledger::revise`], or [`Ledger::revise_to_speciesplus`] when `to_speciesplus`: the
    /// request's own fingerprint, so that one key cannot be both.
    pub(super) async fn revise_with(
        &self,
        key: &ClientKey,
        quota_id: i64,
        limit: Option<&Quantity>,
        to_speciesplus: bool,
        actor: &Actor,
    ) -> Result<QuotaView> {
        actor.check()?;
        let unit = self.quota_unit(quota_id).await?;
        let limit_micro = limit.map(|q| whole_limit_micro(q, unit)).transpose()?;
        let operation = if to_speciesplus {
            "revise-speciesplus"
        } else {
            "revise"
        };
        let params = format!("{operation}|{quota_id}|{limit_micro:?}");
        retry(|| self.revise_once(key, &params, quota_id, limit_micro, to_speciesplus, actor)).await
    }

    /// The quotas imported from Species+, each with the value Species+ published when it was
    /// last imported (`None`: in preparation). The limit differs from it once the quota has
    /// been revised nationally.
    pub async fn imported_quotas(&self) -> Result<Vec<(QuotaView, Option<Decimal>)>> {
        let rows: Vec<ImportedRow> = read_db!(&self.db, pool => sqlx::query_as(concat!(
            "SELECT ", quota_columns!(), ", speciesplus_value_micro FROM export_quotas \
             WHERE speciesplus_id IS NOT NULL ORDER BY id"))
            .fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.quota.view(), r.speciesplus_value_micro.map(from_micro)))
            .collect())
    }

    /// One quota, as one reads it alone, with the value Species+ published at its last import:
    /// `None` for a national quota, `Some(None)` while in preparation. One read for both.
    pub async fn quota_with_speciesplus_value(
        &self,
        quota_id: i64,
    ) -> Result<(QuotaView, Option<Option<Decimal>>)> {
        let row: Option<ImportedRow> = read_db!(&self.db, pool => sqlx::query_as(concat!(
            "SELECT ", quota_columns!(), ", speciesplus_value_micro FROM export_quotas \
             WHERE id = $1"))
            .bind(quota_id).fetch_optional(pool).await)?;
        let row = row.ok_or(Error::QuotaNotFound(quota_id))?;
        let value = (row.quota.speciesplus_id).map(|_| row.speciesplus_value_micro.map(from_micro));
        Ok((row.quota.view(), value))
    }

    /// Records `value` as what Species+ publishes for the imported quota `quota_id` without
    /// changing its limit: the import has reported a value the quota, revised nationally, does
    /// not follow. Only if the quota still stands as the import read it (its limit `seen` and
    /// the value `imported` before): `false`, with nothing written, when either changed since.
    /// Not a change of the quota's limit or counters (not audited).
    pub async fn note_speciesplus_value(
        &self,
        quota_id: i64,
        seen: Option<Decimal>,
        imported: Option<Decimal>,
        value: Option<Decimal>,
    ) -> Result<bool> {
        // In the quota's unit, as Species+ publishes it: a value no limit could be (half a
        // specimen) is still what Species+ says, kept to be shown.
        let micro = |d: Option<Decimal>| d.map(|d| to_micro("limit", d)).transpose();
        let (seen, imported, value_micro) = (micro(seen)?, micro(imported)?, micro(value)?);
        retry(|| async {
            let noted = with_db!(&self.db, pool => sqlx::query(
                "UPDATE export_quotas SET speciesplus_value_micro = $2 \
                 WHERE id = $1 AND speciesplus_id IS NOT NULL \
                 AND limit_micro IS NOT DISTINCT FROM $3 \
                 AND speciesplus_value_micro IS NOT DISTINCT FROM $4")
                .bind(quota_id).bind(value_micro).bind(seen).bind(imported)
                .execute(pool).await.map(|r| r.rows_affected()))?;
            Ok(noted == 1)
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn revise_once(
        &self,
        key: &ClientKey,
        params: &str,
        quota_id: i64,
        limit_micro: Option<i64>,
        to_speciesplus: bool,
        actor: &Actor,
    ) -> Result<QuotaView> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        if let Some(stored) =
            claim_key(&mut tx, key, params, now, parse_stored::<QuotaView>).await?
        {
            tx.rollback().await?;
            return Ok(stored);
        }
        let quota = lock_quota(&mut tx, quota_id).await?;
        if to_speciesplus {
            let imported: Option<i64> = with_tx!(&mut tx, c => sqlx::query_scalar(
                "SELECT speciesplus_value_micro FROM export_quotas WHERE id = $1")
                .bind(quota_id).fetch_one(c).await)?;
            if quota.limit_micro != imported {
                return Err(Error::Invalid {
                    field: "limit",
                    message: format!(
                        "quota {quota_id} was revised nationally (limit {}) since Species+'s value was imported: it keeps its limit",
                        shown_limit(quota.limit_micro)
                    ),
                });
            }
        }
        let used = quota.held_micro + quota.committed_micro + quota.exported_micro;
        if used > limit_micro.unwrap_or(0) {
            // Dropping the transaction rolls the key's claim back: nothing is written.
            return Err(Error::Invalid {
                field: "limit",
                message: format!(
                    "{} is below what the quota already holds, has committed and has exported ({} {}); accepted at least that",
                    shown_limit(limit_micro),
                    from_micro(used),
                    quota.unit
                ),
            });
        }
        let row: QuotaRow = with_tx!(&mut tx, c => sqlx::query_as(concat!(
            "UPDATE export_quotas SET limit_micro = $2, speciesplus_value_micro = CASE WHEN $3 \
             THEN $2 ELSE speciesplus_value_micro END WHERE id = $1 RETURNING ", quota_columns!()))
            .bind(quota_id).bind(limit_micro).bind(to_speciesplus).fetch_one(c).await)?;
        append(
            &mut tx,
            quota_id,
            None,
            "revise",
            (0, 0, 0),
            limit_micro,
            actor,
            now,
        )
        .await?;
        let view = row.view();
        store_outcome(&mut tx, key, &view).await?;
        tx.commit().await?;
        Ok(view)
    }
}

/// A quota of the same exporter, taxon (or a concept `merged` into it), unit, term, source and
/// purpose whose period overlaps `spec`'s: a second national quota there would split one
/// allowance in two, and a permit check could not tell which applies. Answers its id, taxon
/// and period. Two declarations racing each other are serialised first (on PostgreSQL by a
/// transaction-level advisory lock on the exporter, not its taxon, since one may come through
/// a concept merged into the other's; SQLite's `BEGIN IMMEDIATE` already is), so that one of
/// them sees the other. Declarations are rare: one exporter's wait on each other is no cost.
pub(super) async fn overlapping_quota(
    tx: &mut Tx,
    spec: &QuotaSpec,
    merged: &[TaxonId],
) -> Result<Option<(i64, i64, NaiveDate, NaiveDate)>> {
    if let Tx::Postgres(c) = tx {
        let lock = i64::from_be_bytes(
            Sha256::digest(format!("declare|{}", spec.exporter).as_bytes())[..8]
                .try_into()
                .unwrap_or_default(),
        );
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock)
            .execute(&mut **c)
            .await?;
    }
    let found: Option<(i64, i64, NaiveDate, NaiveDate)> = with_tx!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT id, taxon_id, period_start, period_end FROM export_quotas WHERE exporter = ");
        qb.push_bind(spec.exporter.as_str());
        qb.push(" AND unit = ");
        qb.push_bind(spec.unit.code());
        qb.push(" AND term IS NOT DISTINCT FROM ");
        qb.push_bind(spec.term.map(|t| t.code()));
        qb.push(" AND source IS NOT DISTINCT FROM ");
        qb.push_bind(spec.source.map(|x| x.code()));
        qb.push(" AND purpose IS NOT DISTINCT FROM ");
        qb.push_bind(spec.purpose.map(|x| x.code()));
        qb.push(" AND period_start < ");
        qb.push_bind(spec.period.end);
        qb.push(" AND period_end > ");
        qb.push_bind(spec.period.start);
        if spec.speciesplus_id.is_some() {
            qb.push(" AND origin = 'national'");
        }
        qb.push(" AND taxon_id IN (");
        let mut list = qb.separated(", ");
        for id in std::iter::once(spec.taxon_id).chain(merged.iter().copied()) {
            list.push_bind(i64::from(id.get()));
        }
        // The taxon's own quota first: the one to revise.
        qb.push(") ORDER BY taxon_id <> ");
        qb.push_bind(i64::from(spec.taxon_id.get()));
        qb.push(", id LIMIT 1");
        qb.build_query_as().fetch_optional(c).await
    })?;
    Ok(found)
}
