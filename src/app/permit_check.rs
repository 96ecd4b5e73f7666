//! The permit check as the service runs it: gathers the facts from the catalogue and the quota
//! ledger, asks the pure `rules` crate for the decision, reserves the quota in the same call
//! when the application asks (`reserve: true`), and records the check.
//!
//! The check and the reservation cannot disagree: the reservation is only attempted on an
//! `ALLOW` that names a quota (box 11a), and if the ledger refuses it (another permit took the
//! units between the read and the reservation), the decision is taken again on the figures the
//! ledger answered with, which then refuses.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use db::{Db, read_db, with_db};
use domain::{
    Clock, CountryCode, Kingdom, Period, PurposeCode, Quantity, SourceCode, TaxonId, TermCode,
    UnitCode,
};
use quota::{
    Actor, ClientKey, GroupCommit, Ledger, LinkedOutcome, Outcome, QuotaView, ReservationView,
};
use rules::{
    Application, ApplicationInput, Decision, Facts, HashAnnotationFact, ListingChangeFact,
    ListingFacts, ListingStatus, QuotaFact, ReservationFact, RiskConfig, TaxonFacts, Verdict,
};
use serde::{Deserialize, Serialize};
use sync::Catalogue;
use sync::listing::{ListingAt, Status};

/// When Species+ gives a suspension no start date: the Convention's entry into force.
const CONVENTION_IN_FORCE: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(1975, 7, 1) {
    Some(d) => d,
    None => chrono::NaiveDate::MIN,
};

/// The pause before a check's record is written again after its lock was not granted in time
/// (the wait itself was `quota::LOCK_WAIT`; SQLite may also refuse at once).
const RECORD_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// National settings of the check, from `--check-config FILE` (TOML). Every key is optional.
///
/// ```toml
/// # Countries that are not Parties to CITES (Art. X: comparable documentation). The engine
/// # cannot learn this from Species+; set it from the CITES list of Parties.
/// non_parties = ["XX"]
/// # Species+ ids of taxa under the captive-breeding review (Res. Conf. 17.7).
/// captive_breeding_review_taxa = [4521]
/// # Whether this Management Authority uses security stamps on its permits.
/// security_stamp_required = false
/// # The risk score's weights and thresholds (rules/risk.default.toml documents each one).
/// [risk]
/// ```
#[derive(Debug, Clone, Default)]
pub struct CheckSettings {
    pub risk: RiskConfig,
    pub non_parties: Vec<CountryCode>,
    pub captive_breeding_review_taxa: Vec<i64>,
    pub security_stamp_required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default)]
    non_parties: Vec<String>,
    #[serde(default)]
    captive_breeding_review_taxa: Vec<i64>,
    #[serde(default)]
    security_stamp_required: bool,
    #[serde(default)]
    risk: Option<toml::Table>,
}

impl CheckSettings {
    /// Parses the settings file; errors name the key.
    pub fn from_toml_str(text: &str) -> Result<CheckSettings, CheckError> {
        let file: SettingsFile = toml::from_str(text).map_err(|e| CheckError::Settings {
            key: "check config".into(),
            message: e.message().to_owned(),
        })?;
        let non_parties = file
            .non_parties
            .iter()
            .map(|c| CountryCode::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CheckError::Settings {
                key: "non_parties".into(),
                message: e.to_string(),
            })?;
        let risk = match file.risk {
            None => RiskConfig::default(),
            Some(table) => {
                let text = toml::to_string(&table).map_err(|e| CheckError::Settings {
                    key: "risk".into(),
                    message: e.to_string(),
                })?;
                RiskConfig::from_toml_str(&text).map_err(|e| CheckError::Settings {
                    key: format!("risk.{}", e.field()),
                    message: e.to_string(),
                })?
            }
        };
        Ok(CheckSettings {
            risk,
            non_parties,
            captive_breeding_review_taxa: file.captive_breeding_review_taxa,
            security_stamp_required: file.security_stamp_required,
        })
    }
}

/// Why a check could not be answered. A refusal is not an error: it is a [`Decision`].
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Input(#[from] rules::Error),
    #[error("taxon: {0}")]
    Taxon(sync::Error),
    #[error("taxon_id: {0}")]
    TaxonId(sync::Error),
    #[error(
        "client_key: a key is required when reserve is true (the same key makes a retried check reserve once)"
    )]
    KeyRequired,
    #[error(
        "date_issue: {date_issue} is not today ({today}, UTC); a check that reserves is made when the permit is issued, and the permit counts against the quota of that day"
    )]
    IssueNotToday {
        date_issue: chrono::NaiveDate,
        today: chrono::NaiveDate,
    },
    #[error(
        "client_key {0} was first used for another application; a retry must send the same one"
    )]
    KeyConflict(String),
    #[error("{key}: {message}")]
    Settings { key: String, message: String },
    #[error(transparent)]
    Catalogue(sync::Error),
    #[error(
        "the catalogue is being mirrored from Species+ for the first time: no permit is checked on it until that has succeeded (GET /v1/sync/status shows the runs); send the check again later"
    )]
    CatalogueLoading,
    #[error(transparent)]
    Quota(#[from] quota::Error),
    #[error("recording the check: {0}")]
    Store(#[from] sqlx::Error),
    /// The connection broke while an unkeyed check was being recorded: it may or may not have
    /// been. Not safe to send again as it is (it could count twice in the exporter's history).
    #[error("the connection to the database broke while the check was being recorded: {0}")]
    RecordLost(sqlx::Error),
    #[error("reading the permit register: {0}")]
    Register(#[from] trace::Error),
    #[error("serialising the check: {0}")]
    Json(#[from] serde_json::Error),
}

impl CheckError {
    /// The input field at fault, for a 422.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            CheckError::Input(e) => Some(match e {
                rules::Error::Missing { field, .. }
                | rules::Error::Invalid { field, .. }
                | rules::Error::Domain { field, .. } => field,
                rules::Error::Config { .. } => "config",
                _ => "input",
            }),
            CheckError::Taxon(_) => Some("taxon"),
            CheckError::TaxonId(_) => Some("taxon_id"),
            CheckError::KeyRequired => Some("client_key"),
            CheckError::IssueNotToday { .. } => Some("date_issue"),
            _ => None,
        }
    }
}

/// The taxon a check resolved the submitted name or id to.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedTaxon {
    pub id: i64,
    pub name: String,
    pub submitted: String,
    /// The synonym the submitted name resolved through.
    pub via_synonym: Option<String>,
}

/// The answer to one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckAnswer {
    pub check_id: i64,
    pub checked_at: DateTime<Utc>,
    pub taxon: CheckedTaxon,
    #[serde(flatten)]
    pub decision: Decision,
    /// With `reserve: true` and an `ALLOW` naming a quota: the ledger's outcome (for box 11a's
    /// quota when several apply).
    pub reservation: Option<Outcome>,
    /// Under nested quotas (a species quota inside a genus quota), every reservation the check
    /// holds, one per quota of `quotas_counted`, linked: committing, releasing or exporting
    /// under any one of them moves them all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linked_reservations: Vec<ReservationView>,
}

/// What the check needs from the service.
#[derive(Clone)]
pub struct Checker {
    pub db: Db,
    pub catalogue: Catalogue,
    pub ledger: Ledger,
    /// Reservations through the group-commit writer when the service runs one.
    pub reserver: Option<GroupCommit>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<CheckSettings>,
    /// Whether the service mirrors Species+ (a token is configured): until its first mirror
    /// has succeeded, no permit is checked ([`CheckError::CatalogueLoading`]).
    pub mirrors_speciesplus: bool,
}

impl Checker {
    /// Checks one application, reserving when it asks; records it and answers with the
    /// [`CheckAnswer`] as JSON. A check that reserves carries a client key, in `key_owner`'s
    /// namespace when there is one (an API key's name: another caller's check under the same
    /// key is another check; the command line's keys have none): its retry returns the recorded
    /// answer (the same key for another application is a conflict).
    pub async fn check(
        &self,
        input: ApplicationInput,
        actor: &Actor,
        key_owner: Option<&str>,
    ) -> Result<serde_json::Value, CheckError> {
        // What the catalogue is, read once: a service still loading its first mirror decides
        // nothing, and a decision on the sample says so (`Facts::catalogue_is_sample`).
        let origin = sync::store::catalogue_origin(&self.db)
            .await
            .map_err(CheckError::Catalogue)?;
        if self.mirrors_speciesplus && origin != sync::store::CatalogueOrigin::Mirror {
            return Err(CheckError::CatalogueLoading);
        }
        let submitted = serde_json::to_string(&input)?;
        // A re-export's origin permit as the register has it, when it has it.
        let mut input = input;
        let register = trace::Register::new(self.db.clone(), self.clock.clone());
        let origin_permit = super::origin_permit::fill(&register, &mut input).await?;
        let app = Application::parse(input)?;
        let key = match (app.reserve(), app.client_key()) {
            (false, _) => None,
            (true, None) => return Err(CheckError::KeyRequired),
            // The caller's own key, for the record and the reservation alike.
            (true, Some(k)) => Some(match key_owner {
                Some(owner) => ClientKey::of_caller(owner, k)?,
                None => ClientKey::parse(k)?,
            }),
        };
        if let Some(key) = &key
            && let Some(answer) = self.recorded(key, &submitted).await?
        {
            return Ok(answer);
        }
        // The ledger reserves against the quota open today: the rules must decide on the same.
        let today = self.clock.now().date_naive();
        if key.is_some() && app.date_issue() != today {
            return Err(CheckError::IssueNotToday {
                date_issue: app.date_issue(),
                today,
            });
        }
        // A retry after a crash between the reservation and the record: the check's own
        // reservation is left out of its facts ([`Checker::gather`]).
        let own = match &key {
            Some(key) => match self.ledger.reserved_linked_under(key).await? {
                Some(LinkedOutcome::Done { reservations, .. }) => {
                    reservations.iter().map(|r| r.id).collect()
                }
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let (mut facts, taxon) = self.gather(&app, &own, origin).await?;
        facts.origin_permit_status = origin_permit.map(|o| o.status);
        let mut decision = rules::check(&app, &facts, &self.settings.risk);
        let (mut reservation, mut linked_reservations) = (None, Vec::new());
        if let (Some(key), Verdict::Allow) = (&key, decision.decision) {
            let held = self.reserve_counted(key, &app, &decision, actor).await?;
            if let Some((outcome, linked, quotas)) = held {
                if let Outcome::Refused { .. } = &outcome {
                    // Taken meanwhile: decide again on the figures the ledger answered with.
                    for view in &quotas {
                        for q in facts.quotas.iter_mut().filter(|q| q.id == view.id) {
                            apply_view(q, view);
                        }
                    }
                    decision = rules::check(&app, &facts, &self.settings.risk);
                }
                reservation = Some(outcome);
                linked_reservations = linked;
            }
        }
        let checked_at = self.clock.now();
        let reservation_id = reservation
            .as_ref()
            .and_then(|o| o.reservation())
            .map(|r| r.id);
        let verdict = verdict_str(decision.decision);
        let taxon_id = taxon.id;
        let mut answer = serde_json::to_value(CheckAnswer {
            check_id: 0,
            checked_at,
            taxon,
            decision,
            reservation,
            linked_reservations,
        })?;
        if let Some(o) = answer.as_object_mut() {
            o.remove("check_id");
        }
        let explanation = serde_json::to_string(&answer)?;
        let inserted = self
            .insert_record(&Record {
                checked_at,
                actor: &actor.name,
                app: &app,
                taxon_id,
                verdict: &verdict,
                key: key.as_ref(),
                reservation_id,
                submitted: &submitted,
                explanation: &explanation,
            })
            .await?;
        match inserted {
            Ok(id) => {
                answer["check_id"] = serde_json::json!(id);
                Ok(answer)
            }
            // The same check, retried concurrently, recorded first: answer as it did.
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => match &key {
                Some(key) => self
                    .recorded(key, &submitted)
                    .await?
                    .ok_or_else(|| CheckError::KeyConflict(key.client_part().to_owned())),
                None => Err(CheckError::Store(sqlx::Error::Database(d))),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Holds an allowed application's quantity against every quota it counts against
    /// (`quotas_counted`: one, or nested ones held together); `None` when no quota applies.
    /// Answers the outcome for box 11a's quota, every linked reservation (when several), and
    /// the quotas as the ledger left them.
    async fn reserve_counted(
        &self,
        key: &ClientKey,
        app: &Application,
        decision: &Decision,
        actor: &Actor,
    ) -> Result<Option<(Outcome, Vec<ReservationView>, Vec<QuotaView>)>, CheckError> {
        let Some(b11a) = &decision.box_11a else {
            return Ok(None);
        };
        let quota_ids: Vec<i64> = decision.quotas_counted.iter().map(|b| b.quota_id).collect();
        // The hold's audit entry names the check that made it (by the caller's key, which
        // its record carries too): enforcement reads the quota's history, not the checks.
        let made_by_check = format!("permit check {}", key.client_part());
        let actor = &Actor {
            name: actor.name.clone(),
            reason: Some(match &actor.reason {
                None => made_by_check,
                Some(r) => format!("{made_by_check}: {r}")
                    .chars()
                    .take(quota::REASON_CHARS_MAX)
                    .collect(),
            }),
        };
        let (outcome, linked, quotas) = if quota_ids.len() > 1 {
            let linked = (self.ledger)
                .reserve_linked(key, &quota_ids, &app.quantity(), None, actor)
                .await?;
            one_of_linked(linked, b11a.quota_id)
        } else {
            let outcome = match &self.reserver {
                Some(r) => {
                    r.reserve(key, b11a.quota_id, &app.quantity(), None, actor)
                        .await?
                }
                None => {
                    self.ledger
                        .reserve(key, b11a.quota_id, &app.quantity(), None, actor)
                        .await?
                }
            };
            let quotas = vec![outcome.quota().clone()];
            (outcome, Vec::new(), quotas)
        };
        if let Outcome::Refused {
            refusal: quota::Refusal::OutsidePeriod { .. },
            ..
        } = &outcome
        {
            // The quota's period ended while the check ran (its last moments): the check
            // decided for a day that is over, on a quota that no longer covers today. Not an
            // ALLOW beside a refused hold: the date of issue is what to send again.
            return Err(CheckError::IssueNotToday {
                date_issue: app.date_issue(),
                today: self.ledger.clock().now().date_naive(),
            });
        }
        Ok(Some((outcome, linked, quotas)))
    }

    /// Writes a check's record: its id, or the database's error (a unique violation: the same
    /// keyed check, recorded first); [`CheckError::RecordLost`] when the connection broke under
    /// an unkeyed one.
    async fn insert_record(&self, r: &Record<'_>) -> Result<Result<i64, sqlx::Error>, CheckError> {
        // Through the ledger's pool, whose statements wait at most `quota::LOCK_WAIT` for a
        // lock (the main pool's SQLite busy timeout is 30 s): a database locked by another
        // process makes the check a 503 within `quota::WRITE_DEADLINE`, not a wait as long.
        let store = self.ledger.db();
        let record = || async {
            with_db!(store, pool => sqlx::query_scalar(
            "INSERT INTO permit_checks (checked_at, actor, transaction_type, taxon_id, exporter, \
             importer, decision, client_key, reservation_id, application, explanation) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id")
            .bind(r.checked_at).bind(r.actor).bind(r.app.transaction().as_str())
            .bind(r.taxon_id).bind(r.app.exporter().as_str()).bind(r.app.importer().as_str())
            .bind(r.verdict).bind(r.key.map(|k| k.as_str())).bind(r.reservation_id)
            .bind(r.submitted).bind(r.explanation).fetch_one(pool).await)
        };
        let deadline = tokio::time::Instant::now() + quota::WRITE_DEADLINE;
        let inserted: Result<i64, sqlx::Error> = loop {
            // A keyed record is safe to write again when the connection broke under it: if
            // the first write landed, the second meets the unique key and answers with the
            // first. An unkeyed one is not (it would count a refusal twice in the exporter's
            // history), so its loss reaches the caller as such.
            let attempt = if r.key.is_some() {
                db::retry_read(record).await
            } else {
                match record().await {
                    Err(e) if db::is_connection_lost(&e) => {
                        return Err(CheckError::RecordLost(e));
                    }
                    other => other,
                }
            };
            // A lock not granted wrote nothing, keyed or not: written again while the
            // deadline leaves time for one more wait.
            let next = tokio::time::Instant::now() + RECORD_RETRY_PAUSE;
            match attempt {
                Err(e) if db::is_locked(&e) && next + quota::LOCK_WAIT <= deadline => {
                    tracing::debug!(error = %e, "permit check record: database locked; retrying");
                    tokio::time::sleep(RECORD_RETRY_PAUSE).await;
                }
                other => break other,
            }
        };
        Ok(inserted)
    }

    /// The recorded answer of a check made under `key`, if the application is the same.
    async fn recorded(
        &self,
        key: &ClientKey,
        submitted: &str,
    ) -> Result<Option<serde_json::Value>, CheckError> {
        let row: Option<(i64, String, String)> = read_db!(&self.db, pool => sqlx::query_as(
            "SELECT id, application, explanation FROM permit_checks WHERE client_key = $1")
            .bind(key.as_str()).fetch_optional(pool).await)?;
        let Some((id, application, explanation)) = row else {
            return Ok(None);
        };
        if application != submitted {
            return Err(CheckError::KeyConflict(key.client_part().to_owned()));
        }
        let mut answer: serde_json::Value = serde_json::from_str(&explanation)?;
        answer["check_id"] = serde_json::json!(id);
        Ok(Some(answer))
    }

    /// Reads everything the rules decide on: the facts of `app`, without `own_reservations` (a
    /// retried check's own, every linked one, as they stand now), which is neither someone else's use of the quota
    /// nor one of the exporter's earlier permits the first answer was compared with.
    async fn gather(
        &self,
        app: &Application,
        own_reservations: &[i64],
        origin: sync::store::CatalogueOrigin,
    ) -> Result<(Facts, CheckedTaxon), CheckError> {
        let by_id = app.taxon_id().is_some();
        let query = match (app.taxon_id(), app.taxon_name()) {
            (Some(id), _) => id.get().to_string(),
            (None, Some(name)) => name.to_owned(),
            // Application::parse requires one of the two.
            (None, None) => {
                return Err(CheckError::Taxon(sync::Error::TaxonNotFound {
                    query: String::new(),
                }));
            }
        };
        let today = self.clock.today();
        let country = app.origin_or_exporter();
        let c = self
            .catalogue
            .check_facts(
                &query,
                app.date_issue(),
                app.date_trade(),
                Some(country),
                today,
            )
            .await
            .map_err(|e| match e {
                sync::Error::TaxonNotFound { .. } | sync::Error::AmbiguousName { .. } if by_id => {
                    CheckError::TaxonId(e)
                }
                sync::Error::TaxonNotFound { .. } | sync::Error::AmbiguousName { .. } => {
                    CheckError::Taxon(e)
                }
                other => CheckError::Catalogue(other),
            })?;
        let t = &c.resolved.taxon;
        let accepted_id = taxon_id(t.id);
        let kingdom = t
            .kingdom
            .as_deref()
            .and_then(|k| Kingdom::parse(k).ok())
            // Species+ serves a kingdom for every accepted name; a sample row without one is
            // an animal far more often than a plant, and the source rules say which they saw.
            .unwrap_or(Kingdom::Animalia);
        let ancestor_ids: Vec<i64> = c.ancestors.iter().map(|a| a.id).collect();
        let exporter = app.exporter();

        // Independent reads, each on its own pooled connection: the check waits for the
        // slowest, not for their sum.
        let refused_count = async {
            let n: i64 = read_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT COUNT(*) FROM permit_checks WHERE exporter = $1 AND decision = 'REFUSE'")
                .bind(exporter.as_str()).fetch_one(pool).await)?;
            Ok::<i64, CheckError>(n)
        };
        let ((merged, quota_views, issued), refused) = tokio::try_join!(
            async {
                // The quotas that limit this export: the taxon's, its ancestors', and those
                // declared against a concept Species+ has since made a synonym of it (lumped
                // into it), which still count its exports rather than silently stop applying.
                let merged = sync::store::synonyms_of(&self.db, t.id)
                    .await
                    .map_err(CheckError::Catalogue)?;
                let own_taxa: Vec<i64> = std::iter::once(t.id)
                    .chain(merged.iter().copied())
                    .collect();
                let lineage: Vec<i64> = own_taxa
                    .iter()
                    .copied()
                    .chain(ancestor_ids.iter().copied())
                    .collect();
                // The exporter's permits for the taxon, those issued through a merged concept's
                // quota included: the history a new application is compared with.
                let (quotas, issued) = tokio::try_join!(
                    self.ledger.quotas_of_taxa(exporter.as_str(), &lineage),
                    self.ledger.issued_quantities(
                        exporter.as_str(),
                        &own_taxa,
                        own_reservations.first().copied()
                    ),
                )?;
                Ok::<_, CheckError>((merged, quotas, issued))
            },
            refused_count,
        )?;
        let quotas = quota_views.iter().filter_map(quota_fact).collect();
        let exporter_history = issued
            .into_iter()
            .filter_map(|(amount, unit)| Quantity::new(amount, UnitCode::parse(&unit).ok()?).ok())
            .collect();
        // Every measure Species+ lists, current or not: the rules judge each as at the trade
        // date, reading its kind, scope and window from what Species+ gives.
        let suspensions = measures(&c.suspensions);
        let captive_breeding_review = std::iter::once(t.id)
            .chain(ancestor_ids.iter().copied())
            .any(|id| self.settings.captive_breeding_review_taxa.contains(&id));
        let mut facts = Facts {
            today,
            taxon: TaxonFacts {
                id: accepted_id,
                accepted_name: t.full_name.clone(),
                submitted_name: Some(
                    app.taxon_name()
                        .map_or_else(|| query.clone(), str::to_owned),
                ),
                via_synonym: c.resolved.via_synonym.is_some(),
                kingdom,
                rank: t.rank.clone(),
                ancestor_ids: ancestor_ids.iter().copied().map(self::taxon_id).collect(),
                ancestor_names: c.ancestors.iter().map(|a| a.full_name.clone()).collect(),
                merged_ids: merged.iter().copied().map(self::taxon_id).collect(),
                is_hybrid: t.full_name.contains(" x ") || t.full_name.contains('×'),
                excluded_form: None,
            },
            listing_at_trade: listing_facts(&c.at_trade, country),
            listing_at_issue: listing_facts(&c.at_issue, country),
            first_listing_date: c.first_listed,
            last_amendment: c.last_amendment,
            non_parties: self.settings.non_parties.clone(),
            suspensions,
            quotas,
            distribution: c
                .distribution
                .iter()
                .filter_map(|code| CountryCode::parse(code).ok())
                .collect(),
            exporter_history,
            exporter_refused_applications: u32::try_from(refused).unwrap_or(u32::MAX),
            captive_breeding_review,
            security_stamp_required: self.settings.security_stamp_required,
            origin_permit_status: None,
            catalogue_is_sample: origin == sync::store::CatalogueOrigin::Sample,
        };
        let taxon = CheckedTaxon {
            id: t.id,
            name: t.full_name.clone(),
            submitted: query,
            via_synonym: c.resolved.via_synonym.as_ref().map(|s| s.full_name.clone()),
        };
        // The check's own reservation, as it stands now, is not someone else's use of the quota.
        for own in own_reservations {
            self.leave_out(*own, &mut facts.quotas).await?;
        }
        Ok((facts, taxon))
    }

    /// `quotas` without what the reservation `own` (a retried check's own) holds, has committed
    /// and has exported, as it stands now.
    async fn leave_out(&self, own: i64, quotas: &mut [QuotaFact]) -> Result<(), CheckError> {
        let now = self.ledger.reservation(own).await?;
        let zero = rust_decimal::Decimal::ZERO;
        for q in quotas.iter_mut().filter(|q| q.id == now.quota_id) {
            match now.state {
                quota::ReservationState::Held => q.held = (q.held - now.quantity).max(zero),
                quota::ReservationState::Committed => {
                    q.committed = (q.committed - (now.committed - now.exported)).max(zero);
                    q.exported = (q.exported - now.exported).max(zero);
                }
                // Its permit used and closed: what it exported is its own use too.
                quota::ReservationState::Closed => {
                    q.exported = (q.exported - now.exported).max(zero);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The measures Species+ lists (suspensions), as the rules read them.
fn measures(suspensions: &[sync::model::SuspensionRow]) -> Vec<rules::SuspensionFact> {
    suspensions
        .iter()
        .filter_map(|s| {
            Some(rules::measure::read(&rules::measure::PublishedMeasure {
                id: s.id,
                taxon_id: s.taxon_concept_id.map(taxon_id),
                country: CountryCode::parse(s.country.as_deref()?).ok()?,
                start_date: s.start_date.unwrap_or(CONVENTION_IN_FORCE),
                is_current: s.is_current,
                applies_to_import: s.applies_to_import,
                notification: s.notification_name.as_deref(),
                notes: s.notes.as_deref(),
            }))
        })
        .collect()
}

/// What a check's record holds (`permit_checks`).
struct Record<'a> {
    checked_at: DateTime<Utc>,
    actor: &'a str,
    app: &'a Application,
    taxon_id: i64,
    verdict: &'a str,
    key: Option<&'a ClientKey>,
    reservation_id: Option<i64>,
    submitted: &'a str,
    explanation: &'a str,
}

/// "ALLOW", "REFUSE", "NEEDS_REVIEW" or "NOT_CITES", as the rules serialise it.
pub fn verdict_str(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn taxon_id(id: i64) -> TaxonId {
    // Species+ ids are positive and far below u32::MAX; anything else names no taxon.
    TaxonId::new(u32::try_from(id).unwrap_or(0))
}

fn listing_facts(l: &ListingAt, country: CountryCode) -> ListingFacts {
    ListingFacts {
        date: l.date,
        population_country: Some(country),
        status: match &l.status {
            Status::Listed { appendix } => ListingStatus::Listed {
                appendix: *appendix,
            },
            Status::NotListed => ListingStatus::NotListed,
            Status::DependsOnPopulation { appendices } => ListingStatus::DependsOnPopulation {
                appendices: appendices.clone(),
            },
        },
        deciding: l
            .deciding
            .iter()
            .map(|d| ListingChangeFact {
                listing_id: d.listing_id,
                taxon_id: taxon_id(d.taxon_id),
                appendix: d.appendix,
                effective_at: d.effective_at,
                party: d.party.as_deref().and_then(|p| CountryCode::parse(p).ok()),
                annotation: d.annotation.clone(),
                hash_annotation: d.hash_annotation.as_ref().map(|h| HashAnnotationFact {
                    symbol: h.symbol.clone(),
                    note: h.note.clone(),
                }),
                inherited_from: d.inherited_from.clone(),
            })
            .collect(),
        app_iii_parties: l
            .app_iii_parties
            .iter()
            .filter_map(|p| CountryCode::parse(p).ok())
            .collect(),
        reservations: l
            .reservations
            .iter()
            .filter_map(|r| {
                Some(ReservationFact {
                    listing_id: r.listing_id,
                    party: CountryCode::parse(&r.party).ok()?,
                    appendix: r.appendix,
                    effective_at: r.effective_at,
                    annotation: r.annotation.clone(),
                })
            })
            .collect(),
        needs_review: l.needs_review,
    }
}

/// A linked reservation's answer as a check gives it: the outcome for quota `shown` (box 11a's),
/// every member when the quotas were held, and the quotas as the ledger left them.
fn one_of_linked(
    linked: LinkedOutcome,
    shown: i64,
) -> (Outcome, Vec<ReservationView>, Vec<QuotaView>) {
    match linked {
        LinkedOutcome::Done {
            reservations,
            quotas,
        } => {
            let at = (reservations.iter().position(|r| r.quota_id == shown)).unwrap_or(0);
            let outcome = Outcome::Done {
                reservation: reservations[at].clone(),
                quota: quotas
                    .iter()
                    .find(|q| q.id == shown)
                    .unwrap_or(&quotas[0])
                    .clone(),
            };
            (outcome, reservations, quotas)
        }
        LinkedOutcome::Refused {
            quota_id,
            refusal,
            reservation,
            quotas,
        } => {
            let quota = (quotas.iter().find(|q| q.id == quota_id))
                .unwrap_or(&quotas[0])
                .clone();
            let outcome = Outcome::Refused {
                refusal,
                reservation,
                quota,
            };
            (outcome, Vec::new(), quotas)
        }
    }
}

/// A quota as the rules see it; `None` for a row the domain cannot read (never expected: the
/// ledger stores what the domain parsed).
fn quota_fact(v: &QuotaView) -> Option<QuotaFact> {
    let mut fact = QuotaFact {
        id: v.id,
        speciesplus_id: v.speciesplus_id,
        taxon_id: taxon_id(v.taxon_id),
        exporter: CountryCode::parse(&v.exporter).ok()?,
        period: Period::new(v.period_start, v.period_end).ok()?,
        unit: UnitCode::parse(&v.unit).ok()?,
        limit: None,
        held: rust_decimal::Decimal::ZERO,
        committed: rust_decimal::Decimal::ZERO,
        exported: rust_decimal::Decimal::ZERO,
        terms: codes(v.term.as_deref(), |c| TermCode::parse(c).ok()),
        sources: codes(v.source.as_deref(), |c| SourceCode::parse(c).ok()),
        purposes: codes(v.purpose.as_deref(), |c| PurposeCode::parse(c).ok()),
        notes: v.notes.clone(),
        basis: Some(v.origin.clone()),
    };
    apply_view(&mut fact, v);
    Some(fact)
}

fn apply_view(fact: &mut QuotaFact, v: &QuotaView) {
    fact.limit = v.limit;
    fact.held = v.held;
    fact.committed = v.committed;
    fact.exported = v.exported;
}

/// A restriction column: one code, or several separated by commas.
fn codes<T>(column: Option<&str>, parse: impl Fn(&str) -> Option<T>) -> Vec<T> {
    column
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .filter_map(parse)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_example_settings_file_parses_and_keeps_the_default_weights_it_does_not_give() {
        let text = include_str!("../../config/check.example.toml");
        let s = CheckSettings::from_toml_str(text).unwrap();
        assert!(s.non_parties.is_empty());
        assert!(!s.security_stamp_required);
        assert_eq!(s.risk, RiskConfig::default());
    }

    #[test]
    fn settings_name_the_key_they_cannot_accept() {
        let e = CheckSettings::from_toml_str("non_parties = [\"XYZ\"]").unwrap_err();
        assert!(e.to_string().starts_with("non_parties:"), "{e}");
        let e = CheckSettings::from_toml_str("colour = 1").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let e = CheckSettings::from_toml_str("[risk.appendix_i]\nweight = \"x\"").unwrap_err();
        assert!(e.to_string().starts_with("risk."), "{e}");
        let s = CheckSettings::from_toml_str(
            "non_parties = [\"KP\"]\ncaptive_breeding_review_taxa = [4521]\n[risk.appendix_i]\nweight = 40",
        )
        .unwrap();
        assert_eq!(s.non_parties, vec![CountryCode::parse("KP").unwrap()]);
        assert_eq!(s.captive_breeding_review_taxa, vec![4521]);
        assert_ne!(s.risk, RiskConfig::default());
    }
}
