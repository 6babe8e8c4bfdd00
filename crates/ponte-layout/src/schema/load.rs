//! TOML to a validated `Schema`. Every mistake in a schema file is reported
//! with the file and the record/field it concerns, because the people who edit
//! schemas are integrators, not the authors of ponte.

use std::collections::HashSet;

use serde::Deserialize;

use super::{DateFormat, Field, FieldKind, HeaderRule, Limits, RecordLayout, Schema, TrailerRule};
use crate::record::Charset;

#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct SchemaError {
    pub source_name: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaFile {
    flow: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_encoding")]
    encoding: String,
    record_length: usize,
    globs: Vec<String>,
    #[serde(default)]
    requires_ok_marker: bool,
    #[serde(default = "default_true")]
    utf8_guard: bool,
    #[serde(default = "default_tag")]
    record_type: TagSpec,
    header: HeaderSpec,
    trailer: TrailerSpec,
    #[serde(default)]
    limits: LimitsSpec,
    #[serde(rename = "record")]
    records: Vec<RecordSpec>,
}

fn default_true() -> bool {
    true
}

fn default_encoding() -> String {
    "windows-1252".to_string()
}

fn default_tag() -> TagSpec {
    TagSpec { pos: 1, len: 2 }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagSpec {
    pos: usize,
    len: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderSpec {
    record: String,
    flow_field: String,
    timestamp_field: String,
    mode_field: String,
    #[serde(default = "default_complete")]
    complete: String,
    #[serde(default = "default_changes")]
    changes: String,
}

fn default_complete() -> String {
    "C".to_string()
}
fn default_changes() -> String {
    "V".to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrailerSpec {
    record: String,
    count_field: String,
    counts: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LimitsSpec {
    #[serde(default)]
    max_bad_records: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordSpec {
    #[serde(rename = "type")]
    tag: String,
    #[serde(default)]
    description: String,
    fields: Vec<FieldSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSpec {
    key: String,
    pos: usize,
    len: usize,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    required: bool,
    scale: Option<u8>,
    sign: Option<String>,
    format: Option<String>,
    none: Option<Vec<String>>,
    codes: Option<Vec<String>>,
    yes: Option<String>,
    no: Option<String>,
}

/// Widest numeric field whose value always fits an `i64`.
const MAX_DIGITS: usize = 18;

pub fn parse_schema(source_name: &str, text: &str) -> Result<Schema, SchemaError> {
    let fail = |message: String| SchemaError {
        source_name: source_name.to_string(),
        message,
    };
    let spec: SchemaFile = toml::from_str(text).map_err(|e| fail(e.to_string()))?;

    let charset = Charset::from_label(&spec.encoding).ok_or_else(|| {
        fail(format!(
            "encoding {:?} is not supported (windows-1252, iso-8859-15, utf-8)",
            spec.encoding
        ))
    })?;
    if spec.record_length == 0 {
        return Err(fail("record_length must be positive".into()));
    }
    if spec.globs.is_empty() {
        return Err(fail(
            "globs: at least one file-name pattern is needed".into(),
        ));
    }
    let globs = spec
        .globs
        .iter()
        .map(|g| glob::Pattern::new(g).map_err(|e| fail(format!("globs: {g:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if spec.record_type.pos == 0
        || spec.record_type.len == 0
        || spec.record_type.pos - 1 + spec.record_type.len > spec.record_length
    {
        return Err(fail(format!(
            "record_type: pos {} len {} does not fit the record length {}",
            spec.record_type.pos, spec.record_type.len, spec.record_length
        )));
    }
    let tag_start = spec.record_type.pos - 1;
    let tag_len = spec.record_type.len;

    let mut records = Vec::new();
    let mut tags = HashSet::new();
    for r in &spec.records {
        if r.tag.chars().count() != tag_len || !r.tag.is_ascii() {
            return Err(fail(format!(
                "record {:?}: the type must be {tag_len} ASCII characters",
                r.tag
            )));
        }
        if !tags.insert(r.tag.clone()) {
            return Err(fail(format!("record {:?} is defined twice", r.tag)));
        }
        let fields = r
            .fields
            .iter()
            .map(|f| build_field(f, spec.record_length, tag_start, tag_len))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|m| fail(format!("record {}: {m}", r.tag)))?;
        check_overlaps(&fields).map_err(|m| fail(format!("record {}: {m}", r.tag)))?;
        records.push(RecordLayout {
            tag: r.tag.clone(),
            tag_bytes: r.tag.as_bytes().to_vec(),
            description: r.description.clone(),
            probes: crate::record::probe::probes(&fields),
            fields,
        });
    }

    let find_record = |role: &str, tag: &str| {
        records
            .iter()
            .position(|r| r.tag == tag)
            .ok_or_else(|| fail(format!("{role}: record {tag:?} is not defined")))
    };
    let find_field = |role: &str, rec: usize, key: &str| {
        records[rec].field_index(key).ok_or_else(|| {
            fail(format!(
                "{role}: record {} has no field {key:?}",
                records[rec].tag
            ))
        })
    };

    let header_record = find_record("header", &spec.header.record)?;
    let header = HeaderRule {
        record: header_record,
        flow_field: find_field("header.flow_field", header_record, &spec.header.flow_field)?,
        timestamp_field: find_field(
            "header.timestamp_field",
            header_record,
            &spec.header.timestamp_field,
        )?,
        mode_field: find_field("header.mode_field", header_record, &spec.header.mode_field)?,
        complete_code: spec.header.complete.clone(),
        changes_code: spec.header.changes.clone(),
    };
    let ts = &records[header_record].fields[header.timestamp_field];
    if !matches!(ts.kind, FieldKind::Date { .. }) {
        return Err(fail(format!(
            "header.timestamp_field: field {:?} must be of type date",
            ts.key
        )));
    }
    let trailer_record = find_record("trailer", &spec.trailer.record)?;
    if trailer_record == header_record {
        return Err(fail("header and trailer must be different records".into()));
    }
    let count_field = find_field(
        "trailer.count_field",
        trailer_record,
        &spec.trailer.count_field,
    )?;
    if records[trailer_record].fields[count_field].kind != FieldKind::Integer {
        return Err(fail(format!(
            "trailer.count_field: field {:?} must be of type integer",
            spec.trailer.count_field
        )));
    }
    let mut counts = Vec::new();
    for tag in &spec.trailer.counts {
        let idx = find_record("trailer.counts", tag)?;
        if idx == header_record || idx == trailer_record {
            return Err(fail(format!(
                "trailer.counts: {tag:?} is the header or the trailer"
            )));
        }
        counts.push(idx);
    }
    if counts.is_empty() {
        return Err(fail(
            "trailer.counts: name the detail records the trailer counts".into(),
        ));
    }
    let detail_records = (0..records.len())
        .filter(|&i| i != header_record && i != trailer_record)
        .collect();

    Ok(Schema {
        flow: spec.flow,
        source: source_name.to_string(),
        description: spec.description,
        charset,
        record_length: spec.record_length,
        globs,
        requires_ok_marker: spec.requires_ok_marker,
        utf8_guard: spec.utf8_guard,
        tag_start,
        tag_len,
        records,
        header,
        trailer: TrailerRule {
            record: trailer_record,
            count_field,
            counts,
        },
        detail_records,
        limits: Limits {
            max_bad_records: spec.limits.max_bad_records,
        },
    })
}

fn build_field(
    f: &FieldSpec,
    record_length: usize,
    tag_start: usize,
    tag_len: usize,
) -> Result<Field, String> {
    let at = |m: String| format!("field {:?}: {m}", f.key);
    if f.key.is_empty() || f.key == "record" {
        return Err(at("the key must be non-empty and not \"record\"".into()));
    }
    if f.pos == 0 || f.len == 0 {
        return Err(at("pos and len start at 1".into()));
    }
    let start = f.pos - 1;
    if start + f.len > record_length {
        return Err(at(format!(
            "pos {} len {} ends at {}, past the record length {record_length}",
            f.pos,
            f.len,
            start + f.len
        )));
    }
    if start < tag_start + tag_len && tag_start < start + f.len {
        return Err(at(format!(
            "pos {} len {} overlaps the record type at {}..{}",
            f.pos,
            f.len,
            tag_start + 1,
            tag_start + tag_len
        )));
    }
    let allowed: &[&str] = match f.kind.as_str() {
        "text" => &["codes"],
        "integer" => &[],
        "decimal" => &["scale", "sign"],
        "date" => &["format", "none"],
        "flag" => &["yes", "no"],
        other => {
            return Err(at(format!(
                "unknown type {other:?} (text, integer, decimal, date, flag)"
            )))
        }
    };
    let present = [
        ("scale", f.scale.is_some()),
        ("sign", f.sign.is_some()),
        ("format", f.format.is_some()),
        ("none", f.none.is_some()),
        ("codes", f.codes.is_some()),
        ("yes", f.yes.is_some()),
        ("no", f.no.is_some()),
    ];
    for (name, is_set) in present {
        if is_set && !allowed.contains(&name) {
            return Err(at(format!("{name:?} does not apply to type {}", f.kind)));
        }
    }
    let kind = match f.kind.as_str() {
        "text" => {
            if let Some(codes) = &f.codes {
                if codes.is_empty() {
                    return Err(at("codes is empty".into()));
                }
                for c in codes {
                    if !c.is_ascii() || c.len() > f.len || c.trim() != c || c.is_empty() {
                        return Err(at(format!(
                            "code {c:?} must be 1 to {} ASCII characters without spaces around",
                            f.len
                        )));
                    }
                }
            }
            FieldKind::Text {
                codes: f.codes.clone(),
            }
        }
        "integer" => {
            if f.len > MAX_DIGITS {
                return Err(at(format!("integers are at most {MAX_DIGITS} digits")));
            }
            FieldKind::Integer
        }
        "decimal" => {
            let trailing_sign = match f.sign.as_deref() {
                None | Some("none") => false,
                Some("trailing") => true,
                Some(other) => {
                    return Err(at(format!("sign {other:?}: use \"trailing\" or \"none\"")))
                }
            };
            let digits = f.len - usize::from(trailing_sign);
            if digits == 0 || digits > MAX_DIGITS {
                return Err(at(format!("a decimal has 1 to {MAX_DIGITS} digits")));
            }
            let scale = f.scale.unwrap_or(0);
            if scale as usize > digits {
                return Err(at(format!(
                    "scale {scale} is more than its {digits} digits"
                )));
            }
            FieldKind::Decimal {
                scale,
                trailing_sign,
            }
        }
        "date" => {
            let format =
                DateFormat::parse(f.format.as_deref().unwrap_or("YYYYMMDD")).map_err(at)?;
            if format.width != f.len {
                return Err(at(format!(
                    "format {:?} is {} characters wide, the field {}",
                    format.text, format.width, f.len
                )));
            }
            let none = f
                .none
                .clone()
                .unwrap_or_else(|| vec!["0".repeat(f.len), String::new()]);
            FieldKind::Date { format, none }
        }
        "flag" => {
            if f.len != 1 {
                return Err(at("a flag is 1 character".into()));
            }
            let one = |s: &Option<String>, default: u8| -> Result<u8, String> {
                match s {
                    None => Ok(default),
                    Some(s) if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
                    Some(s) => Err(at(format!("flag value {s:?} must be one ASCII character"))),
                }
            };
            let yes = one(&f.yes, b'S')?;
            let no = one(&f.no, b'N')?;
            if yes == no {
                return Err(at("yes and no must differ".into()));
            }
            FieldKind::Flag { yes, no }
        }
        _ => unreachable!("type checked above"),
    };
    Ok(Field {
        key: f.key.clone(),
        start,
        len: f.len,
        kind,
        required: f.required,
    })
}

fn check_overlaps(fields: &[Field]) -> Result<(), String> {
    let mut keys = HashSet::new();
    for f in fields {
        if !keys.insert(f.key.as_str()) {
            return Err(format!("field {:?} is defined twice", f.key));
        }
    }
    let mut by_start: Vec<&Field> = fields.iter().collect();
    by_start.sort_by_key(|f| f.start);
    for pair in by_start.windows(2) {
        if pair[1].start < pair[0].end() {
            return Err(format!(
                "field {:?} (pos {} len {}) overlaps field {:?} (pos {} len {})",
                pair[1].key,
                pair[1].pos(),
                pair[1].len,
                pair[0].key,
                pair[0].pos(),
                pair[0].len
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
flow = "TEST"
record_length = 40
globs = ["TST*.txt"]
[header]
record = "TE"
flow_field = "flow"
timestamp_field = "exported_at"
mode_field = "mode"
[trailer]
record = "CO"
count_field = "count"
counts = ["XX"]
[[record]]
type = "TE"
fields = [
  { key = "flow", pos = 3, len = 10, type = "text" },
  { key = "exported_at", pos = 13, len = 14, type = "date", format = "YYYYMMDDhhmmss" },
  { key = "mode", pos = 27, len = 1, type = "text", codes = ["C", "V"] },
]
[[record]]
type = "CO"
fields = [{ key = "count", pos = 3, len = 9, type = "integer" }]
[[record]]
type = "XX"
fields = [
  { key = "a", pos = 3, len = 5, type = "text" },
  { key = "b", pos = 8, len = 5, type = "decimal", scale = 2 },
]
"#;

    fn with_detail(fields: &str) -> String {
        let head = MINIMAL.split("[[record]]\ntype = \"XX\"").next().unwrap();
        format!("{head}[[record]]\ntype = \"XX\"\nfields = [{fields}]\n")
    }

    fn error_of(text: &str) -> String {
        parse_schema("schemas/test.toml", text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn minimal_schema_loads() {
        let s = parse_schema("t", MINIMAL).unwrap();
        assert_eq!(s.records.len(), 3);
        assert_eq!(s.detail_records, vec![2]);
        assert!(s.claims("TST20261128.txt"));
        assert!(s.claims("tst20261128.TXT"));
        assert!(!s.claims("ART20261128.txt"));
    }

    #[test]
    fn overlapping_fields_are_named() {
        let e = error_of(&with_detail(
            r#"{ key = "a", pos = 3, len = 6, type = "text" }, { key = "b", pos = 8, len = 5, type = "integer" }"#,
        ));
        assert!(
            e.starts_with("schemas/test.toml: record XX: field \"b\""),
            "{e}"
        );
        assert!(e.contains("overlaps field \"a\""), "{e}");
    }

    #[test]
    fn field_past_record_length_is_named() {
        let e = error_of(&with_detail(
            r#"{ key = "far", pos = 38, len = 5, type = "text" }"#,
        ));
        assert!(
            e.contains("field \"far\"") && e.contains("past the record length 40"),
            "{e}"
        );
    }

    #[test]
    fn unknown_type_is_named() {
        let e = error_of(&with_detail(
            r#"{ key = "x", pos = 3, len = 5, type = "money" }"#,
        ));
        assert!(e.contains("field \"x\": unknown type \"money\""), "{e}");
    }

    #[test]
    fn duplicate_keys_are_named() {
        let e = error_of(&with_detail(
            r#"{ key = "x", pos = 3, len = 5, type = "text" }, { key = "x", pos = 9, len = 5, type = "text" }"#,
        ));
        assert!(e.contains("field \"x\" is defined twice"), "{e}");
    }

    #[test]
    fn unknown_keys_and_misplaced_attributes_are_refused() {
        let e = error_of(&with_detail(
            r#"{ key = "x", pos = 3, len = 5, type = "text", scale = 2 }"#,
        ));
        assert!(e.contains("\"scale\" does not apply to type text"), "{e}");
        let e = error_of(&with_detail(
            r#"{ key = "x", pos = 3, len = 5, type = "text", colour = 2 }"#,
        ));
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn trailer_must_count_defined_records() {
        let e = error_of(&MINIMAL.replace("counts = [\"XX\"]", "counts = [\"ZZ\"]"));
        assert!(
            e.contains("trailer.counts: record \"ZZ\" is not defined"),
            "{e}"
        );
    }

    #[test]
    fn date_width_must_match_field() {
        let e = error_of(&with_detail(
            r#"{ key = "d", pos = 3, len = 6, type = "date" }"#,
        ));
        assert!(
            e.contains("field \"d\"") && e.contains("8 characters wide"),
            "{e}"
        );
    }
}
