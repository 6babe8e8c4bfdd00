//! A complete file that would empty a shop is held (issue 13 item 5): one
//! removing more than `[intake] max_removal_share` of what a target holds
//! of its flow sends nothing, is not recorded as the ERP's word, and waits
//! in the rejected folder with a report naming the counts, until replayed
//! with `--allow-mass-removal` or the share is raised. `plan` says so too.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use magento_standin::Fixture;
use ponte::state::Store;
use ponte_layout::schema::Mode;
use serde_json::Value as Json;

struct World {
    dir: tempfile::TempDir,
    shop: common::contract::Shop,
}

impl World {
    fn new(intake: &str) -> World {
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
{intake}

[[target]]
name = "b2c"
base_url = "{}"
flows = ["products", "stock"]
auth = {{ token = {{ file = "standin.token" }} }}
[target.tax_classes]
"22" = 2
"10" = 7
"04" = 8
[target.sources]
MAG01 = "default"
MAG02 = "eu_north"
"#,
            shop.base_url
        );
        std::fs::write(dir.path().join("ponte.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("drop")).unwrap();
        World { dir, shop }
    }

    fn ponte(&self, args: &[&str], files: &[&Path]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ponte"))
            .arg("--config")
            .arg(self.dir.path().join("ponte.toml"))
            .args(args)
            .args(files)
            .output()
            .unwrap()
    }

    fn drop(&self) -> PathBuf {
        self.dir.path().join("drop")
    }

    fn rejected(&self, name: &str) -> PathBuf {
        self.dir.path().join("share/rejected").join(name)
    }

    fn writes(&self) -> usize {
        self.shop
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count()
    }

    fn status(&self, sku: &str) -> Json {
        self.shop.snapshot()["products"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["sku"] == sku)
            .map(|p| p["status"].clone())
            .unwrap_or(Json::Null)
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A complete ARTICOLI file of products `SKU-00000`... up to `n`.
fn products(dir: &Path, hour: u8, n: u64) -> PathBuf {
    common::simple_products(
        &dir.join(format!("ART20261128{hour:02}0000.txt")),
        hour,
        Mode::Complete,
        (0..n).map(|i| {
            (
                format!("SKU-{i:05}"),
                format!("Prodotto numero {i}"),
                1000 + i as i64,
            )
        }),
    )
}

#[test]
fn a_complete_file_removing_most_products_is_held_until_replayed_on_purpose() {
    let w = World::new("");
    // The first file ever: the target holds nothing, so nothing is removed.
    let first = products(&w.drop(), 2, 20);
    let out = w.ponte(&["ingest"], &[&first]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // One product left: 19 of the 20 the target holds would be disabled.
    let one = products(&w.drop(), 3, 1);
    let out = w.ponte(&["plan"], &[&one]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("HELD, nothing would be sent"), "{shown}");
    assert!(
        shown.contains(
            "target b2c: 19 removals of the 20 it holds (95%), more than the 10% allowed"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("0 create, 0 update, 19 remove, 1 unchanged"),
        "{shown}"
    );

    w.shop.clear_requests();
    let out = w.ponte(&["ingest"], &[&one]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("REJECTED, nothing sent: held"),
        "{}",
        text(&out)
    );
    assert_eq!(w.writes(), 0, "nothing is sent: {:?}", w.shop.requests());
    assert_eq!(w.status("SKU-00005"), 1);
    // Its content is not the ERP's word: the newest products file is still the first.
    let store = Store::open_read_only(&w.dir.path().join("state"))
        .unwrap()
        .unwrap();
    assert_eq!(
        store.flow_newest("ARTICOLI").unwrap().as_deref(),
        Some("2026-11-28T02:00:00")
    );
    drop(store);

    let held = w.rejected("ART20261128030000.txt");
    assert!(held.is_file(), "held in rejected");
    let report = std::fs::read_to_string(w.rejected("ART20261128030000.txt.err")).unwrap();
    for part in [
        "19 removals of the 20 it holds (95%), more than the 10% allowed",
        "[intake] max_removal_share (now 0.1)",
        "ponte ingest --allow-mass-removal ",
        "Nothing of this file was sent to Magento",
    ] {
        assert!(report.contains(part), "{part:?} in:\n{report}");
    }

    // Replayed on purpose, from where it was held.
    let out = w.ponte(&["ingest", "--allow-mass-removal"], &[&held]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("19 sent, 1 unchanged, 0 failed"),
        "{}",
        text(&out)
    );
    assert_eq!(w.status("SKU-00005"), 2, "disabled");
    assert_eq!(w.status("SKU-00000"), 1);
}

#[test]
fn a_raised_share_lets_the_removals_through() {
    // 19 of 20 is 95%: allowed at 0.95, not more.
    let w = World::new("max_removal_share = 0.95");
    let out = w.ponte(&["ingest"], &[&products(&w.drop(), 2, 20)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = w.ponte(&["ingest"], &[&products(&w.drop(), 3, 1)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(w.status("SKU-00019"), 2, "disabled");
}

#[test]
fn a_complete_stock_file_zeroing_most_rows_is_held() {
    let w = World::new("");
    let samples = common::root().join("samples");
    let mut files = Vec::new();
    for name in ["ART20261128020000.txt", "GIA20261128083000.txt"] {
        let to = w.drop().join(name);
        std::fs::copy(samples.join(name), &to).unwrap();
        files.push(to);
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = w.ponte(&["ingest"], &refs);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A complete stock file with one row of the nine the shop holds.
    let sample = std::fs::read_to_string(samples.join("GIA20261128083000.txt")).unwrap();
    let mut lines = sample.split_inclusive('\n');
    let head = lines
        .next()
        .unwrap()
        .replacen("20261128083000V", "20261128093000C", 1);
    let row = lines.next().unwrap();
    let tail = sample
        .split_inclusive('\n')
        .find(|l| l.starts_with("CO"))
        .unwrap()
        .replacen("CO000000009", "CO000000001", 1);
    let one = w.drop().join("GIA20261128093000.txt");
    std::fs::write(&one, format!("{head}{row}{tail}")).unwrap();

    w.shop.clear_requests();
    let out = w.ponte(&["ingest"], &[&one]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(w.writes(), 0, "nothing is sent: {:?}", w.shop.requests());
    let report = std::fs::read_to_string(w.rejected("GIA20261128093000.txt.err")).unwrap();
    assert!(
        report.contains("8 removals of the 9 it holds (88.8%), more than the 10% allowed"),
        "{report}"
    );
}
