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
//!
//! Run: `cargo +nightly fuzz run reader -- -detect_leaks=0` (from
//! crates/ponte-layout). The reader thread of each scan waits on a rayon
//! latch kept in a thread-local; LeakSanitizer counts its slot in glibc's
//! thread-exit list, freed when the thread ends, as a leak of the input that
//! started it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ponte_layout::record::line::{check_line, line_values};
use ponte_layout::record::reader::ReadOptions;
use ponte_layout::record::scan::{scan_reader, FileReport, RecordVisitor, ScanOptions, Seen};
use ponte_layout::record::writer::format_record;
use ponte_layout::record::Value;
use ponte_layout::schema::Schema;

#[path = "../common/schemas.rs"]
mod schemas;

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
    for schema in schemas::picked_by(knobs) {
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
    }
});
