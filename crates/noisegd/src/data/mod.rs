//! Data: synthetic problems, the MNIST-1D generator, readers for the standard IDX
//! (MNIST, Fashion-MNIST) and CIFAR binary files, a user's regression CSV and the diabetes
//! data shipped by smartcore. Nothing is ever downloaded.

pub mod cifar;
pub mod csv;
pub mod diabetes;
pub mod error;
pub mod idx;
pub mod mnist1d;
pub mod structured;
pub mod synthetic;
pub mod table;
pub mod testdata;
