//! A configurable parent's variant axes: the attributes in which its
//! variants differ (a polo in S, M, L and in two colours has both; a
//! coffee sold in one size only has none).

use std::collections::HashMap;

use super::desired::VariantSeen;

/// For each parent key hash, the names of the axes its variants differ in.
pub fn variant_axes(variants: &[VariantSeen], axis_names: &[&str]) -> HashMap<u64, Vec<String>> {
    let mut first: HashMap<u64, (&[u64], Vec<bool>)> = HashMap::new();
    for v in variants {
        let entry = first
            .entry(v.parent)
            .or_insert_with(|| (v.axes.as_slice(), vec![false; v.axes.len()]));
        for (i, h) in v.axes.iter().enumerate() {
            if entry.0.get(i) != Some(h) {
                if let Some(d) = entry.1.get_mut(i) {
                    *d = true;
                }
            }
        }
    }
    first
        .into_iter()
        .map(|(parent, (_, differs))| {
            let names = axis_names
                .iter()
                .zip(differs)
                .filter(|(_, d)| *d)
                .map(|(n, _)| n.to_string())
                .collect();
            (parent, names)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_the_attributes_variants_differ_in() {
        let v = |parent, size, color| VariantSeen {
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
        assert_eq!(axes[&1], vec!["size"]);
        assert_eq!(axes[&2], vec!["size", "color"]);
        assert!(axes[&3].is_empty());
    }
}
