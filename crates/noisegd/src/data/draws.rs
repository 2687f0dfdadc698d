//! The random draws of data preparation (subsets, shuffles, augmentation), all from the project's
//! Philox generator ([`crate::noise::rng::uniform_u64`]) keyed by the run's seed.
//!
//! Each use has its own `group` value in the key, far above any parameter-group index and apart
//! from the noise policy's (`u32::MAX`), so that its draws share no Philox counter with the weight
//! noise or with each other; the `step` field carries the epoch where there is one.

use crate::noise::rng::{uniform_u64, NoiseKey};

/// Key group of the seeded subset draw.
pub(crate) const SUBSET_GROUP: u32 = 0xDA7A_0001;
/// Key group of the per-epoch shuffle.
pub(crate) const SHUFFLE_GROUP: u32 = 0xDA7A_0002;
/// Key group of the augmentation draws.
pub(crate) const AUGMENT_GROUP: u32 = 0xDA7A_0003;

/// Draw number `index` of the stream `(seed, step, group)`, as an integer uniform in `0..m`.
///
/// `⌊x·m / 2⁶⁴⌋` for a uniform 64-bit `x` (Lemire's multiply-shift, without the rejection step):
/// the bias is below `m / 2⁶⁴`, far under anything a test or a run could see.
pub(crate) fn below(seed: u64, step: u64, group: u32, index: u64, m: usize) -> usize {
    let x = uniform_u64(NoiseKey::new(seed, step, group), index);
    ((x as u128 * m as u128) >> 64) as usize
}

/// A uniformly random permutation of `0..n` (Fisher–Yates, draw `i` picks the element that goes
/// to position `i`), a pure function of `(seed, step, group)`.
pub(crate) fn permutation(n: usize, seed: u64, step: u64, group: u32) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    partial_shuffle(&mut p, n, seed, step, group);
    p
}

/// Shuffles the first `k` positions of `v` with elements drawn uniformly from the rest (a
/// partial Fisher–Yates): `v[..k]` is then a uniform random `k`-subset, in random order.
pub(crate) fn partial_shuffle(v: &mut [usize], k: usize, seed: u64, step: u64, group: u32) {
    let n = v.len();
    for i in 0..k.min(n) {
        let j = i + below(seed, step, group, i as u64, n - i);
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_uniform_and_reproducible() {
        assert_eq!(
            permutation(10, 1, 0, SHUFFLE_GROUP),
            permutation(10, 1, 0, SHUFFLE_GROUP)
        );
        assert_ne!(
            permutation(10, 1, 0, SHUFFLE_GROUP),
            permutation(10, 1, 1, SHUFFLE_GROUP)
        );
        assert_ne!(
            permutation(10, 1, 0, SHUFFLE_GROUP),
            permutation(10, 2, 0, SHUFFLE_GROUP)
        );
        // every one of the 3! = 6 orders of 0..3, 6000 draws: each ~1000 (binomial sd ≈ 29)
        let mut counts = std::collections::HashMap::new();
        for step in 0..6000 {
            *counts
                .entry(permutation(3, 7, step, SHUFFLE_GROUP))
                .or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 6);
        for (p, c) in counts {
            assert!((c as i64 - 1000).abs() < 6 * 29, "{p:?}: {c}");
        }
        let mut p = permutation(1000, 3, 0, SHUFFLE_GROUP);
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn below_covers_its_range() {
        let mut seen = [0usize; 9];
        for i in 0..9000 {
            seen[below(5, 0, AUGMENT_GROUP, i, 9)] += 1;
        }
        // ~1000 each, binomial sd ≈ 30
        assert!(
            seen.iter().all(|&c| (c as i64 - 1000).abs() < 6 * 30),
            "{seen:?}"
        );
    }
}
