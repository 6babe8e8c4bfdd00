//! Durations as the configuration writes them: `"500ms"`, `"5s"`, `"2m"`,
//! `"1h"`, `"1d"`, or several run together (`"1m30s"`), read by humantime.

use std::time::Duration;

use serde::de::{Deserialize, Deserializer, Error, Visitor};

const HINT: &str = "expected a duration such as \"500ms\", \"5s\", \"2m\" or \"1h\"";

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum DurationError {
    /// Not a duration humantime reads (a bare number among them: `5`
    /// seconds or minutes?).
    #[error("{HINT}: {0}")]
    Unreadable(#[from] humantime::DurationError),
    /// Spaces, signs or fractions: humantime reads `5 s` and `1.5s`, but a
    /// configuration value is written one way, whole units run together.
    #[error("{HINT}, whole numbers and units run together (\"1m30s\")")]
    Spelling,
}

/// Reads a duration; surrounding spaces are ignored.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(DurationError::Spelling);
    }
    Ok(humantime::parse_duration(s)?)
}

/// A duration key of the file, read as it is deserialised so that a bad one
/// is reported at its key.
#[derive(Debug, Clone, Copy)]
pub(super) struct DurationText(pub Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&HINT["expected ".len()..])
            }
            fn visit_str<E: Error>(self, s: &str) -> Result<DurationText, E> {
                parse_duration(s)
                    .map(DurationText)
                    .map_err(|e| E::custom(format!("{e} (found \"{s}\")")))
            }
        }
        deserializer.deserialize_str(V)
    }
}
