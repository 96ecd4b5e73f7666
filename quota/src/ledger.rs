//! The ledger operations and every SQL statement on the quota tables.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use chrono::Datelike;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use db::{Db, Tx, read_db, with_db, with_tx};
use domain::{Clock, Period, Quantity, TaxonId, UnitCode};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::amount::{from_micro, to_micro};
use crate::error::{Error, Result};
use crate::model::{
    Actor, ClientKey, HistoryPage, LedgerEntry, Outcome, QuotaSpec, QuotaView, Refusal,
    ReservationState, ReservationView, SweepReport, check_notes, check_whole,
};

/// How long a reservation is held when the request does not say.
pub const HOLD_DEFAULT: chrono::Duration = chrono::Duration::days(14);
/// The longest hold a request may ask for.
pub const HOLD_MAX: chrono::Duration = chrono::Duration::days(180);
/// An export permit is valid at most six months from issue (Art. VI(2)), and this long when
/// a commit does not say: what it did not export then returns to the quota.
pub const PERMIT_VALIDITY_MONTHS: u32 = 6;
/// Attempts of one operation, at most, when the database reports a transient conflict (a lock
/// not granted in time, PostgreSQL serialization failure or deadlock) or the connection
/// breaks; none of these reaches a caller before. [`WRITE_DEADLINE`] usually ends the retries
/// first.
pub const TRANSIENT_RETRIES_MAX: u32 = 50;
/// The longest one ledger operation takes, retries included, when the database is locked by
/// another process (a dump loading, an administrator's `LOCK TABLE`) or out of reach; it then
/// fails with [`Error::Busy`] (an HTTP 503) and the client sends it again with the same key.
/// Long enough to ride out a PostgreSQL restart or a burst of terminated connections; short
/// enough that waiting requests do not pile up behind a lock held for minutes (a SQLite busy
/// timeout of 30 s times 50 attempts was up to 25 minutes).
pub const WRITE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);
/// What one statement of the ledger waits, at most, for a lock another session holds (SQLite
/// `busy_timeout`, PostgreSQL `lock_timeout`) or for a pooled connection, before its attempt
/// fails and is made again; no attempt starts later than this before [`WRITE_DEADLINE`]. The
/// ledger's own transactions hold a lock for milliseconds.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// The pause before a retry grows by 5 ms per attempt up to this.
const RETRY_PAUSE_MAX: std::time::Duration = std::time::Duration::from_millis(100);
/// Permits [`Ledger::issued_quantities`] returns at most (the latest).
pub const ISSUED_HISTORY_MAX: i64 = 500;
/// Entries per page of a quota's history, at most ([`Ledger::history_page`]).
pub const HISTORY_PAGE_MAX: u32 = 10_000;
/// Entries per page of a quota's history when the caller does not say.
pub const HISTORY_PAGE_DEFAULT: u32 = 1_000;
/// Due holds, and due permits, one sweep handles at most (each), in one transaction.
const SWEEP_BATCH_MAX: i64 = 1_000;
/// Audit entries per INSERT of a sweep (10 parameters each: 5,000, under the 32,766 bound
/// parameters of the SQLite this links, which is bundled; see [`SQLITE_ROWS_PER_INSERT`]).
const SWEEP_ENTRIES_PER_INSERT: usize = 500;

macro_rules! quota_columns {
    () => {
        "id, exporter, taxon_id, period_start, period_end, unit, limit_micro, held_micro, \
         committed_micro, exported_micro, term, source, purpose, origin, speciesplus_id, notes"
    };
}

macro_rules! reservation_columns {
    () => {
        "id, quota_id, state, quantity_micro, committed_micro, exported_micro, expires_at, \
         permit_expires_at, reject_reason"
    };
}

/// [`stored_ref`] in SQL, over the reservation id and the counters after it (`%s` of NULL is
/// empty: the limit goes through COALESCE).
macro_rules! stored_ref_sql {
    ($id:literal, $held:literal, $committed:literal, $exported:literal, $limit:literal) => {
        concat!(
            "format('{\"ref\":{\"reservation\":%s,\"held\":%s,\"committed\":%s,\"exported\":%s,\"limit\":%s}}', ",
            $id, ", ", $held, ", ", $committed, ", ", $exported, ", COALESCE(", $limit,
            "::TEXT, 'null'))"
        )
    };
}

/// [`StoredTransition::Released`] in SQL, over `r` (the reservation) and `upd` (the quota
/// after the release).
macro_rules! stored_released_sql {
    () => {
        "format('{\"released\":{\"reservation\":%s,\"held\":%s,\"committed\":%s,\"exported\":%s,\"limit\":%s}}', \
         r.id, upd.held_micro, upd.committed_micro, upd.exported_micro, \
         COALESCE(upd.limit_micro::TEXT, 'null'))"
    };
}

/// [`StoredTransition::Committed`] in SQL, over `r` (the reservation) and `upd` (the quota
/// after the commit).
macro_rules! stored_committed_sql {
    () => {
        "format('{\"committed\":{\"reservation\":%s,\"held\":%s,\"committed\":%s,\"exported\":%s,\"limit\":%s}}', \
         r.id, upd.held_micro, upd.committed_micro, upd.exported_micro, \
         COALESCE(upd.limit_micro::TEXT, 'null'))"
    };
}

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

/// Why nothing can be reserved or issued against a quota of this period at `now` (the day, in
/// UTC, outside it): a permit counts against the quota of the 12 months it is issued in
/// (not the months it is used in).
fn period_refusal(
    period_start: NaiveDate,
    period_end: NaiveDate,
    now: DateTime<Utc>,
) -> Option<Refusal> {
    let today = now.date_naive();
    (today < period_start || today >= period_end).then(|| Refusal::OutsidePeriod {
        period_start,
        period_last_day: crate::model::last_day(period_end),
    })
}

/// Midnight UTC at the start of `day`: where a period whose end (exclusive) is `day` ends.
fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
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

/// A limit in millionths as people read it (`None`: in preparation).
fn shown_limit(limit_micro: Option<i64>) -> String {
    limit_micro.map_or_else(
        || "in preparation".to_owned(),
        |l| from_micro(l).to_string(),
    )
}

/// A quota's row with the value Species+ published at its last import (migration 0008), which
/// only the import and a quota read alone need: kept out of [`QuotaRow`], which every
/// reservation reads and writes back.
#[derive(sqlx::FromRow)]
struct ImportedRow {
    #[sqlx(flatten)]
    quota: QuotaRow,
    speciesplus_value_micro: Option<i64>,
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
    fn state(&self) -> ReservationState {
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

/// The quota ledger over one database.
#[derive(Clone)]
pub struct Ledger {
    db: Db,
    clock: Arc<dyn Clock>,
    /// What never changes about a quota once declared, once read.
    fixed: Arc<std::sync::Mutex<HashMap<i64, Fixed>>>,
}

/// A quota's period `[start, end)` and unit: declared once, never changed afterwards.
#[derive(Clone, Copy)]
struct Fixed {
    period_start: NaiveDate,
    period_end: NaiveDate,
    unit: UnitCode,
}

impl Ledger {
    /// The ledger over `db`, through its pool for keyed statements
    /// ([`Db::for_keyed_statements`]): every statement here finds its rows by key, and waits
    /// at most [`LOCK_WAIT`] for a lock.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Ledger {
        Ledger {
            db: db.for_keyed_statements(LOCK_WAIT),
            clock,
            fixed: Arc::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    // ---- operations -------------------------------------------------------------------

    /// Declares a quota (or imports one from Species+). Idempotent on `key`.
    pub async fn declare(
        &self,
        key: &ClientKey,
        spec: &QuotaSpec,
        actor: &Actor,
    ) -> Result<QuotaView> {
        self.declare_with_merged(key, spec, &[], actor).await
    }

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

    async fn declare_once(
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

    /// Sets a quota's limit anew: a Species+ quota published after "in preparation" or revised,
    /// or a national quota amended (`None`: in preparation again). Audited as a declaration
    /// with the new limit (the counters do not move); refused, with nothing written, when the
    /// new limit is below what the quota already holds, has committed and has exported.
    /// Idempotent on `key`.
    pub async fn revise(
        &self,
        key: &ClientKey,
        quota_id: i64,
        limit: Option<&Quantity>,
        actor: &Actor,
    ) -> Result<QuotaView> {
        self.revise_with(key, quota_id, limit, false, actor).await
    }

    /// [`Ledger::revise`], or [`Ledger::revise_to_speciesplus`] when `to_speciesplus`: the
    /// request's own fingerprint, so that one key cannot be both.
    async fn revise_with(
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

    /// [`Ledger::revise`] to a value Species+ now publishes for an imported quota, recorded as
    /// the value last imported. Only while the quota's limit is still the value imported
    /// before (checked under the quota's lock): one revised nationally meanwhile keeps its
    /// limit, and this is refused as `limit`, with nothing written.
    pub async fn revise_to_speciesplus(
        &self,
        key: &ClientKey,
        quota_id: i64,
        limit: Option<&Quantity>,
        actor: &Actor,
    ) -> Result<QuotaView> {
        self.revise_with(key, quota_id, limit, true, actor).await
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
    async fn revise_once(
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

    /// Holds `quantity` (in the quota's unit or one convertible to it) until `expires_at`
    /// (default now + [`HOLD_DEFAULT`]), or until the end of the quota's period if that comes
    /// first. Refused, as data, when the quota cannot cover it.
    pub async fn reserve(
        &self,
        key: &ClientKey,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        // The fingerprint holds the expiry as the client sent it: a default filled in here
        // differs on every retry and would make a retry look like another request.
        let params = reserve_params(quota_id, quantity, expires_at);
        let reserved = self
            .reserve_new(key, &params, quota_id, quantity, expires_at, actor)
            .await;
        self.or_first_answer(key, &params_hash(&params), reserved)
            .await
    }

    /// What a reservation refused as invalid answers when its key was used before: the first
    /// answer if it was this request (a retry may come after the expiry it asked for has
    /// passed), a conflict if it was another (as the batch, which claims the key first,
    /// answers); the error otherwise.
    pub(crate) async fn or_first_answer(
        &self,
        key: &ClientKey,
        hash: &str,
        result: Result<Outcome>,
    ) -> Result<Outcome> {
        match result {
            Err(e @ (Error::Invalid { .. } | Error::Domain(_) | Error::QuotaNotFound(_))) => {
                self.first_reservation(key, hash).await?.ok_or(e)
            }
            other => other,
        }
    }

    /// What is decided before a reservation is written (by the group commit's batch too,
    /// which never sees it): a quantity or a hold's end the ledger cannot take (an error), a
    /// day outside the quota's period (refused: nothing is held). Otherwise the hold's end
    /// the reservation is written with.
    pub(crate) async fn admit(
        &self,
        key: &ClientKey,
        params: &str,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Admitted> {
        check_whole("quantity", quantity)?;
        let expires_at = hold_until(self.clock.now(), expires_at)?;
        match self
            .hold_in_period(quota_id, self.clock.now(), expires_at)
            .await?
        {
            Ok(at) => Ok(Admitted::Queued(at)),
            Err(refusal) => self
                .refuse_reservation(key, params, quota_id, quantity, expires_at, actor, refusal)
                .await
                .map(|o| Admitted::Answered(Box::new(o))),
        }
    }

    /// [`Ledger::reserve`] of a request whose key's first use, if any, is not known yet.
    async fn reserve_new(
        &self,
        key: &ClientKey,
        params: &str,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Outcome> {
        let expires_at = match self
            .admit(key, params, quota_id, quantity, expires_at, actor)
            .await?
        {
            Admitted::Queued(at) => at,
            Admitted::Answered(outcome) => return Ok(*outcome),
        };
        retry(|| async {
            let now = self.clock.now();
            if let Some(refusal) = self.outside_period_at(quota_id, now) {
                return self
                    .refuse_reservation(key, params, quota_id, quantity, expires_at, actor, refusal)
                    .await;
            }
            let fast = reserve_fast(
                &self.db, key, params, quota_id, quantity, expires_at, actor, now,
            )
            .await?;
            match fast {
                Some(outcome) => Ok(outcome),
                None => {
                    self.reserve_once(key, params, quota_id, quantity, expires_at, actor, now)
                        .await
                }
            }
        })
        .await
    }

    /// The quota's period and unit, read once (`None`: no such quota).
    async fn fixed(&self, quota_id: i64) -> Result<Option<Fixed>> {
        if let Some(f) = self
            .fixed
            .lock()
            .ok()
            .and_then(|f| f.get(&quota_id).copied())
        {
            return Ok(Some(f));
        }
        let row: Option<(NaiveDate, NaiveDate, String)> = read_db!(&self.db, pool => sqlx::query_as(
            "SELECT period_start, period_end, unit FROM export_quotas WHERE id = $1")
            .bind(quota_id).fetch_optional(pool).await)?;
        let Some((period_start, period_end, unit)) = row else {
            return Ok(None);
        };
        let f = Fixed {
            period_start,
            period_end,
            unit: UnitCode::parse(&unit)?,
        };
        if let Ok(mut fixed) = self.fixed.lock() {
            fixed.insert(quota_id, f);
        }
        Ok(Some(f))
    }

    /// Why a reservation written at `now` would be refused for the quota's period, from the
    /// period read before ([`Ledger::hold_in_period`] reads it). The period is checked when a
    /// request arrives and again at the `now` its write carries: a retry or a queue may take
    /// it past the period's last midnight, and a hold dated after its period would be a
    /// reservation no permit can use. `None` when the quota was not read (it does not exist:
    /// the write answers that).
    pub(crate) fn outside_period_at(&self, quota_id: i64, now: DateTime<Utc>) -> Option<Refusal> {
        let f = self.fixed.lock().ok()?.get(&quota_id).copied()?;
        period_refusal(f.period_start, f.period_end, now)
    }

    /// The unit a quota counts in: what a quantity given without a unit is in.
    pub async fn quota_unit(&self, quota_id: i64) -> Result<UnitCode> {
        Ok(self
            .fixed(quota_id)
            .await?
            .ok_or(Error::QuotaNotFound(quota_id))?
            .unit)
    }

    /// The unit of the quota a reservation is against: what a quantity given without a unit
    /// is in when committing or exporting.
    pub async fn reservation_unit(&self, reservation_id: i64) -> Result<UnitCode> {
        let quota_id: Option<i64> = read_db!(&self.db, pool => sqlx::query_scalar(
            "SELECT quota_id FROM quota_reservations WHERE id = $1")
            .bind(reservation_id).fetch_optional(pool).await)?;
        self.quota_unit(quota_id.ok_or(Error::ReservationNotFound(reservation_id))?)
            .await
    }

    /// A reservation asked at `now` against the quota's period, read once: refused when the
    /// day (UTC) is outside it; otherwise its hold's end, brought back to the end of the period
    /// (midnight UTC after the last day) if it asked for later. No permit can be issued against
    /// the quota after that (a commit is refused), so a longer hold would only keep the quantity
    /// from the Scientific Authority's figures until it expired. No such quota: the hold as
    /// asked (the reservation path then answers).
    pub(crate) async fn hold_in_period(
        &self,
        quota_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<std::result::Result<DateTime<Utc>, Refusal>> {
        Ok(match self.fixed(quota_id).await? {
            None => Ok(expires_at),
            Some(f) => match period_refusal(f.period_start, f.period_end, now) {
                Some(refusal) => Err(refusal),
                None => Ok(expires_at.min(start_of_day(f.period_end))),
            },
        })
    }

    /// Refuses a reservation of `quantity` for `refusal`, found before the quota's counters
    /// were read (the day is outside the quota's period), and records the answer with the key
    /// so that it stays refused (or answers the key's first outcome). Nothing is held; the
    /// reservation is written rejected with its audit entry, as a refusal for lack of quota
    /// is: a Scientific Authority reviewing the quota sees the demand it turned away.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn refuse_reservation(
        &self,
        key: &ClientKey,
        params: &str,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: DateTime<Utc>,
        actor: &Actor,
        refusal: Refusal,
    ) -> Result<Outcome> {
        let unit = self.quota_unit(quota_id).await?;
        let requested = to_micro("quantity", quantity.convert_to(unit)?.amount())?;
        if requested == 0 {
            return Err(Error::Invalid {
                field: "quantity",
                message: "0 is not a quantity to reserve; accepted > 0".into(),
            });
        }
        retry(|| async {
            let now = self.clock.now();
            let mut tx = self.db.begin().await?;
            let outcome = match claim_key(&mut tx, key, params, now, parse_stored_outcome).await? {
                Some(stored) => resolve_stored(&mut tx, stored).await?,
                None => {
                    let quota = lock_quota(&mut tx, quota_id).await?;
                    let r = record_reservation(
                        &mut tx,
                        &quota,
                        requested,
                        expires_at,
                        Some(&refusal),
                        actor,
                        now,
                    )
                    .await?;
                    // Stored whole: the refusal cannot be told again from the counters, as a
                    // refusal for lack of quota is.
                    let outcome = Outcome::Refused {
                        refusal: refusal.clone(),
                        reservation: Some(r.view(&quota.unit)),
                        quota: quota.view(),
                    };
                    store_outcome(&mut tx, key, &outcome).await?;
                    outcome
                }
            };
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn reserve_once(
        &self,
        key: &ClientKey,
        params: &str,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: DateTime<Utc>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let mut tx = self.db.begin().await?;
        let outcome = reserve_in_tx(
            &mut tx, key, params, quota_id, quantity, expires_at, actor, now,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Turns a held reservation into an issued permit for `quantity` (default: all of it; less
    /// returns the rest to the quota), valid until `permit_expires_at` (default now +
    /// [`PERMIT_VALIDITY_MONTHS`], the most it may be).
    pub async fn commit(
        &self,
        key: &ClientKey,
        reservation_id: i64,
        quantity: Option<&Quantity>,
        permit_expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        if let Some(q) = quantity {
            check_whole("quantity", q)?;
        }
        let params = format!(
            "commit|{reservation_id}|{:?}|{:?}|{:?}",
            quantity.map(|q| q.amount().normalize()),
            quantity.map(|q| q.unit().code()),
            permit_expires_at.map(|p| p.timestamp_millis())
        );
        retry(|| async {
            if let Db::Postgres(pool) = &self.db
                && let Some(outcome) = commit_fast(
                    pool,
                    key,
                    &params,
                    reservation_id,
                    quantity,
                    permit_expires_at,
                    actor,
                    self.clock.now(),
                )
                .await?
            {
                return Ok(outcome);
            }
            self.transition_once(
                key,
                &params,
                reservation_id,
                Transition::Commit(quantity, permit_expires_at),
                actor,
            )
            .await
        })
        .await
    }

    /// Cancels a held reservation; its quantity returns to the quota.
    pub async fn release(
        &self,
        key: &ClientKey,
        reservation_id: i64,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        let params = format!("release|{reservation_id}");
        retry(|| async {
            if let Db::Postgres(pool) = &self.db
                && let Some(outcome) =
                    release_fast(pool, key, &params, reservation_id, actor, self.clock.now())
                        .await?
            {
                return Ok(outcome);
            }
            self.transition_once(key, &params, reservation_id, Transition::Release, actor)
                .await
        })
        .await
    }

    /// Records a quantity actually exported under a committed permit (an endorsement).
    pub async fn record_export(
        &self,
        key: &ClientKey,
        reservation_id: i64,
        quantity: &Quantity,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        check_whole("quantity", quantity)?;
        let params = format!(
            "export|{reservation_id}|{}|{}",
            quantity.amount().normalize(),
            quantity.unit().code()
        );
        retry(|| {
            self.transition_once(
                key,
                &params,
                reservation_id,
                Transition::Export(quantity),
                actor,
            )
        })
        .await
    }

    /// Closes a committed permit: what it did not export returns to the quota.
    pub async fn close(
        &self,
        key: &ClientKey,
        reservation_id: i64,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        let params = format!("close|{reservation_id}");
        retry(|| self.transition_once(key, &params, reservation_id, Transition::Close, actor)).await
    }

    async fn transition_once(
        &self,
        key: &ClientKey,
        params: &str,
        reservation_id: i64,
        transition: Transition<'_>,
        actor: &Actor,
    ) -> Result<Outcome> {
        let mut tx = self.db.begin().await?;
        // Read once the transaction holds what it waited for (a pooled connection; SQLite's
        // write lock).
        let now = self.clock.now();
        if let Some(stored) = claim_key(&mut tx, key, params, now, parse_stored_transition).await? {
            let first = stored.answer(&mut tx).await;
            tx.rollback().await?;
            return first;
        }
        // Locked (PostgreSQL; SQLite's write transaction excludes every other writer): a
        // refusal decided from it cannot contradict a change committed meanwhile, which its
        // audit entry, written after, would otherwise follow in the quota's history.
        let r = lock_reservation(&mut tx, reservation_id).await?;
        // Again, after any wait for that lock: the expiry, period and validity checks and the
        // audit entry's time are those of the write.
        let now = self.clock.now();
        let quota = load_quota(&mut tx, r.quota_id).await?;
        let unit = UnitCode::parse(&quota.unit)?;
        let refuse = |refusal: Refusal, r: &ReservationRow, q: &QuotaRow| Outcome::Refused {
            refusal,
            reservation: Some(r.view(&q.unit)),
            quota: q.view(),
        };
        let expected = match transition {
            Transition::Commit(..) | Transition::Release => ReservationState::Held,
            Transition::Export(_) | Transition::Close => ReservationState::Committed,
        };
        // Not (or no longer, after a racing change) in the state the transition starts from.
        let wrong_state = |current: &ReservationRow| {
            refuse(
                Refusal::WrongState {
                    state: current.state(),
                    expected,
                },
                current,
                &quota,
            )
        };
        // What was asked, in the quota's unit, for the audit entry of a refusal (none when no
        // quantity was given: a release, a close, a commit of the whole hold). A quantity that
        // cannot be converted is an error only where the transition needs it, after the state
        // check.
        let asked = match transition {
            Transition::Commit(Some(q), _) | Transition::Export(q) => q
                .convert_to(unit)
                .ok()
                .and_then(|q| to_micro("quantity", q.amount()).ok()),
            Transition::Commit(None, _) | Transition::Release | Transition::Close => None,
        };
        let mut outcome = if r.state() != expected {
            wrong_state(&r)
        } else {
            match transition {
                Transition::Commit(quantity, permit_expires_at) => {
                    let c = match quantity {
                        Some(q) => to_micro("quantity", q.convert_to(unit)?.amount())?,
                        None => r.quantity_micro,
                    };
                    if c == 0 {
                        return Err(Error::Invalid {
                            field: "quantity",
                            message: "0 cannot be committed; release the reservation instead"
                                .into(),
                        });
                    }
                    let permit_expires_at = permit_until(now, permit_expires_at)?;
                    // A permit counts against the quota of the 12 months it is issued in: a
                    // hold from last year's quota cannot become this year's permit. Said first:
                    // such a hold has also expired (holds end with their period), but the
                    // period is why.
                    if let Some(refusal) = quota.outside_period(now) {
                        refuse(refusal, &r, &quota)
                    } else if r.expires_at <= now {
                        refuse(
                            Refusal::ReservationExpired {
                                expired_at: r.expires_at,
                            },
                            &r,
                            &quota,
                        )
                    } else if c > r.quantity_micro {
                        refuse(
                            Refusal::ExceedsReservation {
                                requested: from_micro(c),
                                allowed: from_micro(r.quantity_micro),
                                unit: Some(quota.unit.clone()),
                            },
                            &r,
                            &quota,
                        )
                    } else {
                        // Conditional on the state and the expiry, so a commit racing the
                        // sweeper (or another commit) changes the reservation at most once.
                        let changed: Option<ReservationRow> = with_tx!(&mut tx, conn => sqlx::query_as(concat!(
                            "UPDATE quota_reservations SET state = 'committed', committed_micro = $2, \
                             permit_expires_at = $3 WHERE id = $1 AND state = 'held' AND expires_at > $4 \
                             RETURNING ", reservation_columns!()))
                            .bind(r.id).bind(c).bind(permit_expires_at).bind(now).fetch_optional(conn).await)?;
                        match changed {
                            None => wrong_state(&load_reservation(&mut tx, r.id).await?),
                            Some(changed) => {
                                settle(
                                    &mut tx,
                                    quota.id,
                                    &changed,
                                    "commit",
                                    (-r.quantity_micro, c, 0),
                                    actor,
                                    now,
                                )
                                .await?
                            }
                        }
                    }
                }
                Transition::Release => {
                    let changed = set_state(&mut tx, r.id, "held", "released").await?;
                    match changed {
                        None => wrong_state(&load_reservation(&mut tx, r.id).await?),
                        Some(changed) => {
                            settle(
                                &mut tx,
                                quota.id,
                                &changed,
                                "release",
                                (-r.quantity_micro, 0, 0),
                                actor,
                                now,
                            )
                            .await?
                        }
                    }
                }
                Transition::Export(quantity) => {
                    let e = to_micro("quantity", quantity.convert_to(unit)?.amount())?;
                    if e == 0 {
                        return Err(Error::Invalid {
                            field: "quantity",
                            message: "0 is not an export; accepted > 0".into(),
                        });
                    }
                    let open = r.committed_micro - r.exported_micro;
                    if let Some(expired_at) = r.permit_expires_at.filter(|at| *at <= now) {
                        refuse(Refusal::PermitExpired { expired_at }, &r, &quota)
                    } else if e > open {
                        refuse(
                            Refusal::ExceedsReservation {
                                requested: from_micro(e),
                                allowed: from_micro(open),
                                unit: Some(quota.unit.clone()),
                            },
                            &r,
                            &quota,
                        )
                    } else {
                        let changed: Option<ReservationRow> = with_tx!(&mut tx, conn => sqlx::query_as(concat!(
                            "UPDATE quota_reservations SET exported_micro = exported_micro + $2 \
                             WHERE id = $1 AND state = 'committed' AND committed_micro - exported_micro >= $2 \
                             RETURNING ", reservation_columns!()))
                            .bind(r.id).bind(e).fetch_optional(conn).await)?;
                        match changed {
                            // Changed since it was read (closed, or exported meanwhile; a
                            // permit's validity never changes): the answer says what stopped
                            // it now.
                            None => {
                                let again = load_reservation(&mut tx, r.id).await?;
                                if again.state() != expected {
                                    wrong_state(&again)
                                } else {
                                    refuse(
                                        Refusal::ExceedsReservation {
                                            requested: from_micro(e),
                                            allowed: from_micro(
                                                again.committed_micro - again.exported_micro,
                                            ),
                                            unit: Some(quota.unit.clone()),
                                        },
                                        &again,
                                        &quota,
                                    )
                                }
                            }
                            Some(changed) => {
                                settle(
                                    &mut tx,
                                    quota.id,
                                    &changed,
                                    "export",
                                    (0, -e, e),
                                    actor,
                                    now,
                                )
                                .await?
                            }
                        }
                    }
                }
                Transition::Close => {
                    let changed = set_state(&mut tx, r.id, "committed", "closed").await?;
                    match changed {
                        None => wrong_state(&load_reservation(&mut tx, r.id).await?),
                        Some(changed) => {
                            let open = changed.committed_micro - changed.exported_micro;
                            settle(
                                &mut tx,
                                quota.id,
                                &changed,
                                "close",
                                (0, -open, 0),
                                actor,
                                now,
                            )
                            .await?
                        }
                    }
                }
            }
        };
        if let Outcome::Refused {
            refusal,
            quota: view,
            ..
        } = &mut outcome
        {
            // A refusal changes nothing, but it is audited: an attempt to export more than a
            // permit allows, or to use a permit twice, is what an enforcement officer looks
            // for. Under the quota's row lock, as every entry of its history; the answer shows
            // the quota as it stands there.
            let quota = lock_quota(&mut tx, r.quota_id).await?;
            *view = quota.view();
            append_refusal(
                &mut tx,
                &quota,
                r.id,
                transition.refused_event(),
                asked.filter(|a| *a > 0),
                refusal,
                actor,
                now,
            )
            .await?;
        }
        store_outcome(&mut tx, key, &outcome).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Expires holds whose expiry has passed and closes permits whose validity has ended,
    /// returning their quantities. Never touches anything before its time.
    pub async fn sweep(&self, actor: &Actor) -> Result<SweepReport> {
        retry(|| self.sweep_once(actor)).await
    }

    /// [`Ledger::sweep`] again while one sweep found as many as it handles at most, so that a
    /// backlog (a service down for a while, a burst of holds falling due at once) is cleared in
    /// one call rather than [`SWEEP_BATCH_MAX`] per minute, each transaction staying that small.
    pub async fn sweep_due(&self, actor: &Actor) -> Result<SweepReport> {
        let mut total = SweepReport::default();
        loop {
            let r = self.sweep(actor).await?;
            total.expired += r.expired;
            total.closed += r.closed;
            let full =
                i64::try_from(r.expired.max(r.closed)).unwrap_or(i64::MAX) >= SWEEP_BATCH_MAX;
            if !full {
                return Ok(total);
            }
        }
    }

    async fn sweep_once(&self, actor: &Actor) -> Result<SweepReport> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        // Set-wise: one UPDATE per kind, one counter UPDATE per quota, the audit entries in a
        // few multi-row INSERTs. Row by row, 1,000 holds falling due at once took a second on
        // PostgreSQL, with their quota's row locked throughout. The outer conditions repeat
        // the inner ones because PostgreSQL re-checks only those against a row that a racing
        // commit or release changed while the sweep waited for it. Each search runs on its
        // own index; an OR of the two read every open permit (PostgreSQL, 2,000 open permits:
        // 3.5 ms, against 0.4 ms for both searches).
        let mut expired: Vec<ReservationRow> = with_tx!(&mut tx, c => sqlx::query_as(concat!(
            "UPDATE quota_reservations SET state = 'expired' \
             WHERE state = 'held' AND expires_at <= $1 AND id IN (SELECT id FROM quota_reservations \
             WHERE state = 'held' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2) \
             RETURNING ", reservation_columns!()))
            .bind(now).bind(SWEEP_BATCH_MAX).fetch_all(c).await)?;
        let mut closed: Vec<ReservationRow> = with_tx!(&mut tx, c => sqlx::query_as(concat!(
            "UPDATE quota_reservations SET state = 'closed' \
             WHERE state = 'committed' AND permit_expires_at <= $1 AND id IN (SELECT id \
             FROM quota_reservations WHERE state = 'committed' AND permit_expires_at <= $1 \
             ORDER BY permit_expires_at, id LIMIT $2) \
             RETURNING ", reservation_columns!()))
            .bind(now).bind(SWEEP_BATCH_MAX).fetch_all(c).await)?;
        // The audit in the order things fell due.
        expired.sort_by_key(|r| (r.expires_at, r.id));
        closed.sort_by_key(|r| (r.permit_expires_at, r.id));
        let changes: Vec<(&ReservationRow, &'static str, (i64, i64, i64))> = (expired.iter())
            .map(|r| (r, "expire", (-r.quantity_micro, 0, 0)))
            .chain(
                (closed.iter())
                    .map(|r| (r, "close", (0, -(r.committed_micro - r.exported_micro), 0))),
            )
            .collect();
        // Quotas in id order, as every path that locks several does.
        let mut totals: BTreeMap<i64, (i64, i64, i64)> = BTreeMap::new();
        for (r, _, d) in &changes {
            let t = totals.entry(r.quota_id).or_default();
            *t = (t.0 + d.0, t.1 + d.1, t.2 + d.2);
        }
        let mut limits: HashMap<i64, Option<i64>> = HashMap::new();
        for (quota_id, delta) in totals {
            let q = move_counters(&mut tx, quota_id, delta).await?;
            limits.insert(quota_id, q.limit_micro);
        }
        for chunk in changes.chunks(SWEEP_ENTRIES_PER_INSERT) {
            with_tx!(&mut tx, c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
                     delta_committed, delta_exported, limit_micro, actor, reason, at) ",
                );
                qb.push_values(chunk, |mut b, (r, event, d)| {
                    b.push_bind(r.quota_id)
                        .push_bind(r.id)
                        .push_bind(*event)
                        .push_bind(d.0)
                        .push_bind(d.1)
                        .push_bind(d.2)
                        .push_bind(limits.get(&r.quota_id).copied().flatten())
                        .push_bind(&actor.name)
                        .push_bind(&actor.reason)
                        .push_bind(now);
                });
                qb.build().execute(&mut *c).await.map(|_| ())
            })?;
        }
        tx.commit().await?;
        Ok(SweepReport {
            expired: expired.len() as u64,
            closed: closed.len() as u64,
        })
    }

    // ---- queries ----------------------------------------------------------------------

    pub async fn quota(&self, id: i64) -> Result<QuotaView> {
        Ok(self.quota_row(id).await?.view())
    }

    async fn quota_row(&self, id: i64) -> Result<QuotaRow> {
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
    /// check's own permit, which its first answer was not compared with).
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
                qb.push(" AND r.id <> ").push_bind(id);
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

    /// Whether a request was made under `key` (its first answer is kept): the service then
    /// lets the ledger answer it, as the first time, rather than refusing it for what changed
    /// since.
    pub async fn key_used(&self, key: &ClientKey) -> Result<bool> {
        let used: Option<i32> = read_db!(&self.db, pool => sqlx::query_scalar(
            "SELECT 1 FROM quota_requests WHERE client_key = $1")
            .bind(key.as_str()).fetch_optional(pool).await)?;
        Ok(used.is_some())
    }

    /// The first outcome of a reservation made under `key`, if there was one.
    pub async fn reserved_under(&self, key: &ClientKey) -> Result<Option<Outcome>> {
        let stored: Option<String> = read_db!(&self.db, pool => sqlx::query_scalar(
            "SELECT outcome FROM quota_requests WHERE client_key = $1 AND operation = 'reserve'")
            .bind(key.as_str()).fetch_optional(pool).await)?;
        match stored {
            Some(stored) => self.answer_stored(&stored).await.map(Some),
            None => Ok(None),
        }
    }

    /// The first answer under `key` to the reservation whose parameters hash to `hash`, if the
    /// key was used: [`Error::KeyConflict`] if it was used for another request. Reads only, for
    /// a request that cannot be carried out now but may be a retry of one that was.
    pub(crate) async fn first_reservation(
        &self,
        key: &ClientKey,
        hash: &str,
    ) -> Result<Option<Outcome>> {
        let first: Option<(String, String, String)> = read_db!(&self.db, pool => sqlx::query_as(
            "SELECT operation, params_hash, outcome FROM quota_requests WHERE client_key = $1")
            .bind(key.as_str()).fetch_optional(pool).await)?;
        let Some((operation, first_hash, stored)) = first else {
            return Ok(None);
        };
        if first_hash != hash {
            return Err(Error::KeyConflict {
                key: key.client_part().to_owned(),
                first: operation,
            });
        }
        self.answer_stored(&stored).await.map(Some)
    }

    /// A reservation's stored first outcome, answered as the first time.
    async fn answer_stored(&self, stored: &str) -> Result<Outcome> {
        let stored = parse_stored_outcome(stored)?;
        // What a reference needs of the two rows never changes: no transaction to read them.
        let rows = match stored.reservation_id() {
            Some(id) => {
                let r = self.reservation_row(id).await?;
                Some((self.quota_row(r.quota_id).await?, r))
            }
            None => None,
        };
        stored.answer(rows)
    }

    pub async fn reservation(&self, id: i64) -> Result<ReservationView> {
        let r = self.reservation_row(id).await?;
        let q = self.quota_row(r.quota_id).await?;
        Ok(r.view(&q.unit))
    }

    async fn reservation_row(&self, id: i64) -> Result<ReservationRow> {
        let r: Option<ReservationRow> = read_db!(&self.db, pool => sqlx::query_as(concat!(
                "SELECT ", reservation_columns!(), " FROM quota_reservations WHERE id = $1"))
                .bind(id).fetch_optional(pool).await)?;
        r.ok_or(Error::ReservationNotFound(id))
    }

    /// The audit ledger of one quota, in order: every page of [`Ledger::history_page`].
    pub async fn history(&self, quota_id: i64) -> Result<Vec<LedgerEntry>> {
        self.history_read_by(quota_id, HISTORY_PAGE_MAX).await
    }

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

    /// The entries of one quota's audit ledger after sequence number `after` (0: from the
    /// start), at most `limit` ([`HISTORY_PAGE_MAX`] at most), each with the counters just
    /// after it. A quota's entries become visible in sequence order (every one is written
    /// under the quota's row lock), so paging by `next_after` misses none. `after` must be 0
    /// or the sequence number of one of this quota's entries: any other number could fall
    /// between the entries of a write still in flight.
    pub async fn history_page(&self, quota_id: i64, after: i64, limit: u32) -> Result<HistoryPage> {
        Ok(self.page_of_history(quota_id, after, limit, None).await?.0)
    }

    /// [`Ledger::history_page`], starting from the counters `sums` (micro held, committed,
    /// exported) after `after` when the caller knows them (the previous page's end), which
    /// spares summing every entry before; answers the page and the counters at its end.
    async fn page_of_history(
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

/// One reservation inside an open transaction: validates, claims the key (returning the
/// first outcome of a repeated key), then the conditional UPDATE decides. Validation comes
/// before any write, so a refused input leaves nothing in the transaction (which a group
/// commit shares with other requests).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn reserve_in_tx(
    tx: &mut Tx,
    key: &ClientKey,
    params: &str,
    quota_id: i64,
    quantity: &Quantity,
    expires_at: DateTime<Utc>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let quota = load_quota(tx, quota_id).await?;
    let unit = UnitCode::parse(&quota.unit)?;
    let requested = to_micro("quantity", quantity.convert_to(unit)?.amount())?;
    if requested == 0 {
        return Err(Error::Invalid {
            field: "quantity",
            message: "0 is not a quantity to reserve; accepted > 0".into(),
        });
    }
    if let Some(stored) = claim_key(tx, key, params, now, parse_stored_outcome).await? {
        return resolve_stored(tx, stored).await;
    }
    // The one statement that decides: it re-checks availability under the row lock.
    let updated: Option<QuotaRow> = with_tx!(tx, c => sqlx::query_as(concat!(
        "UPDATE export_quotas SET held_micro = held_micro + $2 WHERE id = $1 \
         AND limit_micro IS NOT NULL \
         AND limit_micro - held_micro - committed_micro - exported_micro >= $2 RETURNING ",
        quota_columns!()))
        .bind(quota_id).bind(requested).fetch_optional(c).await)?;
    let (quota, refusal) = match updated {
        Some(quota) => (quota, None),
        None => {
            // Read again: what is available now, not when the request started. Locked like
            // an UPDATE would, so the refusal's audit entry, like every other of this quota,
            // takes its sequence number under the quota's row lock and becomes visible in
            // sequence order: a reader who has seen entry s has seen all before it.
            let quota = lock_quota(tx, quota_id).await?;
            if quota.limit_micro.is_some() && quota.available_micro() >= requested {
                // On PostgreSQL a release committed between the UPDATE and the lock: a refusal
                // now would contradict the audit entries before it. Under the lock the same
                // UPDATE cannot miss.
                let updated: Option<QuotaRow> = with_tx!(tx, c => sqlx::query_as(concat!(
                    "UPDATE export_quotas SET held_micro = held_micro + $2 WHERE id = $1 RETURNING ",
                    quota_columns!()))
                    .bind(quota_id).bind(requested).fetch_optional(c).await)?;
                (updated.ok_or(Error::QuotaNotFound(quota_id))?, None)
            } else {
                let refusal = refusal_for(&quota, requested);
                (quota, Some(refusal))
            }
        }
    };
    let r = record_reservation(
        tx,
        &quota,
        requested,
        expires_at,
        refusal.as_ref(),
        actor,
        now,
    )
    .await?;
    store_raw_outcome(tx, key, stored_ref(r.id, &quota)).await?;
    Ok(reservation_outcome(&quota, &r))
}

/// The reservation every request hopes for, in as few round trips as the backend allows: a
/// new key, a quantity in the quota's own unit, and enough available. `None` sends the request
/// to the general path ([`reserve_in_tx`]), which handles everything else (another unit, a
/// repeated key, a refusal, an unknown quota) the same way as before; nothing was written.
///
/// PostgreSQL: one autocommitted statement (data-modifying CTEs), so the hot row's lock is
/// held for one round trip and the commit, like the raw conditional UPDATE. Its outcome is
/// stored as a reference ([`StoredOutcome::Ref`]) built in the statement. A concurrent
/// request with the same key makes the request record's INSERT fail on the key's primary
/// key, which aborts the whole statement: the general path then finds the first request's
/// outcome.
///
/// SQLite: `BEGIN IMMEDIATE`, the conditional UPDATE, three INSERTs, COMMIT, in-process.
#[allow(clippy::too_many_arguments)]
async fn reserve_fast(
    db: &Db,
    key: &ClientKey,
    params: &str,
    quota_id: i64,
    quantity: &Quantity,
    expires_at: DateTime<Utc>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>> {
    // In another unit the amount may only become exact, or small enough, once converted:
    // the general path converts it.
    let Ok(requested) = to_micro("quantity", quantity.amount()) else {
        return Ok(None);
    };
    if requested <= 0 {
        return Ok(None);
    }
    let unit = quantity.unit().code();
    let hash = params_hash(params);
    match db {
        Db::Postgres(pool) => {
            let written: std::result::Result<Option<FastRow>, sqlx::Error> =
                sqlx::query_as(concat!(
                    "WITH upd AS (UPDATE export_quotas SET held_micro = held_micro + $2 \
                     WHERE id = $1 AND unit = $3 AND limit_micro IS NOT NULL \
                     AND limit_micro - held_micro - committed_micro - exported_micro >= $2 \
                     AND NOT EXISTS (SELECT 1 FROM quota_requests WHERE client_key = $4) \
                     RETURNING ",
                    quota_columns!(),
                    "), \
                     res AS (INSERT INTO quota_reservations (quota_id, state, quantity_micro, \
                     expires_at, reject_reason, created_at, created_by) \
                     SELECT id, 'held', $2, $5, NULL, $6, $7 FROM upd RETURNING id), \
                     led AS (INSERT INTO quota_ledger (quota_id, reservation_id, event, \
                     delta_held, delta_committed, delta_exported, limit_micro, actor, reason, at) \
                     SELECT upd.id, res.id, 'reserve', $2, 0, 0, upd.limit_micro, $7, $8, $6 \
                     FROM upd, res), \
                     req AS (INSERT INTO quota_requests (client_key, operation, params_hash, \
                     outcome, created_at) SELECT $4, 'reserve', $9, ",
                    stored_ref_sql!(
                        "res.id",
                        "upd.held_micro",
                        "upd.committed_micro",
                        "upd.exported_micro",
                        "upd.limit_micro"
                    ),
                    ", $6 FROM upd, res) \
                     SELECT upd.*, res.id AS reservation_id FROM upd, res"
                ))
                .bind(quota_id)
                .bind(requested)
                .bind(unit)
                .bind(key.as_str())
                .bind(expires_at)
                .bind(now)
                .bind(&actor.name)
                .bind(&actor.reason)
                .bind(&hash)
                .fetch_optional(pool)
                .await;
            match written {
                Ok(Some(FastRow {
                    quota,
                    reservation_id,
                })) => {
                    let r = held_row(reservation_id, quota_id, requested, expires_at);
                    Ok(Some(reservation_outcome(&quota, &r)))
                }
                Ok(None) => Ok(None),
                Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
        Db::Sqlite(_) => {
            let mut tx = db.begin().await?;
            let updated: Option<QuotaRow> = with_tx!(&mut tx, c => sqlx::query_as(concat!(
                "UPDATE export_quotas SET held_micro = held_micro + $2 \
                 WHERE id = $1 AND unit = $3 AND limit_micro IS NOT NULL \
                 AND limit_micro - held_micro - committed_micro - exported_micro >= $2 \
                 AND NOT EXISTS (SELECT 1 FROM quota_requests WHERE client_key = $4) \
                 RETURNING ", quota_columns!()))
                .bind(quota_id).bind(requested).bind(unit).bind(key.as_str())
                .fetch_optional(c).await)?;
            let Some(quota) = updated else {
                tx.rollback().await?;
                return Ok(None);
            };
            let r = record_reservation(&mut tx, &quota, requested, expires_at, None, actor, now)
                .await?;
            with_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO quota_requests (client_key, operation, params_hash, outcome, created_at) \
                 VALUES ($1, 'reserve', $2, $3, $4)")
                .bind(key.as_str()).bind(&hash).bind(stored_ref(r.id, &quota)).bind(now)
                .execute(c).await.map(|r| r.rows_affected()))?;
            tx.commit().await?;
            Ok(Some(reservation_outcome(&quota, &r)))
        }
    }
}

/// How a transition's first outcome is stored with its key. A release made in one statement
/// ([`release_fast`]) stores [`StoredTransition::Released`]: the reservation's id and the
/// quota's counters just after it (a released reservation never changes again, so its row
/// rebuilds the rest exactly). Every other transition stores the serialised [`Outcome`].
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredTransition {
    Released { released: StoredRef },
    Committed { committed: StoredRef },
    Outcome(Box<Outcome>),
}

fn parse_stored_transition(json: &str) -> Result<StoredTransition> {
    parse_stored(json)
}

impl StoredTransition {
    /// The first answer, read in `tx`.
    async fn answer(self, tx: &mut Tx) -> Result<Outcome> {
        match self {
            StoredTransition::Outcome(o) => Ok(*o),
            StoredTransition::Released { released } => {
                let r = load_reservation(tx, released.reservation).await?;
                let quota = load_quota(tx, r.quota_id).await?;
                let after = QuotaRow {
                    held_micro: released.held,
                    committed_micro: released.committed,
                    exported_micro: released.exported,
                    limit_micro: released.limit,
                    ..quota
                };
                Ok(Outcome::Done {
                    reservation: r.view(&after.unit),
                    quota: after.view(),
                })
            }
            StoredTransition::Committed { committed } => {
                let mut r = load_reservation(tx, committed.reservation).await?;
                let quota = load_quota(tx, r.quota_id).await?;
                let after = QuotaRow {
                    held_micro: committed.held,
                    committed_micro: committed.committed,
                    exported_micro: committed.exported,
                    limit_micro: committed.limit,
                    ..quota
                };
                // Its committed quantity and permit validity never change after the commit;
                // only exports and the close do.
                r.state = "committed".into();
                r.exported_micro = 0;
                Ok(Outcome::Done {
                    reservation: r.view(&after.unit),
                    quota: after.view(),
                })
            }
        }
    }
}

/// A commit in one autocommitted PostgreSQL statement, as [`release_fast`] is for a release:
/// the reservation becomes committed (all of it, or the part given in the quota's own unit,
/// the rest returning to the quota), the quota's counters move, the audit entry and the key's
/// record are written, and the quota's row lock is held for the commit alone. `None` when it
/// does not apply (the reservation is not held or has expired, the quantity is in another
/// unit, zero or more than held, the permit's validity is not in the future, the day is
/// outside the quota's period, the key was used before or at the same moment); nothing was written and the general path answers, with its
/// refusals and errors. Locks the reservation, then the quota, as the general path and the
/// sweeper do.
#[allow(clippy::too_many_arguments)]
async fn commit_fast(
    pool: &sqlx::PgPool,
    key: &ClientKey,
    params: &str,
    reservation_id: i64,
    quantity: Option<&Quantity>,
    permit_expires_at: Option<DateTime<Utc>>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>> {
    #[derive(sqlx::FromRow)]
    struct Committed {
        #[sqlx(flatten)]
        quota: QuotaRow,
        r_id: i64,
        r_quota_id: i64,
        r_quantity_micro: i64,
        r_committed_micro: i64,
        r_expires_at: DateTime<Utc>,
    }
    // An invalid validity is the general path's to refuse, after it has looked for the key.
    let Ok(permit_expires_at) = permit_until(now, permit_expires_at) else {
        return Ok(None);
    };
    let (micro, unit) = match quantity {
        Some(q) => match to_micro("quantity", q.amount()) {
            Ok(m) if m > 0 => (Some(m), Some(q.unit().code())),
            _ => return Ok(None),
        },
        None => (None, None),
    };
    let written: std::result::Result<Option<Committed>, sqlx::Error> = sqlx::query_as(concat!(
        "WITH r AS (UPDATE quota_reservations x SET state = 'committed', \
         committed_micro = COALESCE($2, x.quantity_micro), permit_expires_at = $3 \
         WHERE x.id = $1 AND x.state = 'held' AND x.expires_at > $4 \
         AND COALESCE($2, x.quantity_micro) <= x.quantity_micro \
         AND EXISTS (SELECT 1 FROM export_quotas q WHERE q.id = x.quota_id \
         AND ($5::TEXT IS NULL OR q.unit = $5) AND q.period_start <= $10 AND q.period_end > $10) \
         AND NOT EXISTS (SELECT 1 FROM quota_requests WHERE client_key = $6) \
         RETURNING x.id, x.quota_id, x.quantity_micro, x.committed_micro, x.expires_at), \
         upd AS (UPDATE export_quotas SET held_micro = held_micro - (SELECT quantity_micro FROM r), \
         committed_micro = committed_micro + (SELECT committed_micro FROM r) \
         WHERE id = (SELECT quota_id FROM r) RETURNING ",
        quota_columns!(),
        "), \
         led AS (INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
         delta_committed, delta_exported, limit_micro, actor, reason, at) \
         SELECT upd.id, r.id, 'commit', -r.quantity_micro, r.committed_micro, 0, \
         upd.limit_micro, $7, $8, $4 FROM upd, r), \
         req AS (INSERT INTO quota_requests (client_key, operation, params_hash, outcome, \
         created_at) SELECT $6, 'commit', $9, ",
        stored_committed_sql!(),
        ", $4 FROM upd, r) \
         SELECT upd.*, r.id AS r_id, r.quota_id AS r_quota_id, \
         r.quantity_micro AS r_quantity_micro, r.committed_micro AS r_committed_micro, \
         r.expires_at AS r_expires_at FROM upd, r"
    ))
    .bind(reservation_id)
    .bind(micro)
    .bind(permit_expires_at)
    .bind(now)
    .bind(unit)
    .bind(key.as_str())
    .bind(&actor.name)
    .bind(&actor.reason)
    .bind(params_hash(params))
    .bind(now.date_naive())
    .fetch_optional(pool)
    .await;
    fast_answer(written.map(|w| {
        w.map(|w| {
            let r = ReservationRow {
                state: "committed".into(),
                committed_micro: w.r_committed_micro,
                permit_expires_at: Some(permit_expires_at),
                ..held_row(w.r_id, w.r_quota_id, w.r_quantity_micro, w.r_expires_at)
            };
            (w.quota, r)
        })
    }))
}

/// The answer of a one-statement transition from the quota and reservation as it left them:
/// done, or `None` when it did not apply or its key was recorded at the same moment (its
/// record's primary key aborted the statement); nothing was written then, and the general
/// path answers.
fn fast_answer(
    written: std::result::Result<Option<(QuotaRow, ReservationRow)>, sqlx::Error>,
) -> Result<Option<Outcome>> {
    match written {
        Ok(Some((quota, r))) => Ok(Some(Outcome::Done {
            reservation: r.view(&quota.unit),
            quota: quota.view(),
        })),
        Ok(None) => Ok(None),
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A release in one autocommitted PostgreSQL statement, as [`reserve_fast`] is for a
/// reservation: the reservation leaves `held`, the quota's hold shrinks, the audit entry and
/// the key's record are written, and the quota's row lock is held for the commit alone instead
/// of four round trips. `None` when it does not apply (the reservation is not held, the key was
/// used before, or used at the same moment: its record's primary key then aborts the whole
/// statement); nothing was written and the general path answers, as before. Locks the
/// reservation, then the quota, as the general path and the sweeper do.
async fn release_fast(
    pool: &sqlx::PgPool,
    key: &ClientKey,
    params: &str,
    reservation_id: i64,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>> {
    #[derive(sqlx::FromRow)]
    struct Released {
        #[sqlx(flatten)]
        quota: QuotaRow,
        r_id: i64,
        r_quota_id: i64,
        r_quantity_micro: i64,
        r_expires_at: DateTime<Utc>,
    }
    let written: std::result::Result<Option<Released>, sqlx::Error> = sqlx::query_as(concat!(
        "WITH r AS (UPDATE quota_reservations SET state = 'released' \
         WHERE id = $1 AND state = 'held' \
         AND NOT EXISTS (SELECT 1 FROM quota_requests WHERE client_key = $2) \
         RETURNING id, quota_id, quantity_micro, expires_at), \
         upd AS (UPDATE export_quotas SET held_micro = held_micro - (SELECT quantity_micro FROM r) \
         WHERE id = (SELECT quota_id FROM r) RETURNING ",
        quota_columns!(),
        "), \
         led AS (INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
         delta_committed, delta_exported, limit_micro, actor, reason, at) \
         SELECT upd.id, r.id, 'release', -r.quantity_micro, 0, 0, upd.limit_micro, $3, $4, $5 \
         FROM upd, r), \
         req AS (INSERT INTO quota_requests (client_key, operation, params_hash, outcome, \
         created_at) SELECT $2, 'release', $6, ",
        stored_released_sql!(),
        ", $5 FROM upd, r) \
         SELECT upd.*, r.id AS r_id, r.quota_id AS r_quota_id, \
         r.quantity_micro AS r_quantity_micro, r.expires_at AS r_expires_at FROM upd, r"
    ))
    .bind(reservation_id)
    .bind(key.as_str())
    .bind(&actor.name)
    .bind(&actor.reason)
    .bind(now)
    .bind(params_hash(params))
    .fetch_optional(pool)
    .await;
    fast_answer(written.map(|w| {
        w.map(|w| {
            let r = ReservationRow {
                state: "released".into(),
                ..held_row(w.r_id, w.r_quota_id, w.r_quantity_micro, w.r_expires_at)
            };
            (w.quota, r)
        })
    }))
}

/// What PostgreSQL's one-statement reservation returns: the quota after it, the new id.
#[derive(sqlx::FromRow)]
struct FastRow {
    #[sqlx(flatten)]
    quota: QuotaRow,
    reservation_id: i64,
}

/// A reservation as it is written when held: what the database returns for it, without
/// asking.
fn held_row(
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

/// How a reservation's first outcome is stored with its key.
///
/// Written now: [`StoredOutcome::Ref`], the reservation's id and the quota's counters just
/// after it: a few dozen bytes built without a serialiser (in SQL on PostgreSQL), instead of
/// the whole answer. Everything else in the answer is in rows that never change after the
/// reservation is written (the quota's description; the reservation's quota, quantity,
/// expiry and refusal reason), so [`resolve_stored`] rebuilds the first answer exactly.
/// Read as well: the forms earlier versions wrote (the serialised [`Outcome`]; the rows).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum StoredOutcome {
    Ref {
        #[serde(rename = "ref")]
        reference: StoredRef,
    },
    Rows {
        rows: StoredRows,
        /// Set when the reservation was refused (a group-commit batch stores both kinds).
        #[serde(default)]
        refusal: Option<Refusal>,
    },
    Outcome(Outcome),
}

#[derive(Deserialize)]
pub(crate) struct StoredRows {
    quota: QuotaRow,
    reservation: ReservationRow,
}

/// A new reservation's id and its quota's counters (and limit) just after it.
#[derive(Deserialize)]
pub(crate) struct StoredRef {
    reservation: i64,
    held: i64,
    committed: i64,
    exported: i64,
    limit: Option<i64>,
}

/// The stored form of a new reservation's first outcome ([`StoredOutcome::Ref`]). PostgreSQL's
/// statements build the same text with `format()` ([`stored_ref_sql!`]).
fn stored_ref(reservation_id: i64, quota_after: &QuotaRow) -> String {
    let limit = quota_after
        .limit_micro
        .map_or_else(|| "null".to_owned(), |l| l.to_string());
    format!(
        "{{\"ref\":{{\"reservation\":{},\"held\":{},\"committed\":{},\"exported\":{},\"limit\":{}}}}}",
        reservation_id,
        quota_after.held_micro,
        quota_after.committed_micro,
        quota_after.exported_micro,
        limit
    )
}

/// Reads a reservation's stored first outcome, in any of its forms.
pub(crate) fn parse_stored_outcome(json: &str) -> Result<StoredOutcome> {
    serde_json::from_str::<StoredOutcome>(json).map_err(|e| Error::Invalid {
        field: "client_key",
        message: format!("the stored outcome of this key cannot be read: {e}"),
    })
}

/// The first answer of a reservation from its stored form, read in `tx`.
pub(crate) async fn resolve_stored(tx: &mut Tx, stored: StoredOutcome) -> Result<Outcome> {
    let rows = match stored.reservation_id() {
        Some(id) => {
            let r = load_reservation(tx, id).await?;
            Some((load_quota(tx, r.quota_id).await?, r))
        }
        None => None,
    };
    stored.answer(rows)
}

impl StoredOutcome {
    /// The reservation a reference points to.
    fn reservation_id(&self) -> Option<i64> {
        match self {
            StoredOutcome::Ref { reference } => Some(reference.reservation),
            _ => None,
        }
    }

    /// The first answer. A reference is completed from the quota and reservation `rows` it
    /// points to, as they were when it was written.
    fn answer(self, rows: Option<(QuotaRow, ReservationRow)>) -> Result<Outcome> {
        match self {
            StoredOutcome::Ref { reference } => {
                let Some((quota, mut r)) = rows else {
                    return Err(Error::ReservationNotFound(reference.reservation));
                };
                let quota_after = QuotaRow {
                    held_micro: reference.held,
                    committed_micro: reference.committed,
                    exported_micro: reference.exported,
                    limit_micro: reference.limit,
                    ..quota
                };
                // A reservation is written held or rejected; only these three change afterwards.
                if r.state != "rejected" {
                    r.state = "held".into();
                }
                r.committed_micro = 0;
                r.exported_micro = 0;
                r.permit_expires_at = None;
                Ok(reservation_outcome(&quota_after, &r))
            }
            StoredOutcome::Rows {
                rows,
                refusal: None,
            } => Ok(Outcome::Done {
                reservation: rows.reservation.view(&rows.quota.unit),
                quota: rows.quota.view(),
            }),
            StoredOutcome::Rows {
                rows,
                refusal: Some(refusal),
            } => Ok(Outcome::Refused {
                refusal,
                reservation: Some(rows.reservation.view(&rows.quota.unit)),
                quota: rows.quota.view(),
            }),
            StoredOutcome::Outcome(o) => Ok(o),
        }
    }
}

/// The answer to a new reservation: done when held, refused (and why) when rejected.
fn reservation_outcome(quota_after: &QuotaRow, r: &ReservationRow) -> Outcome {
    if r.state == "rejected" {
        Outcome::Refused {
            refusal: refusal_for(quota_after, r.quantity_micro),
            reservation: Some(r.view(&quota_after.unit)),
            quota: quota_after.view(),
        }
    } else {
        Outcome::Done {
            reservation: r.view(&quota_after.unit),
            quota: quota_after.view(),
        }
    }
}

/// Why `quota` cannot hold `requested` more.
fn refusal_for(quota: &QuotaRow, requested: i64) -> Refusal {
    match quota.limit_micro {
        None => Refusal::QuotaInPreparation,
        Some(0) => Refusal::ZeroQuota,
        Some(_) => Refusal::QuotaExhausted {
            requested: from_micro(requested),
            available: from_micro(quota.available_micro().max(0)),
            unit: Some(quota.unit.clone()),
        },
    }
}

fn outcome_json<T: Serialize>(outcome: &T) -> Result<String> {
    serde_json::to_string(outcome).map_err(|e| Error::Invalid {
        field: "outcome",
        message: e.to_string(),
    })
}

/// The parameters of a reservation as they identify it for idempotency.
pub(crate) fn reserve_params(
    quota_id: i64,
    quantity: &Quantity,
    requested_expiry: Option<DateTime<Utc>>,
) -> String {
    format!(
        "reserve|{quota_id}|{}|{}|{:?}",
        quantity.amount().normalize(),
        quantity.unit().code(),
        requested_expiry.map(|e| e.timestamp_millis())
    )
}

/// A limit in millionths of the quota's `unit`: a count quota's limit is whole specimens, as
/// everything reserved against it is (half a specimen of limit could never be used).
fn whole_limit_micro(limit: &Quantity, unit: UnitCode) -> Result<i64> {
    let limit = limit.convert_to(unit).map_err(|e| match e {
        // The unit's fault, which the answer names.
        domain::Error::IncompatibleUnits { .. } => Error::Domain(e),
        // Inexact or too large once converted: the limit's.
        _ => Error::Invalid {
            field: "limit",
            message: e.to_string(),
        },
    })?;
    check_whole("limit", &limit)?;
    to_micro("limit", limit.amount())
}

/// Checks a requested hold expiry, defaulting it.
pub(crate) fn hold_until(
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>> {
    // To the microsecond, as both databases keep it: an answer built from what was written
    // then equals one rebuilt later from what was read back.
    let expires_at = expires_at.unwrap_or(now + HOLD_DEFAULT).trunc_subsecs(6);
    if expires_at <= now {
        return Err(Error::Invalid {
            field: "expires_at",
            message: format!(
                "{expires_at} is not in the future; accepted an instant after now and at most {} days away",
                HOLD_MAX.num_days()
            ),
        });
    }
    if expires_at > now + HOLD_MAX {
        return Err(Error::Invalid {
            field: "expires_at",
            message: format!(
                "{expires_at} is more than {} days away; accepted an instant after now and at most that",
                HOLD_MAX.num_days()
            ),
        });
    }
    Ok(expires_at)
}

/// The first and last quota years accepted, as for a calendar-year quota (`year`).
pub const QUOTA_YEARS: std::ops::RangeInclusive<i32> = 1975..=2200;

/// A quota covers a 12-month period (Res. Conf. 14.7): the calendar year by default, or any 12
/// months from a first day, starting within [`QUOTA_YEARS`].
fn check_period(period: &Period) -> Result<()> {
    let twelve_months = period.start.checked_add_months(chrono::Months::new(12));
    if !QUOTA_YEARS.contains(&period.start.year()) || twelve_months != Some(period.end) {
        let last_day = crate::model::last_day(period.end);
        return Err(Error::Invalid {
            field: "period",
            message: format!(
                "{} to {last_day} is not a quota period: accepted 12 months from a first day in {} to {} (from {} the last day is {})",
                period.start,
                QUOTA_YEARS.start(),
                QUOTA_YEARS.end(),
                period.start,
                twelve_months
                    .and_then(|end| end.pred_opt())
                    .map_or_else(|| "out of range".to_owned(), |d| d.to_string())
            ),
        });
    }
    Ok(())
}

/// The latest validity of an export permit issued at `issued`: six calendar months later
/// (Art. VI(2)), to the microsecond as both databases keep it.
pub fn permit_valid_until(issued: DateTime<Utc>) -> DateTime<Utc> {
    issued
        .checked_add_months(chrono::Months::new(PERMIT_VALIDITY_MONTHS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .trunc_subsecs(6)
}

/// A permit's validity: as asked (to the microsecond, as both databases keep it, so an answer
/// built from what was written equals one rebuilt later from what was read back), or the
/// longest allowed; in the future and at most [`PERMIT_VALIDITY_MONTHS`] after `now`.
pub(crate) fn permit_until(
    now: DateTime<Utc>,
    permit_expires_at: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>> {
    let latest = permit_valid_until(now);
    let until = permit_expires_at.map_or(latest, |at| at.trunc_subsecs(6));
    // Which bound it broke, and the range either way.
    let broken = if until <= now {
        format!("{until} is not in the future")
    } else if until > latest {
        format!(
            "{until} is later than {latest}: an export permit is valid at most {PERMIT_VALIDITY_MONTHS} months from issue (Art. VI(2))"
        )
    } else {
        return Ok(until);
    };
    Err(Error::Invalid {
        field: "permit_expires_at",
        message: format!("{broken}; accepted after {now} and at most {latest}"),
    })
}

/// A reservation request as [`Ledger::admit`] leaves it.
pub(crate) enum Admitted {
    /// To be written, holding until this instant.
    Queued(DateTime<Utc>),
    /// Answered without a write of its own.
    Answered(Box<Outcome>),
}

#[derive(Clone, Copy)]
enum Transition<'a> {
    Commit(Option<&'a Quantity>, Option<DateTime<Utc>>),
    Release,
    Export(&'a Quantity),
    Close,
}

impl Transition<'_> {
    /// The audit ledger's event for a refusal of this transition.
    fn refused_event(self) -> &'static str {
        match self {
            Transition::Commit(..) => "commit_refused",
            Transition::Release => "release_refused",
            Transition::Export(_) => "export_refused",
            Transition::Close => "close_refused",
        }
    }
}

/// Runs `op` again while the database reports a transient conflict, until
/// [`WRITE_DEADLINE`] from now.
pub(crate) async fn retry<T, F, Fut>(op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    retry_until(tokio::time::Instant::now() + WRITE_DEADLINE, false, op).await
}

/// [`retry`], also retrying a unique violation (a key recorded by another writer meanwhile).
pub(crate) async fn retry_including_duplicates<T, F, Fut>(op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    retry_until(tokio::time::Instant::now() + WRITE_DEADLINE, true, op).await
}

/// Runs `op` again while it fails transiently (or, with `duplicates`, on a unique violation),
/// answering [`Error::Busy`] at `deadline`. Each statement waits at most [`LOCK_WAIT`] for a
/// lock, so an attempt ends by itself; an attempt still running at the deadline (a connection
/// that hangs) is dropped, which rolls its transaction back (sqlx rolls back a transaction
/// dropped unfinished, and a `BEGIN` whose caller is gone) or, if its COMMIT was already sent,
/// leaves it whole: every operation is keyed, so its retry finds which.
async fn retry_until<T, F, Fut>(
    deadline: tokio::time::Instant,
    duplicates: bool,
    mut op: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Ok(outcome) = tokio::time::timeout_at(deadline, op()).await else {
            tracing::debug!(
                attempt,
                "database still busy or out of reach at the deadline"
            );
            return Err(Error::Busy(attempt));
        };
        match outcome {
            Err(e) if is_transient(&e) || (duplicates && is_unique_violation(&e)) => {
                let pause = retry_pause(attempt);
                // An attempt that could not wait out one lock before the deadline is not made.
                let next = tokio::time::Instant::now() + pause;
                if attempt >= TRANSIENT_RETRIES_MAX || next + LOCK_WAIT > deadline {
                    tracing::debug!(attempt, error = %e, "database still busy; giving up");
                    return Err(Error::Busy(attempt));
                }
                tracing::debug!(attempt, error = %e, "transient database conflict; retrying");
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}

fn retry_pause(attempt: u32) -> std::time::Duration {
    (std::time::Duration::from_millis(5) * attempt).min(RETRY_PAUSE_MAX)
}

fn is_unique_violation(e: &Error) -> bool {
    let sqlx_error = match e {
        Error::Sqlx(s) => s,
        Error::Db(db::Error::Sqlx(s)) => s,
        _ => return false,
    };
    matches!(sqlx_error, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub(crate) fn is_transient(e: &Error) -> bool {
    let sqlx_error = match e {
        Error::Sqlx(s) => s,
        Error::Db(db::Error::Sqlx(s)) => s,
        _ => return false,
    };
    // The connection broke mid-request. Every ledger operation is keyed (or, for the sweeper,
    // conditional on the state it changes), so running it again is safe: if the broken
    // attempt had committed, the retry finds its first outcome.
    // A lock not granted within [`LOCK_WAIT`]: nothing was done.
    if db::is_connection_lost(sqlx_error) || db::is_locked(sqlx_error) {
        return true;
    }
    match sqlx_error {
        // PostgreSQL serialization failure and deadlock.
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|code| ["40001", "40P01"].contains(&code.as_ref())),
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}

/// A quota of the same exporter, taxon (or a concept `merged` into it), unit, term, source and
/// purpose whose period overlaps `spec`'s: a second national quota there would split one
/// allowance in two, and a permit check could not tell which applies. Answers its id, taxon
/// and period. Two declarations racing each other are serialised first (on PostgreSQL by a
/// transaction-level advisory lock on the exporter, not its taxon, since one may come through
/// a concept merged into the other's; SQLite's `BEGIN IMMEDIATE` already is), so that one of
/// them sees the other. Declarations are rare: one exporter's wait on each other is no cost.
async fn overlapping_quota(
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

/// Claims `key` for this request. `Some(outcome)` when the key was used before with the same
/// parameters (the first outcome, to return again); an error when with other parameters.
pub(crate) fn params_hash(params: &str) -> String {
    format!("{:x}", Sha256::digest(params.as_bytes()))
}

async fn claim_key<T>(
    tx: &mut Tx,
    key: &ClientKey,
    params: &str,
    now: DateTime<Utc>,
    parse: fn(&str) -> Result<T>,
) -> Result<Option<T>> {
    let hash = params_hash(params);
    let operation = params.split('|').next().unwrap_or_default();
    // On PostgreSQL a concurrent request with the same key waits here until the first one
    // commits, then finds its row.
    let inserted = with_tx!(tx, c => sqlx::query(
        "INSERT INTO quota_requests (client_key, operation, params_hash, outcome, created_at) \
         VALUES ($1, $2, $3, '', $4) ON CONFLICT (client_key) DO NOTHING")
        .bind(key.as_str()).bind(operation).bind(&hash).bind(now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    if inserted == 1 {
        return Ok(None);
    }
    let (first_op, first_hash, outcome): (String, String, String) = with_tx!(tx, c => sqlx::query_as(
        "SELECT operation, params_hash, outcome FROM quota_requests WHERE client_key = $1")
        .bind(key.as_str()).fetch_one(c).await)?;
    if first_hash != hash {
        return Err(Error::KeyConflict {
            key: key.client_part().to_owned(),
            first: first_op,
        });
    }
    parse(&outcome).map(Some)
}

/// Reads a stored first outcome (of a declaration or a transition).
fn parse_stored<T: DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Invalid {
        field: "client_key",
        message: format!("the stored outcome of this key cannot be read: {e}"),
    })
}

async fn store_outcome<T: Serialize>(tx: &mut Tx, key: &ClientKey, outcome: &T) -> Result<()> {
    store_raw_outcome(tx, key, outcome_json(outcome)?).await
}

/// Records the first outcome of the key [`claim_key`] claimed, already in its stored form.
async fn store_raw_outcome(tx: &mut Tx, key: &ClientKey, json: String) -> Result<()> {
    with_tx!(tx, c => sqlx::query("UPDATE quota_requests SET outcome = $2 WHERE client_key = $1")
        .bind(key.as_str()).bind(json).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

async fn load_quota(tx: &mut Tx, id: i64) -> Result<QuotaRow> {
    let row: Option<QuotaRow> = with_tx!(tx, c => sqlx::query_as(concat!(
        "SELECT ", quota_columns!(), " FROM export_quotas WHERE id = $1"))
        .bind(id).fetch_optional(c).await)?;
    row.ok_or(Error::QuotaNotFound(id))
}

/// [`load_quota`] holding the row's lock until the transaction ends: PostgreSQL's `FOR NO KEY
/// UPDATE`, the lock an UPDATE of the counters takes (SQLite's `BEGIN IMMEDIATE` already
/// excludes every other writer).
async fn lock_quota(tx: &mut Tx, id: i64) -> Result<QuotaRow> {
    let sql = match tx {
        Tx::Sqlite(_) => concat!(
            "SELECT ",
            quota_columns!(),
            " FROM export_quotas WHERE id = $1"
        ),
        Tx::Postgres(_) => concat!(
            "SELECT ",
            quota_columns!(),
            " FROM export_quotas WHERE id = $1 FOR NO KEY UPDATE"
        ),
    };
    let row: Option<QuotaRow> =
        with_tx!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?;
    row.ok_or(Error::QuotaNotFound(id))
}

/// [`load_reservation`] holding the row's lock until the transaction ends (PostgreSQL's `FOR
/// NO KEY UPDATE`, the lock its UPDATE takes; taken before the quota's, the order every path
/// takes them in).
async fn lock_reservation(tx: &mut Tx, id: i64) -> Result<ReservationRow> {
    let sql = match tx {
        Tx::Sqlite(_) => concat!(
            "SELECT ",
            reservation_columns!(),
            " FROM quota_reservations WHERE id = $1"
        ),
        Tx::Postgres(_) => concat!(
            "SELECT ",
            reservation_columns!(),
            " FROM quota_reservations WHERE id = $1 FOR NO KEY UPDATE"
        ),
    };
    let row: Option<ReservationRow> =
        with_tx!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?;
    row.ok_or(Error::ReservationNotFound(id))
}

async fn load_reservation(tx: &mut Tx, id: i64) -> Result<ReservationRow> {
    let row: Option<ReservationRow> = with_tx!(tx, c => sqlx::query_as(concat!(
        "SELECT ", reservation_columns!(), " FROM quota_reservations WHERE id = $1"))
        .bind(id).fetch_optional(c).await)?;
    row.ok_or(Error::ReservationNotFound(id))
}

async fn set_state(
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

/// After a reservation changed: moves the quota's counters by `delta`, records the ledger
/// entry, and answers with both.
#[allow(clippy::too_many_arguments)]
async fn settle(
    tx: &mut Tx,
    quota_id: i64,
    changed: &ReservationRow,
    event: &'static str,
    delta: (i64, i64, i64),
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let q = move_counters(tx, quota_id, delta).await?;
    append(
        tx,
        quota_id,
        Some(changed.id),
        event,
        delta,
        q.limit_micro,
        actor,
        now,
    )
    .await?;
    Ok(Outcome::Done {
        reservation: changed.view(&q.unit),
        quota: q.view(),
    })
}

/// Moves the quota's counters by (held, committed, exported); the CHECK constraints refuse any
/// move that would break the invariant.
async fn move_counters(tx: &mut Tx, quota_id: i64, delta: (i64, i64, i64)) -> Result<QuotaRow> {
    Ok(with_tx!(tx, c => sqlx::query_as(concat!(
        "UPDATE export_quotas SET held_micro = held_micro + $2, \
         committed_micro = committed_micro + $3, exported_micro = exported_micro + $4 \
         WHERE id = $1 RETURNING ", quota_columns!()))
        .bind(quota_id).bind(delta.0).bind(delta.1).bind(delta.2).fetch_one(c).await)?)
}

#[allow(clippy::too_many_arguments)]
async fn insert_reservation(
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

/// Writes a decided reservation against `quota` (its counters already moved if granted): the
/// reservation, held or rejected with its refusal, and its audit entry.
async fn record_reservation(
    tx: &mut Tx,
    quota: &QuotaRow,
    requested: i64,
    expires_at: DateTime<Utc>,
    refusal: Option<&Refusal>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ReservationRow> {
    let (state, event, held) = match refusal {
        None => ("held", "reserve", requested),
        Some(_) => ("rejected", "reject", 0),
    };
    let reason = refusal.map(Refusal::message);
    let r = insert_reservation(
        tx,
        quota.id,
        state,
        requested,
        expires_at,
        reason.as_deref(),
        actor,
        now,
    )
    .await?;
    append(
        tx,
        quota.id,
        Some(r.id),
        event,
        (held, 0, 0),
        quota.limit_micro,
        actor,
        now,
    )
    .await?;
    Ok(r)
}

/// Appends the audit entry of a refused transition of reservation `reservation_id`: no
/// counter moves; the quantity asked (in the quota's unit) and why it was refused are kept.
#[allow(clippy::too_many_arguments)]
async fn append_refusal(
    tx: &mut Tx,
    quota: &QuotaRow,
    reservation_id: i64,
    event: &'static str,
    requested_micro: Option<i64>,
    refusal: &Refusal,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, delta_committed, \
         delta_exported, limit_micro, actor, reason, at, requested_micro, refusal) \
         VALUES ($1, $2, $3, 0, 0, 0, $4, $5, $6, $7, $8, $9)")
        .bind(quota.id).bind(reservation_id).bind(event).bind(quota.limit_micro)
        .bind(&actor.name).bind(&actor.reason).bind(now).bind(requested_micro)
        .bind(refusal.message())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Appends one audit entry.
#[allow(clippy::too_many_arguments)]
async fn append(
    tx: &mut Tx,
    quota_id: i64,
    reservation_id: Option<i64>,
    event: &'static str,
    delta: (i64, i64, i64),
    limit_micro: Option<i64>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, delta_committed, \
         delta_exported, limit_micro, actor, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(quota_id).bind(reservation_id).bind(event).bind(delta.0).bind(delta.1)
        .bind(delta.2).bind(limit_micro).bind(&actor.name).bind(&actor.reason).bind(now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// One reservation request of a group-commit batch.
pub(crate) struct BatchItem<'a> {
    pub(crate) key: &'a ClientKey,
    pub(crate) quota_id: i64,
    pub(crate) quantity: &'a Quantity,
    /// [`params_hash`] of [`reserve_params`].
    pub(crate) params_hash: &'a str,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) actor: &'a Actor,
}

/// (quota id, reservation id, event, held delta, limit, index of the item).
type BatchLedgerRow = (i64, i64, &'static str, i64, Option<i64>, usize);

/// What the batch decided for one item before anything is written.
enum Decided {
    /// A validation error or a key conflict: nothing written for it.
    Failed(Error),
    /// The first outcome of a key used before (stored, or earlier in this batch).
    Stored(Outcome),
    SameAs(usize),
    New(NewItem),
}

/// A batch item that writes a reservation: held, or rejected with its refusal.
struct NewItem {
    quota_id: i64,
    /// In millionths of the quota's unit.
    requested: i64,
    /// `None` when granted.
    refusal: Option<Refusal>,
    /// The quota's counters just after this item.
    quota_after: QuotaRow,
    hash: String,
}

impl NewItem {
    fn granted(&self) -> bool {
        self.refusal.is_none()
    }

    fn state(&self) -> &'static str {
        if self.granted() { "held" } else { "rejected" }
    }

    /// The audit entry's event and the hold it adds.
    fn ledger_entry(&self) -> (&'static str, i64) {
        if self.granted() {
            ("reserve", self.requested)
        } else {
            ("reject", 0)
        }
    }

    /// The reservation as written under `id`.
    fn row(&self, id: i64, item: &BatchItem<'_>) -> ReservationRow {
        let mut row = held_row(id, self.quota_id, self.requested, item.expires_at);
        if let Some(refusal) = &self.refusal {
            row.state = "rejected".into();
            row.reject_reason = Some(refusal.message());
        }
        row
    }
}

/// Reserves a whole batch with a handful of statements: the quota rows are read (and locked
/// on PostgreSQL) once, every request is decided in order in memory against them, and the
/// counters, reservations, ledger entries and request outcomes are written set-wise (one
/// statement on PostgreSQL; on SQLite one call to the connection's thread, a statement per
/// table and one UPDATE per distinct quota). Same outcomes as one transaction per request, in
/// queue order.
pub(crate) async fn reserve_batch(
    tx: &mut Tx,
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) -> Result<(Vec<Result<Outcome>>, QuotaRows)> {
    let ids = batch_quota_ids(items);
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    let mut sqlite_next: Option<SqliteBatchContext> = None;
    let rows: Vec<QuotaRow> = match tx {
        // BEGIN IMMEDIATE already excludes every other writer.
        Tx::Sqlite(t) => {
            let (rows, next) = read_batch_sqlite(t, &ids, &keys).await?;
            sqlite_next = next;
            rows
        }
        // Row locks in id order: no deadlock with another batch. Arrays keep one statement
        // text whatever the batch size, so it stays prepared.
        Tx::Postgres(t) => {
            sqlx::query_as(concat!(
                "SELECT ",
                quota_columns!(),
                " FROM export_quotas WHERE id = ANY($1) ORDER BY id FOR UPDATE"
            ))
            .bind(&ids)
            .fetch_all(&mut **t)
            .await?
        }
    };
    let mut quotas: QuotaRows = rows.into_iter().map(|q| (q.id, q)).collect();
    let before = quotas.clone();

    let stored: Vec<(String, String, String, String)> = match tx {
        // None of its keys was used before. (When none of its quotas exists, the keys are
        // read anyway: a key used for another operation is a conflict before anything else.)
        Tx::Sqlite(_) if sqlite_next.as_ref().is_some_and(|c| !c.keys_used) => Vec::new(),
        Tx::Sqlite(t) => {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT client_key, operation, params_hash, outcome FROM quota_requests \
                 WHERE client_key IN (",
            );
            let mut list = qb.separated(", ");
            for k in &keys {
                list.push_bind(*k);
            }
            qb.push(")");
            qb.build_query_as().fetch_all(&mut **t).await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as(
                "SELECT client_key, operation, params_hash, outcome FROM quota_requests \
                 WHERE client_key = ANY($1)",
            )
            .bind(&keys)
            .fetch_all(&mut **t)
            .await?
        }
    };
    // The first outcomes of the keys used before, rebuilt now (the decisions are pure).
    let mut used: HashMap<String, UsedKey> = HashMap::with_capacity(stored.len());
    for (key, operation, hash, outcome) in stored {
        let outcome = if operation == "reserve" {
            match parse_stored_outcome(&outcome) {
                Ok(s) => resolve_stored(tx, s).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        } else {
            Err(String::new())
        };
        used.insert(
            key,
            UsedKey {
                operation,
                hash,
                outcome,
            },
        );
    }
    let decided = decide(items, &mut quotas, &used);
    // Reservations, in queue order; ids come back in the same (ascending) order.
    let new_idx: Vec<usize> = decided
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d, Decided::New(_)))
        .map(|(i, _)| i)
        .collect();
    let t = match tx {
        // PostgreSQL writes everything in one statement.
        Tx::Postgres(t) => {
            let written =
                write_batch_postgres(t, &before, &quotas, &new_idx, &decided, items, now).await?;
            if written.len() != new_idx.len() {
                return Err(Error::Invalid {
                    field: "batch",
                    message: "the reservations of the batch were not all written".into(),
                });
            }
            return Ok((answers(decided, written), quotas));
        }
        Tx::Sqlite(t) => &mut **t,
    };
    let first_id = sqlite_next.map_or(1, |c| c.next_reservation_id);
    let (writes, outcomes) =
        writes_of_batch_sqlite(&decided, items, &before, &quotas, first_id, now);
    if let Some((mut writes, expected)) = writes {
        let written = writes.build().execute(&mut *t).await?.rows_affected();
        if written != expected {
            return Err(Error::Invalid {
                field: "batch",
                message: format!("the batch wrote {written} rows instead of {expected}"),
            });
        }
    }
    Ok((assemble(decided, outcomes), quotas))
}

/// SQLite, the usual batch in two calls to the connection's thread (each call costs a round
/// trip between threads, which on this kind of machine costs more than the statements): one
/// statement reads the quotas, the next reservation id and whether any key was used before;
/// one call writes the counters, reservations, ledger entries and request records and
/// commits. `conn` must be in a `BEGIN IMMEDIATE` transaction, which excludes every other
/// writer. `None` when a key of the batch was used before, or none of its quotas exists:
/// nothing was written or committed, and [`reserve_batch`] (which reads the keys' first
/// outcomes) takes the batch.
pub(crate) async fn reserve_batch_sqlite(
    conn: &mut sqlx::SqliteConnection,
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) -> Result<Option<(Vec<Result<Outcome>>, QuotaRows)>> {
    let ids = batch_quota_ids(items);
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    let (rows, next) = read_batch_sqlite(&mut *conn, &ids, &keys).await?;
    // Only when no key was used before. (When none of its quotas exists the statement could
    // not tell, and a key used for another operation is a conflict before anything else.)
    let Some(next) = next.filter(|c| !c.keys_used) else {
        return Ok(None);
    };
    let mut quotas: QuotaRows = rows.into_iter().map(|q| (q.id, q)).collect();
    let before = quotas.clone();
    let decided = decide(items, &mut quotas, &HashMap::new());
    let (writes, outcomes) = writes_of_batch_sqlite(
        &decided,
        items,
        &before,
        &quotas,
        next.next_reservation_id,
        now,
    );
    let mut writes = writes.map_or_else(|| sqlx::QueryBuilder::new(""), |(w, _)| w);
    writes.push("COMMIT");
    writes.build().execute(&mut *conn).await?;
    Ok(Some((assemble(decided, outcomes), quotas)))
}

/// The distinct quotas of a batch, in id order (the order their rows are locked in).
fn batch_quota_ids(items: &[BatchItem<'_>]) -> Vec<i64> {
    items
        .iter()
        .map(|i| i.quota_id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// SQLite: a batch's quotas, and (when any exists) the id its first reservation takes and
/// whether any of its `keys` was used before, in one statement.
async fn read_batch_sqlite(
    conn: &mut sqlx::SqliteConnection,
    ids: &[i64],
    keys: &[&str],
) -> Result<(Vec<QuotaRow>, Option<SqliteBatchContext>)> {
    let mut qb = sqlx::QueryBuilder::new(concat!(
        "SELECT ",
        quota_columns!(),
        ", (SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence \
         WHERE name = 'quota_reservations'), 0), \
         COALESCE((SELECT MAX(id) FROM quota_reservations), 0)) + 1) \
         AS next_reservation_id, \
         EXISTS (SELECT 1 FROM quota_requests WHERE client_key IN ("
    ));
    let mut list = qb.separated(", ");
    for k in keys {
        list.push_bind(k.to_string());
    }
    qb.push(")) AS keys_used FROM export_quotas WHERE id IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    qb.push(") ORDER BY id");
    let rows = qb
        .build_query_as::<SqliteBatchRow>()
        .fetch_all(&mut *conn)
        .await?;
    let next = rows.first().map(|r| SqliteBatchContext {
        next_reservation_id: r.next_reservation_id,
        keys_used: r.keys_used,
    });
    Ok((rows.into_iter().map(|r| r.quota).collect(), next))
}

/// SQLite: the statements writing what a batch `decided` (the counters of the quotas whose
/// holds grew from `before` to `after`, then the reservations, ledger entries and request
/// records), with the rows they change; `None` when there is nothing to write. And every
/// item's outcome. BEGIN IMMEDIATE excludes every other writer, so the batch numbers its
/// reservations itself from `first_id` (after the largest id ever given, as AUTOINCREMENT
/// would) and writes them without reading them back.
#[allow(clippy::type_complexity)]
fn writes_of_batch_sqlite(
    decided: &[Decided],
    items: &[BatchItem<'_>],
    before: &QuotaRows,
    after: &QuotaRows,
    first_id: i64,
    now: DateTime<Utc>,
) -> (
    Option<(sqlx::QueryBuilder<sqlx::Sqlite>, u64)>,
    Vec<Option<Result<Outcome>>>,
) {
    let mut new_rows: Vec<NewReservation<'_>> = Vec::new();
    let mut outcomes: Vec<Option<Result<Outcome>>> = Vec::with_capacity(items.len());
    let mut ledger_rows: Vec<BatchLedgerRow> = Vec::new();
    let mut request_rows: Vec<(usize, &str, String)> = Vec::new();
    for (i, d) in decided.iter().enumerate() {
        match d {
            Decided::Failed(_) | Decided::SameAs(_) => outcomes.push(None),
            Decided::Stored(o) => outcomes.push(Some(Ok(o.clone()))),
            Decided::New(new) => {
                let id = first_id + new_rows.len() as i64;
                let row = new.row(id, &items[i]);
                let (event, held) = new.ledger_entry();
                ledger_rows.push((
                    new.quota_id,
                    id,
                    event,
                    held,
                    new.quota_after.limit_micro,
                    i,
                ));
                request_rows.push((i, new.hash.as_str(), stored_ref(id, &new.quota_after)));
                outcomes.push(Some(Ok(reservation_outcome(&new.quota_after, &row))));
                new_rows.push(NewReservation {
                    row,
                    created_by: &items[i].actor.name,
                });
            }
        }
    }
    let mut writes = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
    let mut expected: u64 = 0;
    for (id, delta) in after.values().filter_map(|q| {
        let delta = q.held_micro - before.get(&q.id).map_or(q.held_micro, |b| b.held_micro);
        (delta != 0).then_some((q.id, delta))
    }) {
        // The CHECK constraint guards the counters again.
        writes
            .push("UPDATE export_quotas SET held_micro = held_micro + ")
            .push_bind(delta)
            .push(" WHERE id = ")
            .push_bind(id)
            .push("; ");
        expected += 1;
    }
    push_reservations(&mut writes, &new_rows, now);
    push_batch_ledger(&mut writes, &ledger_rows, items, now);
    push_batch_requests(&mut writes, &request_rows, items, now);
    expected += (new_rows.len() + ledger_rows.len() + request_rows.len()) as u64;
    ((expected > 0).then_some((writes, expected)), outcomes)
}

/// A quota a batch reads on SQLite, with what the batch needs besides.
#[derive(sqlx::FromRow)]
struct SqliteBatchRow {
    #[sqlx(flatten)]
    quota: QuotaRow,
    next_reservation_id: i64,
    keys_used: bool,
}

/// What a batch on SQLite learns with its quotas: the id its first reservation takes, and
/// whether any of its keys was used before.
struct SqliteBatchContext {
    next_reservation_id: i64,
    keys_used: bool,
}

/// A key found in `quota_requests` by a batch.
struct UsedKey {
    operation: String,
    hash: String,
    /// Its first outcome when it reserved (an error's text otherwise).
    outcome: std::result::Result<Outcome, String>,
}

/// Decides every item of a batch in queue order against `quotas`, which it moves as it
/// grants: the replays of keys `used` before, in-batch repeats, validation failures, grants
/// and refusals. Pure: nothing is written.
fn decide(
    items: &[BatchItem<'_>],
    quotas: &mut QuotaRows,
    used: &HashMap<String, UsedKey>,
) -> Vec<Decided> {
    let mut decided: Vec<Decided> = Vec::with_capacity(items.len());
    let mut first_in_batch: HashMap<&str, (usize, &str)> = HashMap::new();
    for (idx, item) in items.iter().enumerate() {
        let hash = item.params_hash;
        if let Some(k) = used.get(item.key.as_str()) {
            decided.push(if k.hash != hash {
                Decided::Failed(Error::KeyConflict {
                    key: item.key.client_part().to_owned(),
                    first: k.operation.clone(),
                })
            } else {
                match &k.outcome {
                    Ok(o) => Decided::Stored(o.clone()),
                    Err(e) => Decided::Failed(Error::Invalid {
                        field: "client_key",
                        message: format!("the stored outcome of this key cannot be read: {e}"),
                    }),
                }
            });
            continue;
        }
        if let Some((first, first_hash)) = first_in_batch.get(item.key.as_str()) {
            decided.push(if *first_hash != hash {
                Decided::Failed(Error::KeyConflict {
                    key: item.key.client_part().to_owned(),
                    first: "reserve".into(),
                })
            } else {
                Decided::SameAs(*first)
            });
            continue;
        }
        let Some(quota) = quotas.get_mut(&item.quota_id) else {
            decided.push(Decided::Failed(Error::QuotaNotFound(item.quota_id)));
            continue;
        };
        let requested = match UnitCode::parse(&quota.unit)
            .map_err(Error::from)
            .and_then(|unit| Ok(item.quantity.convert_to(unit)?))
            .and_then(|q| to_micro("quantity", q.amount()))
        {
            Ok(0) => {
                decided.push(Decided::Failed(Error::Invalid {
                    field: "quantity",
                    message: "0 is not a quantity to reserve; accepted > 0".into(),
                }));
                continue;
            }
            Ok(n) => n,
            Err(e) => {
                decided.push(Decided::Failed(e));
                continue;
            }
        };
        let refusal = if quota.limit_micro.is_some() && quota.available_micro() >= requested {
            quota.held_micro += requested;
            None
        } else {
            Some(refusal_for(quota, requested))
        };
        first_in_batch.insert(item.key.as_str(), (idx, hash));
        decided.push(Decided::New(NewItem {
            quota_id: item.quota_id,
            requested,
            refusal,
            quota_after: quota.clone(),
            hash: hash.to_owned(),
        }));
    }
    decided
}

/// The quotas a batch decides against, by id, as they stand after it.
pub(crate) type QuotaRows = HashMap<i64, QuotaRow>;

/// PostgreSQL, the batch on one quota whose counters the writer knows from its last batch
/// (`known`): the decisions are taken on them without reading anything, and written in one
/// autocommitted statement whose UPDATE only applies if the counters are still those, so that
/// the quota's row is locked for that statement and its commit alone (instead of a
/// transaction of four round trips). `None` when that does not apply and nothing was written:
/// the batch touches several quotas, the writer does not know this one, someone else moved it
/// meanwhile, a key was used before (the statement fails on it), or an item fails validation;
/// [`reserve_batch`] then takes it under lock.
pub(crate) async fn reserve_batch_known(
    conn: &mut sqlx::PgConnection,
    items: &[BatchItem<'_>],
    known: &QuotaRows,
    now: DateTime<Utc>,
) -> Result<Option<(Vec<Result<Outcome>>, QuotaRows)>> {
    let Some(first) = items.first() else {
        return Ok(None);
    };
    if items.iter().any(|i| i.quota_id != first.quota_id) {
        return Ok(None);
    }
    let Some(quota) = known.get(&first.quota_id) else {
        return Ok(None);
    };
    let mut quotas: QuotaRows = HashMap::from([(quota.id, quota.clone())]);
    let before = quotas.clone();
    let decided = decide(items, &mut quotas, &HashMap::new());
    if decided.iter().any(|d| matches!(d, Decided::Failed(_))) {
        // A key may have been used before: only the locked path reads them.
        return Ok(None);
    }
    let new_idx: Vec<usize> = decided
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d, Decided::New(_)))
        .map(|(i, _)| i)
        .collect();
    let written =
        match write_batch_postgres(conn, &before, &quotas, &new_idx, &decided, items, now).await {
            Ok(w) => w,
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
    if written.is_empty() {
        // The counters were not those any more: nothing was written.
        return Ok(None);
    }
    if written.len() != new_idx.len() {
        return Err(Error::Invalid {
            field: "batch",
            message: "the reservations of the batch were not all written".into(),
        });
    }
    Ok(Some((answers(decided, written), quotas)))
}

/// Every item's answer from what was decided and the reservations written (PostgreSQL).
fn answers(decided: Vec<Decided>, written: HashMap<usize, Outcome>) -> Vec<Result<Outcome>> {
    let outcomes = decided
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Decided::Stored(o) => Some(Ok(o.clone())),
            Decided::New(_) => written.get(&i).cloned().map(Ok),
            Decided::Failed(_) | Decided::SameAs(_) => None,
        })
        .collect();
    assemble(decided, outcomes)
}

/// Every item's answer: its own outcome, a failure, or (an in-batch repeat of a key) the
/// first one's.
fn assemble(decided: Vec<Decided>, outcomes: Vec<Option<Result<Outcome>>>) -> Vec<Result<Outcome>> {
    let mut out = Vec::with_capacity(decided.len());
    for (i, d) in decided.into_iter().enumerate() {
        out.push(match d {
            Decided::Failed(e) => Err(e),
            Decided::SameAs(first) => match outcomes.get(first).and_then(|o| o.as_ref()) {
                Some(Ok(o)) => Ok(o.clone()),
                _ => Err(Error::Invalid {
                    field: "client_key",
                    message: "the first request with this key failed".into(),
                }),
            },
            // Cloned, not taken: a later repeat of the same key needs it too.
            _ => match outcomes.get(i).and_then(|o| o.as_ref()) {
                Some(Ok(o)) => Ok(o.clone()),
                _ => Err(Error::Invalid {
                    field: "batch",
                    message: "no outcome".into(),
                }),
            },
        });
    }
    out
}

/// A reservation row a batch writes.
struct NewReservation<'a> {
    row: ReservationRow,
    created_by: &'a str,
}

/// Rows per multi-row INSERT of a group-commit batch on SQLite: 90 rows of at most 11
/// parameters stay under the 999 of SQLite builds before 3.32, though the bundled one takes
/// 32,766; batches are at most [`crate::GROUP_BATCH_MAX`] anyway.
const SQLITE_ROWS_PER_INSERT: usize = 90;

/// Adds the INSERTs of a batch's reservations to `writes` (SQLite); their ids ascend in the
/// order given.
fn push_reservations(
    writes: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
    rows: &[NewReservation<'_>],
    now: DateTime<Utc>,
) {
    for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
        writes.push(
            "INSERT INTO quota_reservations (id, quota_id, state, quantity_micro, expires_at, \
             reject_reason, created_at, created_by) ",
        );
        writes.push_values(chunk, |mut b, r| {
            b.push_bind(r.row.id)
                .push_bind(r.row.quota_id)
                .push_bind(r.row.state.clone())
                .push_bind(r.row.quantity_micro)
                .push_bind(r.row.expires_at)
                .push_bind(r.row.reject_reason.clone())
                .push_bind(now)
                .push_bind(r.created_by.to_owned());
        });
        writes.push("; ");
    }
}

/// Adds the INSERTs of a batch's ledger entries to `writes` (SQLite; reserve or reject: only
/// holds move).
fn push_batch_ledger(
    writes: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
    rows: &[BatchLedgerRow],
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) {
    for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
        writes.push(
            "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
             delta_committed, delta_exported, limit_micro, actor, reason, at) ",
        );
        writes.push_values(
            chunk,
            |mut b, (quota_id, reservation_id, event, held, limit, i)| {
                b.push_bind(*quota_id)
                    .push_bind(*reservation_id)
                    .push_bind(*event)
                    .push_bind(*held)
                    .push("0")
                    .push("0")
                    .push_bind(*limit)
                    .push_bind(items[*i].actor.name.clone())
                    .push_bind(items[*i].actor.reason.clone())
                    .push_bind(now);
            },
        );
        writes.push("; ");
    }
}

/// Adds the INSERTs recording a batch's client keys with their first outcomes to `writes`
/// (SQLite).
fn push_batch_requests(
    writes: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
    rows: &[(usize, &str, String)],
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) {
    for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
        writes.push(
            "INSERT INTO quota_requests (client_key, operation, params_hash, outcome, \
             created_at) ",
        );
        writes.push_values(chunk, |mut b, (i, hash, stored)| {
            b.push_bind(items[*i].key.as_str().to_owned())
                .push("'reserve'")
                .push_bind(hash.to_string())
                .push_bind(stored.clone())
                .push_bind(now);
        });
        writes.push("; ");
    }
}

/// PostgreSQL: a batch's counters, reservations, ledger entries and request records in one
/// statement of data-modifying CTEs (one round trip instead of four). The counters of every
/// quota of the batch move from `before` to `after` only if they still are `before`; if one
/// is not, nothing is written and the answer is empty. The request records are references
/// ([`StoredOutcome::Ref`]) built in the statement; the answers are built from what was
/// written, as a replay rebuilds them. Reservation ids ascend in queue order, which pairs
/// them with their items.
#[allow(clippy::too_many_arguments)]
async fn write_batch_postgres(
    conn: &mut sqlx::PgConnection,
    before: &QuotaRows,
    after: &QuotaRows,
    new_idx: &[usize],
    decided: &[Decided],
    items: &[BatchItem<'_>],
    now: DateTime<Utc>,
) -> Result<HashMap<usize, Outcome>> {
    let mut cols = BatchColumns::default();
    for i in new_idx {
        let Decided::New(new) = &decided[*i] else {
            continue;
        };
        let item = &items[*i];
        let (event, held) = new.ledger_entry();
        cols.quota_id.push(new.quota_id);
        cols.state.push(new.state());
        cols.quantity.push(new.requested);
        cols.expires_at.push(item.expires_at);
        cols.reject_reason
            .push(new.refusal.as_ref().map(Refusal::message));
        cols.created_by.push(item.actor.name.as_str());
        cols.reason.push(item.actor.reason.as_deref());
        cols.key.push(item.key.as_str());
        cols.hash.push(new.hash.as_str());
        cols.held_after.push(new.quota_after.held_micro);
        cols.committed_after.push(new.quota_after.committed_micro);
        cols.exported_after.push(new.quota_after.exported_micro);
        cols.ledger_held.push(held);
        cols.limit.push(new.quota_after.limit_micro);
        cols.event.push(event);
    }
    if cols.key.is_empty() {
        return Ok(HashMap::new());
    }
    let mut counters = CounterColumns::default();
    for (id, b) in before {
        counters.id.push(*id);
        counters
            .delta
            .push(after.get(id).map_or(0, |a| a.held_micro) - b.held_micro);
        counters.held.push(b.held_micro);
        counters.committed.push(b.committed_micro);
        counters.exported.push(b.exported_micro);
        counters.limit.push(b.limit_micro);
    }
    let ids: Vec<(i64, i64)> = sqlx::query_as(concat!(
        "WITH cnt AS (UPDATE export_quotas q SET held_micro = q.held_micro + d.delta \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[], $19::BIGINT[], $20::BIGINT[], $21::BIGINT[], \
         $22::BIGINT[]) AS d (id, delta, held, committed, exported, lim) WHERE q.id = d.id \
         AND q.held_micro = d.held AND q.committed_micro = d.committed \
         AND q.exported_micro = d.exported AND q.limit_micro IS NOT DISTINCT FROM d.lim \
         RETURNING q.id), \
         input AS (SELECT * FROM UNNEST($3::BIGINT[], $4::TEXT[], $5::BIGINT[], \
         $6::TIMESTAMPTZ[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], \
         $12::BIGINT[], $13::BIGINT[], $14::BIGINT[], $15::BIGINT[], $16::BIGINT[], $17::TEXT[]) \
         WITH ORDINALITY AS u (quota_id, state, qty, expires_at, reject_reason, created_by, \
         reason, client_key, params_hash, held_after, committed_after, exported_after, \
         ledger_held, limit_micro, event, ord) \
         WHERE (SELECT count(*) FROM cnt) = cardinality($1::BIGINT[])), \
         res AS (INSERT INTO quota_reservations (quota_id, state, quantity_micro, expires_at, \
         reject_reason, created_at, created_by) SELECT quota_id, state, qty, expires_at, \
         reject_reason, $18, created_by FROM input ORDER BY ord RETURNING id), \
         numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS ord FROM res), \
         led AS (INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
         delta_committed, delta_exported, limit_micro, actor, reason, at) \
         SELECT i.quota_id, n.id, i.event, i.ledger_held, 0, 0, i.limit_micro, i.created_by, \
         i.reason, $18 FROM input i JOIN numbered n ON n.ord = i.ord ORDER BY i.ord), \
         req AS (INSERT INTO quota_requests (client_key, operation, params_hash, outcome, \
         created_at) SELECT i.client_key, 'reserve', i.params_hash, ",
        stored_ref_sql!(
            "n.id",
            "i.held_after",
            "i.committed_after",
            "i.exported_after",
            "i.limit_micro"
        ),
        ", $18 FROM input i JOIN numbered n ON n.ord = i.ord RETURNING client_key) \
         SELECT n.ord, n.id FROM numbered n \
         WHERE (SELECT count(*) FROM req) = (SELECT count(*) FROM input) ORDER BY n.ord"
    ))
    .bind(&counters.id)
    .bind(&counters.delta)
    .bind(&cols.quota_id)
    .bind(&cols.state)
    .bind(&cols.quantity)
    .bind(&cols.expires_at)
    .bind(&cols.reject_reason)
    .bind(&cols.created_by)
    .bind(&cols.reason)
    .bind(&cols.key)
    .bind(&cols.hash)
    .bind(&cols.held_after)
    .bind(&cols.committed_after)
    .bind(&cols.exported_after)
    .bind(&cols.ledger_held)
    .bind(&cols.limit)
    .bind(&cols.event)
    .bind(now)
    .bind(&counters.held)
    .bind(&counters.committed)
    .bind(&counters.exported)
    .bind(&counters.limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = HashMap::with_capacity(ids.len());
    for (ord, id) in ids {
        // `ord` counts the written items from 1, in queue order.
        let Some(i) = usize::try_from(ord - 1).ok().and_then(|o| new_idx.get(o)) else {
            continue;
        };
        let Decided::New(new) = &decided[*i] else {
            continue;
        };
        out.insert(
            *i,
            reservation_outcome(&new.quota_after, &new.row(id, &items[*i])),
        );
    }
    Ok(out)
}

/// The quotas of a PostgreSQL batch write: each one's hold delta and the counters and limit
/// it expects (a revised limit, like moved counters, sends the batch to the locked path).
#[derive(Default)]
struct CounterColumns {
    id: Vec<i64>,
    delta: Vec<i64>,
    held: Vec<i64>,
    committed: Vec<i64>,
    exported: Vec<i64>,
    limit: Vec<Option<i64>>,
}

/// The columns of a PostgreSQL batch write, one array each.
#[derive(Default)]
struct BatchColumns<'a> {
    quota_id: Vec<i64>,
    state: Vec<&'static str>,
    quantity: Vec<i64>,
    expires_at: Vec<DateTime<Utc>>,
    reject_reason: Vec<Option<String>>,
    created_by: Vec<&'a str>,
    reason: Vec<Option<&'a str>>,
    key: Vec<&'a str>,
    hash: Vec<&'a str>,
    held_after: Vec<i64>,
    committed_after: Vec<i64>,
    exported_after: Vec<i64>,
    ledger_held: Vec<i64>,
    limit: Vec<Option<i64>>,
    event: Vec<&'static str>,
}
