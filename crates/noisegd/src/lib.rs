//! # noisegd: perturbed gradient descent on burn
//!
//! `w ← w − η · g(w + ε)`: a [`noise::PolicyKind`] says which parameter groups get Gaussian noise and
//! how much, [`noise::rng`] draws it reproducibly from `(seed, step, group, element)`, the gradient
//! is taken at the perturbed point, and a [`optim::BaseOptimizer`] steps from the clean weights,
//! which are never modified. In expectation this minimizes the smoothed loss
//! `R_σ(w) = E_ε L(w + ε)` (Orvieto, Raj, Kersting, Bach, AISTATS 2023).
//!
//! The whole method is [`step::NoiseInjection`]; everything else (models, data, theory) exists to
//! run it on real problems and to check what it does.
//!
//! The layers, bottom to top, each importing only from below (models, data, theory, diagnostics
//! sit beside them):
//!
//! ```text
//! noise (rng, policy, schedule, draw) -> step (perturbed step) -> train (the driver) -> your program / the CLI
//! ```
//!
//! - [`noise`]: which groups get how much noise, drawn from `(seed, step, group, element)`;
//! - [`step`]: `w ← opt(w, ∇L(w + ε))`, the clean weights never written to;
//! - [`train`]: the one training loop (cadence, metrics, checkpoints, stop, divergence) that every
//!   experiment and a user's program runs through, with hooks for what it measures;
//! - [`data::TrainingSet`]: from a data set's name to the batch of every step.

pub mod backend;
pub mod batchnorm;
pub mod checkpoint;
pub mod data;
pub mod diagnostics;
pub mod error;
pub mod kernels;
pub mod models;
pub mod noise;
pub mod optim;
pub mod params;
pub mod step;
pub mod theory;
pub mod train;

pub use error::{Error, Result};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
