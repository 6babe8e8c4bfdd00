//! The operator's keys: `[http]` (what the service serves), `[alerts]`
//! (where events go) and `[expect]` (how often each flow's file comes).
//! Serde-derived and self-contained: the reader hands over the three
//! tables as they are.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{parse_duration, ConfigError, Secret};
use crate::model::Flow;

/// All three, as the rest of ponte uses them.
#[derive(Debug, Clone, Default)]
pub struct Ops {
    pub http: Option<Http>,
    pub webhook: Option<Webhook>,
    /// Per flow: the longest time without a file before an alert.
    pub expect: BTreeMap<Flow, Duration>,
}

#[derive(Debug, Clone)]
pub struct Http {
    pub listen: SocketAddr,
    /// Required of every request as a bearer token; required in the
    /// configuration when `listen` is not a loopback address.
    pub token: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub token: Option<Secret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpKeys {
    listen: String,
    token: Option<SecretKeys>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsKeys {
    webhook: Option<WebhookKeys>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookKeys {
    url: String,
    token: Option<SecretKeys>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretKeys {
    env: Option<String>,
    file: Option<PathBuf>,
}

/// Reads the three tables (each `None` when absent).
pub(super) fn read(
    http: Option<toml::Value>,
    alerts: Option<toml::Value>,
    expect: Option<toml::Value>,
    base_dir: &Path,
    source_name: &str,
) -> Result<Ops, ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::Invalid {
        source_name: source_name.to_string(),
        key: key.to_string(),
        message,
    };
    let mut ops = Ops::default();
    if let Some(v) = http {
        let keys: HttpKeys = v.try_into().map_err(|e| invalid("http", de_message(e)))?;
        let listen: SocketAddr = keys.listen.parse().map_err(|_| {
            invalid(
                "http.listen",
                format!(
                    "\"{}\" is not an address and port such as 127.0.0.1:9187",
                    keys.listen
                ),
            )
        })?;
        let token = keys
            .token
            .map(|t| secret(t, base_dir).map_err(|m| invalid("http.token", m)))
            .transpose()?;
        if token.is_none() && !listen.ip().is_loopback() {
            return Err(invalid(
                "http.listen",
                format!(
                    "{listen} is reachable from other machines: set [http] token too \
                     (every request then needs it), or listen on 127.0.0.1"
                ),
            ));
        }
        ops.http = Some(Http { listen, token });
    }
    if let Some(v) = alerts {
        let keys: AlertsKeys = v.try_into().map_err(|e| invalid("alerts", de_message(e)))?;
        if let Some(w) = keys.webhook {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return Err(invalid(
                    "alerts.webhook.url",
                    "must be an http:// or https:// URL".to_string(),
                ));
            }
            let token = w
                .token
                .map(|t| secret(t, base_dir).map_err(|m| invalid("alerts.webhook.token", m)))
                .transpose()?;
            ops.webhook = Some(Webhook { url: w.url, token });
        }
    }
    if let Some(v) = expect {
        let table: BTreeMap<String, String> =
            v.try_into().map_err(|e| invalid("expect", de_message(e)))?;
        for (name, every) in table {
            let key = format!("expect.{name}");
            let flow = Flow::parse(&name)
                .filter(|f| *f != Flow::Orders)
                .ok_or_else(|| {
                    invalid(
                        &key,
                        "unknown flow: use products, stock, customers, fulfilment".into(),
                    )
                })?;
            let every = parse_duration(&every).map_err(|m| invalid(&key, m.to_string()))?;
            ops.expect.insert(flow, every);
        }
    }
    Ok(ops)
}

fn secret(keys: SecretKeys, base_dir: &Path) -> Result<Secret, String> {
    match (keys.env, keys.file) {
        (Some(var), None) => Ok(Secret::Env(var)),
        (None, Some(file)) => Ok(Secret::File(base_dir.join(file))),
        _ => Err("give exactly one of `env` or `file`".to_string()),
    }
}

/// serde's message names the key but may quote the value: a token is never
/// a value here (only where it lives), so the message is safe to show.
fn de_message(e: toml::de::Error) -> String {
    e.message().trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> toml::Value {
        toml::Value::Table(text.parse().unwrap())
    }

    fn read_http(text: &str) -> Result<Ops, ConfigError> {
        read(
            Some(value(text)),
            None,
            None,
            Path::new("/etc/ponte"),
            "ponte.toml",
        )
    }

    #[test]
    fn an_address_others_can_reach_needs_a_token() {
        assert!(read_http("listen = \"127.0.0.1:9187\"").is_ok());
        let e = read_http("listen = \"0.0.0.0:9187\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("http.listen") && e.contains("token"), "{e}");
        let ok =
            read_http("listen = \"0.0.0.0:9187\"\ntoken = { env = \"PONTE_HTTP_TOKEN\" }").unwrap();
        assert_eq!(
            ok.http.unwrap().token,
            Some(Secret::Env("PONTE_HTTP_TOKEN".into()))
        );
        let e = read_http("listen = \"127.0.0.1:1\"\nport = 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("port"), "{e}");
    }

    #[test]
    fn expectations_name_flows_and_durations() {
        let ops = read(
            None,
            None,
            Some(value("stock = \"2h\"\nproducts = \"26h\"")),
            Path::new("."),
            "p",
        )
        .unwrap();
        assert_eq!(ops.expect[&Flow::Stock], Duration::from_secs(7200));
        let e = read(
            None,
            None,
            Some(value("stok = \"2h\"")),
            Path::new("."),
            "p",
        )
        .unwrap_err();
        assert!(e.to_string().contains("expect.stok"), "{e}");
    }
}
