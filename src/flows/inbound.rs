//! One inbound file's way: validate and reconcile (plan), commit the desired
//! state, push each target's changes, and record what each target
//! acknowledged. The applied state advances per entity on Magento's success
//! only; what failed is recorded with Magento's reason and sent again by a
//! later run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use tracing::Instrument;

use crate::telemetry::progress::{Heartbeat, Progress};

use crate::config::{Config, Target};
use crate::model::Flow;
use crate::model::{spec_for_flow, BoundSpec};
use crate::push::payload::{stock_sibling_keys, Siblings};
use crate::push::{push, Outcome, TargetContext};
use crate::reconcile::{
    ack_for, decode_creates, plan_file, variant_axes, Change, ChangeInputs, DesiredEntry, FilePlan,
    FileRows, LineFetcher, PlanOptions, SiblingReader, VariantAxes, Verdict,
};
use crate::state::{Ack, Store, REMOVED};
use ponte_layout::record::scan::ScanOptions;
use ponte_layout::schema::{Mode, Schema};

use super::slices::{slices, Unit};

/// Changes pushed between two acknowledgements in the store, so that a crash
/// resends at most this many (products: whole families, see `slices`).
const SLICE: usize = 1000;

/// From this many entities, a file is retained and what it changes is
/// recorded as references to its lines; a smaller file's changes are
/// recorded as rows, so that the hourly small files are not kept as copies.
pub(crate) const RETAIN_FROM: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    pub target: String,
    pub sent: u64,
    pub unchanged: u64,
    pub failed: Vec<(String, String)>,
    /// Magento refused this target's credentials: the entities in `failed`
    /// with this reason were not sent, and are sent again after the wait.
    pub refused: Option<String>,
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

/// The Magento side of a run: one runtime, and one client per target
/// (its sign-in, its option and region caches). Clones share them: in the
/// service, the file push and the retries go through one, and the orders
/// poll runs on its runtime.
#[derive(Clone)]
pub struct Pusher {
    runtime: Arc<tokio::runtime::Runtime>,
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
            contexts.insert(
                t.name.clone(),
                TargetContext::new(t, Some(&config.paths.state_dir))?,
            );
        }
        Ok(Pusher {
            runtime: Arc::new(runtime),
            contexts,
        })
    }

    /// Runs `work` on the shared runtime, from any thread.
    pub(crate) fn block_on<F: std::future::Future>(&self, work: F) -> F::Output {
        self.runtime.block_on(work)
    }

    /// Magento's refusal of `target`'s credentials, while it holds: the
    /// reason every change held back by it failed with.
    pub(crate) fn refusal(&self, target: &str) -> Option<String> {
        self.contexts.get(target)?.client.refusal()
    }

    /// `siblings`: see `push::push`.
    pub(crate) fn push(
        &self,
        target: &str,
        flow: Flow,
        changes: &[Change],
        siblings: &Siblings,
    ) -> Vec<Outcome> {
        match self.contexts.get(target) {
            Some(ctx) => self
                .runtime
                .block_on(push(ctx, flow, changes, siblings).in_current_span()),
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
        // Creates are decoded slice by slice as they are sent.
        create_limit: 0,
        for_push: true,
    };
    let bound = spec_for_flow(&schema.flow)
        .map(|spec| BoundSpec::bind(spec, Arc::clone(&schema)))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let reading = Heartbeat::start("reading the file and comparing it with what was applied");
    let mut plan = plan_file(path, schema, config, Some(store), &opts)?;
    drop(reading);
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
    let retained = match &bound {
        Some(b) if plan.entries.len() >= RETAIN_FROM => {
            Some(store.retain_file(path, &b.fingerprint())?)
        }
        _ => None,
    };
    let sent = send(
        path,
        config,
        store,
        pusher,
        flow,
        &mut plan,
        bound.as_ref(),
        retained,
    );
    // Whatever happened, the copy now lives as long as something points
    // into it, like any other.
    if let Some(r) = retained {
        store.release_retained(r)?;
    }
    result.targets = sent?;
    result.plan = Some(plan);
    Ok(result)
}

/// Commits the desired state of a ready plan, then pushes each target's
/// changes slice by slice and records what each target acknowledged.
#[allow(clippy::too_many_arguments)]
fn send(
    path: &Path,
    config: &Config,
    store: &mut Store,
    pusher: &Pusher,
    flow: Flow,
    plan: &mut FilePlan,
    bound: Option<&BoundSpec>,
    retained: Option<i64>,
) -> anyhow::Result<Vec<TargetResult>> {
    // Creates are read from the copy the state keeps, when there is one:
    // what is acknowledged is then exactly what was sent.
    let source = match retained {
        Some(r) => store.retained_path(r),
        None => path.to_path_buf(),
    };
    let creates = match bound {
        Some(b) => Some(Creates::new(&source, b, plan)?),
        None => None,
    };
    if retained.is_none() {
        // A small file: its creates are decoded now and recorded as rows.
        for tp in &mut plan.targets {
            let pending = std::mem::take(&mut tp.pending);
            if let (Some(c), Some(target)) = (&creates, config.target(&tp.target)) {
                tp.changes
                    .extend(c.decode(target, &plan.entries, &pending)?);
                tp.changes.sort_by(|a, b| {
                    (a.line.is_none(), a.line, &a.key).cmp(&(b.line.is_none(), b.line, &b.key))
                });
            }
        }
    }
    let plan: &FilePlan = plan;
    // The other warehouses' rows that stock writes add up are read from
    // this file, else from the desired state committed below.
    let mut siblings = match (flow, bound) {
        (Flow::Stock, Some(b)) => Some(SiblingReader::new(
            b,
            Some(FileRows::open(
                &source,
                b,
                &plan.entries,
                plan.mode == Some(Mode::Complete),
            )?),
        )),
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
        &desired_rows(plan, retained),
    )?;
    if let Some(r) = retained {
        store.repoint(None, &plan.flow, r, &lines)?;
    }
    let mut results = Vec::new();
    for tp in &plan.targets {
        let _target = tracing::info_span!("push", target = %tp.target).entered();
        let target = config
            .target(&tp.target)
            .ok_or_else(|| anyhow::anyhow!("no target {}", tp.target))?;
        let mut outcome = TargetResult {
            target: tp.target.clone(),
            sent: 0,
            unchanged: tp.unchanged,
            failed: Vec::new(),
            refused: None,
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
        let total = (tp.changes.len() + tp.pending.len()) as u64;
        let mut progress = Progress::new(
            format!("pushed to {}", tp.target),
            total,
            plan.entries.len() >= RETAIN_FROM,
        );
        let work = slices(
            &tp.changes,
            &tp.pending,
            &plan.entries,
            &plan.variants,
            SLICE,
            flow == Flow::Products,
        );
        for slice in work {
            let mut pending = Vec::new();
            let mut changes = Vec::with_capacity(slice.len());
            for unit in slice {
                match unit {
                    Unit::Decoded(i) => changes.extend(tp.changes.get(i).cloned()),
                    Unit::Pending(i) => pending.push(i),
                }
            }
            if let Some(c) = &creates {
                changes.extend(c.decode(target, &plan.entries, &pending)?);
            }
            let changes = &changes[..];
            let others = match siblings.as_mut() {
                Some(reader) => {
                    let refs: Vec<&Change> = changes.iter().collect();
                    reader.read(Some(store), &stock_sibling_keys(target, &refs))?
                }
                None => Siblings::new(),
            };
            let outcomes = pusher.push(&tp.target, flow, changes, &others);
            // Said once for the target, not once per entity it holds back.
            let refused = pusher.refusal(&tp.target);
            if let (Some(r), None) = (&refused, &outcome.refused) {
                tracing::error!(target = %tp.target, flow = %plan.flow, "target {}: {r}; its changes stay pending", tp.target);
                outcome.refused = Some(r.clone());
            }
            let mut acks = Vec::new();
            for (change, o) in changes.iter().zip(outcomes) {
                match o {
                    Outcome::Applied => {
                        outcome.sent += 1;
                        acks.push(ack_for(change, retained));
                    }
                    Outcome::Failed(reason) => {
                        if refused.as_ref() != Some(&reason) {
                            tracing::warn!(target = %tp.target, flow = %plan.flow, key = %change.key, "not applied: {reason}");
                        }
                        store.record_failure_at(
                            &tp.target,
                            &plan.flow,
                            &change.key,
                            Some(change.key_hash),
                            &reason,
                            None,
                            change.line,
                        )?;
                        outcome.failed.push((change.key.clone(), reason));
                    }
                }
            }
            store.record_applied(&tp.target, &plan.flow, &acks)?;
            progress.advance(changes.len() as u64);
        }
        if let Some(r) = retained {
            store.repoint(Some(&tp.target), &plan.flow, r, &lines)?;
        }
        results.push(outcome);
    }
    Ok(results)
}

/// What decoding a file's pending creates needs.
struct Creates<'b> {
    bound: &'b BoundSpec,
    axes: VariantAxes,
    fetch: LineFetcher,
}

impl<'b> Creates<'b> {
    fn new(path: &Path, bound: &'b BoundSpec, plan: &FilePlan) -> anyhow::Result<Creates<'b>> {
        Ok(Creates {
            bound,
            axes: variant_axes(&plan.variants, bound.spec.axes),
            fetch: LineFetcher::open(path, &bound.schema)?,
        })
    }

    fn decode(
        &self,
        target: &Target,
        entries: &[DesiredEntry],
        indices: &[usize],
    ) -> anyhow::Result<Vec<Change>> {
        if indices.is_empty() {
            return Ok(Vec::new());
        }
        let inputs = ChangeInputs {
            bound: self.bound,
            target,
            desired: entries,
            fetch: &self.fetch,
            axes: &self.axes,
        };
        decode_creates(&inputs, indices)
    }
}

/// The entities this file changes on any target, as the ERP now describes
/// them. Pending creates are recorded as lines of the retained file.
fn desired_rows(plan: &FilePlan, retained: Option<i64>) -> Vec<Ack> {
    let mut rows: BTreeMap<u64, Ack> = BTreeMap::new();
    if let Some(retained) = retained {
        for tp in &plan.targets {
            for e in tp.pending.iter().filter_map(|&i| plan.entries.get(i)) {
                rows.entry(e.key_hash)
                    .or_insert_with(|| Ack::line(e.key_hash, e.hash, retained, e.offset));
            }
        }
    }
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
