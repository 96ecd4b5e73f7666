//! Reading annotations: which plant parts a # annotation covers, and which specimens a fauna
//! "exclusive purpose" annotation keeps in Appendix II.
//!
//! Plant # annotations are a closed, numbered list (set by the Conference of the Parties), so their
//! coverage is a table keyed by number, mapping term codes to covered / not covered / needs review.
//! Conditions the rules can see (source A for "artificially propagated", the origin for "exported
//! from Mexico", the genus for "of Vanilla") are decided; conditions they cannot see (retail
//! packaging, labels, sterile containers being "in vitro") go to review.
//!
//! Fauna annotations are free text. The parser here recognises the clause shape the Appendices
//! use ("For the exclusive purpose of allowing international trade in a) ...; b) .... All other
//! specimens shall be deemed to be specimens of species included in Appendix I") and the
//! specimen types named in the items. It claims to understand an annotation only when every
//! item names a known specimen type; anything else goes to review, never to a guess.

mod clauses;
mod language;
#[cfg(test)]
mod tests;

use domain::{CountryCode, SourceCode, TermCode};

pub(crate) use clauses::unread;

use crate::facts::TaxonFacts;

/// How an annotation treats one specimen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// The specimen is covered, as listed.
    Covered(String),
    /// The specimen is outside the annotation.
    NotCovered(String),
    /// Coverage depends on something the rules cannot see.
    Review(String),
}

/// What the annotation rules look at besides the term.
pub(crate) struct Specimen<'a> {
    pub(crate) term: TermCode,
    pub(crate) source: SourceCode,
    pub(crate) purpose_is_commercial: bool,
    /// The origin, or the exporter when there is no origin.
    pub(crate) origin: CountryCode,
    pub(crate) taxon: &'a TaxonFacts,
}

impl Specimen<'_> {
    fn term_in(&self, terms: &[&str]) -> bool {
        terms.contains(&self.term.code())
    }

    fn artificially_propagated(&self) -> bool {
        self.source.code() == "A"
    }

    /// Whether the taxon is `group` or belongs to it (by accepted name or ancestor name).
    fn in_group(&self, group: &str) -> bool {
        let name = self.taxon.accepted_name.as_str();
        name.eq_ignore_ascii_case(group)
            || name
                .get(..group.len() + 1)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(&format!("{group} ")))
            || self
                .taxon
                .ancestor_names
                .iter()
                .any(|ancestor| ancestor.eq_ignore_ascii_case(group))
    }

    fn comes_from(&self, code: &str) -> bool {
        self.origin.as_str() == code
    }
}

/// In-vitro seedling or tissue cultures.
const IN_VITRO: &[&str] = &["CUL", "TIS"];
/// Terms that may be finished products packaged and ready for retail trade, or labelled
/// products: whether they are depends on packaging and labels the application does not carry.
const MAYBE_RETAIL_PRODUCT: &[&str] = &[
    "CSM", "DER", "EXT", "MED", "OIL", "POW", "SOU", "WAX", "DPL", "BAR", "LVS",
];
/// Terms that may be (parts of) finished musical instruments.
const MAYBE_MUSICAL_INSTRUMENT: &[&str] = &["CAR", "WPR", "WOO", "KEY", "PKY", "TIM", "TIP"];

/// The number in a # symbol: `"#4"` and `"CoP16 #4"` give 4.
pub(crate) fn hash_number(symbol: &str) -> Option<u32> {
    let (_, digits) = symbol.rsplit_once('#')?;
    let digits = digits.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The version prefix of a # symbol: `"CoP19 #17"` gives `"CoP19"`.
pub(crate) fn hash_version(symbol: &str) -> Option<&str> {
    let (prefix, _) = symbol.rsplit_once('#')?;
    let prefix = prefix.trim();
    (!prefix.is_empty()).then_some(prefix)
}

/// Coverage of a specimen under plant annotation `#number`; `None` for an unknown number.
///
/// Longer than 150 lines on purpose: it is the table of the seventeen # annotations, one arm
/// each, read side by side with the Appendices' interpretation section (only #4 is long enough
/// to have a function of its own).
pub(crate) fn hash_coverage(number: u32, specimen: &Specimen<'_>) -> Option<Coverage> {
    let s = specimen;
    let coverage = match number {
        1 => all_except(
            s,
            &[
                (s.term_in(&["SEE"]), "a) seeds, spores and pollen"),
                (
                    s.term_in(IN_VITRO),
                    "b) seedling or tissue cultures obtained in vitro",
                ),
                (
                    s.term_in(&["FLO"]) && s.artificially_propagated(),
                    "c) cut flowers of artificially propagated plants",
                ),
                (
                    s.term_in(&["FRU"]) && s.artificially_propagated() && s.in_group("Vanilla"),
                    "d) fruits of artificially propagated Vanilla",
                ),
            ],
            &[],
        ),
        2 => all_except(
            s,
            &[(s.term_in(&["SEE"]), "a) seeds and pollen")],
            &[(
                s.term_in(MAYBE_RETAIL_PRODUCT),
                "b) finished products packaged and ready for retail trade",
            )],
        ),
        3 => only(
            s,
            &["ROO"],
            "whole and sliced roots and parts of roots",
            &[(
                s.term_in(&["LIV"]),
                "live plants carry whole roots: confirm against the current text",
            )],
        ),
        4 => hash_4(s),
        5 => only(
            s,
            &["LOG", "SAW", "VEN"],
            "logs, sawn wood and veneer sheets",
            &[],
        ),
        6 => only(
            s,
            &["LOG", "SAW", "VEN", "PLY"],
            "logs, sawn wood, veneer sheets and plywood",
            &[],
        ),
        7 => only(
            s,
            &["LOG", "CHP", "POW", "EXT"],
            "logs, wood-chips, powder and extracts",
            &[],
        ),
        8 => only(
            s,
            &["ROO", "POW"],
            "underground parts (roots, rhizomes): whole, parts and powdered",
            &[],
        ),
        9 => all_except(
            s,
            &[],
            &[(
                s.term_in(MAYBE_RETAIL_PRODUCT),
                "parts and derivatives labelled as produced under a Hoodia agreement",
            )],
        ),
        10 => only(
            s,
            &["LOG", "SAW", "VEN"],
            "logs, sawn wood and veneer sheets, including unfinished wood articles for bows",
            &[(
                s.term_in(&["WPR", "TIM", "TIP", "PIE", "CAR"]),
                "unfinished wood articles used for making bows for stringed musical instruments",
            )],
        ),
        11 => only(
            s,
            &["LOG", "SAW", "VEN", "PLY", "POW", "EXT"],
            "logs, sawn wood, veneer sheets, plywood, powder and extracts",
            &[],
        ),
        12 => only(
            s,
            &["LOG", "SAW", "VEN", "PLY", "EXT"],
            "logs, sawn wood, veneer sheets, plywood and extracts",
            &[(
                s.term_in(&["OIL"]),
                "essential oil is an extract, but finished products containing extracts are not covered",
            )],
        ),
        13 => only(
            s,
            &["KNL"],
            "the kernel (endosperm, pulp or copra) and any derivative thereof",
            &[(
                s.term_in(&["DER", "OIL", "POW", "EXT"]),
                "derivatives are covered only when made from the kernel",
            )],
        ),
        14 => all_except(
            s,
            &[
                (s.term_in(&["SEE"]), "a) seeds and pollen"),
                (
                    s.term_in(IN_VITRO),
                    "b) seedling or tissue cultures obtained in vitro",
                ),
                (s.term_in(&["FRU"]), "c) fruits"),
                (s.term_in(&["LVS"]), "d) leaves"),
            ],
            &[
                (
                    s.term_in(&["POW"]),
                    "e) exhausted agarwood powder is not covered; other powder is",
                ),
                (
                    s.term_in(&["CSM", "DER", "EXT", "MED", "OIL", "SOU"]),
                    "f) finished products packaged and ready for retail trade",
                ),
            ],
        ),
        15 => {
            if s.taxon
                .accepted_name
                .eq_ignore_ascii_case("Dalbergia cochinchinensis")
            {
                return hash_coverage(4, s);
            }
            if s.in_group("Dalbergia") && s.comes_from("MX") {
                return hash_coverage(6, s);
            }
            all_except(
                s,
                &[(
                    s.term_in(&["LVS", "FLO", "FRU", "SEE"]),
                    "a) leaves, flowers, pollen, fruits and seeds",
                )],
                &[(
                    s.term_in(MAYBE_MUSICAL_INSTRUMENT),
                    "b) finished musical instruments, parts and accessories",
                )],
            )
        }
        16 => only(
            s,
            &["SEE", "FRU", "OIL", "LIV"],
            "seeds, fruits, oils and live plants",
            &[],
        ),
        17 => only(
            s,
            &["LOG", "SAW", "VEN", "PLY", "TRW"],
            "logs, sawn wood, veneer sheets, plywood and transformed wood",
            &[],
        ),
        _ => return None,
    };
    Some(coverage)
}

fn hash_4(s: &Specimen<'_>) -> Coverage {
    let seeds_still_covered = (s.in_group("Cactaceae") && s.comes_from("MX"))
        || ((s.in_group("Beccariophoenix madagascariensis") || s.in_group("Dypsis decaryi"))
            && s.comes_from("MG"));
    let opuntia_like = s.in_group("Opuntia") || s.in_group("Selenicereus");
    let retail_genus = s.in_group("Euphorbia antisyphilitica") || s.in_group("Aloe ferox");
    all_except(
        s,
        &[
            (
                s.term_in(&["SEE"]) && !seeds_still_covered,
                "a) seeds (except Cactaceae seeds exported from Mexico and the two Malagasy palms)",
            ),
            (
                s.term_in(IN_VITRO),
                "b) seedling or tissue cultures obtained in vitro",
            ),
            (
                s.term_in(&["FLO"]) && s.artificially_propagated(),
                "c) cut flowers of artificially propagated plants",
            ),
            (
                s.term_in(&["FRU"])
                    && s.artificially_propagated()
                    && (s.in_group("Vanilla") || s.in_group("Cactaceae")),
                "d) fruits of artificially propagated Vanilla and Cactaceae",
            ),
            (
                s.term_in(&["STE"]) && s.artificially_propagated() && s.in_group("Selenicereus"),
                "e) stems of artificially propagated Selenicereus",
            ),
        ],
        &[
            (
                s.term_in(&["STE"]) && s.artificially_propagated() && opuntia_like,
                "e) stems of artificially propagated Opuntia subgenus Opuntia: confirm the subgenus",
            ),
            (
                retail_genus && s.term_in(MAYBE_RETAIL_PRODUCT),
                "f) finished products packaged and ready for retail trade",
            ),
        ],
    )
}

/// "All parts and derivatives except ...": the first matching exclusion leaves the specimen
/// out; otherwise the first matching doubt sends it to review; otherwise it is covered.
fn all_except(s: &Specimen<'_>, exclusions: &[(bool, &str)], doubts: &[(bool, &str)]) -> Coverage {
    if let Some((_, clause)) = exclusions.iter().find(|(hit, _)| *hit) {
        return Coverage::NotCovered(format!(
            "all parts and derivatives except {clause}: {} is excluded",
            s.term.code()
        ));
    }
    if let Some((_, clause)) = doubts.iter().find(|(hit, _)| *hit) {
        return Coverage::Review(format!(
            "all parts and derivatives except {clause}: whether {} falls under it depends on facts not in the application",
            s.term.code()
        ));
    }
    Coverage::Covered(format!(
        "all parts and derivatives, with exclusions that do not include {}",
        s.term.code()
    ))
}

/// "Only ...": the listed terms are covered, doubtful ones go to review, the rest is left out.
fn only(s: &Specimen<'_>, covered: &[&str], clause: &str, doubts: &[(bool, &str)]) -> Coverage {
    if s.term_in(covered) {
        return Coverage::Covered(format!("only {clause}: {} is included", s.term.code()));
    }
    if let Some((_, doubt)) = doubts.iter().find(|(hit, _)| *hit) {
        return Coverage::Review(format!("only {clause}; {doubt}"));
    }
    Coverage::NotCovered(format!("only {clause}: {} is not included", s.term.code()))
}

/// One item of an "exclusive purpose" annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    text: String,
    terms: Vec<&'static str>,
    non_commercial_only: bool,
    conditional: bool,
}

/// A parsed "exclusive purpose" annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExclusivePurpose {
    items: Vec<Item>,
    /// Every item names a known specimen type and the text refers the rest to Appendix I.
    understood: bool,
    /// The language it was read in.
    language: &'static str,
}

/// Parses an annotation that opens an "exclusive purpose" clause, in English, French or
/// Spanish ([`language::LANGUAGES`]); `None` for other text.
pub(crate) fn exclusive_purpose(annotation: &str) -> Option<ExclusivePurpose> {
    let lower = language::normalise(annotation);
    let (lang, body) = language::LANGUAGES.iter().find_map(|lang| {
        lang.openings.iter().find_map(|opening| {
            lower
                .find(opening)
                .map(|start| (*lang, &lower[start + opening.len()..]))
        })
    })?;
    let (clauses, rest) = match lang.rest.iter().find_map(|r| body.find(r)) {
        Some(idx) => (&body[..idx], &body[idx..]),
        None => (body, ""),
    };
    let refers_to_app_i = rest.contains(lang.appendix_i) && !rest.contains(lang.appendix_ii);
    let segments = split_items(clauses, lang.preambles);
    let items: Vec<Item> = segments
        .iter()
        .map(|text| {
            let mut terms: Vec<&'static str> = Vec::new();
            for (phrase, phrase_terms) in lang.specimens {
                if text.contains(phrase) {
                    terms.extend(phrase_terms.iter().copied());
                }
            }
            terms.sort_unstable();
            terms.dedup();
            let non_commercial_only =
                text.contains(lang.non_commercial) && !text.contains(lang.either);
            let conditional = lang.conditions.iter().any(|marker| text.contains(marker));
            Item {
                text: text.trim().to_owned(),
                terms,
                non_commercial_only,
                conditional,
            }
        })
        .collect();
    let understood =
        refers_to_app_i && !items.is_empty() && items.iter().all(|item| !item.terms.is_empty());
    Some(ExclusivePurpose {
        items,
        understood,
        language: lang.name,
    })
}

impl ExclusivePurpose {
    /// How the annotation treats `specimen`.
    pub(crate) fn coverage(&self, specimen: &Specimen<'_>) -> Coverage {
        let term = specimen.term.code();
        let matching: Vec<&Item> = self
            .items
            .iter()
            .filter(|item| item.terms.contains(&term))
            .filter(|item| !(item.non_commercial_only && specimen.purpose_is_commercial))
            .collect();
        if let Some(item) = matching.iter().find(|item| !item.conditional) {
            return Coverage::Covered(format!("exclusive purpose item \"{}\"", item.text));
        }
        if let Some(item) = matching.first() {
            return Coverage::Review(format!(
                "exclusive purpose item \"{}\" carries conditions to confirm",
                item.text
            ));
        }
        if self.understood {
            return Coverage::NotCovered(format!(
                "{term} is in none of the exclusive purpose items ({}); all other specimens are deemed Appendix I",
                self.items
                    .iter()
                    .map(|item| format!("\"{}\"", item.text))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Coverage::Review(format!(
            "the exclusive purpose annotation (in {}) could not be read item by item: {}",
            self.language,
            self.items
                .iter()
                .map(|item| format!("\"{}\"", item.text))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Splits "a) x; and b) y" (or "1) x; 2) y") into its items. Text before the first item
/// marker is a preamble ("of allowing international trade in") and is dropped when markers are
/// present.
fn split_items(clauses: &str, preambles: &[&str]) -> Vec<String> {
    let bytes = clauses.as_bytes();
    let mut cuts: Vec<(usize, usize)> = Vec::new(); // (marker start, text start)
    for idx in 0..bytes.len() {
        // A marker is a single letter a-j or digit 1-9 followed by ')' at a word start: "a)",
        // "(b)", "1)".
        let is_letter = (b'a'..=b'j').contains(&bytes[idx]) || (b'1'..=b'9').contains(&bytes[idx]);
        let closes = bytes.get(idx + 1) == Some(&b')');
        let word_start = idx == 0 || matches!(bytes[idx - 1], b' ' | b'(' | b':' | b';' | b'\n');
        if is_letter && closes && word_start {
            let marker_start = if idx > 0 && bytes[idx - 1] == b'(' {
                idx - 1
            } else {
                idx
            };
            cuts.push((marker_start, idx + 2));
        }
    }
    let mut items = Vec::new();
    if cuts.is_empty() {
        let mut text = clauses.trim();
        for preamble in preambles {
            text = text.trim_start_matches(preamble).trim();
        }
        items.extend(
            text.split(';')
                .map(clean_item)
                .filter(|item| !item.is_empty()),
        );
        return items;
    }
    for (i, (_, text_start)) in cuts.iter().enumerate() {
        let end = cuts.get(i + 1).map_or(clauses.len(), |(next, _)| *next);
        let item = clean_item(&clauses[*text_start..end]);
        if !item.is_empty() {
            items.push(item);
        }
    }
    items
}

fn clean_item(text: &str) -> String {
    // Strip trailing punctuation and dangling connectors ("...only; and") until nothing changes.
    let mut current = text.trim();
    loop {
        let next = current
            .trim_end_matches([';', '.', ',', ':'])
            .trim_end()
            .trim_end_matches(" and")
            .trim_end_matches(" or")
            .trim();
        if next == current {
            return next.to_owned();
        }
        current = next;
    }
}

/// Whether an annotation sets a zero export quota, and for what: `Some((wild_only,
/// commercial_only))` when it does.
pub(crate) fn zero_quota(annotation: &str) -> Option<(bool, bool)> {
    let lower = annotation.to_lowercase();
    let zero = lower.contains("zero annual export quota")
        || lower.contains("zero export quota")
        || lower.contains("export quota of zero");
    if !zero {
        return None;
    }
    Some((lower.contains("wild"), lower.contains("commercial")))
}
