//! What an operator sees, over a state built by real runs against the
//! stand-in: files applied, one applied with an entity Magento refused,
//! one rejected. The commands (`status`, `history`, `failures`, `show`),
//! then the service's `/metrics`, `/healthz`, status page (opened in a
//! headless Chromium when one is installed) and alerts to a local
//! receiver.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::process::Service;
use magento_standin::Fixture;
use serde_json::Value as Json;

const REFUSED: &str = "C000125";
const MAGENTO_SAYS: &str = "No such entity with id = 99";
const BAD_FILE: &str = "ART20261128050000.txt";

struct World {
    dir: tempfile::TempDir,
    _standin: common::contract::Shop,
}

/// Price list B2B-RIV maps to a customer group the shop does not have:
/// Magento refuses that customer.
fn world(extra: &str) -> World {
    let standin = common::contract::shop(Fixture::demo());
    let dir = tempfile::tempdir().unwrap();
    common::write_private(&dir.path().join("standin.token"), "standin-token");
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
max_errors = 0

{extra}

[[target]]
name = "b2c"
base_url = "{}"
flows = ["products", "stock", "customers", "fulfilment", "orders"]
auth = {{ token = {{ file = "standin.token" }} }}
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
"B2B-RIV" = 99
[target.channels]
default = "WEB"
b2b = "B2B"
[target.carriers]
BRT = {{ code = "custom", title = "BRT Bartolini" }}
"#,
        standin.base_url
    );
    std::fs::write(dir.path().join("ponte.toml"), config).unwrap();
    World {
        dir,
        _standin: standin,
    }
}

impl World {
    fn config(&self) -> PathBuf {
        self.dir.path().join("ponte.toml")
    }

    fn ponte(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ponte"))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .current_dir(common::root())
            .env_remove("PONTE_SCHEMAS")
            .output()
            .unwrap()
    }

    /// Copies of the samples, and a file of the products flow that is not
    /// one, in `into`.
    fn files(&self, into: &Path) -> Vec<PathBuf> {
        std::fs::create_dir_all(into).unwrap();
        let samples = common::root().join("samples");
        let mut out: Vec<PathBuf> = ["ART20261128020000.txt", "CLI20261128030000.txt"]
            .iter()
            .map(|n| {
                std::fs::copy(samples.join(n), into.join(n)).unwrap();
                into.join(n)
            })
            .collect();
        out.push(bad_products(&into.join(BAD_FILE)));
        out
    }
}

/// The products sample, later, with a record of no kind the schema
/// knows: complete, and rejected.
fn bad_products(path: &Path) -> PathBuf {
    let sample = std::fs::read(common::root().join("samples/ART20261128020000.txt")).unwrap();
    let header_time = &path.file_name().unwrap().to_str().unwrap().as_bytes()[3..17];
    let mut bytes = sample.clone();
    let at = sample
        .windows(14)
        .position(|w| w == b"20261128020000")
        .unwrap();
    bytes[at..at + 14].copy_from_slice(header_time);
    let second_line = sample.iter().position(|b| *b == b'\n').unwrap() + 1;
    bytes[second_line..second_line + 2].copy_from_slice(b"ZZ");
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

fn json_lines(o: &Output) -> Vec<Json> {
    common::stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn the_commands_answer_the_morning_questions() {
    let w = world("");
    let drop = w.dir.path().join("drop");
    let files = w.files(&drop);
    let out = w.ponte(
        &[
            &["ingest"][..],
            &files
                .iter()
                .map(|f| f.to_str().unwrap())
                .collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert_eq!(common::code(&out), 1, "{}", common::stderr(&out));

    // history: every file, newest first, with its outcome and counts.
    let out = w.ponte(&["history", "--json"]);
    assert_eq!(common::code(&out), 0, "{}", common::stderr(&out));
    let rows = json_lines(&out);
    let by_name = |n: &str| {
        rows.iter()
            .find(|r| r["name"] == n)
            .unwrap_or_else(|| panic!("{n} not in {rows:#?}"))
            .clone()
    };
    assert_eq!(by_name("ART20261128020000.txt")["outcome"], "applied");
    let cli = by_name("CLI20261128030000.txt");
    assert_eq!(cli["outcome"], "applied-with-failures");
    assert_eq!(cli["targets"][0]["target"], "b2c");
    assert_eq!(cli["targets"][0]["failed"], 1);
    assert!(cli["targets"][0]["sent"].as_u64().unwrap() >= 2, "{cli}");
    assert!(cli["duration_ms"].is_u64(), "{cli}");
    let bad = by_name(BAD_FILE);
    assert_eq!(bad["outcome"], "rejected");
    assert!(
        bad["location"].as_str().unwrap().contains("rejected"),
        "{bad}"
    );
    assert!(
        bad["finished_at"].as_str().unwrap().contains('T'),
        "ISO time: {bad}"
    );
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|p| p[0] > p[1]), "newest first: {ids:?}");
    let products = json_lines(&w.ponte(&["history", "--json", "--flow", "products"]));
    assert!(products.iter().all(|r| r["flow"] == "ARTICOLI") && products.len() == 2);
    assert_eq!(
        json_lines(&w.ponte(&["history", "--json", "--limit", "1"])).len(),
        1
    );
    assert!(json_lines(&w.ponte(&["history", "--json", "--since", "2999-01-01"])).is_empty());
    let text = common::stdout(&w.ponte(&["history"]));
    let header = text.lines().next().unwrap();
    let at = header.find("OUTCOME").unwrap();
    for line in text.lines().skip(1) {
        assert!(
            line.get(at..).is_some_and(|s| !s.starts_with(' ')),
            "columns aligned:\n{text}"
        );
    }

    // failures: the refused customer, with Magento's words.
    let out = w.ponte(&["failures", "--json"]);
    assert_eq!(common::code(&out), 0);
    let failures = json_lines(&out);
    assert_eq!(failures.len(), 1, "{failures:#?}");
    let f = &failures[0];
    assert_eq!(
        (f["key"].as_str(), f["flow"].as_str()),
        (Some(REFUSED), Some("CLIENTI"))
    );
    assert_eq!(f["status"], 404);
    assert!(f["message"].as_str().unwrap().contains(MAGENTO_SAYS), "{f}");
    assert_eq!(f["attempts"], 1);
    assert!(json_lines(&w.ponte(&["failures", "--json", "--flow", "products"])).is_empty());
    assert!(json_lines(&w.ponte(&["failures", "--json", "--target", "b2b"])).is_empty());
    assert!(common::stdout(&w.ponte(&["failures"])).contains(MAGENTO_SAYS));

    // show: what the ERP said of it, and its failure.
    let out = w.ponte(&["show", REFUSED, "--json"]);
    assert_eq!(common::code(&out), 0, "{}", common::stderr(&out));
    let d: Json = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(d["desired"][0]["flow"], "CLIENTI");
    assert!(
        d["desired"][0]["fields"]
            .as_object()
            .is_some_and(|f| !f.is_empty()),
        "{d}"
    );
    assert!(d["failures"][0]["message"]
        .as_str()
        .unwrap()
        .contains(MAGENTO_SAYS));
    let text = common::stdout(&w.ponte(&["show", REFUSED]));
    assert!(
        text.contains("CLIENTI") && text.contains(MAGENTO_SAYS),
        "{text}"
    );

    // status: not running, the last file per flow, the rejected file.
    std::fs::create_dir_all(w.dir.path().join("share/inbound")).unwrap();
    std::fs::write(w.dir.path().join("share/inbound/notes.doc"), "x").unwrap();
    let out = w.ponte(&["status", "--json"]);
    assert_eq!(common::code(&out), 0, "{}", common::stderr(&out));
    let s: Json = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(s["service"]["running"], false);
    assert_eq!(s["rejected_recently"][0]["name"], BAD_FILE);
    assert_eq!(s["waiting"][0]["why"], "not claimed by any schema");
    let customers = s["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == "customers")
        .unwrap();
    assert_eq!(customers["last_file"], "CLI20261128030000.txt");
    assert_eq!(customers["failing"], 1);
    let products = s["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == "products")
        .unwrap();
    assert_eq!(products["last_file"], "ART20261128020000.txt");
    let text = common::stdout(&w.ponte(&["status"]));
    assert!(
        text.contains("service: not running") && text.contains(BAD_FILE),
        "{text}"
    );
}

#[test]
fn the_commands_on_a_fresh_state_say_nothing_happened() {
    let w = world("");
    for args in [&["status"][..], &["history"], &["failures"], &["show", "X"]] {
        let out = w.ponte(args);
        assert_eq!(common::code(&out), 0, "{args:?}: {}", common::stderr(&out));
    }
}

// ---- the service -----------------------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

/// Each event a receiver got: its Authorization header and its body.
type Received = Arc<Mutex<Vec<(Option<String>, Json)>>>;

/// A webhook on loopback that keeps what it is sent.
fn receiver() -> (SocketAddr, Received) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let kept = Arc::clone(&got);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Json>| {
                        let kept = Arc::clone(&kept);
                        async move {
                            let auth = headers
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(String::from);
                            kept.lock().unwrap().push((auth, body));
                            "ok"
                        }
                    },
                ),
            );
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    (addr, got)
}

#[test]
fn the_service_serves_metrics_health_and_the_page_and_alerts_once_per_cause() {
    let port = free_port();
    let (hook, got) = receiver();
    let w = world(&format!(
        r#"[http]
listen = "127.0.0.1:{port}"

[alerts]
webhook = {{ url = "http://{hook}/hook", token = {{ env = "PONTE_TEST_HOOK_TOKEN" }} }}
"#
    ));
    std::env::set_var("PONTE_TEST_HOOK_TOKEN", "hook-secret");
    let inbound = w.dir.path().join("share/inbound");
    for d in ["inbound", "in-progress", "archive", "rejected", "outbound"] {
        std::fs::create_dir_all(w.dir.path().join("share").join(d)).unwrap();
    }
    let staging = w.dir.path().join("staging");
    let files = w.files(&staging);
    let mut service = Service::start(Some(&w.config()), &["watch"]);
    let base = format!("http://127.0.0.1:{port}");
    service.wait_until("the HTTP server", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    for f in &files {
        std::fs::rename(f, inbound.join(f.file_name().unwrap())).unwrap();
    }
    let archive = w.dir.path().join("share/archive");
    let rejected = w.dir.path().join("share/rejected");
    service.wait_until("the files handled", Duration::from_secs(60), || {
        count_files(&archive) == 2 && rejected.join(BAD_FILE).exists()
    });
    // A second rejected file of the same flow within the hour: no second event.
    bad_products(&inbound.join("ART20261128060000.txt"));
    service.wait_until("the second file rejected", Duration::from_secs(30), || {
        rejected.join("ART20261128060000.txt").exists()
    });

    service.wait_until("an orders poll", Duration::from_secs(30), || {
        get(&format!("{base}/metrics"), None)
            .1
            .contains("ponte_orders_last_poll_timestamp_seconds{")
    });
    let (code, metrics) = get(&format!("{base}/metrics"), None);
    assert_eq!(code, 200);
    for wanted in [
        r#"ponte_files_total{flow="ARTICOLI",outcome="applied"} 1"#,
        r#"ponte_files_total{flow="ARTICOLI",outcome="rejected"} 2"#,
        r#"ponte_files_total{flow="CLIENTI",outcome="applied-with-failures"} 1"#,
        r#"ponte_entities_total{target="b2c",flow="CLIENTI",outcome="failed"} 1"#,
        r#"ponte_last_applied_timestamp_seconds{flow="CLIENTI",target="b2c"}"#,
        "ponte_backlog_files ",
        "ponte_oldest_waiting_file_age_seconds ",
        r#"ponte_retries_total{target="b2c"} 0"#,
        r#"ponte_orders_last_poll_timestamp_seconds{target="b2c"} 1"#,
        r#"ponte_orders_exported_total{target="b2c"} "#,
        "ponte_request_duration_seconds_bucket{",
    ] {
        assert!(metrics.contains(wanted), "{wanted} missing in\n{metrics}");
    }
    let requests: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("ponte_requests_total{"))
        .collect();
    assert!(!requests.is_empty(), "{metrics}");
    for l in &requests {
        assert!(
            l.contains("target=\"b2c\"")
                && l.contains("endpoint=\"/V1/")
                && l.contains("status=\""),
            "{l}"
        );
        assert!(!l.contains("C000"), "an entity in a label: {l}");
    }
    // Each sample line: a name, labels, a number.
    for l in metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let value = l.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{l}");
    }

    let (code, body) = get(&format!("{base}/healthz"), None);
    assert_eq!((code, body.as_str()), (200, "ok\n"));

    // `status` beside the running service: its pid, the last poll.
    let out = w.ponte(&["status", "--json"]);
    let s: Json = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(s["service"]["running"], true, "{s}");
    assert_eq!(s["service"]["pid"], service.pid());
    assert!(s["orders"][0]["last_poll"].as_str().is_some(), "{s}");
    assert!(s["service"]["last_scan"].as_str().is_some(), "{s}");

    let (code, page) = get(&format!("{base}/"), None);
    assert_eq!(code, 200);
    for wanted in [
        "ART20261128020000.txt",
        "CLI20261128030000.txt",
        BAD_FILE,
        REFUSED,
        MAGENTO_SAYS,
    ] {
        assert!(page.contains(wanted), "{wanted} not on the page");
    }
    assert!(
        !page.contains("standin-token")
            && !page.contains("hook-secret")
            && !page.contains("http://")
    );
    let (code, entity) = get(&format!("{base}/entity/CLIENTI/{REFUSED}"), None);
    assert_eq!(code, 200);
    assert!(entity.contains(MAGENTO_SAYS) && entity.contains("CLIENTI"));
    let (code, _) = get(&format!("{base}/file/1"), None);
    assert_eq!(code, 200);
    browse(&base);

    std::thread::sleep(Duration::from_secs(2));
    let events = got.lock().unwrap().clone();
    let kinds: Vec<&str> = events
        .iter()
        .map(|(_, e)| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "file_rejected").count(),
        1,
        "one event per cause per hour: {events:#?}"
    );
    assert!(kinds.contains(&"file_applied_with_failures"), "{events:#?}");
    assert!(events
        .iter()
        .all(|(auth, _)| auth.as_deref() == Some("Bearer hook-secret")));
    let rejected_event = events
        .iter()
        .find(|(_, e)| e["kind"] == "file_rejected")
        .unwrap();
    assert_eq!(rejected_event.1["file"], BAD_FILE);
    service.sigterm();
    service.wait(Duration::from_secs(30));
}

fn count_files(dir: &Path) -> usize {
    walk(dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .count()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The page as a browser renders it, and screenshots at a phone's width
/// and a desktop's, kept in target/ as CI artefacts. Skipped, saying so,
/// where no Chromium is installed (`.ci/install` installs it).
fn browse(base: &str) {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("no chromium: the status page is not opened in a browser");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(format!("{base}/"))
            .output()
            .unwrap()
    };
    let dom = run(&["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    for wanted in [
        "ART20261128020000.txt",
        "CLI20261128030000.txt",
        BAD_FILE,
        REFUSED,
        MAGENTO_SAYS,
    ] {
        assert!(
            dom.contains(wanted),
            "{wanted} not in the rendered page:\n{dom}"
        );
    }
    let target = common::root().join("target");
    for (name, size) in [
        ("status-page.png", "412,900"),
        ("status-page-desktop.png", "1280,900"),
    ] {
        let shot = target.join(name);
        let _ = std::fs::remove_file(&shot);
        run(&[
            &format!("--screenshot={}", shot.display()),
            &format!("--window-size={size}"),
        ]);
        assert!(
            shot.metadata().is_ok_and(|m| m.len() > 1000),
            "{name} not written"
        );
    }
}

/// A server of this process's own, over an empty state, with a health
/// check whose scan beats when the test says.
fn serve(token: Option<&str>) -> (String, &'static ponte::operate::health::Health, World) {
    let w = world("");
    let config = ponte::config::Config::load(&w.config()).unwrap();
    let registry = ponte_layout::schema::Registry::built_in();
    let health: &'static ponte::operate::health::Health =
        Box::leak(Box::new(ponte::operate::health::Health::new()));
    let token = token.map(|t| {
        std::env::set_var("PONTE_TEST_HTTP_TOKEN", t);
        ponte::config::Secret::Env("PONTE_TEST_HTTP_TOKEN".into())
            .resolve()
            .unwrap()
    });
    let addr = ponte::operate::http::start(
        &config,
        &registry,
        "127.0.0.1:0".parse().unwrap(),
        token,
        health,
    )
    .unwrap();
    (format!("http://{addr}"), health, w)
}

#[test]
fn healthz_is_503_naming_the_loop_that_is_late() {
    let (base, health, _w) = serve(None);
    health.expect(Duration::from_millis(300), Some(Duration::from_secs(3600)));
    health.beat_scan();
    health.beat_orders();
    assert_eq!(get(&format!("{base}/healthz"), None), (200, "ok\n".into()));
    std::thread::sleep(Duration::from_millis(500));
    let (code, body) = get(&format!("{base}/healthz"), None);
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("scan") && !body.contains("orders"), "{body}");
    health.beat_scan();
    assert_eq!(get(&format!("{base}/healthz"), None).0, 200);
}

#[test]
fn with_a_token_every_request_needs_it() {
    let (base, health, _w) = serve(Some("s3cret-token"));
    health.beat_scan();
    for path in ["/", "/metrics", "/healthz", "/file/1", "/entity/ARTICOLI/X"] {
        let url = format!("{base}{path}");
        assert_eq!(get(&url, None).0, 401, "{path} without a token");
        assert_eq!(get(&url, Some("wrong")).0, 401, "{path} with a wrong one");
        let (code, body) = get(&url, Some("s3cret-token"));
        assert!(code == 200 || code == 404, "{path}: {code}");
        assert!(!body.contains("s3cret-token"), "{path} shows the token");
    }
}

/// An entity of a large file is kept as a line of the file's copy, not as
/// a row: `show` decodes that line with the flow's layout, so that what
/// the ERP said is there for every entity.
#[test]
fn show_gives_the_erps_fields_for_an_entity_of_a_large_file() {
    let w = world("");
    let drop = w.dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    let file = common::simple_products(
        &drop.join("ART20261128020000.txt"),
        2,
        ponte_layout::schema::Mode::Changes,
        (0..1500).map(|i| {
            (
                format!("BIG-{i:05}"),
                format!("Prodotto grande {i}"),
                1000 + i,
            )
        }),
    );
    let out = w.ponte(&["ingest", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stdout(&out));
    let out = w.ponte(&["show", "BIG-00042", "--flow", "products", "--json"]);
    let d: Json = serde_json::from_str(&common::stdout(&out)).unwrap();
    let said = &d["desired"][0];
    assert_eq!(said["file"], "ART20261128020000.txt", "{d}");
    assert!(said["line"].as_u64().is_some(), "{d}");
    assert_eq!(said["fields"]["name"], "Prodotto grande 42", "{d}");
}
