//! Models the method is run on. Each exposes a `forward` and the loss the paper pairs it with;
//! the classifiers (MLPs, CNNs, ResNet-18) also implement [`Classifier`].
//!
//! Every initialization is a pure function of a seed: tensors are drawn from the project's
//! counter-based generator ([`crate::noise::rng`]) through [`gaussian`], [`uniform`] and
//! [`SeededInit`], never from burn's global random state (which `LinearConfig::init` and friends
//! use, and which is neither seedable per model nor stable across thread counts).

pub mod cnn;
pub mod deep_linear;
pub mod diagonal;
pub mod factorization;
pub mod grouped;
pub mod lenet;
pub mod mlp;
pub mod network;
pub mod relu;
pub mod resnet;

use crate::noise::rng::{fill_normal, uniform_u64, NoiseKey};
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Shape, Tensor, TensorData};
use rayon::prelude::*;

/// The `step` coordinate reserved for initialization draws, so that they never coincide with
/// the noise of a training step.
const INIT_STEP: u64 = u64::MAX;

/// A tensor with i.i.d. N(0, std²) entries drawn from the project's generator: stream `stream`
/// of the run's `seed`, so that an initialization is reproducible and independent of burn's
/// global random state.
pub fn gaussian<const D: usize>(
    shape: [usize; D],
    std: f64,
    seed: u64,
    stream: u32,
    device: &Device,
) -> Tensor<D> {
    let shape = Shape::from(shape);
    let mut values = vec![0f32; shape.num_elements()];
    fill_normal(
        NoiseKey::new(seed, INIT_STEP, stream),
        0,
        std as f32,
        &mut values,
    );
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A tensor with i.i.d. U(−bound, bound) entries, keyed like [`gaussian`] (same `seed`, `stream`
/// and reserved step; the uniform draws come from the generator's separate uniform domain, so a
/// `gaussian` and a `uniform` on the same stream are independent). Entry `i` is
/// `bound·(2u_i − 1)` with `u_i` the 53-bit uniform number `i` of the stream: a pure function
/// of `(seed, stream, i)`, whatever the thread count.
pub fn uniform<const D: usize>(
    shape: [usize; D],
    bound: f64,
    seed: u64,
    stream: u32,
    device: &Device,
) -> Tensor<D> {
    let shape = Shape::from(shape);
    let key = NoiseKey::new(seed, INIT_STEP, stream);
    let draw = |i: usize| {
        let u = (uniform_u64(key, i as u64) >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        (bound * (2.0 * u - 1.0)) as f32
    };
    let n = shape.num_elements();
    let values: Vec<f32> = if n < 1 << 14 {
        (0..n).map(draw).collect()
    } else {
        (0..n).into_par_iter().map(draw).collect()
    };
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Hands out PyTorch's default initializations, one fresh stream of `seed` per tensor in the
/// order the layers are built (which is module order), so a whole network is a pure function of
/// `seed`.
///
/// PyTorch's defaults, reproduced: `Linear` and `Conv2d` weights are
/// `kaiming_uniform_(a = √5)`, i.e. U(±gain·√(3/fan_in)) with gain `√(2/(1+5))`, which is
/// U(±1/√fan_in); their biases are U(±1/√fan_in) too; `BatchNorm` has γ = 1, β = 0, running
/// mean 0 and running variance 1 (momentum 0.1, ε = 1e-5, as PyTorch).
pub struct SeededInit<'a> {
    seed: u64,
    next_stream: u32,
    device: &'a Device,
}

impl<'a> SeededInit<'a> {
    /// Starts at stream 0 of `seed`.
    pub fn new(seed: u64, device: &'a Device) -> Self {
        Self {
            seed,
            next_stream: 0,
            device,
        }
    }

    /// U(±bound) on the next stream.
    fn uniform<const D: usize>(&mut self, shape: [usize; D], bound: f64) -> Param<Tensor<D>> {
        let stream = self.next_stream;
        self.next_stream += 1;
        Param::from_tensor(uniform(shape, bound, self.seed, stream, self.device))
    }

    /// `Linear(d_in, d_out)` with bias, PyTorch's default initialization.
    pub fn linear(&mut self, d_in: usize, d_out: usize) -> Linear {
        // burn's init is lazy: replacing the parameters before they are read means burn's own
        // (global-RNG) initializer never runs.
        let mut layer = LinearConfig::new(d_in, d_out).init(self.device);
        let bound = 1.0 / (d_in as f64).sqrt();
        layer.weight = self.uniform([d_in, d_out], bound);
        layer.bias = Some(self.uniform([d_out], bound));
        layer
    }

    /// A 2-D convolution built from `config` (channels, kernel, stride, padding, bias), with
    /// PyTorch's default initialization.
    pub fn conv2d(&mut self, config: Conv2dConfig) -> Conv2d {
        let [c_in, c_out] = config.channels;
        let [kh, kw] = config.kernel_size;
        let fan_in = c_in / config.groups * kh * kw;
        let bound = 1.0 / (fan_in as f64).sqrt();
        let has_bias = config.bias;
        let mut layer = config.init(self.device);
        layer.weight = self.uniform([c_out, c_in / layer.groups, kh, kw], bound);
        layer.bias = has_bias.then(|| self.uniform([c_out], bound));
        layer
    }

    /// `BatchNorm(features)`: γ = 1, β = 0 (deterministic; no stream is consumed).
    pub fn batch_norm(&mut self, features: usize) -> BatchNorm {
        BatchNormConfig::new(features).init(self.device)
    }
}

/// A classifier of feature rows: images are passed flattened in C×H×W order (the order of the
/// IDX and CIFAR files), `[batch, features]`, and reshaped by the network itself.
pub trait Classifier: Module {
    /// Logits `[batch, classes]`.
    fn logits(&self, x: Tensor<2>) -> Tensor<2>;

    /// Mean cross-entropy of the logits against integer labels.
    fn loss(&self, x: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        cross_entropy(self.logits(x), labels)
    }

    /// How many rows the arg-max of the logits labels correctly.
    fn correct(&self, x: Tensor<2>, labels: Tensor<1, Int>) -> usize {
        correct_count(self.logits(x), labels)
    }
}

/// Feature rows `[batch, c·h·w]` (C×H×W order, as the IDX and CIFAR files store images) back
/// into images `[batch, c, h, w]` for a convolutional network.
pub fn as_images(x: Tensor<2>, [c, h, w]: [usize; 3]) -> Tensor<4> {
    let [n, _] = x.dims();
    x.reshape([n, c, h, w])
}

/// Global average pooling `[n, c, h, w] → [n, c]` (`x.mean(dim=[2, 3])` in the official code).
pub fn spatial_mean(x: Tensor<4>) -> Tensor<2> {
    let [n, c, _, _] = x.dims();
    x.flatten::<3>(2, 3).mean_dim(2).reshape([n, c])
}

/// Mean cross-entropy of `logits` `[batch, classes]` against integer `labels` `[batch]`
/// (PyTorch's `CrossEntropyLoss`; the official code's extra log-softmax is idempotent).
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits, labels)
}

/// Number of rows whose arg-max equals the label (ties go to the lowest index, as PyTorch).
pub fn correct_count(logits: Tensor<2>, labels: Tensor<1, Int>) -> usize {
    let [n, _] = logits.dims();
    let predicted = logits.inner().argmax(1).reshape([n]);
    predicted
        .equal(labels.inner())
        .int()
        .sum()
        .into_scalar::<i64>() as usize
}

/// Fraction of rows labelled correctly, `correct / n` (0 for an empty batch).
pub fn accuracy(correct: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        correct as f64 / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_a_pure_function_of_seed_and_stream_and_fills_its_interval() {
        let device = Device::flex();
        let data = |seed, stream| {
            uniform([300, 70], 0.25, seed, stream, &device)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let a = data(3, 1);
        assert_eq!(a, data(3, 1));
        assert_ne!(a, data(4, 1));
        assert_ne!(a, data(3, 2));
        assert!(a.iter().all(|v| v.abs() <= 0.25));
        // U(±b) has mean 0 and variance b²/3; n = 21,000 draws.
        let n = a.len() as f64;
        let mean = a.iter().map(|v| *v as f64).sum::<f64>() / n;
        let var = a.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / n;
        let b2 = 0.25f64 * 0.25;
        assert!(mean.abs() < 5.0 * (b2 / 3.0 / n).sqrt(), "{mean}");
        // Var of U² is b⁴(1/5 − 1/9).
        assert!((var - b2 / 3.0).abs() < 5.0 * (b2 * b2 * (0.2 - 1.0 / 9.0) / n).sqrt());
    }

    #[test]
    fn correct_count_matches_a_hand_count() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_floats(
            [
                [0.1, 0.9, 0.0],
                [2.0, 1.0, 0.0],
                [0.0, 0.0, 3.0],
                [1.0, 0.0, 0.5],
            ],
            &device,
        );
        let labels = Tensor::<1, Int>::from_ints([1, 0, 0, 2], &device);
        assert_eq!(correct_count(logits, labels), 2);
        assert_eq!(accuracy(2, 4), 0.5);
    }
}

#[cfg(test)]
mod theory_checks;
