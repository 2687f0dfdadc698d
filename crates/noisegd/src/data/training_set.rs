//! The training set a run consumes: from a data set's name to the batch of every step, behind
//! one call ([`TrainingSet::load`]).
//!
//! In order: load the data set ([`super::load_dataset`]), take the seeded subset of the
//! training examples ([`super::subset`]), standardize every channel with the training (sub)set's
//! statistics, applied to both splits ([`super::normalize`]), and cut every epoch into batches
//! ([`super::batch`]), each batch randomly cropped and flipped when asked
//! ([`super::augment`]). Every draw is keyed by the run's seed (and the epoch, and the example),
//! so the batch of step `t` is a function of `t` alone: a run resumed at step `t` gets the
//! batches the uninterrupted run got.

use std::path::PathBuf;

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::augment::augment_batch;
use super::batch::{Batcher, EpochBatches};
use super::dataset::{Dataset, DatasetName, Split};
use super::error::DataError;
use super::normalize::ChannelStats;
use super::subset::seeded_subset;

/// Padding of the random crop (the official CIFAR code's `RandomCrop(32, padding=4)`).
pub const CROP_PADDING: usize = 4;

/// What a training set is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSetConfig {
    /// The data set.
    pub name: DatasetName,
    /// The data root (unset: `$NOISEGD_DATA`, then the system's folders).
    pub dir: Option<PathBuf>,
    /// An image folder's class order (labels 0, 1, …); empty: its folder names, sorted.
    pub classes: Vec<String>,
    /// Train on a seeded subset of this many training examples; 0: all.
    pub subset: usize,
    /// Standardize each channel: with `stats` when given, else with the training (sub)set's
    /// mean and std.
    pub normalize: bool,
    /// Given per-channel statistics (e.g. the official code's `Normalize(0.5, 0.5)`), used when
    /// `normalize` is set.
    pub stats: Option<ChannelStats>,
    /// Random crop ([`CROP_PADDING`]) and horizontal flip, drawn per (seed, epoch, example).
    pub augment: bool,
    /// Examples per batch; 0: full batch.
    pub batch_size: usize,
    /// Keys the subset, the shuffles and the augmentation.
    pub seed: u64,
}

/// A data set prepared for training: the splits as trained on and the batch of every step.
pub struct TrainingSet {
    /// The data set as loaded (its name, origin, shape, classes and full splits).
    pub data: Dataset,
    /// The training (sub)set, normalized when asked.
    pub train: Split,
    /// The test set, normalized with the training statistics when asked.
    pub test: Split,
    /// How the pixels were scaled, in words (for reports).
    pub normalization: String,
    pad_fill: Vec<f32>,
    augment: bool,
    seed: u64,
    batcher: Batcher,
    device: Device,
    /// Full batch without augmentation: the same tensors every step.
    fixed: Option<(Tensor<2>, Tensor<1, Int>)>,
}

impl TrainingSet {
    /// Loads and prepares the data set of `config`, its batches' tensors on `device`.
    pub fn load(config: &TrainingSetConfig, device: &Device) -> Result<Self, DataError> {
        let data = if config.name == DatasetName::ImageFolder {
            super::load::load_image_folder_at(config.dir.as_deref(), &config.classes)?
        } else {
            super::load_dataset(config.name, config.dir.as_deref())?
        };
        let mut train = if config.subset > 0 {
            seeded_subset(&data.train, config.subset, config.seed)?
        } else {
            data.train.clone()
        };
        let mut test = data.test.clone();
        let [c, h, w] = data.shape;
        let (pad_fill, normalization) = if config.normalize {
            let (stats, whose) = match &config.stats {
                Some(given) if given.channels() != c => {
                    return Err(DataError::config(
                        "normalize_mean",
                        format!(
                            "{} channel statistics given, but {} has {c} channel(s)",
                            given.channels(),
                            config.name
                        ),
                    ))
                }
                Some(given) => (given.clone(), "the given"),
                None => (
                    ChannelStats::compute(&train.x, c, h * w)?,
                    "the training (sub)set's",
                ),
            };
            stats.apply(&mut train.x, h * w);
            stats.apply(&mut test.x, h * w);
            let text = format!(
                "per-channel standardization with {whose} mean {:?} and std {:?}",
                stats.mean, stats.std
            );
            (stats.normalized_zero(), text)
        } else {
            (
                vec![0.0; c],
                "pixels scaled to [0, 1], no standardization".to_string(),
            )
        };
        let batcher = match config.batch_size {
            0 => Batcher::full(train.len())?,
            b => Batcher::new(train.len(), b, config.seed)?,
        };
        let fixed = (batcher.batches_per_epoch() == 1 && !config.augment)
            .then(|| train.batch_2d(&(0..train.len()).collect::<Vec<_>>(), device));
        Ok(Self {
            data,
            train,
            test,
            normalization,
            pad_fill,
            augment: config.augment,
            seed: config.seed,
            batcher,
            device: device.clone(),
            fixed,
        })
    }

    /// Steps per epoch.
    pub fn batches_per_epoch(&self) -> u64 {
        self.batcher.batches_per_epoch() as u64
    }

    /// The batches of a run, step after step (the set itself stays readable beside them, e.g.
    /// for evaluation).
    pub fn batches(&self) -> StepBatches<'_> {
        StepBatches {
            set: self,
            position: None,
        }
    }
}

/// The batches of a run over a [`TrainingSet`] ([`TrainingSet::batches`]).
pub struct StepBatches<'a> {
    set: &'a TrainingSet,
    /// The epoch being served, the step its next batch belongs to, and its remaining batches.
    position: Option<(u64, u64, EpochBatches)>,
}

impl StepBatches<'_> {
    /// Steps per epoch.
    pub fn per_epoch(&self) -> u64 {
        self.set.batches_per_epoch()
    }

    /// The batch of step `step` (from 0): batch `step mod b` of epoch `step / b`, `b` batches
    /// per epoch, as input rows and labels. Consecutive steps continue the epoch's order; any
    /// other step (the first one of a resumed run) starts it anew and skips to the batch.
    pub fn batch(&mut self, step: u64) -> (Tensor<2>, Tensor<1, Int>) {
        let set = self.set;
        if let Some((x, y)) = &set.fixed {
            return (x.clone(), y.clone());
        }
        let per_epoch = set.batches_per_epoch();
        let epoch = step / per_epoch;
        let continues =
            matches!(&self.position, Some((e, next, _)) if *e == epoch && *next == step);
        if !continues {
            let mut batches = set.batcher.epoch(epoch);
            for _ in 0..step % per_epoch {
                batches.next();
            }
            self.position = Some((epoch, step, batches));
        }
        let (_, next, batches) = self.position.as_mut().expect("set above");
        *next += 1;
        let indices = batches
            .next()
            .expect("an epoch holds batches_per_epoch batches");
        if set.augment {
            let x = augment_batch(
                &set.train.x,
                set.data.shape,
                &indices,
                set.seed,
                epoch,
                CROP_PADDING,
                &set.pad_fill,
            );
            let x = Tensor::from_data(
                TensorData::new(x, [indices.len(), set.train.features]),
                &set.device,
            );
            (x, set.train.labels_tensor(&indices, &set.device))
        } else {
            set.train.batch_2d(&indices, &set.device)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(batch_size: usize, augment: bool) -> TrainingSetConfig {
        TrainingSetConfig {
            name: DatasetName::FashionMnistEmbedded,
            dir: None,
            classes: vec![],
            subset: 300,
            normalize: true,
            stats: None,
            augment,
            batch_size,
            seed: 3,
        }
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn the_batch_of_a_step_does_not_depend_on_the_steps_before_it() {
        let device = Device::flex();
        for augment in [false, true] {
            let set = TrainingSet::load(&config(128, augment), &device).unwrap();
            assert_eq!(set.batches_per_epoch(), 3, "300 examples in batches of 128");
            let mut from_start = set.batches();
            let all: Vec<Vec<f32>> = (0..8).map(|t| values(from_start.batch(t).0)).collect();
            assert_eq!(
                all[2].len(),
                44 * 784,
                "the last batch of an epoch is the rest"
            );
            assert_ne!(all[0], all[3], "each epoch has its own order");
            // A run resumed at step 4 (in the middle of epoch 1) sees the same batches.
            let mut resumed = set.batches();
            for (t, expected) in all.iter().enumerate().skip(4) {
                assert_eq!(&values(resumed.batch(t as u64).0), expected, "step {t}");
            }
        }
    }

    #[test]
    fn normalization_uses_the_training_subsets_statistics() {
        let device = Device::flex();
        let set = TrainingSet::load(&config(0, false), &device).unwrap();
        let n = set.train.x.len() as f64;
        let mean = set.train.x.iter().map(|v| *v as f64).sum::<f64>() / n;
        let var = set
            .train
            .x
            .iter()
            .map(|v| (*v as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(
            mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
            "{mean} {var}"
        );
        assert_eq!(set.train.len(), 300);
        assert_eq!(set.test.len(), set.data.test.len());
        assert!(set.normalization.starts_with("per-channel standardization"));
    }

    /// Given statistics (the June-2022 official code's `Normalize(0.5, 0.5)`: x ↦ 2x − 1) are
    /// used as given; as many as the data set has channels, else an error naming the key.
    #[test]
    fn given_statistics_standardize_as_given() {
        let device = Device::flex();
        let half = ChannelStats::new(vec![0.5], vec![0.5]).unwrap();
        let raw = TrainingSet::load(
            &TrainingSetConfig {
                normalize: false,
                ..config(0, false)
            },
            &device,
        )
        .unwrap();
        let set = TrainingSet::load(
            &TrainingSetConfig {
                stats: Some(half),
                ..config(0, false)
            },
            &device,
        )
        .unwrap();
        for (a, b) in raw.test.x.iter().zip(&set.test.x).take(5000) {
            assert!((2.0 * a - 1.0 - b).abs() < 1e-6, "{a} → {b}");
        }
        assert!(set.normalization.contains("the given mean [0.5]"));
        let three = ChannelStats::new(vec![0.5; 3], vec![0.5; 3]).unwrap();
        let e = TrainingSet::load(
            &TrainingSetConfig {
                stats: Some(three),
                ..config(0, false)
            },
            &device,
        )
        .err()
        .expect("3 channel statistics for a 1-channel data set")
        .to_string();
        assert!(
            e.contains("normalize_mean") && e.contains("1 channel"),
            "{e}"
        );
    }
}
