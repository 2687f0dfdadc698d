//! 2-D convolution (NCHW, one group) as im2col and one matrix product per image, with the images
//! of a batch shared out across the rayon pool.
//!
//! Per image, `out[c_out × HW_out] = W[c_out × K] · col[K × HW_out]` (`K = c_in·kh·kw`) lands
//! directly in NCHW order. The backward pass rebuilds each image's `col` (cheaper than keeping
//! the batch's: 600 MB for the wide CNN) and takes `dW += dOut · colᵀ` (one partial sum per
//! thread) and `dX = col2im(Wᵀ · dOut)` from it. burn-flex runs the same per-image products with
//! the output transposed, which sends `gemm` to its narrow `x1x6` kernel (26 % of a wide-CNN step in
//! `perf`), and parallelises inside each small product instead of across images.

use super::gemm::{matmul_into_single, MatRef};
use rayon::prelude::*;

/// Stride, padding (top, bottom, left, right) and dilation of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    pub stride: [usize; 2],
    pub padding: [usize; 4],
    pub dilation: [usize; 2],
}

/// All sizes of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub h_out: usize,
    pub w_out: usize,
    pub spec: ConvSpec,
}

impl ConvGeom {
    /// The geometry of `x: [batch, c_in, h, w]` convolved with `weight: [c_out, c_in, kh, kw]`;
    /// `None` when the kernel (dilated) does not fit in the padded input.
    pub fn new(x: [usize; 4], weight: [usize; 4], spec: ConvSpec) -> Option<Self> {
        let [batch, c_in, h, w] = x;
        let [c_out, wc_in, kh, kw] = weight;
        if wc_in != c_in || spec.stride.contains(&0) || spec.dilation.contains(&0) {
            return None;
        }
        let [top, bottom, left, right] = spec.padding;
        let span_h = spec.dilation[0] * (kh.max(1) - 1) + 1;
        let span_w = spec.dilation[1] * (kw.max(1) - 1) + 1;
        let (ph, pw) = (h + top + bottom, w + left + right);
        if kh == 0 || kw == 0 || ph < span_h || pw < span_w {
            return None;
        }
        let h_out = (ph - span_h) / spec.stride[0] + 1;
        let w_out = (pw - span_w) / spec.stride[1] + 1;
        Some(Self {
            batch,
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            h_out,
            w_out,
            spec,
        })
    }

    /// Rows of the im2col matrix.
    pub fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// Output pixels per channel.
    pub fn hw_out(&self) -> usize {
        self.h_out * self.w_out
    }

    fn in_image(&self) -> usize {
        self.c_in * self.h * self.w
    }

    fn out_image(&self) -> usize {
        self.c_out * self.hw_out()
    }

    /// Calls `f(col_row, out_y, src_row, x0)` for every row of output pixels of every kernel tap:
    /// the input row `src_row` (`None` in the padding) and the input column of output column 0,
    /// `x0` (may be negative).
    fn for_each_tap_row(&self, mut f: impl FnMut(usize, usize, Option<usize>, isize)) {
        let [sh, _] = self.spec.stride;
        let [dh, dw] = self.spec.dilation;
        let [top, _, left, _] = self.spec.padding;
        for c in 0..self.c_in {
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let row = (c * self.kh + i) * self.kw + j;
                    let x0 = (j * dw) as isize - left as isize;
                    for oy in 0..self.h_out {
                        let iy = (oy * sh + i * dh) as isize - top as isize;
                        let src = (0..self.h as isize)
                            .contains(&iy)
                            .then(|| (c * self.h + iy as usize) * self.w);
                        f(row, oy, src, x0);
                    }
                }
            }
        }
    }

    /// The output columns `lo..hi` whose input column `ox·stride + x0` lies inside the image
    /// (stride 1 only).
    fn inside(&self, x0: isize) -> (usize, usize) {
        let lo = (-x0).clamp(0, self.w_out as isize) as usize;
        let hi = (self.w as isize - x0).clamp(0, self.w_out as isize) as usize;
        (lo, hi.max(lo))
    }
}

/// One kernel tap `(c, i, j)` of a stride-1 convolution whose output rows are as wide as the
/// input's (the CNNs' "same" 3 × 3): output pixel `p` of the tap reads input element
/// `p + shift` of channel `c`'s plane, for the output rows `rows` whose input row exists; the
/// output columns outside `cols` read padding. So the tap is one contiguous copy, plus fixing
/// the few border columns, where the shifted copy wrapped into the neighbouring row.
struct Tap {
    row: usize,
    plane: usize,
    shift: isize,
    rows: (usize, usize),
    cols: (usize, usize),
}

impl ConvGeom {
    fn same_width(&self) -> bool {
        self.spec.stride == [1, 1] && self.w_out == self.w
    }

    fn for_each_tap(&self, mut f: impl FnMut(Tap)) {
        let [dh, dw] = self.spec.dilation;
        let [top, _, left, _] = self.spec.padding;
        for c in 0..self.c_in {
            for i in 0..self.kh {
                let iy0 = (i * dh) as isize - top as isize;
                let lo = (-iy0).clamp(0, self.h_out as isize) as usize;
                let hi = (self.h as isize - iy0).clamp(0, self.h_out as isize) as usize;
                for j in 0..self.kw {
                    let x0 = (j * dw) as isize - left as isize;
                    f(Tap {
                        row: (c * self.kh + i) * self.kw + j,
                        plane: c * self.h * self.w,
                        shift: iy0 * self.w as isize + x0,
                        rows: (lo, hi.max(lo)),
                        cols: self.inside(x0),
                    });
                }
            }
        }
    }
}

/// [`im2col`] for [`ConvGeom::same_width`] geometries: one copy per tap.
fn im2col_same_width(g: &ConvGeom, x: &[f32], col: &mut [f32]) {
    let (hw, w) = (g.hw_out(), g.w);
    let plane_len = g.h * g.w;
    g.for_each_tap(|tap| {
        let dst = &mut col[tap.row * hw..][..hw];
        let (lo, hi) = tap.rows;
        dst[..lo * w].fill(0.0);
        dst[hi * w..].fill(0.0);
        if hi == lo {
            return;
        }
        // Output pixels lo·w .. hi·w read plane[p + shift], clipped to the plane.
        let first = ((lo * w) as isize).max(-tap.shift) as usize;
        let last = ((hi * w) as isize).min(plane_len as isize - tap.shift) as usize;
        let src = &x[tap.plane..][..plane_len];
        let from = (first as isize + tap.shift) as usize;
        dst[lo * w..first].fill(0.0);
        dst[first..last].copy_from_slice(&src[from..from + (last - first)]);
        dst[last..hi * w].fill(0.0);
        let (c_lo, c_hi) = tap.cols;
        for oy in lo..hi {
            dst[oy * w..oy * w + c_lo].fill(0.0);
            dst[oy * w + c_hi..(oy + 1) * w].fill(0.0);
        }
    });
}

/// [`col2im_add`] for [`ConvGeom::same_width`] geometries: the border columns of `dcol` (reads
/// of padding) are zeroed, then each tap is one contiguous addition.
fn col2im_add_same_width(g: &ConvGeom, dcol: &mut [f32], dx: &mut [f32]) {
    let (hw, w) = (g.hw_out(), g.w);
    let plane_len = g.h * g.w;
    g.for_each_tap(|tap| {
        let (lo, hi) = tap.rows;
        if hi == lo {
            return;
        }
        let from_col = &mut dcol[tap.row * hw..][..hw];
        let (c_lo, c_hi) = tap.cols;
        for oy in lo..hi {
            from_col[oy * w..oy * w + c_lo].fill(0.0);
            from_col[oy * w + c_hi..(oy + 1) * w].fill(0.0);
        }
        let first = ((lo * w) as isize).max(-tap.shift) as usize;
        let last = ((hi * w) as isize).min(plane_len as isize - tap.shift) as usize;
        let at = (first as isize + tap.shift) as usize;
        let dst = &mut dx[tap.plane..][..plane_len];
        for (d, &v) in dst[at..at + (last - first)]
            .iter_mut()
            .zip(&from_col[first..last])
        {
            *d += v;
        }
    });
}

/// `col[K × HW_out]` of one image `x[c_in × h × w]`.
fn im2col(g: &ConvGeom, x: &[f32], col: &mut [f32]) {
    if g.same_width() {
        return im2col_same_width(g, x, col);
    }
    let (hw, w_out, sw) = (g.hw_out(), g.w_out, g.spec.stride[1]);
    g.for_each_tap_row(|row, oy, src, x0| {
        let dst = &mut col[row * hw + oy * w_out..][..w_out];
        let Some(src) = src else {
            dst.fill(0.0);
            return;
        };
        let src = &x[src..src + g.w];
        if sw == 1 {
            let (lo, hi) = g.inside(x0);
            dst[..lo].fill(0.0);
            let from = (lo as isize + x0) as usize;
            dst[lo..hi].copy_from_slice(&src[from..from + (hi - lo)]);
            dst[hi..].fill(0.0);
        } else {
            for (ox, d) in dst.iter_mut().enumerate() {
                let ix = (ox * sw) as isize + x0;
                *d = if (0..g.w as isize).contains(&ix) {
                    src[ix as usize]
                } else {
                    0.0
                };
            }
        }
    });
}

/// `dx += col2im(dcol)` for one image: the adjoint of [`im2col`]. `dcol` is scratch: its entries
/// that fall on padding may be zeroed.
fn col2im_add(g: &ConvGeom, dcol: &mut [f32], dx: &mut [f32]) {
    if g.same_width() {
        return col2im_add_same_width(g, dcol, dx);
    }
    let (hw, w_out, sw) = (g.hw_out(), g.w_out, g.spec.stride[1]);
    g.for_each_tap_row(|row, oy, src, x0| {
        let Some(src) = src else { return };
        let from_col = &dcol[row * hw + oy * w_out..][..w_out];
        let dst = &mut dx[src..src + g.w];
        if sw == 1 {
            let (lo, hi) = g.inside(x0);
            let at = (lo as isize + x0) as usize;
            for (d, &v) in dst[at..at + (hi - lo)].iter_mut().zip(&from_col[lo..hi]) {
                *d += v;
            }
        } else {
            for (ox, &v) in from_col.iter().enumerate() {
                let ix = (ox * sw) as isize + x0;
                if (0..g.w as isize).contains(&ix) {
                    dst[ix as usize] += v;
                }
            }
        }
    });
}

/// Images per parallel task: the batch in one share per thread.
fn images_per_task(g: &ConvGeom) -> usize {
    g.batch.div_ceil(rayon::current_num_threads()).max(1)
}

/// The convolution of `x: [batch, c_in, h, w]` with `weight: [c_out, c_in, kh, kw]` plus `bias`,
/// as a `[batch, c_out, h_out, w_out]` buffer.
pub fn forward(g: &ConvGeom, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
    let (k, hw) = (g.k(), g.hw_out());
    let w_mat = MatRef::row_major(weight, g.c_out, k);
    let mut out = vec![0.0f32; g.batch * g.out_image()];
    if g.out_image() == 0 || g.in_image() == 0 {
        return out;
    }
    out.par_chunks_mut(g.out_image())
        .zip(x.par_chunks(g.in_image()))
        .with_min_len(images_per_task(g))
        .for_each_init(
            || vec![0.0f32; k * hw],
            |col, (out_image, x_image)| {
                im2col(g, x_image, col);
                for (row, &b) in out_image.chunks_exact_mut(hw).zip(bias) {
                    row.fill(b);
                }
                matmul_into_single(out_image, w_mat, MatRef::row_major(col, k, hw), true);
            },
        );
    out
}

/// `(dx, d_weight, d_bias)`, each present where it was asked for.
pub type ConvGrads = (Option<Vec<f32>>, Option<Vec<f32>>, Option<Vec<f32>>);

/// `Σ parts`, added in the order given.
fn sum_in_order(parts: &[Vec<f32>], len: usize) -> Vec<f32> {
    let mut total = vec![0.0f32; len];
    for part in parts {
        total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    }
    total
}

/// Partial sums of `dW` over the batch: at most this many, whatever the thread count.
const PARTIALS: usize = 8;

/// Gradients of [`forward`] from `d_out`: `(dx, d_weight, d_bias)`, each only where `need` says.
///
/// `dW` and `d_bias` are sums over the batch. The batch is cut into at most [`PARTIALS`] runs
/// of consecutive images fixed by the batch size alone; each run is summed in image order, and
/// the runs' sums are added in run order — so every bit of the result is the same on any number
/// of threads.
pub fn backward(
    g: &ConvGeom,
    x: &[f32],
    weight: &[f32],
    d_out: &[f32],
    need: [bool; 3],
) -> ConvGrads {
    let (k, hw) = (g.k(), g.hw_out());
    let w_t = MatRef::row_major(weight, g.c_out, k).t();
    let mut dx = need[0].then(|| vec![0.0f32; g.batch * g.in_image()]);
    // Each image writes only its own slice of dx: handed to the tasks as an address.
    let dx_addr = dx.as_mut().map(|v| v.as_mut_ptr() as usize);
    let in_image = g.in_image();
    let run = g.batch.div_ceil(PARTIALS).max(1);
    let runs = g.batch.div_ceil(run);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = (0..runs)
        .into_par_iter()
        .map_init(
            // Scratch per task: this image's col and dcol.
            || {
                (
                    vec![0.0f32; k * hw],
                    if need[0] {
                        vec![0.0f32; k * hw]
                    } else {
                        vec![]
                    },
                )
            },
            |(col, dcol), r| {
                let mut d_weight = if need[1] {
                    vec![0.0f32; g.c_out * k]
                } else {
                    vec![]
                };
                let mut d_bias = if need[2] {
                    vec![0.0f32; g.c_out]
                } else {
                    vec![]
                };
                for b in r * run..((r + 1) * run).min(g.batch) {
                    let d_out_image = &d_out[b * g.out_image()..][..g.out_image()];
                    let d_out_mat = MatRef::row_major(d_out_image, g.c_out, hw);
                    if need[1] {
                        im2col(g, &x[b * in_image..][..in_image], col);
                        let col_t = MatRef::row_major(col, k, hw).t();
                        matmul_into_single(&mut d_weight, d_out_mat, col_t, true);
                    }
                    if need[2] {
                        for (s, row) in d_bias.iter_mut().zip(d_out_image.chunks_exact(hw)) {
                            *s += row.iter().sum::<f32>();
                        }
                    }
                    if let Some(addr) = dx_addr {
                        matmul_into_single(dcol, w_t, d_out_mat, false);
                        // SAFETY: image b's slice of dx; no other task touches it, and dx
                        // outlives the loop.
                        let dx_image = unsafe {
                            std::slice::from_raw_parts_mut(
                                (addr as *mut f32).add(b * in_image),
                                in_image,
                            )
                        };
                        col2im_add(g, dcol, dx_image);
                    }
                }
                (d_weight, d_bias)
            },
        )
        .collect();
    let (weight_parts, bias_parts): (Vec<_>, Vec<_>) = partials.into_iter().unzip();
    let d_weight = need[1].then(|| sum_in_order(&weight_parts, g.c_out * k));
    let d_bias = need[2].then(|| sum_in_order(&bias_parts, g.c_out));
    (dx, d_weight, d_bias)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv2d_layer;
    use crate::kernels::testing::assert_close;
    use burn::tensor::{Device, Distribution, Tensor};

    #[test]
    fn convolution_and_its_gradients_equal_burns() {
        use burn::nn::conv::Conv2dConfig;
        use burn::nn::PaddingConfig2d;
        let device = Device::flex().autodiff();
        // LeNet's 5×5 valid, the CNNs' 3×3 same, ResNet's strided 3×3 and 1×1 shortcut (no bias),
        // a dilated one with asymmetric padding, and a batch smaller than the thread count.
        let cases = [
            (Conv2dConfig::new([3, 6], [5, 5]), [4, 3, 12, 12]),
            (
                Conv2dConfig::new([4, 8], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)),
                [3, 4, 9, 9],
            ),
            (
                Conv2dConfig::new([4, 5], [3, 3])
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_bias(false),
                [2, 4, 9, 8],
            ),
            (
                Conv2dConfig::new([4, 6], [1, 1])
                    .with_stride([2, 2])
                    .with_bias(false),
                [2, 4, 8, 8],
            ),
            (
                Conv2dConfig::new([2, 3], [3, 2])
                    .with_dilation([2, 1])
                    .with_padding(PaddingConfig2d::Explicit(2, 1, 0, 1)),
                [1, 2, 7, 6],
            ),
            // Output as wide as the input, dilated and padded unevenly (the one-copy-per-tap path).
            (
                Conv2dConfig::new([3, 4], [3, 3])
                    .with_dilation([1, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 2, 1, 2)),
                [3, 3, 7, 6],
            ),
        ];
        for (config, shape) in cases {
            let layer = config.init(&device);
            let x =
                Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad();
            let ours = conv2d_layer(&layer, x.clone());
            let theirs = layer.forward(x.clone());
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
            let w = layer.weight.val();
            assert_close(
                flat(w.grad(&g_ours).unwrap()),
                flat(w.grad(&g_theirs).unwrap()),
            );
            if let Some(b) = &layer.bias {
                let b = b.val();
                assert_close(
                    b.grad(&g_ours).unwrap().unsqueeze(),
                    b.grad(&g_theirs).unwrap().unsqueeze(),
                );
            }
        }
    }

    #[test]
    fn gradients_are_bit_identical_on_one_two_and_three_threads() {
        let spec = ConvSpec {
            stride: [1, 1],
            padding: [1, 1, 1, 1],
            dilation: [1, 1],
        };
        let g = ConvGeom::new([10, 3, 6, 6], [4, 3, 3, 3], spec).unwrap();
        let values = |n: usize, salt: u32| -> Vec<f32> {
            (0..n)
                .map(|i| (((i as u32).wrapping_mul(2654435761) ^ salt) % 997) as f32 / 498.0 - 1.0)
                .collect()
        };
        let x = values(10 * 3 * 36, 1);
        let w = values(4 * 27, 2);
        let d_out = values(10 * 4 * 36, 3);
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (dx, dw, db) = pool.install(|| backward(&g, &x, &w, &d_out, [true; 3]));
            let bits =
                |v: Option<Vec<f32>>| v.unwrap().iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            (bits(dx), bits(dw), bits(db))
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }
}
