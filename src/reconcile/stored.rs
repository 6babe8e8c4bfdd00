//! Payloads read back from the store, decoded into the entity's fields:
//! a JSON row as it is, a retained line through the flow's layout.

use std::collections::HashMap;
use std::path::PathBuf;

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
    let mut out = HashMap::with_capacity(stored.len());
    for (key_hash, s) in stored {
        match s {
            Stored::Json { key, payload } => {
                if let Ok(fields) = serde_json::from_str::<Map<String, Json>>(&payload) {
                    out.insert(key_hash, (key, fields));
                }
            }
            Stored::Line { file, offset } => {
                let Some(bound) = bound.filter(|_| fingerprint.as_ref() == Some(&file.fingerprint))
                else {
                    continue;
                };
                let fetcher = fetchers.entry(file.path.clone()).or_insert_with(|| {
                    LineFetcher::open(&file.path, bound.schema.record_length)
                        .map_err(|e| tracing::warn!("{e:#}: its entities are sent whole"))
                        .ok()
                });
                let Some(line) = fetcher.as_ref().and_then(|f| f.line_at(offset).ok()) else {
                    continue;
                };
                let entity = bound.entity(&line);
                out.insert(key_hash, (entity.key, entity.fields));
            }
        }
    }
    out
}
