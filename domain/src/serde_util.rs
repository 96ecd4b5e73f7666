//! Serde helpers shared by the code newtypes: serialise as a string, deserialise through `parse`.

use serde::{Deserialize, Deserializer};

use crate::error::Result;

/// Deserialises a string and runs it through a domain `parse` function, so serde input gets the
/// same validation and error messages as any other input.
pub(crate) fn deserialize_parsed<'de, D, T>(
    deserializer: D,
    parse: fn(&str) -> Result<T>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = String::deserialize(deserializer)?;
    parse(&raw).map_err(serde::de::Error::custom)
}
