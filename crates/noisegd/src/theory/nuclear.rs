//! Certified reference solution of the nuclear-norm problem of Eq. (10).
//!
//! For the two-layer linear model `Φ(W1, W2) = W2W1Xᵀ` the paper shows
//! (Sec. 2.4, App. C.2) that perturbed GD minimises, over `M = W2W1`,
//!
//! ```text
//! P(M) = (1/2n)‖Yᵀ − MXᵀ‖²_F + μ‖MXᵀ‖_*,        μ = (σ²/n)·√d₂·‖X‖_F
//! ```
//!
//! with `X ∈ R^{n×d₀}`, `Y ∈ R^{n×d₂}`, `M ∈ R^{d₂×d₀}`. The penalty is on the
//! *predictions* `Z = MXᵀ ∈ R^{d₂×n}`, and only `Z` is identifiable.
//!
//! # Closed form
//!
//! The rows of `Z = MXᵀ` range over `range(X)` (the column space of `X`).
//! Let `X = U S Vᵀ` be the thin SVD, keep the singular values
//! `> 1e-12·max` (rank-safe; `d₀ > n` and rank-deficient `X` are fine) and
//! let `Q = U_r ∈ R^{n×r}`. Then `Z = NQᵀ` with `N = ZQ ∈ R^{d₂×r}`,
//! `‖Z‖_* = ‖N‖_*` and `‖Yᵀ − NQᵀ‖² = ‖YᵀQ − N‖² + ‖Yᵀ(I − QQᵀ)‖²`, so
//!
//! ```text
//! N* = SVT(YᵀQ, nμ),      Z* = N*Qᵀ,      M* = N* S_r⁻¹ V_rᵀ,
//! ```
//!
//! where `SVT(B, τ)` replaces each singular value `σ` of `B` by `(σ − τ)₊`.
//! `M*` is the minimum-Frobenius-norm `M` with `MXᵀ = Z*` (its rows lie in
//! `range(Xᵀ)`). One SVD of `X` and one of the `d₂×r` matrix `YᵀQ`.
//!
//! # Certificate (both are reported)
//!
//! [`NuclearRegression::certificate`] evaluates any `M` (e.g. the product
//! `W2W1` reached by perturbed GD), not only the closed form.
//!
//! *Duality gap.* With `f(Z) = (1/2n)‖Yᵀ − Z‖²` and
//! `g(Z) = μ‖Z‖_* + ι{rows of Z in range(X)}`, whose conjugate is the
//! indicator of `{Θ : ‖ΘQ‖₂ ≤ μ}`, the dual is
//!
//! ```text
//! D(Θ) = ⟨Θ, Yᵀ⟩ − (n/2)‖Θ‖²_F      s.t. ‖ΘQ‖₂ ≤ μ    (spectral norm),
//! ```
//!
//! maximised at `Θ* = (Yᵀ − Z*)/n`. For `R = Yᵀ − MXᵀ` we take
//! `Θ = s·R/n` with `|s| ≤ s_max = min(1, μ/‖RQ/n‖₂)` (feasible) and the best
//! such `s`, `s = clamp(⟨R, Yᵀ⟩/‖R‖², −s_max, s_max)`. Weak duality gives
//! `D(Θ) ≤ P* ≤ P(M)`; `gap = P(M) − D(Θ)` and
//! `rel_gap = gap / max(P(M), tiny)`.
//!
//! *Subgradient (KKT) residual.* Optimality of `N = ZQ = U₁ΣV₁ᵀ` (compact
//! SVD, singular values `> 1e-9·max`) is `G := RQ/n = μ(U₁V₁ᵀ + W)` with
//! `‖W‖₂ ≤ 1`, `U₁ᵀW = 0`, `WV₁ = 0`. With `P_U = U₁U₁ᵀ`, `P_V = V₁V₁ᵀ`
//! the reported residual is
//!
//! ```text
//! max( ‖U₁ᵀGV₁ − μI‖_F,  ‖P_U G (I − P_V)‖_F,  ‖(I − P_U) G P_V‖_F,
//!      (‖(I − P_U) G (I − P_V)‖₂ − μ)₊ )
//! ```
//!
//! (for `N = 0` it is `(‖G‖₂ − μ)₊`). It is in the units of `μ`.
//!
//! As in `lasso.rs`, `μ = 0` is rejected unless `X = 0`: the dual feasible
//! set would be `{ΘQ = 0}`, which a rescaled residual meets only exactly.

use super::duality::{rescaled_residual_gap, Gap};
use nalgebra::DMatrix;
use thiserror::Error;

use super::group_lasso::{thin_svd, Basis};

/// Errors from validating a [`NuclearRegression`] or a candidate `M`.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum NuclearError {
    /// `X` or `Y` has a zero dimension.
    #[error(
        "X must be n × d0 and Y n × d2 with n, d0, d2 >= 1, got X {x_rows} × {x_cols} and \
         Y {y_rows} × {y_cols}"
    )]
    EmptyData {
        x_rows: usize,
        x_cols: usize,
        y_rows: usize,
        y_cols: usize,
    },

    /// `X` and `Y` have different numbers of rows.
    #[error(
        "X has {x_rows} rows but Y has {y_rows}; both must have one row per sample \
         (X is n × d0, Y is n × d2 — pass Y, not Yᵀ)"
    )]
    RowMismatch { x_rows: usize, y_rows: usize },

    /// A candidate `M` of the wrong shape.
    #[error("M must be d2 × d0 = {expected_rows} × {expected_cols}, found {rows} × {cols}")]
    MShape {
        expected_rows: usize,
        expected_cols: usize,
        rows: usize,
        cols: usize,
    },

    /// A NaN or infinite input.
    #[error("{what} contains a non-finite value {value} at {location}; all inputs must be finite")]
    NonFinite {
        what: &'static str,
        location: String,
        value: f64,
    },

    /// `μ < 0`.
    #[error("mu = {value} is negative; the nuclear-norm weight must be >= 0")]
    NegativeMu { value: f64 },

    /// `μ = 0` with `X ≠ 0`.
    #[error(
        "mu = 0 with X != 0 is not supported: the duality-gap certificate needs mu > 0 \
         (with mu = 0 this is plain least squares); use a tiny positive value instead"
    )]
    ZeroMu,
}

/// Nuclear-norm weight implied by perturbed GD on `W2W1Xᵀ` with noise
/// standard deviation `sigma_t`: `μ = (σ_t²/n)·√d₂·‖X‖_F` (Eq. 10), `n` the
/// number of rows of `X`.
pub fn mu_from_noise(x: &DMatrix<f64>, d2: usize, sigma_t: f64) -> f64 {
    if x.nrows() == 0 {
        return 0.0;
    }
    sigma_t * sigma_t / x.nrows() as f64 * (d2 as f64).sqrt() * x.norm()
}

/// Relative cut-off below which singular values of `X` count as zero.
pub const X_RANK_RTOL: f64 = super::group_lasso::RANK_RTOL;
/// Relative cut-off for the reported rank of `Z` and for the KKT residual.
pub const Z_RANK_RTOL: f64 = 1e-9;

/// Certificate of a candidate `M` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct NuclearCertificate {
    /// `P(M)`.
    pub primal: f64,
    /// `D(Θ)` at the rescaled-residual dual point.
    pub dual: f64,
    /// `P(M) − D(Θ)`, clamped at 0.
    pub gap: f64,
    /// `gap / max(P(M), tiny)`.
    pub rel_gap: f64,
    /// Subgradient-optimality residual (see the module docs).
    pub kkt_residual: f64,
}

/// Result of [`NuclearRegression::solve`].
#[derive(Debug, Clone, PartialEq)]
pub struct NuclearSolution {
    /// Minimum-norm `M` (`d₂ × d₀`) with `MXᵀ = Z*`.
    pub m: DMatrix<f64>,
    /// `Z* = M Xᵀ` (`d₂ × n`).
    pub predictions: DMatrix<f64>,
    /// Singular values of `Z*`, descending, `min(d₂, rank X)` of them
    /// (trailing ones exactly 0 where thresholded).
    pub singular_values: Vec<f64>,
    /// Number of singular values `> 1e-9·max`.
    pub rank: usize,
    /// Numerical rank of `X` (singular values `> 1e-12·max`).
    pub x_rank: usize,
    /// `P(M)`, evaluated from `m` by [`NuclearRegression::certificate`].
    pub primal: f64,
    pub dual: f64,
    pub gap: f64,
    pub rel_gap: f64,
    pub kkt_residual: f64,
}

/// `min_M (1/2n)‖Yᵀ − MXᵀ‖²_F + μ‖MXᵀ‖_*`.
#[derive(Debug, Clone, Copy)]
pub struct NuclearRegression<'a> {
    /// `n × d₀` inputs.
    pub x: &'a DMatrix<f64>,
    /// `n × d₂` targets (the loss compares `Yᵀ` with `MXᵀ`).
    pub y: &'a DMatrix<f64>,
    pub mu: f64,
}

/// Singular-value soft-thresholding `SVT(B, τ)`; also returns the
/// thresholded singular values sorted descending.
pub fn svt(b: &DMatrix<f64>, tau: f64) -> (DMatrix<f64>, Vec<f64>) {
    let (p, q) = b.shape();
    if p == 0 || q == 0 {
        return (DMatrix::zeros(p, q), Vec::new());
    }
    let (u, sv, v) = thin_svd(b);
    let shrunk = sv.map(|s| (s - tau).max(0.0));
    let k = shrunk.iter().filter(|&&s| s > 0.0).count();
    let out = if k == 0 {
        DMatrix::zeros(p, q)
    } else {
        u.columns(0, k)
            * DMatrix::from_diagonal(&shrunk.rows(0, k).into_owned())
            * v.columns(0, k).transpose()
    };
    (out, shrunk.iter().copied().collect())
}

fn spectral_norm(a: &DMatrix<f64>) -> f64 {
    if a.is_empty() {
        0.0
    } else {
        thin_svd(a).1[0]
    }
}

fn check_finite(what: &'static str, a: &DMatrix<f64>) -> Result<(), NuclearError> {
    let rows = a.nrows();
    match a.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(p) => Err(NuclearError::NonFinite {
            what,
            location: format!("row {}, column {}", p % rows, p / rows),
            value: a.as_slice()[p],
        }),
    }
}

impl NuclearRegression<'_> {
    /// Validates the problem (also done by [`solve`](Self::solve) and
    /// [`certificate`](Self::certificate)).
    pub fn validate(&self) -> Result<(), NuclearError> {
        let (xr, xc) = self.x.shape();
        let (yr, yc) = self.y.shape();
        if xr == 0 || xc == 0 || yr == 0 || yc == 0 {
            return Err(NuclearError::EmptyData {
                x_rows: xr,
                x_cols: xc,
                y_rows: yr,
                y_cols: yc,
            });
        }
        if xr != yr {
            return Err(NuclearError::RowMismatch {
                x_rows: xr,
                y_rows: yr,
            });
        }
        check_finite("X", self.x)?;
        check_finite("Y", self.y)?;
        if !self.mu.is_finite() {
            return Err(NuclearError::NonFinite {
                what: "mu",
                location: "the scalar mu".into(),
                value: self.mu,
            });
        }
        if self.mu < 0.0 {
            return Err(NuclearError::NegativeMu { value: self.mu });
        }
        if self.mu == 0.0 && self.x.iter().any(|&v| v != 0.0) {
            return Err(NuclearError::ZeroMu);
        }
        Ok(())
    }

    /// `P(M)`. Panics if `M` is not `d₂ × d₀`.
    pub fn objective(&self, m: &DMatrix<f64>) -> f64 {
        assert_eq!(
            m.shape(),
            (self.y.ncols(), self.x.ncols()),
            "M must be d2 × d0"
        );
        let z = m * self.x.transpose();
        let r = self.y.transpose() - &z;
        let nuc: f64 = if z.is_empty() {
            0.0
        } else {
            thin_svd(&z).1.sum()
        };
        r.norm_squared() / (2.0 * self.x.nrows() as f64) + self.mu * nuc
    }

    /// Closed-form minimiser `N* = SVT(YᵀQ, nμ)` with its certificate.
    pub fn solve(&self) -> Result<NuclearSolution, NuclearError> {
        self.validate()?;
        let nf = self.x.nrows() as f64;
        let basis = Basis::new(self.x);
        let b = self.y.tr_mul(&basis.q); // YᵀQ, d₂ × r
        let (n_star, singular_values) = svt(&b, nf * self.mu);
        let inv_s = basis.s.map(|s| 1.0 / s);
        let m = &n_star * DMatrix::from_diagonal(&inv_s) * basis.v.transpose();
        let predictions = &n_star * basis.q.transpose();
        let smax = singular_values.first().copied().unwrap_or(0.0);
        let rank = singular_values
            .iter()
            .filter(|&&s| s > 0.0 && s > Z_RANK_RTOL * smax)
            .count();
        let cert = self.certificate_with(&basis, &m)?;
        Ok(NuclearSolution {
            m,
            predictions,
            singular_values,
            rank,
            x_rank: basis.s.len(),
            primal: cert.primal,
            dual: cert.dual,
            gap: cert.gap,
            rel_gap: cert.rel_gap,
            kkt_residual: cert.kkt_residual,
        })
    }

    /// Duality gap and KKT residual of an arbitrary `M` (`d₂ × d₀`).
    pub fn certificate(&self, m: &DMatrix<f64>) -> Result<NuclearCertificate, NuclearError> {
        self.validate()?;
        self.certificate_with(&Basis::new(self.x), m)
    }

    fn certificate_with(
        &self,
        basis: &Basis,
        m: &DMatrix<f64>,
    ) -> Result<NuclearCertificate, NuclearError> {
        let (d2, d0) = (self.y.ncols(), self.x.ncols());
        if m.shape() != (d2, d0) {
            return Err(NuclearError::MShape {
                expected_rows: d2,
                expected_cols: d0,
                rows: m.nrows(),
                cols: m.ncols(),
            });
        }
        check_finite("M", m)?;
        let nf = self.x.nrows() as f64;
        let mu = self.mu;
        let yt = self.y.transpose();
        let z = m * self.x.transpose();
        let r = &yt - &z;
        let q = &basis.q;
        // Z = ZQQᵀ exactly (rows of MXᵀ lie in range X), so ‖Z‖_* = ‖ZQ‖_*.
        let n_mat = &z * q;
        let g = &r * q / nf; // RQ/n, d₂ × r
        let rr = r.norm_squared();

        let (u1, v1, nuc) = if n_mat.is_empty() {
            (DMatrix::zeros(d2, 0), DMatrix::zeros(q.ncols(), 0), 0.0)
        } else {
            let (u, sv, v) = thin_svd(&n_mat);
            let k = sv
                .iter()
                .filter(|&&s| s > 0.0 && s > Z_RANK_RTOL * sv[0])
                .count();
            (
                u.columns(0, k).into_owned(),
                v.columns(0, k).into_owned(),
                sv.sum(),
            )
        };
        let primal = rr / (2.0 * nf) + mu * nuc;

        // Dual point s·R/n.
        let gnorm = spectral_norm(&g);
        let s_max = if gnorm > mu { mu / gnorm } else { 1.0 };
        let ry = r.dot(&yt);
        let Gap { dual, gap, rel_gap } = rescaled_residual_gap(primal, rr, ry, s_max, nf);

        // Subgradient residual.
        let kkt_residual = if u1.ncols() == 0 {
            (gnorm - mu).max(0.0)
        } else {
            let p = u1.ncols();
            let core = u1.tr_mul(&g) * &v1; // U₁ᵀGV₁
            let t1 = (&core - DMatrix::<f64>::identity(p, p) * mu).norm();
            let ug = u1.tr_mul(&g); // U₁ᵀG
            let t2 = (&ug - &core * v1.transpose()).norm(); // ‖U₁ᵀG(I − P_V)‖ = ‖P_U G(I − P_V)‖
            let gv = &g * &v1;
            let t3 = (&gv - &u1 * &core).norm();
            let w = &g - &u1 * &ug - &gv * v1.transpose() + &u1 * &core * v1.transpose();
            let t4 = (spectral_norm(&w) - mu).max(0.0);
            t1.max(t2).max(t3).max(t4)
        };
        Ok(NuclearCertificate {
            primal,
            dual,
            gap,
            rel_gap,
            kkt_residual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn gauss(r: usize, c: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
        DMatrix::from_fn(r, c, |_, _| StandardNormal.sample(rng))
    }

    /// `X` (n × d₀) Gaussian, `Y = X B + 0.3·noise` with `B` of rank 2.
    fn data(n: usize, d0: usize, d2: usize, seed: u64) -> (DMatrix<f64>, DMatrix<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = gauss(n, d0, &mut rng);
        let b = gauss(d0, 2, &mut rng) * gauss(2, d2, &mut rng);
        let y = &x * b / (d0 as f64).sqrt() + gauss(n, d2, &mut rng) * 0.3;
        (x, y)
    }

    /// Projector onto range(X) through nalgebra's pseudo-inverse (not the
    /// solver's basis).
    fn projector(x: &DMatrix<f64>) -> DMatrix<f64> {
        x * x.clone().pseudo_inverse(1e-10).unwrap()
    }

    fn obj_z(p: &NuclearRegression, z: &DMatrix<f64>) -> f64 {
        let nuc = z.clone().svd(false, false).singular_values.sum();
        (p.y.transpose() - z).norm_squared() / (2.0 * p.x.nrows() as f64) + p.mu * nuc
    }

    /// Independent solver 1: FISTA (adaptive restart) on Z = MXᵀ with step
    /// 1/L for the conservative L = 1.5/n; prox of μ‖Z‖_* + ι{rows in range X}
    /// is SVT of the projected point.
    fn fista(p: &NuclearRegression, iters: usize) -> DMatrix<f64> {
        let nf = p.x.nrows() as f64;
        let pr = projector(p.x);
        let yt = p.y.transpose();
        let step = nf / 1.5;
        let mut z = DMatrix::zeros(yt.nrows(), yt.ncols());
        let mut w = z.clone();
        let mut t: f64 = 1.0;
        for _ in 0..iters {
            let grad = (&w - &yt) / nf;
            let (next, _) = svt(&((&w - grad * step) * &pr), step * p.mu);
            let uphill = (&w - &next).dot(&(&next - &z));
            let (tn, mom) = if uphill > 0.0 {
                (1.0, 0.0)
            } else {
                let tn = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
                (tn, (t - 1.0) / tn)
            };
            w = &next + (&next - &z) * mom;
            z = next;
            t = tn;
        }
        z
    }

    /// Independent solver 2: ADMM on (M, Z) with the constraint MXᵀ = Z; the
    /// M-step is least squares (W = MXᵀ = C·P), the Z-step a plain SVT on
    /// the full d₂ × n matrix. Returns W.
    fn admm(p: &NuclearRegression, iters: usize) -> DMatrix<f64> {
        let nf = p.x.nrows() as f64;
        let pr = projector(p.x);
        let yt = p.y.transpose();
        let rho = 1.0 / nf;
        let mut z = DMatrix::zeros(yt.nrows(), yt.ncols());
        let mut u = z.clone();
        let mut w = z.clone();
        for _ in 0..iters {
            w = ((&yt / nf + (&z - &u) * rho) / (1.0 / nf + rho)) * &pr;
            z = svt(&(&w + &u), p.mu / rho).0;
            u += &w - &z;
        }
        w
    }

    /// `‖YᵀP‖₂/n`: the μ above which Z* = 0.
    fn mu_max(x: &DMatrix<f64>, y: &DMatrix<f64>) -> f64 {
        spectral_norm(&(y.transpose() * projector(x))) / x.nrows() as f64
    }

    #[test]
    fn closed_form_matches_fista_and_admm() {
        let (x, y) = data(30, 10, 8, 1);
        let mu = 0.2 * mu_max(&x, &y);
        let p = NuclearRegression { x: &x, y: &y, mu };
        let sol = p.solve().unwrap();
        eprintln!(
            "closed form: rank {} sv {:?} rel_gap {:e} kkt {:e}",
            sol.rank, sol.singular_values, sol.rel_gap, sol.kkt_residual
        );
        assert!(sol.rank >= 1 && sol.rank < 8, "rank {}", sol.rank);
        assert!(sol.rel_gap <= 1e-10, "rel_gap {}", sol.rel_gap);
        assert!(
            sol.kkt_residual <= 1e-10 * mu.max(1.0),
            "kkt {}",
            sol.kkt_residual
        );
        assert!((p.objective(&sol.m) - sol.primal).abs() <= 1e-12 * sol.primal);
        assert!(
            (&sol.m * x.transpose() - &sol.predictions).norm() <= 1e-10 * sol.predictions.norm()
        );
        let zsv = sol.predictions.clone().svd(false, false).singular_values;
        assert!((zsv.sum() - sol.singular_values.iter().sum::<f64>()).abs() <= 1e-10 * zsv.sum());

        for (name, z) in [("fista", fista(&p, 3000)), ("admm", admm(&p, 3000))] {
            let pz = obj_z(&p, &z);
            let rel = (pz - sol.primal).abs() / sol.primal;
            let dz = (&z - &sol.predictions).norm() / sol.predictions.norm();
            eprintln!(
                "{name}: objective {pz} vs closed form {} (rel {rel:e}), ‖ΔZ‖/‖Z‖ {dz:e}",
                sol.primal
            );
            assert!(rel <= 1e-8, "{name}: {pz} vs {}", sol.primal);
            assert!(sol.dual <= pz * (1.0 + 1e-12));
            assert!(dz <= 1e-5, "{name}: ΔZ {dz}");
        }
    }

    /// μ ≥ ‖YᵀQ‖₂/n gives Z* = 0 exactly with gap 0; just below, rank 1.
    #[test]
    fn large_mu_gives_zero() {
        let (x, y) = data(25, 6, 5, 2);
        let m0 = mu_max(&x, &y);
        let at = |s: f64| {
            NuclearRegression {
                x: &x,
                y: &y,
                mu: m0 * s,
            }
            .solve()
            .unwrap()
        };
        let sol = at(1.0 + 1e-9);
        assert_eq!(sol.rank, 0);
        assert!(sol.m.iter().all(|&v| v == 0.0) && sol.predictions.iter().all(|&v| v == 0.0));
        assert!(sol.rel_gap <= 1e-14, "rel_gap {}", sol.rel_gap);
        assert_eq!(sol.kkt_residual, 0.0);
        assert_eq!(at(0.99).rank, 1);
    }

    /// Rank is non-increasing and the optimal value non-decreasing in μ,
    /// from min(d₂, rank X) at tiny μ to 0; every point certified.
    #[test]
    fn rank_monotone_in_mu() {
        let (x, y) = data(40, 12, 6, 3);
        let m0 = mu_max(&x, &y);
        let mut prev_rank = usize::MAX;
        let mut prev_val = 0.0;
        let mut ranks = Vec::new();
        for k in 0..=30 {
            let mu = m0 * 10f64.powf(-4.0 + 4.2 * k as f64 / 30.0);
            let sol = NuclearRegression { x: &x, y: &y, mu }.solve().unwrap();
            assert!(sol.rel_gap <= 1e-10, "mu {mu}: rel_gap {}", sol.rel_gap);
            assert!(sol.rank <= prev_rank && sol.primal >= prev_val * (1.0 - 1e-12));
            prev_rank = sol.rank;
            prev_val = sol.primal;
            ranks.push(sol.rank);
        }
        eprintln!("ranks along mu: {ranks:?}");
        assert_eq!(ranks[0], 6);
        assert_eq!(*ranks.last().unwrap(), 0);
        assert!(ranks.iter().any(|&r| r > 0 && r < 6));
    }

    /// d₀ > n (and a duplicated column): X has rank n; the closed form agrees
    /// with ADMM and M is minimum-norm (rows in range Xᵀ).
    #[test]
    fn wide_and_rank_deficient_x() {
        for (n, d0, dup) in [(10, 25, false), (20, 8, true)] {
            let (mut x, y) = data(n, d0, 4, 4);
            if dup {
                let c = x.column(0).into_owned();
                x.set_column(1, &c);
                x.set_column(2, &(c * 2.0));
            }
            let p = NuclearRegression {
                x: &x,
                y: &y,
                mu: 0.3 * mu_max(&x, &y),
            };
            let sol = p.solve().unwrap();
            assert_eq!(sol.x_rank, if dup { d0 - 2 } else { n });
            assert!(
                sol.rel_gap <= 1e-10 && sol.kkt_residual <= 1e-10,
                "{} {}",
                sol.rel_gap,
                sol.kkt_residual
            );
            let row_proj = x.clone().pseudo_inverse(1e-10).unwrap() * &x; // onto range Xᵀ
            assert!((&sol.m * &row_proj - &sol.m).norm() <= 1e-9 * sol.m.norm());
            let z = admm(&p, 3000);
            let rel = (obj_z(&p, &z) - sol.primal).abs() / sol.primal;
            eprintln!(
                "n {n} d0 {d0} dup {dup}: rank X {} rank Z {} admm rel {rel:e}",
                sol.x_rank, sol.rank
            );
            assert!(rel <= 1e-8);
        }
    }

    /// The certificate of a suboptimal M: positive gap bounding the true
    /// suboptimality, non-zero KKT residual; and a zero X is inert.
    #[test]
    fn certificate_of_suboptimal_m_and_noise_weight() {
        let (x, y) = data(30, 10, 5, 5);
        let mu = mu_from_noise(&x, 5, 0.3);
        assert!((mu - 0.09 / 30.0 * 5f64.sqrt() * x.norm()).abs() <= 1e-15 * mu);
        let p = NuclearRegression { x: &x, y: &y, mu };
        let sol = p.solve().unwrap();
        let bad = &sol.m * 1.05;
        let c = p.certificate(&bad).unwrap();
        let subopt = p.objective(&bad) - sol.primal;
        assert!(
            subopt > 0.0 && c.gap >= subopt * (1.0 - 1e-9),
            "gap {} subopt {subopt}",
            c.gap
        );
        assert!(c.dual <= sol.primal * (1.0 + 1e-12) && c.kkt_residual > 1e-6);
        let zero_x = DMatrix::zeros(30, 10);
        let z = NuclearRegression {
            x: &zero_x,
            y: &y,
            mu: 0.0,
        }
        .solve()
        .unwrap();
        assert!(
            z.x_rank == 0 && z.rank == 0 && z.m.iter().all(|&v| v == 0.0) && z.rel_gap <= 1e-15
        );
    }

    #[test]
    fn errors() {
        use NuclearError as E;
        let x = DMatrix::from_element(4, 3, 1.0);
        let y = DMatrix::from_element(4, 2, 1.0);
        let p =
            |x: &DMatrix<f64>, y: &DMatrix<f64>, mu: f64| NuclearRegression { x, y, mu }.solve();
        assert!(p(&x, &y, 0.1).is_ok());
        assert!(matches!(
            p(&DMatrix::zeros(0, 3), &y, 0.1),
            Err(E::EmptyData { .. })
        ));
        assert!(matches!(
            p(&x, &DMatrix::zeros(4, 0), 0.1),
            Err(E::EmptyData { .. })
        ));
        let err = p(&x, &y.transpose(), 0.1).unwrap_err();
        assert!(matches!(
            err,
            E::RowMismatch {
                x_rows: 4,
                y_rows: 2
            }
        ));
        assert!(err.to_string().contains("not Yᵀ"));
        let mut bad = x.clone();
        bad[(2, 1)] = f64::NAN;
        let err = p(&bad, &y, 0.1).unwrap_err();
        assert!(
            matches!(&err, E::NonFinite { what: "X", location, .. } if location == "row 2, column 1")
        );
        let mut bady = y.clone();
        bady[(0, 1)] = f64::NEG_INFINITY;
        assert!(matches!(
            p(&x, &bady, 0.1),
            Err(E::NonFinite { what: "Y", .. })
        ));
        assert!(matches!(
            p(&x, &y, f64::NAN),
            Err(E::NonFinite { what: "mu", .. })
        ));
        assert!(matches!(p(&x, &y, -1.0), Err(E::NegativeMu { .. })));
        assert!(matches!(p(&x, &y, 0.0), Err(E::ZeroMu)));
        let prob = NuclearRegression {
            x: &x,
            y: &y,
            mu: 0.1,
        };
        assert!(matches!(
            prob.certificate(&DMatrix::zeros(3, 2)),
            Err(E::MShape {
                expected_rows: 2,
                expected_cols: 3,
                ..
            })
        ));
        assert!(matches!(
            prob.certificate(&DMatrix::from_element(2, 3, f64::NAN)),
            Err(E::NonFinite { what: "M", .. })
        ));
    }
}
