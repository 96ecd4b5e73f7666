//! The Trade Database's terms, units, sources and purposes read through `domain`'s code lists:
//! a code (any case; a legacy unit code reads as its current one; a blank unit is a count of
//! specimens), or the English description the list gives it ("live", "kilogram"), as the
//! downloads sometimes spell them. Unit symbols the downloads use for metric units ("kg",
//! "g", "m2") are read as their codes. Anything else is unknown, and a row carrying it is
//! listed as not comparable, never guessed.

use std::collections::HashMap;

use domain::{PurposeCode, SourceCode, TermCode, UnitCode};

/// Metric unit symbols and their UN/CEFACT codes.
const UNIT_SYMBOLS: [(&str, &str); 11] = [
    ("kg", "KGM"),
    ("g", "GRM"),
    ("mg", "MGM"),
    ("t", "TON"),
    ("l", "LTR"),
    ("ml", "MLT"),
    ("m", "MTR"),
    ("cm", "CTM"),
    ("m2", "MTK"),
    ("m3", "MTQ"),
    ("cm3", "CMQ"),
];

fn term(text: &str) -> Option<TermCode> {
    TermCode::parse(text)
        .ok()
        .or_else(|| TermCode::all().find(|t| t.description().eq_ignore_ascii_case(text.trim())))
}

fn unit(text: &str) -> Option<UnitCode> {
    let t = text.trim();
    UnitCode::parse(t)
        .ok()
        .or_else(|| {
            UNIT_SYMBOLS
                .iter()
                .find(|(symbol, _)| symbol.eq_ignore_ascii_case(t))
                .and_then(|(_, code)| UnitCode::parse(code).ok())
        })
        .or_else(|| UnitCode::all().find(|u| u.description().eq_ignore_ascii_case(t)))
}

/// Readings remembered by text: a comparison reads the same few codes over many groups.
#[derive(Default)]
pub(super) struct Codes {
    terms: HashMap<String, Option<TermCode>>,
    units: HashMap<String, Option<UnitCode>>,
    sources: HashMap<String, Option<SourceCode>>,
    purposes: HashMap<String, Option<PurposeCode>>,
}

impl Codes {
    pub fn term(&mut self, text: &str) -> Option<TermCode> {
        remembered(&mut self.terms, text, term)
    }

    pub fn unit(&mut self, text: &str) -> Option<UnitCode> {
        remembered(&mut self.units, text, unit)
    }

    /// `None` for a code the list does not hold; the caller tells a blank one apart.
    pub fn source(&mut self, text: &str) -> Option<SourceCode> {
        remembered(&mut self.sources, text, |t| SourceCode::parse(t).ok())
    }

    pub fn purpose(&mut self, text: &str) -> Option<PurposeCode> {
        remembered(&mut self.purposes, text, |t| PurposeCode::parse(t).ok())
    }
}

/// The reading of `text`, read once (looked up without a copy of the text: a comparison asks
/// millions of times).
fn remembered<T: Copy>(
    seen: &mut HashMap<String, Option<T>>,
    text: &str,
    read: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    if let Some(v) = seen.get(text) {
        return *v;
    }
    let v = read(text);
    seen.insert(text.to_owned(), v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_descriptions_and_symbols_are_read_and_nothing_else() {
        let mut c = Codes::default();
        assert_eq!(c.term("LIV").map(TermCode::code), Some("LIV"));
        assert_eq!(c.term("live").map(TermCode::code), Some("LIV"));
        assert_eq!(c.term("lively"), None);
        assert_eq!(c.unit("").map(UnitCode::code), Some("NAR"));
        assert_eq!(c.unit("KIL").map(UnitCode::code), Some("KGM"));
        assert_eq!(c.unit("kg").map(UnitCode::code), Some("KGM"));
        assert_eq!(c.unit("kilogram").map(UnitCode::code), Some("KGM"));
        assert_eq!(c.unit("stones"), None);
        assert_eq!(c.source("w").map(SourceCode::code), Some("W"));
        assert_eq!(c.source("Q"), None);
        assert_eq!(c.purpose("T").map(PurposeCode::code), Some("T"));
    }
}
