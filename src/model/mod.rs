//! Entities mapped from records: products (simple, configurable parents and
//! their variants), stock per SKU and source, customers, fulfilment events.

mod attributes;
mod bound;
mod canon;
mod flow;
pub mod fulfilment;
mod magento_api;
mod spec;

pub use attributes::{product_attribute, PRODUCT_ATTRIBUTES, SET_BY_PONTE, STORE_VIEW_ATTRIBUTES};
pub use bound::{content_hash, Axes, BoundSpec, Entity, MAX_AXES, UNVOUCHED};
pub use canon::{parse_iso_date, Canon};
pub use flow::Flow;
pub use magento_api::{Api, StockMode};
pub use spec::{
    spec_for_flow, EntityKind, EntitySpec, Removal, CUSTOMERS, PRODUCTS, RECORD_ENTITIES, STOCK,
};
