//! The TOML configuration: paths of the share and the state store, intake
//! timing, the orders poll, and one `[[target]]` per Magento shop.
//!
//! The file is deserialised into its own shape (`file`, serde derive with
//! `deny_unknown_fields` at every level), then checked across fields and
//! turned into [`Config`] (`validate`). Every mistake names the file and the
//! key path (`target "b2c": concurrency: must be 1..=256`), and every key
//! ponte does not know is an error naming it. Messages never quote a value
//! a type error was about: secrets are named by where they live, never
//! written in the file, and never shown.
//!
//! `samples/ponte.toml` is the commented reference.

mod base_url;
mod duration;
mod error;
mod file;
mod ops;
mod secret;
mod target;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use duration::parse_duration;
pub(crate) use error::ConfigError;
pub(crate) use ops::Ops;
pub use secret::{Secret, SecretString};

use crate::model::{Api, Flow, StockMode, PRODUCT_ATTRIBUTES};

/// What a target receives when it lists no `attributes`: all of them.
pub(crate) fn default_attributes() -> Vec<String> {
    PRODUCT_ATTRIBUTES.iter().map(|a| a.to_string()).collect()
}

/// The whole configuration, validated, with paths made absolute.
#[derive(Debug, Clone)]
pub struct Config {
    pub paths: Paths,
    pub intake: Intake,
    pub orders: Orders,
    pub targets: Vec<Target>,
    /// `[http]`, `[alerts]`, `[expect]`.
    pub ops: Ops,
    /// The file the configuration came from (as given), for messages.
    pub source: PathBuf,
}

/// Folders: the state store and the share the ERP and ponte exchange files on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub state_dir: PathBuf,
    pub inbound: PathBuf,
    pub in_progress: PathBuf,
    pub archive: PathBuf,
    pub rejected: PathBuf,
    pub outbound: PathBuf,
    /// `None`: `./schemas` if present, else the schemas built into the binary.
    pub schemas: Option<PathBuf>,
}

/// When an inbound file counts as complete, and when it is held back.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub scan_interval: Duration,
    pub settle_checks: u32,
    pub settle_spacing: Duration,
    pub max_errors: usize,
    /// A file unchanged this long without being ready goes to rejected.
    pub incomplete_timeout: Duration,
    /// The most a complete file may remove of what a target holds of its
    /// flow, as a share (0..=1); a file removing more is held back.
    pub max_removal_share: f64,
}

impl Default for Intake {
    fn default() -> Self {
        Intake {
            scan_interval: Duration::from_secs(5),
            settle_checks: 3,
            settle_spacing: Duration::from_secs(2),
            max_errors: 100,
            incomplete_timeout: Duration::from_secs(3600),
            max_removal_share: 0.1,
        }
    }
}

/// The poll of Magento's orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orders {
    pub poll_interval: Duration,
    pub overlap: Duration,
    pub statuses: Vec<String>,
    /// The company code (ditta) in the ORDINI header, up to 6 characters.
    pub company: String,
    /// How long the poll may fail before an alert.
    pub alert_after: Duration,
}

impl Default for Orders {
    fn default() -> Self {
        Orders {
            poll_interval: Duration::from_secs(180),
            overlap: Duration::from_secs(600),
            statuses: vec!["pending".to_string(), "processing".to_string()],
            company: "000001".to_string(),
            alert_after: Duration::from_secs(15 * 60),
        }
    }
}

/// One Magento shop (or store view) and how it is fed.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub api: Api,
    /// Scheme and host (and port, and path prefix if any), without a trailing `/`.
    pub base_url: String,
    pub store_code: String,
    pub auth: Auth,
    /// `false` is allowed; whoever builds the client must log a loud warning.
    pub verify_tls: bool,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub concurrency: usize,
    pub retries: u32,
    pub stock: StockMode,
    pub stock_batch: usize,
    pub attribute_set_id: i64,
    pub website_ids: Vec<i64>,
    pub flows: Vec<Flow>,
    pub attributes: Vec<String>,
    /// Of `attributes`, those written through `store_code` as the store
    /// view's own values; the rest go through `all` as the defaults.
    pub store_view_attributes: Vec<String>,
    /// ERP VAT code -> Magento tax class id.
    pub tax_classes: BTreeMap<String, i64>,
    /// ERP warehouse -> Magento inventory source code.
    pub sources: BTreeMap<String, String>,
    /// ERP price list -> Magento customer group id.
    pub customer_groups: BTreeMap<String, i64>,
    /// ERP carrier -> Magento carrier code and title.
    pub carriers: BTreeMap<String, Carrier>,
    pub order_comment: bool,
    pub order_status_after_export: Option<String>,
    /// The store views (codes) whose orders this target exports; `None`:
    /// every store of the shop.
    pub stores: Option<Vec<String>>,
    /// Magento store code -> the ERP channel written in each order of that
    /// store (ORDINI `channel`).
    pub channels: BTreeMap<String, String>,
}

impl Target {
    /// Whether this target takes part in `flow`.
    pub(crate) fn receives(&self, flow: Flow) -> bool {
        self.flows.contains(&flow)
    }

    /// Whether requests to this target travel unencrypted beyond this
    /// machine (`http://` to a host other than loopback): allowed, like
    /// `verify_tls = false`, and warned about the same way.
    pub(crate) fn plaintext_beyond_loopback(&self) -> bool {
        base_url::plaintext_beyond_loopback(&self.base_url)
    }

    /// Whether this target is sent the product attribute `attr` (one of
    /// [`PRODUCT_ATTRIBUTES`]; the `sku` key is not an attribute here).
    pub(crate) fn receives_attribute(&self, attr: &str) -> bool {
        self.attributes.iter().any(|a| a == attr)
    }
}

/// A Magento shipping carrier as a shipment's track names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    pub code: String,
    pub title: String,
}

/// How ponte signs in to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A Magento 2 integration access token, sent as a bearer token.
    Token(Secret),
    /// An admin user (REST: exchanged for a token; XML-RPC: API user and key).
    Admin { username: String, password: Secret },
}

impl Config {
    /// This configuration with no limit on what a complete file may remove:
    /// an operator's explicit word (`--allow-mass-removal`) for one run.
    pub(crate) fn allowing_mass_removal(&self) -> Config {
        let mut c = self.clone();
        c.intake.max_removal_share = 1.0;
        c
    }

    /// Reads and validates the configuration at `path`. Relative paths in it
    /// are resolved against the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let tried = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
                return Err(ConfigError::NotFound {
                    path: path.to_path_buf(),
                    tried,
                });
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = std::path::absolute(&parent).unwrap_or(parent);
        let mut config = Config::from_str_at(&text, &base, &path.display().to_string())?;
        config.source = path.to_path_buf();
        Ok(config)
    }

    /// Parses and validates configuration text; relative paths resolve against
    /// `base_dir`, and messages name `source_name`.
    pub(crate) fn from_str_at(
        text: &str,
        base_dir: &Path,
        source_name: &str,
    ) -> Result<Config, ConfigError> {
        validate::config(text, base_dir, source_name)
    }

    /// The target called `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }
}
