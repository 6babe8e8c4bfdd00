//! A configurable family whose first attempt failed is whole once retried:
//! the parent is configured on its variants' axes and every variant is
//! linked to it (issue 13 item 7). And a parent already recorded as applied
//! without options is configured again by the next complete file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use magento_standin::{Faults, Fixture};
use ponte::config::Config;
use ponte::flows::inbound::Pusher;
use ponte::flows::retry::retry_due;
use ponte::state::Store;
use ponte_layout::schema::Registry;
use serde_json::Value as Json;

const FAMILY: [&str; 5] = [
    "FEL-POLO-S-BLU",
    "FEL-POLO-M-BLU",
    "FEL-POLO-L-BLU",
    "FEL-POLO-M-ROS",
    "FEL-POLO-L-ROS",
];

struct World {
    dir: tempfile::TempDir,
    shop: common::contract::Shop,
}

impl World {
    fn new() -> World {
        // The demo shop holds the polo family already: here it is new.
        let mut fixture = Fixture::demo();
        fixture.products.retain(|p| {
            !p["sku"]
                .as_str()
                .unwrap_or_default()
                .starts_with("FEL-POLO")
        });
        let shop = common::contract::shop(fixture);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("standin.token"), "standin-token").unwrap();
        // No retries inside a request: a fault fails the entity at once,
        // which is what the failure retry is for.
        let config = format!(
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
base_url = "{}"
flows = ["products"]
retries = 0
auth = {{ token = {{ file = "standin.token" }} }}
[target.tax_classes]
"22" = 2
"10" = 7
"04" = 8
"#,
            shop.base_url
        );
        std::fs::write(dir.path().join("ponte.toml"), config).unwrap();
        World { dir, shop }
    }

    fn config(&self) -> Config {
        Config::load(&self.dir.path().join("ponte.toml")).unwrap()
    }

    /// A copy of a sample, optionally edited line by line.
    fn sample(&self, name: &str, as_name: &str, keep: impl Fn(&str) -> bool) -> PathBuf {
        let text = std::fs::read(common::root().join("samples").join(name)).unwrap();
        let drop = self.dir.path().join("drop");
        std::fs::create_dir_all(&drop).unwrap();
        let to = drop.join(as_name);
        let kept: Vec<&[u8]> = text
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| keep(&String::from_utf8_lossy(l)))
            .collect();
        std::fs::write(&to, kept.concat()).unwrap();
        to
    }

    fn ingest(&self, file: &Path) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ponte"))
            .arg("--config")
            .arg(self.dir.path().join("ponte.toml"))
            .arg("ingest")
            .arg(file)
            .output()
            .unwrap()
    }

    fn product(&self, sku: &str) -> Json {
        self.shop.snapshot()["products"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["sku"] == sku)
            .cloned()
            .unwrap_or_else(|| panic!("no product {sku}"))
    }

    /// The parent's option attribute codes (sorted) and how many variants
    /// it links.
    fn family(&self) -> (Vec<String>, usize) {
        let parent = self.product("FEL-POLO");
        let ext = &parent["extension_attributes"];
        let ids: Vec<String> = ext["configurable_product_options"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| o["attribute_id"].to_string().trim_matches('"').to_string())
            .collect();
        let mut codes: Vec<String> = self.shop.with_state(|s| {
            ids.iter()
                .map(|id| {
                    s.attributes
                        .iter()
                        .find(|a| a.attribute_id.to_string() == *id)
                        .map_or(id.clone(), |a| a.attribute_code.clone())
                })
                .collect()
        });
        codes.sort();
        let links = ext["configurable_product_links"]
            .as_array()
            .map_or(0, Vec::len);
        (codes, links)
    }

    /// The stuck state: the parent saved in a complete file without its
    /// variants (nothing to give it options) and recorded as applied, then
    /// its variants in a changes file, each link refused.
    fn parent_without_options(&self) {
        let alone = self.sample("ART20261128020000.txt", "ART20261128010000.txt", |l| {
            !FAMILY.iter().any(|v| l.starts_with(&format!("AR{v} ")))
        });
        let alone = edit(&alone, |text| {
            text.replacen("20261128020000", "20261128010000", 1)
                .replacen("CO000000010", "CO000000005", 1)
        });
        let out = self.ingest(&alone);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(self.family(), (vec![], 0));

        let variants = self.sample("ART20261128020000.txt", "ART20261128020000.txt", |l| {
            !l.starts_with("AR") || FAMILY.iter().any(|v| l.starts_with(&format!("AR{v} ")))
        });
        let variants = edit(&variants, |text| {
            text.replacen("20261128020000C", "20261128020000V", 1)
                .replacen("CO000000010", "CO000000005", 1)
        });
        let out = self.ingest(&variants);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("doesn't have configurable product options"),
            "{}",
            text(&out)
        );
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_family_whose_first_attempt_failed_is_configured_and_linked_by_the_retry() {
    let w = World::new();
    let file = w.sample("ART20261128020000.txt", "ART20261128020000.txt", |_| true);
    w.shop.set_faults(Faults {
        error_rate: 1.0,
        error_statuses: vec![503],
        ..Faults::default()
    });
    let out = w.ingest(&file);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    w.shop.set_faults(Faults::default());

    let config = w.config();
    let registry = Registry::built_in();
    let mut store = Store::open(&config.paths.state_dir).unwrap();
    let failed: Vec<String> = store
        .failures(Some("b2c"))
        .unwrap()
        .into_iter()
        .map(|f| f.key)
        .collect();
    assert!(failed.contains(&"FEL-POLO".to_string()), "{failed:?}");

    let pusher = Pusher::new(&config).unwrap();
    let summary = retry_due(&config, &registry, &mut store, &pusher).unwrap();
    let left = store.failures(None).unwrap();
    assert!(left.is_empty(), "{summary:?}: {left:#?}");
    let (axes, links) = w.family();
    assert_eq!(axes, ["color", "size"], "the parent's options");
    assert_eq!(links, FAMILY.len(), "every variant linked");
}

#[test]
fn a_complete_file_configures_a_parent_recorded_without_options() {
    let w = World::new();
    w.parent_without_options();
    // The next complete file holds the variants again, and the parent
    // unchanged: it is configured again, on the axes the file gives its
    // variants.
    let all = w.sample("ART20261128020000.txt", "ART20261128030000.txt", |_| true);
    let all = edit(&all, |text| {
        text.replacen("20261128020000", "20261128030000", 1)
    });
    let out = w.ingest(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (axes, links) = w.family();
    assert_eq!(axes, ["color", "size"], "the parent's options");
    assert_eq!(links, FAMILY.len(), "every variant linked");
}

#[test]
fn a_retry_configures_a_parent_recorded_without_options() {
    let w = World::new();
    w.parent_without_options();

    // The retry of the variants brings their parent, made a parent again.
    let config = w.config();
    let mut store = Store::open(&config.paths.state_dir).unwrap();
    let pusher = Pusher::new(&config).unwrap();
    let summary = retry_due(&config, &Registry::built_in(), &mut store, &pusher).unwrap();
    let left = store.failures(None).unwrap();
    assert!(left.is_empty(), "{summary:?}: {left:#?}");
    let (axes, links) = w.family();
    assert_eq!(axes, ["color", "size"], "the parent's options");
    assert_eq!(links, FAMILY.len(), "every variant linked");
}

/// The file with `change` applied to its text (Windows-1252 read as Latin-1,
/// which keeps every byte).
fn edit(path: &Path, change: impl Fn(String) -> String) -> PathBuf {
    let bytes = std::fs::read(path).unwrap();
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    let changed = change(text.clone());
    assert_ne!(changed, text, "the edit applies");
    let back: Vec<u8> = changed.chars().map(|c| c as u32 as u8).collect();
    std::fs::write(path, back).unwrap();
    path.to_path_buf()
}
