//! The slices in which a target's changes are pushed and acknowledged.
//!
//! A file of a million new products is not decoded at once: its creates stay
//! pending (an index into the file's entries) until their slice is sent, so
//! memory holds one slice of decoded changes, and a crash resends at most
//! the slice in flight. Products travel by family: a configurable parent
//! needs the variants sent with it to configure its options, and a variant
//! its parent to link to, so a slice never cuts a family (a parent and the
//! variants the file gives it).

use std::collections::HashMap;

use crate::reconcile::{Change, DesiredEntry, VariantSeen};

/// One change to send: decoded already, or a create still to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// An index into the target plan's changes.
    Decoded(usize),
    /// An index into the file's entries.
    Pending(usize),
}

/// The target's work in the order it is sent, cut into slices of about
/// `size` units. With `by_family`, units are grouped by family and a slice
/// ends only between families.
pub(crate) fn slices(
    changes: &[Change],
    pending: &[usize],
    entries: &[DesiredEntry],
    variants: &[VariantSeen],
    size: usize,
    by_family: bool,
) -> Vec<Vec<Unit>> {
    let parent_of: HashMap<u64, u64> = if by_family {
        variants.iter().map(|v| (v.key, v.parent)).collect()
    } else {
        HashMap::new()
    };
    let family = |key_hash: u64| parent_of.get(&key_hash).copied().unwrap_or(key_hash);
    // (family, has no line, line, unit): removals, which have no line, last
    // in their family.
    let mut units: Vec<(u64, bool, u64, Unit)> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                family(c.key_hash),
                c.line.is_none(),
                c.line.unwrap_or(0),
                Unit::Decoded(i),
            )
        })
        .chain(pending.iter().filter_map(|&i| {
            let e = entries.get(i)?;
            Some((family(e.key_hash), false, e.line, Unit::Pending(i)))
        }))
        .collect();
    if by_family {
        units.sort_unstable_by_key(|&(f, no_line, line, _)| (f, no_line, line));
    }
    let size = size.max(1);
    let mut out: Vec<Vec<Unit>> = Vec::new();
    let mut current: Vec<Unit> = Vec::new();
    let mut last_family = None;
    for (f, _, _, unit) in units {
        let boundary = !by_family || last_family != Some(f);
        if current.len() >= size && boundary {
            out.push(std::mem::take(&mut current));
        }
        current.push(unit);
        last_family = Some(f);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::Action;

    fn entry(key_hash: u64, line: u64) -> DesiredEntry {
        DesiredEntry {
            key_hash,
            hash: 0,
            offset: 0,
            line,
        }
    }

    fn update(key_hash: u64, line: Option<u64>) -> Change {
        Change {
            action: Action::Update,
            key: key_hash.to_string(),
            key_hash,
            hash: 0,
            line,
            offset: None,
            fields: Default::default(),
            payload: Default::default(),
            variant_axes: None,
            before: None,
        }
    }

    fn variant(key: u64, parent: u64) -> VariantSeen {
        VariantSeen {
            line: key,
            key,
            parent,
            axes: [0; 4],
        }
    }

    #[test]
    fn a_slice_never_cuts_a_family_and_every_unit_is_sent_once() {
        // Parent 10 with variants 11 and 12 (one an update), parent 20 with
        // variant 21, simple 30; slices of two.
        let entries = vec![
            entry(10, 2),
            entry(11, 3),
            entry(20, 5),
            entry(21, 6),
            entry(30, 7),
        ];
        let changes = vec![update(12, Some(4))];
        let variants = vec![variant(11, 10), variant(12, 10), variant(21, 20)];
        let out = slices(&changes, &[0, 1, 2, 3, 4], &entries, &variants, 2, true);
        let keys: Vec<Vec<u64>> = out
            .iter()
            .map(|s| {
                s.iter()
                    .map(|u| match *u {
                        Unit::Decoded(i) => changes[i].key_hash,
                        Unit::Pending(i) => entries[i].key_hash,
                    })
                    .collect()
            })
            .collect();
        assert_eq!(keys, vec![vec![10, 11, 12], vec![20, 21], vec![30]]);
    }

    #[test]
    fn other_flows_are_cut_by_size_in_the_order_given() {
        let entries = vec![entry(1, 2), entry(2, 3), entry(3, 4)];
        let changes = vec![update(9, Some(9)), update(8, None)];
        let out = slices(&changes, &[0, 1, 2], &entries, &[], 2, false);
        assert_eq!(
            out,
            vec![
                vec![Unit::Decoded(0), Unit::Decoded(1)],
                vec![Unit::Pending(0), Unit::Pending(1)],
                vec![Unit::Pending(2)]
            ]
        );
    }
}
