//! What a target receives of a change, typed per flow.
//!
//! Reconcile keeps an entity as its ERP fields, since that is what is
//! hashed, stored, compared and shown by `plan --json`. Those field names
//! are read here and nowhere past it: the request builders
//! (`push::payload`) and the push work on a product, a stock row, a
//! customer or a fulfilment event, so a field renamed in the spec is a
//! compile error or a change in this one file, not a silent blank in a
//! request.

use serde_json::{Map, Value as Json};

use super::changes::{Action, Change};
use crate::model::PRODUCTS;

/// Product fields whose values are option ids in Magento (select
/// attributes): sent as labels, resolved by the push.
pub const SELECT_ATTRIBUTES: [&str; 3] = ["brand", "size", "color"];

fn text<'a>(fields: &'a Map<String, Json>, key: &str) -> &'a str {
    fields.get(key).and_then(Json::as_str).unwrap_or_default()
}

/// A decimal field as Magento takes it; a blank one as nothing.
fn number(value: &Json) -> f64 {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or(0.0)
}

/// What a product is, from its `kind` (`S`, `C`, `V`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductKind {
    Simple,
    Configurable,
    Variant,
}

/// One changed product value this target receives.
#[derive(Debug, Clone, PartialEq)]
pub enum ProductValue {
    Name(String),
    Price(f64),
    Weight(f64),
    Active(bool),
    /// The ERP's VAT code, which the target maps to a tax class.
    VatCode(String),
    /// A text attribute (`description`, `ean`).
    Text {
        attribute: &'static str,
        value: String,
    },
    /// A select attribute (see [`SELECT_ATTRIBUTES`]), as its label.
    Select {
        attribute: &'static str,
        label: String,
    },
}

impl ProductValue {
    /// The ERP field it comes from, as `store_view_attributes` names it.
    pub(crate) fn field(&self) -> &'static str {
        match self {
            ProductValue::Name(_) => "name",
            ProductValue::Price(_) => "price",
            ProductValue::Weight(_) => "weight",
            ProductValue::Active(_) => "active",
            ProductValue::VatCode(_) => "vat_code",
            ProductValue::Text { attribute, .. } | ProductValue::Select { attribute, .. } => {
                attribute
            }
        }
    }

    fn of(field: &str, value: &Json) -> Option<ProductValue> {
        let label = || value.as_str().unwrap_or_default().to_string();
        Some(match field {
            "name" => ProductValue::Name(label()),
            "price" => ProductValue::Price(number(value)),
            "weight" => ProductValue::Weight(number(value)),
            "active" => ProductValue::Active(value == &Json::Bool(true)),
            "vat_code" => ProductValue::VatCode(label()),
            "description" => ProductValue::Text {
                attribute: "description",
                value: label(),
            },
            "ean" => ProductValue::Text {
                attribute: "ean",
                value: label(),
            },
            select => {
                let attribute = SELECT_ATTRIBUTES.into_iter().find(|a| *a == select)?;
                ProductValue::Select {
                    attribute,
                    label: label(),
                }
            }
        })
    }
}

/// A product change: what the product is as a whole, and the values sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductChange {
    pub sku: String,
    pub action: Action,
    pub kind: ProductKind,
    /// Its kind is among what is sent: type and visibility are set again,
    /// and a configurable parent is given its options.
    pub reshaped: bool,
    /// Its parent link is among what is sent: a variant is linked (again).
    pub relinked: bool,
    /// A variant's parent SKU (blank: none).
    pub parent: String,
    /// The parent the target had it under, for a variant moving.
    pub previous_parent: String,
    /// A configurable parent's axes: the attributes its variants differ in.
    pub axes: Vec<String>,
    /// A variant's values of the spec's axes, those it has.
    pub axis_values: Vec<(&'static str, String)>,
    /// The changed values this target receives, in field order.
    pub values: Vec<ProductValue>,
}

impl ProductChange {
    pub(crate) fn of(change: &Change) -> ProductChange {
        let whole = &change.payload;
        let kind = match text(whole, "kind") {
            "C" => ProductKind::Configurable,
            "V" => ProductKind::Variant,
            _ => ProductKind::Simple,
        };
        let parent_field = PRODUCTS.parent.unwrap_or_default();
        let axis_values = match kind {
            ProductKind::Variant => PRODUCTS
                .axes
                .iter()
                .map(|&axis| (axis, text(whole, axis).to_string()))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
            _ => Vec::new(),
        };
        ProductChange {
            sku: change.key.clone(),
            action: change.action,
            kind,
            reshaped: change.fields.contains_key("kind"),
            relinked: change.fields.contains_key(parent_field),
            parent: text(whole, parent_field).to_string(),
            previous_parent: change
                .before
                .as_ref()
                .map(|b| text(b, parent_field).to_string())
                .unwrap_or_default(),
            axes: change.variant_axes.clone().unwrap_or_default(),
            axis_values,
            values: change
                .fields
                .iter()
                .filter_map(|(k, v)| ProductValue::of(k, v))
                .collect(),
        }
    }

    pub(crate) fn is_create(&self) -> bool {
        self.action == Action::Create
    }

    /// A configurable parent the push gives its options: new, or turning
    /// into a parent.
    pub fn becomes_parent(&self) -> bool {
        self.kind == ProductKind::Configurable && (self.is_create() || self.reshaped)
    }

    /// A variant the push links to its parent: new, or moving.
    pub(crate) fn links_variant(&self) -> bool {
        self.kind == ProductKind::Variant && (self.is_create() || self.relinked)
    }
}

/// A stock row: one SKU's quantity at one ERP warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct StockRow {
    pub sku: String,
    pub warehouse: String,
    /// In millionths, so that sums are exact; an oversold (negative)
    /// warehouse counts as nothing, as it is published alone.
    pub quantity_micros: i64,
}

impl StockRow {
    pub(crate) fn of(change: &Change) -> StockRow {
        StockRow::from_fields(&change.payload)
    }

    /// A row of the desired state (a sibling summed with a change).
    pub(crate) fn from_fields(fields: &Map<String, Json>) -> StockRow {
        StockRow {
            sku: text(fields, "sku").to_string(),
            warehouse: text(fields, "warehouse").to_string(),
            quantity_micros: ponte_layout::record::Decimal::parse(text(fields, "quantity"), 6)
                .map_or(0, |d| d.units.max(0)),
        }
    }
}

/// A customer as Magento receives it: always whole.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerChange {
    pub code: String,
    pub action: Action,
    pub name: String,
    pub fiscal_code: String,
    pub vat_number: String,
    pub email: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
    /// Trimmed; `None` when blank.
    pub province: Option<String>,
    pub country: String,
    pub phone: String,
    pub price_list: String,
    /// The e-mail the target had, for an account whose e-mail changed.
    pub previous_email: Option<String>,
}

impl CustomerChange {
    pub(crate) fn of(change: &Change) -> CustomerChange {
        let p = &change.payload;
        let s = |key: &str| text(p, key).to_string();
        CustomerChange {
            code: change.key.clone(),
            action: change.action,
            name: s("name"),
            fiscal_code: s("fiscal_code"),
            vat_number: s("vat_number"),
            email: s("email"),
            street: s("street"),
            postcode: s("postcode"),
            city: s("city"),
            province: Some(text(p, "province").trim().to_string()).filter(|s| !s.is_empty()),
            country: s("country"),
            phone: s("phone"),
            price_list: s("price_list"),
            previous_email: change.before.as_ref().map(|b| text(b, "email").to_string()),
        }
    }

    /// The country and the province code, when it has a province.
    pub(crate) fn province(&self) -> Option<(&str, &str)> {
        let province = self.province.as_deref()?;
        Some((self.country.trim(), province))
    }

    /// A company has a VAT number; a person, a fiscal code.
    pub(crate) fn is_company(&self) -> bool {
        !self.vat_number.is_empty()
    }
}

/// What a fulfilment event does to its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FulfilmentAct {
    /// `S` shipped, `P` partly shipped: a shipment of the event's items.
    Ship,
    /// `F`: an invoice.
    Invoice,
    /// `A`: a cancellation.
    Cancel,
}

/// An item of a shipment.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipItem {
    pub sku: String,
    pub quantity: f64,
}

/// A fulfilment event on an order, by its increment id.
#[derive(Debug, Clone, PartialEq)]
pub struct FulfilmentChange {
    /// The event's name (order, kind, delivery note).
    pub key: String,
    pub order_number: String,
    pub act: FulfilmentAct,
    pub carrier: String,
    pub tracking_number: String,
    pub items: Vec<ShipItem>,
}

impl FulfilmentChange {
    /// An event code the contract does not define is refused rather than
    /// guessed at: a schema given a new code must not cancel orders.
    pub(crate) fn of(change: &Change) -> Result<FulfilmentChange, String> {
        let p = &change.payload;
        let act = match text(p, "event") {
            "S" | "P" => FulfilmentAct::Ship,
            "F" => FulfilmentAct::Invoice,
            "A" => FulfilmentAct::Cancel,
            other => return Err(format!("unknown fulfilment event {other:?}")),
        };
        let items = p
            .get("items")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(|i| ShipItem {
                sku: i
                    .get("sku")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string(),
                quantity: i.get("quantity").map_or(0.0, number),
            })
            .collect();
        Ok(FulfilmentChange {
            key: change.key.clone(),
            order_number: text(p, "order_number").to_string(),
            act,
            carrier: text(p, "carrier").to_string(),
            tracking_number: text(p, "tracking_number").to_string(),
            items,
        })
    }

    /// The comment a shipment made by this event carries: what Magento
    /// holds says whether the event was shipped, across crashes and lost
    /// answers alike.
    pub(crate) fn marker(&self) -> String {
        format!("ERP event {}", self.key)
    }
}
