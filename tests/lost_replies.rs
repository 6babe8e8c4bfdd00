//! Magento applies a request and its answer is lost (a proxy, a network
//! cut): ponte asks whether it took effect before sending it again, so
//! every shipment, invoice, cancellation, customer, option and export
//! comment exists once, and nothing applied is reported as failed. The
//! real binary against the schema-checked stand-in over loopback, half of
//! whose replies are lost.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use magento_standin::{Faults, Fixture};
use serde_json::Value as Json;

const SAMPLES: [&str; 4] = [
    "ART20261128020000.txt",
    "GIA20261128083000.txt",
    "CLI20261128030000.txt",
    "EVA20261128100000.txt",
];

/// Guest orders added to the demo shop, each with one line of coffee
/// (1 to 3 bags), for more creating requests of every kind.
const EXTRA_ORDERS: usize = 12;

/// The demo shop and [`EXTRA_ORDERS`] pending guest orders, 000001001...
fn shop() -> common::contract::Shop {
    let mut f = Fixture::demo();
    for (i, mut o) in Fixture::orders(EXTRA_ORDERS).orders.into_iter().enumerate() {
        let id = 100 + i as i64;
        o["entity_id"] = Json::from(id);
        for item in o["items"].as_array_mut().into_iter().flatten() {
            item["item_id"] = Json::from(1000 + i as i64);
            item["order_id"] = Json::from(id);
        }
        f.orders.push(o);
    }
    common::contract::shop(f)
}

fn fixed(text: &str, len: usize) -> String {
    format!("{text:<len$}\r\n")
}

/// Events on the extra orders, in turns: a shipment with a tracking number,
/// a partial shipment of one bag without one (on orders of 2 or 3 bags),
/// an invoice, a cancellation. And partial shipments of order 000000103 (6
/// coffee, 12 oil), neither with a tracking number: one with a delivery
/// note, one without. Returns the file and the (order, event) pairs.
fn evasioni() -> (String, Vec<(String, char)>) {
    let mut lines = vec![fixed("TEEVASIONI  20261128110000V000001", 81)];
    let mut events = Vec::new();
    let item = |order: &str, sku: &str, qty: u32| {
        fixed(&format!("ER{order:<20}{sku:<20}{:012}", qty * 1000), 81)
    };
    let ev = |order: &str, kind: char, note: &str, tracking: &str| {
        fixed(
            &format!(
                "EV{order:<20}{kind}{note:<10}20261128{:<10}{tracking}",
                "BRT"
            ),
            81,
        )
    };
    lines.push(ev("000000103", 'P', "DDT0460", ""));
    lines.push(item("000000103", "OLI-EVO-075", 5));
    lines.push(ev("000000103", 'P', "", ""));
    lines.push(item("000000103", "CAF-ESP-1KG", 2));
    for i in 0..EXTRA_ORDERS {
        let order = format!("{:09}", 1001 + i);
        let bags = 1 + i % 3;
        let kind = match i % 4 {
            0 => 'S',
            1 if bags > 1 => 'P',
            1 | 2 => 'F',
            _ => 'A',
        };
        match kind {
            'S' => {
                lines.push(ev(
                    &order,
                    'S',
                    &format!("DDT{i:04}"),
                    &format!("TRK{i:010}"),
                ));
                lines.push(item(&order, "CAF-ESP-1KG", bags as u32));
            }
            'P' => {
                lines.push(ev(&order, 'P', "", ""));
                lines.push(item(&order, "CAF-ESP-1KG", 1));
            }
            other => lines.push(ev(&order, other, "", "")),
        }
        events.push((order, kind));
    }
    let count = lines.len() - 1;
    lines.push(fixed(&format!("CO{count:09}"), 81));
    (lines.concat(), events)
}

/// New customers C000200... (copies of the sample's third, other e-mails).
fn clienti(n: usize) -> Vec<u8> {
    let sample = std::fs::read(common::root().join("samples/CLI20261128030000.txt")).unwrap();
    let template = sample
        .split(|b| *b == b'\n')
        .find(|l| l.starts_with(b"CLC000125"))
        .unwrap()
        .to_vec();
    let mut out = fixed("TECLIENTI   20261128040000V000001", 319).into_bytes();
    for i in 0..n {
        let mut line = template.clone();
        line[2..12].copy_from_slice(format!("{:<10}", format!("C{:06}", 200 + i)).as_bytes());
        let email = format!("{:<80}", format!("cliente{i}@example.it"));
        line[99..179].copy_from_slice(email.as_bytes());
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    out.extend_from_slice(fixed(&format!("CO{n:09}"), 319).as_bytes());
    out
}

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
flows = ["products", "stock", "customers", "fulfilment", "orders"]
order_comment = true
retries = 10
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
"B2B-RIV" = 3
[target.carriers]
BRT = {{ code = "custom", title = "BRT Bartolini" }}
[target.channels]
default = "B2C"
b2b = "B2B"
"#
    )
}

fn all_text(o: &Output) -> String {
    format!("{}\n{}", common::stdout(o), common::stderr(o))
}

fn list<'a>(shop: &'a Json, key: &str) -> &'a Vec<Json> {
    shop[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in the shop"))
}

fn order<'a>(shop: &'a Json, increment_id: &str) -> &'a Json {
    list(shop, "orders")
        .iter()
        .find(|o| o["increment_id"] == increment_id)
        .unwrap_or_else(|| panic!("no order {increment_id}"))
}

fn documents_of<'a>(shop: &'a Json, key: &str, order_id: &Json) -> Vec<&'a Json> {
    list(shop, key)
        .iter()
        .filter(|d| &d["order_id"] == order_id)
        .collect()
}

/// (SKU, quantity) of every item of `documents`, summed by SKU.
fn quantities(documents: &[&Json]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for item in documents
        .iter()
        .flat_map(|d| d["items"].as_array().into_iter().flatten())
    {
        let sku = item["sku"].as_str().unwrap_or_default().to_string();
        *out.entry(sku).or_insert(0.0) += item["qty"].as_f64().unwrap_or(0.0);
    }
    out
}

#[test]
fn with_half_the_replies_lost_everything_is_applied_exactly_once() {
    let shop = shop();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("standin.token"),
        Fixture::default().integration_token,
    )
    .unwrap();
    let config = dir.path().join("ponte.toml");
    std::fs::write(&config, self::config(&shop.base_url)).unwrap();
    let drop = dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut files: Vec<PathBuf> = SAMPLES
        .iter()
        .map(|n| {
            let to = drop.join(n);
            std::fs::copy(samples.join(n), &to).unwrap();
            to
        })
        .collect();
    let customers = drop.join("CLI20261128040000.txt");
    std::fs::write(&customers, clienti(6)).unwrap();
    files.push(customers);
    let (text, events) = evasioni();
    let fulfilment = drop.join("EVA20261128110000.txt");
    std::fs::write(&fulfilment, text).unwrap();
    files.push(fulfilment);
    let ponte = |args: &[&std::ffi::OsStr]| {
        let mut all: Vec<&std::ffi::OsStr> = vec!["--config".as_ref(), config.as_os_str()];
        all.extend_from_slice(args);
        common::ponte(all)
    };

    shop.set_faults(Faults {
        lost_reply_rate: 0.5,
        seed: 13,
        ..Faults::default()
    });
    // The orders first, so that each gets its comment while it is pending.
    let pulled = ponte(&["orders".as_ref(), "pull".as_ref()]);
    let mut ingest: Vec<&std::ffi::OsStr> = vec!["ingest".as_ref()];
    ingest.extend(files.iter().map(|f| f.as_os_str()));
    let ingested = ponte(&ingest);
    shop.set_faults(Faults::default());

    // Nothing that was applied is reported as failed.
    assert_eq!(common::code(&pulled), 0, "{}", all_text(&pulled));
    assert_eq!(common::code(&ingested), 0, "{}", all_text(&ingested));

    // Which request loses its reply depends on the order concurrent
    // requests arrive in, so no one kind is sure to be hit; with some 50
    // creating requests, several always are, and on code that resends
    // blindly any one of them makes a duplicate or a reported failure.
    let creating = [
        "/ship",
        "/invoice",
        "/cancel",
        "/comments",
        "/V1/customers",
        "/options",
    ];
    let lost: Vec<String> = shop
        .requests()
        .iter()
        .filter(|r| r.lost_reply && r.method == "POST")
        .filter(|r| creating.iter().any(|c| r.path.ends_with(c)))
        .map(|r| r.path.clone())
        .collect();
    assert!(
        lost.len() >= 5,
        "too few creating requests lost their reply to prove anything: {lost:?}"
    );

    let state = shop.snapshot();
    // Order 000000101: shipped once with its tracking, invoiced once.
    let o101 = order(&state, "000000101");
    let shipments = documents_of(&state, "shipments", &o101["entity_id"]);
    assert_eq!(shipments.len(), 1, "{shipments:#?}");
    assert_eq!(shipments[0]["tracks"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        documents_of(&state, "invoices", &o101["entity_id"]).len(),
        1
    );
    // Order 000000102: cancelled.
    assert_eq!(order(&state, "000000102")["state"], "canceled");
    // Order 000000103: each partial shipment once, with its quantities.
    let o103 = order(&state, "000000103");
    let partial = documents_of(&state, "shipments", &o103["entity_id"]);
    assert_eq!(partial.len(), 2, "{partial:#?}");
    assert_eq!(
        quantities(&partial),
        BTreeMap::from([("CAF-ESP-1KG".into(), 2.0), ("OLI-EVO-075".into(), 5.0)])
    );

    for (increment_id, kind) in &events {
        let o = order(&state, increment_id);
        let shipments = documents_of(&state, "shipments", &o["entity_id"]);
        let invoices = documents_of(&state, "invoices", &o["entity_id"]);
        let canceled = o["state"] == "canceled";
        let expected = match kind {
            'S' | 'P' => (1, 0, false),
            'F' => (0, 1, false),
            _ => (0, 0, true),
        };
        assert_eq!(
            (shipments.len(), invoices.len(), canceled),
            expected,
            "order {increment_id}, event {kind}"
        );
        if *kind == 'P' {
            assert_eq!(quantities(&shipments)["CAF-ESP-1KG"], 1.0, "{increment_id}");
        }
    }

    // One account per e-mail and website, one option per label.
    let mut accounts: Vec<(String, i64)> = list(&state, "customers")
        .iter()
        .map(|c| {
            let email = c["email"].as_str().unwrap_or_default().to_string();
            (email, c["website_id"].as_i64().unwrap_or_default())
        })
        .collect();
    let count = accounts.len();
    accounts.sort();
    accounts.dedup();
    assert_eq!(accounts.len(), count, "a customer was created twice");
    let options = state["options"].as_object().expect("options by attribute");
    for (code, options) in options {
        let mut labels: Vec<String> = options
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["label"].as_str())
            .map(str::to_lowercase)
            .collect();
        let count = labels.len();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), count, "an option of {code} was created twice");
    }

    // Each exported order carries the export comment once.
    let exported = ["000000101", "000000102", "000000103"]
        .map(String::from)
        .into_iter()
        .chain(events.iter().map(|(o, _)| o.clone()));
    for increment_id in exported {
        let comments = order(&state, &increment_id)["status_histories"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|h| {
                h["comment"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("exported to the ERP in"))
            })
            .count();
        assert_eq!(comments, 1, "order {increment_id}");
    }
}
