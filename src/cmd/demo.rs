//! `ponte demo`: the whole job on the samples, with nothing installed.
//!
//! Starts the Magento stand-in on loopback, lays out a temporary share with
//! a copy of the sample files (products, stock, customers, fulfilment),
//! runs the service until the share is empty, polls the stand-in's orders
//! once into an ORDINI file, prints what reached the stand-in, and exits 0
//! when every file was applied. `--keep DIR` leaves the share and state
//! there for a look afterwards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;

use super::Exit;
use crate::config::Config;
use crate::flows::inbound::Pusher;
use crate::flows::orders::OrdersPoller;
use crate::flows::service::{run as run_service, stop_on_signals, Periodic, ServiceOptions};
use magento_standin::{Fixture, StandIn};
use ponte_layout::schema::Registry;

/// The samples travel inside the binary, so the demo runs from anywhere.
const SAMPLES: [(&str, &[u8]); 4] = [
    (
        "ART20261128020000.txt",
        include_bytes!("../../samples/ART20261128020000.txt"),
    ),
    (
        "GIA20261128083000.txt",
        include_bytes!("../../samples/GIA20261128083000.txt"),
    ),
    (
        "CLI20261128030000.txt",
        include_bytes!("../../samples/CLI20261128030000.txt"),
    ),
    (
        "EVA20261128100000.txt",
        include_bytes!("../../samples/EVA20261128100000.txt"),
    ),
];

#[derive(clap::Args)]
pub struct Args {
    /// Keep the share, state and outbound files in this folder.
    #[arg(long)]
    keep: Option<PathBuf>,
}

fn demo_config(base_url: &str) -> String {
    format!(
        r#"
[paths]
state_dir = "state"
inbound = "share/inbound"
in_progress = "share/in-progress"
archive = "share/archive"
rejected = "share/rejected"
outbound = "share/outbound"

[intake]
scan_interval = "200ms"
settle_checks = 1
settle_spacing = "1s"

[[target]]
name = "b2c"
base_url = "{base_url}"
auth = {{ token = {{ file = "standin.token" }} }}
concurrency = 8
retries = 3
[target.tax_classes]
"22" = 2
"10" = 7
"04" = 8
"00" = 0
[target.sources]
MAG01 = "default"
MAG02 = "eu_north"
[target.customer_groups]
B2C = 1
"B2B-HORECA" = 2
"B2B-RIV" = 3
[target.carriers]
BRT = {{ code = "custom", title = "BRT Bartolini" }}
GLS = {{ code = "custom", title = "GLS" }}
# The demo shop's orders come from two stores; each order is written with
# its own store's channel.
[target.channels]
default = "B2C"
b2b = "B2B"
"#
    )
}

pub fn run(registry: &Registry, args: Args) -> anyhow::Result<Exit> {
    let standin = StandIn::spawn(Fixture::demo()).context("cannot start the Magento stand-in")?;
    println!("Magento stand-in on {}", standin.base_url);
    let temp;
    let root: PathBuf = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => {
            temp = tempfile::Builder::new().prefix("ponte-demo-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let inbound = root.join("share/inbound");
    std::fs::create_dir_all(&inbound)?;
    write_private(
        &root.join("standin.token"),
        magento_standin::Fixture::default()
            .integration_token
            .as_bytes(),
    )?;
    std::fs::write(root.join("ponte.toml"), demo_config(&standin.base_url))?;
    for (name, bytes) in SAMPLES {
        std::fs::write(inbound.join(name), bytes)?;
        std::fs::write(inbound.join(format!("{name}.ok")), b"")?;
    }
    let config = Config::load(&root.join("ponte.toml"))?;
    println!("share: {}", inbound.display());

    let shutdown = Arc::new(AtomicBool::new(false));
    stop_on_signals(Arc::clone(&shutdown))?;
    let pusher = Pusher::new(&config)?;
    let mut orders = OrdersPoller::sharing(&config, registry, pusher.clone())?;
    let summary = run_service(
        &config,
        registry,
        &pusher,
        shutdown,
        ServiceOptions { until_idle: true },
        &mut [],
        &mut [&mut orders as &mut (dyn Periodic + Send)],
    )?;

    println!();
    println!(
        "files: {} archived ({} with failures), {} duplicates, {} rejected",
        summary.archived, summary.with_failures, summary.duplicates, summary.rejected
    );
    for (folder, dir) in [
        ("archive", &config.paths.archive),
        ("rejected", &config.paths.rejected),
    ] {
        for path in files_below(dir) {
            let shown = path.strip_prefix(dir).unwrap_or(&path);
            println!("  {folder}/{}", shown.display());
        }
    }
    println!("requests that reached the stand-in:");
    let mut by_kind: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in standin.requests() {
        let entry = by_kind
            .entry(format!("{} {}", r.method, shape(&r.path)))
            .or_default();
        if r.status < 400 {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    for (kind, (ok, failed)) in &by_kind {
        let failed = if *failed > 0 {
            format!(" ({failed} refused)")
        } else {
            String::new()
        };
        println!("  {ok:>4} {kind}{failed}");
    }
    print_shop(&standin.snapshot());
    println!("orders written for the ERP:");
    let mut written: Vec<PathBuf> = std::fs::read_dir(&config.paths.outbound)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    written.sort();
    for path in &written {
        let text = std::fs::read(path)?;
        let orders = text
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"OT"))
            .count();
        println!("  {} ({orders} orders)", path.display());
    }
    if args.keep.is_some() {
        println!("kept in {}", root.display());
    }
    let clean = summary.rejected == 0
        && summary.with_failures == 0
        && summary.archived == SAMPLES.len() as u64;
    Ok(if clean { Exit::Ok } else { Exit::Failed })
}

/// `/rest/default/V1/products/CAF-1KG` -> `/V1/products/{..}`, for counting.
fn shape(path: &str) -> String {
    let v1 = path.find("/V1/").map_or(path, |i| &path[i..]);
    let mut parts: Vec<String> = Vec::new();
    for (i, seg) in v1.split('/').enumerate() {
        let fixed = matches!(
            seg,
            "" | "V1"
                | "products"
                | "attributes"
                | "options"
                | "configurable-products"
                | "child"
                | "children"
                | "inventory"
                | "source-items"
                | "customers"
                | "search"
                | "orders"
                | "order"
                | "ship"
                | "invoice"
                | "cancel"
                | "comments"
                | "shipments"
                | "stockItems"
                | "all"
        );
        parts.push(if fixed || (i == 3 && seg == "color") {
            seg.to_string()
        } else {
            "{..}".to_string()
        });
    }
    parts.join("/")
}

fn print_shop(snapshot: &serde_json::Value) {
    println!("the stand-in shop now holds:");
    if let Some(obj) = snapshot.as_object() {
        for (key, value) in obj {
            let n = match value {
                serde_json::Value::Array(a) => a.len(),
                serde_json::Value::Object(o) => o.len(),
                _ => continue,
            };
            println!("  {n:>4} {key}");
        }
    }
}

/// Every file below `dir`, sorted (none when it is missing).
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(bytes)
}
