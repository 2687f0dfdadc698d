//! Hadamard / diagonal linear network.

use super::*;

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
