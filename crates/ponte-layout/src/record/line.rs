//! One record line: finding its type and reading its fields in place.
//!
//! Nothing here allocates for a valid single-byte record: fields are checked
//! as byte slices and only decoded when a caller asks for a value.

use std::borrow::Cow;

use super::charset::outside_printable_ascii;
use super::excerpt::excerpt;
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

    /// Whether a character position is a byte offset in this line.
    pub fn positions_are_bytes(&self) -> bool {
        self.char_starts.is_none()
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
    // skip it 16 bytes at a time, which compiles to one vector compare,
    // then find the text's edge in 8-byte words rather than byte by byte,
    // whose branches the processor cannot guess.
    const PIECE: usize = 16;
    match (bytes.first(), bytes.last()) {
        // Codes, numbers and dates fill their field: nothing to cut.
        (Some(&first), Some(&last)) if first != b' ' && last != b' ' => return bytes,
        _ => {}
    }
    let mut end = bytes.len();
    while end >= PIECE && bytes[end - PIECE..end] == [b' '; PIECE] {
        end -= PIECE;
    }
    let mut found = false;
    while end >= 8 {
        let marks = non_space_marks(word_at(bytes, end - 8));
        if marks != 0 {
            // The highest mark is the last byte that is not a space.
            end -= (marks.leading_zeros() / 8) as usize;
            found = true;
            break;
        }
        end -= 8;
    }
    if !found {
        while end > 0 && bytes[end - 1] == b' ' {
            end -= 1;
        }
    }
    let mut start = 0;
    while start + 8 <= end {
        let marks = non_space_marks(word_at(bytes, start));
        if marks != 0 {
            start += (marks.trailing_zeros() / 8) as usize;
            return &bytes[start..end];
        }
        start += 8;
    }
    while start < end && bytes[start] == b' ' {
        start += 1;
    }
    &bytes[start..end]
}

/// The 8 bytes at `at`, little-endian, so that byte `i` is bits `8i..8i+8`.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut w = [b' '; 8];
    if let Some(b) = bytes.get(at..at + 8) {
        w.copy_from_slice(b);
    }
    u64::from_le_bytes(w)
}

/// The top bit of each byte of `w` that is not a space, the others clear.
#[inline(always)]
fn non_space_marks(w: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let x = w ^ 0x2020_2020_2020_2020;
    // Per byte, no carry across: the top bit is set when the low seven
    // bits are not all zero, or when the top bit was set already.
    (((x & LOW7) + LOW7) | x) & !LOW7
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
        raw: Some(excerpt(charset, raw)),
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
            raw: Some(excerpt(charset, tag)),
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
                raw: Some(excerpt(charset, extra)),
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

/// `a == b` for the short codes and tags of a layout, compared in place
/// rather than by a call to `memcmp` for each of them on every line.
#[inline]
pub fn short_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// `check_line`, by way of `check_line_fast` for the common valid line.
pub fn check_record(
    schema: &Schema,
    line_no: u64,
    bytes: &[u8],
    errors: &mut Vec<RecordError>,
) -> Option<usize> {
    match check_line_fast(schema, bytes) {
        Some(idx) => {
            debug_assert_eq!(check_line(schema, line_no, bytes, errors), Some(idx));
            debug_assert!(errors.is_empty(), "{errors:?}");
            Some(idx)
        }
        None => check_line(schema, line_no, bytes, errors),
    }
}

/// Whether every byte may stand in a record's text, for `check_line_fast`:
/// any the charset defines but control characters; in UTF-8, printable
/// ASCII only (past it, a line's positions are no longer bytes).
pub fn bytes_allowed(charset: Charset, bytes: &[u8]) -> bool {
    if charset.is_single_byte() {
        charset.first_bad_text_byte(bytes).is_none()
    } else {
        !outside_printable_ascii(bytes)
    }
}

/// `check_line` for the common case, a valid record whose character
/// positions are byte positions: `Some` with the record's index only when
/// `check_line` would find nothing wrong. `None` tells nothing: ask
/// `check_line`.
///
/// Every record of a file comes through here: one pass over the line's
/// bytes, then only the probes its layout needs (see `probe`), without
/// building a value or an error.
pub fn check_line_fast(schema: &Schema, bytes: &[u8]) -> Option<usize> {
    let charset = schema.charset;
    if !bytes_allowed(charset, bytes) {
        return None;
    }
    let tag_end = schema
        .tag_start
        .saturating_add(schema.tag_len)
        .min(bytes.len());
    let idx = schema.record_index(&bytes[schema.tag_start.min(tag_end)..tag_end])?;
    if bytes.len() > schema.record_length
        && bytes[schema.record_length..].iter().any(|&b| b != b' ')
    {
        return None;
    }
    let layout = &schema.records[idx];
    layout
        .probes
        .iter()
        .all(|p| p.passes(charset, &layout.fields, bytes))
        .then_some(idx)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Registry;

    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn trim_spaces_cuts_where_a_byte_by_byte_trim_does() {
        let naive = |b: &[u8]| -> (usize, usize) {
            let start = b.iter().position(|&c| c != b' ').unwrap_or(b.len());
            let end = b.iter().rposition(|&c| c != b' ').map_or(start, |e| e + 1);
            (start, end)
        };
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        let alphabet = [b' ', b' ', b' ', b'a', 0xA0, 0xE8, b'!', 0x20 | 0x80, 0x00];
        for len in 0..80 {
            for _ in 0..200 {
                let line: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                let text = trim_spaces(&line);
                let (s, e) = naive(&line);
                assert_eq!(text, &line[s..e.max(s)], "{line:?}");
                if !text.is_empty() {
                    // The same bytes, not an equal run elsewhere.
                    assert_eq!(text.as_ptr() as usize - line.as_ptr() as usize, s);
                }
            }
        }
    }

    /// The fast check says yes only where the full one finds nothing wrong,
    /// and it says yes to the records of the sample files.
    #[test]
    fn the_fast_check_agrees_with_check_line() {
        let registry = Registry::built_in();
        let files: [(&str, &[u8]); 4] = [
            (
                "ARTICOLI",
                include_bytes!("../../../../samples/ART20261128020000.txt"),
            ),
            (
                "GIACENZE",
                include_bytes!("../../../../samples/GIA20261128083000.txt"),
            ),
            (
                "CLIENTI",
                include_bytes!("../../../../samples/CLI20261128030000.txt"),
            ),
            (
                "EVASIONI",
                include_bytes!("../../../../samples/EVA20261128100000.txt"),
            ),
        ];
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        let bytes_to_try = [
            b' ', b'0', b'9', b'-', b'+', b'S', b'V', b'X', 0x81, 0xE8, 0x09, 0x7F,
        ];
        let mut errors = Vec::new();
        let mut fast = 0;
        for (flow, file) in files {
            let schema = registry.by_flow(flow).unwrap();
            for line in file.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.is_empty() {
                    continue;
                }
                errors.clear();
                let idx = check_line(&schema, 1, line, &mut errors);
                assert_eq!(check_line_fast(&schema, line), idx, "{flow}");
                fast += 1;
                let mut variants = vec![line.to_vec(), line[..line.len() / 2].to_vec()];
                let mut longer = line.to_vec();
                longer.extend_from_slice(b"   x");
                variants.push(longer);
                for _ in 0..300 {
                    let mut v = line.to_vec();
                    for _ in 0..1 + next() % 3 {
                        let at = (next() % v.len() as u64) as usize;
                        v[at] = bytes_to_try[(next() % bytes_to_try.len() as u64) as usize];
                    }
                    variants.push(v);
                }
                for v in variants {
                    errors.clear();
                    let idx = check_line(&schema, 1, &v, &mut errors);
                    if let Some(fast_idx) = check_line_fast(&schema, &v) {
                        assert_eq!(Some(fast_idx), idx, "{:?}", String::from_utf8_lossy(&v));
                        assert!(errors.is_empty(), "{errors:?}");
                    }
                }
            }
        }
        assert!(fast > 20);
    }
}
