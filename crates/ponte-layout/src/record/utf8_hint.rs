//! Telling a UTF-8 file from one in the schema's single-byte charset.
//!
//! Read as Windows-1252, "più" in UTF-8 is "piÃ¹": every byte is allowed,
//! so nothing else would notice, and the mojibake would reach Magento. A
//! line whose non-ASCII bytes all form valid UTF-8 sequences is taken for
//! UTF-8 when one of them at least is a character Italian text in UTF-8
//! holds: a Latin-1 letter or sign (U+00A0-U+00FF, which "Â" or "Ã" start
//! in Windows-1252) or typographic punctuation and currency (U+2000-U+20CF,
//! "â" and two more). Text really written in Windows-1252 or ISO-8859-15
//! almost never does: an accented letter is one byte followed by ASCII,
//! which is no UTF-8 sequence, and an upper-case accent before a symbol
//! ("È’", valid UTF-8 for U+0212) decodes to none of those characters.
//!
//! Every block of every file goes through here, so the blocks are searched
//! for those three lead bytes with memchr (vectorised), and only the lines
//! holding one are looked at: a Windows-1252 file of Italian text has none.

use super::excerpt::excerpt;
use super::reader::Chunk;
use super::{Charset, FieldRef, RecordError};
use crate::schema::Schema;

/// The chunk's first line that looks like UTF-8, as the error rejecting
/// the file, when the schema's charset is single-byte.
pub fn first_utf8_line(schema: &Schema, chunk: &Chunk) -> Option<RecordError> {
    if !schema.charset.is_single_byte() || !schema.utf8_guard {
        return None;
    }
    let data = chunk.data.as_slice();
    let mut from = 0;
    while let Some(hit) = memchr::memchr3(0xC2, 0xC3, 0xE2, data.get(from..)?) {
        let hit = from + hit;
        let start = memchr::memrchr(b'\n', &data[..hit]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &data[hit..]).map_or(data.len(), |i| hit + i);
        let line = &data[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(at) = utf8_at(line) {
            let before = memchr::memchr_iter(b'\n', &data[..start]).count() as u64;
            return Some(looks_like_utf8(schema, chunk.first_line + before, line, at));
        }
        from = end + 1;
    }
    None
}

/// Where the first telling UTF-8 character of `line` starts, when the whole
/// line is valid UTF-8.
fn utf8_at(line: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(line).ok()?;
    text.char_indices()
        .find(|&(_, c)| matches!(c, '\u{A0}'..='\u{FF}' | '\u{2000}'..='\u{20CF}'))
        .map(|(at, _)| at)
}

/// The error rejecting a file that looks like UTF-8, at the line and field
/// where the first multi-byte sequence `at` was found.
fn looks_like_utf8(schema: &Schema, line: u64, bytes: &[u8], at: usize) -> RecordError {
    let tag_end = (schema.tag_start + schema.tag_len).min(bytes.len());
    let layout = schema
        .record_index(&bytes[schema.tag_start.min(tag_end)..tag_end])
        .and_then(|idx| schema.records.get(idx));
    let field = layout.and_then(|l| {
        l.fields
            .iter()
            .find(|f| f.start <= at && at < f.start + f.len)
    });
    let (span, where_) = match field {
        Some(f) => (
            f.start..(f.start + f.len).min(bytes.len()),
            format!("field {}", f.key),
        ),
        None => (at..bytes.len(), format!("pos {}", at + 1)),
    };
    let found = &bytes[span];
    RecordError {
        line,
        record: layout.map(|l| l.tag.clone()),
        field: field.map(|f| FieldRef {
            key: f.key.clone(),
            pos: f.pos(),
            len: f.len,
        }),
        raw: Some(excerpt(schema.charset, found)),
        message: format!(
            "looks like UTF-8: line {line}, {where_}; set encoding = \"utf-8\" in the schema if it is (the schema says {}; as UTF-8 the field reads {:?})",
            schema.charset.name(),
            excerpt(Charset::Utf8, found).trim_end()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Registry;

    /// The line number and field of the first line of `lines` that looks
    /// like UTF-8 to the built-in (Windows-1252) ARTICOLI schema.
    fn hint(lines: &[&[u8]], first_line: u64) -> Option<(u64, Option<String>)> {
        let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
        let chunk = Chunk {
            data: lines.join(&b"\r\n"[..]),
            first_line,
            offset: 0,
            line_count: lines.len() as u64,
        };
        first_utf8_line(&schema, &chunk).map(|e| (e.line, e.field.map(|f| f.key)))
    }

    fn ar(color: &[u8]) -> Vec<u8> {
        let mut line = format!("AR{:<417}", "SKU-1").into_bytes();
        line.extend_from_slice(color);
        line
    }

    #[test]
    fn utf8_text_is_told_from_windows_1252() {
        let plain = ar(b"Blu");
        let utf8 = ar("Blu più scuro".as_bytes());
        let w1252 = ar(b"Blu pi\xf9 scuro");
        assert_eq!(
            hint(&[&plain, &w1252, &utf8], 7),
            Some((9, Some("color".into())))
        );
        assert_eq!(hint(&[&plain, &w1252], 1), None);
        // "Ã" in Windows-1252 before ASCII: a lead byte, but no UTF-8.
        assert_eq!(hint(&[&ar(b"\xc3 la carte"), &plain], 1), None);
        // One accent in Windows-1252 beside a UTF-8 one: not all valid.
        let mixed = ar(&["più ".as_bytes(), b"citt\xe0"].concat());
        assert_eq!(hint(&[&mixed], 1), None);
        // Typographic quotes and the euro sign, in UTF-8.
        assert_eq!(
            hint(&[&ar("l’una 5 €".as_bytes())], 1).map(|h| h.0),
            Some(1)
        );
        // Windows-1252 "È’" and "ß€" are valid UTF-8 (U+0212, U+07C0), but
        // of no text an ERP writes: Windows-1252 it stays.
        assert_eq!(hint(&[&ar(b"\xc8\x92 \xdf\x80")], 1), None);
    }

    #[test]
    fn a_utf8_schema_is_not_second_guessed() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/articoli.toml"
        ))
        .unwrap()
        .replace("encoding = \"windows-1252\"", "encoding = \"utf-8\"");
        let schema = crate::schema::parse_schema("articoli.toml", &text).unwrap();
        let chunk = Chunk {
            data: ar("Blu più scuro".as_bytes()),
            first_line: 1,
            offset: 0,
            line_count: 1,
        };
        assert!(first_utf8_line(&schema, &chunk).is_none());
    }

    #[test]
    fn a_file_ponte_writes_is_not_guessed_at() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/articoli.toml"
        ))
        .unwrap();
        let chunk = Chunk {
            data: ar("Blu più scuro".as_bytes()),
            first_line: 1,
            offset: 0,
            line_count: 1,
        };
        let guarded = crate::schema::parse_schema("articoli.toml", &text).unwrap();
        assert!(first_utf8_line(&guarded, &chunk).is_some());
        let written = text.replace("globs = ", "utf8_guard = false\nglobs = ");
        let written = crate::schema::parse_schema("articoli.toml", &written).unwrap();
        assert!(first_utf8_line(&written, &chunk).is_none());
    }
}
