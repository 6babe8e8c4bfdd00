//! Stock is kept per (SKU, warehouse), but Magento holds one quantity per
//! SKU and source (or per SKU, single-source): a write must carry the sum
//! over every warehouse the target maps there, including those whose rows
//! did not change. This reads those other rows' desired quantities.
//!
//! A row of the file being sent is read from the file; a row the file
//! leaves out is 0 when the file is complete (it is being removed), else
//! what the desired state holds. The push reads them after the desired
//! state is committed, `plan` before: both get the same sums.

use std::path::Path;

use super::desired::{DesiredEntry, LineFetcher};
use super::stored::decode_stored;
use crate::model::BoundSpec;
use crate::state::{Located, Store};

/// Desired stock payloads of warehouses that share a Magento place with a
/// change but are not among the changes, by entity key (`SKU/WAREHOUSE`):
/// their quantities are part of the sum. A warehouse missing here counts 0.
pub(crate) type Siblings =
    std::collections::HashMap<String, serde_json::Map<String, serde_json::Value>>;

/// The file a push or a plan is about.
pub(crate) struct FileRows<'f> {
    /// Sorted by key hash.
    pub entries: &'f [DesiredEntry],
    pub fetch: LineFetcher,
    pub complete: bool,
}

impl<'f> FileRows<'f> {
    pub fn open(
        path: &Path,
        bound: &BoundSpec,
        entries: &'f [DesiredEntry],
        complete: bool,
    ) -> anyhow::Result<FileRows<'f>> {
        Ok(FileRows {
            entries,
            fetch: LineFetcher::open(path, &bound.schema)?,
            complete,
        })
    }
}

/// Reads sibling rows; the desired snapshot is loaded once, when first needed.
pub(crate) struct SiblingReader<'f> {
    bound: &'f BoundSpec,
    file: Option<FileRows<'f>>,
    desired: Option<Located>,
}

impl<'f> SiblingReader<'f> {
    pub fn new(bound: &'f BoundSpec, file: Option<FileRows<'f>>) -> SiblingReader<'f> {
        SiblingReader {
            bound,
            file,
            desired: None,
        }
    }

    /// The desired payloads of these stock rows (by entity key); a row
    /// nobody describes is left out, and counts 0.
    pub(crate) fn read(
        &mut self,
        store: Option<&Store>,
        keys: &[String],
    ) -> anyhow::Result<Siblings> {
        let mut out = Siblings::new();
        let mut from_store = Vec::new();
        for key in keys {
            let key_hash = BoundSpec::key_hash_of(key);
            match &self.file {
                Some(file) => match file
                    .entries
                    .binary_search_by_key(&key_hash, |e| e.key_hash)
                    .ok()
                    .and_then(|i| file.entries.get(i))
                {
                    Some(e) => {
                        let line = file.fetch.line_at(e.offset)?;
                        out.insert(key.clone(), self.bound.entity(&line).fields);
                    }
                    None if file.complete => {}
                    None => from_store.push((key, key_hash)),
                },
                None => from_store.push((key, key_hash)),
            }
        }
        let Some(store) = store.filter(|_| !from_store.is_empty()) else {
            return Ok(out);
        };
        if self.desired.is_none() {
            self.desired = Some(store.desired_located(&self.bound.schema.flow)?);
        }
        let Some(desired) = &self.desired else {
            return Ok(out);
        };
        let hashes: Vec<u64> = from_store
            .iter()
            .map(|(_, h)| *h)
            .filter(|h| desired.snapshot.get(*h).is_some_and(|e| !e.is_removed()))
            .collect();
        let mut rows = decode_stored(
            Some(self.bound),
            store.desired_payloads(&self.bound.schema.flow, desired, &hashes)?,
        );
        for (key, key_hash) in from_store {
            if let Some((_, fields)) = rows.remove(&key_hash) {
                out.insert(key.clone(), fields);
            }
        }
        Ok(out)
    }
}
