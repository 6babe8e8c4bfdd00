//! Every request ponte sends to Magento, checked against Magento 2.4.8's own
//! admin REST schema (`tests/fixtures/magento/admin-schema-2.4.8.json`,
//! Swagger 2.0; see the SOURCE.md beside it).
//!
//! `ponte ingest` of the four samples, a single-source stock target signing
//! in as an admin user, and `ponte orders pull` with the export comment run
//! against the stand-in; then each request it logged is matched to the
//! schema's path template and operation, and its body is validated against
//! the operation's `in: body` schema with the `jsonschema` crate (Swagger
//! 2.0 definitions are JSON Schema draft 4). The test also checks that
//! every kind of request was seen, so it cannot pass on an empty log.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::contract::{shop, swagger, tolerated, STOCK_ITEM};
use magento_standin::{Fixture, LoggedRequest};
use serde_json::json;

const SAMPLES: [&str; 4] = [
    "ART20261128020000.txt",
    "GIA20261128083000.txt",
    "CLI20261128030000.txt",
    "EVA20261128100000.txt",
];

/// `/rest/default/V1/products/X` and `/rest/V1/products/X` -> `/V1/products/X`.
fn below_store(path: &str) -> &str {
    let rest = path.strip_prefix("/rest").expect("a REST path");
    match rest.find("/V1/") {
        Some(i) if i == 0 || !rest[1..i].contains('/') => &rest[i..],
        _ => panic!("not a /rest/<store>/V1 path: {path}"),
    }
}

/// Two targets on the stand-in: `b2c` with the integration token, every
/// flow, multi-source stock and the export comment; `legacy` signing in as
/// an admin user, stock only, single-source (the stockItems endpoint).
fn config(base_url: &str) -> String {
    format!(
        r#"
[paths]
state_dir = "state"
inbound = "share/inbound"
in_progress = "share/in-progress"
archive = "share/archive"
rejected = "share/rejected"
outbound = "share/outbound"

[orders]
statuses = ["pending", "processing"]

[[target]]
name = "b2c"
base_url = "{base_url}"
auth = {{ token = {{ file = "standin.token" }} }}
retries = 1
order_comment = true
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
[target.channels]
default = "B2C"
b2b = "B2B"

[[target]]
name = "legacy"
base_url = "{base_url}"
store_code = "b2b"
auth = {{ admin = {{ username = "ponte", password = {{ file = "admin.password" }} }} }}
retries = 1
stock = "single-source"
flows = ["stock"]
[target.sources]
MAG01 = "default"
MAG02 = "default"
"#
    )
}

fn run_ponte(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_ponte"))
        .arg("--config")
        .arg(dir.join("ponte.toml"))
        .args(args)
        .current_dir(common::root())
        .env_remove("PONTE_SCHEMAS")
        .env("PONTE_LOG", "warn")
        .output()
        .expect("run ponte");
    assert_eq!(
        out.status.code(),
        Some(0),
        "ponte {args:?}\n{}\n{}",
        common::stdout(&out),
        common::stderr(&out)
    );
}

/// What ponte sent to the stand-in for the samples, stock, and orders.
fn everything_ponte_sends() -> Vec<LoggedRequest> {
    let mut fixture = Fixture::demo();
    // The demo shop already has FEL-POLO's options; without them ponte
    // sends them when it creates the parent.
    for p in &mut fixture.products {
        if p["sku"] == "FEL-POLO" {
            if let Some(ext) = p["extension_attributes"].as_object_mut() {
                ext.remove("configurable_product_options");
            }
        }
    }
    let shop = shop(fixture);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::write_private(
        &root.join("standin.token"),
        &Fixture::default().integration_token,
    );
    common::write_private(&root.join("admin.password"), "ponte-b2b-123");
    std::fs::write(root.join("ponte.toml"), config(&shop.base_url)).unwrap();
    // ingest moves the files it takes: give it copies.
    let drop = root.join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    let mut args = vec!["ingest".to_string()];
    for name in SAMPLES {
        let copy = drop.join(name);
        std::fs::copy(common::root().join("samples").join(name), &copy).unwrap();
        args.push(copy.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ponte(root, &args);
    run_ponte(root, &["orders", "pull", "--target", "b2c"]);
    shop.requests()
}

/// Each kind of request the test must see (method, template, what it is).
const KINDS: [(&str, &str, &str); 14] = [
    ("POST", "/V1/integration/admin/token", "admin token"),
    ("PUT", "/V1/products/{sku}", "product save"),
    (
        "POST",
        "/V1/products/attributes/{attributeCode}/options",
        "new attribute option",
    ),
    (
        "POST",
        "/V1/configurable-products/{sku}/options",
        "configurable option",
    ),
    (
        "POST",
        "/V1/configurable-products/{sku}/child",
        "configurable child link",
    ),
    ("POST", "/V1/inventory/source-items", "source items batch"),
    STOCK_ITEM_KIND,
    (
        "GET",
        "/V1/directory/countries/{countryId}",
        "a country's regions",
    ),
    ("POST", "/V1/customers", "customer create"),
    ("PUT", "/V1/customers/{customerId}", "customer update"),
    ("POST", "/V1/order/{orderId}/ship", "shipment"),
    ("POST", "/V1/order/{orderId}/invoice", "invoice"),
    ("POST", "/V1/orders/{id}/cancel", "cancel"),
    ("POST", "/V1/orders/{id}/comments", "order comment"),
];

const STOCK_ITEM_KIND: (&str, &str, &str) = (STOCK_ITEM.0, STOCK_ITEM.1, "stock item");

#[test]
fn every_request_ponte_sends_fits_magento_2_4_8s_schema() {
    let requests = everything_ponte_sends();
    let swagger = swagger();
    let mut problems = Vec::new();
    let mut tolerated_errors = BTreeSet::new();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut shipment_tracks = 0;
    for r in &requests {
        let path = below_store(&r.path);
        for p in swagger.request_problems(&r.method, path, &r.body) {
            problems.push(format!("{} {} {p}\n    body: {}", r.method, r.path, r.body));
        }
        let Some(template) = swagger.template(&r.method, path) else {
            continue;
        };
        *seen
            .entry((r.method.clone(), template.clone()))
            .or_default() += 1;
        // The samples' provinces are all regions of Italy in the stand-in:
        // each address goes with its region id, resolved in the directory.
        if matches!(
            template.as_str(),
            "/V1/customers" | "/V1/customers/{customerId}"
        ) {
            for a in r.body["customer"]["addresses"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let id = a["region_id"].as_i64().unwrap_or(0);
                if id <= 0 || a["region"]["region_id"] != a["region_id"] {
                    problems.push(format!(
                        "{} {}: an address without its province's region: {a}",
                        r.method, r.path
                    ));
                }
            }
        }
        if template == "/V1/order/{orderId}/ship" {
            shipment_tracks += r.body["tracks"].as_array().map_or(0, Vec::len);
        }
        if let Some(validator) = swagger.body_validator(&r.method, &template) {
            for error in validator.iter_errors(&r.body) {
                if tolerated(&r.method, &template, &error) {
                    tolerated_errors.insert(format!("{} {template}: {error}", r.method));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in what ponte sent:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let missing: Vec<&str> = KINDS
        .iter()
        .filter(|(m, t, _)| !seen.contains_key(&(m.to_string(), t.to_string())))
        .map(|(_, _, what)| *what)
        .collect();
    assert!(
        missing.is_empty(),
        "never sent: {missing:?}; seen: {seen:?}"
    );
    assert!(shipment_tracks > 0, "no shipment carried a track");
    // The exception is used (tolerated() admits only the fields it names).
    assert!(!tolerated_errors.is_empty(), "{tolerated_errors:?}");
}

#[test]
fn the_stock_item_exception_is_narrow() {
    let swagger = swagger();
    let (method, template) = STOCK_ITEM;
    let path = "/V1/products/CAF-1KG/stockItems/1";
    // What ponte sends passes...
    let ours = json!({ "stockItem": { "qty": 3.0, "is_in_stock": true } });
    assert_eq!(
        swagger.request_problems(method, path, &ours),
        Vec::<String>::new()
    );
    // ...but not without the quantity or the flag, nor with a wrong type.
    let no_qty = json!({ "stockItem": { "is_in_stock": true } });
    assert_eq!(swagger.request_problems(method, path, &no_qty).len(), 1);
    let bad_type = json!({ "stockItem": { "qty": "3", "is_in_stock": true } });
    assert_eq!(swagger.request_problems(method, path, &bad_type).len(), 1);
    // The same missing fields elsewhere are not tolerated.
    let v = swagger.body_validator("PUT", "/V1/products/{sku}").unwrap();
    let empty = json!({ "product": {} });
    let e: Vec<_> = v.iter_errors(&empty).collect();
    assert_eq!(e.len(), 1);
    assert!(!tolerated("PUT", "/V1/products/{sku}", &e[0]));
    assert_eq!(swagger.template(method, path).as_deref(), Some(template));
}

#[test]
fn paths_match_the_most_literal_template() {
    let swagger = swagger();
    assert_eq!(
        swagger.template("GET", "/V1/customers/search").as_deref(),
        Some("/V1/customers/search")
    );
    assert_eq!(
        swagger.template("PUT", "/V1/customers/7").as_deref(),
        Some("/V1/customers/{customerId}")
    );
    assert_eq!(
        swagger.template("PUT", "/V1/products/A%2FB").as_deref(),
        Some("/V1/products/{sku}")
    );
    assert_eq!(swagger.template("PATCH", "/V1/products/A"), None);
    assert_eq!(below_store("/rest/b2b/V1/orders"), "/V1/orders");
    assert_eq!(below_store("/rest/V1/orders"), "/V1/orders");
}
