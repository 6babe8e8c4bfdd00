//! A configurable parent's variant axes: the attributes in which its
//! variants differ (a polo in S, M, L and in two colours has both; a
//! coffee sold in one size only has none).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::desired::VariantSeen;
use crate::model::MAX_AXES;

/// For each parent key hash, the names of the axes its variants differ in.
///
/// A file holds hundreds of thousands of parents and a plan decodes a few
/// of them: each keeps a bit per axis, and the name lists, at most one per
/// combination of axes, are shared.
#[derive(Debug, Default)]
pub struct VariantAxes {
    /// Per parent: its first variant's index, and a bit per axis that differs.
    differs: HashMap<u64, (usize, u8), BuildHasherDefault<KeyHashHasher>>,
    names: Vec<Vec<String>>,
}

impl VariantAxes {
    pub(crate) fn get(&self, parent: &u64) -> Option<&Vec<String>> {
        self.differs
            .get(parent)
            .and_then(|&(_, mask)| self.names.get(usize::from(mask)))
    }
}

/// Key hashes are xxh3 values already: hashing them again buys nothing.
#[derive(Default)]
pub(crate) struct KeyHashHasher(u64);

impl Hasher for KeyHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) fn variant_axes(variants: &[VariantSeen], axis_names: &[&str]) -> VariantAxes {
    let axes = axis_names.len().min(MAX_AXES);
    let mut differs: HashMap<u64, (usize, u8), BuildHasherDefault<KeyHashHasher>> =
        HashMap::default();
    for (at, v) in variants.iter().enumerate() {
        let (first, mask) = differs.entry(v.parent).or_insert((at, 0));
        if let Some(values) = variants.get(*first) {
            for i in 0..axes {
                if values.axes[i] != v.axes[i] {
                    *mask |= 1 << i;
                }
            }
        }
    }
    let names = (0..1usize << axes)
        .map(|mask| {
            (0..axes)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| axis_names[i].to_string())
                .collect()
        })
        .collect();
    VariantAxes { differs, names }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_the_attributes_variants_differ_in() {
        let v = |parent, size, color| VariantSeen {
            line: 0,
            key: 0,
            parent,
            axes: [size, color, 0, 0],
        };
        let axes = variant_axes(
            &[
                v(1, 10, 7),
                v(1, 11, 7),
                v(1, 12, 7),
                v(2, 10, 7),
                v(2, 11, 8),
                v(3, 10, 7),
            ],
            &["size", "color"],
        );
        assert_eq!(axes.get(&1), Some(&vec!["size".to_string()]));
        assert_eq!(
            axes.get(&2),
            Some(&vec!["size".to_string(), "color".to_string()])
        );
        assert_eq!(axes.get(&3), Some(&vec![]));
        assert_eq!(axes.get(&4), None);
    }
}
