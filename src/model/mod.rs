//! Entities mapped from records: products (simple, configurable parents and
//! their variants), stock per SKU and source, customers, fulfilment events.

mod bound;
mod canon;
pub mod fulfilment;
mod spec;

pub use bound::{content_hash, Axes, BoundSpec, Entity, MAX_AXES, UNVOUCHED};
pub use canon::{parse_iso_date, Canon};
pub use spec::{
    product_attribute, spec_for_flow, EntityKind, EntitySpec, Removal, CUSTOMERS, PRODUCTS,
    RECORD_ENTITIES, STOCK,
};
