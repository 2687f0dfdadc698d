//! Deep linear network (paper §4, App. E): `Φ = W_M⋯W₁Xᵀ`, square loss `(1/2n)‖Yᵀ − Φ‖²_F`.
//! Its exact smoothed losses under `all` and `layer` noise, the σ_t² regularizer
//! `(σ_t²/2n)Σ_j ‖W_M⋯W_{j+1}‖²_F·‖W_{j−1}⋯W₁Xᵀ‖²_F` and the width-exploding σ_t^{2M} term are
//! in [`crate::theory::smoothed::DeepLinear`].

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// `W_j` (`d_j × d_{j−1}`), input layer first: one parameter group each.
#[derive(Module, Debug)]
pub struct DeepLinearNet {
    /// `[W₁, …, W_M]`.
    pub layers: Vec<Param<Tensor<2>>>,
}

impl DeepLinearNet {
    /// Widths `dims = [d₀, d₁, …, d_M]` (M ≥ 1), the paper's initialization scaled by `alpha`:
    /// entries of `W_j` with std `alpha/√(d_j·d_{j−1})`, so that `‖W_j‖_F` does not grow with
    /// the width. `W_j` is drawn from stream `j − 1` of `seed` (see [`super::gaussian`]).
    pub fn init(dims: &[usize], alpha: f64, seed: u64, device: &Device) -> Self {
        assert!(
            dims.len() >= 2,
            "a deep linear network needs d₀ and at least one layer"
        );
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(j, w)| {
                let std = alpha / ((w[0] * w[1]) as f64).sqrt();
                Param::from_tensor(super::gaussian([w[1], w[0]], std, seed, j as u32, device))
            })
            .collect();
        Self { layers }
    }

    /// The end-to-end matrix `W_M⋯W₁` (`d_M × d₀`).
    pub fn product(&self) -> Tensor<2> {
        let mut layers = self.layers.iter().rev();
        let top = layers.next().expect("at least one layer").val();
        layers.fold(top, |acc, w| acc.matmul(w.val()))
    }

    /// Predictions `X W₁ᵀ⋯W_Mᵀ` (`n × d_M`, the transpose of `Φ`) for `x` of shape `[n, d₀]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.layers
            .iter()
            .fold(x, |h, w| h.matmul(w.val().transpose()))
    }

    /// The square loss `(1/2n)‖Y − XW₁ᵀ⋯W_Mᵀ‖²_F`.
    pub fn loss(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        let n = y.dims()[0] as f64;
        let r = self.forward(x) - y;
        (r.clone() * r).sum().div_scalar(2.0 * n)
    }
}
