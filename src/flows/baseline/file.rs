//! Baseline from ERP files: the operator vouches that the shop holds what
//! the file says. Every entity of the file that the target's applied state
//! does not already hold with the same content is recorded as applied (and
//! as desired, as `ingest` would); the removals a complete file implies are
//! not: the operator vouches for what is in the file, not for what is not.
//!
//! This does what `plan_file` plus `TargetPlan::acks` would, without
//! decoding any entity: the file is retained by the store and each entity
//! recorded as a reference to its line, so that a million-row file is
//! recorded in seconds and a few hundred megabytes.

use std::path::Path;
use std::sync::Arc;

use crate::model::Flow;
use crate::model::{spec_for_flow, BoundSpec};
use crate::reconcile::{classify, scan_desired, DesiredSet};
use crate::state::{Ack, Store};
use ponte_layout::record::scan::{FileReport, ScanOptions};
use ponte_layout::schema::{Mode, Schema};

/// Why a file is refused, as `ingest` would refuse it.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Rejected(String),
    Stale { exported_at: String, newest: String },
    NotBaselined(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Rejected(r) => write!(f, "REJECTED: {r}"),
            Refusal::Stale {
                exported_at,
                newest,
            } => write!(
                f,
                "STALE: exported {exported_at}, older than {newest} already committed"
            ),
            Refusal::NotBaselined(r) => f.write_str(r),
        }
    }
}

/// A validated file, ready to be recorded.
pub struct Checked {
    pub flow: Flow,
    pub bound: BoundSpec,
    pub report: FileReport,
    pub set: DesiredSet,
    pub exported_at: Option<String>,
    pub mode: Option<Mode>,
}

/// What recording a file did.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub flow: Flow,
    pub entities: u64,
    /// Recorded now (the others were applied with this content already).
    pub recorded: u64,
    pub unchanged: u64,
}

/// Validates `path` as ingest does: schema, bad records, trailer, duplicate
/// keys, and staleness against the store.
pub fn check(
    path: &Path,
    schema: Arc<Schema>,
    store: &Store,
    scan: &ScanOptions,
) -> anyhow::Result<Result<Checked, (Option<FileReport>, Refusal)>> {
    let flow = Flow::from_schema_flow(&schema.flow);
    let spec = match (flow, spec_for_flow(&schema.flow)) {
        (Some(f @ (Flow::Products | Flow::Stock | Flow::Customers)), Some(spec)) => (f, spec),
        _ => {
            return Ok(Err((
                None,
                Refusal::NotBaselined(format!(
                    "{} files are not baselined (products, stock and customers are)",
                    schema.flow
                )),
            )))
        }
    };
    let (flow, spec) = spec;
    let bound = BoundSpec::bind(spec, schema).map_err(anyhow::Error::msg)?;
    let (report, set) = scan_desired(path, &bound, scan)?;
    if report.is_rejected() {
        let reason = format!(
            "{} errors ({} bad records, {} in the file's structure)",
            report.error_total, report.bad_records, report.structural_errors
        );
        return Ok(Err((Some(report), Refusal::Rejected(reason))));
    }
    let header = report.header.clone();
    let exported_at = header.as_ref().and_then(|h| h.exported_at.clone());
    let mode = header.and_then(|h| h.mode);
    if let (Some(ts), Some(newest)) = (&exported_at, store.flow_newest(&bound.schema.flow)?) {
        if *ts < newest {
            let refusal = Refusal::Stale {
                exported_at: ts.clone(),
                newest,
            };
            return Ok(Err((Some(report), refusal)));
        }
    }
    Ok(Ok(Checked {
        flow,
        bound,
        report,
        set,
        exported_at,
        mode,
    }))
}

/// Records a checked file's entities as applied to `target` and as desired.
/// The file is retained and each entity recorded as a reference to its line
/// (nothing is decoded), in one transaction per table: a crash records all
/// of the file or none of it. `on_recorded` is told how many were recorded.
pub fn record(
    path: &Path,
    checked: &Checked,
    target: &str,
    store: &mut Store,
    mut on_recorded: impl FnMut(u64),
) -> anyhow::Result<Recorded> {
    let flow_name = checked.bound.schema.flow.clone();
    let applied = store.applied_snapshot(target, &flow_name)?;
    // Not complete: the removals a complete file implies are not vouched for.
    let classified = classify(&checked.set.entries, &applied, false);
    drop(applied);
    let todo = classified.creates.len() + classified.updates.len();
    let mut acks = Vec::with_capacity(todo);
    let retained = match checked.set.entries.is_empty() {
        true => None,
        false => Some(store.retain_file(path, &checked.bound.fingerprint())?),
    };
    if let Some(retained) = retained {
        for &i in classified.creates.iter().chain(&classified.updates) {
            let e = &checked.set.entries[i];
            acks.push(Ack::line(e.key_hash, e.hash, retained, e.offset));
        }
    }
    let unchanged = classified.unchanged;
    drop(classified);
    let recorded = acks.len() as u64;
    let done = commit(checked, target, store, acks, retained);
    // Whatever happened, the copy now lives as long as something points
    // into it, like any other.
    if let Some(r) = retained {
        store.release_retained(r)?;
    }
    done?;
    on_recorded(recorded);
    Ok(Recorded {
        flow: checked.flow,
        entities: checked.set.entries.len() as u64,
        recorded,
        unchanged,
    })
}

fn commit(
    checked: &Checked,
    target: &str,
    store: &mut Store,
    acks: Vec<Ack>,
    retained: Option<i64>,
) -> anyhow::Result<()> {
    let flow_name = &checked.bound.schema.flow;
    // The ERP's word first, as ingest commits it before sending; the flow's
    // newest timestamp moves on with it.
    store.commit_desired(flow_name, None, checked.exported_at.as_deref(), &acks)?;
    store.record_applied(target, flow_name, &acks)?;
    drop(acks);
    if let Some(r) = retained {
        // The entities already applied with this content are read from
        // this file from now on (see `Store::repoint`).
        let lines: Vec<(u64, u64, u64)> = checked
            .set
            .entries
            .iter()
            .map(|e| (e.key_hash, e.hash, e.offset))
            .collect();
        store.repoint(None, flow_name, r, &lines)?;
        store.repoint(Some(target), flow_name, r, &lines)?;
    }
    Ok(())
}
