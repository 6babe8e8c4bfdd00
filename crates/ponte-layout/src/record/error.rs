//! Errors about a file's content, carrying everything a person needs to fix
//! the record: the line, the record type, the field, the raw bytes and what
//! was expected there.

use std::fmt;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordError {
    /// 1-based line number; 0 for problems of the file as a whole.
    pub line: u64,
    pub record: Option<String>,
    /// The field's key and its 1-based position and length.
    pub field: Option<FieldRef>,
    /// The bytes found, decoded for display (empty when not relevant).
    pub raw: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldRef {
    pub key: String,
    pub pos: usize,
    pub len: usize,
}

impl RecordError {
    pub fn file_level(line: u64, message: impl Into<String>) -> RecordError {
        RecordError {
            line,
            record: None,
            field: None,
            raw: None,
            message: message.into(),
        }
    }

    /// The `FILE:LINE: ...` form used on stderr and in reject reports.
    pub fn display_in(&self, file: &str) -> String {
        format!("{file}:{self}")
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.line)?;
        if let Some(r) = &self.record {
            write!(f, " record {r}")?;
        }
        if let Some(fr) = &self.field {
            write!(f, " field {} (pos {} len {})", fr.key, fr.pos, fr.len)?;
        }
        if self.record.is_some() || self.field.is_some() {
            write!(f, ":")?;
        }
        write!(f, " {}", self.message)?;
        if let Some(raw) = &self.raw {
            write!(f, "; found {raw:?}")?;
        }
        Ok(())
    }
}
