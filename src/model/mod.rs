//! Entities mapped from records: products (simple, configurable parents and
//! their variants), stock per SKU and source, customers, fulfilment events.

mod attributes;
mod bound;
mod canon;
mod flow;
pub(crate) mod fulfilment;
mod magento_api;
mod spec;

pub(crate) use attributes::{
    product_attribute, PRODUCT_ATTRIBUTES, SET_BY_PONTE, STORE_VIEW_ATTRIBUTES,
};
pub use bound::{content_hash, Axes, BoundSpec, Entity, MAX_AXES, UNVOUCHED};
pub(crate) use canon::parse_iso_date;
pub(crate) use flow::Flow;
pub(crate) use magento_api::{Api, StockMode};
pub use spec::{
    spec_for_flow, EntityKind, EntitySpec, Removal, CUSTOMERS, PRODUCTS, RECORD_ENTITIES, STOCK,
};
