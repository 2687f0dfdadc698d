//! What memory bandwidth allows for the large diagonal-net step (n = 1,000, d = 10,000).
//!
//! The gradient of `(1/2n)‖y − X(u⊙v)‖²` needs `r = Xβ − y` and then `Xᵀr`: two passes over the
//! 40 MB matrix `X`, the second depending on all of the first. This times one read pass over a
//! buffer of that size (a sum, 1 and 2 threads) and the two matrix–vector products as noisegd's
//! kernels run them, and prints the floor the read bandwidth puts under any step.
//!
//! ```text
//! cargo run --release -p noisegd --example bandwidth
//! ```

use noisegd::kernels::gemm::{matmul_into, MatRef};
use rayon::prelude::*;
use std::time::Instant;

/// Median of `reps` timings of `f`, in ms.
fn median_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

/// A sum with 16 independent lanes, so that it runs at the speed of the loads, not of the adds.
fn read_pass(c: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    for block in c.chunks_exact(16) {
        for (l, &v) in lanes.iter_mut().zip(block) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + c.chunks_exact(16).remainder().iter().sum::<f32>()
}

fn main() {
    let (n, d) = (1000, 10_000);
    let x: Vec<f32> = (0..n * d).map(|i| (i % 7) as f32 * 0.1).collect();
    let bytes = (n * d * 4) as f64;
    let mut sink = 0.0f32;
    let one = median_ms(50, || sink += read_pass(&x));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let two = median_ms(50, || {
        sink += pool.install(|| x.par_chunks(1 << 16).map(read_pass).sum::<f32>())
    });
    let beta = vec![0.01f32; d];
    let r = vec![0.01f32; n];
    let (mut xb, mut xtr) = (vec![0.0f32; n], vec![0.0f32; d]);
    let x_mat = MatRef::row_major(&x, n, d);
    let products = median_ms(50, || {
        pool.install(|| {
            matmul_into(&mut xb, x_mat, MatRef::row_major(&beta, d, 1), false);
            matmul_into(&mut xtr, x_mat.t(), MatRef::row_major(&r, n, 1), false);
        })
    });
    let gbs = |ms: f64| bytes / ms / 1e6;
    println!("X: {n} × {d} f32 = {:.0} MB", bytes / 1e6);
    println!(
        "one read pass, 1 thread : {one:.3} ms ({:.1} GB/s)",
        gbs(one)
    );
    println!(
        "one read pass, 2 threads: {two:.3} ms ({:.1} GB/s)",
        gbs(two)
    );
    println!("Xβ and Xᵀr (noisegd kernels, 2 threads): {products:.3} ms");
    println!(
        "floor for a step (two passes at the 2-thread read rate): {:.3} ms",
        2.0 * two.min(one)
    );
    // Keep the sums alive so that the passes are not optimized away.
    assert!(sink.is_finite() && xb[0].is_finite() && xtr[0].is_finite());
}
