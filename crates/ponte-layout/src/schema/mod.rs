//! The layout model: what a Gamma Enterprise interchange file looks like.
//!
//! Schemas are data (`schemas/*.toml`), so an integrator whose ERP export
//! differs edits a file, not Rust code. This module holds the validated model;
//! `load` turns TOML into it and refuses anything inconsistent.

mod date_format;
mod load;
mod markdown;
mod registry;

pub use date_format::{Date, DateFormat, DatePart};
pub use load::{parse_schema, SchemaError};
pub use markdown::markdown;
pub use registry::{Registry, RegistryProblem, SchemaSource};

use crate::record::Charset;

/// One flow's file layout.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The flow name as written in the header (`ARTICOLI`).
    pub flow: String,
    /// Where the schema came from, for error messages.
    pub source: String,
    pub description: String,
    pub charset: Charset,
    /// Every record is padded to this many characters.
    pub record_length: usize,
    /// File-name globs that route a file to this schema.
    pub globs: Vec<glob::Pattern>,
    /// Whether the export job's `NAME.ok` marker must exist before a file is taken.
    pub requires_ok_marker: bool,
    /// Whether a line that reads as UTF-8 rejects a file of a single-byte
    /// charset (`record::utf8_hint`): on for what the ERP exports, where it
    /// catches a file saved in the wrong charset; off for files ponte writes
    /// itself, whose text is Magento's Unicode encoded by the writer, so
    /// that an order holding "Â¡" is that text and not a guess.
    pub utf8_guard: bool,
    /// Where the record type literal sits (0-based start, length).
    pub tag_start: usize,
    pub tag_len: usize,
    pub records: Vec<RecordLayout>,
    pub header: HeaderRule,
    pub trailer: TrailerRule,
    /// The records that are the file's content (not header/trailer), in schema order.
    pub detail_records: Vec<usize>,
    pub limits: Limits,
}

/// Bad records tolerated before a file is rejected whole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_bad_records: u64,
}

#[derive(Debug, Clone)]
pub struct HeaderRule {
    pub record: usize,
    pub flow_field: usize,
    pub timestamp_field: usize,
    pub mode_field: usize,
    pub complete_code: String,
    pub changes_code: String,
}

#[derive(Debug, Clone)]
pub struct TrailerRule {
    pub record: usize,
    pub count_field: usize,
    /// The record types the trailer's count counts.
    pub counts: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct RecordLayout {
    /// The literal at the tag position (`AR`).
    pub tag: String,
    pub tag_bytes: Vec<u8>,
    pub description: String,
    pub fields: Vec<Field>,
    /// What `check_line_fast` checks of the fields.
    pub probes: Vec<crate::record::probe::Probe>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub key: String,
    /// 0-based start, in characters (bytes for single-byte charsets).
    pub start: usize,
    pub len: usize,
    pub kind: FieldKind,
    /// A blank value is an error.
    pub required: bool,
}

impl Field {
    /// The 1-based position, as ERP layout documents and error messages write it.
    pub fn pos(&self) -> usize {
        self.start + 1
    }
    pub fn end(&self) -> usize {
        self.start + self.len
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// Left-aligned, space-padded; optionally one of a closed list of codes.
    Text {
        codes: Option<Vec<String>>,
    },
    /// Right-aligned, zero-padded digits.
    Integer,
    /// Digits with `scale` implied decimals, optionally followed by a sign
    /// character (`+`/`-`) inside the field's length.
    Decimal {
        scale: u8,
        trailing_sign: bool,
    },
    Date {
        format: DateFormat,
        none: Vec<String>,
    },
    Flag {
        yes: u8,
        no: u8,
    },
}

impl FieldKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::Integer => "integer",
            FieldKind::Decimal { .. } => "decimal",
            FieldKind::Date { .. } => "date",
            FieldKind::Flag { .. } => "flag",
        }
    }
}

/// The header's mode: whether the file holds every entity of the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Complete,
    Changes,
}

impl Schema {
    pub fn record_index(&self, tag: &[u8]) -> Option<usize> {
        self.records
            .iter()
            .position(|r| crate::record::line::short_eq(&r.tag_bytes, tag))
    }

    pub fn record_by_tag(&self, tag: &str) -> Option<&RecordLayout> {
        self.records.iter().find(|r| r.tag == tag)
    }

    /// Does this schema claim a file of that name?
    pub fn claims(&self, file_name: &str) -> bool {
        let opts = glob::MatchOptions {
            case_sensitive: false,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        self.globs.iter().any(|g| g.matches_with(file_name, opts))
    }
}

impl RecordLayout {
    pub fn field_index(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.key == key)
    }
}
