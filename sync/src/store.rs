//! Every SQL statement that touches the catalogue and sync-run tables.
//!
//! Statements are written once, with `$n` placeholders, and run on either backend through
//! `db::with_tx!` / `db::with_db!`.

use chrono::{DateTime, NaiveDate, Utc};
use db::{Db, Tx, with_db, with_tx};
use domain::{Appendix, ChangeType};

use crate::error::Result;
use crate::model::{
    DistributionRow, Legislation, ListingRow, NameStatus, QuotaRow, SuspensionRow, TaxonRecord,
};

/// Rows per multi-row INSERT: far below SQLite's and PostgreSQL's bind-parameter limits
/// (32,766 and 65,535) even for the widest table (12 columns).
const INSERT_ROWS_MAX: usize = 500;

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
struct ExistingTaxon {
    full_name: String,
    name_status: String,
    active: bool,
    content_hash: String,
}

/// Inserts or updates one taxon with its related names, accepted names and common names.
pub async fn upsert_taxon(tx: &mut Tx, t: &TaxonRecord) -> Result<TaxonOutcome> {
    let existing: Option<ExistingTaxon> = with_tx!(tx, c => sqlx::query_as(
        "SELECT full_name, name_status, active, content_hash FROM taxa WHERE id = $1")
        .bind(t.id)
        .fetch_optional(c)
        .await)?;
    let outcome = match &existing {
        None => TaxonOutcome::Added,
        Some(e) if e.content_hash == t.content_hash => TaxonOutcome::Unchanged,
        Some(e) if e.active && !t.active => TaxonOutcome::Deleted,
        Some(e) if e.full_name != t.full_name || e.name_status != t.name_status.as_str() => {
            TaxonOutcome::Renamed
        }
        Some(_) => TaxonOutcome::Changed,
    };
    if outcome == TaxonOutcome::Unchanged {
        // Still record the served timestamp, which moves without content changes.
        with_tx!(tx, c => sqlx::query("UPDATE taxa SET updated_at = $2 WHERE id = $1")
            .bind(t.id).bind(&t.updated_at).execute(c).await.map(|r| r.rows_affected()))?;
        return Ok(outcome);
    }
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO taxa (id, full_name, author_year, rank, name_status, active, cites_listing, \
         kingdom, phylum, class, taxon_order, family, genus, updated_at, content_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (id) DO UPDATE SET full_name = excluded.full_name, \
         author_year = excluded.author_year, rank = excluded.rank, \
         name_status = excluded.name_status, active = excluded.active, \
         cites_listing = excluded.cites_listing, kingdom = excluded.kingdom, \
         phylum = excluded.phylum, class = excluded.class, taxon_order = excluded.taxon_order, \
         family = excluded.family, genus = excluded.genus, updated_at = excluded.updated_at, \
         content_hash = excluded.content_hash")
        .bind(t.id)
        .bind(&t.full_name)
        .bind(&t.author_year)
        .bind(&t.rank)
        .bind(t.name_status.as_str())
        .bind(t.active)
        .bind(&t.cites_listing)
        .bind(&t.kingdom)
        .bind(&t.phylum)
        .bind(&t.class)
        .bind(&t.order)
        .bind(&t.family)
        .bind(&t.genus)
        .bind(&t.updated_at)
        .bind(&t.content_hash)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    for table in ["taxon_related_names", "common_names"] {
        let sql = match table {
            "taxon_related_names" => "DELETE FROM taxon_related_names WHERE taxon_id = $1",
            _ => "DELETE FROM common_names WHERE taxon_id = $1",
        };
        with_tx!(tx, c => sqlx::query(sql).bind(t.id).execute(c).await.map(|r| r.rows_affected()))?;
    }
    with_tx!(tx, c => sqlx::query("DELETE FROM synonym_accepted WHERE synonym_id = $1")
        .bind(t.id).execute(c).await.map(|r| r.rows_affected()))?;
    for chunk in t.related.chunks(INSERT_ROWS_MAX) {
        with_tx!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO taxon_related_names (taxon_id, related_id, full_name, author_year, rank) ");
            qb.push_values(chunk, |mut b, (id, name, author, rank)| {
                b.push_bind(t.id).push_bind(id).push_bind(name).push_bind(author).push_bind(rank);
            });
            qb.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    for chunk in t.accepted.chunks(INSERT_ROWS_MAX) {
        with_tx!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO synonym_accepted (synonym_id, accepted_id, full_name) ");
            qb.push_values(chunk, |mut b, (id, name)| {
                b.push_bind(t.id).push_bind(id).push_bind(name);
            });
            qb.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    for chunk in t.common_names.chunks(INSERT_ROWS_MAX) {
        with_tx!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO common_names (taxon_id, name, language) ");
            qb.push_values(chunk, |mut b, (name, language)| {
                b.push_bind(t.id).push_bind(name).push_bind(language);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    if !t.active || t.name_status == NameStatus::Synonym {
        // A deleted concept, or one that became a synonym, has no legislation and no
        // distribution of its own any more: Species+ moved them to the accepted taxon.
        clear_legislation(tx, t.id).await?;
        with_tx!(tx, c => sqlx::query("DELETE FROM distributions WHERE taxon_id = $1")
            .bind(t.id).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(outcome)
}

/// Counts of what replacing one taxon's legislation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegislationOutcome {
    pub listing_changes: u64,
    pub quotas: u64,
    pub suspensions: u64,
}

async fn clear_legislation(tx: &mut Tx, taxon_id: i64) -> Result<()> {
    for sql in [
        "DELETE FROM listing_changes WHERE taxon_id = $1",
        "DELETE FROM taxon_quotas WHERE taxon_id = $1",
        "DELETE FROM taxon_suspensions WHERE taxon_id = $1",
    ] {
        with_tx!(tx, c => sqlx::query(sql).bind(taxon_id).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Replaces everything `/cites_legislation?scope=all` said about `taxon_id`.
pub async fn replace_legislation(
    tx: &mut Tx,
    taxon_id: i64,
    legislation: &Legislation,
) -> Result<LegislationOutcome> {
    let before = listing_rows_tx(tx, taxon_id).await?;
    clear_legislation(tx, taxon_id).await?;
    let mut outcome = LegislationOutcome {
        listing_changes: legislation
            .listings
            .iter()
            .filter(|l| !before.contains(l))
            .count() as u64,
        ..LegislationOutcome::default()
    };
    for chunk in legislation.listings.chunks(INSERT_ROWS_MAX) {
        insert_listings(tx, chunk).await?;
    }
    for q in &legislation.quotas {
        if upsert_quota(tx, q).await? {
            outcome.quotas += 1;
        }
    }
    for s in &legislation.suspensions {
        if upsert_suspension(tx, s).await? {
            outcome.suspensions += 1;
        }
    }
    // Links in one statement per chunk; ids are unique per taxon (deduplicated on conversion).
    for chunk in legislation.quotas.chunks(INSERT_ROWS_MAX) {
        with_tx!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO taxon_quotas (taxon_id, quota_id) ");
            qb.push_values(chunk, |mut b, q| {
                b.push_bind(taxon_id).push_bind(q.id);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    for chunk in legislation.suspensions.chunks(INSERT_ROWS_MAX) {
        with_tx!(tx, c => {
            let mut qb =
                sqlx::QueryBuilder::new("INSERT INTO taxon_suspensions (taxon_id, suspension_id) ");
            qb.push_values(chunk, |mut b, s| {
                b.push_bind(taxon_id).push_bind(s.id);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(outcome)
}

async fn insert_listings(tx: &mut Tx, rows: &[ListingRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    with_tx!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO listing_changes (taxon_id, listing_id, appendix, change_type, \
             effective_at, is_current, party, party_name, annotation, hash_symbol, hash_note, \
             inherited_from) ");
        qb.push_values(rows, |mut b, l| {
            b.push_bind(l.taxon_id)
                .push_bind(l.listing_id)
                .push_bind(l.appendix.as_str())
                .push_bind(l.change_type.as_str())
                .push_bind(l.effective_at)
                .push_bind(l.is_current)
                .push_bind(&l.party)
                .push_bind(&l.party_name)
                .push_bind(&l.annotation)
                .push_bind(&l.hash_symbol)
                .push_bind(&l.hash_note)
                .push_bind(&l.inherited_from);
        });
        qb.build().execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct QuotaDb {
    id: i64,
    taxon_concept_id: Option<i64>,
    quota: Option<String>,
    unit_code: Option<String>,
    unit_name: Option<String>,
    country: String,
    country_name: Option<String>,
    publication_date: Option<NaiveDate>,
    notes: Option<String>,
    url: Option<String>,
    public_display: bool,
    is_current: bool,
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

/// Returns whether the quota is new or different.
async fn upsert_quota(tx: &mut Tx, q: &QuotaRow) -> Result<bool> {
    let existing: Option<QuotaDb> = with_tx!(tx, c => sqlx::query_as(
        "SELECT id, taxon_concept_id, quota, unit_code, unit_name, country, country_name, \
         publication_date, notes, url, public_display, is_current FROM quotas WHERE id = $1")
        .bind(q.id).fetch_optional(c).await)?;
    if existing.map(QuotaRow::from).as_ref() == Some(q) {
        return Ok(false);
    }
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO quotas (id, taxon_concept_id, quota, unit_code, unit_name, country, \
         country_name, publication_date, notes, url, public_display, is_current) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (id) DO UPDATE SET taxon_concept_id = excluded.taxon_concept_id, \
         quota = excluded.quota, unit_code = excluded.unit_code, unit_name = excluded.unit_name, \
         country = excluded.country, country_name = excluded.country_name, \
         publication_date = excluded.publication_date, notes = excluded.notes, url = excluded.url, \
         public_display = excluded.public_display, is_current = excluded.is_current")
        .bind(q.id)
        .bind(q.taxon_concept_id)
        .bind(&q.quota)
        .bind(&q.unit_code)
        .bind(&q.unit_name)
        .bind(&q.country)
        .bind(&q.country_name)
        .bind(q.publication_date)
        .bind(&q.notes)
        .bind(&q.url)
        .bind(q.public_display)
        .bind(q.is_current)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(true)
}

#[derive(sqlx::FromRow)]
struct SuspensionDb {
    id: i64,
    taxon_concept_id: Option<i64>,
    notes: Option<String>,
    start_date: Option<NaiveDate>,
    is_current: bool,
    applies_to_import: bool,
    country: Option<String>,
    country_name: Option<String>,
    notification_name: Option<String>,
    notification_date: Option<NaiveDate>,
    notification_url: Option<String>,
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

const SUSPENSION_COLUMNS: &str = "id, taxon_concept_id, notes, start_date, is_current, \
    applies_to_import, country, country_name, notification_name, notification_date, \
    notification_url";

async fn upsert_suspension(tx: &mut Tx, s: &SuspensionRow) -> Result<bool> {
    let existing: Option<SuspensionDb> = with_tx!(tx, c => sqlx::query_as(
        "SELECT id, taxon_concept_id, notes, start_date, is_current, applies_to_import, country, \
         country_name, notification_name, notification_date, notification_url \
         FROM suspensions WHERE id = $1")
        .bind(s.id).fetch_optional(c).await)?;
    if existing.map(SuspensionRow::from).as_ref() == Some(s) {
        return Ok(false);
    }
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO suspensions (id, taxon_concept_id, notes, start_date, is_current, \
         applies_to_import, country, country_name, notification_name, notification_date, \
         notification_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET taxon_concept_id = excluded.taxon_concept_id, \
         notes = excluded.notes, start_date = excluded.start_date, \
         is_current = excluded.is_current, applies_to_import = excluded.applies_to_import, \
         country = excluded.country, country_name = excluded.country_name, \
         notification_name = excluded.notification_name, \
         notification_date = excluded.notification_date, \
         notification_url = excluded.notification_url")
        .bind(s.id)
        .bind(s.taxon_concept_id)
        .bind(&s.notes)
        .bind(s.start_date)
        .bind(s.is_current)
        .bind(s.applies_to_import)
        .bind(&s.country)
        .bind(&s.country_name)
        .bind(&s.notification_name)
        .bind(s.notification_date)
        .bind(&s.notification_url)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(true)
}

/// Replaces the distribution of `taxon_id`.
pub async fn replace_distributions(
    tx: &mut Tx,
    taxon_id: i64,
    rows: &[DistributionRow],
) -> Result<()> {
    with_tx!(tx, c => sqlx::query("DELETE FROM distributions WHERE taxon_id = $1")
        .bind(taxon_id).execute(c).await.map(|r| r.rows_affected()))?;
    for chunk in rows.chunks(INSERT_ROWS_MAX) {
        with_tx!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO distributions (taxon_id, distribution_id, country, name, geo_type, tags) ");
            qb.push_values(chunk, |mut b, d| {
                b.push_bind(d.taxon_id)
                    .push_bind(d.distribution_id)
                    .push_bind(&d.country)
                    .push_bind(&d.name)
                    .push_bind(&d.geo_type)
                    .push_bind(&d.tags);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ListingDb {
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
    fn into_row(self) -> Result<ListingRow> {
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

const LISTING_COLUMNS: &str = "taxon_id, listing_id, appendix, change_type, effective_at, \
    is_current, party, party_name, annotation, hash_symbol, hash_note, inherited_from";

async fn listing_rows_tx(tx: &mut Tx, taxon_id: i64) -> Result<Vec<ListingRow>> {
    let rows: Vec<ListingDb> = with_tx!(tx, c => sqlx::query_as(
        "SELECT taxon_id, listing_id, appendix, change_type, effective_at, is_current, party, \
         party_name, annotation, hash_symbol, hash_note, inherited_from \
         FROM listing_changes WHERE taxon_id = $1")
        .bind(taxon_id).fetch_all(c).await)?;
    rows.into_iter().map(ListingDb::into_row).collect()
}

/// The listing changes stored for one taxon, in effective order.
pub async fn listing_rows(db: &Db, taxon_id: i64) -> Result<Vec<ListingRow>> {
    let rows: Vec<ListingDb> = with_db!(db, pool => sqlx::query_as(
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
    let rows: Vec<ListingDb> = with_db!(db, pool => sqlx::query_as(
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

const TAXON_COLUMNS: &str = "id, full_name, author_year, rank, name_status, active, \
    cites_listing, kingdom, phylum, class, taxon_order, family, genus";

pub async fn taxon(db: &Db, id: i64) -> Result<Option<TaxonSummary>> {
    Ok(with_db!(db, pool => sqlx::query_as(
        "SELECT id, full_name, author_year, rank, name_status, active, cites_listing, kingdom, \
         phylum, class, taxon_order, family, genus FROM taxa WHERE id = $1")
        .bind(id).fetch_optional(pool).await)?)
}

/// Taxa whose scientific name equals `name` (any case).
pub async fn taxa_named(db: &Db, name: &str) -> Result<Vec<TaxonSummary>> {
    Ok(with_db!(db, pool => sqlx::query_as(
        "SELECT id, full_name, author_year, rank, name_status, active, cites_listing, kingdom, \
         phylum, class, taxon_order, family, genus FROM taxa WHERE lower(full_name) = lower($1) \
         ORDER BY name_status, id")
        .bind(name).fetch_all(pool).await)?)
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
    Ok(with_db!(db, pool => sqlx::query_as(
        "SELECT id, full_name, author_year, rank, name_status, active, cites_listing, kingdom, \
         phylum, class, taxon_order, family, genus FROM taxa \
         WHERE lower(full_name) LIKE $1 ESCAPE '\\' \
            OR id IN (SELECT taxon_id FROM common_names WHERE lower(name) = lower($2)) \
         ORDER BY name_status, full_name, id LIMIT $3")
        .bind(&pattern).bind(prefix).bind(limit).fetch_all(pool).await)?)
}

/// The accepted taxa a synonym points to.
pub async fn accepted_of(db: &Db, synonym_id: i64) -> Result<Vec<i64>> {
    Ok(with_db!(db, pool => sqlx::query_scalar(
        "SELECT accepted_id FROM synonym_accepted WHERE synonym_id = $1 ORDER BY accepted_id")
        .bind(synonym_id).fetch_all(pool).await)?)
}

/// Accepted, active higher taxa whose name is one of `names` (a taxon's genus, family, ...),
/// in one query.
pub async fn higher_taxa_named(db: &Db, names: &[&str]) -> Result<Vec<TaxonSummary>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    Ok(with_db!(db, pool => {
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
    let rows: Vec<ListingDb> = with_db!(db, pool => {
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
    Ok(with_db!(db, pool => sqlx::query_scalar(
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
    let rows: Vec<D> = with_db!(db, pool => sqlx::query_as(
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
    let rows: Vec<QuotaDb> = with_db!(db, pool => sqlx::query_as(
        "SELECT q.id, q.taxon_concept_id, q.quota, q.unit_code, q.unit_name, q.country, \
         q.country_name, q.publication_date, q.notes, q.url, q.public_display, q.is_current \
         FROM quotas q JOIN taxon_quotas t ON t.quota_id = q.id WHERE t.taxon_id = $1 \
         ORDER BY q.publication_date, q.id")
        .bind(taxon_id).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(QuotaRow::from).collect())
}

/// Suspensions Species+ lists for the taxon.
pub async fn suspensions_of(db: &Db, taxon_id: i64) -> Result<Vec<SuspensionRow>> {
    let rows: Vec<SuspensionDb> = with_db!(db, pool => sqlx::query_as(
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
        *slot = with_db!(db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)?;
    }
    Ok(c)
}

/// A canonical text of the whole catalogue (every table, sorted), to compare two catalogues
/// for equality in tests; `updated_at` is left out because it is the server's, not ours.
pub async fn fingerprint(db: &Db) -> Result<String> {
    let mut out = String::new();
    let taxa: Vec<TaxonSummary> = with_db!(db, pool => sqlx::query_as(
        "SELECT id, full_name, author_year, rank, name_status, active, cites_listing, kingdom, \
         phylum, class, taxon_order, family, genus FROM taxa ORDER BY id")
        .fetch_all(pool).await)?;
    for t in taxa {
        out.push_str(&format!("{t:?}\n"));
    }
    let listings: Vec<ListingDb> = with_db!(db, pool => sqlx::query_as(
        "SELECT taxon_id, listing_id, appendix, change_type, effective_at, is_current, party, \
         party_name, annotation, hash_symbol, hash_note, inherited_from FROM listing_changes \
         ORDER BY taxon_id, listing_id")
        .fetch_all(pool).await)?;
    for l in listings {
        out.push_str(&format!("{:?}\n", l.into_row()?));
    }
    let quotas: Vec<QuotaDb> = with_db!(db, pool => sqlx::query_as(
        "SELECT id, taxon_concept_id, quota, unit_code, unit_name, country, country_name, \
         publication_date, notes, url, public_display, is_current FROM quotas ORDER BY id")
        .fetch_all(pool).await)?;
    for q in quotas {
        out.push_str(&format!("{:?}\n", QuotaRow::from(q)));
    }
    let suspensions: Vec<SuspensionDb> = with_db!(db, pool => sqlx::query_as(
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
            with_db!(db, pool => sqlx::query_scalar::<_, String>(sql).fetch_all(pool).await)?;
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

const RUN_COLUMNS: &str =
    "id, kind, status, started_at, finished_at, updated_since, checkpoint, report, error";

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
    Ok(with_db!(db, pool => sqlx::query_as(
        "SELECT id, kind, status, started_at, finished_at, updated_since, checkpoint, report, \
         error FROM sync_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1")
        .fetch_optional(pool).await)?)
}

pub async fn recent_runs(db: &Db, limit: i64) -> Result<Vec<RunRecord>> {
    Ok(with_db!(db, pool => sqlx::query_as(
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

/// When the last successful run started: the base of the next `updated_since`.
pub async fn last_success_start(db: &Db) -> Result<Option<DateTime<Utc>>> {
    let value: Option<String> = with_db!(db, pool => sqlx::query_scalar::<_, String>(
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
    let mut tx = db.begin().await?;
    for (kind, key, body) in items {
        with_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO sync_stage (run_id, kind, item_key, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (run_id, kind, item_key) DO UPDATE SET body = excluded.body")
            .bind(run_id).bind(*kind).bind(*key).bind(body).execute(c).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn staged_keys(db: &Db, run_id: i64, kind: &str) -> Result<Vec<i64>> {
    Ok(with_db!(db, pool => sqlx::query_scalar(
        "SELECT item_key FROM sync_stage WHERE run_id = $1 AND kind = $2 ORDER BY item_key")
        .bind(run_id).bind(kind).fetch_all(pool).await)?)
}

pub async fn staged_body(db: &Db, run_id: i64, kind: &str, key: i64) -> Result<Option<String>> {
    Ok(with_db!(db, pool => sqlx::query_scalar(
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

#[allow(dead_code)]
const _COLUMN_LISTS_USED_IN_DOCS: [&str; 4] = [
    SUSPENSION_COLUMNS,
    LISTING_COLUMNS,
    TAXON_COLUMNS,
    RUN_COLUMNS,
];
