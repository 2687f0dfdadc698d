//! Certified reference solver for the data-weighted group Lasso of Eq. (38).
//!
//! For the "group" model `Φ(w) = Σ_j v_j X_j w_j` (`v_j ∈ R`, `w_j ∈ R^{k_j}`,
//! `X_j ∈ R^{n×k_j}`) the paper shows (App. C.3) that perturbed GD minimises,
//! after optimising the free scale of `(v_j, w_j)`,
//!
//! ```text
//! P(β) = (1/2n)‖y − Σ_j X_jβ_j‖² + Σ_j λ_j ‖X_jβ_j‖₂,      λ_j = (σ²/n)·‖X_j‖_F
//! ```
//!
//! with `β_j = |v_j| w_j`. The penalty acts on the block *prediction*
//! `X_jβ_j`, not on `β_j`; only the predictions are identifiable when `X_j`
//! has a non-trivial kernel. With `k_j = 1` this is the ordinary weighted
//! Lasso with weights `λ_j‖x_j‖` (note: the noise weights then read
//! `σ²‖x_j‖²/n`, half of the diagonal-network weights of `lasso.rs`, because
//! `v·w` and `w₁² − w₂²` are different parametrisations).
//!
//! # Reparametrisation
//!
//! Each block is replaced by an orthonormal basis `Q_j ∈ R^{n×r_j}` of
//! `range(X_j)`, taken from the thin SVD `X_j = U S Vᵀ` by keeping the
//! singular values `> 1e-12·max` (so rank-deficient and wide blocks are fine;
//! an all-zero block has `r_j = 0` and is inert). With `γ_j = Q_jᵀX_jβ_j`,
//! `X_jβ_j = Q_jγ_j` and `‖X_jβ_j‖ = ‖γ_j‖`, so the problem is the standard
//! group Lasso
//!
//! ```text
//! P(γ) = (1/2n)‖y − Σ_j Q_jγ_j‖² + Σ_j λ_j ‖γ_j‖
//! ```
//!
//! with orthonormal blocks, for which block coordinate descent has an exact
//! block update: with `r` the residual and `c_j = Q_jᵀr + γ_j` (`= Q_jᵀ` of
//! the partial residual `r + Q_jγ_j`),
//!
//! ```text
//! γ_j ← (1 − nλ_j/‖c_j‖)₊ c_j.
//! ```
//!
//! `β_j` is recovered as the minimum-norm solution of `X_jβ_j = Q_jγ_j`,
//! `β_j = V_r S_r⁻¹ γ_j` (the pseudo-inverse).
//!
//! # Dual and certificate
//!
//! As for the Lasso, with `f(z) = (1/2n)‖y − z‖²` and
//! `g(γ) = Σλ_j‖γ_j‖` (whose conjugate is the indicator of
//! `{‖u_j‖ ≤ λ_j ∀j}`), the dual is
//!
//! ```text
//! D(θ) = θᵀy − (n/2)‖θ‖²      s.t. ‖Q_jᵀθ‖ ≤ λ_j  ∀j,
//! ```
//!
//! (in β-terms: `X_jᵀθ = X_jᵀu` for some `‖u‖ ≤ λ_j`, i.e. the projection of
//! `θ` on `range(X_j)` has norm `≤ λ_j`). The optimum has `θ* = r*/n`. For
//! an iterate, `θ = s·r/n` is feasible for
//! `|s| ≤ s_max = min(1, min_j λ_j/‖Q_jᵀr/n‖)`; we use the best such `s`,
//! `s = clamp(rᵀy/‖r‖², −s_max, s_max)`. Weak duality gives
//! `D(θ) ≤ P* ≤ P(β)`, so `gap = P(β) − D(θ)` bounds the suboptimality and
//! `rel_gap = gap / max(P(β), tiny)` is compared with `tol`.
//!
//! As in `lasso.rs`, `λ_j = 0` on a non-zero block is rejected
//! ([`GroupLassoError::ZeroLambda`]): the certificate could not close.
//!
//! The KKT residual reported alongside is measured in γ-coordinates,
//! `max_j ‖Q_jᵀr/n − λ_j γ_j/‖γ_j‖‖` over active groups and
//! `max_j (‖Q_jᵀr/n‖ − λ_j)₊` over inactive ones.

use super::duality::{rescaled_residual_gap, Gap};
use nalgebra::{DMatrix, DVector};
use thiserror::Error;

/// Errors from validating a [`GroupLasso`] or its options.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum GroupLassoError {
    /// No blocks at all.
    #[error("group Lasso needs at least one block X_j, got none")]
    NoBlocks,

    /// `y` is empty (so `n = 0`).
    #[error("y is empty: the group Lasso needs at least one observation (n >= 1)")]
    EmptyResponse,

    /// A block with no columns.
    #[error("block {index} has no columns ({rows} × 0); drop it, every block X_j needs k_j >= 1")]
    EmptyBlock { index: usize, rows: usize },

    /// A block whose row count differs from `y.len()`.
    #[error(
        "block {index} has {found} rows but y has n = {expected} entries; every block X_j \
         must be n × k_j with the same n"
    )]
    BlockRows {
        index: usize,
        expected: usize,
        found: usize,
    },

    /// A slice has the wrong length.
    #[error("{what} has the wrong length: expected {expected}, found {found}")]
    DimensionMismatch {
        what: &'static str,
        expected: usize,
        found: usize,
    },

    /// A NaN or infinite input.
    #[error("{what} contains a non-finite value {value} at {location}; all inputs must be finite")]
    NonFinite {
        what: &'static str,
        location: String,
        value: f64,
    },

    /// A negative penalty weight.
    #[error("lambda[{index}] = {value} is negative; group penalty weights must be >= 0")]
    NegativeLambda { index: usize, value: f64 },

    /// A zero penalty on a non-zero block.
    #[error(
        "lambda[{index}] = 0 on a non-zero block is not supported: the duality-gap \
         certificate needs every penalised group to have lambda > 0; use a tiny \
         positive value instead (e.g. 1e-12 times the other weights)"
    )]
    ZeroLambda { index: usize },

    /// A bad value in [`GroupLassoOptions`].
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: String,
    },
}

/// Penalty weights implied by perturbed GD on the group model with noise
/// standard deviation `sigma_t`: `λ_j = (σ_t²/n)·‖X_j‖_F` (Eq. 38), with `n`
/// the number of rows of each block. A zero block gets `λ_j = 0`, which
/// [`GroupLasso::solve`] accepts for zero blocks.
pub fn lambda_from_noise(blocks: &[DMatrix<f64>], sigma_t: f64) -> Vec<f64> {
    blocks
        .iter()
        .map(|x| {
            if x.nrows() == 0 {
                0.0
            } else {
                sigma_t * sigma_t * x.norm() / x.nrows() as f64
            }
        })
        .collect()
}

/// Relative cut-off below which singular values of a block count as zero.
pub const RANK_RTOL: f64 = 1e-12;

/// Solver options.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupLassoOptions {
    /// Stop once `gap / max(P, tiny) <= tol`. Must be finite and `>= 0`.
    pub tol: f64,
    /// Maximum number of full block-coordinate passes.
    pub max_epochs: usize,
    /// Initial `β` (one vector of length `k_j` per block). Only its
    /// predictions `X_jβ_j` matter.
    pub warm_start: Option<Vec<DVector<f64>>>,
}

impl Default for GroupLassoOptions {
    fn default() -> Self {
        Self {
            tol: 1e-10,
            max_epochs: 100_000,
            warm_start: None,
        }
    }
}

/// Result of [`GroupLasso::solve`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupLassoSolution {
    /// Minimum-norm `β_j` (pseudo-inverse of `X_j` applied to the block
    /// prediction); length `k_j` each.
    pub beta: Vec<DVector<f64>>,
    /// `X_jβ_j` for every block (length `n` each): the identifiable part.
    pub block_predictions: Vec<DVector<f64>>,
    /// Indices of the blocks with `X_jβ_j ≠ 0` (exact zeros elsewhere).
    pub active_groups: Vec<usize>,
    /// Numerical rank `r_j` of each block (singular values `> 1e-12·max`).
    pub ranks: Vec<usize>,
    /// `P(β)`.
    pub primal: f64,
    /// `D(θ)` at the rescaled-residual dual point.
    pub dual: f64,
    /// `P(β) − D(θ)`, clamped at 0 (it can only go negative by rounding).
    pub gap: f64,
    /// `gap / max(P(β), tiny)`.
    pub rel_gap: f64,
    /// Full block passes performed (0 if the start already met `tol`).
    pub epochs: usize,
    /// Whether `rel_gap <= tol` was reached within `max_epochs`.
    pub converged: bool,
    /// Largest violation of the KKT conditions (see the module docs).
    pub kkt_residual: f64,
}

/// `min_β (1/2n)‖y − Σ_j X_jβ_j‖² + Σ_j λ_j ‖X_jβ_j‖₂`, with `n = y.len()`.
#[derive(Debug, Clone, Copy)]
pub struct GroupLasso<'a> {
    /// The blocks `X_j`, each `n × k_j` (`k_j` may differ).
    pub blocks: &'a [DMatrix<f64>],
    pub y: &'a [f64],
    pub lambda: &'a [f64],
}

/// Orthonormal basis of `range(X)` with the matching factors of the rank-safe thin SVD
/// (singular values `≤ RANK_RTOL·max` dropped). Shared with the nuclear-norm solver.
pub(crate) struct Basis {
    /// `n × r`, orthonormal columns.
    pub(crate) q: DMatrix<f64>,
    /// The `r` kept singular values.
    pub(crate) s: DVector<f64>,
    /// `k × r`: the matching right singular vectors.
    pub(crate) v: DMatrix<f64>,
}

impl Basis {
    pub(crate) fn new(x: &DMatrix<f64>) -> Self {
        let (n, k) = x.shape();
        if x.iter().all(|&v| v == 0.0) {
            return Self {
                q: DMatrix::zeros(n, 0),
                s: DVector::zeros(0),
                v: DMatrix::zeros(k, 0),
            };
        }
        let (u, sv, vm) = thin_svd(x);
        let smax = sv[0];
        let r = sv.iter().filter(|&&s| s > RANK_RTOL * smax).count();
        Self {
            q: u.columns(0, r).into_owned(),
            s: sv.rows(0, r).into_owned(),
            v: vm.columns(0, r).into_owned(),
        }
    }

    fn rank(&self) -> usize {
        self.s.len()
    }

    /// `γ = Q_jᵀ X_j β = S Vᵀ β`.
    fn gamma_of(&self, beta: &DVector<f64>) -> DVector<f64> {
        self.v.tr_mul(beta).component_mul(&self.s)
    }

    /// Minimum-norm `β` with `X_jβ = Q_jγ`: `V S⁻¹ γ`.
    fn beta_of(&self, gamma: &DVector<f64>) -> DVector<f64> {
        &self.v * gamma.component_div(&self.s)
    }
}

/// The gap is as expensive as an epoch, so it is checked every few epochs.
const GAP_CHECK_EVERY: usize = 5;

impl GroupLasso<'_> {
    /// `n = y.len()`.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// Validates the problem (also done by [`solve`](Self::solve)).
    pub fn validate(&self) -> Result<(), GroupLassoError> {
        if self.blocks.is_empty() {
            return Err(GroupLassoError::NoBlocks);
        }
        let n = self.y.len();
        if n == 0 {
            return Err(GroupLassoError::EmptyResponse);
        }
        if let Some(i) = self.y.iter().position(|v| !v.is_finite()) {
            return Err(GroupLassoError::NonFinite {
                what: "y",
                location: format!("index {i}"),
                value: self.y[i],
            });
        }
        for (j, x) in self.blocks.iter().enumerate() {
            if x.nrows() != n {
                return Err(GroupLassoError::BlockRows {
                    index: j,
                    expected: n,
                    found: x.nrows(),
                });
            }
            if x.ncols() == 0 {
                return Err(GroupLassoError::EmptyBlock {
                    index: j,
                    rows: x.nrows(),
                });
            }
            if let Some(p) = x.iter().position(|v| !v.is_finite()) {
                return Err(GroupLassoError::NonFinite {
                    what: "block",
                    location: format!("block {j}, row {}, column {}", p % n, p / n),
                    value: x.as_slice()[p],
                });
            }
        }
        if self.lambda.len() != self.blocks.len() {
            return Err(GroupLassoError::DimensionMismatch {
                what: "lambda (one weight per block)",
                expected: self.blocks.len(),
                found: self.lambda.len(),
            });
        }
        for (j, &l) in self.lambda.iter().enumerate() {
            if !l.is_finite() {
                return Err(GroupLassoError::NonFinite {
                    what: "lambda",
                    location: format!("index {j}"),
                    value: l,
                });
            }
            if l < 0.0 {
                return Err(GroupLassoError::NegativeLambda { index: j, value: l });
            }
            if l == 0.0 && self.blocks[j].iter().any(|&v| v != 0.0) {
                return Err(GroupLassoError::ZeroLambda { index: j });
            }
        }
        Ok(())
    }

    /// `P(β)`. Panics if the number of blocks or any `β_j` length is wrong.
    pub fn objective(&self, beta: &[DVector<f64>]) -> f64 {
        assert_eq!(
            beta.len(),
            self.blocks.len(),
            "beta has {} blocks, expected {}",
            beta.len(),
            self.blocks.len()
        );
        let n = self.y.len();
        let mut r = DVector::from_column_slice(self.y);
        let mut pen = 0.0;
        for ((x, b), &l) in self.blocks.iter().zip(beta).zip(self.lambda) {
            assert_eq!(b.len(), x.ncols(), "beta block has the wrong length");
            let xb = x * b;
            pen += l * xb.norm();
            r -= xb;
        }
        r.norm_squared() / (2.0 * n as f64) + pen
    }

    /// Runs cyclic block coordinate descent until the relative duality gap is
    /// at most `opts.tol` or `opts.max_epochs` passes are done. Running out of
    /// epochs is not an error: see `converged` and `gap`.
    pub fn solve(&self, opts: &GroupLassoOptions) -> Result<GroupLassoSolution, GroupLassoError> {
        self.validate()?;
        if !(opts.tol.is_finite() && opts.tol >= 0.0) {
            return Err(GroupLassoError::InvalidOption {
                option: "tol",
                reason: format!("must be finite and >= 0, got {}", opts.tol),
            });
        }
        let m = self.blocks.len();
        let nf = self.y.len() as f64;
        let bases: Vec<Basis> = self.blocks.iter().map(Basis::new).collect();

        let mut gamma: Vec<DVector<f64>> = match &opts.warm_start {
            None => bases.iter().map(|b| DVector::zeros(b.rank())).collect(),
            Some(w) => {
                if w.len() != m {
                    return Err(GroupLassoError::DimensionMismatch {
                        what: "warm_start (one vector per block)",
                        expected: m,
                        found: w.len(),
                    });
                }
                for (j, (b, x)) in w.iter().zip(self.blocks).enumerate() {
                    if b.len() != x.ncols() {
                        return Err(GroupLassoError::DimensionMismatch {
                            what: "warm_start block (k_j entries)",
                            expected: x.ncols(),
                            found: b.len(),
                        });
                    }
                    if let Some(i) = b.iter().position(|v| !v.is_finite()) {
                        return Err(GroupLassoError::NonFinite {
                            what: "warm_start",
                            location: format!("block {j}, index {i}"),
                            value: b[i],
                        });
                    }
                }
                bases.iter().zip(w).map(|(b, w)| b.gamma_of(w)).collect()
            }
        };
        let thresh: Vec<f64> = self.lambda.iter().map(|l| nf * l).collect();

        let mut r = self.residual(&bases, &gamma);
        let mut epochs = 0usize;
        loop {
            if epochs.is_multiple_of(GAP_CHECK_EVERY) || epochs == opts.max_epochs {
                // Fresh residual: keep incremental rounding out of the certificate.
                r = self.residual(&bases, &gamma);
                let cert = self.certificate(&bases, &gamma, &r);
                let converged = cert.rel_gap <= opts.tol;
                if converged || epochs >= opts.max_epochs {
                    let block_predictions: Vec<DVector<f64>> =
                        bases.iter().zip(&gamma).map(|(b, g)| &b.q * g).collect();
                    let beta = bases
                        .iter()
                        .zip(&gamma)
                        .map(|(b, g)| b.beta_of(g))
                        .collect();
                    let active_groups = (0..m)
                        .filter(|&j| gamma[j].iter().any(|&v| v != 0.0))
                        .collect();
                    return Ok(GroupLassoSolution {
                        beta,
                        block_predictions,
                        active_groups,
                        ranks: bases.iter().map(Basis::rank).collect(),
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
            for j in 0..m {
                let b = &bases[j];
                if b.rank() == 0 {
                    continue;
                }
                let c = b.q.tr_mul(&r) + &gamma[j];
                let norm = c.norm();
                let new = if norm > thresh[j] {
                    c * (1.0 - thresh[j] / norm)
                } else {
                    DVector::zeros(b.rank())
                };
                let delta = &gamma[j] - &new;
                if delta.iter().any(|&v| v != 0.0) {
                    r.gemv(1.0, &b.q, &delta, 1.0);
                    gamma[j] = new;
                }
            }
            epochs += 1;
        }
    }

    fn residual(&self, bases: &[Basis], gamma: &[DVector<f64>]) -> DVector<f64> {
        let mut r = DVector::from_column_slice(self.y);
        for (b, g) in bases.iter().zip(gamma) {
            if b.rank() > 0 {
                r.gemv(-1.0, &b.q, g, 1.0);
            }
        }
        r
    }

    fn certificate(
        &self,
        bases: &[Basis],
        gamma: &[DVector<f64>],
        r: &DVector<f64>,
    ) -> Certificate {
        let nf = self.y.len() as f64;
        let y = DVector::from_column_slice(self.y);
        let rr = r.norm_squared();
        let pen: f64 = gamma
            .iter()
            .zip(self.lambda)
            .map(|(g, l)| l * g.norm())
            .sum();
        let primal = rr / (2.0 * nf) + pen;

        let mut s_max: f64 = 1.0;
        let mut kkt: f64 = 0.0;
        for ((b, g), &l) in bases.iter().zip(gamma).zip(self.lambda) {
            if b.rank() == 0 {
                continue;
            }
            let corr = b.q.tr_mul(r) / nf; // Q_jᵀr/n
            let cn = corr.norm();
            if cn > l {
                s_max = s_max.min(l / cn);
            }
            let gn = g.norm();
            let v = if gn > 0.0 {
                (corr - g * (l / gn)).norm()
            } else {
                (cn - l).max(0.0)
            };
            kkt = kkt.max(v);
        }
        let ry = r.dot(&y);
        let Gap { dual, gap, rel_gap } = rescaled_residual_gap(primal, rr, ry, s_max, nf);
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

/// Thin SVD by one-sided (Hestenes) Jacobi: `a = U diag(s) Vᵀ` with `U`
/// `m × p`, `V` `n × p`, `p = min(m, n)`, `s` sorted descending; the columns
/// of `U` belonging to exactly-zero singular values are zero vectors.
///
/// nalgebra 0.34's `svd(true, true)` is used nowhere here on purpose: on
/// rank-deficient inputs it can return factors that do not recompose the
/// matrix (seen here with a rank-2 6 × 12 matrix: ‖UΣVᵀ − A‖ = 0.56 and a
/// singular value off by 1e-2; cf. dimforge/nalgebra#1172), which would
/// silently break both the bases and the certificates. Jacobi is slow for
/// large matrices but accurate to a few ulps relative to ‖A‖, and the
/// matrices here are small.
pub(crate) fn thin_svd(a: &DMatrix<f64>) -> (DMatrix<f64>, DVector<f64>, DMatrix<f64>) {
    let (m, n) = a.shape();
    if m < n {
        let (u, s, v) = thin_svd(&a.transpose());
        return (v, s, u);
    }
    let mut w = a.clone();
    let mut v = DMatrix::<f64>::identity(n, n);
    let eps = f64::EPSILON;
    for _sweep in 0..100 {
        let mut rotated = false;
        for i in 0..n {
            for j in (i + 1)..n {
                let (alpha, beta, gamma) = {
                    let (ci, cj) = (w.column(i), w.column(j));
                    (ci.norm_squared(), cj.norm_squared(), ci.dot(&cj))
                };
                if gamma == 0.0 || gamma.abs() <= eps * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for mat in [&mut w, &mut v] {
                    for k in 0..mat.nrows() {
                        let (xi, xj) = (mat[(k, i)], mat[(k, j)]);
                        mat[(k, i)] = c * xi - s * xj;
                        mat[(k, j)] = s * xi + c * xj;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let norms: Vec<f64> = (0..n).map(|j| w.column(j).norm()).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| norms[b].total_cmp(&norms[a]));
    let s = DVector::from_fn(n, |k, _| norms[order[k]]);
    let u = DMatrix::from_fn(m, n, |i, k| {
        let nk = norms[order[k]];
        if nk > 0.0 {
            w[(i, order[k])] / nk
        } else {
            0.0
        }
    });
    let vv = DMatrix::from_fn(n, n, |i, k| v[(i, order[k])]);
    (u, s, vv)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn gauss_mat(n: usize, k: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
        DMatrix::from_fn(n, k, |_, _| StandardNormal.sample(rng))
    }

    /// Blocks of the given widths and `y = Σ_{j<3} X_j b_j + 0.5·noise`.
    fn problem(n: usize, widths: &[usize], seed: u64) -> (Vec<DMatrix<f64>>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let blocks: Vec<DMatrix<f64>> = widths.iter().map(|&k| gauss_mat(n, k, &mut rng)).collect();
        let mut y = DVector::zeros(n);
        for x in blocks.iter().take(3) {
            let b = DVector::from_fn(x.ncols(), |i, _| if i % 2 == 0 { 1.0 } else { -0.7 });
            y += x * b;
        }
        for v in y.iter_mut() {
            let e: f64 = StandardNormal.sample(&mut rng);
            *v += 0.5 * e;
        }
        (blocks, y.as_slice().to_vec())
    }

    /// Orthogonal projector onto range(X) by the normal equations (Cholesky),
    /// independent of the SVD used by the solver. Needs full column rank.
    fn projector(x: &DMatrix<f64>) -> DMatrix<f64> {
        let g = x.tr_mul(x).cholesky().expect("block has full column rank");
        x * g.solve(&x.transpose())
    }

    /// `max_j ‖P_j y‖ / (n w_j)`: the λ-scale above which every group is 0.
    fn zero_threshold(blocks: &[DMatrix<f64>], y: &[f64], w: &[f64]) -> f64 {
        let yv = DVector::from_column_slice(y);
        blocks
            .iter()
            .zip(w)
            .map(|(x, wj)| (projector(x) * &yv).norm() / (y.len() as f64 * wj))
            .fold(0.0, f64::max)
    }

    /// Independent solver: FISTA with adaptive restart on the block
    /// predictions `z_j ∈ range(X_j)`; the prox of `λ‖z‖ + ι_range` is block
    /// soft-thresholding of the projection. Returns `(objective, Σ z_j)`.
    fn fista(p: &GroupLasso, iters: usize) -> (f64, DVector<f64>) {
        let n = p.y.len();
        let nf = n as f64;
        let m = p.blocks.len();
        let proj: Vec<DMatrix<f64>> = p.blocks.iter().map(projector).collect();
        let y = DVector::from_column_slice(p.y);
        let step = nf / m as f64; // 1/L with L = m/n
        let shrink = |v: DVector<f64>, t: f64| {
            let nv = v.norm();
            if nv > t {
                v * (1.0 - t / nv)
            } else {
                DVector::zeros(n)
            }
        };
        let mut z = vec![DVector::<f64>::zeros(n); m];
        let mut w = z.clone();
        let mut t: f64 = 1.0;
        for _ in 0..iters {
            let sum: DVector<f64> = w.iter().fold(DVector::zeros(n), |a, b| a + b);
            let r = &y - sum;
            let next: Vec<DVector<f64>> = (0..m)
                .map(|j| shrink(&proj[j] * (&w[j] + &r * (step / nf)), step * p.lambda[j]))
                .collect();
            let uphill: f64 = (0..m)
                .map(|j| (&w[j] - &next[j]).dot(&(&next[j] - &z[j])))
                .sum();
            let (t_next, mom) = if uphill > 0.0 {
                (1.0, 0.0)
            } else {
                let tn = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
                (tn, (t - 1.0) / tn)
            };
            w = (0..m)
                .map(|j| &next[j] + (&next[j] - &z[j]) * mom)
                .collect();
            z = next;
            t = t_next;
        }
        let sum: DVector<f64> = z.iter().fold(DVector::zeros(n), |a, b| a + b);
        let pen: f64 = z.iter().zip(p.lambda).map(|(zj, l)| l * zj.norm()).sum();
        ((&y - &sum).norm_squared() / (2.0 * nf) + pen, sum)
    }

    /// Orthogonal single-column blocks of different norms separate into
    /// scalar problems with β_j = S(x_jᵀy, nλ_j‖x_j‖)/‖x_j‖².
    #[test]
    fn orthogonal_single_column_blocks_closed_form() {
        let (n, d) = (30, 10);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let g = gauss_mat(n, d, &mut rng);
        let qr = g.qr();
        let q = qr.q();
        let blocks: Vec<DMatrix<f64>> = (0..d)
            .map(|j| DMatrix::from_column_slice(n, 1, (q.column(j) * (0.5 + j as f64)).as_slice()))
            .collect();
        let y: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        let yv = DVector::from_column_slice(&y);
        let lambda: Vec<f64> = (0..d).map(|j| 0.01 + 0.008 * j as f64).collect();
        let expect: Vec<f64> = (0..d)
            .map(|j| {
                let x = blocks[j].column(0);
                let (a, c) = (x.norm(), x.dot(&yv));
                let t = n as f64 * lambda[j] * a;
                c.signum() * (c.abs() - t).max(0.0) / (a * a)
            })
            .collect();
        assert!(
            expect.contains(&0.0) && expect.iter().any(|&b| b != 0.0),
            "{expect:?}"
        );
        let p = GroupLasso {
            blocks: &blocks,
            y: &y,
            lambda: &lambda,
        };
        let sol = p.solve(&GroupLassoOptions::default()).unwrap();
        assert!(sol.converged && sol.rel_gap <= 1e-10);
        for j in 0..d {
            assert!(
                (sol.beta[j][0] - expect[j]).abs() < 1e-10,
                "j={j}: {} vs {}",
                sol.beta[j][0],
                expect[j]
            );
            assert_eq!(sol.active_groups.contains(&j), expect[j] != 0.0);
        }
    }

    /// Generic overparametrised problem (Σk_j = 36 > n = 30, widths differ):
    /// tight certificate, KKT, objective = FISTA's to 1e-7, dual below FISTA.
    #[test]
    fn random_problem_certified_and_matches_fista() {
        let widths = [1, 2, 3, 5, 4, 8, 2, 6, 3, 2];
        let (blocks, y) = problem(30, &widths, 2);
        let w: Vec<f64> = blocks.iter().map(|x| x.norm()).collect();
        let t0 = zero_threshold(&blocks, &y, &w);
        let lambda: Vec<f64> = w.iter().map(|wj| 0.15 * t0 * wj).collect();
        let p = GroupLasso {
            blocks: &blocks,
            y: &y,
            lambda: &lambda,
        };
        let sol = p.solve(&GroupLassoOptions::default()).unwrap();
        eprintln!(
            "generic: epochs {} rel_gap {:e} kkt {:e} active {:?}",
            sol.epochs, sol.rel_gap, sol.kkt_residual, sol.active_groups
        );
        assert!(sol.converged);
        assert!(sol.rel_gap <= 1e-10, "rel_gap {}", sol.rel_gap);
        assert!(sol.kkt_residual <= 1e-7, "kkt {}", sol.kkt_residual);
        assert!(
            (p.objective(&sol.beta) - sol.primal).abs() <= 1e-12 * sol.primal,
            "objective(beta) {} vs primal {}",
            p.objective(&sol.beta),
            sol.primal
        );
        let na = sol.active_groups.len();
        assert!(na > 1 && na < widths.len(), "active {na}");
        for j in 0..widths.len() {
            let xb = &blocks[j] * &sol.beta[j];
            assert!(
                (xb - &sol.block_predictions[j]).norm()
                    <= 1e-10 * (1.0 + sol.block_predictions[j].norm())
            );
        }

        let (pf, fit) = fista(&p, 30_000);
        let rel = (pf - sol.primal).abs() / sol.primal;
        eprintln!("generic: fista {pf} vs bcd {} (rel {rel:e})", sol.primal);
        assert!(rel <= 1e-7, "fista {pf} vs bcd {}", sol.primal);
        assert!(sol.dual <= pf * (1.0 + 1e-12));
        let fit_bcd: DVector<f64> = sol
            .block_predictions
            .iter()
            .fold(DVector::zeros(30), |a, b| a + b);
        assert!((fit - &fit_bcd).norm() <= 1e-3 * fit_bcd.norm());
    }

    /// λ_j = w_j·t with t ≥ max_j ‖P_j y‖/(n w_j) zeroes every group exactly
    /// (and certifies at β = 0 with no pass); just below, some group enters.
    #[test]
    fn large_lambda_zeroes_every_group() {
        let (blocks, y) = problem(25, &[3, 1, 4, 2, 6], 3);
        for w in [vec![1.0; 5], vec![1.0, 2.0, 0.5, 3.0, 1.5]] {
            let t0 = zero_threshold(&blocks, &y, &w);
            let at = |scale: f64| {
                let lambda: Vec<f64> = w.iter().map(|wj| wj * t0 * scale).collect();
                GroupLasso {
                    blocks: &blocks,
                    y: &y,
                    lambda: &lambda,
                }
                .solve(&GroupLassoOptions::default())
                .unwrap()
            };
            let sol = at(1.0 + 1e-9);
            assert!(sol.active_groups.is_empty());
            assert!(sol.beta.iter().all(|b| b.iter().all(|&v| v == 0.0)));
            assert_eq!(sol.epochs, 0);
            assert_eq!(sol.gap, 0.0);
            assert!(sol.converged);
            let below = at(0.99);
            assert!(below.converged && !below.active_groups.is_empty());
        }
    }

    /// k_j = 1 (general, correlated columns) is the weighted Lasso with
    /// weights λ_j‖x_j‖, solved by the certified CD solver of `lasso.rs`.
    #[test]
    fn single_column_blocks_match_weighted_lasso() {
        use super::super::lasso::{Design, LassoOptions, WeightedLasso};
        let (n, d) = (40, 60);
        let (blocks, y) = problem(n, &[1; 60], 4);
        let cols: Vec<f64> = blocks.iter().flat_map(|b| b.as_slice().to_vec()).collect();
        let x = Design::from_columns(n, d, &cols).unwrap();
        let lambda: Vec<f64> = (0..d)
            .map(|j| 0.02 * (1.0 + (j % 5) as f64 / 4.0))
            .collect();
        let weights: Vec<f64> = (0..d).map(|j| lambda[j] * blocks[j].norm()).collect();
        let lasso = WeightedLasso {
            x: &x,
            y: &y,
            lambda: &weights,
        }
        .solve(&LassoOptions::default())
        .unwrap();
        let sol = GroupLasso {
            blocks: &blocks,
            y: &y,
            lambda: &lambda,
        }
        .solve(&GroupLassoOptions::default())
        .unwrap();
        assert!(lasso.converged && sol.converged);
        let rel = (sol.primal - lasso.primal).abs() / lasso.primal;
        eprintln!(
            "k=1: group {} lasso {} rel {rel:e}",
            sol.primal, lasso.primal
        );
        assert!(rel <= 1e-9);
        let nnz = lasso.beta.iter().filter(|&&b| b != 0.0).count();
        assert!(nnz > 0 && nnz < d);
        for j in 0..d {
            assert!((sol.beta[j][0] - lasso.beta[j]).abs() < 1e-5, "j={j}");
            assert_eq!(
                sol.active_groups.contains(&j),
                lasso.beta[j] != 0.0,
                "support j={j}"
            );
        }
        // Noise weights: group model σ²‖x‖²/n is half the diagonal network's.
        let lg = lambda_from_noise(&blocks, 0.3);
        let ll = super::super::lasso::lambda_from_noise(&x, 0.3);
        for j in 0..d {
            assert!((2.0 * lg[j] * blocks[j].norm() - ll[j]).abs() <= 1e-12 * ll[j]);
        }
    }

    /// Rank-deficient blocks: a duplicated column, a wide block (k > n) and a
    /// zero block (λ = 0 from `lambda_from_noise`). Only range(X_j) matters,
    /// so the predictions equal those of the de-duplicated problem, β_j is
    /// min-norm (equal entries on duplicated columns), and the zero block
    /// stays inert even from a non-zero warm start.
    #[test]
    fn rank_deficient_blocks() {
        let n = 12;
        let (mut blocks, y) = problem(n, &[2, 3, 15, 1], 5);
        let a = blocks[0].column(0).into_owned();
        let dup = DMatrix::from_columns(&[a.clone(), a.clone(), blocks[0].column(1).into_owned()]);
        let zero = DMatrix::zeros(n, 3);
        let mut with_dup = blocks.clone();
        with_dup[0] = dup;
        with_dup.push(zero);
        let mut lambda = lambda_from_noise(&with_dup, 0.4);
        assert_eq!(lambda[4], 0.0);
        assert!((lambda[1] - 0.16 * with_dup[1].norm() / n as f64).abs() < 1e-15);
        // Same weights for the duplicated and the de-duplicated problem.
        lambda[0] = 0.05;
        let opts = GroupLassoOptions {
            warm_start: Some(
                with_dup
                    .iter()
                    .map(|x| DVector::from_element(x.ncols(), 0.3))
                    .collect(),
            ),
            ..Default::default()
        };
        let sol = GroupLasso {
            blocks: &with_dup,
            y: &y,
            lambda: &lambda,
        }
        .solve(&opts)
        .unwrap();
        eprintln!(
            "rank-deficient: ranks {:?} rel_gap {:e} epochs {}",
            sol.ranks, sol.rel_gap, sol.epochs
        );
        assert_eq!(sol.ranks, vec![2, 3, n, 1, 0]);
        assert!(sol.converged && sol.rel_gap <= 1e-10 && sol.kkt_residual <= 1e-7);
        assert!(sol.beta[4].iter().all(|&v| v == 0.0) && !sol.active_groups.contains(&4));
        assert!((sol.beta[0][0] - sol.beta[0][1]).abs() <= 1e-12 * (1.0 + sol.beta[0][0].abs()));
        // The wide block: β is the min-norm solution, i.e. in range(X_jᵀ).
        let b2 = &sol.beta[2];
        let pinv = with_dup[2].clone().pseudo_inverse(1e-12).unwrap();
        let min_norm = &pinv * &sol.block_predictions[2];
        assert!((b2 - min_norm).norm() <= 1e-8 * (1.0 + b2.norm()));

        blocks.push(DMatrix::zeros(n, 3));
        let base = GroupLasso {
            blocks: &blocks,
            y: &y,
            lambda: &lambda,
        }
        .solve(&GroupLassoOptions::default())
        .unwrap();
        assert!((base.primal - sol.primal).abs() <= 1e-9 * base.primal);
        for j in 0..5 {
            let diff = (&base.block_predictions[j] - &sol.block_predictions[j]).norm();
            assert!(
                diff <= 1e-6 * (1.0 + base.block_predictions[j].norm()),
                "block {j}: {diff}"
            );
        }
    }

    /// Warm start from a rough solution is faster and lands on the same
    /// answer; running out of epochs is reported, not an error.
    #[test]
    fn warm_start_and_non_convergence() {
        let (blocks, y) = problem(30, &[2, 4, 3, 5, 1, 6, 2, 4], 6);
        let lambda = vec![0.02; 8];
        let p = GroupLasso {
            blocks: &blocks,
            y: &y,
            lambda: &lambda,
        };
        let cold = p.solve(&GroupLassoOptions::default()).unwrap();
        let rough = p
            .solve(&GroupLassoOptions {
                tol: 1e-3,
                ..Default::default()
            })
            .unwrap();
        assert!(rough.converged && rough.rel_gap > 1e-10);
        let warm = p
            .solve(&GroupLassoOptions {
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
        let short = p
            .solve(&GroupLassoOptions {
                max_epochs: 1,
                ..Default::default()
            })
            .unwrap();
        assert!(!short.converged && short.epochs == 1);
        assert!(short.rel_gap > 1e-10 && short.dual <= cold.primal);
        // No pass at all: β = 0, P = ‖y‖²/2n.
        let none = p
            .solve(&GroupLassoOptions {
                max_epochs: 0,
                ..Default::default()
            })
            .unwrap();
        let yy = y.iter().map(|v| v * v).sum::<f64>() / 60.0;
        assert!(!none.converged && (none.primal - yy).abs() <= 1e-14 * yy);
    }

    /// Each validation error maps to its variant, with a helpful message.
    #[test]
    fn errors() {
        use GroupLassoError as E;
        let x = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 1.0]);
        let blocks = vec![x.clone(), x.clone()];
        let o = GroupLassoOptions::default();
        let solve = |b: &[DMatrix<f64>], y: &[f64], l: &[f64], o: &GroupLassoOptions| {
            GroupLasso {
                blocks: b,
                y,
                lambda: l,
            }
            .solve(o)
        };
        let ok = [0.1, 0.1];
        let y = [1.0, -1.0];
        assert!(solve(&blocks, &y, &ok, &o).is_ok());
        assert!(matches!(solve(&[], &y, &[], &o), Err(E::NoBlocks)));
        assert!(matches!(
            solve(&blocks, &[], &ok, &o),
            Err(E::EmptyResponse)
        ));
        let err = solve(&[x.clone(), DMatrix::zeros(3, 2)], &y, &ok, &o).unwrap_err();
        assert!(matches!(
            err,
            E::BlockRows {
                index: 1,
                expected: 2,
                found: 3
            }
        ));
        assert!(err.to_string().contains("same n"));
        assert!(matches!(
            solve(&[x.clone(), DMatrix::zeros(2, 0)], &y, &ok, &o),
            Err(E::EmptyBlock { index: 1, .. })
        ));
        let mut bad = x.clone();
        bad[(1, 0)] = f64::NAN;
        let err = solve(&[x.clone(), bad], &y, &ok, &o).unwrap_err();
        assert!(
            matches!(&err, E::NonFinite { what: "block", location, .. } if location == "block 1, row 1, column 0")
        );
        assert!(matches!(
            solve(&blocks, &[1.0, f64::INFINITY], &ok, &o),
            Err(E::NonFinite { what: "y", .. })
        ));
        assert!(matches!(
            solve(&blocks, &y, &[0.1], &o),
            Err(E::DimensionMismatch {
                expected: 2,
                found: 1,
                ..
            })
        ));
        assert!(matches!(
            solve(&blocks, &y, &[0.1, f64::NAN], &o),
            Err(E::NonFinite { what: "lambda", .. })
        ));
        assert!(matches!(
            solve(&blocks, &y, &[0.1, -0.1], &o),
            Err(E::NegativeLambda { index: 1, .. })
        ));
        let err = solve(&blocks, &y, &[0.0, 0.1], &o).unwrap_err();
        assert!(matches!(err, E::ZeroLambda { index: 0 }));
        assert!(err.to_string().contains("tiny positive"));
        // λ = 0 on a zero block is fine.
        assert!(solve(&[x.clone(), DMatrix::zeros(2, 1)], &y, &[0.1, 0.0], &o).is_ok());
        let bad_tol = GroupLassoOptions {
            tol: f64::NAN,
            ..o.clone()
        };
        assert!(matches!(
            solve(&blocks, &y, &ok, &bad_tol),
            Err(E::InvalidOption { option: "tol", .. })
        ));
        let ws = |w: Vec<DVector<f64>>| GroupLassoOptions {
            warm_start: Some(w),
            ..Default::default()
        };
        assert!(matches!(
            solve(&blocks, &y, &ok, &ws(vec![DVector::zeros(2)])),
            Err(E::DimensionMismatch { what, .. }) if what.starts_with("warm_start")
        ));
        assert!(matches!(
            solve(
                &blocks,
                &y,
                &ok,
                &ws(vec![DVector::zeros(2), DVector::zeros(3)])
            ),
            Err(E::DimensionMismatch {
                expected: 2,
                found: 3,
                ..
            })
        ));
        assert!(matches!(
            solve(
                &blocks,
                &y,
                &ok,
                &ws(vec![DVector::zeros(2), DVector::from_element(2, f64::NAN)])
            ),
            Err(E::NonFinite {
                what: "warm_start",
                ..
            })
        ));
    }

    /// The Jacobi SVD recomposes rank-deficient tall and wide matrices with
    /// orthonormal factors (the case where nalgebra's SVD failed).
    #[test]
    fn thin_svd_recomposes_rank_deficient() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for (m, k, rank) in [(6, 12, 2), (12, 6, 2), (30, 10, 10), (5, 5, 0), (40, 7, 3)] {
            let a = gauss_mat(m, rank, &mut rng) * gauss_mat(rank, k, &mut rng);
            let (u, s, v) = thin_svd(&a);
            let rec = &u * DMatrix::from_diagonal(&s) * v.transpose();
            assert!((rec - &a).norm() <= 1e-13 * (1.0 + a.norm()), "{m}x{k}");
            assert!(s.iter().zip(s.iter().skip(1)).all(|(a, b)| a >= b));
            let r = s.iter().filter(|&&x| x > 1e-12 * s[0]).count();
            assert_eq!(r, rank, "{m}x{k}");
            let p = m.min(k);
            assert!((v.tr_mul(&v) - DMatrix::<f64>::identity(p, p)).norm() <= 1e-13);
            let ur = u.columns(0, r);
            assert!((ur.tr_mul(&ur) - DMatrix::<f64>::identity(r, r)).norm() <= 1e-13);
        }
    }
}
