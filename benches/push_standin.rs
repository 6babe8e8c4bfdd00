//! How fast changes reach a shop: ponte's push against the Magento stand-in
//! with injected latency, over loopback.
//!
//! 1. A catalogue of `PONTE_BENCH_PRODUCTS` products (default 10,000) is
//!    created with no latency (setup, not timed).
//! 2. With 20 ms of latency on every request and a concurrency of 16, a
//!    complete file changing the price of `PONTE_BENCH_UPDATES` products
//!    (default 2,000) is ingested: updates per second against the limit
//!    16 / 0.02 s = 800/s. Target: 0.9 or more.
//! 3. A stock file of 10,000 rows (one per product) is ingested: the number
//!    of requests it took. Target: at most 20 (batches of 500).
//!
//! Run: `cargo bench --bench push_standin`

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use magento_standin::{Faults, Fixture, StandIn};
use ponte::config::Config;
use ponte::flows::inbound::{ingest_file, Pusher};
use ponte::state::Store;
use ponte_layout::record::writer::FileWriter;
use ponte_layout::record::{Decimal, Value};
use ponte_layout::schema::{Date, Mode, Registry};

const LATENCY: Duration = Duration::from_millis(20);
const CONCURRENCY: u64 = 16;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("push_standin: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn env_number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(s) => Ok(s.replace('_', "").trim().parse()?),
    }
}

fn stamp(hour: u8) -> Date {
    Date {
        year: 2026,
        month: 11,
        day: 28,
        hour,
        minute: 0,
        second: 0,
        has_time: true,
    }
}

/// A complete ARTICOLI file: `n` simple products, the first `bumped` with a
/// price one cent higher.
fn articoli(path: &Path, n: u64, bumped: u64, hour: u8) -> anyhow::Result<()> {
    let registry = Registry::built_in();
    let schema = registry
        .by_flow("ARTICOLI")
        .ok_or_else(|| anyhow::anyhow!("no schema"))?;
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = FileWriter::new(&schema, file, stamp(hour), Mode::Complete, "000001")?;
    for i in 0..n {
        let price = 1000 + i as i64 % 5000 + i64::from(i < bumped);
        w.record(
            "AR",
            &[
                ("sku", Value::Text(format!("SKU-{i:06}"))),
                ("kind", Value::Text("S".into())),
                ("name", Value::Text(format!("Prodotto numero {i}"))),
                ("price", Value::Decimal(Decimal::new(price, 2))),
                ("weight", Value::Decimal(Decimal::new(250, 3))),
                ("vat_code", Value::Text("22".into())),
                ("active", Value::Flag(true)),
            ],
        )?;
    }
    w.finish()?;
    Ok(())
}

fn giacenze(path: &Path, n: u64) -> anyhow::Result<()> {
    let registry = Registry::built_in();
    let schema = registry
        .by_flow("GIACENZE")
        .ok_or_else(|| anyhow::anyhow!("no schema"))?;
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = FileWriter::new(&schema, file, stamp(8), Mode::Changes, "000001")?;
    for i in 0..n {
        w.record(
            "GI",
            &[
                ("sku", Value::Text(format!("SKU-{i:06}"))),
                ("warehouse", Value::Text("MAG01".into())),
                (
                    "quantity",
                    Value::Decimal(Decimal::new(1000 * (i as i64 % 40), 3)),
                ),
            ],
        )?;
    }
    w.finish()?;
    Ok(())
}

fn run() -> anyhow::Result<bool> {
    let products = env_number("PONTE_BENCH_PRODUCTS", 10_000)?;
    let updates = env_number("PONTE_BENCH_UPDATES", 2_000)?.min(products);
    let standin = StandIn::spawn(Fixture::default())?;
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("standin.token"),
        Fixture::default().integration_token,
    )?;
    std::fs::write(
        dir.path().join("ponte.toml"),
        format!(
            r#"
[paths]
state_dir = "state"
inbound = "share/inbound"
in_progress = "share/in-progress"
archive = "share/archive"
rejected = "share/rejected"
outbound = "share/outbound"

[[target]]
name = "bench"
base_url = "{}"
auth = {{ token = {{ file = "standin.token" }} }}
concurrency = {CONCURRENCY}
stock_batch = 500
request_timeout = "60s"
flows = ["products", "stock"]
[target.tax_classes]
"22" = 2
[target.sources]
MAG01 = "default"
"#,
            standin.base_url
        ),
    )?;
    let config = Config::load(&dir.path().join("ponte.toml"))?;
    let registry = Registry::built_in();
    let mut store = Store::open(&config.paths.state_dir)?;
    let pusher = Pusher::new(&config)?;
    let articoli_schema = registry
        .by_flow("ARTICOLI")
        .ok_or_else(|| anyhow::anyhow!("no schema"))?;
    let giacenze_schema = registry
        .by_flow("GIACENZE")
        .ok_or_else(|| anyhow::anyhow!("no schema"))?;
    let mut ok = true;

    eprintln!("seeding {products} products...");
    let day1 = dir.path().join("ART20261128020000.txt");
    articoli(&day1, products, 0, 2)?;
    let seeded = ingest_file(
        &day1,
        articoli_schema.clone(),
        &config,
        &mut store,
        &pusher,
        false,
    )?;
    if !seeded.all_applied() {
        anyhow::bail!("seeding failed: {:?}", seeded.targets);
    }

    let latency = Duration::from_millis(env_number(
        "PONTE_BENCH_LATENCY_MS",
        LATENCY.as_millis() as u64,
    )?);
    standin.set_faults(Faults {
        latency,
        ..Faults::default()
    });
    let day2 = dir.path().join("ART20261128030000.txt");
    articoli(&day2, products, updates, 3)?;
    standin.clear_requests();
    let start = Instant::now();
    let result = ingest_file(&day2, articoli_schema, &config, &mut store, &pusher, false)?;
    let elapsed = start.elapsed().as_secs_f64();
    let sent = result.targets.first().map_or(0, |t| t.sent);
    if sent != updates || !result.all_applied() {
        eprintln!(
            "expected {updates} updates applied, got {sent}: {:?}",
            result.targets
        );
        ok = false;
    }
    let per_second = sent as f64 / elapsed;
    let limit = CONCURRENCY as f64 / latency.as_secs_f64().max(1e-9);

    let stock = dir.path().join("GIA20261128083000.txt");
    giacenze(&stock, products.min(10_000))?;
    standin.clear_requests();
    let start = Instant::now();
    let result = ingest_file(&stock, giacenze_schema, &config, &mut store, &pusher, false)?;
    let stock_elapsed = start.elapsed().as_secs_f64();
    let stock_requests = standin.requests().len();
    if !result.all_applied() {
        eprintln!("stock not all applied: {:?}", result.targets);
        ok = false;
    }

    println!();
    println!(
        "push_standin: stand-in on loopback, {} ms latency, concurrency {CONCURRENCY}",
        latency.as_millis()
    );
    println!(
        "product updates: {sent} in {elapsed:.2} s = {per_second:.0}/s; limit {limit:.0}/s; ratio {:.2} (target >= 0.9) {}",
        per_second / limit,
        if per_second / limit >= 0.9 { "met" } else { "MISSED" }
    );
    println!(
        "stock: {} rows in {stock_requests} requests, {stock_elapsed:.2} s (target <= 20 requests) {}",
        products.min(10_000),
        if stock_requests <= 20 { "met" } else { "MISSED" }
    );
    Ok(ok)
}
