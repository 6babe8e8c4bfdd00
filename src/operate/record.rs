//! What the flows tell the operator layer as they go: each file's end,
//! each orders poll, each scan (the store keeps the files' history,
//! `state::files`; this is what is not kept).
//! Metrics, the health check and alerts are fed from here, so that a flow
//! makes one call per event.

use super::alerts::{self, Cause};
use super::report::TargetCounts;
use super::time::now_secs;
use crate::telemetry::metrics;

/// A file's processing begins.
pub(crate) fn file_started() {
    super::health::get().scan_busy();
}

/// How a file's processing ended.
pub(crate) struct Done<'a> {
    pub name: &'a str,
    /// The schema's flow (ARTICOLI).
    pub flow: &'a str,
    /// The status its `files` row now has.
    pub outcome: &'a str,
    /// What each target was sent, left unchanged and refused.
    pub targets: &'a [TargetCounts],
    pub error: Option<&'a str>,
}

/// A file's processing ended: metrics, alerts, health (the store keeps
/// its row, see `state::files`).
pub(crate) fn file_done(done: &Done<'_>) {
    let Done {
        name,
        flow,
        outcome,
        targets,
        error,
    } = *done;
    let m = metrics::get();
    m.file(flow, outcome);
    let now = now_secs();
    for t in targets {
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
}

/// One orders poll of one target ended.
pub(crate) fn orders_polled(target: &str, error: Option<&str>, exported: usize) {
    let now = now_secs();
    super::health::orders_polled(error.is_none());
    if let Some(error) = error {
        alerts::orders_failing(target, error);
        return;
    }
    alerts::orders_ok(target);
    metrics::get().orders_polled(target, now, exported as u64);
}

/// One scan of the share found `backlog` files, the oldest waiting this long.
pub(crate) fn scanned(backlog: usize, oldest_age_secs: u64) {
    let m = metrics::get();
    m.backlog.set(backlog as i64);
    m.oldest_waiting.set(oldest_age_secs as i64);
    super::health::scanned();
}
