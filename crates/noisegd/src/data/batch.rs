//! Batching: which examples each step of an epoch sees, shuffled per epoch from the run's seed,
//! and the helpers that turn a batch into burn tensors.
//!
//! Epoch `e`'s order is a uniformly random permutation keyed by `(seed, e)` (Philox draws), cut
//! into consecutive batches; the last, smaller batch is kept unless `drop_last`. Full-batch mode
//! (the paper's Fashion-MNIST runs) is one batch of every example, in order, each epoch.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::dataset::Split;
use super::draws::{permutation, SHUFFLE_GROUP};
use super::error::DataError;

/// Cuts each epoch of `n` examples into batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batcher {
    n: usize,
    /// `None`: full batch.
    batch_size: Option<usize>,
    drop_last: bool,
    shuffle: bool,
    seed: u64,
}

impl Batcher {
    /// Full batch: every epoch is one batch of `0..n`.
    pub fn full(n: usize) -> Result<Self, DataError> {
        Self::check_n(n)?;
        Ok(Batcher {
            n,
            batch_size: None,
            drop_last: false,
            shuffle: false,
            seed: 0,
        })
    }

    /// Mini-batches of `batch_size`, shuffled every epoch from `seed`, last partial batch kept.
    pub fn new(n: usize, batch_size: usize, seed: u64) -> Result<Self, DataError> {
        Self::check_n(n)?;
        if batch_size == 0 {
            return Err(DataError::config("batch_size", "0, expected ≥ 1"));
        }
        Ok(Batcher {
            n,
            batch_size: Some(batch_size),
            drop_last: false,
            shuffle: true,
            seed,
        })
    }

    fn check_n(n: usize) -> Result<(), DataError> {
        if n == 0 {
            return Err(DataError::config("batch", "no examples to batch"));
        }
        Ok(())
    }

    /// Drops the last batch of an epoch when it is smaller than the batch size. An error when
    /// that leaves no batch at all.
    pub fn drop_last(mut self, drop_last: bool) -> Result<Self, DataError> {
        if let (true, Some(b)) = (drop_last, self.batch_size) {
            if b > self.n {
                return Err(DataError::config(
                    "drop_last",
                    format!(
                        "batch_size {b} > {} examples: every epoch would be empty",
                        self.n
                    ),
                ));
            }
        }
        self.drop_last = drop_last;
        Ok(self)
    }

    /// Keeps the examples in their order instead of shuffling them every epoch.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        match self.batch_size {
            None => 1,
            Some(b) if self.drop_last => self.n / b,
            Some(b) => self.n.div_ceil(b),
        }
    }

    /// The batches of epoch `epoch` (example indices), in order.
    pub fn epoch(&self, epoch: u64) -> EpochBatches {
        let order = if self.shuffle && self.batch_size.is_some() {
            permutation(self.n, self.seed, epoch, SHUFFLE_GROUP)
        } else {
            (0..self.n).collect()
        };
        let size = self.batch_size.unwrap_or(self.n);
        let len = self.batches_per_epoch() * size;
        EpochBatches {
            order,
            size,
            end: len.min(self.n),
            next: 0,
        }
    }
}

/// The batches of one epoch ([`Batcher::epoch`]): an iterator of index vectors.
#[derive(Debug, Clone)]
pub struct EpochBatches {
    order: Vec<usize>,
    size: usize,
    end: usize,
    next: usize,
}

impl EpochBatches {
    /// The epoch's order of examples (all of them, including any dropped at the end).
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

impl Iterator for EpochBatches {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        if self.next >= self.end {
            return None;
        }
        let stop = (self.next + self.size).min(self.end);
        let batch = self.order[self.next..stop].to_vec();
        self.next = stop;
        Some(batch)
    }
}

impl Split {
    /// The examples `indices` as a `[batch, features]` tensor (an MLP's input) and their labels.
    pub fn batch_2d(&self, indices: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        let x = self.select(indices).x;
        (
            Tensor::from_data(TensorData::new(x, [indices.len(), self.features]), device),
            self.labels_tensor(indices, device),
        )
    }

    /// The examples `indices` as a `[batch, c, h, w]` tensor (a CNN's input) and their labels.
    /// Panics if `shape` does not hold `features` values.
    pub fn batch_4d(
        &self,
        indices: &[usize],
        shape: [usize; 3],
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        assert_eq!(
            shape.iter().product::<usize>(),
            self.features,
            "shape {shape:?}"
        );
        let x = self.select(indices).x;
        let [c, h, w] = shape;
        (
            Tensor::from_data(TensorData::new(x, [indices.len(), c, h, w]), device),
            self.labels_tensor(indices, device),
        )
    }

    /// The labels of `indices` as an integer tensor (what cross-entropy takes).
    pub fn labels_tensor(&self, indices: &[usize], device: &Device) -> Tensor<1, Int> {
        let y: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        Tensor::from_data(TensorData::new(y, [indices.len()]), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_batch_is_everything_in_order() {
        let b = Batcher::full(5).unwrap();
        for e in 0..3 {
            let v: Vec<_> = b.epoch(e).collect();
            assert_eq!(v, vec![vec![0, 1, 2, 3, 4]]);
        }
        assert_eq!(b.batches_per_epoch(), 1);
        assert!(Batcher::full(0).is_err());
    }

    #[test]
    fn epochs_cover_every_example_once_shuffled_by_seed_and_epoch() {
        let b = Batcher::new(10, 4, 7).unwrap();
        let e0: Vec<Vec<usize>> = b.epoch(0).collect();
        assert_eq!(e0.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut all: Vec<usize> = e0.concat();
        assert_ne!(all, (0..10).collect::<Vec<_>>(), "not shuffled");
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(e0, b.epoch(0).collect::<Vec<_>>());
        assert_ne!(e0, b.epoch(1).collect::<Vec<_>>());
        assert_ne!(
            e0,
            Batcher::new(10, 4, 8).unwrap().epoch(0).collect::<Vec<_>>()
        );
        // drop_last: two batches of 4, the same first eight as without it
        let d = b.clone().drop_last(true).unwrap();
        assert_eq!(d.batches_per_epoch(), 2);
        let e0d: Vec<Vec<usize>> = d.epoch(0).collect();
        assert_eq!(e0d, e0[..2].to_vec());
        // no shuffle
        let s: Vec<Vec<usize>> = b.clone().shuffle(false).epoch(3).collect();
        assert_eq!(s, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
        // bad settings
        assert!(Batcher::new(10, 0, 0).is_err());
        let e = Batcher::new(3, 4, 0)
            .unwrap()
            .drop_last(true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("batch_size 4 > 3 examples"), "{e}");
    }

    #[test]
    fn batches_become_tensors_of_the_right_shape() {
        let s = Split {
            x: (0..24).map(|v| v as f32).collect(),
            features: 6,
            labels: vec![3, 1, 4, 1],
            coarse_labels: None,
        };
        let device = Device::flex();
        let (x, y) = s.batch_2d(&[2, 0], &device);
        assert_eq!(x.dims(), [2, 6]);
        let xv: Vec<f32> = x.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(&xv[..6], &[12., 13., 14., 15., 16., 17.]);
        let yv: Vec<i64> = y.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
        assert_eq!(yv, vec![4, 3]);
        let (x4, _) = s.batch_4d(&[1, 2, 3], [1, 2, 3], &device);
        assert_eq!(x4.dims(), [3, 1, 2, 3]);
    }
}
