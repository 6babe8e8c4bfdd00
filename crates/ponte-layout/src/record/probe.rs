//! The checks a record's fields need once its bytes passed the charset
//! check, worked out once per layout: a field that accepts anything is not
//! visited at all, and runs of adjacent numbers are checked as one.
//!
//! `check_line_fast` runs these on every line of every file; a field's
//! error message is `check_line`'s business, so a probe only says yes or no.

use super::line::{read_field, short_eq, trim_spaces};
use super::Charset;
use crate::schema::{Field, FieldKind};

#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// A required text: some byte that is not a space.
    NotBlank { start: usize, len: usize },
    /// Digits filling the whole range (integers and unsigned decimals, one
    /// or several side by side).
    Digits { start: usize, len: usize },
    /// Digits then `+` or `-`, filling the whole range.
    Signed { start: usize, len: usize },
    /// Blank (when not required) or one of the field's codes.
    Codes { field: usize },
    /// One of two letters.
    Flag { at: usize, yes: u8, no: u8 },
    /// Whatever `read_field` accepts (dates).
    Read { field: usize },
}

/// The probes for a layout's fields, in field order.
pub fn probes(fields: &[Field]) -> Vec<Probe> {
    let mut out: Vec<Probe> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let probe = match &f.kind {
            FieldKind::Text { codes: None } if !f.required => continue,
            FieldKind::Text { codes: None } => Probe::NotBlank {
                start: f.start,
                len: f.len,
            },
            FieldKind::Text { codes: Some(_) } => Probe::Codes { field: i },
            FieldKind::Integer
            | FieldKind::Decimal {
                trailing_sign: false,
                ..
            } => match out.last_mut() {
                Some(Probe::Digits { start, len }) if *start + *len == f.start => {
                    *len += f.len;
                    continue;
                }
                _ => Probe::Digits {
                    start: f.start,
                    len: f.len,
                },
            },
            FieldKind::Decimal {
                trailing_sign: true,
                ..
            } => Probe::Signed {
                start: f.start,
                len: f.len,
            },
            FieldKind::Flag { yes, no } => Probe::Flag {
                at: f.start,
                yes: *yes,
                no: *no,
            },
            FieldKind::Date { .. } => Probe::Read { field: i },
        };
        out.push(probe);
    }
    out
}

/// `start..start + len` of the line, cut short where the line is.
fn cut(bytes: &[u8], start: usize, len: usize) -> &[u8] {
    let end = start.saturating_add(len).min(bytes.len());
    &bytes[start.min(end)..end]
}

/// All digits; written as a fold so that the compiler vectorises it.
fn all_digits(raw: &[u8]) -> bool {
    !raw.is_empty() && raw.iter().fold(true, |ok, b| ok & b.is_ascii_digit())
}

impl Probe {
    /// The bytes this probe looks at, as a range of the line.
    pub fn span(&self, fields: &[Field]) -> std::ops::Range<usize> {
        let of_field = |i: usize| fields.get(i).map_or(0..0, |f| f.start..f.start + f.len);
        match *self {
            Probe::NotBlank { start, len }
            | Probe::Digits { start, len }
            | Probe::Signed { start, len } => start..start + len,
            Probe::Flag { at, .. } => at..at + 1,
            Probe::Codes { field } | Probe::Read { field } => of_field(field),
        }
    }

    /// Whether the field (or fields) this probe stands for would be read
    /// without error from a line whose text bytes are all allowed.
    #[inline]
    pub fn passes(&self, charset: Charset, fields: &[Field], bytes: &[u8]) -> bool {
        match *self {
            Probe::NotBlank { start, len } => cut(bytes, start, len).iter().any(|&b| b != b' '),
            Probe::Digits { start, len } => bytes.get(start..start + len).is_some_and(all_digits),
            Probe::Signed { start, len } => bytes.get(start..start + len).is_some_and(|raw| {
                let (digits, sign) = raw.split_at(len - 1);
                all_digits(digits) && (sign == b"+" || sign == b"-")
            }),
            Probe::Codes { field } => fields.get(field).is_some_and(|f| {
                let text = trim_spaces(cut(bytes, f.start, f.len));
                match &f.kind {
                    FieldKind::Text { codes: Some(codes) } if !text.is_empty() => {
                        codes.iter().any(|c| short_eq(c.as_bytes(), text))
                    }
                    _ => !f.required,
                }
            }),
            Probe::Flag { at, yes, no } => bytes.get(at).is_some_and(|&b| b == yes || b == no),
            Probe::Read { field } => fields
                .get(field)
                .is_some_and(|f| read_field(charset, f, cut(bytes, f.start, f.len)).is_ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Registry;

    #[test]
    fn adjacent_numbers_are_one_probe_and_free_text_none() {
        let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
        let layout = schema.record_by_tag("AR").unwrap();
        let price = layout.field_index("price").unwrap();
        let weight = &layout.fields[layout.field_index("weight").unwrap()];
        let start = layout.fields[price].start;
        assert!(layout.probes.contains(&Probe::Digits {
            start,
            len: weight.start + weight.len - start,
        }));
        // sku, kind, name, price+weight, vat_code, active, changed_on.
        assert_eq!(layout.probes.len(), 7, "{:?}", layout.probes);
    }
}
