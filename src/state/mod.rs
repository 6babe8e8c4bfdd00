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

pub use clock::{local, now_text, parse_text, seconds_between, text_in};
pub use entities::{Ack, DesiredRow, Located, Payload, Stored};
pub use exports::{watermark_scope, ExportIntent, ExportedOrder, IntentOrder};
pub use failures::{status_of, FailureRow};
pub use files::{FileFinish, FileRow, TargetCounts};
pub use history::{
    Acknowledged, EntityView, FailureView, FileView, HistoryFilter, LastApplied, OrdersView,
    SourceLine,
};
pub use retained::RetainedFile;
pub use snapshot::{SnapEntry, Snapshot, REMOVED};
pub use store::{Store, StoreError};
