//! Closed-form smoothed losses, explicit regularizers and certified reference solvers.

pub mod lasso;
