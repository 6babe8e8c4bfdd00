//! Magento 2.4.8's admin REST schema (`tests/fixtures/magento/`, Swagger
//! 2.0) as the stand-in's contract: every request body the stand-in
//! receives and every answer it gives is validated with the `jsonschema`
//! crate (Swagger 2.0 definitions are JSON Schema draft 4). A test that
//! starts the stand-in through [`shop`] fails when either side breaks it.
//!
//! Where the schema is stricter than Magento, the exception is listed here,
//! once, with the reason: see [`tolerated`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use magento_standin::{Contract, Fixture, StandIn};
use serde_json::{json, Value as Json};

pub const SCHEMA: &str = "tests/fixtures/magento/admin-schema-2.4.8.json";

/// The stock item endpoint of single-source (legacy CatalogInventory) shops.
pub const STOCK_ITEM: (&str, &str) = ("PUT", "/V1/products/{productSku}/stockItems/{itemId}");

/// Where the schema is stricter than Magento (requests). The schema marks
/// every property of `catalog-inventory-data-stock-item-interface` whose
/// getter is not declared nullable as required, but
/// `StockRegistry::updateStockItemBySku` loads the product's stock item and
/// `addData`s the body over it, so whatever the body leaves out keeps the
/// shop's value (and the `use_config_*` flags keep the configuration's).
/// ponte writes only the quantity and the in-stock flag, which are
/// therefore NOT in this list: a body without them is still an error.
pub const STOCK_ITEM_FILLED_BY_MAGENTO: [&str; 21] = [
    "is_qty_decimal",
    "show_default_notification_message",
    "use_config_min_qty",
    "min_qty",
    "use_config_min_sale_qty",
    "min_sale_qty",
    "use_config_max_sale_qty",
    "max_sale_qty",
    "use_config_backorders",
    "backorders",
    "use_config_notify_stock_qty",
    "notify_stock_qty",
    "use_config_qty_increments",
    "qty_increments",
    "use_config_enable_qty_inc",
    "enable_qty_increments",
    "use_config_manage_stock",
    "manage_stock",
    "low_stock_date",
    "is_decimal_divided",
    "stock_status_changed_auto",
];

/// The admin REST schema: path templates, operations, definitions, and a
/// draft 4 validator per body or answer schema, built when first needed.
pub struct Swagger {
    doc: Json,
    validators: Mutex<BTreeMap<String, Arc<Validator>>>,
}

impl Swagger {
    pub fn load() -> Swagger {
        let path = super::root().join(SCHEMA);
        let text = std::fs::read_to_string(&path).expect(SCHEMA);
        let doc: Json = serde_json::from_str(&text).expect("the schema is JSON");
        assert_eq!(doc["swagger"], "2.0");
        assert_eq!(doc["info"]["version"], "2.4.8");
        Swagger {
            doc,
            validators: Mutex::new(BTreeMap::new()),
        }
    }

    /// The template of `path` (below `/rest/<store>`) that has `method`:
    /// among those matching, the one with the most literal segments, as
    /// Magento prefers `/V1/customers/search` to `/V1/customers/{id}`.
    pub fn template(&self, method: &str, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let op = method.to_ascii_lowercase();
        let paths = self.doc["paths"].as_object().expect("paths");
        paths
            .iter()
            .filter(|(_, ops)| ops.get(&op).is_some())
            .filter_map(|(template, _)| {
                let parts: Vec<&str> = template.split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut literal = 0;
                for (t, s) in parts.iter().zip(&segments) {
                    if t.starts_with('{') && t.ends_with('}') {
                        if s.is_empty() {
                            return None;
                        }
                    } else if t == s {
                        literal += 1;
                    } else {
                        return None;
                    }
                }
                Some((literal, template))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, template)| template.clone())
    }

    fn operation(&self, method: &str, template: &str) -> &Json {
        &self.doc["paths"][template][method.to_ascii_lowercase()]
    }

    /// The operation's `in: body` parameter, if it has one.
    pub fn body_parameter(&self, method: &str, template: &str) -> Option<&Json> {
        self.operation(method, template)["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["in"] == "body")
    }

    /// The schema of the answer with `status`: its own, else, for an
    /// error, `default`. A success the schema gives no schema is a `void`
    /// service method, which Magento answers `[]`: nothing to check.
    fn answer_schema(&self, method: &str, template: &str, status: u16) -> Option<&Json> {
        let responses = &self.operation(method, template)["responses"];
        let r = match responses.get(status.to_string()) {
            Some(r) => r,
            None if status >= 400 => responses.get("default")?,
            None => return None,
        };
        r.get("schema")
    }

    fn validator(&self, key: String, schema: &Json) -> Arc<Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(key)
            .or_insert_with_key(|key| {
                let whole = json!({
                    "definitions": self.doc["definitions"].clone(),
                    "allOf": [schema.clone()],
                });
                Arc::new(
                    jsonschema::draft4::new(&whole)
                        .unwrap_or_else(|e| panic!("{key}: the schema: {e}")),
                )
            })
            .clone()
    }

    /// A draft 4 validator for the operation's body.
    pub fn body_validator(&self, method: &str, template: &str) -> Option<Arc<Validator>> {
        let parameter = self.body_parameter(method, template)?;
        Some(self.validator(format!("{method} {template} body"), &parameter["schema"]))
    }

    /// The problems of a request body, the listed exceptions left out.
    pub fn request_problems(&self, method: &str, path: &str, body: &Json) -> Vec<String> {
        let Some(template) = self.template(method, path) else {
            return vec![format!("no such route in 2.4.8: {method} {path}")];
        };
        if body.is_null() {
            let required = self
                .body_parameter(method, &template)
                .is_some_and(|p| p["required"] == true);
            return if required {
                vec!["the body is missing".into()]
            } else {
                Vec::new()
            };
        }
        let Some(validator) = self.body_validator(method, &template) else {
            return vec![format!("a body where 2.4.8 takes none: {body}")];
        };
        let problems = validator
            .iter_errors(body)
            .filter(|e| !tolerated(method, &template, e))
            .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
            .collect();
        problems
    }

    /// The problems of an answer (none where the route is not Magento's:
    /// the stand-in answers those with Magento's 404 before any check).
    pub fn answer_problems(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Json,
    ) -> Vec<String> {
        let Some(template) = self.template(method, path) else {
            return Vec::new();
        };
        let Some(schema) = self.answer_schema(method, &template, status) else {
            return Vec::new();
        };
        let validator = self.validator(format!("{method} {template} {status}"), schema);
        let problems = validator
            .iter_errors(body)
            .filter(|e| !magento_answers_so(e))
            .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
            .collect();
        problems
    }
}

/// Whether a request's schema error is a documented exception: a required
/// property Magento fills itself, missing from `stockItem`, on the stock
/// item endpoint only.
pub fn tolerated(method: &str, template: &str, error: &ValidationError<'_>) -> bool {
    if (method, template) != STOCK_ITEM || error.instance_path().as_str() != "/stockItem" {
        return false;
    }
    match error.kind() {
        ValidationErrorKind::Required { property } => property
            .as_str()
            .is_some_and(|p| STOCK_ITEM_FILLED_BY_MAGENTO.contains(&p)),
        _ => false,
    }
}

/// Where the schema is stricter than Magento (answers): properties the
/// schema marks required with a type, whose getters Magento declares
/// non-nullable but which return null for these entities, and which its
/// output processor then writes as `null` (it leaves out only the nulls of
/// getters declared nullable). A real 2.4.8 answers so: an order paid by
/// check has no card digits nor account status; a stock item that never
/// ran low has no low-stock date; a tracking number added without them
/// has no description, quantity or weight.
pub const NULL_IN_MAGENTO_ANSWERS: [&str; 6] = [
    "payment/account_status",
    "payment/cc_last4",
    "stock_item/low_stock_date",
    "tracks/*/description",
    "tracks/*/qty",
    "tracks/*/weight",
];

/// Whether an instance path ends with `tail` (`*` stands for an index).
fn ends_with_pattern(path: &str, tail: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    let wanted: Vec<&str> = tail.split('/').collect();
    segments.len() >= wanted.len()
        && segments[segments.len() - wanted.len()..]
            .iter()
            .zip(&wanted)
            .all(|(s, w)| s == w || (*w == "*" && s.parse::<usize>().is_ok()))
}

/// Whether an answer's schema error is a listed exception: one of the
/// nulls above, or an error's `parameters` as Magento writes them. The
/// schema says a list of objects, but `ErrorProcessor` renders a phrase's
/// parameters as they were given: positional ones (`%1`) as a list of
/// their values, named ones (`%fieldName`) as an object of them.
fn magento_answers_so(error: &ValidationError<'_>) -> bool {
    let path = error.instance_path().as_str();
    if !matches!(error.kind(), ValidationErrorKind::Type { .. }) {
        return false;
    }
    let value = error.instance();
    if path.ends_with("/parameters") && value.is_object() {
        return true;
    }
    if let Some((parent, _)) = path.rsplit_once('/') {
        if parent.ends_with("/parameters") && !value.is_object() && !value.is_array() {
            return true;
        }
    }
    value.is_null()
        && NULL_IN_MAGENTO_ANSWERS
            .iter()
            .any(|tail| ends_with_pattern(path, tail))
}

/// The schema, loaded once per test binary.
pub fn swagger() -> &'static Swagger {
    static SWAGGER: OnceLock<Swagger> = OnceLock::new();
    SWAGGER.get_or_init(Swagger::load)
}

struct Schema248;

impl Contract for Schema248 {
    fn request(&self, method: &str, path: &str, body: &Json) -> Vec<String> {
        swagger().request_problems(method, path, body)
    }

    fn response(&self, method: &str, path: &str, status: u16, body: &Json) -> Vec<String> {
        swagger().answer_problems(method, path, status, body)
    }
}

/// A stand-in held to Magento 2.4.8's schema: when it is dropped at the end
/// of a test that did not fail otherwise, any request body it refused or
/// answer of its own that broke the schema fails the test.
pub struct Shop(pub StandIn);

impl std::ops::Deref for Shop {
    type Target = StandIn;
    fn deref(&self) -> &StandIn {
        &self.0
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let mut violations = self.0.violations();
        violations.sort();
        violations.dedup();
        assert!(
            violations.is_empty(),
            "{} break(s) of Magento 2.4.8's schema:\n{}",
            violations.len(),
            violations.join("\n")
        );
    }
}

/// Starts the stand-in with `fixture`, held to the schema.
pub fn shop(fixture: Fixture) -> Shop {
    let standin = StandIn::spawn(fixture).expect("start the stand-in");
    standin.set_contract(Arc::new(Schema248));
    Shop(standin)
}
