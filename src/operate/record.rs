//! What the flows tell the operator layer as they go: each file's run
//! (kept in the store's `runs` table, so that `history` knows its
//! duration, its counts and where it went), each orders poll, each scan.
//! Metrics, the health check and alerts are fed from here, so that a flow
//! makes one call per event.

use serde::{Deserialize, Serialize};

use super::alerts::{self, Cause};
use super::metrics;
use super::report::TargetCounts;
use super::time::now_secs;
use crate::flows::inbound::FileResult;
use crate::flows::orders::TargetPoll;
use crate::state::{Store, StoreError};

/// A file's run is `runs.command = "file <files.id>"`.
pub const RUN_PREFIX: &str = "file ";

/// The watermark that holds a target's last successful orders poll.
pub fn polled_scope(target: &str) -> String {
    format!("polled/{target}")
}

/// What a file's run row keeps as its summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileSummary {
    pub location: Option<String>,
    pub targets: Vec<TargetCounts>,
}

/// A file's processing begins: its run row.
pub fn file_started(store: &Store, file_id: i64) -> Result<i64, StoreError> {
    super::health::get().scan_busy();
    store.start_run(&format!("{RUN_PREFIX}{file_id}"))
}

/// How a file's processing ended.
pub struct Done<'a> {
    pub name: &'a str,
    /// The schema's flow (ARTICOLI).
    pub flow: &'a str,
    /// The status its `files` row now has.
    pub outcome: &'a str,
    /// Where the file is now.
    pub location: Option<&'a std::path::Path>,
    pub result: Option<&'a FileResult>,
    pub error: Option<&'a str>,
}

/// A file's processing ended: its run row, metrics, alerts.
pub fn file_done(store: &Store, run: i64, done: &Done<'_>) -> Result<(), StoreError> {
    let Done {
        name,
        flow,
        outcome,
        location,
        result,
        error,
    } = *done;
    let targets: Vec<TargetCounts> = result
        .iter()
        .flat_map(|r| &r.targets)
        .map(|t| TargetCounts {
            target: t.target.clone(),
            sent: t.sent,
            unchanged: t.unchanged,
            failed: t.failed.len() as u64,
        })
        .collect();
    let m = metrics::get();
    m.file(flow, outcome);
    let now = now_secs();
    for t in &targets {
        m.entities(&t.target, flow, "applied", t.sent);
        m.entities(&t.target, flow, "failed", t.failed);
        if matches!(outcome, "applied" | "applied-with-failures") {
            m.applied_at(flow, &t.target, now);
        }
    }
    match outcome {
        "rejected" | "stale" | "held" => alerts::raise(
            Cause::FileRejected(flow.to_string()),
            &format!(
                "{name} was {outcome}: {}",
                error.unwrap_or("see its .err report")
            ),
            name,
        ),
        "applied-with-failures" => alerts::raise(
            Cause::FileWithFailures(flow.to_string()),
            &format!(
                "{name} applied with {} entities refused",
                targets.iter().map(|t| t.failed).sum::<u64>()
            ),
            name,
        ),
        _ => {}
    }
    super::health::file_seen(flow);
    super::health::get().beat_scan();
    let summary = FileSummary {
        location: location.map(|p| p.display().to_string()),
        targets,
    };
    let text = serde_json::to_string(&summary).unwrap_or_default();
    store.finish_run(run, outcome, &text)
}

/// One orders poll of one target ended.
pub fn orders_polled(store: &Store, report: &TargetPoll) -> Result<(), StoreError> {
    let now = now_secs();
    super::health::orders_polled(report.ok());
    if !report.ok() {
        alerts::orders_failing(
            &report.target,
            report.error.as_deref().unwrap_or("orders failed"),
        );
        return Ok(());
    }
    alerts::orders_ok(&report.target);
    metrics::get().orders_polled(&report.target, now, report.exported.len() as u64);
    store.set_watermark(&polled_scope(&report.target), &format!("{now:012}"))
}

/// One scan of the share found `backlog` files, the oldest waiting this long.
pub fn scanned(backlog: usize, oldest_age_secs: u64) {
    let m = metrics::get();
    m.backlog.set(backlog as i64);
    m.oldest_waiting.set(oldest_age_secs as i64);
    super::health::scanned();
}
