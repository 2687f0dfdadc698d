//! Models the method is run on. Each exposes a `forward` and the loss the paper pairs it with.

pub mod deep_linear;
pub mod diagonal;
pub mod factorization;
pub mod grouped;
pub mod mlp;
pub mod relu;

use crate::noise::rng::{fill_normal, NoiseKey};
use burn::tensor::{Device, Shape, Tensor, TensorData};

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

#[cfg(test)]
mod tests;
