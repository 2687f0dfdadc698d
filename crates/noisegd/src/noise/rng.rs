//! PLACEHOLDER until the real counter-based generator lands (scalar SplitMix + Box–Muller).
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoiseKey {
    pub seed: u64,
    pub step: u64,
    pub group: u32,
    pub stream: u32,
}

impl NoiseKey {
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

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^ (z >> 31)
}

pub fn uniform_u64(key: NoiseKey, index: u64) -> u64 {
    let k = mix(key.seed ^ mix(key.step ^ mix(((key.group as u64) << 32) | key.stream as u64)));
    mix(k ^ mix(index))
}

pub fn uniform_f64(key: NoiseKey, index: u64) -> f64 {
    (uniform_u64(key, index) >> 11) as f64 / (1u64 << 53) as f64
}

pub fn normal_at_f64(key: NoiseKey, index: u64) -> f64 {
    let u = uniform_u64(key, index);
    let u1 = ((u >> 32) as f64 + 0.5) / 4294967296.0;
    let u2 = ((u & 0xffff_ffff) as f64) / 4294967296.0;
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

pub fn normal_at(key: NoiseKey, index: u64) -> f32 {
    normal_at_f64(key, index) as f32
}

pub fn fill_normal(key: NoiseKey, start: u64, std: f32, out: &mut [f32]) {
    out.par_iter_mut()
        .enumerate()
        .for_each(|(i, o)| *o = std * normal_at(key, start + i as u64));
}

pub fn fill_normal_f64(key: NoiseKey, start: u64, std: f64, out: &mut [f64]) {
    out.par_iter_mut()
        .enumerate()
        .for_each(|(i, o)| *o = std * normal_at_f64(key, start + i as u64));
}

pub fn add_normal(key: NoiseKey, std: f32, base: &[f32], out: &mut [f32]) {
    out.par_iter_mut()
        .zip(base.par_iter())
        .enumerate()
        .for_each(|(i, (o, b))| *o = b + std * normal_at(key, i as u64));
}

pub fn add_normal_in_place(key: NoiseKey, std: f32, buf: &mut [f32]) {
    buf.par_iter_mut()
        .enumerate()
        .for_each(|(i, o)| *o += std * normal_at(key, i as u64));
}
