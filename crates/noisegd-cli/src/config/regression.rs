//! The `[lasso]`, `[group_lasso]` and `[nuclear]` tables: the regression experiments and their
//! synthetic data.

use super::{check, name, DataConfig};
use anyhow::{bail, Result};
use noisegd::models::diagonal::Parametrization;
use serde::{Deserialize, Serialize};

/// The `[lasso]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LassoConfig {
    /// Number of samples.
    pub n: usize,
    /// Number of features (n < d: overparametrized).
    pub d: usize,
    /// Non-zeros of the planted coefficients.
    pub sparsity: usize,
    /// Std of the label noise.
    pub noise_std: f64,
    /// AR(1) correlation ρ between neighbouring features.
    pub correlation: f64,
    /// Held-out rows for the test error.
    pub n_test: usize,
    /// Initialization `w₁ = w₂ = init_scale·1`.
    pub init_scale: f64,
    /// Average the iterates over this last fraction of the run.
    pub average_last: f64,
    /// Relative duality gap at which the reference solver stops.
    pub solver_tol: f64,
    /// `difference` (β = w₁∘w₁ − w₂∘w₂, λ_i = 2σ_t²(XᵀX)_ii/n) or `product` (β = u∘v,
    /// λ_i = σ_t²(XᵀX)_ii/n).
    pub parametrization: Parametrization,
    /// When PGD's averaged distance to the Lasso solution ends above `step_check_above`, run PGD
    /// again at half the step for twice the steps, and say whether the step size explains it.
    pub step_check: bool,
    /// The distance (relative; absolute over the data's coefficient scale when the solution is
    /// 0) above which the step check runs.
    pub step_check_above: f64,
    /// Step sizes at which PGD is run again, each for `optim.lr·train.steps/lr` steps (the same
    /// time `lr·steps`), to fit the distance's exponent in lr (empty: none).
    pub lr_ladder: Vec<f64>,
    /// With a ladder, also run PGD with the step annealed to 0 (cosine, from `optim.lr`, over
    /// the ladder's longest run): the theory's limit.
    pub ladder_annealed: bool,
}

impl Default for LassoConfig {
    fn default() -> Self {
        Self {
            n: 40,
            d: 100,
            sparsity: 5,
            noise_std: 0.1,
            correlation: 0.0,
            n_test: 1000,
            init_scale: 0.1,
            average_last: 0.5,
            solver_tol: 1e-10,
            parametrization: Parametrization::Difference,
            step_check: true,
            step_check_above: 0.05,
            lr_ladder: vec![],
            ladder_annealed: true,
        }
    }
}

/// The `[nuclear]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NuclearConfig {
    /// Number of samples.
    pub n: usize,
    /// Input dimension d₀.
    pub d0: usize,
    /// Hidden width d₁ of the factorization.
    pub width: usize,
    /// Output dimension d₂.
    pub d2: usize,
    /// Rank of the planted matrix.
    pub rank: usize,
    /// Std of the label noise.
    pub noise_std: f64,
    /// Held-out rows for the test error.
    pub n_test: usize,
    /// Scale α of the paper's initialization (std α/√(d_i d_{i−1})).
    pub init_scale: f64,
    /// Average the iterates over this last fraction of the run.
    pub average_last: f64,
}

impl Default for NuclearConfig {
    fn default() -> Self {
        Self {
            n: 40,
            d0: 10,
            width: 50,
            d2: 8,
            rank: 2,
            noise_std: 0.5,
            n_test: 1000,
            init_scale: 1.0,
            average_last: 0.5,
        }
    }
}

/// The `[group_lasso]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupLassoConfig {
    /// Number of samples.
    pub n: usize,
    /// Number of groups.
    pub groups: usize,
    /// Features per group.
    pub group_size: usize,
    /// Groups with non-zero planted coefficients.
    pub active_groups: usize,
    /// Std of the label noise.
    pub noise_std: f64,
    /// Held-out rows for the test error.
    pub n_test: usize,
    /// Initialization scale of v and W.
    pub init_scale: f64,
    /// Average the iterates over this last fraction of the run.
    pub average_last: f64,
    /// Relative duality gap at which the reference solver stops.
    pub solver_tol: f64,
}

impl Default for GroupLassoConfig {
    fn default() -> Self {
        Self {
            n: 50,
            groups: 20,
            group_size: 4,
            active_groups: 3,
            noise_std: 0.1,
            n_test: 1000,
            init_scale: 0.1,
            average_last: 0.5,
            solver_tol: 1e-10,
        }
    }
}

impl LassoConfig {
    /// With a table for data (`data.is_table()`), the generator's knobs are refused.
    pub(super) fn validate(&self, data: &DataConfig) -> Result<()> {
        let l = self;
        if data.is_table() {
            // The table decides n, d and the test rows; the generator's knobs would do nothing.
            let default = LassoConfig::default();
            for (key, changed) in [
                ("n", l.n != default.n),
                ("d", l.d != default.d),
                ("sparsity", l.sparsity != default.sparsity),
                ("noise_std", l.noise_std != default.noise_std),
                ("correlation", l.correlation != default.correlation),
                ("n_test", l.n_test != default.n_test),
            ] {
                if changed {
                    bail!("`lasso.{key}` describes the synthetic data and does nothing with data.name = \"{}\": remove it (the table sets the sizes; `data.test_fraction` the test rows)", name(&data.name));
                }
            }
        }
        if l.n == 0 || l.d == 0 {
            bail!(
                "invalid value for `lasso.n`/`lasso.d`: both must be ≥ 1, found n = {}, d = {}",
                l.n,
                l.d
            );
        }
        if l.sparsity == 0 || l.sparsity > l.d {
            bail!(
                "invalid value for `lasso.sparsity`: must lie in 1..=d = {}, found {}",
                l.d,
                l.sparsity
            );
        }
        check::non_negative("lasso.noise_std", l.noise_std)?;
        if !(l.correlation.is_finite() && l.correlation.abs() < 1.0) {
            bail!(
                "invalid value for `lasso.correlation`: must lie in (-1, 1), found {}",
                l.correlation
            );
        }
        check::positive("lasso.init_scale", l.init_scale)?;
        check::fraction("lasso.average_last", l.average_last)?;
        check::positive("lasso.step_check_above", l.step_check_above)?;
        for (k, lr) in l.lr_ladder.iter().enumerate() {
            check::positive(&format!("lasso.lr_ladder[{k}]"), *lr)?;
        }
        if l.lr_ladder.len() == 1 {
            bail!("invalid value for `lasso.lr_ladder`: an exponent needs at least 2 step sizes, found 1 ({:?}); give two or more, or none", l.lr_ladder);
        }
        check::solver_tol("lasso.solver_tol", l.solver_tol)
    }
}

impl GroupLassoConfig {
    pub(super) fn validate(&self) -> Result<()> {
        let g = self;
        if g.n == 0 || g.groups == 0 || g.group_size == 0 {
            bail!("invalid value for `group_lasso.n`/`groups`/`group_size`: all must be ≥ 1");
        }
        if g.active_groups > g.groups {
            bail!(
                "invalid value for `group_lasso.active_groups`: must be ≤ groups = {}, found {}",
                g.groups,
                g.active_groups
            );
        }
        check::non_negative("group_lasso.noise_std", g.noise_std)?;
        check::positive("group_lasso.init_scale", g.init_scale)?;
        check::fraction("group_lasso.average_last", g.average_last)?;
        check::solver_tol("group_lasso.solver_tol", g.solver_tol)
    }
}

impl NuclearConfig {
    pub(super) fn validate(&self) -> Result<()> {
        let c = self;
        if c.n == 0 || c.d0 == 0 || c.d2 == 0 || c.width == 0 {
            bail!("invalid value for `nuclear.n`/`d0`/`width`/`d2`: all must be ≥ 1");
        }
        if c.rank == 0 || c.rank > c.d0.min(c.d2) {
            bail!(
                "invalid value for `nuclear.rank`: must lie in 1..=min(d0, d2) = {}, found {}",
                c.d0.min(c.d2),
                c.rank
            );
        }
        check::non_negative("nuclear.noise_std", c.noise_std)?;
        check::positive("nuclear.init_scale", c.init_scale)?;
        check::fraction("nuclear.average_last", c.average_last)
    }
}
