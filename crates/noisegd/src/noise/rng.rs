//! Counter-based Gaussian noise source: Philox4x32-10 + branch-free f32 Box–Muller.
//!
//! Why our own generator and not `rand_chacha` + `rand_distr` (project rule: use well-kept
//! crates unless measurably worse). Criterion, `benches/noise.rs`, 2²⁰ f32 normals, 2-core
//! AVX-512 Xeon whose second core was busy with another build (so 2 threads barely beat 1):
//! ```text
//!                                                 1 thread     2 threads
//!   this module, fill_normal                      1.14 G/s     1.16 G/s
//!   ChaCha8Rng + rand_distr StandardNormal        0.23 G/s     0.27 G/s
//!   (rand_chacha 0.10, rand_distr 0.6, ziggurat, same chunked parallel fill)
//! ```
//! About 4.5× faster (best-of-300 single thread 1.27 G/s; the AVX2-only path 0.61 G/s and the
//! portable SSE2 path 0.35 G/s per core). Besides speed, the ziggurat consumes a data-dependent
//! number of words per normal, so element `i` of a ChaCha stream cannot be computed on its own:
//! chunked parallel fills would need one stream per chunk, and the values would then depend on
//! the chunk size. Here element `i` is a pure function of `(key, i)`.
//!
//! # What this module owns
//! Every random number the project draws: Gaussian weight noise (f32, hot path), f64 normals
//! for Monte-Carlo checks of theory, and uniform draws (e.g. picking a layer per step).
//!
//! # Generator: Philox4x32-10 (Salmon et al., SC'11; same as Random123 / cuRAND / JAX)
//! State: counter `(c0, c1, c2, c3)` (4 × u32) and key `(k0, k1)`. One round:
//! ```text
//!   (hi0, lo0) = M0 · c0,   (hi1, lo1) = M1 · c2          (32×32 → 64-bit products)
//!   (c0, c1, c2, c3) ← (hi1 ⊕ c1 ⊕ k0,  lo1,  hi0 ⊕ c3 ⊕ k1,  lo0)
//!   (k0, k1) ← (k0 + W0, k1 + W1)                          (between rounds)
//!   M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85, 10 rounds.
//! ```
//! Checked against the Random123 known-answer vectors (`tests::philox_known_answers`).
//!
//! # How a key maps to Philox inputs
//! ```text
//!   (k1:k0) = fmix64(step ⊕ fmix64(seed ⊕ D_domain))      fmix64 = MurmurHash3 finaliser
//!   (c0, c1) = block index (low, high 32 bits),  c2 = group,  c3 = stream
//! ```
//! `group` and `stream` sit in the counter, so different groups/streams never share a Philox
//! input (disjoint counters, no collision possible). `seed` and `step` (128 bits) are hashed into
//! the 64-bit key; fmix64 is a bijection, so keys that differ only in `seed`, only in `step` or
//! only in the domain never collide; other pairs collide with probability ~2⁻⁶⁴. The domain
//! constant `D` separates the three outputs (f32 normals, f64 normals, uniforms), so drawing
//! both f32 and f64 normals from the same `NoiseKey` gives independent numbers.
//!
//! # Gaussian transform (f32 path)
//! Element index → Philox word: 64 consecutive elements form a "chunk" `c = i >> 6`; inside it
//! `j = (i >> 4) & 3` (word) and `k = i & 15` (lane), block = `16c + k`. This layout lets the
//! kernel run 16 Philox blocks as 16 SIMD lanes and store each word as 16 contiguous floats
//! (no transpose). Words (x0, x1) and (x2, x3) each feed one Box–Muller pair:
//! ```text
//!   u  = (f32(x0) + 0.5) · 2⁻³²  ∈ [2⁻³³, 1]      (never 0, so ln is finite; max |z| ≈ 6.77)
//!   r  = sqrt(−2 ln u)
//!   θ  = 2π · x1 / 2³²                              (reduced exactly in integers, see below)
//!   word 0 → r cos θ,  word 1 → r sin θ,  and likewise words 2, 3 from (x2, x3).
//! ```
//! `ln` is the Cephes `logf` polynomial after splitting off the exponent (relative error
//! ~1e-7 even near u = 1, where r is small). The angle is reduced in integer arithmetic, so
//! without rounding error — nearest quarter turn `q = (x1 + 2²⁹) >> 30`, remainder
//! `s = x1 − q·2³⁰` as i32 — to φ = s · 2π/2³² ∈ [−π/4, π/4), where the Cephes `sinf`/`cosf`
//! polynomials are accurate; the quarter turns are applied by swapping and sign flips.
//! Against an f64 Box–Muller on the same uniforms (`tests::transform_accuracy_vs_f64`, edges
//! plus 2²⁴ sampled inputs): max |z error| 6.5e-7, max relative error of r 9.8e-8 (asserted
//! ≤ 1e-5 and ≤ 1e-6).
//!
//! # Determinism and vectorisation
//! The kernel is written once as loops over fixed 16-lane arrays and instantiated three times:
//! with AVX-512 enabled (plus a hand-written `vpmuludq` Philox, see `PhiloxAvx512`), with AVX2,
//! and portable; the path is picked at run time (`is_x86_feature_detected!`). All arithmetic is
//! integer or basic IEEE-754 f32 (`+ − × sqrt`, int→float conversion), with no `mul_add`: Rust
//! never contracts to FMA, so every path, and the scalar `normal_at`, produce identical bits
//! (`tests::all_code_paths_give_identical_bits`). Parallel fills split the slice into fixed
//! chunks, but since each value depends only on `(key, i)` the chunking and thread count
//! cannot change the output. Indices are u64; `start + len` must not exceed 2⁶⁴.
//!
//! # f64 path
//! `normal_at_f64`: one Philox block per Box–Muller pair, 53-bit uniforms from two words each,
//! std `ln`/`sqrt`/`sin_cos` in f64 (max |z| ≈ 8.6). Slower, accurate to f64 rounding.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Identifies one stream of Gaussian numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoiseKey {
    pub seed: u64,
    pub step: u64,
    pub group: u32,
    /// Separates independent uses of the same `(seed, step, group)`, e.g. 0 = weight noise,
    /// 1 = a second sample.
    pub stream: u32,
}

impl NoiseKey {
    /// Key with `stream = 0`.
    pub fn new(seed: u64, step: u64, group: u32) -> Self {
        Self {
            seed,
            step,
            group,
            stream: 0,
        }
    }

    pub fn with_stream(mut self, stream: u32) -> Self {
        self.stream = stream;
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Philox4x32-10
// ---------------------------------------------------------------------------------------------

const M0: u64 = 0xD251_1F53;
const M1: u64 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;
const ROUNDS: usize = 10;

/// Domain constants (random 64-bit values): f32 normals, f64 normals, uniforms.
const DOMAIN_F32: u64 = 0x6A09_E667_F3BC_C908;
const DOMAIN_F64: u64 = 0xB5C0_FBCF_EC4D_3B2F;
const DOMAIN_UNIFORM: u64 = 0x3C6E_F372_FE94_F82B;

#[inline(always)]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    k ^= k >> 33;
    k = k.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    k ^ (k >> 33)
}

/// The fixed parts of the Philox input for one `(key, domain)`.
#[derive(Clone, Copy, Debug)]
struct Stream {
    k0: u32,
    k1: u32,
    c2: u32,
    c3: u32,
}

impl Stream {
    #[inline(always)]
    fn new(key: NoiseKey, domain: u64) -> Self {
        let k = fmix64(key.step ^ fmix64(key.seed ^ domain));
        Self {
            k0: k as u32,
            k1: (k >> 32) as u32,
            c2: key.group,
            c3: key.stream,
        }
    }
}

/// The Philox key and fixed counter words `[k0, k1, c2, c3]` of the f32 normals of `key`: what a
/// device kernel needs to draw the same numbers as [`normal_at`] (block `b` is the counter
/// `(b low, b high, c2, c3)`, element `i` of the stream comes from block `16·(i >> 6) + (i & 15)`).
pub fn f32_philox_inputs(key: NoiseKey) -> [u32; 4] {
    let s = Stream::new(key, DOMAIN_F32);
    [s.k0, s.k1, s.c2, s.c3]
}

#[inline(always)]
fn philox_round(c: [u32; 4], k0: u32, k1: u32) -> [u32; 4] {
    let p0 = M0 * c[0] as u64;
    let p1 = M1 * c[2] as u64;
    [
        ((p1 >> 32) as u32) ^ c[1] ^ k0,
        p1 as u32,
        ((p0 >> 32) as u32) ^ c[3] ^ k1,
        p0 as u32,
    ]
}

/// Scalar Philox4x32-10 on one block.
#[inline(always)]
fn philox4x32_10(mut c: [u32; 4], mut k0: u32, mut k1: u32) -> [u32; 4] {
    for r in 0..ROUNDS {
        if r > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        c = philox_round(c, k0, k1);
    }
    c
}

#[inline(always)]
fn philox_block(s: Stream, block: u64) -> [u32; 4] {
    philox4x32_10([block as u32, (block >> 32) as u32, s.c2, s.c3], s.k0, s.k1)
}

// ---------------------------------------------------------------------------------------------
// Box–Muller in f32, branch-free (selects only), identical bits scalar and vectorised
// ---------------------------------------------------------------------------------------------

/// `sqrt(-2 ln u)` with `u = (f32(x) + 0.5)·2⁻³²`.
#[inline(always)]
fn radius(x: u32) -> f32 {
    // 2^-32 scaling is exact; `x as f32` is the single rounding (ties-to-even). +0.5 keeps u > 0.
    let u = (x as f32 + 0.5) * 2.328_306_4e-10;
    radius_of_uniform(u)
}

/// `sqrt(-2 ln u)` for u in [2⁻³³, 1] (normal floats only).
#[inline(always)]
fn radius_of_uniform(u: f32) -> f32 {
    let bits = u.to_bits();
    let mut e = (bits >> 23) as i32 - 127;
    let mut mbits = (bits & 0x007F_FFFF) | 0x3F80_0000; // mantissa m in [1, 2)
                                                        // Centre m on 1 (m in [√½, √2)) so that x = m − 1 is exact (Sterbenz) and small: this is
                                                        // what keeps ln accurate relative to its value near u = 1.
    let big = mbits > 0x3FB5_04F3;
    mbits = if big { mbits - 0x0080_0000 } else { mbits };
    e += big as i32;
    let x = f32::from_bits(mbits) - 1.0;
    let fe = e as f32;
    // Cephes logf: ln(1+x) = x − x²/2 + x³·P(x), ln 2 split in two parts for exactness.
    let z = x * x;
    let mut y = 7.037_683_6e-2_f32;
    y = y * x - 1.151_461e-1;
    y = y * x + 1.167_699_9e-1;
    y = y * x - 1.242_014_1e-1;
    y = y * x + 1.424_932_3e-1;
    y = y * x - 1.666_805_8e-1;
    y = y * x + 2.000_071_5e-1;
    y = y * x - 2.499_999_4e-1;
    y = y * x + 3.333_333e-1; // Cephes 3.3333331174e-1, same f32
    y = y * x * z;
    y += -2.121_944_4e-4 * fe;
    y += -0.5 * z;
    let mut ln = x + y;
    ln += 0.693_359_4 * fe;
    (-2.0 * ln).sqrt()
}

/// `(cos θ, sin θ)` for θ = 2π·x/2³².
#[inline(always)]
fn cos_sin_turn(x: u32) -> (f32, f32) {
    // Exact integer range reduction: q = nearest quarter turn, s = signed remainder.
    let q = x.wrapping_add(1 << 29) >> 30;
    let s = x.wrapping_sub(q << 30) as i32; // in [-2^29, 2^29)
    let phi = s as f32 * 1.462_918_1e-9; // 2π / 2^32; φ in [-π/4, π/4)
    let z = phi * phi;
    // Cephes sinf / cosf polynomials on [-π/4, π/4].
    let sn = ((-1.951_529_6e-4_f32 * z + 8.332_161e-3) * z - 1.666_665_5e-1) * z * phi + phi;
    let cs =
        ((2.443_315_7e-5_f32 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z + 1.0;
    // θ = qπ/2 + φ: odd quadrants swap sin and cos; signs from the quadrant.
    let swap = q & 1 != 0;
    let (a, b) = if swap { (sn, cs) } else { (cs, sn) };
    let cos_t = f32::from_bits(a.to_bits() ^ ((q.wrapping_add(1) & 2) << 30));
    let sin_t = f32::from_bits(b.to_bits() ^ ((q & 2) << 30));
    (cos_t, sin_t)
}

// ---------------------------------------------------------------------------------------------
// Vector kernel: 16 Philox blocks → 64 normals
// ---------------------------------------------------------------------------------------------

const LANES: usize = 16;
/// Elements per 16-block group (16 blocks × 4 words).
const CHUNK: usize = 4 * LANES;
/// Groups per kernel call in the bulk loop.
const INTERLEAVE: usize = 2;

/// Philox4x32-10 on 16 blocks at once, structure-of-arrays: `x[w][l]` is word `w` of lane `l`.
/// `G` independent groups per call: a Philox round is one long dependency chain (multiply →
/// shuffle → xor → next multiply), so interleaving groups keeps the vector units busy.
trait Philox16 {
    fn rounds<const G: usize>(x: &mut [[[u32; LANES]; 4]; G], k0: u32, k1: u32);
}

/// Plain loops over lanes; LLVM vectorises them for whatever target features are enabled.
struct PhiloxLoops;
impl Philox16 for PhiloxLoops {
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // four arrays indexed by the same lane
    fn rounds<const G: usize>(x: &mut [[[u32; LANES]; 4]; G], mut k0: u32, mut k1: u32) {
        for r in 0..ROUNDS {
            if r > 0 {
                k0 = k0.wrapping_add(W0);
                k1 = k1.wrapping_add(W1);
            }
            for x in x.iter_mut() {
                for l in 0..LANES {
                    let [a, b, c, d] = philox_round([x[0][l], x[1][l], x[2][l], x[3][l]], k0, k1);
                    x[0][l] = a;
                    x[1][l] = b;
                    x[2][l] = c;
                    x[3][l] = d;
                }
            }
        }
    }
}

/// AVX-512 Philox. Why hand-written: Philox dominated the cost, and with LLVM's version of the
/// 32×32→64 products (zero-extend to two u64 vectors, multiply, permute halves back) the whole
/// fill ran at 0.76 G normals/s per core, against 1.0 G/s with this one (`vpmuludq` on even
/// lanes and on odd lanes moved down, recombined by masked `vpshufd`) and 1.27 G/s once two
/// groups are interleaved. Integer-only, so the bits are the same as `PhiloxLoops` (checked by
/// `all_code_paths_give_identical_bits`).
#[cfg(target_arch = "x86_64")]
struct PhiloxAvx512;
#[cfg(target_arch = "x86_64")]
impl Philox16 for PhiloxAvx512 {
    #[inline(always)]
    fn rounds<const G: usize>(x: &mut [[[u32; LANES]; 4]; G], k0: u32, k1: u32) {
        // SAFETY: only instantiated inside `drive_avx512`, which runs after runtime detection.
        unsafe { philox16_avx512(x, k0, k1) }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn philox16_avx512<const G: usize>(x: &mut [[[u32; LANES]; 4]; G], k0: u32, k1: u32) {
    use std::arch::x86_64::*;
    let m0 = _mm512_set1_epi32(M0 as i32);
    let m1 = _mm512_set1_epi32(M1 as i32);
    let zero = _mm512_setzero_si512();
    let mut c = [[zero; 4]; G];
    for (c, x) in c.iter_mut().zip(x.iter()) {
        for w in 0..4 {
            c[w] = _mm512_loadu_si512(x[w].as_ptr().cast());
        }
    }
    const EVEN: __mmask16 = 0x5555;
    const ODD: __mmask16 = 0xAAAA;
    const DUP_HI: _MM_PERM_ENUM = 0xF5; // dwords (1,1,3,3): high half of each qword
    const DUP_LO: _MM_PERM_ENUM = 0xA0; // dwords (0,0,2,2): low half of each qword
    let (mut ka, mut kb) = (k0, k1);
    for r in 0..ROUNDS {
        if r > 0 {
            ka = ka.wrapping_add(W0);
            kb = kb.wrapping_add(W1);
        }
        let (kva, kvb) = (_mm512_set1_epi32(ka as i32), _mm512_set1_epi32(kb as i32));
        for c in c.iter_mut() {
            // Even lanes' products in p*e, odd lanes' products in p*o (64-bit each).
            let p0e = _mm512_mul_epu32(c[0], m0);
            let p0o = _mm512_mul_epu32(_mm512_shuffle_epi32::<DUP_HI>(c[0]), m0);
            let p1e = _mm512_mul_epu32(c[2], m1);
            let p1o = _mm512_mul_epu32(_mm512_shuffle_epi32::<DUP_HI>(c[2]), m1);
            let hi0 = _mm512_mask_shuffle_epi32::<DUP_HI>(p0o, EVEN, p0e);
            let lo0 = _mm512_mask_shuffle_epi32::<DUP_LO>(p0e, ODD, p0o);
            let hi1 = _mm512_mask_shuffle_epi32::<DUP_HI>(p1o, EVEN, p1e);
            let lo1 = _mm512_mask_shuffle_epi32::<DUP_LO>(p1e, ODD, p1o);
            // 0x96 = three-way XOR.
            *c = [
                _mm512_ternarylogic_epi32::<0x96>(hi1, c[1], kva),
                lo1,
                _mm512_ternarylogic_epi32::<0x96>(hi0, c[3], kvb),
                lo0,
            ];
        }
    }
    for (c, x) in c.iter().zip(x.iter_mut()) {
        for w in 0..4 {
            _mm512_storeu_si512(x[w].as_mut_ptr().cast(), c[w]);
        }
    }
}

/// Normals of elements `64c .. 64c + 64·G` into `out` (chunks `c .. c+G`).
#[inline(always)]
fn chunk_kernel<P: Philox16, const G: usize>(s: Stream, c: u64, out: &mut [[f32; CHUNK]; G]) {
    let mut x = [[[0u32; LANES]; 4]; G];
    for (g, x) in x.iter_mut().enumerate() {
        let block0 = c.wrapping_add(g as u64).wrapping_mul(LANES as u64);
        let lo = block0 as u32; // multiple of 16: lo + lane never carries into hi
        *x = [
            [0; LANES],
            [(block0 >> 32) as u32; LANES],
            [s.c2; LANES],
            [s.c3; LANES],
        ];
        for (l, v) in x[0].iter_mut().enumerate() {
            *v = lo | l as u32;
        }
    }
    P::rounds(&mut x, s.k0, s.k1);
    for (x, out) in x.iter().zip(out.iter_mut()) {
        let (w01, w23) = out.split_at_mut(2 * LANES);
        let (w0, w1) = w01.split_at_mut(LANES);
        let (w2, w3) = w23.split_at_mut(LANES);
        for l in 0..LANES {
            let r = radius(x[0][l]);
            let (c, s) = cos_sin_turn(x[1][l]);
            w0[l] = r * c;
            w1[l] = r * s;
        }
        for l in 0..LANES {
            let r = radius(x[2][l]);
            let (c, s) = cos_sin_turn(x[3][l]);
            w2[l] = r * c;
            w3[l] = r * s;
        }
    }
}

/// What to do with the generated normals; `z` holds the normals of elements `at .. at+z.len()`
/// of the destination.
trait Sink {
    fn put(&mut self, at: usize, z: &[f32]);
}

struct Fill<'a> {
    std: f32,
    out: &'a mut [f32],
}
impl Sink for Fill<'_> {
    #[inline(always)]
    fn put(&mut self, at: usize, z: &[f32]) {
        for (o, &z) in self.out[at..at + z.len()].iter_mut().zip(z) {
            *o = self.std * z;
        }
    }
}

/// Writes `base + std·z` into possibly uninitialized memory (every element is written once).
struct Add<'a, 'b> {
    std: f32,
    base: &'b [f32],
    out: &'a mut [MaybeUninit<f32>],
}
impl Sink for Add<'_, '_> {
    #[inline(always)]
    fn put(&mut self, at: usize, z: &[f32]) {
        let n = z.len();
        for ((o, &b), &z) in self.out[at..at + n]
            .iter_mut()
            .zip(&self.base[at..at + n])
            .zip(z)
        {
            o.write(b + self.std * z);
        }
    }
}

struct AddInPlace<'a> {
    std: f32,
    buf: &'a mut [f32],
}
impl Sink for AddInPlace<'_> {
    #[inline(always)]
    fn put(&mut self, at: usize, z: &[f32]) {
        for (o, &z) in self.buf[at..at + z.len()].iter_mut().zip(z) {
            *o += self.std * z;
        }
    }
}

/// Serial driver over elements `start .. start+len`: partial first/last chunk are generated
/// whole and cut, so every element goes through the same kernel code.
#[inline(always)]
fn drive<S: Sink, P: Philox16>(s: Stream, start: u64, len: usize, sink: &mut S) {
    const G: usize = INTERLEAVE;
    let mut z = [[0f32; CHUNK]; 1];
    let mut zg = [[0f32; CHUNK]; G];
    let mut done = 0usize;
    let mut g = start;
    let head = (g % CHUNK as u64) as usize;
    if head != 0 && len > 0 {
        chunk_kernel::<P, 1>(s, g / CHUNK as u64, &mut z);
        let n = (CHUNK - head).min(len);
        sink.put(0, &z[0][head..head + n]);
        done += n;
        g += n as u64;
    }
    while len - done >= G * CHUNK {
        chunk_kernel::<P, G>(s, g / CHUNK as u64, &mut zg);
        sink.put(done, zg.as_flattened());
        done += G * CHUNK;
        g += (G * CHUNK) as u64;
    }
    while len - done >= CHUNK {
        chunk_kernel::<P, 1>(s, g / CHUNK as u64, &mut z);
        sink.put(done, &z[0]);
        done += CHUNK;
        g += CHUNK as u64;
    }
    if done < len {
        chunk_kernel::<P, 1>(s, g / CHUNK as u64, &mut z);
        sink.put(done, &z[0][..len - done]);
    }
}

// Feature-specific instantiations. The body is the same `#[inline(always)]` code, compiled with
// wider vectors; no FMA/fast-math, so the bits are the same on every path.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn drive_avx512<S: Sink>(s: Stream, start: u64, len: usize, sink: &mut S) {
    drive::<S, PhiloxAvx512>(s, start, len, sink)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn drive_avx2<S: Sink>(s: Stream, start: u64, len: usize, sink: &mut S) {
    drive::<S, PhiloxLoops>(s, start, len, sink)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    Portable,
}

fn best_path() -> Path {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
        {
            return Path::Avx512;
        }
        if is_x86_feature_detected!("avx2") {
            return Path::Avx2;
        }
    }
    Path::Portable
}

fn drive_on<S: Sink>(path: Path, s: Stream, start: u64, len: usize, sink: &mut S) {
    match path {
        // SAFETY: these paths are only chosen after runtime detection of the features.
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => unsafe { drive_avx512(s, start, len, sink) },
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => unsafe { drive_avx2(s, start, len, sink) },
        _ => drive::<S, PhiloxLoops>(s, start, len, sink),
    }
}

/// Slices longer than this are filled in parallel.
const PAR_THRESHOLD: usize = 1 << 16;
/// Elements per parallel task (a multiple of `CHUNK`; the values do not depend on it).
const PAR_CHUNK: usize = 1 << 14;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// Scalar reference value of element `index` of the stream `key` (f32 standard normal).
pub fn normal_at(key: NoiseKey, index: u64) -> f32 {
    let s = Stream::new(key, DOMAIN_F32);
    let c = index >> 6;
    let word = ((index >> 4) & 3) as usize;
    let lane = index & 15;
    let x = philox_block(s, c * LANES as u64 + lane);
    let pair = word & !1;
    let r = radius(x[pair]);
    let (cs, sn) = cos_sin_turn(x[pair + 1]);
    r * if word & 1 == 0 { cs } else { sn }
}

/// `out[i] = std * normal_at(key, start + i)`, bit for bit. Parallel (rayon) for long slices.
pub fn fill_normal(key: NoiseKey, start: u64, std: f32, out: &mut [f32]) {
    fill_normal_with(best_path(), key, start, std, out)
}

fn fill_normal_with(path: Path, key: NoiseKey, start: u64, std: f32, out: &mut [f32]) {
    let s = Stream::new(key, DOMAIN_F32);
    in_chunks(out, start, |from, _, out| {
        let len = out.len();
        drive_on(path, s, from, len, &mut Fill { std, out });
    });
}

/// Runs `body(first element's stream index, offset in out, chunk)` over `out`: at once for a
/// short slice, in chunks of `PAR_CHUNK` across rayon's threads for a long one. Every element's
/// value depends on its stream index alone, so the result is the same either way.
fn in_chunks<T: Send>(out: &mut [T], start: u64, body: impl Fn(u64, usize, &mut [T]) + Sync) {
    if out.len() <= PAR_THRESHOLD {
        body(start, 0, out);
    } else {
        out.par_chunks_mut(PAR_CHUNK)
            .enumerate()
            .for_each(|(t, out)| body(start + (t * PAR_CHUNK) as u64, t * PAR_CHUNK, out));
    }
}

/// `out[i] = base[i] + std * normal_at(key, i)` in one pass. Panics if lengths differ.
pub fn add_normal(key: NoiseKey, std: f32, base: &[f32], out: &mut [f32]) {
    add_normal_from(key, 0, std, base, out)
}

/// `out[i] = base[i] + std * normal_at(key, start + i)` (for a shard that starts at `start`).
pub fn add_normal_from(key: NoiseKey, start: u64, std: f32, base: &[f32], out: &mut [f32]) {
    // SAFETY: MaybeUninit<f32> has f32's layout, and only initialized values are written.
    let out = unsafe { &mut *(out as *mut [f32] as *mut [MaybeUninit<f32>]) };
    add_normal_uninit(key, start, std, base, out)
}

/// `base[i] + std * normal_at(key, i)` as a new vector, each element written once: no zeroing
/// pass before (for a 3.6 MB copy that pass was a third of the time, on one thread).
pub fn add_normal_to_vec(key: NoiseKey, std: f32, base: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(base.len());
    add_normal_uninit(
        key,
        0,
        std,
        base,
        &mut out.spare_capacity_mut()[..base.len()],
    );
    // SAFETY: add_normal_uninit wrote every element of 0..base.len().
    unsafe { out.set_len(base.len()) };
    out
}

/// [`add_normal_from`] into memory that may be uninitialized; writes every element of `out`.
fn add_normal_uninit(
    key: NoiseKey,
    start: u64,
    std: f32,
    base: &[f32],
    out: &mut [MaybeUninit<f32>],
) {
    assert_eq!(
        base.len(),
        out.len(),
        "add_normal: base and out lengths differ"
    );
    let path = best_path();
    let s = Stream::new(key, DOMAIN_F32);
    in_chunks(out, start, |from, at, out| {
        let len = out.len();
        let base = &base[at..at + len];
        drive_on(path, s, from, len, &mut Add { std, base, out });
    });
}

/// `buf[i] += std * normal_at(key, i)`.
pub fn add_normal_in_place(key: NoiseKey, std: f32, buf: &mut [f32]) {
    add_normal_in_place_from(key, 0, std, buf)
}

/// `buf[i] += std * normal_at(key, start + i)`.
pub fn add_normal_in_place_from(key: NoiseKey, start: u64, std: f32, buf: &mut [f32]) {
    let path = best_path();
    let s = Stream::new(key, DOMAIN_F32);
    in_chunks(buf, start, |from, _, buf| {
        let len = buf.len();
        drive_on(path, s, from, len, &mut AddInPlace { std, buf });
    });
}

/// f64 standard normal, element `index` of stream `key` (independent of the f32 stream).
pub fn normal_at_f64(key: NoiseKey, index: u64) -> f64 {
    let s = Stream::new(key, DOMAIN_F64);
    let x = philox_block(s, index >> 1);
    let a = ((x[0] as u64) << 32 | x[1] as u64) >> 11;
    let b = ((x[2] as u64) << 32 | x[3] as u64) >> 11;
    const EPS: f64 = 1.0 / (1u64 << 53) as f64;
    let u = (a as f64 + 0.5) * EPS; // (0, 1)
    let r = (-2.0 * u.ln()).sqrt();
    let (sn, cs) = (std::f64::consts::TAU * (b as f64 * EPS)).sin_cos();
    r * if index & 1 == 0 { cs } else { sn }
}

/// `out[i] = std * normal_at_f64(key, start + i)`.
pub fn fill_normal_f64(key: NoiseKey, start: u64, std: f64, out: &mut [f64]) {
    let f = |t: usize, out: &mut [f64]| {
        let base = start + (t * PAR_CHUNK) as u64;
        for (i, o) in out.iter_mut().enumerate() {
            *o = std * normal_at_f64(key, base + i as u64);
        }
    };
    if out.len() <= PAR_THRESHOLD / 4 {
        f(0, out)
    } else {
        out.par_chunks_mut(PAR_CHUNK)
            .enumerate()
            .for_each(|(t, out)| f(t, out));
    }
}

/// Uniform 64-bit draw number `index` of stream `key` (independent of the normal streams).
pub fn uniform_u64(key: NoiseKey, index: u64) -> u64 {
    let x = philox_block(Stream::new(key, DOMAIN_UNIFORM), index);
    (x[0] as u64) << 32 | x[1] as u64
}

/// Uniform in [0, 1) with 53 random bits.
pub fn uniform_f64(key: NoiseKey, index: u64) -> f64 {
    (uniform_u64(key, index) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- helpers ------------------------------------------------------------------------------

    struct Moments {
        n: f64,
        mean: f64,
        var: f64,
        kurt: f64,
        frac_beyond_3: f64,
    }

    fn moments(xs: impl Iterator<Item = f64>) -> Moments {
        let v: Vec<f64> = xs.collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let m2 = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let m4 = v.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
        let beyond = v.iter().filter(|x| x.abs() > 3.0).count() as f64 / n;
        Moments {
            n,
            mean,
            var: m2,
            kurt: m4 / (m2 * m2),
            frac_beyond_3: beyond,
        }
    }

    /// Tolerances are 5 standard errors of each statistic for N i.i.d. N(0,1) draws:
    /// se(mean) = 1/√N, se(var) = √(2/N), se(P(|z|>3)) = √(p(1−p)/N),
    /// se(kurtosis) = √(24/N) (asymptotic variance of the sample kurtosis of a normal).
    fn assert_standard_normal(m: &Moments, what: &str) {
        let n = m.n;
        assert!(m.mean.abs() < 5.0 / n.sqrt(), "{what}: mean {}", m.mean);
        assert!(
            (m.var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(),
            "{what}: var {}",
            m.var
        );
        let p = 0.002_699_796_063_260_207; // P(|Z| > 3)
        let se = (p * (1.0 - p) / n).sqrt();
        assert!(
            (m.frac_beyond_3 - p).abs() < 5.0 * se,
            "{what}: P(|z|>3) = {}",
            m.frac_beyond_3
        );
        assert!(
            (m.kurt - 3.0).abs() < 5.0 * (24.0 / n).sqrt(),
            "{what}: kurtosis {}",
            m.kurt
        );
    }

    fn corr(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for (x, y) in a.iter().zip(b) {
            sab += (x - ma) * (y - mb);
            saa += (x - ma) * (x - ma);
            sbb += (y - mb) * (y - mb);
        }
        sab / (saa * sbb).sqrt()
    }

    fn draw(key: NoiseKey, n: usize) -> Vec<f64> {
        let mut v = vec![0f32; n];
        fill_normal(key, 0, 1.0, &mut v);
        v.into_iter().map(f64::from).collect()
    }

    const N: usize = 1_000_000;

    // ---- generator ----------------------------------------------------------------------------

    #[test]
    fn philox_known_answers() {
        // Random123 tests/kat_vectors, "philox4x32 10" lines: counter, key, expected output.
        let kat: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
            (
                [0; 4],
                [0; 2],
                [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
            ),
            (
                [u32::MAX; 4],
                [u32::MAX; 2],
                [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
        ];
        for (c, k, want) in kat {
            assert_eq!(philox4x32_10(c, k[0], k[1]), want);
        }
    }

    // 1. moments ----------------------------------------------------------------------------------

    #[test]
    fn f32_moments() {
        let m = moments(draw(NoiseKey::new(42, 7, 3), N).into_iter());
        assert_standard_normal(&m, "f32");
        // A start far from 0 exercises the high counter word.
        let mut v = vec![0f32; N];
        fill_normal(NoiseKey::new(1, 2, 0), (1u64 << 40) + 13, 1.0, &mut v);
        assert_standard_normal(&moments(v.iter().map(|&x| x as f64)), "f32, high start");
    }

    #[test]
    fn f64_moments() {
        let mut v = vec![0f64; N];
        fill_normal_f64(NoiseKey::new(42, 7, 3), 0, 1.0, &mut v);
        assert_standard_normal(&moments(v.iter().copied()), "f64");
    }

    #[test]
    fn std_scales_variance() {
        let mut v = vec![0f32; N];
        fill_normal(NoiseKey::new(5, 0, 0), 0, 0.01, &mut v);
        let m = moments(v.iter().map(|&x| x as f64 / 0.01));
        assert_standard_normal(&m, "std = 0.01");
    }

    // 2. independence -------------------------------------------------------------------------------

    #[test]
    fn no_correlation_between_streams() {
        let tol = 5.0 / (N as f64).sqrt();
        let base = NoiseKey::new(9, 100, 4);
        let a = draw(base, N);
        let others = [
            ("group", NoiseKey { group: 5, ..base }),
            ("step", NoiseKey { step: 101, ..base }),
            ("stream", base.with_stream(1)),
            ("seed", NoiseKey { seed: 10, ..base }),
        ];
        for (what, k) in others {
            let r = corr(&a, &draw(k, N));
            assert!(r.abs() < tol, "{what}: r = {r}");
        }
        // f32 and f64 paths of the same key are independent (domain separation).
        let mut b = vec![0f64; N];
        fill_normal_f64(base, 0, 1.0, &mut b);
        let r = corr(&a, &b);
        assert!(r.abs() < tol, "f32 vs f64: r = {r}");
    }

    #[test]
    fn no_correlation_between_neighbours() {
        let v = draw(NoiseKey::new(3, 1, 0), N + 64);
        let tol = 5.0 / (N as f64).sqrt();
        // Lag 1 = neighbouring elements; lag 16 = the other word of the same Box–Muller pair
        // (cos/sin of one angle); lag 32 = the other pair of the same Philox block; lag 64 =
        // the same word of the next block group.
        for lag in [1usize, 2, 16, 32, 64] {
            let r = corr(&v[..N], &v[lag..N + lag]);
            assert!(r.abs() < tol, "lag {lag}: r = {r}");
        }
        // The two outputs of one Box–Muller pair share r, so a wrong radius law or a bad
        // angle would make them dependent without making them correlated; for a correct
        // transform they are independent and E[z0² z1²] = E[r⁴]·E[cos²θ sin²θ] = 8 · 1/8 = 1.
        let sq: Vec<f64> = v.iter().map(|x| x * x).collect();
        let pairs: Vec<(f64, f64)> = (0..N / 64)
            .flat_map(|c| (0..16).map(move |l| (c * 64 + l, c * 64 + 16 + l)))
            .map(|(i, j)| (sq[i], sq[j]))
            .collect();
        let m = pairs.iter().map(|(a, b)| a * b).sum::<f64>() / pairs.len() as f64;
        // Var(z0² z1²) = E[z0⁴]E[z1⁴] − 1 = 8 for independent normals.
        let se = (8.0 / pairs.len() as f64).sqrt();
        assert!((m - 1.0).abs() < 5.0 * se, "E[z0² z1²] = {m}");
    }

    // 3. thread-count invariance ----------------------------------------------------------------------

    #[test]
    fn same_output_with_1_and_2_threads() {
        let key = NoiseKey::new(11, 22, 1);
        let n = 10 * PAR_CHUNK + 123; // > PAR_THRESHOLD: split into 11 parallel tasks
        let base: Vec<f32> = (0..n).map(|i| i as f32 * 1e-3).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut f = vec![0f32; n];
                fill_normal(key, 77, 0.5, &mut f);
                let mut a = vec![0f32; n];
                add_normal(key, 0.5, &base, &mut a);
                let mut p = base.clone();
                add_normal_in_place(key, 0.5, &mut p);
                let mut d = vec![0f64; n];
                fill_normal_f64(key, 5, 1.0, &mut d);
                (f, a, p, d)
            })
        };
        let one = run(1);
        let two = run(2);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one.0), bits(&two.0));
        assert_eq!(bits(&one.1), bits(&two.1));
        assert_eq!(bits(&one.2), bits(&two.2));
        assert_eq!(
            one.3.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            two.3.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        // And the parallel result equals the scalar reference.
        for i in (0..n).step_by(997) {
            assert_eq!(
                one.0[i].to_bits(),
                (0.5 * normal_at(key, 77 + i as u64)).to_bits(),
                "i = {i}"
            );
        }
    }

    // 4. fill / add agree with the scalar reference ---------------------------------------------------

    #[test]
    fn fill_matches_normal_at_bitwise() {
        let key = NoiseKey::new(123, 456, 7).with_stream(2);
        for &(start, len) in &[
            (0u64, 0usize),
            (0, 1),
            (0, 63),
            (0, 64),
            (5, 1),
            (5, 59),
            (5, 60),
            (61, 200),
            (1000, 1001),
            (3, 4097),
            (u32::MAX as u64 * 64 - 7, 300),
        ] {
            for std in [1.0f32, 0.37] {
                let mut out = vec![f32::NAN; len];
                fill_normal(key, start, std, &mut out);
                for (i, &o) in out.iter().enumerate() {
                    let want = std * normal_at(key, start + i as u64);
                    assert_eq!(o.to_bits(), want.to_bits(), "start {start} len {len} i {i}");
                }
            }
        }
    }

    #[test]
    fn all_code_paths_give_identical_bits() {
        // Portable, AVX2 and AVX-512 builds of the kernel (those this CPU has) must agree.
        let key = NoiseKey::new(8, 9, 10);
        let n = 5000;
        let mut want = vec![0f32; n];
        fill_normal_with(Path::Portable, key, 3, 1.0, &mut want);
        #[allow(unused_mut)]
        let mut paths: Vec<Path> = vec![];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                paths.push(Path::Avx2);
            }
            if best_path() == Path::Avx512 {
                paths.push(Path::Avx512);
            }
        }
        for p in paths {
            let mut got = vec![0f32; n];
            fill_normal_with(p, key, 3, 1.0, &mut got);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.to_bits(), w.to_bits(), "{p:?} i = {i}");
            }
        }
        for (i, w) in want.iter().enumerate() {
            assert_eq!(w.to_bits(), normal_at(key, 3 + i as u64).to_bits());
        }
    }

    #[test]
    fn add_matches_base_plus_std_normal() {
        let key = NoiseKey::new(1, 2, 3);
        for n in [0usize, 1, 77, 4096 + 5, PAR_THRESHOLD + 1001] {
            let base: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
            let std = 0.013f32;
            let mut out = vec![0f32; n];
            add_normal(key, std, &base, &mut out);
            let mut inplace = base.clone();
            add_normal_in_place(key, std, &mut inplace);
            let mut shard = vec![0f32; n.saturating_sub(10)];
            add_normal_from(key, 10, std, &base[n.min(10)..], &mut shard);
            for i in 0..n {
                let want = base[i] + std * normal_at(key, i as u64);
                assert_eq!(out[i].to_bits(), want.to_bits(), "add n {n} i {i}");
                assert_eq!(inplace[i].to_bits(), want.to_bits(), "in place n {n} i {i}");
                if i >= 10 {
                    assert_eq!(shard[i - 10].to_bits(), want.to_bits(), "shard n {n} i {i}");
                }
            }
        }
    }

    #[test]
    fn f64_fill_matches_normal_at_f64() {
        let key = NoiseKey::new(4, 4, 4);
        let mut v = vec![0f64; 333];
        fill_normal_f64(key, 17, 2.0, &mut v);
        for (i, &x) in v.iter().enumerate() {
            assert_eq!(
                x.to_bits(),
                (2.0 * normal_at_f64(key, 17 + i as u64)).to_bits()
            );
        }
    }

    // 5. determinism / seed sensitivity ------------------------------------------------------------

    #[test]
    fn same_key_same_numbers_different_keys_differ() {
        let key = NoiseKey::new(2024, 3, 0);
        let a = draw(key, 10_000);
        let b = draw(key, 10_000);
        assert_eq!(a, b);
        let variants = [
            NoiseKey { seed: 2025, ..key },
            NoiseKey { step: 4, ..key },
            NoiseKey { group: 1, ..key },
            key.with_stream(1),
        ];
        for k in variants {
            let c = draw(k, 10_000);
            // Two independent continuous streams agree at a position with probability ~0
            // (only through f32 ties); allow a handful.
            let same = a.iter().zip(&c).filter(|(x, y)| x == y).count();
            assert!(same < 5, "{k:?}: {same} equal values");
        }
        assert_eq!(uniform_u64(key, 5), uniform_u64(key, 5));
        assert_ne!(
            uniform_u64(key, 5),
            uniform_u64(NoiseKey { seed: 2025, ..key }, 5)
        );
        assert_eq!(
            normal_at_f64(key, 9).to_bits(),
            normal_at_f64(key, 9).to_bits()
        );
        assert_ne!(normal_at_f64(key, 9), normal_at_f64(key.with_stream(3), 9));
    }

    // 6. transform accuracy ------------------------------------------------------------------------

    /// Exact (f64) Box–Muller on the same uniforms as the f32 path: u as the f32 path rounds
    /// it (that rounding is part of the definition of the uniform), θ = 2π x/2³² from the
    /// integer (stricter than the f32 angle).
    fn reference(xr: u32, xa: u32) -> (f64, f64) {
        let u = (xr as f32 + 0.5) * 2.328_306_4e-10;
        let r = (-2.0 * (u as f64).ln()).sqrt();
        let th = std::f64::consts::TAU * (xa as f64 / 4294967296.0);
        (r * th.cos(), r * th.sin())
    }

    #[test]
    fn transform_accuracy_vs_f64() {
        let mut max_err = 0f64;
        let mut max_rel_r = 0f64;
        let mut check = |xr: u32, xa: u32| {
            let r = radius(xr);
            let (c, s) = cos_sin_turn(xa);
            let (wc, ws) = reference(xr, xa);
            max_err = max_err
                .max(((r * c) as f64 - wc).abs())
                .max(((r * s) as f64 - ws).abs());
            let u = (xr as f32 + 0.5) * 2.328_306_4e-10;
            let wr = (-2.0 * (u as f64).ln()).sqrt();
            if wr > 0.0 {
                max_rel_r = max_rel_r.max((r as f64 - wr).abs() / wr);
            }
        };
        // Edges of both ranges (tails, u → 1, every quadrant/octant boundary) ...
        let edges = [
            0u32,
            1,
            2,
            255,
            256,
            1 << 23,
            (1 << 24) + 1,
            u32::MAX - 200,
            u32::MAX - 128,
            u32::MAX,
        ];
        let angles: Vec<u32> = (0..8u32)
            .flat_map(|o| {
                [-2i64, -1, 0, 1, 2].map(move |d| ((o as i64) << 29).wrapping_add(d) as u32)
            })
            .collect();
        for &xr in &edges {
            for &xa in &angles {
                check(xr, xa);
            }
        }
        // ... and a dense sweep: every radius input on a 2^8 grid with a varying angle.
        let mut h = 0x1234_5678u32;
        for i in 0..(1u64 << 24) {
            h = h.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            check((i << 8) as u32 | (h >> 24), h);
        }
        eprintln!("max |z_f32 - z_f64| = {max_err:e}, max rel err of r = {max_rel_r:e}");
        assert!(max_err <= 1e-5, "max abs error {max_err}");
        assert!(max_rel_r <= 1e-6, "max rel radius error {max_rel_r}");
        // Never NaN/inf, even at u = 1 (r = 0).
        assert!(radius(u32::MAX).is_finite() && radius(0).is_finite());
        assert!((radius(0) as f64 - (66.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-5);
    }

    // 7. uniforms ----------------------------------------------------------------------------------

    #[test]
    fn uniform_f64_mean_and_range() {
        let key = NoiseKey::new(77, 1, 0);
        let v: Vec<f64> = (0..N as u64).map(|i| uniform_f64(key, i)).collect();
        assert!(v.iter().all(|&u| (0.0..1.0).contains(&u)));
        let n = N as f64;
        let mean = v.iter().sum::<f64>() / n;
        // Var(U) = 1/12.
        assert!(
            (mean - 0.5).abs() < 5.0 * (1.0 / (12.0 * n)).sqrt(),
            "mean {mean}"
        );
        let var = v.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / n;
        // Var of the sample variance of U(0,1): (μ4 − σ⁴)/N = (1/80 − 1/144)/N.
        assert!(
            (var - 1.0 / 12.0).abs() < 5.0 * ((1.0 / 80.0 - 1.0 / 144.0) / n).sqrt(),
            "var {var}"
        );
        // Uniform u64 bits: each bit set with probability 1/2.
        for bit in [0u32, 31, 32, 63] {
            let ones = (0..N as u64)
                .filter(|&i| uniform_u64(key, i) >> bit & 1 == 1)
                .count() as f64;
            assert!(
                (ones / n - 0.5).abs() < 5.0 * (0.25 / n).sqrt(),
                "bit {bit}: {}",
                ones / n
            );
        }
    }
}
