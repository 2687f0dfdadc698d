//! Exact smoothed losses `R_σ(w) = E_ε L(Φ(w + ε))` for the paper's simple models, their
//! σ²-order explicit regularizers, and a deterministic Monte-Carlo estimator that checks them.
//!
//! # σ convention (read this first)
//! Every function here takes the paper's **theory σ**, written `sigma_t` (σ_t):
//! - policy **`all`**: every weight gets independent noise N(0, σ_t²);
//! - policy **`layer`**: ONE of the M layers (weight tensors), chosen uniformly at random, gets
//!   i.i.d. noise N(0, M·σ_t²) (std √M·σ_t); the other layers get nothing.
//!
//! With this convention both policies inject the same total noise energy in expectation, and both
//! have the same σ_t² term (the explicit regularizer). The project's training σ relates by
//! σ_t = σ/√M; callers convert, nothing here does.
//!
//! Loss everywhere: `L(φ) = (1/2n)‖y − φ‖²` (vector or Frobenius norm), n = number of samples.
//!
//! # How the closed forms are derived
//! For a perturbed prediction φ̃ = Φ(w + ε) with mean E φ̃ and `r = y − E φ̃`,
//! `E L(φ̃) = (1/2n)‖y − E φ̃‖² + (1/2n) E‖φ̃ − E φ̃‖²`. The recurring tool is
//! `E‖A E B‖²_F = ‖A‖²_F ‖B‖²_F` for a matrix E of i.i.d. N(0, 1) entries independent of A, B
//! (apply it repeatedly, conditioning on the other noise factors), and `E[ε²] = s²`,
//! `Var(ε²) = 2s⁴`, `Cov(ε, ε²) = 0` for ε ~ N(0, s²).
//!
//! # Monte Carlo
//! [`monte_carlo`] draws, for sample k (used as the Philox "step"), the noise of layer ℓ from
//! `NoiseKey::new(seed, k, ℓ).with_stream(MC_STREAM)` via `fill_normal_f64`; under `layer` the
//! perturbed layer is `uniform_u64(NoiseKey::new(seed, k, u32::MAX).with_stream(MC_STREAM), 0) % M`.
//! Samples run in parallel (rayon) but every value is a pure function of `(seed, k)` and the sum is
//! taken sequentially in sample order, so the result is bit-identical for any thread count.
//!
//! Noise layout: a perturbation is a `&[Vec<f64>]`, one vector per layer (see each model's
//! `layer_sizes`); matrices are stored column-major (nalgebra's order).

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use crate::noise::rng::{fill_normal_f64, uniform_u64, NoiseKey};

mod deep;
mod diagonal;
mod grouped;
mod relu;
mod two_layer;

pub use deep::*;
pub use diagonal::*;
pub use grouped::*;
pub use relu::*;
pub use two_layer::*;

/// Philox stream used by [`monte_carlo`].
pub const MC_STREAM: u32 = 0x4D43_0001;
/// Philox stream used by [`init_linear`] and [`normal_matrix`] callers that want a fixed stream.
pub const INIT_STREAM: u32 = 0x494E_4954;

// ---------------------------------------------------------------------------------------------
// Policies, Monte Carlo
// ---------------------------------------------------------------------------------------------

/// Which weights are perturbed (theory-σ convention, see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Every weight gets N(0, σ_t²).
    All,
    /// One uniformly chosen layer of M gets N(0, M·σ_t²); the others nothing.
    Layer,
}

/// Result of a Monte-Carlo estimate: sample mean and its standard error (sample std / √samples).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct McEstimate {
    pub mean: f64,
    pub std_err: f64,
    pub samples: usize,
}

impl McEstimate {
    /// `|value − mean| / std_err` (∞ if std_err = 0 and they differ).
    pub fn z(&self, value: f64) -> f64 {
        let d = (value - self.mean).abs();
        if d == 0.0 {
            0.0
        } else {
            d / self.std_err
        }
    }
}

/// Fill `noise` (one buffer per layer, already sized) with the perturbation of sample `k`.
///
/// `all`: layer ℓ ← N(0, σ_t²) from `NoiseKey::new(seed, k, ℓ).with_stream(MC_STREAM)`.
/// `layer`: j = `uniform_u64(NoiseKey::new(seed, k, u32::MAX).with_stream(MC_STREAM), 0) % M`;
/// layer j ← N(0, M σ_t²) from `NoiseKey::new(seed, k, j)`, the other layers ← 0.
pub fn draw_noise(noise: &mut [Vec<f64>], policy: Policy, sigma_t: f64, seed: u64, k: u64) {
    let m = noise.len();
    match policy {
        Policy::All => {
            for (l, buf) in noise.iter_mut().enumerate() {
                fill_normal_f64(
                    NoiseKey::new(seed, k, l as u32).with_stream(MC_STREAM),
                    0,
                    sigma_t,
                    buf,
                );
            }
        }
        Policy::Layer => {
            let key = NoiseKey::new(seed, k, u32::MAX).with_stream(MC_STREAM);
            let j = (uniform_u64(key, 0) % m as u64) as usize;
            let std = (m as f64).sqrt() * sigma_t;
            for (l, buf) in noise.iter_mut().enumerate() {
                if l == j {
                    fill_normal_f64(
                        NoiseKey::new(seed, k, l as u32).with_stream(MC_STREAM),
                        0,
                        std,
                        buf,
                    );
                } else {
                    buf.fill(0.0);
                }
            }
        }
    }
}

/// Monte-Carlo mean of `f(noise)` over `samples` perturbations drawn by [`draw_noise`]
/// (theory σ_t: `all` = N(0, σ_t²) everywhere, `layer` = N(0, M σ_t²) on one random layer).
///
/// `layer_sizes[ℓ]` is the number of weights of layer ℓ (M = `layer_sizes.len()`). `f` receives
/// the noise mutably so that it may e.g. negate it for an antithetic pair; it must not depend on
/// anything but the noise. Parallel over samples; bit-identical for any rayon thread count.
pub fn monte_carlo<F>(
    layer_sizes: &[usize],
    policy: Policy,
    sigma_t: f64,
    samples: usize,
    seed: u64,
    f: F,
) -> McEstimate
where
    F: Fn(&mut [Vec<f64>]) -> f64 + Sync,
{
    assert!(!layer_sizes.is_empty(), "monte_carlo: no layers");
    assert!(samples >= 2, "monte_carlo: need at least 2 samples");
    let values: Vec<f64> = (0..samples)
        .into_par_iter()
        .map_init(
            || {
                layer_sizes
                    .iter()
                    .map(|&s| vec![0.0; s])
                    .collect::<Vec<_>>()
            },
            |noise, k| {
                draw_noise(noise, policy, sigma_t, seed, k as u64);
                f(noise)
            },
        )
        .collect();
    let kf = samples as f64;
    let mean = values.iter().sum::<f64>() / kf;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (kf - 1.0);
    McEstimate {
        mean,
        std_err: (var / kf).sqrt(),
        samples,
    }
}

/// A model whose loss can be evaluated at perturbed weights (what Monte Carlo needs).
pub trait NoisyModel: Sync {
    /// Number of weights per layer, in the order of the noise buffers.
    fn layer_sizes(&self) -> Vec<usize>;
    /// Clean loss `L(Φ(w))`.
    fn loss(&self) -> f64;
    /// `L(Φ(w + ε))` with `noise[ℓ]` added to layer ℓ (column-major for matrices).
    fn perturbed_loss(&self, noise: &[Vec<f64>]) -> f64;
}

/// Monte-Carlo estimate of the smoothed loss `E L(Φ(w + ε))` of `model` under `policy`
/// (theory σ_t). With `antithetic`, each sample is `½[L(Φ(w+ε)) + L(Φ(w−ε))]`: same expectation,
/// and the first-order term (the bulk of the variance) cancels.
pub fn mc_smoothed_loss<M: NoisyModel>(
    model: &M,
    policy: Policy,
    sigma_t: f64,
    samples: usize,
    seed: u64,
    antithetic: bool,
) -> McEstimate {
    monte_carlo(
        &model.layer_sizes(),
        policy,
        sigma_t,
        samples,
        seed,
        |noise| {
            let a = model.perturbed_loss(noise);
            if antithetic {
                for v in noise.iter_mut().flat_map(|b| b.iter_mut()) {
                    *v = -*v;
                }
                0.5 * (a + model.perturbed_loss(noise))
            } else {
                a
            }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `rows × cols` matrix of i.i.d. N(0, std²) from the project's rng (column-major fill of
/// `normal_at_f64(key, 0..)`).
pub fn normal_matrix(rows: usize, cols: usize, std: f64, key: NoiseKey) -> DMatrix<f64> {
    let mut buf = vec![0.0; rows * cols];
    fill_normal_f64(key, 0, std, &mut buf);
    DMatrix::from_column_slice(rows, cols, &buf)
}

/// The paper's initialization for a linear chain with widths `dims = [d₀, d₁, …, d_M]`:
/// `W_i` is `d_i × d_{i−1}` with entries N(0, 1/(d_i d_{i−1})) (std 1/√(d_i d_{i−1})), so that
/// ‖W_i‖_F = O(1). Drawn from `NoiseKey::new(seed, 0, i).with_stream(INIT_STREAM)` (reproducible).
pub fn init_linear(dims: &[usize], seed: u64) -> Vec<DMatrix<f64>> {
    (1..dims.len())
        .map(|i| {
            let (r, c) = (dims[i], dims[i - 1]);
            let std = 1.0 / ((r * c) as f64).sqrt();
            normal_matrix(
                r,
                c,
                std,
                NoiseKey::new(seed, 0, i as u32).with_stream(INIT_STREAM),
            )
        })
        .collect()
}

/// `W_M⋯W₁Xᵀ` for `ws = [W₁, …, W_M]`, associated in the cheaper order: from the top
/// (`(W_M⋯W₁)Xᵀ`, cost d_M·Σd_jd_{j−1} + d_M·d₀·n) when the output is narrower than the batch,
/// as in the width sweeps (d_M = 1, n = 40), where it is ~n/d_M times cheaper than from the bottom.
pub(super) fn chain_times_xt(ws: &[DMatrix<f64>], x: &DMatrix<f64>) -> DMatrix<f64> {
    let top = ws.last().map_or(x.ncols(), |w| w.nrows());
    if top < x.nrows() {
        let mut p = ws.last().expect("top < n implies a layer").clone();
        for w in ws.iter().rev().skip(1) {
            p *= w;
        }
        p * x.transpose()
    } else {
        let mut h = x.transpose();
        for w in ws {
            h = w * h;
        }
        h
    }
}

pub(super) fn add_noise_mat(w: &DMatrix<f64>, noise: &[f64]) -> DMatrix<f64> {
    assert_eq!(noise.len(), w.len(), "noise length does not match layer");
    w + DMatrix::from_column_slice(w.nrows(), w.ncols(), noise)
}

pub(super) fn add_noise_vec(w: &DVector<f64>, noise: &[f64]) -> DVector<f64> {
    assert_eq!(noise.len(), w.len(), "noise length does not match layer");
    w + DVector::from_column_slice(noise)
}

#[cfg(test)]
mod tests;
