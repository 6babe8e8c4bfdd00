//! One `[[target]]`: a Magento shop, how to reach it, and which flows,
//! attributes and mappings it takes.

use std::collections::BTreeMap;
use std::time::Duration;

use super::base_url;
use super::error::KeyPath;
use super::file::{AuthFile, SecretFile, Shaped, TargetFile};
use super::validate::{first_duplicate, resolve_path, Cx};
use super::{default_attributes, Auth, Carrier, ConfigError, Secret, Target};
use crate::model::{Api, Flow, StockMode, PRODUCT_ATTRIBUTES, SET_BY_PONTE, STORE_VIEW_ATTRIBUTES};

/// The width of ORDINI's `channel` field: a longer channel would be cut.
const CHANNEL_WIDTH: usize = 10;

pub(super) fn valid_target_name(name: &str) -> bool {
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

/// The target at `index` (from 0) of the file.
pub(super) fn target(cx: &Cx<'_>, index: usize, raw: TargetFile) -> Result<Target, ConfigError> {
    // The name first, so that every later message can say which target.
    let unnamed = KeyPath::target(index, None).key("name");
    let name = match raw.name {
        Some(n) if valid_target_name(&n) => n,
        Some(n) => {
            return Err(cx.err(
                &unnamed,
                format!("\"{n}\" is not a valid name: use 1 to 64 of a-z, 0-9, '_' and '-'"),
            ))
        }
        None => return Err(cx.err(&unnamed, "missing (required)")),
    };
    let at = KeyPath::target(index, Some(&name));
    let key = |k: &str| at.key(k);

    let api = match raw.api.as_deref() {
        None | Some("rest") => Api::Rest,
        Some("xmlrpc") => Api::XmlRpc,
        Some(other) => {
            return Err(cx.err(
                &key("api"),
                format!("unknown API \"{other}\": use \"rest\" or \"xmlrpc\""),
            ))
        }
    };
    let base_url = match raw.base_url {
        Some(s) if s.trim().is_empty() => return Err(cx.err(&key("base_url"), "must not be empty")),
        Some(s) => base_url::check(&s).map_err(|e| cx.err(&key("base_url"), e.to_string()))?,
        None => return Err(cx.err(&key("base_url"), "missing (required)")),
    };
    let store_code = raw.store_code.unwrap_or_else(|| "default".into());
    if !valid_store_code(&store_code) {
        return Err(cx.err(
            &key("store_code"),
            format!("\"{store_code}\" is not a store code (letters, digits and '_'; \"all\" for global values)"),
        ));
    }
    let auth = match raw.auth {
        Some(Shaped(a)) => auth(cx, &key("auth"), a)?,
        None => {
            return Err(cx.err(
                &key("auth"),
                "missing: use auth = { token = { env = \"VAR\" } } or \
                 auth = { admin = { username = \"...\", password = { env = \"VAR\" } } }",
            ))
        }
    };
    if api == Api::XmlRpc && matches!(auth, Auth::Token(_)) {
        return Err(cx.err(
            &key("auth"),
            "api = \"xmlrpc\" signs in with an API user and key: use \
             auth = { admin = { username = \"...\", password = { env = \"VAR\" } } }",
        ));
    }
    let verify_tls = raw.verify_tls.unwrap_or(true);
    let connect_timeout = raw.connect_timeout.map_or(Duration::from_secs(5), |t| t.0);
    if connect_timeout.is_zero() {
        return Err(cx.err(&key("connect_timeout"), "must be more than 0s"));
    }
    let request_timeout = raw.request_timeout.map_or(Duration::from_secs(30), |t| t.0);
    if request_timeout.is_zero() {
        return Err(cx.err(&key("request_timeout"), "must be more than 0s"));
    }
    let concurrency = cx.integer_in(&key("concurrency"), raw.concurrency, 1..=256, 8)?;
    let retries = cx.integer_in(&key("retries"), raw.retries, 0..=100, 5)?;
    let stock = match raw.stock.as_deref() {
        None if api == Api::XmlRpc => StockMode::SingleSource,
        None | Some("multi-source") => StockMode::MultiSource,
        Some("single-source") => StockMode::SingleSource,
        Some(other) => {
            return Err(cx.err(
                &key("stock"),
                format!(
                    "unknown stock mode \"{other}\": use \"multi-source\" or \"single-source\""
                ),
            ))
        }
    };
    if api == Api::XmlRpc && stock == StockMode::MultiSource {
        return Err(cx.err(
            &key("stock"),
            "\"multi-source\" needs Magento 2's REST API; with api = \"xmlrpc\" use \"single-source\"",
        ));
    }
    let stock_batch = cx.integer_in(&key("stock_batch"), raw.stock_batch, 1..=10_000, 500)?;
    let attribute_set_id = cx.integer_in(
        &key("attribute_set_id"),
        raw.attribute_set_id,
        1..=i64::from(u32::MAX),
        4,
    )?;
    let website_ids = match raw.website_ids {
        None => vec![1],
        Some(ids) => {
            let k = key("website_ids");
            if ids.is_empty() {
                return Err(cx.err(&k, "must list at least one website id"));
            }
            if let Some(bad) = ids.iter().find(|&&id| id < 1) {
                return Err(cx.err(
                    &k,
                    format!("{bad} is not a website id (1 or more; 0 is the admin website)"),
                ));
            }
            if let Some(dup) = first_duplicate(&ids) {
                return Err(cx.err(&k, format!("{dup} is listed twice")));
            }
            ids
        }
    };
    cx.no_blank_items(&key("flows"), &raw.flows)?;
    let flows = match raw.flows {
        None => Flow::ALL.to_vec(),
        Some(names) => flows(cx, &key("flows"), &names)?,
    };
    cx.no_blank_items(&key("attributes"), &raw.attributes)?;
    let attributes = match raw.attributes {
        None => default_attributes(),
        Some(names) => attributes(cx, &key("attributes"), names)?,
    };
    cx.no_blank_items(&key("store_view_attributes"), &raw.store_view_attributes)?;
    let store_view_attributes = raw.store_view_attributes.unwrap_or_default();
    {
        let k = key("store_view_attributes");
        for n in &store_view_attributes {
            if !STORE_VIEW_ATTRIBUTES.contains(&n.as_str()) {
                return Err(cx.err(
                    &k,
                    format!(
                        "\"{n}\" cannot be written per store view: use {} (everything else is global in Magento and goes through the \"all\" scope)",
                        STORE_VIEW_ATTRIBUTES.join(", ")
                    ),
                ));
            }
            if !attributes.contains(n) {
                return Err(cx.err(&k, format!("\"{n}\" is not among this target's attributes")));
            }
        }
        if let Some(dup) = first_duplicate(&store_view_attributes) {
            return Err(cx.err(&k, format!("\"{dup}\" is listed twice")));
        }
        if !store_view_attributes.is_empty() && store_code == "all" {
            return Err(cx.err(&k, "needs the store view's code in store_code, not \"all\""));
        }
    }
    let order_comment = raw.order_comment.unwrap_or(false);
    let order_status_after_export = match raw.order_status_after_export {
        Some(st) if st.trim().is_empty() => {
            return Err(cx.err(
                &key("order_status_after_export"),
                "must not be empty (leave it out instead)",
            ))
        }
        other => other,
    };
    cx.no_blank_items(&key("stores"), &raw.stores)?;
    let stores = match raw.stores {
        None => None,
        Some(codes) => Some(stores(cx, &key("stores"), codes)?),
    };
    let tax_classes = ids(cx, &key("tax_classes"), raw.tax_classes)?;
    let customer_groups = ids(cx, &key("customer_groups"), raw.customer_groups)?;
    let mut sources = BTreeMap::new();
    for (k, code) in raw.sources.unwrap_or_default() {
        if code.trim().is_empty() {
            return Err(cx.err(&key("sources").key(&k), "must not be empty"));
        }
        sources.insert(k, code);
    }
    let mut carriers = BTreeMap::new();
    for (k, c) in raw.carriers.unwrap_or_default() {
        let at = key("carriers").key(&k);
        let required = |field: &str, v: Option<String>| match v {
            Some(s) if s.trim().is_empty() => Err(cx.err(&at.key(field), "must not be empty")),
            Some(s) => Ok(s),
            None => Err(cx.err(&at.key(field), "missing (required)")),
        };
        let carrier = Carrier {
            code: required("code", c.code)?,
            title: required("title", c.title)?,
        };
        carriers.insert(k, carrier);
    }
    let mut channels = BTreeMap::new();
    for (k, ch) in raw.channels.unwrap_or_default() {
        let at = key("channels").key(&k);
        if !valid_store_code(&k) {
            return Err(cx.err(&at, "is not a Magento store code (letters, digits and '_')"));
        }
        let ch = ch.trim();
        if ch.is_empty() || ch.chars().count() > CHANNEL_WIDTH || !ch.is_ascii() {
            return Err(cx.err(
                &at,
                format!("must be 1 to {CHANNEL_WIDTH} ASCII characters (the ORDINI channel field)"),
            ));
        }
        channels.insert(k, ch.to_string());
    }
    // Known before any order is fetched: an order of a listed store would
    // otherwise fail at every poll for want of a channel.
    if let Some(missing) = stores
        .iter()
        .flatten()
        .find(|code| !channels.contains_key(*code))
    {
        return Err(cx.err(
            &key("stores"),
            format!(
                "\"{missing}\" has no ERP channel: add {missing} = \"...\" to [target.channels]"
            ),
        ));
    }

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

fn flows(cx: &Cx<'_>, key: &KeyPath, names: &[String]) -> Result<Vec<Flow>, ConfigError> {
    if names.is_empty() {
        return Err(cx.err(key, "must list at least one flow"));
    }
    let mut flows = Vec::with_capacity(names.len());
    for n in names {
        let Some(flow) = Flow::parse(n) else {
            return Err(cx.err(
                key,
                format!("unknown flow \"{n}\": use products, stock, customers, fulfilment, orders"),
            ));
        };
        if flows.contains(&flow) {
            return Err(cx.err(key, format!("\"{n}\" is listed twice")));
        }
        flows.push(flow);
    }
    Ok(flows)
}

fn attributes(cx: &Cx<'_>, key: &KeyPath, names: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for n in &names {
        if let Some((_, why)) = SET_BY_PONTE.iter().find(|(a, _)| a == n) {
            return Err(cx.err(key, format!("\"{n}\": {why}")));
        }
        if !PRODUCT_ATTRIBUTES.contains(&n.as_str()) {
            return Err(cx.err(
                key,
                format!(
                    "unknown attribute \"{n}\": use {}",
                    PRODUCT_ATTRIBUTES.join(", ")
                ),
            ));
        }
    }
    if let Some(dup) = first_duplicate(&names) {
        return Err(cx.err(key, format!("\"{dup}\" is listed twice")));
    }
    Ok(names)
}

fn stores(cx: &Cx<'_>, key: &KeyPath, codes: Vec<String>) -> Result<Vec<String>, ConfigError> {
    if codes.is_empty() {
        return Err(cx.err(
            key,
            "must list at least one store code (leave it out for every store)",
        ));
    }
    if let Some(bad) = codes.iter().find(|c| !valid_store_code(c)) {
        return Err(cx.err(
            key,
            format!("\"{bad}\" is not a store code (letters, digits and '_')"),
        ));
    }
    if let Some(dup) = first_duplicate(&codes) {
        return Err(cx.err(key, format!("\"{dup}\" is listed twice")));
    }
    Ok(codes)
}

/// A table of ERP code -> Magento id (0 or more).
fn ids(
    cx: &Cx<'_>,
    key: &KeyPath,
    raw: Option<BTreeMap<String, i64>>,
) -> Result<BTreeMap<String, i64>, ConfigError> {
    let map = raw.unwrap_or_default();
    if let Some((k, id)) = map.iter().find(|(_, id)| **id < 0) {
        return Err(cx.err(
            &key.key(k),
            format!("must be a Magento id, 0 or more (found {id})"),
        ));
    }
    Ok(map)
}

/// `auth = { token = SECRET }` or `auth = { admin = { username, password = SECRET } }`.
/// No message here quotes a value: a literal secret typed by mistake must
/// not reach a log.
fn auth(cx: &Cx<'_>, key: &KeyPath, raw: AuthFile) -> Result<Auth, ConfigError> {
    match (raw.token, raw.admin) {
        (Some(Shaped(t)), None) => Ok(Auth::Token(secret(cx, &key.key("token"), t)?)),
        (None, Some(Shaped(a))) => {
            let at = key.key("admin");
            let username = match a.username {
                Some(u) if !u.trim().is_empty() => u,
                Some(_) => return Err(cx.err(&at.key("username"), "must not be empty")),
                None => return Err(cx.err(&at.key("username"), "missing (required)")),
            };
            let password = match a.password {
                Some(Shaped(p)) => secret(cx, &at.key("password"), p)?,
                None => {
                    return Err(cx.err(
                        &at.key("password"),
                        "missing: use password = { env = \"VAR\" } or { file = \"PATH\" }",
                    ))
                }
            };
            Ok(Auth::Admin { username, password })
        }
        (Some(_), Some(_)) => Err(cx.err(key, "give either token or admin, not both")),
        (None, None) => Err(cx.err(
            key,
            "empty: use { token = { env = \"VAR\" } } or { admin = { username = \"...\", password = { env = \"VAR\" } } }",
        )),
    }
}

/// `{ env = "VAR" }` or `{ file = "PATH" }`.
fn secret(cx: &Cx<'_>, key: &KeyPath, raw: SecretFile) -> Result<Secret, ConfigError> {
    match (raw.env, raw.file) {
        (Some(var), None) => {
            if !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                Ok(Secret::Env(var))
            } else {
                // Not quoted: a secret pasted in place of the name.
                Err(cx.err(
                    &key.key("env"),
                    "must be an environment variable name (letters, digits, '_')",
                ))
            }
        }
        (None, Some(path)) if !path.trim().is_empty() => {
            Ok(Secret::File(resolve_path(cx.base_dir, &path)))
        }
        (None, Some(_)) => Err(cx.err(&key.key("file"), "expected a file path")),
        (Some(_), Some(_)) => Err(cx.err(key, "give either env or file, not both")),
        (None, None) => Err(cx.err(
            key,
            "must be { env = \"VAR\" } or { file = \"PATH\" }: \
             secrets are never written in the configuration itself",
        )),
    }
}
