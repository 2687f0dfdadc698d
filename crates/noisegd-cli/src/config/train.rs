//! The `[train]`, `[model]` and `[eval]` tables: how long a run is, what it logs, and (for the
//! `train` experiment) the network and what is measured besides loss and accuracy.

use super::check;
use anyhow::{bail, Result};
use noisegd::models::network::ModelKind;
use serde::{Deserialize, Serialize};

/// The `[train]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Number of optimizer steps.
    pub steps: u64,
    /// Write a metrics row every this many steps (and at the last step).
    pub log_every: u64,
    /// Minibatch size of the `train` experiment; 0: full batch.
    pub batch_size: usize,
    /// The `train` experiment writes `checkpoint.bin` every this many steps (0: only when
    /// stopped by Ctrl-C), for `noisegd run --resume DIR`.
    pub checkpoint_every: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 10_000,
            log_every: 100,
            batch_size: 0,
            checkpoint_every: 1000,
        }
    }
}

/// The `[model]` table (experiment `train`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `mlp1` (default), `mlp2`, `mlp3`, `mlp4`, `mnist1d_mlp`, `lenet`, `wide_cnn` (paper's
    /// 32-64-128-128), `wide_cnn_code` (official code's 32-128-128-128), `resnet18`.
    pub name: ModelKind,
}

/// The `[eval]` table (experiment `train`): evaluation beyond loss and accuracy, which are
/// computed at every logged step on the whole training (sub)set and the test set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Evaluate on the first this many test images; 0: all.
    pub test_subset: usize,
    /// Hutchinson estimate of the Hessian trace every this many steps (and at the end); 0: never.
    pub hessian_every: u64,
    /// Rademacher probes per Hessian-trace estimate.
    pub hessian_probes: usize,
    /// Finite-difference step h of the Hessian-vector products: every weight moves by ±h
    /// (`noisegd::diagnostics::hessian`; reported with the trace).
    pub hessian_step: f64,
    /// Training images the Hessian trace and the regularizer estimate are computed on (the first
    /// ones of the training (sub)set).
    pub hessian_subset: usize,
    /// Antithetic estimate of the explicit regularizer every this many steps; 0: never.
    pub regularizer_every: u64,
    /// Antithetic pairs per regularizer estimate.
    pub regularizer_draws: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            test_subset: 0,
            hessian_every: 0,
            hessian_probes: 10,
            hessian_step: 1e-3,
            hessian_subset: 1024,
            regularizer_every: 0,
            regularizer_draws: 8,
        }
    }
}

impl TrainConfig {
    pub(super) fn validate(&self) -> Result<()> {
        check::at_least_one("train.steps", self.steps)?;
        check::at_least_one("train.log_every", self.log_every)
    }
}

impl EvalConfig {
    pub(super) fn validate(&self) -> Result<()> {
        let e = self;
        if e.hessian_every > 0 && (e.hessian_probes == 0 || e.hessian_subset == 0) {
            bail!("invalid value for `eval.hessian_probes`/`eval.hessian_subset`: both must be ≥ 1 when eval.hessian_every > 0, found {} and {}", e.hessian_probes, e.hessian_subset);
        }
        check::positive("eval.hessian_step", e.hessian_step)?;
        if e.regularizer_every > 0 && (e.regularizer_draws == 0 || e.hessian_subset == 0) {
            bail!("invalid value for `eval.regularizer_draws`: must be ≥ 1 when eval.regularizer_every > 0, found {}", e.regularizer_draws);
        }
        Ok(())
    }

    /// A warning for each estimate whose cadence is not a multiple of `train.log_every`. The
    /// estimates are taken at logged steps only, so such a cadence thins out unannounced:
    /// `hessian_every` = 1,500 with `log_every` = 200 gives one trace every 3,000 steps. Not an
    /// error: configs and committed runs with such cadences exist, and their numbers are right.
    pub fn cadence_warnings(&self, log_every: u64) -> Vec<String> {
        let cadences = [
            ("eval.hessian_every", self.hessian_every),
            ("eval.regularizer_every", self.regularizer_every),
        ];
        cadences
            .into_iter()
            .filter(|&(_, every)| every > 0 && log_every > 0 && every % log_every != 0)
            .map(|(key, every)| {
                let actual = every / gcd(every, log_every) * log_every;
                let nearest = every.div_ceil(log_every) * log_every;
                format!(
                    "{key} = {every} is not a multiple of train.log_every = {log_every}: the \
                     estimate is taken at logged steps only, so every {actual} steps (and at \
                     the end); set {key} to a multiple of {log_every} (e.g. {nearest}) to get \
                     it every {nearest} steps"
                )
            })
            .collect()
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
