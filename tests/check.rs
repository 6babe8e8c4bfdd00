//! `ponte check` on real files: the good samples pass, each bad sample fails
//! with its one error at the right line, usage mistakes exit 2.

mod common;

use common::{code, ponte, root, schema_dir, stderr, stdout, txt_files};

/// One bad sample and the error it must produce.
struct Bad {
    file: &'static str,
    line: u64,
    record: Option<&'static str>,
    field: Option<&'static str>,
    message: &'static str,
}

const fn bad(
    file: &'static str,
    line: u64,
    record: Option<&'static str>,
    field: Option<&'static str>,
    message: &'static str,
) -> Bad {
    Bad {
        file,
        line,
        record,
        field,
        message,
    }
}

/// The same table as samples/bad/README.md.
const BAD: &[Bad] = &[
    bad(
        "GIA20261128083001.txt",
        9,
        None,
        None,
        "the trailer counts 9 GI records, the file has 7: truncated or corrupt",
    ),
    bad(
        "GIA20261128083002.txt",
        6,
        None,
        None,
        "no CO trailer: the file is truncated",
    ),
    bad(
        "GIA20261128083003.txt",
        1,
        None,
        None,
        "the file does not start with a TE header",
    ),
    bad(
        "GIA20261128083004.txt",
        1,
        None,
        None,
        "the header names flow \"ARTICOLI\", this is a GIACENZE file",
    ),
    bad(
        "ART20261128020001.txt",
        1,
        Some("TE"),
        Some("mode"),
        "expected one of C, V; found \"X\"",
    ),
    bad(
        "ART20261128020002.txt",
        2,
        Some("AR"),
        Some("price"),
        "expected 11 digits with 2 implied decimals; found \"0000018,90 \"",
    ),
    bad(
        "GIA20261128083005.txt",
        8,
        Some("GI"),
        Some("quantity"),
        "expected 11 digits with 3 implied decimals then + or -; found \"00000003000 \"",
    ),
    bad(
        "GIA20261128083006.txt",
        7,
        Some("GI"),
        Some("available_on"),
        "expected a date YYYYMMDD; found \"20261331\"",
    ),
    bad(
        "CLI20261128030001.txt",
        3,
        Some("CL"),
        Some("active"),
        "expected S or N; found \"Y\"",
    ),
    bad(
        "ART20261128020003.txt",
        4,
        Some("AR"),
        Some("kind"),
        "expected one of S, C, V; found \"P\"",
    ),
    bad(
        "GIA20261128083007.txt",
        4,
        Some("GI"),
        Some("sku"),
        "a value is required, the field is blank",
    ),
    bad(
        "GIA20261128083008.txt",
        5,
        None,
        None,
        "unknown record type at pos 1 (a GIACENZE file has TE, CO, GI); found \"GX\"",
    ),
    bad(
        "EVA20261128100001.txt",
        2,
        Some("EV"),
        None,
        "the line is 89 characters long, the record length is 81; found \"   EXTRA\"",
    ),
    bad(
        "CLI20261128030002.txt",
        3,
        Some("CL"),
        Some("name"),
        "expected text without control or undefined characters (byte 0x09 at offset 7)",
    ),
    bad(
        "EVA20261128100002.txt",
        3,
        Some("ER"),
        Some("quantity"),
        "expected 12 digits with 3 implied decimals; found \"\"",
    ),
    bad(
        "GIA20261128083009.txt",
        5,
        None,
        None,
        "header TE found at line 5: the header must be line 1, once",
    ),
    bad(
        "GIA20261128083010.txt",
        10,
        None,
        None,
        "the trailer CO is at line 10 but the file goes on to line 11",
    ),
    bad("GIA20261128083011.txt", 0, None, None, "the file is empty"),
    bad(
        "ART20261128020004.txt",
        3,
        Some("AR"),
        Some("name"),
        "expected text without control or undefined characters (byte 0x81 at offset 0)",
    ),
];

/// The stderr lines that are errors about `file` (logs are left out).
fn error_lines(stderr: &str, file: &str) -> Vec<String> {
    let prefix = format!("{file}:");
    stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_good_sample_is_valid() {
    let files = txt_files("samples");
    assert!(files.len() >= 4, "{files:?}");
    for file in &files {
        let out = ponte(["check", file.as_str()]);
        assert_eq!(code(&out), 0, "{file}: {}", stderr(&out));
        assert!(error_lines(&stderr(&out), file).is_empty(), "{file}");
        let summary = stdout(&out);
        assert!(summary.starts_with(&format!("{file}: ")), "{summary}");
        assert!(
            summary.contains(" ok, ") && summary.contains(": valid"),
            "{summary}"
        );
    }
    // All at once, too.
    let out = ponte(std::iter::once("check".to_string()).chain(files.iter().cloned()));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), files.len());
}

#[test]
fn every_bad_sample_fails_with_its_error() {
    for b in BAD {
        let file = format!("samples/bad/{}", b.file);
        let out = ponte(["check", file.as_str()]);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{file}: {err}");
        let lines = error_lines(&err, &file);
        assert_eq!(lines.len(), 1, "{file}: exactly one error expected:\n{err}");
        let line = &lines[0];
        let at = format!("{file}:{}: ", b.line);
        assert!(line.starts_with(&at), "{file}: expected {at:?}, got {line}");
        match (b.record, b.field) {
            (Some(r), Some(f)) => {
                let what = format!("{at}record {r} field {f} (pos ");
                assert!(
                    line.starts_with(&what),
                    "{file}: expected {what:?}, got {line}"
                );
            }
            (Some(r), None) => {
                let what = format!("{at}record {r}: ");
                assert!(
                    line.starts_with(&what),
                    "{file}: expected {what:?}, got {line}"
                );
            }
            (None, _) => assert!(
                !line[at.len()..].starts_with("record "),
                "{file}: a file-level error, got {line}"
            ),
        }
        assert!(
            line.contains(b.message),
            "{file}: expected {:?}, got {line}",
            b.message
        );
        let summary = stdout(&out);
        assert!(summary.contains("REJECTED"), "{file}: {summary}");
    }
}

#[test]
fn the_bad_sample_table_covers_every_file_and_the_readme() {
    let on_disk: Vec<String> = txt_files("samples/bad")
        .into_iter()
        .map(|f| f.trim_start_matches("samples/bad/").to_string())
        .collect();
    let mut in_table: Vec<String> = BAD.iter().map(|b| b.file.to_string()).collect();
    in_table.sort();
    assert_eq!(on_disk, in_table);
    let readme = std::fs::read_to_string(root().join("samples/bad/README.md")).unwrap();
    for b in BAD {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", b.file)))
            .unwrap_or_else(|| panic!("{} has no row in samples/bad/README.md", b.file));
        assert!(
            row.contains(&format!("`{}: ", b.line)),
            "README row for {} names another line: {row}",
            b.file
        );
    }
}

#[test]
fn bad_samples_are_crlf_windows_1252() {
    for file in txt_files("samples/bad") {
        let bytes = std::fs::read(root().join(&file)).unwrap();
        if bytes.is_empty() {
            continue;
        }
        assert!(bytes.ends_with(b"\r\n"), "{file}");
        for (i, w) in bytes.windows(2).enumerate() {
            if w[1] == b'\n' {
                assert_eq!(w[0], b'\r', "{file}: bare LF at byte {}", i + 1);
            }
        }
        assert!(
            std::str::from_utf8(&bytes).is_err() || bytes.is_ascii(),
            "{file} looks like UTF-8"
        );
    }
}

#[test]
fn all_bad_samples_at_once_exit_1_and_each_gets_a_summary() {
    let files = txt_files("samples/bad");
    let out = ponte(std::iter::once("check".to_string()).chain(files.iter().cloned()));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), files.len());
}

#[test]
fn edge_case_fixtures_are_valid() {
    let mut files = Vec::new();
    for dir in ["lf-only", "no-final-newline", "dos-eof", "stripped"] {
        files.extend(txt_files(&format!("tests/fixtures/{dir}")));
    }
    assert_eq!(files.len(), 6, "{files:?}");
    for file in &files {
        let out = ponte(["check", file.as_str()]);
        assert_eq!(code(&out), 0, "{file}: {}", stderr(&out));
        assert!(stdout(&out).contains(": valid"), "{}", stdout(&out));
    }
}

#[test]
fn stripped_lines_keep_the_record_count() {
    let out = ponte(["check", "tests/fixtures/stripped/EVA20261128100000.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("5 records: valid"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_utf8_file_is_valid_under_a_utf8_schema_only() {
    let file = "tests/fixtures/utf-8/ART20261128020000.txt";
    let dir = schema_dir(|name, text| {
        Some(if name == "articoli.toml" {
            let edited = text.replace("encoding = \"windows-1252\"", "encoding = \"utf-8\"");
            assert_ne!(edited, text);
            edited
        } else {
            text
        })
    });
    let schemas = dir.path().to_str().unwrap();
    let out = ponte(["--schemas", schemas, "check", file]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("10 records: valid"),
        "{}",
        stdout(&out)
    );
    // Read as Windows-1252, the two-byte characters push fields out of place.
    let out = ponte(["check", file]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the line is 451 characters long, the record length is 450"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_forced_schema_is_a_usage_error() {
    let out = ponte([
        "check",
        "--schema",
        "MAGAZZINO",
        "samples/GIA20261128083000.txt",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no schema for flow \"MAGAZZINO\""), "{err}");
    assert!(
        err.contains("GIACENZE"),
        "the known flows are listed: {err}"
    );
}

#[test]
fn a_file_name_no_schema_claims_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stock-export.txt");
    std::fs::copy(root().join("samples/GIA20261128083000.txt"), &path).unwrap();
    let shown = path.to_str().unwrap();
    let out = ponte(["check", shown]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with(&format!("{shown}: ")), "{err}");
    assert!(
        err.contains("no schema claims the name \"stock-export.txt\""),
        "{err}"
    );
    assert!(err.contains("--schema FLOW"), "{err}");
    // Forcing the schema reads it.
    let out = ponte(["check", "--schema", "giacenze", shown]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let out = ponte(["check", "samples/GIA20991231235959.txt"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("samples/GIA20991231235959.txt"), "{err}");
    assert!(err.contains("cannot open"), "{err}");
    // A usage error wins over a valid file beside it.
    let out = ponte([
        "check",
        "samples/GIA20261128083000.txt",
        "samples/GIA20991231235959.txt",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn a_broken_schema_folder_is_a_usage_error_naming_file_and_field() {
    // The quantity is moved onto the warehouse field.
    let dir = schema_dir(|name, text| {
        (name == "giacenze.toml").then(|| {
            let edited = text.replace(
                "{ key = \"quantity\", pos = 33,",
                "{ key = \"quantity\", pos = 30,",
            );
            assert_ne!(edited, text);
            edited
        })
    });
    let schemas = dir.path().to_str().unwrap();
    let out = ponte([
        "--schemas",
        schemas,
        "check",
        "samples/GIA20261128083000.txt",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("giacenze.toml"), "{err}");
    assert!(err.contains("\"quantity\""), "{err}");
    assert!(err.contains("overlaps field \"warehouse\""), "{err}");
}

#[test]
fn a_schema_folder_that_does_not_exist_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let out = ponte([
        "--schemas",
        missing.to_str().unwrap(),
        "check",
        "samples/GIA20261128083000.txt",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot read the schema folder"),
        "{}",
        stderr(&out)
    );
}
