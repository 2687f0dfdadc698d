//! Learning-rate schedules, as closed forms of the step or epoch counter `t`:
//!
//! - constant: `η_t = η₀`
//! - step (PyTorch `StepLR`): `η_t = η₀ · γ^⌊t / step_size⌋`
//! - cosine (PyTorch `CosineAnnealingLR`, closed form): `η_t = η_min + (η₀ − η_min)(1 + cos(π t / T_max))/2`,
//!   held at `η_min` for `t ≥ T_max`
//!
//! Closed forms rather than burn's stateful schedulers: the rate at any `(step, epoch)` can then be
//! recomputed after a resume, and per-epoch stepping is a choice of counter, not a second object.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which closed form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrScheduleKind {
    /// `η₀` throughout.
    #[default]
    Constant,
    /// Multiply by `gamma` every `step_size` units.
    Step,
    /// Cosine annealing from `η₀` to `eta_min` over `t_max` units.
    Cosine,
}

/// Which counter the schedule reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleUnit {
    /// Once per epoch, as PyTorch's schedulers are usually stepped (and the paper's code does).
    #[default]
    Epoch,
    /// Once per optimizer step.
    Step,
}

/// A learning-rate schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct LrSchedule {
    /// Initial rate `η₀`.
    pub lr: f64,
    /// The closed form.
    pub kind: LrScheduleKind,
    /// Counter the schedule reads.
    pub unit: ScheduleUnit,
    /// `step_size` of [`LrScheduleKind::Step`].
    pub step_size: u64,
    /// `γ` of [`LrScheduleKind::Step`].
    pub gamma: f64,
    /// `T_max` of [`LrScheduleKind::Cosine`].
    pub t_max: u64,
    /// `η_min` of [`LrScheduleKind::Cosine`].
    pub eta_min: f64,
}

impl LrSchedule {
    /// A constant rate.
    pub fn constant(lr: f64) -> Self {
        Self {
            lr,
            kind: LrScheduleKind::Constant,
            unit: ScheduleUnit::Epoch,
            step_size: 1,
            gamma: 1.0,
            t_max: 1,
            eta_min: 0.0,
        }
    }

    /// Checks the values, naming the `optim.*` key at fault.
    pub fn validate(&self) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::invalid(
                "optim.lr",
                format!("must be a finite number > 0, found {}", self.lr),
            ));
        }
        match self.kind {
            LrScheduleKind::Constant => {}
            LrScheduleKind::Step => {
                if self.step_size == 0 {
                    return Err(Error::invalid(
                        "optim.step_size",
                        "must be ≥ 1 for schedule = \"step\"",
                    ));
                }
                if !(self.gamma.is_finite() && self.gamma > 0.0) {
                    return Err(Error::invalid(
                        "optim.gamma",
                        format!("must be a finite number > 0, found {}", self.gamma),
                    ));
                }
            }
            LrScheduleKind::Cosine => {
                if self.t_max == 0 {
                    return Err(Error::invalid(
                        "optim.t_max",
                        "must be ≥ 1 for schedule = \"cosine\"",
                    ));
                }
                if !(self.eta_min.is_finite() && self.eta_min >= 0.0 && self.eta_min <= self.lr) {
                    return Err(Error::invalid(
                        "optim.eta_min",
                        format!(
                            "must lie in [0, optim.lr = {}], found {}",
                            self.lr, self.eta_min
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The rate in force at optimizer step `step` during epoch `epoch` (both from 0).
    pub fn lr_at(&self, step: u64, epoch: u64) -> f64 {
        let t = match self.unit {
            ScheduleUnit::Epoch => epoch,
            ScheduleUnit::Step => step,
        };
        match self.kind {
            LrScheduleKind::Constant => self.lr,
            LrScheduleKind::Step => self.lr * self.gamma.powi((t / self.step_size) as i32),
            LrScheduleKind::Cosine => {
                let progress = (t.min(self.t_max) as f64) / self.t_max as f64;
                self.eta_min
                    + (self.lr - self.eta_min) * (1.0 + (std::f64::consts::PI * progress).cos())
                        / 2.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(kind: LrScheduleKind, unit: ScheduleUnit) -> LrSchedule {
        LrSchedule {
            kind,
            unit,
            step_size: 3,
            gamma: 0.5,
            t_max: 10,
            eta_min: 0.001,
            ..LrSchedule::constant(0.1)
        }
    }

    #[test]
    fn step_schedule_halves_every_step_size_epochs() {
        let s = schedule(LrScheduleKind::Step, ScheduleUnit::Epoch);
        let got: Vec<f64> = (0..7).map(|e| s.lr_at(1000, e)).collect();
        assert_eq!(got, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
    }

    #[test]
    fn cosine_matches_pytorch_closed_form_and_holds_at_eta_min() {
        let s = schedule(LrScheduleKind::Cosine, ScheduleUnit::Step);
        assert_eq!(s.lr_at(0, 99), 0.1);
        // t = 5 of 10: halfway, (η₀ + η_min)/2.
        assert!((s.lr_at(5, 0) - 0.0505).abs() < 1e-15);
        // t = 2: η_min + (η₀ − η_min)(1 + cos(π/5))/2, computed by hand: 0.0905475...
        let by_hand = 0.001 + 0.099 * (1.0 + 0.809_016_994_374_947_5) / 2.0;
        assert!((s.lr_at(2, 0) - by_hand).abs() < 1e-15);
        assert!((s.lr_at(10, 0) - 0.001).abs() < 1e-15);
        assert!((s.lr_at(25, 0) - 0.001).abs() < 1e-15);
    }

    #[test]
    fn unit_selects_the_counter() {
        let by_epoch = schedule(LrScheduleKind::Step, ScheduleUnit::Epoch);
        let by_step = schedule(LrScheduleKind::Step, ScheduleUnit::Step);
        assert_eq!(by_epoch.lr_at(9, 0), 0.1);
        assert_eq!(by_step.lr_at(9, 0), 0.0125);
    }

    #[test]
    fn validation_names_the_key() {
        let mut s = schedule(LrScheduleKind::Cosine, ScheduleUnit::Epoch);
        s.t_max = 0;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("optim.t_max"), "{err}");
        let mut s = LrSchedule::constant(-1.0);
        s.kind = LrScheduleKind::Constant;
        assert!(s.validate().unwrap_err().to_string().contains("optim.lr"));
    }
}
