//! The perturbed copy `w + std·ε` drawn on the GPU, from the same Philox stream as the CPU.
//!
//! Why a kernel: without it a perturbed step uploads its noise from the host, as many floats as
//! the perturbed tensors hold (ResNet-18 under `all`: 11 M normals, 45 MB, every step). Here the
//! device computes `normal_at(key, i)` itself ([`crate::noise::rng`] is the definition): one unit
//! per Philox4x32-10 block, whose four words make the two Box–Muller pairs of elements
//! `64c + k + 16j` (`j = 0..4`, block `16c + k`), with the same integer range reduction and the
//! same Cephes `logf` / `sinf` / `cosf` polynomials in the same order of operations.
//!
//! The integers (Philox, the quarter-turn reduction) are exact on every device; the floats are
//! IEEE `+ − ×`, `sqrt` and int→float conversions, which a shader compiler may contract into
//! fused multiply-adds or round differently (WGSL allows both), so the GPU's numbers can differ
//! from the CPU's in the last bits. `tests/gpu.rs` measures the difference in ULPs and bounds it.

use crate::noise::rng::{f32_philox_inputs, NoiseKey};
use burn::backend::wgpu::CubeTensor;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use cubecl::prelude::*;
use cubecl::{calculate_cube_count_elemwise, CubeDim};

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32-10 of the counter `(c0, 0, c2, c3)` under the key `(k0, k1)`.
#[cube]
fn philox(c0: u32, c2: u32, c3: u32, k0: u32, k1: u32) -> (u32, u32, u32, u32) {
    let mut x0 = c0;
    let mut x1 = 0u32;
    let mut x2 = c2;
    let mut x3 = c3;
    let mut ka = k0;
    let mut kb = k1;
    #[unroll]
    for _ in 0..10u32 {
        let hi0 = u32::mul_hi(x0, M0);
        let lo0 = x0 * M0;
        let hi1 = u32::mul_hi(x2, M1);
        let lo1 = x2 * M1;
        x0 = hi1 ^ x1 ^ ka;
        x1 = lo1;
        x2 = hi0 ^ x3 ^ kb;
        x3 = lo0;
        ka += W0;
        kb += W1;
    }
    (x0, x1, x2, x3)
}

/// `sqrt(−2 ln u)`, `u = (f32(x) + 0.5)·2⁻³²`: `rng::radius` step for step.
#[cube]
fn radius(x: u32) -> f32 {
    let u = (f32::cast_from(x) + 0.5f32) * 2.328_306_4e-10f32;
    let bits = u32::reinterpret(u);
    let mut e = i32::cast_from(bits >> 23u32) - 127i32;
    let mut mbits = (bits & 0x007F_FFFFu32) | 0x3F80_0000u32;
    if mbits > 0x3FB5_04F3u32 {
        mbits -= 0x0080_0000u32;
        e += 1i32;
    }
    let x = f32::reinterpret(mbits) - 1.0f32;
    let fe = f32::cast_from(e);
    let z = x * x;
    let mut y = 7.037_683_6e-2f32;
    y = y * x - 1.151_461e-1f32;
    y = y * x + 1.167_699_9e-1f32;
    y = y * x - 1.242_014_1e-1f32;
    y = y * x + 1.424_932_3e-1f32;
    y = y * x - 1.666_805_8e-1f32;
    y = y * x + 2.000_071_5e-1f32;
    y = y * x - 2.499_999_4e-1f32;
    y = y * x + 3.333_333e-1f32;
    y = y * x * z;
    y += -2.121_944_4e-4f32 * fe;
    y += -0.5f32 * z;
    let mut ln = x + y;
    ln += 0.693_359_4f32 * fe;
    f32::sqrt(-2.0f32 * ln)
}

/// `(cos θ, sin θ)` for `θ = 2π·x/2³²`: `rng::cos_sin_turn` step for step.
#[cube]
fn cos_sin_turn(x: u32) -> (f32, f32) {
    let q = (x + 0x2000_0000u32) >> 30u32;
    let s = i32::reinterpret(x - (q << 30u32));
    let phi = f32::cast_from(s) * 1.462_918_1e-9f32;
    let z = phi * phi;
    let sn = ((-1.951_529_6e-4f32 * z + 8.332_161e-3f32) * z - 1.666_665_5e-1f32) * z * phi + phi;
    let cs = ((2.443_315_7e-5f32 * z - 1.388_731_6e-3f32) * z + 4.166_664_6e-2f32) * z * z
        - 0.5f32 * z
        + 1.0f32;
    let mut a = cs;
    let mut b = sn;
    if (q & 1u32) != 0u32 {
        a = sn;
        b = cs;
    }
    let cos_t = f32::reinterpret(u32::reinterpret(a) ^ (((q + 1u32) & 2u32) << 30u32));
    let sin_t = f32::reinterpret(u32::reinterpret(b) ^ ((q & 2u32) << 30u32));
    (cos_t, sin_t)
}

/// `out[i] = base[i] + std · normal_at(key, i)` for the block of this unit (contiguous tensors).
#[cube(launch)]
fn noisy_copy_kernel(
    base: &Tensor<f32>,
    out: &mut Tensor<f32>,
    k0: u32,
    k1: u32,
    c2: u32,
    c3: u32,
    std: f32,
) {
    let block = ABSOLUTE_POS;
    let n = out.len();
    let first = (block / 16) * 64 + block % 16;
    if first >= n {
        terminate!();
    }
    let (x0, x1, x2, x3) = philox(block as u32, c2, c3, k0, k1);
    let r01 = radius(x0);
    let (c01, s01) = cos_sin_turn(x1);
    let r23 = radius(x2);
    let (c23, s23) = cos_sin_turn(x3);
    out[first] = base[first] + std * (r01 * c01);
    if first + 16 < n {
        out[first + 16] = base[first + 16] + std * (r01 * s01);
    }
    if first + 32 < n {
        out[first + 32] = base[first + 32] + std * (r23 * c23);
    }
    if first + 48 < n {
        out[first + 48] = base[first + 48] + std * (r23 * s23);
    }
}

/// A new tensor `base + std·ε` on `base`'s device, ε element `i` being
/// `rng::normal_at(key, i)` (in the tensor's row-major order); `base` is only read.
pub fn noisy_copy(base: CubeTensor, key: NoiseKey, std: f32) -> CubeTensor {
    let base = into_contiguous(base);
    let n = base.meta.num_elements();
    // Block indices fit the counter's low word (the high word is 0, as on the CPU).
    assert!(
        n.div_ceil(64) * 16 <= u32::MAX as usize,
        "noisy_copy: {n} elements exceed the GPU kernel's 2^34"
    );
    let out = empty_device_dtype(
        base.client.clone(),
        base.device.clone(),
        base.meta.shape().clone(),
        base.dtype,
    );
    if n == 0 {
        return out;
    }
    let [k0, k1, c2, c3] = f32_philox_inputs(key);
    let units = n.div_ceil(64) * 16;
    let cube_dim = CubeDim::new(&base.client, units);
    let cube_count = calculate_cube_count_elemwise(&base.client, units, cube_dim);
    let client = base.client.clone();
    noisy_copy_kernel::launch(
        &client,
        cube_count,
        cube_dim,
        base.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        k0,
        k1,
        c2,
        c3,
        std,
    );
    out
}
