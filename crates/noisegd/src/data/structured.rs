//! Seeded synthetic problems with group-sparse and low-rank truths, for the group-Lasso and
//! nuclear-norm experiments.
//!
//! - Group-sparse: `X` is `n × (groups·k)` with i.i.d. N(0, 1) entries, the blocks `X_j` are its
//!   consecutive `k` columns; `active` groups drawn uniformly carry coefficients
//!   `β_j ~ N(0, I_k)` scaled to norm `1 + |N(0,1)|`; `y = Xβ + noise_std·ε`.
//! - Low-rank: `X` is `n × d₀` i.i.d. N(0, 1), `M* = UVᵀ/√rank` with `U` (`d₂ × rank`) and `V`
//!   (`d₀ × rank`) i.i.d. N(0, 1); `Y = XM*ᵀ + noise_std·E` (`n × d₂`).
//!
//! Draws come from one `ChaCha8Rng::seed_from_u64(seed)` stream in the order written above,
//! then the held-out rows (`n_test`) in the same order; the same config gives bit-identical
//! data.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A problem size or knob out of range; names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid value for `{field}`: {message}")]
pub struct StructuredError {
    /// The config field.
    pub field: &'static str,
    /// Expected vs found.
    pub message: String,
}

fn check(
    ok: bool,
    field: &'static str,
    message: impl FnOnce() -> String,
) -> Result<(), StructuredError> {
    if ok {
        Ok(())
    } else {
        Err(StructuredError {
            field,
            message: message(),
        })
    }
}

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// A group-sparse regression problem.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSparseRegression {
    pub n: usize,
    pub groups: usize,
    pub k: usize,
    /// Row-major `n × (groups·k)`.
    pub x_rows: Vec<f64>,
    pub y: Vec<f64>,
    /// `groups·k` coefficients, group after group.
    pub beta_star: Vec<f64>,
    /// Sorted indices of the active groups.
    pub active: Vec<usize>,
    pub x_test_rows: Vec<f64>,
    pub y_test: Vec<f64>,
}

/// Knobs of [`group_sparse`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSparseConfig {
    pub n: usize,
    pub groups: usize,
    pub k: usize,
    pub active: usize,
    pub noise_std: f64,
    pub n_test: usize,
    pub seed: u64,
}

/// Generates a group-sparse problem (see the module documentation).
pub fn group_sparse(cfg: &GroupSparseConfig) -> Result<GroupSparseRegression, StructuredError> {
    check(cfg.n >= 1, "n", || "must be ≥ 1, found 0".into())?;
    check(cfg.groups >= 1, "groups", || "must be ≥ 1, found 0".into())?;
    check(cfg.k >= 1, "group_size", || "must be ≥ 1, found 0".into())?;
    check(cfg.active <= cfg.groups, "active_groups", || {
        format!("must be ≤ groups = {}, found {}", cfg.groups, cfg.active)
    })?;
    check(
        cfg.noise_std.is_finite() && cfg.noise_std >= 0.0,
        "noise_std",
        || format!("must be finite and ≥ 0, found {}", cfg.noise_std),
    )?;
    let p = cfg.groups * cfg.k;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let x_rows: Vec<f64> = (0..cfg.n * p).map(|_| normal(&mut rng)).collect();
    let mut order: Vec<usize> = (0..cfg.groups).collect();
    for i in 0..cfg.active {
        let pick = rng.random_range(i..cfg.groups);
        order.swap(i, pick);
    }
    let mut active = order[..cfg.active].to_vec();
    active.sort_unstable();
    let mut beta_star = vec![0.0; p];
    for &j in &active {
        let block = &mut beta_star[j * cfg.k..(j + 1) * cfg.k];
        for b in block.iter_mut() {
            *b = normal(&mut rng);
        }
        let norm = block
            .iter()
            .map(|b| b * b)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        let target = 1.0 + normal(&mut rng).abs();
        block.iter_mut().for_each(|b| *b *= target / norm);
    }
    let respond = |rows: &[f64], rng: &mut ChaCha8Rng| -> Vec<f64> {
        rows.chunks_exact(p)
            .map(|row| row.iter().zip(&beta_star).map(|(a, b)| a * b).sum::<f64>())
            .collect::<Vec<_>>()
            .into_iter()
            .map(|fit| fit + cfg.noise_std * normal(rng))
            .collect()
    };
    let y = respond(&x_rows, &mut rng);
    let x_test_rows: Vec<f64> = (0..cfg.n_test * p).map(|_| normal(&mut rng)).collect();
    let y_test = respond(&x_test_rows, &mut rng);
    Ok(GroupSparseRegression {
        n: cfg.n,
        groups: cfg.groups,
        k: cfg.k,
        x_rows,
        y,
        beta_star,
        active,
        x_test_rows,
        y_test,
    })
}

/// A low-rank multi-output regression problem.
#[derive(Debug, Clone, PartialEq)]
pub struct LowRankRegression {
    pub n: usize,
    pub d0: usize,
    pub d2: usize,
    /// Row-major `n × d₀`.
    pub x_rows: Vec<f64>,
    /// Row-major `n × d₂`.
    pub y_rows: Vec<f64>,
    /// Row-major `d₂ × d₀`, rank `rank`.
    pub m_star: Vec<f64>,
    pub rank: usize,
    pub x_test_rows: Vec<f64>,
    pub y_test_rows: Vec<f64>,
}

/// Knobs of [`low_rank`].
#[derive(Debug, Clone, PartialEq)]
pub struct LowRankConfig {
    pub n: usize,
    pub d0: usize,
    pub d2: usize,
    pub rank: usize,
    pub noise_std: f64,
    pub n_test: usize,
    pub seed: u64,
}

/// Generates a low-rank problem (see the module documentation).
pub fn low_rank(cfg: &LowRankConfig) -> Result<LowRankRegression, StructuredError> {
    check(cfg.n >= 1, "n", || "must be ≥ 1, found 0".into())?;
    check(cfg.d0 >= 1 && cfg.d2 >= 1, "d0", || {
        "d0 and d2 must be ≥ 1".into()
    })?;
    check(
        cfg.rank >= 1 && cfg.rank <= cfg.d0.min(cfg.d2),
        "rank",
        || {
            format!(
                "must lie in 1..=min(d0, d2) = {}, found {}",
                cfg.d0.min(cfg.d2),
                cfg.rank
            )
        },
    )?;
    check(
        cfg.noise_std.is_finite() && cfg.noise_std >= 0.0,
        "noise_std",
        || format!("must be finite and ≥ 0, found {}", cfg.noise_std),
    )?;
    let (n, d0, d2, r) = (cfg.n, cfg.d0, cfg.d2, cfg.rank);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let x_rows: Vec<f64> = (0..n * d0).map(|_| normal(&mut rng)).collect();
    let u: Vec<f64> = (0..d2 * r).map(|_| normal(&mut rng)).collect();
    let v: Vec<f64> = (0..d0 * r).map(|_| normal(&mut rng)).collect();
    let scale = 1.0 / (r as f64).sqrt();
    let mut m_star = vec![0.0; d2 * d0];
    for a in 0..d2 {
        for b in 0..d0 {
            m_star[a * d0 + b] = scale * (0..r).map(|c| u[a * r + c] * v[b * r + c]).sum::<f64>();
        }
    }
    let respond = |rows: &[f64], rng: &mut ChaCha8Rng| -> Vec<f64> {
        let mut out = Vec::with_capacity(rows.len() / d0 * d2);
        for row in rows.chunks_exact(d0) {
            for a in 0..d2 {
                let fit: f64 = row
                    .iter()
                    .zip(&m_star[a * d0..(a + 1) * d0])
                    .map(|(x, m)| x * m)
                    .sum();
                out.push(fit);
            }
        }
        out.iter_mut()
            .for_each(|v| *v += cfg.noise_std * normal(rng));
        out
    };
    let y_rows = respond(&x_rows, &mut rng);
    let x_test_rows: Vec<f64> = (0..cfg.n_test * d0).map(|_| normal(&mut rng)).collect();
    let y_test_rows = respond(&x_test_rows, &mut rng);
    Ok(LowRankRegression {
        n,
        d0,
        d2,
        x_rows,
        y_rows,
        m_star,
        rank: r,
        x_test_rows,
        y_test_rows,
    })
}

/// Philox stream of the planted-regression design (away from the theory module's streams).
const PLANTED_STREAM: u32 = 0x5052_4547;

/// The synthetic data of the paper's Figs. 1–2: `X` (n × d₀) with i.i.d. N(0, 1) entries from
/// `seed` and `Y = Xβ*` (n × d₂, the same target on every output, no label noise) with
/// `β* = (planted, 0, …, 0)`. Drawn with the counter-based generator (the theory checks' own
/// matrices come from it too), so `X` does not depend on the thread count.
pub fn planted_regression(
    n: usize,
    d0: usize,
    d2: usize,
    planted: &[f64],
    seed: u64,
) -> (nalgebra::DMatrix<f64>, nalgebra::DMatrix<f64>) {
    let x = crate::theory::smoothed::normal_matrix(
        n,
        d0,
        1.0,
        crate::noise::rng::NoiseKey::new(seed, 0, 0).with_stream(PLANTED_STREAM),
    );
    let mut beta = nalgebra::DVector::zeros(d0);
    beta.rows_mut(0, planted.len())
        .copy_from(&nalgebra::DVector::from_column_slice(planted));
    let target = &x * beta;
    let y = nalgebra::DMatrix::from_fn(n, d2, |i, _| target[i]);
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gcfg() -> GroupSparseConfig {
        GroupSparseConfig {
            n: 30,
            groups: 8,
            k: 3,
            active: 2,
            noise_std: 0.0,
            n_test: 10,
            seed: 1,
        }
    }

    #[test]
    fn group_sparse_is_seeded_and_exactly_group_sparse() {
        let a = group_sparse(&gcfg()).unwrap();
        assert_eq!(a, group_sparse(&gcfg()).unwrap());
        assert_ne!(
            a.x_rows,
            group_sparse(&GroupSparseConfig { seed: 2, ..gcfg() })
                .unwrap()
                .x_rows
        );
        assert_eq!(a.active.len(), 2);
        for j in 0..8 {
            let norm: f64 = a.beta_star[j * 3..j * 3 + 3]
                .iter()
                .map(|b| b * b)
                .sum::<f64>()
                .sqrt();
            assert_eq!(norm > 0.0, a.active.contains(&j), "group {j}");
            if norm > 0.0 {
                assert!(norm >= 1.0 - 1e-12);
            }
        }
        // Noise-free: y = Xβ exactly.
        let fit: Vec<f64> = a
            .x_rows
            .chunks_exact(24)
            .map(|r| r.iter().zip(&a.beta_star).map(|(x, b)| x * b).sum())
            .collect();
        for (f, y) in fit.iter().zip(&a.y) {
            assert!((f - y).abs() < 1e-12);
        }
        let err = group_sparse(&GroupSparseConfig {
            active: 9,
            ..gcfg()
        })
        .unwrap_err();
        assert_eq!(err.field, "active_groups");
    }

    #[test]
    fn low_rank_truth_has_the_stated_rank() {
        let cfg = LowRankConfig {
            n: 20,
            d0: 6,
            d2: 5,
            rank: 2,
            noise_std: 0.1,
            n_test: 5,
            seed: 3,
        };
        let p = low_rank(&cfg).unwrap();
        assert_eq!(p, low_rank(&cfg).unwrap());
        // Rank of M* (5 × 6) by Gaussian elimination with a relative pivot threshold.
        let mut m = p.m_star.clone();
        let (rows, cols) = (5, 6);
        let mut rank = 0;
        for c in 0..cols {
            let pivot = (rank..rows)
                .max_by(|&a, &b| m[a * cols + c].abs().total_cmp(&m[b * cols + c].abs()));
            let Some(pr) = pivot else { break };
            if m[pr * cols + c].abs() < 1e-9 {
                continue;
            }
            for j in 0..cols {
                m.swap(rank * cols + j, pr * cols + j);
            }
            for r in 0..rows {
                if r != rank {
                    let f = m[r * cols + c] / m[rank * cols + c];
                    for j in 0..cols {
                        m[r * cols + j] -= f * m[rank * cols + j];
                    }
                }
            }
            rank += 1;
        }
        assert_eq!(rank, 2);
        assert_eq!(p.y_rows.len(), 20 * 5);
        assert_eq!(p.y_test_rows.len(), 5 * 5);
        let err = low_rank(&LowRankConfig { rank: 6, ..cfg }).unwrap_err();
        assert_eq!(err.field, "rank");
    }
}
