//! The share cannot reach outside itself, and a file cannot hold the
//! service (issue 13, items 4 and 6), with the real `ponte` binary over
//! real folders, links and FIFOs, the Magento stand-in on loopback:
//!
//! - a link swapped in under a scanned name (`mv -T`) is not followed: a
//!   0600 file elsewhere never reaches a report on the share;
//! - a link to /dev/zero or a FIFO swapped in does not hold SIGTERM off,
//!   and its target is not read;
//! - SIGTERM stops the reading of a file as large as the disk;
//! - a report quotes an excerpt of a 1.1 MB line, not the line;
//! - a UTF-8 file under a Windows-1252 schema is rejected, not applied
//!   as mojibake.

#![cfg(target_os = "linux")]

mod common;

use common::process::Service;

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use magento_standin::{Faults, Fixture};
use ponte_layout::record::writer::FileWriter;
use ponte_layout::record::{Decimal, Value};
use ponte_layout::schema::{parse_schema, Mode, Registry, Schema};

/// Generous: the machine running the tests may be loaded.
const LONG: Duration = Duration::from_secs(60);
/// What "promptly" means for SIGTERM.
const PROMPT: Duration = Duration::from_secs(5);
/// Bytes of the stock file the secret stands in for, quoted by a report
/// that read it.
const SECRET: &str = "HUNTER2SECRT";

struct World {
    dir: tempfile::TempDir,
    shop: common::contract::Shop,
}

impl World {
    fn new() -> World {
        let shop = common::contract::shop(Fixture::demo());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("standin.token"), "standin-token").unwrap();
        let config = format!(
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
base_url = "{}"
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
"#,
            shop.base_url
        );
        std::fs::write(dir.path().join("ponte.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("share/inbound")).unwrap();
        World { dir, shop }
    }

    fn share(&self) -> PathBuf {
        self.dir.path().join("share")
    }

    fn inbound(&self) -> PathBuf {
        self.share().join("inbound")
    }

    /// A place on the host outside the share.
    fn elsewhere(&self) -> PathBuf {
        let d = self.dir.path().join("elsewhere");
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn start(&self, args: &[&str]) -> Service {
        Service::start(Some(&self.dir.path().join("ponte.toml")), args)
    }

    fn ponte(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["--config".to_string(), self.config_path()];
        all.extend(args.iter().map(|a| a.to_string()));
        common::ponte(all)
    }

    fn config_path(&self) -> String {
        common::display(&self.dir.path().join("ponte.toml"))
    }

    /// `mv -T`: `what` takes `name`'s place in inbound in one rename.
    fn swap_in(&self, name: &str, make: impl FnOnce(&Path)) {
        let temp = self.inbound().join(format!(".swap-{name}"));
        make(&temp);
        std::fs::rename(&temp, self.inbound().join(name)).unwrap();
    }

    /// Every file under the share, with its bytes (links and FIFOs as
    /// their own, unread).
    fn share_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut todo = vec![self.share()];
        while let Some(dir) = todo.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    todo.push(path);
                } else if meta.is_file() {
                    let bytes = std::fs::read(&path).unwrap();
                    out.push((path, bytes));
                }
            }
        }
        out
    }

    fn assert_no_share_file_holds(&self, secret: &str) {
        for (path, bytes) in self.share_files() {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{} holds {secret:?}:\n{}",
                path.display(),
                String::from_utf8_lossy(&bytes[..bytes.len().min(2000)])
            );
        }
    }

    fn names(&self, folder: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.share().join(folder))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn product_puts(&self) -> usize {
        self.shop
            .requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.path.contains("/V1/products/"))
            .count()
    }

    fn archived(&self, name: &str) -> bool {
        let mut todo = vec![self.share().join("archive")];
        while let Some(dir) = todo.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    todo.push(e.path());
                } else if e.file_name().to_string_lossy() == name {
                    return true;
                }
            }
        }
        false
    }
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

/// An ARTICOLI file (changes) of `n` simple products.
fn articoli(n: usize) -> Vec<u8> {
    let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
    let mut w = FileWriter::new(
        &schema,
        Vec::new(),
        common::at_hour(2),
        Mode::Changes,
        "000001",
    )
    .unwrap();
    for i in 0..n {
        w.record(
            "AR",
            &[
                ("sku", Value::Text(format!("SAFE-{i:04}"))),
                ("kind", Value::Text("S".into())),
                ("name", Value::Text(format!("Tazza n. {i}"))),
                ("price", Value::Decimal(Decimal::new(700, 2))),
                ("weight", Value::Decimal(Decimal::new(250, 3))),
                ("vat_code", Value::Text("22".into())),
                ("active", Value::Flag(true)),
                ("unit", Value::Text("PZ".into())),
            ],
        )
        .unwrap();
    }
    w.finish().unwrap()
}

/// A 0600 file elsewhere on the host, shaped like a stock file so that a
/// report of it would quote its bytes.
fn secret_file(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("secret.txt");
    let line = format!("GI{:<20}{:<10}{SECRET}{:<8}", "SKU-1", "MAG01", "");
    std::fs::write(&path, format!("{line}\r\n{line}\r\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

const STOCK: &str = "GIA20261128083000.txt";

/// A products file and a stock file, both ready at the same scan; while
/// the products are pushed (slowly), the stock file's name is taken by
/// what `make` creates, after the scan saw a regular file there.
fn swap_during_a_push(make: impl FnOnce(&World, &Path)) -> (World, Service) {
    let w = World::new();
    w.shop.set_faults(Faults {
        latency: Duration::from_millis(100),
        ..Faults::default()
    });
    std::fs::write(w.inbound().join("ART20261128020000.txt"), articoli(60)).unwrap();
    std::fs::copy(
        common::root().join("samples").join(STOCK),
        w.inbound().join(STOCK),
    )
    .unwrap();
    let svc = w.start(&["watch"]);
    svc.wait_until("the push of the products to start", LONG, || {
        w.product_puts() >= 3
    });
    assert!(
        !w.archived("ART20261128020000.txt"),
        "the products were done before the swap: make the push longer"
    );
    w.swap_in(STOCK, |temp| make(&w, temp));
    svc.wait_until("the products to be archived", LONG, || {
        w.archived("ART20261128020000.txt")
    });
    (w, svc)
}

#[test]
fn a_link_swapped_in_after_the_scan_is_not_followed() {
    let (w, mut svc) = swap_during_a_push(|w, temp| {
        std::os::unix::fs::symlink(secret_file(&w.elsewhere()), temp).unwrap();
    });
    svc.wait_until("the swapped name to be refused", LONG, || {
        svc.stderr().contains("a symbolic link") || !w.names("rejected").is_empty()
    });
    w.assert_no_share_file_holds(SECRET);
    assert!(w.names("rejected").is_empty(), "{:?}", w.names("rejected"));
    let left = std::fs::symlink_metadata(w.inbound().join(STOCK)).unwrap();
    assert!(left.file_type().is_symlink(), "the link was moved");
    let status = svc.stop_promptly(PROMPT);
    assert_eq!(status.code(), Some(0), "{}", svc.stderr());
}

#[test]
fn sigterm_is_honoured_after_a_link_to_dev_zero_is_swapped_in() {
    let (w, mut svc) = swap_during_a_push(|_, temp| {
        std::os::unix::fs::symlink("/dev/zero", temp).unwrap();
    });
    // Time enough to read gigabytes of /dev/zero, had it been opened.
    std::thread::sleep(Duration::from_secs(2));
    let read = svc.bytes_read();
    assert!(
        read < 64 << 20,
        "{read} bytes read: the link's target was read"
    );
    let status = svc.stop_promptly(PROMPT);
    assert_eq!(status.code(), Some(0), "{}", svc.stderr());
    assert!(w.names("rejected").is_empty(), "{:?}", w.names("rejected"));
}

#[test]
fn a_fifo_swapped_in_is_not_opened_and_sigterm_is_honoured() {
    let (w, mut svc) = swap_during_a_push(|_, temp| mkfifo(temp));
    let fifo = w.inbound().join(STOCK);
    std::thread::sleep(Duration::from_secs(1));
    // A FIFO opened for reading lets a writer open it without blocking; a
    // FIFO nobody opened refuses it (ENXIO).
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags_nonblock()
        .open(&fifo);
    assert!(writer.is_err(), "ponte opened the FIFO");
    let status = svc.stop_promptly(PROMPT);
    assert_eq!(status.code(), Some(0), "{}", svc.stderr());
}

/// `O_NONBLOCK` on an `OpenOptions`, for the FIFO probe above.
trait NonBlock {
    fn custom_flags_nonblock(&mut self) -> &mut Self;
}

impl NonBlock for std::fs::OpenOptions {
    fn custom_flags_nonblock(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NONBLOCK)
    }
}

#[test]
fn sigterm_stops_the_reading_of_a_file_as_large_as_a_disk() {
    let w = World::new();
    let name = "GIA20261128090000.txt";
    // Sparse: a header, 64 GiB of nothing, a trailer. Ready by every rule
    // the scan has, and minutes of reading.
    let path = w.inbound().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    let header = format!("{:<52}\r\n", "TEGIACENZE  20261128090000V000001");
    f.write_all(header.as_bytes()).unwrap();
    f.seek(SeekFrom::Start(64 << 30)).unwrap();
    f.write_all(format!("\r\n{:<52}\r\n", "CO000000000").as_bytes())
        .unwrap();
    drop(f);
    let mut svc = w.start(&["watch"]);
    svc.wait_until("the file to be claimed", LONG, || {
        w.names("in-progress").contains(&name.to_string())
    });
    std::thread::sleep(Duration::from_millis(500));
    let status = svc.stop_promptly(PROMPT);
    assert_eq!(status.code(), Some(0), "{}", svc.stderr());
    // Nothing of it was sent or judged: it is read again at the next start.
    assert!(w.names("rejected").is_empty(), "{:?}", w.names("rejected"));
    assert_eq!(w.names("in-progress"), [name]);
}

#[test]
fn ingest_of_a_link_reads_nothing_of_its_target_and_leaves_the_link() {
    let w = World::new();
    let link = w.inbound().join(STOCK);
    std::os::unix::fs::symlink(secret_file(&w.elsewhere()), &link).unwrap();
    let out = w.ponte(&["ingest", &common::display(&link)]);
    let err = common::stderr(&out);
    assert_ne!(common::code(&out), 0, "{err}");
    assert!(err.contains("a symbolic link"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    w.assert_no_share_file_holds(SECRET);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(w.shop.requests().is_empty());
}

/// A stock file whose second line runs on for 1.1 MB.
fn stock_with_a_long_line() -> Vec<u8> {
    let sample = std::fs::read(common::root().join("samples").join(STOCK)).unwrap();
    let mut lines: Vec<&[u8]> = sample.split_inclusive(|&b| b == b'\n').collect();
    let mut long = lines[1].strip_suffix(b"\r\n").unwrap().to_vec();
    long.extend(std::iter::repeat_n(b'x', 1_100_000));
    long.extend_from_slice(b"\r\n");
    lines[1] = &long;
    lines.concat()
}

#[test]
fn a_report_quotes_an_excerpt_of_a_long_line_not_the_line() {
    let w = World::new();
    let path = w.elsewhere().join(STOCK);
    std::fs::write(&path, stock_with_a_long_line()).unwrap();
    let out = common::ponte(["check", &common::display(&path)]);
    let err = common::stderr(&out);
    assert_eq!(common::code(&out), 1, "{}", &err[..err.len().min(2000)]);
    assert!(
        err.len() < 4096,
        "check wrote {} bytes to stderr",
        err.len()
    );
    assert!(err.contains("… (1100000 bytes)"), "{err}");

    let out = w.ponte(&["ingest", &common::display(&path)]);
    assert_eq!(common::code(&out), 1, "{}", common::stderr(&out));
    let report =
        std::fs::read_to_string(w.share().join("rejected").join(format!("{STOCK}.err"))).unwrap();
    assert!(report.len() < 4096, "a report of {} bytes", report.len());
    assert!(report.contains("… (1100000 bytes)"), "{report}");
}

/// The built-in ARTICOLI schema, told its files are UTF-8.
fn articoli_utf8() -> Schema {
    let text = std::fs::read_to_string(common::root().join("schemas/articoli.toml")).unwrap();
    let text = text.replace("encoding = \"windows-1252\"", "encoding = \"utf-8\"");
    parse_schema("articoli.toml", &text).unwrap()
}

/// An ARTICOLI file written in UTF-8 with one colour "Blu più scuro", its
/// change dates blank: read as Windows-1252 its one extra byte then lands
/// on blanks, and every field looks valid.
fn articoli_in_utf8() -> Vec<u8> {
    let schema = articoli_utf8();
    let mut w = FileWriter::new(
        &schema,
        Vec::new(),
        common::at_hour(2),
        Mode::Changes,
        "000001",
    )
    .unwrap();
    for (sku, color) in [("MAG-UNO", "Rosso"), ("MAG-DUE", "Blu più scuro")] {
        w.record(
            "AR",
            &[
                ("sku", Value::Text(sku.into())),
                ("kind", Value::Text("S".into())),
                ("name", Value::Text("Maglia girocollo".into())),
                ("price", Value::Decimal(Decimal::new(2990, 2))),
                ("weight", Value::Decimal(Decimal::new(250, 3))),
                ("vat_code", Value::Text("22".into())),
                ("active", Value::Flag(true)),
                ("color", Value::Text(color.into())),
                ("unit", Value::Text("PZ".into())),
            ],
        )
        .unwrap();
    }
    let written = w.finish().unwrap();
    let blank_date = |line: &[u8]| -> Vec<u8> {
        match line.strip_suffix(b"00000000\r\n") {
            Some(head) if line.starts_with(b"AR") => [head, b"        \r\n"].concat(),
            _ => line.to_vec(),
        }
    };
    written
        .split_inclusive(|&b| b == b'\n')
        .flat_map(blank_date)
        .collect()
}

#[test]
fn a_utf8_file_under_a_windows_1252_schema_is_rejected_not_applied() {
    let w = World::new();
    let path = w.elsewhere().join("ART20261128020000.txt");
    std::fs::write(&path, articoli_in_utf8()).unwrap();

    let out = common::ponte(["check", &common::display(&path)]);
    let err = common::stderr(&out);
    assert_eq!(common::code(&out), 1, "{err}\n{}", common::stdout(&out));
    assert!(
        err.contains(":3: record AR field color (pos 420 len 20): looks like UTF-8: line 3, field color; set encoding = \"utf-8\" in the schema if it is"),
        "{err}"
    );

    // Said to be UTF-8, the same file is valid.
    let schemas = common::schema_dir(|name, text| {
        Some(if name == "articoli.toml" {
            text.replace("encoding = \"windows-1252\"", "encoding = \"utf-8\"")
        } else {
            text
        })
    });
    let out = common::ponte([
        "--schemas",
        &common::display(schemas.path()),
        "check",
        &common::display(&path),
    ]);
    assert_eq!(common::code(&out), 0, "{}", common::stderr(&out));

    // Ingested, it is rejected with the reason, and Magento gets nothing.
    let out = w.ponte(&["ingest", &common::display(&path)]);
    assert_eq!(common::code(&out), 1, "{}", common::stderr(&out));
    let report =
        std::fs::read_to_string(w.share().join("rejected").join("ART20261128020000.txt.err"))
            .unwrap();
    assert!(
        report.contains("looks like UTF-8: line 3, field color"),
        "{report}"
    );
    assert!(w.shop.requests().is_empty(), "{:?}", w.shop.requests());
}
