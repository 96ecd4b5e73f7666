//! `TaxonId`: the Species+ taxon concept id.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[cfg(test)]
mod tests;

/// A Species+ taxon concept id (`taxon_concept_id`). Serialised as a bare JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaxonId(u32);

impl TaxonId {
    /// Wraps a raw id. Every `u32` is a well-formed id; whether it exists is for the catalogue
    /// to say.
    pub const fn new(id: u32) -> TaxonId {
        TaxonId(id)
    }

    /// The raw id.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Parses a decimal id such as `"4521"` (trimmed). The error names the field `"taxon_id"`.
    pub fn parse(s: &str) -> Result<TaxonId> {
        let trimmed = s.trim();
        // `u32::from_str` accepts a leading '+', which no id source produces; insist on digits.
        if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(s));
        }
        trimmed.parse::<u32>().map(TaxonId).map_err(|_| invalid(s))
    }
}

fn invalid(s: &str) -> Error {
    Error::invalid(
        "taxon id",
        "taxon_id",
        s,
        "a whole number from 0 to 4294967295",
    )
}

impl fmt::Display for TaxonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::str::FromStr for TaxonId {
    type Err = Error;

    fn from_str(s: &str) -> Result<TaxonId> {
        TaxonId::parse(s)
    }
}

impl From<TaxonId> for u32 {
    fn from(id: TaxonId) -> u32 {
        id.0
    }
}
