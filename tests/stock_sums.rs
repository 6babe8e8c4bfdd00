//! Several ERP warehouses feeding one place in Magento: what Magento
//! receives for a SKU at a source (or at the one stock of a single-source
//! shop) is the sum over the warehouses the target maps there, sent as one
//! write, whether a file, a retry, a removal or `plan` produced it; and
//! `baseline --from-magento` reads such sums back without a flood.
//! Real files, the real binary and client, the stand-in over loopback.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use magento_standin::{Faults, Fixture, LoggedRequest};
use serde_json::Value as Json;

struct World {
    dir: tempfile::TempDir,
    standin: common::contract::Shop,
}

impl World {
    /// One target `b2c` on the demo shop, stock only, with this stock mode
    /// and these `[target.sources]` lines.
    fn new(stock: &str, sources: &str) -> World {
        let standin = common::contract::shop(Fixture::demo());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("standin.token"),
            Fixture::default().integration_token,
        )
        .unwrap();
        let config = format!(
            r#"
[paths]
state_dir = "state"
inbound = "share/inbound"
in_progress = "share/in-progress"
archive = "share/archive"
rejected = "share/rejected"
outbound = "share/outbound"

# A few rows: a complete file leaving one out removes 33%, over the 10%
# allowed by default for real stock files (tests/removal_guard.rs).
[intake]
max_removal_share = 0.5

[[target]]
name = "b2c"
base_url = "{}"
auth = {{ token = {{ file = "standin.token" }} }}
flows = ["stock"]
stock = "{stock}"
retries = 0
[target.sources]
{sources}
"#,
            standin.base_url
        );
        std::fs::write(dir.path().join("ponte.toml"), config).unwrap();
        World { dir, standin }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("ponte.toml")
    }

    fn ponte<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        let mut all: Vec<std::ffi::OsString> = vec!["--config".into(), self.config().into()];
        all.extend(args.iter().map(|a| a.as_ref().to_os_string()));
        common::ponte(all)
    }

    /// `ponte ingest` of a GIACENZE file exported at `hour`, in `mode`
    /// (`V` changes, `C` complete), holding `rows` (SKU, warehouse, units).
    fn ingest(&self, hour: u8, mode: char, rows: &[(&str, &str, u32)]) -> Output {
        let file = self.gia(hour, mode, rows);
        self.ponte(&["ingest".as_ref(), file.as_os_str()])
    }

    fn gia(&self, hour: u8, mode: char, rows: &[(&str, &str, u32)]) -> PathBuf {
        let drop = self.dir.path().join("drop");
        std::fs::create_dir_all(&drop).unwrap();
        let path = drop.join(format!("GIA20261128{hour:02}0000.txt"));
        std::fs::write(&path, giacenze(hour, mode, rows)).unwrap();
        path
    }

    /// The legacy stock item's quantity of a SKU.
    fn qty(&self, sku: &str) -> f64 {
        let shop = self.standin.snapshot();
        let product = shop["products"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["sku"] == sku)
            .unwrap_or_else(|| panic!("no product {sku}"));
        product["extension_attributes"]["stock_item"]["qty"]
            .as_f64()
            .unwrap()
    }

    /// The quantity of a SKU's source item.
    fn source_qty(&self, sku: &str, source: &str) -> Option<f64> {
        self.standin.snapshot()["source_items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["sku"] == sku && i["source_code"] == source)
            .and_then(|i| i["quantity"].as_f64())
    }

    fn stock_item_puts(&self, sku: &str) -> Vec<LoggedRequest> {
        let path = format!("/V1/products/{sku}/stockItems/1");
        self.standin
            .requests()
            .into_iter()
            .filter(|r| r.method == "PUT" && r.path.ends_with(&path))
            .collect()
    }

    /// Every source item sent for (SKU, source), in the order sent.
    fn source_items_sent(&self, sku: &str, source: &str) -> Vec<Json> {
        self.standin
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/V1/inventory/source-items"))
            .flat_map(|r| {
                r.body["sourceItems"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|i| i["sku"] == sku && i["source_code"] == source)
            .collect()
    }
}

/// A GIACENZE file: 52-character records, quantities with 3 decimals.
fn giacenze(hour: u8, mode: char, rows: &[(&str, &str, u32)]) -> String {
    let mut text = format!(
        "{:<52}\r\n",
        format!("TEGIACENZE  20261128{hour:02}0000{mode}000001")
    );
    for (sku, warehouse, units) in rows {
        text.push_str(&format!(
            "GI{sku:<20}{warehouse:<10}{:011}+00000000\r\n",
            units * 1000
        ));
    }
    text.push_str(&format!("{:<52}\r\n", format!("CO{:09}", rows.len())));
    text
}

fn all_text(o: &Output) -> String {
    format!("{}\n{}", common::stdout(o), common::stderr(o))
}

const BOTH_TO_DEFAULT: &str = "MAG01 = \"default\"\nMAG02 = \"default\"";

#[test]
fn single_source_receives_the_sum_of_the_warehouses_in_one_write() {
    let w = World::new("single-source", BOTH_TO_DEFAULT);
    let out = w.ingest(
        8,
        'V',
        &[
            ("CAF-ESP-1KG", "MAG01", 120),
            ("CAF-ESP-1KG", "MAG02", 15),
            ("TAZ-POR-6", "MAG01", 36),
        ],
    );
    assert_eq!(common::code(&out), 0, "{}", all_text(&out));
    assert_eq!(w.qty("CAF-ESP-1KG"), 135.0);
    assert_eq!(w.qty("TAZ-POR-6"), 36.0);
    let puts = w.stock_item_puts("CAF-ESP-1KG");
    assert_eq!(puts.len(), 1, "one write, not two racing ones: {puts:?}");
    assert_eq!(puts[0].body["stockItem"]["qty"].as_f64(), Some(135.0));
}

#[test]
fn multi_source_sums_the_warehouses_mapped_to_one_source() {
    let w = World::new(
        "multi-source",
        "MAG01 = \"default\"\nMAG02 = \"default\"\nMAG03 = \"eu_north\"",
    );
    let out = w.ingest(
        8,
        'V',
        &[
            ("CAF-ESP-1KG", "MAG01", 120),
            ("CAF-ESP-1KG", "MAG02", 15),
            ("CAF-ESP-1KG", "MAG03", 7),
        ],
    );
    assert_eq!(common::code(&out), 0, "{}", all_text(&out));
    assert_eq!(w.source_qty("CAF-ESP-1KG", "default"), Some(135.0));
    assert_eq!(w.source_qty("CAF-ESP-1KG", "eu_north"), Some(7.0));
    let sent = w.source_items_sent("CAF-ESP-1KG", "default");
    assert_eq!(
        sent.len(),
        1,
        "one source item per SKU and source: {sent:?}"
    );
}

#[test]
fn a_change_in_one_warehouse_sends_the_sum_again() {
    for (stock, sum_at) in [("single-source", None), ("multi-source", Some("default"))] {
        let w = World::new(stock, BOTH_TO_DEFAULT);
        let out = w.ingest(
            8,
            'V',
            &[("CAF-ESP-1KG", "MAG01", 120), ("CAF-ESP-1KG", "MAG02", 15)],
        );
        assert_eq!(common::code(&out), 0, "{}", all_text(&out));
        w.standin.clear_requests();
        // Only MAG02 moves: MAG01's 120 comes from the desired state.
        let out = w.ingest(9, 'V', &[("CAF-ESP-1KG", "MAG02", 20)]);
        assert_eq!(common::code(&out), 0, "{}", all_text(&out));
        match sum_at {
            None => {
                assert_eq!(w.qty("CAF-ESP-1KG"), 140.0, "{stock}");
                assert_eq!(w.stock_item_puts("CAF-ESP-1KG").len(), 1, "{stock}");
            }
            Some(source) => {
                assert_eq!(w.source_qty("CAF-ESP-1KG", source), Some(140.0), "{stock}");
                assert_eq!(
                    w.source_items_sent("CAF-ESP-1KG", source).len(),
                    1,
                    "{stock}"
                );
            }
        }
    }
}

#[test]
fn a_removed_row_leaves_the_sum() {
    let w = World::new("single-source", BOTH_TO_DEFAULT);
    let out = w.ingest(
        8,
        'C',
        &[
            ("CAF-ESP-1KG", "MAG01", 120),
            ("CAF-ESP-1KG", "MAG02", 15),
            ("TAZ-POR-6", "MAG01", 36),
        ],
    );
    assert_eq!(common::code(&out), 0, "{}", all_text(&out));
    assert_eq!(w.qty("CAF-ESP-1KG"), 135.0);
    // The next complete file no longer holds CAF-ESP-1KG at MAG02: that
    // row is 0, and the SKU keeps MAG01's 120.
    let out = w.ingest(
        9,
        'C',
        &[("CAF-ESP-1KG", "MAG01", 120), ("TAZ-POR-6", "MAG01", 36)],
    );
    assert_eq!(common::code(&out), 0, "{}", all_text(&out));
    assert_eq!(w.qty("CAF-ESP-1KG"), 120.0);
}

#[test]
fn unmapped_warehouses_send_nothing_in_either_mode() {
    for stock in ["single-source", "multi-source"] {
        let w = World::new(stock, "MAG01 = \"default\"");
        let out = w.ingest(
            8,
            'V',
            &[("CAF-ESP-1KG", "MAG01", 120), ("CAF-ESP-1KG", "MAG02", 15)],
        );
        assert_eq!(common::code(&out), 0, "{stock}: {}", all_text(&out));
        assert_eq!(w.qty("CAF-ESP-1KG"), 120.0, "{stock}");
        let quantities: Vec<f64> = w
            .stock_item_puts("CAF-ESP-1KG")
            .iter()
            .filter_map(|r| r.body["stockItem"]["qty"].as_f64())
            .chain(
                w.source_items_sent("CAF-ESP-1KG", "default")
                    .iter()
                    .filter_map(|i| i["quantity"].as_f64()),
            )
            .collect();
        assert_eq!(quantities, [120.0], "{stock}");
        let store = ponte::state::Store::open(&w.dir.path().join("state")).unwrap();
        assert!(store.failures(None).unwrap().is_empty(), "{stock}");
        // Acknowledged as it stands: the same file again changes nothing.
        let plan = w.ponte(&[
            "plan",
            "--json",
            w.gia(10, 'V', &[("CAF-ESP-1KG", "MAG02", 15)])
                .to_str()
                .unwrap(),
        ]);
        let plan: Json = serde_json::from_str(common::stdout(&plan).trim()).unwrap();
        assert_eq!(plan["targets"][0]["unchanged"], 1, "{stock}: {plan}");
    }
}

#[test]
fn without_a_map_stock_fails_naming_the_key_in_either_mode() {
    for stock in ["single-source", "multi-source"] {
        let w = World::new(stock, "");
        let out = w.ingest(8, 'V', &[("CAF-ESP-1KG", "MAG01", 120)]);
        assert_eq!(common::code(&out), 1, "{stock}: {}", all_text(&out));
        assert!(w.stock_item_puts("CAF-ESP-1KG").is_empty(), "{stock}");
        let store = ponte::state::Store::open(&w.dir.path().join("state")).unwrap();
        let failures = store.failures(None).unwrap();
        assert_eq!(failures.len(), 1, "{stock}");
        assert!(
            failures[0].last_error.contains("[target.sources]"),
            "{stock}: {}",
            failures[0].last_error
        );
    }
}

#[test]
fn a_retry_sends_the_sum_in_one_write() {
    let w = World::new("single-source", BOTH_TO_DEFAULT);
    w.standin.set_faults(Faults {
        error_rate: 1.0,
        error_statuses: vec![503],
        ..Faults::default()
    });
    let out = w.ingest(
        8,
        'V',
        &[("CAF-ESP-1KG", "MAG01", 120), ("CAF-ESP-1KG", "MAG02", 15)],
    );
    assert_eq!(common::code(&out), 1, "{}", all_text(&out));
    w.standin.set_faults(Faults::default());
    let config = ponte::config::Config::load(&w.config()).unwrap();
    let mut store = ponte::state::Store::open(&config.paths.state_dir).unwrap();
    let failed: Vec<String> = store
        .failures(None)
        .unwrap()
        .into_iter()
        .map(|f| f.key)
        .collect();
    assert_eq!(failed.len(), 2, "both rows of the write failed: {failed:?}");
    w.standin.clear_requests();
    let pusher = ponte::flows::inbound::Pusher::new(&config).unwrap();
    let registry = ponte_layout::schema::Registry::built_in();
    let summary = ponte::flows::retry::retry_due(&config, &registry, &mut store, &pusher).unwrap();
    assert_eq!((summary.applied, summary.failed), (2, 0));
    assert_eq!(w.qty("CAF-ESP-1KG"), 135.0);
    assert_eq!(w.stock_item_puts("CAF-ESP-1KG").len(), 1);
    assert!(store.failures(None).unwrap().is_empty());
}

/// The quantity each change's request carries in `ponte plan --json`.
fn planned_quantities(w: &World, file: &Path) -> Vec<(String, f64)> {
    let out = w.ponte(&["plan".as_ref(), "--json".as_ref(), file.as_os_str()]);
    assert_eq!(common::code(&out), 0, "{}", all_text(&out));
    let plan: Json = serde_json::from_str(common::stdout(&out).trim()).unwrap();
    plan["targets"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let body = &c["requests"][0]["body"];
            let q = body["stockItem"]["qty"]
                .as_f64()
                .or_else(|| body["sourceItems"][0]["quantity"].as_f64())
                .unwrap_or_else(|| panic!("no quantity in {c}"));
            (c["key"].as_str().unwrap().to_string(), q)
        })
        .collect()
}

#[test]
fn plan_shows_the_sum_the_push_sends() {
    let w = World::new("single-source", BOTH_TO_DEFAULT);
    let first = w.gia(
        8,
        'V',
        &[("CAF-ESP-1KG", "MAG01", 120), ("CAF-ESP-1KG", "MAG02", 15)],
    );
    assert_eq!(
        planned_quantities(&w, &first),
        [
            ("CAF-ESP-1KG/MAG01".to_string(), 135.0),
            ("CAF-ESP-1KG/MAG02".to_string(), 135.0)
        ]
    );
    let out = w.ponte(&["ingest".as_ref(), first.as_os_str()]);
    assert_eq!(common::code(&out), 0, "{}", all_text(&out));
    // MAG01 is not in the next file: its quantity comes from the state.
    let next = w.gia(9, 'V', &[("CAF-ESP-1KG", "MAG02", 20)]);
    assert_eq!(
        planned_quantities(&w, &next),
        [("CAF-ESP-1KG/MAG02".to_string(), 140.0)]
    );
}

#[test]
fn baseline_from_the_shop_reads_sums_back() {
    let w = World::new("multi-source", BOTH_TO_DEFAULT);
    let rows = [("CAF-ESP-1KG", "MAG01", 120), ("CAF-ESP-1KG", "MAG02", 15)];
    let out = w.ingest(8, 'V', &rows);
    assert_eq!(common::code(&out), 0, "{}", all_text(&out));
    assert_eq!(w.source_qty("CAF-ESP-1KG", "default"), Some(135.0));
    let baseline = || {
        let out = w.ponte(&[
            "baseline",
            "--target",
            "b2c",
            "--from-magento",
            "--flow",
            "stock",
            "--restart",
        ]);
        assert_eq!(common::code(&out), 0, "{}", all_text(&out));
    };
    // Magento's 135 is what the ERP's 120 + 15 add up to: each row is
    // adopted as the ERP has it, and the same rows again change nothing.
    baseline();
    let same = w.gia(9, 'V', &rows);
    assert_eq!(planned_quantities(&w, &same), []);
    // Someone changed the shop: the rows no longer add up, so the next
    // file sends the sum again.
    w.standin.with_state(|s| {
        for i in s.source_items.iter_mut() {
            if i.sku == "CAF-ESP-1KG" && i.source_code == "default" {
                i.quantity = 100.0;
            }
        }
    });
    baseline();
    let planned = planned_quantities(&w, &same);
    assert!(!planned.is_empty(), "the shop's 100 is not the ERP's 135");
    assert!(planned.iter().all(|(_, q)| *q == 135.0), "{planned:?}");
}
