//! Two-layer linear network.

use super::*;

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
