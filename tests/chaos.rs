//! The chaos suite: `ponte watch` beside a real SMB share (Samba, written
//! to through smbclient as the ERP's Windows machine would: in chunks with
//! pauses, keeping the source's old modification time), against the Magento
//! stand-in held to Magento 2.4.8's schema.
//!
//! - `kill -9` of the service at random points (seeded; the seed is printed
//!   and `PONTE_CHAOS_SEED` replays it) while a stream of files of every
//!   flow arrives and orders are polled; restarted each time. At the end
//!   the shop holds exactly what the last files say, every shipment,
//!   invoice and cancellation exists once, every order is in exactly one
//!   ORD file, every file is archived (or rejected) exactly once, and
//!   nothing is left in progress.
//!
//! - The same stream, without kills, against the stand-in answering 30% of
//!   requests with 500/503, then losing 10% of its answers after applying
//!   the request, then dropping 10% of connections with 200 ms of latency:
//!   everything ends applied exactly once.
//!
//! - Poison files among the stream (ponte's own ORD file, garbage, an empty
//!   file, a header without trailer, a wrong trailer count, a 300 MB line
//!   without a newline, a link out of the share, a folder named like a
//!   file, a name that is not UTF-8): each rejected with its report or left
//!   alone and said so once, and the good files after them applied.
//!
//! `PONTE_CHAOS_KILLS` sets the number of kills (default 50; the README's
//! reliability section says how to run a longer one).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::samba::Samba;
use magento_standin::{Faults, Fixture};
use ponte_layout::record::writer::FileWriter;
use ponte_layout::record::{Decimal, Value};
use ponte_layout::schema::{Date, Mode, Registry};
use serde_json::Value as Json;

fn config(base_url: &str, share: &Path) -> String {
    let s = share.display();
    format!(
        r#"
[paths]
state_dir = "state"
inbound = "{s}/inbound"
in_progress = "{s}/in-progress"
archive = "{s}/archive"
rejected = "{s}/rejected"
outbound = "{s}/outbound"

[intake]
scan_interval = "200ms"
settle_checks = 2
settle_spacing = "1s"
incomplete_timeout = "5s"

[orders]
poll_interval = "1s"
statuses = ["pending", "processing"]

[[target]]
name = "b2c"
base_url = "{base_url}"
auth = {{ token = {{ file = "standin.token" }} }}
concurrency = 4
retries = 8
order_comment = true
[target.tax_classes]
"22" = 2
"10" = 7
"04" = 8
[target.sources]
MAG01 = "default"
MAG02 = "eu_north"
[target.customer_groups]
B2C = 1
"B2B-HORECA" = 2
[target.carriers]
BRT = {{ code = "custom", title = "BRT Bartolini" }}
[target.channels]
default = "B2C"
b2b = "B2B"
"#
    )
}

fn at(hour: u8) -> Date {
    common::at_hour(hour)
}

/// What the ERP says about a product, as the test keeps it.
#[derive(Clone, Debug)]
struct Product {
    sku: String,
    parent: String,
    kind: &'static str,
    name: String,
    cents: i64,
    size: &'static str,
    color: &'static str,
}

/// The stream of ERP files, and what the shop must hold once all applied.
struct Stream {
    files: Vec<(String, Vec<u8>)>,
    products: BTreeMap<String, Product>,
    /// (sku, source) -> quantity in thousandths.
    stock: BTreeMap<(String, String), i64>,
    customers: BTreeMap<String, String>,
}

fn articoli(hour: u8, mode: Mode, rows: &[Product]) -> Vec<u8> {
    let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
    let mut w = FileWriter::new(&schema, Vec::new(), at(hour), mode, "000001").unwrap();
    for p in rows {
        w.record(
            "AR",
            &[
                ("sku", Value::Text(p.sku.clone())),
                ("parent_sku", Value::Text(p.parent.clone())),
                ("kind", Value::Text(p.kind.into())),
                ("name", Value::Text(p.name.clone())),
                ("price", Value::Decimal(Decimal::new(p.cents, 2))),
                ("vat_code", Value::Text("22".into())),
                ("active", Value::Flag(true)),
                ("brand", Value::Text("Felpa & Co.".into())),
                ("size", Value::Text(p.size.into())),
                ("color", Value::Text(p.color.into())),
                ("unit", Value::Text("PZ".into())),
            ],
        )
        .unwrap();
    }
    w.finish().unwrap()
}

fn giacenze(hour: u8, rows: &[(String, &str, i64)]) -> Vec<u8> {
    let schema = Registry::built_in().by_flow("GIACENZE").unwrap();
    let mut w = FileWriter::new(&schema, Vec::new(), at(hour), Mode::Changes, "000001").unwrap();
    for (sku, warehouse, milli) in rows {
        w.record(
            "GI",
            &[
                ("sku", Value::Text(sku.clone())),
                ("warehouse", Value::Text(warehouse.to_string())),
                ("quantity", Value::Decimal(Decimal::new(*milli, 3))),
            ],
        )
        .unwrap();
    }
    w.finish().unwrap()
}

fn clienti(hour: u8, rows: &[(String, String, String)]) -> Vec<u8> {
    let schema = Registry::built_in().by_flow("CLIENTI").unwrap();
    let mut w = FileWriter::new(&schema, Vec::new(), at(hour), Mode::Changes, "000001").unwrap();
    for (code, name, email) in rows {
        w.record(
            "CL",
            &[
                ("customer_code", Value::Text(code.clone())),
                ("name", Value::Text(name.clone())),
                ("email", Value::Text(email.clone())),
                ("street", Value::Text("Via Roma 1".into())),
                ("postcode", Value::Text("10121".into())),
                ("city", Value::Text("Torino".into())),
                ("province", Value::Text("TO".into())),
                ("country", Value::Text("IT".into())),
                ("phone", Value::Text("011 555 0101".into())),
                ("price_list", Value::Text("B2C".into())),
                ("active", Value::Flag(true)),
            ],
        )
        .unwrap();
    }
    w.finish().unwrap()
}

/// Two partial shipments of the B2B order 000000103, without tracking
/// numbers: nothing but the order's shipped quantities tells whether one
/// was made.
fn partial_shipments(hour: u8) -> Vec<u8> {
    let schema = Registry::built_in().by_flow("EVASIONI").unwrap();
    let mut w = FileWriter::new(&schema, Vec::new(), at(hour), Mode::Changes, "000001").unwrap();
    let order = || ("order_number", Value::Text("000000103".into()));
    for (note, sku, milli) in [
        ("DDT0500", "OLI-EVO-075", 5000),
        ("DDT0501", "CAF-ESP-1KG", 6000),
    ] {
        w.record(
            "EV",
            &[
                order(),
                ("event", Value::Text("P".into())),
                ("delivery_note", Value::Text(note.into())),
            ],
        )
        .unwrap();
        w.record(
            "ER",
            &[
                order(),
                ("sku", Value::Text(sku.into())),
                ("quantity", Value::Decimal(Decimal::new(milli, 3))),
            ],
        )
        .unwrap();
    }
    w.finish().unwrap()
}

fn stream() -> Stream {
    let mut products: BTreeMap<String, Product> = BTreeMap::new();
    let simple = |i: usize, cents: i64| Product {
        sku: format!("CH-{i:03}"),
        parent: String::new(),
        kind: "S",
        name: format!("Prodotto caos {i}"),
        cents,
        size: "",
        color: "",
    };
    let mut first = Vec::new();
    for i in 0..30 {
        first.push(simple(i, 1000 + i as i64));
    }
    for family in ["MAGLIA", "POLO"] {
        first.push(Product {
            sku: format!("CH-{family}"),
            parent: String::new(),
            kind: "C",
            name: format!("{family} caos"),
            cents: 3990,
            size: "",
            color: "",
        });
        for (size, color) in [("S", "Blu navy"), ("M", "Blu navy"), ("M", "Rosso")] {
            first.push(Product {
                sku: format!("CH-{family}-{size}-{}", &color[..3].to_uppercase()),
                parent: format!("CH-{family}"),
                kind: "V",
                name: format!("{family} caos {size} {color}"),
                cents: 3990,
                size,
                color,
            });
        }
    }
    let mut files = vec![(
        "ART20261128010000.txt".to_string(),
        articoli(1, Mode::Complete, &first),
    )];
    for p in &first {
        products.insert(p.sku.clone(), p.clone());
    }

    let mut stock: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut rows = Vec::new();
    for p in first.iter().filter(|p| p.kind != "C") {
        for (w, source, q) in [("MAG01", "default", 10_000), ("MAG02", "eu_north", 5_000)] {
            rows.push((p.sku.clone(), w, q));
            stock.insert((p.sku.clone(), source.to_string()), q);
        }
    }
    files.push(("GIA20261128020000.txt".into(), giacenze(2, &rows)));

    let customers: Vec<(String, String, String)> = (1..=5)
        .map(|i| {
            (
                format!("CCH{i:04}"),
                format!("Cliente Caos{i}"),
                format!("cliente.caos{i}@example.it"),
            )
        })
        .collect();
    files.push(("CLI20261128030000.txt".into(), clienti(3, &customers)));

    let eva = std::fs::read(common::root().join("samples/EVA20261128100000.txt")).unwrap();
    files.push(("EVA20261128100000.txt".into(), eva));
    files.push(("EVA20261128110000.txt".into(), partial_shipments(11)));

    // The next hours: prices and names change, stock moves.
    let mut second = Vec::new();
    for i in (0..30).step_by(3) {
        let mut p = simple(i, 2000 + i as i64);
        p.name = format!("Prodotto caos {i} rinnovato");
        second.push(p);
    }
    for p in &second {
        products.insert(p.sku.clone(), p.clone());
    }
    files.push((
        "ART20261128050000.txt".into(),
        articoli(5, Mode::Changes, &second),
    ));
    for hour in [6u8, 7] {
        let mut rows = Vec::new();
        for i in (0..30).step_by(hour as usize - 4) {
            let sku = format!("CH-{i:03}");
            let q = 1_000 * i64::from(hour) + i as i64;
            rows.push((sku.clone(), "MAG01", q));
            stock.insert((sku, "default".into()), q);
        }
        files.push((format!("GIA202611280{hour}0000.txt"), giacenze(hour, &rows)));
    }
    let mut third: Vec<Product> = first
        .iter()
        .filter(|p| p.kind == "V")
        .cloned()
        .map(|mut p| {
            p.cents = 4490;
            p
        })
        .collect();
    third.truncate(4);
    for p in &third {
        products.insert(p.sku.clone(), p.clone());
    }
    files.push((
        "ART20261128080000.txt".into(),
        articoli(8, Mode::Changes, &third),
    ));
    Stream {
        files,
        products,
        stock,
        customers: customers.into_iter().map(|(_, n, e)| (e, n)).collect(),
    }
}

/// A running `ponte watch`, killed when dropped.
struct Watch {
    child: Child,
    log: PathBuf,
}

impl Watch {
    fn start(dir: &Path, n: usize) -> Watch {
        let log = dir.join(format!("watch-{n:03}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_ponte"))
            .arg("--config")
            .arg(dir.join("ponte.toml"))
            .arg("watch")
            .current_dir(common::root())
            .env_remove("PONTE_SCHEMAS")
            .env_remove("RUST_LOG")
            .env("PONTE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start ponte watch");
        Watch { child, log }
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Order numbers in the ORD files of `outbound`, with how many times each.
fn exported_orders(outbound: &Path) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for f in files_in(outbound) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("ORD") && name.ends_with(".txt")) {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        for line in bytes.split(|b| *b == b'\n') {
            if line.starts_with(b"OT") {
                let number = String::from_utf8_lossy(&line[2..22]).trim().to_string();
                *seen.entry(number).or_insert(0) += 1;
            }
        }
    }
    seen
}

fn seed() -> u64 {
    std::env::var("PONTE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        })
}

fn kills() -> usize {
    std::env::var("PONTE_CHAOS_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50)
}

/// How a run is disturbed.
struct Chaos {
    what: &'static str,
    kills: usize,
    faults: Faults,
    /// Poison files dropped among the stream's.
    poison: bool,
}

/// Files no ERP should write, dropped into the share among the good ones:
/// each must end in rejected/ with its report, or be left alone (and said
/// so once), and hold nothing back for good. Returns the names expected in
/// rejected/ and those expected left in inbound.
fn drop_poison(samba: &common::samba::Client, inbound: &Path) -> (Vec<String>, Vec<String>) {
    let mut rejected = Vec::new();
    let mut local = tempfile::NamedTempFile::new().unwrap();
    let mut put = |name: &str, bytes: &[u8]| {
        use std::io::{Seek, Write};
        local.as_file_mut().set_len(0).unwrap();
        local.as_file_mut().rewind().unwrap();
        local.as_file_mut().write_all(bytes).unwrap();
        samba.run(&format!("put {} inbound/{name}", local.path().display()));
        rejected.push(name.to_string());
    };
    // ponte's own output, dropped back by mistake.
    put(
        "ORD20261128090000.txt",
        b"TEORDINI    20261128090000V000001\r\nCO000000000\r\n",
    );
    // Garbage, an empty file, a header without its trailer.
    let mut garbage = vec![0u8; 4096];
    fastrand::Rng::with_seed(3).fill(&mut garbage);
    put("ART20261128043000.txt", &garbage);
    put("GIA20261128043000.txt", b"");
    let header_only = giacenze(4, &[]);
    let cut = header_only.iter().position(|b| *b == b'\n').unwrap() + 1;
    put("CLI20261128043000.txt", &header_only[..cut]);
    // A trailer whose count is wrong.
    let mut wrong = giacenze(4, &[("CH-001".into(), "MAG01", 1000)]);
    let at = wrong
        .windows(2)
        .rposition(|w| w == b"CO")
        .expect("a trailer");
    let count = &mut wrong[at + 2..at + 11];
    count.copy_from_slice(b"000000042");
    put("GIA20261128044000.txt", &wrong);
    // A 300 MB line without a newline, older than the next good products.
    let mut huge = articoli(4, Mode::Changes, &[]);
    let cut = huge.iter().position(|b| *b == b'\n').unwrap() + 1;
    huge.truncate(cut);
    huge.resize(300 << 20, b'A');
    std::fs::write(inbound.join("ART20261128045000.txt"), &huge).unwrap();
    rejected.push("ART20261128045000.txt".into());
    // Left alone: a link out of the share, a folder named like a file, a
    // name that is not UTF-8.
    let mut alone = Vec::new();
    std::os::unix::fs::symlink("/etc/passwd", inbound.join("ART20261128046000.txt")).unwrap();
    alone.push("ART20261128046000.txt".to_string());
    std::fs::create_dir(inbound.join("GIA20261128046000.txt")).unwrap();
    alone.push("GIA20261128046000.txt".to_string());
    use std::os::unix::ffi::OsStrExt;
    let odd = std::ffi::OsStr::from_bytes(b"ART2026112804\xff7000.txt");
    std::fs::write(inbound.join(odd), &garbage).unwrap();
    (rejected, alone)
}

/// Runs the whole stream through `ponte watch` beside the share under
/// `chaos`, then checks that everything was applied exactly once.
fn run(chaos: Chaos) {
    let seed = seed();
    let kills = chaos.kills;
    eprintln!(
        "chaos ({}): seed {seed} (replay with PONTE_CHAOS_SEED={seed}), {kills} kills",
        chaos.what
    );
    let mut rng = fastrand::Rng::with_seed(seed);
    let samba = Samba::start();
    let share = samba.path();
    samba.run("mkdir inbound");
    let shop = common::contract::shop(Fixture::demo());
    let injects = chaos.faults.error_rate > 0.0
        || chaos.faults.drop_rate > 0.0
        || chaos.faults.lost_reply_rate > 0.0;
    shop.set_faults(Faults {
        seed,
        ..chaos.faults
    });
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("standin.token");
    std::fs::write(&token, Fixture::default().integration_token).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(
        dir.path().join("ponte.toml"),
        config(&shop.base_url, &share),
    )
    .unwrap();

    let stream = stream();
    let expected_files: BTreeSet<String> = stream.files.iter().map(|(n, _)| n.clone()).collect();
    // The ERP writes its files one after another through the share.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let files = stream.files.clone();
        let writing = Arc::clone(&writing);
        let port = samba.port;
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
        let poison = chaos.poison;
        let inbound = share.join("inbound");
        std::thread::spawn(move || {
            let samba = common::samba::Client::new(port);
            let mut dropped = (Vec::new(), Vec::new());
            for (i, (name, bytes)) in files.into_iter().enumerate() {
                if poison && i == 3 {
                    dropped = drop_poison(&samba, &inbound);
                }
                let chunks = rng.usize(1..=3);
                samba.copy_like_windows(
                    &bytes,
                    &format!("inbound/{name}"),
                    chunks,
                    Duration::from_millis(rng.u64(100..600)),
                );
                std::thread::sleep(Duration::from_millis(rng.u64(200..1500)));
            }
            writing.store(false, Ordering::SeqCst);
            dropped
        })
    };

    let started = Instant::now();
    for n in 0..kills {
        // Killed while it talks to Magento: once a request of this run has
        // reached the shop (a push, or the orders poll), a moment later.
        let pushes = || {
            shop.requests()
                .iter()
                .filter(|r| r.method != "GET" && !r.path.contains("/comments"))
                .count()
        };
        let before = pushes();
        let watch = Watch::start(dir.path(), n);
        let started = Instant::now();
        while pushes() == before && started.elapsed() < Duration::from_secs(4) {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(rng.u64(0..400)));
        watch.kill9();
    }
    // Then the service runs undisturbed until everything is through.
    let watch = Watch::start(dir.path(), kills);
    let (poisoned, left_alone) = writer.join().expect("the ERP's writer");
    assert!(!writing.load(Ordering::SeqCst));
    let deadline = Instant::now() + Duration::from_secs(180);
    let done = || {
        let inbound = files_in(&share.join("inbound"));
        let in_progress = files_in(&share.join("in-progress"));
        let handled: BTreeSet<String> = names(&files_in(&share.join("archive")))
            .into_iter()
            .chain(names(&files_in(&share.join("rejected"))))
            .collect();
        let waiting = names(&inbound)
            .into_iter()
            .filter(|n| !left_alone.contains(n) && !n.contains('\u{fffd}'))
            .count();
        let rejected_all = poisoned.iter().all(|p| handled.contains(p));
        waiting == 0 && in_progress.is_empty() && expected_files.is_subset(&handled) && rejected_all
    };
    while !done() {
        assert!(
            Instant::now() < deadline,
            "not through after 3 minutes (seed {seed}); last log:\n{}",
            std::fs::read_to_string(&watch.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Two more polls, for the orders the fulfilment file moved.
    std::thread::sleep(Duration::from_secs(3));
    drop(watch);
    let faults_seen = shop
        .requests()
        .iter()
        .filter(|r| r.status >= 500 || r.status == 0)
        .count();
    shop.set_faults(Faults::default());
    let elapsed = started.elapsed();

    // Every file archived exactly once, none rejected, none left in progress.
    let archived = names(&files_in(&share.join("archive")));
    for name in &expected_files {
        let times = archived.iter().filter(|a| *a == name).count();
        assert_eq!(
            times, 1,
            "{name} archived {times} times (seed {seed}): {archived:?}"
        );
    }
    let rejected = names(&files_in(&share.join("rejected")));
    let mut expected_rejected: Vec<String> = poisoned
        .iter()
        .flat_map(|p| [p.clone(), format!("{p}.err")])
        .collect();
    expected_rejected.sort();
    assert_eq!(rejected, expected_rejected, "rejected (seed {seed})");
    // What is left alone stays, said once in the service's log.
    let log = std::fs::read_to_string(dir.path().join(format!("watch-{kills:03}.log")))
        .unwrap_or_default();
    for name in &left_alone {
        assert!(
            share.join("inbound").join(name).exists(),
            "{name} (seed {seed})"
        );
        let said = log.lines().filter(|l| l.contains(name.as_str())).count();
        assert_eq!(said, 1, "{name} said {said} times (seed {seed}):\n{log}");
    }
    assert!(files_in(&share.join("in-progress")).is_empty());

    let snapshot = shop.snapshot();
    let by_sku: BTreeMap<&str, &Json> = snapshot["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["sku"].as_str().unwrap(), p))
        .collect();
    for p in stream.products.values() {
        let held = by_sku
            .get(p.sku.as_str())
            .unwrap_or_else(|| panic!("{} missing (seed {seed})", p.sku));
        assert_eq!(held["name"], p.name.as_str(), "{} (seed {seed})", p.sku);
        assert_eq!(
            held["price"].as_f64(),
            Some(p.cents as f64 / 100.0),
            "{} (seed {seed})",
            p.sku
        );
        assert_eq!(held["status"], 1, "{} (seed {seed})", p.sku);
        if p.kind == "V" {
            let parent = by_sku[p.parent.as_str()];
            let links = &parent["extension_attributes"]["configurable_product_links"];
            assert!(
                links
                    .as_array()
                    .is_some_and(|l| l.iter().any(|id| *id == held["id"])),
                "{} not linked to {} (seed {seed}): {links}",
                p.sku,
                p.parent
            );
        }
    }
    for ((sku, source), milli) in &stream.stock {
        let held = snapshot["source_items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sku"] == sku.as_str() && s["source_code"] == source.as_str())
            .unwrap_or_else(|| panic!("no stock of {sku} at {source} (seed {seed})"));
        assert_eq!(
            held["quantity"].as_f64(),
            Some(*milli as f64 / 1000.0),
            "{sku} at {source} (seed {seed})"
        );
    }
    let customers: BTreeSet<&str> = snapshot["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["email"].as_str())
        .collect();
    for email in stream.customers.keys() {
        assert!(customers.contains(email.as_str()), "{email} (seed {seed})");
    }
    // The sample fulfilment file: 101 shipped and invoiced once, 102 cancelled.
    let documents = |key: &str| {
        snapshot[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["order_id"] == 2 || d["order_id"] == "2")
            .count()
    };
    assert_eq!(documents("shipments"), 1, "shipments of 101 (seed {seed})");
    let shipped_of_103: Vec<f64> = snapshot["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["order_id"] == 4 || d["order_id"] == "4")
        .map(|d| {
            d["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["qty"].as_f64())
                .sum()
        })
        .collect();
    let mut shipped_of_103 = shipped_of_103;
    shipped_of_103.sort_by(f64::total_cmp);
    assert_eq!(
        shipped_of_103,
        [5.0, 6.0],
        "the partial shipments of 103, once each (seed {seed})"
    );
    assert_eq!(documents("invoices"), 1, "invoices of 101 (seed {seed})");
    let state_of = |increment: &str| {
        snapshot["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["increment_id"] == increment)
            .map(|o| o["state"].clone())
    };
    assert_eq!(state_of("000000102"), Some(Json::from("canceled")));
    // Every order exported at most once; those still to export, exactly once.
    let exported = exported_orders(&share.join("outbound"));
    for (order, times) in &exported {
        assert_eq!(
            *times, 1,
            "order {order} exported {times} times (seed {seed})"
        );
    }
    assert!(
        exported.contains_key("000000103"),
        "the B2B order never exported (seed {seed}): {exported:?}"
    );
    // One "exported to the ERP" comment per exported order, never two.
    for o in snapshot["orders"].as_array().unwrap() {
        let increment = o["increment_id"].as_str().unwrap_or_default();
        let comments = o["status_histories"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|h| {
                h["comment"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("exported to the ERP in"))
            })
            .count();
        let expected = usize::from(exported.contains_key(increment));
        assert_eq!(
            comments, expected,
            "export comments of {increment} (seed {seed})"
        );
    }
    if injects {
        assert!(faults_seen > 0, "no fault was injected (seed {seed})");
    }
    // How many restarts found a file a kill left in progress.
    let resumed = (0..=kills)
        .filter(|n| {
            std::fs::read_to_string(dir.path().join(format!("watch-{n:03}.log")))
                .is_ok_and(|l| l.contains("resuming a file left in progress"))
        })
        .count();
    let requests = shop.requests();
    let failed = requests.iter().filter(|r| r.status >= 400).count();
    eprintln!(
        "chaos ({}): {kills} kills survived ({resumed} restarts resumed a file a kill left in progress) in {:.0?}; {} files, {} requests, {failed} answered 4xx/5xx or dropped ({faults_seen} by injected faults, retried), orders exported {:?}",
        chaos.what,
        elapsed,
        expected_files.len(),
        requests.len(),
        exported.keys().collect::<Vec<_>>()
    );
    drop(samba);
}

#[test]
fn kill_9_at_random_points_while_every_flow_arrives_over_smb() {
    run(Chaos {
        what: "kill -9",
        kills: kills(),
        // Latency, so that a push lasts long enough to be killed in.
        faults: Faults {
            latency: Duration::from_millis(20),
            ..Faults::default()
        },
        poison: false,
    });
}

#[test]
fn under_30_percent_server_errors_everything_is_applied_once() {
    run(Chaos {
        what: "30% 5xx",
        kills: 0,
        faults: Faults {
            error_rate: 0.3,
            ..Faults::default()
        },
        poison: false,
    });
}

#[test]
fn with_10_percent_of_replies_lost_everything_is_applied_once() {
    run(Chaos {
        what: "10% lost replies",
        kills: 0,
        faults: Faults {
            lost_reply_rate: 0.1,
            ..Faults::default()
        },
        poison: false,
    });
}

#[test]
fn with_dropped_connections_and_latency_everything_is_applied_once() {
    run(Chaos {
        what: "dropped connections, 200 ms",
        kills: 0,
        faults: Faults {
            drop_rate: 0.1,
            latency: Duration::from_millis(200),
            ..Faults::default()
        },
        poison: false,
    });
}

#[test]
fn poison_files_among_the_stream_are_rejected_or_left_alone_and_hold_nothing_back() {
    run(Chaos {
        what: "poison files",
        kills: 0,
        faults: Faults::default(),
        poison: true,
    });
}
