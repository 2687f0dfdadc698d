//! BatchNorm's running statistics under noise injection.
//!
//! burn 0.22 keeps a BatchNorm's running mean and variance in a `RunningState`: a buffer shared
//! (reference counted) by every clone of the module and updated in place by each training-mode
//! forward pass, `r ← (1 − m)·r + m·batch_stat` with m = 0.1. The perturbed clone of
//! [`crate::step`] shares it with the clean model, so without intervention the statistics are
//! updated from the perturbed pass, as in the official code. [`BatchNormPolicy`] chooses:
//!
//! - `perturbed` (default, the official code): one update per step from the pass at `w + ε`
//!   (for antithetic steps, from the `w + ε` pass only, so that a step is still one update);
//! - `clean`: the perturbed pass's update is undone and the statistics are updated from an extra
//!   forward pass at the clean `w` on the same batch (one forward, no backward, only on steps
//!   that perturb something);
//! - `frozen`: the step never changes them (they keep their initial or loaded values;
//!   calibrate them separately, e.g. with a clean pass over data, before evaluating).
//!
//! A `RunningState` also holds an update that is not yet committed (it is folded in by the next
//! update or by `Module::valid`), so [`RunningStats::capture`] and [`RunningStats::restore`]
//! commit pending updates first. Evaluate through `model.valid()`, which does the same.

use crate::params::PathTracker;
use burn::module::{Flag, Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where a BatchNorm's running statistics come from during a perturbed step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchNormPolicy {
    /// Updated from the perturbed forward pass (the official code).
    #[default]
    Perturbed,
    /// Updated from an extra forward pass at the clean weights.
    Clean,
    /// Never updated by the step.
    Frozen,
}

/// The committed running statistics of a module, keyed by id, with their module paths.
#[derive(Clone, Debug, Default)]
pub struct RunningStats {
    entries: Vec<(ParamId, String, TensorData)>,
}

impl RunningStats {
    /// Commits pending updates and copies every running statistic of `model`.
    pub fn capture<M: Module>(model: &M) -> Self {
        if !has_running_stats(model) {
            return Self::default();
        }
        commit(model);
        let mut visitor = Capture::default();
        model.visit(&mut visitor);
        Self {
            entries: visitor.entries,
        }
    }

    /// Whether the module has no running statistics at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Puts these values back into `model`'s running statistics (shared with all its clones),
    /// discarding any update since the capture.
    pub fn restore<M: Module>(&self, model: &M) {
        if self.is_empty() {
            return;
        }
        commit(model);
        let mut restorer = Restore {
            path: PathTracker::default(),
            values: self
                .entries
                .iter()
                .map(|(id, _, data)| (*id, data.clone()))
                .collect(),
        };
        let _ = model.clone().map(&mut restorer);
    }

    /// `(path, values)` of each statistic, in module order.
    pub fn values(&self) -> Vec<(String, Vec<f32>)> {
        self.entries
            .iter()
            .map(|(_, path, data)| (path.clone(), data.try_to_vec::<f32>().unwrap_or_default()))
            .collect()
    }
}

/// Whether `model` has any BatchNorm running statistic.
pub fn has_running_stats<M: Module>(model: &M) -> bool {
    struct Any {
        path: PathTracker,
        found: bool,
    }
    impl ModuleVisitor for Any {
        fn enter_module(&mut self, name: &str, container_type: &str) {
            self.path.enter(name, container_type);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.exit();
        }
        fn visit_float<const D: usize>(&mut self, _param: &Param<Tensor<D>>) {
            self.found |= self.path.at_running_state();
        }
    }
    let mut any = Any {
        path: PathTracker::default(),
        found: false,
    };
    model.visit(&mut any);
    any.found
}

/// `model` with every BatchNorm in inference mode (normalizing with the running statistics and
/// leaving them alone) while its parameters still take gradients: what PyTorch's `model.eval()`
/// does, and what a Hessian of the evaluated network needs. [`training_mode`] undoes it.
pub fn inference_mode<M: Module>(model: M) -> M {
    model.map(&mut SetFlags(false))
}

/// `model` with every BatchNorm back in training mode.
pub fn training_mode<M: Module>(model: M) -> M {
    model.map(&mut SetFlags(true))
}

struct SetFlags(bool);

impl ModuleMapper for SetFlags {
    fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
        flag.with_value(self.0)
    }
}

/// Folds pending updates into the shared values (burn's `RunningState::valid` does it; the
/// module it returns is dropped).
fn commit<M: Module>(model: &M) {
    let _ = model.valid();
}

#[derive(Default)]
struct Capture {
    path: PathTracker,
    entries: Vec<(ParamId, String, TensorData)>,
}

impl ModuleVisitor for Capture {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.path.at_running_state() {
            self.entries
                .push((param.id, self.path.path(), param.val().inner().into_data()));
        }
    }
}

struct Restore {
    path: PathTracker,
    values: HashMap<ParamId, TensorData>,
}

impl ModuleMapper for Restore {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !self.path.at_running_state() {
            return param;
        }
        match self.values.remove(&param.id) {
            Some(data) => {
                let id = param.id;
                let device = param.val().device();
                Param::initialized(id, Tensor::from_data(data, &device))
            }
            None => param,
        }
    }
}
