//! The state store: what ponte has seen, what the ERP wants, and what each
//! Magento target has acknowledged. One SQLite file (WAL) in the state
//! directory; every query lives in this module so that a server database
//! could take its place.

mod exports;
mod migrations;
mod retained;
mod snapshot;
mod store;

pub use exports::{watermark_scope, ExportIntent, ExportedOrder, IntentOrder};
pub use retained::RetainedFile;
pub use snapshot::{SnapEntry, Snapshot, REMOVED};
pub use store::{
    now_text, Ack, DesiredRow, FailureRow, FileRow, Located, Payload, Store, StoreError, Stored,
};
