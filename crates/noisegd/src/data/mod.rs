//! Data: the image data sets the paper trains on (read from files, never downloaded, or compiled
//! in), the MNIST-1D generator, synthetic problems, and the preparation of examples for training.
//!
//! - Reading and checking files: [`idx`] (MNIST, Fashion-MNIST, KMNIST), [`cifar`].
//! - Finding and loading a data set by name: [`locate`], [`load`] ([`load_dataset`]),
//!   [`embedded`] (the compiled-in Fashion-MNIST subset), [`mnist1d`]; the result: [`dataset`].
//! - Preparation: [`subset`], [`normalize`], [`augment`], [`batch`] (their random draws: `draws`),
//!   all behind one call in [`training_set`] (what a training run consumes).
//! - Checking what is installed where: [`check`].
//! - Regression tables: [`csv`] (a user's CSV), [`diabetes`] (shipped by smartcore), [`table`]
//!   (seeded split, standardization); synthetic problems: [`synthetic`], [`structured`].

pub mod augment;
pub mod batch;
pub mod check;
pub mod cifar;
pub mod csv;
pub mod dataset;
pub mod diabetes;
mod draws;
pub mod embedded;
pub mod error;
pub mod idx;
pub mod image_folder;
pub mod load;
pub mod locate;
pub mod mnist1d;
pub mod normalize;
pub mod structured;
pub mod subset;
pub mod synthetic;
pub mod table;
pub mod testdata;
pub mod training_set;

pub use dataset::{Dataset, DatasetName, Split};
pub use load::load_dataset;
pub use training_set::{StepBatches, TrainingSet, TrainingSetConfig};
