//! `CountryCode`: ISO 3166-1 alpha-2 codes (plus XK, Kosovo) with English names and a
//! forgiving name lookup (UN/CITES spellings, French and Spanish names).

mod table;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A country or territory code: one of the 249 officially assigned ISO 3166-1 alpha-2 codes,
/// or `XK` (Kosovo, user-assigned in ISO but used by Species+ and the CITES Trade Database).
///
/// Always upper case. Serialised and displayed as the code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

/// One row of the country table.
pub(crate) struct CountryEntry {
    code: &'static str,
    name: &'static str,
    aliases: &'static [&'static str],
}

/// Kosovo is not in ISO 3166-1 proper, so it is not in the generated table.
const KOSOVO: CountryEntry = CountryEntry {
    code: "XK",
    name: "Kosovo",
    aliases: &["Republic of Kosovo", "Kosova"],
};

/// Hand-written name variants that the ISO data lacks: UN/CITES spellings, former names,
/// everyday English names and a few French forms used in CITES documents.
const EXTRA_ALIASES: &[(&str, &[&str])] = &[
    ("BN", &["Brunei"]),
    (
        "CD",
        &[
            "DR Congo",
            "DRC",
            "Congo (Kinshasa)",
            "Congo-Kinshasa",
            "Zaire",
        ],
    ),
    (
        "CG",
        &["Congo (Brazzaville)", "Congo-Brazzaville", "Congo Republic"],
    ),
    ("CI", &["Ivory Coast"]),
    ("CV", &["Cape Verde"]),
    ("GB", &["UK", "Great Britain", "Britain"]),
    (
        "HK",
        &[
            "Hong Kong SAR",
            "Hong Kong, SAR",
            "Hong Kong, China",
            "China, Hong Kong SAR",
            "China, Hong Kong Special Administrative Region",
        ],
    ),
    ("LR", &["Libéria"]),
    (
        "MO",
        &[
            "Macau",
            "Macao SAR",
            "Macao, SAR",
            "China, Macao SAR",
            "China, Macao Special Administrative Region",
        ],
    ),
    (
        "MK",
        &["The former Yugoslav Republic of Macedonia", "Macedonia"],
    ),
    ("MM", &["Burma"]),
    ("NG", &["Nigéria"]),
    ("NL", &["Netherlands (Kingdom of the)", "Holland"]),
    ("PS", &["Palestine", "Occupied Palestinian Territory"]),
    ("RU", &["Russia"]),
    ("SH", &["Saint Helena"]),
    ("SZ", &["Swaziland"]),
    ("TL", &["East Timor"]),
    ("TR", &["Turkey"]),
    ("TW", &["Chinese Taipei"]),
    ("US", &["USA", "United States (USA)"]),
    ("VA", &["Holy See", "Vatican", "Vatican City"]),
    ("VI", &["United States Virgin Islands", "US Virgin Islands"]),
    ("WF", &["Wallis and Futuna Islands"]),
];

const COUNTRY_ACCEPTED: &str =
    "an officially assigned ISO 3166-1 alpha-2 code such as NA or ZA, or XK for Kosovo";

impl CountryCode {
    /// Parses a two-letter code (trimmed, any case). The error names the field `"country"`.
    pub fn parse(s: &str) -> Result<CountryCode> {
        let trimmed = s.trim();
        let bytes = trimmed.as_bytes();
        if let [a, b] = bytes
            && a.is_ascii_alphabetic()
            && b.is_ascii_alphabetic()
        {
            let code = CountryCode([a.to_ascii_uppercase(), b.to_ascii_uppercase()]);
            if find_entry(code).is_some() {
                return Ok(code);
            }
        }
        Err(Error::invalid(
            "country code",
            "country",
            s,
            COUNTRY_ACCEPTED,
        ))
    }

    /// Looks a country up by name, ignoring case, accents, punctuation and the word "the".
    ///
    /// Accepts the ISO English short name (`"Tanzania, United Republic of"`), its UN-style
    /// forms (`"United Republic of Tanzania"`, `"Bolivia (Plurinational State of)"`), common
    /// English names (`"Tanzania"`, `"Vietnam"`, `"Swaziland"`) and French and Spanish names
    /// (`"Afrique du Sud"`, `"Sudáfrica"`). Returns `None` for unknown or ambiguous names.
    pub fn from_name(name: &str) -> Option<CountryCode> {
        let index = &*NAME_INDEX;
        let key = name_key(name);
        if let Some(found) = index.by_key.get(&key) {
            return *found;
        }
        // "Netherlands (Kingdom of the)"-style inputs: retry without the parenthetical.
        let stripped = strip_parentheticals(name)?;
        index.by_key.get(&name_key(&stripped)).copied().flatten()
    }

    /// Every accepted code: the ISO codes in order, then XK.
    pub fn all() -> impl Iterator<Item = CountryCode> {
        table::ISO_COUNTRIES
            .iter()
            .chain(std::iter::once(&KOSOVO))
            .map(CountryCode::of_entry)
    }

    /// The code, e.g. `"NA"`.
    pub fn as_str(self) -> &'static str {
        self.entry().code
    }

    /// The ISO English short name, e.g. `"Namibia"`, `"Tanzania, United Republic of"`.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// True for XK, which ISO leaves user-assigned.
    pub fn is_user_assigned(self) -> bool {
        self.0 == *b"XK"
    }

    fn entry(self) -> &'static CountryEntry {
        find_entry(self).expect("invariant: a CountryCode is only built from a table entry")
    }

    fn of_entry(entry: &'static CountryEntry) -> CountryCode {
        let [a, b] = entry.code.as_bytes() else {
            unreachable!("invariant: table codes have two letters (checked by tests)")
        };
        CountryCode([*a, *b])
    }
}

fn find_entry(code: CountryCode) -> Option<&'static CountryEntry> {
    if code.0 == *b"XK" {
        return Some(&KOSOVO);
    }
    table::ISO_COUNTRIES
        .binary_search_by(|e| e.code.as_bytes().cmp(&code.0[..]))
        .ok()
        .map(|idx| &table::ISO_COUNTRIES[idx])
}

/// Normalised name → code; `None` marks a name that two countries share.
struct NameIndex {
    by_key: HashMap<String, Option<CountryCode>>,
    /// Keys dropped because they pointed at two countries; tests require this to be empty.
    conflicts: Vec<(String, CountryCode, CountryCode)>,
}

static NAME_INDEX: LazyLock<NameIndex> = LazyLock::new(build_name_index);

fn build_name_index() -> NameIndex {
    let mut index = NameIndex {
        by_key: HashMap::new(),
        conflicts: Vec::new(),
    };
    for entry in table::ISO_COUNTRIES.iter().chain(std::iter::once(&KOSOVO)) {
        let code = CountryCode::of_entry(entry);
        let extra = EXTRA_ALIASES
            .iter()
            .filter(|(c, _)| *c == entry.code)
            .flat_map(|(_, names)| names.iter());
        // Only the ISO English name loses its parenthetical ("Holy See (Vatican City State)"
        // → "Holy See"); aliases keep theirs, because "Congo (Kinshasa)" is not "Congo" and the
        // French "Saint-Martin (partie néerlandaise)" is not Saint Martin.
        if let Some(stripped) = strip_parentheticals(entry.name) {
            index.insert(name_key(&stripped), code);
        }
        let names = std::iter::once(&entry.name)
            .chain(entry.aliases)
            .chain(extra);
        for name in names {
            for variant in name_variants(name) {
                index.insert(name_key(&variant), code);
            }
        }
    }
    index
}

impl NameIndex {
    fn insert(&mut self, key: String, code: CountryCode) {
        if key.is_empty() {
            return;
        }
        match self.by_key.get(&key) {
            None => {
                self.by_key.insert(key, Some(code));
            }
            Some(Some(existing)) if *existing == code => {}
            Some(Some(existing)) => {
                self.conflicts.push((key.clone(), *existing, code));
                self.by_key.insert(key, None);
            }
            Some(None) => {}
        }
    }
}

/// The spellings of one name worth indexing: as written, and "B A" for "A, B" (ISO's inverted
/// form, e.g. "Korea, Republic of" → "Republic of Korea").
fn name_variants(name: &str) -> Vec<String> {
    let mut variants = vec![name.to_owned()];
    if let Some((head, tail)) = name.split_once(", ")
        && !tail.contains(',')
    {
        variants.push(format!("{tail} {head}"));
    }
    variants
}

/// `name` with every "(...)" removed, or `None` if it has none.
fn strip_parentheticals(name: &str) -> Option<String> {
    if !name.contains('(') {
        return None;
    }
    let mut out = String::with_capacity(name.len());
    let mut depth = 0_u32;
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    Some(out)
}

/// Lower-cases, strips accents and apostrophes, turns punctuation into spaces, expands "&" and
/// "st", drops the word "the" and collapses whitespace, so that
/// "Congo, The Democratic Republic of the" and "Congo (Democratic Republic of the)" meet.
fn name_key(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{b4}' | '\u{2bc}' => {}
            '\u{300}'..='\u{36f}' => {}
            ',' | '(' | ')' | '-' | '\u{2010}' | '\u{2013}' | '.' | '/' | ';' | ':' => {
                folded.push(' ');
            }
            '&' => folded.push_str(" and "),
            other => match fold_diacritic(other) {
                Some(ascii) => folded.push_str(ascii),
                None => folded.push(other),
            },
        }
    }
    let words: Vec<&str> = folded
        .split_whitespace()
        .filter(|w| *w != "the")
        .map(|w| if w == "st" { "saint" } else { w })
        .collect();
    words.join(" ")
}

/// ASCII for the accented lower-case Latin letters found in country names.
fn fold_diacritic(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' => "i",
        'ł' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ř' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CountryCode").field(&self.as_str()).finish()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CountryCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<CountryCode> {
        CountryCode::parse(s)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CountryCode, D::Error> {
        crate::serde_util::deserialize_parsed(deserializer, CountryCode::parse)
    }
}
