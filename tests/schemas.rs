//! `ponte schemas`: what schemas are in use, the file names they claim, and
//! every problem in a schema folder named by file and field.

mod common;

use std::process::Command;

use common::{code, ponte, schema_dir, stderr, stdout};

const FLOWS: [(&str, &str); 5] = [
    ("ARTICOLI", "ART*.txt"),
    ("GIACENZE", "GIA*.txt"),
    ("CLIENTI", "CLI*.txt"),
    ("EVASIONI", "EVA*.txt"),
    ("ORDINI", "ORD*.txt"),
];

fn assert_lists_all_flows(text: &str) {
    for (flow, glob) in FLOWS {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{flow} ")))
            .unwrap_or_else(|| panic!("{flow} is not listed:\n{text}"));
        assert!(line.contains(glob), "{flow} without {glob}: {line}");
        assert!(line.contains("windows-1252"), "{line}");
    }
}

#[test]
fn lists_the_five_flows_and_their_globs() {
    let out = ponte(["schemas"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("schemas from schemas\n"), "{text}");
    assert_lists_all_flows(&text);
    let line = |flow: &str| {
        text.lines()
            .find(|l| l.starts_with(flow))
            .unwrap()
            .to_string()
    };
    assert!(line("ARTICOLI").contains("record length 450"));
    assert!(line("GIACENZE").contains("record length 52"));
    assert!(line("CLIENTI").contains("record length 319"));
    assert!(line("EVASIONI").contains("records TE CO EV ER"));
    assert!(line("ORDINI").contains("record length 408"));
    assert!(line("ORDINI").contains("records TE CO OT OD OR"));
}

#[test]
fn without_a_schema_folder_the_built_in_set_is_used() {
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ponte"))
        .arg("schemas")
        .current_dir(elsewhere.path())
        .env_remove("PONTE_SCHEMAS")
        .env_remove("PONTE_LOG")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("schemas built into ponte"), "{text}");
    assert_lists_all_flows(&text);
}

#[test]
fn the_environment_names_the_schema_folder() {
    let dir = schema_dir(|_, text| Some(text));
    let out = Command::new(env!("CARGO_BIN_EXE_ponte"))
        .arg("schemas")
        .current_dir(common::root())
        .env("PONTE_SCHEMAS", dir.path())
        .env_remove("PONTE_LOG")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("schemas from {}", dir.path().display())),
        "{text}"
    );
    assert_lists_all_flows(&text);
}

#[test]
fn fields_lists_every_field_with_position_and_type() {
    let out = ponte(["schemas", "--fields"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let has = |key: &str, rest: &str| {
        text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("{key} ")) && l.ends_with(rest)
        })
    };
    assert!(has("quantity", "pos  33 len  12 decimal"), "{text}");
    assert!(has("available_on", "pos  45 len   8 date"), "{text}");
    assert!(has("price", "pos 367 len  11 decimal"), "{text}");
    assert!(has("sku", "pos   3 len  20 text required"), "{text}");
    assert!(has("active", "pos 389 len   1 flag"), "{text}");
    assert!(has("row_total", "pos 145 len  11 decimal"), "{text}");
}

#[test]
fn a_broken_schema_exits_2_naming_file_and_field() {
    let dir = schema_dir(|name, text| {
        Some(if name == "articoli.toml" {
            let edited = text.replace(
                "{ key = \"weight\", pos = 378, len = 9, type = \"decimal\", scale = 3 }",
                "{ key = \"weight\", pos = 378, len = 9, type = \"money\", scale = 3 }",
            );
            assert_ne!(edited, text);
            edited
        } else {
            text
        })
    });
    let out = ponte(["--schemas", dir.path().to_str().unwrap(), "schemas"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    let file = dir.path().join("articoli.toml");
    assert!(
        err.contains(&format!(
            "{}: record AR: field \"weight\": unknown type \"money\"",
            file.display()
        )),
        "{err}"
    );
    // The healthy schemas are still listed.
    let text = stdout(&out);
    assert!(!text.contains("ARTICOLI"), "{text}");
    for flow in ["GIACENZE", "CLIENTI", "EVASIONI", "ORDINI"] {
        assert!(text.contains(flow), "{flow}: {text}");
    }
}

#[test]
fn overlapping_fields_name_both() {
    let dir = schema_dir(|name, text| {
        (name == "evasioni.toml").then(|| {
            let edited = text.replace(
                "{ key = \"carrier\", pos = 42, len = 10,",
                "{ key = \"carrier\", pos = 40, len = 10,",
            );
            assert_ne!(edited, text);
            edited
        })
    });
    let out = ponte(["--schemas", dir.path().to_str().unwrap(), "schemas"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("evasioni.toml: record EV: field \"carrier\""),
        "{err}"
    );
    assert!(err.contains("overlaps field \"delivery_date\""), "{err}");
}

#[test]
fn a_toml_syntax_error_names_the_file() {
    let dir = schema_dir(|name, text| {
        (name == "giacenze.toml").then(|| text.replace("record_length = 52", "record_length = "))
    });
    let out = ponte(["--schemas", dir.path().to_str().unwrap(), "schemas"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&dir.path().join("giacenze.toml").display().to_string()),
        "{err}"
    );
}

#[test]
fn a_flow_defined_twice_is_a_problem() {
    let dir = schema_dir(|name, text| (name == "giacenze.toml").then_some(text));
    std::fs::copy(
        dir.path().join("giacenze.toml"),
        dir.path().join("stock.toml"),
    )
    .unwrap();
    let out = ponte(["--schemas", dir.path().to_str().unwrap(), "schemas"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("stock.toml: flow GIACENZE is already defined by"),
        "{err}"
    );
}

#[test]
fn an_empty_schema_folder_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = ponte(["--schemas", dir.path().to_str().unwrap(), "schemas"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no *.toml schema in this folder"),
        "{}",
        stderr(&out)
    );
}
