//! Telling a UTF-8 file from one in the schema's single-byte charset.
//!
//! Read as Windows-1252, "più" in UTF-8 is "piÃ¹": every byte is allowed,
//! so nothing else would notice, and the mojibake would reach Magento. A
//! line whose non-ASCII bytes all form valid UTF-8 sequences is taken for
//! UTF-8 when one of them at least is a character an ERP's text holds:
//! a Latin letter or sign (U+00A0-U+017F: what "Ã" "Â" "Ä" "Å" start in
//! Windows-1252) or typographic punctuation and currency (U+2000-U+20CF,
//! "â" then two more). Text really written in Windows-1252 or ISO-8859-15
//! almost never does: an accented letter is one byte followed by ASCII,
//! which is no UTF-8 sequence, and an upper-case accent before a symbol
//! ("È’", valid UTF-8 for U+0212) decodes to none of those characters.

use super::excerpt::excerpt;
use super::{Charset, FieldRef, RecordError};
use crate::schema::Schema;

/// Where the first telling UTF-8 character of `bytes` starts, when the
/// schema's charset is single-byte and the line is valid UTF-8 with one
/// such character at least. Runs on every line: the common line, all
/// ASCII, costs one pass that the compiler vectorises, and a Windows-1252
/// line stops at its first accent.
#[inline]
pub fn utf8_in_single_byte(charset: Charset, bytes: &[u8]) -> Option<usize> {
    if !charset.is_single_byte() || bytes.iter().fold(0u8, |acc, &b| acc | b) < 0x80 {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    text.char_indices()
        .find(|&(_, c)| matches!(c, '\u{A0}'..='\u{17F}' | '\u{2000}'..='\u{20CF}'))
        .map(|(at, _)| at)
}

/// The error rejecting a file that looks like UTF-8, at the line and field
/// where the first multi-byte sequence `at` was found.
pub fn looks_like_utf8(schema: &Schema, line: u64, bytes: &[u8], at: usize) -> RecordError {
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

    const W: Charset = Charset::Windows1252;

    #[test]
    fn utf8_text_is_told_from_windows_1252() {
        assert_eq!(
            utf8_in_single_byte(W, "AR Blu più scuro".as_bytes()),
            Some(9)
        );
        assert_eq!(utf8_in_single_byte(W, b"AR Blu pi\xf9 scuro"), None);
        assert_eq!(utf8_in_single_byte(W, b"AR Caff\xe8 espresso"), None);
        assert_eq!(utf8_in_single_byte(W, b"AR plain ASCII"), None);
        // One accent in Windows-1252 beside a UTF-8 one: not all valid.
        let mixed = ["AR più ".as_bytes(), b"citt\xe0"].concat();
        assert_eq!(utf8_in_single_byte(W, &mixed), None);
        // Typographic quotes and the euro sign, in UTF-8.
        assert_eq!(utf8_in_single_byte(W, "AR l’una 5 €".as_bytes()), Some(4));
        // Windows-1252 "È’" and "ß€" are valid UTF-8 (U+0212, U+07C0), but
        // of no text an ERP writes: Windows-1252 it stays.
        assert_eq!(utf8_in_single_byte(W, b"AR \xc8\x92 \xdf\x80"), None);
        assert_eq!(
            utf8_in_single_byte(Charset::Utf8, "AR più".as_bytes()),
            None
        );
        assert_eq!(
            utf8_in_single_byte(Charset::Iso8859_15, "AR più".as_bytes()),
            Some(5)
        );
    }
}
