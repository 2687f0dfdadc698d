//! Seeded subsets, e.g. the paper's 1,024-image Fashion-MNIST training subset.
//!
//! The official code draws it with `random.sample(range(60000), 1024)` and sets no seed, so its
//! subset changes from run to run and cannot be reproduced. Ours is drawn the same way in
//! distribution (uniform over all 1,024-subsets of the 60,000, without replacement and without
//! balancing the classes, in draw order) but from the run's seed, so a run can be redone exactly;
//! the Python subset itself is not reproduced (another generator, and no seed to match).

use super::dataset::Split;
use super::draws::{partial_shuffle, SUBSET_GROUP};
use super::error::DataError;

/// `k` distinct indices of `0..n`, uniformly random (every `k`-subset equally likely), in draw
/// order, from `seed`. A partial Fisher–Yates shuffle on Philox draws.
pub fn sample_indices(n: usize, k: usize, seed: u64) -> Result<Vec<usize>, DataError> {
    if k == 0 || k > n {
        return Err(DataError::config(
            "subset",
            format!("cannot draw {k} distinct examples out of {n}; expected 1 ..= {n}"),
        ));
    }
    let mut v: Vec<usize> = (0..n).collect();
    partial_shuffle(&mut v, k, seed, 0, SUBSET_GROUP);
    v.truncate(k);
    Ok(v)
}

/// The seeded subset of `k` examples of `split` ([`sample_indices`]).
pub fn seeded_subset(split: &Split, k: usize, seed: u64) -> Result<Split, DataError> {
    Ok(split.select(&sample_indices(split.len(), k, seed)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_are_distinct_reproducible_and_uniform() {
        let a = sample_indices(60_000, 1024, 1).unwrap();
        assert_eq!(a.len(), 1024);
        assert_eq!(a, sample_indices(60_000, 1024, 1).unwrap());
        assert_ne!(a, sample_indices(60_000, 1024, 2).unwrap());
        let mut s = a.clone();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), 1024);
        assert!(s.iter().all(|&i| i < 60_000));
        // inclusion frequency of each of 20 items in 2-of-20 subsets, 4000 seeds:
        // p = 0.1, expected 400 each, sd ≈ 19
        let mut hits = [0usize; 20];
        for seed in 0..4000 {
            for i in sample_indices(20, 2, seed).unwrap() {
                hits[i] += 1;
            }
        }
        assert!(
            hits.iter().all(|&h| (h as i64 - 400).abs() < 6 * 19),
            "{hits:?}"
        );
        assert_eq!(sample_indices(5, 5, 0).unwrap().len(), 5);
        let e = sample_indices(10, 11, 0).unwrap_err().to_string();
        assert!(e.contains("11 distinct examples out of 10"), "{e}");
        assert!(sample_indices(10, 0, 0).is_err());
    }

    #[test]
    fn subset_of_a_split_keeps_examples_with_their_labels() {
        let s = Split {
            x: (0..20).map(|v| v as f32).collect(),
            features: 2,
            labels: (0..10).collect(),
            coarse_labels: None,
        };
        let t = seeded_subset(&s, 4, 9).unwrap();
        assert_eq!(t.len(), 4);
        for i in 0..4 {
            let l = t.labels[i] as f32;
            assert_eq!(t.example(i), &[2.0 * l, 2.0 * l + 1.0]);
        }
    }
}
