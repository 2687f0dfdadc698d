//! SGD with PyTorch's rule (momentum, dampening, Nesterov, L2 weight decay), stepped by the fused
//! kernel of [`crate::kernels::update`] instead of burn-optim's chain of tensor operations.

use crate::kernels::update::{self, SgdRule};
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{DType, Device, Tensor};

/// The update rule; the learning rate comes with each step.
#[derive(Clone, Debug)]
pub struct FusedSgd {
    pub weight_decay: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub nesterov: bool,
}

/// A parameter's momentum buffer (absent without momentum).
#[derive(Clone)]
pub struct FusedSgdState<const D: usize> {
    pub velocity: Tensor<D>,
}

// Written out because `#[derive(RecordState)]` only expands inside burn-optim.
impl<const D: usize> RecordState for FusedSgdState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(prefix, "velocity", self.velocity.to_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let data = src.take_tensor(prefix, "velocity")?;
        (data.shape().len() == D).then(|| Self {
            velocity: Tensor::from_data(data, device),
        })
    }
}

impl Optimizer for FusedSgd {
    type State<const D: usize> = FusedSgdState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let rule = SgdRule {
            lr: lr as f32,
            weight_decay: self.weight_decay as f32,
            momentum: self.momentum as f32,
            dampening: self.dampening as f32,
            nesterov: self.nesterov,
        };
        let fused = tensor.dtype() == DType::F32
            && grad.dtype() == DType::F32
            && crate::kernels::on_cpu_backend(&tensor.device());
        if !fused {
            return self.step_with_tensor_ops(rule, tensor, grad, state);
        }
        if self.momentum == 0.0 {
            return (update::sgd(tensor, grad, rule), None);
        }
        let velocity = state.map(|s| s.velocity);
        let (tensor, velocity) = update::sgd_momentum(tensor, grad, velocity, rule);
        (tensor, Some(FusedSgdState { velocity }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        FusedSgdState {
            velocity: state.velocity.to_device(device),
        }
    }
}

impl FusedSgd {
    /// The same rule with tensor operations, for dtypes and devices the fused kernel does not take.
    fn step_with_tensor_ops<const D: usize>(
        &self,
        rule: SgdRule,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<FusedSgdState<D>>,
    ) -> (Tensor<D>, Option<FusedSgdState<D>>) {
        let grad = grad + tensor.clone().mul_scalar(rule.weight_decay);
        if self.momentum == 0.0 {
            return (tensor - grad.mul_scalar(rule.lr), None);
        }
        let velocity = match state {
            None => grad.clone(),
            Some(s) => {
                s.velocity.mul_scalar(rule.momentum) + grad.clone().mul_scalar(1.0 - rule.dampening)
            }
        };
        let step = if rule.nesterov {
            grad + velocity.clone().mul_scalar(rule.momentum)
        } else {
            velocity.clone()
        };
        (
            tensor - step.mul_scalar(rule.lr),
            Some(FusedSgdState { velocity }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's SGD on one scalar, in f64: `g += wd·w; v = μv + (1 − τ)g` (`v = g` at the first
    /// step); `step = g + μv` (Nesterov) or `v`; `w −= lr·step`.
    fn by_hand(rule: &FusedSgd, lr: f64, w0: f64, grads: &[f64]) -> f64 {
        let (mut w, mut v) = (w0, None::<f64>);
        for &g in grads {
            let g = g + rule.weight_decay * w;
            let step = if rule.momentum == 0.0 {
                g
            } else {
                let next = v.map_or(g, |v| rule.momentum * v + (1.0 - rule.dampening) * g);
                v = Some(next);
                if rule.nesterov {
                    g + rule.momentum * next
                } else {
                    next
                }
            };
            w -= lr * step;
        }
        w
    }

    #[test]
    fn the_fused_update_and_the_tensor_ops_follow_pytorchs_rule() {
        let device = Device::flex();
        let grads = [[0.5f32, -1.0, 2.0], [0.25, 0.75, -0.5], [1.5, -0.25, 0.0]];
        let w0 = [1.0f32, -2.0, 0.5];
        let rules = [
            (0.0, 0.0, 0.0, false),
            (0.01, 0.0, 0.0, false),
            (0.0, 0.9, 0.0, false),
            (0.01, 0.9, 0.1, false),
            (0.01, 0.9, 0.0, true),
        ];
        for (weight_decay, momentum, dampening, nesterov) in rules {
            let rule = FusedSgd {
                weight_decay,
                momentum,
                dampening,
                nesterov,
            };
            let sgd = SgdRule {
                lr: 0.1,
                weight_decay: weight_decay as f32,
                momentum: momentum as f32,
                dampening: dampening as f32,
                nesterov,
            };
            let (mut fused, mut fused_state) = (Tensor::<1>::from_floats(w0, &device), None);
            let (mut ops, mut ops_state) = (fused.clone(), None);
            for g in grads {
                let g = Tensor::<1>::from_floats(g, &device);
                (fused, fused_state) = rule.step(0.1, fused, g.clone(), fused_state);
                (ops, ops_state) = rule.step_with_tensor_ops(sgd, ops, g, ops_state);
            }
            let fused = fused.into_data().try_to_vec::<f32>().unwrap();
            let ops = ops.into_data().try_to_vec::<f32>().unwrap();
            for i in 0..3 {
                let column: Vec<f64> = grads.iter().map(|g| g[i] as f64).collect();
                let expected = by_hand(&rule, 0.1, w0[i] as f64, &column);
                for (path, got) in [("fused", fused[i]), ("tensor ops", ops[i])] {
                    assert!(
                        (got as f64 - expected).abs() < 1e-6,
                        "{path} {rule:?} element {i}: {got} vs {expected}"
                    );
                }
            }
        }
    }
}
