//! Grouped (group-Lasso) model.

use super::*;

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
