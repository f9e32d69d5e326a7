//! One stable sort shared by every caller outside the hot loops.
//!
//! Why: the standard library's sort is compiled anew for every element type and comparator, about
//! 4–6 KB of wasm each, and the core sorted some twenty types. Here only the order of indices is
//! sorted (one compiled copy, comparing through a `dyn` callback), then the elements are moved
//! into that order. The result is exactly the standard stable sort's; it costs one index vector
//! and an indirect call per comparison, nothing on the small lists it serves. The matcher's large
//! sorts keep the standard sort.

use std::cmp::Ordering;

/// Sorts `v` stably by `cmp` (as `slice::sort_by`).
pub(crate) fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let order = sorted_indices(v.len(), &|a, b| match (v.get(a), v.get(b)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => Ordering::Equal,
    });
    permute(v, &order);
}

/// Sorts `v` stably in its natural order (as `slice::sort`).
pub(crate) fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// Sorts `v` stably by a key (as `slice::sort_by_key`).
pub(crate) fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// `0..n` in the stable order `cmp` gives the elements at those indices.
#[inline(never)]
fn sorted_indices(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// Moves `v[order[i]]` to `v[i]` for every `i`, following the permutation's cycles with swaps.
fn permute<T>(v: &mut [T], order: &[usize]) {
    let mut placed = vec![false; order.len()];
    for start in 0..order.len() {
        let mut at = start;
        loop {
            match placed.get_mut(at) {
                Some(done) if !*done => *done = true,
                _ => break,
            }
            let Some(&from) = order.get(at) else { break };
            if from == start {
                break;
            }
            v.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The same result as the standard stable sort, equal keys included.
        #[test]
        fn as_the_standard_stable_sort(v in proptest::collection::vec((0u8..6, any::<u16>()), 0..60)) {
            let mut ours = v.clone();
            super::sort_by_key(&mut ours, |p| p.0);
            let mut std = v.clone();
            std.sort_by_key(|p| p.0);
            prop_assert_eq!(&ours, &std);
            let mut ours = v.clone();
            super::sort(&mut ours);
            let mut std = v;
            std.sort();
            prop_assert_eq!(ours, std);
        }
    }
}
