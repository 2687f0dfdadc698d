//! The perturbed copy `w + std·ε` of a parameter tensor in one pass.
//!
//! Drawing ε into a buffer and then adding it to `w` with a tensor operation reads and writes
//! memory three times, the addition on one thread. Here the generator's output is added to `w`
//! as it is produced ([`add_normal_to_vec`], parallel over chunks), into a fresh buffer — the clean `w`
//! is only read. Bit for bit the same numbers as drawing first and adding after. On the GPU the
//! same stream is computed on the device ([`super::gpu_noise`]), so no noise crosses the bus.

use crate::noise::rng::{add_normal_to_vec, NoiseKey};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Dispatch, Flex};
use burn::tensor::{DType, Tensor, TensorData};
use burn_flex::FlexTensor;

#[backend_extension(Flex, Cube: cfg(feature = "gpu"))]
pub trait PerturbOps: burn::backend::Backend {
    /// `base + std · ε`, ε element `i` being `normal_at(key, i)`.
    fn noisy_copy(base: FloatTensor<Self>, key: NoiseKey, std: f32) -> FloatTensor<Self>;
}

impl PerturbOps for Flex {
    fn noisy_copy(base: FlexTensor, key: NoiseKey, std: f32) -> FlexTensor {
        assert_eq!(base.dtype(), DType::F32, "noise is added to f32 parameters");
        let base = base.to_contiguous();
        let shape = base.layout().shape().clone();
        let n = shape.num_elements();
        let clean = &base.storage::<f32>()[base.layout().start_offset()..][..n];
        let out = add_normal_to_vec(key, std, clean);
        FlexTensor::from_data(TensorData::new(out, shape))
    }
}

#[cfg(feature = "gpu")]
impl PerturbOps for burn::backend::Cube {
    fn noisy_copy(
        base: burn::backend::wgpu::CubeTensor,
        key: NoiseKey,
        std: f32,
    ) -> burn::backend::wgpu::CubeTensor {
        super::gpu_noise::noisy_copy(base, key, std)
    }
}

/// `base + std · ε` on the inner (non-autodiff) backend; `None` where no kernel applies (a dtype
/// other than `f32`, or a GPU in a build without the `gpu` feature — which cannot happen), so that
/// the caller draws ε into a buffer instead.
pub fn noisy_copy<const D: usize>(base: Tensor<D>, key: NoiseKey, std: f32) -> Option<Tensor<D>> {
    let kernel = super::on_cpu_backend(&base.device()) || cfg!(feature = "gpu");
    (base.dtype() == DType::F32 && kernel).then(|| {
        Tensor::from_dispatch(<Dispatch as PerturbOps>::noisy_copy(
            base.into_dispatch(),
            key,
            std,
        ))
    })
}
