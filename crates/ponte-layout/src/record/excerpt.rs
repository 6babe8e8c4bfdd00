//! What a report quotes of a file's bytes: enough to find the place, never
//! the whole of a line that may be megabytes long (a report is read by a
//! person, and written onto the share beside the file).

use super::Charset;

/// Bytes of the file a report quotes at most.
pub const EXCERPT_BYTES: usize = 120;

/// `bytes` decoded for a report: whole when short, else their first
/// [`EXCERPT_BYTES`] (not cutting a UTF-8 character) then how long they are.
pub fn excerpt(charset: Charset, bytes: &[u8]) -> String {
    if bytes.len() <= EXCERPT_BYTES {
        return charset.decode(bytes).into_owned();
    }
    let mut cut = EXCERPT_BYTES;
    if !charset.is_single_byte() {
        // Back to the start of the character the cut falls in (at most
        // three continuation bytes; invalid bytes are shown as such).
        let mut back = 0;
        while back < 3 && cut > 0 && bytes[cut] & 0xC0 == 0x80 {
            cut -= 1;
            back += 1;
        }
    }
    format!("{}… ({} bytes)", charset.decode(&bytes[..cut]), bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_bytes_are_quoted_whole_and_long_ones_cut_with_their_length() {
        assert_eq!(excerpt(Charset::Windows1252, b"0000018,90 "), "0000018,90 ");
        let long = vec![b'x'; 1_100_000];
        let quoted = excerpt(Charset::Windows1252, &long);
        assert_eq!(quoted, format!("{}… (1100000 bytes)", "x".repeat(120)));
    }

    #[test]
    fn a_utf8_character_is_not_cut() {
        let mut bytes = vec![b'a'; 119];
        bytes.extend_from_slice("èèè".as_bytes());
        let quoted = excerpt(Charset::Utf8, &bytes);
        assert_eq!(quoted, format!("{}… (125 bytes)", "a".repeat(119)));
    }
}
