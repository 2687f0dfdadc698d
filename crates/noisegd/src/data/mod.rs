//! Data: synthetic problems, the MNIST-1D generator, and readers for the standard IDX
//! (MNIST, Fashion-MNIST) and CIFAR binary files. Nothing is ever downloaded.

pub mod cifar;
pub mod error;
pub mod idx;
pub mod mnist1d;
pub mod structured;
pub mod synthetic;
pub mod testdata;
