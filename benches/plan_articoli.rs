//! How fast `plan` finds a night's changes in a million products.
//!
//! One run, deterministic data, everything from the page cache:
//!
//! 1. day 1: a complete ARTICOLI file of `PONTE_BENCH_ROWS` products
//!    (default 1,000,000); day 2: the same with 1% of the rows changed
//!    (price), 0.1% removed and 0.1% new;
//! 2. the first import: day 1 validated and hashed against an empty state
//!    (plan's scan), then every product recorded as desired and as applied,
//!    as the acknowledgements of a push that succeeded record a large file:
//!    the file retained, each product a reference to its line. Nothing goes
//!    over the network, and the request bodies, which the push builds as it
//!    sends (see push_standin), are not built;
//! 3. then, side by side on day 2: the floor (read, split lines, xxh3 per
//!    line), `plan` against the 1,000,000 applied products as `ponte plan
//!    --json` computes it (the whole change set, every create, update and
//!    removal decoded; what the target held for an update is compared with
//!    it line by line, since only a push needs it decoded), and the
//!    csv-diff crate diffing the CSV twins of the two days by SKU.
//!
//! Targets: plan at most 4x the floor and faster than csv-diff; plan's peak
//! memory at most 300 MB; the first import at most 30x the floor. Missing a
//! target is printed, not fatal; a wrong count is.
//!
//! Run: `cargo bench --bench plan_articoli`
//! Quick: `PONTE_BENCH_ROWS=100000 cargo bench --bench plan_articoli`

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ponte::config::Config;
use ponte::flows::baseline::file as baseline_file;
use ponte::reconcile::{plan_file, FilePlan, PlanOptions};
use ponte::state::Store;
use ponte_layout::record::scan::ScanOptions;
use ponte_layout::schema::Registry;

#[path = "../crates/ponte-layout/benches/common/articoli_gen.rs"]
mod articoli_gen;
#[path = "../crates/ponte-layout/benches/common/measure.rs"]
mod measure;

use articoli_gen::{generate, products_only_config};
use measure::{best_and_median, cpu_model, env_number, floor, peak_rss_kb, reset_peak_rss};

const TARGET_PLAN_RATIO: f64 = 4.0;
const TARGET_IMPORT_RATIO: f64 = 30.0;
const TARGET_PEAK_MB: f64 = 300.0;

fn main() -> ExitCode {
    if let Some(dir) = std::env::var_os("PONTE_BENCH_CHILD_PLAN") {
        return match child_plan(Path::new(&dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("plan_articoli (child): {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("plan_articoli: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Day2 {
    changed: u64,
    removed: u64,
    added: u64,
}

/// Day 2 from day 1: 1% of the products get a new price, 0.1% vanish, 0.1%
/// new ones appear. Deterministic.
fn derive_day2(day1: &Path, day2: &Path) -> anyhow::Result<Day2> {
    let input = BufReader::with_capacity(1 << 20, File::open(day1)?);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(day2)?);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut roll = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % 10_000
    };
    let mut d = Day2 {
        changed: 0,
        removed: 0,
        added: 0,
    };
    let mut rows = 0u64;
    for line in input.split(b'\n') {
        let mut line = line?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.starts_with(b"CO") {
            let count = format!("CO{:09}", rows);
            let mut rec = line.clone();
            rec[..11].copy_from_slice(count.as_bytes());
            out.write_all(&rec)?;
            out.write_all(b"\r\n")?;
            continue;
        }
        if !line.starts_with(b"AR") || line.len() < 377 {
            out.write_all(&line)?;
            out.write_all(b"\r\n")?;
            if line.starts_with(b"AR") {
                rows += 1;
            }
            continue;
        }
        let r = roll();
        if r < 10 {
            d.removed += 1;
            continue;
        }
        if r < 110 {
            // A new price: the cents shift by one, never to the same value.
            let price = &mut line[366..377];
            let last = price[10];
            price[10] = if last == b'9' { b'0' } else { last + 1 };
            d.changed += 1;
        }
        out.write_all(&line)?;
        out.write_all(b"\r\n")?;
        rows += 1;
        if (110..120).contains(&r) {
            let mut new = line.clone();
            let sku = format!("{:<20}", format!("NEW-{:08}", d.added));
            new[2..22].copy_from_slice(sku.as_bytes());
            new[22..42].copy_from_slice(&[b' '; 20]);
            new[42] = b'S';
            out.write_all(&new)?;
            out.write_all(b"\r\n")?;
            d.added += 1;
            rows += 1;
        }
    }
    out.flush()?;
    Ok(d)
}

/// The CSV twin of an ARTICOLI file: one row per product, SKU first.
fn csv_twin(fixed: &Path, csv_path: &Path) -> anyhow::Result<()> {
    const FIELDS: [(usize, usize); 15] = [
        (3, 20),
        (23, 20),
        (43, 1),
        (44, 60),
        (104, 250),
        (354, 13),
        (367, 11),
        (378, 9),
        (387, 2),
        (389, 1),
        (390, 20),
        (410, 10),
        (420, 20),
        (440, 3),
        (443, 8),
    ];
    let input = BufReader::with_capacity(1 << 20, File::open(fixed)?);
    let mut w = csv::WriterBuilder::new()
        .from_writer(BufWriter::with_capacity(1 << 20, File::create(csv_path)?));
    w.write_record([
        "sku",
        "parent_sku",
        "kind",
        "name",
        "description",
        "ean",
        "price",
        "weight",
        "vat_code",
        "active",
        "brand",
        "size",
        "color",
        "unit",
        "changed_on",
    ])?;
    for line in input.split(b'\n') {
        let line = line?;
        if !line.starts_with(b"AR") {
            continue;
        }
        let mut cells: Vec<&[u8]> = Vec::with_capacity(FIELDS.len());
        for (pos, len) in FIELDS {
            let start = (pos - 1).min(line.len());
            let end = (pos - 1 + len).min(line.len());
            let cell = &line[start..end];
            let trimmed_end = cell
                .iter()
                .rposition(|&b| b != b' ' && b != b'\r')
                .map_or(0, |e| e + 1);
            cells.push(&cell[..trimmed_end]);
        }
        w.write_record(&cells)?;
    }
    w.flush()?;
    Ok(())
}

fn plan(
    path: &Path,
    config: &Config,
    store: Option<&Store>,
    create_limit: usize,
) -> anyhow::Result<FilePlan> {
    let schema = Registry::built_in()
        .by_flow("ARTICOLI")
        .ok_or_else(|| anyhow::anyhow!("no ARTICOLI schema"))?;
    let opts = PlanOptions {
        scan: ScanOptions::default(),
        create_limit,
        // As `ponte plan` does.
        for_push: false,
    };
    let mut p = plan_file(path, Arc::clone(&schema), config, store, &opts)?;
    p.check_stale(store)?;
    Ok(p)
}

fn csv_diff_count(left: &Path, right: &Path) -> anyhow::Result<usize> {
    use csv_diff::{csv::Csv, csv_diff::CsvByteDiffLocal};
    let differ = CsvByteDiffLocal::new()?;
    let diff = differ.diff(
        Csv::with_reader_seek(File::open(left)?),
        Csv::with_reader_seek(File::open(right)?),
    )?;
    Ok(diff.as_slice().len())
}

fn run() -> anyhow::Result<bool> {
    let rows = env_number("PONTE_BENCH_ROWS", 1_000_000)?;
    let runs = env_number("PONTE_BENCH_RUNS", 3)?.max(1) as usize;
    let dir = match std::env::var_os("PONTE_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let keep = std::env::var_os("PONTE_BENCH_KEEP").is_some();
    std::fs::write(dir.path().join("ponte.toml"), products_only_config("bench"))?;
    let config = Config::load(&dir.path().join("ponte.toml"))?;
    let day1 = dir.path().join("ART20261127020000.txt");
    let day2 = dir.path().join("ART20261128020000.txt");
    eprintln!("generating {rows} products...");
    generate(&day1, rows, 42)?;
    let d = derive_day2(&day1, &day2)?;
    csv_twin(&day1, &dir.path().join("day1.csv"))?;
    csv_twin(&day2, &dir.path().join("day2.csv"))?;
    let size2 = std::fs::metadata(&day2)?.len();
    let mut ok = true;

    // The first import: day 1 into an empty state.
    floor(&day1)?;
    let t_floor1 = time_best(runs, || floor(&day1).map(|_| ()))?;
    reset_peak_rss();
    let start = Instant::now();
    let mut store = Store::open(&config.paths.state_dir)?;
    let schema = Registry::built_in()
        .by_flow("ARTICOLI")
        .ok_or_else(|| anyhow::anyhow!("no ARTICOLI schema"))?;
    let checked = match baseline_file::check(&day1, schema, &store, &ScanOptions::default())? {
        Ok(c) => c,
        Err((_, refusal)) => anyhow::bail!("day 1 refused: {refusal}"),
    };
    let t_import_scan = start.elapsed();
    let recorded = baseline_file::record(&day1, &checked, "bench", &mut store, |_| {})?;
    let t_import = start.elapsed();
    let import_peak = peak_rss_kb().unwrap_or(0) as f64 / 1024.0;
    drop(checked);
    drop(store);
    if recorded.recorded != rows {
        eprintln!(
            "first import recorded {} products, expected {rows}",
            recorded.recorded
        );
        ok = false;
    }

    // Day 2, side by side; plan in its own process (see child_plan).
    floor(&day2)?;
    let t_floor = time_best(runs, || floor(&day2).map(|_| ()))?;
    let out = std::process::Command::new(std::env::current_exe()?)
        .env("PONTE_BENCH_CHILD_PLAN", dir.path())
        .env("PONTE_BENCH_RUNS", runs.to_string())
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "the plan child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut plan_times = Vec::new();
    let mut peak = 0f64;
    let mut counts = (0u64, 0u64, 0u64, 0u64);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() != Some(&"PLAN") || f.len() != 7 {
            continue;
        }
        plan_times.push(Duration::from_secs_f64(f[1].parse()?));
        peak = peak.max(f[2].parse()?);
        counts = (f[3].parse()?, f[4].parse()?, f[5].parse()?, f[6].parse()?);
    }
    let mut csv_times = Vec::new();
    let mut csv_changes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        csv_changes = csv_diff_count(&dir.path().join("day1.csv"), &dir.path().join("day2.csv"))?;
        csv_times.push(start.elapsed());
    }
    let expected = (d.added, d.changed, d.removed);
    if (counts.0, counts.1, counts.2) != expected {
        eprintln!("plan found {counts:?}, expected create/update/remove {expected:?}");
        ok = false;
    }
    if csv_changes as u64 != d.added + d.changed + d.removed {
        eprintln!(
            "csv-diff found {csv_changes} changes, expected {}",
            d.added + d.changed + d.removed
        );
        ok = false;
    }

    let (plan_best, plan_median) = best_and_median(&plan_times);
    let (csv_best, csv_median) = best_and_median(&csv_times);
    let floor_s = t_floor.as_secs_f64();
    let mb = size2 as f64 / 1e6;
    println!();
    println!(
        "plan_articoli: {rows} products, day 2 {mb:.0} MB, {} on {} cores",
        cpu_model(),
        rayon::current_num_threads()
    );
    println!(
        "day 2: {} changed, {} removed, {} new",
        d.changed, d.removed, d.added
    );
    println!(
        "{:<34} {:>9} {:>9} {:>8} {:>8}",
        "", "best s", "median s", "x floor", "target"
    );
    println!(
        "{:<34} {:>9.3} {:>9} {:>8} {:>8}",
        "floor (read, split, xxh3)", floor_s, "", "1.00", ""
    );
    println!(
        "{:<34} {:>9.3} {:>9.3} {:>8.2} {:>8}",
        "plan vs 1M applied",
        plan_best,
        plan_median,
        plan_best / floor_s,
        format!("<= {TARGET_PLAN_RATIO}")
    );
    println!(
        "{:<34} {:>9.3} {:>9.3} {:>8.2} {:>8}",
        "csv-diff on the CSV twins",
        csv_best,
        csv_median,
        csv_best / floor_s,
        "> plan"
    );
    println!(
        "{:<34} {:>9.3} {:>9} {:>8.2} {:>8}",
        "first import (empty state)",
        t_import.as_secs_f64(),
        "",
        t_import.as_secs_f64() / t_floor1.as_secs_f64(),
        format!("<= {TARGET_IMPORT_RATIO}")
    );
    println!(
        "{:<34} {:>9.3}",
        "  of which validate + hash",
        t_import_scan.as_secs_f64()
    );
    println!(
        "plan: {} create, {} update, {} remove, {} unchanged",
        counts.0, counts.1, counts.2, counts.3
    );
    println!("peak memory: plan {peak:.0} MB (target <= {TARGET_PEAK_MB}), first import {import_peak:.0} MB");
    let verdicts = [
        ("plan <= 4x floor", plan_best / floor_s <= TARGET_PLAN_RATIO),
        ("plan faster than csv-diff", plan_best < csv_best),
        ("plan peak <= 300 MB", peak <= TARGET_PEAK_MB),
        (
            "first import <= 30x floor",
            t_import.as_secs_f64() / t_floor1.as_secs_f64() <= TARGET_IMPORT_RATIO,
        ),
    ];
    for (what, met) in verdicts {
        println!("{:<28} {}", what, if met { "met" } else { "MISSED" });
    }
    if keep {
        println!("kept in {}", dir.keep().display());
    }
    Ok(ok)
}

/// In a fresh process, so that the first import's freed memory, which the
/// allocator keeps, does not count as plan's: one plan per run, then a line
/// `PLAN seconds peak_mb create update remove unchanged` per run.
fn child_plan(dir: &Path) -> anyhow::Result<()> {
    let config = Config::load(&dir.join("ponte.toml"))?;
    let day2 = dir.join("ART20261128020000.txt");
    let runs = env_number("PONTE_BENCH_RUNS", 3)?.max(1);
    let store = Store::open_read_only(&config.paths.state_dir)?;
    plan(&day2, &config, store.as_ref(), usize::MAX)?;
    for _ in 0..runs {
        reset_peak_rss();
        let start = Instant::now();
        let p = plan(&day2, &config, store.as_ref(), usize::MAX)?;
        let secs = start.elapsed().as_secs_f64();
        let peak = peak_rss_kb().unwrap_or(0) as f64 / 1024.0;
        let t = &p.targets[0];
        println!(
            "PLAN {secs} {peak} {} {} {} {}",
            t.create, t.update, t.remove, t.unchanged
        );
    }
    Ok(())
}

fn time_best(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}
