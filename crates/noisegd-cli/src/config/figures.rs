//! The `[width]` and `[fig2]` tables: the paper's Figs. 1 and 2.

use super::check;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// What the σ values of the `[width]` table mean.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SigmaConvention {
    /// The paper's σ (its Fig. 1 axis): `all` perturbs every weight with std σ, `layer` one of
    /// the M groups with std √M·σ. This is the theory's σ_t.
    #[default]
    Paper,
    /// The project's σ of `[noise]`: `all` per-weight std σ/√M, `layer` σ on one group.
    Project,
}

/// The `[width]` table. σ values are in `sigma_convention` (the paper's by default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WidthConfig {
    /// What `sigmas`, `slope_sigma` and `deep_sigma` mean.
    pub sigma_convention: SigmaConvention,
    /// Number of samples.
    pub n: usize,
    /// Input dimension d₀.
    pub d0: usize,
    /// Output dimension d₂.
    pub d2: usize,
    /// Planted coefficients of the target on the first inputs (`y = Xβ*`, the rest of β* zero).
    pub planted: Vec<f64>,
    /// Hidden widths d₁ of the heat maps.
    pub widths: Vec<usize>,
    /// Noise levels σ of the heat maps.
    pub sigmas: Vec<f64>,
    /// Monte-Carlo samples per heat-map cell and policy.
    pub samples: usize,
    /// Hidden widths of the slope fit, the ReLU net and the gradient-variance diagnostic.
    pub slope_widths: Vec<usize>,
    /// σ of the slope fit, the ReLU net and the gradient-variance diagnostic.
    pub slope_sigma: f64,
    /// Monte-Carlo samples per width and policy of the slope fit (linear net).
    pub slope_samples: usize,
    /// Monte-Carlo samples per width and policy for the ReLU net (0: leave it out).
    pub relu_samples: usize,
    /// Common hidden width d of the deep linear net `[d₀, d, d, d₂]` (M = 3).
    pub deep_widths: Vec<usize>,
    /// σ of the deep linear net.
    pub deep_sigma: f64,
    /// Monte-Carlo samples per width and policy of the deep linear net.
    pub deep_samples: usize,
    /// Samples of the perturbed-gradient variance per width and policy (0: leave it out).
    pub grad_samples: usize,
}

impl Default for WidthConfig {
    fn default() -> Self {
        Self {
            sigma_convention: SigmaConvention::Paper,
            n: 40,
            d0: 10,
            d2: 1,
            planted: vec![1.0, -0.5],
            widths: (0..15).map(|i| 400 + 50 * i).collect(),
            sigmas: (0..15).map(|i| 0.2 + 0.05 * i as f64).collect(),
            samples: 200,
            slope_widths: (0..8).map(|i| 400 + 100 * i).collect(),
            slope_sigma: 0.45,
            slope_samples: 8000,
            relu_samples: 2000,
            deep_widths: vec![25, 50, 100, 200],
            deep_sigma: 0.35,
            deep_samples: 2000,
            grad_samples: 300,
        }
    }
}

/// The `[fig2]` table. The run's `[optim]` and `[train]` tables set the learning rate and the
/// number of iterations; every method runs with the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fig2Config {
    /// Number of samples.
    pub n: usize,
    /// Input dimension d₀.
    pub d0: usize,
    /// Planted coefficients of the target on the first inputs (`y = Xβ*`, the rest of β* zero).
    pub planted: Vec<f64>,
    /// Hidden widths, one panel each.
    pub widths: Vec<usize>,
    /// σ of both noise policies (project convention: `all` std σ/√2, `layer` std σ).
    pub sigma: f64,
    /// Runs per (width, method), seeds `seed`, `seed + 1`, …
    pub repeats: usize,
    /// Final values are averaged over the logged points in this last fraction of the run.
    pub tail: f64,
}

impl Default for Fig2Config {
    fn default() -> Self {
        Self {
            n: 40,
            d0: 10,
            planted: vec![0.16, -0.08],
            widths: vec![50, 300],
            sigma: 0.12,
            repeats: 3,
            tail: 0.1,
        }
    }
}

impl WidthConfig {
    /// The same table with its σ values in the project's convention (what the experiment
    /// computes with): the paper's σ times √M (M = 2; 3 for the deep net).
    pub fn in_project_sigma(&self) -> WidthConfig {
        match self.sigma_convention {
            SigmaConvention::Project => self.clone(),
            SigmaConvention::Paper => WidthConfig {
                sigma_convention: SigmaConvention::Project,
                sigmas: self.sigmas.iter().map(|s| s * 2f64.sqrt()).collect(),
                slope_sigma: self.slope_sigma * 2f64.sqrt(),
                deep_sigma: self.deep_sigma * 3f64.sqrt(),
                ..self.clone()
            },
        }
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.n == 0 || self.d0 == 0 || self.d2 == 0 {
            bail!("invalid value for `width.n`/`d0`/`d2`: all must be ≥ 1");
        }
        check::planted("width.planted", &self.planted, self.d0)?;
        for (key, widths, min) in [
            ("width.widths", &self.widths, 1),
            ("width.slope_widths", &self.slope_widths, 3),
            ("width.deep_widths", &self.deep_widths, 2),
        ] {
            if widths.len() < min || widths.contains(&0) {
                bail!("invalid value for `{key}`: need at least {min} widths, all ≥ 1, found {widths:?}");
            }
            if widths.windows(2).any(|w| w[0] >= w[1]) {
                bail!("invalid value for `{key}`: widths must increase, found {widths:?}");
            }
        }
        if self.sigmas.is_empty() || self.sigmas.windows(2).any(|w| w[0] >= w[1]) {
            bail!(
                "invalid value for `width.sigmas`: need increasing values, found {:?}",
                self.sigmas
            );
        }
        for &s in &self.sigmas {
            check::sigma("width.sigmas", s)?;
        }
        check::sigma("width.slope_sigma", self.slope_sigma)?;
        check::sigma("width.deep_sigma", self.deep_sigma)?;
        for (key, k) in [
            ("width.samples", self.samples),
            ("width.slope_samples", self.slope_samples),
            ("width.deep_samples", self.deep_samples),
        ] {
            if k < 2 {
                bail!("invalid value for `{key}`: need at least 2 Monte-Carlo samples, found {k}");
            }
        }
        for (key, k) in [
            ("width.relu_samples", self.relu_samples),
            ("width.grad_samples", self.grad_samples),
        ] {
            if k == 1 {
                bail!(
                    "invalid value for `{key}`: need 0 (leave out) or at least 2 samples, found 1"
                );
            }
        }
        Ok(())
    }
}

impl Fig2Config {
    pub(super) fn validate(&self) -> Result<()> {
        if self.n == 0 || self.d0 == 0 {
            bail!("invalid value for `fig2.n`/`d0`: both must be ≥ 1");
        }
        check::planted("fig2.planted", &self.planted, self.d0)?;
        if self.widths.is_empty() || self.widths.contains(&0) {
            bail!(
                "invalid value for `fig2.widths`: need at least one width ≥ 1, found {:?}",
                self.widths
            );
        }
        check::sigma("fig2.sigma", self.sigma)?;
        if self.repeats == 0 {
            bail!("invalid value for `fig2.repeats`: must be ≥ 1, found 0");
        }
        if !(self.tail > 0.0 && self.tail <= 1.0) {
            bail!(
                "invalid value for `fig2.tail`: must lie in (0, 1], found {}",
                self.tail
            );
        }
        Ok(())
    }
}
