//! The compact form of an entity set that the diff reads: (key hash, content
//! hash) pairs sorted by key hash, stored as one blob per scope so that a
//! million entities load in one read instead of a million rows.

/// Set on a content hash when the entity was removed by policy (product
/// disabled, stock zeroed), so that a later complete file without it does
/// not remove it again.
pub const REMOVED: u64 = 1 << 63;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SnapEntry {
    pub key_hash: u64,
    /// Content hash; the `REMOVED` bit marks a tombstone.
    pub hash: u64,
}

impl SnapEntry {
    pub fn is_removed(&self) -> bool {
        self.hash & REMOVED != 0
    }
    pub fn content(&self) -> u64 {
        self.hash & !REMOVED
    }
}

/// Sorted by key hash, one entry per key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub entries: Vec<SnapEntry>,
}

const ENTRY_BYTES: usize = 16;

impl Snapshot {
    pub fn from_unsorted(mut entries: Vec<SnapEntry>) -> Snapshot {
        entries.sort_unstable_by_key(|e| e.key_hash);
        entries.dedup_by_key(|e| e.key_hash);
        Snapshot { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key_hash: u64) -> Option<&SnapEntry> {
        self.entries
            .binary_search_by_key(&key_hash, |e| e.key_hash)
            .ok()
            .map(|i| &self.entries[i])
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * ENTRY_BYTES);
        for e in &self.entries {
            out.extend_from_slice(&e.key_hash.to_le_bytes());
            out.extend_from_slice(&e.hash.to_le_bytes());
        }
        out
    }

    /// `None` when the blob is not a whole number of sorted entries.
    pub fn from_bytes(bytes: &[u8]) -> Option<Snapshot> {
        if !bytes.len().is_multiple_of(ENTRY_BYTES) {
            return None;
        }
        let word = |b: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        };
        let entries: Vec<SnapEntry> = bytes
            .chunks_exact(ENTRY_BYTES)
            .map(|c| SnapEntry {
                key_hash: word(&c[..8]),
                hash: word(&c[8..]),
            })
            .collect();
        let sorted = entries.windows(2).all(|w| w[0].key_hash < w[1].key_hash);
        sorted.then_some(Snapshot { entries })
    }

    /// Applies acknowledged changes: each entry replaces or adds its key.
    pub fn merge(&mut self, updates: &[SnapEntry]) {
        if updates.is_empty() {
            return;
        }
        let mut updates = updates.to_vec();
        updates.sort_by_key(|e| e.key_hash);
        // The last acknowledgement for a key wins.
        updates.reverse();
        updates.dedup_by_key(|e| e.key_hash);
        updates.reverse();
        let mut merged = Vec::with_capacity(self.entries.len() + updates.len());
        let (mut i, mut j) = (0, 0);
        while i < self.entries.len() || j < updates.len() {
            match (self.entries.get(i), updates.get(j)) {
                (Some(a), Some(b)) if a.key_hash == b.key_hash => {
                    merged.push(*b);
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if a.key_hash < b.key_hash => {
                    merged.push(*a);
                    i += 1;
                }
                (Some(_), Some(b)) | (None, Some(b)) => {
                    merged.push(*b);
                    j += 1;
                }
                (Some(a), None) => {
                    merged.push(*a);
                    i += 1;
                }
                (None, None) => break,
            }
        }
        self.entries = merged;
    }

    /// Drops these keys.
    pub fn forget(&mut self, key_hashes: &[u64]) {
        let mut gone = key_hashes.to_vec();
        gone.sort_unstable();
        self.entries
            .retain(|e| gone.binary_search(&e.key_hash).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(k: u64, h: u64) -> SnapEntry {
        SnapEntry {
            key_hash: k,
            hash: h,
        }
    }

    #[test]
    fn round_trips_through_bytes() {
        let s = Snapshot::from_unsorted(vec![e(3, 30), e(1, 10), e(2, 20 | REMOVED)]);
        let back = Snapshot::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(back, s);
        assert!(back.get(2).unwrap().is_removed());
        assert_eq!(back.get(2).unwrap().content(), 20);
        assert!(Snapshot::from_bytes(&[0u8; 15]).is_none());
    }

    #[test]
    fn unsorted_blobs_are_refused() {
        let mut bytes = e(2, 0).key_hash.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        assert!(Snapshot::from_bytes(&bytes).is_none());
    }

    #[test]
    fn merge_replaces_and_adds_and_last_wins() {
        let mut s = Snapshot::from_unsorted(vec![e(1, 10), e(3, 30), e(5, 50)]);
        s.merge(&[e(4, 40), e(3, 31), e(0, 1), e(3, 32)]);
        assert_eq!(
            s.entries,
            vec![e(0, 1), e(1, 10), e(3, 32), e(4, 40), e(5, 50)]
        );
        s.forget(&[1, 5]);
        assert_eq!(s.entries, vec![e(0, 1), e(3, 32), e(4, 40)]);
    }
}
