//! Catalogue records: what the mirror stores, converted from the wire types.
//!
//! Conversion is where tolerance ends: a row that cannot be placed in the catalogue (a listing
//! change with no appendix or date, say) is skipped with a warning that names the taxon, the row
//! and the field, so one bad row never stops a sync and never goes unnoticed.

use chrono::NaiveDate;
use domain::{Appendix, ChangeType};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::wire;

/// Prefix Species+ puts before the auto-note of an inherited listing row.
const AUTO_NOTE_OPEN: char = '[';
const AUTO_NOTE_CLOSE: &str = "] ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NameStatus {
    Accepted,
    Synonym,
}

impl NameStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NameStatus::Accepted => "A",
            NameStatus::Synonym => "S",
        }
    }
}

/// A name related to an accepted taxon: (id, full name, author and year, rank).
pub type RelatedName = (i64, String, Option<String>, Option<String>);

/// A taxon concept as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxonRecord {
    pub id: i64,
    pub full_name: String,
    pub author_year: Option<String>,
    pub rank: String,
    pub name_status: NameStatus,
    pub active: bool,
    pub cites_listing: Option<String>,
    pub kingdom: Option<String>,
    pub phylum: Option<String>,
    pub class: Option<String>,
    pub order: Option<String>,
    pub family: Option<String>,
    pub genus: Option<String>,
    pub updated_at: String,
    pub related: Vec<RelatedName>,
    pub accepted: Vec<(i64, String)>,
    pub common_names: Vec<(String, String)>,
    pub content_hash: String,
}

/// Ranks below genus, whose genus is the first word of the name.
const RANKS_BELOW_GENUS: [&str; 4] = ["SPECIES", "SUBSPECIES", "VARIETY", "FORM"];

impl TaxonRecord {
    /// Converts a wire taxon concept; `None` with a warning when it lacks what every row has.
    pub fn from_wire(t: &wire::TaxonConcept, warnings: &mut Vec<String>) -> Option<TaxonRecord> {
        let Some(full_name) = t.full_name.clone().filter(|n| !n.trim().is_empty()) else {
            warnings.push(format!("taxon {}: no full_name; row skipped", t.id));
            return None;
        };
        let name_status = match t.name_status.as_deref() {
            Some("A") | None => NameStatus::Accepted,
            Some("S") => NameStatus::Synonym,
            Some(other) => {
                warnings.push(format!(
                    "taxon {}: name_status {other:?} is not A or S; row skipped",
                    t.id
                ));
                return None;
            }
        };
        let rank = t.rank.clone().unwrap_or_default().to_uppercase();
        let higher = t.higher_taxa.clone().unwrap_or_default();
        let genus = if RANKS_BELOW_GENUS.contains(&rank.as_str()) {
            full_name.split_whitespace().next().map(str::to_owned)
        } else if rank == "GENUS" {
            Some(full_name.clone())
        } else {
            None
        };
        let mut related: Vec<_> = t
            .synonyms
            .iter()
            .filter_map(|s| {
                Some((
                    s.id,
                    s.full_name.clone()?,
                    s.author_year.clone(),
                    s.rank.clone(),
                ))
            })
            .collect();
        related.sort();
        related.dedup_by_key(|r| r.0);
        let mut accepted: Vec<_> = t
            .accepted_names
            .iter()
            .filter_map(|a| Some((a.id, a.full_name.clone()?)))
            .collect();
        accepted.sort();
        accepted.dedup_by_key(|a| a.0);
        let mut common_names: Vec<_> = t
            .common_names
            .iter()
            .filter_map(|c| {
                Some((
                    c.name.clone()?.trim().to_owned(),
                    c.language.clone().unwrap_or_default().to_uppercase(),
                ))
            })
            .collect();
        // Arrays arrive in a different order on every call: sort so equal data hashes equal.
        common_names.sort();
        common_names.dedup();
        let mut record = TaxonRecord {
            id: t.id,
            full_name,
            author_year: t.author_year.clone(),
            rank,
            name_status,
            active: t.active.unwrap_or(true),
            cites_listing: t.cites_listing.clone(),
            kingdom: higher.kingdom,
            phylum: higher.phylum,
            class: higher.class,
            order: higher.order,
            family: higher.family,
            genus,
            updated_at: t.updated_at.clone().unwrap_or_default(),
            related,
            accepted,
            common_names,
            content_hash: String::new(),
        };
        record.content_hash = record.compute_hash();
        Some(record)
    }

    /// Hash of everything but `updated_at`, so a touched but unchanged taxon counts as unchanged.
    fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let text = format!(
            "{}|{}|{:?}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.id,
            self.full_name,
            self.author_year,
            self.rank,
            self.name_status.as_str(),
            self.active,
            self.cites_listing,
            self.kingdom,
            self.phylum,
            self.class,
            self.order,
            self.family,
            self.genus,
            self.related,
            self.accepted,
            self.common_names
        );
        h.update(text.as_bytes());
        format!("{:x}", h.finalize())
    }

    pub fn is_higher_taxon(&self) -> bool {
        !RANKS_BELOW_GENUS.contains(&self.rank.as_str())
    }
}

/// A listing change as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingRow {
    pub taxon_id: i64,
    pub listing_id: i64,
    pub appendix: Appendix,
    pub change_type: ChangeType,
    pub effective_at: NaiveDate,
    pub is_current: bool,
    pub party: Option<String>,
    pub party_name: Option<String>,
    pub annotation: Option<String>,
    pub hash_symbol: Option<String>,
    pub hash_note: Option<String>,
    pub inherited_from: Option<String>,
}

impl ListingRow {
    /// Converts a wire row fetched for `taxon_id` (rows carry the asked-for taxon even when
    /// inherited, but older shapes omit it).
    pub fn from_wire(
        taxon_id: i64,
        l: &wire::ListingChange,
        warnings: &mut Vec<String>,
    ) -> Option<ListingRow> {
        let skip = |warnings: &mut Vec<String>, why: String| {
            warnings.push(format!(
                "taxon {taxon_id} listing change {}: {why}; row skipped",
                l.id
            ));
        };
        let appendix = match l.appendix.as_deref().map(Appendix::parse) {
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                skip(warnings, e.to_string());
                return None;
            }
            None => {
                skip(warnings, "no appendix".into());
                return None;
            }
        };
        let change_type = match l.change_type.as_deref().map(ChangeType::parse) {
            Some(Ok(c)) => c,
            Some(Err(_)) | None => {
                skip(
                    warnings,
                    format!(
                        "change_type {:?} is not one of +, -, R+, R-",
                        l.change_type.as_deref().unwrap_or("")
                    ),
                );
                return None;
            }
        };
        let effective_at = match l
            .effective_at
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok())
        {
            Some(d) => d,
            None => {
                skip(
                    warnings,
                    format!("effective_at {:?} is not a YYYY-MM-DD date", l.effective_at),
                );
                return None;
            }
        };
        let (inherited_from, annotation) = split_auto_note(l.annotation.as_deref());
        Some(ListingRow {
            taxon_id,
            listing_id: l.id,
            appendix,
            change_type,
            effective_at,
            // Species+ forces deletions and withdrawals to not current; so do we.
            is_current: l.is_current.unwrap_or(false)
                && matches!(
                    change_type,
                    ChangeType::Addition | ChangeType::ReservationEntered
                ),
            party: l
                .party
                .as_ref()
                .and_then(|p| p.iso_code2.clone())
                .map(|c| c.to_uppercase()),
            party_name: l.party.as_ref().and_then(|p| p.name.clone()),
            annotation: l
                .annotation
                .clone()
                .filter(|a| !a.is_empty())
                .map(|_| annotation),
            hash_symbol: l.hash_annotation.as_ref().and_then(|h| h.symbol.clone()),
            hash_note: l.hash_annotation.as_ref().and_then(|h| h.note.clone()),
            inherited_from,
        })
    }
}

/// Splits `"[FAMILY listing Trochilidae spp.] rest"` into the auto-note and the rest.
pub fn split_auto_note(annotation: Option<&str>) -> (Option<String>, String) {
    let Some(text) = annotation else {
        return (None, String::new());
    };
    if text.starts_with(AUTO_NOTE_OPEN) {
        if let Some(end) = text.find(AUTO_NOTE_CLOSE) {
            let note = text[1..end].trim().to_owned();
            let rest = text[end + AUTO_NOTE_CLOSE.len()..].to_owned();
            if note.contains(" listing ") {
                return (Some(note), rest);
            }
        } else if let Some(stripped) = text.strip_suffix(']') {
            let note = stripped[1..].trim().to_owned();
            if note.contains(" listing ") {
                return (Some(note), String::new());
            }
        }
    }
    (None, text.to_owned())
}

/// An export quota as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaRow {
    pub id: i64,
    pub taxon_concept_id: Option<i64>,
    /// Exact decimal text, `None` when "in preparation".
    pub quota: Option<String>,
    pub unit_code: Option<String>,
    pub unit_name: Option<String>,
    pub country: String,
    pub country_name: Option<String>,
    pub publication_date: Option<NaiveDate>,
    pub notes: Option<String>,
    pub url: Option<String>,
    pub public_display: bool,
    pub is_current: bool,
}

impl QuotaRow {
    pub fn from_wire(
        taxon_id: i64,
        q: &wire::Quota,
        warnings: &mut Vec<String>,
    ) -> Option<QuotaRow> {
        let Some(country) = q
            .geo_entity
            .as_ref()
            .and_then(|g| g.iso_code2.clone())
            .map(|c| c.to_uppercase())
        else {
            warnings.push(format!(
                "taxon {taxon_id} quota {}: no geo_entity.iso_code2; row skipped",
                q.id
            ));
            return None;
        };
        // Species+ uses -1 for "not yet set" and the view turns it into null; accept either.
        let quota = q
            .quota
            .as_ref()
            .map(|n| canonical_decimal(&n.to_string()))
            .filter(|v| !v.starts_with('-'));
        Some(QuotaRow {
            id: q.id,
            taxon_concept_id: q.taxon_concept_id,
            quota,
            unit_code: q.unit.as_ref().and_then(|u| u.code.clone()),
            unit_name: q.unit.as_ref().and_then(|u| u.name.clone()),
            country,
            country_name: q.geo_entity.as_ref().and_then(|g| g.name.clone()),
            publication_date: parse_date(q.publication_date.as_deref()),
            notes: q.notes.clone(),
            url: q.url.clone().filter(|u| !u.is_empty()),
            public_display: q.public_display.unwrap_or(true),
            is_current: q.is_current.unwrap_or(false),
        })
    }
}

/// `"180.0"` → `"180"`, `"2.50"` → `"2.5"`: one spelling per value, so equal quotas compare equal.
fn canonical_decimal(text: &str) -> String {
    if text.contains('e') || text.contains('E') {
        return text.to_owned();
    }
    if let Some((int, frac)) = text.split_once('.') {
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            int.to_owned()
        } else {
            format!("{int}.{frac}")
        }
    } else {
        text.to_owned()
    }
}

fn parse_date(text: Option<&str>) -> Option<NaiveDate> {
    let t = text?;
    NaiveDate::parse_from_str(t.get(..10).unwrap_or(t), "%Y-%m-%d").ok()
}

/// A trade suspension as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuspensionRow {
    pub id: i64,
    pub taxon_concept_id: Option<i64>,
    pub notes: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub is_current: bool,
    pub applies_to_import: bool,
    pub country: Option<String>,
    pub country_name: Option<String>,
    pub notification_name: Option<String>,
    pub notification_date: Option<NaiveDate>,
    pub notification_url: Option<String>,
}

impl SuspensionRow {
    pub fn from_wire(s: &wire::Suspension) -> SuspensionRow {
        SuspensionRow {
            id: s.id,
            taxon_concept_id: s.taxon_concept_id,
            notes: s.notes.clone(),
            start_date: parse_date(s.start_date.as_deref()),
            is_current: s.is_current.unwrap_or(false),
            applies_to_import: s.applies_to_import.unwrap_or(false),
            country: s
                .geo_entity
                .as_ref()
                .and_then(|g| g.iso_code2.clone())
                .map(|c| c.to_uppercase()),
            country_name: s.geo_entity.as_ref().and_then(|g| g.name.clone()),
            notification_name: s.start_notification.as_ref().and_then(|n| n.name.clone()),
            notification_date: s
                .start_notification
                .as_ref()
                .and_then(|n| parse_date(n.date.as_deref())),
            notification_url: s.start_notification.as_ref().and_then(|n| n.url.clone()),
        }
    }
}

/// A country or territory where a taxon occurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistributionRow {
    pub taxon_id: i64,
    pub distribution_id: i64,
    pub country: String,
    pub name: Option<String>,
    pub geo_type: Option<String>,
    pub tags: String,
}

impl DistributionRow {
    pub fn from_wire(taxon_id: i64, d: &wire::Distribution) -> Option<DistributionRow> {
        let mut tags = d.tags.clone();
        tags.sort();
        Some(DistributionRow {
            taxon_id,
            distribution_id: d.id,
            country: d.iso_code2.clone()?.to_uppercase(),
            name: d.name.clone(),
            geo_type: d.geo_type.clone(),
            tags: tags.join(","),
        })
    }
}

/// Everything `/cites_legislation?scope=all` says about one taxon, converted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Legislation {
    pub listings: Vec<ListingRow>,
    pub quotas: Vec<QuotaRow>,
    pub suspensions: Vec<SuspensionRow>,
}

impl Legislation {
    pub fn from_wire(
        taxon_id: i64,
        listings: &[wire::ListingChange],
        quotas: &[wire::Quota],
        suspensions: &[wire::Suspension],
        warnings: &mut Vec<String>,
    ) -> Legislation {
        let mut out = Legislation {
            listings: listings
                .iter()
                .filter_map(|l| ListingRow::from_wire(taxon_id, l, warnings))
                .collect(),
            quotas: quotas
                .iter()
                .filter_map(|q| QuotaRow::from_wire(taxon_id, q, warnings))
                .collect(),
            suspensions: suspensions.iter().map(SuspensionRow::from_wire).collect(),
        };
        // Arrays come shuffled and may repeat across pages: one row per key, in key order.
        out.listings.sort_by_key(|l| l.listing_id);
        out.listings.dedup_by_key(|l| l.listing_id);
        out.quotas.sort_by_key(|q| q.id);
        out.quotas.dedup_by_key(|q| q.id);
        out.suspensions.sort_by_key(|s| s.id);
        out.suspensions.dedup_by_key(|s| s.id);
        out
    }
}

#[cfg(test)]
mod tests;
