//! Signing in without tripping Magento's lockout: an admin token is reused
//! from one command to the next; refused credentials cost one request and
//! one message per target, and nothing more is sent to that target until
//! the wait has passed, unless the credentials change; two-factor
//! authentication is named with what to do.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use magento_standin::Fixture;
use ponte_layout::schema::Mode;

const TOKEN_PATH: &str = "/rest/default/V1/integration/admin/token";

fn config(base_url: &str, auth: &str) -> String {
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
name = "b2b"
base_url = "{base_url}"
auth = {auth}
flows = ["products"]
retries = 0
[target.tax_classes]
"22" = 2
"#
    )
}

const ADMIN: &str = r#"{ admin = { username = "admin", password = { file = "password" } } }"#;
const TOKEN: &str = r#"{ token = { file = "token" } }"#;

/// A changes-only ARTICOLI file of `n` simple products, at `hour`.
fn products(dir: &Path, hour: u8, n: usize) -> PathBuf {
    common::simple_products(
        &dir.join(format!("ART202611280{hour}0000.txt")),
        hour,
        Mode::Changes,
        (0..n).map(|i| {
            (
                format!("SKU-{i:03}"),
                format!("Prodotto {i} ({hour})"),
                1000 + i as i64,
            )
        }),
    )
}

fn ingest(dir: &Path, file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ponte"))
        .arg("--config")
        .arg(dir.join("ponte.toml"))
        .arg("ingest")
        .arg(file)
        .env("PONTE_LOG", "error")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}\n{}", common::stdout(o), common::stderr(o))
}

fn count(shop: &magento_standin::StandIn, path: &str) -> usize {
    shop.requests().iter().filter(|r| r.path == path).count()
}

#[test]
fn a_wrong_password_costs_one_sign_in_and_holds_the_target_until_it_changes() {
    let shop = common::contract::shop(Fixture::default());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::write_private(&root.join("password"), "wrong");
    std::fs::write(root.join("ponte.toml"), config(&shop.base_url, ADMIN)).unwrap();

    let out = ingest(root, &products(root, 2, 20));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(count(&shop, TOKEN_PATH), 1, "{}", text(&out));
    let said = text(&out);
    assert_eq!(
        said.matches("Magento refuses the credentials").count(),
        2,
        "one summary line and one log line:\n{said}"
    );
    assert!(said.contains("20 not sent"), "{said}");
    assert_eq!(shop.snapshot()["products"].as_array().unwrap().len(), 0);

    // The next command does not try again while the wait holds.
    let out = ingest(root, &products(root, 3, 20));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(count(&shop, TOKEN_PATH), 1, "{}", text(&out));
    assert!(
        text(&out).contains("ponte signs in again after"),
        "{}",
        text(&out)
    );

    // The password is mended: tried at once, and Magento never locked the user.
    common::write_private(&root.join("password"), "admin123");
    let out = ingest(root, &products(root, 4, 20));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(count(&shop, TOKEN_PATH), 2, "{}", text(&out));
    assert_eq!(shop.snapshot()["products"].as_array().unwrap().len(), 20);
}

#[test]
fn an_admin_token_is_reused_from_one_command_to_the_next() {
    let shop = common::contract::shop(Fixture::default());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::write_private(&root.join("password"), "admin123");
    std::fs::write(root.join("ponte.toml"), config(&shop.base_url, ADMIN)).unwrap();
    for hour in [2, 3] {
        let out = ingest(root, &products(root, hour, 5));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    assert_eq!(count(&shop, TOKEN_PATH), 1);
    let kept = root.join("state/sign-in/b2b.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Once Magento forgets it, a new one is fetched, once.
    shop.with_state(|s| s.expire_tokens());
    let out = ingest(root, &products(root, 4, 5));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(count(&shop, TOKEN_PATH), 2);
}

#[test]
fn a_refused_integration_token_is_said_once_not_once_per_entity() {
    let shop = common::contract::shop(Fixture::default());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::write_private(&root.join("token"), "not-the-token");
    std::fs::write(root.join("ponte.toml"), config(&shop.base_url, TOKEN)).unwrap();
    let out = ingest(root, &products(root, 2, 20));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert_eq!(said.matches("isn't authorized").count(), 2, "{said}");
    // Only what was already in flight when the first refusal came back.
    let sent = shop.requests().iter().filter(|r| r.status == 401).count();
    assert!(sent <= 8, "{sent} requests refused");
}

#[test]
fn two_factor_authentication_is_named_with_what_to_do() {
    let shop = common::contract::shop(Fixture {
        two_factor_auth: true,
        ..Fixture::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::write_private(&root.join("password"), "admin123");
    std::fs::write(root.join("ponte.toml"), config(&shop.base_url, ADMIN)).unwrap();
    let out = ingest(root, &products(root, 2, 3));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("integration token"), "{}", text(&out));
    assert_eq!(count(&shop, TOKEN_PATH), 1);
}

#[test]
fn a_resource_the_integration_may_not_use_refuses_that_call_only() {
    let shop = common::contract::shop(Fixture::default());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::write_private(&root.join("token"), &Fixture::default().integration_token);
    std::fs::write(root.join("ponte.toml"), config(&shop.base_url, TOKEN)).unwrap();
    // The token works for products...
    let out = ingest(root, &products(root, 2, 3));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // ...then the integration loses one resource: Magento's 401 for it is
    // the one it gives a bad token, but the token is good.
    shop.with_state(|s| s.denied_resources = vec!["Magento_Catalog::products".into()]);
    let out = ingest(root, &products(root, 3, 3));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        !text(&out).contains("refuses the credentials"),
        "{}",
        text(&out)
    );
    shop.with_state(|s| s.denied_resources.clear());
    // Nothing holds the target: the next file goes at once.
    let out = ingest(root, &products(root, 4, 3));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn failure_retries_wait_out_a_refusal_without_counting_attempts() {
    use ponte::config::Config;
    use ponte::flows::inbound::Pusher;
    use ponte::flows::retry::retry_due;
    use ponte::state::Store;
    use ponte_layout::schema::Registry;

    let shop = common::contract::shop(Fixture::default());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::write_private(&root.join("password"), "wrong");
    std::fs::write(root.join("ponte.toml"), config(&shop.base_url, ADMIN)).unwrap();
    let out = ingest(root, &products(root, 2, 5));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(count(&shop, TOKEN_PATH), 1);

    let config = Config::load(&root.join("ponte.toml")).unwrap();
    let mut store = Store::open(&config.paths.state_dir).unwrap();
    let before = store.failures(Some("b2b")).unwrap();
    assert_eq!(before.len(), 5);
    let pusher = Pusher::new(&config).unwrap();
    let summary = retry_due(&config, &Registry::built_in(), &mut store, &pusher).unwrap();
    assert_eq!((summary.applied, summary.failed), (0, 0), "{summary:?}");
    assert_eq!(count(&shop, TOKEN_PATH), 1, "no sign-in while held");
    let after = store.failures(Some("b2b")).unwrap();
    let attempts = |rows: &[ponte::state::FailureRow]| {
        rows.iter()
            .map(|f| (f.key.clone(), f.attempts))
            .collect::<Vec<_>>()
    };
    assert_eq!(attempts(&after), attempts(&before));
}
