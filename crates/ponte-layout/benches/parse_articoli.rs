//! How fast ponte validates a large ARTICOLI file, against the floor.
//!
//! Not a criterion bench: one run writes a deterministic ARTICOLI file of
//! `PONTE_BENCH_ROWS` products (default 1,000,000, about 450 MB) to a temp
//! dir, then times, on that same file and from the page cache:
//!
//! - the floor: read in 4 MiB blocks, split lines with memchr, hash each
//!   line with xxh3 (one thread);
//! - ponte: `scan_file` with `JustCheck`, every field of every record
//!   validated (rayon, all cores).
//!
//! Each is run once to warm up, then `PONTE_BENCH_RUNS` times (default 3);
//! best and median wall time, rows/s, MB/s, the parse/floor ratio and the
//! parse's peak memory (VmHWM after `echo 5 > /proc/self/clear_refs`) are
//! printed against the targets (parse at most 2x the floor, peak under
//! 256 MB). Missing a target is reported, not fatal: the exit status is
//! non-zero only when something is wrong (a report that is not clean,
//! counts that differ).
//!
//! Run: `cargo bench --bench parse_articoli`
//! Quick: `PONTE_BENCH_ROWS=100000 cargo bench --bench parse_articoli`
//! `PONTE_BENCH_DIR` chooses where the temp file goes (default: the system
//! temp dir).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use ponte_layout::record::scan::{scan_file, FileReport, JustCheck, ScanOptions};
use ponte_layout::schema::Registry;

#[path = "common/articoli_gen.rs"]
mod articoli_gen;
#[path = "common/measure.rs"]
mod measure;

use articoli_gen::generate;
use measure::{best_and_median, cpu_model, env_number, floor, peak_rss_kb, reset_peak_rss};
const TARGET_RATIO: f64 = 2.0;
const TARGET_PEAK_MB: f64 = 256.0;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("parse_articoli: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<bool> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let rows = env_number("PONTE_BENCH_ROWS", 1_000_000)?;
    let runs = env_number("PONTE_BENCH_RUNS", 3)?.max(1) as usize;
    let dir = match std::env::var_os("PONTE_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let path = dir.path().join("ART20261128020000.txt");

    let registry = Registry::built_in();
    let schema = registry
        .by_flow("ARTICOLI")
        .ok_or_else(|| anyhow::anyhow!("no built-in ARTICOLI schema"))?;

    let t = Instant::now();
    let bytes = generate(&path, rows, 0x5eed_1e55_c0ff_ee00)?;
    println!(
        "generated {} rows, {:.1} MB in {:.2} s: {}",
        rows,
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        path.display()
    );
    println!(
        "machine: {} cores (rayon threads {}), {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        rayon::current_num_threads(),
        cpu_model()
    );

    let mut ok = true;
    let expected_lines = rows + 2;

    // Floor: one warm-up (also pulls the file into the page cache), then the runs.
    let mut floor_times = Vec::new();
    for i in 0..=runs {
        let t = Instant::now();
        let (lines, digest) = floor(&path)?;
        let elapsed = t.elapsed();
        std::hint::black_box(digest);
        if lines != expected_lines {
            eprintln!("BUG: the floor counted {lines} lines, the file has {expected_lines}");
            ok = false;
        }
        if i > 0 {
            floor_times.push(elapsed);
        }
    }

    let opts = ScanOptions::default();
    let mut parse_times = Vec::new();
    let mut peaks = Vec::new();
    for i in 0..=runs {
        let rss_before = reset_peak_rss();
        let t = Instant::now();
        let report = scan_file(&path, &schema, &opts, &JustCheck, |()| Ok(()))?;
        let elapsed = t.elapsed();
        let peak = peak_rss_kb();
        if !check_report(&report, rows) {
            ok = false;
        }
        if i > 0 {
            parse_times.push(elapsed);
            peaks.push((rss_before, peak));
        }
    }

    print_table(rows, bytes, &floor_times, &parse_times, &peaks);
    if !ok {
        eprintln!("parse_articoli: FAILED (a bug, see above)");
    }
    Ok(ok)
}

fn check_report(report: &FileReport, rows: u64) -> bool {
    let mut ok = true;
    if !report.is_clean() || report.is_rejected() {
        eprintln!(
            "BUG: the generated file is not clean: {} errors, first: {:?}",
            report.error_total,
            report.errors.first()
        );
        ok = false;
    }
    let ar = report
        .counts
        .iter()
        .find(|(tag, _)| tag == "AR")
        .map_or(0, |(_, n)| *n);
    if ar != rows || report.counted != rows || report.trailer_count != Some(rows) {
        eprintln!(
            "BUG: counts differ: AR {ar}, counted {}, trailer {:?}, generated {rows}",
            report.counted, report.trailer_count
        );
        ok = false;
    }
    if report.lines != rows + 2 {
        eprintln!("BUG: {} lines read, {} written", report.lines, rows + 2);
        ok = false;
    }
    ok
}

// ---------------------------------------------------------------- the table

fn print_table(
    rows: u64,
    bytes: u64,
    floor_times: &[Duration],
    parse_times: &[Duration],
    peaks: &[(Option<u64>, Option<u64>)],
) {
    let (fb, fm) = best_and_median(floor_times);
    let (pb, pm) = best_and_median(parse_times);
    let mb = bytes as f64 / 1e6;
    println!();
    println!(
        "{} runs each after one warm-up; {rows} rows, {mb:.1} MB",
        floor_times.len()
    );
    println!(
        "{:<34} {:>9} {:>9} {:>12} {:>10}",
        "", "best s", "median s", "rows/s", "MB/s"
    );
    for (name, b, m) in [
        ("floor (read+memchr+xxh3, 1 thread)", fb, fm),
        ("ponte scan_file JustCheck", pb, pm),
    ] {
        println!(
            "{name:<34} {b:>9.3} {m:>9.3} {:>12.0} {:>10.0}",
            rows as f64 / b,
            mb / b
        );
    }
    let ratio_best = pb / fb;
    let ratio_median = pm / fm;
    println!(
        "ratio parse/floor: best {ratio_best:.2}x, median {ratio_median:.2}x (target <= {TARGET_RATIO:.1}x): {}",
        verdict(ratio_best <= TARGET_RATIO)
    );
    let peak_kb = peaks.iter().filter_map(|(_, p)| *p).max();
    let base_kb = peaks.iter().filter_map(|(b, _)| *b).min();
    match peak_kb {
        Some(p) => {
            let peak_mb = p as f64 / 1024.0;
            println!(
                "peak memory of the parse (VmHWM): {peak_mb:.1} MB, RSS before it {:.1} MB (target < {TARGET_PEAK_MB:.0} MB): {}",
                base_kb.unwrap_or(0) as f64 / 1024.0,
                verdict(peak_mb < TARGET_PEAK_MB)
            );
        }
        None => println!("peak memory: /proc/self/status not readable here"),
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}
