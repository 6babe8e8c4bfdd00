//! From the file's shape to a [`Config`]: defaults filled in, ranges and
//! the checks across keys made, paths made absolute. Every refusal names
//! its key path.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::error::{from_deserialize, KeyPath};
use super::file::{File, IntakeFile, OrdersFile, PathsFile};
use super::target::{target, valid_target_name};
use super::{Config, ConfigError, Intake, Orders, Paths, Target};

/// The whole file: see [`Config::from_str_at`].
pub(super) fn config(
    text: &str,
    base_dir: &Path,
    source_name: &str,
) -> Result<Config, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            source_name: source_name.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
    // Read before deserialising, so that an error inside a target can say
    // which one by name.
    let names: Vec<Option<String>> = match table.get("target") {
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.get("name")
                    .and_then(toml::Value::as_str)
                    .filter(|n| valid_target_name(n))
                    .map(str::to_string)
            })
            .collect(),
        _ => Vec::new(),
    };
    let file: File = serde_path_to_error::deserialize(toml::Value::Table(table))
        .map_err(|e| from_deserialize(source_name, |i| names.get(i).cloned().flatten(), e))?;
    let cx = Cx {
        source_name,
        base_dir,
    };
    let root = KeyPath::root();

    let paths = match file.paths {
        Some(p) => paths(&cx, p)?,
        None => return Err(cx.err(&root.key("paths"), "missing: the [paths] table is required")),
    };
    let ops = super::ops::read(file.http, file.alerts, file.expect, base_dir, source_name)?;
    let intake = intake(&cx, file.intake)?;
    let orders = orders(&cx, file.orders)?;
    let raw_targets = file.target.unwrap_or_default();
    if raw_targets.is_empty() {
        return Err(cx.err(
            &root.key("target"),
            "no [[target]]: at least one Magento target is required",
        ));
    }
    let mut targets: Vec<Target> = Vec::with_capacity(raw_targets.len());
    for (i, raw) in raw_targets.into_iter().enumerate() {
        let t = target(&cx, i, raw)?;
        if targets.iter().any(|other| other.name == t.name) {
            return Err(cx.err(
                &KeyPath::target(i, Some(&t.name)).key("name"),
                "duplicate target name; each [[target]] needs its own",
            ));
        }
        targets.push(t);
    }

    Ok(Config {
        paths,
        intake,
        orders,
        targets,
        ops,
        source: PathBuf::from(source_name),
    })
}

/// What every check needs: the file's name for messages and the directory
/// relative paths hang from.
pub(super) struct Cx<'a> {
    pub source_name: &'a str,
    pub base_dir: &'a Path,
}

impl Cx<'_> {
    pub(super) fn err(&self, key: &KeyPath, message: impl Into<String>) -> ConfigError {
        key.invalid(self.source_name, message)
    }

    /// A path, made absolute against the configuration file's directory.
    pub(super) fn path(
        &self,
        key: &KeyPath,
        raw: Option<String>,
    ) -> Result<Option<PathBuf>, ConfigError> {
        match raw {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Err(self.err(key, "must not be empty")),
            Some(s) => Ok(Some(resolve_path(self.base_dir, &s))),
        }
    }

    fn required_path(&self, key: &KeyPath, raw: Option<String>) -> Result<PathBuf, ConfigError> {
        self.path(key, raw)?
            .ok_or_else(|| self.err(key, "missing (required)"))
    }

    /// An integer within `range`, or `default` when absent.
    pub(super) fn integer_in(
        &self,
        key: &KeyPath,
        value: Option<i64>,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> Result<i64, ConfigError> {
        let v = value.unwrap_or(default);
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(self.err(
                key,
                format!("must be {}..={} (found {v})", range.start(), range.end()),
            ))
        }
    }

    /// A list of strings none of which is blank.
    pub(super) fn no_blank_items(
        &self,
        key: &KeyPath,
        items: &Option<Vec<String>>,
    ) -> Result<(), ConfigError> {
        match items.iter().flatten().position(|s| s.trim().is_empty()) {
            Some(i) => Err(self.err(key, format!("item {}: must not be empty", i + 1))),
            None => Ok(()),
        }
    }
}

/// `base.join(p)` for relative `p`, with `.` components dropped (`..` kept:
/// resolving it lexically would be wrong across symlinks).
pub(super) fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        if c != Component::CurDir {
            out.push(c.as_os_str());
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

pub(super) fn first_duplicate<T: Ord + Clone>(items: &[T]) -> Option<T> {
    let mut seen = BTreeSet::new();
    items.iter().find(|i| !seen.insert((*i).clone())).cloned()
}

fn paths(cx: &Cx<'_>, raw: PathsFile) -> Result<Paths, ConfigError> {
    let at = KeyPath::root().key("paths");
    let paths = Paths {
        state_dir: cx.required_path(&at.key("state_dir"), raw.state_dir)?,
        inbound: cx.required_path(&at.key("inbound"), raw.inbound)?,
        in_progress: cx.required_path(&at.key("in_progress"), raw.in_progress)?,
        archive: cx.required_path(&at.key("archive"), raw.archive)?,
        rejected: cx.required_path(&at.key("rejected"), raw.rejected)?,
        outbound: cx.required_path(&at.key("outbound"), raw.outbound)?,
        schemas: cx.path(&at.key("schemas"), raw.schemas)?,
    };
    // Claiming moves a file out of `inbound`; the folders a file passes
    // through must be different places.
    let folders = [
        ("inbound", &paths.inbound),
        ("in_progress", &paths.in_progress),
        ("archive", &paths.archive),
        ("rejected", &paths.rejected),
        ("outbound", &paths.outbound),
    ];
    for (i, (key, path)) in folders.iter().enumerate() {
        if let Some((other, _)) = folders[..i].iter().find(|(_, p)| p == path) {
            return Err(cx.err(
                &at.key(key),
                format!(
                    "is the same folder as paths.{other} ({}); each must be its own",
                    path.display()
                ),
            ));
        }
    }
    Ok(paths)
}

fn intake(cx: &Cx<'_>, raw: Option<IntakeFile>) -> Result<Intake, ConfigError> {
    let d = Intake::default();
    let Some(raw) = raw else {
        return Ok(d);
    };
    let at = KeyPath::root().key("intake");
    let scan_interval = raw.scan_interval.map_or(d.scan_interval, |t| t.0);
    if scan_interval < Duration::from_millis(100) {
        return Err(cx.err(&at.key("scan_interval"), "must be at least 100ms"));
    }
    let settle_checks = cx.integer_in(
        &at.key("settle_checks"),
        raw.settle_checks,
        1..=100,
        i64::from(d.settle_checks),
    )?;
    let settle_checks = u32::try_from(settle_checks).unwrap_or(d.settle_checks);
    let settle_spacing = raw.settle_spacing.map_or(d.settle_spacing, |t| t.0);
    if settle_spacing < Duration::from_secs(1) {
        return Err(cx.err(
            &at.key("settle_spacing"),
            "must be at least 1s: a CIFS mount caches file attributes for about a second",
        ));
    }
    let max_errors = cx.integer_in(
        &at.key("max_errors"),
        raw.max_errors,
        0..=i64::from(u32::MAX),
        100,
    )?;
    let incomplete_timeout = raw.incomplete_timeout.map_or(d.incomplete_timeout, |t| t.0);
    // Shorter than the settle checks, a file being written would be
    // given up on before it could ever be ready.
    if incomplete_timeout <= settle_spacing.saturating_mul(settle_checks) {
        return Err(cx.err(
            &at.key("incomplete_timeout"),
            "must be longer than settle_checks × settle_spacing",
        ));
    }
    let max_removal_share = raw.max_removal_share.unwrap_or(d.max_removal_share);
    if !(0.0..=1.0).contains(&max_removal_share) {
        return Err(cx.err(
            &at.key("max_removal_share"),
            format!("must be a share from 0 to 1, such as 0.1 for 10% (found {max_removal_share})"),
        ));
    }
    Ok(Intake {
        scan_interval,
        settle_checks,
        settle_spacing,
        max_errors: usize::try_from(max_errors).unwrap_or(d.max_errors),
        incomplete_timeout,
        max_removal_share,
    })
}

fn orders(cx: &Cx<'_>, raw: Option<OrdersFile>) -> Result<Orders, ConfigError> {
    let d = Orders::default();
    let Some(raw) = raw else {
        return Ok(d);
    };
    let at = KeyPath::root().key("orders");
    let poll_interval = raw.poll_interval.map_or(d.poll_interval, |t| t.0);
    if poll_interval < Duration::from_secs(1) {
        return Err(cx.err(&at.key("poll_interval"), "must be at least 1s"));
    }
    let overlap = raw.overlap.map_or(d.overlap, |t| t.0);
    cx.no_blank_items(&at.key("statuses"), &raw.statuses)?;
    let statuses = match raw.statuses {
        Some(list) if list.is_empty() => {
            return Err(cx.err(&at.key("statuses"), "must list at least one order status"))
        }
        Some(list) => list,
        None => d.statuses,
    };
    let company = match raw.company {
        Some(c) if c.trim().is_empty() || c.trim().chars().count() > 6 || !c.trim().is_ascii() => {
            return Err(cx.err(&at.key("company"), "must be 1 to 6 ASCII characters"))
        }
        Some(c) => c.trim().to_string(),
        None => d.company,
    };
    Ok(Orders {
        poll_interval,
        overlap,
        statuses,
        company,
        alert_after: raw.alert_after.map_or(d.alert_after, |t| t.0),
    })
}
