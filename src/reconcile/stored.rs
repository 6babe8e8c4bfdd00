//! Payloads read back from the store, decoded into the entity's fields:
//! a JSON row as it is, a retained line through the flow's layout.

use std::collections::HashMap;
use std::path::PathBuf;

use rayon::prelude::*;
use serde_json::{Map, Value as Json};

use super::desired::LineFetcher;
use crate::model::BoundSpec;
use crate::state::Stored;

/// (key, fields) per key hash. A line kept in another layout than `bound`'s,
/// or whose retained file cannot be read, is left out: its entity then
/// counts as never acknowledged and is sent whole, which is safe.
pub fn decode_stored(
    bound: Option<&BoundSpec>,
    stored: HashMap<u64, Stored>,
) -> HashMap<u64, (String, Map<String, Json>)> {
    let fingerprint = bound.map(BoundSpec::fingerprint);
    let mut fetchers: HashMap<PathBuf, Option<LineFetcher>> = HashMap::new();
    for s in stored.values() {
        if let (Stored::Line { file, .. }, Some(bound)) = (s, bound) {
            fetchers.entry(file.path.clone()).or_insert_with(|| {
                LineFetcher::open(&file.path, &bound.schema)
                    .map_err(|e| tracing::warn!("{e:#}: its entities are sent whole"))
                    .ok()
            });
        }
    }
    // Each line is a read and a decode of its own: both cores share them.
    stored
        .into_par_iter()
        .filter_map(|(key_hash, s)| match s {
            Stored::Json { key, payload } => serde_json::from_str::<Map<String, Json>>(&payload)
                .ok()
                .map(|fields| (key_hash, (key, fields))),
            Stored::Line { file, offset } => {
                let bound = bound.filter(|_| fingerprint.as_ref() == Some(&file.fingerprint))?;
                let fetcher = fetchers.get(&file.path)?.as_ref()?;
                let line = fetcher.line_at(offset).ok()?;
                let entity = bound.entity(&line);
                Some((key_hash, (entity.key, entity.fields)))
            }
        })
        .collect()
}
