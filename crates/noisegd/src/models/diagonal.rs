//! Diagonal linear network (paper §2.3): `Φ(w) = X(w₁∘w₁ − w₂∘w₂)` with the square loss
//! `L = (1/2n)‖y − Φ‖²`. Its effective predictor is `β = w₁∘w₁ − w₂∘w₂`.
//!
//! With every weight perturbed by N(0, s²) the smoothed loss is exactly
//! `(1/2n)‖y − Xβ‖² + 2s²·diag(XᵀX/n)ᵀ(w₁∘w₁ + w₂∘w₂) + 2s⁴‖X‖²_F/n` (Eq. 7 plus a constant), and
//! minimizing over the factorization gives the weighted Lasso with `λ_i = 2s²(XᵀX)_ii/n` (Eq. 8).

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// `Φ = X(w₁∘w₁ − w₂∘w₂)`; `w1` and `w2` are one parameter group each.
#[derive(Module, Debug)]
pub struct DiagonalNet {
    /// Positive part's square root.
    pub w1: Param<Tensor<1>>,
    /// Negative part's square root.
    pub w2: Param<Tensor<1>>,
}

impl DiagonalNet {
    /// `w₁ = w₂ = α·1`, so that `β = 0` at the start (the paper's "small initialization" when α
    /// is small).
    pub fn uniform(d: usize, alpha: f64, device: &Device) -> Self {
        let init = || Param::from_tensor(Tensor::<1>::ones([d], device).mul_scalar(alpha));
        Self {
            w1: init(),
            w2: init(),
        }
    }

    /// The effective linear predictor `β = w₁∘w₁ − w₂∘w₂`.
    pub fn beta(&self) -> Tensor<1> {
        let w1 = self.w1.val();
        let w2 = self.w2.val();
        w1.clone() * w1 - w2.clone() * w2
    }

    /// Predictions `Xβ` for `x` of shape `[n, d]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let d = x.dims()[1];
        x.matmul(self.beta().reshape([d, 1])).flatten(0, 1)
    }

    /// The square loss `(1/2n)‖y − Xβ‖²`.
    pub fn loss(&self, x: Tensor<2>, y: Tensor<1>) -> Tensor<1> {
        let n = y.dims()[0] as f64;
        let r = self.forward(x) - y;
        (r.clone() * r).sum().div_scalar(2.0 * n)
    }
}
