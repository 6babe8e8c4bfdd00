//! A configurable family kept whole whatever became of its first attempt.
//!
//! Magento links a variant only to a parent that has configurable options,
//! and the push gives a parent its options only when it becomes one (a
//! create, or its `kind` changing): on the axes the change carries. So a
//! parent sent without them, or recorded as applied while it had none, would
//! refuse every variant for good. A change that makes a parent carries its
//! family's axes wherever it is built (a file, a retry from the desired
//! state), and a parent whose variants failed to be linked is made a parent
//! once more, `kind` sent again, when they are sent again: by a retry, or by
//! a complete file (which holds the whole family, so its axes are exact).
//! Only then: on a shop in good health, a new variant costs no request for
//! its parent. Configuring is idempotent: the push adds only the options
//! Magento does not hold yet.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json};
use xxhash_rust::xxh3::xxh3_64;

use super::axes::variant_axes;
use super::changes::{decode, Action, Built, Change, ChangeInputs};
use super::desired::VariantSeen;
use super::diff::Classified;
use super::stored::decode_stored;
use crate::model::{BoundSpec, MAX_AXES};
use crate::state::Store;

/// The field saying what a product is, and the values that matter here.
const KIND: &str = "kind";
const PARENT: &str = "C";
const VARIANT: &str = "V";

/// Desired entities read back at a time when looking for a family.
const CHUNK: usize = 4096;

fn kind_of(payload: &Map<String, Json>) -> &str {
    payload.get(KIND).and_then(Json::as_str).unwrap_or_default()
}

/// A parent the push will configure: new, or turning into a parent.
pub fn becomes_parent(change: &Change) -> bool {
    kind_of(&change.payload) == PARENT
        && (change.action == Action::Create || change.fields.contains_key(KIND))
}

/// The parent this change links a variant to, if it does (a new variant,
/// or one moving to another parent).
pub fn links_to<'c>(bound: &BoundSpec, change: &'c Change) -> Option<&'c str> {
    let field = bound.spec.parent?;
    if kind_of(&change.payload) != VARIANT
        || !(change.action == Action::Create || change.fields.contains_key(field))
    {
        return None;
    }
    change
        .payload
        .get(field)
        .and_then(Json::as_str)
        .filter(|p| !p.is_empty())
}

/// Makes an update of a parent configure it again: `kind` is what the push
/// reads as "this product becomes a parent".
pub fn make_parent_again(change: &mut Change) -> bool {
    if kind_of(&change.payload) != PARENT || change.action != Action::Update {
        return false;
    }
    change.fields.insert(KIND.into(), Json::from(PARENT));
    true
}

/// For a complete file: each parent this plan links a variant to that
/// failed before (its key hash in `failed`), and that is not becoming a
/// parent by itself, is made one again (its update given `kind`; held
/// unchanged or silent, an update of its own).
pub(crate) fn configure_again(
    inputs: &ChangeInputs,
    classified: &Classified,
    built: &mut Built,
    variants: &[VariantSeen],
    failed: &HashSet<u64>,
) -> anyhow::Result<()> {
    if failed.is_empty() {
        return Ok(());
    }
    if inputs.bound.spec.parent.is_none() || variants.is_empty() {
        return Ok(());
    }
    let parent_of: HashMap<u64, u64> = variants
        .iter()
        .filter(|v| failed.contains(&v.key))
        .map(|v| (v.key, v.parent))
        .collect();
    let linked_creates = classified
        .creates
        .iter()
        .filter_map(|&i| inputs.desired.get(i))
        .filter_map(|e| parent_of.get(&e.key_hash));
    let relinked = built
        .changes
        .iter()
        .filter(|c| links_to(inputs.bound, c).is_some())
        .filter_map(|c| parent_of.get(&c.key_hash));
    let mut parents: HashSet<u64> = linked_creates.chain(relinked).copied().collect();
    if parents.is_empty() {
        return Ok(());
    }
    // A parent new to the target is configured by its create already.
    for &i in &classified.creates {
        if let Some(e) = inputs.desired.get(i) {
            parents.remove(&e.key_hash);
        }
    }
    for c in built.changes.iter_mut() {
        if parents.remove(&c.key_hash) {
            make_parent_again(c);
        }
    }
    let mut silent = Vec::with_capacity(built.silent.len());
    for mut c in std::mem::take(&mut built.silent) {
        if parents.remove(&c.key_hash) && make_parent_again(&mut c) {
            built.changes.push(c);
        } else {
            silent.push(c);
        }
    }
    built.silent = silent;
    // The rest are held unchanged: the target's content is the file's.
    for key_hash in parents {
        let Ok(i) = inputs
            .desired
            .binary_search_by_key(&key_hash, |e| e.key_hash)
        else {
            continue;
        };
        let mut c = decode(inputs, i, Action::Update, None)?;
        c.fields = Map::new();
        if make_parent_again(&mut c) {
            built.changes.push(c);
        }
    }
    built.changes.sort_by(|a, b| {
        (a.line.is_none(), a.line, &a.key).cmp(&(b.line.is_none(), b.line, &b.key))
    });
    Ok(())
}

/// The axes of these parents' families as the desired state holds them
/// (every variant the ERP last described), by parent key hash.
///
/// The desired state has no index by parent: it is read through, a chunk
/// at a time. That is a second or two at a million products, and happens
/// only when a retry makes a parent.
pub fn desired_axes(
    store: &Store,
    bound: &BoundSpec,
    parents: &HashSet<u64>,
) -> anyhow::Result<HashMap<u64, Vec<String>>> {
    let Some(parent_field) = bound.spec.parent.filter(|_| !parents.is_empty()) else {
        return Ok(HashMap::new());
    };
    let flow = bound.spec.flow;
    let located = store.desired_located(flow)?;
    let keys: Vec<u64> = located
        .snapshot
        .entries
        .iter()
        .map(|e| e.key_hash)
        .collect();
    let mut seen = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let stored = store.desired_payloads(flow, &located, chunk)?;
        for (key_hash, (_, fields)) in decode_stored(Some(bound), stored) {
            if kind_of(&fields) != VARIANT {
                continue;
            }
            let Some(parent) = fields
                .get(parent_field)
                .and_then(Json::as_str)
                .map(BoundSpec::key_hash_of)
                .filter(|p| parents.contains(p))
            else {
                continue;
            };
            let mut axes = [0u64; MAX_AXES];
            for (slot, name) in axes.iter_mut().zip(bound.spec.axes) {
                let value = fields.get(*name).and_then(Json::as_str).unwrap_or_default();
                *slot = xxh3_64(value.as_bytes());
            }
            seen.push(VariantSeen {
                line: 0,
                key: key_hash,
                parent,
                axes,
            });
        }
    }
    let axes = variant_axes(&seen, bound.spec.axes);
    Ok(parents
        .iter()
        .filter_map(|p| Some((*p, axes.get(p)?.clone())))
        .collect())
}
