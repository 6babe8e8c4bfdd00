//! What ponte tells an operator, run as an operator would: the real binary
//! against the stand-in, its words and logs read back.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use magento_standin::Fixture;
use ponte_layout::schema::Mode;

struct World {
    dir: tempfile::TempDir,
    _standin: Option<common::contract::Shop>,
}

const GROUPS: &str = r#"B2C = 1
"B2B-HORECA" = 2
"B2B-RIV" = 3"#;

impl World {
    fn new(groups: &str) -> World {
        let standin = common::contract::shop(Fixture::demo());
        World::with_base_url(&standin.base_url.clone(), groups, Some(standin))
    }

    fn with_base_url(
        base_url: &str,
        groups: &str,
        standin: Option<common::contract::Shop>,
    ) -> World {
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
scan_interval = "200ms"
settle_checks = 2
settle_spacing = "1s"

[[target]]
name = "b2c"
base_url = "{base_url}"
flows = ["products", "stock", "customers", "fulfilment"]
auth = {{ token = {{ file = "standin.token" }} }}
retries = 3
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
"#
        );
        std::fs::write(dir.path().join("ponte.toml"), config).unwrap();
        World {
            dir,
            _standin: standin,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A sample copied into a folder of the user's, outside the share.
    fn drop_sample(&self, name: &str) -> PathBuf {
        let drop = self.path("drop");
        std::fs::create_dir_all(&drop).unwrap();
        let to = drop.join(name);
        std::fs::copy(common::root().join("samples").join(name), &to).unwrap();
        to
    }

    fn ponte(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ponte"))
            .arg("--config")
            .arg(self.path("ponte.toml"))
            .args(args)
            .current_dir(common::root())
            .env_remove("PONTE_LOG")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    }

    fn ingest(&self, files: &[&Path], extra: &[&str]) -> Output {
        let mut args: Vec<&str> = extra.to_vec();
        args.insert(0, "ingest");
        let files: Vec<String> = files.iter().map(|f| common::display(f)).collect();
        args.extend(files.iter().map(String::as_str));
        self.ponte(&args)
    }

    fn archived(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out);
                } else {
                    out.push(e.path());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path("share/archive"), &mut out);
        out
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
fn a_file_given_from_elsewhere_is_copied_and_left_where_it_was() {
    let w = World::new(GROUPS);
    let mine = w.drop_sample("ART20261128020000.txt");
    let out = w.ingest(&[&mine], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        mine.exists(),
        "the user's own file was taken: {}",
        text(&out)
    );
    let archived = w.archived();
    assert_eq!(archived.len(), 1, "{archived:?}");
    assert_eq!(
        std::fs::read(&archived[0]).unwrap(),
        std::fs::read(&mine).unwrap()
    );

    // `--move` hands the file itself over.
    let stock = w.drop_sample("GIA20261128083000.txt");
    let out = w.ingest(&[&stock], &["--move"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!stock.exists(), "--move left the file: {}", text(&out));
    assert_eq!(w.archived().len(), 2);
}

#[test]
fn a_price_list_without_a_customer_group_is_a_configuration_gap() {
    // B2B-RIV, which the sample's customers use, is left out.
    let w = World::new("B2C = 1\n\"B2B-HORECA\" = 2");
    let file = w.drop_sample("CLI20261128030000.txt");
    let out = w.ingest(&[&file], &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("B2B-RIV"), "{said}");
    // No HTTP status Magento never gave.
    assert!(!said.contains(": 0 "), "{said}");
    assert!(
        said.contains("configuration") && said.contains("[target.customer_groups]"),
        "the config key to set is not named: {said}"
    );
}

#[test]
fn a_stale_file_is_said_in_words_by_a_dry_run() {
    let w = World::new(GROUPS);
    let newer = common::simple_products(
        &w.path("ART20261128050000.txt"),
        5,
        Mode::Changes,
        [("S1".to_string(), "One".to_string(), 1000)],
    );
    let out = w.ingest(&[&newer], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // An older file put in the archive by hand.
    let day = w.path("share/archive/2026/11/28");
    std::fs::create_dir_all(&day).unwrap();
    common::simple_products(
        &day.join("ART20261128020000.txt"),
        2,
        Mode::Changes,
        [("S1".to_string(), "Old".to_string(), 900)],
    );
    let out = w.ponte(&["reprocess", "--dry-run", "--glob", "ART20261128020000*"]);
    let said = text(&out);
    assert!(said.contains("stale"), "{said}");
    assert!(!said.contains("Stale {"), "Rust's Debug format: {said}");
    assert!(
        !said.contains("exported_at:"),
        "Rust's Debug format: {said}"
    );
}

#[test]
fn check_into_a_closed_pipe_ends_quietly() {
    let sample = common::root().join("samples/ART20261128020000.txt");
    let files: Vec<PathBuf> = (0..400).map(|_| sample.clone()).collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ponte"))
        .arg("check")
        .args(&files)
        .current_dir(common::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes at once, as `head` does once it has its lines.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    use std::os::unix::process::ExitStatusExt;
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{:?}: {err}",
        out.status
    );
}

/// The JSON log lines on stderr.
fn json_lines(o: &Output) -> Vec<(String, serde_json::Value)> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter_map(|l| Some((l.to_string(), serde_json::from_str(l).ok()?)))
        .collect()
}

#[test]
fn every_line_about_a_files_entities_names_the_file_and_the_target() {
    let w = World::new("B2C = 1\n\"B2B-HORECA\" = 2");
    let file = w.drop_sample("CLI20261128030000.txt");
    let out = w.ingest(&[&file], &["--log-format", "json", "--log-level", "debug"]);
    let lines = json_lines(&out);
    let about_entities: Vec<&String> = lines
        .iter()
        .filter(|(_, j)| j.get("key").is_some())
        .map(|(l, _)| l)
        .collect();
    assert!(!about_entities.is_empty(), "{}", text(&out));
    for line in about_entities {
        assert!(line.contains("CLI20261128030000.txt"), "no file: {line}");
        assert!(line.contains("\"b2c\""), "no target: {line}");
    }
}

#[test]
fn the_services_rejected_line_names_the_first_error() {
    let w = World::new(GROUPS);
    let inbound = w.path("share/inbound");
    std::fs::create_dir_all(&inbound).unwrap();
    let name = "ART20261128020002.txt";
    std::fs::copy(
        common::root().join("samples/bad").join(name),
        inbound.join(name),
    )
    .unwrap();
    std::fs::write(inbound.join(format!("{name}.ok")), b"").unwrap();
    let out = w.ponte(&["--log-format", "json", "watch", "--until-idle"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rejected: Vec<String> = json_lines(&out)
        .into_iter()
        .filter(|(_, j)| {
            j["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("rejected"))
        })
        .map(|(l, _)| l)
        .collect();
    assert_eq!(rejected.len(), 1, "{}", text(&out));
    assert!(
        rejected[0].contains(&format!("{name}:2: record AR field price")),
        "{}",
        rejected[0]
    );
}

/// An HTTPS server on loopback with a self-signed certificate, counting
/// the connections it is offered (each handshake fails on ponte's side).
fn self_signed_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key =
        tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der())
            .unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let offered = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&offered);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = acceptor.accept(tcp).await;
                });
            }
        });
    });
    (url, offered)
}

#[test]
fn a_self_signed_certificate_is_named_and_not_retried() {
    let (url, offered) = self_signed_server();
    let w = World::with_base_url(&url, GROUPS, None);
    let file = common::simple_products(
        &w.path("ART20261128050000.txt"),
        5,
        Mode::Changes,
        [("S1".to_string(), "One".to_string(), 1000)],
    );
    let out = w.ingest(&[&file], &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("certificate"), "{said}");
    assert!(said.contains("verify_tls"), "{said}");
    assert!(
        !said.contains("gave up after"),
        "retried as if transient: {said}"
    );
    // One product, one request: retries = 3 would have made it four.
    let n = offered.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(n, 1, "{n} connections: {said}");
}

#[test]
fn a_share_that_disappears_is_named_with_its_path() {
    let w = World::new(GROUPS);
    std::fs::create_dir_all(w.path("share/inbound")).unwrap();
    let mut svc = common::process::Service::start(Some(&w.path("ponte.toml")), &["watch"]);
    svc.wait_until("watching", std::time::Duration::from_secs(30), || {
        svc.stderr().contains("watching")
    });
    std::fs::remove_dir_all(w.path("share")).unwrap();
    svc.wait_until(
        "the share's failure",
        std::time::Duration::from_secs(30),
        || svc.stderr().contains("the share failed"),
    );
    svc.sigterm();
    svc.wait(std::time::Duration::from_secs(30));
    let err = svc.stderr();
    let line = err
        .lines()
        .find(|l| l.contains("the share failed"))
        .unwrap_or_default();
    assert!(line.contains(&common::display(&w.path("share"))), "{line}");
    assert!(line.contains("mounted"), "{line}");
}

#[test]
fn a_large_file_says_its_progress() {
    let w = World::new(GROUPS);
    let rows = (0..1200).map(|i| (format!("P{i:05}"), format!("Product {i}"), 1000 + i));
    let file = common::simple_products(&w.path("ART20261128050000.txt"), 5, Mode::Complete, rows);
    let out = w.ingest(&[&file], &["--log-format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let progress: Vec<(String, serde_json::Value)> = json_lines(&out)
        .into_iter()
        .filter(|(_, j)| {
            j["level"] == "INFO"
                && j["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("pushed to b2c: "))
        })
        .collect();
    assert!(progress.len() >= 2, "{}", text(&out));
    for (line, _) in &progress {
        assert!(line.contains("ART20261128050000.txt"), "{line}");
    }
    assert_eq!(progress.last().unwrap().1["done"], 1200, "{}", text(&out));
}
