//! The listing of a taxon on a date, derived from its listing changes.
//!
//! Species+ gives no end date for a listing change and names split-listed populations only in
//! annotation text, so "which Appendix applied to taxon T, for country C, on date D" is derived
//! here, from `effective_at` and never from the curated `is_current` flag. The rule (checked
//! against every recorded elephant row in `fixtures/speciesplus/`): a `+` row for Appendix A is in
//! force on D if it took effect on or before D and no later row that took effect on or before D
//! replaces it. A later row replaces it when it is (a) a `+` row for the same Appendix (for
//! Appendix III: of the same listing party), (b) a `+` row for another Appendix whose populations
//! cover its populations (a transfer), or (c) a `-` row for that Appendix. A reservation (`R+`) is
//! in force from its date until a later `R-` of the same party and Appendix.
//!
//! Pure: no I/O. The caller loads the rows (the taxon's own, those Species+ marks as inherited,
//! and, where the taxon has none of its own, its nearest listed ancestor's).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use domain::{Appendix, ChangeType, CountryCode};
use serde::Serialize;

use crate::model::ListingRow;

/// Which populations of a taxon a listing change covers, read from its annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "countries", rename_all = "snake_case")]
pub enum Populations {
    /// No population clause: the whole taxon.
    All,
    /// "Populations of X, Y and Z ..." / "Only the population of X ...".
    Only(BTreeSet<String>),
    /// "Except the populations of X and Y, which are included in Appendix II."
    Except(BTreeSet<String>),
    /// A population clause whose country names could not all be resolved: never guessed.
    Unparsed(String),
}

impl Populations {
    /// Whether the clause covers `country`; `None` when that cannot be known.
    pub fn covers(&self, country: &str) -> Option<bool> {
        match self {
            Populations::All => Some(true),
            Populations::Only(set) => Some(set.contains(country)),
            Populations::Except(set) => Some(!set.contains(country)),
            Populations::Unparsed(_) => None,
        }
    }

    /// Whether every population `other` covers is covered by `self` (for transfers).
    fn includes(&self, other: &Populations) -> bool {
        match (self, other) {
            (Populations::All, _) => true,
            (Populations::Only(a), Populations::Only(b)) => b.is_subset(a),
            (Populations::Except(a), Populations::Except(b)) => a.is_subset(b),
            (Populations::Except(a), Populations::Only(b)) => a.is_disjoint(b),
            _ => false,
        }
    }
}

/// Phrases that open a population clause, longest first. English and French (Species+
/// translates annotations into the requested language); French names then carry their own
/// articles ("du Botswana, de la Namibie"), which [`strip_article`] removes.
const EXCEPT_OPENERS: [&str; 6] = [
    "except the populations of ",
    "except the population of ",
    "except the populations from ",
    "except populations of ",
    "sauf les populations ",
    "sauf la population ",
];
const ONLY_OPENERS: [&str; 13] = [
    "only the populations of ",
    "only the population of ",
    "the populations of ",
    "the population of ",
    "populations of ",
    "population of ",
    "seulement les populations ",
    "seulement la population ",
    "uniquement les populations ",
    "les populations ",
    "la population ",
    "populations ",
    "population ",
];
/// Where the list of country names ends.
const LIST_TERMINATORS: [&str; 12] = [
    ":", ".", ";", " which ", " are ", " is ", " (", " sont ", " qui ", " est ", " for ", " pour ",
];

/// Whether an annotation opens with a population clause (cheap; no country lookup).
pub fn has_population_clause(annotation: Option<&str>) -> bool {
    annotation.is_some_and(|text| {
        let lower = text.trim_start().to_lowercase();
        EXCEPT_OPENERS
            .iter()
            .chain(ONLY_OPENERS.iter())
            .any(|op| lower.starts_with(op))
    })
}

/// Reads the population clause at the start of an annotation (after any auto-note).
/// `resolve` maps a country name (as written in the annotation's language) to an ISO code.
pub fn parse_populations(
    annotation: Option<&str>,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Populations {
    let Some(text) = annotation else {
        return Populations::All;
    };
    let text = text.replace('\u{a0}', " ");
    let trimmed = text.trim();
    let lower = trimmed.to_lowercase();
    let (rest, except) = if let Some(op) = EXCEPT_OPENERS.iter().find(|op| lower.starts_with(*op)) {
        (&trimmed[op.len()..], true)
    } else if let Some(op) = ONLY_OPENERS.iter().find(|op| lower.starts_with(*op)) {
        (&trimmed[op.len()..], false)
    } else {
        return Populations::All;
    };
    let end = LIST_TERMINATORS
        .iter()
        .filter_map(|t| rest.find(t))
        .min()
        .unwrap_or(rest.len());
    let list = &rest[..end];
    let mut countries = BTreeSet::new();
    for name in split_names(list) {
        match resolve(&name) {
            Some(code) => {
                countries.insert(code);
            }
            None => return Populations::Unparsed(trimmed.to_owned()),
        }
    }
    if countries.is_empty() {
        return Populations::Unparsed(trimmed.to_owned());
    }
    if except {
        Populations::Except(countries)
    } else {
        Populations::Only(countries)
    }
}

/// "Botswana, Namibia, South Africa and Zimbabwe" → the four names (also "et", "y").
fn split_names(list: &str) -> Vec<String> {
    let mut names = Vec::new();
    for part in list.split(',') {
        let mut piece = part.trim().to_owned();
        for joiner in [" and ", " et ", " y "] {
            if let Some((a, b)) = piece.split_once(joiner) {
                let a = a.trim();
                if !a.is_empty() {
                    names.push(strip_article(a));
                }
                piece = b.trim().to_owned();
            }
        }
        let piece = piece.trim_start_matches("and ").trim_start_matches("et ");
        if !piece.trim().is_empty() {
            names.push(strip_article(piece.trim()));
        }
    }
    names
}

fn strip_article(name: &str) -> String {
    const ARTICLES: [&str; 13] = [
        "de la ",
        "de l'",
        "de l\u{2019}",
        "des ",
        "du ",
        "de ",
        "the ",
        "l'",
        "l\u{2019}",
        "la ",
        "le ",
        "les ",
        "d'",
    ];
    let lower = name.to_lowercase();
    for article in ARTICLES {
        if lower.starts_with(article) {
            return name[article.len()..].trim().to_owned();
        }
    }
    name.to_owned()
}

/// The default country-name resolver: the ISO list of `domain`.
pub fn resolve_iso_name(name: &str) -> Option<String> {
    CountryCode::from_name(name).map(|c| c.as_str().to_owned())
}

/// A listing change that decides (part of) a listing, with what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InForce {
    pub listing_id: i64,
    pub taxon_id: i64,
    pub appendix: Appendix,
    pub effective_at: NaiveDate,
    pub party: Option<String>,
    pub annotation: Option<String>,
    pub hash_annotation: Option<HashAnnotation>,
    pub inherited_from: Option<String>,
    pub populations: Populations,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HashAnnotation {
    pub symbol: Option<String>,
    pub note: Option<String>,
}

/// A reservation in force: the party is treated as a non-Party for trade in the taxon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    pub listing_id: i64,
    pub party: String,
    pub appendix: Appendix,
    pub effective_at: NaiveDate,
    pub annotation: Option<String>,
}

/// What the derivation concludes for the country asked about (or for the whole taxon).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Listed {
        appendix: Appendix,
    },
    NotListed,
    /// Different populations are in different Appendices and no country was given, or a
    /// population clause could not be read: see the annotations; never a guess.
    DependsOnPopulation {
        appendices: Vec<Appendix>,
    },
}

/// The listing of a taxon on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingAt {
    pub date: NaiveDate,
    pub country: Option<String>,
    pub status: Status,
    /// The rows that decide the status for the country (or all rows in force without one).
    pub deciding: Vec<InForce>,
    /// App III listing parties in force.
    pub app_iii_parties: Vec<String>,
    pub reservations: Vec<Reservation>,
    /// True when a person must read the annotations (unreadable population clause).
    pub needs_review: bool,
}

impl ListingAt {
    /// "I", "I/II", "not listed": a one-word summary.
    pub fn summary(&self) -> String {
        match &self.status {
            Status::Listed { appendix } => appendix.as_str().to_owned(),
            Status::NotListed => "not listed".to_owned(),
            Status::DependsOnPopulation { appendices } => appendices
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join("/"),
        }
    }
}

/// Derives the listing on `date`, for `country` when given.
pub fn listing_at(
    rows: &[ListingRow],
    date: NaiveDate,
    country: Option<&str>,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> ListingAt {
    let known: Vec<(&ListingRow, Populations)> = rows
        .iter()
        .filter(|r| r.effective_at <= date)
        .map(|r| (r, parse_populations(r.annotation.as_deref(), resolve)))
        .collect();

    let mut in_force: Vec<InForce> = Vec::new();
    for (row, pops) in known
        .iter()
        .filter(|(r, _)| r.change_type == ChangeType::Addition)
    {
        let replaced = known.iter().any(|(later, later_pops)| {
            if later.effective_at <= row.effective_at {
                return false;
            }
            match later.change_type {
                ChangeType::Addition if later.appendix == row.appendix => {
                    row.appendix != Appendix::III || later.party == row.party
                }
                ChangeType::Addition => later_pops.includes(pops),
                ChangeType::Deletion if later.appendix == row.appendix => {
                    row.appendix != Appendix::III
                        || later.party.is_none()
                        || later.party == row.party
                }
                _ => false,
            }
        });
        if !replaced {
            in_force.push(InForce {
                listing_id: row.listing_id,
                taxon_id: row.taxon_id,
                appendix: row.appendix,
                effective_at: row.effective_at,
                party: row.party.clone(),
                annotation: row.annotation.clone(),
                hash_annotation: (row.hash_symbol.is_some() || row.hash_note.is_some()).then(
                    || HashAnnotation {
                        symbol: row.hash_symbol.clone(),
                        note: row.hash_note.clone(),
                    },
                ),
                inherited_from: row.inherited_from.clone(),
                populations: pops.clone(),
            });
        }
    }
    in_force.sort_by_key(|f| (f.appendix, f.effective_at, f.listing_id));

    // Reservations: per (party, Appendix), the last R+ or R- that took effect decides.
    let mut events: Vec<&ListingRow> = known
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| r.change_type.is_reservation() && r.party.is_some())
        .collect();
    events.sort_by(|a, b| {
        (&a.party, a.appendix, a.effective_at, a.listing_id).cmp(&(
            &b.party,
            b.appendix,
            b.effective_at,
            b.listing_id,
        ))
    });
    let mut reservations: Vec<Reservation> = Vec::new();
    for (i, row) in events.iter().enumerate() {
        let last_of_its_kind = events
            .get(i + 1)
            .is_none_or(|next| next.party != row.party || next.appendix != row.appendix);
        if last_of_its_kind && row.change_type == ChangeType::ReservationEntered {
            reservations.push(Reservation {
                listing_id: row.listing_id,
                party: row.party.clone().unwrap_or_default(),
                appendix: row.appendix,
                effective_at: row.effective_at,
                annotation: row.annotation.clone(),
            });
        }
    }

    let deciding: Vec<InForce> = match country {
        Some(c) => in_force
            .iter()
            .filter(|f| f.populations.covers(c) != Some(false))
            .cloned()
            .collect(),
        None => in_force.clone(),
    };
    let needs_review = deciding
        .iter()
        .any(|f| matches!(f.populations, Populations::Unparsed(_)));
    let appendices: BTreeSet<Appendix> = deciding.iter().map(|f| f.appendix).collect();
    let status = match appendices.len() {
        0 => Status::NotListed,
        1 if !needs_review => Status::Listed {
            appendix: *appendices.iter().next().expect("one element"),
        },
        _ => Status::DependsOnPopulation {
            appendices: appendices.into_iter().collect(),
        },
    };
    let mut app_iii_parties: Vec<String> = deciding
        .iter()
        .filter(|f| f.appendix == Appendix::III)
        .filter_map(|f| f.party.clone())
        .collect();
    app_iii_parties.sort();
    app_iii_parties.dedup();
    let reservations = reservations
        .into_iter()
        .filter(|r| deciding.iter().any(|f| f.appendix == r.appendix))
        .collect();
    ListingAt {
        date,
        country: country.map(str::to_owned),
        status,
        deciding,
        app_iii_parties,
        reservations,
        needs_review,
    }
}

#[cfg(test)]
mod tests;
