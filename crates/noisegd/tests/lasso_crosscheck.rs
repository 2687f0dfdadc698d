//! Cross-check of the certified weighted-Lasso solver (`theory::lasso`) against an independent
//! implementation: linfa-elasticnet's coordinate descent with `l1_ratio = 1`, no intercept.
//!
//! Conventions. Ours: `P(β) = (1/2n)‖y − Xβ‖² + Σ_j λ_j|β_j|`. linfa's (scikit-learn's) Lasso:
//! `(1/2n)‖y − Xw‖² + α‖w‖₁` (its threshold is `n·α` on `X_jᵀr`, and its duality gap and
//! tolerance are in units of `‖y‖²`, i.e. n times ours). The weights are folded into the columns:
//! with `λ_j = α·c_j`, `X̃_j = X_j/c_j` and `γ_j = c_jβ_j` give `Xβ = X̃γ` and
//! `Σλ_j|β_j| = α‖γ‖₁`, so `β_j = γ_j/c_j`.

use linfa::prelude::*;
use linfa::Dataset;
use linfa_elasticnet::ElasticNet;
use ndarray::{Array1, Array2};
use noisegd::data::synthetic::{generate, SparseRegressionConfig};
use noisegd::theory::lasso::{lambda_from_noise, Design, LassoOptions, WeightedLasso};

/// β from linfa for the weighted problem, by column rescaling.
fn linfa_weighted_lasso(n: usize, d: usize, x_rows: &[f64], y: &[f64], lambda: &[f64]) -> Vec<f64> {
    let alpha = lambda.iter().sum::<f64>() / d as f64;
    let c: Vec<f64> = lambda.iter().map(|l| l / alpha).collect();
    let scaled = Array2::from_shape_fn((n, d), |(i, j)| x_rows[i * d + j] / c[j]);
    let data = Dataset::new(scaled, Array1::from(y.to_vec()));
    let model = ElasticNet::params()
        .l1_ratio(1.0)
        .penalty(alpha)
        .with_intercept(false)
        .tolerance(1e-14)
        .max_iterations(200_000)
        .fit(&data)
        .expect("linfa-elasticnet fits");
    eprintln!(
        "  linfa: {} passes, duality gap {:.2e} (×1/n in our units)",
        model.n_steps(),
        model.duality_gap()
    );
    model
        .hyperplane()
        .iter()
        .zip(&c)
        .map(|(g, cj)| g / cj)
        .collect()
}

fn check(name: &str, n: usize, d: usize, x_rows: &[f64], y: &[f64], lambda: &[f64]) {
    let x = Design::from_rows(n, d, x_rows).unwrap();
    let problem = WeightedLasso { x: &x, y, lambda };
    let ours = problem
        .solve(&LassoOptions {
            tol: 1e-12,
            ..LassoOptions::default()
        })
        .unwrap();
    assert!(ours.converged);
    let theirs = linfa_weighted_lasso(n, d, x_rows, y, lambda);
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let diff: Vec<f64> = ours.beta.iter().zip(&theirs).map(|(a, b)| a - b).collect();
    let rel = norm(&diff) / norm(&ours.beta);
    let (p_ours, p_theirs) = (problem.objective(&ours.beta), problem.objective(&theirs));
    let support = |b: &[f64]| (0..d).filter(|&j| b[j] != 0.0).collect::<Vec<_>>();
    eprintln!(
        "{name}: ‖β_ours − β_linfa‖/‖β_ours‖ = {rel:.2e}, P_ours = {p_ours:.12}, P_linfa = {p_theirs:.12}, support {} vs {}, our rel. gap {:.1e}",
        support(&ours.beta).len(),
        support(&theirs).len(),
        ours.rel_gap
    );
    assert!(rel < 1e-6, "{name}: relative distance {rel}");
    // Ours is certified within 1e-12 of the optimum: linfa's point cannot be (much) better.
    assert!(
        p_ours <= p_theirs * (1.0 + 1e-12),
        "{name}: {p_ours} > {p_theirs}"
    );
    assert!(
        (p_ours - p_theirs).abs() <= 1e-9 * p_ours,
        "{name}: objectives differ"
    );
    assert_eq!(
        support(&ours.beta),
        support(&theirs),
        "{name}: supports differ"
    );
    assert!(!support(&ours.beta).is_empty() && support(&ours.beta).len() < d);
}

/// The lasso experiment's regime (n = 40 < d = 100), with unnormalized, correlated columns of
/// very different scales so that the weights λ_j = 2σ²(XᵀX)_jj/n differ by up to 25×.
#[test]
fn weighted_lasso_agrees_with_linfa_elasticnet() {
    let data = generate(&SparseRegressionConfig {
        n: 40,
        d: 100,
        sparsity: 5,
        noise_std: 0.1,
        normalize_columns: false,
        correlation: 0.5,
        n_test: 0,
        seed: 4,
    })
    .unwrap();
    let (n, d) = (40, 100);
    let x_rows: Vec<f64> = data
        .x_rows
        .iter()
        .enumerate()
        .map(|(k, v)| v * (1.0 + (k % d % 5) as f64))
        .collect();
    let x = Design::from_rows(n, d, &x_rows).unwrap();
    let lambda = lambda_from_noise(&x, 0.3);
    let (lo, hi) = lambda
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), l| (a.min(*l), b.max(*l)));
    assert!(hi / lo > 10.0, "weights should vary: {lo}..{hi}");
    check("synthetic 40×100", n, d, &x_rows, &data.y, &lambda);
}

/// The diabetes data (442 × 10, standardized), uniform and graded weights.
#[test]
fn weighted_lasso_agrees_with_linfa_on_diabetes() {
    let mut s = noisegd::data::diabetes::load().split(0.0, 0).unwrap();
    s.standardize().unwrap();
    let lambda: Vec<f64> = (0..s.d).map(|j| 0.02 * (1.0 + j as f64 / 3.0)).collect();
    check("diabetes graded", s.n, s.d, &s.x_rows, &s.y, &lambda);
    check("diabetes uniform", s.n, s.d, &s.x_rows, &s.y, &[0.05; 10]);
}
