//! Matrix products on raw `f32` buffers, split across the rayon pool by output blocks.
//!
//! The arithmetic is the `gemm` crate's (the one burn-flex uses). What differs is how the work is
//! shared between threads: `gemm`'s own parallel mode does not split products with few rows —
//! measured on the 2-core development machine, `[128 × 784] · [784 × 500]` (an MLP 1 forward layer)
//! takes 669 µs on one thread and 676 µs with `Parallelism::Rayon(2)`, but 426 µs when the 500
//! output columns are cut in two and each half runs single-threaded on its own core. So here the
//! output is cut into one block per thread along its longer side, and each block is one
//! single-threaded `gemm` call.

use rayon::prelude::*;

/// A read-only strided matrix view: element `(i, j)` is at `ptr + i * row_stride + j * col_stride`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef {
    pub ptr: *const f32,
    pub rows: usize,
    pub cols: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

// SAFETY: a `MatRef` is only built over buffers that outlive the product and are not written while
// it runs; the threads only read through it.
unsafe impl Send for MatRef {}
unsafe impl Sync for MatRef {}

impl MatRef {
    /// A row-major matrix over a contiguous slice.
    pub fn row_major(data: &[f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix buffer length");
        Self {
            ptr: data.as_ptr(),
            rows,
            cols,
            row_stride: cols as isize,
            col_stride: 1,
        }
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        Self {
            ptr: self.ptr,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Rows `start..start + len` (no copy).
    fn rows_range(self, start: usize, len: usize) -> Self {
        // SAFETY: start < rows, so the offset stays inside the viewed buffer.
        let ptr = unsafe { self.ptr.offset(start as isize * self.row_stride) };
        Self {
            ptr,
            rows: len,
            ..self
        }
    }
}

/// Below this many multiply-adds a product runs on one thread: waking a second one costs more.
const PARALLEL_MIN_WORK: usize = 64 * 64 * 64;

/// `dst = a · b` (or `dst += a · b` with `accumulate`), `dst` row-major `[a.rows × b.cols]`.
pub fn matmul_into(dst: &mut [f32], a: MatRef, b: MatRef, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions of a matrix product");
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert_eq!(dst.len(), m * n, "output buffer length");
    if m == 0 || n == 0 {
        return;
    }
    let threads = rayon::current_num_threads();
    let parts = if m * n * k < PARALLEL_MIN_WORK {
        1
    } else {
        threads.min(m.max(n))
    };
    if parts <= 1 {
        // SAFETY: dst is [m × n] row-major; a and b are valid views of the stated sizes.
        unsafe { gemm_block(dst.as_mut_ptr(), n, a, b, 0, n, accumulate) };
        return;
    }
    if m >= n {
        // Blocks of whole rows: each is a contiguous chunk of dst.
        let rows_per = m.div_ceil(parts);
        dst.par_chunks_mut(rows_per * n)
            .enumerate()
            .for_each(|(i, chunk)| {
                let start = i * rows_per;
                let len = chunk.len() / n;
                // SAFETY: chunk is rows start..start+len of dst; the row view matches it.
                unsafe {
                    gemm_block(
                        chunk.as_mut_ptr(),
                        n,
                        a.rows_range(start, len),
                        b,
                        0,
                        n,
                        accumulate,
                    )
                };
            });
    } else {
        // Blocks of columns, a multiple of 16 wide (one AVX-512 register of f32).
        let cols_per = n.div_ceil(parts).div_ceil(16) * 16;
        let dst_addr = dst.as_mut_ptr() as usize;
        (0..n.div_ceil(cols_per)).into_par_iter().for_each(|i| {
            let start = i * cols_per;
            let len = cols_per.min(n - start);
            // SAFETY: the column blocks are disjoint, so no two threads write the same element.
            unsafe { gemm_block(dst_addr as *mut f32, n, a, b, start, len, accumulate) };
        });
    }
}

/// `dst = a · b` (or `+=`) on the calling thread, for callers that already run one task per core.
pub fn matmul_into_single(dst: &mut [f32], a: MatRef, b: MatRef, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions of a matrix product");
    assert_eq!(dst.len(), a.rows * b.cols, "output buffer length");
    if a.rows == 0 || b.cols == 0 {
        return;
    }
    // SAFETY: dst is [a.rows × b.cols] row-major; a and b are valid views of the stated sizes.
    unsafe { gemm_block(dst.as_mut_ptr(), b.cols, a, b, 0, b.cols, accumulate) };
}

/// Columns `col_start..col_start + cols` of `dst = a · b`, single-threaded.
///
/// # Safety
/// `dst` points to a row-major `[a.rows × dst_cols]` buffer; the views are valid.
unsafe fn gemm_block(
    dst: *mut f32,
    dst_cols: usize,
    a: MatRef,
    b: MatRef,
    col_start: usize,
    cols: usize,
    accumulate: bool,
) {
    let b_ptr = unsafe { b.ptr.offset(col_start as isize * b.col_stride) };
    unsafe {
        gemm::gemm(
            a.rows,
            cols,
            a.cols,
            dst.add(col_start),
            1,
            dst_cols as isize,
            accumulate,
            a.ptr,
            a.col_stride,
            a.row_stride,
            b_ptr,
            b.col_stride,
            b.row_stride,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// Column sums of a row-major `[rows × cols]` matrix (the gradient of a broadcast bias).
pub fn column_sums(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; cols];
    for row in data.chunks_exact(cols).take(rows) {
        for (s, &x) in sums.iter_mut().zip(row) {
            *s += x;
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
        let mut c = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn values(len: usize, salt: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ salt) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn products_of_every_shape_class_match_the_naive_sum() {
        // Few rows (column split), many rows (row split), tiny (one thread), a column vector.
        for &(m, n, k) in &[
            (128, 500, 70),
            (700, 37, 90),
            (3, 4, 5),
            (300, 1, 400),
            (1, 300, 200),
        ] {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            let mut c = vec![f32::NAN; m * n];
            matmul_into(
                &mut c,
                MatRef::row_major(&a, m, k),
                MatRef::row_major(&b, k, n),
                false,
            );
            let want = naive(&a, &b, m, n, k);
            for (x, y) in c.iter().zip(&want) {
                assert!(
                    (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                    "{m}x{n}x{k}: {x} vs {y}"
                );
            }
        }
    }

    #[test]
    fn transposed_views_and_accumulation() {
        let (m, n, k) = (150, 90, 60);
        let at = values(k * m, 3); // stored [k × m]; used as its transpose
        let b = values(k * n, 4);
        let a: Vec<f32> = (0..m * k).map(|idx| at[(idx % k) * m + idx / k]).collect();
        let mut c = vec![1.0f32; m * n];
        matmul_into(
            &mut c,
            MatRef::row_major(&at, k, m).t(),
            MatRef::row_major(&b, k, n),
            true,
        );
        let want = naive(&a, &b, m, n, k);
        for (x, y) in c.iter().zip(&want) {
            assert!((x - (y + 1.0)).abs() <= 1e-4 * (1.0 + y.abs()));
        }
    }

    #[test]
    fn column_sums_add_each_column() {
        assert_eq!(
            column_sums(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3),
            vec![5.0, 7.0, 9.0]
        );
    }
}
