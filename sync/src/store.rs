//! Every SQL statement that touches the catalogue and sync-run tables.
//!
//! Statements are written once, with `$n` placeholders, and run on either backend through
//! `db::with_tx!` / `db::with_db!`.

use chrono::{DateTime, NaiveDate, Utc};
use db::{Db, Tx, read_db, with_db, with_tx};
use domain::{Appendix, ChangeType};

use crate::error::Result;
use crate::model::{DistributionRow, ListingRow, QuotaRow, SuspensionRow};

/// What applying one taxon row did to the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxonOutcome {
    Added,
    Changed,
    Renamed,
    Deleted,
    Unchanged,
}

#[derive(sqlx::FromRow)]
pub(crate) struct QuotaDb {
    pub(crate) id: i64,
    pub(crate) taxon_concept_id: Option<i64>,
    pub(crate) quota: Option<String>,
    pub(crate) unit_code: Option<String>,
    pub(crate) unit_name: Option<String>,
    pub(crate) country: String,
    pub(crate) country_name: Option<String>,
    pub(crate) publication_date: Option<NaiveDate>,
    pub(crate) notes: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) public_display: bool,
    pub(crate) is_current: bool,
}

impl From<QuotaDb> for QuotaRow {
    fn from(q: QuotaDb) -> QuotaRow {
        QuotaRow {
            id: q.id,
            taxon_concept_id: q.taxon_concept_id,
            quota: q.quota,
            unit_code: q.unit_code,
            unit_name: q.unit_name,
            country: q.country,
            country_name: q.country_name,
            publication_date: q.publication_date,
            notes: q.notes,
            url: q.url,
            public_display: q.public_display,
            is_current: q.is_current,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SuspensionDb {
    pub(crate) id: i64,
    pub(crate) taxon_concept_id: Option<i64>,
    pub(crate) notes: Option<String>,
    pub(crate) start_date: Option<NaiveDate>,
    pub(crate) is_current: bool,
    pub(crate) applies_to_import: bool,
    pub(crate) country: Option<String>,
    pub(crate) country_name: Option<String>,
    pub(crate) notification_name: Option<String>,
    pub(crate) notification_date: Option<NaiveDate>,
    pub(crate) notification_url: Option<String>,
}

impl From<SuspensionDb> for SuspensionRow {
    fn from(s: SuspensionDb) -> SuspensionRow {
        SuspensionRow {
            id: s.id,
            taxon_concept_id: s.taxon_concept_id,
            notes: s.notes,
            start_date: s.start_date,
            is_current: s.is_current,
            applies_to_import: s.applies_to_import,
            country: s.country,
            country_name: s.country_name,
            notification_name: s.notification_name,
            notification_date: s.notification_date,
            notification_url: s.notification_url,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ListingDb {
    taxon_id: i64,
    listing_id: i64,
    appendix: String,
    change_type: String,
    effective_at: NaiveDate,
    is_current: bool,
    party: Option<String>,
    party_name: Option<String>,
    annotation: Option<String>,
    hash_symbol: Option<String>,
    hash_note: Option<String>,
    inherited_from: Option<String>,
}

impl ListingDb {
    pub(crate) fn into_row(self) -> Result<ListingRow> {
        Ok(ListingRow {
            taxon_id: self.taxon_id,
            listing_id: self.listing_id,
            appendix: Appendix::parse(&self.appendix)?,
            change_type: ChangeType::parse(&self.change_type)?,
            effective_at: self.effective_at,
            is_current: self.is_current,
            party: self.party,
            party_name: self.party_name,
            annotation: self.annotation,
            hash_symbol: self.hash_symbol,
            hash_note: self.hash_note,
            inherited_from: self.inherited_from,
        })
    }
}

/// The listing changes stored for one taxon, in effective order.
pub async fn listing_rows(db: &Db, taxon_id: i64) -> Result<Vec<ListingRow>> {
    let rows: Vec<ListingDb> = read_db!(db, pool => sqlx::query_as(
        "SELECT taxon_id, listing_id, appendix, change_type, effective_at, is_current, party, \
         party_name, annotation, hash_symbol, hash_note, inherited_from \
         FROM listing_changes WHERE taxon_id = $1 ORDER BY effective_at, listing_id")
        .bind(taxon_id).fetch_all(pool).await)?;
    rows.into_iter().map(ListingDb::into_row).collect()
}

/// Listing changes taking effect in `[from, to]`, with their taxa, in date order.
pub async fn listing_rows_between(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ListingRow>> {
    let rows: Vec<ListingDb> = read_db!(db, pool => sqlx::query_as(
        "SELECT taxon_id, listing_id, appendix, change_type, effective_at, is_current, party, \
         party_name, annotation, hash_symbol, hash_note, inherited_from \
         FROM listing_changes WHERE effective_at >= $1 AND effective_at <= $2 \
         ORDER BY effective_at, taxon_id, listing_id")
        .bind(from).bind(to).fetch_all(pool).await)?;
    rows.into_iter().map(ListingDb::into_row).collect()
}

/// A taxon as the query side sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct TaxonSummary {
    pub id: i64,
    pub full_name: String,
    pub author_year: Option<String>,
    pub rank: String,
    pub name_status: String,
    pub active: bool,
    pub cites_listing: Option<String>,
    pub kingdom: Option<String>,
    pub phylum: Option<String>,
    pub class: Option<String>,
    pub taxon_order: Option<String>,
    pub family: Option<String>,
    pub genus: Option<String>,
}

pub async fn taxon(db: &Db, id: i64) -> Result<Option<TaxonSummary>> {
    Ok(read_db!(db, pool => sqlx::query_as(
        "SELECT id, full_name, author_year, rank, name_status, active, cites_listing, kingdom, \
         phylum, class, taxon_order, family, genus FROM taxa WHERE id = $1")
        .bind(id).fetch_optional(pool).await)?)
}

/// Taxa whose scientific name equals `name` (any case).
pub async fn taxa_named(db: &Db, name: &str) -> Result<Vec<TaxonSummary>> {
    Ok(read_db!(db, pool => sqlx::query_as(
        "SELECT id, full_name, author_year, rank, name_status, active, cites_listing, kingdom, \
         phylum, class, taxon_order, family, genus FROM taxa WHERE lower(full_name) = lower($1) \
         ORDER BY name_status, id")
        .bind(name).fetch_all(pool).await)?)
}

/// Accepted, active taxa whose synonym list (`taxon_related_names`) holds `name` (any case),
/// each with the related name as a summary of its own (a synonym with no taxon row).
pub async fn taxa_listing_related_name(
    db: &Db,
    name: &str,
) -> Result<Vec<(TaxonSummary, TaxonSummary)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        taxon_id: i64,
        related_id: i64,
        full_name: String,
        author_year: Option<String>,
        rank: Option<String>,
    }
    let rows: Vec<Row> = read_db!(db, pool => sqlx::query_as(
        "SELECT r.taxon_id, r.related_id, r.full_name, r.author_year, r.rank \
         FROM taxon_related_names r JOIN taxa t ON t.id = r.taxon_id \
         WHERE lower(r.full_name) = lower($1) AND t.name_status = 'A' AND t.active \
         ORDER BY r.taxon_id")
        .bind(name).fetch_all(pool).await)?;
    let mut out = Vec::new();
    for r in rows {
        if let Some(accepted) = taxon(db, r.taxon_id).await? {
            let related = TaxonSummary {
                id: r.related_id,
                full_name: r.full_name,
                author_year: r.author_year,
                rank: r.rank.unwrap_or_default(),
                name_status: "S".to_owned(),
                active: true,
                cites_listing: None,
                kingdom: accepted.kingdom.clone(),
                phylum: accepted.phylum.clone(),
                class: accepted.class.clone(),
                taxon_order: accepted.taxon_order.clone(),
                family: accepted.family.clone(),
                genus: accepted.genus.clone(),
            };
            out.push((accepted, related));
        }
    }
    Ok(out)
}

/// Taxa whose scientific name starts with `prefix`, or whose common name equals it (any case).
pub async fn search_taxa(db: &Db, prefix: &str, limit: i64) -> Result<Vec<TaxonSummary>> {
    let pattern = format!(
        "{}%",
        prefix
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    Ok(read_db!(db, pool => sqlx::query_as(
        "SELECT id, full_name, author_year, rank, name_status, active, cites_listing, kingdom, \
         phylum, class, taxon_order, family, genus FROM taxa \
         WHERE lower(full_name) LIKE $1 ESCAPE '\\' \
            OR id IN (SELECT taxon_id FROM common_names WHERE lower(name) = lower($2)) \
         ORDER BY name_status, full_name, id LIMIT $3")
        .bind(&pattern).bind(prefix).bind(limit).fetch_all(pool).await)?)
}

/// The accepted taxa a synonym points to.
pub async fn accepted_of(db: &Db, synonym_id: i64) -> Result<Vec<i64>> {
    Ok(read_db!(db, pool => sqlx::query_scalar(
        "SELECT accepted_id FROM synonym_accepted WHERE synonym_id = $1 ORDER BY accepted_id")
        .bind(synonym_id).fetch_all(pool).await)?)
}

/// The synonyms pointing to an accepted taxon: concepts Species+ has merged into it among them.
pub async fn synonyms_of(db: &Db, accepted_id: i64) -> Result<Vec<i64>> {
    Ok(read_db!(db, pool => sqlx::query_scalar(
        "SELECT synonym_id FROM synonym_accepted WHERE accepted_id = $1 ORDER BY synonym_id")
        .bind(accepted_id).fetch_all(pool).await)?)
}

/// Accepted, active higher taxa whose name is one of `names` (a taxon's genus, family, ...),
/// in one query.
pub async fn higher_taxa_named(db: &Db, names: &[&str]) -> Result<Vec<TaxonSummary>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    Ok(read_db!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT id, full_name, author_year, rank, name_status, active, cites_listing, \
             kingdom, phylum, class, taxon_order, family, genus FROM taxa \
             WHERE name_status = 'A' AND active = ");
        qb.push_bind(true);
        qb.push(" AND rank NOT IN ('SPECIES', 'SUBSPECIES', 'VARIETY', 'FORM') AND full_name IN (");
        let mut list = qb.separated(", ");
        for n in names {
            list.push_bind(*n);
        }
        qb.push(")");
        qb.build_query_as::<TaxonSummary>().fetch_all(pool).await
    })?)
}

/// The listing changes of the given taxa that are their own (not inherited), in one query.
pub async fn own_listing_rows_of(db: &Db, taxon_ids: &[i64]) -> Result<Vec<ListingRow>> {
    if taxon_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ListingDb> = read_db!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT taxon_id, listing_id, appendix, change_type, effective_at, is_current, party, \
             party_name, annotation, hash_symbol, hash_note, inherited_from \
             FROM listing_changes WHERE inherited_from IS NULL AND taxon_id IN (");
        let mut list = qb.separated(", ");
        for id in taxon_ids {
            list.push_bind(*id);
        }
        qb.push(") ORDER BY effective_at, listing_id");
        qb.build_query_as::<ListingDb>().fetch_all(pool).await
    })?;
    rows.into_iter().map(ListingDb::into_row).collect()
}

/// Accepted, active taxa below the higher taxon `name` (by genus, family, order, class,
/// phylum or kingdom name), from the catalogue.
pub async fn descendants_of(db: &Db, name: &str) -> Result<Vec<i64>> {
    Ok(read_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM taxa WHERE name_status = 'A' AND active = $2 AND full_name <> $1 AND \
         (genus = $1 OR family = $1 OR taxon_order = $1 OR class = $1 OR phylum = $1 \
          OR kingdom = $1) ORDER BY id")
        .bind(name).bind(true).fetch_all(pool).await)?)
}

pub async fn distributions(db: &Db, taxon_id: i64) -> Result<Vec<DistributionRow>> {
    #[derive(sqlx::FromRow)]
    struct D {
        taxon_id: i64,
        distribution_id: i64,
        country: String,
        name: Option<String>,
        geo_type: Option<String>,
        tags: String,
    }
    let rows: Vec<D> = read_db!(db, pool => sqlx::query_as(
        "SELECT taxon_id, distribution_id, country, name, geo_type, tags FROM distributions \
         WHERE taxon_id = $1 ORDER BY country")
        .bind(taxon_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|d| DistributionRow {
            taxon_id: d.taxon_id,
            distribution_id: d.distribution_id,
            country: d.country,
            name: d.name,
            geo_type: d.geo_type,
            tags: d.tags,
        })
        .collect())
}

/// Quotas Species+ lists for the taxon.
pub async fn quotas_of(db: &Db, taxon_id: i64) -> Result<Vec<QuotaRow>> {
    let rows: Vec<QuotaDb> = read_db!(db, pool => sqlx::query_as(
        "SELECT q.id, q.taxon_concept_id, q.quota, q.unit_code, q.unit_name, q.country, \
         q.country_name, q.publication_date, q.notes, q.url, q.public_display, q.is_current \
         FROM quotas q JOIN taxon_quotas t ON t.quota_id = q.id WHERE t.taxon_id = $1 \
         ORDER BY q.publication_date, q.id")
        .bind(taxon_id).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(QuotaRow::from).collect())
}

/// Every quota Species+ lists for `country` (every country with `None`), current or not, by
/// publication date and id: what a Trade Database comparison may compare.
pub async fn quotas_of_country(db: &Db, country: Option<&str>) -> Result<Vec<QuotaRow>> {
    let rows: Vec<QuotaDb> = read_db!(db, pool => sqlx::query_as(
        "SELECT id, taxon_concept_id, quota, unit_code, unit_name, country, country_name, \
         publication_date, notes, url, public_display, is_current \
         FROM quotas WHERE CAST($1 AS TEXT) IS NULL OR country = $1 \
         ORDER BY publication_date, id")
        .bind(country).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(QuotaRow::from).collect())
}

/// Every quota Species+ lists as current, by id: what the application imports into the
/// quota ledger after a sync.
pub async fn current_quotas(db: &Db) -> Result<Vec<QuotaRow>> {
    let rows: Vec<QuotaDb> = read_db!(db, pool => sqlx::query_as(
        "SELECT id, taxon_concept_id, quota, unit_code, unit_name, country, country_name, \
         publication_date, notes, url, public_display, is_current \
         FROM quotas WHERE is_current = $1 ORDER BY id")
        .bind(true).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(QuotaRow::from).collect())
}

/// Suspensions Species+ lists for the taxon.
pub async fn suspensions_of(db: &Db, taxon_id: i64) -> Result<Vec<SuspensionRow>> {
    let rows: Vec<SuspensionDb> = read_db!(db, pool => sqlx::query_as(
        "SELECT s.id, s.taxon_concept_id, s.notes, s.start_date, s.is_current, \
         s.applies_to_import, s.country, s.country_name, s.notification_name, \
         s.notification_date, s.notification_url \
         FROM suspensions s JOIN taxon_suspensions t ON t.suspension_id = s.id \
         WHERE t.taxon_id = $1 ORDER BY s.start_date, s.id")
        .bind(taxon_id).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(SuspensionRow::from).collect())
}

/// Row counts of the catalogue tables, for reports and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CatalogueCounts {
    pub taxa: i64,
    pub listing_changes: i64,
    pub quotas: i64,
    pub suspensions: i64,
    pub distributions: i64,
}

pub async fn counts(db: &Db) -> Result<CatalogueCounts> {
    let mut c = CatalogueCounts::default();
    for (slot, sql) in [
        (&mut c.taxa, "SELECT COUNT(*) FROM taxa"),
        (
            &mut c.listing_changes,
            "SELECT COUNT(*) FROM listing_changes",
        ),
        (&mut c.quotas, "SELECT COUNT(*) FROM quotas"),
        (&mut c.suspensions, "SELECT COUNT(*) FROM suspensions"),
        (&mut c.distributions, "SELECT COUNT(*) FROM distributions"),
    ] {
        *slot = read_db!(db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)?;
    }
    Ok(c)
}

/// A canonical text of the whole catalogue (every table, sorted), to compare two catalogues
/// for equality in tests; `updated_at` is left out because it is the server's, not ours.
pub async fn fingerprint(db: &Db) -> Result<String> {
    let mut out = String::new();
    let taxa: Vec<TaxonSummary> = read_db!(db, pool => sqlx::query_as(
        "SELECT id, full_name, author_year, rank, name_status, active, cites_listing, kingdom, \
         phylum, class, taxon_order, family, genus FROM taxa ORDER BY id")
        .fetch_all(pool).await)?;
    for t in taxa {
        out.push_str(&format!("{t:?}\n"));
    }
    let listings: Vec<ListingDb> = read_db!(db, pool => sqlx::query_as(
        "SELECT taxon_id, listing_id, appendix, change_type, effective_at, is_current, party, \
         party_name, annotation, hash_symbol, hash_note, inherited_from FROM listing_changes \
         ORDER BY taxon_id, listing_id")
        .fetch_all(pool).await)?;
    for l in listings {
        out.push_str(&format!("{:?}\n", l.into_row()?));
    }
    let quotas: Vec<QuotaDb> = read_db!(db, pool => sqlx::query_as(
        "SELECT id, taxon_concept_id, quota, unit_code, unit_name, country, country_name, \
         publication_date, notes, url, public_display, is_current FROM quotas ORDER BY id")
        .fetch_all(pool).await)?;
    for q in quotas {
        out.push_str(&format!("{:?}\n", QuotaRow::from(q)));
    }
    let suspensions: Vec<SuspensionDb> = read_db!(db, pool => sqlx::query_as(
        "SELECT id, taxon_concept_id, notes, start_date, is_current, applies_to_import, country, \
         country_name, notification_name, notification_date, notification_url FROM suspensions \
         ORDER BY id")
        .fetch_all(pool).await)?;
    for s in suspensions {
        out.push_str(&format!("{:?}\n", SuspensionRow::from(s)));
    }
    for sql in [
        "SELECT taxon_id || ':' || quota_id FROM taxon_quotas ORDER BY taxon_id, quota_id",
        "SELECT taxon_id || ':' || suspension_id FROM taxon_suspensions ORDER BY taxon_id, suspension_id",
        "SELECT taxon_id || ':' || distribution_id || ':' || country || ':' || tags FROM distributions ORDER BY taxon_id, distribution_id",
        "SELECT taxon_id || ':' || language || ':' || name FROM common_names ORDER BY taxon_id, language, name",
        "SELECT taxon_id || ':' || related_id FROM taxon_related_names ORDER BY taxon_id, related_id",
        "SELECT synonym_id || ':' || accepted_id FROM synonym_accepted ORDER BY synonym_id, accepted_id",
    ] {
        let lines: Vec<String> =
            read_db!(db, pool => sqlx::query_scalar::<_, String>(sql).fetch_all(pool).await)?;
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    Ok(out)
}

// ---- sync runs -------------------------------------------------------------------------

/// A sync run as recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_since: Option<String>,
    pub checkpoint: Option<String>,
    pub report: Option<String>,
    pub error: Option<String>,
}

pub async fn insert_run(
    db: &Db,
    kind: &str,
    started_at: DateTime<Utc>,
    updated_since: Option<&str>,
) -> Result<i64> {
    Ok(with_db!(db, pool => sqlx::query_scalar(
        "INSERT INTO sync_runs (kind, status, started_at, updated_since) \
         VALUES ($1, 'running', $2, $3) RETURNING id")
        .bind(kind).bind(started_at).bind(updated_since).fetch_one(pool).await)?)
}

/// The run left `running` by a process that died, if any.
pub async fn unfinished_run(db: &Db) -> Result<Option<RunRecord>> {
    Ok(read_db!(db, pool => sqlx::query_as(
        "SELECT id, kind, status, started_at, finished_at, updated_since, checkpoint, report, \
         error FROM sync_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1")
        .fetch_optional(pool).await)?)
}

pub async fn recent_runs(db: &Db, limit: i64) -> Result<Vec<RunRecord>> {
    Ok(read_db!(db, pool => sqlx::query_as(
        "SELECT id, kind, status, started_at, finished_at, updated_since, checkpoint, report, \
         error FROM sync_runs ORDER BY id DESC LIMIT $1")
        .bind(limit).fetch_all(pool).await)?)
}

pub async fn save_checkpoint(db: &Db, run_id: i64, checkpoint: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query("UPDATE sync_runs SET checkpoint = $2 WHERE id = $1")
        .bind(run_id).bind(checkpoint).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn fail_run(db: &Db, run_id: i64, at: DateTime<Utc>, error: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query(
        "UPDATE sync_runs SET status = 'failed', finished_at = $2, error = $3 WHERE id = $1")
        .bind(run_id).bind(at).bind(error).execute(pool).await.map(|r| r.rows_affected()))?;
    with_db!(db, pool => sqlx::query("DELETE FROM sync_stage WHERE run_id = $1")
        .bind(run_id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks the run succeeded and moves the watermark, inside the apply transaction.
pub async fn finish_run(
    tx: &mut Tx,
    run_id: i64,
    at: DateTime<Utc>,
    report: &str,
    watermark: DateTime<Utc>,
) -> Result<()> {
    with_tx!(tx, c => sqlx::query(
        "UPDATE sync_runs SET status = 'succeeded', finished_at = $2, report = $3 WHERE id = $1")
        .bind(run_id).bind(at).bind(report).execute(c).await.map(|r| r.rows_affected()))?;
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO sync_state (key, value) VALUES ('last_success_start', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(watermark.to_rfc3339()).execute(c).await.map(|r| r.rows_affected()))?;
    with_tx!(tx, c => sqlx::query("DELETE FROM sync_stage WHERE run_id = $1")
        .bind(run_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// What the catalogue holds, as far as the sync runs tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogueOrigin {
    /// No run has succeeded: the catalogue is empty.
    Empty,
    /// The built-in sample catalogue, not a mirror of Species+: never a baseline for an
    /// incremental run, and replaced (never merged into) by the first complete run.
    Sample,
    /// A complete mirror: a full walk or a bulk dump, and the incremental runs since.
    Mirror,
}

impl CatalogueOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogueOrigin::Empty => "empty",
            CatalogueOrigin::Sample => "sample",
            CatalogueOrigin::Mirror => "mirror",
        }
    }
}

/// The `sync_state` key whose presence says the catalogue holds the sample (migration 0010
/// sets it on catalogues loaded before it existed).
const SAMPLE_MARK: &str = "catalogue_is_sample";

/// What the catalogue holds: the sample (marked when it was loaded), a mirror (a complete run
/// succeeded and set the incremental baseline), or nothing yet.
pub async fn catalogue_origin(db: &Db) -> Result<CatalogueOrigin> {
    let keys: Vec<String> = read_db!(db, pool => sqlx::query_scalar::<_, String>(
        "SELECT key FROM sync_state WHERE key IN ($1, 'last_success_start')")
        .bind(SAMPLE_MARK).fetch_all(pool).await)?;
    Ok(if keys.iter().any(|k| k == SAMPLE_MARK) {
        CatalogueOrigin::Sample
    } else if keys.is_empty() {
        CatalogueOrigin::Empty
    } else {
        CatalogueOrigin::Mirror
    })
}

/// Marks the catalogue as holding the sample, inside the transaction that loads it, and
/// removes the incremental baseline the load's `finish_run` set: the sample is no mirror.
pub async fn mark_sample(tx: &mut Tx) -> Result<()> {
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO sync_state (key, value) VALUES ($1, 'true') \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(SAMPLE_MARK).execute(c).await.map(|r| r.rows_affected()))?;
    with_tx!(tx, c => sqlx::query("DELETE FROM sync_state WHERE key = 'last_success_start'")
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// If the catalogue holds the sample, empties it (every taxon with its names, listings and
/// distributions, and every quota and suspension) and removes the mark, inside the
/// transaction of the complete run about to load the real catalogue: the sample's synthetic
/// taxa must not outlive it. Returns whether it did.
pub async fn clear_sample(tx: &mut Tx) -> Result<bool> {
    let marked: Option<String> = with_tx!(tx, c => sqlx::query_scalar::<_, String>(
        "SELECT key FROM sync_state WHERE key = $1")
        .bind(SAMPLE_MARK).fetch_optional(c).await)?;
    if marked.is_none() {
        return Ok(false);
    }
    // Children first: the link tables reference both sides.
    for sql in [
        "DELETE FROM taxon_quotas",
        "DELETE FROM taxon_suspensions",
        "DELETE FROM distributions",
        "DELETE FROM common_names",
        "DELETE FROM synonym_accepted",
        "DELETE FROM taxon_related_names",
        "DELETE FROM listing_changes",
        "DELETE FROM quotas",
        "DELETE FROM suspensions",
        "DELETE FROM taxa",
    ] {
        with_tx!(tx, c => sqlx::query(sql).execute(c).await.map(|r| r.rows_affected()))?;
    }
    with_tx!(tx, c => sqlx::query("DELETE FROM sync_state WHERE key = $1")
        .bind(SAMPLE_MARK).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(true)
}

/// When the last successful run started: the base of the next `updated_since`.
pub async fn last_success_start(db: &Db) -> Result<Option<DateTime<Utc>>> {
    let value: Option<String> = read_db!(db, pool => sqlx::query_scalar::<_, String>(
        "SELECT value FROM sync_state WHERE key = 'last_success_start'")
        .fetch_optional(pool).await)?;
    Ok(value.and_then(|v| {
        DateTime::parse_from_rfc3339(&v)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }))
}

// ---- staging ---------------------------------------------------------------------------

pub async fn stage(db: &Db, run_id: i64, kind: &str, key: i64, body: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query(
        "INSERT INTO sync_stage (run_id, kind, item_key, body) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (run_id, kind, item_key) DO UPDATE SET body = excluded.body")
        .bind(run_id).bind(kind).bind(key).bind(body).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Stages several bodies in one transaction (one commit instead of one per body: with
/// `synchronous=FULL` each commit is an fsync).
pub async fn stage_many(db: &Db, run_id: i64, items: &[(&'static str, i64, String)]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    // Bodies are large (up to ~1 MB for a page): a few per statement is enough.
    let per_statement = match db.backend() {
        db::Backend::Sqlite => 50,
        db::Backend::Postgres => 20,
    };
    let mut tx = db.begin().await?;
    for chunk in items.chunks(per_statement) {
        with_tx!(&mut tx, c => {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO sync_stage (run_id, kind, item_key, body) ");
            qb.push_values(chunk, |mut b, (kind, key, body)| {
                b.push_bind(run_id).push_bind(*kind).push_bind(*key).push_bind(body);
            });
            qb.push(" ON CONFLICT (run_id, kind, item_key) DO UPDATE SET body = excluded.body");
            qb.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn staged_keys(db: &Db, run_id: i64, kind: &str) -> Result<Vec<i64>> {
    Ok(read_db!(db, pool => sqlx::query_scalar(
        "SELECT item_key FROM sync_stage WHERE run_id = $1 AND kind = $2 ORDER BY item_key")
        .bind(run_id).bind(kind).fetch_all(pool).await)?)
}

/// The staged bodies of `kind` for `keys`, in one query.
pub async fn staged_bodies(
    db: &Db,
    run_id: i64,
    kind: &str,
    keys: &[i64],
) -> Result<Vec<(i64, String)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(read_db!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new("SELECT item_key, body FROM sync_stage WHERE run_id = ");
        qb.push_bind(run_id);
        qb.push(" AND kind = ");
        qb.push_bind(kind);
        qb.push(" AND item_key IN (");
        let mut list = qb.separated(", ");
        for k in keys {
            list.push_bind(*k);
        }
        qb.push(") ORDER BY item_key");
        qb.build_query_as::<(i64, String)>().fetch_all(pool).await
    })?)
}

pub async fn staged_body(db: &Db, run_id: i64, kind: &str, key: i64) -> Result<Option<String>> {
    Ok(read_db!(db, pool => sqlx::query_scalar(
        "SELECT body FROM sync_stage WHERE run_id = $1 AND kind = $2 AND item_key = $3")
        .bind(run_id).bind(kind).bind(key).fetch_optional(pool).await)?)
}

// ---- the single-run lock ---------------------------------------------------------------

/// Takes the sync lock for `holder`, or reports who holds it. A lock whose heartbeat is older
/// than `stale_before` is taken over (its holder died without releasing it).
pub async fn try_lock(
    db: &Db,
    holder: &str,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> Result<Option<(String, DateTime<Utc>)>> {
    let mut tx = db.begin().await?;
    #[derive(sqlx::FromRow)]
    struct L {
        holder: String,
        heartbeat_at: DateTime<Utc>,
    }
    let current: Option<L> = with_tx!(&mut tx, c => sqlx::query_as(
        "SELECT holder, heartbeat_at FROM sync_lock WHERE id = 1")
        .fetch_optional(c).await)?;
    if let Some(l) = current
        && l.holder != holder
        && l.heartbeat_at >= stale_before
    {
        tx.rollback().await?;
        return Ok(Some((l.holder, l.heartbeat_at)));
    }
    with_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO sync_lock (id, holder, heartbeat_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, \
         heartbeat_at = excluded.heartbeat_at")
        .bind(holder).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(None)
}

pub async fn heartbeat(db: &Db, holder: &str, now: DateTime<Utc>) -> Result<()> {
    with_db!(db, pool => sqlx::query(
        "UPDATE sync_lock SET heartbeat_at = $2 WHERE id = 1 AND holder = $1")
        .bind(holder).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn unlock(db: &Db, holder: &str) -> Result<()> {
    with_db!(db, pool => sqlx::query("DELETE FROM sync_lock WHERE id = 1 AND holder = $1")
        .bind(holder).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}
