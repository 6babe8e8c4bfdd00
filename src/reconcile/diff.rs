//! The merge of a file's desired set with a target's applied snapshot: both
//! sorted by key hash, so one linear pass classifies every entity. The work is
//! split by key range across the cores.

use rayon::prelude::*;

use super::desired::DesiredEntry;
use crate::state::{SnapEntry, Snapshot};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Classified {
    /// Indices into the desired entries.
    pub creates: Vec<usize>,
    pub updates: Vec<usize>,
    pub unchanged: u64,
    /// Applied entities the file no longer holds (complete files only),
    /// not already removed.
    pub removals: Vec<SnapEntry>,
}

impl Classified {
    fn append(&mut self, other: Classified) {
        self.creates.extend(other.creates);
        self.updates.extend(other.updates);
        self.unchanged += other.unchanged;
        self.removals.extend(other.removals);
    }
}

pub fn classify(desired: &[DesiredEntry], applied: &Snapshot, complete: bool) -> Classified {
    let parts = rayon::current_num_threads().max(1);
    if desired.len() < 64 * 1024 || parts == 1 {
        return merge(desired, 0, &applied.entries, complete);
    }
    // Cut the desired side into equal runs and the applied side at the same keys.
    let step = desired.len().div_ceil(parts);
    let mut bounds = Vec::new();
    let mut a_start = 0;
    for p in 0..parts {
        let d_start = p * step;
        let d_end = ((p + 1) * step).min(desired.len());
        if d_start >= d_end {
            break;
        }
        let a_end = if d_end == desired.len() {
            applied.entries.len()
        } else {
            let cut = desired[d_end].key_hash;
            applied.entries.partition_point(|e| e.key_hash < cut)
        };
        bounds.push((d_start, d_end, a_start, a_end));
        a_start = a_end;
    }
    let pieces: Vec<Classified> = bounds
        .into_par_iter()
        .map(|(ds, de, as_, ae)| merge(&desired[ds..de], ds, &applied.entries[as_..ae], complete))
        .collect();
    let mut all = Classified::default();
    for p in pieces {
        all.append(p);
    }
    all
}

fn merge(
    desired: &[DesiredEntry],
    base: usize,
    applied: &[SnapEntry],
    complete: bool,
) -> Classified {
    let mut out = Classified::default();
    let (mut i, mut j) = (0, 0);
    while i < desired.len() {
        let d = &desired[i];
        while j < applied.len() && applied[j].key_hash < d.key_hash {
            if complete && !applied[j].is_removed() {
                out.removals.push(applied[j]);
            }
            j += 1;
        }
        match applied.get(j) {
            Some(a) if a.key_hash == d.key_hash => {
                if a.content() == d.hash {
                    out.unchanged += 1;
                } else {
                    out.updates.push(base + i);
                }
                j += 1;
            }
            _ => out.creates.push(base + i),
        }
        i += 1;
    }
    if complete {
        out.removals
            .extend(applied[j..].iter().filter(|a| !a.is_removed()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::REMOVED;

    fn d(k: u64, h: u64) -> DesiredEntry {
        DesiredEntry {
            key_hash: k,
            hash: h,
            offset: 0,
            line: k,
        }
    }
    fn a(k: u64, h: u64) -> SnapEntry {
        SnapEntry {
            key_hash: k,
            hash: h,
        }
    }

    #[test]
    fn classifies_every_case() {
        let desired = vec![d(1, 10), d(2, 20), d(4, 41), d(6, 60)];
        let applied = Snapshot {
            entries: vec![a(0, 1), a(2, 20), a(3, 30), a(4, 40), a(5, 50 | REMOVED)],
        };
        let c = classify(&desired, &applied, true);
        assert_eq!(c.creates, vec![0, 3]);
        assert_eq!(c.updates, vec![2]);
        assert_eq!(c.unchanged, 1);
        assert_eq!(c.removals, vec![a(0, 1), a(3, 30)]);
        let v = classify(&desired, &applied, false);
        assert!(v.removals.is_empty());
    }

    #[test]
    fn content_hashes_never_carry_the_removed_bit() {
        // Half of all raw 64-bit hashes have bit 63 set: content hashes must not.
        let hashes: Vec<u64> = (0u32..1000)
            .map(|i| crate::model::content_hash(&i.to_le_bytes()))
            .collect();
        assert!(hashes.iter().all(|h| h & REMOVED == 0));
        let desired: Vec<DesiredEntry> = hashes
            .iter()
            .enumerate()
            .map(|(i, &h)| d(i as u64, h))
            .collect();
        let applied = Snapshot {
            entries: hashes
                .iter()
                .enumerate()
                .map(|(i, &h)| a(i as u64, h))
                .collect(),
        };
        assert_eq!(classify(&desired, &applied, true).unchanged, 1000);
    }

    #[test]
    fn a_removed_entity_that_returns_is_an_update() {
        let desired = vec![d(5, 51)];
        let applied = Snapshot {
            entries: vec![a(5, 50 | REMOVED)],
        };
        assert_eq!(classify(&desired, &applied, true).updates, vec![0]);
    }

    #[test]
    fn the_parallel_split_agrees_with_one_pass() {
        let mut x: u64 = 0x9E3779B97F4A7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut desired: Vec<DesiredEntry> = (0..200_000)
            .map(|_| d(next() % 1_000_000, next() % 3))
            .collect();
        desired.sort_by_key(|e| e.key_hash);
        desired.dedup_by_key(|e| e.key_hash);
        let applied = Snapshot::from_unsorted(
            (0..200_000)
                .map(|_| a(next() % 1_000_000, next() % 3))
                .collect(),
        );
        let split = classify(&desired, &applied, true);
        let single = merge(&desired, 0, &applied.entries, true);
        assert_eq!(split, single);
    }
}
