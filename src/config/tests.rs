//! The configuration's tests: the sample, unknown keys, bad values, paths
//! and secrets.

use super::*;

const SAMPLE: &str = include_str!("../../samples/ponte.toml");

const MINIMAL: &str = r#"
[paths]
state_dir = "var/state"
inbound = "var/share/inbound"
in_progress = "var/share/in-progress"
archive = "var/share/archive"
rejected = "var/share/rejected"
outbound = "var/share/outbound"

[[target]]
name = "b2c"
base_url = "http://127.0.0.1:8089"
auth = { token = { env = "PONTE_B2C_TOKEN" } }
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_str_at(text, Path::new("/etc/ponte"), "ponte.toml")
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// `MINIMAL` with `line` added at the end of `[section]` (`target` for
/// the target table).
fn with(section: &str, line: &str) -> String {
    match section {
        "target" => format!("{MINIMAL}{line}\n"),
        "paths" => MINIMAL.replacen("[paths]\n", &format!("[paths]\n{line}\n"), 1),
        "" => format!("{line}\n{MINIMAL}"),
        other => format!("[{other}]\n{line}\n{MINIMAL}"),
    }
}

#[test]
fn sample_loads() {
    let c = Config::from_str_at(SAMPLE, Path::new("/srv/ponte"), "samples/ponte.toml")
        .expect("the sample is valid");
    assert_eq!(c.paths.state_dir, PathBuf::from("/srv/ponte/var/state"));
    assert_eq!(
        c.paths.in_progress,
        PathBuf::from("/srv/ponte/var/share/in-progress")
    );
    assert_eq!(c.paths.schemas, None);
    assert_eq!(c.intake, Intake::default());
    assert_eq!(c.orders, Orders::default());
    assert_eq!(c.targets.len(), 2);

    let b2c = c.target("b2c").expect("b2c");
    assert_eq!(b2c.api, Api::Rest);
    assert_eq!(b2c.base_url, "http://127.0.0.1:8089");
    assert_eq!(b2c.auth, Auth::Token(Secret::Env("PONTE_B2C_TOKEN".into())));
    assert_eq!(b2c.concurrency, 8);
    assert_eq!(b2c.stock, StockMode::MultiSource);
    assert_eq!(b2c.flows, Flow::ALL.to_vec());
    assert!(b2c.receives_attribute("ean") && !b2c.receives_attribute("visibility"));
    assert_eq!(b2c.tax_classes.get("04"), Some(&8));
    assert_eq!(
        b2c.sources.get("MAG02").map(String::as_str),
        Some("eu_north")
    );
    assert_eq!(b2c.customer_groups.get("B2B-HORECA"), Some(&2));
    assert_eq!(
        b2c.carriers.get("BRT"),
        Some(&Carrier {
            code: "custom".into(),
            title: "BRT Bartolini".into()
        })
    );
    assert!(b2c.order_comment);
    assert_eq!(b2c.order_status_after_export.as_deref(), Some("processing"));
    assert_eq!(b2c.stores.as_deref(), Some(&["default".to_string()][..]));
    assert_eq!(b2c.channels.get("default").map(String::as_str), Some("B2C"));

    let b2b = c.target("b2b").expect("b2b");
    assert!(b2b.receives(Flow::Stock) && !b2b.receives(Flow::Fulfilment));
    // Two order targets on one shop, each with its own store.
    assert!(b2b.receives(Flow::Orders));
    assert_eq!(b2b.stores.as_deref(), Some(&["b2b".to_string()][..]));
    assert_eq!(b2b.channels.get("b2b").map(String::as_str), Some("B2B"));
    assert!(b2b.receives_attribute("ean") && !b2b.receives_attribute("description"));
    assert!(matches!(&b2b.auth, Auth::Admin { username, .. } if username == "ponte"));
    assert!(c.target("nope").is_none());
}

#[test]
fn defaults() {
    let c = parse(MINIMAL).expect("minimal config");
    let t = &c.targets[0];
    assert_eq!(t.store_code, "default");
    assert!(t.verify_tls);
    assert_eq!(t.connect_timeout, Duration::from_secs(5));
    assert_eq!(t.request_timeout, Duration::from_secs(30));
    assert_eq!((t.concurrency, t.retries, t.stock_batch), (8, 5, 500));
    assert_eq!(t.attribute_set_id, 4);
    assert_eq!(t.website_ids, vec![1]);
    assert_eq!(t.flows, Flow::ALL.to_vec());
    assert_eq!(t.attributes, default_attributes());
    assert!(!t.attributes.iter().any(|a| a == "visibility"));
    assert!(!t.order_comment && t.order_status_after_export.is_none());
    assert!(t.tax_classes.is_empty() && t.carriers.is_empty());
}

#[test]
fn load_resolves_against_the_file_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).expect("mkdir");
    let file = etc.join("ponte.toml");
    let text = MINIMAL
        .replace("state_dir = \"var/state\"", "state_dir = \"/abs/state\"")
        .replace("[[target]]", "schemas = \"../schemas\"\n[[target]]")
        .replace(
            "{ env = \"PONTE_B2C_TOKEN\" }",
            "{ file = \"./secrets/b2c.token\" }",
        );
    // `schemas` must go in [paths], before [[target]]: move it there.
    let text = text.replace("schemas = \"../schemas\"\n", "").replacen(
        "[paths]\n",
        "[paths]\nschemas = \"../schemas\"\n",
        1,
    );
    std::fs::write(&file, text).expect("write");
    let c = Config::load(&file).expect("loads");
    assert_eq!(c.source, file);
    let base = std::path::absolute(&etc).expect("absolute");
    assert_eq!(c.paths.inbound, base.join("var/share/inbound"));
    assert_eq!(c.paths.state_dir, PathBuf::from("/abs/state"));
    assert_eq!(c.paths.schemas, Some(base.join("../schemas")));
    assert_eq!(
        c.targets[0].auth,
        Auth::Token(Secret::File(base.join("secrets/b2c.token")))
    );
}

#[test]
fn missing_file_says_what_to_do() {
    let e = Config::load(Path::new("no/such/ponte.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no/such/ponte.toml"), "{e}");
    assert!(
        e.contains("--config") && e.contains("samples/ponte.toml"),
        "{e}"
    );
}

#[test]
fn syntax_errors_name_the_file() {
    let e = error("[paths\n");
    assert!(e.starts_with("ponte.toml: not valid TOML"), "{e}");
}

#[test]
fn unknown_keys_name_themselves_at_every_level() {
    let cases: &[(String, &str)] = &[
        (with("", "bogus = 1"), "ponte.toml: bogus: unknown key"),
        (
            with("paths", "inbox = \"x\""),
            "ponte.toml: paths.inbox: unknown key",
        ),
        (
            with("intake", "settle = 3"),
            "ponte.toml: intake.settle: unknown key",
        ),
        (
            with("orders", "status = []"),
            "ponte.toml: orders.status: unknown key",
        ),
        (
            with("target", "concurency = 8"),
            "ponte.toml: target \"b2c\": concurency: unknown key",
        ),
        (
            MINIMAL.replace("{ token =", "{ tokn ="),
            "target \"b2c\": auth.tokn: unknown key",
        ),
        (
            MINIMAL.replace("{ env = \"PONTE_B2C_TOKEN\" }", "{ var = \"X\" }"),
            "target \"b2c\": auth.token.var: unknown key",
        ),
        (
            MINIMAL.replace(
                "{ token = { env = \"PONTE_B2C_TOKEN\" } }",
                "{ admin = { username = \"u\", password = { env = \"P\" }, realm = \"x\" } }",
            ),
            "target \"b2c\": auth.admin.realm: unknown key",
        ),
        (
            with(
                "target",
                "[target.carriers]\nBRT = { code = \"custom\", title = \"BRT\", url = \"x\" }",
            ),
            "target \"b2c\": carriers.BRT.url: unknown key",
        ),
    ];
    for (text, expected) in cases {
        let e = error(text);
        assert!(e.contains(expected), "expected {expected:?} in {e:?}");
    }
}

#[test]
fn bad_values_name_their_key() {
    let cases: &[(String, &str)] = &[
        (
            with("target", "store_view_attributes = [\"price\"]"),
            "target \"b2c\": store_view_attributes: \"price\" cannot be written per store view: use name, description",
        ),
        (
            with(
                "target",
                "attributes = [\"price\"]\nstore_view_attributes = [\"name\"]",
            ),
            "target \"b2c\": store_view_attributes: \"name\" is not among this target's attributes",
        ),
        (
            with(
                "target",
                "store_code = \"all\"\nstore_view_attributes = [\"name\"]",
            ),
            "target \"b2c\": store_view_attributes: needs the store view's code in store_code, not \"all\"",
        ),
        (
            with("target", "concurrency = 0"),
            "ponte.toml: target \"b2c\": concurrency: must be 1..=256",
        ),
        (
            with("target", "concurrency = 257"),
            "target \"b2c\": concurrency: must be 1..=256",
        ),
        (
            with("target", "concurrency = \"8\""),
            "target \"b2c\": concurrency: expected an integer, found a string",
        ),
        (
            with("intake", "settle_spacing = \"500ms\""),
            "ponte.toml: intake.settle_spacing: must be at least 1s",
        ),
        (
            with("intake", "scan_interval = \"5\""),
            "intake.scan_interval: expected a duration",
        ),
        (with("intake", "scan_interval = 5"), "intake.scan_interval: expected a duration"),
        (
            with("intake", "incomplete_timeout = \"6s\""),
            "intake.incomplete_timeout: must be longer than settle_checks × settle_spacing",
        ),
        (
            with("intake", "max_removal_share = 10"),
            "ponte.toml: intake.max_removal_share: must be a share from 0 to 1, such as 0.1 for 10% (found 10)",
        ),
        (
            with("intake", "max_removal_share = -0.5"),
            "intake.max_removal_share: must be a share from 0 to 1",
        ),
        (
            with("intake", "max_removal_share = \"10%\""),
            "intake.max_removal_share: expected a number, found a string",
        ),
        (with("orders", "statuses = []"), "orders.statuses: must list"),
        (with("orders", "company = \"1234567\""), "orders.company: must be 1 to 6"),
        (
            MINIMAL.replace("http://127.0.0.1:8089", "ftp://127.0.0.1"),
            "target \"b2c\": base_url: \"ftp://127.0.0.1\" must start with http",
        ),
        (
            MINIMAL.replace("http://127.0.0.1:8089", "http://"),
            "target \"b2c\": base_url: \"http://\" has no host",
        ),
        (
            MINIMAL.replace("http://127.0.0.1:8089", "http://:8089/shop"),
            "target \"b2c\": base_url: \"http://:8089/shop\" has no host",
        ),
        (
            MINIMAL.replace("http://127.0.0.1:8089", "https://shop:99999"),
            "base_url: \"https://shop:99999\" has a bad port",
        ),
        (
            MINIMAL.replace("name = \"b2c\"", "name = \"B2C shop\""),
            "ponte.toml: target #1: name: \"B2C shop\" is not a valid name",
        ),
        (
            MINIMAL.replace("name = \"b2c\"\n", ""),
            "target #1: name: missing",
        ),
        (
            with("target", "attributes = [\"name\", \"colour\"]"),
            "target \"b2c\": attributes: unknown attribute \"colour\"",
        ),
        (
            with("target", "flows = [\"products\", \"fulfillment\"]"),
            "target \"b2c\": flows: unknown flow \"fulfillment\"",
        ),
        (
            format!("{MINIMAL}{}", &MINIMAL[MINIMAL.find("[[target]]").unwrap_or(0)..]),
            "ponte.toml: target \"b2c\": name: duplicate target name",
        ),
        (
            MINIMAL.replace("inbound = \"var/share/inbound\"\n", ""),
            "ponte.toml: paths.inbound: missing",
        ),
        (
            MINIMAL.replace("\"var/share/archive\"", "\"./var/share/inbound\""),
            "paths.archive: is the same folder as paths.inbound",
        ),
        (
            with("target", "api = \"soap\""),
            "target \"b2c\": api: unknown API \"soap\"",
        ),
        (
            with("target", "api = \"xmlrpc\""),
            "target \"b2c\": auth: api = \"xmlrpc\" signs in",
        ),
        (
            with("target", "stock = \"msi\""),
            "target \"b2c\": stock: unknown stock mode",
        ),
        (
            with("target", "website_ids = [1, 1]"),
            "target \"b2c\": website_ids: 1 is listed twice",
        ),
        (
            with("target", "[target.tax_classes]\n\"22\" = \"two\""),
            "target \"b2c\": tax_classes.22: expected an integer, found a string",
        ),
        (
            with("target", "[target.carriers]\nBRT = { code = \"custom\" }"),
            "target \"b2c\": carriers.BRT.title: missing",
        ),
        (
            with("target", "store_code = \"it/b2c\""),
            "target \"b2c\": store_code:",
        ),
        (
            MINIMAL.replace("[[target]]\nname = \"b2c\"", "").replace(
                "base_url = \"http://127.0.0.1:8089\"\nauth = { token = { env = \"PONTE_B2C_TOKEN\" } }\n",
                "",
            ),
            "ponte.toml: target: no [[target]]",
        ),
    ];
    for (text, expected) in cases {
        let e = error(text);
        assert!(e.contains(expected), "expected {expected:?} in {e:?}");
    }
}

/// Orders carry their store's ERP channel; a target may take only some
/// stores' orders, and each of those needs a channel.
#[test]
fn stores_and_channels() {
    let c = parse(&with(
        "target",
        "stores = [\"default\", \"b2b\"]\n[target.channels]\ndefault = \"B2C\"\nb2b = \" B2B \"\nb2b_it = \"B2B-IT\"",
    ))
    .expect("stores and channels");
    let t = &c.targets[0];
    assert_eq!(
        t.stores.as_deref(),
        Some(&["default".to_string(), "b2b".to_string()][..])
    );
    assert_eq!(t.channels.get("b2b").map(String::as_str), Some("B2B"));
    assert_eq!(t.channels.len(), 3);
    let d = parse(MINIMAL).expect("minimal");
    assert_eq!(d.targets[0].stores, None, "every store by default");
    assert!(d.targets[0].channels.is_empty());

    let cases = [
        (
            with("target", "stores = [\"default\", \"b2b\"]\n[target.channels]\ndefault = \"B2C\""),
            "target \"b2c\": stores: \"b2b\" has no ERP channel: add b2b = \"...\" to [target.channels]",
        ),
        (
            with("target", "stores = []"),
            "target \"b2c\": stores: must list at least one store code",
        ),
        (
            with("target", "stores = [\"b2b/it\"]"),
            "target \"b2c\": stores: \"b2b/it\" is not a store code",
        ),
        (
            with("target", "stores = [\"b2b\", \"b2b\"]"),
            "target \"b2c\": stores: \"b2b\" is listed twice",
        ),
        (
            with("target", "[target.channels]\nb2b = \"B2B-HORECA-NORD\""),
            "target \"b2c\": channels.b2b: must be 1 to 10 ASCII characters",
        ),
        (
            with("target", "[target.channels]\nb2b = 2"),
            "target \"b2c\": channels.b2b: expected a string, found an integer",
        ),
        (
            with("target", "[target.channels]\n\"b2b store\" = \"B2B\""),
            "target \"b2c\": channels.\"b2b store\": is not a Magento store code",
        ),
    ];
    for (text, expected) in cases {
        let e = error(&text);
        assert!(e.contains(expected), "expected {expected:?} in {e:?}");
    }
}

/// No ERP field holds a product's visibility: ponte sets it itself, so a
/// target asking for it would be promised something that never happens.
#[test]
fn visibility_is_refused_with_what_ponte_does_instead() {
    let e = error(&with(
        "target",
        "attributes = [\"name\", \"price\", \"visibility\"]",
    ));
    assert!(
        e.contains("ponte.toml: target \"b2c\": attributes: \"visibility\""),
        "{e}"
    );
    assert!(e.contains("no ERP field"), "{e}");
    assert!(e.contains("not visible individually"), "{e}");
    assert!(!PRODUCT_ATTRIBUTES.contains(&"visibility"));
}

#[test]
fn xmlrpc_targets_default_to_single_source() {
    let text = MINIMAL.replace(
        "auth = { token = { env = \"PONTE_B2C_TOKEN\" } }",
        "api = \"xmlrpc\"\nauth = { admin = { username = \"ponte\", password = { file = \"key\" } } }",
    );
    let c = parse(&text).expect("xmlrpc target");
    assert_eq!(c.targets[0].api, Api::XmlRpc);
    assert_eq!(c.targets[0].stock, StockMode::SingleSource);
    let e = error(&format!("{text}stock = \"multi-source\"\n"));
    assert!(
        e.contains("target \"b2c\": stock: \"multi-source\" needs"),
        "{e}"
    );
}

#[test]
fn base_url_is_normalised() {
    let c = parse(&MINIMAL.replace("http://127.0.0.1:8089", "https://shop.example.com/m2/"))
        .expect("valid");
    assert_eq!(c.targets[0].base_url, "https://shop.example.com/m2");
    let c = parse(&MINIMAL.replace("http://127.0.0.1:8089", "http://[::1]:8089")).expect("valid");
    assert_eq!(c.targets[0].base_url, "http://[::1]:8089");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    for bad in [
        "",
        "5",
        "s",
        "5x",
        "-5s",
        "1.5s",
        "5 s",
        "99999999999999999999s",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn secrets_never_leak() {
    const VALUE: &str = "tok-9f8e7d6c5b4a";
    let var = "PONTE_TEST_CONFIG_LEAK_TOKEN";
    std::env::set_var(var, VALUE);
    let c = parse(&MINIMAL.replace("PONTE_B2C_TOKEN", var)).expect("valid");
    let Auth::Token(secret) = &c.targets[0].auth else {
        panic!("token auth expected");
    };
    let resolved = secret.resolve().expect("resolves");
    assert_eq!(resolved.expose(), VALUE);
    for shown in [
        format!("{c:?}"),
        format!("{resolved:?}"),
        format!("{resolved}"),
        format!("{:?}", Some(resolved.clone())),
    ] {
        assert!(!shown.contains(VALUE), "leaked in {shown}");
    }

    // A secret typed into the file by mistake is refused without being
    // repeated, wherever it is put.
    let literal_cases = [
        MINIMAL.replace(
            "{ token = { env = \"PONTE_B2C_TOKEN\" } }",
            &format!("{{ token = \"{VALUE}\" }}"),
        ),
        MINIMAL.replace("\"PONTE_B2C_TOKEN\"", &format!("\"{VALUE}\"")),
        MINIMAL.replace("\"PONTE_B2C_TOKEN\"", &format!("{{ value = \"{VALUE}\" }}")),
        MINIMAL.replace(
            "{ token = { env = \"PONTE_B2C_TOKEN\" } }",
            &format!("{{ admin = {{ username = \"u\", password = \"{VALUE}\" }} }}"),
        ),
        MINIMAL.replace(
            "{ token = { env = \"PONTE_B2C_TOKEN\" } }",
            &format!("{{ password = \"{VALUE}\" }}"),
        ),
        MINIMAL.replace(
            "{ token = { env = \"PONTE_B2C_TOKEN\" } }",
            &format!("\"{VALUE}\""),
        ),
        MINIMAL.replace(
            "http://127.0.0.1:8089",
            &format!("http://ponte:{VALUE}@127.0.0.1:8089"),
        ),
    ];
    for text in literal_cases {
        let e = parse(&text).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("target \"b2c\""), "{shown}");
        assert!(!shown.contains(VALUE), "leaked in {shown}");
    }
}

#[test]
fn the_removal_share_is_a_number_from_0_to_1() {
    let share = |line: &str| {
        parse(&with("intake", line))
            .unwrap()
            .intake
            .max_removal_share
    };
    assert_eq!(share("max_removal_share = 0.25"), 0.25);
    assert_eq!(share("max_removal_share = 1"), 1.0);
    assert_eq!(share("max_removal_share = 0"), 0.0);
    assert_eq!(parse(MINIMAL).unwrap().intake.max_removal_share, 0.1);
}

/// Issue 14: plain HTTP to another machine is the operator's call (a shop
/// on a private network), but it must not pass without a word: the target
/// says so, and the client warns as it does for `verify_tls = false`.
#[test]
fn plain_http_beyond_loopback_is_accepted_and_flagged() {
    let remote = parse(&MINIMAL.replace("http://127.0.0.1:8089", "http://shop.example.com/m2"))
        .expect("plain http to another host is accepted");
    assert_eq!(remote.targets[0].base_url, "http://shop.example.com/m2");
    assert!(remote.targets[0].plaintext_beyond_loopback());
    for local in [
        "http://127.0.0.1:8089",
        "http://localhost:8089",
        "http://[::1]:8089",
    ] {
        let c = parse(&MINIMAL.replace("http://127.0.0.1:8089", local)).expect("valid");
        assert!(!c.targets[0].plaintext_beyond_loopback(), "{local}");
    }
    let tls = parse(&MINIMAL.replace("http://127.0.0.1:8089", "https://shop.example.com"))
        .expect("valid");
    assert!(!tls.targets[0].plaintext_beyond_loopback());
}

/// Settling for longer than a `Duration` holds is refused, not a panic.
#[test]
fn settling_beyond_any_duration_is_refused() {
    let e = error(&with(
        "intake",
        "settle_spacing = \"200000000000000d\"\nsettle_checks = 100",
    ));
    assert!(
        e.contains("intake.incomplete_timeout: must be longer"),
        "{e}"
    );
}
