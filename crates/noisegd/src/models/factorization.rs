//! Two-layer linear factorization (paper §2.4, matrix sensing): `Φ = W₂W₁Xᵀ`, square loss
//! `(1/2n)‖Yᵀ − Φ‖²_F`. With every weight perturbed by N(0, σ_t²) its σ_t²-order regularizer
//! is Eq. (9), and minimizing over factorizations of `M = W₂W₁` gives the nuclear-norm penalty
//! on the predictions of Eq. (10), `(σ_t²/n)·√d₂·‖X‖_F·‖MXᵀ‖_*`.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// `W₁` (`d₁ × d₀`) and `W₂` (`d₂ × d₁`): one parameter group each.
#[derive(Module, Debug)]
pub struct TwoLayerLinear {
    /// First factor.
    pub w1: Param<Tensor<2>>,
    /// Second factor.
    pub w2: Param<Tensor<2>>,
}

impl TwoLayerLinear {
    /// The paper's initialization scaled by `alpha`: entries of `W_i` with std
    /// `alpha/√(d_i·d_{i−1})`, so that `‖W_i‖_F` does not grow with the width.
    /// Drawn from streams 0 and 1 of `seed` (see [`super::gaussian`]).
    pub fn init(d0: usize, d1: usize, d2: usize, alpha: f64, seed: u64, device: &Device) -> Self {
        let std = |a: usize, b: usize| alpha / ((a * b) as f64).sqrt();
        Self {
            w1: Param::from_tensor(super::gaussian([d1, d0], std(d1, d0), seed, 0, device)),
            w2: Param::from_tensor(super::gaussian([d2, d1], std(d2, d1), seed, 1, device)),
        }
    }

    /// The end-to-end matrix `M = W₂W₁` (`d₂ × d₀`).
    pub fn product(&self) -> Tensor<2> {
        self.w2.val().matmul(self.w1.val())
    }

    /// Predictions `X W₁ᵀ W₂ᵀ` (`n × d₂`, the transpose of `Φ`) for `x` of shape `[n, d₀]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.w1.val().transpose())
            .matmul(self.w2.val().transpose())
    }

    /// The square loss `(1/2n)‖Y − XW₁ᵀW₂ᵀ‖²_F`.
    pub fn loss(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        let n = y.dims()[0] as f64;
        let r = self.forward(x) - y;
        (r.clone() * r).sum().div_scalar(2.0 * n)
    }
}
