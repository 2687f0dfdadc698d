//! 2 × 2 max pooling with stride 2 (the CNNs' `max_pool2d(2)`), NCHW, planes split across threads.
//!
//! burn-flex's max-pool backward scatters the gradient through 64-bit indices one element at a
//! time, with a dependent load per element: 18 % of a wide-CNN step in `perf`. Here the forward
//! pass keeps, per output, which of its four inputs won (one byte), and the backward pass writes
//! each 2 × 2 window of the input gradient directly.

use rayon::prelude::*;

/// Planes per parallel task: enough work per task to outlast waking a thread.
const PLANES_MIN: usize = 16;

/// Output size of one plane: floor(h / 2) × floor(w / 2), as PyTorch and burn.
pub fn output_dims(h: usize, w: usize) -> (usize, usize) {
    (h / 2, w / 2)
}

/// Max over each 2 × 2 window of `planes` planes of `h × w`: the pooled values and, per output,
/// the winner's position in its window (`2·dy + dx`; the first maximum in row order, as burn).
pub fn forward(x: &[f32], planes: usize, h: usize, w: usize) -> (Vec<f32>, Vec<u8>) {
    let (ho, wo) = output_dims(h, w);
    let mut out = vec![0.0f32; planes * ho * wo];
    let mut arg = vec![0u8; planes * ho * wo];
    if ho * wo == 0 {
        return (out, arg);
    }
    out.par_chunks_mut(ho * wo)
        .zip(arg.par_chunks_mut(ho * wo))
        .zip(x.par_chunks(h * w))
        .with_min_len(PLANES_MIN)
        .for_each(|((out, arg), x)| {
            for oy in 0..ho {
                let top = x[2 * oy * w..][..2 * wo].chunks_exact(2);
                let bottom = x[(2 * oy + 1) * w..][..2 * wo].chunks_exact(2);
                let out = out[oy * wo..][..wo].iter_mut();
                let arg = arg[oy * wo..][..wo].iter_mut();
                for (((o, a), t), b) in out.zip(arg).zip(top).zip(bottom) {
                    let window = [t[0], t[1], b[0], b[1]];
                    let (mut best, mut at) = (window[0], 0u8);
                    for (k, &v) in window.iter().enumerate().skip(1) {
                        // `>` keeps the first maximum; a NaN wins, so that it propagates.
                        if v > best || v.is_nan() {
                            (best, at) = (v, k as u8);
                        }
                    }
                    *o = best;
                    *a = at;
                }
            }
        });
    (out, arg)
}

/// The gradient with respect to the input: each output's gradient goes to its window's winner.
pub fn backward(d_out: &[f32], arg: &[u8], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let (ho, wo) = output_dims(h, w);
    let mut dx = vec![0.0f32; planes * h * w];
    if ho * wo == 0 {
        return dx;
    }
    dx.par_chunks_mut(h * w)
        .zip(d_out.par_chunks(ho * wo))
        .zip(arg.par_chunks(ho * wo))
        .with_min_len(PLANES_MIN)
        .for_each(|((dx, d_out), arg)| {
            for oy in 0..ho {
                for ox in 0..wo {
                    let k = arg[oy * wo + ox] as usize;
                    dx[(2 * oy + k / 2) * w + 2 * ox + k % 2] = d_out[oy * wo + ox];
                }
            }
        });
    dx
}

#[cfg(test)]
mod tests {
    use crate::kernels::max_pool2;
    use crate::kernels::testing::assert_close;
    use burn::tensor::{Device, Distribution, Tensor};

    #[test]
    fn max_pooling_and_its_gradient_equal_burns() {
        use burn::tensor::module::max_pool2d;
        use burn::tensor::ops::MaxPoolOptions;
        let device = Device::flex().autodiff();
        // Even and odd sizes (the last row/column is dropped), and repeated values (ties).
        for shape in [[2, 3, 8, 8], [3, 2, 7, 5], [1, 1, 2, 2]] {
            let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
            let x = x.mul_scalar(2.0).round().require_grad();
            let ours = max_pool2(x.clone());
            let theirs = max_pool2d(x.clone(), MaxPoolOptions::new([2, 2]));
            assert_eq!(ours.dims(), theirs.dims());
            let probe = Tensor::<4>::random(theirs.dims(), Distribution::Normal(0.0, 1.0), &device);
            let g_ours = (ours.clone() * probe.clone()).sum().backward();
            let g_theirs = (theirs.clone() * probe).sum().backward();
            let flat = |t: Tensor<4>| t.flatten::<1>(0, 3).unsqueeze::<2>();
            assert_close(flat(ours), flat(theirs));
            assert_close(
                flat(x.grad(&g_ours).unwrap()),
                flat(x.grad(&g_theirs).unwrap()),
            );

            // The CNNs apply ReLU after pooling: the same values and gradients as before it.
            use burn::tensor::activation::relu;
            let after = relu(max_pool2(x.clone()));
            let before = max_pool2d(relu(x.clone()), MaxPoolOptions::new([2, 2]));
            let probe = Tensor::<4>::random(after.dims(), Distribution::Normal(0.0, 1.0), &device);
            let g_after = (after.clone() * probe.clone()).sum().backward();
            let g_before = (before.clone() * probe).sum().backward();
            assert_close(flat(after), flat(before));
            assert_close(
                flat(x.grad(&g_after).unwrap()),
                flat(x.grad(&g_before).unwrap()),
            );
        }
    }
}
