//! The base optimizer that steps the clean weights.

use super::schedule::{LrSchedule, LrScheduleKind, ScheduleUnit};
use crate::error::{Error, Result};
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};

/// Which update rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimName {
    /// `torch.optim.SGD`.
    #[default]
    Sgd,
    /// `torch.optim.Adam` (weight decay as an L2 term added to the gradient).
    Adam,
    /// `torch.optim.AdamW` (decoupled weight decay `w ← w(1 − η·wd)`).
    Adamw,
}

/// The `[optim]` table of a config. Defaults are PyTorch's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    /// Update rule.
    pub name: OptimName,
    /// Initial learning rate.
    pub lr: f64,
    /// SGD momentum μ (0 = none).
    pub momentum: f64,
    /// SGD dampening τ: `b ← μb + (1 − τ)g` (PyTorch default 0).
    pub dampening: f64,
    /// SGD Nesterov momentum: `g ← g + μb`.
    pub nesterov: bool,
    /// Weight decay; `None` means PyTorch's default (0 for SGD and Adam, 0.01 for AdamW).
    pub weight_decay: Option<f64>,
    /// Adam β₁.
    pub beta1: f64,
    /// Adam β₂.
    pub beta2: f64,
    /// Adam ε.
    pub eps: f64,
    /// Learning-rate schedule.
    pub schedule: LrScheduleKind,
    /// Counter the schedule reads.
    pub schedule_unit: ScheduleUnit,
    /// `step_size` for `schedule = "step"`.
    pub step_size: u64,
    /// `γ` for `schedule = "step"`.
    pub gamma: f64,
    /// `T_max` for `schedule = "cosine"`; `None` means the whole run.
    pub t_max: Option<u64>,
    /// Final rate of the cosine schedule.
    pub eta_min: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            name: OptimName::Sgd,
            lr: 0.01,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: None,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            schedule: LrScheduleKind::Constant,
            schedule_unit: ScheduleUnit::Epoch,
            step_size: 30,
            gamma: 0.1,
            t_max: None,
            eta_min: 0.0,
        }
    }
}

impl OptimConfig {
    /// Plain SGD with a constant rate.
    pub fn sgd(lr: f64) -> Self {
        Self {
            lr,
            ..Self::default()
        }
    }

    /// The weight decay in force (PyTorch's default when unset).
    pub fn effective_weight_decay(&self) -> f64 {
        self.weight_decay.unwrap_or(match self.name {
            OptimName::Adamw => 0.01,
            OptimName::Sgd | OptimName::Adam => 0.0,
        })
    }

    /// The learning-rate schedule; `run_length` (in the schedule's unit) fills an unset `t_max`.
    pub fn lr_schedule(&self, run_length: u64) -> LrSchedule {
        LrSchedule {
            lr: self.lr,
            kind: self.schedule,
            unit: self.schedule_unit,
            step_size: self.step_size,
            gamma: self.gamma,
            t_max: self.t_max.unwrap_or(run_length).max(1),
            eta_min: self.eta_min,
        }
    }

    /// Range checks, with the offending `optim.*` key in the error.
    pub fn validate(&self) -> Result<()> {
        let unit_interval = |key: &str, v: f64, hi_open: bool| -> Result<()> {
            let ok = v.is_finite() && v >= 0.0 && if hi_open { v < 1.0 } else { v <= 1.0 };
            if ok {
                Ok(())
            } else {
                let range = if hi_open { "[0, 1)" } else { "[0, 1]" };
                Err(Error::invalid(
                    key,
                    format!("must lie in {range}, found {v}"),
                ))
            }
        };
        unit_interval("optim.momentum", self.momentum, true)?;
        unit_interval("optim.dampening", self.dampening, false)?;
        unit_interval("optim.beta1", self.beta1, true)?;
        unit_interval("optim.beta2", self.beta2, true)?;
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(Error::invalid(
                "optim.eps",
                format!("must be > 0, found {}", self.eps),
            ));
        }
        let wd = self.effective_weight_decay();
        if !(wd.is_finite() && wd >= 0.0) {
            return Err(Error::invalid(
                "optim.weight_decay",
                format!("must be ≥ 0, found {wd}"),
            ));
        }
        if self.name != OptimName::Sgd
            && (self.momentum != 0.0 || self.nesterov || self.dampening != 0.0)
        {
            return Err(Error::invalid(
                "optim.momentum",
                "momentum, dampening and nesterov apply to name = \"sgd\" only; Adam uses beta1/beta2",
            ));
        }
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            // PyTorch refuses this combination too.
            return Err(Error::invalid(
                "optim.nesterov",
                "Nesterov momentum requires momentum > 0 and dampening = 0",
            ));
        }
        self.lr_schedule(1).validate()
    }
}

/// The base optimizer: an update rule (SGD fused, Adam/AdamW from burn-optim) with its state, plus
/// the learning-rate schedule.
pub struct BaseOptimizer {
    config: OptimConfig,
    schedule: LrSchedule,
    inner: ModuleOptimizer,
}

impl BaseOptimizer {
    /// Builds the optimizer. `run_length` is the run's length in the schedule's unit (epochs or
    /// steps), used when `t_max` is unset.
    pub fn new(config: &OptimConfig, run_length: u64) -> Result<Self> {
        config.validate()?;
        let wd = config.effective_weight_decay();
        let decay = (wd > 0.0).then(|| WeightDecayConfig::new(wd as f32));
        let inner = match config.name {
            OptimName::Sgd => ModuleOptimizer::from(super::sgd::FusedSgd {
                weight_decay: wd,
                momentum: config.momentum,
                dampening: config.dampening,
                nesterov: config.nesterov,
            }),
            OptimName::Adam => AdamConfig::new()
                .with_beta_1(config.beta1 as f32)
                .with_beta_2(config.beta2 as f32)
                .with_epsilon(config.eps as f32)
                .with_weight_decay(decay)
                .init(),
            OptimName::Adamw => AdamWConfig::new()
                .with_beta_1(config.beta1 as f32)
                .with_beta_2(config.beta2 as f32)
                .with_epsilon(config.eps as f32)
                .with_weight_decay(wd as f32)
                .init(),
        };
        Ok(Self {
            config: config.clone(),
            schedule: config.lr_schedule(run_length),
            inner,
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &OptimConfig {
        &self.config
    }

    /// The learning-rate schedule.
    pub fn schedule(&self) -> &LrSchedule {
        &self.schedule
    }

    /// The rate in force at `(step, epoch)`.
    pub fn lr_at(&self, step: u64, epoch: u64) -> f64 {
        self.schedule.lr_at(step, epoch)
    }

    /// The optimizer's state (momentum buffers, moments, time steps) as burnpack bytes, keyed by
    /// parameter id.
    pub fn to_bytes(&self) -> std::result::Result<Vec<u8>, burn::store::RecordError> {
        Ok(self.inner.into_bytes()?.to_vec())
    }

    /// Replaces the optimizer's state with one from [`BaseOptimizer::to_bytes`].
    pub fn load_bytes(
        &mut self,
        bytes: Vec<u8>,
    ) -> std::result::Result<(), burn::store::RecordError> {
        let record =
            burn::optim::OptimizerRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))?;
        // `load_record` consumes the optimizer; a placeholder stands in for the moment.
        let inner = std::mem::replace(&mut self.inner, SgdConfig::new().init());
        self.inner = inner.load_record(record);
        Ok(())
    }

    /// One update of `module` with `grads` at learning rate `lr`.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        self.inner.step(lr, module, grads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::tensor::{Device, Tensor};

    /// One scalar parameter so that every step can be written out by hand.
    #[derive(burn::module::Module, Debug)]
    struct Scalar {
        w: Param<Tensor<1>>,
    }

    /// Runs `steps` updates of f(w) = ½·a·w² + c·w (gradient a·w + c) from w = 1 and returns w.
    fn run(config: &OptimConfig, steps: usize) -> Vec<f64> {
        let device = Device::flex().autodiff();
        let mut model = Scalar {
            w: Param::from_tensor(Tensor::<1>::from_floats([1.0], &device).require_grad()),
        };
        let mut opt = BaseOptimizer::new(config, 100).unwrap();
        let mut out = vec![];
        for _ in 0..steps {
            let w = model.w.val();
            let loss = (w.clone() * w.clone()).mul_scalar(0.5 * 3.0) + w.mul_scalar(0.5);
            let grads = GradientsParams::from_grads(loss.sum().backward(), &model);
            model = opt.step(config.lr, model, grads);
            out.push(model.w.val().into_data().try_to_vec::<f32>().unwrap()[0] as f64);
        }
        out
    }

    /// PyTorch's SGD written out in f64 for the same problem.
    fn sgd_by_hand(c: &OptimConfig, steps: usize) -> Vec<f64> {
        let (mut w, mut buf, wd) = (1.0f64, None::<f64>, c.effective_weight_decay());
        let mut out = vec![];
        for _ in 0..steps {
            let mut g = 3.0 * w + 0.5 + wd * w;
            if c.momentum > 0.0 {
                let b = match buf {
                    None => g,
                    Some(b) => c.momentum * b + (1.0 - c.dampening) * g,
                };
                buf = Some(b);
                g = if c.nesterov { g + c.momentum * b } else { b };
            }
            w -= c.lr * g;
            out.push(w);
        }
        out
    }

    /// PyTorch's Adam / AdamW written out in f64.
    fn adam_by_hand(c: &OptimConfig, steps: usize) -> Vec<f64> {
        let (mut w, mut m, mut v) = (1.0f64, 0.0, 0.0);
        let wd = c.effective_weight_decay();
        let mut out = vec![];
        for t in 1..=steps {
            let mut g = 3.0 * w + 0.5;
            match c.name {
                OptimName::Adam => g += wd * w,
                _ => w *= 1.0 - c.lr * wd,
            }
            m = c.beta1 * m + (1.0 - c.beta1) * g;
            v = c.beta2 * v + (1.0 - c.beta2) * g * g;
            let m_hat = m / (1.0 - c.beta1.powi(t as i32));
            let v_hat = v / (1.0 - c.beta2.powi(t as i32));
            w -= c.lr * m_hat / (v_hat.sqrt() + c.eps);
            out.push(w);
        }
        out
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 2e-6 * (1.0 + w.abs()),
                "step {i}: got {g}, by hand {w}"
            );
        }
    }

    #[test]
    fn sgd_matches_pytorch_rule() {
        let cases = [
            OptimConfig::sgd(0.1),
            OptimConfig {
                momentum: 0.9,
                ..OptimConfig::sgd(0.05)
            },
            OptimConfig {
                momentum: 0.9,
                dampening: 0.3,
                weight_decay: Some(0.1),
                ..OptimConfig::sgd(0.05)
            },
            OptimConfig {
                momentum: 0.8,
                nesterov: true,
                weight_decay: Some(5e-4),
                ..OptimConfig::sgd(0.05)
            },
        ];
        for c in &cases {
            assert_close(&run(c, 6), &sgd_by_hand(c, 6));
        }
        // Dampening really is 0 by default, as in PyTorch (burn's own default is 0.1): the
        // momentum run must differ from one with dampening 0.1.
        let damped = OptimConfig {
            momentum: 0.9,
            dampening: 0.1,
            ..OptimConfig::sgd(0.05)
        };
        let plain = OptimConfig {
            momentum: 0.9,
            ..OptimConfig::sgd(0.05)
        };
        assert!((run(&plain, 3)[2] - sgd_by_hand(&damped, 3)[2]).abs() > 1e-4);
    }

    #[test]
    fn adam_and_adamw_match_pytorch_rule() {
        let cases = [
            OptimConfig {
                name: OptimName::Adam,
                ..OptimConfig::sgd(0.01)
            },
            OptimConfig {
                name: OptimName::Adam,
                weight_decay: Some(0.1),
                ..OptimConfig::sgd(0.01)
            },
            OptimConfig {
                name: OptimName::Adamw,
                ..OptimConfig::sgd(0.01)
            },
            OptimConfig {
                name: OptimName::Adamw,
                weight_decay: Some(0.5),
                beta1: 0.8,
                ..OptimConfig::sgd(0.02)
            },
        ];
        for c in &cases {
            assert_close(&run(c, 6), &adam_by_hand(c, 6));
        }
    }

    #[test]
    fn invalid_values_name_their_key() {
        let bad = OptimConfig {
            momentum: 1.5,
            ..OptimConfig::sgd(0.1)
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("optim.momentum"));
        let bad = OptimConfig {
            nesterov: true,
            ..OptimConfig::sgd(0.1)
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("optim.nesterov"));
        let bad = OptimConfig {
            lr: f64::NAN,
            ..OptimConfig::sgd(0.1)
        };
        assert!(bad.validate().unwrap_err().to_string().contains("optim.lr"));
    }
}
