//! Reading the TOML table into a [`Config`], key by key: each key is taken
//! out of its table as it is read, so whatever is left is unknown and named
//! in the error, with its path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use toml::{Table, Value};

use super::{
    default_attributes, Api, Auth, Carrier, Config, ConfigError, Flow, Intake, Orders, Paths,
    Secret, StockMode, Target, CHANNEL_WIDTH, PRODUCT_ATTRIBUTES, SET_BY_PONTE,
    STORE_VIEW_ATTRIBUTES,
};

/// The whole file: see [`Config::from_str_at`].
pub(super) fn config(
    text: &str,
    base_dir: &Path,
    source_name: &str,
) -> Result<Config, ConfigError> {
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            source_name: source_name.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
    let cx = Cx {
        source_name,
        base_dir,
    };
    let mut root = Section::new(&cx, None, "", table);

    let paths = match root.table("paths")? {
        Some(s) => read_paths(s)?,
        None => return Err(root.err("paths", "missing: the [paths] table is required")),
    };
    let intake = match root.table("intake")? {
        Some(s) => read_intake(s)?,
        None => Intake::default(),
    };
    let orders = match root.table("orders")? {
        Some(s) => read_orders(s)?,
        None => Orders::default(),
    };
    let ops = super::ops::read(
        root.take("http"),
        root.take("alerts"),
        root.take("expect"),
        base_dir,
        source_name,
    )?;
    let target_values = match root.take("target") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(root.err(
                "target",
                format!(
                    "expected an array of tables ([[target]]), found {}",
                    type_name(&other)
                ),
            ))
        }
        None => Vec::new(),
    };
    root.finish()?;

    if target_values.is_empty() {
        return Err(cx.err(
            "target",
            "no [[target]]: at least one Magento target is required",
        ));
    }
    let mut targets: Vec<Target> = Vec::with_capacity(target_values.len());
    for (i, value) in target_values.into_iter().enumerate() {
        let target = read_target(&cx, i, value)?;
        if targets.iter().any(|t| t.name == target.name) {
            return Err(cx.err(
                &format!("target \"{}\": name", target.name),
                "duplicate target name; each [[target]] needs its own",
            ));
        }
        targets.push(target);
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

/// What every reader needs: the file's name for messages and the directory
/// relative paths hang from.
struct Cx<'a> {
    source_name: &'a str,
    base_dir: &'a Path,
}

impl Cx<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            source_name: self.source_name.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// One TOML table being read: each key is taken out as it is read, so what
/// is left at [`Section::finish`] is unknown.
struct Section<'a> {
    cx: &'a Cx<'a>,
    /// `target "b2c"` for keys inside a target, shown before a `: `.
    context: Option<String>,
    /// Dotted path of this table within its context (`intake`, `auth.token`).
    prefix: String,
    table: Table,
    known: Vec<&'static str>,
}

impl<'a> Section<'a> {
    fn new(cx: &'a Cx<'a>, context: Option<String>, prefix: &str, table: Table) -> Self {
        Section {
            cx,
            context,
            prefix: prefix.to_string(),
            table,
            known: Vec::new(),
        }
    }

    /// The displayed path of `key` in this table.
    fn path(&self, key: &str) -> String {
        let key = quote_key(key);
        let dotted = if self.prefix.is_empty() {
            key
        } else {
            format!("{}.{}", self.prefix, key)
        };
        match &self.context {
            Some(c) => format!("{c}: {dotted}"),
            None => dotted,
        }
    }

    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.cx.err(&self.path(key), message)
    }

    fn take(&mut self, key: &'static str) -> Option<Value> {
        self.known.push(key);
        self.table.remove(key)
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &Value) -> ConfigError {
        self.err(
            key,
            format!("expected {expected}, found {}", type_name(found)),
        )
    }

    fn string(&mut self, key: &'static str) -> Result<Option<String>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(key, "a string", &other)),
        }
    }

    fn required_string(&mut self, key: &'static str) -> Result<String, ConfigError> {
        match self.string(key)? {
            Some(s) if s.trim().is_empty() => Err(self.err(key, "must not be empty")),
            Some(s) => Ok(s),
            None => Err(self.err(key, "missing (required)")),
        }
    }

    fn integer(&mut self, key: &'static str) -> Result<Option<i64>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Integer(i)) => Ok(Some(i)),
            Some(other) => Err(self.wrong_type(key, "an integer", &other)),
        }
    }

    /// An integer within `range`, or `default` when absent.
    fn integer_in(
        &mut self,
        key: &'static str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> Result<i64, ConfigError> {
        let v = self.integer(key)?.unwrap_or(default);
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(self.err(
                key,
                format!("must be {}..={} (found {v})", range.start(), range.end()),
            ))
        }
    }

    /// A share, 0..=1 (`0.1` is a tenth; `0` and `1` may be written as
    /// integers), or `default` when absent.
    fn share(&mut self, key: &'static str, default: f64) -> Result<f64, ConfigError> {
        let v = match self.take(key) {
            None => return Ok(default),
            Some(Value::Float(f)) => f,
            Some(Value::Integer(i)) => i as f64,
            Some(other) => return Err(self.wrong_type(key, "a number from 0 to 1", &other)),
        };
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(self.err(
                key,
                format!("must be a share from 0 to 1, such as 0.1 for 10% (found {v})"),
            ))
        }
    }

    fn boolean(&mut self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.take(key) {
            None => Ok(default),
            Some(Value::Boolean(b)) => Ok(b),
            Some(other) => Err(self.wrong_type(key, "true or false", &other)),
        }
    }

    fn duration(&mut self, key: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        match self.take(key) {
            None => Ok(default),
            Some(Value::String(s)) => {
                parse_duration(&s).map_err(|m| self.err(key, format!("{m} (found \"{s}\")")))
            }
            Some(other) => Err(self.wrong_type(
                key,
                "a duration string such as \"500ms\", \"5s\", \"2m\" or \"1h\"",
                &other,
            )),
        }
    }

    fn array(&mut self, key: &'static str) -> Result<Option<Vec<Value>>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(self.wrong_type(key, "an array", &other)),
        }
    }

    fn string_list(&mut self, key: &'static str) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::String(s) if !s.trim().is_empty() => out.push(s),
                Value::String(_) => {
                    return Err(self.err(key, format!("item {}: must not be empty", i + 1)))
                }
                other => {
                    return Err(self.err(
                        key,
                        format!(
                            "item {}: expected a string, found {}",
                            i + 1,
                            type_name(&other)
                        ),
                    ))
                }
            }
        }
        Ok(Some(out))
    }

    fn integer_list(&mut self, key: &'static str) -> Result<Option<Vec<i64>>, ConfigError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::Integer(n) => out.push(n),
                other => {
                    return Err(self.err(
                        key,
                        format!(
                            "item {}: expected an integer, found {}",
                            i + 1,
                            type_name(&other)
                        ),
                    ))
                }
            }
        }
        Ok(Some(out))
    }

    /// A sub-table, read with its own path.
    fn table(&mut self, key: &'static str) -> Result<Option<Section<'a>>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Table(t)) => {
                let prefix = if self.prefix.is_empty() {
                    quote_key(key)
                } else {
                    format!("{}.{}", self.prefix, quote_key(key))
                };
                Ok(Some(Section::new(
                    self.cx,
                    self.context.clone(),
                    &prefix,
                    t,
                )))
            }
            Some(other) => Err(self.wrong_type(key, "a table", &other)),
        }
    }

    /// A path, made absolute against the configuration file's directory.
    fn path_value(&mut self, key: &'static str) -> Result<Option<PathBuf>, ConfigError> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Err(self.err(key, "must not be empty")),
            Some(s) => Ok(Some(resolve_path(self.cx.base_dir, &s))),
        }
    }

    fn required_path(&mut self, key: &'static str) -> Result<PathBuf, ConfigError> {
        match self.path_value(key)? {
            Some(p) => Ok(p),
            None => Err(self.err(key, "missing (required)")),
        }
    }

    /// Every key left is one ponte does not know.
    fn finish(self) -> Result<(), ConfigError> {
        let Some(key) = self.table.keys().next() else {
            return Ok(());
        };
        let message = if self.known.is_empty() {
            "unknown key".to_string()
        } else {
            let expected: Vec<String> = self.known.iter().map(|k| format!("`{k}`")).collect();
            format!("unknown key; expected one of {}", expected.join(", "))
        };
        Err(self.err(key, message))
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// A key as TOML would need it written: bare if it can be, else quoted.
fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// `base.join(p)` for relative `p`, with `.` components dropped (`..` kept:
/// resolving it lexically would be wrong across symlinks).
fn resolve_path(base: &Path, p: &str) -> PathBuf {
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

/// `"500ms"`, `"5s"`, `"2m"`, `"1h"`, `"1d"`, or several run together
/// (`"1m30s"`). A bare number is refused: `5` seconds or minutes?
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const HINT: &str = "expected a duration such as \"500ms\", \"5s\", \"2m\" or \"1h\"";
    let s = text.trim();
    if s.is_empty() {
        return Err(HINT.to_string());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(HINT.to_string());
        }
        let (number, after) = rest.split_at(digits);
        let n: u64 = number.parse().map_err(|_| "number too large".to_string())?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let part = match unit {
            "ms" => Some(Duration::from_millis(n)),
            "s" => Some(Duration::from_secs(n)),
            "m" => n.checked_mul(60).map(Duration::from_secs),
            "h" => n.checked_mul(3_600).map(Duration::from_secs),
            "d" => n.checked_mul(86_400).map(Duration::from_secs),
            "" if after.is_empty() => return Err(format!("{HINT}: the number needs a unit")),
            "" => return Err(HINT.to_string()),
            _ => return Err(format!("{HINT}: unknown unit \"{unit}\" (ms, s, m, h, d)")),
        };
        total = part
            .and_then(|p| total.checked_add(p))
            .ok_or_else(|| "duration too large".to_string())?;
        rest = after;
    }
    Ok(total)
}

fn read_paths(mut s: Section<'_>) -> Result<Paths, ConfigError> {
    let paths = Paths {
        state_dir: s.required_path("state_dir")?,
        inbound: s.required_path("inbound")?,
        in_progress: s.required_path("in_progress")?,
        archive: s.required_path("archive")?,
        rejected: s.required_path("rejected")?,
        outbound: s.required_path("outbound")?,
        schemas: s.path_value("schemas")?,
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
            return Err(s.err(
                key,
                format!(
                    "is the same folder as paths.{other} ({}); each must be its own",
                    path.display()
                ),
            ));
        }
    }
    s.finish()?;
    Ok(paths)
}

fn read_intake(mut s: Section<'_>) -> Result<Intake, ConfigError> {
    let d = Intake::default();
    let scan_interval = s.duration("scan_interval", d.scan_interval)?;
    if scan_interval < Duration::from_millis(100) {
        return Err(s.err("scan_interval", "must be at least 100ms"));
    }
    let settle_checks = s.integer_in("settle_checks", 1..=100, i64::from(d.settle_checks))?;
    let settle_spacing = s.duration("settle_spacing", d.settle_spacing)?;
    if settle_spacing < Duration::from_secs(1) {
        return Err(s.err(
            "settle_spacing",
            "must be at least 1s: a CIFS mount caches file attributes for about a second",
        ));
    }
    let max_errors = s.integer_in("max_errors", 0..=i64::from(u32::MAX), 100)?;
    let incomplete_timeout = s.duration("incomplete_timeout", d.incomplete_timeout)?;
    // Shorter than the settle checks, a file being written would be
    // given up on before it could ever be ready.
    let settling = settle_spacing * u32::try_from(settle_checks).unwrap_or(d.settle_checks);
    if incomplete_timeout <= settling {
        return Err(s.err(
            "incomplete_timeout",
            "must be longer than settle_checks × settle_spacing",
        ));
    }
    let max_removal_share = s.share("max_removal_share", d.max_removal_share)?;
    s.finish()?;
    Ok(Intake {
        scan_interval,
        settle_checks: u32::try_from(settle_checks).unwrap_or(d.settle_checks),
        settle_spacing,
        max_errors: usize::try_from(max_errors).unwrap_or(d.max_errors),
        incomplete_timeout,
        max_removal_share,
    })
}

fn read_orders(mut s: Section<'_>) -> Result<Orders, ConfigError> {
    let d = Orders::default();
    let poll_interval = s.duration("poll_interval", d.poll_interval)?;
    if poll_interval < Duration::from_secs(1) {
        return Err(s.err("poll_interval", "must be at least 1s"));
    }
    let overlap = s.duration("overlap", d.overlap)?;
    let statuses = match s.string_list("statuses")? {
        Some(list) if list.is_empty() => {
            return Err(s.err("statuses", "must list at least one order status"))
        }
        Some(list) => list,
        None => d.statuses,
    };
    let company = match s.string("company")? {
        Some(c) if c.trim().is_empty() || c.trim().chars().count() > 6 || !c.trim().is_ascii() => {
            return Err(s.err("company", "must be 1 to 6 ASCII characters"))
        }
        Some(c) => c.trim().to_string(),
        None => d.company,
    };
    let alert_after = s.duration("alert_after", d.alert_after)?;
    s.finish()?;
    Ok(Orders {
        poll_interval,
        overlap,
        statuses,
        company,
        alert_after,
    })
}

fn valid_target_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Magento's store codes: letters, digits and '_'.
fn valid_store_code(code: &str) -> bool {
    !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn read_target(cx: &Cx<'_>, index: usize, value: Value) -> Result<Target, ConfigError> {
    let unnamed = format!("target #{}", index + 1);
    let mut table = match value {
        Value::Table(t) => t,
        other => {
            return Err(cx.err(
                &unnamed,
                format!("expected a table, found {}", type_name(&other)),
            ))
        }
    };
    // The name first, so that every later message can say which target.
    let name = match table.remove("name") {
        Some(Value::String(n)) if valid_target_name(&n) => n,
        Some(Value::String(n)) => {
            return Err(cx.err(
                &format!("{unnamed}: name"),
                format!("\"{n}\" is not a valid name: use 1 to 64 of a-z, 0-9, '_' and '-'"),
            ))
        }
        Some(other) => {
            return Err(cx.err(
                &format!("{unnamed}: name"),
                format!("expected a string, found {}", type_name(&other)),
            ))
        }
        None => return Err(cx.err(&format!("{unnamed}: name"), "missing (required)")),
    };
    let mut s = Section::new(cx, Some(format!("target \"{name}\"")), "", table);
    s.known.push("name");

    let api = match s.string("api")?.as_deref() {
        None | Some("rest") => Api::Rest,
        Some("xmlrpc") => Api::XmlRpc,
        Some(other) => {
            return Err(s.err(
                "api",
                format!("unknown API \"{other}\": use \"rest\" or \"xmlrpc\""),
            ))
        }
    };
    let base_url = {
        let raw = s.required_string("base_url")?;
        check_base_url(&raw).map_err(|m| s.err("base_url", m))?
    };
    let store_code = s.string("store_code")?.unwrap_or_else(|| "default".into());
    if !valid_store_code(&store_code) {
        return Err(s.err(
            "store_code",
            format!("\"{store_code}\" is not a store code (letters, digits and '_'; \"all\" for global values)"),
        ));
    }
    let auth = match s.take("auth") {
        Some(v) => read_auth(&s, v)?,
        None => {
            return Err(s.err(
                "auth",
                "missing: use auth = { token = { env = \"VAR\" } } or \
                 auth = { admin = { username = \"...\", password = { env = \"VAR\" } } }",
            ))
        }
    };
    if api == Api::XmlRpc && matches!(auth, Auth::Token(_)) {
        return Err(s.err(
            "auth",
            "api = \"xmlrpc\" signs in with an API user and key: use \
             auth = { admin = { username = \"...\", password = { env = \"VAR\" } } }",
        ));
    }
    let verify_tls = s.boolean("verify_tls", true)?;
    let connect_timeout = s.duration("connect_timeout", Duration::from_secs(5))?;
    if connect_timeout.is_zero() {
        return Err(s.err("connect_timeout", "must be more than 0s"));
    }
    let request_timeout = s.duration("request_timeout", Duration::from_secs(30))?;
    if request_timeout.is_zero() {
        return Err(s.err("request_timeout", "must be more than 0s"));
    }
    let concurrency = s.integer_in("concurrency", 1..=256, 8)?;
    let retries = s.integer_in("retries", 0..=100, 5)?;
    let stock = match s.string("stock")?.as_deref() {
        None if api == Api::XmlRpc => StockMode::SingleSource,
        None | Some("multi-source") => StockMode::MultiSource,
        Some("single-source") => StockMode::SingleSource,
        Some(other) => {
            return Err(s.err(
                "stock",
                format!(
                    "unknown stock mode \"{other}\": use \"multi-source\" or \"single-source\""
                ),
            ))
        }
    };
    if api == Api::XmlRpc && stock == StockMode::MultiSource {
        return Err(s.err(
            "stock",
            "\"multi-source\" needs Magento 2's REST API; with api = \"xmlrpc\" use \"single-source\"",
        ));
    }
    let stock_batch = s.integer_in("stock_batch", 1..=10_000, 500)?;
    let attribute_set_id = s.integer_in("attribute_set_id", 1..=i64::from(u32::MAX), 4)?;
    let website_ids = match s.integer_list("website_ids")? {
        None => vec![1],
        Some(ids) => {
            if ids.is_empty() {
                return Err(s.err("website_ids", "must list at least one website id"));
            }
            if let Some(bad) = ids.iter().find(|&&id| id < 1) {
                return Err(s.err(
                    "website_ids",
                    format!("{bad} is not a website id (1 or more; 0 is the admin website)"),
                ));
            }
            if let Some(dup) = first_duplicate(&ids) {
                return Err(s.err("website_ids", format!("{dup} is listed twice")));
            }
            ids
        }
    };
    let flows = match s.string_list("flows")? {
        None => Flow::ALL.to_vec(),
        Some(names) => {
            if names.is_empty() {
                return Err(s.err("flows", "must list at least one flow"));
            }
            let mut flows = Vec::with_capacity(names.len());
            for n in &names {
                let Some(flow) = Flow::parse(n) else {
                    return Err(s.err(
                        "flows",
                        format!(
                            "unknown flow \"{n}\": use products, stock, customers, fulfilment, orders"
                        ),
                    ));
                };
                if flows.contains(&flow) {
                    return Err(s.err("flows", format!("\"{n}\" is listed twice")));
                }
                flows.push(flow);
            }
            flows
        }
    };
    let attributes = match s.string_list("attributes")? {
        None => default_attributes(),
        Some(names) => {
            for n in &names {
                if let Some((_, why)) = SET_BY_PONTE.iter().find(|(a, _)| a == n) {
                    return Err(s.err("attributes", format!("\"{n}\": {why}")));
                }
                if !PRODUCT_ATTRIBUTES.contains(&n.as_str()) {
                    return Err(s.err(
                        "attributes",
                        format!(
                            "unknown attribute \"{n}\": use {}",
                            PRODUCT_ATTRIBUTES.join(", ")
                        ),
                    ));
                }
            }
            if let Some(dup) = first_duplicate(&names) {
                return Err(s.err("attributes", format!("\"{dup}\" is listed twice")));
            }
            names
        }
    };
    let store_view_attributes = s.string_list("store_view_attributes")?.unwrap_or_default();
    for n in &store_view_attributes {
        if !STORE_VIEW_ATTRIBUTES.contains(&n.as_str()) {
            return Err(s.err(
                "store_view_attributes",
                format!(
                    "\"{n}\" cannot be written per store view: use {} (everything else is global in Magento and goes through the \"all\" scope)",
                    STORE_VIEW_ATTRIBUTES.join(", ")
                ),
            ));
        }
        if !attributes.contains(n) {
            return Err(s.err(
                "store_view_attributes",
                format!("\"{n}\" is not among this target's attributes"),
            ));
        }
    }
    if let Some(dup) = first_duplicate(&store_view_attributes) {
        return Err(s.err(
            "store_view_attributes",
            format!("\"{dup}\" is listed twice"),
        ));
    }
    if !store_view_attributes.is_empty() && store_code == "all" {
        return Err(s.err(
            "store_view_attributes",
            "needs the store view's code in store_code, not \"all\"",
        ));
    }
    let order_comment = s.boolean("order_comment", false)?;
    let order_status_after_export = match s.string("order_status_after_export")? {
        Some(st) if st.trim().is_empty() => {
            return Err(s.err(
                "order_status_after_export",
                "must not be empty (leave it out instead)",
            ))
        }
        other => other,
    };

    let stores = match s.string_list("stores")? {
        None => None,
        Some(codes) => {
            if codes.is_empty() {
                return Err(s.err(
                    "stores",
                    "must list at least one store code (leave it out for every store)",
                ));
            }
            if let Some(bad) = codes.iter().find(|c| !valid_store_code(c)) {
                return Err(s.err(
                    "stores",
                    format!("\"{bad}\" is not a store code (letters, digits and '_')"),
                ));
            }
            if let Some(dup) = first_duplicate(&codes) {
                return Err(s.err("stores", format!("\"{dup}\" is listed twice")));
            }
            Some(codes)
        }
    };

    let tax_classes = match s.table("tax_classes")? {
        None => BTreeMap::new(),
        Some(t) => read_id_map(t)?,
    };
    let customer_groups = match s.table("customer_groups")? {
        None => BTreeMap::new(),
        Some(t) => read_id_map(t)?,
    };
    let sources = match s.table("sources")? {
        None => BTreeMap::new(),
        Some(t) => {
            let mut out = BTreeMap::new();
            for (k, v) in t.table.iter() {
                match v {
                    Value::String(code) if !code.trim().is_empty() => {
                        out.insert(k.clone(), code.clone());
                    }
                    Value::String(_) => return Err(t.err(k, "must not be empty")),
                    other => {
                        return Err(t.err(
                            k,
                            format!(
                                "expected a Magento source code (a string), found {}",
                                type_name(other)
                            ),
                        ))
                    }
                }
            }
            out
        }
    };
    let carriers = match s.table("carriers")? {
        None => BTreeMap::new(),
        Some(mut t) => {
            let mut out = BTreeMap::new();
            let entries = std::mem::take(&mut t.table);
            for (k, v) in entries {
                let Value::Table(inner) = v else {
                    return Err(t.err(
                        &k,
                        format!(
                            "expected {{ code = \"...\", title = \"...\" }}, found {}",
                            type_name(&v)
                        ),
                    ));
                };
                let prefix = format!("{}.{}", t.prefix, quote_key(&k));
                let mut c = Section::new(cx, t.context.clone(), &prefix, inner);
                let carrier = Carrier {
                    code: c.required_string("code")?,
                    title: c.required_string("title")?,
                };
                c.finish()?;
                out.insert(k, carrier);
            }
            out
        }
    };
    let channels = match s.table("channels")? {
        None => BTreeMap::new(),
        Some(t) => {
            let mut out = BTreeMap::new();
            for (k, v) in t.table.iter() {
                if !valid_store_code(k) {
                    return Err(t.err(k, "is not a Magento store code (letters, digits and '_')"));
                }
                match v {
                    Value::String(ch)
                        if !ch.trim().is_empty()
                            && ch.trim().chars().count() <= CHANNEL_WIDTH
                            && ch.trim().is_ascii() =>
                    {
                        out.insert(k.clone(), ch.trim().to_string());
                    }
                    Value::String(_) => {
                        return Err(t.err(
                            k,
                            format!(
                                "must be 1 to {CHANNEL_WIDTH} ASCII characters \
                                 (the ORDINI channel field)"
                            ),
                        ))
                    }
                    other => {
                        return Err(t.err(
                            k,
                            format!(
                                "expected an ERP channel (a string), found {}",
                                type_name(other)
                            ),
                        ))
                    }
                }
            }
            out
        }
    };
    // Known before any order is fetched: an order of a listed store would
    // otherwise fail at every poll for want of a channel.
    if let Some(missing) = stores
        .iter()
        .flatten()
        .find(|code| !channels.contains_key(*code))
    {
        return Err(s.err(
            "stores",
            format!(
                "\"{missing}\" has no ERP channel: add {missing} = \"...\" to [target.channels]"
            ),
        ));
    }
    s.finish()?;

    Ok(Target {
        name,
        api,
        base_url,
        store_code,
        auth,
        verify_tls,
        connect_timeout,
        request_timeout,
        concurrency: usize::try_from(concurrency).unwrap_or(8),
        retries: u32::try_from(retries).unwrap_or(5),
        stock,
        stock_batch: usize::try_from(stock_batch).unwrap_or(500),
        attribute_set_id,
        website_ids,
        flows,
        attributes,
        store_view_attributes,
        tax_classes,
        sources,
        customer_groups,
        carriers,
        order_comment,
        order_status_after_export,
        stores,
        channels,
    })
}

/// A table of ERP code -> Magento id (0 or more).
fn read_id_map(t: Section<'_>) -> Result<BTreeMap<String, i64>, ConfigError> {
    let mut out = BTreeMap::new();
    for (k, v) in t.table.iter() {
        match v {
            Value::Integer(id) if *id >= 0 => {
                out.insert(k.clone(), *id);
            }
            Value::Integer(id) => {
                return Err(t.err(k, format!("must be a Magento id, 0 or more (found {id})")))
            }
            other => {
                return Err(t.err(
                    k,
                    format!(
                        "expected a Magento id (an integer), found {}",
                        type_name(other)
                    ),
                ))
            }
        }
    }
    Ok(out)
}

fn first_duplicate<T: Ord + Clone>(items: &[T]) -> Option<T> {
    let mut seen = BTreeSet::new();
    items.iter().find(|i| !seen.insert((*i).clone())).cloned()
}

/// `auth = { token = SECRET }` or `auth = { admin = { username, password = SECRET } }`.
/// No message here quotes a value: a literal secret typed by mistake must
/// not reach a log.
fn read_auth(target: &Section<'_>, value: Value) -> Result<Auth, ConfigError> {
    let Value::Table(table) = value else {
        return Err(target.err(
            "auth",
            format!("expected a table, found {}", type_name(&value)),
        ));
    };
    let prefix = "auth";
    let mut s = Section::new(target.cx, target.context.clone(), prefix, table);
    let token = s.take("token");
    let admin = s.take("admin");
    // Unknown keys first: `auth = { password = "..." }` should say so.
    let leftover: Option<String> = s.table.keys().next().cloned();
    if let Some(k) = leftover {
        return Err(s.err(&k, "unknown key; expected one of `token`, `admin`"));
    }
    let auth = match (token, admin) {
        (Some(t), None) => Auth::Token(read_secret(&s, "token", t)?),
        (None, Some(Value::Table(a))) => {
            let mut a = Section::new(s.cx, s.context.clone(), "auth.admin", a);
            let username = match a.take("username") {
                Some(Value::String(u)) if !u.trim().is_empty() => u,
                Some(Value::String(_)) => return Err(a.err("username", "must not be empty")),
                Some(other) => {
                    return Err(a.err(
                        "username",
                        format!("expected a string, found {}", type_name(&other)),
                    ))
                }
                None => return Err(a.err("username", "missing (required)")),
            };
            let password = match a.take("password") {
                Some(p) => read_secret(&a, "password", p)?,
                None => {
                    return Err(a.err(
                        "password",
                        "missing: use password = { env = \"VAR\" } or { file = \"PATH\" }",
                    ))
                }
            };
            a.finish()?;
            Auth::Admin { username, password }
        }
        (None, Some(other)) => {
            return Err(s.err(
                "admin",
                format!(
                    "expected {{ username = \"...\", password = {{ env = \"VAR\" }} }}, found {}",
                    type_name(&other)
                ),
            ))
        }
        (Some(_), Some(_)) => {
            return Err(target.err("auth", "give either token or admin, not both"))
        }
        (None, None) => {
            return Err(target.err(
                "auth",
                "empty: use { token = { env = \"VAR\" } } or { admin = { username = \"...\", password = { env = \"VAR\" } } }",
            ))
        }
    };
    Ok(auth)
}

/// `{ env = "VAR" }` or `{ file = "PATH" }`.
fn read_secret(
    parent: &Section<'_>,
    key: &'static str,
    value: Value,
) -> Result<Secret, ConfigError> {
    const SHAPE: &str = "must be { env = \"VAR\" } or { file = \"PATH\" }: \
                         secrets are never written in the configuration itself";
    let Value::Table(table) = value else {
        return Err(parent.err(key, SHAPE));
    };
    let prefix = format!("{}.{key}", parent.prefix);
    let mut s = Section::new(parent.cx, parent.context.clone(), &prefix, table);
    let env = s.take("env");
    let file = s.take("file");
    if let Some(k) = s.table.keys().next().cloned() {
        return Err(s.err(&k, "unknown key; expected one of `env`, `file`"));
    }
    match (env, file) {
        (Some(Value::String(var)), None) => {
            let ok = !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if ok {
                Ok(Secret::Env(var))
            } else {
                Err(s.err(
                    "env",
                    "must be an environment variable name (letters, digits, '_')",
                ))
            }
        }
        (None, Some(Value::String(path))) if !path.trim().is_empty() => {
            Ok(Secret::File(resolve_path(parent.cx.base_dir, &path)))
        }
        (Some(_), None) => Err(s.err("env", "expected the name of an environment variable")),
        (None, Some(_)) => Err(s.err("file", "expected a file path")),
        (Some(_), Some(_)) => Err(parent.err(key, "give either env or file, not both")),
        (None, None) => Err(parent.err(key, SHAPE)),
    }
}

/// `http://` or `https://`, a host, no credentials, query or fragment.
/// Returns the URL without trailing `/`.
fn check_base_url(raw: &str) -> Result<String, String> {
    let url = raw.trim();
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        r
    } else {
        return Err(format!("\"{url}\" must start with http:// or https://"));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        // Not quoted: the part before '@' is a credential.
        return Err("must not carry credentials (user:password@); use auth".to_string());
    }
    if url.contains('?') || url.contains('#') {
        return Err(format!("\"{url}\" must not have a query or fragment"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("\"{url}\" must not contain spaces"));
    }
    let host = match authority.strip_prefix('[') {
        // [::1]:8080
        Some(v6) => match v6.split_once(']') {
            Some((h, port)) if !h.is_empty() && (port.is_empty() || port.starts_with(':')) => {
                check_port(port.strip_prefix(':'), url)?;
                h
            }
            _ => return Err(format!("\"{url}\" has a malformed IPv6 host")),
        },
        None => {
            let (h, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            check_port(port, url)?;
            h
        }
    };
    if host.is_empty() {
        return Err(format!("\"{url}\" has no host"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn check_port(port: Option<&str>, url: &str) -> Result<(), String> {
    match port {
        None => Ok(()),
        Some(p) if p.parse::<u16>().is_ok_and(|n| n > 0) => Ok(()),
        Some(_) => Err(format!("\"{url}\" has a bad port")),
    }
}
