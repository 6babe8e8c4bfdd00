//! Entities a target refused, or could not be reached for, stay in
//! `failures` until applied. A complete file sends them again anyway, but a
//! changes file may never mention them again: this sends them again from the
//! desired state, waiting longer after each failed attempt.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

use super::inbound::Pusher;
use super::service::Periodic;
use crate::config::{Config, Target};
use crate::model::fulfilment::FulfilmentEvent;
use crate::model::Flow;
use crate::model::{spec_for_flow, BoundSpec, EntityKind};
use crate::push::payload::{stock_sibling_keys, Siblings};
use crate::push::Outcome;
use crate::reconcile::{
    ack_for, becomes_parent, changed_fields, decode_stored, desired_axes, links_to,
    make_parent_again, Action, Change, SiblingReader,
};
use crate::state::{now_text, text_in, Store};
use ponte_layout::schema::Registry;

/// How often the service looks for failures that are due.
const INTERVAL: Duration = Duration::from_secs(60);
const FIRST_WAIT_SECS: u64 = 60;
const LONGEST_WAIT_SECS: u64 = 6 * 3600;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetrySummary {
    pub applied: u64,
    pub failed: u64,
}

/// The wait before attempt `attempts + 1`: a minute, doubling, at most 6 h.
pub(crate) fn next_try_after(attempts: i64) -> String {
    let doublings = attempts.clamp(0, 20) as u32;
    let wait = FIRST_WAIT_SECS
        .saturating_mul(1 << doublings)
        .min(LONGEST_WAIT_SECS);
    text_in(wait)
}

/// Sends again every failed entity whose next try is due.
pub fn retry_due(
    config: &Config,
    registry: &Registry,
    store: &mut Store,
    pusher: &Pusher,
) -> anyhow::Result<RetrySummary> {
    let now = now_text();
    let mut summary = RetrySummary::default();
    for target in &config.targets {
        // Held by a refusal of its credentials: nothing would be sent, and
        // counting the attempt would push each entity's next try back.
        if let Some(refusal) = pusher.refusal(&target.name) {
            tracing::debug!(target = %target.name, "no retries while {refusal}");
            continue;
        }
        let mut by_flow: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
        for f in store.failures(Some(&target.name))? {
            if f.next_try.as_deref().is_none_or(|t| t <= now.as_str()) {
                by_flow.entry(f.flow).or_default().push((f.key, f.attempts));
            }
        }
        for (flow_name, keys) in by_flow {
            let Some(flow) = Flow::from_schema_flow(&flow_name).filter(|f| *f != Flow::Orders)
            else {
                continue;
            };
            let mut changes = rebuild(registry, store, target, &flow_name, &keys)?;
            if flow == Flow::Products {
                whole_families(registry, store, target, &flow_name, &mut changes)?;
            }
            let siblings = match flow {
                Flow::Stock => stock_siblings(registry, store, target, &flow_name, &changes)?,
                _ => Siblings::new(),
            };
            let outcomes = pusher.push(&target.name, flow, &changes, &siblings);
            crate::telemetry::metrics::get().retried(&target.name, changes.len() as u64);
            let mut acks = Vec::new();
            for (change, outcome) in changes.iter().zip(outcomes) {
                let attempts = keys
                    .iter()
                    .find(|(k, _)| *k == change.key)
                    .map_or(1, |(_, a)| *a);
                match outcome {
                    Outcome::Applied => {
                        summary.applied += 1;
                        acks.push(ack_for(change, None));
                    }
                    Outcome::Failed(reason) => {
                        summary.failed += 1;
                        tracing::warn!(target = %target.name, flow = %flow_name, key = %change.key, attempts, "still not applied: {reason}");
                        store.record_failure(
                            &target.name,
                            &flow_name,
                            &change.key,
                            Some(change.key_hash),
                            &reason,
                            Some(&next_try_after(attempts)),
                        )?;
                    }
                }
            }
            store.record_applied(&target.name, &flow_name, &acks)?;
        }
    }
    Ok(summary)
}

/// The desired rows of the warehouses summed with the failed ones: a retry
/// sends the same sum a file would.
fn stock_siblings(
    registry: &Registry,
    store: &Store,
    target: &Target,
    flow: &str,
    changes: &[Change],
) -> anyhow::Result<Siblings> {
    let (Some(spec), Some(schema)) = (spec_for_flow(flow), registry.by_flow(flow)) else {
        return Ok(Siblings::new());
    };
    let bound = BoundSpec::bind(spec, Arc::clone(&schema)).map_err(anyhow::Error::msg)?;
    let refs: Vec<&Change> = changes.iter().collect();
    SiblingReader::new(&bound, None).read(Some(store), &stock_sibling_keys(target, &refs))
}

/// The changes that bring `target` from what it acknowledged to what the
/// ERP last said, for these keys.
fn rebuild(
    registry: &Registry,
    store: &Store,
    target: &Target,
    flow: &str,
    keys: &[(String, i64)],
) -> anyhow::Result<Vec<Change>> {
    let hashes: Vec<u64> = keys
        .iter()
        .map(|(k, _)| BoundSpec::key_hash_of(k))
        .collect();
    let bound = match (spec_for_flow(flow), registry.by_flow(flow)) {
        (Some(spec), Some(schema)) => {
            Some(BoundSpec::bind(spec, Arc::clone(&schema)).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let desired_at = store.desired_located(flow)?;
    let desired = decode_stored(
        bound.as_ref(),
        store.desired_payloads(flow, &desired_at, &hashes)?,
    );
    let applied_at = store.applied_located(&target.name, flow)?;
    let applied = decode_stored(
        bound.as_ref(),
        store.applied_payloads(&target.name, flow, &applied_at, &hashes)?,
    );
    let kind = bound
        .as_ref()
        .map_or(EntityKind::Fulfilment, |b| b.spec.kind);
    let mut changes = Vec::new();
    for key_hash in hashes {
        let Some((key, payload)) = desired.get(&key_hash) else {
            continue;
        };
        let payload = payload.clone();
        let before: Option<Map<String, Json>> = applied.get(&key_hash).map(|(_, p)| p.clone());
        let hash = match &bound {
            Some(b) => match b.hash_payload(&payload) {
                Some(h) => h,
                None => continue,
            },
            None => FulfilmentEvent::hash_payload(&payload),
        };
        let fields = changed_fields(kind, target, &payload, before.as_ref());
        changes.push(Change {
            action: if before.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            key: key.clone(),
            key_hash,
            hash,
            line: None,
            offset: None,
            fields,
            payload,
            variant_axes: None,
            before,
        });
    }
    Ok(changes)
}

/// A retry carries what a file's first attempt carried: a parent it makes
/// is configured on the axes of its family as the desired state holds it
/// (the variants sent with it may be only some of them). A variant it links
/// whose parent is not retried brings the parent along, made a parent
/// again: one the target holds without options (it was made with none, or
/// they were lost) would otherwise refuse the variant on every retry.
fn whole_families(
    registry: &Registry,
    store: &Store,
    target: &Target,
    flow: &str,
    changes: &mut Vec<Change>,
) -> anyhow::Result<()> {
    let (Some(spec), Some(schema)) = (spec_for_flow(flow), registry.by_flow(flow)) else {
        return Ok(());
    };
    let bound = BoundSpec::bind(spec, Arc::clone(&schema)).map_err(anyhow::Error::msg)?;
    let retried: HashSet<&str> = changes.iter().map(|c| c.key.as_str()).collect();
    let mut orphans: Vec<(String, i64)> = changes
        .iter()
        .filter_map(|c| links_to(&bound, c))
        .filter(|p| !retried.contains(p))
        .map(|p| (p.to_string(), 0))
        .collect();
    orphans.sort();
    orphans.dedup();
    // Only a parent the target holds: one it never acknowledged is sent
    // whole by its own failure, or was never meant for it.
    for mut parent in rebuild(registry, store, target, flow, &orphans)? {
        if make_parent_again(&mut parent) {
            changes.push(parent);
        }
    }
    let parents: HashSet<u64> = changes
        .iter()
        .filter(|c| becomes_parent(c))
        .map(|c| c.key_hash)
        .collect();
    let axes = desired_axes(store, &bound, &parents)?;
    for c in changes.iter_mut() {
        if let Some(a) = axes.get(&c.key_hash) {
            c.variant_axes = Some(a.clone());
        }
    }
    Ok(())
}

/// The retry as part of the service.
pub(crate) struct FailureRetry {
    config: Config,
    registry: Registry,
    pusher: Pusher,
    next: Option<Instant>,
}

impl FailureRetry {
    /// `pusher`: the service's, shared with the file push.
    pub fn new(
        config: &Config,
        registry: &Registry,
        pusher: Pusher,
    ) -> anyhow::Result<FailureRetry> {
        Ok(FailureRetry {
            config: config.clone(),
            registry: registry.clone(),
            pusher,
            next: None,
        })
    }
}

impl Periodic for FailureRetry {
    fn due(&mut self, now: Instant) -> bool {
        self.next.is_none_or(|n| now >= n)
    }

    fn run(&mut self, store: &mut Store) -> anyhow::Result<()> {
        self.next = Some(Instant::now() + INTERVAL);
        let s = retry_due(&self.config, &self.registry, store, &self.pusher)?;
        if s.applied + s.failed > 0 {
            tracing::info!(
                applied = s.applied,
                failed = s.failed,
                "failed entities sent again"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_and_are_capped() {
        let now = now_text();
        let after = |a| crate::state::seconds_between(&now, &next_try_after(a)).unwrap();
        assert!((60..=61).contains(&after(0)));
        assert!((240..=241).contains(&after(2)));
        let longest = LONGEST_WAIT_SECS as i64;
        assert!((longest..=longest + 1).contains(&after(99)));
        assert_eq!(
            next_try_after(1).len(),
            now.len(),
            "sorts as text against now_text"
        );
    }
}
