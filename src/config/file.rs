//! The configuration file's shape, as serde reads it: every key optional
//! here, so that a missing one is reported by `validate` with its path and
//! what to write, and every table closed (`deny_unknown_fields`), so that a
//! misspelt key is an error naming it.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::Deserialize as DeriveDeserialize;

use super::duration::DurationText;

#[derive(DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub paths: Option<PathsFile>,
    pub intake: Option<IntakeFile>,
    pub orders: Option<OrdersFile>,
    pub target: Option<Vec<TargetFile>>,
    /// The operator's tables, read by `ops` with serde of their own.
    pub http: Option<toml::Value>,
    pub alerts: Option<toml::Value>,
    pub expect: Option<toml::Value>,
}

#[derive(DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PathsFile {
    pub state_dir: Option<String>,
    pub inbound: Option<String>,
    pub in_progress: Option<String>,
    pub archive: Option<String>,
    pub rejected: Option<String>,
    pub outbound: Option<String>,
    pub schemas: Option<String>,
}

#[derive(DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IntakeFile {
    pub scan_interval: Option<DurationText>,
    pub settle_checks: Option<i64>,
    pub settle_spacing: Option<DurationText>,
    pub max_errors: Option<i64>,
    pub incomplete_timeout: Option<DurationText>,
    /// `0.1` is a tenth; `0` and `1` may be written as integers.
    pub max_removal_share: Option<f64>,
}

#[derive(DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrdersFile {
    pub poll_interval: Option<DurationText>,
    pub overlap: Option<DurationText>,
    pub statuses: Option<Vec<String>>,
    pub company: Option<String>,
    pub alert_after: Option<DurationText>,
}

#[derive(DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetFile {
    pub name: Option<String>,
    pub api: Option<String>,
    pub base_url: Option<String>,
    pub store_code: Option<String>,
    pub auth: Option<Shaped<AuthFile>>,
    pub verify_tls: Option<bool>,
    pub connect_timeout: Option<DurationText>,
    pub request_timeout: Option<DurationText>,
    pub concurrency: Option<i64>,
    pub retries: Option<i64>,
    pub stock: Option<String>,
    pub stock_batch: Option<i64>,
    pub attribute_set_id: Option<i64>,
    pub website_ids: Option<Vec<i64>>,
    pub flows: Option<Vec<String>>,
    pub attributes: Option<Vec<String>>,
    pub store_view_attributes: Option<Vec<String>>,
    pub tax_classes: Option<BTreeMap<String, i64>>,
    pub sources: Option<BTreeMap<String, String>>,
    pub customer_groups: Option<BTreeMap<String, i64>>,
    pub carriers: Option<BTreeMap<String, CarrierFile>>,
    pub order_comment: Option<bool>,
    pub order_status_after_export: Option<String>,
    pub stores: Option<Vec<String>>,
    pub channels: Option<BTreeMap<String, String>>,
}

#[derive(DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CarrierFile {
    pub code: Option<String>,
    pub title: Option<String>,
}

#[derive(DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthFile {
    pub token: Option<Shaped<SecretFile>>,
    pub admin: Option<Shaped<AdminFile>>,
}

impl Shape for AuthFile {
    const SHAPE: &'static str = "{ token = { env = \"VAR\" } } or \
        { admin = { username = \"...\", password = { env = \"VAR\" } } }";
}

#[derive(DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AdminFile {
    pub username: Option<String>,
    pub password: Option<Shaped<SecretFile>>,
}

impl Shape for AdminFile {
    const SHAPE: &'static str = "{ username = \"...\", password = { env = \"VAR\" } }";
}

#[derive(DeriveDeserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SecretFile {
    pub env: Option<String>,
    pub file: Option<String>,
}

impl Shape for SecretFile {
    const SHAPE: &'static str = "{ env = \"VAR\" } or { file = \"PATH\" } \
        (secrets are never written in the configuration itself)";
}

/// A table that says what it should look like, in the file's words, when
/// something else is found in its place (`token = "..."`).
pub(super) trait Shape {
    const SHAPE: &'static str;
}

/// A [`Shape`]d table: read as the derived `T`, key by key (so the key path
/// of an error inside it is kept), but expected as `T::SHAPE`.
pub(super) struct Shaped<T>(pub T);

impl<'de, T: Deserialize<'de> + Shape> Deserialize<'de> for Shaped<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Shape> Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(T::SHAPE)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(V(PhantomData)).map(Shaped)
    }
}
