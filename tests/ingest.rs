//! `ponte ingest` end to end over real HTTP against the Magento stand-in:
//! every flow, retries under injected faults, a 4xx that must not block the
//! others, an admin token fetched again after it expired.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use magento_standin::{Faults, Fixture};
use serde_json::Value as Json;

const SAMPLES: [&str; 4] = [
    "ART20261128020000.txt",
    "GIA20261128083000.txt",
    "CLI20261128030000.txt",
    "EVA20261128100000.txt",
];

struct World {
    dir: tempfile::TempDir,
    standin: common::contract::Shop,
}

impl World {
    fn new(fixture: Fixture, target_extra: &str, groups: &str) -> World {
        let standin = common::contract::shop(fixture);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("standin.token"), "standin-token").unwrap();
        std::fs::write(dir.path().join("admin.password"), "admin123").unwrap();
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
flows = ["products", "stock", "customers", "fulfilment"]
retries = 8
{target_extra}
[target.tax_classes]
"22" = 2
"10" = 7
"04" = 8
[target.sources]
MAG01 = "default"
MAG02 = "eu_north"
[target.customer_groups]
{groups}
[target.carriers]
BRT = {{ code = "custom", title = "BRT Bartolini" }}
"#,
            standin.base_url
        );
        std::fs::write(dir.path().join("ponte.toml"), config).unwrap();
        World { dir, standin }
    }

    fn drop_samples(&self, names: &[&str]) -> Vec<PathBuf> {
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let drop = self.dir.path().join("drop");
        std::fs::create_dir_all(&drop).unwrap();
        names
            .iter()
            .map(|n| {
                let to = drop.join(n);
                std::fs::copy(samples.join(n), &to).unwrap();
                to
            })
            .collect()
    }

    fn ingest(&self, files: &[PathBuf]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ponte"))
            .arg("--config")
            .arg(self.dir.path().join("ponte.toml"))
            .arg("ingest")
            .args(files)
            .output()
            .unwrap()
    }

    fn shop(&self) -> Json {
        self.standin.snapshot()
    }
}

const TOKEN: &str = r#"auth = { token = { file = "standin.token" } }"#;
const GROUPS: &str = r#"B2C = 1
"B2B-HORECA" = 2
"B2B-RIV" = 3"#;

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn product<'a>(shop: &'a Json, sku: &str) -> &'a Json {
    shop["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == sku)
        .unwrap_or_else(|| panic!("no product {sku}"))
}

fn custom<'a>(p: &'a Json, code: &str) -> &'a Json {
    p["custom_attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["attribute_code"] == code))
        .map(|c| &c["value"])
        .unwrap_or(&Json::Null)
}

fn order_id(shop: &Json, increment: &str) -> Json {
    shop["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["increment_id"] == increment)
        .unwrap()["entity_id"]
        .clone()
}

/// `ingest --json` says where each file went as data, not in Rust's
/// Debug format (`Archived { path: ... }`).
#[test]
fn ingest_json_says_where_each_file_went_as_data() {
    let w = World::new(Fixture::demo(), TOKEN, GROUPS);
    let files = w.drop_samples(&SAMPLES[..1]);
    let out = Command::new(env!("CARGO_BIN_EXE_ponte"))
        .arg("--config")
        .arg(w.dir.path().join("ponte.toml"))
        .args(["ingest", "--json"])
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let line: Json = serde_json::from_slice(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .as_bytes(),
    )
    .unwrap();
    let d = &line["disposition"];
    assert_eq!(d["outcome"], "archived", "{line}");
    assert_eq!(d["all_applied"], true, "{line}");
    assert!(
        d["path"].as_str().is_some_and(|p| p.contains("archive")),
        "{line}"
    );
}

#[test]
fn every_flow_reaches_the_shop() {
    let w = World::new(Fixture::demo(), TOKEN, GROUPS);
    let out = w.ingest(&w.drop_samples(&SAMPLES));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shop = w.shop();

    // Products: names with accents, prices, status, a disabled one, a variant invisible alone.
    let caffe = product(&shop, "CAF-ESP-1KG");
    assert_eq!(caffe["name"], "Caffè espresso in grani 1 kg");
    assert_eq!(caffe["price"], 18.9);
    assert_eq!(custom(caffe, "tax_class_id"), "7");
    assert_eq!(product(&shop, "PAN-VEC-01")["status"], 2);
    let variant = product(&shop, "FEL-POLO-M-ROS");
    assert_eq!(variant["visibility"], 1);
    let color = custom(variant, "color").as_str().unwrap().to_string();
    let rosso = shop["options"]["color"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["label"] == "Rosso Ferrari").cloned())
        .expect("the new colour became an option");
    assert_eq!(rosso["value"].to_string().trim_matches('"'), color);
    let links = &product(&shop, "FEL-POLO")["extension_attributes"]["configurable_product_links"];
    assert_eq!(links.as_array().map(Vec::len), Some(5), "{links}");

    // Stock: the oversold SKU published as 0, out of stock.
    let items = shop["source_items"].as_array().unwrap();
    let oversold = items.iter().find(|i| i["sku"] == "FEL-POLO-M-ROS").unwrap();
    assert_eq!(
        (oversold["quantity"].as_f64(), oversold["status"].as_i64()),
        (Some(0.0), Some(0))
    );
    let second_source = items
        .iter()
        .find(|i| i["sku"] == "CAF-ESP-1KG" && i["source_code"] == "eu_north")
        .unwrap();
    assert_eq!(second_source["quantity"].as_f64(), Some(15.0));

    // Customers: the company with its VAT number and group, the ERP code kept.
    let bar = shop["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["email"] == "amministrazione@barcittaalta.it")
        .unwrap();
    assert_eq!(bar["group_id"], 2);
    assert_eq!(bar["taxvat"], "02345678901");
    assert_eq!(custom(bar, "erp_customer_code"), "C000123");

    // Fulfilment: one shipment with its tracking, one invoice, one cancellation.
    let id = order_id(&shop, "000000101");
    let shipments: Vec<&Json> = shop["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["order_id"] == id)
        .collect();
    assert_eq!(shipments.len(), 1);
    assert_eq!(
        shipments[0]["tracks"][0]["track_number"],
        "0123456789012345"
    );
    assert_eq!(
        shop["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["order_id"] == id)
            .count(),
        1
    );
    let cancelled = shop["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["increment_id"] == "000000102")
        .unwrap();
    assert_eq!(cancelled["state"], "canceled");

    // The files went through the lifecycle.
    assert!(text(&out).contains("archived as"), "{}", text(&out));
}

#[test]
fn under_injected_faults_everything_is_applied_once() {
    let w = World::new(Fixture::demo(), TOKEN, GROUPS);
    w.standin.set_faults(Faults {
        latency: Duration::from_millis(5),
        error_rate: 0.3,
        error_statuses: vec![500, 503, 429],
        drop_rate: 0.1,
        seed: 7,
        ..Faults::default()
    });
    let out = w.ingest(&w.drop_samples(&SAMPLES));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    w.standin.set_faults(Faults::default());
    let shop = w.shop();
    assert_eq!(shop["products"].as_array().unwrap().len(), 10);
    let id = order_id(&shop, "000000101");
    assert_eq!(
        shop["shipments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["order_id"] == id)
            .count(),
        1
    );
    assert_eq!(
        shop["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["order_id"] == id)
            .count(),
        1
    );
    let retried = w
        .standin
        .requests()
        .iter()
        .filter(|r| r.status >= 500 || r.status == 429)
        .count();
    assert!(retried > 0, "the faults were not exercised");
}

#[test]
fn a_refused_entity_is_recorded_and_does_not_block_the_others() {
    // Price list B2B-RIV maps to a customer group the shop does not have.
    let groups = GROUPS.replace("\"B2B-RIV\" = 3", "\"B2B-RIV\" = 99");
    let w = World::new(Fixture::demo(), TOKEN, &groups);
    let out = w.ingest(&w.drop_samples(&["CLI20261128030000.txt"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2 sent, 0 unchanged, 1 failed"), "{stdout}");
    // Magento's message, its placeholders filled from `parameters`.
    assert!(
        stdout.contains("C000125: 404 No such entity with id = 99"),
        "{stdout}"
    );
    let emails: Vec<String> = w.shop()["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(emails.contains(&"niccolo.ferraris@example.it".to_string()));
    assert!(!emails.contains(&"ordini@enotecasantagata.it".to_string()));
    // The failure is in the state, with Magento's reason.
    let mut store = ponte::state::Store::open(&w.dir.path().join("state")).unwrap();
    let failures = store.failures(Some("b2c")).unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].key, "C000125");
    assert!(failures[0]
        .last_error
        .contains("No such entity with id = 99"));
    // The file's row says how it came, what it held, what each target got,
    // and where it went; the failure names the file and line it came from.
    let history = store.history(&Default::default()).unwrap();
    let cli = &history[0];
    assert_eq!(
        (cli.name.as_str(), cli.outcome.as_str(), cli.mode.as_deref()),
        (
            "CLI20261128030000.txt",
            "applied-with-failures",
            Some("ingest")
        )
    );
    assert!(cli.records >= 3, "{cli:?}");
    assert!(
        cli.place.as_deref().is_some_and(|p| p.contains("archive")),
        "{cli:?}"
    );
    assert!(
        cli.finished_at.is_some() && cli.duration_secs.is_some(),
        "{cli:?}"
    );
    let b2c = cli.targets.iter().find(|t| t.target == "b2c").unwrap();
    assert_eq!((b2c.sent, b2c.unchanged, b2c.failed), (2, 0, 1));
    let open = store.open_failures(Some("b2c"), None).unwrap();
    assert_eq!(open.len(), 1);
    let refused = &open[0];
    assert_eq!(refused.file.as_deref(), Some("CLI20261128030000.txt"));
    assert!(refused.line.is_some_and(|l| l > 1), "{refused:?}");
    assert_eq!(refused.status, Some(404));
    assert_eq!(refused.message, "No such entity with id = 99");
    assert!(refused.first_attempt.ends_with("+00:00"), "{refused:?}");

    // Once the mapping is put right, the retry sends it from the desired
    // state, though no new file mentions it.
    let path = w.dir.path().join("ponte.toml");
    let fixed = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"B2B-RIV\" = 99", "\"B2B-RIV\" = 3");
    std::fs::write(&path, fixed).unwrap();
    let config = ponte::config::Config::load(&path).unwrap();
    let pusher = ponte::flows::inbound::Pusher::new(&config).unwrap();
    let registry = ponte_layout::schema::Registry::built_in();
    w.standin.clear_requests();
    let summary = ponte::flows::retry::retry_due(&config, &registry, &mut store, &pusher).unwrap();
    assert_eq!((summary.applied, summary.failed), (1, 0));
    assert!(store.failures(None).unwrap().is_empty());
    // The file's last failing entity is applied: so is the file, and the
    // failure is kept, resolved.
    let history = store.history(&Default::default()).unwrap();
    assert_eq!(history[0].outcome, "applied");
    let past = store.failure_history(&refused.flow, "C000125").unwrap();
    assert_eq!(past.len(), 1);
    assert!(past[0].resolved_at.is_some(), "{past:?}");
    assert_eq!(past[0].file.as_deref(), Some("CLI20261128030000.txt"));
    let created: Vec<String> = w
        .standin
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        created
            .iter()
            .any(|r| r.ends_with("POST /rest/default/V1/customers")),
        "{created:?}"
    );
    let sent_again = w.shop()["customers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["email"] == "ordini@enotecasantagata.it" && c["group_id"] == 3);
    assert!(sent_again);
    // Nothing left to retry.
    let summary = ponte::flows::retry::retry_due(&config, &registry, &mut store, &pusher).unwrap();
    assert_eq!((summary.applied, summary.failed), (0, 0));
}

#[test]
fn an_expired_admin_token_is_fetched_again_once() {
    let w = World::new(
        Fixture::demo(),
        r#"auth = { admin = { username = "admin", password = { file = "admin.password" } } }"#,
        GROUPS,
    );
    let config = ponte::config::Config::load(&w.dir.path().join("ponte.toml")).unwrap();
    let registry = ponte_layout::schema::Registry::built_in();
    let mut store = ponte::state::Store::open(&config.paths.state_dir).unwrap();
    let pusher = ponte::flows::inbound::Pusher::new(&config).unwrap();
    let files = w.drop_samples(&["ART20261128020000.txt", "GIA20261128083000.txt"]);
    let run = |store: &mut ponte::state::Store, path: &Path| {
        let schema = registry.route(path).unwrap();
        let r = ponte::flows::inbound::ingest_file(path, schema, &config, store, &pusher, false)
            .unwrap();
        assert!(r.all_applied(), "{:?}", r.targets);
    };
    run(&mut store, &files[0]);
    w.standin.with_state(|s| s.expire_tokens());
    run(&mut store, &files[1]);
    let requests = w.standin.requests();
    let tokens = requests
        .iter()
        .filter(|r| r.path.ends_with("/V1/integration/admin/token"))
        .count();
    // One process, one client: a second token is fetched only when Magento
    // refused the first (the stand-in logs requests after authentication).
    assert_eq!(tokens, 2, "one token at first, one more after it expired");
    assert!(requests
        .iter()
        .any(|r| r.path.ends_with("/V1/inventory/source-items") && r.status == 200));
}

/// A complete ARTICOLI file of `n` simple products; `bump` changes the
/// price of product 7 and the name of product 9.
fn many_products(dir: &Path, name: &str, hour: u8, n: u64, bump: bool) -> PathBuf {
    many_products_with(dir, name, hour, n, bump, |_, _| {})
}

type Writer<'s> = ponte_layout::record::writer::FileWriter<'s, std::fs::File>;

/// `many_products`, with `more(i, writer)` called before product `i`, to
/// add records among them.
fn many_products_with(
    dir: &Path,
    name: &str,
    hour: u8,
    n: u64,
    bump: bool,
    mut more: impl FnMut(u64, &mut Writer),
) -> PathBuf {
    use ponte_layout::record::writer::FileWriter;
    use ponte_layout::record::{Decimal, Value};
    use ponte_layout::schema::{Mode, Registry};
    let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut w = FileWriter::new(
        &schema,
        file,
        common::at_hour(hour),
        Mode::Complete,
        "000001",
    )
    .unwrap();
    for i in 0..n {
        more(i, &mut w);
        let price = 1000 + i as i64 + i64::from(bump && i == 7);
        let name = if bump && i == 9 {
            "Prodotto rinominato".to_string()
        } else {
            format!("Prodotto numero {i}")
        };
        w.record(
            "AR",
            &[
                ("sku", Value::Text(format!("SKU-{i:05}"))),
                ("kind", Value::Text("S".into())),
                ("name", Value::Text(name)),
                ("price", Value::Decimal(Decimal::new(price, 2))),
                ("vat_code", Value::Text("22".into())),
                ("active", Value::Flag(true)),
            ],
        )
        .unwrap();
    }
    w.finish().unwrap();
    path
}

#[test]
fn a_large_file_is_kept_as_lines_and_the_next_one_sends_only_what_changed() {
    let w = World::new(Fixture::demo(), TOKEN, GROUPS);
    let drop = w.dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    let n = 1200;
    let first = many_products(&drop, "ART20261128020000.txt", 2, n, false);
    let out = w.ingest(&[first]);
    assert!(out.status.success(), "{}", text(&out));
    let retained = w.dir.path().join("state").join("retained");
    let kept = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let first_kept = kept(&retained);
    assert_eq!(first_kept.len(), 1);

    w.standin.clear_requests();
    let second = many_products(&drop, "ART20261129020000.txt", 2, n, true);
    let out = w.ingest(&[second]);
    assert!(out.status.success(), "{}", text(&out));
    let puts: Vec<_> = w
        .standin
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2, "{puts:#?}");
    // What was applied is read back from the first file's retained lines:
    // each request carries the one field that changed.
    let sent = |sku: &str| {
        puts.iter()
            .find(|r| r.path.ends_with(sku))
            .unwrap_or_else(|| panic!("no PUT for {sku}"))
            .body["product"]
            .clone()
    };
    let p7 = sent("SKU-00007");
    assert_eq!(p7["price"], serde_json::json!(10.08), "{p7}");
    assert!(p7.get("name").is_none(), "{p7}");
    let p9 = sent("SKU-00009");
    assert_eq!(p9["name"], "Prodotto rinominato", "{p9}");
    assert!(p9.get("price").is_none(), "{p9}");
    // The second file holds every product as applied: they are read from
    // it from now on, and the first copy is let go.
    let second_kept = kept(&retained);
    assert_eq!(second_kept.len(), 1);
    assert_ne!(second_kept, first_kept);

    w.standin.clear_requests();
    let third = many_products(&drop, "ART20261130020000.txt", 2, n, true);
    let out = w.ingest(&[third]);
    assert!(out.status.success(), "{}", text(&out));
    let sent = w
        .standin
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(sent, 0, "nothing changed, nothing is sent");
}

#[test]
fn a_large_first_import_goes_in_slices_that_keep_each_family_whole() {
    use ponte_layout::record::{Decimal, Value};
    let w = World::new(Fixture::demo(), TOKEN, GROUPS);
    let drop = w.dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    // 2,500 simple products (three slices of 1,000) and three configurable
    // families whose variants are far from their parents in the file.
    let parents = ["MAGLIA-A", "MAGLIA-B", "MAGLIA-C"];
    let record = |sku: &str, parent: &str, kind: &str, size: &str, color: &str| {
        vec![
            ("sku", Value::Text(sku.into())),
            ("parent_sku", Value::Text(parent.into())),
            ("kind", Value::Text(kind.into())),
            ("name", Value::Text(format!("Maglia {sku}"))),
            ("price", Value::Decimal(Decimal::new(2990, 2))),
            ("vat_code", Value::Text("22".into())),
            ("active", Value::Flag(true)),
            ("size", Value::Text(size.into())),
            ("color", Value::Text(color.into())),
        ]
    };
    let file = many_products_with(&drop, "ART20261128020000.txt", 2, 2500, false, |i, wr| {
        if let Some(p) = [10, 900, 1990].iter().position(|&at| at == i) {
            wr.record("AR", &record(parents[p], "", "C", "", ""))
                .unwrap();
        }
        if let Some(p) = [2400, 1500, 20].iter().position(|&at| at == i) {
            for (size, color) in ["S", "M", "L"].iter().zip(["Rosso", "Blu", "Verde"]) {
                let sku = format!("{}-{size}", parents[p]);
                wr.record("AR", &record(&sku, parents[p], "V", size, color))
                    .unwrap();
            }
        }
    });
    let out = w.ingest(&[file]);
    assert!(out.status.success(), "{}", text(&out));
    let shop = w.shop();
    let ours = shop["products"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["sku"]
                .as_str()
                .is_some_and(|s| s.starts_with("SKU-") || s.starts_with("MAGLIA-"))
        })
        .count();
    assert_eq!(ours, 2500 + 3 + 9);
    for parent in parents {
        let p = product(&shop, parent);
        assert_eq!(p["type_id"], "configurable", "{p}");
        let links = &p["extension_attributes"]["configurable_product_links"];
        assert_eq!(links.as_array().map(Vec::len), Some(3), "{parent}: {links}");
        let options = &p["extension_attributes"]["configurable_product_options"];
        assert_eq!(
            options.as_array().map(Vec::len),
            Some(2),
            "{parent}: {options}"
        );
    }
    // Everything was acknowledged: a file without the three families sends
    // only their twelve removals (products disabled), nothing else.
    w.standin.clear_requests();
    let again = many_products(&drop, "ART20261128030000.txt", 3, 2500, false);
    let out = w.ingest(&[again]);
    assert!(out.status.success(), "{}", text(&out));
    let puts = w
        .standin
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 12, "{}", text(&out));
}

/// A partial shipment without tracking number that Magento made, but whose
/// acknowledgement a crash lost (here: the whole state is gone), is not
/// made again: the shipment carries its ERP event in a comment.
#[test]
fn a_partial_shipment_made_before_a_crash_is_not_made_again() {
    use ponte_layout::record::writer::FileWriter;
    use ponte_layout::record::{Decimal, Value};
    use ponte_layout::schema::{Mode, Registry};
    let w = World::new(Fixture::demo(), TOKEN, GROUPS);
    let schema = Registry::built_in().by_flow("EVASIONI").unwrap();
    let drop = w.dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    let write = |name: &str| {
        let path = drop.join(name);
        let file = std::fs::File::create(&path).unwrap();
        let mut f =
            FileWriter::new(&schema, file, common::at_hour(11), Mode::Changes, "000001").unwrap();
        let order = || ("order_number", Value::Text("000000103".into()));
        f.record(
            "EV",
            &[
                order(),
                ("event", Value::Text("P".into())),
                ("delivery_note", Value::Text("DDT0500".into())),
            ],
        )
        .unwrap();
        f.record(
            "ER",
            &[
                order(),
                ("sku", Value::Text("OLI-EVO-075".into())),
                ("quantity", Value::Decimal(Decimal::new(5000, 3))),
            ],
        )
        .unwrap();
        f.finish().unwrap();
        path
    };
    let out = w.ingest(&[write("EVA20261128110000.txt")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    std::fs::remove_dir_all(w.dir.path().join("state")).unwrap();
    let out = w.ingest(&[write("EVA20261128110000.txt")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shop = w.shop();
    let id = order_id(&shop, "000000103");
    let shipments = shop["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["order_id"] == id)
        .count();
    assert_eq!(shipments, 1, "{}", text(&out));
}
