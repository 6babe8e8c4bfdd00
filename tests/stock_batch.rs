//! A batch of source items that Magento refuses for one row it does not
//! know: the other rows still get through, and the bad one costs a handful
//! of requests rather than one per row. Real files, the real binary and
//! client, the schema-checked stand-in over loopback.

mod common;

use std::process::Output;

use magento_standin::Fixture;
use serde_json::Value as Json;

const ROWS: usize = 500;
const UNKNOWN: &str = "NOT-IN-THE-SHOP";

/// The demo shop with `n` more simple products, `BULK-0000`...
fn shop_with(n: usize) -> common::contract::Shop {
    let mut f = Fixture::demo();
    let template = f
        .products
        .iter()
        .find(|p| p["type_id"] == "simple")
        .cloned()
        .expect("the demo shop has a simple product");
    for i in 0..n {
        let mut p = template.clone();
        p["id"] = Json::from(10_000 + i);
        p["sku"] = Json::from(bulk_sku(i));
        p["name"] = Json::from(format!("Bulk {i}"));
        f.products.push(p);
    }
    common::contract::shop(f)
}

fn bulk_sku(i: usize) -> String {
    format!("BULK-{i:04}")
}

/// A GIACENZE file of changes, one row per SKU at warehouse MAG01.
fn giacenze(skus: &[String]) -> String {
    let mut text = format!("{:<52}\r\n", "TEGIACENZE  20261128080000V000001");
    for (i, sku) in skus.iter().enumerate() {
        text.push_str(&format!(
            "GI{sku:<20}{:<10}{:011}+00000000\r\n",
            "MAG01",
            (i % 40 + 1) * 1000
        ));
    }
    text.push_str(&format!("{:<52}\r\n", format!("CO{:09}", skus.len())));
    text
}

fn all_text(o: &Output) -> String {
    format!("{}\n{}", common::stdout(o), common::stderr(o))
}

#[test]
fn one_unknown_sku_costs_a_handful_of_requests_and_the_rest_is_applied() {
    let shop = shop_with(ROWS - 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("standin.token"),
        Fixture::default().integration_token,
    )
    .unwrap();
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
name = "b2c"
base_url = "{}"
auth = {{ token = {{ file = "standin.token" }} }}
flows = ["stock"]
stock = "multi-source"
stock_batch = 500
retries = 0
[target.sources]
MAG01 = "default"
"#,
            shop.base_url
        ),
    )
    .unwrap();
    // The unknown SKU in the middle, where halving reaches it last.
    let mut skus: Vec<String> = (0..ROWS - 1).map(bulk_sku).collect();
    skus.insert(ROWS / 2 + 7, UNKNOWN.to_string());
    let file = dir.path().join("GIA20261128080000.txt");
    std::fs::write(&file, giacenze(&skus)).unwrap();
    shop.clear_requests();

    let out = common::ponte([
        "--config".as_ref(),
        dir.path().join("ponte.toml").as_os_str(),
        "ingest".as_ref(),
        file.as_os_str(),
    ]);

    assert_eq!(common::code(&out), 1, "{}", all_text(&out));
    let text = all_text(&out);
    assert!(text.contains(UNKNOWN), "the bad row is named: {text}");
    assert!(text.contains("1 failed"), "{text}");
    let writes = shop
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/V1/inventory/source-items"))
        .count();
    // Halving: two requests per level, log2(500) < 9 levels, plus the first.
    assert!(
        writes <= 20,
        "{writes} source-item requests for one unknown SKU in {ROWS} rows"
    );
    let state = shop.snapshot();
    let stored: Vec<&Json> = state["source_items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["source_code"] == "default")
        .collect();
    for (i, sku) in skus.iter().enumerate().filter(|(_, s)| *s != UNKNOWN) {
        let item = stored
            .iter()
            .find(|s| s["sku"] == sku.as_str())
            .unwrap_or_else(|| panic!("{sku} was not applied"));
        assert_eq!(
            item["quantity"].as_f64(),
            Some((i % 40 + 1) as f64),
            "{sku}"
        );
    }
    assert!(stored.iter().all(|s| s["sku"] != UNKNOWN));
}
