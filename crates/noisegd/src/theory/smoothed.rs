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
fn chain_times_xt(ws: &[DMatrix<f64>], x: &DMatrix<f64>) -> DMatrix<f64> {
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

fn add_noise_mat(w: &DMatrix<f64>, noise: &[f64]) -> DMatrix<f64> {
    assert_eq!(noise.len(), w.len(), "noise length does not match layer");
    w + DMatrix::from_column_slice(w.nrows(), w.ncols(), noise)
}

fn add_noise_vec(w: &DVector<f64>, noise: &[f64]) -> DVector<f64> {
    assert_eq!(noise.len(), w.len(), "noise length does not match layer");
    w + DVector::from_column_slice(noise)
}

// ---------------------------------------------------------------------------------------------
// 1. Hadamard / diagonal linear network
// ---------------------------------------------------------------------------------------------

/// Diagonal network `Φ = X(w₁∘w₁ − w₂∘w₂)`, X n×d, loss `(1/2n)‖y − Φ‖²` (paper §2.3, App. C.1).
/// Layers (M = 2): `[w₁, w₂]`.
#[derive(Clone, Debug)]
pub struct Hadamard {
    pub x: DMatrix<f64>,
    pub y: DVector<f64>,
    pub w1: DVector<f64>,
    pub w2: DVector<f64>,
}

impl Hadamard {
    pub fn beta(&self) -> DVector<f64> {
        self.w1.component_mul(&self.w1) - self.w2.component_mul(&self.w2)
    }

    fn n(&self) -> f64 {
        self.x.nrows() as f64
    }

    /// `Σ_i diag(XᵀX/n)_i (w₁ᵢ² + w₂ᵢ²)`.
    fn weighted_sq(&self) -> f64 {
        let n = self.n();
        (0..self.x.ncols())
            .map(|i| {
                self.x.column(i).norm_squared() / n * (self.w1[i].powi(2) + self.w2[i].powi(2))
            })
            .sum()
    }

    /// Explicit regularizer (σ_t² term, both policies): `2σ_t²·diag(XᵀX/n)ᵀ(w₁² + w₂²)` (Eq. 7).
    /// Theory σ_t (see module docs).
    pub fn explicit_regularizer(&self, sigma_t: f64) -> f64 {
        2.0 * sigma_t * sigma_t * self.weighted_sq()
    }

    /// Exact smoothed loss, policy `all` (every weight + N(0, σ_t²)):
    /// ```text
    /// R_σ = (1/2n)‖y − Xβ‖² + 2σ_t²·diag(XᵀX/n)ᵀ(w₁² + w₂²) + 2σ_t⁴‖X‖²_F/n
    /// ```
    /// Derivation: (wᵢ+ε)² = wᵢ² + 2wᵢε + ε² has mean wᵢ² + σ_t² (the σ_t² shifts of w₁ and w₂
    /// cancel in β) and variance 4wᵢ²σ_t² + 2σ_t⁴; coordinates are independent, so
    /// E‖X(β̃ − β)‖² = Σᵢ‖Xᵢ‖²(4σ_t²(w₁ᵢ² + w₂ᵢ²) + 4σ_t⁴). The paper prints only Eq. (7), the
    /// σ_t² part (R_σ^eff); the σ_t⁴ term is a constant, so the minimizers are exactly the
    /// weighted Lasso's for every σ_t.
    pub fn smoothed_all(&self, sigma_t: f64) -> f64 {
        let s2 = sigma_t * sigma_t;
        self.loss()
            + self.explicit_regularizer(sigma_t)
            + 2.0 * s2 * s2 * self.x.norm_squared() / self.n()
    }

    /// Exact smoothed loss, policy `layer` (w₁ or w₂, each with probability ½, gets
    /// N(0, 2σ_t²); not printed in the paper):
    /// ```text
    /// R̃_σ = (1/2n)‖y − Xβ‖² + 2σ_t²·diag(XᵀX/n)ᵀ(w₁² + w₂²) + (2σ_t⁴/n)‖X1‖² + (4σ_t⁴/n)‖X‖²_F
    /// ```
    /// Derivation (s² = 2σ_t², r = y − Xβ): perturbing w₁ alone gives E β̃ = β + s²1 and
    /// E L = (1/2n)‖r − s²X1‖² + (1/2n)Σᵢ‖Xᵢ‖²(4s²w₁ᵢ² + 2s⁴); w₂ alone gives β − s²1 and
    /// (1/2n)‖r + s²X1‖² + (1/2n)Σᵢ‖Xᵢ‖²(4s²w₂ᵢ² + 2s⁴). Averaging, the cross terms ±s²⟨r, X1⟩
    /// cancel and leave (s⁴/2n)‖X1‖²; the rest gives the σ_t² term and s⁴‖X‖²_F/n.
    /// All σ_t⁴ terms are constants in w, so the minimizers are again the weighted Lasso's.
    pub fn smoothed_layer(&self, sigma_t: f64) -> f64 {
        let s2 = sigma_t * sigma_t;
        let n = self.n();
        let x1: DVector<f64> = self.x.column_sum();
        self.loss()
            + self.explicit_regularizer(sigma_t)
            + 2.0 * s2 * s2 * x1.norm_squared() / n
            + 4.0 * s2 * s2 * self.x.norm_squared() / n
    }
}

impl NoisyModel for Hadamard {
    fn layer_sizes(&self) -> Vec<usize> {
        vec![self.w1.len(), self.w2.len()]
    }
    fn loss(&self) -> f64 {
        (&self.y - &self.x * self.beta()).norm_squared() / (2.0 * self.n())
    }
    fn perturbed_loss(&self, noise: &[Vec<f64>]) -> f64 {
        let a = add_noise_vec(&self.w1, &noise[0]);
        let b = add_noise_vec(&self.w2, &noise[1]);
        let beta = a.component_mul(&a) - b.component_mul(&b);
        (&self.y - &self.x * beta).norm_squared() / (2.0 * self.n())
    }
}

/// Diagonal network in product form `Φ = X(u∘v)`, X n×d, loss `(1/2n)‖y − Φ‖²` (the paper's
/// other Lasso parametrization, §2.3; the grouped model of §2.5 with groups of size 1).
/// Layers (M = 2): `[u, v]`.
#[derive(Clone, Debug)]
pub struct HadamardProduct {
    pub x: DMatrix<f64>,
    pub y: DVector<f64>,
    pub u: DVector<f64>,
    pub v: DVector<f64>,
}

impl HadamardProduct {
    pub fn beta(&self) -> DVector<f64> {
        self.u.component_mul(&self.v)
    }

    fn n(&self) -> f64 {
        self.x.nrows() as f64
    }

    /// Explicit regularizer (σ_t² term, both policies):
    /// `(σ_t²/2)·diag(XᵀX/n)ᵀ(u∘u + v∘v)`. Theory σ_t.
    ///
    /// Minimized over the factorizations of a fixed β (`min{u² + v² : uv = β} = 2|β|`, at
    /// |u| = |v| = √|β|) it is `σ_t²·diag(XᵀX/n)ᵀ|β|`: the weighted Lasso with
    /// `λ_i = σ_t²(XᵀX)_ii/n`, half the difference form's weights of Eq. (8).
    pub fn explicit_regularizer(&self, sigma_t: f64) -> f64 {
        let n = self.n();
        let s: f64 = (0..self.x.ncols())
            .map(|i| self.x.column(i).norm_squared() / n * (self.u[i].powi(2) + self.v[i].powi(2)))
            .sum();
        0.5 * sigma_t * sigma_t * s
    }

    /// Exact smoothed loss, policy `all` (u and v + N(0, σ_t²) everywhere):
    /// ```text
    /// R_σ = (1/2n)‖y − X(u∘v)‖² + (σ_t²/2)·diag(XᵀX/n)ᵀ(u² + v²) + (σ_t⁴/2n)‖X‖²_F
    /// ```
    /// Derivation: (uᵢ + a)(vᵢ + b) − uᵢvᵢ = uᵢb + vᵢa + ab has mean 0 and its three parts are
    /// uncorrelated, so its variance is σ_t²(uᵢ² + vᵢ²) + σ_t⁴; coordinates are independent,
    /// so E‖X(β̃ − β)‖² = Σᵢ‖Xᵢ‖²(σ_t²(uᵢ² + vᵢ²) + σ_t⁴). Not printed in the paper; it is
    /// [`Grouped::smoothed_all`] with k = 1, and [`Hadamard::smoothed_all`] under the rotation
    /// u = w₁ + w₂, v = w₁ − w₂ with σ_t → √2σ_t.
    pub fn smoothed_all(&self, sigma_t: f64) -> f64 {
        let s2 = sigma_t * sigma_t;
        self.loss()
            + self.explicit_regularizer(sigma_t)
            + s2 * s2 * self.x.norm_squared() / (2.0 * self.n())
    }

    /// Exact smoothed loss, policy `layer` (u or v, each with probability ½, gets N(0, 2σ_t²)):
    /// `R̃_σ = (1/2n)‖y − X(u∘v)‖² + (σ_t²/2)·diag(XᵀX/n)ᵀ(u² + v²)`, no σ_t⁴ term: perturbing u
    /// alone adds X(a∘v), mean 0, E‖·‖² = 2σ_t²Σᵢ‖Xᵢ‖²vᵢ²; v alone likewise with u.
    pub fn smoothed_layer(&self, sigma_t: f64) -> f64 {
        self.loss() + self.explicit_regularizer(sigma_t)
    }
}

impl NoisyModel for HadamardProduct {
    fn layer_sizes(&self) -> Vec<usize> {
        vec![self.u.len(), self.v.len()]
    }
    fn loss(&self) -> f64 {
        (&self.y - &self.x * self.beta()).norm_squared() / (2.0 * self.n())
    }
    fn perturbed_loss(&self, noise: &[Vec<f64>]) -> f64 {
        let u = add_noise_vec(&self.u, &noise[0]);
        let v = add_noise_vec(&self.v, &noise[1]);
        (&self.y - &self.x * u.component_mul(&v)).norm_squared() / (2.0 * self.n())
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Grouped (group-Lasso) model
// ---------------------------------------------------------------------------------------------

/// Grouped model `Φ = Σ_j v_j X_j w_j` (v_j scalar, w_j ∈ R^k, X_j n×k), paper §2.5, App. C.3.
/// Layers (M = 2): `[v (d scalars), W (w₁, …, w_d concatenated, d·k)]`.
#[derive(Clone, Debug)]
pub struct Grouped {
    pub xs: Vec<DMatrix<f64>>,
    pub y: DVector<f64>,
    pub v: DVector<f64>,
    pub ws: Vec<DVector<f64>>,
}

impl Grouped {
    fn n(&self) -> f64 {
        self.y.len() as f64
    }

    /// Explicit regularizer (σ_t² term, both policies), Eq. (37):
    /// `(σ_t²/2n)Σ_j[‖X_j w_j‖² + v_j²‖X_j‖²_F]`. Theory σ_t.
    pub fn explicit_regularizer(&self, sigma_t: f64) -> f64 {
        let s: f64 = self
            .xs
            .iter()
            .zip(&self.ws)
            .zip(self.v.iter())
            .map(|((x, w), v)| (x * w).norm_squared() + v * v * x.norm_squared())
            .sum();
        sigma_t * sigma_t * s / (2.0 * self.n())
    }

    /// Exact smoothed loss, policy `all` (every v_j and every entry of w_j + N(0, σ_t²)):
    /// ```text
    /// R_σ = R + (σ_t²/2n)Σ_j[‖X_j w_j‖² + v_j²‖X_j‖²_F] + (σ_t⁴/2n)Σ_j‖X_j‖²_F
    /// ```
    /// Derivation: (v_j+α)(w_j+e) − v_jw_j = v_j e + α w_j + α e has mean 0 and its three parts
    /// are uncorrelated; E‖X_j(·)‖² = σ_t²v_j²‖X_j‖²_F + σ_t²‖X_jw_j‖² + σ_t⁴‖X_j‖²_F, groups are
    /// independent. The paper prints the σ_t² part (Eq. 37) only.
    pub fn smoothed_all(&self, sigma_t: f64) -> f64 {
        let s2 = sigma_t * sigma_t;
        let fro: f64 = self.xs.iter().map(|x| x.norm_squared()).sum();
        self.loss() + self.explicit_regularizer(sigma_t) + s2 * s2 * fro / (2.0 * self.n())
    }

    /// Exact smoothed loss, policy `layer` with layers v and W (M = 2; the chosen one gets
    /// N(0, 2σ_t²)):
    /// ```text
    /// R̃_σ = R + (σ_t²/2n)Σ_j[‖X_j w_j‖² + v_j²‖X_j‖²_F]        (no σ_t⁴ term)
    /// ```
    /// Derivation: perturbing v alone adds Σ_j α_j X_j w_j (E‖·‖² = 2σ_t²Σ‖X_jw_j‖²), W alone
    /// Σ_j v_j X_j e_j (E‖·‖² = 2σ_t²Σ v_j²‖X_j‖²_F); both mean zero, average with weight ½.
    pub fn smoothed_layer(&self, sigma_t: f64) -> f64 {
        self.loss() + self.explicit_regularizer(sigma_t)
    }

    fn predict(&self, v: &DVector<f64>, ws: &[DVector<f64>]) -> DVector<f64> {
        let mut phi = DVector::zeros(self.y.len());
        for ((x, w), vj) in self.xs.iter().zip(ws).zip(v.iter()) {
            phi += (x * w) * *vj;
        }
        phi
    }
}

impl NoisyModel for Grouped {
    fn layer_sizes(&self) -> Vec<usize> {
        vec![self.v.len(), self.ws.iter().map(|w| w.len()).sum()]
    }
    fn loss(&self) -> f64 {
        (&self.y - self.predict(&self.v, &self.ws)).norm_squared() / (2.0 * self.n())
    }
    fn perturbed_loss(&self, noise: &[Vec<f64>]) -> f64 {
        let v = add_noise_vec(&self.v, &noise[0]);
        assert_eq!(noise[1].len(), self.layer_sizes()[1]);
        let mut off = 0;
        let ws: Vec<DVector<f64>> = self
            .ws
            .iter()
            .map(|w| {
                let r = add_noise_vec(w, &noise[1][off..off + w.len()]);
                off += w.len();
                r
            })
            .collect();
        (&self.y - self.predict(&v, &ws)).norm_squared() / (2.0 * self.n())
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Two-layer linear network
// ---------------------------------------------------------------------------------------------

/// Two-layer linear network `Φ = W₂W₁Xᵀ` (W₁ d₁×d₀, W₂ d₂×d₁, X n×d₀, Y n×d₂), loss
/// `(1/2n)‖Yᵀ − Φ‖²_F` (paper §2.4, §3.1–3.2). Layers (M = 2): `[W₁, W₂]`.
#[derive(Clone, Debug)]
pub struct TwoLayerLinear {
    pub x: DMatrix<f64>,
    pub y: DMatrix<f64>,
    pub w1: DMatrix<f64>,
    pub w2: DMatrix<f64>,
}

impl TwoLayerLinear {
    fn n(&self) -> f64 {
        self.x.nrows() as f64
    }

    /// Explicit regularizer (σ_t² term, both policies), Eq. (9):
    /// `(σ_t²/2n)[‖W₂‖²_F‖X‖²_F + d₂‖XW₁ᵀ‖²_F]`. Theory σ_t.
    pub fn explicit_regularizer(&self, sigma_t: f64) -> f64 {
        let d2 = self.w2.nrows() as f64;
        sigma_t * sigma_t / (2.0 * self.n())
            * (self.w2.norm_squared() * self.x.norm_squared()
                + d2 * (&self.x * self.w1.transpose()).norm_squared())
    }

    /// The width-linear variance term of the `all` policy: `(σ_t⁴/2n)d₁d₂‖X‖²_F`. Theory σ_t.
    pub fn variance_explosion_term(&self, sigma_t: f64) -> f64 {
        let (d1, d2) = (self.w1.nrows() as f64, self.w2.nrows() as f64);
        sigma_t.powi(4) * d1 * d2 * self.x.norm_squared() / (2.0 * self.n())
    }

    /// Exact smoothed loss, policy `all` (every entry of W₁, W₂ + N(0, σ_t²)):
    /// ```text
    /// R_σ = R + (σ_t²/2n)[‖W₂‖²_F‖X‖²_F + d₂‖XW₁ᵀ‖²_F] + (σ_t⁴/2n)d₁d₂‖X‖²_F
    /// ```
    /// From (W₂+E₂)(W₁+E₁)Xᵀ = Φ + (W₂E₁ + E₂W₁ + E₂E₁)Xᵀ: the three parts are mean zero and
    /// uncorrelated, E‖W₂E₁Xᵀ‖² = σ_t²‖W₂‖²‖X‖², E‖E₂W₁Xᵀ‖² = σ_t²d₂‖W₁Xᵀ‖²,
    /// E‖E₂E₁Xᵀ‖² = σ_t⁴d₁d₂‖X‖². (The Fig. 1 caption prints ‖X‖⁴_F: typo.)
    pub fn smoothed_all(&self, sigma_t: f64) -> f64 {
        self.loss() + self.explicit_regularizer(sigma_t) + self.variance_explosion_term(sigma_t)
    }

    /// Exact smoothed loss, policy `layer` (W₁ or W₂ with probability ½ gets N(0, 2σ_t²)):
    /// `R̃_σ = R + (σ_t²/2n)[‖W₂‖²_F‖X‖²_F + d₂‖XW₁ᵀ‖²_F]`, no σ_t⁴ term (paper §3.2).
    pub fn smoothed_layer(&self, sigma_t: f64) -> f64 {
        self.loss() + self.explicit_regularizer(sigma_t)
    }
}

impl NoisyModel for TwoLayerLinear {
    fn layer_sizes(&self) -> Vec<usize> {
        vec![self.w1.len(), self.w2.len()]
    }
    fn loss(&self) -> f64 {
        (self.y.transpose() - &self.w2 * (&self.w1 * self.x.transpose())).norm_squared()
            / (2.0 * self.n())
    }
    fn perturbed_loss(&self, noise: &[Vec<f64>]) -> f64 {
        let w1 = add_noise_mat(&self.w1, &noise[0]);
        let w2 = add_noise_mat(&self.w2, &noise[1]);
        (self.y.transpose() - chain_times_xt(&[w1, w2], &self.x)).norm_squared() / (2.0 * self.n())
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Deep linear network
// ---------------------------------------------------------------------------------------------

/// Deep linear network `Φ = W_M⋯W₁Xᵀ` (W_j d_j×d_{j−1}, X n×d₀, Y n×d_M), loss
/// `(1/2n)‖Yᵀ − Φ‖²_F` (paper §4, App. E), any M ≥ 1. Layers: `[W₁, …, W_M]`.
#[derive(Clone, Debug)]
pub struct DeepLinear {
    pub x: DMatrix<f64>,
    pub y: DMatrix<f64>,
    pub ws: Vec<DMatrix<f64>>,
}

impl DeepLinear {
    fn n(&self) -> f64 {
        self.x.nrows() as f64
    }

    fn depth(&self) -> usize {
        self.ws.len()
    }

    /// `E‖Φ_S‖²_F / σ_t^{2|S|}` for the noise subset `S` (bit j−1 ↔ layer j): the product of the
    /// squared Frobenius norms of the maximal clean runs around the noise factors. An empty run
    /// between E_{j+1} and E_j is I_{d_j} (norm² d_j), above a leading E_M it is I_{d_M}; the
    /// bottom run always contains Xᵀ.
    fn subset_factor(&self, mask: u32) -> f64 {
        let mut factor = 1.0;
        let mut run: Option<DMatrix<f64>> = Some(self.x.transpose());
        let mut run_dim = self.x.ncols();
        for (j, w) in self.ws.iter().enumerate() {
            if mask >> j & 1 == 1 {
                factor *= run.as_ref().map_or(run_dim as f64, |m| m.norm_squared());
                run = None;
                run_dim = w.nrows();
            } else {
                run = Some(match run {
                    Some(m) => w * m,
                    None => w.clone(),
                });
            }
        }
        factor * run.as_ref().map_or(run_dim as f64, |m| m.norm_squared())
    }

    /// `terms[k−1] = (1/2n)Σ_{|S|=k} E‖Φ_S‖²_F`, the σ_t^{2k} part of the `all` smoothed loss
    /// (k = 1..M), theory σ_t; `terms[0]` is the explicit regularizer. 2^M subsets (M ≤ 20).
    pub fn noise_terms_by_order(&self, sigma_t: f64) -> Vec<f64> {
        let m = self.depth();
        assert!((1..=20).contains(&m), "DeepLinear: need 1 ≤ M ≤ 20");
        let mut terms = vec![0.0; m];
        for mask in 1u32..(1 << m) {
            let k = mask.count_ones() as usize;
            terms[k - 1] += self.subset_factor(mask);
        }
        let s2 = sigma_t * sigma_t;
        terms
            .iter()
            .enumerate()
            .map(|(i, t)| s2.powi(i as i32 + 1) * t / (2.0 * self.n()))
            .collect()
    }

    /// Explicit regularizer (σ_t² term, both policies), paper §4:
    /// `(σ_t²/2n)Σ_j ‖W_M⋯W_{j+1}‖²_F·‖W_{j−1}⋯W₁Xᵀ‖²_F` (empty top product = I_{d_M}, norm² d_M).
    /// Theory σ_t.
    pub fn explicit_regularizer(&self, sigma_t: f64) -> f64 {
        let s: f64 = (0..self.depth()).map(|j| self.subset_factor(1 << j)).sum();
        sigma_t * sigma_t * s / (2.0 * self.n())
    }

    /// Exact smoothed loss, policy `layer` (one layer, uniform among M, gets N(0, M σ_t²)):
    /// `R̃_σ = R + (σ_t²/2n)Σ_j ‖W_M⋯W_{j+1}‖²_F·‖W_{j−1}⋯W₁Xᵀ‖²_F` (paper §4, exact).
    pub fn smoothed_layer(&self, sigma_t: f64) -> f64 {
        self.loss() + self.explicit_regularizer(sigma_t)
    }

    /// Exact smoothed loss, policy `all` (every entry + N(0, σ_t²)); not printed in the paper:
    /// ```text
    /// R_σ = R + (1/2n)Σ_{S≠∅} σ_t^{2|S|} Π_{runs r of S} ‖C_r‖²_F
    /// ```
    /// Expand Π_j(W_j + E_j) into Σ_S Φ_S (E_j for j ∈ S, W_j otherwise). Each Φ_S, S ≠ ∅, has
    /// mean zero, and E⟨Φ_S, Φ_T⟩ = 0 for S ≠ T (some E_j appears exactly once). Applying
    /// E‖AEB‖² = ‖A‖²‖B‖² from the top down gives the product over the maximal clean runs C_r
    /// (see [`Self::noise_terms_by_order`]). The |S| = M term is
    /// [`Self::variance_explosion_term`].
    pub fn smoothed_all(&self, sigma_t: f64) -> f64 {
        self.loss() + self.noise_terms_by_order(sigma_t).iter().sum::<f64>()
    }

    /// The S = {1..M} term: `σ_t^{2M}·d₁⋯d_M·‖X‖²_F/(2n)` (App. E.1.1), theory σ_t.
    pub fn variance_explosion_term(&self, sigma_t: f64) -> f64 {
        let dims: f64 = self.ws.iter().map(|w| w.nrows() as f64).product();
        sigma_t.powi(2 * self.depth() as i32) * dims * self.x.norm_squared() / (2.0 * self.n())
    }

    fn predict(&self, ws: &[DMatrix<f64>]) -> DMatrix<f64> {
        chain_times_xt(ws, &self.x)
    }
}

impl NoisyModel for DeepLinear {
    fn layer_sizes(&self) -> Vec<usize> {
        self.ws.iter().map(|w| w.len()).collect()
    }
    fn loss(&self) -> f64 {
        (self.y.transpose() - self.predict(&self.ws)).norm_squared() / (2.0 * self.n())
    }
    fn perturbed_loss(&self, noise: &[Vec<f64>]) -> f64 {
        assert_eq!(noise.len(), self.ws.len(), "one noise buffer per layer");
        let ws: Vec<DMatrix<f64>> = self
            .ws
            .iter()
            .zip(noise)
            .map(|(w, e)| add_noise_mat(w, e))
            .collect();
        (self.y.transpose() - self.predict(&ws)).norm_squared() / (2.0 * self.n())
    }
}

// ---------------------------------------------------------------------------------------------
// 5. One-hidden-layer ReLU network
// ---------------------------------------------------------------------------------------------

/// One-hidden-layer ReLU network `Φ = W₂(W₁Xᵀ)₊` (W₁ d₁×d₀, W₂ d₂×d₁, X n×d₀, Y n×d₂), loss
/// `(1/2n)‖Yᵀ − Φ‖²_F` (paper §3.3, App. D). No exact closed form; layers `[W₁, W₂]`.
#[derive(Clone, Debug)]
pub struct ReluNet {
    pub x: DMatrix<f64>,
    pub y: DMatrix<f64>,
    pub w1: DMatrix<f64>,
    pub w2: DMatrix<f64>,
}

impl ReluNet {
    fn n(&self) -> f64 {
        self.x.nrows() as f64
    }

    /// **Approximation** (second order in σ_t, App. D.2 with footnote 5's ‖X_i·‖² factor), policy
    /// `layer` (W₁ or W₂ with probability ½ gets N(0, 2σ_t²)), theory σ_t:
    /// ```text
    /// R̃_σ ≈ R + (σ_t²/2n)[ d₂‖(W₁Xᵀ)₊‖²_F + Σ_j Σ_i ‖(W₂)_·j‖²·1[(W₁Xᵀ)_ji > 0]·‖X_i·‖² ]
    /// ```
    /// (this function returns the bracketed σ_t² term). It is the exact smoothed loss of the
    /// linearization Φ + DΦ·ε; the true R̃_σ differs by kink crossings, which vanish
    /// exponentially as σ_t → 0 for fixed pre-activations but not uniformly in them. The factor
    /// d₂ (from E‖E₂H‖² = d₂‖H‖²) is missing in App. D.2, which has d₂ = 1 in mind.
    pub fn explicit_regularizer_layer(&self, sigma_t: f64) -> f64 {
        let pre = &self.w1 * self.x.transpose(); // d1 × n
        let h = pre.map(|a| a.max(0.0));
        let d2 = self.w2.nrows() as f64;
        let col2: Vec<f64> = (0..self.w2.ncols())
            .map(|j| self.w2.column(j).norm_squared())
            .collect();
        let row2: Vec<f64> = (0..self.x.nrows())
            .map(|i| self.x.row(i).norm_squared())
            .collect();
        let mut second = 0.0;
        for i in 0..pre.ncols() {
            for j in 0..pre.nrows() {
                if pre[(j, i)] > 0.0 {
                    second += col2[j] * row2[i];
                }
            }
        }
        sigma_t * sigma_t / (2.0 * self.n()) * (d2 * h.norm_squared() + second)
    }

    /// `min_{j,i} |(W₁Xᵀ)_ji| / ‖X_i·‖`: perturbing W₁ with std t moves pre-activation (j, i) by
    /// N(0, t²‖X_i·‖²), so for √2σ_t well below this margin (layer policy) no unit changes sign
    /// except with probability ~exp(−margin²/(4σ_t²)) and
    /// [`Self::explicit_regularizer_layer`] is accurate to O(σ_t⁴). Above it, kink crossings
    /// contribute at order σ_t (measured on n = 20, d₁ = 30 with margin 1.4e-6: the true excess
    /// over R was 1.26×, 1.37×, 1.68× the second-order term at σ_t = 0.1, 0.03, 0.01 and had the
    /// wrong sign at σ_t = 0.001). With hundreds of pre-activations the margin is easily tiny.
    pub fn kink_margin(&self) -> f64 {
        let pre = &self.w1 * self.x.transpose();
        let mut m = f64::INFINITY;
        for i in 0..pre.ncols() {
            let xn = self.x.row(i).norm();
            for j in 0..pre.nrows() {
                m = m.min(pre[(j, i)].abs() / xn);
            }
        }
        m
    }

    fn predict(&self, w1: &DMatrix<f64>, w2: &DMatrix<f64>) -> DMatrix<f64> {
        w2 * (w1 * self.x.transpose()).map(|a| a.max(0.0))
    }

    /// Loss of the linearized model `Φ + DΦ(w)·ε` (Heaviside derivative at the clean
    /// pre-activations): `W₂H + W₂[(W₁Xᵀ)⁰₊ ∘ E₁Xᵀ] + E₂H`. Its exact layer-wise expectation is
    /// `R + explicit_regularizer_layer`; used to check that formula.
    pub fn linearized_perturbed_loss(&self, noise: &[Vec<f64>]) -> f64 {
        let pre = &self.w1 * self.x.transpose();
        let h = pre.map(|a| a.max(0.0));
        let gate = pre.map(|a| if a > 0.0 { 1.0 } else { 0.0 });
        let e1 = DMatrix::from_column_slice(self.w1.nrows(), self.w1.ncols(), &noise[0]);
        let e2 = DMatrix::from_column_slice(self.w2.nrows(), self.w2.ncols(), &noise[1]);
        let phi =
            &self.w2 * &h + &self.w2 * gate.component_mul(&(e1 * self.x.transpose())) + e2 * &h;
        (self.y.transpose() - phi).norm_squared() / (2.0 * self.n())
    }
}

impl NoisyModel for ReluNet {
    fn layer_sizes(&self) -> Vec<usize> {
        vec![self.w1.len(), self.w2.len()]
    }
    fn loss(&self) -> f64 {
        (self.y.transpose() - self.predict(&self.w1, &self.w2)).norm_squared() / (2.0 * self.n())
    }
    fn perturbed_loss(&self, noise: &[Vec<f64>]) -> f64 {
        let w1 = add_noise_mat(&self.w1, &noise[0]);
        let w2 = add_noise_mat(&self.w2, &noise[1]);
        (self.y.transpose() - self.predict(&w1, &w2)).norm_squared() / (2.0 * self.n())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: u64 = 20230101;

    fn mat(rows: usize, cols: usize, std: f64, group: u32) -> DMatrix<f64> {
        normal_matrix(
            rows,
            cols,
            std,
            NoiseKey::new(SEED, 7, group).with_stream(3),
        )
    }

    fn vec_(len: usize, std: f64, group: u32) -> DVector<f64> {
        DVector::from_column_slice(mat(len, 1, std, group).as_slice())
    }

    /// Asserts the MC estimate agrees with `closed` within 5 standard errors.
    fn assert_agrees(name: &str, est: &McEstimate, closed: f64) {
        eprintln!(
            "{name}: MC {:.6e} ± {:.2e} (K = {}) vs closed form {:.6e}, z = {:.2}",
            est.mean,
            est.std_err,
            est.samples,
            closed,
            est.z(closed)
        );
        assert!(est.std_err > 0.0 && est.std_err.is_finite());
        assert!(est.z(closed) < 5.0, "{name}: closed form outside 5·se");
    }

    /// Asserts a deliberately wrong formula is rejected (outside 5 standard errors).
    fn assert_rejects(name: &str, est: &McEstimate, wrong: f64) {
        eprintln!(
            "  teeth {name}: wrong value {wrong:.6e}, z = {:.1}",
            est.z(wrong)
        );
        assert!(
            est.z(wrong) > 5.0,
            "{name}: the wrong formula is not rejected"
        );
    }

    fn hadamard() -> Hadamard {
        let (n, d) = (20, 10);
        Hadamard {
            x: mat(n, d, 1.0, 0),
            y: vec_(n, 1.0, 1),
            w1: vec_(d, 0.7, 2),
            w2: vec_(d, 0.7, 3),
        }
    }

    fn grouped() -> Grouped {
        let (n, d, k) = (20, 6, 3);
        Grouped {
            xs: (0..d).map(|j| mat(n, k, 1.0, 10 + j as u32)).collect(),
            y: vec_(n, 1.0, 1),
            v: vec_(d, 1.0, 2),
            ws: (0..d).map(|j| vec_(k, 0.7, 20 + j as u32)).collect(),
        }
    }

    /// n = 20, d₀ = 5, d₁ = 30, d₂ = 2, paper init.
    fn two_layer() -> TwoLayerLinear {
        let ws = init_linear(&[5, 30, 2], SEED);
        TwoLayerLinear {
            x: mat(20, 5, 1.0, 0),
            y: mat(20, 2, 1.0, 1),
            w1: ws[0].clone(),
            w2: ws[1].clone(),
        }
    }

    fn deep(dims: &[usize]) -> DeepLinear {
        DeepLinear {
            x: mat(20, dims[0], 1.0, 0),
            y: mat(20, *dims.last().unwrap(), 1.0, 1),
            ws: init_linear(dims, SEED),
        }
    }

    // ---- Hadamard ----------------------------------------------------------------------------

    #[test]
    fn hadamard_all_matches_mc() {
        let m = hadamard();
        let s: f64 = 0.5;
        let est = mc_smoothed_loss(&m, Policy::All, s, 20_000, 1, true);
        assert_agrees("hadamard all (antithetic)", &est, m.smoothed_all(s));
        let s4 = 2.0 * s.powi(4) * m.x.norm_squared() / 20.0;
        assert_rejects(
            "σ⁴ term dropped (= Eq. 7 only)",
            &est,
            m.smoothed_all(s) - s4,
        );
        assert_rejects("σ⁴ term ×2", &est, m.smoothed_all(s) + s4);
        // Plain (non-antithetic) estimator agrees too.
        let plain = mc_smoothed_loss(&m, Policy::All, s, 40_000, 2, false);
        assert_agrees("hadamard all (plain)", &plain, m.smoothed_all(s));
    }

    #[test]
    fn hadamard_layer_matches_mc() {
        let m = hadamard();
        let s: f64 = 0.5;
        let est = mc_smoothed_loss(&m, Policy::Layer, s, 20_000, 3, true);
        assert_agrees("hadamard layer", &est, m.smoothed_layer(s));
        let x1: DVector<f64> = m.x.column_sum();
        let shift = 2.0 * s.powi(4) * x1.norm_squared() / 20.0;
        assert_rejects("(2σ⁴/n)‖X1‖² dropped", &est, m.smoothed_layer(s) - shift);
        assert_rejects("all-policy value", &est, m.smoothed_all(s));
        // The plain estimator, whose variance includes the ±s²X1 mean shifts.
        let plain = mc_smoothed_loss(&m, Policy::Layer, s, 40_000, 4, false);
        assert_agrees("hadamard layer (plain)", &plain, m.smoothed_layer(s));
    }

    // ---- Hadamard product (u∘v) ---------------------------------------------------------------

    fn product() -> HadamardProduct {
        let (n, d) = (20, 10);
        HadamardProduct {
            x: mat(n, d, 1.0, 0),
            y: vec_(n, 1.0, 1),
            u: vec_(d, 0.7, 2),
            v: vec_(d, 0.7, 3),
        }
    }

    #[test]
    fn product_all_and_layer_match_mc() {
        let m = product();
        let s: f64 = 0.5;
        let s4 = s.powi(4) * m.x.norm_squared() / 40.0;
        let est = mc_smoothed_loss(&m, Policy::All, s, 20_000, 21, true);
        assert_agrees("product all (antithetic)", &est, m.smoothed_all(s));
        assert_rejects("σ⁴ term dropped", &est, m.smoothed_all(s) - s4);
        assert_rejects(
            "difference form's constant (regularizer ×4, σ⁴ term ×4)",
            &est,
            m.loss() + 4.0 * m.explicit_regularizer(s) + 4.0 * s4,
        );
        assert_rejects(
            "regularizer ×2",
            &est,
            m.smoothed_all(s) + m.explicit_regularizer(s),
        );
        let plain = mc_smoothed_loss(&m, Policy::All, s, 40_000, 22, false);
        assert_agrees("product all (plain)", &plain, m.smoothed_all(s));
        let est = mc_smoothed_loss(&m, Policy::Layer, s, 20_000, 23, true);
        assert_agrees("product layer", &est, m.smoothed_layer(s));
        assert_rejects("all value (σ⁴ term added)", &est, m.smoothed_all(s));
        assert_rejects(
            "regularizer ×½",
            &est,
            m.smoothed_layer(s) - 0.5 * m.explicit_regularizer(s),
        );
    }

    /// The product form is the grouped model with k = 1, and (policy `all`) the difference form
    /// rotated by u = w₁ + w₂, v = w₁ − w₂ with per-weight std √2 times larger: the closed forms
    /// agree exactly, and the balanced factorization attains the Lasso penalty σ_t²·diag(XᵀX/n)ᵀ|β|.
    #[test]
    fn product_closed_forms_agree_with_grouped_and_rotated_difference() {
        let m = product();
        let d = m.u.len();
        let g = Grouped {
            xs: (0..d).map(|j| m.x.columns(j, 1).into_owned()).collect(),
            y: m.y.clone(),
            v: m.u.clone(),
            ws: (0..d).map(|j| DVector::from_element(1, m.v[j])).collect(),
        };
        let h = Hadamard {
            x: m.x.clone(),
            y: m.y.clone(),
            w1: (&m.u + &m.v) / 2.0,
            w2: (&m.u - &m.v) / 2.0,
        };
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
        for s in [0.1f64, 0.5, 1.3] {
            assert!(close(m.smoothed_all(s), g.smoothed_all(s)));
            assert!(close(m.smoothed_layer(s), g.smoothed_layer(s)));
            // (Under `layer` they differ: noise on w₁ alone is noise on u and v together.)
            assert!(close(m.smoothed_all(s), h.smoothed_all(s / 2f64.sqrt())));
        }
        let balanced = HadamardProduct {
            u: m.beta().map(|b| b.abs().sqrt()),
            v: m.beta().map(|b| b.signum() * b.abs().sqrt()),
            ..m.clone()
        };
        let s = 0.4f64;
        let lasso: f64 = (0..d)
            .map(|i| s * s * m.x.column(i).norm_squared() / 20.0 * m.beta()[i].abs())
            .sum();
        assert!(close(balanced.explicit_regularizer(s), lasso));
        assert!((balanced.beta() - m.beta()).norm() < 1e-12);
        assert!(
            m.explicit_regularizer(s) > lasso,
            "AM-GM: unbalanced costs more"
        );
    }

    // ---- Grouped -----------------------------------------------------------------------------

    #[test]
    fn grouped_all_and_layer_match_mc() {
        let m = grouped();
        let s: f64 = 0.5;
        let fro: f64 = m.xs.iter().map(|x| x.norm_squared()).sum();
        let s4 = s.powi(4) * fro / 40.0;
        let est = mc_smoothed_loss(&m, Policy::All, s, 20_000, 5, true);
        assert_agrees("grouped all", &est, m.smoothed_all(s));
        assert_rejects(
            "σ⁴ term dropped (= Eq. 37 only)",
            &est,
            m.smoothed_all(s) - s4,
        );
        let est = mc_smoothed_loss(&m, Policy::Layer, s, 20_000, 6, true);
        assert_agrees("grouped layer", &est, m.smoothed_layer(s));
        assert_rejects("σ⁴ term added (all value)", &est, m.smoothed_all(s));
        assert_rejects(
            "regularizer ×2",
            &est,
            m.smoothed_layer(s) + m.explicit_regularizer(s),
        );
    }

    // ---- Two-layer linear ----------------------------------------------------------------------

    #[test]
    fn two_layer_all_and_layer_match_mc() {
        let m = two_layer();
        let s: f64 = 0.3;
        let est = mc_smoothed_loss(&m, Policy::All, s, 20_000, 7, true);
        assert_agrees("two-layer all", &est, m.smoothed_all(s));
        assert_rejects(
            "σ⁴d₁d₂ term dropped",
            &est,
            m.smoothed_all(s) - m.variance_explosion_term(s),
        );
        assert_rejects(
            "Fig. 1 caption typo ‖X‖⁴",
            &est,
            m.smoothed_layer(s) + m.variance_explosion_term(s) * m.x.norm_squared(),
        );
        let est = mc_smoothed_loss(&m, Policy::Layer, s, 20_000, 8, true);
        assert_agrees("two-layer layer", &est, m.smoothed_layer(s));
        assert_rejects("all value", &est, m.smoothed_all(s));
        assert_rejects(
            "regularizer ×½",
            &est,
            m.smoothed_layer(s) - 0.5 * m.explicit_regularizer(s),
        );
    }

    #[test]
    fn layer_vs_all_differ_only_by_higher_order_terms() {
        let m = two_layer();
        for s in [0.01f64, 0.1, 0.3, 1.0] {
            let diff = m.smoothed_all(s) - m.smoothed_layer(s);
            let want = s.powi(4) * 30.0 * 2.0 * m.x.norm_squared() / 40.0;
            assert!(
                (diff - want).abs() <= 1e-12 * want.max(1.0),
                "σ={s}: {diff} vs {want}"
            );
        }
        let d = deep(&[5, 8, 8, 2]);
        let s: f64 = 0.4;
        let terms = d.noise_terms_by_order(s);
        let diff = d.smoothed_all(s) - d.smoothed_layer(s);
        assert!((diff - terms[1] - terms[2]).abs() < 1e-12 * diff);
        assert!(terms[1] > 0.0 && terms[2] > 0.0);
        assert!((terms[0] - d.explicit_regularizer(s)).abs() < 1e-12 * terms[0]);
        assert!((terms[2] - d.variance_explosion_term(s)).abs() < 1e-12 * terms[2]);
    }

    // ---- Deep linear ---------------------------------------------------------------------------

    #[test]
    fn deep_m2_equals_two_layer_formulas() {
        let t = two_layer();
        let d = DeepLinear {
            x: t.x.clone(),
            y: t.y.clone(),
            ws: vec![t.w1.clone(), t.w2.clone()],
        };
        for s in [0.1, 0.7] {
            for (a, b) in [
                (d.smoothed_all(s), t.smoothed_all(s)),
                (d.smoothed_layer(s), t.smoothed_layer(s)),
                (d.explicit_regularizer(s), t.explicit_regularizer(s)),
                (d.variance_explosion_term(s), t.variance_explosion_term(s)),
                (d.noise_terms_by_order(s)[1], t.variance_explosion_term(s)),
            ] {
                assert!((a - b).abs() <= 1e-12 * a.abs(), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn deep_m1_all_equals_layer() {
        let d = deep(&[5, 3]);
        let s: f64 = 0.6;
        assert_eq!(d.noise_terms_by_order(s).len(), 1);
        let want = d.loss() + s * s * 3.0 * d.x.norm_squared() / 40.0;
        assert!((d.smoothed_all(s) - want).abs() < 1e-12 * want);
        assert!((d.smoothed_layer(s) - want).abs() < 1e-12 * want);
        let est = mc_smoothed_loss(&d, Policy::All, s, 5_000, 9, true);
        assert_agrees("deep M=1", &est, want);
    }

    #[test]
    fn deep_m3_all_and_layer_match_mc() {
        let d = deep(&[5, 30, 30, 2]);
        let s: f64 = 0.3;
        let terms = d.noise_terms_by_order(s);
        eprintln!(
            "deep M=3 σ_t={s}: R = {:.4}, terms by order = {terms:.4?}",
            d.loss()
        );
        let est = mc_smoothed_loss(&d, Policy::All, s, 20_000, 10, true);
        assert_agrees("deep M=3 all", &est, d.smoothed_all(s));
        assert_rejects("σ⁶ term dropped", &est, d.smoothed_all(s) - terms[2]);
        assert_rejects("σ⁴ term dropped", &est, d.smoothed_all(s) - terms[1]);
        let est = mc_smoothed_loss(&d, Policy::Layer, s, 20_000, 11, true);
        assert_agrees("deep M=3 layer", &est, d.smoothed_layer(s));
        assert_rejects("all value", &est, d.smoothed_all(s));
        assert_rejects(
            "regularizer ×(M−1)/M",
            &est,
            d.smoothed_layer(s) - d.explicit_regularizer(s) / 3.0,
        );
    }

    #[test]
    fn deep_m3_variance_explosion_grows_as_width_squared() {
        let (a, b) = (deep(&[5, 40, 40, 2]), deep(&[5, 80, 80, 2]));
        let s: f64 = 0.2;
        let ratio = b.variance_explosion_term(s) / a.variance_explosion_term(s);
        assert!((ratio - 4.0).abs() < 1e-12, "ratio {ratio}");
        // Exact subset sum agrees with the closed-form top term.
        let top = b.noise_terms_by_order(s)[2];
        assert!((top - b.variance_explosion_term(s)).abs() < 1e-12 * top);
        // The layer-wise regularizer does not explode with the paper's init.
        let r = b.explicit_regularizer(s) / a.explicit_regularizer(s);
        eprintln!("explosion ratio {ratio}, layer-regularizer ratio {r:.3}");
        assert!((0.5..2.0).contains(&r), "layer regularizer ratio {r}");
    }

    // ---- ReLU ----------------------------------------------------------------------------------

    fn relu() -> ReluNet {
        let ws = init_linear(&[5, 30, 2], SEED + 1);
        ReluNet {
            x: mat(20, 5, 1.0, 0),
            y: mat(20, 2, 1.0, 1),
            w1: ws[0].clone(),
            w2: ws[1].clone(),
        }
    }

    #[test]
    fn relu_regularizer_is_exact_for_linearization() {
        let m = relu();
        let s: f64 = 0.3;
        let est = monte_carlo(&m.layer_sizes(), Policy::Layer, s, 20_000, 12, |e| {
            let a = m.linearized_perturbed_loss(e);
            e.iter_mut()
                .flat_map(|b| b.iter_mut())
                .for_each(|v| *v = -*v);
            0.5 * (a + m.linearized_perturbed_loss(e))
        });
        let reg = m.explicit_regularizer_layer(s);
        assert_agrees("relu linearized layer", &est, m.loss() + reg);
        // Without footnote 5's ‖X_i·‖² factor (rows of X have norm² ≈ d₀ = 5).
        let pre = &m.w1 * m.x.transpose();
        let mut no_fn5 = 0.0;
        for i in 0..20 {
            for j in 0..30 {
                if pre[(j, i)] > 0.0 {
                    no_fn5 += m.w2.column(j).norm_squared();
                }
            }
        }
        let h2 = pre.map(|a| a.max(0.0)).norm_squared();
        let k = s * s / 40.0;
        assert_rejects(
            "without ‖X_i‖² (main-text typo)",
            &est,
            m.loss() + k * (2.0 * h2 + no_fn5),
        );
        assert_rejects(
            "without d₂ factor",
            &est,
            m.loss() + k * (h2 + (reg / k - 2.0 * h2)),
        );
    }

    #[test]
    fn relu_true_smoothed_loss_matches_regularizer_below_kink_margin() {
        // Smaller net (n = 10, d₁ = 8): 80 pre-activations, so the smallest is not tiny.
        let ws = init_linear(&[5, 8, 2], SEED + 2);
        let m = ReluNet {
            x: mat(10, 5, 1.0, 0),
            y: mat(10, 2, 1.0, 1),
            w1: ws[0].clone(),
            w2: ws[1].clone(),
        };
        let l0 = m.loss();
        let excess = |s: f64, seed| {
            monte_carlo(&m.layer_sizes(), Policy::Layer, s, 20_000, seed, |e| {
                let a = m.perturbed_loss(e) - l0;
                e.iter_mut()
                    .flat_map(|b| b.iter_mut())
                    .for_each(|v| *v = -*v);
                0.5 * (a + m.perturbed_loss(e) - l0)
            })
        };
        // Far below the kink margin no pre-activation changes sign (P ≈ e^{-32}): exact.
        let safe = m.kink_margin() / (8.0 * 2f64.sqrt());
        let est = excess(safe, 13);
        eprintln!("kink margin {:.3e}, σ_t = {safe:.3e}", m.kink_margin());
        assert_agrees(
            &format!("relu layer excess, σ_t = {safe:.2e} ≪ margin"),
            &est,
            m.explicit_regularizer_layer(safe),
        );
        assert_rejects(
            "regularizer ×1.1",
            &est,
            1.1 * m.explicit_regularizer_layer(safe),
        );
        // Well above the margin, kink crossings make the second-order term inaccurate.
        let big = 0.3;
        let est = excess(big, 14);
        let reg = m.explicit_regularizer_layer(big);
        eprintln!(
            "  σ_t = {big}: excess {:.4e} ± {:.1e} vs regularizer {reg:.4e}",
            est.mean, est.std_err
        );
        assert_rejects("second-order approximation at σ_t ≫ margin", &est, reg);
    }

    // ---- Monte-Carlo machinery -----------------------------------------------------------------

    #[test]
    fn monte_carlo_independent_of_thread_count() {
        let m = two_layer();
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    (
                        mc_smoothed_loss(&m, Policy::All, 0.3, 3_000, 14, false),
                        mc_smoothed_loss(&m, Policy::Layer, 0.3, 3_000, 14, false),
                    )
                })
        };
        let (a, b) = (run(1), run(3));
        assert_eq!(a.0.mean.to_bits(), b.0.mean.to_bits());
        assert_eq!(a.0.std_err.to_bits(), b.0.std_err.to_bits());
        assert_eq!(a.1.mean.to_bits(), b.1.mean.to_bits());
    }

    #[test]
    fn layer_policy_picks_layers_uniformly_with_scaled_std() {
        let sizes = [4000, 4000, 4000];
        let s: f64 = 0.5;
        let mut counts = [0usize; 3];
        let mut noise: Vec<Vec<f64>> = sizes.iter().map(|&n| vec![0.0; n]).collect();
        for k in 0..300 {
            draw_noise(&mut noise, Policy::Layer, s, 99, k);
            let nz: Vec<usize> = (0..3)
                .filter(|&l| noise[l].iter().any(|&v| v != 0.0))
                .collect();
            assert_eq!(nz.len(), 1);
            counts[nz[0]] += 1;
            let var = noise[nz[0]].iter().map(|v| v * v).sum::<f64>() / 4000.0;
            assert!((var / (3.0 * s * s) - 1.0).abs() < 0.1, "var {var}");
        }
        assert!(counts.iter().all(|&c| (70..130).contains(&c)), "{counts:?}");
        draw_noise(&mut noise, Policy::All, s, 99, 0);
        for b in &noise {
            let var = b.iter().map(|v| v * v).sum::<f64>() / 4000.0;
            assert!((var / (s * s) - 1.0).abs() < 0.1);
        }
    }

    #[test]
    fn init_linear_shapes_and_scale() {
        let ws = init_linear(&[50, 200, 10], 5);
        assert_eq!((ws[0].nrows(), ws[0].ncols()), (200, 50));
        assert_eq!((ws[1].nrows(), ws[1].ncols()), (10, 200));
        for w in &ws {
            assert!(
                (w.norm_squared() - 1.0).abs() < 0.1,
                "‖W‖²_F = {}",
                w.norm_squared()
            );
        }
        assert_eq!(init_linear(&[50, 200, 10], 5), ws);
        assert_ne!(init_linear(&[50, 200, 10], 6), ws);
    }
}
