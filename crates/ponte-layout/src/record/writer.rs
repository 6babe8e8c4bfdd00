//! Records to fixed width: text left-aligned and space-padded, numbers
//! right-aligned and zero-padded with implied decimals and their sign, dates
//! in the field's format, encoded in the schema's charset. Text the charset
//! cannot hold is transliterated and text too long is cut at the field's
//! length: an order is never refused over a name. Numbers that do not fit are
//! errors: a wrong amount is worse than none.

use std::io::Write;

use super::{Decimal, Value};
use crate::schema::{Date, Field, FieldKind, RecordLayout, Schema};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("record type {0:?} is not in the {1} schema")]
    UnknownRecord(String, String),
    #[error("record {record} field {field}: {message}")]
    Field {
        record: String,
        field: String,
        message: String,
    },
    #[error("record {record}: no field {field:?}")]
    UnknownField { record: String, field: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Lays out one record (without line ending). Fields not given are blank,
/// zero or none; a required field not given is an error.
pub fn format_record(
    schema: &Schema,
    tag: &str,
    values: &[(&str, Value)],
) -> Result<Vec<u8>, WriteError> {
    let layout = schema
        .record_by_tag(tag)
        .ok_or_else(|| WriteError::UnknownRecord(tag.to_string(), schema.flow.clone()))?;
    for (key, _) in values {
        if layout.field_index(key).is_none() {
            return Err(WriteError::UnknownField {
                record: tag.to_string(),
                field: key.to_string(),
            });
        }
    }
    let mut line = Vec::with_capacity(schema.record_length + 8);
    let mut width = 0usize;
    let mut fields: Vec<&Field> = layout.fields.iter().collect();
    fields.sort_by_key(|f| f.start);
    let pad_to = |line: &mut Vec<u8>, width: &mut usize, col: usize| {
        while *width < col {
            line.push(b' ');
            *width += 1;
        }
    };
    pad_to(&mut line, &mut width, schema.tag_start);
    line.extend_from_slice(&layout.tag_bytes);
    width += schema.tag_len;
    for field in fields {
        pad_to(&mut line, &mut width, field.start);
        let value = values.iter().find(|(k, _)| *k == field.key).map(|(_, v)| v);
        let cell = format_field(schema, layout, field, value)?;
        line.extend_from_slice(&cell);
        width += field.len;
    }
    pad_to(&mut line, &mut width, schema.record_length);
    Ok(line)
}

/// One field laid out as the file holds it (`12.50` in a dec 2 field of
/// 11 becomes `00000001250`).
pub fn format_field(
    schema: &Schema,
    layout: &RecordLayout,
    field: &Field,
    value: Option<&Value>,
) -> Result<Vec<u8>, WriteError> {
    let fail = |message: String| WriteError::Field {
        record: layout.tag.clone(),
        field: field.key.clone(),
        message,
    };
    let mut out = Vec::with_capacity(field.len);
    match (&field.kind, value) {
        (_, None) | (_, Some(Value::None)) => {
            if field.required {
                return Err(fail("a value is required".into()));
            }
            match &field.kind {
                FieldKind::Text { .. } => out.resize(field.len, b' '),
                FieldKind::Integer => out.resize(field.len, b'0'),
                FieldKind::Decimal { trailing_sign, .. } => {
                    write_decimal(&mut out, field.len, 0, *trailing_sign);
                }
                FieldKind::Date { none, .. } => match none.first() {
                    Some(n) => {
                        out.extend_from_slice(n.as_bytes());
                        out.resize(field.len, b' ');
                    }
                    None => return Err(fail("a date is required".into())),
                },
                FieldKind::Flag { no, .. } => out.push(*no),
            }
        }
        (FieldKind::Text { codes }, Some(Value::Text(text))) => {
            let text = text.trim();
            if field.required && text.is_empty() {
                return Err(fail("a value is required".into()));
            }
            if let Some(codes) = codes {
                if !text.is_empty() && !codes.iter().any(|c| c == text) {
                    return Err(fail(format!("{text:?} is not one of {}", codes.join(", "))));
                }
            }
            write_text(schema, text, field.len, &mut out);
            // Control characters become spaces: a required field of nothing
            // else would be blank, and the reader would refuse the file.
            if field.required && out.iter().all(|&b| b == b' ') {
                return Err(fail("a value is required".into()));
            }
        }
        (FieldKind::Integer, Some(Value::Integer(n))) => {
            if *n < 0 {
                return Err(fail(format!("{n} is negative; the field has no sign")));
            }
            let digits = n.to_string();
            if digits.len() > field.len {
                return Err(fail(format!("{n} does not fit {} digits", field.len)));
            }
            out.resize(field.len - digits.len(), b'0');
            out.extend_from_slice(digits.as_bytes());
        }
        (
            FieldKind::Decimal {
                scale,
                trailing_sign,
            },
            Some(Value::Decimal(d)),
        ) => {
            let units = rescale(*d, *scale)
                .ok_or_else(|| fail(format!("{d} has more than {scale} decimals")))?;
            if units < 0 && !trailing_sign {
                return Err(fail(format!("{d} is negative; the field has no sign")));
            }
            let digits = field.len - usize::from(*trailing_sign);
            if units.unsigned_abs().to_string().len() > digits {
                return Err(fail(format!(
                    "{d} does not fit {digits} digits with {scale} decimals"
                )));
            }
            write_decimal(&mut out, field.len, units, *trailing_sign);
        }
        (FieldKind::Date { format, .. }, Some(Value::Date(d))) => {
            if !d.is_valid() {
                return Err(fail(format!("{d:?} is not a date")));
            }
            let d = Date {
                has_time: format.has_time,
                ..*d
            };
            format.write(&d, &mut out);
        }
        (FieldKind::Flag { yes, no }, Some(Value::Flag(b))) => {
            out.push(if *b { *yes } else { *no })
        }
        (kind, Some(other)) => {
            return Err(fail(format!(
                "a {} field cannot hold {other:?}",
                kind.type_name()
            )));
        }
    }
    Ok(out)
}

fn rescale(d: Decimal, scale: u8) -> Option<i64> {
    if d.scale > scale {
        let factor = 10i64.checked_pow((d.scale - scale) as u32)?;
        return (d.units % factor == 0).then_some(d.units / factor);
    }
    d.units
        .checked_mul(10i64.checked_pow((scale - d.scale) as u32)?)
}

fn write_decimal(out: &mut Vec<u8>, len: usize, units: i64, trailing_sign: bool) {
    let digits = len - usize::from(trailing_sign);
    let text = units.unsigned_abs().to_string();
    out.resize(out.len() + digits.saturating_sub(text.len()), b'0');
    out.extend_from_slice(text.as_bytes());
    if trailing_sign {
        out.push(if units < 0 { b'-' } else { b'+' });
    }
}

/// Encodes, cuts to `len` characters and pads with spaces.
fn write_text(schema: &Schema, text: &str, len: usize, out: &mut Vec<u8>) {
    let charset = schema.charset;
    let mut encoded = Vec::with_capacity(len);
    charset.encode_lossy(text, &mut encoded);
    if charset.is_single_byte() {
        encoded.truncate(len);
        // A cut can leave a trailing space that a reader would trim anyway.
        out.extend_from_slice(&encoded);
        out.resize(len, b' ');
    } else {
        let s = String::from_utf8_lossy(&encoded);
        let cut: String = s.chars().take(len).collect();
        let n = cut.chars().count();
        out.extend_from_slice(cut.as_bytes());
        out.extend(std::iter::repeat_n(b' ', len - n));
    }
}

/// Writes a whole file: header, records, and the trailer with its count.
pub struct FileWriter<'s, W: Write> {
    schema: &'s Schema,
    out: W,
    counted: u64,
}

impl<'s, W: Write> FileWriter<'s, W> {
    /// Starts a file with its header.
    pub fn new(
        schema: &'s Schema,
        mut out: W,
        exported_at: Date,
        mode: crate::schema::Mode,
        company: &str,
    ) -> Result<Self, WriteError> {
        let h = &schema.header;
        let layout = &schema.records[h.record];
        let mode_code = match mode {
            crate::schema::Mode::Complete => &h.complete_code,
            crate::schema::Mode::Changes => &h.changes_code,
        };
        let mut values = vec![
            (
                layout.fields[h.flow_field].key.as_str(),
                Value::Text(schema.flow.clone()),
            ),
            (
                layout.fields[h.timestamp_field].key.as_str(),
                Value::Date(exported_at),
            ),
            (
                layout.fields[h.mode_field].key.as_str(),
                Value::Text(mode_code.clone()),
            ),
        ];
        if layout.field_index("company").is_some() {
            values.push(("company", Value::Text(company.to_string())));
        }
        let line = format_record(schema, &layout.tag, &values)?;
        out.write_all(&line)?;
        out.write_all(b"\r\n")?;
        Ok(FileWriter {
            schema,
            out,
            counted: 0,
        })
    }

    pub fn record(&mut self, tag: &str, values: &[(&str, Value)]) -> Result<(), WriteError> {
        let line = format_record(self.schema, tag, values)?;
        if let Some(idx) = self.schema.record_index(tag.as_bytes()) {
            if self.schema.trailer.counts.contains(&idx) {
                self.counted += 1;
            }
        }
        self.out.write_all(&line)?;
        self.out.write_all(b"\r\n")?;
        Ok(())
    }

    /// Writes the trailer and hands back the output.
    pub fn finish(mut self) -> Result<W, WriteError> {
        let t = &self.schema.trailer;
        let layout = &self.schema.records[t.record];
        let count = i64::try_from(self.counted).unwrap_or(i64::MAX);
        let line = format_record(
            self.schema,
            &layout.tag,
            &[(
                layout.fields[t.count_field].key.as_str(),
                Value::Integer(count),
            )],
        )?;
        self.out.write_all(&line)?;
        self.out.write_all(b"\r\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
