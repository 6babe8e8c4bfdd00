//! The Debian package's pieces agree with one another: the configuration it
//! installs loads and keeps ponte inside what the systemd unit lets it
//! write, `cargo deb` leaves the stand-in out, and a binary laid out as the
//! package lays it out finds the schemas installed beside it. Installing the
//! package for real is `.ci/deb-test`'s job (root, dpkg).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{code, root, stderr, stdout};
use ponte::config::Config;

fn unit() -> String {
    std::fs::read_to_string(root().join("packaging/debian/ponte.service")).expect("the unit")
}

/// Every value of `key=` in the unit, split on whitespace.
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .flat_map(|v| v.split_whitespace().map(str::to_string))
        .collect()
}

#[test]
fn packaged_configuration_loads_and_stays_inside_the_units_sandbox() {
    let config = Config::load(&root().join("packaging/debian/ponte.toml"))
        .unwrap_or_else(|e| panic!("packaging/debian/ponte.toml: {e}"));
    let unit = unit();

    let writable: Vec<PathBuf> = unit_values(&unit, "ReadWritePaths")
        .iter()
        .map(|p| PathBuf::from(p.trim_start_matches('-')))
        .collect();
    assert!(!writable.is_empty(), "no ReadWritePaths in the unit");
    let p = &config.paths;
    for (key, path) in [
        ("state_dir", &p.state_dir),
        ("inbound", &p.inbound),
        ("in_progress", &p.in_progress),
        ("archive", &p.archive),
        ("rejected", &p.rejected),
        ("outbound", &p.outbound),
    ] {
        assert!(
            writable.iter().any(|w| path.starts_with(w)),
            "paths.{key} = {} is outside the unit's ReadWritePaths {writable:?}",
            path.display()
        );
    }
    // StateDirectory=ponte is /var/lib/ponte, created for the ponte user.
    assert_eq!(unit_values(&unit, "StateDirectory"), ["ponte"]);
    assert_eq!(p.state_dir, Path::new("/var/lib/ponte"));
    assert_eq!(
        p.schemas.as_deref(),
        Some(Path::new("/usr/share/ponte/schemas"))
    );
    for mount in unit_values(&unit, "RequiresMountsFor") {
        assert!(
            writable.iter().any(|w| w == Path::new(&mount)),
            "the share mount {mount} is not writable"
        );
    }

    let exec = unit_values(&unit, "ExecStart").join(" ");
    assert!(exec.starts_with("/usr/bin/ponte "), "{exec}");
    assert!(exec.contains("--config /etc/ponte/ponte.toml"), "{exec}");
    assert!(exec.ends_with(" watch"), "{exec}");
    for hardening in [
        "User=ponte",
        "NoNewPrivileges=true",
        "ProtectSystem=strict",
        "ProtectHome=true",
        "PrivateTmp=true",
        "Restart=on-failure",
    ] {
        assert!(unit.lines().any(|l| l == hardening), "no {hardening}");
    }
}

#[test]
fn deb_metadata_leaves_the_stand_in_out_and_installs_what_the_unit_names() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let deb = &manifest["package"]["metadata"]["deb"];
    assert_eq!(deb["default-features"].as_bool(), Some(false));
    let features = deb["features"].as_array().expect("features");
    assert!(
        !features.iter().any(|f| f.as_str() == Some("stand-in")),
        "{features:?}"
    );
    let assets: Vec<(String, String)> = deb["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| {
            (
                a[0].as_str().unwrap().to_string(),
                a[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (source, dest) in [
        ("target/release/ponte", "usr/bin/"),
        ("schemas/*.toml", "usr/share/ponte/schemas/"),
        ("packaging/debian/ponte.toml", "etc/ponte/ponte.toml"),
    ] {
        assert!(
            assets.iter().any(|(s, d)| s == source && d == dest),
            "no asset {source} -> {dest} in {assets:?}"
        );
    }
    assert_eq!(deb["systemd-units"]["unit-name"].as_str(), Some("ponte"));
    // cargo-deb looks for the unit as NAME.service in the maintainer
    // scripts' folder.
    let scripts = deb["maintainer-scripts"]
        .as_str()
        .expect("maintainer-scripts");
    assert!(root().join(scripts).join("ponte.service").is_file());
}

/// `PREFIX/bin/ponte`, a hard link to the binary under test (a copy where
/// the link is refused), so that its own path is the one the package gives.
fn install_binary(prefix: &Path) -> PathBuf {
    let bin = prefix.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("ponte");
    let built = env!("CARGO_BIN_EXE_ponte");
    if std::fs::hard_link(built, &exe).is_err() {
        std::fs::copy(built, &exe).unwrap();
    }
    exe
}

#[test]
fn an_installed_binary_finds_the_schemas_beside_it() {
    let prefix = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let exe = install_binary(prefix.path());
    let schemas = prefix.path().join("share/ponte/schemas");
    std::fs::create_dir_all(&schemas).unwrap();
    // One schema only, so that the built-in five cannot pass for it.
    std::fs::copy(
        root().join("schemas/giacenze.toml"),
        schemas.join("giacenze.toml"),
    )
    .unwrap();
    // Run from a folder without ./schemas, as the service is.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(&exe)
        .arg("schemas")
        .current_dir(elsewhere.path())
        .env_remove("PONTE_SCHEMAS")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("schemas from {}\n", schemas.display())),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("GIACENZE ")), "{text}");
    assert!(!text.contains("ARTICOLI"), "{text}");
}
