//! Which records make which entities, and which of their fields the ERP owns.
//!
//! A field listed in `owned` is part of the entity: it is hashed, stored and
//! compared. Fields the ERP sends but Magento never receives (the unit, the
//! last-change date, the restock date) are left out, so a change to them
//! alone is not a change.

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Product,
    Stock,
    Customer,
    Fulfilment,
}

/// What becomes of an entity that a complete file no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Set this flag field to false (products: disabled in the shop).
    ClearFlag(&'static str),
    /// Set this quantity field to zero (stock).
    ZeroQuantity(&'static str),
    /// Leave it alone (customers: an account is not deleted by a file).
    Keep,
}

#[derive(Debug, Clone, Copy)]
pub struct EntitySpec {
    pub kind: EntityKind,
    /// The schema's flow name.
    pub flow: &'static str,
    /// The record type holding one entity.
    pub record: &'static str,
    /// Fields whose values, joined by `/`, name the entity.
    pub key: &'static [&'static str],
    pub owned: &'static [&'static str],
    /// Quantities published as zero when negative (oversold).
    pub clamp_negative: &'static [&'static str],
    pub removal: Removal,
    /// For products: the field naming a variant's parent, and the
    /// attributes variants may differ in.
    pub parent: Option<&'static str>,
    pub axes: &'static [&'static str],
}

pub const PRODUCTS: EntitySpec = EntitySpec {
    kind: EntityKind::Product,
    flow: "ARTICOLI",
    record: "AR",
    key: &["sku"],
    owned: &[
        "parent_sku",
        "kind",
        "name",
        "description",
        "ean",
        "price",
        "weight",
        "vat_code",
        "active",
        "brand",
        "size",
        "color",
    ],
    clamp_negative: &[],
    removal: Removal::ClearFlag("active"),
    parent: Some("parent_sku"),
    axes: &["size", "color"],
};

pub const STOCK: EntitySpec = EntitySpec {
    kind: EntityKind::Stock,
    flow: "GIACENZE",
    record: "GI",
    key: &["sku", "warehouse"],
    owned: &["quantity"],
    clamp_negative: &["quantity"],
    removal: Removal::ZeroQuantity("quantity"),
    parent: None,
    axes: &[],
};

pub const CUSTOMERS: EntitySpec = EntitySpec {
    kind: EntityKind::Customer,
    flow: "CLIENTI",
    record: "CL",
    key: &["customer_code"],
    owned: &[
        "name",
        "fiscal_code",
        "vat_number",
        "email",
        "street",
        "postcode",
        "city",
        "province",
        "country",
        "phone",
        "price_list",
        "active",
    ],
    clamp_negative: &[],
    removal: Removal::Keep,
    parent: None,
    axes: &[],
};

/// The one-record-one-entity flows. Fulfilment groups an event with its
/// items and is mapped in `fulfilment`.
pub const RECORD_ENTITIES: [EntitySpec; 3] = [PRODUCTS, STOCK, CUSTOMERS];

pub fn spec_for_flow(flow: &str) -> Option<&'static EntitySpec> {
    RECORD_ENTITIES
        .iter()
        .find(|s| s.flow.eq_ignore_ascii_case(flow))
}
