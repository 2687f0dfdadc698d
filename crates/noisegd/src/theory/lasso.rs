//! Certified reference solver for the weighted Lasso.
//!
//! The paper's claim for the diagonal linear network is that perturbed GD
//! minimises, in expectation,
//!
//! ```text
//! P(β) = (1/2n)‖y − Xβ‖² + Σ_j λ_j |β_j|,      λ_j = 2 σ² (XᵀX)_jj / n
//! ```
//!
//! so the experiments need the *exact* minimiser of `P` to compare against.
//! This module owns that: a small dense [`Design`] matrix, the problem
//! [`WeightedLasso`], and a cyclic coordinate-descent solver whose answer comes
//! with a duality-gap certificate, so "converged" is a proven statement about
//! the objective rather than "the iterates stopped moving".
//!
//! # Coordinate update
//!
//! With the residual `r = y − Xβ` and `r₋ⱼ = r + X_j β_j`, the objective as a
//! function of `b = β_j` alone is `(1/2n)‖r₋ⱼ − X_j b‖² + λ_j|b| + const`.
//! Its minimiser is
//!
//! ```text
//! β_j ← S(β_j + X_jᵀr/‖X_j‖²,  n λ_j/‖X_j‖²),     S(z, t) = sign(z)·max(|z| − t, 0)
//! ```
//!
//! (the `n` in the threshold comes from the `1/2n` in front of the loss; with
//! columns normalised to `‖X_j‖² = n` it is just `λ_j`). A zero column does
//! not enter the loss at all, so its coefficient is pinned to 0.
//!
//! # Dual and certificate
//!
//! Write `P(β) = f(Xβ) + g(β)` with `f(z) = (1/2n)‖y − z‖²`, `g(β) = Σλ_j|β_j|`.
//! Then `f*(u) = uᵀy + (n/2)‖u‖²` and `g*` is the indicator of
//! `{v : |v_j| ≤ λ_j}`. Fenchel duality, `max_u −f*(u) − g*(−Xᵀu)`, with
//! `θ = −u` gives
//!
//! ```text
//! D(θ) = θᵀy − (n/2)‖θ‖² = (1/2n)‖y‖² − (n/2)‖θ − y/n‖²   s.t. |X_jᵀθ| ≤ λ_j ∀j,
//! ```
//!
//! and the optimality condition `u = ∇f(Xβ)` reads `θ* = r*/n`. For any
//! iterate, `θ = s·r/n` is dual feasible whenever
//! `|s| ≤ s_max = min(1, min_j λ_j / |X_jᵀr/n|)`. The brief's point is
//! `s = s_max`; we take the best `s` on that segment instead,
//! `s = clamp(rᵀy/‖r‖², −s_max, s_max)` (the unconstrained maximiser of the
//! concave quadratic `s ↦ D(s·r/n)`), which is never worse. Weak duality gives
//! `D(θ) ≤ P(β*) ≤ P(β)`, so `gap = P(β) − D(θ)` bounds the suboptimality of
//! `β`, and `rel_gap = gap / max(P(β), tiny)` is what `tol` is compared with.
//!
//! The certificate needs `λ_j > 0` for every non-zero column: with `λ_j = 0`
//! the feasible set forces `X_jᵀθ = 0`, which a rescaled residual only meets
//! at the exact optimum, so the gap would never close. Such inputs are
//! rejected with [`LassoError::ZeroLambda`] (use a tiny positive value).
//!
//! The KKT residual reported alongside is
//! `max_j |X_jᵀr/n − λ_j sign β_j|` over `β_j ≠ 0` and
//! `max_j (|X_jᵀr/n| − λ_j)₊` over `β_j = 0`.

use super::duality::{rescaled_residual_gap, Gap};
use thiserror::Error;

/// Errors from building a [`Design`] or validating a [`WeightedLasso`].
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum LassoError {
    /// The design has no rows or no columns.
    #[error("design must have at least one row and one column, got n = {n}, d = {d}")]
    EmptyDesign { n: usize, d: usize },

    /// A slice has the wrong length.
    #[error("{what} has the wrong length: expected {expected}, found {found}")]
    DimensionMismatch {
        what: &'static str,
        expected: usize,
        found: usize,
    },

    /// `n·d` does not fit in `usize`.
    #[error("design of n = {n} rows by d = {d} columns is too large (n·d overflows usize)")]
    TooLarge { n: usize, d: usize },

    /// A NaN or infinite input.
    #[error("{what} contains a non-finite value {value} at {location}; all inputs must be finite")]
    NonFinite {
        what: &'static str,
        location: String,
        value: f64,
    },

    /// A negative penalty weight.
    #[error("lambda[{index}] = {value} is negative; penalty weights must be >= 0")]
    NegativeLambda { index: usize, value: f64 },

    /// A zero penalty on a non-zero column.
    #[error(
        "lambda[{index}] = 0 on a non-zero column is not supported: the duality-gap \
         certificate needs every penalised coordinate to have lambda > 0; use a tiny \
         positive value instead (e.g. 1e-12 times the other weights)"
    )]
    ZeroLambda { index: usize },

    /// A bad value in [`LassoOptions`].
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: String,
    },
}

/// Dense `n × d` design matrix, stored column-major because coordinate
/// descent reads one column at a time.
///
/// Constructors check length and finiteness; `n` and `d` are public for
/// reading, but changing them desynchronises the storage (don't).
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub n: usize,
    pub d: usize,
    data: Vec<f64>,
}

impl Design {
    /// Builds from row-major data (`row_major[i*d + j] = X_ij`).
    pub fn from_rows(n: usize, d: usize, row_major: &[f64]) -> Result<Self, LassoError> {
        let len = Self::check_shape(n, d, row_major.len())?;
        if let Some(k) = row_major.iter().position(|v| !v.is_finite()) {
            return Err(LassoError::NonFinite {
                what: "design matrix",
                location: format!("row {}, column {}", k / d, k % d),
                value: row_major[k],
            });
        }
        let mut data = vec![0.0; len];
        for i in 0..n {
            for j in 0..d {
                data[j * n + i] = row_major[i * d + j];
            }
        }
        Ok(Self { n, d, data })
    }

    /// Builds from column-major data (`col_major[j*n + i] = X_ij`).
    pub fn from_columns(n: usize, d: usize, col_major: &[f64]) -> Result<Self, LassoError> {
        Self::check_shape(n, d, col_major.len())?;
        if let Some(k) = col_major.iter().position(|v| !v.is_finite()) {
            return Err(LassoError::NonFinite {
                what: "design matrix",
                location: format!("row {}, column {}", k % n, k / n),
                value: col_major[k],
            });
        }
        Ok(Self {
            n,
            d,
            data: col_major.to_vec(),
        })
    }

    fn check_shape(n: usize, d: usize, found: usize) -> Result<usize, LassoError> {
        if n == 0 || d == 0 {
            return Err(LassoError::EmptyDesign { n, d });
        }
        let expected = n.checked_mul(d).ok_or(LassoError::TooLarge { n, d })?;
        if found != expected {
            return Err(LassoError::DimensionMismatch {
                what: "design data (n·d entries)",
                expected,
                found,
            });
        }
        Ok(expected)
    }

    /// Column `j` (length `n`). Panics if `j >= d`.
    pub fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.n..(j + 1) * self.n]
    }

    /// Entry `X_ij`. Panics if out of range.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(i < self.n && j < self.d, "index ({i}, {j}) out of range");
        self.data[j * self.n + i]
    }

    /// `(XᵀX)_jj = ‖X_j‖²` for every column.
    pub fn column_sq_norms(&self) -> Vec<f64> {
        (0..self.d).map(|j| dot(self.col(j), self.col(j))).collect()
    }

    /// `Xβ`. Panics if `beta.len() != d`.
    pub fn mul(&self, beta: &[f64]) -> Vec<f64> {
        assert_eq!(
            beta.len(),
            self.d,
            "beta has length {}, expected d = {}",
            beta.len(),
            self.d
        );
        let mut out = vec![0.0; self.n];
        for (j, &b) in beta.iter().enumerate() {
            if b != 0.0 {
                axpy(b, self.col(j), &mut out);
            }
        }
        out
    }

    /// `Xᵀv`. Panics if `v.len() != n`.
    pub fn mul_t(&self, v: &[f64]) -> Vec<f64> {
        assert_eq!(
            v.len(),
            self.n,
            "vector has length {}, expected n = {}",
            v.len(),
            self.n
        );
        (0..self.d).map(|j| dot(self.col(j), v)).collect()
    }
}

/// Penalty weights implied by perturbed GD on the diagonal linear network
/// `β = w₁∘w₁ − w₂∘w₂` with weight-noise standard deviation `sigma`: `λ_j = 2σ²(XᵀX)_jj / n`.
pub fn lambda_from_noise(x: &Design, sigma: f64) -> Vec<f64> {
    lambda_from_noise_with_factor(x, sigma, 2.0)
}

/// `λ_j = c·σ²(XᵀX)_jj / n`: `c = 2` for `β = w₁∘w₁ − w₂∘w₂` (Eq. 8), `c = 1` for `β = u∘v`
/// (see [`crate::models::diagonal::Parametrization::lambda_factor`]).
pub fn lambda_from_noise_with_factor(x: &Design, sigma: f64, c: f64) -> Vec<f64> {
    let scale = c * sigma * sigma / x.n as f64;
    x.column_sq_norms().into_iter().map(|s| scale * s).collect()
}

/// Solver options.
#[derive(Debug, Clone, PartialEq)]
pub struct LassoOptions {
    /// Stop once `gap / max(P, tiny) <= tol`. Must be finite and `>= 0`.
    pub tol: f64,
    /// Maximum number of full coordinate passes.
    pub max_epochs: usize,
    /// Initial `β` (length `d`); zero columns are reset to 0.
    pub warm_start: Option<Vec<f64>>,
}

impl Default for LassoOptions {
    fn default() -> Self {
        Self {
            tol: 1e-10,
            max_epochs: 100_000,
            warm_start: None,
        }
    }
}

/// Result of [`WeightedLasso::solve`].
#[derive(Debug, Clone, PartialEq)]
pub struct LassoSolution {
    pub beta: Vec<f64>,
    /// `P(β)`.
    pub primal: f64,
    /// `D(θ)` at the rescaled-residual dual point.
    pub dual: f64,
    /// `P(β) − D(θ)`, clamped at 0 (it can only go negative by rounding).
    pub gap: f64,
    /// `gap / max(P(β), tiny)`.
    pub rel_gap: f64,
    /// Full coordinate passes performed (0 if the start already met `tol`).
    pub epochs: usize,
    /// Whether `rel_gap <= tol` was reached within `max_epochs`.
    pub converged: bool,
    /// Largest violation of the KKT conditions (see the module docs).
    pub kkt_residual: f64,
}

/// `min_β (1/2n)‖y − Xβ‖² + Σ_j λ_j |β_j|`.
#[derive(Debug, Clone, Copy)]
pub struct WeightedLasso<'a> {
    pub x: &'a Design,
    pub y: &'a [f64],
    pub lambda: &'a [f64],
}

/// The gap is O(nd) to evaluate, as much as an epoch, so it is checked only
/// every few epochs.
const GAP_CHECK_EVERY: usize = 5;

impl WeightedLasso<'_> {
    /// Validates the problem (also done by [`solve`](Self::solve)).
    pub fn validate(&self) -> Result<(), LassoError> {
        let (n, d) = (self.x.n, self.x.d);
        if self.y.len() != n {
            return Err(LassoError::DimensionMismatch {
                what: "y (one entry per row of X)",
                expected: n,
                found: self.y.len(),
            });
        }
        if self.lambda.len() != d {
            return Err(LassoError::DimensionMismatch {
                what: "lambda (one weight per column of X)",
                expected: d,
                found: self.lambda.len(),
            });
        }
        if let Some(i) = self.y.iter().position(|v| !v.is_finite()) {
            return Err(LassoError::NonFinite {
                what: "y",
                location: format!("index {i}"),
                value: self.y[i],
            });
        }
        for (j, &l) in self.lambda.iter().enumerate() {
            if !l.is_finite() {
                return Err(LassoError::NonFinite {
                    what: "lambda",
                    location: format!("index {j}"),
                    value: l,
                });
            }
            if l < 0.0 {
                return Err(LassoError::NegativeLambda { index: j, value: l });
            }
            // A zero column never enters the loss, so λ_j = 0 is harmless
            // there (and is what `lambda_from_noise` produces for it).
            if l == 0.0 && self.x.col(j).iter().any(|&v| v != 0.0) {
                return Err(LassoError::ZeroLambda { index: j });
            }
        }
        Ok(())
    }

    /// `P(β)`. Panics if `beta.len() != d`.
    pub fn objective(&self, beta: &[f64]) -> f64 {
        let xb = self.x.mul(beta);
        let loss: f64 = self.y.iter().zip(&xb).map(|(y, f)| (y - f) * (y - f)).sum();
        loss / (2.0 * self.x.n as f64) + penalty(self.lambda, beta)
    }

    /// Runs cyclic coordinate descent until the relative duality gap is at
    /// most `opts.tol` or `opts.max_epochs` passes are done. Running out of
    /// epochs is not an error: see `converged` and `gap`.
    pub fn solve(&self, opts: &LassoOptions) -> Result<LassoSolution, LassoError> {
        self.validate()?;
        if !(opts.tol.is_finite() && opts.tol >= 0.0) {
            return Err(LassoError::InvalidOption {
                option: "tol",
                reason: format!("must be finite and >= 0, got {}", opts.tol),
            });
        }
        let (n, d) = (self.x.n, self.x.d);
        let nf = n as f64;
        let sq_norms = self.x.column_sq_norms();

        let mut beta = match &opts.warm_start {
            None => vec![0.0; d],
            Some(w) => {
                if w.len() != d {
                    return Err(LassoError::DimensionMismatch {
                        what: "warm_start (one coefficient per column of X)",
                        expected: d,
                        found: w.len(),
                    });
                }
                if let Some(j) = w.iter().position(|v| !v.is_finite()) {
                    return Err(LassoError::NonFinite {
                        what: "warm_start",
                        location: format!("index {j}"),
                        value: w[j],
                    });
                }
                w.clone()
            }
        };
        for (b, &s) in beta.iter_mut().zip(&sq_norms) {
            if s == 0.0 {
                *b = 0.0;
            }
        }
        // Thresholds nλ_j/‖X_j‖² and inverse norms, computed once.
        let inv_sq: Vec<f64> = sq_norms
            .iter()
            .map(|&s| if s > 0.0 { 1.0 / s } else { 0.0 })
            .collect();
        let thresh: Vec<f64> = (0..d).map(|j| nf * self.lambda[j] * inv_sq[j]).collect();

        let mut r = self.residual(&beta);
        let mut epochs = 0usize;
        loop {
            if epochs.is_multiple_of(GAP_CHECK_EVERY) || epochs == opts.max_epochs {
                // Recompute r from scratch so the certificate is not polluted
                // by rounding drift from the incremental updates.
                r = self.residual(&beta);
                let cert = self.certificate(&beta, &r);
                let converged = cert.rel_gap <= opts.tol;
                if converged || epochs >= opts.max_epochs {
                    return Ok(LassoSolution {
                        beta,
                        primal: cert.primal,
                        dual: cert.dual,
                        gap: cert.gap,
                        rel_gap: cert.rel_gap,
                        epochs,
                        converged,
                        kkt_residual: cert.kkt,
                    });
                }
            }
            for j in 0..d {
                if sq_norms[j] == 0.0 {
                    continue;
                }
                let col = self.x.col(j);
                let old = beta[j];
                let new = soft_threshold(old + dot(col, &r) * inv_sq[j], thresh[j]);
                if new != old {
                    axpy(old - new, col, &mut r);
                    beta[j] = new;
                }
            }
            epochs += 1;
        }
    }

    fn residual(&self, beta: &[f64]) -> Vec<f64> {
        let xb = self.x.mul(beta);
        self.y.iter().zip(&xb).map(|(y, f)| y - f).collect()
    }

    fn certificate(&self, beta: &[f64], r: &[f64]) -> Certificate {
        let nf = self.x.n as f64;
        let corr: Vec<f64> = self.x.mul_t(r).into_iter().map(|c| c / nf).collect(); // X_jᵀr/n
        let rr = dot(r, r);
        let primal = rr / (2.0 * nf) + penalty(self.lambda, beta);

        // Largest s with |s·X_jᵀr/n| <= λ_j for all j (zero columns have
        // corr = 0 and impose nothing; validate() ensured λ_j > 0 elsewhere).
        let mut s_max: f64 = 1.0;
        for (c, &l) in corr.iter().zip(self.lambda) {
            if c.abs() > l {
                s_max = s_max.min(l / c.abs());
            }
        }
        // D(s·r/n) = s·rᵀy/n − s²‖r‖²/(2n): maximise over |s| <= s_max.
        let ry = dot(r, self.y);
        let Gap { dual, gap, rel_gap } = rescaled_residual_gap(primal, rr, ry, s_max, nf);

        let mut kkt: f64 = 0.0;
        for ((&c, &l), &b) in corr.iter().zip(self.lambda).zip(beta) {
            let v = if b != 0.0 {
                (c - l * b.signum()).abs()
            } else {
                (c.abs() - l).max(0.0)
            };
            kkt = kkt.max(v);
        }
        Certificate {
            primal,
            dual,
            gap,
            rel_gap,
            kkt,
        }
    }
}

struct Certificate {
    primal: f64,
    dual: f64,
    gap: f64,
    rel_gap: f64,
    kkt: f64,
}

fn soft_threshold(z: f64, t: f64) -> f64 {
    if z > t {
        z - t
    } else if z < -t {
        z + t
    } else {
        0.0
    }
}

fn penalty(lambda: &[f64], beta: &[f64]) -> f64 {
    lambda.iter().zip(beta).map(|(l, b)| l * b.abs()).sum()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn gaussian(n: usize, d: usize, seed: u64) -> (Design, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows: Vec<f64> = (0..n * d)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let x = Design::from_rows(n, d, &rows).unwrap();
        let mut beta = vec![0.0; d];
        for (j, b) in beta.iter_mut().enumerate().take(5) {
            *b = if j % 2 == 0 { 2.0 } else { -1.5 };
        }
        let mut y = x.mul(&beta);
        for v in &mut y {
            let e: f64 = StandardNormal.sample(&mut rng);
            *v += 0.5 * e;
        }
        (x, y)
    }

    fn max_corr(x: &Design, y: &[f64]) -> Vec<f64> {
        x.mul_t(y)
            .into_iter()
            .map(|c| c.abs() / x.n as f64)
            .collect()
    }

    /// Independent solver: FISTA with step 1/L (L = ‖X‖₂²/n by power
    /// iteration) and gradient-based adaptive restart.
    fn fista(p: &WeightedLasso, iters: usize) -> Vec<f64> {
        let (n, d) = (p.x.n, p.x.d);
        let nf = n as f64;
        let mut v = vec![1.0; d];
        let mut l = 0.0;
        for _ in 0..500 {
            let w = p.x.mul_t(&p.x.mul(&v));
            let norm = dot(&w, &w).sqrt();
            l = norm / dot(&v, &v).sqrt();
            v = w.iter().map(|x| x / norm).collect();
        }
        let step = 1.0 / (l / nf * 1.01);
        let mut beta = vec![0.0; d];
        let mut z = beta.clone();
        let mut t: f64 = 1.0;
        for _ in 0..iters {
            let r: Vec<f64> = p.y.iter().zip(p.x.mul(&z)).map(|(y, f)| f - y).collect();
            let g: Vec<f64> = p.x.mul_t(&r).into_iter().map(|c| c / nf).collect();
            let next: Vec<f64> = (0..d)
                .map(|j| soft_threshold(z[j] - step * g[j], step * p.lambda[j]))
                .collect();
            // Restart momentum when it points uphill.
            let uphill: f64 = (0..d).map(|j| (z[j] - next[j]) * (next[j] - beta[j])).sum();
            let t_next = if uphill > 0.0 {
                1.0
            } else {
                (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0
            };
            let mom = if uphill > 0.0 {
                0.0
            } else {
                (t - 1.0) / t_next
            };
            z = (0..d)
                .map(|j| next[j] + mom * (next[j] - beta[j]))
                .collect();
            beta = next;
            t = t_next;
        }
        beta
    }

    #[test]
    fn design_constructors_agree() {
        let rows = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2×3
        let cols = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let a = Design::from_rows(2, 3, &rows).unwrap();
        let b = Design::from_columns(2, 3, &cols).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.get(1, 2), 6.0);
        assert_eq!(a.col(1), &[2.0, 5.0]);
        assert_eq!(a.mul(&[1.0, 0.0, -1.0]), vec![-2.0, -2.0]);
        assert_eq!(a.mul_t(&[1.0, 1.0]), vec![5.0, 7.0, 9.0]);
    }

    /// (a) XᵀX = nI: the problem separates and β_j = S(X_jᵀy/n, λ_j).
    #[test]
    fn orthogonal_design_matches_closed_form() {
        let (n, d) = (30, 10);
        let (g, y) = gaussian(n, d, 1);
        // Gram–Schmidt, then scale columns to ‖X_j‖² = n.
        let mut cols: Vec<Vec<f64>> = Vec::new();
        for j in 0..d {
            let mut c = g.col(j).to_vec();
            for q in &cols {
                let proj = dot(&c, q) / dot(q, q);
                axpy(-proj, q, &mut c);
            }
            let s = (n as f64 / dot(&c, &c)).sqrt();
            cols.push(c.iter().map(|v| v * s).collect());
        }
        let x = Design::from_columns(n, d, &cols.concat()).unwrap();
        for j in 0..d {
            for k in 0..d {
                let expect = if j == k { n as f64 } else { 0.0 };
                assert!((dot(x.col(j), x.col(k)) - expect).abs() < 1e-10);
            }
        }
        let c = x.mul_t(&y);
        let lambda: Vec<f64> = (0..d).map(|j| 0.05 + 0.1 * j as f64).collect();
        let expect: Vec<f64> = (0..d)
            .map(|j| soft_threshold(c[j] / n as f64, lambda[j]))
            .collect();
        assert!(expect.contains(&0.0) && expect.iter().any(|&b| b != 0.0));
        let p = WeightedLasso {
            x: &x,
            y: &y,
            lambda: &lambda,
        };
        let sol = p.solve(&LassoOptions::default()).unwrap();
        assert!(sol.converged);
        for (j, (b, e)) in sol.beta.iter().zip(&expect).enumerate() {
            assert!((b - e).abs() < 1e-9, "j={j}: {b} vs {e}");
        }
    }

    /// (b) Random 40×100: certificate tight, KKT satisfied, objective matches
    /// FISTA, and the dual value is a valid lower bound for FISTA's primal.
    #[test]
    fn random_problem_certified_and_matches_fista() {
        let (n, d) = (40, 100);
        let (x, y) = gaussian(n, d, 2);
        let lmax = max_corr(&x, &y).into_iter().fold(0.0, f64::max);
        let lambda: Vec<f64> = (0..d)
            .map(|j| 0.1 * lmax * (0.5 + (j % 7) as f64 / 6.0))
            .collect();
        let p = WeightedLasso {
            x: &x,
            y: &y,
            lambda: &lambda,
        };
        let sol = p.solve(&LassoOptions::default()).unwrap();
        assert!(sol.converged);
        assert!(sol.rel_gap <= 1e-10, "rel_gap {}", sol.rel_gap);
        assert!(sol.kkt_residual <= 1e-8, "kkt {}", sol.kkt_residual);
        assert!((sol.primal - p.objective(&sol.beta)).abs() <= 1e-12 * sol.primal);
        let nnz = sol.beta.iter().filter(|&&b| b != 0.0).count();
        assert!(nnz > 0 && nnz < d, "nnz {nnz}");

        let bf = fista(&p, 20_000);
        let pf = p.objective(&bf);
        assert!(
            (pf - sol.primal).abs() <= 1e-7 * sol.primal,
            "fista {pf} vs cd {}",
            sol.primal
        );
        assert!(
            sol.dual <= pf + 1e-12 * pf,
            "dual {} above a primal value {pf}",
            sol.dual
        );
    }

    /// (c) λ_j = w_j·λ with λ ≥ max_j |X_jᵀy|/(n w_j) gives β = 0 exactly;
    /// just below that threshold it does not.
    #[test]
    fn large_lambda_gives_zero() {
        let (x, y) = gaussian(20, 15, 3);
        let w: Vec<f64> = (0..15).map(|j| 1.0 + j as f64 / 5.0).collect();
        let c = max_corr(&x, &y);
        let lam0 = (0..15).map(|j| c[j] / w[j]).fold(0.0, f64::max);
        let at = |scale: f64| {
            let lambda: Vec<f64> = w.iter().map(|wj| wj * lam0 * scale).collect();
            let p = WeightedLasso {
                x: &x,
                y: &y,
                lambda: &lambda,
            };
            p.solve(&LassoOptions::default()).unwrap()
        };
        let sol = at(1.0 + 1e-12);
        assert!(sol.beta.iter().all(|&b| b == 0.0));
        // At β = 0 the dual point θ = y/n is feasible, so the certificate
        // closes before any pass.
        assert_eq!(sol.epochs, 0);
        assert_eq!(sol.gap, 0.0);
        assert!(sol.converged);
        let below = at(0.99);
        assert!(below.beta.iter().any(|&b| b != 0.0));
    }

    /// (d) A much larger λ_j zeroes a coordinate that uniform λ keeps.
    /// Since P(β̂) ≤ P(0) gives ‖r̂‖ ≤ ‖y‖, λ_j > ‖X_j‖‖y‖/n forces β_j = 0.
    #[test]
    fn weighted_penalty_zeroes_heavy_coordinate() {
        let (x, y) = gaussian(40, 30, 4);
        let lmax = max_corr(&x, &y).into_iter().fold(0.0, f64::max);
        let uniform = vec![0.1 * lmax; 30];
        let opts = LassoOptions::default();
        let base = WeightedLasso {
            x: &x,
            y: &y,
            lambda: &uniform,
        }
        .solve(&opts)
        .unwrap();
        let j0 = (0..30)
            .max_by(|&a, &b| base.beta[a].abs().total_cmp(&base.beta[b].abs()))
            .unwrap();
        assert!(base.beta[j0] != 0.0);
        let mut heavy = uniform.clone();
        heavy[j0] = 2.0 * dot(x.col(j0), x.col(j0)).sqrt() * dot(&y, &y).sqrt() / 40.0;
        let sol = WeightedLasso {
            x: &x,
            y: &y,
            lambda: &heavy,
        }
        .solve(&opts)
        .unwrap();
        assert!(sol.converged);
        assert_eq!(sol.beta[j0], 0.0);
        assert!(sol.beta.iter().any(|&b| b != 0.0));
    }

    /// (e) Each validation error maps to its variant.
    #[test]
    fn errors() {
        use LassoError as E;
        assert!(matches!(
            Design::from_rows(0, 3, &[]),
            Err(E::EmptyDesign { n: 0, d: 3 })
        ));
        assert!(matches!(
            Design::from_rows(2, 2, &[1.0; 3]),
            Err(E::DimensionMismatch {
                expected: 4,
                found: 3,
                ..
            })
        ));
        assert!(matches!(
            Design::from_rows(usize::MAX, 2, &[]),
            Err(E::TooLarge { .. })
        ));
        let err = Design::from_rows(2, 2, &[1.0, 1.0, f64::NAN, 1.0]).unwrap_err();
        assert!(matches!(&err, E::NonFinite { location, .. } if location == "row 1, column 0"));
        let err = Design::from_columns(2, 2, &[1.0, 1.0, f64::INFINITY, 1.0]).unwrap_err();
        assert!(matches!(&err, E::NonFinite { location, .. } if location == "row 0, column 1"));

        let x = Design::from_rows(2, 2, &[1.0, 0.0, 0.0, 1.0]).unwrap();
        let o = LassoOptions::default();
        let solve = |y: &[f64], l: &[f64], o: &LassoOptions| {
            WeightedLasso {
                x: &x,
                y,
                lambda: l,
            }
            .solve(o)
        };
        assert!(matches!(
            solve(&[1.0], &[0.1, 0.1], &o),
            Err(E::DimensionMismatch {
                expected: 2,
                found: 1,
                ..
            })
        ));
        assert!(matches!(
            solve(&[1.0, 1.0], &[0.1], &o),
            Err(E::DimensionMismatch {
                expected: 2,
                found: 1,
                ..
            })
        ));
        assert!(matches!(
            solve(&[1.0, f64::NAN], &[0.1, 0.1], &o),
            Err(E::NonFinite { what: "y", .. })
        ));
        assert!(matches!(
            solve(&[1.0, 1.0], &[0.1, f64::INFINITY], &o),
            Err(E::NonFinite { what: "lambda", .. })
        ));
        assert!(matches!(
            solve(&[1.0, 1.0], &[0.1, -0.1], &o),
            Err(E::NegativeLambda { index: 1, .. })
        ));
        let err = solve(&[1.0, 1.0], &[0.0, 0.1], &o).unwrap_err();
        assert!(matches!(err, E::ZeroLambda { index: 0 }));
        assert!(err.to_string().contains("tiny positive"));
        let bad_tol = LassoOptions {
            tol: -1.0,
            ..o.clone()
        };
        assert!(matches!(
            solve(&[1.0, 1.0], &[0.1, 0.1], &bad_tol),
            Err(E::InvalidOption { option: "tol", .. })
        ));
        let bad_ws = LassoOptions {
            warm_start: Some(vec![0.0]),
            ..o.clone()
        };
        assert!(matches!(
            solve(&[1.0, 1.0], &[0.1, 0.1], &bad_ws),
            Err(E::DimensionMismatch { what, .. }) if what.starts_with("warm_start")
        ));
        let nan_ws = LassoOptions {
            warm_start: Some(vec![0.0, f64::NAN]),
            ..o
        };
        assert!(matches!(
            solve(&[1.0, 1.0], &[0.1, 0.1], &nan_ws),
            Err(E::NonFinite {
                what: "warm_start",
                ..
            })
        ));
    }

    /// Zero columns: λ_j = 0 is accepted there (as `lambda_from_noise` gives),
    /// and β_j stays 0 even from a non-zero warm start.
    #[test]
    fn zero_column_is_skipped() {
        let (g, y) = gaussian(20, 6, 5);
        let mut cols: Vec<f64> = (0..6).flat_map(|j| g.col(j).to_vec()).collect();
        cols[2 * 20..3 * 20].fill(0.0);
        let x = Design::from_columns(20, 6, &cols).unwrap();
        let lambda = lambda_from_noise(&x, 0.3);
        assert_eq!(lambda[2], 0.0);
        assert!((lambda[0] - 2.0 * 0.09 * dot(x.col(0), x.col(0)) / 20.0).abs() < 1e-15);
        let opts = LassoOptions {
            warm_start: Some(vec![1.0; 6]),
            ..Default::default()
        };
        let sol = WeightedLasso {
            x: &x,
            y: &y,
            lambda: &lambda,
        }
        .solve(&opts)
        .unwrap();
        assert!(sol.converged && sol.rel_gap <= 1e-10);
        assert_eq!(sol.beta[2], 0.0);
    }

    /// (f) Warm start from a rough solution reaches the same answer in fewer
    /// epochs; running out of epochs is reported, not an error.
    #[test]
    fn warm_start_and_non_convergence() {
        let (x, y) = gaussian(40, 100, 6);
        let lmax = max_corr(&x, &y).into_iter().fold(0.0, f64::max);
        let lambda = vec![0.05 * lmax; 100];
        let p = WeightedLasso {
            x: &x,
            y: &y,
            lambda: &lambda,
        };
        let cold = p.solve(&LassoOptions::default()).unwrap();
        let rough = p
            .solve(&LassoOptions {
                tol: 1e-3,
                ..Default::default()
            })
            .unwrap();
        assert!(rough.converged && rough.rel_gap > 1e-10);
        let warm = p
            .solve(&LassoOptions {
                warm_start: Some(rough.beta.clone()),
                ..Default::default()
            })
            .unwrap();
        assert!(cold.converged && warm.converged);
        assert!(
            warm.epochs < cold.epochs,
            "warm {} cold {}",
            warm.epochs,
            cold.epochs
        );
        assert!((warm.primal - cold.primal).abs() <= 1e-9 * cold.primal);
        for j in 0..100 {
            assert!((warm.beta[j] - cold.beta[j]).abs() < 1e-6);
        }
        let from_opt = p
            .solve(&LassoOptions {
                warm_start: Some(cold.beta.clone()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(from_opt.epochs, 0);

        let short = p
            .solve(&LassoOptions {
                max_epochs: 1,
                ..Default::default()
            })
            .unwrap();
        assert!(!short.converged);
        assert_eq!(short.epochs, 1);
        assert!(short.gap > 0.0 && short.rel_gap > 1e-10 && short.dual <= cold.primal);

        // No passes at all: β = 0, so P = ‖y‖²/2n and the KKT residual is
        // max_j (|X_jᵀy|/n − λ_j)₊ in closed form.
        let none = p
            .solve(&LassoOptions {
                max_epochs: 0,
                ..Default::default()
            })
            .unwrap();
        assert!(!none.converged && none.epochs == 0);
        assert!(none.beta.iter().all(|&b| b == 0.0));
        let yy = dot(&y, &y) / 80.0;
        assert!((none.primal - yy).abs() <= 1e-14 * yy);
        let kkt0 = max_corr(&x, &y)
            .iter()
            .map(|c| (c - lambda[0]).max(0.0))
            .fold(0.0, f64::max);
        assert!(kkt0 > 0.0);
        assert!((none.kkt_residual - kkt0).abs() <= 1e-14 * kkt0);
    }
}
