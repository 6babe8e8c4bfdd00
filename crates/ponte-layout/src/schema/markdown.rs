//! A schema as Markdown tables: the generated half of `docs/file-contract.md`
//! and the output of `ponte schemas --markdown`. The document's tables are
//! checked against this output (tests/file_contract.rs), so that the contract
//! people read is the one ponte enforces.

use std::fmt::Write;

use super::{Field, FieldKind, RecordLayout, Schema};

/// The file-level rules of `schema` and one table per record type.
pub fn markdown(schema: &Schema) -> String {
    let mut out = String::new();
    let globs: Vec<String> = schema
        .globs
        .iter()
        .map(|g| format!("`{}`", g.as_str()))
        .collect();
    let tag = |i: usize| format!("`{}`", schema.records[i].tag);
    let key =
        |record: usize, field: usize| format!("`{}`", schema.records[record].fields[field].key);
    let h = &schema.header;
    let t = &schema.trailer;
    let counted: Vec<String> = t.counts.iter().map(|&i| tag(i)).collect();
    // Lines rather than one paragraph: a change shows as one line in a diff.
    let _ = writeln!(out, "- file names: {}", globs.join(", "));
    let _ = writeln!(out, "- charset: {}", schema.charset.name());
    let _ = writeln!(out, "- record length: {} characters", schema.record_length);
    let _ = writeln!(
        out,
        "- record type: position {}, length {}",
        schema.tag_start + 1,
        schema.tag_len
    );
    let _ = writeln!(
        out,
        "- `.ok` marker: {}",
        if schema.requires_ok_marker {
            "required"
        } else {
            "not required"
        }
    );
    let _ = writeln!(
        out,
        "- header {}: flow name in {}, export time in {}, mode in {} (`{}` complete, `{}` changes)",
        tag(h.record),
        key(h.record, h.flow_field),
        key(h.record, h.timestamp_field),
        key(h.record, h.mode_field),
        h.complete_code,
        h.changes_code
    );
    let _ = writeln!(
        out,
        "- trailer {}: {} counts the {} records",
        tag(t.record),
        key(t.record, t.count_field),
        counted.join(" and ")
    );
    let _ = writeln!(
        out,
        "- bad records tolerated: {}",
        schema.limits.max_bad_records
    );
    for record in &schema.records {
        out.push('\n');
        record_table(schema, record, &mut out);
    }
    out
}

fn record_table(schema: &Schema, record: &RecordLayout, out: &mut String) {
    let _ = writeln!(out, "`{}` {}", record.tag, record.description);
    out.push('\n');
    out.push_str("| pos | len | key | type | rule |\n");
    out.push_str("|---:|---:|---|---|---|\n");
    let _ = writeln!(
        out,
        "| {} | {} | | record type | `{}` |",
        schema.tag_start + 1,
        schema.tag_len,
        record.tag
    );
    for f in &record.fields {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | {} |",
            f.pos(),
            f.len,
            f.key,
            f.kind.type_name(),
            rule(f)
        );
    }
}

fn rule(f: &Field) -> String {
    let quoted = |values: &[String]| -> String {
        values
            .iter()
            .map(|v| match v.as_str() {
                "" => "blank".to_string(),
                v => format!("`{v}`"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if f.required {
        parts.push("required".to_string());
    }
    match &f.kind {
        FieldKind::Text { codes: None } => parts.push("left-aligned".into()),
        FieldKind::Text { codes: Some(codes) } => parts.push(format!("one of {}", quoted(codes))),
        FieldKind::Integer => parts.push("zero-padded digits".into()),
        FieldKind::Decimal {
            scale,
            trailing_sign,
        } => {
            parts.push(format!("{scale} implied decimals"));
            if *trailing_sign {
                parts.push("last character the sign, `+` or `-`".into());
            }
        }
        FieldKind::Date { format, none } => {
            parts.push(format!("`{}`", format.text));
            parts.push(if none.is_empty() {
                "never none".to_string()
            } else {
                format!("none: {}", quoted(none))
            });
        }
        FieldKind::Flag { yes, no } => parts.push(format!(
            "`{}` yes, `{}` no",
            char::from(*yes),
            char::from(*no)
        )),
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Registry;

    #[test]
    fn every_field_is_a_row_with_its_position() {
        for schema in &Registry::built_in().schemas {
            let text = markdown(schema);
            for record in &schema.records {
                for f in &record.fields {
                    let row = format!("| {} | {} | `{}` |", f.pos(), f.len, f.key);
                    assert!(text.contains(&row), "{}: {row}", schema.flow);
                }
            }
        }
    }

    #[test]
    fn rules_name_the_formats() {
        let registry = Registry::built_in();
        let stock = registry
            .schemas
            .iter()
            .find(|s| s.flow == "GIACENZE")
            .expect("built-in GIACENZE");
        let text = markdown(stock);
        assert!(
            text.contains("| 33 | 12 | `quantity` | decimal | 3 implied decimals; last character the sign, `+` or `-` |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| 45 | 8 | `available_on` | date | `YYYYMMDD`; none: `00000000`, blank |"
            ),
            "{text}"
        );
        assert!(text.contains("- record length: 52 characters"), "{text}");
    }
}
