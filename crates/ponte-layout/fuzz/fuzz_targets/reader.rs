//! Arbitrary bytes as an interchange file, scanned with every built-in schema.
//!
//! The first byte picks the reader's block size and batch (tiny blocks put
//! the cut between blocks everywhere) and the charset (the built-in
//! windows-1252 schemas, or their UTF-8 / ISO-8859-15 twins); the rest is the
//! file. For each schema the file is scanned twice, with those options and
//! with the defaults, and the two reports must be identical. Every valid
//! record goes through `line_values` and back through the writer: the
//! written record must be valid and read back to the same values (except
//! text with non-space white space at an end, which the writer trims).
//! For the flows of entities, the file is also scanned as `plan` scans it
//! against a target that holds it (lines vouched for by their content hash,
//! the rest validated whole), once with every valid entity known and once
//! with every other one unknown: the outcome must be the whole scan's.
//!
//! Run: `cargo +nightly fuzz run reader -- -detect_leaks=0` (from the crate
//! root). The reader thread of each scan waits on a rayon latch kept in a
//! thread-local; LeakSanitizer counts its slot in glibc's thread-exit list,
//! freed when the thread ends, as a leak of the input that started it.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ponte::model::{spec_for_flow, BoundSpec};
use ponte::reconcile::{scan_desired, scan_unchecked};
use ponte_layout::record::line::{check_line, line_values};
use ponte::state::{SnapEntry, Snapshot};
use ponte_layout::record::reader::ReadOptions;
use ponte_layout::record::scan::{scan_reader, FileReport, RecordVisitor, ScanOptions, Seen};
use ponte_layout::record::writer::format_record;
use ponte_layout::record::Value;
use ponte_layout::schema::{parse_schema, Registry, Schema};

const TEXTS: [(&str, &str); 5] = [
    ("articoli.toml", include_str!("../../schemas/articoli.toml")),
    ("giacenze.toml", include_str!("../../schemas/giacenze.toml")),
    ("clienti.toml", include_str!("../../schemas/clienti.toml")),
    ("evasioni.toml", include_str!("../../schemas/evasioni.toml")),
    ("ordini.toml", include_str!("../../schemas/ordini.toml")),
];

/// [built-in (windows-1252), utf-8 twins, iso-8859-15 twins]
fn schemas() -> &'static [Vec<Schema>; 3] {
    static S: OnceLock<[Vec<Schema>; 3]> = OnceLock::new();
    S.get_or_init(|| {
        let built_in: Vec<Schema> = Registry::built_in()
            .schemas
            .iter()
            .map(|s| (**s).clone())
            .collect();
        assert_eq!(built_in.len(), TEXTS.len());
        let twins = |label: &str| -> Vec<Schema> {
            TEXTS
                .iter()
                .map(|(name, text)| {
                    let text = text.replace(
                        "encoding = \"windows-1252\"",
                        &format!("encoding = \"{label}\""),
                    );
                    parse_schema(name, &text).expect("twin schema loads")
                })
                .collect()
        };
        [built_in, twins("utf-8"), twins("iso-8859-15")]
    })
}

struct RoundTrip<'s> {
    schema: &'s Schema,
}

impl RecordVisitor for RoundTrip<'_> {
    type Out = u64;

    fn visit(&self, out: &mut u64, seen: Seen<'_>) {
        *out += 1;
        let schema = self.schema;
        let layout = &schema.records[seen.record];
        let values = line_values(schema, layout, seen.bytes);
        // The reader trims only the space padding; the writer trims all
        // Unicode white space (text from Magento). A value with a
        // non-breaking space (0xA0) at an end is not expected to survive,
        // nor to be writable at all in a required field.
        let odd_space = |v: &Value| matches!(v, Value::Text(t) if t.trim() != t.trim_matches(' '));
        if values.iter().any(|(_, v)| odd_space(v)) {
            return;
        }
        let pairs: Vec<(&str, Value)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let written = format_record(schema, &layout.tag, &pairs).unwrap_or_else(|e| {
            panic!(
                "{}: a valid {} record does not write back: {e}\nline {:?}\nvalues {values:?}",
                schema.flow, layout.tag, seen.bytes
            )
        });
        let mut errors = Vec::new();
        let idx = check_line(schema, 1, &written, &mut errors);
        assert_eq!(
            idx,
            Some(seen.record),
            "{}: written {written:?}",
            schema.flow
        );
        assert!(
            errors.is_empty(),
            "{}: the written record is not valid: {errors:?}\nread {:?}\nwritten {written:?}",
            schema.flow,
            seen.bytes
        );
        let again = line_values(schema, layout, &written);
        assert_eq!(
            again, values,
            "{}: values change through the writer\nread {:?}\nwritten {written:?}",
            schema.flow, seen.bytes
        );
    }
}

fn scan(schema: &Schema, data: &[u8], read: ReadOptions) -> (FileReport, u64) {
    let opts = ScanOptions {
        read,
        max_errors: 50,
    };
    let mut visited = 0;
    let report = scan_reader(
        data,
        "fuzz.txt",
        schema,
        &opts,
        &RoundTrip { schema },
        |n| {
            visited += n;
            Ok(())
        },
    )
    .expect("reading from memory cannot fail, and no line is over 1 MiB");
    (report, visited)
}

/// The whole scan of `data` as a file, and the vouched one against what it
/// found (every `skip`th entity left unknown) must agree.
fn vouched_as_whole(schema: &Schema, data: &[u8], skip: usize) {
    let Some(spec) = spec_for_flow(&schema.flow) else {
        return;
    };
    let Ok(bound) = BoundSpec::bind(spec, std::sync::Arc::new(schema.clone())) else {
        return;
    };
    let path = std::env::temp_dir().join(format!("ponte-fuzz-{}.txt", std::process::id()));
    std::fs::write(&path, data).expect("temp file");
    let opts = ScanOptions::default();
    let (whole_report, whole) = scan_desired(&path, &bound, &opts).expect("whole scan");
    let known = Snapshot::from_unsorted(
        whole
            .entries
            .iter()
            .enumerate()
            .filter(|(i, _)| skip == 0 || i % skip != 0)
            .map(|(_, e)| SnapEntry {
                key_hash: e.key_hash,
                hash: e.hash,
            })
            .collect(),
    );
    let (report, vouched) = scan_unchecked(&path, &bound, &opts)
        .and_then(|u| u.check(&path, &bound, &known, &opts))
        .expect("vouched scan");
    assert_eq!(vouched.entries, whole.entries, "{}", schema.flow);
    assert_eq!(vouched.variants, whole.variants, "{}", schema.flow);
    assert_eq!(report.errors, whole_report.errors, "{}", schema.flow);
    assert_eq!(report.bad_records, whole_report.bad_records);
    assert_eq!(report.error_total, whole_report.error_total);
}

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, data)) = input.split_first() else {
        return;
    };
    const BLOCKS: [usize; 8] = [1, 2, 3, 5, 8, 53, 451, 4096];
    let tiny = ReadOptions {
        block_size: BLOCKS[usize::from(knobs & 7)],
        batch: 1 + usize::from((knobs >> 3) & 3),
        ..ReadOptions::default()
    };
    let set = match knobs >> 6 {
        2 => &schemas()[1],
        3 => &schemas()[2],
        _ => &schemas()[0],
    };
    for schema in set {
        let (a, seen_a) = scan(schema, data, tiny);
        let (b, seen_b) = scan(schema, data, ReadOptions::default());
        let (ja, jb) = (
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap(),
        );
        assert_eq!(
            ja, jb,
            "{}: the report depends on the block size {}",
            schema.flow, tiny.block_size
        );
        assert_eq!(seen_a, seen_b);
        let valid: u64 = a.counts.iter().map(|(_, n)| n).sum();
        assert!(seen_a <= valid && valid <= a.lines);
        vouched_as_whole(schema, data, 0);
        vouched_as_whole(schema, data, 2);
    }
});
