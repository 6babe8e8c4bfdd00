//! Arbitrary bytes as an interchange file, scanned as `plan` scans it
//! against a target that holds it: lines vouched for by their content hash,
//! the rest validated whole. For each built-in schema of a flow of entities
//! (or its UTF-8 / ISO-8859-15 twin, as the first byte's top bits pick), the
//! file is scanned once with every valid entity known and once with every
//! other one unknown: entities, variants and errors must be the whole
//! scan's. The reader and writer on their own are fuzzed by
//! crates/ponte-layout/fuzz, which needs nothing of ponte.
//!
//! Run: `cargo +nightly fuzz run vouched -- -detect_leaks=0` (from the
//! repository root; see crates/ponte-layout/fuzz/fuzz_targets/reader.rs for
//! why leak detection is off).

#![no_main]

use libfuzzer_sys::fuzz_target;
use ponte::model::{spec_for_flow, BoundSpec};
use ponte::reconcile::{scan_desired, scan_unchecked};
use ponte::state::{SnapEntry, Snapshot};
use ponte_layout::record::scan::ScanOptions;
use ponte_layout::schema::Schema;

#[path = "../../crates/ponte-layout/fuzz/common/schemas.rs"]
mod schemas;

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
    for schema in schemas::picked_by(knobs) {
        vouched_as_whole(schema, data, 0);
        vouched_as_whole(schema, data, 2);
    }
});
