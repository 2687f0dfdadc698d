//! Dense-layer products with their own threading, used by the models in place of burn's.
//!
//! burn-flex hands every matrix product to the `gemm` crate, whose parallel mode leaves products
//! with few rows on one core — the shapes of an MLP at batch 128. [`linear`] and [`matmul`] compute
//! the same products (and, under autodiff, the same gradients) with the output split across the
//! rayon pool ([`gemm`]), through burn's backend-extension mechanism ([`ops`]). They fall back to
//! burn's own ops for tensors that are not `f32` on the CPU backend: the extensions are
//! implemented for `flex` only, and a GPU tensor reaching one would hit burn's `unimplemented!`.

pub mod conv;
pub mod gemm;
#[cfg(feature = "gpu")]
pub mod gpu_noise;
mod ops;
pub mod perturb;
pub mod pool;
pub mod update;

use burn::backend::Dispatch;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::{DType, Device, Tensor};
use conv::{ConvGeom, ConvSpec};
use ops::{ConvOps, DenseOps, PoolOps};

/// Whether `device` is the CPU backend (`flex`, with or without autodiff), the only one the
/// kernels of this module are written for. Every caller of a kernel asks first.
pub fn on_cpu_backend(device: &Device) -> bool {
    // Device equality compares the hardware and ignores the autodiff wrapper.
    *device == Device::flex()
}

/// Whether the kernels handle this tensor: `f32` on the CPU backend.
fn supported<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32 && on_cpu_backend(&t.device())
}

/// `x · weight + bias` for `x: [batch, d_in]`, `weight: [d_in, d_out]`, `bias: [d_out]` — burn's
/// `Linear` layout.
pub fn linear(x: Tensor<2>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    match bias {
        Some(bias) if supported(&x) && supported(&weight) && supported(&bias) => {
            Tensor::from_dispatch(<Dispatch as DenseOps>::dense_linear(
                x.into_dispatch(),
                weight.into_dispatch(),
                bias.into_dispatch(),
            ))
        }
        bias => {
            let y = matmul(x, weight);
            match bias {
                Some(bias) => y + bias.unsqueeze(),
                None => y,
            }
        }
    }
}

/// burn's `Linear` layer applied with [`linear`]: same parameters, same result.
pub fn linear_layer(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    linear(x, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()))
}

/// burn's `Conv2d` layer applied with [`super::kernels::conv`] (one group, `f32`); other layers
/// go to burn's own convolution. Same parameters, same result.
pub fn conv2d_layer(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    // burn's `Explicit` order is (top, left, bottom, right); `Same` goes to burn's convolution.
    let (top, left, bottom, right) = match layer.padding {
        PaddingConfig2d::Valid => (0, 0, 0, 0),
        PaddingConfig2d::Explicit(top, left, bottom, right) => (top, left, bottom, right),
        PaddingConfig2d::Same => return layer.forward(x),
    };
    let spec = ConvSpec {
        stride: layer.stride,
        padding: [top, bottom, left, right],
        dilation: layer.dilation,
    };
    let weight = layer.weight.val();
    let fits = ConvGeom::new(x.dims(), weight.dims(), spec).is_some();
    if layer.groups != 1 || !fits || !supported(&x) || !supported(&weight) {
        return layer.forward(x);
    }
    let bias = match &layer.bias {
        Some(bias) => bias.val(),
        // A constant zero bias (no gradient is taken for it) keeps one kernel for both cases.
        None => Tensor::zeros([weight.dims()[0]], &x.device()),
    };
    Tensor::from_dispatch(<Dispatch as ConvOps>::conv2d_nchw(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        spec,
    ))
}

/// `max_pool2d(x, 2)` (stride 2, no padding) for `x: [batch, channels, h, w]`, with
/// [`super::kernels::pool`] for `f32`.
pub fn max_pool2(x: Tensor<4>) -> Tensor<4> {
    if !supported(&x) {
        return burn::tensor::module::max_pool2d(x, burn::tensor::ops::MaxPoolOptions::new([2, 2]));
    }
    Tensor::from_dispatch(<Dispatch as PoolOps>::max_pool2_nchw(x.into_dispatch()))
}

/// `a · b` for 2-D tensors.
pub fn matmul(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    if supported(&a) && supported(&b) {
        Tensor::from_dispatch(<Dispatch as DenseOps>::dense_matmul(
            a.into_dispatch(),
            b.into_dispatch(),
        ))
    } else {
        a.matmul(b)
    }
}

/// What the kernels' tests share.
#[cfg(test)]
pub(crate) mod testing {
    use burn::tensor::Tensor;

    /// Equal to within 1e-4, relative to 1 + |b|: the kernels sum in another order than burn.
    pub fn assert_close(a: Tensor<2>, b: Tensor<2>) {
        let (a, b) = (
            a.into_data().try_to_vec::<f32>().unwrap(),
            b.into_data().try_to_vec::<f32>().unwrap(),
        );
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::assert_close;
    use super::*;
    use burn::tensor::{Device, Distribution, Tensor};

    fn random(shape: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    #[test]
    fn linear_and_its_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        // Column split (few rows), row split (many rows), and a strided (transposed) input.
        for (m, k, n, transposed) in [
            (128, 70, 90, false),
            (300, 20, 7, false),
            (40, 33, 50, true),
        ] {
            let x = if transposed {
                random([k, m], &device).transpose()
            } else {
                random([m, k], &device)
            };
            let x = x.require_grad();
            let w = random([k, n], &device).require_grad();
            let b =
                Tensor::<1>::random([n], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let probe = random([m, n], &device);

            let ours = linear(x.clone(), w.clone(), Some(b.clone()));
            let grads_ours = (ours.clone() * probe.clone()).sum().backward();
            let theirs = x.clone().matmul(w.clone()) + b.clone().unsqueeze();
            let grads_theirs = (theirs.clone() * probe).sum().backward();

            assert_close(ours, theirs);
            assert_close(x.grad(&grads_ours).unwrap(), x.grad(&grads_theirs).unwrap());
            assert_close(w.grad(&grads_ours).unwrap(), w.grad(&grads_theirs).unwrap());
            assert_close(
                b.grad(&grads_ours).unwrap().unsqueeze(),
                b.grad(&grads_theirs).unwrap().unsqueeze(),
            );
        }
    }

    #[test]
    fn matmul_gradients_equal_burns_and_untracked_inputs_get_none() {
        let device = Device::flex().autodiff();
        let a = random([1000, 300], &device); // data: no gradient
        let b = random([300, 1], &device).require_grad();
        let probe = random([1000, 1], &device);
        let ours = matmul(a.clone(), b.clone());
        let grads_ours = (ours.clone() * probe.clone()).sum().backward();
        let theirs = a.clone().matmul(b.clone());
        let grads_theirs = (theirs.clone() * probe).sum().backward();
        assert_close(ours, theirs);
        assert_close(b.grad(&grads_ours).unwrap(), b.grad(&grads_theirs).unwrap());
        assert!(a.grad(&grads_ours).is_none());
    }

    #[test]
    fn works_without_autodiff_and_without_bias() {
        let device = Device::flex();
        let x = random([5, 4], &device);
        let w = random([4, 3], &device);
        assert_close(
            linear(x.clone(), w.clone(), None),
            x.clone().matmul(w.clone()),
        );
        assert_close(matmul(x.clone(), w.clone()), x.matmul(w));
    }
}
