//! Noise policies: which parameter groups are perturbed at a step and with what std.
//!
//! With `M` groups and the scheduled σ (the project's convention, the paper's experimental one):
//! - `none`: nothing.
//! - `all`: every weight gets `N(0, (σ/√M)²)`.
//! - `layer`: one group per step gets `N(0, σ²)`, the others nothing. The group is drawn uniformly
//!   at random from the run's seed (`select = "random"`, the paper's text) or taken as
//!   `step mod M` (`select = "cyclic"`, the official code).
//!
//! Both give the same expected σ²-order regularizer; the theory's σ_t is `σ/√M`.
//! With `antithetic = true` the step uses `½[g(w + ε) + g(w − ε)]` (two passes, same ε).
//!
//! The noise of group `g` at step `t` comes from the stream `NoiseKey(seed, t, g)`, member tensor
//! `k` of the group on sub-stream `k`, element `i` of that tensor at counter `i`: it depends on
//! nothing else (not on the thread count, the device or which other groups are perturbed).

use super::rng::{uniform_u64, NoiseKey};
use super::schedule::{NoiseSchedule, NoiseScheduleKind};
use crate::batchnorm::BatchNormPolicy;
use crate::error::{Error, Result};
use crate::params::GroupBy;
use serde::{Deserialize, Serialize};

/// Which weights receive noise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// Plain (S)GD.
    #[default]
    None,
    /// Every weight, std σ/√M.
    All,
    /// One group per step, std σ.
    Layer,
}

/// Spelled as a config writes it (`none`, `all`, `layer`), for messages.
impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PolicyKind::None => "none",
            PolicyKind::All => "all",
            PolicyKind::Layer => "layer",
        })
    }
}

/// How `layer` picks its group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// Uniformly at random, independently at each step (the paper's text).
    #[default]
    Random,
    /// `step mod M` (the official code).
    Cyclic,
}

/// The `[noise]` table of a config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    /// Which weights receive noise.
    pub policy: PolicyKind,
    /// σ, in the project's convention (see the module documentation).
    pub sigma: f64,
    /// How `layer` picks its group.
    pub select: Select,
    /// What a group is.
    pub group_by: GroupBy,
    /// Average the gradients at `w + ε` and `w − ε`.
    pub antithetic: bool,
    /// Shape of σ over the run.
    pub schedule: NoiseScheduleKind,
    /// σ at the end of a linear or cosine decay.
    pub final_sigma: f64,
    /// Length of a linear or cosine decay, in steps; `None` means the whole run.
    pub decay_steps: Option<u64>,
    /// No noise from this epoch on (the paper: 135 of 150).
    pub off_after_epoch: Option<u64>,
    /// No noise from this step on.
    pub off_after_step: Option<u64>,
    /// Where BatchNorm running statistics come from during a perturbed step
    /// (see [`crate::batchnorm`]).
    pub batchnorm: BatchNormPolicy,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        Self {
            policy: PolicyKind::None,
            sigma: 0.0,
            select: Select::Random,
            group_by: GroupBy::Layer,
            antithetic: false,
            schedule: NoiseScheduleKind::Constant,
            final_sigma: 0.0,
            decay_steps: None,
            off_after_epoch: None,
            off_after_step: None,
            batchnorm: BatchNormPolicy::Perturbed,
        }
    }
}

/// One group to perturb at one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    /// Group index.
    pub group: usize,
    /// Per-weight std of its noise.
    pub std: f64,
}

/// What a policy decided for one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The step.
    pub step: u64,
    /// Scheduled σ at this step.
    pub sigma: f64,
    /// Groups to perturb, in group order.
    pub targets: Vec<Target>,
}

impl Plan {
    /// The per-weight std actually used on perturbed weights (0 when nothing is perturbed).
    pub fn per_weight_std(&self) -> f64 {
        self.targets.first().map_or(0.0, |t| t.std)
    }

    /// The single group chosen by `layer`, if that is what happened.
    pub fn chosen_group(&self) -> Option<usize> {
        match self.targets.as_slice() {
            [one] => Some(one.group),
            _ => None,
        }
    }
}

/// Sub-stream of the (seed, step) key reserved for the random layer choice, far from group
/// indices.
const SELECT_GROUP: u32 = u32::MAX;

impl NoiseConfig {
    /// `layer` policy with std σ and random selection.
    pub fn layer(sigma: f64) -> Self {
        Self {
            policy: PolicyKind::Layer,
            sigma,
            ..Self::default()
        }
    }

    /// `all` policy with per-weight std σ/√M.
    pub fn all(sigma: f64) -> Self {
        Self {
            policy: PolicyKind::All,
            sigma,
            ..Self::default()
        }
    }

    /// Range checks, with the offending `noise.*` key in the error.
    pub fn validate(&self) -> Result<()> {
        for (key, v) in [
            ("noise.sigma", self.sigma),
            ("noise.final_sigma", self.final_sigma),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(
                    key,
                    format!("must be a finite number ≥ 0, found {v}"),
                ));
            }
        }
        if self.decay_steps == Some(0) {
            return Err(Error::invalid(
                "noise.decay_steps",
                "must be ≥ 1 (or left out for the whole run)",
            ));
        }
        Ok(())
    }

    /// The theory's σ_t for this config with `n_groups` = M groups: `σ/√M`, for `all` (the
    /// per-weight std) and for `layer` alike (std σ on one of M groups gives the same expected
    /// σ_t²-order regularizer). This is the one place where the project's σ is converted to the
    /// paper's.
    pub fn theory_sigma(&self, n_groups: usize) -> f64 {
        match self.policy {
            PolicyKind::None => 0.0,
            PolicyKind::All | PolicyKind::Layer => self.sigma / (n_groups.max(1) as f64).sqrt(),
        }
    }

    /// The per-weight std this config applies to a perturbed weight with `n_groups` = M groups
    /// (before any schedule): σ/√M under `all`, σ under `layer`, 0 under `none`.
    pub fn per_weight_std(&self, n_groups: usize) -> f64 {
        match self.policy {
            PolicyKind::None => 0.0,
            PolicyKind::All => self.sigma / (n_groups.max(1) as f64).sqrt(),
            PolicyKind::Layer => self.sigma,
        }
    }

    /// σ at step `step` of epoch `epoch`; `run_steps` fills an unset `decay_steps`.
    pub fn sigma_at(&self, step: u64, epoch: u64, run_steps: u64) -> f64 {
        self.schedule(run_steps).at(step, epoch)
    }

    /// The σ schedule of a run of `run_steps` steps (the decay spans the run unless
    /// `decay_steps` says otherwise).
    pub fn schedule(&self, run_steps: u64) -> NoiseSchedule {
        NoiseSchedule {
            kind: self.schedule,
            sigma: self.sigma,
            final_sigma: self.final_sigma,
            decay_steps: self.decay_steps.unwrap_or(run_steps),
            off_after_epoch: self.off_after_epoch,
            off_after_step: self.off_after_step,
        }
    }

    /// Which groups get noise at `step`, given the scheduled σ and `n_groups` = M. Under
    /// `none` the plan's σ is 0 whatever `noise.sigma` says, since no noise is injected.
    pub fn plan(&self, seed: u64, step: u64, sigma: f64, n_groups: usize) -> Plan {
        let sigma = if self.policy == PolicyKind::None {
            0.0
        } else {
            sigma
        };
        let targets = if sigma == 0.0 || n_groups == 0 {
            vec![]
        } else {
            match self.policy {
                PolicyKind::None => vec![],
                PolicyKind::All => {
                    let std = sigma / (n_groups as f64).sqrt();
                    (0..n_groups).map(|group| Target { group, std }).collect()
                }
                PolicyKind::Layer => {
                    let group = match self.select {
                        Select::Cyclic => (step % n_groups as u64) as usize,
                        // Modulo bias is below 2⁻⁵⁰ for any realistic M.
                        Select::Random => {
                            (uniform_u64(NoiseKey::new(seed, step, SELECT_GROUP), 0)
                                % n_groups as u64) as usize
                        }
                    };
                    vec![Target { group, std: sigma }]
                }
            }
        };
        Plan {
            step,
            sigma,
            targets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_scales_by_root_m_and_layer_uses_sigma() {
        let all = NoiseConfig::all(0.4).plan(1, 0, 0.4, 16);
        assert_eq!(all.targets.len(), 16);
        assert!((all.per_weight_std() - 0.1).abs() < 1e-15);
        let layer = NoiseConfig::layer(0.4).plan(1, 0, 0.4, 16);
        assert_eq!(layer.targets.len(), 1);
        assert_eq!(layer.per_weight_std(), 0.4);
    }

    #[test]
    fn per_weight_std_and_theory_sigma_follow_the_convention() {
        assert_eq!(NoiseConfig::all(0.4).per_weight_std(4), 0.2);
        assert_eq!(NoiseConfig::layer(0.4).per_weight_std(4), 0.4);
        assert_eq!(NoiseConfig::layer(0.4).theory_sigma(4), 0.2);
        assert_eq!(NoiseConfig::all(0.4).theory_sigma(4), 0.2);
        assert_eq!(NoiseConfig::default().per_weight_std(4), 0.0);
    }

    #[test]
    fn cyclic_walks_the_groups_in_order() {
        let cfg = NoiseConfig {
            select: Select::Cyclic,
            ..NoiseConfig::layer(0.1)
        };
        let chosen: Vec<_> = (0..7)
            .map(|t| cfg.plan(0, t, 0.1, 3).chosen_group().unwrap())
            .collect();
        assert_eq!(chosen, [0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn random_selection_is_uniform_and_reproducible() {
        let cfg = NoiseConfig::layer(0.1);
        let m = 8;
        let n = 80_000u64;
        let mut counts = vec![0u64; m];
        for t in 0..n {
            counts[cfg.plan(42, t, 0.1, m).chosen_group().unwrap()] += 1;
        }
        // Each count is Binomial(n, 1/m): allow 5 standard deviations.
        let p = 1.0 / m as f64;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        for c in &counts {
            assert!((*c as f64 - n as f64 * p).abs() < 5.0 * sd, "{counts:?}");
        }
        let again: Vec<_> = (0..100)
            .map(|t| cfg.plan(42, t, 0.1, m).chosen_group())
            .collect();
        let first: Vec<_> = (0..100)
            .map(|t| cfg.plan(42, t, 0.1, m).chosen_group())
            .collect();
        assert_eq!(again, first);
        let other: Vec<_> = (0..100)
            .map(|t| cfg.plan(43, t, 0.1, m).chosen_group())
            .collect();
        assert_ne!(other, first);
    }

    #[test]
    fn zero_sigma_or_none_perturbs_nothing() {
        assert!(NoiseConfig::layer(0.0)
            .plan(0, 3, 0.0, 4)
            .targets
            .is_empty());
        let none = NoiseConfig::default().plan(0, 3, 0.5, 4);
        assert!(none.targets.is_empty());
        assert_eq!(
            none.sigma, 0.0,
            "policy none reports σ = 0 whatever noise.sigma says"
        );
    }

    #[test]
    fn validation_names_the_key() {
        let err = NoiseConfig::layer(-0.1).validate().unwrap_err().to_string();
        assert!(err.contains("noise.sigma"), "{err}");
        let err = NoiseConfig {
            final_sigma: f64::NAN,
            ..NoiseConfig::layer(0.1)
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("noise.final_sigma"), "{err}");
    }
}
