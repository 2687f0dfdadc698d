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
//! The peer methods of the same family ([`crate::step::peers`] has their formulas and sources):
//! - `anti` (Anti-PGD): the noise of `all`, added to the iterate as `ξ_{t+1} − ξ_t` after a step
//!   taken at the iterate itself;
//! - `sam` / `asam`: an adversarial ε of radius `rho` from the clean gradient (no random draw);
//! - `rwp`: every output unit's weights get std `σ·‖its weights‖`, the gradient mixed with the
//!   clean one by `rwp_alpha`;
//! - `nso`: `nso_samples` antithetic pairs of `all`'s noise, mixed with the clean gradient by
//!   `nso_lambda`.
//!
//! A key that the chosen policy does not take is refused ([`NoiseConfig::validate`]), as is a
//! value out of its range; an unset key takes the authors' recommended value.
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
    /// Anti-PGD: `w ← opt(w, ∇L(w)) + ξ_{t+1} − ξ_t`, ξ drawn as under `all`.
    Anti,
    /// SAM: the gradient at `w + ρ·g/‖g‖`, g the clean gradient.
    Sam,
    /// ASAM: SAM with the radius scaled weight by weight by `|w| + η`.
    Asam,
    /// Random weight perturbation: std `σ·‖filter‖` per output unit, gradient mixed by α.
    Rwp,
    /// Noise stability optimization: k antithetic pairs, mixed with the clean gradient by λ.
    Nso,
}

impl PolicyKind {
    /// Every policy, as a config spells it.
    pub const ALL: [PolicyKind; 8] = [
        PolicyKind::None,
        PolicyKind::All,
        PolicyKind::Layer,
        PolicyKind::Anti,
        PolicyKind::Sam,
        PolicyKind::Asam,
        PolicyKind::Rwp,
        PolicyKind::Nso,
    ];

    /// Whether the policy's σ is the std of a Gaussian drawn on the weights (so that the
    /// smoothed loss `E L(w + ε)` and its regularizer have a meaning): `sam`/`asam` draw
    /// nothing, and `rwp`'s σ is relative to each unit's weight norm.
    pub fn draws_isotropic_noise(self) -> bool {
        matches!(
            self,
            PolicyKind::All | PolicyKind::Layer | PolicyKind::Anti | PolicyKind::Nso
        )
    }

    /// Whether the policy perturbs adversarially (its strength is `noise.rho`, not σ).
    pub fn is_adversarial(self) -> bool {
        matches!(self, PolicyKind::Sam | PolicyKind::Asam)
    }
}

/// Spelled as a config writes it (`none`, `all`, `layer`), for messages.
impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PolicyKind::None => "none",
            PolicyKind::All => "all",
            PolicyKind::Layer => "layer",
            PolicyKind::Anti => "anti",
            PolicyKind::Sam => "sam",
            PolicyKind::Asam => "asam",
            PolicyKind::Rwp => "rwp",
            PolicyKind::Nso => "nso",
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
    /// `sam`, `asam`: the radius ρ of the adversarial perturbation.
    pub rho: Option<f64>,
    /// `asam`: η of the weight scale `|w| + η`.
    pub asam_eta: Option<f64>,
    /// `rwp`: α, the weight of the perturbed gradient (`1 − α` on the clean one).
    pub rwp_alpha: Option<f64>,
    /// `nso`: k, the number of antithetic pairs per step.
    pub nso_samples: Option<u32>,
    /// `nso`: λ, the weight of the clean gradient (`1 − λ` on the pairs' average).
    pub nso_lambda: Option<f64>,
}

/// The authors' recommended values of the peer methods' parameters (sources in
/// [`crate::step::peers`]), taken when a config leaves the key out.
pub mod recommended {
    /// SAM's ρ (Foret et al. 2021; davda54/sam's default).
    pub const SAM_RHO: f64 = 0.05;
    /// ASAM's ρ for CIFAR-10 (Kwon et al. 2021, SamsungLabs/ASAM).
    pub const ASAM_RHO: f64 = 0.5;
    /// ASAM's η (SamsungLabs/ASAM).
    pub const ASAM_ETA: f64 = 0.01;
    /// RWP's α (Li et al. 2022, nblt/RWP).
    pub const RWP_ALPHA: f64 = 0.5;
    /// NSO's number of antithetic pairs (Zhang et al., VirtuosoResearch/Noise-stability-optimization).
    pub const NSO_SAMPLES: u32 = 1;
    /// NSO's weight of the clean gradient.
    pub const NSO_LAMBDA: f64 = 0.0;
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
            rho: None,
            asam_eta: None,
            rwp_alpha: None,
            nso_samples: None,
            nso_lambda: None,
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

    /// `policy` at strength σ with its other keys at their defaults: σ where the policy takes
    /// it, 0 for `none`, `sam` and `asam` (whose radius is `rho`).
    pub fn of(policy: PolicyKind, sigma: f64) -> Self {
        let takes_sigma = policy != PolicyKind::None && !policy.is_adversarial();
        Self {
            policy,
            sigma: if takes_sigma { sigma } else { 0.0 },
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

    /// Range checks, with the offending `noise.*` key in the error; a key the policy does not take
    /// is refused (see [`NoiseConfig::check_policy_keys`]).
    pub fn validate(&self) -> Result<()> {
        self.check_policy_keys()?;
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
        let positive = |key: &str, v: Option<f64>| {
            match v {
            Some(v) if !(v.is_finite() && v > 0.0) => Err(Error::invalid(
                key,
                format!("must be a finite number > 0, found {v} (policy = \"none\" gives the plain step)"),
            )),
            _ => Ok(()),
        }
        };
        positive("noise.rho", self.rho)?;
        positive("noise.asam_eta", self.asam_eta)?;
        for (key, v) in [
            ("noise.rwp_alpha", self.rwp_alpha),
            ("noise.nso_lambda", self.nso_lambda),
        ] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    return Err(Error::invalid(
                        key,
                        format!(
                            "must be in [0, 1] (the weight of one of two gradients), found {v}"
                        ),
                    ));
                }
            }
        }
        if self.nso_samples == Some(0) {
            return Err(Error::invalid(
                "noise.nso_samples",
                "must be ≥ 1 (the number of antithetic pairs per step), found 0",
            ));
        }
        if self.policy == PolicyKind::Rwp && self.rwp_alpha() == 0.0 {
            return Err(Error::invalid(
                "noise.rwp_alpha",
                "= 0 puts no weight on the perturbed gradient: that is policy = \"none\" at twice the cost",
            ));
        }
        if self.policy == PolicyKind::Nso && self.nso_lambda() == 1.0 {
            return Err(Error::invalid(
                "noise.nso_lambda",
                "= 1 puts no weight on the noisy pairs: that is policy = \"none\" at 2k + 1 times the cost",
            ));
        }
        Ok(())
    }

    /// Refuses the keys the chosen policy does not take, naming the key, its value and the
    /// policies that take it: a setting that would silently do nothing is a mistake in a config.
    pub fn check_policy_keys(&self) -> Result<()> {
        use PolicyKind::*;
        let p = self.policy;
        let refuse = |key: &str, value: String, takes: &str| {
            Err(Error::invalid(
                key,
                format!("= {value} is not used by policy = \"{p}\"; only {takes} take it: remove the key or change noise.policy"),
            ))
        };
        let given = [
            (
                "noise.rho",
                self.rho.map(|v| v.to_string()),
                "sam and asam",
                &[Sam, Asam][..],
            ),
            (
                "noise.asam_eta",
                self.asam_eta.map(|v| v.to_string()),
                "asam",
                &[Asam][..],
            ),
            (
                "noise.rwp_alpha",
                self.rwp_alpha.map(|v| v.to_string()),
                "rwp",
                &[Rwp][..],
            ),
            (
                "noise.nso_samples",
                self.nso_samples.map(|v| v.to_string()),
                "nso",
                &[Nso][..],
            ),
            (
                "noise.nso_lambda",
                self.nso_lambda.map(|v| v.to_string()),
                "nso",
                &[Nso][..],
            ),
        ];
        for (key, value, takes, policies) in given {
            if let Some(value) = value {
                if !policies.contains(&p) {
                    return refuse(key, value, takes);
                }
            }
        }
        // `select` and `group_by` are not refused on other policies: a base config that sweeps
        // `noise.policy` sets them once for its `layer` cells (configs/fmnist_mlp1.toml).
        if self.antithetic && !matches!(p, None | All | Layer) {
            let why = match p {
                Nso => "nso is antithetic by construction",
                _ => "its gradient is not taken at a random ±ε",
            };
            return Err(Error::invalid(
                "noise.antithetic",
                format!(
                    "= true is not used by policy = \"{p}\" ({why}); only all and layer take it"
                ),
            ));
        }
        if p.is_adversarial() {
            for (key, v) in [
                ("noise.sigma", self.sigma),
                ("noise.final_sigma", self.final_sigma),
            ] {
                if v != 0.0 {
                    return Err(Error::invalid(
                        key,
                        format!(
                            "= {v} is not used by policy = \"{p}\", which draws no noise; its radius is noise.rho (default {})",
                            self.rho()
                        ),
                    ));
                }
            }
            if self.schedule != NoiseScheduleKind::Constant {
                let shape = format!("{:?}", self.schedule).to_lowercase();
                return Err(Error::invalid(
                    "noise.schedule",
                    format!("= \"{shape}\": policy = \"{p}\" runs at a constant ρ (noise.off_after_epoch / off_after_step do apply)"),
                ));
            }
        }
        Ok(())
    }

    /// SAM's / ASAM's radius ρ (the recommended value when unset).
    pub fn rho(&self) -> f64 {
        self.rho.unwrap_or(match self.policy {
            PolicyKind::Asam => recommended::ASAM_RHO,
            _ => recommended::SAM_RHO,
        })
    }

    /// ASAM's η.
    pub fn asam_eta(&self) -> f64 {
        self.asam_eta.unwrap_or(recommended::ASAM_ETA)
    }

    /// RWP's α.
    pub fn rwp_alpha(&self) -> f64 {
        self.rwp_alpha.unwrap_or(recommended::RWP_ALPHA)
    }

    /// NSO's k.
    pub fn nso_samples(&self) -> u32 {
        self.nso_samples.unwrap_or(recommended::NSO_SAMPLES)
    }

    /// NSO's λ.
    pub fn nso_lambda(&self) -> f64 {
        self.nso_lambda.unwrap_or(recommended::NSO_LAMBDA)
    }

    /// Forward-backward passes one step takes while the noise is on (the step's cost relative
    /// to plain (S)GD; `clean` BatchNorm statistics add one forward pass on policies without a
    /// clean pass).
    pub fn passes_per_step(&self) -> u32 {
        match self.policy {
            PolicyKind::None | PolicyKind::Anti => 1,
            PolicyKind::All | PolicyKind::Layer => 1 + u32::from(self.antithetic),
            PolicyKind::Sam | PolicyKind::Asam => 2,
            PolicyKind::Rwp => 1 + u32::from(self.rwp_alpha() < 1.0),
            PolicyKind::Nso => 2 * self.nso_samples() + u32::from(self.nso_lambda() > 0.0),
        }
    }

    /// The theory's σ_t for this config with `n_groups` = M groups: `σ/√M`, for `all` (the
    /// per-weight std) and for `layer` alike (std σ on one of M groups gives the same expected
    /// σ_t²-order regularizer). This is the one place where the project's σ is converted to the
    /// paper's.
    ///
    /// `anti` and `nso` draw `all`'s noise, so their σ_t is the same; `sam`, `asam` (no random
    /// draw) and `rwp` (a std relative to each unit's norm) have none: NaN.
    pub fn theory_sigma(&self, n_groups: usize) -> f64 {
        match self.policy {
            PolicyKind::None => 0.0,
            PolicyKind::All | PolicyKind::Layer | PolicyKind::Anti | PolicyKind::Nso => {
                self.sigma / (n_groups.max(1) as f64).sqrt()
            }
            PolicyKind::Sam | PolicyKind::Asam | PolicyKind::Rwp => f64::NAN,
        }
    }

    /// The per-weight std this config applies to a perturbed weight with `n_groups` = M groups
    /// (before any schedule): σ/√M under `all` (and `anti`, `nso`), σ under `layer`, 0 under
    /// `none`, `sam` and `asam`; under `rwp` it is σ·‖unit‖, and this returns the factor σ.
    pub fn per_weight_std(&self, n_groups: usize) -> f64 {
        match self.policy {
            PolicyKind::None | PolicyKind::Sam | PolicyKind::Asam => 0.0,
            PolicyKind::All | PolicyKind::Anti | PolicyKind::Nso => {
                self.sigma / (n_groups.max(1) as f64).sqrt()
            }
            PolicyKind::Layer | PolicyKind::Rwp => self.sigma,
        }
    }

    /// σ at step `step` of epoch `epoch`; `run_steps` fills an unset `decay_steps`.
    pub fn sigma_at(&self, step: u64, epoch: u64, run_steps: u64) -> f64 {
        self.schedule(run_steps).at(step, epoch)
    }

    /// The σ schedule of a run of `run_steps` steps (the decay spans the run unless
    /// `decay_steps` says otherwise). For `sam` and `asam` it is ρ's (constant, switched off
    /// with the noise).
    pub fn schedule(&self, run_steps: u64) -> NoiseSchedule {
        NoiseSchedule {
            kind: self.schedule,
            sigma: if self.policy.is_adversarial() {
                self.rho()
            } else {
                self.sigma
            },
            final_sigma: self.final_sigma,
            decay_steps: self.decay_steps.unwrap_or(run_steps),
            off_after_epoch: self.off_after_epoch,
            off_after_step: self.off_after_step,
        }
    }

    /// Which groups get noise at `step`, given the scheduled σ and `n_groups` = M. Under
    /// `none` the plan's σ is 0 whatever `noise.sigma` says, since no noise is injected; under
    /// `sam` / `asam` it is ρ and nothing is drawn.
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
                // No random draw: the perturbation comes from the clean gradient.
                PolicyKind::None | PolicyKind::Sam | PolicyKind::Asam => vec![],
                PolicyKind::All | PolicyKind::Anti | PolicyKind::Nso => {
                    let std = sigma / (n_groups as f64).sqrt();
                    (0..n_groups).map(|group| Target { group, std }).collect()
                }
                // A unit std, scaled by each unit's weight norm when applied.
                PolicyKind::Rwp => (0..n_groups)
                    .map(|group| Target { group, std: sigma })
                    .collect(),
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

    #[test]
    fn a_peer_parameter_out_of_range_is_refused_naming_key_value_and_range() {
        let cases = [
            (
                NoiseConfig {
                    policy: PolicyKind::Sam,
                    rho: Some(0.0),
                    ..NoiseConfig::default()
                },
                "noise.rho",
                "> 0",
            ),
            (
                NoiseConfig {
                    policy: PolicyKind::Sam,
                    rho: Some(-0.1),
                    ..NoiseConfig::default()
                },
                "noise.rho",
                "-0.1",
            ),
            (
                NoiseConfig {
                    policy: PolicyKind::Asam,
                    asam_eta: Some(f64::NAN),
                    ..NoiseConfig::default()
                },
                "noise.asam_eta",
                "NaN",
            ),
            (
                NoiseConfig {
                    policy: PolicyKind::Rwp,
                    rwp_alpha: Some(1.5),
                    ..NoiseConfig::layer(0.01)
                },
                "noise.rwp_alpha",
                "[0, 1]",
            ),
            (
                NoiseConfig {
                    policy: PolicyKind::Nso,
                    nso_samples: Some(0),
                    ..NoiseConfig::all(0.1)
                },
                "noise.nso_samples",
                "found 0",
            ),
            (
                NoiseConfig {
                    policy: PolicyKind::Nso,
                    nso_lambda: Some(-0.2),
                    ..NoiseConfig::all(0.1)
                },
                "noise.nso_lambda",
                "[0, 1]",
            ),
            (
                NoiseConfig {
                    policy: PolicyKind::Rwp,
                    rwp_alpha: Some(0.0),
                    ..NoiseConfig::layer(0.01)
                },
                "noise.rwp_alpha",
                "twice the cost",
            ),
            (
                NoiseConfig {
                    policy: PolicyKind::Nso,
                    nso_lambda: Some(1.0),
                    ..NoiseConfig::all(0.1)
                },
                "noise.nso_lambda",
                "no weight",
            ),
        ];
        for (config, key, says) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(key) && err.contains(says), "{err}");
        }
    }

    #[test]
    fn a_key_the_policy_does_not_take_is_refused() {
        let cases = [
            (
                NoiseConfig {
                    rho: Some(0.05),
                    ..NoiseConfig::layer(0.1)
                },
                "noise.rho",
                "sam and asam",
            ),
            (
                NoiseConfig {
                    asam_eta: Some(0.1),
                    policy: PolicyKind::Sam,
                    ..NoiseConfig::default()
                },
                "noise.asam_eta",
                "asam",
            ),
            (
                NoiseConfig {
                    rwp_alpha: Some(0.5),
                    ..NoiseConfig::all(0.1)
                },
                "noise.rwp_alpha",
                "rwp",
            ),
            (
                NoiseConfig {
                    nso_samples: Some(2),
                    policy: PolicyKind::Anti,
                    ..NoiseConfig::all(0.1)
                },
                "noise.nso_samples",
                "nso",
            ),
            (
                NoiseConfig {
                    antithetic: true,
                    policy: PolicyKind::Nso,
                    ..NoiseConfig::all(0.1)
                },
                "noise.antithetic",
                "by construction",
            ),
            (
                NoiseConfig {
                    policy: PolicyKind::Sam,
                    ..NoiseConfig::all(0.1)
                },
                "noise.sigma",
                "noise.rho",
            ),
            (
                NoiseConfig {
                    policy: PolicyKind::Sam,
                    schedule: NoiseScheduleKind::Cosine,
                    ..NoiseConfig::default()
                },
                "noise.schedule",
                "constant",
            ),
        ];
        for (config, key, says) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(key) && err.contains(says), "{err}");
        }
        // What each policy does take passes, with the recommended values filled in.
        let sam = NoiseConfig {
            policy: PolicyKind::Sam,
            ..NoiseConfig::default()
        };
        sam.validate().unwrap();
        assert_eq!(sam.rho(), recommended::SAM_RHO);
        let asam = NoiseConfig {
            policy: PolicyKind::Asam,
            ..NoiseConfig::default()
        };
        assert_eq!(
            (asam.rho(), asam.asam_eta()),
            (recommended::ASAM_RHO, recommended::ASAM_ETA)
        );
        assert_eq!(
            asam.plan(0, 0, asam.sigma_at(0, 0, 10), 3).sigma,
            0.5,
            "ρ is the plan's strength"
        );
    }

    #[test]
    fn passes_per_step_are_the_cost_of_each_policy() {
        let with = |policy, f: fn(&mut NoiseConfig)| {
            let mut c = NoiseConfig {
                policy,
                ..NoiseConfig::all(0.1)
            };
            f(&mut c);
            c.passes_per_step()
        };
        assert_eq!(with(PolicyKind::Layer, |_| {}), 1);
        assert_eq!(with(PolicyKind::All, |c| c.antithetic = true), 2);
        assert_eq!(with(PolicyKind::Anti, |_| {}), 1);
        assert_eq!(with(PolicyKind::Sam, |_| {}), 2);
        assert_eq!(with(PolicyKind::Rwp, |_| {}), 2);
        assert_eq!(with(PolicyKind::Rwp, |c| c.rwp_alpha = Some(1.0)), 1);
        assert_eq!(with(PolicyKind::Nso, |c| c.nso_samples = Some(3)), 6);
        assert_eq!(with(PolicyKind::Nso, |c| c.nso_lambda = Some(0.5)), 3);
    }
}
