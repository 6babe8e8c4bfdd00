//! From classified entries to changes: decode only the rows that differ,
//! compare them field by field with what the target acknowledged, and keep
//! only the fields that changed and that this target receives.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::axes::VariantAxes;
use super::desired::{DesiredEntry, LineFetcher};
use super::diff::Classified;
use super::stored::Before;
use crate::config::Target;
use crate::model::{product_attribute, BoundSpec, EntityKind};
use crate::state::REMOVED;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Remove,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub action: Action,
    pub key: String,
    #[serde(skip)]
    pub key_hash: u64,
    /// The content hash once applied; carries the `REMOVED` bit for removals.
    #[serde(skip)]
    pub hash: u64,
    /// Line in the file, for creates and updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Where that line starts: once applied, the payload is kept as a
    /// reference to it (see `ack_for`).
    #[serde(skip)]
    pub offset: Option<u64>,
    /// What to send: every field for a create, the changed ones otherwise.
    pub fields: Map<String, Json>,
    /// The whole entity as it will be once applied (what is acknowledged).
    #[serde(skip)]
    pub payload: Map<String, Json>,
    /// For configurable parents: the attributes its variants differ in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_axes: Option<Vec<String>>,
    /// What the target acknowledged before, for updates and removals (a
    /// variant moving needs its old parent; a customer, its old e-mail).
    #[serde(skip)]
    pub before: Option<Map<String, Json>>,
}

/// What a target receives of an entity field.
pub fn target_receives(kind: EntityKind, target: &Target, field: &str) -> bool {
    match (kind, product_attribute(field)) {
        (EntityKind::Product, Some(attr)) => target.receives_attribute(attr),
        _ => true,
    }
}

/// The fields of `payload` to send: those that differ from `before` (all
/// of them when there is nothing before) and that the target receives.
pub fn changed_fields(
    kind: EntityKind,
    target: &Target,
    payload: &Map<String, Json>,
    before: Option<&Map<String, Json>>,
) -> Map<String, Json> {
    // Two entities decoded alike hold their fields in the same order: the
    // field at the same place is compared by key, which is cheaper than
    // hashing the key to look it up.
    let mut same_place = before.map(|b| b.iter());
    let mut out = Map::new();
    for (k, v) in payload {
        let old = same_place.as_mut().and_then(Iterator::next);
        let changed = match (before, old) {
            (None, _) => true,
            (Some(_), Some((old_key, old_value))) if old_key == k => old_value != v,
            (Some(b), _) => b.get(k) != Some(v),
        };
        if changed && target_receives(kind, target, k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

pub struct ChangeInputs<'a> {
    pub bound: &'a BoundSpec,
    pub target: &'a Target,
    pub desired: &'a [DesiredEntry],
    pub fetch: &'a LineFetcher,
    pub axes: &'a VariantAxes,
}

pub struct Built {
    pub changes: Vec<Change>,
    /// Updates whose changed fields this target does not receive: nothing to
    /// send, but the applied state moves on.
    pub silent: Vec<Change>,
    /// The creates past `create_limit`, not decoded (indices into the
    /// desired entries, in file order): see `decode_creates`.
    pub pending: Vec<usize>,
}

/// Creates are decoded only up to `create_limit` (all of them for ingest or
/// `--json`); updates and removals always, since their count depends on it.
/// `applied` holds what the target held for the updated and removed key
/// hashes; each update takes its own out, as the change's `before` when it
/// was decoded (see `read_stored`).
pub fn build_changes(
    inputs: &ChangeInputs,
    classified: &Classified,
    mut applied: HashMap<u64, Before>,
    create_limit: usize,
) -> anyhow::Result<Built> {
    // The first creates in file order, not in key-hash order.
    let mut creates = classified.creates.clone();
    creates.sort_unstable_by_key(|&i| inputs.desired[i].line);
    let pending = creates.split_off(create_limit.min(creates.len()));
    let mut changes = decode_creates(inputs, &creates)?;
    let befores: Vec<(usize, Option<Before>)> = classified
        .updates
        .iter()
        .map(|&i| {
            let before = inputs
                .desired
                .get(i)
                .and_then(|e| applied.remove(&e.key_hash));
            (i, before)
        })
        .collect();
    let updates: Vec<Change> = befores
        .into_par_iter()
        .map(|(i, before)| match before {
            Some(Before::Decoded(_, fields)) => decode(inputs, i, Action::Update, Some(fields)),
            Some(Before::Line(line)) => decode_against(inputs, i, &line),
            // Nothing to compare with: every field is sent.
            None => decode(inputs, i, Action::Update, Some(Map::new())),
        })
        .collect::<anyhow::Result<_>>()?;
    let (silent, sent): (Vec<Change>, Vec<Change>) =
        updates.into_iter().partition(|c| c.fields.is_empty());
    changes.extend(sent);
    let removed: Vec<(u64, String, Map<String, Json>)> = classified
        .removals
        .iter()
        .filter_map(|r| match applied.remove(&r.key_hash)? {
            Before::Decoded(key, before) => Some((r.key_hash, key, before)),
            Before::Line(_) => None,
        })
        .collect();
    changes.par_extend(
        removed
            .into_par_iter()
            .filter_map(|(key_hash, key, before)| {
                removal_change(inputs.bound, key_hash, key, before)
            }),
    );
    // File order for people reading a plan; removals, which have no line, last.
    changes.sort_by(|a, b| {
        (a.line.is_none(), a.line, &a.key).cmp(&(b.line.is_none(), b.line, &b.key))
    });
    Ok(Built {
        changes,
        silent,
        pending,
    })
}

/// The creates of these desired entries, decoded (on both cores: each is a
/// read and a decode of its own).
pub fn decode_creates(inputs: &ChangeInputs, indices: &[usize]) -> anyhow::Result<Vec<Change>> {
    indices
        .par_iter()
        .map(|&i| decode(inputs, i, Action::Create, None))
        .collect()
}

pub(super) fn decode(
    inputs: &ChangeInputs,
    i: usize,
    action: Action,
    before: Option<Map<String, Json>>,
) -> anyhow::Result<Change> {
    let (e, line) = read_desired(inputs, i)?;
    let entity = inputs.bound.entity(&line);
    let fields = changed_fields(
        inputs.bound.spec.kind,
        inputs.target,
        &entity.fields,
        before.as_ref(),
    );
    Ok(change_of(inputs, e, action, entity, fields, before))
}

/// An update shown, not pushed, whose entity the target holds as a
/// retained line in the same layout: the changed fields are found by
/// comparing the two lines field by field, and what the target held is not
/// decoded (`before` stays empty; the request preview needs only `payload`).
fn decode_against(inputs: &ChangeInputs, i: usize, applied_line: &[u8]) -> anyhow::Result<Change> {
    let (e, line) = read_desired(inputs, i)?;
    let differing = inputs.bound.differing_fields(&line, applied_line);
    let entity = inputs.bound.entity(&line);
    let fields = entity
        .fields
        .iter()
        .filter(|(k, _)| {
            differing.contains(&k.as_str())
                && target_receives(inputs.bound.spec.kind, inputs.target, k)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(change_of(inputs, e, Action::Update, entity, fields, None))
}

/// Desired entry `i` and its line, read back from the file.
fn read_desired<'i>(
    inputs: &'i ChangeInputs,
    i: usize,
) -> anyhow::Result<(&'i DesiredEntry, Vec<u8>)> {
    let e = inputs
        .desired
        .get(i)
        .ok_or_else(|| anyhow::anyhow!("no desired entry {i}"))?;
    Ok((e, inputs.fetch.line_at(e.offset)?))
}

fn change_of(
    inputs: &ChangeInputs,
    e: &DesiredEntry,
    action: Action,
    entity: crate::model::Entity,
    fields: Map<String, Json>,
    before: Option<Map<String, Json>>,
) -> Change {
    Change {
        action,
        variant_axes: inputs.axes.get(&e.key_hash).cloned(),
        fields,
        key: entity.key,
        key_hash: e.key_hash,
        hash: e.hash,
        line: Some(e.line),
        offset: Some(e.offset),
        payload: entity.fields,
        before,
    }
}

fn removal_change(
    bound: &BoundSpec,
    key_hash: u64,
    key: String,
    before: Map<String, Json>,
) -> Option<Change> {
    let after = bound.removed_form(&before)?;
    let fields: Map<String, Json> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let hash = bound.hash_payload(&after)? | REMOVED;
    Some(Change {
        action: Action::Remove,
        key,
        key_hash,
        hash,
        line: None,
        offset: None,
        fields,
        payload: after,
        variant_axes: None,
        before: Some(before),
    })
}
