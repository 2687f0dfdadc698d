//! Closed-form smoothed losses, explicit regularizers and certified reference solvers.

pub mod duality;
pub mod group_lasso;
pub mod lasso;
pub mod nuclear;
pub mod smoothed;
