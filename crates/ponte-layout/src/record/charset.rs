//! The character sets interchange files come in.
//!
//! In a single-byte charset a character position is a byte position, so the
//! parser slices first and decodes only the fields it needs. The byte tables
//! are derived from encoding_rs once, so ponte and encoding_rs never disagree.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use encoding_rs::Encoding;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Windows1252,
    Iso8859_15,
    Utf8,
}

struct ByteTable {
    decode: [char; 256],
    /// Bytes a text field may hold: no control characters, nothing undefined.
    allowed: [bool; 256],
    /// Every byte from 0xA0 up is allowed, as in both single-byte charsets
    /// ponte reads: then only C0, DEL and C1 bytes need the table.
    high_allowed: bool,
    encode: HashMap<char, u8>,
}

fn build_table(encoding: &'static Encoding, undefined: &[u8]) -> ByteTable {
    let mut decode = [' '; 256];
    let mut allowed = [false; 256];
    let mut encode = HashMap::new();
    for b in 0..=255u8 {
        let one = [b];
        let (text, _) = encoding.decode_without_bom_handling(&one);
        let c = text.chars().next().unwrap_or('\u{FFFD}');
        decode[b as usize] = c;
        let usable = !c.is_control() && c != '\u{FFFD}' && !undefined.contains(&b);
        allowed[b as usize] = usable;
        if usable {
            encode.insert(c, b);
        }
    }
    let high_allowed = allowed[0xA0..].iter().all(|&a| a) && allowed[0x20..0x7F].iter().all(|&a| a);
    ByteTable {
        decode,
        allowed,
        high_allowed,
        encode,
    }
}

fn windows_1252() -> &'static ByteTable {
    static T: OnceLock<ByteTable> = OnceLock::new();
    // WHATWG maps these five to C1 controls; Microsoft's code page leaves them undefined.
    T.get_or_init(|| build_table(encoding_rs::WINDOWS_1252, &[0x81, 0x8D, 0x8F, 0x90, 0x9D]))
}

fn iso_8859_15() -> &'static ByteTable {
    static T: OnceLock<ByteTable> = OnceLock::new();
    T.get_or_init(|| build_table(encoding_rs::ISO_8859_15, &[]))
}

/// Whether any byte is a C0 control, DEL or in the C1 range 0x80-0x9F:
/// outside these, a single-byte charset's bytes are all printable. A fold,
/// so that the compiler vectorises it.
#[inline]
fn any_control_or_c1(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(false, |acc, &b| acc | ((b & 0x7F) < 0x20) | (b == 0x7F))
}

/// Whether any byte is a control character or not ASCII; written as a fold
/// so that the compiler vectorises it.
#[inline]
pub(crate) fn outside_printable_ascii(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(false, |acc, &b| acc | (b.wrapping_sub(0x20) > 0x5E))
}

impl Charset {
    pub fn from_label(label: &str) -> Option<Charset> {
        match Encoding::for_label(label.trim().as_bytes())? {
            // WHATWG also reads `latin1` as windows-1252, its superset.
            e if e == encoding_rs::WINDOWS_1252 => Some(Charset::Windows1252),
            e if e == encoding_rs::ISO_8859_15 => Some(Charset::Iso8859_15),
            e if e == encoding_rs::UTF_8 => Some(Charset::Utf8),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Charset::Windows1252 => "windows-1252",
            Charset::Iso8859_15 => "iso-8859-15",
            Charset::Utf8 => "utf-8",
        }
    }

    pub fn is_single_byte(self) -> bool {
        !matches!(self, Charset::Utf8)
    }

    /// How many characters `bytes` hold (bytes that do not continue a
    /// UTF-8 character, in UTF-8).
    pub fn char_count(self, bytes: &[u8]) -> usize {
        if self.is_single_byte() {
            bytes.len()
        } else {
            bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
        }
    }

    fn table(self) -> Option<&'static ByteTable> {
        match self {
            Charset::Windows1252 => Some(windows_1252()),
            Charset::Iso8859_15 => Some(iso_8859_15()),
            Charset::Utf8 => None,
        }
    }

    /// Decodes field bytes; lossless for every byte a valid field may hold.
    pub fn decode<'a>(self, bytes: &'a [u8]) -> Cow<'a, str> {
        match self.table() {
            Some(_) if bytes.is_ascii() => Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or("")),
            Some(t) => Cow::Owned(bytes.iter().map(|&b| t.decode[b as usize]).collect()),
            None => String::from_utf8_lossy(bytes),
        }
    }

    /// The first byte in a text field that has no business there, if any.
    /// Runs on every text byte of every record, so printable ASCII, the common
    /// case, is checked in a loop the compiler vectorises.
    pub fn first_bad_text_byte(self, bytes: &[u8]) -> Option<usize> {
        match self.table() {
            // Accented letters are common in Italian text: look bytes up in
            // the table only in the 16-byte pieces that are not all printable
            // ASCII, rather than byte by byte over the whole field.
            // Accented letters (0xE0 and up) are the common case: one pass
            // tells whether any byte could be refused at all.
            Some(t) if t.high_allowed && !any_control_or_c1(bytes) => None,
            Some(t) => {
                const PIECE: usize = 16;
                let mut pieces = bytes.chunks_exact(PIECE);
                for (i, piece) in pieces.by_ref().enumerate() {
                    if outside_printable_ascii(piece) {
                        if let Some(at) = piece.iter().position(|&b| !t.allowed[b as usize]) {
                            return Some(i * PIECE + at);
                        }
                    }
                }
                let tail = pieces.remainder();
                if !outside_printable_ascii(tail) {
                    return None;
                }
                let base = bytes.len() - tail.len();
                tail.iter()
                    .position(|&b| !t.allowed[b as usize])
                    .map(|at| base + at)
            }
            None if !outside_printable_ascii(bytes) => None,
            None => match std::str::from_utf8(bytes) {
                Err(e) => Some(e.valid_up_to()),
                Ok(s) => s
                    .char_indices()
                    .find(|(_, c)| c.is_control())
                    .map(|(i, _)| i),
            },
        }
    }

    /// Encodes text that is known to fit; characters the charset cannot hold
    /// become readable ASCII (`€` stays, `✓` becomes something like `v`),
    /// never an error, because an order must never be dropped over a name.
    pub fn encode_lossy(self, text: &str, out: &mut Vec<u8>) {
        match self.table() {
            None => {
                for c in text.chars() {
                    if c.is_control() {
                        out.push(b' ');
                    } else {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
            Some(t) => {
                for c in text.chars() {
                    if let Some(&b) = t.encode.get(&c) {
                        out.push(b);
                    } else {
                        out.extend(transliterate(c).bytes());
                    }
                }
            }
        }
    }

    /// How many characters `text` becomes once encoded with `encode_lossy`.
    pub fn encoded_width(self, text: &str) -> usize {
        match self.table() {
            None => text.chars().count(),
            Some(t) => text
                .chars()
                .map(|c| {
                    if t.encode.contains_key(&c) {
                        1
                    } else {
                        transliterate(c).len()
                    }
                })
                .sum(),
        }
    }

    /// Replaces what the charset cannot hold, keeping what it can.
    pub fn fit_text(self, text: &str) -> String {
        let mut out = Vec::with_capacity(text.len());
        self.encode_lossy(text, &mut out);
        self.decode(&out).into_owned()
    }
}

/// ASCII for one character a single-byte charset cannot hold.
fn transliterate(c: char) -> String {
    if c.is_control() {
        return " ".to_string();
    }
    match deunicode::deunicode_char(c) {
        Some(s) if !s.is_empty() && s.bytes().all(|b| (0x20..0x7F).contains(&b)) => s.to_string(),
        _ => "?".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_keeps_accents_and_euro() {
        let mut out = Vec::new();
        Charset::Windows1252.encode_lossy("Perché 5€", &mut out);
        assert_eq!(out, b"Perch\xe9 5\x80");
        assert_eq!(Charset::Windows1252.decode(&out), "Perché 5€");
    }

    #[test]
    fn unencodable_text_is_transliterated_not_refused() {
        let fitted = Charset::Windows1252.fit_text("Zoë 🦄 北京");
        assert!(fitted.starts_with("Zoë "), "{fitted}");
        assert!(fitted.is_ascii() || fitted.chars().all(|c| c == 'ë' || c.is_ascii()));
        assert!(!fitted.contains('?') || fitted.len() > 5);
        assert!(fitted.contains("Bei"), "{fitted}");
    }

    #[test]
    fn control_and_undefined_bytes_are_bad_text() {
        let cs = Charset::Windows1252;
        assert_eq!(cs.first_bad_text_byte(b"plain text"), None);
        assert_eq!(cs.first_bad_text_byte(b"caff\xe8"), None);
        assert_eq!(cs.first_bad_text_byte(b"ab\tc"), Some(2));
        assert_eq!(cs.first_bad_text_byte(b"ab\x81"), Some(2));
        assert_eq!(Charset::Iso8859_15.first_bad_text_byte(b"\x80"), Some(0));
        assert_eq!(Charset::Utf8.first_bad_text_byte(b"caf\xc3"), Some(3));
    }

    #[test]
    fn labels() {
        assert_eq!(Charset::from_label("cp1252"), Some(Charset::Windows1252));
        assert_eq!(
            Charset::from_label("ISO-8859-15"),
            Some(Charset::Iso8859_15)
        );
        assert_eq!(Charset::from_label("utf-8"), Some(Charset::Utf8));
        assert_eq!(Charset::from_label("shift_jis"), None);
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn the_quick_pass_refuses_exactly_what_the_table_refuses() {
        for cs in [Charset::Windows1252, Charset::Iso8859_15] {
            let Some(t) = cs.table() else { continue };
            assert!(t.high_allowed);
            for b in 0..=255u8 {
                for len in [1usize, 5, 16, 17, 40] {
                    for at in [0, len / 2, len - 1] {
                        let mut bytes = vec![0xE8u8; len];
                        bytes[at] = b;
                        let want = bytes.iter().position(|&c| !t.allowed[c as usize]);
                        assert_eq!(cs.first_bad_text_byte(&bytes), want, "{cs:?} {b:#04x}");
                    }
                }
            }
        }
    }
}
