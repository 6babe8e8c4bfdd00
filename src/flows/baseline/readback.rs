//! From Magento's answers back to the canonical form reconcile hashes: the
//! same field map `BoundSpec::entity` builds from a record, so that
//! `BoundSpec::hash_payload` of what the shop holds equals the hash of the
//! file line saying the same thing. These are the reverse of
//! `push::payload`, and where the way there loses something the way back
//! has to decide. The decisions:
//!
//! - Text is trimmed of spaces, as a fixed-width field is; absent text
//!   (a custom attribute the product lacks) is `""`, as a blank field is.
//! - Decimals are strings with the field's scale (`"18.90"`, `"1.000"`,
//!   `"12.000"`), rounded from Magento's float; an absent price or weight is
//!   zero (Magento has no "no weight"; a configurable may have no price).
//!   Stock below zero reads as zero, as the canonical form clamps it.
//! - Flags are booleans: product status 1 is `true`, 2 `false`.
//! - `kind`: a configurable product is `C`, a product some configurable
//!   lists among its children `V` (with that parent as `parent_sku`), any
//!   other `S` with no parent.
//! - `vat_code` reverses `tax_classes`, select attributes (brand, size,
//!   color) read back as their option labels, `warehouse` reverses `sources`
//!   and `price_list` reverses `customer_groups`. Where several ERP codes
//!   map to the same Magento value, the one the ERP's desired state holds
//!   wins, else the first in order; a Magento value no code maps to reads
//!   as `""` (a tax class or group) or as the raw option id (an option
//!   missing from the attribute), so that the next plan shows it.
//! - Stock: Magento holds per SKU and source (single-source: per SKU) the
//!   sum over the warehouses mapped there. It is split back into rows by
//!   the ERP's own quantities when they add up to it, else given whole to
//!   the first warehouse so that the next file sends the sum again (see
//!   `stock_split`).
//! - Fields the target does not receive (a product attribute missing from
//!   its `attributes`): Magento's value there is not ponte's doing, so the
//!   ERP's desired value is taken when the store has one (the hash then
//!   matches the file's); without one, the field is `null`. Either way the
//!   next plan shows no change for that target: a difference only in fields
//!   a target does not receive is a silent update, recorded by the next
//!   ingest without a request.
//! - Customer fields Magento does not hold: `active` (never sent) and the
//!   fiscal code of a company (its `taxvat` is the VAT number) come from the
//!   desired state, else `true` and `""`. The name is rebuilt from first and
//!   last name as `split_name` split it (a company's name is its address's
//!   `company`). A customer without `erp_customer_code` is not ponte's and
//!   is only counted.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value as Json};

use crate::config::Target;
use crate::model::{product_attribute, BoundSpec};
use crate::state::{Ack, Payload};
use ponte_layout::record::Decimal;
use ponte_layout::schema::FieldKind;

/// Option id -> label, per select attribute code.
pub(crate) type OptionLabels = HashMap<String, HashMap<String, String>>;

/// A child SKU -> its configurable parent's SKU.
pub(crate) type Parents = HashMap<String, String>;

/// One entity read back: its key and canonical fields (key parts first,
/// then the owned fields, as `BoundSpec::entity` orders them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReadBack {
    pub key: String,
    pub fields: Map<String, Json>,
}

impl ReadBack {
    /// The acknowledgement to record, or why the fields do not fit the
    /// schema (a price with more digits than the field holds).
    pub(crate) fn ack(self, bound: &BoundSpec) -> Result<Ack, String> {
        let hash = bound.hash_payload(&self.fields).ok_or_else(|| {
            format!(
                "{}: a value does not fit the {} schema",
                self.key, bound.schema.flow
            )
        })?;
        Ok(Ack {
            key_hash: BoundSpec::key_hash_of(&self.key),
            key: self.key,
            hash,
            payload: Payload::Json(Json::Object(self.fields).to_string()),
            removed: false,
        })
    }
}

fn scale_of(bound: &BoundSpec, key: &str) -> u8 {
    bound.schema.records[bound.record]
        .fields
        .iter()
        .find(|f| f.key == key)
        .and_then(|f| match f.kind {
            FieldKind::Decimal { scale, .. } => Some(scale),
            _ => None,
        })
        .unwrap_or(0)
}

/// A number (or numeric text) at the field's scale, as the canonical text.
pub(crate) fn decimal_text(
    value: Option<&Json>,
    scale: u8,
    clamp_negative: bool,
) -> Option<String> {
    let f = match value? {
        Json::Number(n) => n.as_f64()?,
        Json::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !f.is_finite() {
        return None;
    }
    let f = if clamp_negative { f.max(0.0) } else { f };
    let d = Decimal::parse(&format!("{f:.*}", scale as usize), scale)?;
    // "-0.00" is zero.
    Some(Decimal::new(d.units, scale).to_string())
}

/// Text as a fixed-width field holds it: spaces trimmed, absent as blank.
fn text_of(value: Option<&Json>) -> String {
    match value {
        Some(Json::String(s)) => s.trim_matches(' ').to_string(),
        Some(Json::Number(n)) => n.to_string(),
        Some(Json::Bool(b)) => u8::from(*b).to_string(),
        _ => String::new(),
    }
}

fn str_of<'a>(item: &'a Json, key: &str) -> Option<&'a str> {
    item.get(key).and_then(Json::as_str)
}

/// A custom attribute's value.
pub(crate) fn custom<'a>(item: &'a Json, code: &str) -> Option<&'a Json> {
    item.get("custom_attributes")?
        .as_array()?
        .iter()
        .find(|a| a.get("attribute_code").and_then(Json::as_str) == Some(code))
        .and_then(|a| a.get("value"))
}

/// The ERP code mapping to `value`: the desired one among several, else the first.
fn reverse<'m, V: PartialEq>(
    map: &'m BTreeMap<String, V>,
    value: &V,
    desired: Option<&str>,
) -> Option<&'m str> {
    let mut candidates = map
        .iter()
        .filter(|(_, v)| *v == value)
        .map(|(k, _)| k.as_str());
    let first = candidates.next()?;
    if desired == Some(first) {
        return Some(first);
    }
    Some(candidates.find(|c| desired == Some(*c)).unwrap_or(first))
}

fn desired_text<'a>(desired: Option<&'a Map<String, Json>>, key: &str) -> Option<&'a str> {
    desired.and_then(|d| d.get(key)).and_then(Json::as_str)
}

fn as_int(v: Option<&Json>) -> Option<i64> {
    match v? {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) struct ProductContext<'a> {
    pub target: &'a Target,
    pub bound: &'a BoundSpec,
    pub parents: &'a Parents,
    pub options: &'a OptionLabels,
}

/// A product of `GET /V1/products` in canonical form. `desired` is what the
/// ERP last said of it, if anything.
pub(crate) fn product(
    ctx: &ProductContext,
    item: &Json,
    desired: Option<&Map<String, Json>>,
) -> Result<ReadBack, String> {
    let sku = str_of(item, "sku")
        .filter(|s| !s.trim().is_empty())
        .ok_or("a product without a SKU")?
        .to_string();
    let parent = ctx.parents.get(&sku);
    let (kind, parent_sku) = match (str_of(item, "type_id"), parent) {
        (Some("configurable"), _) => ("C", String::new()),
        (_, Some(p)) => ("V", p.clone()),
        _ => ("S", String::new()),
    };
    let mut fields = Map::new();
    fields.insert("sku".into(), Json::String(sku.clone()));
    for key in ctx.bound.owned_keys() {
        let value = match key {
            "parent_sku" => Json::String(parent_sku.clone()),
            "kind" => Json::String(kind.into()),
            "name" => Json::String(text_of(item.get("name"))),
            "description" | "ean" => Json::String(text_of(custom(item, key))),
            "price" | "weight" => {
                let scale = scale_of(ctx.bound, key);
                let zero = Decimal::new(0, scale).to_string();
                Json::String(decimal_text(item.get(key), scale, false).unwrap_or(zero))
            }
            "vat_code" => {
                let code = as_int(custom(item, "tax_class_id")).and_then(|class| {
                    reverse(
                        &ctx.target.tax_classes,
                        &class,
                        desired_text(desired, "vat_code"),
                    )
                });
                Json::String(code.unwrap_or_default().to_string())
            }
            "active" => match as_int(item.get("status")) {
                Some(1) => Json::Bool(true),
                Some(2) => Json::Bool(false),
                _ => Json::Null,
            },
            "brand" | "size" | "color" => {
                let id = text_of(custom(item, key));
                let label = ctx
                    .options
                    .get(key)
                    .and_then(|o| o.get(&id))
                    .cloned()
                    .unwrap_or(id);
                Json::String(label)
            }
            _ => Json::Null,
        };
        fields.insert(key.to_string(), value);
    }
    not_received(ctx.target, &mut fields, desired);
    Ok(ReadBack { key: sku, fields })
}

/// Fields the target is not sent are not Magento's to tell: the ERP's word,
/// or nothing.
fn not_received(
    target: &Target,
    fields: &mut Map<String, Json>,
    desired: Option<&Map<String, Json>>,
) {
    for (key, value) in fields.iter_mut() {
        let Some(attr) = product_attribute(key) else {
            continue;
        };
        if !target.receives_attribute(attr) {
            *value = desired
                .and_then(|d| d.get(key))
                .cloned()
                .unwrap_or(Json::Null);
        }
    }
}

/// The stock rows that a quantity Magento holds for `sku` at one place
/// stands for. Magento holds the sum over `warehouses` (those mapped
/// there), which cannot be split back by itself: when the quantities the
/// ERP's desired state gives the warehouses it knows there add up to it,
/// each is adopted as the ERP has it (nothing to send); otherwise the whole
/// quantity goes to the first known warehouse and 0 to the others, so that
/// the rows differ from the ERP's and the next file sends the sum again.
/// With no warehouse known, the first mapped one takes it all.
pub(crate) fn stock_split(
    bound: &BoundSpec,
    sku: &str,
    warehouses: &[&str],
    quantity: Option<&Json>,
    desired: impl Fn(&str) -> Option<Map<String, Json>>,
) -> Vec<ReadBack> {
    let scale = scale_of(bound, "quantity");
    let units = |q: Option<&Json>| {
        decimal_text(q, scale, true)
            .and_then(|t| Decimal::parse(&t, scale))
            .map_or(0, |d| d.units)
    };
    let known: Vec<(&str, Map<String, Json>)> = warehouses
        .iter()
        .filter_map(|w| desired(w).map(|d| (*w, d)))
        .collect();
    if known.is_empty() {
        return warehouses
            .first()
            .map(|w| stock(bound, sku, w, quantity))
            .into_iter()
            .collect();
    }
    let erp_sum = known
        .iter()
        .map(|(_, d)| units(d.get("quantity")))
        .fold(0i64, i64::saturating_add);
    if erp_sum == units(quantity) {
        return known
            .iter()
            .map(|(w, d)| stock(bound, sku, w, d.get("quantity")))
            .collect();
    }
    let zero = Json::from(0);
    known
        .iter()
        .enumerate()
        .map(|(i, (w, _))| stock(bound, sku, w, if i == 0 { quantity } else { Some(&zero) }))
        .collect()
}

/// A stock row in canonical form.
pub(crate) fn stock(
    bound: &BoundSpec,
    sku: &str,
    warehouse: &str,
    quantity: Option<&Json>,
) -> ReadBack {
    let scale = scale_of(bound, "quantity");
    let zero = Decimal::new(0, scale).to_string();
    let mut fields = Map::new();
    fields.insert("sku".into(), Json::String(sku.to_string()));
    fields.insert("warehouse".into(), Json::String(warehouse.to_string()));
    fields.insert(
        "quantity".into(),
        Json::String(decimal_text(quantity, scale, true).unwrap_or(zero)),
    );
    ReadBack {
        key: format!("{sku}/{warehouse}"),
        fields,
    }
}

/// The ERP code of a customer, if ponte's.
pub(crate) fn customer_code(item: &Json) -> Option<String> {
    let code = text_of(custom(item, "erp_customer_code"));
    (!code.is_empty()).then_some(code)
}

/// The default billing address (else the first).
fn billing(item: &Json) -> Option<&Json> {
    let addresses = item.get("addresses")?.as_array()?;
    let by_flag = addresses
        .iter()
        .find(|a| a.get("default_billing").and_then(Json::as_bool) == Some(true));
    let by_id = || {
        let id = as_int(item.get("default_billing"))?;
        addresses.iter().find(|a| as_int(a.get("id")) == Some(id))
    };
    by_flag.or_else(by_id).or_else(|| addresses.first())
}

/// A customer of `GET /V1/customers/search` in canonical form.
pub(crate) fn customer(
    target: &Target,
    bound: &BoundSpec,
    code: String,
    item: &Json,
    desired: Option<&Map<String, Json>>,
) -> ReadBack {
    let empty = Json::Null;
    let address = billing(item).unwrap_or(&empty);
    let company = text_of(address.get("company"));
    let vat = {
        let v = text_of(address.get("vat_id"));
        if v.is_empty() && !company.is_empty() {
            text_of(item.get("taxvat"))
        } else {
            v
        }
    };
    let is_company = !company.is_empty() || !vat.is_empty();
    let first = text_of(item.get("firstname"));
    let last = text_of(item.get("lastname"));
    let name = if is_company {
        if company.is_empty() {
            first.clone()
        } else {
            company.clone()
        }
    } else if first == last || last.is_empty() {
        first.clone()
    } else if first.is_empty() {
        last.clone()
    } else {
        format!("{first} {last}")
    };
    let street = address
        .get("street")
        .and_then(Json::as_array)
        .map(|lines| {
            lines
                .iter()
                .map(|l| text_of(Some(l)))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let province = address
        .get("region")
        .map(|r| text_of(r.get("region_code")))
        .unwrap_or_default();
    let price_list = as_int(item.get("group_id"))
        .and_then(|g| {
            reverse(
                &target.customer_groups,
                &g,
                desired_text(desired, "price_list"),
            )
        })
        .unwrap_or_default()
        .to_string();
    let mut fields = Map::new();
    fields.insert("customer_code".into(), Json::String(code.clone()));
    for key in bound.owned_keys() {
        let value = match key {
            "name" => Json::String(name.clone()),
            "fiscal_code" => Json::String(if is_company {
                desired_text(desired, "fiscal_code")
                    .unwrap_or_default()
                    .to_string()
            } else {
                text_of(item.get("taxvat"))
            }),
            "vat_number" => Json::String(if is_company {
                vat.clone()
            } else {
                String::new()
            }),
            "email" => Json::String(text_of(item.get("email"))),
            "street" => Json::String(street.clone()),
            "postcode" => Json::String(text_of(address.get("postcode"))),
            "city" => Json::String(text_of(address.get("city"))),
            "province" => Json::String(province.clone()),
            "country" => Json::String(text_of(address.get("country_id"))),
            "phone" => Json::String(text_of(address.get("telephone"))),
            "price_list" => Json::String(price_list.clone()),
            "active" => desired
                .and_then(|d| d.get("active"))
                .cloned()
                .unwrap_or(Json::Bool(true)),
            _ => Json::Null,
        };
        fields.insert(key.to_string(), value);
    }
    ReadBack { key: code, fields }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_take_the_field_scale() {
        assert_eq!(decimal_text(Some(&json!(18.9)), 2, false).unwrap(), "18.90");
        assert_eq!(decimal_text(Some(&json!(1)), 3, false).unwrap(), "1.000");
        assert_eq!(
            decimal_text(Some(&json!("12.5000")), 3, false).unwrap(),
            "12.500"
        );
        assert_eq!(decimal_text(Some(&json!(-3)), 3, true).unwrap(), "0.000");
        assert_eq!(
            decimal_text(Some(&json!(-0.0001)), 2, false).unwrap(),
            "0.00"
        );
        assert_eq!(decimal_text(Some(&json!("x")), 2, false), None);
        assert_eq!(decimal_text(None, 2, false), None);
    }

    #[test]
    fn a_sum_is_split_by_the_erp_only_when_it_adds_up() {
        let registry = ponte_layout::schema::Registry::built_in();
        let schema = registry.by_flow("GIACENZE").unwrap();
        let bound =
            BoundSpec::bind(crate::model::spec_for_flow("GIACENZE").unwrap(), schema).unwrap();
        let erp = |w: &str| {
            let q = match w {
                "A" => "120.000",
                "B" => "15.000",
                _ => return None,
            };
            Some(
                json!({"sku": "S", "warehouse": w, "quantity": q})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
        };
        let split = |shop: f64| {
            stock_split(&bound, "S", &["A", "B", "C"], Some(&json!(shop)), erp)
                .into_iter()
                .map(|r| (r.key, r.fields["quantity"].as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            split(135.0),
            [
                ("S/A".to_string(), "120.000".to_string()),
                ("S/B".into(), "15.000".into())
            ]
        );
        assert_eq!(
            split(100.0),
            [
                ("S/A".to_string(), "100.000".to_string()),
                ("S/B".into(), "0.000".into())
            ]
        );
        let none = stock_split(&bound, "S", &["C", "D"], Some(&json!(7)), |_| None);
        assert_eq!(none.len(), 1);
        assert_eq!(none[0].key, "S/C");
    }

    #[test]
    fn reverse_prefers_the_desired_code() {
        let map: BTreeMap<String, i64> =
            [("00".to_string(), 0), ("22".into(), 2), ("X22".into(), 2)].into();
        assert_eq!(reverse(&map, &2, None), Some("22"));
        assert_eq!(reverse(&map, &2, Some("X22")), Some("X22"));
        assert_eq!(reverse(&map, &2, Some("10")), Some("22"));
        assert_eq!(reverse(&map, &9, None), None);
    }
}
