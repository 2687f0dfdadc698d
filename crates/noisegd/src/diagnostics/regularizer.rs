//! Online estimate of the explicit regularizer the noise adds: with ε drawn as the policy draws
//! it, `R_σ(w) − L(w) = E_ε[L(w + ε)] − L(w)`, estimated without bias and with low variance by
//! antithetic pairs,
//! `r(ε) = (L(w + ε) + L(w − ε) − 2L(w)) / 2`.
//! The odd terms of the Taylor expansion cancel in each pair, so
//! `r(ε) = ½ εᵀ∇²L(w)ε + O(ε⁴)` and `E r = ½ Σ_i s_i² ∂²_iL(w) + O(σ⁴)`, `s_i` the per-weight
//! std the policy gives weight `i`. With `M` groups both `all` (every weight, `s = σ/√M`) and
//! `layer` (one uniformly chosen group, `s = σ`) give `E r ≈ (σ²/2M)·tr ∇²L(w)` (the
//! paper's σ²-order term, with the theory's `σ_t = σ/√M`); for a quadratic loss the `O(σ⁴)`
//! term is zero and the identity is exact.
//!
//! Draw `k` uses the policy's own plan and noise for "step" `k` of `seed` ([`NoiseConfig::plan`],
//! [`crate::step::antithetic_losses`]); pass a seed apart from the training run's so that the
//! estimate never reuses a training step's noise.

use super::Estimate;
use crate::batchnorm::RunningStats;
use crate::error::{Error, Result};
use crate::noise::NoiseConfig;
use crate::params::ParamGroups;
use crate::step::{antithetic_losses, loss_value};
use burn::module::Module;
use burn::tensor::Tensor;

/// The mean of `draws` antithetic samples `(L(w + ε) + L(w − ε) − 2L(w))/2` at σ = `sigma`
/// (the scheduled σ of the moment), with its standard error. Forward passes only: pass
/// `model.valid()` to evaluate without recording a graph and with BatchNorm in inference mode.
/// BatchNorm running statistics are left as they were in any case.
pub fn regularizer_estimate<M: Module, F: FnMut(&M) -> Tensor<1>>(
    model: &M,
    noise: &NoiseConfig,
    sigma: f64,
    mut loss_fn: F,
    draws: usize,
    seed: u64,
) -> Result<Estimate> {
    noise.validate()?;
    if noise.policy != crate::noise::PolicyKind::None && !noise.policy.draws_isotropic_noise() {
        return Err(Error::invalid(
            "noise.policy",
            format!(
                "\"{}\" draws no Gaussian of std σ on the weights, so E L(w + ε) − L(w) is not its regularizer",
                noise.policy
            ),
        ));
    }
    if draws == 0 {
        return Err(Error::invalid("regularizer.draws", "must be ≥ 1, found 0"));
    }
    if !(sigma.is_finite() && sigma >= 0.0) {
        return Err(Error::invalid(
            "regularizer.sigma",
            format!("must be a finite number ≥ 0, found {sigma}"),
        ));
    }
    let groups = ParamGroups::of(model, noise.group_by);
    if groups.is_empty() {
        return Err(Error::NoParameters);
    }
    let stats = RunningStats::capture(model);
    let clean = loss_value(loss_fn(model));
    let samples = (0..draws as u64)
        .map(|k| {
            let plan = noise.plan(seed, k, sigma, groups.len());
            if plan.targets.is_empty() {
                return 0.0;
            }
            let (plus, minus) = antithetic_losses(model, &groups, &plan, seed, &mut loss_fn);
            0.5 * (plus + minus - 2.0 * clean)
        })
        .collect();
    stats.restore(model);
    Ok(Estimate::from_samples(samples))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mlp::{Mlp, MlpConfig};
    use crate::noise::PolicyKind;
    use crate::params::GroupBy;
    use burn::tensor::Device;

    /// `L = (1/2n)‖Xw + b − y‖²` for a single affine layer `d → 1`.
    fn square_loss(m: &Mlp, x: &Tensor<2>, y: &Tensor<2>) -> Tensor<1> {
        let n = x.dims()[0] as f64;
        let r = m.forward(x.clone()) - y.clone();
        (r.clone() * r).sum().div_scalar(2.0 * n)
    }

    #[test]
    fn matches_the_closed_form_of_a_linear_model_for_each_policy() {
        let device = Device::flex();
        let (n, d) = (64, 6);
        let x = crate::models::gaussian([n, d], 1.0, 1, 0, &device);
        let y = crate::models::gaussian([n, 1], 1.0, 1, 1, &device);
        let model = MlpConfig::new(vec![d, 1]).init(3, &device);
        // ∇²L over (W, b): XᵀX/n for W and 1 for b, so tr = Σ_ij X_ij²/n + 1.
        let xs: Vec<f64> = x.clone().into_data().iter::<f64>().collect();
        let trace = xs.iter().map(|v| v * v).sum::<f64>() / n as f64 + 1.0;
        let sigma = 0.3;
        // anti and nso draw all's noise: the same regularizer.
        for policy in [
            PolicyKind::All,
            PolicyKind::Layer,
            PolicyKind::Anti,
            PolicyKind::Nso,
        ] {
            let noise = NoiseConfig {
                policy,
                sigma,
                group_by: GroupBy::Tensor,
                ..NoiseConfig::default()
            };
            // M = 2 tensors: E r = σ²/(2M)·tr exactly (the loss is quadratic).
            let exact = sigma * sigma / 4.0 * trace;
            let est =
                regularizer_estimate(&model, &noise, sigma, |m| square_loss(m, &x, &y), 4000, 17)
                    .unwrap();
            assert!(est.std_err > 0.0);
            assert!(
                (est.mean - exact).abs() < 4.0 * est.std_err,
                "{policy:?}: {} ± {} vs {exact}",
                est.mean,
                est.std_err
            );
        }
        // No noise, no regularizer.
        let none = NoiseConfig::default();
        let est =
            regularizer_estimate(&model, &none, sigma, |m| square_loss(m, &x, &y), 5, 17).unwrap();
        assert_eq!(est.mean, 0.0);
        // SAM draws nothing and RWP's std is relative: no such regularizer, refused by name.
        for policy in [PolicyKind::Sam, PolicyKind::Rwp] {
            let noise = NoiseConfig::of(policy, 0.01);
            let err = regularizer_estimate(&model, &noise, 0.05, |m| square_loss(m, &x, &y), 5, 17)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("noise.policy") && err.contains(&policy.to_string()),
                "{err}"
            );
        }
    }
}
