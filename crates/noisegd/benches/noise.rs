//! Throughput of the Gaussian noise source: `fill_normal` on 1M f32 elements with 1 and 2
//! rayon threads, the fused `add_normal`, and the crate alternative ChaCha8Rng + rand_distr's
//! StandardNormal (ziggurat) filled the same way (per-chunk streams, since a ziggurat stream
//! has no random access to element i).
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use noisegd::noise::rng::{add_normal, fill_normal, NoiseKey};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::hint::black_box;

const N: usize = 1 << 20;
const CHUNK: usize = 1 << 14;

fn chacha_fill(seed: u64, step: u64, std: f32, out: &mut [f32]) {
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(t, out)| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(step);
        // Each chunk starts at its own word position; the ziggurat may use more than one
        // 64-bit word per normal, so this is a throughput stand-in, not the same numbers.
        rng.set_word_pos((t as u128) << 32);
        for o in out {
            let z: f32 = StandardNormal.sample(&mut rng);
            *o = std * z;
        }
    });
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("normals_1M");
    g.throughput(Throughput::Elements(N as u64));
    let mut out = vec![0f32; N];
    let base = vec![0.5f32; N];
    let key = NoiseKey::new(1, 2, 3);
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        g.bench_with_input(
            BenchmarkId::new("philox_fill_normal", threads),
            &threads,
            |b, _| b.iter(|| pool.install(|| fill_normal(black_box(key), 0, 0.01, &mut out))),
        );
        g.bench_with_input(
            BenchmarkId::new("philox_add_normal", threads),
            &threads,
            |b, _| b.iter(|| pool.install(|| add_normal(black_box(key), 0.01, &base, &mut out))),
        );
        g.bench_with_input(
            BenchmarkId::new("chacha8_standard_normal", threads),
            &threads,
            |b, _| b.iter(|| pool.install(|| chacha_fill(black_box(1), 2, 0.01, &mut out))),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
