//! σ over time. With `σ₀ = noise.sigma`, `σ_f = noise.final_sigma`, `T = noise.decay_steps` and
//! `p = min(t/T, 1)` at optimizer step `t`:
//!
//! - constant: `σ_t = σ₀`
//! - linear:   `σ_t = σ₀ + (σ_f − σ₀)·p`
//! - cosine:   `σ_t = σ_f + (σ₀ − σ_f)(1 + cos πp)/2`
//!
//! and, on top of any of them, `σ_t = 0` from epoch `off_after_epoch` or step `off_after_step` on
//! (the paper stops the noise at epoch 135 of 150 to let the network converge).

use serde::{Deserialize, Serialize};

/// The shape of σ over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoiseScheduleKind {
    /// σ₀ throughout.
    #[default]
    Constant,
    /// Linear from σ₀ to `final_sigma` over `decay_steps`.
    Linear,
    /// Cosine from σ₀ to `final_sigma` over `decay_steps`.
    Cosine,
}

/// σ over a run: the shape, its two ends and length, and when the noise stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseSchedule {
    /// The shape.
    pub kind: NoiseScheduleKind,
    /// σ₀.
    pub sigma: f64,
    /// σ_f, reached after `decay_steps` (linear, cosine).
    pub final_sigma: f64,
    /// T, in optimizer steps.
    pub decay_steps: u64,
    /// σ = 0 from this epoch on.
    pub off_after_epoch: Option<u64>,
    /// σ = 0 from this step on.
    pub off_after_step: Option<u64>,
}

impl NoiseSchedule {
    /// σ at step `step` of epoch `epoch`; see the module documentation for the formulas.
    pub fn at(&self, step: u64, epoch: u64) -> f64 {
        let off = self.off_after_epoch.is_some_and(|e| epoch >= e)
            || self.off_after_step.is_some_and(|s| step >= s);
        if off {
            return 0.0;
        }
        let (sigma, final_sigma) = (self.sigma, self.final_sigma);
        let p = (step as f64 / self.decay_steps.max(1) as f64).min(1.0);
        match self.kind {
            NoiseScheduleKind::Constant => sigma,
            NoiseScheduleKind::Linear => sigma + (final_sigma - sigma) * p,
            NoiseScheduleKind::Cosine => {
                final_sigma + (sigma - final_sigma) * (1.0 + (std::f64::consts::PI * p).cos()) / 2.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NoiseScheduleKind::*;

    fn schedule(
        kind: NoiseScheduleKind,
        sigma: f64,
        final_sigma: f64,
        decay_steps: u64,
    ) -> NoiseSchedule {
        NoiseSchedule {
            kind,
            sigma,
            final_sigma,
            decay_steps,
            off_after_epoch: None,
            off_after_step: None,
        }
    }

    #[test]
    fn constant_with_epoch_cutoff_like_the_paper() {
        let paper = NoiseSchedule {
            off_after_epoch: Some(135),
            ..schedule(Constant, 0.05, 0.0, 1)
        };
        let s = |step, epoch| paper.at(step, epoch);
        assert_eq!(s(10_000, 134), 0.05);
        assert_eq!(s(10_001, 135), 0.0);
        assert_eq!(s(20_000, 149), 0.0);
    }

    #[test]
    fn step_cutoff() {
        let stop = NoiseSchedule {
            off_after_step: Some(50),
            ..schedule(Constant, 0.1, 0.0, 1)
        };
        let s = |step| stop.at(step, 0);
        assert_eq!((s(49), s(50)), (0.1, 0.0));
    }

    #[test]
    fn linear_and_cosine_decay_by_hand() {
        let lin = |t| schedule(Linear, 0.2, 0.0, 100).at(t, 0);
        assert!((lin(25) - 0.15).abs() < 1e-15);
        assert_eq!(lin(100), 0.0);
        assert_eq!(lin(1000), 0.0);
        let cos = |t| schedule(Cosine, 0.2, 0.02, 100).at(t, 0);
        assert_eq!(cos(0), 0.2);
        assert!((cos(50) - 0.11).abs() < 1e-15);
        // p = 1/4: 0.02 + 0.18·(1 + cos(π/4))/2
        let by_hand = 0.02 + 0.18 * (1.0 + std::f64::consts::FRAC_1_SQRT_2) / 2.0;
        assert!((cos(25) - by_hand).abs() < 1e-15);
        assert!((cos(100) - 0.02).abs() < 1e-15);
    }
}
