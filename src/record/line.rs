//! One record line: finding its type and reading its fields in place.
//!
//! Nothing here allocates for a valid single-byte record: fields are checked
//! as byte slices and only decoded when a caller asks for a value.

use std::borrow::Cow;

use super::{Charset, Decimal, FieldRef, RecordError, Value};
use crate::schema::{Date, Field, FieldKind, RecordLayout, Schema};

/// A line with its character positions resolved. For single-byte charsets a
/// position is a byte offset; UTF-8 lines with non-ASCII text carry a map.
pub struct LineView<'a> {
    pub bytes: &'a [u8],
    char_starts: Option<Vec<usize>>,
}

impl<'a> LineView<'a> {
    pub fn new(bytes: &'a [u8], charset: Charset) -> LineView<'a> {
        let char_starts = if charset.is_single_byte() || bytes.is_ascii() {
            None
        } else {
            let text = String::from_utf8_lossy(bytes);
            match text {
                // Invalid UTF-8 is reported per field; positions fall back to bytes.
                Cow::Owned(_) => None,
                Cow::Borrowed(s) => Some(s.char_indices().map(|(i, _)| i).collect()),
            }
        };
        LineView { bytes, char_starts }
    }

    /// Length in characters.
    pub fn len(&self) -> usize {
        self.char_starts.as_ref().map_or(self.bytes.len(), Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Characters `start..start+len`, cut short where the line is shorter.
    pub fn slice(&self, start: usize, len: usize) -> &'a [u8] {
        match &self.char_starts {
            None => {
                let end = (start + len).min(self.bytes.len());
                &self.bytes[start.min(end)..end]
            }
            Some(starts) => {
                let byte_at = |c: usize| starts.get(c).copied().unwrap_or(self.bytes.len());
                &self.bytes[byte_at(start)..byte_at(start + len)]
            }
        }
    }

    /// Characters from `start` to the end of the line.
    pub fn tail(&self, start: usize) -> &'a [u8] {
        self.slice(start, usize::MAX / 2)
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Blank,
    Expected(String),
}

/// A field's content, checked and not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Parsed<'a> {
    /// Trimmed bytes, still in the file's charset.
    Text(&'a [u8]),
    Integer(i64),
    Decimal(Decimal),
    Date(Date),
    Flag(bool),
    None,
}

impl Parsed<'_> {
    pub fn into_value(self, charset: Charset) -> Value {
        match self {
            Parsed::Text(b) => Value::Text(charset.decode(b).into_owned()),
            Parsed::Integer(n) => Value::Integer(n),
            Parsed::Decimal(d) => Value::Decimal(d),
            Parsed::Date(d) => Value::Date(d),
            Parsed::Flag(b) => Value::Flag(b),
            Parsed::None => Value::None,
        }
    }
}

/// The bytes without the padding spaces on either side.
pub fn trim_spaces(bytes: &[u8]) -> &[u8] {
    // Padding runs long (a 250-character description is mostly blanks):
    // skip it 16 bytes at a time, which compiles to one vector compare.
    const PIECE: usize = 16;
    let mut end = bytes.len();
    while end >= PIECE && bytes[end - PIECE..end] == [b' '; PIECE] {
        end -= PIECE;
    }
    while end > 0 && bytes[end - 1] == b' ' {
        end -= 1;
    }
    let start = bytes[..end].iter().position(|&b| b != b' ').unwrap_or(end);
    &bytes[start..end]
}

fn digits_value(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &b in bytes {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + d as i64;
    }
    Some(n)
}

/// Reads one field from the bytes found at its position (possibly fewer than
/// its length, when the line was cut short: the missing tail counts as blank).
pub fn read_field<'a>(
    charset: Charset,
    field: &Field,
    raw: &'a [u8],
) -> Result<Parsed<'a>, Problem> {
    let short = raw.len() < field.len;
    match &field.kind {
        FieldKind::Text { codes } => {
            if let Some(at) = charset.first_bad_text_byte(raw) {
                return Err(Problem::Expected(format!(
                    "text without control or undefined characters (byte 0x{:02X} at offset {at})",
                    raw[at]
                )));
            }
            let text = trim_spaces(raw);
            if text.is_empty() {
                return if field.required {
                    Err(Problem::Blank)
                } else {
                    Ok(Parsed::Text(text))
                };
            }
            if let Some(codes) = codes {
                if !codes.iter().any(|c| c.as_bytes() == text) {
                    return Err(Problem::Expected(format!("one of {}", codes.join(", "))));
                }
            }
            Ok(Parsed::Text(text))
        }
        FieldKind::Integer => match digits_value(raw) {
            Some(n) if !short => Ok(Parsed::Integer(n)),
            _ => Err(Problem::Expected(format!(
                "{} digits, zero-padded",
                field.len
            ))),
        },
        FieldKind::Decimal {
            scale,
            trailing_sign,
        } => {
            let digit_count = field.len - usize::from(*trailing_sign);
            let expected = || {
                let sign = if *trailing_sign { " then + or -" } else { "" };
                Problem::Expected(format!(
                    "{digit_count} digits with {scale} implied decimals{sign}"
                ))
            };
            if short {
                return Err(expected());
            }
            let (digits, negative) = if *trailing_sign {
                match raw[digit_count] {
                    b'+' => (&raw[..digit_count], false),
                    b'-' => (&raw[..digit_count], true),
                    _ => return Err(expected()),
                }
            } else {
                (raw, false)
            };
            let units = digits_value(digits).ok_or_else(expected)?;
            Ok(Parsed::Decimal(Decimal::new(
                if negative { -units } else { units },
                *scale,
            )))
        }
        FieldKind::Date { format, none } => {
            let trimmed = trim_spaces(raw);
            if none.iter().any(|n| n.as_bytes() == trimmed) {
                return if field.required {
                    Err(Problem::Blank)
                } else {
                    Ok(Parsed::None)
                };
            }
            match format.read(raw) {
                Some(d) => Ok(Parsed::Date(d)),
                None => Err(Problem::Expected(format!("a date {}", format.text))),
            }
        }
        FieldKind::Flag { yes, no } => match raw.first() {
            Some(b) if b == yes => Ok(Parsed::Flag(true)),
            Some(b) if b == no => Ok(Parsed::Flag(false)),
            _ => Err(Problem::Expected(format!(
                "{} or {}",
                *yes as char, *no as char
            ))),
        },
    }
}

/// The record layout a line belongs to.
pub fn identify(schema: &Schema, line: &LineView) -> Option<usize> {
    schema.record_index(line.slice(schema.tag_start, schema.tag_len))
}

/// Builds the error for one field, with its raw bytes.
pub fn field_error(
    charset: Charset,
    line_no: u64,
    layout: &RecordLayout,
    field: &Field,
    raw: &[u8],
    problem: Problem,
) -> RecordError {
    let message = match problem {
        Problem::Blank => "a value is required, the field is blank".to_string(),
        Problem::Expected(what) => format!("expected {what}"),
    };
    RecordError {
        line: line_no,
        record: Some(layout.tag.clone()),
        field: Some(FieldRef {
            key: field.key.clone(),
            pos: field.pos(),
            len: field.len,
        }),
        raw: Some(charset.decode(raw).into_owned()),
        message,
    }
}

/// Checks a whole line; returns its record index when the type is known, and
/// pushes one error per problem found.
pub fn check_line(
    schema: &Schema,
    line_no: u64,
    bytes: &[u8],
    errors: &mut Vec<RecordError>,
) -> Option<usize> {
    let charset = schema.charset;
    let view = LineView::new(bytes, charset);
    let Some(idx) = identify(schema, &view) else {
        let tag = view.slice(schema.tag_start, schema.tag_len);
        let known: Vec<&str> = schema.records.iter().map(|r| r.tag.as_str()).collect();
        errors.push(RecordError {
            line: line_no,
            record: None,
            field: None,
            raw: Some(charset.decode(tag).into_owned()),
            message: format!(
                "unknown record type at pos {} (a {} file has {})",
                schema.tag_start + 1,
                schema.flow,
                known.join(", ")
            ),
        });
        return None;
    };
    let layout = &schema.records[idx];
    if view.len() > schema.record_length {
        let extra = view.tail(schema.record_length);
        if extra.iter().any(|&b| b != b' ') {
            errors.push(RecordError {
                line: line_no,
                record: Some(layout.tag.clone()),
                field: None,
                raw: Some(charset.decode(extra).into_owned()),
                message: format!(
                    "the line is {} characters long, the record length is {}",
                    view.len(),
                    schema.record_length
                ),
            });
        }
    }
    // One pass over the whole line spares every text field its own.
    let text_clean = charset.first_bad_text_byte(view.bytes).is_none();
    for field in &layout.fields {
        let raw = view.slice(field.start, field.len);
        let ok = field_ok(charset, field, raw, text_clean);
        debug_assert_eq!(ok, read_field(charset, field, raw).is_ok());
        if ok {
            continue;
        }
        if let Err(problem) = read_field(charset, field, raw) {
            errors.push(field_error(charset, line_no, layout, field, raw, problem));
        }
    }
    Some(idx)
}

/// Whether `read_field` would accept the field, without building its value:
/// text needs no trimming unless it has codes, and no byte check when the
/// whole line passed it (`text_clean`).
fn field_ok(charset: Charset, field: &Field, raw: &[u8], text_clean: bool) -> bool {
    match &field.kind {
        FieldKind::Text { codes } => {
            if !text_clean && charset.first_bad_text_byte(raw).is_some() {
                return false;
            }
            match codes {
                None => !field.required || raw.iter().any(|&b| b != b' '),
                Some(codes) => {
                    let text = trim_spaces(raw);
                    if text.is_empty() {
                        !field.required
                    } else {
                        codes.iter().any(|c| c.as_bytes() == text)
                    }
                }
            }
        }
        _ => read_field(charset, field, raw).is_ok(),
    }
}

/// The typed values of a valid line, in schema order.
pub fn line_values(schema: &Schema, layout: &RecordLayout, bytes: &[u8]) -> Vec<(String, Value)> {
    let view = LineView::new(bytes, schema.charset);
    layout
        .fields
        .iter()
        .map(|f| {
            let raw = view.slice(f.start, f.len);
            let value = read_field(schema.charset, f, raw)
                .map(|p| p.into_value(schema.charset))
                .unwrap_or(Value::None);
            (f.key.clone(), value)
        })
        .collect()
}
