//! One-hidden-layer ReLU network without biases (paper §3.3, App. D): `Φ = W₂(W₁Xᵀ)₊`, square
//! loss `(1/2n)‖Yᵀ − Φ‖²_F`. Its second-order layer-wise regularizer (with footnote 5's
//! `‖X_i·‖²` factor) and the margin below which it is accurate are in
//! [`crate::theory::smoothed::ReluNet`].

use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// `W₁` (`d₁ × d₀`) and `W₂` (`d₂ × d₁`): one parameter group each.
#[derive(Module, Debug)]
pub struct ReluNet {
    /// Input layer.
    pub w1: Param<Tensor<2>>,
    /// Output layer.
    pub w2: Param<Tensor<2>>,
}

impl ReluNet {
    /// The paper's initialization scaled by `alpha` (std `alpha/√(d_i·d_{i−1})`, the mean-field
    /// scaling after rescaling), from streams 0 and 1 of `seed` (see [`super::gaussian`]).
    pub fn init(d0: usize, d1: usize, d2: usize, alpha: f64, seed: u64, device: &Device) -> Self {
        let std = |a: usize, b: usize| alpha / ((a * b) as f64).sqrt();
        Self {
            w1: Param::from_tensor(super::gaussian([d1, d0], std(d1, d0), seed, 0, device)),
            w2: Param::from_tensor(super::gaussian([d2, d1], std(d2, d1), seed, 1, device)),
        }
    }

    /// Predictions `(XW₁ᵀ)₊W₂ᵀ` (`n × d₂`, the transpose of `Φ`) for `x` of shape `[n, d₀]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        relu(x.matmul(self.w1.val().transpose())).matmul(self.w2.val().transpose())
    }

    /// The square loss `(1/2n)‖Y − (XW₁ᵀ)₊W₂ᵀ‖²_F`.
    pub fn loss(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        let n = y.dims()[0] as f64;
        let r = self.forward(x) - y;
        (r.clone() * r).sum().div_scalar(2.0 * n)
    }
}
