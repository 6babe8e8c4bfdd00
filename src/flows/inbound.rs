//! One inbound file's way: validate and reconcile (plan), commit the desired
//! state, push each target's changes, and record what each target
//! acknowledged. The applied state advances per entity on Magento's success
//! only; what failed is recorded with Magento's reason and sent again by a
//! later run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::config::{Config, Flow};
use crate::magento::push::{push, Outcome, TargetContext};
use crate::model::{spec_for_flow, BoundSpec};
use crate::reconcile::{ack_for, plan_file, Change, FilePlan, PlanOptions, Verdict};
use crate::record::scan::ScanOptions;
use crate::schema::Schema;
use crate::state::{Ack, Store, REMOVED};

/// Changes pushed between two acknowledgements in the store, so that a crash
/// resends at most this many (products go whole: parents need their variants).
const SLICE: usize = 1000;

/// From this many entities, a file is retained and what it changes is
/// recorded as references to its lines; a smaller file's changes are
/// recorded as rows, so that the hourly small files are not kept as copies.
pub const RETAIN_FROM: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    pub target: String,
    pub sent: u64,
    pub unchanged: u64,
    pub failed: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct FileResult {
    pub file: String,
    pub flow: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub targets: Vec<TargetResult>,
    #[serde(skip)]
    pub plan: Option<FilePlan>,
}

impl FileResult {
    /// Everything valid, current, and applied on every target.
    pub fn all_applied(&self) -> bool {
        self.verdict == Verdict::Ready && self.targets.iter().all(|t| t.failed.is_empty())
    }
}

/// The push side of a run: one runtime, one client per target.
pub struct Pusher {
    runtime: tokio::runtime::Runtime,
    contexts: HashMap<String, Arc<TargetContext>>,
}

impl Pusher {
    pub fn new(config: &Config) -> anyhow::Result<Pusher> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let mut contexts = HashMap::new();
        for t in &config.targets {
            contexts.insert(t.name.clone(), TargetContext::new(t)?);
        }
        Ok(Pusher { runtime, contexts })
    }

    pub fn push(&self, target: &str, flow: Flow, changes: &[Change]) -> Vec<Outcome> {
        match self.contexts.get(target) {
            Some(ctx) => self.runtime.block_on(push(ctx, flow, changes)),
            None => changes
                .iter()
                .map(|_| Outcome::Failed(format!("no target {target}")))
                .collect(),
        }
    }
}

/// `allow_stale` is for a deliberate replay (`reprocess --force`): an old
/// file is then applied even though newer data was.
pub fn ingest_file(
    path: &Path,
    schema: Arc<Schema>,
    config: &Config,
    store: &mut Store,
    pusher: &Pusher,
    allow_stale: bool,
) -> anyhow::Result<FileResult> {
    let flow = Flow::from_schema_flow(&schema.flow).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: flow {} is not applied to Magento",
            path.display(),
            schema.flow
        )
    })?;
    let opts = PlanOptions {
        scan: ScanOptions {
            max_errors: config.intake.max_errors,
            ..ScanOptions::default()
        },
        create_limit: usize::MAX,
    };
    let fingerprint = spec_for_flow(&schema.flow)
        .map(|spec| BoundSpec::bind(spec, Arc::clone(&schema)).map(|b| b.fingerprint()))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let mut plan = plan_file(path, schema, config, Some(store), &opts)?;
    if !allow_stale {
        plan.check_stale(Some(store))?;
    }
    let mut result = FileResult {
        file: plan.file.clone(),
        flow: plan.flow.clone(),
        verdict: plan.verdict.clone(),
        targets: Vec::new(),
        plan: None,
    };
    if plan.verdict != Verdict::Ready {
        result.plan = Some(plan);
        return Ok(result);
    }
    let retained = match fingerprint {
        Some(f) if plan.entries.len() >= RETAIN_FROM => Some(store.retain_file(path, &f)?),
        _ => None,
    };
    // The unchanged entities are read from this file from now on, so that
    // older retained files are let go (see `Store::repoint`).
    let lines: Vec<(u64, u64, u64)> = match retained {
        Some(_) => plan
            .entries
            .iter()
            .map(|e| (e.key_hash, e.hash, e.offset))
            .collect(),
        None => Vec::new(),
    };
    // The ERP's word is committed before anything is sent: a crash from here
    // on loses nothing, the next run finds what was not acknowledged.
    store.commit_desired(
        &plan.flow,
        None,
        plan.exported_at.as_deref(),
        &desired_rows(&plan, retained),
    )?;
    if let Some(r) = retained {
        store.repoint(None, &plan.flow, r, &lines)?;
    }
    for tp in &plan.targets {
        let mut outcome = TargetResult {
            target: tp.target.clone(),
            sent: 0,
            unchanged: tp.unchanged,
            failed: Vec::new(),
        };
        // Updates the target does not receive need no request, only the record.
        store.record_applied(
            &tp.target,
            &plan.flow,
            &tp.silent
                .iter()
                .map(|c| ack_for(c, retained))
                .collect::<Vec<_>>(),
        )?;
        let slice = if flow == Flow::Products {
            usize::MAX
        } else {
            SLICE
        };
        for changes in tp.changes.chunks(slice.min(tp.changes.len().max(1))) {
            let outcomes = pusher.push(&tp.target, flow, changes);
            let mut acks = Vec::new();
            for (change, o) in changes.iter().zip(outcomes) {
                match o {
                    Outcome::Applied => {
                        outcome.sent += 1;
                        acks.push(ack_for(change, retained));
                    }
                    Outcome::Failed(reason) => {
                        tracing::warn!(target = %tp.target, flow = %plan.flow, key = %change.key, "not applied: {reason}");
                        store.record_failure(
                            &tp.target,
                            &plan.flow,
                            &change.key,
                            Some(change.key_hash),
                            &reason,
                            None,
                        )?;
                        outcome.failed.push((change.key.clone(), reason));
                    }
                }
            }
            store.record_applied(&tp.target, &plan.flow, &acks)?;
        }
        if let Some(r) = retained {
            store.repoint(Some(&tp.target), &plan.flow, r, &lines)?;
        }
        result.targets.push(outcome);
    }
    result.plan = Some(plan);
    Ok(result)
}

/// The entities this file changes on any target, as the ERP now describes them.
fn desired_rows(plan: &FilePlan, retained: Option<i64>) -> Vec<Ack> {
    let mut rows: BTreeMap<u64, Ack> = BTreeMap::new();
    for tp in &plan.targets {
        for c in tp.changes.iter().chain(&tp.silent) {
            rows.entry(c.key_hash).or_insert_with(|| {
                let mut a = ack_for(c, retained);
                a.hash &= !REMOVED;
                a
            });
        }
    }
    rows.into_values().collect()
}
