//! Base optimizers with PyTorch's semantics, and learning-rate schedules.
//!
//! The update rules themselves are burn-optim's (`Sgd`, `Adam`, `AdamW`), configured so that they
//! follow `torch.optim` exactly: SGD's momentum dampening is 0 (burn's default is 0.1), the Adam
//! epsilon is 1e-8 (burn's default is 1e-5), AdamW's weight decay defaults to 0.01 as in PyTorch.
//! Tests in this module compare each rule with steps computed by hand.

mod base;
pub mod schedule;
mod sgd;

pub use base::{BaseOptimizer, OptimConfig, OptimName};
pub use schedule::{LrSchedule, LrScheduleKind, ScheduleUnit};
