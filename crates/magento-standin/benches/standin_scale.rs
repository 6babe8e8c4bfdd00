//! How the stand-in holds a big catalogue: `PONTE_STANDIN_PRODUCTS`
//! products (default 1,000,000) created one `PUT /V1/products/{sku}` at a
//! time through the in-process API (routing, token check, handler; no
//! sockets), then product writes, stock writes and reads on SKUs drawn at
//! random over the whole catalogue, each timed per operation.
//!
//! Target: a product write or a read answered in well under a millisecond
//! of the stand-in's own time at 1,000,000 products.
//!
//! Run: `cargo bench -p magento-standin --bench standin_scale`

use std::process::ExitCode;
use std::time::{Duration, Instant};

use magento_standin::{Fixture, InProcess};
use serde_json::{json, Value as Json};

/// What "well under a millisecond" is held to, per operation (mean).
const TARGET: Duration = Duration::from_micros(250);
const SAMPLES: usize = 20_000;

fn main() -> ExitCode {
    let products = match std::env::var("PONTE_STANDIN_PRODUCTS") {
        Err(_) => 1_000_000,
        Ok(s) => match s.replace('_', "").trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("standin_scale: PONTE_STANDIN_PRODUCTS must be a positive number");
                return ExitCode::FAILURE;
            }
        },
    };
    match run(products) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("standin_scale: {e}");
            ExitCode::FAILURE
        }
    }
}

fn sku(i: usize) -> String {
    format!("SCALE-{i:07}")
}

/// The generated catalogue: a simple product with the fields ponte sends.
fn product(i: usize, price: f64) -> Json {
    json!({"product": {
        "sku": sku(i),
        "name": format!("Articolo {i}"),
        "price": price,
        "weight": 1.5,
        "status": 1,
        "visibility": 4,
        "type_id": "simple",
        "custom_attributes": [
            {"attribute_code": "description", "value": format!("Articolo numero {i}")},
            {"attribute_code": "ean", "value": format!("80{i:011}")}
        ]
    }})
}

struct Timing {
    name: &'static str,
    times: Vec<Duration>,
}

impl Timing {
    fn report(&mut self) -> bool {
        self.times.sort_unstable();
        let n = self.times.len().max(1);
        let mean = self.times.iter().sum::<Duration>() / n as u32;
        let p50 = self.times[n / 2];
        let p99 = self.times[(n * 99 / 100).min(n - 1)];
        let ok = mean <= TARGET;
        println!(
            "{:<34} p50 {:>7.1} µs  mean {:>7.1} µs  p99 {:>8.1} µs  target mean ≤ {} µs: {}",
            self.name,
            p50.as_secs_f64() * 1e6,
            mean.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            TARGET.as_micros(),
            if ok { "met" } else { "MISSED" }
        );
        ok
    }
}

fn timed(
    shop: &InProcess,
    name: &'static str,
    mut op: impl FnMut(usize) -> (String, String, Json),
) -> Result<Timing, String> {
    let mut rng = fastrand::Rng::with_seed(17);
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let (method, path, body) = op(rng.usize(..));
        let start = Instant::now();
        let (status, answer) = shop.call(&method, &path, &body);
        times.push(start.elapsed());
        if status != 200 {
            return Err(format!(
                "{name}: {method} {path} answered {status}: {answer}"
            ));
        }
    }
    Ok(Timing { name, times })
}

fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn run(products: usize) -> Result<bool, String> {
    let shop = InProcess::new(Fixture::default()).map_err(|e| format!("starting: {e}"))?;
    println!("standin_scale: {products} products");
    let started = Instant::now();
    let window = (products / 10).max(1);
    let mut window_start = Instant::now();
    for i in 0..products {
        let path = format!("/rest/all/V1/products/{}", sku(i));
        let (status, answer) = shop.call("PUT", &path, &product(i, 10.0));
        if status != 200 {
            return Err(format!("creating {}: {status} {answer}", sku(i)));
        }
        if (i + 1) % window == 0 {
            let rate = window as f64 / window_start.elapsed().as_secs_f64();
            println!("  created {:>9}: {:>8.0} creates/s", i + 1, rate);
            window_start = Instant::now();
        }
    }
    println!(
        "created {products} products in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut results = vec![
        timed(&shop, "product write (PUT, existing)", |r| {
            let i = r % products;
            let path = format!("/rest/all/V1/products/{}", sku(i));
            ("PUT".into(), path, product(i, 12.5))
        })?,
        timed(&shop, "product read (GET)", |r| {
            let path = format!("/rest/all/V1/products/{}", sku(r % products));
            ("GET".into(), path, Json::Null)
        })?,
        timed(&shop, "stock write (source item, 1)", |r| {
            let body = json!({"sourceItems": [{"sku": sku(r % products), "source_code": "default", "quantity": (r % 100) as f64, "status": 1}]});
            (
                "POST".into(),
                "/rest/V1/inventory/source-items".into(),
                body,
            )
        })?,
        timed(&shop, "stock write (legacy stock item)", |r| {
            let path = format!("/rest/V1/products/{}/stockItems/1", sku(r % products));
            let body = json!({"stockItem": {"qty": (r % 50) as f64 + 1.0, "is_in_stock": true}});
            ("PUT".into(), path, body)
        })?,
        timed(&shop, "stock read (GET stockItems)", |r| {
            let path = format!("/rest/V1/stockItems/{}", sku(r % products));
            ("GET".into(), path, Json::Null)
        })?,
    ];
    let mut ok = true;
    for t in &mut results {
        ok &= t.report();
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory: {mib} MiB");
    }
    Ok(ok)
}
