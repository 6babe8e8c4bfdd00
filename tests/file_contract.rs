//! docs/file-contract.md against schemas/: the document's tables are what
//! `ponte schemas --markdown` prints for the schemas in the repository, and
//! every field they hold has its meaning written beside them. A schema that
//! changes without the document fails here.
//!
//! `PONTE_UPDATE_CONTRACT=1 cargo test --test file_contract` rewrites the
//! tables from the schemas; the meanings stay for a person to write.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ponte_layout::schema::{markdown, parse_schema, Schema};

const BEGIN: &str = "<!-- generated from schemas/";
const END: &str = "<!-- end of generated -->";
/// The section whose meanings hold for every flow (header and trailer).
const COMMON: &str = "Every file";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every schema file in schemas/, by file name.
fn schemas() -> Vec<(String, Schema)> {
    let mut out = Vec::new();
    let dir = root().join("schemas");
    for entry in std::fs::read_dir(&dir).expect("schemas/ is readable") {
        let path = entry.expect("schemas/ entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let name = file_name(&path);
        let text = std::fs::read_to_string(&path).expect("schema is readable");
        let schema = parse_schema(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        out.push((name, schema));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("a UTF-8 file name")
        .to_string()
}

/// One generated block of the document: which schema, and what it holds.
struct Block {
    schema: String,
    /// Byte range of the text between the two markers.
    body: std::ops::Range<usize>,
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = doc[from..].find(BEGIN) {
        let begin = from + at;
        let line_end = begin + doc[begin..].find('\n').expect("marker line ends");
        let schema = doc[begin + BEGIN.len()..line_end]
            .trim_end_matches("-->")
            .trim()
            .to_string();
        let end = line_end
            + doc[line_end..]
                .find(END)
                .expect("every block has its end marker");
        out.push(Block {
            schema,
            body: line_end + 1..end,
        });
        from = end + END.len();
    }
    out
}

fn expected(schema: &Schema) -> String {
    format!("\n{}\n", markdown(schema))
}

#[test]
fn the_tables_are_the_schemas() {
    let path = root().join("docs/file-contract.md");
    let doc = std::fs::read_to_string(&path).expect("docs/file-contract.md is readable");
    let schemas = schemas();
    let found = blocks(&doc);
    let in_doc: BTreeSet<&str> = found.iter().map(|b| b.schema.as_str()).collect();
    let in_repo: BTreeSet<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        in_doc, in_repo,
        "docs/file-contract.md has a table block for each schema in schemas/, and only those"
    );

    let mut updated = doc.clone();
    let mut stale = Vec::new();
    // Back to front, so that the ranges of earlier blocks stay valid.
    for block in found.iter().rev() {
        let (_, schema) = schemas
            .iter()
            .find(|(n, _)| *n == block.schema)
            .expect("checked above");
        let want = expected(schema);
        if doc[block.body.clone()] != want {
            stale.push(block.schema.clone());
            updated.replace_range(block.body.clone(), &want);
        }
    }
    if stale.is_empty() {
        return;
    }
    if std::env::var_os("PONTE_UPDATE_CONTRACT").is_some() {
        std::fs::write(&path, updated).expect("docs/file-contract.md is writable");
        return;
    }
    panic!(
        "docs/file-contract.md does not match schemas/ for {stale:?}: run \
         `PONTE_UPDATE_CONTRACT=1 cargo test --test file_contract`, then check the prose"
    );
}

/// The keys a section's meaning list explains: items like
/// "- `street`, `postcode`: the address", the list of keys possibly wrapped
/// over several lines.
fn explained(section: &str) -> BTreeSet<String> {
    let mut items: Vec<String> = Vec::new();
    for line in section.lines() {
        if line.starts_with("- ") {
            items.push(line.to_string());
        } else if let (Some(rest), Some(item)) = (line.strip_prefix("  "), items.last_mut()) {
            item.push(' ');
            item.push_str(rest.trim_start());
        } else {
            items.push(String::new());
        }
    }
    let mut keys = BTreeSet::new();
    for item in &items {
        let Some(rest) = item.strip_prefix("- `") else {
            continue;
        };
        let Some((head, _)) = rest.split_once("`:") else {
            continue;
        };
        for key in format!("`{head}`").split(',').map(str::trim) {
            if let Some(k) = key.strip_prefix('`').and_then(|k| k.strip_suffix('`')) {
                keys.insert(k.to_string());
            }
        }
    }
    keys
}

/// The text under each `## ` heading, by heading.
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in doc.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            out.push((title.trim().to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// The meaning lists outside the generated tables.
fn prose(section: &str) -> String {
    let mut out = String::new();
    let mut generated = false;
    for line in section.lines() {
        if line.starts_with(BEGIN) {
            generated = true;
        } else if line.starts_with(END) {
            generated = false;
        } else if !generated {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn every_field_has_its_meaning_and_every_meaning_a_field() {
    let doc = std::fs::read_to_string(root().join("docs/file-contract.md"))
        .expect("docs/file-contract.md is readable");
    let sections = sections(&doc);
    let section = |title: &str| -> BTreeSet<String> {
        sections
            .iter()
            .find(|(t, _)| t == title)
            .map(|(_, body)| explained(&prose(body)))
            .unwrap_or_else(|| panic!("docs/file-contract.md has no section \"## {title}\""))
    };
    let common = section(COMMON);
    let mut header_keys = BTreeSet::new();
    for (name, schema) in schemas() {
        let own = section(&schema.flow);
        let mut fields = BTreeSet::new();
        for (i, record) in schema.records.iter().enumerate() {
            let framing = i == schema.header.record || i == schema.trailer.record;
            for f in &record.fields {
                if framing {
                    header_keys.insert(f.key.clone());
                }
                fields.insert(f.key.clone());
                assert!(
                    own.contains(&f.key) || (framing && common.contains(&f.key)),
                    "{name}: field `{}` of `{}` has no meaning in docs/file-contract.md \
                     (a line \"- `{}`: ...\" under \"## {}\")",
                    f.key,
                    record.tag,
                    f.key,
                    schema.flow
                );
            }
        }
        for key in &own {
            assert!(
                fields.contains(key),
                "docs/file-contract.md explains `{key}` under \"## {}\", which {name} does not have",
                schema.flow
            );
        }
    }
    for key in &common {
        assert!(
            header_keys.contains(key),
            "docs/file-contract.md explains `{key}` under \"## {COMMON}\", which no header or trailer has"
        );
    }
}
