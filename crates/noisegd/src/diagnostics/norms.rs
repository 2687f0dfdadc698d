//! Parameter norms `‖w‖₁ = Σ|w_i|` and `‖w‖₂ = √Σw_i²` over every trainable parameter (BatchNorm
//! running statistics excluded), accumulated in f64.

use crate::params::PathTracker;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// ℓ₁ and ℓ₂ norms of a module's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamNorms {
    /// `Σ|w_i|`.
    pub l1: f64,
    /// `√Σw_i²`.
    pub l2: f64,
}

/// The ℓ₁ and ℓ₂ norms of all trainable parameters of `model`.
pub fn param_norms<M: Module>(model: &M) -> ParamNorms {
    struct Sum {
        path: PathTracker,
        l1: f64,
        sq: f64,
    }
    impl ModuleVisitor for Sum {
        fn enter_module(&mut self, name: &str, container_type: &str) {
            self.path.enter(name, container_type);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.exit();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.path.at_running_state() {
                return;
            }
            let data = param.val().inner().into_data();
            for v in data.iter::<f64>() {
                self.l1 += v.abs();
                self.sq += v * v;
            }
        }
    }
    let mut sum = Sum {
        path: PathTracker::default(),
        l1: 0.0,
        sq: 0.0,
    };
    model.visit(&mut sum);
    ParamNorms {
        l1: sum.l1,
        l2: sum.sq.sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::resnet::ResNetConfig;
    use burn::tensor::Device;

    #[test]
    fn norms_of_a_known_module_and_batchnorm_buffers_are_left_out() {
        let device = Device::flex();
        let net = crate::models::diagonal::DiagonalNet::uniform(4, 0.5, &device);
        // Eight entries of 0.5: ℓ₁ = 4, ℓ₂ = √(8·0.25) = √2.
        let n = param_norms(&net);
        assert!((n.l1 - 4.0).abs() < 1e-12);
        assert!((n.l2 - 2f64.sqrt()).abs() < 1e-12);
        // A tiny ResNet: running variances are 1 and would add to both norms if counted. Its
        // BatchNorm γ are 1 and β are 0; compare with the norms over the named groups.
        let model = ResNetConfig {
            input: [3, 8, 8],
            classes: 2,
            blocks: [1, 1, 1, 1],
        }
        .init(0, &device);
        let groups = crate::params::ParamGroups::of(&model, crate::params::GroupBy::Tensor);
        let n = param_norms(&model);
        let gammas: usize = groups
            .groups()
            .iter()
            .filter(|g| g.name.ends_with("gamma"))
            .map(|g| g.numel())
            .sum();
        assert!(gammas > 0);
        // ℓ₂² ≥ Σγ² = #γ, and far below what counting running variances (another #γ) would add
        // with the conv weights: check the exact split instead.
        let total_sq = n.l2 * n.l2;
        let mut conv_sq = 0.0;
        struct Sq<'a>(&'a mut f64, PathTracker);
        impl ModuleVisitor for Sq<'_> {
            fn enter_module(&mut self, name: &str, c: &str) {
                self.1.enter(name, c);
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.1.exit();
            }
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                let path = self.1.path();
                if !path.contains("bn") && !self.1.at_running_state() {
                    *self.0 += p
                        .val()
                        .into_data()
                        .iter::<f64>()
                        .map(|v| v * v)
                        .sum::<f64>();
                }
            }
        }
        model.visit(&mut Sq(&mut conv_sq, PathTracker::default()));
        assert!((total_sq - (conv_sq + gammas as f64)).abs() < 1e-6 * total_sq);
    }
}
