//! Base optimizers with PyTorch's semantics, and learning-rate schedules.
//!
//! SGD (momentum, dampening, Nesterov, L2 weight decay) is noisegd's own fused update (`sgd.rs`,
//! one in-place pass per tensor; burn-optim's `Sgd` took five); Adam and AdamW are burn-optim's,
//! configured so that they follow `torch.optim` exactly: the Adam epsilon is 1e-8 (burn's default
//! is 1e-5), AdamW's weight decay defaults to 0.01 as in PyTorch. Tests in this module compare
//! each rule with steps computed by hand.

mod base;
pub mod schedule;
mod sgd;

pub use base::{BaseOptimizer, OptimConfig, OptimName};
pub use schedule::{LrSchedule, LrScheduleKind, ScheduleUnit};
