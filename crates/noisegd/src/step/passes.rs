//! The forward-backward passes of one step: which BatchNorm update a step keeps when it takes
//! several passes, and the arithmetic that combines their gradients.
//!
//! A step may take a pass at the clean weights and passes at perturbed points (antithetic pairs,
//! SAM's ascent, RWP's and NSO's mixtures). Each training-mode pass updates the shared BatchNorm
//! running statistics; `noise.batchnorm` says which single update the step keeps
//! ([`BatchNormPolicy`]): the first perturbed pass's (`perturbed`; the clean pass's when nothing
//! was perturbed), the clean pass's (`clean`; an extra clean forward when the step took none),
//! or none (`frozen`).

use crate::batchnorm::{BatchNormPolicy, RunningStats};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use std::collections::HashMap;

/// Where a pass was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassKind {
    /// At the clean weights.
    Clean,
    /// At a perturbed point.
    Perturbed,
}

/// The BatchNorm bookkeeping of one step's passes: every pass starts from the statistics the
/// step started with, and the step ends with the one update its policy keeps (a capture after a
/// later pass would hold the earlier passes' updates too).
pub struct StatsKeeper {
    policy: BatchNormPolicy,
    /// The statistics before the step (empty for a model without BatchNorm: nothing to keep).
    before: RunningStats,
    /// The statistics right after the first pass of the kind the policy keeps.
    kept: Option<RunningStats>,
    /// The statistics right after the step's first pass, whatever its kind.
    first: Option<RunningStats>,
}

impl StatsKeeper {
    /// Starts a step of `model` under `policy`.
    pub fn new<M: Module>(model: &M, policy: BatchNormPolicy) -> Self {
        Self {
            policy,
            before: RunningStats::capture(model),
            kept: None,
            first: None,
        }
    }

    /// Call after each pass: remembers the statistics if this pass's update is the one kept,
    /// then puts the step's starting statistics back for the next pass.
    pub fn after_pass<M: Module>(&mut self, model: &M, kind: PassKind) {
        if self.before.is_empty() {
            return;
        }
        let keep = match self.policy {
            BatchNormPolicy::Perturbed => kind == PassKind::Perturbed,
            BatchNormPolicy::Clean => kind == PassKind::Clean,
            BatchNormPolicy::Frozen => false,
        };
        if keep && self.kept.is_none() {
            self.kept = Some(RunningStats::capture(model));
        } else if self.first.is_none() && self.policy == BatchNormPolicy::Perturbed {
            self.first = Some(RunningStats::capture(model));
        }
        self.before.restore(model);
    }

    /// Ends the step: leaves `model`'s statistics with the one update the policy keeps.
    /// `clean_forward` runs a forward pass at the clean weights (for `clean` on a step that took
    /// no clean pass).
    pub fn finish<M: Module>(self, model: &M, clean_forward: impl FnOnce(&M)) {
        if self.before.is_empty() {
            return;
        }
        match (self.kept, self.policy) {
            (Some(kept), _) => kept.restore(model),
            // No perturbed pass (σ = 0, or a policy that perturbs nothing): the clean pass's.
            (None, BatchNormPolicy::Perturbed) => {
                if let Some(first) = self.first {
                    first.restore(model);
                }
            }
            (None, BatchNormPolicy::Clean) => clean_forward(model),
            (None, BatchNormPolicy::Frozen) => {}
        }
    }
}

/// `Σ cᵢ·gᵢ` parameter by parameter (a parameter missing from a term counts as zero there).
pub fn weighted_sum<M: Module>(model: &M, terms: Vec<(f32, GradientsParams)>) -> GradientsParams {
    struct Summer {
        terms: Vec<(f32, GradientsParams)>,
        out: GradientsParams,
    }
    impl ModuleVisitor for Summer {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let mut acc: Option<Tensor<D>> = None;
            for (c, g) in self.terms.iter_mut() {
                if let Some(x) = g.remove::<D>(param.id) {
                    let x = x.mul_scalar(*c);
                    acc = Some(match acc {
                        Some(a) => a + x,
                        None => x,
                    });
                }
            }
            if let Some(a) = acc {
                self.out.register(param.id, a);
            }
        }
    }
    let mut summer = Summer {
        terms,
        out: GradientsParams::new(),
    };
    model.visit(&mut summer);
    summer.out
}

/// `½(a + b)` parameter by parameter (the antithetic pair's gradient).
pub fn average_pair<M: Module>(
    model: &M,
    a: GradientsParams,
    b: GradientsParams,
) -> GradientsParams {
    scaled_pair_sums(model, vec![(a, b)], 0.5)
}

/// `scale · Σᵢ (aᵢ + bᵢ)` parameter by parameter, each pair summed first, then the pairs in
/// order: for one pair and `scale = ½` exactly the antithetic step's `(a + b)·½`.
pub fn scaled_pair_sums<M: Module>(
    model: &M,
    pairs: Vec<(GradientsParams, GradientsParams)>,
    scale: f32,
) -> GradientsParams {
    struct Pairs {
        pairs: Vec<(GradientsParams, GradientsParams)>,
        scale: f32,
        out: GradientsParams,
    }
    impl ModuleVisitor for Pairs {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let mut acc: Option<Tensor<D>> = None;
            for (a, b) in self.pairs.iter_mut() {
                let pair = match (a.remove::<D>(param.id), b.remove::<D>(param.id)) {
                    (Some(x), Some(y)) => x + y,
                    (Some(x), None) | (None, Some(x)) => x,
                    (None, None) => continue,
                };
                acc = Some(match acc {
                    Some(s) => s + pair,
                    None => pair,
                });
            }
            if let Some(s) = acc {
                self.out.register(param.id, s.mul_scalar(self.scale));
            }
        }
    }
    let mut visitor = Pairs {
        pairs,
        scale,
        out: GradientsParams::new(),
    };
    model.visit(&mut visitor);
    visitor.out
}

/// Every gradient of `grads` as a flat `Vec<f32>` (the tensor's element order), by parameter id.
pub fn flat_grads<M: Module>(model: &M, grads: &GradientsParams) -> HashMap<ParamId, Vec<f32>> {
    struct Flatten<'a> {
        grads: &'a GradientsParams,
        out: HashMap<ParamId, Vec<f32>>,
    }
    impl ModuleVisitor for Flatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                if let Ok(v) = g.into_data().try_to_vec::<f32>() {
                    self.out.insert(param.id, v);
                }
            }
        }
    }
    let mut flatten = Flatten {
        grads,
        out: HashMap::new(),
    };
    model.visit(&mut flatten);
    flatten.out
}

/// The values of the parameters named in `ids`, flat, by parameter id.
pub fn flat_weights<M: Module>(
    model: &M,
    ids: &std::collections::HashSet<ParamId>,
) -> HashMap<ParamId, Vec<f32>> {
    struct Values<'a> {
        ids: &'a std::collections::HashSet<ParamId>,
        out: HashMap<ParamId, Vec<f32>>,
    }
    impl ModuleVisitor for Values<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.ids.contains(&param.id) {
                if let Ok(v) = param.val().into_data().try_to_vec::<f32>() {
                    self.out.insert(param.id, v);
                }
            }
        }
    }
    let mut values = Values {
        ids,
        out: HashMap::new(),
    };
    model.visit(&mut values);
    values.out
}
