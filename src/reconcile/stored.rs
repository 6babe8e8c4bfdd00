//! Payloads read back from the store, decoded into the entity's fields:
//! a JSON row as it is, a retained line through the flow's layout.

use std::collections::HashMap;
use std::path::PathBuf;

use rayon::prelude::*;
use serde_json::{Map, Value as Json};

use super::desired::LineFetcher;
use crate::model::BoundSpec;
use crate::state::Stored;

/// What a target held of an entity, as far as it was read back.
#[derive(Debug)]
pub enum Before {
    /// Its key and fields.
    Decoded(String, Map<String, Json>),
    /// The retained line it was acknowledged as, in `bound`'s layout, not
    /// decoded (see `decode_stored`'s `decode`).
    Line(Vec<u8>),
}

/// (key, fields) per key hash: `read_stored` with every payload decoded.
pub(crate) fn decode_stored(
    bound: Option<&BoundSpec>,
    stored: HashMap<u64, Stored>,
) -> HashMap<u64, (String, Map<String, Json>)> {
    read_stored(bound, stored, |_| true)
        .into_iter()
        .filter_map(|(key_hash, before)| match before {
            Before::Decoded(key, fields) => Some((key_hash, (key, fields))),
            Before::Line(_) => None,
        })
        .collect()
}

/// What the target held per key hash, decoded for the key hashes `decode`
/// names; a retained line of the others is only read. A line kept in
/// another layout than `bound`'s, or whose retained file cannot be read,
/// is left out: its entity then counts as never acknowledged and is sent
/// whole, which is safe.
pub(crate) fn read_stored(
    bound: Option<&BoundSpec>,
    stored: HashMap<u64, Stored>,
    decode: impl Fn(u64) -> bool + Sync,
) -> HashMap<u64, Before> {
    let fingerprint = bound.map(BoundSpec::fingerprint);
    let mut fetchers: HashMap<PathBuf, Option<LineFetcher>> = HashMap::new();
    let mut other_layout = 0u64;
    for s in stored.values() {
        if let (Stored::Line { file, .. }, Some(bound)) = (s, bound) {
            if fingerprint.as_ref() != Some(&file.fingerprint) {
                other_layout += 1;
                continue;
            }
            fetchers.entry(file.path.clone()).or_insert_with(|| {
                LineFetcher::open(&file.path, &bound.schema)
                    .map_err(|e| tracing::warn!("{e:#}: its entities are sent whole"))
                    .ok()
            });
        }
    }
    if other_layout > 0 {
        // Updates of these go whole; their removals cannot be built.
        tracing::warn!(
            flow = bound.map_or("", |b| b.spec.flow),
            entities = other_layout,
            "acknowledged as lines of another layout of the record: read as never acknowledged \
             (updates are sent whole, removals cannot be built)"
        );
    }
    // Each line is a read and a decode of its own: both cores share them.
    stored
        .into_par_iter()
        .filter_map(|(key_hash, s)| match s {
            Stored::Json { key, payload } => serde_json::from_str::<Map<String, Json>>(&payload)
                .ok()
                .map(|fields| (key_hash, Before::Decoded(key, fields))),
            Stored::Line { file, offset } => {
                let bound = bound.filter(|_| fingerprint.as_ref() == Some(&file.fingerprint))?;
                let fetcher = fetchers.get(&file.path)?.as_ref()?;
                let line = fetcher.line_at(offset).ok()?;
                if !decode(key_hash) {
                    return Some((key_hash, Before::Line(line)));
                }
                let entity = bound.entity(&line);
                Some((key_hash, Before::Decoded(entity.key, entity.fields)))
            }
        })
        .collect()
}
