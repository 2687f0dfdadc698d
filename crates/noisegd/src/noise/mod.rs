//! The noise: where it is drawn from ([`rng`]), which groups receive it and how much
//! ([`policy`]), and how σ changes over the run ([`schedule`]).

pub mod draw;
pub mod policy;
pub mod rng;
pub mod schedule;

pub use policy::{NoiseConfig, Plan, PolicyKind, Select, Target};
pub use schedule::{NoiseSchedule, NoiseScheduleKind};
