//! `ponte baseline` on real files, a real SQLite store and the Magento
//! stand-in over loopback: after a baseline, `ponte plan` shows only what
//! really differs.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use magento_standin::Fixture;
use magento_standin::Source;
use ponte_layout::record::writer::FileWriter;
use ponte_layout::record::{Decimal, Value};
use ponte_layout::schema::{Date, Mode, Registry};
use serde_json::{json, Value as Json};

use common::{code, root, stderr, stdout};

const TOKEN: &str = "standin-token";

fn ts(hour: u8) -> Date {
    common::at_hour(hour)
}

const COLORS: [&str; 2] = ["Blu navy", "Rosso"];
const SIZES: [&str; 3] = ["S", "M", "L"];

/// 50 simple products and a configurable with 6 variants, in Windows-1252.
fn write_articoli(path: &Path) {
    let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = FileWriter::new(
        &schema,
        std::io::BufWriter::new(file),
        ts(2),
        Mode::Complete,
        "000001",
    )
    .unwrap();
    let vat = ["22", "10", "04", "22", "00"];
    for i in 0..50i64 {
        let sku = format!("S-{i:03}");
        w.record(
            "AR",
            &[
                ("sku", Value::Text(sku)),
                ("kind", Value::Text("S".into())),
                ("name", Value::Text(format!("Caffè numero {i}"))),
                (
                    "description",
                    Value::Text(if i % 3 == 0 {
                        String::new()
                    } else {
                        format!("Descrizione del prodotto {i}, qualità superiore.")
                    }),
                ),
                (
                    "ean",
                    Value::Text(if i % 4 == 0 {
                        String::new()
                    } else {
                        format!("80012345{i:05}")
                    }),
                ),
                ("price", Value::Decimal(Decimal::new(990 + i * 37, 2))),
                ("weight", Value::Decimal(Decimal::new(250 * (i % 5), 3))),
                ("vat_code", Value::Text(vat[i as usize % vat.len()].into())),
                ("active", Value::Flag(i % 11 != 7)),
                (
                    "brand",
                    Value::Text(if i % 5 == 0 {
                        String::new()
                    } else {
                        format!("Torrefazione {}", i % 4)
                    }),
                ),
                ("unit", Value::Text("PZ".into())),
            ],
        )
        .unwrap();
    }
    w.record(
        "AR",
        &[
            ("sku", Value::Text("POLO".into())),
            ("kind", Value::Text("C".into())),
            ("name", Value::Text("Polo in piqué".into())),
            ("price", Value::Decimal(Decimal::new(3990, 2))),
            ("vat_code", Value::Text("22".into())),
            ("active", Value::Flag(true)),
            ("brand", Value::Text("Felpa & Co.".into())),
            ("unit", Value::Text("PZ".into())),
        ],
    )
    .unwrap();
    for size in SIZES {
        for color in COLORS {
            w.record(
                "AR",
                &[
                    ("sku", Value::Text(variant_sku(size, color))),
                    ("parent_sku", Value::Text("POLO".into())),
                    ("kind", Value::Text("V".into())),
                    ("name", Value::Text(format!("Polo {size} {color}"))),
                    ("ean", Value::Text("8001234567918".into())),
                    ("price", Value::Decimal(Decimal::new(3990, 2))),
                    ("weight", Value::Decimal(Decimal::new(210, 3))),
                    ("vat_code", Value::Text("22".into())),
                    ("active", Value::Flag(true)),
                    ("brand", Value::Text("Felpa & Co.".into())),
                    ("size", Value::Text(size.into())),
                    ("color", Value::Text(color.into())),
                    ("unit", Value::Text("PZ".into())),
                ],
            )
            .unwrap();
        }
    }
    w.finish().unwrap();
}

fn variant_sku(size: &str, color: &str) -> String {
    format!("POLO-{size}-{}", &color[..3].to_uppercase())
}

/// Stock of every simple product and variant at MAG01, of some at MAG02,
/// one oversold (negative: published as zero).
fn write_giacenze(path: &Path) {
    let schema = Registry::built_in().by_flow("GIACENZE").unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = FileWriter::new(
        &schema,
        std::io::BufWriter::new(file),
        ts(3),
        Mode::Complete,
        "000001",
    )
    .unwrap();
    let mut skus: Vec<String> = (0..50).map(|i| format!("S-{i:03}")).collect();
    for size in SIZES {
        for color in COLORS {
            skus.push(variant_sku(size, color));
        }
    }
    for (i, sku) in skus.iter().enumerate() {
        let qty = if i == 5 {
            -3000
        } else {
            (i as i64 * 1250) % 40_000
        };
        w.record(
            "GI",
            &[
                ("sku", Value::Text(sku.clone())),
                ("warehouse", Value::Text("MAG01".into())),
                ("quantity", Value::Decimal(Decimal::new(qty, 3))),
            ],
        )
        .unwrap();
        if i % 4 == 1 {
            w.record(
                "GI",
                &[
                    ("sku", Value::Text(sku.clone())),
                    ("warehouse", Value::Text("MAG02".into())),
                    ("quantity", Value::Decimal(Decimal::new(500 + i as i64, 3))),
                ],
            )
            .unwrap();
        }
    }
    w.finish().unwrap();
}

fn config_text(base_url: &str) -> String {
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
name = "b2c"
base_url = "{base_url}"
store_code = "default"
auth = {{ token = {{ env = "PONTE_TEST_TOKEN" }} }}
flows = ["products", "stock", "customers"]
retries = 0
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

[[target]]
name = "b2b"
base_url = "{base_url}"
store_code = "b2b"
auth = {{ token = {{ env = "PONTE_TEST_TOKEN" }} }}
flows = ["products", "stock"]
attributes = ["name", "price", "status", "tax_class_id", "ean"]
retries = 0
[target.tax_classes]
"22" = 2
"10" = 7
"04" = 8
"00" = 0
[target.sources]
MAG01 = "default"
MAG02 = "eu_north"
"#
    )
}

/// A state directory with its configuration, and the ERP's files.
struct World {
    dir: tempfile::TempDir,
    art: PathBuf,
    gia: PathBuf,
    cli: PathBuf,
}

impl World {
    fn new(base_url: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ponte.toml"), config_text(base_url)).unwrap();
        let art = dir.path().join("ART20261128020000.txt");
        let gia = dir.path().join("GIA20261128030000.txt");
        let cli = dir.path().join("CLI20261128030000.txt");
        write_articoli(&art);
        write_giacenze(&gia);
        std::fs::copy(root().join("samples/CLI20261128030000.txt"), &cli).unwrap();
        World { dir, art, gia, cli }
    }

    fn ponte<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ponte"))
            .arg("--config")
            .arg(self.dir.path().join("ponte.toml"))
            .args(args)
            .current_dir(root())
            .env("PONTE_TEST_TOKEN", TOKEN)
            .env_remove("PONTE_SCHEMAS")
            .env_remove("PONTE_LOG")
            .env_remove("RUST_LOG")
            .output()
            .expect("run ponte")
    }

    fn files(&self) -> Vec<PathBuf> {
        vec![self.art.clone(), self.gia.clone(), self.cli.clone()]
    }

    /// `ponte plan --json` of these files: per target, (action, key) of every change.
    fn plan(&self, files: &[PathBuf]) -> Vec<(String, String, String)> {
        let mut args = vec!["plan".to_string(), "--json".into()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let out = self.ponte(&args);
        assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
        let mut changes = Vec::new();
        for line in stdout(&out).lines() {
            let plan: Json = serde_json::from_str(line).unwrap();
            assert_eq!(plan["verdict"], "ready", "{plan}");
            for t in plan["targets"].as_array().unwrap() {
                for c in t["changes"].as_array().unwrap() {
                    changes.push((
                        t["target"].as_str().unwrap().to_string(),
                        c["action"].as_str().unwrap().to_string(),
                        c["key"].as_str().unwrap().to_string(),
                    ));
                }
            }
        }
        changes
    }
}

/// Entities of `file` whose applied hash for `target` differs from the
/// file's (silent updates included, which `plan` counts as unchanged).
fn hash_mismatches(w: &World, target: &str, file: &Path) -> usize {
    let schema = Registry::built_in().route(file).unwrap();
    let spec = ponte::model::spec_for_flow(&schema.flow).unwrap();
    let bound = ponte::model::BoundSpec::bind(spec, schema.clone()).unwrap();
    let (_, set) = ponte::reconcile::scan_desired(
        file,
        &bound,
        &ponte_layout::record::scan::ScanOptions::default(),
    )
    .unwrap();
    let store = ponte::state::Store::open_read_only(&w.dir.path().join("state"))
        .unwrap()
        .unwrap();
    let applied = store.applied_snapshot(target, &schema.flow).unwrap();
    let c = ponte::reconcile::classify(&set.entries, &applied, false);
    c.creates.len() + c.updates.len()
}

fn of_target(changes: &[(String, String, String)], target: &str) -> Vec<(String, String)> {
    changes
        .iter()
        .filter(|(t, _, _)| t == target)
        .map(|(_, a, k)| (a.clone(), k.clone()))
        .collect()
}

fn shop() -> common::contract::Shop {
    let mut f = Fixture::default();
    f.sources.push(Source {
        source_code: "eu_north".into(),
        name: "EU North".into(),
        enabled: true,
        country_id: "SE".into(),
        postcode: "11122".into(),
    });
    common::contract::shop(f)
}

/// The stand-in, seeded with the world's catalogue by `ponte ingest` from a
/// throwaway state directory.
fn seeded_shop() -> common::contract::Shop {
    let shop = shop();
    let seed = World::new(&shop.base_url);
    let mut args = vec!["ingest".to_string()];
    args.extend(seed.files().iter().map(|f| f.display().to_string()));
    let out = seed.ponte(&args);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    shop
}

#[test]
fn a_baseline_from_the_very_file_leaves_nothing_to_send() {
    let w = World::new("http://127.0.0.1:9");
    let files = w.files();
    assert!(!of_target(&w.plan(&files), "b2c").is_empty());
    let mut args = vec!["baseline", "--target", "b2c", "--from-file"];
    let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(shown.iter().map(String::as_str));
    let out = w.ponte(&args);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("57 entities adopted"),
        "{}",
        stdout(&out)
    );
    let changes = w.plan(&files);
    assert_eq!(of_target(&changes, "b2c"), vec![]);
    for f in &files {
        assert_eq!(hash_mismatches(&w, "b2c", f), 0, "{}", f.display());
    }
    // Only the named target: the other still gets everything.
    assert_eq!(
        of_target(&changes, "b2b")
            .iter()
            .filter(|(a, _)| a == "create")
            .count(),
        57 + 70
    );
    // Again: nothing new to record, still nothing to send.
    let out = w.ponte(&args);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("0 recorded now"), "{}", stdout(&out));
    assert_eq!(of_target(&w.plan(&files), "b2c"), vec![]);
}

#[test]
fn a_refused_file_records_nothing() {
    let w = World::new("http://127.0.0.1:9");
    let bad = w.dir.path().join("GIA20261128040000.txt");
    let text = std::fs::read(&w.gia).unwrap();
    // The trailer no longer matches the records it counts.
    let mut lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    lines.remove(2);
    std::fs::write(&bad, lines.join(&b'\n')).unwrap();
    let out = w.ponte(&[
        "baseline",
        "--target",
        "b2c",
        "--from-file",
        &w.art.display().to_string(),
        &bad.display().to_string(),
    ]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("REJECTED"), "{}", stdout(&out));
    let creates = of_target(&w.plan(std::slice::from_ref(&w.art)), "b2c");
    assert_eq!(creates.len(), 57, "the good file was not recorded either");
}

#[test]
fn a_stale_file_is_refused() {
    let w = World::new("http://127.0.0.1:9");
    let out = w.ponte(&[
        "baseline",
        "--target",
        "b2c",
        "--from-file",
        &w.gia.display().to_string(),
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let older = w.dir.path().join("GIA20261128010000.txt");
    let mut older_bytes = std::fs::read(&w.gia).unwrap();
    // The header's timestamp, an hour earlier than what was committed.
    older_bytes[12..26].copy_from_slice(b"20261128010000");
    std::fs::write(&older, older_bytes).unwrap();
    let out = w.ponte(&[
        "baseline",
        "--target",
        "b2c",
        "--from-file",
        &older.display().to_string(),
    ]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("STALE"), "{}", stdout(&out));
}

fn baseline_from_magento(w: &World, target: &str) -> String {
    let out = w.ponte(&["baseline", "--target", target, "--from-magento"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

#[test]
fn a_baseline_from_a_shop_holding_the_same_catalogue_leaves_nothing_to_send() {
    let shop = seeded_shop();
    let w = World::new(&shop.base_url);
    shop.clear_requests();
    let report = baseline_from_magento(&w, "b2c");
    assert!(report.contains("b2c products: 57 adopted"), "{report}");
    assert!(report.contains("b2c stock: 70 adopted"), "{report}");
    assert!(report.contains("b2c customers: 3 adopted"), "{report}");
    let report = baseline_from_magento(&w, "b2b");
    assert!(report.contains("b2b products: 57 adopted"), "{report}");
    // Reading sends nothing that writes.
    assert!(shop.requests().iter().all(|r| r.method == "GET"));
    let changes = w.plan(&w.files());
    assert_eq!(changes, vec![], "after a baseline from the same shop");
    // b2c receives every field: what it holds hashes as the file does.
    for f in &w.files() {
        assert_eq!(hash_mismatches(&w, "b2c", f), 0, "{}", f.display());
    }
    // b2b is not sent descriptions, weights, brands, sizes, colours: without
    // an ERP state those are unknown, and a product differing only there is
    // a silent update for the next ingest (plan shows nothing, above).
    assert_eq!(hash_mismatches(&w, "b2b", &w.gia), 0);
}

#[test]
fn a_baseline_from_a_shop_that_differs_shows_exactly_the_differences() {
    let shop = seeded_shop();
    let mut expected = BTreeSet::new();
    shop.with_state(|s| {
        for i in 0..37usize {
            let sku = format!("S-{i:03}");
            if i >= 27 {
                let item = s
                    .source_items
                    .iter_mut()
                    .find(|x| x.sku == sku && x.source_code == "default")
                    .unwrap();
                item.quantity += 5.0;
                expected.insert(format!("{sku}/MAG01"));
                continue;
            }
            let idx = s.product_index(&sku).unwrap();
            let p = &mut s.products[idx];
            match i {
                0..=9 => {
                    let price = p["price"].as_f64().unwrap();
                    p["price"] = json!(price + 1.0);
                }
                10..=18 => p["name"] = json!(format!("Nome cambiato {i}")),
                _ => {
                    let status = p["status"].as_i64().unwrap();
                    p["status"] = json!(if status == 1 { 2 } else { 1 });
                }
            }
            expected.insert(sku);
        }
    });
    let w = World::new(&shop.base_url);
    baseline_from_magento(&w, "b2c");
    baseline_from_magento(&w, "b2b");
    let changes = w.plan(&w.files());
    // Both targets read the same shop: the same 37, as updates.
    for target in ["b2c", "b2b"] {
        let mine = of_target(&changes, target);
        let got: BTreeSet<String> = mine
            .iter()
            .map(|(a, k)| {
                assert_eq!(a, "update", "{target} {k}");
                k.clone()
            })
            .collect();
        assert_eq!(got.len(), mine.len(), "{target}");
        assert_eq!(got, expected, "{target}");
    }
    assert_eq!(expected.len(), 37);
    assert_eq!(changes.len(), 2 * 37);
}

#[test]
fn an_interrupted_baseline_resumes_at_its_next_page() {
    let shop = seeded_shop();
    let w = World::new(&shop.base_url);
    // A finished baseline leaves "done"; an interrupted one its next page.
    baseline_from_magento(&w, "b2c");
    let state = w.dir.path().join("state");
    let store = ponte::state::Store::open(&state).unwrap();
    assert_eq!(
        store.watermark("baseline/b2c/products").unwrap().as_deref(),
        Some("done")
    );
    store
        .set_watermark(
            "baseline/b2c/products",
            r#"{"page":2,"page_size":200,"adopted":200,"shop_only":0,"skipped":[]}"#,
        )
        .unwrap();
    drop(store);
    // Page 2 of 57 products is past the end: Magento answers the last page
    // again, and the baseline stops there.
    shop.clear_requests();
    let out = w.ponte(&[
        "baseline",
        "--target",
        "b2c",
        "--from-magento",
        "--flow",
        "products",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("b2c products: 257 adopted"),
        "{}",
        stdout(&out)
    );
    let out = w.ponte(&[
        "baseline",
        "--target",
        "b2c",
        "--from-magento",
        "--flow",
        "products",
        "--restart",
    ]);
    assert!(
        stdout(&out).contains("b2c products: 57 adopted"),
        "{}",
        stdout(&out)
    );
}
