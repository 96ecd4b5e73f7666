//! Reading a trade measure as Species+ publishes it (`cites_suspensions`): a record has a
//! country, a taxon or none, a start date, Species+'s `is_current` as of the last sync, whether
//! it also concerns imports into that country, and free-text notes. Its kind, scope and end are
//! in the notes: the structured fields decide first, the notes where they are the only source,
//! and a measure whose scope the notes do not give is marked so ([`SuspensionFact::scope_unread`])
//! for the check to put to a person, never to refuse or allow on a guess.
//!
//! English only: Species+ serves notes in English whatever the language asked.

use domain::{CountryCode, Date, PurposeCode, TaxonId, TermCode};

use crate::facts::{SuspensionFact, SuspensionKind};

/// One `cites_suspensions` record of Species+, as the catalogue keeps it.
#[derive(Debug, Clone)]
pub struct PublishedMeasure<'a> {
    pub id: i64,
    pub taxon_id: Option<TaxonId>,
    pub country: CountryCode,
    pub start_date: Date,
    /// Species+'s `is_current` when the catalogue was last synced.
    pub is_current: bool,
    pub applies_to_import: bool,
    pub notification: Option<&'a str>,
    pub notes: Option<&'a str>,
}

/// Phrases that make a measure a Party's own stricter domestic measure (Art. XIV(1)), which
/// binds that Party's decisions only, rather than a recommendation of the Convention's bodies.
const DOMESTIC: &[&str] = &[
    "stricter domestic measure",
    "domestic measure",
    "has suspended import",
    "does not allow",
    "will be banned",
    "national ban",
];

/// Openings of a Convention measure's notes whose scope the rules read: all trade, all
/// commercial trade, all exports (the default roles: the country as exporter).
const ALL_TRADE: &[&str] = &["all trade", "all exports", "all export"];
const ALL_COMMERCIAL: &[&str] = &["all commercial trade", "all commercial export"];

/// Specimen types named in notes, and their terms.
const TERMS: &[(&str, &[&str])] = &[
    ("trophies", &["TRO"]),
    ("trophy", &["TRO"]),
    ("ivory carvings", &["IVC"]),
    ("carvings", &["IVC"]),
    ("tusks", &["TUS"]),
    ("raw ivory", &["TUS", "IVP", "IVS"]),
    ("live ", &["LIV"]),
    ("skins", &["SKI", "SKP"]),
];

/// Words that name ivory without saying in which form: every ivory term.
const IVORY_TERMS: &[&str] = &["TUS", "IVC", "IVP", "IVS"];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Reads one published measure into the facts the rules decide on.
pub fn read(m: &PublishedMeasure<'_>) -> SuspensionFact {
    let notes = m.notes.map(strip_tags).unwrap_or_default();
    let lower = notes.to_lowercase();
    let domestic = DOMESTIC.iter().any(|p| lower.contains(p));
    let mut fact = SuspensionFact {
        id: m.id,
        kind: if domestic {
            SuspensionKind::NationalBan
        } else {
            SuspensionKind::Cites
        },
        notification: m.notification.map(|n| n.trim().to_owned()),
        start_date: m.start_date,
        end_date: None,
        taxon_id: m.taxon_id,
        excluded_taxon_ids: Vec::new(),
        country: m.country,
        applies_to_import: m.applies_to_import,
        sources: Vec::new(),
        purposes: Vec::new(),
        terms: terms_named(&lower),
        notes: (!notes.trim().is_empty()).then(|| notes.trim().to_owned()),
        is_current: Some(m.is_current),
        scope_unread: None,
    };
    if let Some((start, end)) = window(&lower) {
        fact.start_date = fact.start_date.max(start);
        fact.end_date = Some(end);
    }
    let trimmed = lower.trim_start_matches('[').trim();
    if ALL_COMMERCIAL.iter().any(|p| trimmed.starts_with(p)) {
        fact.purposes = PurposeCode::parse("T").into_iter().collect();
    } else if ALL_TRADE.iter().any(|p| trimmed.starts_with(p)) {
        // All trade: no narrowing.
    } else if !domestic_scope_read(domestic, &fact.terms, &lower) {
        fact.scope_unread = Some(if notes.trim().is_empty() {
            "Species+ gives no notes saying which trade it covers".to_owned()
        } else {
            "its notes do not say in a form the rules read which trade it covers".to_owned()
        });
    }
    fact
}

/// Whether a measure that is not "all (commercial) trade" still has a scope the rules read:
/// only a domestic measure can, by naming the specimen types it bans or by covering all of a
/// kind ("all Appendix-I listed elephants").
fn domestic_scope_read(domestic: bool, terms: &[TermCode], lower: &str) -> bool {
    domestic && (!terms.is_empty() || lower.contains("all "))
}

fn terms_named(lower: &str) -> Vec<TermCode> {
    let mut codes: Vec<&str> = TERMS
        .iter()
        .filter(|(phrase, _)| lower.contains(phrase))
        .flat_map(|(_, codes)| codes.iter().copied())
        .collect();
    if codes.is_empty() && lower.contains("ivory") {
        codes.extend(IVORY_TERMS);
    }
    codes.sort_unstable();
    codes.dedup();
    codes
        .into_iter()
        .filter_map(|c| TermCode::parse(c).ok())
        .collect()
}

/// The window the notes give: "from 20 March 2016 to 31 December 2019", "from 26 February
/// 2015 until 26 February 2016" (the end day included), or "during calendar year 2014". The
/// end returned is the first day no longer in force.
fn window(lower: &str) -> Option<(Date, Date)> {
    if let Some(idx) = lower.find("calendar year ") {
        let year: i32 = lower[idx + "calendar year ".len()..]
            .get(..4)?
            .parse()
            .ok()?;
        return Some((
            Date::from_ymd_opt(year, 1, 1)?,
            Date::from_ymd_opt(year + 1, 1, 1)?,
        ));
    }
    let from = lower.find("from ")?;
    let rest = &lower[from + "from ".len()..];
    let (start, after) = date_at(rest)?;
    let after = after.trim_start();
    let after = after
        .strip_prefix("to ")
        .or_else(|| after.strip_prefix("until "))?;
    let (last, _) = date_at(after)?;
    Some((start, last.succ_opt()?))
}

/// A date at the start of `text` ("20 March 2016" or "01/01/2021", day first), and the rest.
fn date_at(text: &str) -> Option<(Date, &str)> {
    let text = text.trim_start();
    let mut words = text.splitn(4, ' ');
    let first = words.next()?;
    if let [d, m, y] = first.split('/').collect::<Vec<_>>()[..] {
        let date = Date::from_ymd_opt(y.get(..4)?.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
        return Some((date, &text[first.len()..]));
    }
    let day: u32 = first.parse().ok()?;
    let month = words.next()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let year_word = words.next()?;
    let year: i32 = year_word
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    let consumed = text.find(year_word)? + year_word.len();
    Some((Date::from_ymd_opt(year, month, day)?, &text[consumed..]))
}

/// Species+ notes carry HTML for names (`<i>Loxodonta africana</i>`): the text without tags.
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure<'a>(notes: &'a str, is_current: bool) -> PublishedMeasure<'a> {
        PublishedMeasure {
            id: 1,
            taxon_id: None,
            country: CountryCode::parse("NG").unwrap(),
            start_date: Date::from_ymd_opt(2015, 3, 19).unwrap(),
            is_current,
            applies_to_import: false,
            notification: Some("CITES Notif. No. 2015/014 "),
            notes: Some(notes),
        }
    }

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn all_commercial_trade_is_a_convention_measure_on_purpose_t() {
        let f = read(&measure(
            "All commercial trade in specimens of CITES-listed species. ",
            false,
        ));
        assert_eq!(f.kind, SuspensionKind::Cites);
        assert_eq!(f.purposes, vec![PurposeCode::parse("T").unwrap()]);
        assert_eq!(f.scope_unread, None);
        assert_eq!(f.is_current, Some(false));
        assert_eq!(f.notification.as_deref(), Some("CITES Notif. No. 2015/014"));
    }

    #[test]
    fn all_trade_and_all_exports_are_not_narrowed() {
        for notes in [
            "All trade in specimens of CITES-listed species.",
            "All exports.",
        ] {
            let f = read(&measure(notes, true));
            assert!(f.purposes.is_empty() && f.terms.is_empty(), "{notes}");
            assert_eq!(f.scope_unread, None, "{notes}");
        }
    }

    #[test]
    fn a_domestic_measure_names_its_terms_and_its_window() {
        let f = read(&measure(
            "Stricter domestic measures from 20 March 2016 to 31 December 2019 suspending imports of tusks and ivory carvings of Elephantidae spp.",
            false,
        ));
        assert_eq!(f.kind, SuspensionKind::NationalBan);
        let terms: Vec<&str> = f.terms.iter().map(|t| t.code()).collect();
        assert_eq!(terms, vec!["IVC", "TUS"]);
        assert_eq!(f.start_date, d(2016, 3, 20));
        assert_eq!(f.end_date, Some(d(2020, 1, 1)));
        let f = read(&measure(
            "The United States has suspended imports of sport-hunted trophies of African elephant taken in the United Republic Tanzania during calendar year 2014.",
            true,
        ));
        assert_eq!(f.kind, SuspensionKind::NationalBan);
        assert_eq!(f.end_date, Some(d(2015, 1, 1)));
        assert_eq!(f.terms, vec![TermCode::parse("TRO").unwrap()]);
    }

    #[test]
    fn a_short_export_permit_notice_concerns_carvings_only() {
        let f = read(&measure(
            "Parties are requested not to authorize the import of ivory carvings from Zimbabwe where the traveller presents a ‘Short Export Permit’ - standard CITES export permit are required. ",
            true,
        ));
        assert_eq!(f.terms, vec![TermCode::parse("IVC").unwrap()]);
        assert!(f.scope_unread.is_some(), "{f:?}");
    }

    #[test]
    fn notes_the_rules_cannot_read_leave_the_scope_unread() {
        for notes in [
            "Validity of CITES export permits or certificates apparently issued by the Democratic Republic of the Congo to be confirmed by the Secretariat.\r\n",
            "",
            "Trade only through the designated port of Mombasa.",
        ] {
            let f = read(&measure(notes, true));
            assert!(f.scope_unread.is_some(), "{notes:?}");
        }
    }
}
