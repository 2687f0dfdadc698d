//! Grouped linear model (paper §2.4): `Φ = Σ_j v_j X_j w_j` with a scalar `v_j` and a vector
//! `w_j ∈ R^k` per group, square loss. Its effective predictor is `β_j = v_j w_j`.
//!
//! With every weight perturbed by N(0, σ_t²) the smoothed loss is Eq. (37) plus a constant, and
//! optimizing the scale within each group gives the data-weighted group Lasso of Eq. (38),
//! `(1/2n)‖y − Σ X_jβ_j‖² + (σ_t²/n) Σ_j ‖X_j‖_F ‖X_jβ_j‖`.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// `v` (one scalar per group) and `w` (`groups × k`): one parameter group each.
#[derive(Module, Debug)]
pub struct GroupedNet {
    /// Group scales.
    pub v: Param<Tensor<1>>,
    /// Within-group weights, row `j` is `w_j`.
    pub w: Param<Tensor<2>>,
}

impl GroupedNet {
    /// `v = α·1` and `w` with i.i.d. N(0, α²) entries (a random direction per group is needed:
    /// with `w = 0` the gradient in `v` vanishes).
    /// Drawn from stream 0 of `seed` (see [`super::gaussian`]).
    pub fn init(groups: usize, k: usize, alpha: f64, seed: u64, device: &Device) -> Self {
        Self {
            v: Param::from_tensor(Tensor::<1>::ones([groups], device).mul_scalar(alpha)),
            w: Param::from_tensor(super::gaussian([groups, k], alpha, seed, 0, device)),
        }
    }

    /// The effective coefficients `β_j = v_j w_j`, flattened group after group.
    pub fn beta(&self) -> Tensor<1> {
        let [groups, k] = self.w.val().dims();
        let v = self.v.val().reshape([groups, 1]);
        (self.w.val() * v).reshape([groups * k])
    }

    /// Predictions for `x` of shape `[n, groups·k]` whose columns are the blocks `X_j` in order.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let p = x.dims()[1];
        crate::kernels::matmul(x, self.beta().reshape([p, 1])).flatten(0, 1)
    }

    /// The square loss `(1/2n)‖y − Φ‖²`.
    pub fn loss(&self, x: Tensor<2>, y: Tensor<1>) -> Tensor<1> {
        let n = y.dims()[0] as f64;
        let r = self.forward(x) - y;
        (r.clone() * r).sum().div_scalar(2.0 * n)
    }
}
