//! Data: synthetic problems (and, later, the real data-set readers).

pub mod structured;
pub mod synthetic;
