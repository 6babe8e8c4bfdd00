//! Reconcile: a file's records become desired state; the change set for each
//! target is desired versus what that target acknowledged. A complete file
//! also yields removals, by the flow's policy. A file older than the newest
//! one already committed for its flow is stale and changes nothing.

mod axes;
mod changes;
mod desired;
mod diff;
mod family;
mod guard;
mod received;
mod stored;
mod sums;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub(crate) use axes::{variant_axes, VariantAxes};
pub use changes::{
    build_changes, changed_fields, decode_creates, target_receives, Action, Change, ChangeInputs,
};
pub use desired::{
    scan_desired, scan_unchecked, DesiredEntry, DesiredSet, LineFetcher, Unchecked, VariantSeen,
};
pub use diff::{classify, Classified};
pub use family::{becomes_parent, desired_axes, links_to, make_parent_again};
pub use guard::{held_report, RemovalShare, ALLOW_FLAG, SHARE_KEY};
pub use received::{
    CustomerChange, FulfilmentAct, FulfilmentChange, ProductChange, ProductKind, ProductValue,
    ShipItem, StockRow, SELECT_ATTRIBUTES,
};
pub(crate) use stored::{decode_stored, read_stored};
pub(crate) use sums::{FileRows, SiblingReader, Siblings};

use family::configure_again;
use guard::held_reason;

use crate::config::{Config, Target};
use crate::model::fulfilment::{group_events, FulfilmentEvent};
use crate::model::Flow;
use crate::model::{spec_for_flow, BoundSpec};
use crate::state::{Ack, Located, Payload, Store, REMOVED};
use ponte_layout::record::scan::{scan_file, FileReport, RecordVisitor, ScanOptions, Seen};
use ponte_layout::schema::{Mode, Schema};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Valid and current: the changes below would be sent.
    Ready,
    /// Broken beyond the tolerated number of bad records: nothing is sent.
    Rejected { reason: String },
    /// Older than the newest file already committed for its flow.
    Stale { exported_at: String, newest: String },
    /// A complete file removing more of some target than
    /// `intake.max_removal_share` allows: nothing is sent (see `guard`).
    Held {
        reason: String,
        over: Vec<RemovalShare>,
    },
}

impl Verdict {
    /// The verdict in an operator's words; `flow` names the file's flow.
    pub(crate) fn describe(&self, flow: &str) -> String {
        match self {
            Verdict::Ready => "ready to apply".to_string(),
            Verdict::Rejected { reason } | Verdict::Held { reason, .. } => reason.clone(),
            Verdict::Stale {
                exported_at,
                newest,
            } => format!(
                "stale: the file was exported at {exported_at}, before {newest}, the newest {flow} file already applied: applying it would overwrite newer data"
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetPlan {
    pub target: String,
    pub create: u64,
    pub update: u64,
    pub remove: u64,
    pub unchanged: u64,
    pub changes: Vec<Change>,
    #[serde(skip)]
    pub silent: Vec<Change>,
    /// Creates not decoded (past `PlanOptions::create_limit`): indices
    /// into `FilePlan::entries`, in file order.
    #[serde(skip)]
    pub pending: Vec<usize>,
}

#[derive(Debug, Serialize)]
pub struct FilePlan {
    pub file: String,
    pub flow: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<String>,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub targets: Vec<TargetPlan>,
    #[serde(skip)]
    pub report: FileReport,
    /// The file's entities, sorted by key hash (none for fulfilment).
    #[serde(skip)]
    pub entries: Vec<DesiredEntry>,
    /// Its variants (for decoding the pending creates).
    #[serde(skip)]
    pub variants: Vec<VariantSeen>,
}

pub struct PlanOptions {
    pub scan: ScanOptions,
    /// Creates decoded per target; the rest are only counted.
    pub create_limit: usize,
    /// Whether the changes are to be pushed, and so carry what the target
    /// held (`Change::before`), which a plan shown to people (and its
    /// request previews) does not need: without it, an update the target
    /// holds as a retained line is compared with that line field by field,
    /// which is never decoded.
    pub for_push: bool,
}

/// Computes what a file would change on each target that receives its flow.
/// Reads the store, writes nothing.
pub fn plan_file(
    path: &Path,
    schema: Arc<Schema>,
    config: &Config,
    store: Option<&Store>,
    opts: &PlanOptions,
) -> anyhow::Result<FilePlan> {
    let flow = Flow::from_schema_flow(&schema.flow).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: flow {} is not one ponte applies",
            path.display(),
            schema.flow
        )
    })?;
    let targets: Vec<&Target> = config.targets.iter().filter(|t| t.receives(flow)).collect();
    if flow == Flow::Orders {
        anyhow::bail!(
            "{}: ORDINI files are written by ponte for the ERP, not applied to Magento",
            path.display()
        );
    }
    if flow == Flow::Fulfilment {
        return plan_fulfilment(path, schema, &targets, store, opts);
    }
    let spec = spec_for_flow(&schema.flow)
        .ok_or_else(|| anyhow::anyhow!("no entity mapping for flow {}", schema.flow))?;
    let bound = BoundSpec::bind(spec, Arc::clone(&schema)).map_err(anyhow::Error::msg)?;
    let load = |target: &Target| match store {
        Some(s) => s.applied_located(&target.name, &schema.flow),
        None => Ok(Located::default()),
    };
    // Against a target that holds the flow already, most lines are its
    // entities unchanged: they are vouched for by what it acknowledged
    // rather than validated field by field (see `scan_unchecked`).
    let unchecked = match (store, targets.first()) {
        (Some(s), Some(t)) => s.applied_count(&t.name, &schema.flow)? > 0,
        _ => false,
    };
    // The first target's applied state is read while the file is scanned:
    // the scan leaves this thread idle, and the store stays on it.
    let (scanned, first_applied) = std::thread::scope(|scope| {
        let scan = scope.spawn(|| {
            if unchecked {
                scan_unchecked(path, &bound, &opts.scan).map(Scanned::Unchecked)
            } else {
                scan_desired(path, &bound, &opts.scan).map(|(r, s)| Scanned::Checked(r, s))
            }
        });
        let applied = targets.first().map(|t| load(t));
        let scanned = scan
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("{}: the scan failed", path.display())));
        (scanned, applied)
    });
    let mut first_applied = first_applied.transpose()?;
    let (report, set) = match scanned? {
        Scanned::Checked(report, set) => (report, set),
        Scanned::Unchecked(unchecked) => {
            let known = first_applied.as_ref().map(|a| &a.snapshot);
            unchecked.check(
                path,
                &bound,
                known.unwrap_or(&Default::default()),
                &opts.scan,
            )?
        }
    };
    let mut plan = FilePlan::new(path, &schema, report);
    if plan.verdict != Verdict::Ready {
        return Ok(plan);
    }
    let complete = plan.mode == Some(Mode::Complete);
    let fetch = LineFetcher::open(path, &schema)?;
    let mut shares = Vec::new();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        // The variant axes are worked out beside the first target's diff,
        // which needs them only to build its changes.
        let mut axes_job = Some(scope.spawn(|| variant_axes(&set.variants, spec.axes)));
        let mut axes = VariantAxes::default();
        for target in targets {
            let applied = match first_applied.take() {
                Some(applied) => applied,
                None => load(target)?,
            };
            let classified = classify(&set.entries, &applied.snapshot, complete);
            let holds = applied
                .snapshot
                .entries
                .iter()
                .filter(|e| !e.is_removed())
                .count() as u64;
            let wanted: Vec<u64> = classified
                .updates
                .iter()
                .map(|&i| set.entries[i].key_hash)
                .chain(classified.removals.iter().map(|r| r.key_hash))
                .collect();
            // Removals always need what the target held: they are built from it.
            let removed: HashSet<u64> = classified.removals.iter().map(|r| r.key_hash).collect();
            let applied_payloads = match store {
                Some(s) => read_stored(
                    Some(&bound),
                    s.applied_payloads(&target.name, &schema.flow, &applied, &wanted)?,
                    |key_hash| opts.for_push || removed.contains(&key_hash),
                ),
                None => HashMap::new(),
            };
            if let Some(job) = axes_job.take() {
                axes = job
                    .join()
                    .map_err(|_| anyhow::anyhow!("{}: the variant axes failed", path.display()))?;
            }
            let inputs = ChangeInputs {
                bound: &bound,
                target,
                desired: &set.entries,
                fetch: &fetch,
                axes: &axes,
            };
            let mut built =
                build_changes(&inputs, &classified, applied_payloads, opts.create_limit)?;
            if complete && spec.parent.is_some() {
                let failed = failed_keys(store, &target.name, &schema.flow)?;
                configure_again(&inputs, &classified, &mut built, &set.variants, &failed)?;
            }
            let count = |action| built.changes.iter().filter(|c| c.action == action).count();
            let (update, removals) = (count(Action::Update), count(Action::Remove));
            let create = classified.creates.len();
            shares.push(RemovalShare::new(
                &target.name,
                removals as u64,
                holds,
                config.intake.max_removal_share,
            ));
            plan.targets.push(TargetPlan {
                target: target.name.clone(),
                create: create as u64,
                update: update as u64,
                remove: removals as u64,
                // Every entry of the file is created, updated or unchanged.
                unchanged: set.entries.len().saturating_sub(create + update) as u64,
                changes: built.changes,
                silent: built.silent,
                pending: built.pending,
            });
        }
        Ok(())
    })?;
    let over: Vec<RemovalShare> = shares.into_iter().filter(RemovalShare::exceeds).collect();
    if !over.is_empty() {
        plan.verdict = Verdict::Held {
            reason: held_reason(&over),
            over,
        };
    }
    plan.entries = set.entries;
    plan.variants = set.variants;
    Ok(plan)
}

/// The key hashes of what `target` refused of `flow` and has not applied since.
fn failed_keys(store: Option<&Store>, target: &str, flow: &str) -> anyhow::Result<HashSet<u64>> {
    let Some(store) = store else {
        return Ok(HashSet::new());
    };
    Ok(store
        .failures(Some(target))?
        .into_iter()
        .filter(|f| f.flow == flow)
        .map(|f| BoundSpec::key_hash_of(&f.key))
        .collect())
}

/// A scan's outcome, whole or with lines left to check.
enum Scanned {
    Checked(FileReport, DesiredSet),
    Unchecked(Unchecked),
}

impl FilePlan {
    fn new(path: &Path, schema: &Schema, report: FileReport) -> FilePlan {
        let header = report.header.clone();
        let verdict = if report.is_rejected() {
            Verdict::Rejected {
                reason: format!(
                    "{} errors ({} bad records, {} in the file's structure)",
                    report.error_total, report.bad_records, report.structural_errors
                ),
            }
        } else {
            Verdict::Ready
        };
        FilePlan {
            file: path.display().to_string(),
            flow: schema.flow.clone(),
            mode: header.as_ref().and_then(|h| h.mode),
            exported_at: header.and_then(|h| h.exported_at),
            verdict,
            targets: Vec::new(),
            report,
            entries: Vec::new(),
            variants: Vec::new(),
        }
    }

    /// Marks the plan stale when a newer file of its flow was committed.
    pub fn check_stale(&mut self, store: Option<&Store>) -> anyhow::Result<()> {
        let (Some(store), Some(ts)) = (store, self.exported_at.clone()) else {
            return Ok(());
        };
        if let Some(newest) = store.flow_newest(&self.flow)? {
            if ts < newest {
                self.verdict = Verdict::Stale {
                    exported_at: ts,
                    newest,
                };
                self.targets.clear();
            }
        }
        Ok(())
    }
}

struct CollectRecords<'s> {
    schema: &'s Schema,
}

impl RecordVisitor for CollectRecords<'_> {
    type Out = Vec<(u64, String, Vec<u8>)>;
    fn visit(&self, out: &mut Self::Out, seen: Seen<'_>) {
        out.push((
            seen.line,
            self.schema.records[seen.record].tag.clone(),
            seen.bytes.to_vec(),
        ));
    }
}

/// Fulfilment files are small and their events span records: read whole.
pub(crate) fn read_fulfilment(
    path: &Path,
    schema: &Schema,
    opts: &ScanOptions,
) -> anyhow::Result<(FileReport, Vec<FulfilmentEvent>)> {
    let mut records = Vec::new();
    let mut report = scan_file(path, schema, opts, &CollectRecords { schema }, |mut out| {
        records.append(&mut out);
        Ok(())
    })?;
    let (events, errors) = group_events(
        schema,
        records
            .iter()
            .map(|(l, t, b)| (*l, t.as_str(), b.as_slice())),
    );
    if !errors.is_empty() {
        report.bad_records += errors.len() as u64;
        report.error_total += errors.len() as u64;
        report.errors.extend(errors);
        report.errors.sort_by_key(|e| e.line);
    }
    Ok((report, events))
}

fn plan_fulfilment(
    path: &Path,
    schema: Arc<Schema>,
    targets: &[&Target],
    store: Option<&Store>,
    opts: &PlanOptions,
) -> anyhow::Result<FilePlan> {
    let (report, events) = read_fulfilment(path, &schema, &opts.scan)?;
    let mut plan = FilePlan::new(path, &schema, report);
    if plan.verdict != Verdict::Ready {
        return Ok(plan);
    }
    for target in targets {
        let applied = match store {
            Some(s) => s.applied_snapshot(&target.name, &schema.flow)?,
            None => Default::default(),
        };
        let mut tp = TargetPlan {
            target: target.name.clone(),
            create: 0,
            update: 0,
            remove: 0,
            unchanged: 0,
            changes: Vec::new(),
            silent: Vec::new(),
            pending: Vec::new(),
        };
        for ev in &events {
            // An event once applied is never sent again, even if the ERP
            // repeats it with other details: a shipment cannot be re-shipped.
            if applied.get(ev.key_hash).is_some() {
                tp.unchanged += 1;
                continue;
            }
            tp.create += 1;
            tp.changes.push(Change {
                action: Action::Create,
                key: ev.entity.key.clone(),
                key_hash: ev.key_hash,
                hash: ev.hash,
                line: Some(ev.line),
                offset: None,
                fields: ev.entity.fields.clone(),
                payload: ev.entity.fields.clone(),
                variant_axes: None,
                before: None,
            });
        }
        plan.targets.push(tp);
    }
    Ok(plan)
}

/// What the store records once a target acknowledged a change. A change
/// read from a line of the file retained as `retained` is kept as a
/// reference to that line; any other as its fields.
pub(crate) fn ack_for(change: &Change, retained: Option<i64>) -> Ack {
    let payload = match (change.action, change.offset, retained) {
        (Action::Create | Action::Update, Some(offset), Some(retained)) => {
            Payload::Line { retained, offset }
        }
        _ => Payload::Json(serde_json::Value::Object(change.payload.clone()).to_string()),
    };
    Ack {
        key: change.key.clone(),
        key_hash: change.key_hash,
        hash: change.hash & !REMOVED,
        payload,
        removed: change.action == Action::Remove,
    }
}

impl TargetPlan {
    /// Acknowledgements for every change of this plan, the silent ones included.
    pub fn acks(&self, retained: Option<i64>) -> Vec<Ack> {
        self.changes
            .iter()
            .chain(&self.silent)
            .map(|c| ack_for(c, retained))
            .collect()
    }
}
