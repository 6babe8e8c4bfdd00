//! The compact form of an entity set that the diff reads: (key hash, content
//! hash) pairs sorted by key hash, stored as one blob per scope so that a
//! million entities load in one read instead of a million rows.

/// Set on a content hash when the entity was removed by policy (product
/// disabled, stock zeroed), so that a later complete file without it does
/// not remove it again.
pub const REMOVED: u64 = 1 << 63;

/// The location of a payload kept as a row of its table (see
/// `Store::record_applied`), rather than as a line of a retained file.
pub(crate) const INLINE: u64 = u64::MAX;

/// Locations (parallel to a snapshot's entries) as a blob: one
/// little-endian word each. `None` when the blob does not fit `entries`.
pub(crate) fn locs_from_bytes(bytes: &[u8], entries: usize) -> Option<Vec<u64>> {
    if bytes.len() != entries * 8 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                u64::from_le_bytes(a)
            })
            .collect(),
    )
}

pub(crate) fn locs_to_bytes(locs: &[u64]) -> Vec<u8> {
    locs.iter().flat_map(|l| l.to_le_bytes()).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SnapEntry {
    pub key_hash: u64,
    /// Content hash; the `REMOVED` bit marks a tombstone.
    pub hash: u64,
}

impl SnapEntry {
    pub(crate) fn is_removed(&self) -> bool {
        self.hash & REMOVED != 0
    }
    pub(crate) fn content(&self) -> u64 {
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

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn get(&self, key_hash: u64) -> Option<&SnapEntry> {
        self.entries
            .binary_search_by_key(&key_hash, |e| e.key_hash)
            .ok()
            .map(|i| &self.entries[i])
    }

    #[cfg(test)]
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        Snapshot::entries_to_bytes(&self.entries)
    }

    /// The blob form of a run of entries: the blob is their concatenation.
    pub(crate) fn entries_to_bytes(entries: &[SnapEntry]) -> Vec<u8> {
        let mut out = Vec::with_capacity(entries.len() * ENTRY_BYTES);
        for e in entries {
            out.extend_from_slice(&e.key_hash.to_le_bytes());
            out.extend_from_slice(&e.hash.to_le_bytes());
        }
        out
    }

    /// `None` when the blob is not a whole number of sorted entries.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Snapshot> {
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
    /// Locations are not kept: the store uses `merge_located`.
    #[cfg(test)]
    pub(crate) fn merge(&mut self, updates: &[SnapEntry]) {
        let mut locs = vec![INLINE; self.entries.len()];
        self.merge_located(&mut locs, updates.iter().map(|&e| (e, INLINE)).collect());
    }

    /// `merge`, keeping `locs` (where each entry's payload is, parallel to
    /// the entries) in step. Returns the replaced entries' key hashes with
    /// the location they had.
    pub(crate) fn merge_located(
        &mut self,
        locs: &mut Vec<u64>,
        mut updates: Vec<(SnapEntry, u64)>,
    ) -> Vec<(u64, u64)> {
        if updates.is_empty() {
            return Vec::new();
        }
        // Stable: the last acknowledgement for a key wins.
        updates.sort_by_key(|(e, _)| e.key_hash);
        updates.reverse();
        updates.dedup_by_key(|(e, _)| e.key_hash);
        updates.reverse();
        let mut merged = Vec::with_capacity(self.entries.len() + updates.len());
        let mut merged_locs = Vec::with_capacity(merged.capacity());
        let mut replaced = Vec::new();
        let old_loc = |i: usize| locs.get(i).copied().unwrap_or(INLINE);
        let (mut i, mut j) = (0, 0);
        while i < self.entries.len() || j < updates.len() {
            match (self.entries.get(i), updates.get(j)) {
                (Some(a), Some((b, loc))) if a.key_hash == b.key_hash => {
                    replaced.push((a.key_hash, old_loc(i)));
                    merged.push(*b);
                    merged_locs.push(*loc);
                    i += 1;
                    j += 1;
                }
                (Some(a), Some((b, _))) if a.key_hash < b.key_hash => {
                    merged.push(*a);
                    merged_locs.push(old_loc(i));
                    i += 1;
                }
                (Some(_), Some((b, loc))) | (None, Some((b, loc))) => {
                    merged.push(*b);
                    merged_locs.push(*loc);
                    j += 1;
                }
                (Some(a), None) => {
                    merged.push(*a);
                    merged_locs.push(old_loc(i));
                    i += 1;
                }
                (None, None) => break,
            }
        }
        self.entries = merged;
        *locs = merged_locs;
        replaced
    }

    /// Drops these keys (locations not kept, as `merge`).
    #[cfg(test)]
    pub(crate) fn forget(&mut self, key_hashes: &[u64]) {
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

    #[test]
    fn located_merge_keeps_locations_in_step_and_reports_what_it_replaced() {
        let mut s = Snapshot::from_unsorted(vec![e(1, 10), e(3, 30)]);
        let mut locs = vec![INLINE, 7];
        let replaced =
            s.merge_located(&mut locs, vec![(e(3, 31), 9), (e(2, 20), 8), (e(1, 11), 5)]);
        assert_eq!(s.entries, vec![e(1, 11), e(2, 20), e(3, 31)]);
        assert_eq!(locs, vec![5, 8, 9]);
        assert_eq!(replaced, vec![(1, INLINE), (3, 7)]);
        assert_eq!(
            locs_from_bytes(&locs_to_bytes(&locs), 3),
            Some(locs.clone())
        );
        assert_eq!(locs_from_bytes(&locs_to_bytes(&locs), 2), None);
    }
}
