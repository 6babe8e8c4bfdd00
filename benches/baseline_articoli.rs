//! How long `ponte baseline --from-file` takes on a large complete ARTICOLI
//! file, against the floor, and how much memory it needs.
//!
//! Not a criterion bench: one run writes a deterministic ARTICOLI file of
//! `PONTE_BENCH_ROWS` products (default 1,000,000, about 450 MB) to a temp
//! dir, then, from the page cache:
//!
//! - the floor: read in 4 MiB blocks, split lines with memchr, hash each
//!   line with xxh3 (one thread), best of three after a warm-up;
//! - the baseline, once, into a fresh state store: validate the file as
//!   ingest does, record every entity as applied to one target and as
//!   desired (what `ponte baseline --target b2c --from-file` does, without
//!   the command line around it); its wall time and peak memory (VmHWM
//!   after `echo 5 > /proc/self/clear_refs`);
//! - then `plan`'s classification of the same file against that state, to
//!   check that nothing is left to send.
//!
//! Targets: the baseline at most 30x the floor and under 300 MB. Missing a
//! target is reported, not fatal; the exit status is non-zero only when
//! something is wrong (a file not clean, a plan that is not empty).
//!
//! Run: `cargo bench --bench baseline_articoli`
//! Quick: `PONTE_BENCH_ROWS=100000 cargo bench --bench baseline_articoli`
//! `PONTE_BENCH_DIR` chooses where the temp files go.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use ponte::config::Config;
use ponte::flows::baseline::file;
use ponte::reconcile::{plan_file, PlanOptions};
use ponte::state::Store;
use ponte_layout::record::scan::ScanOptions;
use ponte_layout::schema::Registry;

#[path = "../crates/ponte-layout/benches/common/articoli_gen.rs"]
mod articoli_gen;
#[path = "../crates/ponte-layout/benches/common/measure.rs"]
mod measure;

use measure::{cpu_model, floor, peak_rss_kb, reset_peak_rss};

use articoli_gen::{generate, products_only_config};

const TARGET_RATIO: f64 = 30.0;
const TARGET_PEAK_MB: f64 = 300.0;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("baseline_articoli: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn rows_from_env() -> anyhow::Result<u64> {
    match std::env::var("PONTE_BENCH_ROWS") {
        Err(_) => Ok(1_000_000),
        Ok(s) => s
            .replace('_', "")
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("PONTE_BENCH_ROWS={s:?}: {e}")),
    }
}

fn run() -> anyhow::Result<bool> {
    let rows = rows_from_env()?;
    let dir = match std::env::var_os("PONTE_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let path = dir.path().join("ART20261128020000.txt");
    let t = Instant::now();
    let bytes = generate(&path, rows, 0x5eed_1e55_c0ff_ee00)?;
    println!(
        "generated {rows} rows, {:.1} MB in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    // The floor, warm: best of three after a warm-up read.
    let mut floor_times = Vec::new();
    let mut lines = 0;
    for i in 0..4 {
        let t = Instant::now();
        let (n, _) = floor(&path)?;
        if i > 0 {
            floor_times.push(t.elapsed());
        }
        lines = n;
    }
    let floor_best = floor_times.iter().min().copied().unwrap_or_default();

    std::fs::write(dir.path().join("ponte.toml"), products_only_config("b2c"))?;
    let config = Config::load(&dir.path().join("ponte.toml"))?;
    let registry = Registry::built_in();
    let schema = registry
        .by_flow("ARTICOLI")
        .ok_or_else(|| anyhow::anyhow!("no built-in ARTICOLI schema"))?;
    let scan = ScanOptions::default();

    let rss_before = reset_peak_rss();
    let t = Instant::now();
    let mut store = Store::open(&config.paths.state_dir)?;
    let checked = match file::check(&path, Arc::clone(&schema), &store, &scan)? {
        Ok(c) => c,
        Err((_, refusal)) => anyhow::bail!("BUG: the generated file is refused: {refusal}"),
    };
    let t_checked = t.elapsed();
    let done = file::record(&path, &checked, "b2c", &mut store, |_| {})?;
    drop(checked);
    drop(store);
    let baseline = t.elapsed();
    let peak = peak_rss_kb();

    let mut ok = true;
    if done.entities != rows || done.recorded != rows {
        eprintln!(
            "BUG: {} entities, {} recorded, {rows} generated",
            done.entities, done.recorded
        );
        ok = false;
    }
    // What plan would send now: nothing.
    let t = Instant::now();
    let store = Store::open_read_only(&config.paths.state_dir)?;
    let opts = PlanOptions {
        scan,
        create_limit: 5,
        for_push: false,
    };
    let plan = plan_file(&path, schema, &config, store.as_ref(), &opts)?;
    let plan_time = t.elapsed();
    for tp in &plan.targets {
        println!(
            "plan afterwards, {}: {} create, {} update, {} remove, {} unchanged",
            tp.target, tp.create, tp.update, tp.remove, tp.unchanged
        );
        if tp.create + tp.update + tp.remove != 0 {
            eprintln!(
                "BUG: after the baseline, plan still has {} create, {} update, {} remove for {}",
                tp.create, tp.update, tp.remove, tp.target
            );
            ok = false;
        }
    }
    let size_mb = |p: &std::path::Path| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1e6);
    let state_mb = size_mb(&config.paths.state_dir.join("ponte.sqlite"))
        + size_mb(&config.paths.state_dir.join("ponte.sqlite-wal"));
    let retained_mb: f64 = std::fs::read_dir(config.paths.state_dir.join("retained"))
        .map(|d| d.flatten().map(|e| size_mb(&e.path())).sum())
        .unwrap_or(0.0);

    let mb = bytes as f64 / 1e6;
    let fb = floor_best.as_secs_f64();
    let bs = baseline.as_secs_f64();
    println!();
    println!(
        "{rows} rows ({lines} lines), {mb:.1} MB; CPU: {}",
        cpu_model()
    );
    println!("{:<44} {:>9} {:>12} {:>10}", "", "s", "rows/s", "MB/s");
    for (name, s) in [
        ("floor (read+memchr+xxh3, 1 thread, best)", fb),
        ("baseline --from-file (one run, cold store)", bs),
        (
            "  of which validate + hash (check)",
            t_checked.as_secs_f64(),
        ),
        ("plan afterwards (nothing to send)", plan_time.as_secs_f64()),
    ] {
        println!(
            "{name:<44} {s:>9.3} {:>12.0} {:>10.0}",
            rows as f64 / s,
            mb / s
        );
    }
    let ratio = bs / fb;
    println!(
        "ratio baseline/floor: {ratio:.1}x (target <= {TARGET_RATIO:.0}x): {}",
        verdict(ratio <= TARGET_RATIO)
    );
    match peak {
        Some(p) => {
            let peak_mb = p as f64 / 1024.0;
            println!(
                "peak memory of the baseline (VmHWM): {peak_mb:.1} MB, RSS before it {:.1} MB (target < {TARGET_PEAK_MB:.0} MB): {}",
                rss_before.unwrap_or(0) as f64 / 1024.0,
                verdict(peak_mb < TARGET_PEAK_MB)
            );
        }
        None => println!("peak memory: /proc/self/status not readable here"),
    }
    println!(
        "state store after the baseline: {state_mb:.0} MB of SQLite, {retained_mb:.0} MB of retained files"
    );
    if !ok {
        eprintln!("baseline_articoli: FAILED (a bug, see above)");
    }
    Ok(ok)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}
