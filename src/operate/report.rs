//! The operator's views, plain data that serialises as the commands'
//! `--json` and renders as their tables and the status page.

use serde::Serialize;

/// `ponte status`: is the service up, what waits, what each flow reached.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct StatusReport {
    pub service: ServiceState,
    pub waiting: Vec<WaitingFile>,
    pub in_progress: Vec<String>,
    /// Files rejected in the last 7 days, newest first.
    pub rejected_recently: Vec<FileRow>,
    pub flows: Vec<FlowState>,
    pub orders: Vec<OrdersState>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct ServiceState {
    pub running: bool,
    /// The pid the instance lock names, when a ponte holds it.
    pub pid: Option<u32>,
    /// When the holder took the lock.
    pub since: Option<String>,
    /// When the service last scanned the share (recorded once a minute).
    pub last_scan: Option<String>,
    /// The newest file ponte recorded.
    pub last_activity: Option<String>,
}

/// A file in the inbound folder, not yet taken.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WaitingFile {
    pub name: String,
    pub flow: Option<String>,
    pub why: String,
    pub age_seconds: u64,
}

/// Per flow and target: how far the target got.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FlowState {
    pub flow: String,
    pub target: String,
    pub last_file: Option<String>,
    pub last_applied_at: Option<String>,
    pub failing: u64,
    pub next_retry: Option<String>,
}

/// Per target taking orders.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct OrdersState {
    pub target: String,
    pub last_poll: Option<String>,
    /// Why the last poll failed, when it did.
    pub last_poll_error: Option<String>,
    pub watermark: Option<String>,
    pub last_file: Option<String>,
    pub last_file_orders: u64,
}

/// One file handled, as `history` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct FileRow {
    pub id: i64,
    pub name: String,
    pub flow: String,
    /// How it came: watch, ingest or reprocess (none for files recorded
    /// before modes were kept).
    pub mode: Option<String>,
    /// applied, applied-with-failures, duplicate, stale, held, rejected, claimed.
    pub outcome: String,
    pub records: u64,
    pub first_seen: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub targets: Vec<TargetCounts>,
    /// Where the file is now (archive, rejected, in-progress).
    pub location: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TargetCounts {
    pub target: String,
    pub sent: u64,
    pub unchanged: u64,
    pub failed: u64,
}

/// An entity a target refused and has not applied since.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailureRow {
    pub target: String,
    pub flow: String,
    pub key: String,
    /// Magento's HTTP status, when the message starts with one.
    pub status: Option<u16>,
    pub message: String,
    /// The file and line the entity came from, when the store knows them.
    pub file: Option<String>,
    pub line: Option<u64>,
    pub first_attempt: Option<String>,
    pub last_attempt: Option<String>,
    pub attempts: i64,
    pub next_retry: Option<String>,
    /// When a later attempt applied it (history only).
    pub resolved_at: Option<String>,
}

/// `ponte show KEY`: the ERP's word and each target's acknowledgement.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct KeyDetail {
    pub key: String,
    pub desired: Vec<Described>,
    pub applied: Vec<Acknowledged>,
    pub failures: Vec<FailureRow>,
}

/// What the ERP last said for the key in one flow.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Described {
    pub flow: String,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub fields: serde_json::Value,
}

/// What a target acknowledged for the key in one flow.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Acknowledged {
    pub target: String,
    pub flow: String,
    pub at: Option<String>,
    pub file: Option<String>,
    pub removed: bool,
}
