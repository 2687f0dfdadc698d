//! The perturbed step: `w ← opt(w, ∇L(w + ε))`.
//!
//! 1. The policy plans which groups get noise and with what std ([`NoiseConfig::plan`]).
//! 2. [`perturb`] builds a perturbed *clone* of the model: burn modules are values whose tensors
//!    are reference counted, so the clone is cheap; each chosen parameter is replaced by a new
//!    leaf `w + ε` that keeps its `ParamId`. The clean weights are never written to, so there is
//!    nothing to restore and no round-off from subtracting the noise back.
//! 3. The loss and its gradients are taken on the clone. Gradients are keyed by `ParamId`, so they
//!    apply as they are to the clean model.
//! 4. The base optimizer steps the clean model.
//!
//! With `antithetic = true`, steps 2–3 run at `w + ε` and at `w − ε` and the gradients are
//! averaged.
//!
//! The peer methods (`anti`, `sam`, `asam`, `rwp`, `nso`) take their passes at the points
//! [`peers`] describes and combine the gradients as its table says; all of them leave the
//! clean weights untouched until the base optimizer steps.
//!
//! BatchNorm running statistics are shared by the clone and the clean model (burn's
//! `RunningState`), so the passes above update them; `noise.batchnorm` decides which single
//! update a step keeps ([`crate::batchnorm`], [`passes::StatsKeeper`]).

pub mod passes;
pub mod peers;

use crate::error::{Error, Result};
use crate::noise::draw::StepNoise;
use crate::noise::rng::{fill_normal, NoiseKey};
use crate::noise::{NoiseConfig, Plan, PolicyKind};
use crate::optim::BaseOptimizer;
use crate::params::ParamGroups;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use passes::{PassKind, StatsKeeper};
use std::collections::HashMap;

/// Models from this many parameters up are stepped inside rayon's pool (see
/// [`NoiseInjection::step`]); the kernels split work from about this size on.
pub const IN_POOL_MIN_PARAMS: usize = 1 << 16;

/// What one step did, for logging.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// The step index (from 0).
    pub step: u64,
    /// The loss where the stepped gradient was taken: at the perturbed point (the mean over the
    /// perturbed passes for antithetic and NSO steps; SAM's at `w + ε`), at `w` for Anti-PGD and
    /// for steps without noise.
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Scheduled σ (ρ for `sam` / `asam`).
    pub sigma: f64,
    /// Per-weight std applied to perturbed weights (0 when none).
    pub per_weight_std: f64,
    /// Group chosen by `layer`.
    pub group: Option<usize>,
}

/// The perturbed clone of `model` for `plan`: every parameter of a targeted group becomes
/// `w + sign·std·ε` as a fresh leaf with the same `ParamId`; all others are shared, untouched.
/// The noise is generated straight into the perturbed copy ([`crate::kernels::perturb`]); the
/// numbers are those of [`StepNoise::draw`] added by [`perturb_with`], bit for bit.
pub fn perturb<M: Module>(model: &M, groups: &ParamGroups, plan: &Plan, seed: u64, sign: f32) -> M {
    perturb_sample(model, groups, plan, seed, 0, sign)
}

/// [`perturb`] with the `sample`-th independent draw of the step ([`StepNoise::sample_streams`];
/// sample 0 is the step's own noise).
pub fn perturb_sample<M: Module>(
    model: &M,
    groups: &ParamGroups,
    plan: &Plan,
    seed: u64,
    sample: u32,
    sign: f32,
) -> M {
    if plan.targets.is_empty() {
        return model.clone();
    }
    let noise = StepNoise::sample_streams(groups, plan, seed, sample)
        .map(|(id, _, key, std)| (id, (key, sign * std)))
        .collect();
    model.clone().map(&mut Perturber { noise })
}

struct Perturber {
    noise: HashMap<ParamId, (NoiseKey, f32)>,
}

impl ModuleMapper for Perturber {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(&(key, std)) = self.noise.get(&param.id) else {
            return param;
        };
        param.map(|tensor| {
            let leaf = LeafKind::of(&tensor);
            let clean = tensor.inner();
            let moved = crate::kernels::perturb::noisy_copy(clean.clone(), key, std)
                .unwrap_or_else(|| {
                    let mut eps = vec![0f32; clean.shape().num_elements()];
                    fill_normal(key, 0, std, &mut eps);
                    let eps = Tensor::<D>::from_data(
                        TensorData::new(eps, clean.shape()),
                        &clean.device(),
                    );
                    clean + eps
                });
            leaf.wrap(moved)
        })
    }
}

/// Whether a parameter tensor was an autodiff leaf that requires its gradient, so that its
/// perturbed replacement (computed on the inner backend) can be made the same kind of leaf.
struct LeafKind {
    autodiff: bool,
    require_grad: bool,
}

impl LeafKind {
    fn of<const D: usize>(tensor: &Tensor<D>) -> Self {
        Self {
            autodiff: tensor.is_autodiff(),
            require_grad: tensor.is_require_grad(),
        }
    }

    fn wrap<const D: usize>(&self, moved: Tensor<D>) -> Tensor<D> {
        // A model without autodiff (e.g. `model.valid()` for loss-only evaluations) stays
        // without it, so that BatchNorm keeps its inference mode.
        if !self.autodiff {
            return moved;
        }
        let moved = moved.autodiff();
        if self.require_grad {
            moved.require_grad()
        } else {
            moved
        }
    }
}

/// The perturbed clone of `model` with noise already drawn: `w + ε` (`sign = 1`) or `w − ε`.
pub fn perturb_with<M: Module>(model: &M, noise: StepNoise, sign: f32) -> M {
    displace(model, noise.into_buffers(), sign)
}

/// The clone `w + scale·d` of `model`, for a direction `d` given per parameter id (flat, in the
/// tensor's element order); parameters without an entry are shared, untouched. Used by the
/// perturbed step (`d = ε`, `scale = ±1`) and by finite differences along a direction.
pub fn displace<M: Module>(model: &M, direction: HashMap<ParamId, Vec<f32>>, scale: f32) -> M {
    model.clone().map(&mut Displacer { direction, scale })
}

struct Displacer {
    direction: HashMap<ParamId, Vec<f32>>,
    scale: f32,
}

impl ModuleMapper for Displacer {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(eps) = self.direction.remove(&param.id) else {
            return param;
        };
        let scale = self.scale;
        param.map(|tensor| {
            let leaf = LeafKind::of(&tensor);
            let shape = tensor.shape();
            // `w ± ε` is a new tensor computed on the inner backend: the clean `w` is only read,
            // never written, and the result becomes a fresh autodiff leaf.
            let clean = tensor.inner();
            let eps = Tensor::<D>::from_data(TensorData::new(eps, shape), &clean.device());
            let moved = if scale == 1.0 {
                clean + eps
            } else if scale == -1.0 {
                clean - eps
            } else {
                clean + eps.mul_scalar(scale)
            };
            leaf.wrap(moved)
        })
    }
}

/// The losses `L(w + ε)` and `L(w − ε)` for the noise `plan` calls for (the step's own draw,
/// keyed by `seed` and `plan.step`), forward passes only. With a model from `model.valid()`
/// nothing is recorded for a backward pass and BatchNorm stays in inference mode.
pub fn antithetic_losses<M: Module, F: FnMut(&M) -> Tensor<1>>(
    model: &M,
    groups: &ParamGroups,
    plan: &Plan,
    seed: u64,
    mut loss_fn: F,
) -> (f64, f64) {
    let noise = StepNoise::draw(groups, plan, seed);
    let plus = loss_fn(&perturb_with(model, noise.clone(), 1.0)).into_scalar_f64();
    let minus = loss_fn(&perturb_with(model, noise, -1.0)).into_scalar_f64();
    (plus, minus)
}

/// The value of a scalar loss tensor, in f64.
pub fn loss_value(loss: Tensor<1>) -> f64 {
    loss.into_scalar_f64()
}

/// Loss at `model` and its gradients, keyed by `ParamId` (with [`perturb`], the gradient at a
/// perturbed point without stepping; see [`crate::diagnostics`]).
pub fn loss_and_grads<M: Module, F: FnMut(&M) -> Tensor<1>>(
    model: &M,
    loss_fn: &mut F,
) -> (f64, GradientsParams) {
    let loss = loss_fn(model);
    let value = loss.clone().into_scalar_f64();
    let grads = GradientsParams::from_grads(loss.backward(), model);
    (value, grads)
}

trait ScalarF64 {
    fn into_scalar_f64(self) -> f64;
}

impl ScalarF64 for Tensor<1> {
    fn into_scalar_f64(self) -> f64 {
        let data = self.inner().into_data();
        match data.as_slice::<f32>() {
            Ok(v) => v.iter().map(|x| *x as f64).sum(),
            Err(_) => data
                .try_to_vec_as::<f64>()
                .map(|v| v.iter().sum())
                .unwrap_or(f64::NAN),
        }
    }
}

/// True when every gradient entry is finite, judged by each gradient's sum: one reading pass
/// and no copy (copying the gradients out to scan them cost ~10 % of an MLP step). A sum is
/// non-finite whenever an entry is NaN or infinite; it can also overflow for finite entries
/// above ~1e32, which is divergence all the same.
fn grads_are_finite<M: Module>(model: &M, grads: &GradientsParams) -> bool {
    struct Check<'a> {
        grads: &'a GradientsParams,
        finite: bool,
    }
    impl ModuleVisitor for Check<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if !self.finite {
                return;
            }
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.finite = g.sum().into_scalar_f64().is_finite();
            }
        }
    }
    let mut check = Check {
        grads,
        finite: true,
    };
    model.visit(&mut check);
    check.finite
}

/// The perturbed-gradient method wrapped around a base optimizer.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use noisegd::models::mlp::MlpConfig;
/// use noisegd::noise::NoiseConfig;
/// use noisegd::optim::{BaseOptimizer, OptimConfig};
/// use noisegd::step::NoiseInjection;
///
/// let device = Device::flex().autodiff();
/// let mut model = MlpConfig::new(vec![4, 8, 3]).init(0, &device);
/// let x = Tensor::<2>::ones([5, 4], &device);
/// let y = Tensor::<1, burn::tensor::Int>::from_ints([0, 1, 2, 1, 0], &device);
///
/// // Layer-wise noise, σ = 0.05, on top of SGD with momentum (seed 7).
/// let optimizer = BaseOptimizer::new(&OptimConfig { momentum: 0.9, ..OptimConfig::sgd(0.1) }, 100)?;
/// let mut pgd = NoiseInjection::new(&model, NoiseConfig::layer(0.05), optimizer, 7, 100)?;
/// for _ in 0..10 {
///     let (next, report) = pgd.step(model, |m| m.loss(x.clone(), y.clone()))?;
///     model = next;
///     assert!(report.loss.is_finite());
/// }
/// # Ok::<(), noisegd::Error>(())
/// ```
pub struct NoiseInjection {
    noise: NoiseConfig,
    groups: ParamGroups,
    optimizer: BaseOptimizer,
    seed: u64,
    run_steps: u64,
    step: u64,
    /// Steps per epoch (the epoch of step `t` is `t / epoch_length`).
    epoch_length: u64,
    /// Whether [`NoiseInjection::step`] moves into rayon's pool (see there).
    in_pool: bool,
}

impl NoiseInjection {
    /// Wraps `optimizer` for `model`. `seed` keys every noise draw; `run_steps` is the planned
    /// length of the run (it sets an unset decay horizon of the noise schedule).
    pub fn new<M: Module>(
        model: &M,
        noise: NoiseConfig,
        optimizer: BaseOptimizer,
        seed: u64,
        run_steps: u64,
    ) -> Result<Self> {
        noise.validate()?;
        let groups = ParamGroups::of(model, noise.group_by);
        if groups.is_empty() {
            return Err(Error::NoParameters);
        }
        let on_cpu = model.devices().iter().all(crate::kernels::on_cpu_backend);
        Ok(Self {
            in_pool: on_cpu && groups.numel() >= IN_POOL_MIN_PARAMS,
            noise,
            groups,
            optimizer,
            seed,
            run_steps,
            step: 0,
            epoch_length: u64::MAX,
        })
    }

    /// The parameter groups the policy sees.
    pub fn groups(&self) -> &ParamGroups {
        &self.groups
    }

    /// The noise configuration.
    pub fn noise(&self) -> &NoiseConfig {
        &self.noise
    }

    /// The base optimizer.
    pub fn optimizer(&self) -> &BaseOptimizer {
        &self.optimizer
    }

    /// Steps taken so far (the index of the next step).
    pub fn step_index(&self) -> u64 {
        self.step
    }

    /// Continues a run at step `step` (its noise draws and schedules are those of that step);
    /// see [`crate::checkpoint`], which also restores the optimizer's state.
    pub fn set_step_index(&mut self, step: u64) {
        self.step = step;
    }

    /// The base optimizer, to restore its state from a checkpoint.
    pub fn optimizer_mut(&mut self) -> &mut BaseOptimizer {
        &mut self.optimizer
    }

    /// Sets the number of steps per epoch (read by `off_after_epoch`); without it every step is
    /// in epoch 0.
    pub fn set_epoch_length(&mut self, steps: u64) {
        self.epoch_length = steps.max(1);
    }

    /// What the policy does at the next step.
    pub fn next_plan(&self) -> Plan {
        self.plan_at(self.step)
    }

    /// What the policy does at step `step`: a pure function of the config, the seed and the
    /// step (so that Anti-PGD can draw the next step's ξ, and a resumed run redraws the same).
    fn plan_at(&self, step: u64) -> Plan {
        let epoch = step / self.epoch_length;
        let sigma = self.noise.sigma_at(step, epoch, self.run_steps);
        self.noise.plan(self.seed, step, sigma, self.groups.len())
    }

    /// The perturbed gradient at the next step, without stepping: `g(w + ε)`, or the antithetic
    /// average. Returns the loss at the perturbed point(s) too.
    pub fn perturbed_gradients<M: Module, F: FnMut(&M) -> Tensor<1>>(
        &self,
        model: &M,
        plan: &Plan,
        loss_fn: F,
    ) -> (f64, GradientsParams) {
        self.gradients_with(model, plan, loss_fn)
    }

    /// [`NoiseInjection::perturbed_gradients`], with BatchNorm's running statistics handled as
    /// `noise.batchnorm` says.
    fn gradients_with<M: Module, F: FnMut(&M) -> Tensor<1>>(
        &self,
        model: &M,
        plan: &Plan,
        mut loss_fn: F,
    ) -> (f64, GradientsParams) {
        let mut stats = StatsKeeper::new(model, self.noise.batchnorm);
        let out = self.passes(model, plan, &mut loss_fn, &mut stats);
        // Forward only: the statistics update is the point, the loss is dropped.
        stats.finish(model, |m| drop(loss_fn(m)));
        out
    }

    /// The passes of one step and the gradient they combine to (see [`peers`]'s table).
    fn passes<M: Module, F: FnMut(&M) -> Tensor<1>>(
        &self,
        model: &M,
        plan: &Plan,
        loss_fn: &mut F,
        stats: &mut StatsKeeper,
    ) -> (f64, GradientsParams) {
        let mut pass = |point: &M, kind: PassKind| {
            let out = loss_and_grads(point, loss_fn);
            stats.after_pass(model, kind);
            out
        };
        let noise = &self.noise;
        // Noise off (σ or ρ scheduled to 0, or policy none): the base step, bit for bit.
        if plan.sigma == 0.0 || (plan.targets.is_empty() && !noise.policy.is_adversarial()) {
            return pass(model, PassKind::Clean);
        }
        let perturbed = |sample: u32, sign: f32| {
            perturb_sample(model, &self.groups, plan, self.seed, sample, sign)
        };
        match noise.policy {
            PolicyKind::None | PolicyKind::Anti => pass(model, PassKind::Clean),
            PolicyKind::All | PolicyKind::Layer if !noise.antithetic => {
                pass(&perturbed(0, 1.0), PassKind::Perturbed)
            }
            PolicyKind::All | PolicyKind::Layer => {
                let (loss_plus, plus) = pass(&perturbed(0, 1.0), PassKind::Perturbed);
                let (loss_minus, minus) = pass(&perturbed(0, -1.0), PassKind::Perturbed);
                (
                    0.5 * (loss_plus + loss_minus),
                    passes::average_pair(model, plus, minus),
                )
            }
            PolicyKind::Sam | PolicyKind::Asam => {
                let (clean_loss, clean) = pass(model, PassKind::Clean);
                let eta = (noise.policy == PolicyKind::Asam).then(|| noise.asam_eta());
                let weights = match eta {
                    Some(_) => passes::flat_weights(model, &self.groups.ids()),
                    None => HashMap::new(),
                };
                let grads = passes::flat_grads(model, &clean);
                match peers::sam_direction(&self.groups, &grads, &weights, plan.sigma, eta) {
                    Some(ascent) => pass(&displace(model, ascent, 1.0), PassKind::Perturbed),
                    // A zero clean gradient: no ascent, the base step on that gradient.
                    None => (clean_loss, clean),
                }
            }
            PolicyKind::Rwp => {
                let alpha = noise.rwp_alpha();
                let eps = peers::rwp_direction(model, &self.groups, plan, self.seed);
                let clean = (alpha < 1.0).then(|| pass(model, PassKind::Clean).1);
                let (loss, noisy) = pass(&displace(model, eps, 1.0), PassKind::Perturbed);
                let grads = match clean {
                    Some(clean) => passes::weighted_sum(
                        model,
                        vec![((1.0 - alpha) as f32, clean), (alpha as f32, noisy)],
                    ),
                    None => noisy,
                };
                (loss, grads)
            }
            PolicyKind::Nso => {
                let k = noise.nso_samples();
                let lambda = noise.nso_lambda();
                let clean = (lambda > 0.0).then(|| pass(model, PassKind::Clean).1);
                let mut loss = 0.0;
                let mut pairs = Vec::with_capacity(k as usize);
                for sample in 0..k {
                    let (lp, plus) = pass(&perturbed(sample, 1.0), PassKind::Perturbed);
                    let (lm, minus) = pass(&perturbed(sample, -1.0), PassKind::Perturbed);
                    loss += lp + lm;
                    pairs.push((plus, minus));
                }
                let average = passes::scaled_pair_sums(model, pairs, 1.0 / (2 * k) as f32);
                let grads = match clean {
                    Some(clean) => passes::weighted_sum(
                        model,
                        vec![(lambda as f32, clean), ((1.0 - lambda) as f32, average)],
                    ),
                    None => average,
                };
                (loss / f64::from(2 * k), grads)
            }
        }
    }

    /// One step: perturb, take the gradient there, step the clean `model` with the base optimizer.
    /// A non-finite loss or gradient stops with [`Error::Diverged`] and leaves `model` unchanged
    /// (it is returned inside no result: the caller still holds its last good copy if it cloned).
    ///
    /// A model with at least [`IN_POOL_MIN_PARAMS`] parameters is stepped on a thread of rayon's
    /// pool (`rayon::scope`), so that the kernels' parallel
    /// halves start and finish inside the pool instead of each handing work over from the
    /// calling thread and waiting to be woken (MLP 1 batch 128, 2 threads: 3.80–4.12 →
    /// 3.64–3.72 ms per step, alternating runs). Called from inside the pool it runs in place.
    /// On the GPU it never moves: the pool serves the CPU kernels only, and burn-wgpu 0.22.1
    /// does not order work submitted from two threads (a step taken on a pool thread left the
    /// last parameters' updates unseen by the next read on the calling thread:
    /// `tests/gpu.rs` fails that way without this).
    pub fn step<M: Module, F: FnMut(&M) -> Tensor<1> + Send>(
        &mut self,
        model: M,
        loss_fn: F,
    ) -> Result<(M, StepReport)> {
        // A step of a small model is over in microseconds: moving it into the pool and back
        // costs more than it saves (d = 100 diagonal net: 34 → 99 µs), so it runs here.
        if !self.in_pool {
            return self.step_here(model, loss_fn);
        }
        rayon::scope(|_| self.step_here(model, loss_fn))
    }

    fn step_here<M: Module, F: FnMut(&M) -> Tensor<1>>(
        &mut self,
        model: M,
        loss_fn: F,
    ) -> Result<(M, StepReport)> {
        let plan = self.next_plan();
        let (loss, grads) = self.gradients_with(&model, &plan, loss_fn);
        let lr = self
            .optimizer
            .lr_at(self.step, self.step / self.epoch_length);
        let hint = || {
            format!(
                "noise.policy = \"{}\", σ = {}, lr = {lr}; lower optim.lr or noise.sigma",
                self.noise.policy, plan.sigma
            )
        };
        if !loss.is_finite() {
            return Err(Error::Diverged {
                what: "loss".into(),
                step: self.step,
                hint: hint(),
            });
        }
        if !grads_are_finite(&model, &grads) {
            return Err(Error::Diverged {
                what: "gradient".into(),
                step: self.step,
                hint: hint(),
            });
        }
        let mut model = self.optimizer.step(lr, model, grads);
        if self.noise.policy == PolicyKind::Anti {
            // Anti-PGD: the iterate moves on by ξ_{t+1} − ξ_t (nothing when both are off).
            let next = self.plan_at(self.step + 1);
            if !(plan.targets.is_empty() && next.targets.is_empty()) {
                let increment = peers::anti_increment(&self.groups, &plan, &next, self.seed);
                model = displace(&model, increment, 1.0);
            }
        }
        let report = StepReport {
            step: self.step,
            loss,
            lr,
            sigma: plan.sigma,
            per_weight_std: plan.per_weight_std(),
            group: if self.noise.policy == PolicyKind::Layer {
                plan.chosen_group()
            } else {
                None
            },
        };
        self.step += 1;
        Ok((model, report))
    }
}
