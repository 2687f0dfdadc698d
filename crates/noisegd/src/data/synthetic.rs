//! Seeded synthetic sparse linear regression, the data on which the
//! "PGD on a diagonal linear network ≈ weighted Lasso" claim is checked.
//!
//! Model: `y = Xβ* + noise_std·ε` with
//! - rows of `X` Gaussian with unit variances and AR(1) correlation
//!   `corr(X_ij, X_ik) = ρ^|j−k|` (`correlation` = ρ; ρ = 0 gives i.i.d. N(0, 1) entries,
//!   built as `x_j = ρ·x_{j−1} + √(1−ρ²)·z_j` from the same draws `z`), then (if `normalize_columns`) each column scaled
//!   so that `(XᵀX)_jj = ‖X_j‖² = n`, the normalisation the paper assumes
//!   (it makes the implied Lasso weights `λ_j = 2σ²(XᵀX)_jj/n = 2σ²` uniform);
//! - `support`: `sparsity` distinct indices drawn uniformly (partial
//!   Fisher–Yates), returned sorted;
//! - `β*_j = ±(1 + |N(0,1)|)` on the support (fair random sign), 0 elsewhere.
//!   Magnitudes are at least 1 so that the true support is well separated from
//!   0 and support recovery is a meaningful test rather than a coin flip;
//! - `ε_i ~ N(0, 1)` i.i.d.
//!
//! All randomness comes from one `ChaCha8Rng::seed_from_u64(seed)` stream in
//! a fixed order: all of `X` (row-major), then the support swaps, then for
//! each support index in sorted order its sign and then its magnitude, then
//! the `n` noise draws, and last the held-out test set (`n_test` rows of `X`, scaled by the
//! training columns' factors, then their `n_test` noise draws). The noise is drawn even when
//! `noise_std = 0`, so two configs that differ only in `noise_std` share `X`, `β*` and `ε`,
//! and the training data do not depend on `n_test`.
//! Same config ⇒ bit-identical data (for fixed versions of `rand`,
//! `rand_chacha` and `rand_distr`, whose sampling algorithms define the
//! stream).

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use thiserror::Error;

use crate::theory::lasso::{Design, LassoError};

/// Invalid [`SparseRegressionConfig`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SyntheticError {
    /// `n` or `d` is zero.
    #[error("`{field}` must be at least 1, got 0")]
    ZeroDimension { field: &'static str },

    /// More non-zeros requested than there are coordinates.
    #[error("`sparsity` = {sparsity} exceeds `d` = {d}; the support must fit in d coordinates")]
    SparsityTooLarge { sparsity: usize, d: usize },

    /// Negative, NaN or infinite noise level.
    #[error("`noise_std` must be finite and >= 0, got {value}")]
    InvalidNoiseStd { value: f64 },

    /// Correlation outside (−1, 1).
    #[error("`correlation` must lie in (-1, 1), got {value}")]
    InvalidCorrelation { value: f64 },

    /// `n·d` does not fit in `usize`.
    #[error("`n` = {n} times `d` = {d} overflows usize")]
    TooLarge { n: usize, d: usize },
}

/// Parameters of [`generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRegressionConfig {
    pub n: usize,
    pub d: usize,
    /// Number of non-zero entries of `β*` (`<= d`; 0 gives pure noise).
    pub sparsity: usize,
    pub noise_std: f64,
    /// Scale columns so `(XᵀX)_jj = n`, as the paper assumes.
    pub normalize_columns: bool,
    /// AR(1) correlation ρ between neighbouring features (0 = independent).
    pub correlation: f64,
    /// Rows of the held-out test set, drawn from the same distribution after the training data.
    pub n_test: usize,
    pub seed: u64,
}

/// A generated data set.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRegression {
    pub n: usize,
    pub d: usize,
    /// Row-major `n × d`: `x_rows[i*d + j] = X_ij`.
    pub x_rows: Vec<f64>,
    pub y: Vec<f64>,
    pub beta_star: Vec<f64>,
    /// Sorted, distinct indices where `beta_star` is non-zero.
    pub support: Vec<usize>,
    /// Row-major `n_test × d` held-out features.
    pub x_test_rows: Vec<f64>,
    /// Held-out targets.
    pub y_test: Vec<f64>,
}

impl SparseRegression {
    /// `X` as a column-major [`Design`] for the Lasso solver. Fails only if
    /// the public fields were edited into an inconsistent state.
    pub fn design(&self) -> Result<Design, LassoError> {
        Design::from_rows(self.n, self.d, &self.x_rows)
    }
}

/// Generates `y = Xβ* + noise_std·ε` as described in the module docs.
pub fn generate(cfg: &SparseRegressionConfig) -> Result<SparseRegression, SyntheticError> {
    let (n, d) = (cfg.n, cfg.d);
    if n == 0 {
        return Err(SyntheticError::ZeroDimension { field: "n" });
    }
    if d == 0 {
        return Err(SyntheticError::ZeroDimension { field: "d" });
    }
    if cfg.sparsity > d {
        return Err(SyntheticError::SparsityTooLarge {
            sparsity: cfg.sparsity,
            d,
        });
    }
    if !(cfg.noise_std.is_finite() && cfg.noise_std >= 0.0) {
        return Err(SyntheticError::InvalidNoiseStd {
            value: cfg.noise_std,
        });
    }
    if !(cfg.correlation.is_finite() && cfg.correlation.abs() < 1.0) {
        return Err(SyntheticError::InvalidCorrelation {
            value: cfg.correlation,
        });
    }
    let len = n.checked_mul(d).ok_or(SyntheticError::TooLarge { n, d })?;
    let test_len = cfg
        .n_test
        .checked_mul(d)
        .ok_or(SyntheticError::TooLarge { n: cfg.n_test, d })?;

    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);

    let mut x_rows = gaussian_rows(&mut rng, len, d, cfg.correlation);
    let mut scales = vec![1.0; d];
    if cfg.normalize_columns {
        for (j, scale) in scales.iter_mut().enumerate() {
            let sq: f64 = (0..n).map(|i| x_rows[i * d + j] * x_rows[i * d + j]).sum();
            // A zero Gaussian column has probability 0; leave it alone rather
            // than divide by zero.
            if sq > 0.0 {
                *scale = (n as f64 / sq).sqrt();
                for i in 0..n {
                    x_rows[i * d + j] *= *scale;
                }
            }
        }
    }

    // Partial Fisher–Yates: the first `sparsity` slots end up a uniform
    // random subset. Written out (rather than `rand::seq::index::sample`,
    // which switches algorithm with the sizes) to keep the stream documented.
    let mut idx: Vec<usize> = (0..d).collect();
    for k in 0..cfg.sparsity {
        let pick = rng.random_range(k..d);
        idx.swap(k, pick);
    }
    let mut support = idx[..cfg.sparsity].to_vec();
    support.sort_unstable();

    let mut beta_star = vec![0.0; d];
    for &j in &support {
        let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
        beta_star[j] = sign * (1.0 + normal(&mut rng).abs());
    }

    let mut y = vec![0.0; n];
    for (i, yi) in y.iter_mut().enumerate() {
        let row = &x_rows[i * d..(i + 1) * d];
        *yi = support.iter().map(|&j| row[j] * beta_star[j]).sum();
    }
    for yi in &mut y {
        *yi += cfg.noise_std * normal(&mut rng);
    }

    let mut x_test_rows = gaussian_rows(&mut rng, test_len, d, cfg.correlation);
    for row in x_test_rows.chunks_exact_mut(d) {
        for (v, scale) in row.iter_mut().zip(&scales) {
            *v *= scale;
        }
    }
    let y_test = x_test_rows
        .chunks_exact(d)
        .map(|row| {
            let fit: f64 = support.iter().map(|&j| row[j] * beta_star[j]).sum();
            fit + cfg.noise_std * normal(&mut rng)
        })
        .collect();

    Ok(SparseRegression {
        n,
        d,
        x_rows,
        y,
        beta_star,
        support,
        x_test_rows,
        y_test,
    })
}

/// `len / d` rows with AR(1)-correlated unit-variance entries; with ρ = 0 these are exactly
/// the i.i.d. draws.
fn gaussian_rows<R: Rng + ?Sized>(rng: &mut R, len: usize, d: usize, rho: f64) -> Vec<f64> {
    let mut x: Vec<f64> = (0..len).map(|_| normal(rng)).collect();
    if rho != 0.0 {
        let innovation = (1.0 - rho * rho).sqrt();
        for row in x.chunks_exact_mut(d) {
            for j in 1..d {
                row[j] = rho * row[j - 1] + innovation * row[j];
            }
        }
    }
    x
}

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SparseRegressionConfig {
        SparseRegressionConfig {
            n: 50,
            d: 80,
            sparsity: 6,
            noise_std: 0.3,
            normalize_columns: true,
            correlation: 0.0,
            n_test: 0,
            seed: 7,
        }
    }

    #[test]
    fn test_set_follows_the_training_draws_without_changing_them() {
        let base = generate(&cfg()).unwrap();
        let with_test = generate(&SparseRegressionConfig {
            n_test: 500,
            ..cfg()
        })
        .unwrap();
        assert_eq!(base.x_rows, with_test.x_rows);
        assert_eq!(base.y, with_test.y);
        assert_eq!(with_test.y_test.len(), 500);
        // Same model on fresh rows: the residual's std is noise_std within a derived tolerance.
        let d = with_test.d;
        let resid: Vec<f64> = with_test
            .x_test_rows
            .chunks_exact(d)
            .zip(&with_test.y_test)
            .map(|(row, y)| {
                y - row
                    .iter()
                    .zip(&with_test.beta_star)
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            })
            .collect();
        let sd = (resid.iter().map(|r| r * r).sum::<f64>() / 500.0).sqrt();
        assert!(
            (sd - 0.3).abs() < 5.0 * 0.3 / (2.0f64 * 500.0).sqrt(),
            "{sd}"
        );
    }

    #[test]
    fn correlation_gives_ar1_neighbours() {
        let data = generate(&SparseRegressionConfig {
            n: 20_000,
            d: 3,
            sparsity: 1,
            normalize_columns: false,
            correlation: 0.6,
            ..cfg()
        })
        .unwrap();
        let col = |j: usize| {
            data.x_rows
                .iter()
                .skip(j)
                .step_by(3)
                .copied()
                .collect::<Vec<_>>()
        };
        let corr = |a: &[f64], b: &[f64]| {
            let n = a.len() as f64;
            let dot = a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / n;
            let va = a.iter().map(|x| x * x).sum::<f64>() / n;
            let vb = b.iter().map(|x| x * x).sum::<f64>() / n;
            dot / (va * vb).sqrt()
        };
        // Sample correlation's sd ≈ (1 − ρ²)/√n.
        let tol = |rho: f64| 5.0 * (1.0 - rho * rho) / (20_000f64).sqrt();
        assert!((corr(&col(0), &col(1)) - 0.6).abs() < tol(0.6));
        assert!((corr(&col(0), &col(2)) - 0.36).abs() < tol(0.36));
        assert!(matches!(
            generate(&SparseRegressionConfig {
                correlation: 1.0,
                ..cfg()
            }),
            Err(SyntheticError::InvalidCorrelation { .. })
        ));
    }

    #[test]
    fn same_seed_is_bit_identical() {
        let a = generate(&cfg()).unwrap();
        let b = generate(&cfg()).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.x_rows), bits(&b.x_rows));
        assert_eq!(bits(&a.y), bits(&b.y));
        assert_eq!(bits(&a.beta_star), bits(&b.beta_star));
        assert_eq!(a.support, b.support);
    }

    #[test]
    fn different_seeds_differ() {
        let a = generate(&cfg()).unwrap();
        let b = generate(&SparseRegressionConfig { seed: 8, ..cfg() }).unwrap();
        assert_ne!(a.x_rows, b.x_rows);
        assert_ne!(a.y, b.y);
        assert_ne!(a.beta_star, b.beta_star);
    }

    /// Only the noise term depends on `noise_std`, as documented.
    #[test]
    fn noise_std_only_changes_noise() {
        let a = generate(&cfg()).unwrap();
        let b = generate(&SparseRegressionConfig {
            noise_std: 0.0,
            ..cfg()
        })
        .unwrap();
        assert_eq!(a.x_rows, b.x_rows);
        assert_eq!(a.beta_star, b.beta_star);
        let xb = b.design().unwrap().mul(&b.beta_star);
        for (y, f) in b.y.iter().zip(&xb) {
            assert!((y - f).abs() < 1e-12);
        }
        assert_ne!(a.y, b.y);
    }

    #[test]
    fn columns_normalized() {
        let data = generate(&cfg()).unwrap();
        let x = data.design().unwrap();
        for s in x.column_sq_norms() {
            assert!((s - data.n as f64).abs() < 1e-10, "{s}");
        }
        let raw = generate(&SparseRegressionConfig {
            normalize_columns: false,
            ..cfg()
        })
        .unwrap();
        let norms = raw.design().unwrap().column_sq_norms();
        assert!(norms.iter().any(|s| (s - raw.n as f64).abs() > 1.0));
    }

    #[test]
    fn support_sorted_distinct_and_matches_beta() {
        for seed in 0..20 {
            let data = generate(&SparseRegressionConfig {
                seed,
                d: 12,
                sparsity: 9,
                ..cfg()
            })
            .unwrap();
            assert_eq!(data.support.len(), 9);
            assert!(data.support.windows(2).all(|w| w[0] < w[1]));
            assert!(data.support.iter().all(|&j| j < 12));
            for j in 0..12 {
                let on = data.support.contains(&j);
                assert_eq!(data.beta_star[j] != 0.0, on);
                if on {
                    assert!(data.beta_star[j].abs() >= 1.0);
                }
            }
        }
        let full = generate(&SparseRegressionConfig {
            sparsity: 80,
            ..cfg()
        })
        .unwrap();
        assert_eq!(full.support, (0..80).collect::<Vec<_>>());
        let none = generate(&SparseRegressionConfig {
            sparsity: 0,
            ..cfg()
        })
        .unwrap();
        assert!(none.support.is_empty() && none.beta_star.iter().all(|&b| b == 0.0));
    }

    /// The sample std of y − Xβ* estimates noise_std with standard error
    /// ≈ σ/√(2n); allow 5 of those.
    #[test]
    fn noise_level() {
        let n = 20_000;
        let sigma = 0.7;
        let data = generate(&SparseRegressionConfig {
            n,
            d: 5,
            sparsity: 3,
            noise_std: sigma,
            ..cfg()
        })
        .unwrap();
        let xb = data.design().unwrap().mul(&data.beta_star);
        let e: Vec<f64> = data.y.iter().zip(&xb).map(|(y, f)| y - f).collect();
        let mean = e.iter().sum::<f64>() / n as f64;
        let var = e.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        let tol = 5.0 * sigma / (2.0 * n as f64).sqrt();
        assert!(
            (var.sqrt() - sigma).abs() < tol,
            "std {} vs {sigma} ± {tol}",
            var.sqrt()
        );
        assert!(mean.abs() < 5.0 * sigma / (n as f64).sqrt());
    }

    #[test]
    fn errors() {
        use SyntheticError as E;
        assert_eq!(
            generate(&SparseRegressionConfig { n: 0, ..cfg() }),
            Err(E::ZeroDimension { field: "n" })
        );
        assert_eq!(
            generate(&SparseRegressionConfig { d: 0, ..cfg() }),
            Err(E::ZeroDimension { field: "d" })
        );
        assert_eq!(
            generate(&SparseRegressionConfig {
                sparsity: 81,
                ..cfg()
            }),
            Err(E::SparsityTooLarge {
                sparsity: 81,
                d: 80
            })
        );
        assert_eq!(
            generate(&SparseRegressionConfig {
                noise_std: -0.1,
                ..cfg()
            }),
            Err(E::InvalidNoiseStd { value: -0.1 })
        );
        assert!(matches!(
            generate(&SparseRegressionConfig {
                noise_std: f64::NAN,
                ..cfg()
            }),
            Err(E::InvalidNoiseStd { .. })
        ));
        assert!(matches!(
            generate(&SparseRegressionConfig {
                noise_std: f64::INFINITY,
                ..cfg()
            }),
            Err(E::InvalidNoiseStd { .. })
        ));
        assert!(matches!(
            generate(&SparseRegressionConfig {
                n: usize::MAX,
                d: 2,
                sparsity: 1,
                ..cfg()
            }),
            Err(E::TooLarge { .. })
        ));
        let msg = generate(&SparseRegressionConfig {
            sparsity: 81,
            ..cfg()
        })
        .unwrap_err()
        .to_string();
        assert!(msg.contains("sparsity") && msg.contains("`d`"));
    }

    /// End to end: on well-conditioned data, the Lasso at the paper's weights
    /// recovers the true support.
    #[test]
    fn lasso_recovers_support() {
        use crate::theory::lasso::{lambda_from_noise, LassoOptions, WeightedLasso};
        let data = generate(&SparseRegressionConfig {
            n: 200,
            d: 50,
            sparsity: 4,
            noise_std: 0.1,
            ..cfg()
        })
        .unwrap();
        let x = data.design().unwrap();
        let lambda = lambda_from_noise(&x, 0.2); // 2σ² = 0.08 per coordinate
        let sol = WeightedLasso {
            x: &x,
            y: &data.y,
            lambda: &lambda,
        }
        .solve(&LassoOptions::default())
        .unwrap();
        assert!(sol.converged);
        let found: Vec<usize> = (0..50).filter(|&j| sol.beta[j] != 0.0).collect();
        assert_eq!(found, data.support);
    }
}
