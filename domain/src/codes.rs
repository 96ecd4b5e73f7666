//! CITES code lists (source, purpose, term; units live in `unit`) parsed from the embedded CSVs.
//!
//! The CSVs in `fixtures/codes/` are compiled into the binary with `include_str!` and parsed
//! once, on first use. Each code type is a `Copy` handle to its row, so a parsed code carries its
//! description and notes for free.

pub(crate) mod csv;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// Longest "accepted ..." list an error message spells out, in characters. Longer lists (terms)
/// are summarised with a count, a few examples and the CSV file name.
pub const ACCEPTED_LIST_CHARS_MAX: usize = 300;

/// One row of a code list CSV (`code,description,notes`).
#[derive(Debug, PartialEq, Eq)]
pub struct CodeEntry {
    code: String,
    description: String,
    notes: String,
}

impl CodeEntry {
    /// The code, upper case as in the CSV (empty for the blank unit).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The English description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Free-text notes: status, legal basis, validation hints.
    pub fn notes(&self) -> &str {
        &self.notes
    }
}

/// A whole code list plus what is needed to word errors about it.
pub(crate) struct CodeList {
    /// Singular noun for messages, e.g. "source code".
    pub(crate) what: &'static str,
    /// Default field name for errors.
    pub(crate) field: &'static str,
    /// File name, mentioned when the accepted list is too long to print.
    pub(crate) file: &'static str,
    pub(crate) entries: Vec<CodeEntry>,
}

impl CodeList {
    /// Parses an embedded CSV. Panics on malformed input: the files are compiled in, so a bad
    /// file is a build defect that the every-row tests catch before release.
    pub(crate) fn load(
        what: &'static str,
        field: &'static str,
        file: &'static str,
        text: &str,
    ) -> CodeList {
        let entries = parse_entries(text)
            .unwrap_or_else(|msg| panic!("invariant: embedded {file} is a valid code list: {msg}"));
        CodeList {
            what,
            field,
            file,
            entries,
        }
    }

    /// Finds a row by code, ignoring surrounding whitespace and case.
    pub(crate) fn find(&self, s: &str) -> Option<&CodeEntry> {
        let wanted = s.trim();
        self.entries
            .iter()
            .find(|e| e.code.eq_ignore_ascii_case(wanted))
    }

    /// The error for an unknown code, listing the accepted ones.
    pub(crate) fn unknown(&self, s: &str) -> Error {
        let codes: Vec<&str> = self.entries.iter().map(|e| display_code(&e.code)).collect();
        Error::invalid(self.what, self.field, s, accepted_list(&codes, self.file))
    }
}

/// Words a list of accepted codes, summarising it when it is too long for one message.
pub(crate) fn accepted_list(codes: &[&str], file: &str) -> Cow<'static, str> {
    let full = codes.join(", ");
    if full.len() <= ACCEPTED_LIST_CHARS_MAX {
        return Cow::Owned(full);
    }
    let examples: Vec<&str> = codes.iter().copied().take(12).collect();
    Cow::Owned(format!(
        "one of {} codes, e.g. {}, ... (see {file})",
        codes.len(),
        examples.join(", ")
    ))
}

fn display_code(code: &str) -> &str {
    if code.is_empty() { "blank" } else { code }
}

fn parse_entries(text: &str) -> std::result::Result<Vec<CodeEntry>, String> {
    let records = csv::parse(text).map_err(|e| e.to_string())?;
    let mut rows = records.into_iter();
    let header = rows.next().ok_or("file is empty")?;
    if header != ["code", "description", "notes"] {
        return Err(format!(
            "header is {header:?}, expected code,description,notes"
        ));
    }
    let mut entries: Vec<CodeEntry> = Vec::new();
    for (idx, row) in rows.enumerate() {
        let [code, description, notes]: [String; 3] =
            row.try_into().map_err(|row: Vec<String>| {
                format!("data row {} has {} fields, expected 3", idx + 1, row.len())
            })?;
        let code = code.trim().to_ascii_uppercase();
        if entries.iter().any(|e| e.code == code) {
            return Err(format!("duplicate code {code:?}"));
        }
        entries.push(CodeEntry {
            code,
            description,
            notes,
        });
    }
    Ok(entries)
}

/// Which kingdom a specimen belongs to, for source-code validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kingdom {
    /// Animals.
    Animalia,
    /// Plants.
    Plantae,
}

impl Kingdom {
    /// Parses the Species+ kingdom names `"Animalia"` and `"Plantae"` (trimmed, any case).
    pub fn parse(s: &str) -> Result<Kingdom> {
        let trimmed = s.trim();
        if trimmed.eq_ignore_ascii_case("animalia") {
            Ok(Kingdom::Animalia)
        } else if trimmed.eq_ignore_ascii_case("plantae") {
            Ok(Kingdom::Plantae)
        } else {
            Err(Error::invalid("kingdom", "kingdom", s, "Animalia, Plantae"))
        }
    }

    /// `"Animalia"` or `"Plantae"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kingdom::Animalia => "Animalia",
            Kingdom::Plantae => "Plantae",
        }
    }
}

impl fmt::Display for Kingdom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

static SOURCES: LazyLock<CodeList> = LazyLock::new(|| {
    CodeList::load(
        "source code",
        "source",
        "sources.csv",
        include_str!("../../fixtures/codes/sources.csv"),
    )
});

static PURPOSES: LazyLock<CodeList> = LazyLock::new(|| {
    CodeList::load(
        "purpose code",
        "purpose",
        "purposes.csv",
        include_str!("../../fixtures/codes/purposes.csv"),
    )
});

static TERMS: LazyLock<CodeList> = LazyLock::new(|| {
    CodeList::load(
        "term code",
        "term",
        "terms.csv",
        include_str!("../../fixtures/codes/terms.csv"),
    )
});

/// Defines a validated `Copy` handle to a row of one code list, with parse, getters, Display,
/// ordering by code and serde as the code string.
macro_rules! code_type {
    ($(#[$meta:meta])* $name:ident, $list:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy)]
        pub struct $name(&'static CodeEntry);

        impl $name {
            /// Parses a code (trimmed, any case) against the embedded list. The error names the
            /// field, the value and the accepted codes; rename the field with
            /// [`Error::for_field`].
            pub fn parse(s: &str) -> Result<$name> {
                $list.find(s).map($name).ok_or_else(|| $list.unknown(s))
            }

            /// Every code in the list, in CSV order.
            pub fn all() -> impl Iterator<Item = $name> {
                $list.entries.iter().map($name)
            }

            /// The code, e.g. `"W"`.
            pub fn code(self) -> &'static str {
                &self.0.code
            }

            /// The English description from the CSV.
            pub fn description(self) -> &'static str {
                &self.0.description
            }

            /// The notes column from the CSV.
            pub fn notes(self) -> &'static str {
                &self.0.notes
            }

            /// The whole CSV row.
            pub fn entry(self) -> &'static CodeEntry {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.code()).finish()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &$name) -> bool {
                self.code() == other.code()
            }
        }

        impl Eq for $name {}

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &$name) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &$name) -> std::cmp::Ordering {
                self.code().cmp(other.code())
            }
        }

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.code().hash(state);
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<$name> {
                $name::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                crate::serde_util::deserialize_parsed(deserializer, $name::parse)
            }
        }
    };
}

code_type!(
    /// A CITES source code (W, X, R, D, A, C, F, Y, U, I, O) from `sources.csv`.
    SourceCode,
    SOURCES
);

code_type!(
    /// A CITES purpose-of-transaction code (T, Z, G, Q, S, H, P, M, E, N, B, L) from
    /// `purposes.csv`.
    PurposeCode,
    PURPOSES
);

code_type!(
    /// A CITES term (specimen type) code, e.g. LIV, SKI, TUS, from `terms.csv`. Legacy terms are
    /// accepted as they are; their notes say `status=legacy`.
    TermCode,
    TERMS
);

impl SourceCode {
    /// Whether this source code may be used for specimens of `kingdom`.
    ///
    /// A (artificially propagated) and Y (assisted production) are plants-only; C (bred in
    /// captivity), R (ranched) and F (born in captivity) are animals-only (following SAPI's
    /// annual-report validation). Every other code fits both kingdoms.
    pub fn valid_for(self, kingdom: Kingdom) -> bool {
        match self.code() {
            "A" | "Y" => kingdom == Kingdom::Plantae,
            "C" | "R" | "F" => kingdom == Kingdom::Animalia,
            _ => true,
        }
    }

    /// True for I (confiscated) and O (pre-Convention), which may be combined with a second
    /// source code.
    pub fn combines_with_other_source(self) -> bool {
        matches!(self.code(), "I" | "O")
    }
}

impl TermCode {
    /// True when the notes mark the term as legacy (`status=legacy` or `status=legacy?`).
    /// Legacy terms stay valid input; this flag is for reporting.
    pub fn is_legacy(self) -> bool {
        self.notes().starts_with("status=legacy")
    }
}
