//! Deep linear network.

use super::*;

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
