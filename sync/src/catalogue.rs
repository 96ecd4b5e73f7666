//! Queries over the mirrored catalogue: find a taxon, its listing on a date, the amendments
//! taking effect in a range.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use db::Db;
use domain::{ChangeType, CountryCode};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::listing::{self, ListingAt};
use crate::model::{ListingRow, SuspensionRow};
use crate::store::{self, TaxonSummary};

/// Most taxa one name search returns.
pub const SEARCH_RESULTS_MAX: i64 = 50;
/// Longest amendment range one call may ask for, in days (the whole history since 1975 fits).
pub const AMENDMENT_RANGE_DAYS_MAX: i64 = 366 * 60;

/// Read access to the catalogue.
#[derive(Clone, Debug)]
pub struct Catalogue {
    db: Db,
}

/// The taxon a query resolved to, and the synonym it came through, if any.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    pub taxon: TaxonSummary,
    pub via_synonym: Option<TaxonSummary>,
}

/// The listing of a taxon on a date, with the taxon.
#[derive(Debug, Clone, Serialize)]
pub struct TaxonListing {
    pub taxon: TaxonSummary,
    pub via_synonym: Option<TaxonSummary>,
    pub listing: ListingAt,
    /// When the listing is inherited from a higher taxon, which one.
    pub inherited_from: Option<String>,
}

/// The listing changes of one taxon taking effect on one date, with the listing before and
/// after.
#[derive(Debug, Clone, Serialize)]
pub struct Amendment {
    pub taxon_id: i64,
    pub full_name: String,
    pub rank: String,
    pub effective_at: NaiveDate,
    pub changes: Vec<AmendmentChange>,
    /// Summary the day before, e.g. "II", "I/II", "not listed".
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AmendmentChange {
    pub listing_id: i64,
    pub change_type: String,
    pub appendix: String,
    pub party: Option<String>,
    pub annotation: Option<String>,
    pub inherited_from: Option<String>,
}

impl Catalogue {
    pub fn new(db: Db) -> Catalogue {
        Catalogue { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Taxa whose name starts with `name` (or whose common name is `name`).
    pub async fn search(&self, name: &str) -> Result<Vec<TaxonSummary>> {
        store::search_taxa(&self.db, name.trim(), SEARCH_RESULTS_MAX).await
    }

    /// Resolves a Species+ id or a scientific name to an accepted taxon; a synonym resolves to
    /// its accepted name.
    pub async fn resolve(&self, query: &str) -> Result<Resolved> {
        let q = query.trim();
        let found = if let Ok(id) = q.parse::<i64>() {
            store::taxon(&self.db, id)
                .await?
                .into_iter()
                .collect::<Vec<_>>()
        } else {
            store::taxa_named(&self.db, q).await?
        };
        let not_found = || Error::TaxonNotFound {
            query: q.to_owned(),
        };
        // Prefer an accepted, active name; a name that is both accepted and a synonym (rcites
        // #6) is the accepted one.
        if let Some(t) = found.iter().find(|t| t.name_status == "A" && t.active) {
            return Ok(Resolved {
                taxon: t.clone(),
                via_synonym: None,
            });
        }
        let Some(first) = found.first() else {
            // A synonym Species+ lists only in its accepted taxon's synonyms, with no concept
            // of its own (Loxodonta cyclotis under Loxodonta africana).
            if q.parse::<i64>().is_err() {
                let mut owners = store::taxa_listing_related_name(&self.db, q).await?;
                return match owners.len() {
                    0 => Err(not_found()),
                    1 => {
                        let (taxon, related) = owners.remove(0);
                        Ok(Resolved {
                            taxon,
                            via_synonym: Some(related),
                        })
                    }
                    _ => Err(Error::AmbiguousName {
                        query: q.to_owned(),
                        candidates: owners
                            .iter()
                            .map(|(t, _)| format!("{} ({})", t.full_name, t.id))
                            .collect::<Vec<_>>()
                            .join(", "),
                    }),
                };
            }
            return Err(not_found());
        };
        if first.name_status == "S" {
            let accepted = store::accepted_of(&self.db, first.id).await?;
            let mut taxa = Vec::new();
            for id in accepted {
                if let Some(t) = store::taxon(&self.db, id).await? {
                    taxa.push(t);
                }
            }
            return match taxa.len() {
                0 => Err(not_found()),
                1 => Ok(Resolved {
                    taxon: taxa.remove(0),
                    via_synonym: Some(first.clone()),
                }),
                _ => Err(Error::AmbiguousName {
                    query: q.to_owned(),
                    candidates: taxa
                        .iter()
                        .map(|t| format!("{} ({})", t.full_name, t.id))
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            };
        }
        // A deleted concept answers as itself: "not listed", with active = false.
        Ok(Resolved {
            taxon: first.clone(),
            via_synonym: None,
        })
    }

    /// The listing of `query` (id or name) on `date`, for `country` when given.
    pub async fn listing(
        &self,
        query: &str,
        date: NaiveDate,
        country: Option<CountryCode>,
    ) -> Result<TaxonListing> {
        let resolved = self.resolve(query).await?;
        let (rows, inherited_from) = self.effective_rows(&resolved.taxon).await?;
        // The distribution's country names are only needed to read population clauses.
        let names = if rows
            .iter()
            .any(|r| listing::has_population_clause(r.annotation.as_deref()))
        {
            self.country_names(resolved.taxon.id).await?
        } else {
            HashMap::new()
        };
        let resolve = |name: &str| resolve_country(&names, name);
        let listing =
            listing::listing_at(&rows, date, country.as_ref().map(|c| c.as_str()), &resolve);
        Ok(TaxonListing {
            taxon: resolved.taxon,
            via_synonym: resolved.via_synonym,
            listing,
            inherited_from,
        })
    }

    /// The rows that decide a taxon's listing: its own (with the inherited rows Species+ gives
    /// it), or, when it has none of its own, those of its nearest listed ancestor. The second
    /// case covers a family listing whose species Species+ has not re-published yet.
    async fn effective_rows(
        &self,
        taxon: &TaxonSummary,
    ) -> Result<(Vec<ListingRow>, Option<String>)> {
        let mut rows = store::listing_rows(&self.db, taxon.id).await?;
        let has_own = rows.iter().any(|r| r.inherited_from.is_none());
        if has_own {
            return Ok((rows, None));
        }
        let mut inherited_from = rows.iter().find_map(|r| r.inherited_from.clone());
        let names = higher_names(taxon);
        let ancestors = store::higher_taxa_named(&self.db, &names).await?;
        let ids: Vec<i64> = ancestors.iter().map(|a| a.id).collect();
        let own = store::own_listing_rows_of(&self.db, &ids).await?;
        let nearest = names.iter().find_map(|name| {
            ancestors
                .iter()
                .filter(|a| a.full_name == *name)
                .find(|a| own.iter().any(|r| r.taxon_id == a.id))
        });
        if let Some(ancestor) = nearest {
            let note = format!("{} listing {} spp.", ancestor.rank, ancestor.full_name);
            for r in own.iter().filter(|r| r.taxon_id == ancestor.id) {
                if rows.iter().any(|x| x.listing_id == r.listing_id) {
                    continue;
                }
                let mut r = r.clone();
                r.taxon_id = taxon.id;
                r.inherited_from = Some(note.clone());
                rows.push(r);
            }
            inherited_from.get_or_insert(note);
        }
        Ok((rows, inherited_from))
    }

    /// Country names as the taxon's distribution spells them (the language of its annotations).
    async fn country_names(&self, taxon_id: i64) -> Result<HashMap<String, String>> {
        Ok(names_to_codes(
            &store::distributions(&self.db, taxon_id).await?,
        ))
    }

    /// Every listing change taking effect in `[from, to]`, per taxon and date, with the listing
    /// the day before and on the day.
    pub async fn amendments(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Amendment>> {
        if to < from {
            return Err(Error::InvalidRange { from, to });
        }
        if (to - from).num_days() > AMENDMENT_RANGE_DAYS_MAX {
            return Err(Error::LimitExceeded {
                what: "days in an amendment range",
                limit: AMENDMENT_RANGE_DAYS_MAX as u64,
            });
        }
        let rows = store::listing_rows_between(&self.db, from, to).await?;
        let mut grouped: BTreeMap<(NaiveDate, i64), Vec<ListingRow>> = BTreeMap::new();
        for r in rows {
            grouped
                .entry((r.effective_at, r.taxon_id))
                .or_default()
                .push(r);
        }
        let mut out = Vec::new();
        // Each taxon's rows and country names are loaded once, however many dates it has.
        let mut cache: HashMap<i64, TaxonFacts> = HashMap::new();
        for ((date, taxon_id), changes) in grouped {
            if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(taxon_id) {
                let Some(taxon) = store::taxon(&self.db, taxon_id).await? else {
                    continue;
                };
                let (all, _) = self.effective_rows(&taxon).await?;
                let names = self.country_names(taxon_id).await?;
                slot.insert((taxon, all, names));
            }
            let Some((taxon, all, names)) = cache.get(&taxon_id) else {
                continue;
            };
            let resolve = |name: &str| resolve_country(names, name);
            let before = date
                .pred_opt()
                .map(|d| listing::listing_at(all, d, None, &resolve).summary())
                .unwrap_or_else(|| "not listed".into());
            let after = listing::listing_at(all, date, None, &resolve).summary();
            out.push(Amendment {
                taxon_id,
                full_name: taxon.full_name.clone(),
                rank: taxon.rank.clone(),
                effective_at: date,
                changes: changes
                    .into_iter()
                    .map(|c| AmendmentChange {
                        listing_id: c.listing_id,
                        change_type: c.change_type.as_str().to_owned(),
                        appendix: c.appendix.as_str().to_owned(),
                        party: c.party,
                        annotation: c.annotation,
                        inherited_from: c.inherited_from,
                    })
                    .collect(),
                before,
                after,
            });
        }
        Ok(out)
    }
}

/// A taxon, the rows that decide its listing, and its country names.
type TaxonFacts = (TaxonSummary, Vec<ListingRow>, HashMap<String, String>);

fn resolve_country(names: &HashMap<String, String>, name: &str) -> Option<String> {
    names
        .get(&name.trim().to_lowercase())
        .cloned()
        .or_else(|| listing::resolve_iso_name(name))
}

/// What a permit check needs to know from the catalogue about one taxon.
#[derive(Debug, Clone)]
pub struct CheckFacts {
    pub resolved: Resolved,
    /// The listing on the date of issue and on the planned trade date, for the population of
    /// the country asked about.
    pub at_issue: ListingAt,
    pub at_trade: ListingAt,
    pub inherited_from: Option<String>,
    /// Higher taxa in the catalogue, nearest first (genus, family, order, class, phylum,
    /// kingdom).
    pub ancestors: Vec<TaxonSummary>,
    /// The earliest inclusion in an Appendix (for pre-Convention claims).
    pub first_listed: Option<NaiveDate>,
    /// The latest listing change in force on `as_of`.
    pub last_amendment: Option<NaiveDate>,
    /// Suspensions Species+ lists for the taxon (its own, its ancestors', country-wide).
    pub suspensions: Vec<SuspensionRow>,
    /// ISO codes of the countries of the taxon's distribution.
    pub distribution: Vec<String>,
}

impl Catalogue {
    /// The facts of [`CheckFacts`] for `query` (id or name), for `country`'s population.
    pub async fn check_facts(
        &self,
        query: &str,
        issue: NaiveDate,
        trade: NaiveDate,
        country: Option<CountryCode>,
        as_of: NaiveDate,
    ) -> Result<CheckFacts> {
        let resolved = self.resolve(query).await?;
        let taxon = &resolved.taxon;
        let (rows, inherited_from) = self.effective_rows(taxon).await?;
        // Independent reads on two pooled connections.
        let (distributions, suspensions) = tokio::try_join!(
            store::distributions(&self.db, taxon.id),
            store::suspensions_of(&self.db, taxon.id)
        )?;
        let country_names = names_to_codes(&distributions);
        let resolve = |name: &str| resolve_country(&country_names, name);
        let country = country.as_ref().map(|c| c.as_str());
        let at_issue = listing::listing_at(&rows, issue, country, &resolve);
        let at_trade = listing::listing_at(&rows, trade, country, &resolve);
        let first_listed = rows
            .iter()
            .filter(|r| r.change_type == ChangeType::Addition)
            .map(|r| r.effective_at)
            .min();
        let last_amendment = rows
            .iter()
            .map(|r| r.effective_at)
            .filter(|d| *d <= as_of)
            .max();
        let names = higher_names(taxon);
        let found = store::higher_taxa_named(&self.db, &names).await?;
        let mut ancestors: Vec<TaxonSummary> = names
            .iter()
            .filter_map(|n| found.iter().find(|a| a.full_name == *n).cloned())
            .collect();
        // A subspecies (or variety, form) also falls under its species: the species' quotas
        // and suspensions apply to it.
        if matches!(taxon.rank.as_str(), "SUBSPECIES" | "VARIETY" | "FORM") {
            let species: String = taxon
                .full_name
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(s) = store::taxa_named(&self.db, &species)
                .await?
                .into_iter()
                .find(|s| s.rank == "SPECIES" && s.name_status == "A" && s.active)
            {
                ancestors.insert(0, s);
            }
        }
        let mut distribution: Vec<String> = distributions.into_iter().map(|d| d.country).collect();
        distribution.sort();
        distribution.dedup();
        Ok(CheckFacts {
            resolved,
            at_issue,
            at_trade,
            inherited_from,
            ancestors,
            first_listed,
            last_amendment,
            suspensions,
            distribution,
        })
    }
}

/// The names of a taxon's higher taxa, nearest first: genus, family, order, class, phylum,
/// kingdom.
fn higher_names(taxon: &TaxonSummary) -> Vec<&str> {
    [
        &taxon.genus,
        &taxon.family,
        &taxon.taxon_order,
        &taxon.class,
        &taxon.phylum,
        &taxon.kingdom,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .filter(|n| *n != taxon.full_name)
    .collect()
}

/// Country names as a distribution spells them (the language of the taxon's annotations),
/// lower-cased, to their ISO codes.
fn names_to_codes(distributions: &[crate::model::DistributionRow]) -> HashMap<String, String> {
    distributions
        .iter()
        .filter_map(|d| Some((d.name.clone()?.to_lowercase(), d.country.clone())))
        .collect()
}
