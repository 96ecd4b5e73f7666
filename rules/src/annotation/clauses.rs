//! Which sentences of an annotation the rules can account for. A sentence is accounted for when
//! it is one of the kinds the engine reads elsewhere: a population clause (read by the
//! listing, which says when it could not), a taxonomic or nomenclatural note (which changes
//! nothing about the trade), a domesticated form set apart (the excluded-form rule), a scope
//! among the taxa of a higher-taxon listing (each taxon's own listing decides), a zero export
//! quota (its own rule). Any other sentence on an Appendix II or III listing may restrict the
//! trade in a way the rules cannot see: the check quotes it and a person reads it.
//!
//! The patterns are in English, French and Spanish. They are deliberately narrow: a sentence
//! that merely contains a known word is not accounted for unless it opens as a known kind.

use super::language::normalise;

/// Openings of sentences the engine reads elsewhere or that change nothing about the trade.
const KNOWN_OPENINGS: &[&str] = &[
    // Populations and their Appendix (read by the listing).
    "only the population",
    "except the population",
    "except the asian population",
    "except the populations",
    "all populations except",
    "population of ",
    "populations of ",
    "the population of ",
    "the populations of ",
    "all other populations",
    "seulement les populations",
    "seule la population",
    "sauf les populations",
    "sauf la population",
    "population de ",
    "populations de ",
    "populations du ",
    "population du ",
    "toutes les autres populations",
    "solamente las poblaciones",
    "solo las poblaciones",
    "sólo las poblaciones",
    "excepto las poblaciones",
    "excepto la población",
    "población de ",
    "poblaciones de ",
    "todas las demás poblaciones",
    // Scope among the taxa of a higher-taxon listing (each taxon's own listing decides).
    "included in appendix i",
    "except the species included in appendix i",
    "except for the species included in appendix i",
    "except the subspecies included in appendix i",
    "except subspecies",
    // Any other exception names taxa or populations with a listing of their own.
    "except ",
    "sauf ",
    "excepto ",
    "inscrit à l'annexe i",
    "inscrite à l'annexe i",
    "sauf les espèces inscrites à l'annexe i",
    "incluida en el apéndice i",
    "incluido en el apéndice i",
    "excepto las especies incluidas en el apéndice i",
    // Taxonomy and nomenclature.
    "formerly listed",
    "formerly included",
    "originally listed",
    "included in ",
    "includes ",
    "all subspecies",
    "all stocks",
    "anciennement",
    "inscrit sous",
    "inclus dans",
    "incluse dans",
    "comprend ",
    "toutes les sous-espèces",
    "anteriormente",
    "incluida en ",
    "incluido en ",
    "incluye ",
    "todas las subespecies",
    // Domesticated forms set apart (the excluded-form rule).
    "excludes the domesticated form",
    "specimens of the domesticated form",
    "exclut la forme domestiquée",
    "les spécimens de la forme domestiquée",
    "excluye la forma domesticada",
    "los especímenes de la forma domesticada",
];

/// Phrases that make a sentence a note on names, wherever they stand in it.
const KNOWN_PHRASES: &[&str] = &[
    "was lumped into",
    "were lumped into",
    "became a synonym",
    "was split",
    "adopted as synonyms",
    "possibly extinct",
    "domesticated form",
    "forme domestiquée",
    "forma domesticada",
];

/// Phrases of a zero export quota, which its own rule applies.
const ZERO_QUOTA: &[&str] = &[
    "zero annual export quota",
    "zero export quota",
    "export quota of zero",
    "quota d'exportation annuel zéro",
    "quota d'exportation zéro",
    "quota zéro",
    "cupo de exportación anual nulo",
    "cupo de exportación nulo",
    "cupo nulo",
];

/// Abbreviations whose full stop does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "spp", "ssp", "subsp", "var", "conf", "res", "rev", "no", "notif", "e.g", "i.e", "art", "cf",
    "incl", "approx", "st", "mt", "nº", "núm",
];

/// The sentences of `text` the rules cannot account for, as written (trimmed).
pub(crate) fn unread(text: &str) -> Vec<String> {
    sentences(text)
        .into_iter()
        .filter(|sentence| !accounted_for(sentence))
        .collect()
}

fn accounted_for(sentence: &str) -> bool {
    let lower = normalise(sentence);
    let lower = lower.trim().trim_start_matches(['-', '*', ' ']);
    KNOWN_OPENINGS.iter().any(|o| lower.starts_with(o))
        || KNOWN_PHRASES.iter().any(|p| lower.contains(p))
        || ZERO_QUOTA.iter().any(|z| lower.contains(z))
}

/// Splits an annotation into sentences, dropping Species+'s "[FAMILY listing Felidae spp.]"
/// markers (which say where an inherited listing comes from) and empty pieces.
fn sentences(text: &str) -> Vec<String> {
    let text = strip_listing_markers(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        let ends = match c {
            '\n' => true,
            '.' => {
                let next = chars.get(i + 1).copied();
                let after_digit = i > 0 && chars[i - 1].is_ascii_digit();
                let before_digit = next.is_some_and(|n| n.is_ascii_digit());
                let before = &current[..current.len() - 1];
                let word = last_word(before);
                // A single letter is an initial ("A. c. microdon"), unless it is the Roman
                // numeral of an Appendix ("... included in Appendix I. Trade ...").
                let initial = word.chars().count() == 1 && !names_an_appendix(before);
                let abbreviation = ABBREVIATIONS.contains(&word.to_lowercase().as_str()) || initial;
                let decimal = after_digit && before_digit;
                !(abbreviation || decimal)
                    && next.is_none_or(|n| n.is_whitespace() || n.is_uppercase())
            }
            _ => false,
        };
        if ends {
            push_sentence(&mut out, &current);
            current.clear();
        }
    }
    push_sentence(&mut out, &current);
    out
}

fn push_sentence(out: &mut Vec<String>, text: &str) {
    let trimmed = text.trim().trim_end_matches(['.', ';', ' ']).trim();
    if trimmed.chars().any(char::is_alphanumeric) {
        out.push(trimmed.to_owned());
    }
}

/// Whether `text` ends with "Appendix I" (or "Annexe I", "Apéndice I").
fn names_an_appendix(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["appendix i", "annexe i", "apéndice i", "annex i"]
        .iter()
        .any(|a| lower.ends_with(a))
}

fn last_word(text: &str) -> &str {
    text.rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
}

/// Removes "[RANK listing Name]" markers; other bracketed text stays.
fn strip_listing_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        out.push_str(&rest[..open]);
        if !inner.contains(" listing ") {
            out.push_str(&rest[open..=open + close]);
        }
        out.push(' ');
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn species_plus_notes_on_names_populations_and_forms_are_accounted_for() {
        for text in [
            "[FAMILY listing Felidae spp.] Included in Appendix II, except for the species included in Appendix I. Specimens of the domesticated form are not subject to the provisions of the Convention.",
            "Except the populations of Bhutan, India, Nepal and Pakistan, which are included in Appendix I. Excludes the domesticated form and the dingo which are referenced as Canis lupus familiaris and Canis lupus dingo.",
            "Includes Leopardus wiedii nicaraguae and Leopardus wiedii salvinia, which were adopted as synonyms of Leopardus wiedii at CoP18 in 2019.",
            "All subspecies.Panthera tigris altaica was lumped into Panthera tigris in 2019, following taxonomic changes adopted at CoP18.",
            "Seulement les populations de l'Afrique du Sud, du Botswana, de la Namibie et du Zimbabwe; toutes les autres populations sont inscrites à l'Annexe I.",
            "[SPECIES listing Aonyx capensis] [SUBFAMILY listing Lutrinae]  Except A. c. microdon (populations of Cameroon and Nigeria)",
            "[ORDER listing Cetacea spp.] Included in Appendix II, except for the species included in Appendix I. A zero annual export quota has been established for live specimens from the Black Sea population of Tursiops truncatus, taken from the wild and traded for primarily commercial purposes.",
            "Formerly listed as Ovis ammon hodgsonii, which became a synonym of Ovis hodgsoni in 2019, following taxonomic changes adopted at CoP18.",
        ] {
            assert_eq!(unread(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn sentences_of_other_kinds_are_returned_as_written() {
        assert_eq!(
            unread(
                "Included in Appendix II. Trade in specimens of the Ghanaian population requires a Res. Conf. 10.14 certificate. Includes X."
            ),
            vec![
                "Trade in specimens of the Ghanaian population requires a Res. Conf. 10.14 certificate"
            ]
        );
        assert_eq!(
            unread(
                "Sauf les populations de l'Afrique du Sud, qui sont inscrites à l'Annexe I. Les envois doivent porter une étiquette."
            ),
            vec!["Les envois doivent porter une étiquette"]
        );
        assert_eq!(
            unread("Sólo se permite el comercio de animales vivos."),
            vec!["Sólo se permite el comercio de animales vivos"]
        );
        assert_eq!(
            unread("Le commerce est limité aux articles manufacturés."),
            vec!["Le commerce est limité aux articles manufacturés"]
        );
    }
}
