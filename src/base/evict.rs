//! Choosing what a full table evicts, in batches.
//!
//! Scanning a whole table for its single oldest entry made every insertion into a full table
//! cost O(cap): a flood of new Call-IDs against the 100,000-transaction cap spent minutes per
//! second of traffic in that scan. A scan now picks the oldest 1/64 of the table at once, so an
//! insertion costs O(64) amortized, and a flood is shed as fast as it arrives.

/// A full table evicts `len / EVICT_FRACTION` entries (at least one) per scan.
pub const EVICT_FRACTION: usize = 64;

/// The keys of the `max(len / EVICT_FRACTION, 1)` entries with the smallest `order`, smallest
/// first. `order` should be unique per entry (add a sequence number) so the choice is stable.
pub fn oldest<'a, K, V, S>(
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    len: usize,
    order: impl Fn(&K, &V) -> S,
) -> Vec<K>
where
    K: Clone + 'a,
    V: 'a,
    S: Ord,
{
    let n = (len / EVICT_FRACTION).max(1);
    let mut all: Vec<(S, &K)> = entries.map(|(k, v)| (order(k, v), k)).collect();
    if all.len() > n {
        all.select_nth_unstable_by(n - 1, |a, b| a.0.cmp(&b.0));
        all.truncate(n);
    }
    all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    all.into_iter().map(|(_, k)| k.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn picks_the_oldest_sixty_fourth_in_order() {
        let m: HashMap<u32, u64> = (0..1000u32).map(|k| (k, u64::from(1000 - k))).collect();
        // 1000 / 64 = 15 entries: values 1..=15, i.e. keys 999 down to 985.
        let got = oldest(m.iter(), m.len(), |_, v| *v);
        assert_eq!(got, (985..1000u32).rev().collect::<Vec<_>>());
        let small: HashMap<u32, u64> = [(7, 3), (8, 1)].into_iter().collect();
        assert_eq!(oldest(small.iter(), small.len(), |_, v| *v), vec![8]);
        let empty: HashMap<u32, u64> = HashMap::new();
        assert!(oldest(empty.iter(), 0, |_, v| *v).is_empty());
    }
}
