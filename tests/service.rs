//! Intake and the service end to end (issue 5): the real `ponte` binary
//! (`watch`, `ingest`, `demo`) over real folders, the Magento stand-in on
//! loopback. A file written slowly is never taken early; a second drop of
//! the same content is archived as a duplicate; an older file after a newer
//! one is rejected as stale; a `kill -9` mid-push loses nothing and sends
//! nothing non-idempotent twice; one instance per state directory; SIGTERM
//! finishes the current file; the demo; a bad file rejected with its report.
//! Issue 13: no bad file or passing share failure stops the service, files
//! that never complete time out, exit 2 against 3, the orders poll's own
//! schedule.
//!
//! Every wait polls against a deadline; every child process is killed when
//! a test fails (`Service`'s `Drop`), and its output is printed then.

mod common;

use common::process::Service;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use magento_standin::{Faults, Fixture, LoggedRequest};
use ponte_layout::record::writer::FileWriter;
use ponte_layout::record::{Decimal, Value};
use ponte_layout::schema::{Date, Mode, Registry};

/// Generous: the machine running the tests may be loaded.
const LONG: Duration = Duration::from_secs(60);

fn config(base_url: &str, settle_checks: u32) -> String {
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
settle_checks = {settle_checks}
settle_spacing = "1s"

[[target]]
name = "b2c"
base_url = "{base_url}"
auth = {{ token = {{ file = "standin.token" }} }}
concurrency = 4
retries = 2
flows = ["products", "stock", "customers", "fulfilment"]
[target.tax_classes]
"22" = 2
"10" = 7
[target.sources]
MAG01 = "default"
MAG02 = "eu_north"
[target.customer_groups]
B2C = 1
[target.carriers]
BRT = {{ code = "custom", title = "BRT Bartolini" }}
"#
    )
}

/// A share, a state directory and a stand-in shop (the demo fixture).
struct World {
    dir: tempfile::TempDir,
    shop: common::contract::Shop,
}

impl World {
    fn new(settle_checks: u32) -> World {
        let shop = common::contract::shop(Fixture::demo());
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("standin.token");
        std::fs::write(&token, "standin-token").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(
            dir.path().join("ponte.toml"),
            config(&shop.base_url, settle_checks),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("share/inbound")).unwrap();
        World { dir, shop }
    }

    /// As `new`, with the configuration's text edited.
    fn edited(settle_checks: u32, edit: impl Fn(String) -> String) -> World {
        let w = World::new(settle_checks);
        std::fs::write(
            w.config_path(),
            edit(config(&w.shop.base_url, settle_checks)),
        )
        .unwrap();
        w
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("ponte.toml")
    }

    fn folder(&self, name: &str) -> PathBuf {
        self.dir.path().join("share").join(name)
    }

    fn inbound(&self) -> PathBuf {
        self.folder("inbound")
    }

    fn lock_file(&self) -> PathBuf {
        self.dir.path().join("state/ponte.lock")
    }

    /// `ponte --config ponte.toml ARGS...`, running in the background.
    fn start(&self, args: &[&str]) -> Service {
        Service::start(Some(&self.config_path()), args)
    }

    /// `ponte watch` once it holds the instance lock.
    fn watch(&self) -> Service {
        let svc = self.start(&["watch"]);
        let lock = self.lock_file();
        let pid = svc.pid().to_string();
        svc.wait_until("the service to hold the instance lock", LONG, || {
            std::fs::read_to_string(&lock).is_ok_and(|s| s.trim() == pid)
        });
        svc
    }

    /// `ponte ARGS...` (ARGS ending in `watch`) once it holds the lock.
    fn watch_with(&self, args: &[&str]) -> Service {
        let svc = self.start(args);
        let lock = self.lock_file();
        let pid = svc.pid().to_string();
        svc.wait_until("the service to hold the instance lock", LONG, || {
            std::fs::read_to_string(&lock).is_ok_and(|s| s.trim() == pid)
        });
        svc
    }

    /// Drops a whole file into the inbound folder at once, as a careful
    /// writer does: a temporary name, then a rename.
    fn drop_file(&self, name: &str, bytes: &[u8]) {
        let tmp = self.inbound().join(format!("{name}.tmp"));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, self.inbound().join(name)).unwrap();
    }

    /// File names directly in a folder, sorted (empty when it is missing).
    fn names(&self, folder: &str) -> Vec<String> {
        names_in(&self.folder(folder))
    }

    /// Paths under archive/, relative to it (`YYYY/MM/DD/NAME`), sorted.
    fn archived(&self) -> Vec<String> {
        let root = self.folder("archive");
        let mut out = Vec::new();
        let mut todo = vec![root.clone()];
        while let Some(dir) = todo.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                if path.is_dir() {
                    todo.push(path);
                } else {
                    let rel = path.strip_prefix(&root).unwrap();
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        out
    }

    /// How many times a file of this name sits in the archive, and checks
    /// it sits in a YYYY/MM/DD folder.
    fn archived_count(&self, name: &str) -> usize {
        let found: Vec<String> = self
            .archived()
            .into_iter()
            .filter(|p| Path::new(p).file_name().unwrap().to_string_lossy() == name)
            .collect();
        for p in &found {
            let parts: Vec<&str> = p.split('/').collect();
            assert_eq!(parts.len(), 4, "{p}: not under archive/YYYY/MM/DD");
            assert!(
                parts[..3]
                    .iter()
                    .zip([4, 2, 2])
                    .all(|(s, n)| s.len() == n && s.bytes().all(|b| b.is_ascii_digit())),
                "{p}: not under archive/YYYY/MM/DD"
            );
        }
        found.len()
    }

    fn skus(&self) -> BTreeSet<String> {
        self.shop.snapshot()["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["sku"].as_str().unwrap().to_string())
            .collect()
    }

    fn requests(&self) -> Vec<LoggedRequest> {
        self.shop.requests()
    }

    /// (shipments, invoices) the shop holds for an order.
    fn documents_of(&self, increment_id: &str) -> (usize, usize) {
        self.shop.with_state(|s| {
            // An id as a number, or as the string Magento sometimes sends.
            let number = |v: &serde_json::Value| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            };
            let id = s
                .orders
                .iter()
                .find(|o| o["increment_id"] == increment_id)
                .and_then(|o| number(&o["entity_id"]))
                .expect("the order and its entity_id");
            let count = |docs: &Vec<serde_json::Value>| {
                docs.iter()
                    .filter(|d| number(&d["order_id"]) == Some(id))
                    .count()
            };
            (count(&s.shipments), count(&s.invoices))
        })
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn product_puts(requests: &[LoggedRequest]) -> usize {
    requests
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/V1/products/"))
        .count()
}

fn posts_ending(requests: &[LoggedRequest], tail: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(tail))
        .count()
}

fn at(hour: u8) -> Date {
    common::at_hour(hour)
}

fn skus(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i:04}")).collect()
}

/// An ARTICOLI file (changes) of simple products at `price` cents.
fn articoli(hour: u8, skus: &[String], price: i64) -> Vec<u8> {
    let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
    let mut w = FileWriter::new(&schema, Vec::new(), at(hour), Mode::Changes, "000001").unwrap();
    for (i, sku) in skus.iter().enumerate() {
        w.record(
            "AR",
            &[
                ("sku", Value::Text(sku.clone())),
                ("kind", Value::Text("S".into())),
                ("name", Value::Text(format!("Tazza da caffè n. {i}"))),
                ("price", Value::Decimal(Decimal::new(price, 2))),
                ("weight", Value::Decimal(Decimal::new(250, 3))),
                ("vat_code", Value::Text("22".into())),
                ("active", Value::Flag(true)),
                ("brand", Value::Text("Ceramiche Faentine".into())),
                ("unit", Value::Text("PZ".into())),
            ],
        )
        .unwrap();
    }
    w.finish().unwrap()
}

/// An EVASIONI file: order 000000101 shipped (two items, tracked) and
/// invoiced, the two events Magento does not take twice gracefully.
fn evasioni(hour: u8) -> Vec<u8> {
    let schema = Registry::built_in().by_flow("EVASIONI").unwrap();
    let mut w = FileWriter::new(&schema, Vec::new(), at(hour), Mode::Changes, "000001").unwrap();
    let order = || ("order_number", Value::Text("000000101".into()));
    w.record(
        "EV",
        &[
            order(),
            ("event", Value::Text("S".into())),
            ("delivery_note", Value::Text("DDT0451".into())),
            (
                "delivery_date",
                Value::Date(Date {
                    hour: 0,
                    day: 27,
                    has_time: false,
                    ..at(0)
                }),
            ),
            ("carrier", Value::Text("BRT".into())),
            ("tracking_number", Value::Text("0123456789012345".into())),
        ],
    )
    .unwrap();
    for (sku, qty) in [("CAF-ESP-1KG", 2000), ("FEL-POLO-M-BLU", 1000)] {
        w.record(
            "ER",
            &[
                order(),
                ("sku", Value::Text(sku.into())),
                ("quantity", Value::Decimal(Decimal::new(qty, 3))),
            ],
        )
        .unwrap();
    }
    w.record("EV", &[order(), ("event", Value::Text("F".into()))])
        .unwrap();
    w.finish().unwrap()
}

/// The file is still in the inbound folder and nowhere else.
fn only_in_inbound(w: &World, name: &str, when: &str) {
    assert!(
        w.inbound().join(name).is_file(),
        "{when}: {name} left the inbound folder early"
    );
    assert!(
        w.names("in-progress").is_empty(),
        "{when}: claimed early: {:?}",
        w.names("in-progress")
    );
    assert!(
        w.archived().is_empty(),
        "{when}: archived early: {:?}",
        w.archived()
    );
    assert!(
        w.names("rejected").is_empty(),
        "{when}: rejected early: {:?}",
        w.names("rejected")
    );
}

#[test]
fn a_file_written_slowly_is_taken_only_once_complete() {
    let w = World::new(3);
    let svc = w.watch();
    let name = "ART20261128020000.txt";
    let all = skus("LENTO", 40);
    let bytes = articoli(2, &all, 1250);
    let path = w.inbound().join(name);
    // As a Windows copy over SMB does, the file keeps its source's old
    // mtime throughout: only its size tells that it grows.
    let old = SystemTime::now() - Duration::from_secs(3 * 86_400);
    // Eight pieces cut mid-line, the seventh ending inside the trailer,
    // so that for a while the last line already looks like one (`CO0...`).
    let trailer_start = bytes.len() - bytes.rsplit(|&b| b == b'\n').nth(1).unwrap().len() - 1;
    let mut cuts: Vec<usize> = (1..7).map(|i| i * trailer_start / 7 + 13).collect();
    cuts.push(trailer_start + 6);
    cuts.push(bytes.len());
    assert_eq!(&bytes[trailer_start..trailer_start + 2], b"CO");
    let pauses_ms = [1500u64, 1200, 900, 1500, 1300, 1000, 1500];
    let mut from = 0;
    for (i, &to) in cuts.iter().enumerate() {
        let mut f = std::fs::OpenOptions::new()
            .create(i == 0)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("piece {i}: {name} gone from the inbound folder: {e}"));
        f.write_all(&bytes[from..to]).unwrap();
        f.sync_all().unwrap();
        f.set_modified(old).unwrap();
        drop(f);
        from = to;
        if let Some(&ms) = pauses_ms.get(i) {
            let when = format!("piece {} of {} written", i + 1, cuts.len());
            only_in_inbound(&w, name, &format!("{when}, pause starts"));
            std::thread::sleep(Duration::from_millis(ms));
            only_in_inbound(&w, name, &format!("{when}, {ms} ms later"));
        }
    }
    svc.wait_until("the file to be archived", LONG, || {
        w.archived_count(name) == 1
    });
    assert!(w.names("rejected").is_empty(), "{:?}", w.names("rejected"));
    assert!(w.names("inbound").is_empty() && w.names("in-progress").is_empty());
    let shop = w.skus();
    let missing: Vec<&String> = all.iter().filter(|s| !shop.contains(*s)).collect();
    assert!(missing.is_empty(), "not in the shop: {missing:?}");
    assert_eq!(product_puts(&w.requests()), all.len());
}

#[test]
fn the_same_content_under_another_name_is_a_duplicate_and_sends_nothing() {
    let w = World::new(1);
    let svc = w.watch();
    let all = skus("DUP", 5);
    let bytes = articoli(2, &all, 990);
    w.drop_file("ART20261128020000.txt", &bytes);
    svc.wait_until("the first file to be archived", LONG, || {
        w.archived_count("ART20261128020000.txt") == 1
    });
    let before = w.requests();
    assert_eq!(product_puts(&before), 5);

    w.drop_file("ART20261128020500.txt", &bytes);
    svc.wait_until(
        "the second file to be archived as a duplicate",
        LONG,
        || w.archived_count("ART20261128020500.txt.duplicate") == 1,
    );
    assert_eq!(w.archived_count("ART20261128020500.txt"), 0);
    assert!(w.names("rejected").is_empty() && w.names("in-progress").is_empty());
    let after = w.requests();
    assert_eq!(
        after.len(),
        before.len(),
        "requests for the duplicate: {:?}",
        &after[before.len()..]
    );
}

#[test]
fn an_older_file_after_a_newer_one_is_rejected_as_stale() {
    let w = World::new(1);
    let svc = w.watch();
    let all = skus("STALE", 4);
    w.drop_file("ART20261128040000.txt", &articoli(4, &all, 2000));
    svc.wait_until("the newer file to be archived", LONG, || {
        w.archived_count("ART20261128040000.txt") == 1
    });
    let before = w.requests().len();

    let name = "ART20261128030000.txt";
    w.drop_file(name, &articoli(3, &all, 1000));
    let report = w.folder("rejected").join(format!("{name}.err"));
    svc.wait_until("the older file to be rejected", LONG, || report.is_file());
    assert!(w.folder("rejected").join(name).is_file());
    assert_eq!(w.archived_count(name), 0);
    let text = std::fs::read_to_string(&report).unwrap();
    for needle in ["stale", "2026-11-28T03:00:00", "2026-11-28T04:00:00"] {
        assert!(
            text.to_lowercase().contains(&needle.to_lowercase()),
            "{needle:?} not in the report:\n{text}"
        );
    }
    assert_eq!(w.requests().len(), before, "something was sent");
    let price = w.shop.with_state(|s| {
        s.products
            .iter()
            .find(|p| p["sku"] == "STALE-0001")
            .unwrap()["price"]
            .clone()
    });
    assert_eq!(price.as_f64(), Some(20.0), "the newer price stays");
}

#[test]
fn kill_9_mid_push_loses_nothing_and_ships_and_invoices_once() {
    let w = World::new(1);
    w.shop.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let all = skus("CRASH", 120);
    let art = "ART20261128020000.txt";
    let eva = "EVA20261128100000.txt";
    w.drop_file(art, &articoli(2, &all, 1590));
    w.drop_file(eva, &evasioni(10));

    // First crash: amid the products.
    let mut svc = w.watch();
    svc.wait_until("some product saves", LONG, || {
        product_puts(&w.requests()) >= 20
    });
    svc.kill9();
    let seen = product_puts(&w.requests());
    assert!(
        seen < all.len(),
        "the push ended before the kill ({seen} saves): make it longer"
    );
    assert_eq!(w.names("in-progress"), [art], "the file being pushed");
    assert_eq!(posts_ending(&w.requests(), "/ship"), 0);

    // Second run: the products resumed, then a crash amid the fulfilment,
    // once the shipment is made and before the invoice (slower answers
    // from then on widen that window to two requests of 500 ms).
    let mut svc = w.watch();
    svc.wait_until("the products sent again", LONG, || {
        w.archived_count(art) == 1
    });
    w.shop.set_faults(Faults {
        latency: Duration::from_millis(500),
        ..Faults::default()
    });
    svc.wait_until("the shipment", LONG, || {
        posts_ending(&w.requests(), "/ship") >= 1
    });
    svc.kill9();
    w.shop.set_faults(Faults::default());
    assert_eq!(
        posts_ending(&w.requests(), "/invoice"),
        0,
        "the kill came after the invoice"
    );
    assert_eq!(w.archived_count(art), 1, "{:?}", w.archived());
    assert_eq!(w.names("in-progress"), [eva]);

    // Third run, until idle: the fulfilment resumed without a second shipment.
    let mut svc = w.start(&["watch", "--until-idle"]);
    let status = svc.wait(LONG);
    assert_eq!(status.code(), Some(0), "{}", svc.stderr());
    assert!(
        svc.stdout()
            .contains("archived 1 (0 with failures), 0 duplicates, 0 rejected"),
        "{}",
        svc.stdout()
    );

    assert!(
        w.names("in-progress").is_empty(),
        "{:?}",
        w.names("in-progress")
    );
    assert!(w.names("inbound").is_empty(), "{:?}", w.names("inbound"));
    assert!(w.names("rejected").is_empty(), "{:?}", w.names("rejected"));
    assert_eq!(w.archived_count(art), 1, "{:?}", w.archived());
    assert_eq!(w.archived_count(eva), 1, "{:?}", w.archived());
    assert_eq!(w.archived().len(), 2, "{:?}", w.archived());
    let shop = w.skus();
    let missing: Vec<&String> = all.iter().filter(|s| !shop.contains(*s)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let requests = w.requests();
    assert_eq!(
        w.documents_of("000000101"),
        (1, 1),
        "shipments and invoices of 000000101"
    );
    assert_eq!(posts_ending(&requests, "/ship"), 1);
    assert_eq!(posts_ending(&requests, "/invoice"), 1);
}

#[test]
fn kill_9_amid_a_large_file_resends_at_most_the_slice_in_flight() {
    let w = World::new(1);
    w.shop.set_faults(Faults {
        latency: Duration::from_millis(20),
        ..Faults::default()
    });
    // Large enough to be retained and pushed in three slices of 1,000.
    let all = skus("SLICE", 2500);
    let art = "ART20261128020000.txt";
    w.drop_file(art, &articoli(2, &all, 1590));

    let mut svc = w.watch();
    svc.wait_until(
        "the first slice to be acknowledged and more sent",
        LONG,
        || product_puts(&w.requests()) >= 1300,
    );
    svc.kill9();
    // Requests already on the wire when the service died are still answered
    // (the stand-in's latency): count them as sent before the restart.
    let mut before = product_puts(&w.requests());
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(50));
        let now = product_puts(&w.requests());
        if now == before {
            break;
        }
        before = now;
    }
    assert!(
        before < all.len(),
        "the push ended before the kill ({before} saves): make it longer"
    );
    w.shop.set_faults(Faults::default());

    let mut svc = w.start(&["watch", "--until-idle"]);
    let status = svc.wait(LONG);
    assert_eq!(status.code(), Some(0), "{}", svc.stderr());
    let after = product_puts(&w.requests()) - before;
    // The first slice was acknowledged before the kill: only what was not
    // is sent again (the slice in flight at most, and the rest).
    assert!(
        after <= all.len() - 1000,
        "{after} saves after the restart: an acknowledged slice was sent again"
    );
    let shop = w.skus();
    let missing: Vec<&String> = all.iter().filter(|s| !shop.contains(*s)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(w.archived_count(art), 1, "{:?}", w.archived());
    // The state keeps one copy of the file, whole, and nothing half-made.
    let kept = names_in(&w.dir.path().join("state/retained"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].ends_with(".rec"), "{kept:?}");
}

#[test]
fn one_instance_per_state_directory() {
    let w = World::new(1);
    let mut first = w.watch();
    let pid = first.pid().to_string();

    let mut second = w.start(&["watch"]);
    let status = second.wait(LONG);
    assert_eq!(status.code(), Some(2), "{}", second.stderr());
    let err = second.stderr();
    assert!(
        err.contains(&format!("pid {pid}")),
        "the holder's pid {pid} is not named:\n{err}"
    );

    let file = w.dir.path().join("ART20261128020000.txt");
    std::fs::write(&file, articoli(2, &skus("LOCK", 2), 100)).unwrap();
    let mut ingest = w.start(&["ingest", file.to_str().unwrap()]);
    let status = ingest.wait(LONG);
    assert_eq!(status.code(), Some(2), "{}", ingest.stderr());
    assert!(
        ingest.stderr().contains(&format!("pid {pid}")),
        "{}",
        ingest.stderr()
    );
    assert!(file.is_file(), "ingest took the file all the same");
    assert!(w.requests().is_empty());

    first.signal("TERM");
    assert_eq!(first.wait(LONG).code(), Some(0), "{}", first.stderr());
}

#[test]
fn sigterm_while_idle_exits_0_promptly() {
    let w = World::new(1);
    let mut svc = w.watch();
    let sent = Instant::now();
    svc.signal("TERM");
    let status = svc.wait(LONG);
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(0), "{status:?}\n{}", svc.stderr());
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    assert!(svc.stdout().contains("archived 0"), "{}", svc.stdout());
}

/// User and system CPU time a process used so far (Linux: /proc, whose
/// clock ticks are 1/100 s).
#[cfg(target_os = "linux")]
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[cfg(target_os = "linux")]
#[test]
fn the_service_sleeps_between_scans() {
    let w = World::new(1);
    let svc = w.watch();
    // A file that never gets its trailer is looked at on every scan.
    let cut = std::fs::read(common::root().join("samples/bad/GIA20261128083002.txt")).unwrap();
    w.drop_file("GIA20261128083000.txt", &cut);
    svc.wait_until("the service to look at the file", LONG, || {
        svc.stderr().contains("not the trailer")
    });
    let (start, used) = (Instant::now(), cpu_time(svc.pid()));
    while start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let spent = cpu_time(svc.pid()) - used;
    // Fifteen scans of a folder of one file cost a few milliseconds; a
    // service woken by its own reads spins through all the CPU it gets.
    assert!(
        spent < Duration::from_millis(300),
        "{spent:?} of CPU in {:?} of idling",
        start.elapsed()
    );
}

#[test]
fn sigterm_during_a_push_finishes_the_file_then_exits_0() {
    let w = World::new(1);
    w.shop.set_faults(Faults {
        latency: Duration::from_millis(100),
        ..Faults::default()
    });
    let all = skus("TERM", 100);
    let name = "ART20261128020000.txt";
    let mut svc = w.watch();
    w.drop_file(name, &articoli(2, &all, 700));
    svc.wait_until("the push to start", LONG, || {
        product_puts(&w.requests()) >= 5
    });
    svc.signal("TERM");
    assert!(
        product_puts(&w.requests()) < all.len(),
        "the push ended before the signal: make it longer"
    );
    let status = svc.wait(LONG);
    assert_eq!(status.code(), Some(0), "{status:?}\n{}", svc.stderr());
    assert_eq!(w.archived_count(name), 1, "{:?}", w.archived());
    assert!(
        w.names("in-progress").is_empty(),
        "{:?}",
        w.names("in-progress")
    );
    let shop = w.skus();
    assert!(all.iter().all(|s| shop.contains(s)));
    assert!(svc.stdout().contains("archived 1"), "{}", svc.stdout());
}

#[test]
fn the_demo_archives_the_four_samples_and_writes_orders() {
    let keep = tempfile::tempdir().unwrap();
    let mut demo = Service::start(None, &["demo", "--keep", keep.path().to_str().unwrap()]);
    let status = demo.wait(LONG);
    let out = demo.stdout();
    assert_eq!(status.code(), Some(0), "{out}\n{}", demo.stderr());
    assert!(
        out.contains("files: 4 archived (0 with failures), 0 duplicates, 0 rejected"),
        "{out}"
    );
    for sample in [
        "ART20261128020000.txt",
        "GIA20261128083000.txt",
        "CLI20261128030000.txt",
        "EVA20261128100000.txt",
    ] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with("archive/") && l.ends_with(sample)),
            "{sample} not listed as archived:\n{out}"
        );
    }
    let orders_line = out
        .lines()
        .skip_while(|l| !l.starts_with("orders written for the ERP"))
        .nth(1)
        .unwrap_or_else(|| panic!("no orders written:\n{out}"));
    assert!(
        orders_line.contains("/ORD") && orders_line.contains(" orders)"),
        "{out}"
    );
    let outbound = keep.path().join("share/outbound");
    assert!(
        names_in(&outbound).iter().any(|n| n.starts_with("ORD")),
        "{:?}",
        names_in(&outbound)
    );
}

#[test]
fn a_bad_file_is_rejected_with_a_report_naming_line_and_field() {
    let w = World::new(1);
    let svc = w.watch();
    let name = "ART20261128020002.txt";
    let bytes = std::fs::read(common::root().join("samples/bad").join(name)).unwrap();
    w.drop_file(name, &bytes);
    let report = w.folder("rejected").join(format!("{name}.err"));
    svc.wait_until("the bad file to be rejected", LONG, || report.is_file());
    assert!(w.folder("rejected").join(name).is_file());
    assert_eq!(
        std::fs::read(w.folder("rejected").join(name)).unwrap(),
        bytes
    );
    assert!(w.archived().is_empty(), "{:?}", w.archived());
    assert!(w.names("in-progress").is_empty() && w.names("inbound").is_empty());
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.contains(&format!("{name}:2: record AR field price (pos 367 len 11)")),
        "{text}"
    );
    assert!(w.requests().is_empty(), "{:?}", w.requests());
}

#[test]
fn a_file_without_its_trailer_waits_is_reported_once_and_is_taken_when_complete() {
    let w = World::new(1);
    let svc = w.watch();
    let name = "GIA20261128083000.txt";
    let whole = std::fs::read(common::root().join("samples").join(name)).unwrap();
    // The same export cut after line 6: no CO trailer yet.
    let cut = std::fs::read(common::root().join("samples/bad/GIA20261128083002.txt")).unwrap();
    assert!(whole.starts_with(&cut));
    w.drop_file(name, &cut);
    svc.wait_until("a warning about the missing trailer", LONG, || {
        svc.stderr().contains("not the trailer")
    });
    only_in_inbound(&w, name, "still without its trailer");

    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(w.inbound().join(name))
        .unwrap();
    f.write_all(&whole[cut.len()..]).unwrap();
    drop(f);
    let appended = Instant::now();
    svc.wait_until("the completed file to be archived", LONG, || {
        w.archived_count(name) == 1
    });
    // Grown since the scan that found it still: settled again from its new
    // size, over at least one spacing (1 s; the scan's clock may start a
    // little before the append it sees).
    let took = appended.elapsed();
    assert!(
        took >= Duration::from_millis(500),
        "taken {took:?} after it changed"
    );
    assert!(w.names("rejected").is_empty(), "{:?}", w.names("rejected"));
    assert!(posts_ending(&w.requests(), "/V1/inventory/source-items") >= 1);
    let quantity = w.shop.with_state(|s| {
        s.source_items
            .iter()
            .find(|i| i.sku == "CAF-ESP-1KG" && i.source_code == "default")
            .map(|i| i.quantity)
    });
    assert_eq!(quantity, Some(120.0), "the stock of the completed file");
    assert_eq!(
        svc.stderr().matches("not the trailer").count(),
        1,
        "{}",
        svc.stderr()
    );
}

#[test]
fn a_flow_that_requires_a_marker_waits_for_it_whatever_the_settle() {
    let w = World::new(1);
    let schemas = common::schema_dir(|name, text| {
        Some(if name == "articoli.toml" {
            text.replace(
                "globs = [\"ART*.txt\"]",
                "globs = [\"ART*.txt\"]\nrequires_ok_marker = true",
            )
        } else {
            text
        })
    });
    let svc = w.start(&["--schemas", schemas.path().to_str().unwrap(), "watch"]);
    let art = "ART20261128020000.txt";
    let gia = "GIA20261128083000.txt";
    w.drop_file(art, &articoli(2, &skus("OK", 3), 450));
    w.drop_file(
        gia,
        &std::fs::read(common::root().join("samples").join(gia)).unwrap(),
    );
    // The stock file, dropped with it and needing no marker, settles and
    // goes; the products file stays for want of its marker, a scan later too.
    svc.wait_until("the stock file to be archived", LONG, || {
        w.archived_count(gia) == 1
    });
    let scans = Instant::now();
    while scans.elapsed() < Duration::from_millis(1500) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(w.inbound().join(art).is_file(), "taken without its marker");
    assert_eq!(w.archived_count(art), 0);
    assert_eq!(product_puts(&w.requests()), 0);

    std::fs::write(w.inbound().join(format!("{art}.ok")), b"").unwrap();
    svc.wait_until("the products file to be archived", LONG, || {
        w.archived_count(art) == 1
    });
    assert_eq!(product_puts(&w.requests()), 3);
    assert!(w.names("inbound").is_empty(), "{:?}", w.names("inbound"));
}

/// A file of `flow` holding only its header and trailer.
fn empty_file(schema: &ponte_layout::schema::Schema, hour: u8) -> Vec<u8> {
    FileWriter::new(schema, Vec::new(), at(hour), Mode::Changes, "000001")
        .unwrap()
        .finish()
        .unwrap()
}

/// `bytes` with a line of `len` bytes put in after the header.
fn with_long_line(bytes: &[u8], len: usize) -> Vec<u8> {
    let after_header = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut out = bytes[..after_header].to_vec();
    out.extend(std::iter::repeat_n(b'X', len));
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&bytes[after_header..]);
    out
}

fn report_of(w: &World, name: &str) -> String {
    std::fs::read_to_string(w.folder("rejected").join(format!("{name}.err")))
        .unwrap_or_else(|e| panic!("the report of {name}: {e}"))
}

/// Issue 13.1: a file ponte's lifecycle fails on (its own ORDINI output,
/// a flow an integrator added a schema for but ponte does not apply, a
/// line three times the reader's block) is rejected with a report, and a
/// passing failure of the share is waited out; the service goes on and
/// takes the good file after them.
#[test]
fn no_bad_file_and_no_passing_share_failure_stops_the_service() {
    let w = World::new(1);
    let schemas = common::schema_dir(|_, text| Some(text));
    let listini = std::fs::read_to_string(schemas.path().join("giacenze.toml"))
        .unwrap()
        .replace("flow = \"GIACENZE\"", "flow = \"LISTINI\"")
        .replace("globs = [\"GIA*.txt\"]", "globs = [\"LIS*.txt\"]");
    std::fs::write(schemas.path().join("listini.toml"), listini).unwrap();
    let registry = Registry::from_folder(schemas.path());
    let mut svc = w.watch_with(&["--schemas", schemas.path().to_str().unwrap(), "watch"]);

    let ord = "ORD20261128090000.txt";
    let lis = "LIS20261128090000.txt";
    let long = "ART20261128010000.txt";
    w.drop_file(ord, &empty_file(&registry.by_flow("ORDINI").unwrap(), 9));
    w.drop_file(lis, &empty_file(&registry.by_flow("LISTINI").unwrap(), 9));
    w.drop_file(
        long,
        &with_long_line(&articoli(1, &skus("LONG", 2), 100), 3 << 20),
    );
    for name in [ord, lis, long] {
        let report = w.folder("rejected").join(format!("{name}.err"));
        svc.wait_until(&format!("{name} to be rejected"), LONG, || report.is_file());
        assert!(w.folder("rejected").join(name).is_file(), "{name}");
    }
    for (name, why) in [
        (ord, "ORDINI files are written by ponte"),
        (lis, "LISTINI is not applied to Magento"),
        (long, "longer than"),
    ] {
        let text = report_of(&w, name);
        assert!(text.contains(why), "{name}: {why:?} not in\n{text}");
        assert!(text.contains("what to do:"), "{text}");
    }

    // The share goes away for a while (a CIFS mount dropping), then back.
    let away = w.folder("inbound-away");
    std::fs::rename(w.inbound(), &away).unwrap();
    let said = format!("cannot read the inbound folder {}", w.inbound().display());
    svc.wait_until("the share's failure to be reported", LONG, || {
        svc.stderr().contains(&said)
    });
    std::fs::rename(&away, w.inbound()).unwrap();

    let good = "ART20261128020000.txt";
    w.drop_file(good, &articoli(2, &skus("GOOD", 3), 100));
    svc.wait_until("the good file to be archived", LONG, || {
        w.archived_count(good) == 1
    });
    assert!(
        svc.stderr().contains("the share answers again"),
        "{}",
        svc.stderr()
    );
    assert!(
        w.names("in-progress").is_empty(),
        "{:?}",
        w.names("in-progress")
    );
    assert_eq!(product_puts(&w.requests()), 3);
    svc.signal("TERM");
    assert_eq!(svc.wait(LONG).code(), Some(0), "{}", svc.stderr());
    assert!(svc.stdout().contains("archived 1"), "{}", svc.stdout());
    assert!(svc.stdout().contains("3 rejected"), "{}", svc.stdout());
}

/// Issue 13.1: `ingest` of a file it cannot process gives the user's file
/// back where it was, says why, and goes on with the others.
#[test]
fn ingest_of_a_file_ponte_cannot_process_leaves_it_where_it_was() {
    let w = World::new(1);
    let ord = w.dir.path().join("ORD20261128090000.txt");
    let ord_bytes = empty_file(&Registry::built_in().by_flow("ORDINI").unwrap(), 9);
    std::fs::write(&ord, &ord_bytes).unwrap();
    // 3 MB without a line end: no line, let alone a record.
    let endless = w.dir.path().join("GIA20261128083000.txt");
    let mut endless_bytes = b"TEGIACENZE  20261128083000V000001".to_vec();
    endless_bytes.extend(std::iter::repeat_n(b' ', 3 << 20));
    std::fs::write(&endless, &endless_bytes).unwrap();
    let good = w.dir.path().join("ART20261128020000.txt");
    std::fs::write(&good, articoli(2, &skus("MANUAL", 2), 100)).unwrap();

    let mut run = w.start(&[
        "ingest",
        ord.to_str().unwrap(),
        endless.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    let status = run.wait(LONG);
    let out = run.stdout();
    assert_eq!(status.code(), Some(1), "{out}\n{}", run.stderr());
    assert_eq!(std::fs::read(&ord).unwrap(), ord_bytes);
    assert_eq!(std::fs::read(&endless).unwrap(), endless_bytes);
    for (path, why) in [
        (&ord, "ORDINI files are written by ponte"),
        (&endless, "longer than"),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&path.display().to_string()))
            .unwrap_or_else(|| panic!("nothing said of {}:\n{out}", path.display()));
        assert!(
            line.contains("NOT PROCESSED")
                && line.contains(why)
                && line.contains("left where it was"),
            "{line}"
        );
    }
    assert!(
        w.names("in-progress").is_empty(),
        "{:?}",
        w.names("in-progress")
    );
    assert!(w.names("rejected").is_empty(), "{:?}", w.names("rejected"));
    assert_eq!(w.archived_count("ART20261128020000.txt"), 1, "{out}");
    assert_eq!(product_puts(&w.requests()), 2);
}

/// Issue 13.1: a configuration error exits 2, a state store that fails 3,
/// so that a supervisor (and its operator) can tell the two apart.
#[test]
fn watch_exits_2_on_configuration_and_3_on_a_broken_state_store() {
    let w = World::new(1);
    std::fs::create_dir_all(w.dir.path().join("state")).unwrap();
    std::fs::write(
        w.dir.path().join("state/ponte.sqlite"),
        "not a database, whatever its name says\n".repeat(200),
    )
    .unwrap();
    let mut svc = w.start(&["watch"]);
    let status = svc.wait(LONG);
    assert_eq!(status.code(), Some(3), "{}", svc.stderr());
    assert!(svc.stderr().contains("state store"), "{}", svc.stderr());

    let text = std::fs::read_to_string(w.config_path()).unwrap();
    std::fs::write(
        w.config_path(),
        text.replace("[intake]", "[intake]\nscan_every = \"1s\""),
    )
    .unwrap();
    let mut svc = w.start(&["watch"]);
    let status = svc.wait(LONG);
    assert_eq!(status.code(), Some(2), "{}", svc.stderr());
    assert!(
        svc.stderr().contains("intake.scan_every"),
        "{}",
        svc.stderr()
    );
}

/// Issue 13.2: files that never become ready (a header without its
/// trailer, an empty file, garbage) are rejected once unchanged for
/// `intake.incomplete_timeout`, each with a report; meanwhile the newer
/// file of the same flow waits, said once at WARN naming the file it waits
/// for, and goes once that one is rejected.
#[test]
fn files_that_never_complete_are_rejected_after_the_timeout_and_stop_holding_back() {
    let w = World::edited(1, |text| {
        text.replace("[intake]", "[intake]\nincomplete_timeout = \"4s\"")
    });
    let mut svc = w.watch();
    let gia = Registry::built_in().by_flow("GIACENZE").unwrap();
    let whole = empty_file(&gia, 8);
    let header_only = &whole[..whole.iter().position(|&b| b == b'\n').unwrap() + 1];
    let stuck = "GIA20261128080000.txt";
    let newer = "GIA20261128083000.txt";
    let empty = "CLI20261128030000.txt";
    let garbage = "EVA20261128100000.txt";
    let dropped = Instant::now();
    w.drop_file(stuck, header_only);
    w.drop_file(empty, b"");
    w.drop_file(garbage, b"nothing like a record file\r\n");
    w.drop_file(
        newer,
        &std::fs::read(common::root().join("samples").join(newer)).unwrap(),
    );
    let warning = format!("waits for {stuck}");
    svc.wait_until("the warning naming the blocking file", LONG, || {
        svc.stderr().contains(&warning)
    });
    assert!(
        w.inbound().join(newer).is_file(),
        "taken before the older file"
    );

    for name in [stuck, empty, garbage] {
        let report = w.folder("rejected").join(format!("{name}.err"));
        svc.wait_until(&format!("{name} to be rejected"), LONG, || report.is_file());
        let text = report_of(&w, name);
        assert!(text.contains("truncated or incomplete"), "{text}");
        assert!(text.contains("what to do:"), "{text}");
    }
    assert!(
        dropped.elapsed() >= Duration::from_secs(4),
        "given up on before the timeout"
    );
    svc.wait_until("the newer stock file to be archived", LONG, || {
        w.archived_count(newer) == 1
    });
    svc.signal("TERM");
    assert_eq!(svc.wait(LONG).code(), Some(0), "{}", svc.stderr());
    let err = svc.stderr();
    assert_eq!(err.matches(&warning).count(), 1, "{err}");
    let line = err.lines().find(|l| l.contains(&warning)).unwrap();
    assert!(line.contains("WARN"), "{line}");
    assert!(w.names("inbound").is_empty(), "{:?}", w.names("inbound"));
}

/// Issue 13.8: the orders poll keeps its own schedule while a long file is
/// pushed: an order that turns up mid-file is in an ORD file before the
/// file is done, not after the backlog.
#[test]
fn the_orders_poll_keeps_its_schedule_while_a_long_file_is_pushed() {
    let w = World::edited(1, |text| {
        text.replace(
            r#"flows = ["products", "stock", "customers", "fulfilment"]"#,
            r#"flows = ["products", "stock", "customers", "fulfilment", "orders"]"#,
        )
        .replace(
            "[target.carriers]",
            "[target.channels]\ndefault = \"B2C\"\n[target.carriers]",
        )
        .replace(
            "[[target]]",
            "[orders]\npoll_interval = \"1s\"\nstatuses = [\"holded\"]\n\n[[target]]",
        )
    });
    w.shop.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let all = skus("BUSY", 120);
    let art = "ART20261128020000.txt";
    w.drop_file(art, &articoli(2, &all, 990));
    let mut svc = w.watch();
    svc.wait_until("the push to start", LONG, || {
        product_puts(&w.requests()) >= 10
    });
    // An order put on hold now: the only one in the statuses polled.
    w.shop.with_state(|s| {
        let o = s
            .orders
            .iter_mut()
            .find(|o| o["increment_id"] == "000000102")
            .expect("order 000000102");
        o["status"] = "holded".into();
        o["updated_at"] = "2026-11-28 09:00:00".into();
    });
    let outbound = w.folder("outbound");
    svc.wait_until("the order in an ORD file", LONG, || {
        names_in(&outbound)
            .iter()
            .any(|n| n.starts_with("ORD") && n.ends_with(".txt"))
    });
    let saves = product_puts(&w.requests());
    assert!(
        saves < all.len(),
        "the order was exported only once the file was pushed ({saves} saves)"
    );
    svc.wait_until("the file to be archived", LONG, || {
        w.archived_count(art) == 1
    });
    svc.signal("TERM");
    assert_eq!(svc.wait(LONG).code(), Some(0), "{}", svc.stderr());
    assert_eq!(names_in(&outbound).len(), 1, "{:?}", names_in(&outbound));
}
