//! Diagonal linear networks (paper §2.3), in the paper's two parametrizations of the effective
//! predictor `β`, both with the square loss `L = (1/2n)‖y − Xβ‖²`:
//!
//! - **difference** [`DiagonalNet`]: `β = w₁∘w₁ − w₂∘w₂`. With every weight perturbed by
//!   N(0, s²) the smoothed loss is exactly
//!   `(1/2n)‖y − Xβ‖² + 2s²·diag(XᵀX/n)ᵀ(w₁∘w₁ + w₂∘w₂) + 2s⁴‖X‖²_F/n` (Eq. 7 plus a constant),
//!   and minimizing over the factorization gives the weighted Lasso with
//!   `λ_i = 2s²(XᵀX)_ii/n` (Eq. 8), since `min{a² + b² : a² − b² = β} = |β|`;
//! - **product** [`ProductNet`]: `β = u∘v`. Its smoothed loss is
//!   `(1/2n)‖y − Xβ‖² + (s²/2)·diag(XᵀX/n)ᵀ(u∘u + v∘v) + (s⁴/2n)‖X‖²_F`
//!   ([`crate::theory::smoothed::HadamardProduct`]), and since `min{u² + v² : uv = β} = 2|β|`
//!   it is the weighted Lasso with **half** the weights, `λ_i = s²(XᵀX)_ii/n` (the group Lasso
//!   of Eq. (38) with groups of size 1).
//!
//! The two are one model seen in rotated coordinates: `u = w₁ + w₂`, `v = w₁ − w₂` gives
//! `uv = w₁² − w₂²` and `u² + v² = 2(w₁² + w₂²)`; N(0, s²) noise on `w` is N(0, 2s²) noise on
//! `(u, v)`, and GD on `w` with step η is GD on `(u, v)` with step 2η.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Which form of the diagonal network (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parametrization {
    /// `β = w₁∘w₁ − w₂∘w₂` ([`DiagonalNet`]).
    #[default]
    Difference,
    /// `β = u∘v` ([`ProductNet`]).
    Product,
}

impl Parametrization {
    /// `c` in the implied Lasso weights `λ_i = c·σ_t²(XᵀX)_ii/n`: 2 for the difference form
    /// (Eq. 8), 1 for the product form.
    pub fn lambda_factor(self) -> f64 {
        match self {
            Parametrization::Difference => 2.0,
            Parametrization::Product => 1.0,
        }
    }
}

/// A model whose predictions are linear in the data, `Xβ(w)`, with the square loss.
pub trait LinearPredictor {
    /// The effective linear predictor `β(w)`.
    fn beta(&self) -> Tensor<1>;

    /// Predictions `Xβ` for `x` of shape `[n, d]`.
    fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let d = x.dims()[1];
        crate::kernels::matmul(x, self.beta().reshape([d, 1])).flatten(0, 1)
    }

    /// The square loss `(1/2n)‖y − Xβ‖²`.
    fn loss(&self, x: Tensor<2>, y: Tensor<1>) -> Tensor<1> {
        let n = y.dims()[0] as f64;
        let r = self.forward(x) - y;
        (r.clone() * r).sum().div_scalar(2.0 * n)
    }
}

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
        LinearPredictor::forward(self, x)
    }

    /// The square loss `(1/2n)‖y − Xβ‖²`.
    pub fn loss(&self, x: Tensor<2>, y: Tensor<1>) -> Tensor<1> {
        LinearPredictor::loss(self, x, y)
    }
}

impl LinearPredictor for DiagonalNet {
    fn beta(&self) -> Tensor<1> {
        DiagonalNet::beta(self)
    }
}

/// `Φ = X(u∘v)`; `u` and `v` are one parameter group each.
#[derive(Module, Debug)]
pub struct ProductNet {
    /// First factor.
    pub u: Param<Tensor<1>>,
    /// Second factor.
    pub v: Param<Tensor<1>>,
}

impl ProductNet {
    /// `u = 2α·1`, `v = 0`: `β = 0`, and the image of [`DiagonalNet::uniform`]'s
    /// `w₁ = w₂ = α·1` under `u = w₁ + w₂`, `v = w₁ − w₂` (the same starting point).
    pub fn uniform(d: usize, alpha: f64, device: &Device) -> Self {
        Self {
            u: Param::from_tensor(Tensor::<1>::ones([d], device).mul_scalar(2.0 * alpha)),
            v: Param::from_tensor(Tensor::<1>::zeros([d], device)),
        }
    }
}

impl LinearPredictor for ProductNet {
    /// `β = u∘v`.
    fn beta(&self) -> Tensor<1> {
        self.u.val() * self.v.val()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::NoiseConfig;
    use crate::optim::{BaseOptimizer, OptimConfig};
    use crate::step::NoiseInjection;
    use burn::tensor::TensorData;

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.inner().into_data().try_to_vec::<f32>().unwrap()
    }

    /// The rotation `u = w₁ + w₂`, `v = w₁ − w₂` maps one form onto the other: same β, same
    /// loss, and one GD step of size η on `w` is one step of size 2η on `(u, v)`.
    #[test]
    fn product_form_is_the_rotated_difference_form() {
        let device = crate::backend::Backend::Cpu
            .training_device()
            .expect("the CPU backend always opens");
        let (n, d) = (6, 4);
        let x = Tensor::<2>::from_data(
            TensorData::new(
                (0..n * d)
                    .map(|k| ((k * 7 % 11) as f32 - 5.0) / 5.0)
                    .collect(),
                [n, d],
            ),
            &device,
        );
        let y = Tensor::<1>::from_data(
            TensorData::new(vec![1.0f32, -0.5, 0.3, 0.0, 2.0, -1.0], [n]),
            &device,
        );
        let diff = DiagonalNet::uniform(d, 0.3, &device);
        let prod = ProductNet::uniform(d, 0.3, &device);
        assert_eq!(values(prod.beta()), vec![0.0; d]);
        let step = |lr: f64| OptimConfig {
            lr,
            ..OptimConfig::default()
        };
        let run = |lr| BaseOptimizer::new(&step(lr), 10).unwrap();
        let mut a = NoiseInjection::new(&diff, NoiseConfig::default(), run(0.05), 0, 10).unwrap();
        let mut b = NoiseInjection::new(&prod, NoiseConfig::default(), run(0.1), 0, 10).unwrap();
        let (mut diff, mut prod) = (diff, prod);
        for _ in 0..3 {
            diff = a.step(diff, |m| m.loss(x.clone(), y.clone())).unwrap().0;
            prod = b.step(prod, |m| m.loss(x.clone(), y.clone())).unwrap().0;
        }
        let (bd, bp) = (values(DiagonalNet::beta(&diff)), values(prod.beta()));
        assert!(bd.iter().any(|v| v.abs() > 1e-3), "{bd:?}");
        for (p, q) in bd.iter().zip(&bp) {
            assert!((p - q).abs() < 1e-5, "{bd:?} vs {bp:?}");
        }
        assert_eq!(Parametrization::Difference.lambda_factor(), 2.0);
        assert_eq!(Parametrization::Product.lambda_factor(), 1.0);
    }
}
