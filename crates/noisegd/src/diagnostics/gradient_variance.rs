//! The variance the noise adds to the gradient, per parameter group.
//!
//! [`perturbed_gradient_variance`]: for every parameter group g of a burn module,
//! ```text
//! V_g = E_ε ‖∇_g L(w + ε) − ∇_g L(w)‖²
//! ```
//! under a [`NoiseConfig`] (`all`: every weight gets N(0, (σ/√M)²); `layer`: one random group
//! gets N(0, σ²)), by Monte Carlo with the project's own perturbation ([`crate::step::perturb`]) and
//! noise streams: sample k is the noise the policy would inject at step k of a run with `seed`.
//! It reports the total over the group and the mean per weight `V_g / |g|`, each with its sample
//! standard error. The per-weight mean is the one to compare across widths: the total grows
//! with the number of weights in the group even when each weight's gradient noise does not.
//!
//! Example (paper §3, a one-hidden-layer linear net `Φ = W₂W₁Xᵀ` with the 1/√(dᵢdᵢ₋₁) init):
//! under `all`, each weight's gradient noise grows linearly in the width d₁ (the E₂E₁ product
//! sums d₁ noise terms); under `layer` it stays flat.

use crate::error::{Error, Result};
use crate::noise::{NoiseConfig, PolicyKind};
use crate::params::ParamGroups;
use crate::step::passes::flat_grads;
use crate::step::{loss_and_grads, perturb};
use crate::theory::smoothed::McEstimate;
use burn::module::Module;
use burn::tensor::Tensor;

/// The perturbed-gradient variance of one parameter group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupGradientVariance {
    /// The group's stable name (see [`ParamGroups`]).
    pub group: String,
    /// Number of weights in the group.
    pub numel: usize,
    /// `E‖g(w+ε) − g(w)‖²` summed over the group's weights, with its standard error.
    pub total: McEstimate,
}

impl GroupGradientVariance {
    /// `E‖g(w+ε) − g(w)‖² / |g|`: the mean over the group's weights, with its standard error.
    pub fn per_weight(&self) -> McEstimate {
        let k = self.numel.max(1) as f64;
        McEstimate {
            mean: self.total.mean / k,
            std_err: self.total.std_err / k,
            samples: self.total.samples,
        }
    }
}

/// `E‖∇_g L(w + ε) − ∇_g L(w)‖²` for every group g of `model` under `noise` (at its constant
/// `noise.sigma`; schedules are not applied), from `samples` draws (sample k = the noise of step
/// k of a run keyed by `seed`). With `noise.antithetic` the perturbed gradient is the average of
/// the gradients at `w + ε` and `w − ε`, as in the step. Groups are in [`ParamGroups`] order.
pub fn perturbed_gradient_variance<M: Module, F: FnMut(&M) -> Tensor<1>>(
    model: &M,
    noise: &NoiseConfig,
    samples: usize,
    seed: u64,
    mut loss_fn: F,
) -> Result<Vec<GroupGradientVariance>> {
    noise.validate()?;
    if !matches!(
        noise.policy,
        PolicyKind::None | PolicyKind::All | PolicyKind::Layer
    ) {
        return Err(Error::invalid(
            "noise.policy",
            format!(
                "the gradient variance is defined for none, all and layer, found \"{}\"",
                noise.policy
            ),
        ));
    }
    if samples < 2 {
        return Err(Error::invalid(
            "samples",
            format!("need at least 2 Monte-Carlo samples for a standard error, found {samples}"),
        ));
    }
    let groups = ParamGroups::of(model, noise.group_by);
    if groups.is_empty() {
        return Err(Error::NoParameters);
    }
    let (_, clean) = loss_and_grads(model, &mut loss_fn);
    let clean = flat_grads(model, &clean);
    let m = groups.len();
    // values[g][k]: ‖Δg‖² of group g at sample k.
    let mut values = vec![Vec::with_capacity(samples); m];
    for k in 0..samples as u64 {
        let plan = noise.plan(seed, k, noise.sigma, m);
        let mut noisy = flat_grads(
            model,
            &loss_and_grads(&perturb(model, &groups, &plan, seed, 1.0), &mut loss_fn).1,
        );
        if noise.antithetic && noise.policy != PolicyKind::None {
            let minus = flat_grads(
                model,
                &loss_and_grads(&perturb(model, &groups, &plan, seed, -1.0), &mut loss_fn).1,
            );
            for (id, g) in noisy.iter_mut() {
                if let Some(h) = minus.get(id) {
                    g.iter_mut().zip(h).for_each(|(a, b)| *a = 0.5 * (*a + b));
                }
            }
        }
        for (g, group) in groups.groups().iter().enumerate() {
            let sq: f64 = group
                .params
                .iter()
                .map(|p| squared_distance(noisy.get(&p.id), clean.get(&p.id), p.numel()))
                .sum();
            values[g].push(sq);
        }
    }
    Ok(groups
        .groups()
        .iter()
        .zip(values)
        .map(|(group, v)| GroupGradientVariance {
            group: group.name.clone(),
            numel: group.numel(),
            total: estimate(&v),
        })
        .collect())
}

/// `‖a − b‖²` in f64; a missing gradient (a parameter the loss does not touch) counts as zeros.
fn squared_distance(a: Option<&Vec<f32>>, b: Option<&Vec<f32>>, len: usize) -> f64 {
    let at = |v: Option<&Vec<f32>>, i: usize| v.map_or(0.0, |v| f64::from(v[i]));
    (0..len).map(|i| (at(a, i) - at(b, i)).powi(2)).sum()
}

/// Sample mean and its standard error (sample std / √K).
fn estimate(values: &[f64]) -> McEstimate {
    let k = values.len() as f64;
    let mean = values.iter().sum::<f64>() / k;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0);
    McEstimate {
        mean,
        std_err: (var / k).sqrt(),
        samples: values.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::factorization::TwoLayerLinear;
    use crate::noise::rng::NoiseKey;
    use crate::theory::smoothed::normal_matrix;
    use burn::module::Param;
    use burn::tensor::{Device, TensorData};

    /// One weight matrix, `L = (1/2n)‖XWᵀ − Y‖²` (one group).
    #[derive(Module, Debug)]
    struct Linear {
        w: Param<Tensor<2>>,
    }

    fn data(n: usize, d: usize, stream: u32) -> (Vec<f32>, nalgebra::DMatrix<f64>) {
        let x = normal_matrix(n, d, 1.0, NoiseKey::new(5, 0, stream).with_stream(9));
        let rows: Vec<f32> = (0..n)
            .flat_map(|i| (0..d).map(move |j| (i, j)))
            .map(|(i, j)| x[(i, j)] as f32)
            .collect();
        (rows, x)
    }

    /// The gradient of a least-squares loss is affine in the weights, so
    /// `g(W + E) − g(W) = E·C` with `C = XᵀX/n` and `E‖EC‖²_F = s²·d_out·‖C‖²_F` exactly.
    #[test]
    fn matches_the_closed_form_of_a_linear_model() {
        let (n, d, d_out) = (30, 6, 2);
        let device = Device::flex().autodiff();
        let (rows, x) = data(n, d, 1);
        let xt = Tensor::<2>::from_data(TensorData::new(rows, [n, d]), &device);
        let yt = Tensor::<2>::ones([n, d_out], &device);
        let model = Linear {
            w: Param::from_tensor(Tensor::<2>::zeros([d_out, d], &device)),
        };
        let loss = |m: &Linear| {
            let r = xt.clone().matmul(m.w.val().transpose()) - yt.clone();
            (r.clone() * r).sum().div_scalar(2.0 * n as f64)
        };
        let c = x.transpose() * &x / n as f64;
        let sigma = 0.3;
        let closed = sigma * sigma * d_out as f64 * c.norm_squared();
        // M = 1: `all` and `layer` both perturb the one group with std σ.
        for noise in [NoiseConfig::all(sigma), NoiseConfig::layer(sigma)] {
            let v = perturbed_gradient_variance(&model, &noise, 2000, 11, loss).unwrap();
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].numel, d * d_out);
            let est = v[0].total;
            eprintln!(
                "{:?}: MC {} ± {} vs {closed}",
                noise.policy, est.mean, est.std_err
            );
            assert!(est.z(closed) < 5.0, "{est:?} vs {closed}");
            // Teeth: the variance of σ/√2 (a misplaced √M) is far outside.
            assert!(est.z(closed / 2.0) > 5.0);
        }
        let none =
            perturbed_gradient_variance(&model, &NoiseConfig::default(), 10, 11, loss).unwrap();
        assert_eq!(none[0].total.mean, 0.0, "no noise, no gradient change");
    }

    /// Paper §3: on `Φ = W₂W₁Xᵀ` with the 1/√(dᵢdᵢ₋₁) init, each weight's gradient noise grows
    /// linearly in the width d₁ under `all` (the E₂E₁ product sums d₁ terms: ×4 from d₁ = 32 to
    /// 128, up to lower-order terms) and stays flat under `layer`.
    #[test]
    fn per_weight_variance_grows_with_width_under_all_only() {
        let (n, d0) = (20, 5);
        let device = Device::flex().autodiff();
        let (rows, _) = data(n, d0, 2);
        let xt = Tensor::<2>::from_data(TensorData::new(rows, [n, d0]), &device);
        let yt = xt.clone().slice([0..n, 0..1]);
        let per_weight = |width: usize, noise: &NoiseConfig| -> Vec<McEstimate> {
            let model = TwoLayerLinear::init(d0, width, 1, 1.0, 3, &device);
            perturbed_gradient_variance(&model, noise, 400, 4, |m: &TwoLayerLinear| {
                m.loss(xt.clone(), yt.clone())
            })
            .unwrap()
            .iter()
            .map(GroupGradientVariance::per_weight)
            .collect()
        };
        let sigma = 0.8;
        for (noise, lo, hi) in [
            (NoiseConfig::all(sigma), 2.0, 6.0),
            (NoiseConfig::layer(sigma), 0.6, 1.6),
        ] {
            let (small, large) = (per_weight(32, &noise), per_weight(128, &noise));
            for (g, (a, b)) in small.iter().zip(&large).enumerate() {
                let ratio = b.mean / a.mean;
                eprintln!(
                    "{:?} group {g}: {a:?} → {b:?}, ratio {ratio:.2}",
                    noise.policy
                );
                assert!(
                    (lo..hi).contains(&ratio),
                    "{:?} group {g}: {ratio}",
                    noise.policy
                );
            }
        }
    }

    #[test]
    fn too_few_samples_or_a_peer_policy_is_an_error_naming_it() {
        let device = Device::flex().autodiff();
        let model = TwoLayerLinear::init(2, 3, 1, 1.0, 0, &device);
        let x = Tensor::<2>::ones([4, 2], &device);
        let y = Tensor::<2>::ones([4, 1], &device);
        let err = perturbed_gradient_variance(&model, &NoiseConfig::all(0.1), 1, 0, |m| {
            m.loss(x.clone(), y.clone())
        })
        .unwrap_err();
        assert!(err.to_string().contains("samples"), "{err}");
        // The peers are not the variance this measures: refused by name.
        let sam = NoiseConfig::of(crate::noise::PolicyKind::Sam, 0.0);
        let err =
            perturbed_gradient_variance(&model, &sam, 10, 0, |m| m.loss(x.clone(), y.clone()))
                .unwrap_err();
        assert!(err.to_string().contains("\"sam\""), "{err}");
    }
}
