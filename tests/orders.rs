//! The orders poll against the Magento stand-in over loopback, with a real
//! SQLite store and real files: paging, an order updated while paging,
//! overlap, an outage mid-poll, the values written, and a crash at every
//! step of the export (injected, and a real `kill -9` of `ponte orders
//! pull`).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use magento_standin::{Faults, Fixture, StandIn};
use ponte::config::Config;
use ponte::flows::orders::{OrdersPoller, TargetPoll};
use ponte::orders::export::{FailPoint, Hooks};
use ponte::state::{watermark_scope, Store};
use ponte_layout::record::line::line_values;
use ponte_layout::record::scan::{scan_file, RecordVisitor, ScanOptions, Seen};
use ponte_layout::record::Value;
use ponte_layout::schema::{Registry, Schema};
use serde_json::json;

struct World {
    dir: tempfile::TempDir,
    config: Config,
    registry: Registry,
}

/// The `b2c` target: `extra` keys added, and a channel for both stores of
/// the stand-in.
fn b2c_target(url: &str, extra: &str) -> String {
    format!(
        r#"
[[target]]
name = "b2c"
base_url = "{url}"
store_code = "default"
auth = {{ token = {{ file = "token" }} }}
retries = 1
flows = ["orders"]
{extra}
[target.channels]
default = "B2C"
b2b = "B2B"
"#
    )
}

impl World {
    fn new(shop: &StandIn, target_extra: &str) -> World {
        World::with_targets(shop, &b2c_target(&shop.base_url, target_extra))
    }

    /// `targets`: the `[[target]]` tables, `{url}` standing for the shop's.
    fn with_targets(shop: &StandIn, targets: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "standin-token").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.path().join("token"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
        let text = format!(
            r#"
[paths]
state_dir = "state"
inbound = "share/inbound"
in_progress = "share/in-progress"
archive = "share/archive"
rejected = "share/rejected"
outbound = "share/outbound"

[orders]
overlap = "10m"
statuses = ["pending", "processing"]
{targets}
"#,
            targets = targets.replace("{url}", &shop.base_url)
        );
        std::fs::write(dir.path().join("ponte.toml"), &text).unwrap();
        // The share as the service finds it once mounted.
        std::fs::create_dir_all(dir.path().join("share/outbound")).unwrap();
        let config = Config::load(&dir.path().join("ponte.toml")).unwrap();
        let registry = Registry::discover(Some(&common::root().join("schemas")));
        World {
            dir,
            config,
            registry,
        }
    }

    fn poller(&self) -> OrdersPoller {
        let mut p = OrdersPoller::new(&self.config, &self.registry).unwrap();
        p.hooks = Hooks::default();
        p
    }

    fn store(&self) -> Store {
        Store::open(&self.config.paths.state_dir).unwrap()
    }

    fn poll(&self) -> TargetPoll {
        self.poll_with(Hooks::default())
    }

    fn poll_with(&self, hooks: Hooks) -> TargetPoll {
        let mut reports = self.poll_all(hooks);
        assert_eq!(reports.len(), 1);
        reports.remove(0)
    }

    /// One poll of every target, in the configuration's order.
    fn poll_all(&self, hooks: Hooks) -> Vec<TargetPoll> {
        let mut p = self.poller();
        p.hooks = hooks;
        p.poll(&mut self.store())
    }

    fn outbound(&self) -> &Path {
        &self.config.paths.outbound
    }

    /// Every file in the outbound folder, sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.outbound())
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn orders_files(&self, also: &[&Path]) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::iter::once(self.outbound())
            .chain(also.iter().copied())
            .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with("ORD") && n.ends_with(".txt")
            })
            .collect();
        files.sort();
        files
    }

    /// Order numbers per count of appearances over every ORD file (in the
    /// outbound folder and in `also`, where "the ERP" moved some).
    fn appearances(&self, also: &[&Path]) -> BTreeMap<String, usize> {
        let schema = self.registry.by_flow("ORDINI").unwrap();
        let mut seen = BTreeMap::new();
        for f in self.orders_files(also) {
            for (tag, values) in records(&schema, &f) {
                if tag == "OT" {
                    *seen.entry(text(&values, "order_number")).or_insert(0) += 1;
                }
            }
        }
        seen
    }
}

struct Collect<'s>(&'s Schema);

impl RecordVisitor for Collect<'_> {
    type Out = Vec<(String, Vec<(String, Value)>)>;
    fn visit(&self, out: &mut Self::Out, seen: Seen<'_>) {
        let layout = &self.0.records[seen.record];
        out.push((layout.tag.clone(), line_values(self.0, layout, seen.bytes)));
    }
}

/// The file's records, after checking it is valid as a whole.
fn records(schema: &Schema, path: &Path) -> Vec<(String, Vec<(String, Value)>)> {
    let mut all = Vec::new();
    let report = scan_file(
        path,
        schema,
        &ScanOptions::default(),
        &Collect(schema),
        |out| {
            all.extend(out);
            Ok(())
        },
    )
    .unwrap();
    assert!(report.is_clean(), "{}: {:?}", path.display(), report.errors);
    all
}

fn get<'a>(values: &'a [(String, Value)], key: &str) -> &'a Value {
    &values.iter().find(|(k, _)| k == key).unwrap().1
}

fn text(values: &[(String, Value)], key: &str) -> String {
    get(values, key).to_cell()
}

fn all_once(seen: &BTreeMap<String, usize>, n: usize) {
    assert_eq!(seen.len(), n, "distinct orders");
    let twice: Vec<_> = seen.iter().filter(|(_, c)| **c != 1).collect();
    assert!(twice.is_empty(), "written more than once: {twice:?}");
}

fn order_requests(shop: &StandIn) -> usize {
    shop.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/V1/orders"))
        .count()
}

#[test]
fn two_hundred_fifty_orders_over_several_pages_then_overlap_without_duplicates() {
    let shop = common::contract::shop(Fixture::orders(250));
    let w = World::new(&shop, "");
    let r = w.poll();
    assert!(r.ok(), "{r:?}");
    assert_eq!((r.fetched, r.exported.len()), (250, 250));
    assert_eq!(order_requests(&shop), 3, "pages of 100, 100 and 50");
    let file = r.file.clone().unwrap();
    assert!(
        file.starts_with("ORD") && file.ends_with(".txt") && file.len() == 21,
        "{file}"
    );
    assert_eq!(w.listing(), vec![file.clone()], "no temporary file left");
    assert_eq!(r.watermark.as_deref(), Some("2026-11-01 04:09:00"));
    all_once(&w.appearances(&[]), 250);

    // The overlap (10 minutes) fetches the last 11 orders again: all skipped.
    shop.clear_requests();
    let again = w.poll();
    assert!(again.ok(), "{again:?}");
    assert_eq!(again.since.as_deref(), Some("2026-11-01 03:59:00"));
    assert_eq!(
        (again.fetched, again.already_exported, again.exported.len()),
        (10, 10, 0)
    );
    assert_eq!(again.file, None, "nothing new: no file");
    assert_eq!(w.listing(), vec![file]);
    all_once(&w.appearances(&[]), 250);
}

#[test]
fn an_order_updated_while_paging_is_written_once_in_its_latest_state() {
    let shop = common::contract::shop(Fixture::orders(250));
    let w = World::new(&shop, "");
    shop.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    std::thread::scope(|s| {
        s.spawn(|| {
            // Once the first page is served, order 5 (on that page) changes:
            // it moves to the end of the list, and every order behind it one
            // place forward, across the page boundary.
            let deadline = Instant::now() + Duration::from_secs(20);
            while order_requests(&shop) == 0 {
                assert!(Instant::now() < deadline, "no page requested");
                std::thread::sleep(Duration::from_millis(1));
            }
            shop.with_state(|st| {
                let now = st.now();
                let i = st.order_index(5).unwrap();
                st.orders[i]["updated_at"] = json!(now);
                st.orders[i]["customer_email"] = json!("changed@example.org");
            });
        });
        let r = w.poll();
        assert!(r.ok(), "{r:?}");
        assert_eq!(r.exported.len(), 250, "{r:?}");
    });
    shop.set_faults(Faults::default());
    all_once(&w.appearances(&[]), 250);
    let schema = w.registry.by_flow("ORDINI").unwrap();
    let files = w.orders_files(&[]);
    let recs = records(&schema, &files[0]);
    let ot: Vec<_> = recs.iter().filter(|(t, _)| t == "OT").collect();
    let last = ot.last().unwrap();
    assert_eq!(
        text(&last.1, "order_number"),
        "000001005",
        "in updated_at order: last"
    );
    assert_eq!(text(&last.1, "email"), "changed@example.org");
}

#[test]
fn an_outage_mid_poll_writes_what_came_and_the_watermark_stops_there() {
    let shop = common::contract::shop(Fixture::orders(250));
    let w = World::new(&shop, "");
    shop.set_faults(Faults {
        latency: Duration::from_millis(100),
        ..Faults::default()
    });
    let r = std::thread::scope(|s| {
        s.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(20);
            while order_requests(&shop) == 0 {
                assert!(Instant::now() < deadline, "no page requested");
                std::thread::sleep(Duration::from_millis(1));
            }
            shop.set_faults(Faults {
                error_rate: 1.0,
                error_statuses: vec![503],
                ..Faults::default()
            });
        });
        w.poll()
    });
    assert!(!r.ok());
    assert!(r.error.as_deref().unwrap().contains("503"), "{r:?}");
    assert_eq!(r.exported.len(), 100, "the first page is written");
    assert_eq!(
        r.watermark.as_deref(),
        Some("2026-11-01 01:39:00"),
        "the 100th order"
    );
    let store = w.store();
    assert_eq!(store.order_export_count("b2c").unwrap(), 100);
    assert_eq!(
        store.watermark(&watermark_scope("b2c")).unwrap().as_deref(),
        Some("2026-11-01 01:39:00")
    );
    drop(store);

    shop.set_faults(Faults::default());
    let r = w.poll();
    assert!(r.ok(), "{r:?}");
    assert_eq!((r.exported.len(), r.already_exported), (150, 10));
    all_once(&w.appearances(&[]), 250);
    assert_eq!(w.orders_files(&[]).len(), 2);
}

#[test]
fn the_file_gives_back_the_orders_values() {
    let shop = common::contract::shop(Fixture::demo());
    shop.with_state(|s| {
        let i = s.order_index(3).unwrap();
        s.orders[i]["billing_address"]["firstname"] = json!("Lucía 😀");
    });
    let w = World::new(
        &shop,
        "order_comment = true\norder_status_after_export = \"processing\"",
    );
    let r = w.poll();
    assert!(r.ok(), "{r:?}");
    assert_eq!(
        r.exported,
        ["000000101", "000000102", "000000103"],
        "000000100 is complete"
    );
    assert_eq!(r.followups_sent, 3);
    let file = r.file.clone().unwrap();
    let schema = w.registry.by_flow("ORDINI").unwrap();
    let recs = records(&schema, &w.outbound().join(&file));
    let of = |tag: &str| -> Vec<&Vec<(String, Value)>> {
        recs.iter()
            .filter(|(t, _)| t == tag)
            .map(|(_, v)| v)
            .collect()
    };
    let te = of("TE");
    assert_eq!(text(te[0], "flow"), "ORDINI");
    assert_eq!(text(te[0], "mode"), "V");
    assert_eq!(text(te[0], "company"), "000001");
    assert_eq!(text(of("CO")[0], "count"), "3");
    let ot = of("OT");
    let o101 = ot[0];
    assert_eq!(text(o101, "order_number"), "000000101");
    assert_eq!(text(o101, "ordered_at"), "2026-11-27T09:41:07");
    assert_eq!(text(o101, "channel"), "B2C");
    assert_eq!(text(o101, "customer_code"), "C000124");
    assert_eq!(text(o101, "email"), "niccolo.ferraris@example.it");
    assert_eq!(text(o101, "billing_name"), "Niccolò Ferraris");
    assert_eq!(text(o101, "shipping_amount"), "5.00");
    assert_eq!(text(o101, "payment_method"), "checkmo");
    assert_eq!(text(o101, "discount_amount"), "0.00");
    assert_eq!(text(o101, "currency"), "EUR");
    // 41.58 (2 x 18.90 + 10%) + 48.68 (39.90 + 22%) + 6.10 (5.00 + 22%)
    assert_eq!(text(o101, "grand_total"), "96.36");
    let o102 = ot[1];
    assert_eq!(text(o102, "customer_code"), "", "a guest");
    assert_eq!(text(o102, "email"), "lucia.gomez@example.org");
    // The emoji is transliterated (deunicode's name for it), never a reason
    // to drop the order.
    let name = text(o102, "billing_name");
    assert!(
        name.starts_with("Lucía grinning") && name.ends_with(" Gómez"),
        "{name}"
    );
    let o103 = ot[2];
    // Order 103 was placed in the B2B store: its channel is that store's,
    // whichever target polled it.
    assert_eq!(text(o101, "channel"), "B2C");
    assert_eq!(text(ot[1], "channel"), "B2C");
    assert_eq!(text(o103, "channel"), "B2B");
    assert_eq!(text(o103, "customer_code"), "C000123");
    assert_eq!(text(o103, "vat_number"), "02345678901");
    assert_eq!(
        text(o103, "billing_name"),
        "Bar Pasticceria Città Alta S.r.l."
    );
    assert_eq!(text(o103, "payment_method"), "banktransfer");
    let od = of("OD");
    assert_eq!(od.len(), 3);
    assert_eq!(text(od[1], "ship_city"), "Palermo");
    assert_eq!(text(od[1], "ship_province"), "PA");
    let lines: Vec<_> = of("OR")
        .into_iter()
        .map(|v| {
            [
                "order_number",
                "line",
                "sku",
                "quantity",
                "unit_price",
                "vat_rate",
                "row_total",
            ]
            .map(|k| text(v, k))
        })
        .collect();
    assert_eq!(
        lines,
        [
            [
                "000000101",
                "1",
                "CAF-ESP-1KG",
                "2.000",
                "18.90",
                "10.00",
                "41.58"
            ],
            [
                "000000101",
                "2",
                "FEL-POLO-M-BLU",
                "1.000",
                "39.90",
                "22.00",
                "48.68"
            ],
            [
                "000000102",
                "1",
                "TAZ-POR-6",
                "1.000",
                "24.50",
                "22.00",
                "29.89"
            ],
            [
                "000000103",
                "1",
                "CAF-ESP-1KG",
                "6.000",
                "18.90",
                "10.00",
                "124.74"
            ],
            [
                "000000103",
                "2",
                "OLI-EVO-075",
                "12.000",
                "12.50",
                "4.00",
                "156.00"
            ],
        ]
    );
    // The comment went on each exported order, naming the file.
    let snap = shop.snapshot();
    let orders = snap["orders"].as_array().unwrap();
    for inc in ["000000101", "000000102", "000000103"] {
        let o = orders.iter().find(|o| o["increment_id"] == inc).unwrap();
        let comments: Vec<&str> = o["status_histories"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|h| h["comment"].as_str())
            .collect();
        assert!(
            comments.contains(&format!("exported to the ERP in {file}").as_str()),
            "{inc}: {comments:?}"
        );
    }
    // Magento 2.4.7+ sets only a status of the order's current state: the
    // processing order takes it, the two pending (state new) ones keep theirs.
    let status = |inc: &str| {
        orders.iter().find(|o| o["increment_id"] == inc).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(r.statuses_refused, 2);
    assert_eq!(status("000000101"), "pending");
    assert_eq!(status("000000103"), "processing");
    // The comments moved updated_at on: the next poll sees those orders
    // again and skips them.
    let again = w.poll();
    assert!(again.ok(), "{again:?}");
    assert_eq!((again.exported.len(), again.followups_sent), (0, 0));
}

/// A target that takes only `stores`, with those stores' channels.
fn store_target(name: &str, store_code: &str, stores: &str, channels: &str) -> String {
    format!(
        r#"
[[target]]
name = "{name}"
base_url = "{{url}}"
store_code = "{store_code}"
auth = {{ token = {{ file = "token" }} }}
retries = 1
flows = ["orders"]
{stores}
[target.channels]
{channels}
"#
    )
}

/// The OT records of every ORD file: (file, order number, channel).
fn heads(w: &World) -> Vec<(String, String, String)> {
    let schema = w.registry.by_flow("ORDINI").unwrap();
    let mut out = Vec::new();
    for f in w.orders_files(&[]) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for (tag, values) in records(&schema, &f) {
            if tag == "OT" {
                out.push((
                    name.clone(),
                    text(&values, "order_number"),
                    text(&values, "channel"),
                ));
            }
        }
    }
    out
}

#[test]
fn two_order_targets_on_one_shop_each_take_their_own_stores_orders() {
    let shop = common::contract::shop(Fixture::demo());
    let targets = store_target(
        "b2c",
        "default",
        "stores = [\"default\"]",
        "default = \"B2C\"",
    ) + &store_target("b2b", "b2b", "stores = [\"b2b\"]", "b2b = \"B2B\"");
    let w = World::with_targets(&shop, &targets);
    let reports = w.poll_all(Hooks::default());
    assert!(reports.iter().all(TargetPoll::ok), "{reports:?}");
    assert_eq!(reports[0].exported, ["000000101", "000000102"]);
    assert_eq!(reports[1].exported, ["000000103"]);
    assert_eq!(
        (reports[0].fetched, reports[1].fetched),
        (2, 1),
        "{reports:?}"
    );
    let heads = heads(&w);
    let channels: Vec<(&str, &str)> = heads
        .iter()
        .map(|(_, n, c)| (n.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        channels,
        [
            ("000000101", "B2C"),
            ("000000102", "B2C"),
            ("000000103", "B2B")
        ]
    );
    assert_ne!(heads[0].0, heads[2].0, "one file per target");
    // Magento was asked for each target's stores only.
    let queries: Vec<String> = shop
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/V1/orders"))
        .map(|r| magento_standin::percent_decode(&r.query, true))
        .collect();
    assert_eq!(queries.len(), 2);
    for (q, id) in queries.iter().zip(["1", "2"]) {
        assert!(
            q.contains("[field]=store_id")
                && q.contains(&format!("[value]={id}&"))
                && q.contains("[conditionType]=in"),
            "{q}"
        );
    }
    let again = w.poll_all(Hooks::default());
    assert!(
        again.iter().all(|r| r.ok() && r.file.is_none()),
        "{again:?}"
    );
}

#[test]
fn an_order_exported_by_another_target_of_the_shop_is_never_written_again() {
    let shop = common::contract::shop(Fixture::demo());
    // Both take every store: their orders overlap.
    let both = "default = \"B2C\"\nb2b = \"B2B\"";
    let targets = store_target("b2c", "default", "", both) + &store_target("b2b", "b2b", "", both);
    let w = World::with_targets(&shop, &targets);
    let reports = w.poll_all(Hooks::default());
    assert!(reports.iter().all(TargetPoll::ok), "{reports:?}");
    assert_eq!(reports[0].exported.len(), 3, "{reports:?}");
    assert_eq!(reports[1].exported.len(), 0, "{reports:?}");
    assert_eq!(reports[1].file, None);
    let by: Vec<(&str, &str)> = reports[1]
        .exported_by_other
        .iter()
        .map(|(o, t)| (o.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        by,
        [
            ("000000101", "b2c"),
            ("000000102", "b2c"),
            ("000000103", "b2c")
        ]
    );
    all_once(&w.appearances(&[]), 3);

    // Nor when the first target's export is left unfinished by a crash
    // after the rename: the other leaves those orders to its recovery.
    let shop = common::contract::shop(Fixture::demo());
    let w = World::with_targets(&shop, &targets);
    let reports = w.poll_all(Hooks {
        fail_at: Some(FailPoint::AfterRename),
        pause_at: None,
    });
    assert!(reports[0].error.is_some(), "{reports:?}");
    assert_eq!(reports[1].exported_by_other.len(), 3, "{reports:?}");
    let reports = w.poll_all(Hooks::default());
    assert_eq!(reports[0].recovered.len(), 1, "{reports:?}");
    all_once(&w.appearances(&[]), 3);
}

#[test]
fn an_order_whose_store_has_no_channel_is_reported_and_not_written() {
    let shop = common::contract::shop(Fixture::demo());
    let only_b2c = store_target("b2c", "default", "", "default = \"B2C\"");
    let w = World::with_targets(&shop, &only_b2c);
    let r = w.poll();
    assert!(!r.ok());
    assert_eq!(r.exported, ["000000101", "000000102"]);
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert_eq!(r.failed[0].0, "000000103");
    assert!(
        r.failed[0].1.contains(
            "store \"b2b\" (id 2) has no ERP channel: add b2b = \"...\" to [target.channels] of target \"b2c\""
        ),
        "{r:?}"
    );
    // The watermark waits for it: once the channel is configured, the next
    // poll writes it.
    let o103_at = shop.with_state(|s| {
        let i = s.order_index(4).unwrap();
        s.orders[i]["updated_at"].as_str().unwrap().to_string()
    });
    assert!(
        r.watermark
            .as_deref()
            .is_some_and(|m| m <= o103_at.as_str()),
        "{r:?}"
    );
    let fixed = World::with_targets(&shop, &b2c_target("{url}", ""));
    std::fs::rename(w.dir.path().join("state"), fixed.dir.path().join("state")).unwrap();
    let r = fixed.poll();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.exported, ["000000103"]);
    assert_eq!(heads(&fixed)[0].2, "B2B");
}

#[test]
fn stores_the_shop_does_not_have_stop_the_poll_with_their_name() {
    let shop = common::contract::shop(Fixture::demo());
    let w = World::with_targets(
        &shop,
        &store_target(
            "b2c",
            "default",
            "stores = [\"default\", \"b2b_it\"]",
            "default = \"B2C\"\nb2b_it = \"B2B\"",
        ),
    );
    let r = w.poll();
    let e = r.error.clone().unwrap_or_default();
    assert!(
        e.contains(
            "stores: \"b2b_it\" is not a store view of this shop (it has admin, b2b, default)"
        ),
        "{r:?}"
    );
    assert!(r.exported.is_empty() && w.orders_files(&[]).is_empty());
}

#[test]
fn a_comment_that_fails_never_undoes_the_export_and_is_sent_later() {
    let shop = common::contract::shop(Fixture::demo());
    let w = World::new(&shop, "order_comment = true");
    let r = w.poll_with(Hooks {
        fail_at: Some(FailPoint::AfterRecord),
        pause_at: None,
    });
    assert!(r.error.is_some());
    assert_eq!(w.store().order_export_count("b2c").unwrap(), 3);
    let comments = |shop: &StandIn| {
        shop.requests()
            .iter()
            .filter(|q| q.method == "POST" && q.path.ends_with("/comments"))
            .count()
    };
    assert_eq!(comments(&shop), 0);
    shop.set_faults(Faults {
        error_rate: 1.0,
        error_statuses: vec![503],
        ..Faults::default()
    });
    let r = w.poll();
    assert_eq!(r.followups_failed, 3);
    shop.set_faults(Faults::default());
    let r = w.poll();
    assert!(r.ok(), "{r:?}");
    assert_eq!((r.followups_sent, r.exported.len()), (3, 0));
    all_once(&w.appearances(&[]), 3);
}

/// A crash at `point`, then a normal poll: every order in the folder once,
/// no temporary file left. With `erp_takes_it`, the ERP moves the files
/// away between the crash and the next poll.
fn crash_then_recover(point: FailPoint, erp_takes_it: bool) {
    let shop = common::contract::shop(Fixture::orders(30));
    let w = World::new(&shop, "");
    let r = w.poll_with(Hooks {
        fail_at: Some(point),
        pause_at: None,
    });
    assert!(
        r.error.as_deref().unwrap_or("").contains(point.as_str()),
        "{point:?}: {r:?}"
    );
    let taken = w.dir.path().join("erp");
    std::fs::create_dir_all(&taken).unwrap();
    if erp_takes_it {
        for f in w.orders_files(&[]) {
            std::fs::rename(&f, taken.join(f.file_name().unwrap())).unwrap();
        }
    }
    let r = w.poll();
    assert!(r.ok(), "{point:?}: {r:?}");
    let listing = w.listing();
    assert!(
        listing.iter().all(|n| !n.starts_with('.')),
        "{point:?}: {listing:?}"
    );
    all_once(&w.appearances(&[&taken]), 30);
    assert_eq!(w.store().order_export_count("b2c").unwrap(), 30);
    // And a third poll changes nothing.
    let r = w.poll();
    assert_eq!((r.exported.len(), r.file.clone()), (0, None), "{point:?}");
}

#[test]
fn a_crash_at_any_step_of_the_export_writes_each_order_once() {
    for point in FailPoint::ALL {
        crash_then_recover(point, false);
    }
}

#[test]
fn a_file_the_erp_took_before_recovery_is_not_written_again() {
    for point in [
        FailPoint::AfterWritten,
        FailPoint::AfterRename,
        FailPoint::AfterRecord,
    ] {
        crash_then_recover(point, true);
    }
}

#[test]
fn recovery_after_a_crash_before_the_rename_finishes_the_rename() {
    let shop = common::contract::shop(Fixture::orders(5));
    let w = World::new(&shop, "");
    let r = w.poll_with(Hooks {
        fail_at: Some(FailPoint::AfterWritten),
        pause_at: None,
    });
    assert!(r.error.is_some());
    let listing = w.listing();
    assert_eq!(listing.len(), 1);
    assert!(
        listing[0].starts_with(".ORD") && listing[0].ends_with(".txt.tmp"),
        "{listing:?}"
    );
    let r = w.poll();
    assert_eq!(
        r.recovered,
        [listing[0][1..listing[0].len() - 4].to_string()]
    );
    assert_eq!(r.exported.len(), 0, "nothing left to export: {r:?}");
    all_once(&w.appearances(&[]), 5);
}

/// Set, the test `paused_poll` is the process `kill_9_at` kills.
const PAUSE_CONFIG: &str = "PONTE_ORDERS_TEST_PAUSE_CONFIG";
const PAUSE_AT: &str = "PONTE_ORDERS_TEST_PAUSE_AT";

/// An orders poll as `ponte orders pull` runs one (the instance lock, the
/// store, every target that takes orders), paused at the point the
/// environment names, for `kill_9_at` to kill: this test binary run again
/// for this one test. The `ponte` binary has no such hook (see
/// `the_ponte_binary_reads_no_test_hook`); without the environment this
/// test does nothing.
#[test]
fn paused_poll() {
    let (Ok(config), Ok(point)) = (std::env::var(PAUSE_CONFIG), std::env::var(PAUSE_AT)) else {
        return;
    };
    let point = FailPoint::parse(&point).expect("a pause point");
    let config = Config::load(Path::new(&config)).unwrap();
    let registry = Registry::discover(Some(&common::root().join("schemas")));
    let _lock = ponte::intake::lock::InstanceLock::acquire(&config.paths.state_dir).unwrap();
    let mut poller = OrdersPoller::new(&config, &registry).unwrap();
    poller.hooks = Hooks {
        pause_at: Some(point),
        fail_at: None,
    };
    poller.poll(&mut Store::open(&config.paths.state_dir).unwrap());
    panic!("the poll ended without pausing at {point:?}");
}

/// An orders poll paused at `point` and killed with SIGKILL, then
/// `ponte orders pull` run to the end.
fn kill_9_at(point: FailPoint) {
    let shop = common::contract::shop(Fixture::orders(40));
    let w = World::new(&shop, "");
    let config = w.dir.path().join("ponte.toml");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "paused_poll", "--nocapture", "--test-threads=1"])
        .current_dir(common::root())
        .env(PAUSE_CONFIG, &config)
        .env(PAUSE_AT, point.as_str())
        .env("PONTE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "the poll ended before pausing at {point:?}");
        if line.contains(&format!("paused at {}", point.as_str())) {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(status.code().is_none(), "killed by a signal");

    let out = Command::new(env!("CARGO_BIN_EXE_ponte"))
        .arg("--config")
        .arg(&config)
        .args(["orders", "pull"])
        .current_dir(common::root())
        .env("PONTE_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.starts_with("b2c: "), "{stdout}");
    assert!(
        w.listing().iter().all(|n| !n.starts_with('.')),
        "{:?}",
        w.listing()
    );
    all_once(&w.appearances(&[]), 40);
}

/// Issue 13.10: the variables that used to make an export pause forever
/// (or fail) in the shipped binary do nothing to it: the pull exports
/// every order and exits 0, in bounded time.
#[test]
fn the_ponte_binary_reads_no_test_hook() {
    let shop = common::contract::shop(Fixture::orders(3));
    let w = World::new(&shop, "");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ponte"))
        .arg("--config")
        .arg(w.dir.path().join("ponte.toml"))
        .args(["orders", "pull"])
        .current_dir(common::root())
        .env("PONTE_LOG", "warn")
        .env("PONTE_TEST_PAUSE_AT", "after-intent")
        .env("PONTE_TEST_FAIL_AT", "after-written")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ponte orders pull still runs after 30 s: a test hook paused it");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    all_once(&w.appearances(&[]), 3);
}

#[test]
fn kill_9_of_orders_pull_mid_export_writes_each_order_once() {
    for point in [
        FailPoint::AfterIntent,
        FailPoint::AfterWritten,
        FailPoint::AfterRename,
    ] {
        kill_9_at(point);
    }
}

/// A share that went away (unmounted) must not get its outbound folder
/// made again on the local disk: the poll says so and exports nothing, and
/// the orders are written once the share is back.
#[test]
fn an_outbound_folder_that_is_gone_is_not_made_again_and_the_orders_wait() {
    let shop = common::contract::shop(Fixture::orders(3));
    let w = World::new(&shop, "");
    let share = w.dir.path().join("share");
    std::fs::remove_dir_all(&share).unwrap();
    let report = w.poll();
    let error = report.error.clone().unwrap_or_default();
    assert!(
        error.contains("share/outbound") && error.contains("mounted"),
        "{error}"
    );
    assert!(report.exported.is_empty());
    assert!(!share.exists(), "the poll made the share's folder again");
    std::fs::create_dir_all(share.join("outbound")).unwrap();
    let report = w.poll();
    assert_eq!(report.error, None);
    assert_eq!(report.exported.len(), 3);
}

#[test]
fn orders_pull_exit_status_and_usage() {
    let shop = common::contract::shop(Fixture::orders(3));
    let w = World::new(&shop, "");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ponte"))
            .arg("--config")
            .arg(w.dir.path().join("ponte.toml"))
            .args(args)
            .current_dir(common::root())
            .env("PONTE_LOG", "error")
            .output()
            .unwrap()
    };
    let out = run(&["orders", "pull", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["exported"].as_array().unwrap().len(), 3);
    assert_eq!(
        run(&["orders", "pull", "--target", "nope"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["orders"]).status.code(), Some(2));
    shop.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    assert_eq!(run(&["orders", "pull"]).status.code(), Some(1));
}

#[test]
fn the_service_polls_orders() {
    let shop = common::contract::shop(Fixture::orders(7));
    let w = World::new(&shop, "");
    std::fs::create_dir_all(&w.config.paths.inbound).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ponte"))
        .arg("--config")
        .arg(w.dir.path().join("ponte.toml"))
        .args(["watch", "--until-idle"])
        .current_dir(common::root())
        .env("PONTE_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    all_once(&w.appearances(&[]), 7);
}

#[test]
fn exports_recorded_before_shops_were_kept_count_for_every_target_of_the_shop() {
    let shop = common::contract::shop(Fixture::demo());
    let both = "default = \"B2C\"\nb2b = \"B2B\"";
    let first = World::with_targets(&shop, &store_target("b2c", "default", "", both));
    let r = first.poll();
    assert_eq!(r.exported.len(), 3, "{r:?}");
    // As a store of the version before shops were kept left them.
    let db = first.dir.path().join("state").join("ponte.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE order_exports SET shop = NULL; UPDATE order_export_intents SET shop = NULL;",
    )
    .unwrap();
    drop(conn);
    // A second target of the same shop, listed first, polls first.
    let targets = store_target("b2b", "b2b", "", both) + &store_target("b2c", "default", "", both);
    let upgraded = World::with_targets(&shop, &targets);
    std::fs::remove_dir_all(upgraded.dir.path().join("state")).ok();
    std::fs::rename(
        first.dir.path().join("state"),
        upgraded.dir.path().join("state"),
    )
    .unwrap();
    let reports = upgraded.poll_all(Hooks::default());
    assert_eq!(reports[0].target, "b2b");
    assert!(reports[0].exported.is_empty(), "{reports:?}");
    assert_eq!(reports[0].exported_by_other.len(), 3, "{reports:?}");
}
