//! Dense-layer products with their own threading, used by the models in place of burn's.
//!
//! burn-flex hands every matrix product to the `gemm` crate, whose parallel mode leaves products
//! with few rows on one core — the shapes of an MLP at batch 128. [`linear`] and [`matmul`] compute
//! the same products (and, under autodiff, the same gradients) with the output split across the
//! rayon pool ([`gemm`]), through burn's backend-extension mechanism ([`ops`]). They fall back to
//! burn's own ops for tensors that are not `f32` on the CPU backend.

pub mod gemm;
mod ops;
pub mod perturb;
pub mod update;

use burn::backend::Dispatch;
use burn::nn::Linear;
use burn::tensor::{DType, Tensor};
use ops::DenseOps;

/// Whether the dense kernels handle this tensor (an `f32` tensor; the CPU backend is the only one).
fn supported(t: &Tensor<2>) -> bool {
    t.dtype() == DType::F32
}

/// `x · weight + bias` for `x: [batch, d_in]`, `weight: [d_in, d_out]`, `bias: [d_out]` — burn's
/// `Linear` layout.
pub fn linear(x: Tensor<2>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    match bias {
        Some(bias) if supported(&x) && supported(&weight) && bias.dtype() == DType::F32 => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution, Tensor};

    fn assert_close(a: Tensor<2>, b: Tensor<2>) {
        let (a, b) = (
            a.into_data().try_to_vec::<f32>().unwrap(),
            b.into_data().try_to_vec::<f32>().unwrap(),
        );
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

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
