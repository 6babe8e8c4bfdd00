//! The state store: what ponte has seen, what the ERP wants, and what each
//! Magento target has acknowledged. One SQLite file (WAL) in the state
//! directory; every query lives in this module so that a server database
//! could take its place. `store.rs` opens it; each table family has a file.

mod clock;
mod entities;
mod exports;
mod failures;
mod files;
mod history;
mod migrations;
mod retained;
mod retaining;
mod snapshot;
mod store;
mod watermarks;

#[cfg(test)]
pub(crate) use clock::seconds_between;
pub(crate) use clock::{now_text, text_in};
pub(crate) use entities::{Ack, Located, Payload, Stored};
pub use exports::{watermark_scope, ExportIntent, ExportedOrder, IntentOrder};
pub use failures::{status_of, FailureRow};
pub(crate) use files::{FileFinish, FileRow, TargetCounts};
pub(crate) use history::{FailureView, FileView, HistoryFilter};
pub use snapshot::{SnapEntry, Snapshot, REMOVED};
pub use store::{Store, StoreError};
pub(crate) use watermarks::LAST_SCAN;
