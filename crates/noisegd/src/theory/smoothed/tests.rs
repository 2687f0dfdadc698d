//! Every closed form against the Monte-Carlo estimator (agreeing within, and a wrong value
//! rejected beyond, a tolerance set by its standard error); the models' special cases against
//! each other; the estimator independent of the thread count.

use super::*;

const SEED: u64 = 20230101;

fn mat(rows: usize, cols: usize, std: f64, group: u32) -> DMatrix<f64> {
    normal_matrix(
        rows,
        cols,
        std,
        NoiseKey::new(SEED, 7, group).with_stream(3),
    )
}

fn vec_(len: usize, std: f64, group: u32) -> DVector<f64> {
    DVector::from_column_slice(mat(len, 1, std, group).as_slice())
}

/// Asserts the MC estimate agrees with `closed` within 5 standard errors.
fn assert_agrees(name: &str, est: &McEstimate, closed: f64) {
    eprintln!(
        "{name}: MC {:.6e} ± {:.2e} (K = {}) vs closed form {:.6e}, z = {:.2}",
        est.mean,
        est.std_err,
        est.samples,
        closed,
        est.z(closed)
    );
    assert!(est.std_err > 0.0 && est.std_err.is_finite());
    assert!(est.z(closed) < 5.0, "{name}: closed form outside 5·se");
}

/// Asserts a deliberately wrong formula is rejected (outside 5 standard errors).
fn assert_rejects(name: &str, est: &McEstimate, wrong: f64) {
    eprintln!(
        "  teeth {name}: wrong value {wrong:.6e}, z = {:.1}",
        est.z(wrong)
    );
    assert!(
        est.z(wrong) > 5.0,
        "{name}: the wrong formula is not rejected"
    );
}

fn hadamard() -> Hadamard {
    let (n, d) = (20, 10);
    Hadamard {
        x: mat(n, d, 1.0, 0),
        y: vec_(n, 1.0, 1),
        w1: vec_(d, 0.7, 2),
        w2: vec_(d, 0.7, 3),
    }
}

fn grouped() -> Grouped {
    let (n, d, k) = (20, 6, 3);
    Grouped {
        xs: (0..d).map(|j| mat(n, k, 1.0, 10 + j as u32)).collect(),
        y: vec_(n, 1.0, 1),
        v: vec_(d, 1.0, 2),
        ws: (0..d).map(|j| vec_(k, 0.7, 20 + j as u32)).collect(),
    }
}

/// n = 20, d₀ = 5, d₁ = 30, d₂ = 2, paper init.
fn two_layer() -> TwoLayerLinear {
    let ws = init_linear(&[5, 30, 2], SEED);
    TwoLayerLinear {
        x: mat(20, 5, 1.0, 0),
        y: mat(20, 2, 1.0, 1),
        w1: ws[0].clone(),
        w2: ws[1].clone(),
    }
}

fn deep(dims: &[usize]) -> DeepLinear {
    DeepLinear {
        x: mat(20, dims[0], 1.0, 0),
        y: mat(20, *dims.last().unwrap(), 1.0, 1),
        ws: init_linear(dims, SEED),
    }
}

// ---- Hadamard ----------------------------------------------------------------------------

#[test]
fn hadamard_all_matches_mc() {
    let m = hadamard();
    let s: f64 = 0.5;
    let est = mc_smoothed_loss(&m, Policy::All, s, 20_000, 1, true);
    assert_agrees("hadamard all (antithetic)", &est, m.smoothed_all(s));
    let s4 = 2.0 * s.powi(4) * m.x.norm_squared() / 20.0;
    assert_rejects(
        "σ⁴ term dropped (= Eq. 7 only)",
        &est,
        m.smoothed_all(s) - s4,
    );
    assert_rejects("σ⁴ term ×2", &est, m.smoothed_all(s) + s4);
    // Plain (non-antithetic) estimator agrees too.
    let plain = mc_smoothed_loss(&m, Policy::All, s, 40_000, 2, false);
    assert_agrees("hadamard all (plain)", &plain, m.smoothed_all(s));
}

#[test]
fn hadamard_layer_matches_mc() {
    let m = hadamard();
    let s: f64 = 0.5;
    let est = mc_smoothed_loss(&m, Policy::Layer, s, 20_000, 3, true);
    assert_agrees("hadamard layer", &est, m.smoothed_layer(s));
    let x1: DVector<f64> = m.x.column_sum();
    let shift = 2.0 * s.powi(4) * x1.norm_squared() / 20.0;
    assert_rejects("(2σ⁴/n)‖X1‖² dropped", &est, m.smoothed_layer(s) - shift);
    assert_rejects("all-policy value", &est, m.smoothed_all(s));
    // The plain estimator, whose variance includes the ±s²X1 mean shifts.
    let plain = mc_smoothed_loss(&m, Policy::Layer, s, 40_000, 4, false);
    assert_agrees("hadamard layer (plain)", &plain, m.smoothed_layer(s));
}

// ---- Hadamard product (u∘v) ---------------------------------------------------------------

fn product() -> HadamardProduct {
    let (n, d) = (20, 10);
    HadamardProduct {
        x: mat(n, d, 1.0, 0),
        y: vec_(n, 1.0, 1),
        u: vec_(d, 0.7, 2),
        v: vec_(d, 0.7, 3),
    }
}

#[test]
fn product_all_and_layer_match_mc() {
    let m = product();
    let s: f64 = 0.5;
    let s4 = s.powi(4) * m.x.norm_squared() / 40.0;
    let est = mc_smoothed_loss(&m, Policy::All, s, 20_000, 21, true);
    assert_agrees("product all (antithetic)", &est, m.smoothed_all(s));
    assert_rejects("σ⁴ term dropped", &est, m.smoothed_all(s) - s4);
    assert_rejects(
        "difference form's constant (regularizer ×4, σ⁴ term ×4)",
        &est,
        m.loss() + 4.0 * m.explicit_regularizer(s) + 4.0 * s4,
    );
    assert_rejects(
        "regularizer ×2",
        &est,
        m.smoothed_all(s) + m.explicit_regularizer(s),
    );
    let plain = mc_smoothed_loss(&m, Policy::All, s, 40_000, 22, false);
    assert_agrees("product all (plain)", &plain, m.smoothed_all(s));
    let est = mc_smoothed_loss(&m, Policy::Layer, s, 20_000, 23, true);
    assert_agrees("product layer", &est, m.smoothed_layer(s));
    assert_rejects("all value (σ⁴ term added)", &est, m.smoothed_all(s));
    assert_rejects(
        "regularizer ×½",
        &est,
        m.smoothed_layer(s) - 0.5 * m.explicit_regularizer(s),
    );
}

/// The product form is the grouped model with k = 1, and (policy `all`) the difference form
/// rotated by u = w₁ + w₂, v = w₁ − w₂ with per-weight std √2 times larger: the closed forms
/// agree exactly, and the balanced factorization attains the Lasso penalty σ_t²·diag(XᵀX/n)ᵀ|β|.
#[test]
fn product_closed_forms_agree_with_grouped_and_rotated_difference() {
    let m = product();
    let d = m.u.len();
    let g = Grouped {
        xs: (0..d).map(|j| m.x.columns(j, 1).into_owned()).collect(),
        y: m.y.clone(),
        v: m.u.clone(),
        ws: (0..d).map(|j| DVector::from_element(1, m.v[j])).collect(),
    };
    let h = Hadamard {
        x: m.x.clone(),
        y: m.y.clone(),
        w1: (&m.u + &m.v) / 2.0,
        w2: (&m.u - &m.v) / 2.0,
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
    for s in [0.1f64, 0.5, 1.3] {
        assert!(close(m.smoothed_all(s), g.smoothed_all(s)));
        assert!(close(m.smoothed_layer(s), g.smoothed_layer(s)));
        // (Under `layer` they differ: noise on w₁ alone is noise on u and v together.)
        assert!(close(m.smoothed_all(s), h.smoothed_all(s / 2f64.sqrt())));
    }
    let balanced = HadamardProduct {
        u: m.beta().map(|b| b.abs().sqrt()),
        v: m.beta().map(|b| b.signum() * b.abs().sqrt()),
        ..m.clone()
    };
    let s = 0.4f64;
    let lasso: f64 = (0..d)
        .map(|i| s * s * m.x.column(i).norm_squared() / 20.0 * m.beta()[i].abs())
        .sum();
    assert!(close(balanced.explicit_regularizer(s), lasso));
    assert!((balanced.beta() - m.beta()).norm() < 1e-12);
    assert!(
        m.explicit_regularizer(s) > lasso,
        "AM-GM: unbalanced costs more"
    );
}

// ---- Grouped -----------------------------------------------------------------------------

#[test]
fn grouped_all_and_layer_match_mc() {
    let m = grouped();
    let s: f64 = 0.5;
    let fro: f64 = m.xs.iter().map(|x| x.norm_squared()).sum();
    let s4 = s.powi(4) * fro / 40.0;
    let est = mc_smoothed_loss(&m, Policy::All, s, 20_000, 5, true);
    assert_agrees("grouped all", &est, m.smoothed_all(s));
    assert_rejects(
        "σ⁴ term dropped (= Eq. 37 only)",
        &est,
        m.smoothed_all(s) - s4,
    );
    let est = mc_smoothed_loss(&m, Policy::Layer, s, 20_000, 6, true);
    assert_agrees("grouped layer", &est, m.smoothed_layer(s));
    assert_rejects("σ⁴ term added (all value)", &est, m.smoothed_all(s));
    assert_rejects(
        "regularizer ×2",
        &est,
        m.smoothed_layer(s) + m.explicit_regularizer(s),
    );
}

// ---- Two-layer linear ----------------------------------------------------------------------

#[test]
fn two_layer_all_and_layer_match_mc() {
    let m = two_layer();
    let s: f64 = 0.3;
    let est = mc_smoothed_loss(&m, Policy::All, s, 20_000, 7, true);
    assert_agrees("two-layer all", &est, m.smoothed_all(s));
    assert_rejects(
        "σ⁴d₁d₂ term dropped",
        &est,
        m.smoothed_all(s) - m.variance_explosion_term(s),
    );
    assert_rejects(
        "Fig. 1 caption typo ‖X‖⁴",
        &est,
        m.smoothed_layer(s) + m.variance_explosion_term(s) * m.x.norm_squared(),
    );
    let est = mc_smoothed_loss(&m, Policy::Layer, s, 20_000, 8, true);
    assert_agrees("two-layer layer", &est, m.smoothed_layer(s));
    assert_rejects("all value", &est, m.smoothed_all(s));
    assert_rejects(
        "regularizer ×½",
        &est,
        m.smoothed_layer(s) - 0.5 * m.explicit_regularizer(s),
    );
}

#[test]
fn layer_vs_all_differ_only_by_higher_order_terms() {
    let m = two_layer();
    for s in [0.01f64, 0.1, 0.3, 1.0] {
        let diff = m.smoothed_all(s) - m.smoothed_layer(s);
        let want = s.powi(4) * 30.0 * 2.0 * m.x.norm_squared() / 40.0;
        assert!(
            (diff - want).abs() <= 1e-12 * want.max(1.0),
            "σ={s}: {diff} vs {want}"
        );
    }
    let d = deep(&[5, 8, 8, 2]);
    let s: f64 = 0.4;
    let terms = d.noise_terms_by_order(s);
    let diff = d.smoothed_all(s) - d.smoothed_layer(s);
    assert!((diff - terms[1] - terms[2]).abs() < 1e-12 * diff);
    assert!(terms[1] > 0.0 && terms[2] > 0.0);
    assert!((terms[0] - d.explicit_regularizer(s)).abs() < 1e-12 * terms[0]);
    assert!((terms[2] - d.variance_explosion_term(s)).abs() < 1e-12 * terms[2]);
}

// ---- Deep linear ---------------------------------------------------------------------------

#[test]
fn deep_m2_equals_two_layer_formulas() {
    let t = two_layer();
    let d = DeepLinear {
        x: t.x.clone(),
        y: t.y.clone(),
        ws: vec![t.w1.clone(), t.w2.clone()],
    };
    for s in [0.1, 0.7] {
        for (a, b) in [
            (d.smoothed_all(s), t.smoothed_all(s)),
            (d.smoothed_layer(s), t.smoothed_layer(s)),
            (d.explicit_regularizer(s), t.explicit_regularizer(s)),
            (d.variance_explosion_term(s), t.variance_explosion_term(s)),
            (d.noise_terms_by_order(s)[1], t.variance_explosion_term(s)),
        ] {
            assert!((a - b).abs() <= 1e-12 * a.abs(), "{a} vs {b}");
        }
    }
}

#[test]
fn deep_m1_all_equals_layer() {
    let d = deep(&[5, 3]);
    let s: f64 = 0.6;
    assert_eq!(d.noise_terms_by_order(s).len(), 1);
    let want = d.loss() + s * s * 3.0 * d.x.norm_squared() / 40.0;
    assert!((d.smoothed_all(s) - want).abs() < 1e-12 * want);
    assert!((d.smoothed_layer(s) - want).abs() < 1e-12 * want);
    let est = mc_smoothed_loss(&d, Policy::All, s, 5_000, 9, true);
    assert_agrees("deep M=1", &est, want);
}

#[test]
fn deep_m3_all_and_layer_match_mc() {
    let d = deep(&[5, 30, 30, 2]);
    let s: f64 = 0.3;
    let terms = d.noise_terms_by_order(s);
    eprintln!(
        "deep M=3 σ_t={s}: R = {:.4}, terms by order = {terms:.4?}",
        d.loss()
    );
    let est = mc_smoothed_loss(&d, Policy::All, s, 20_000, 10, true);
    assert_agrees("deep M=3 all", &est, d.smoothed_all(s));
    assert_rejects("σ⁶ term dropped", &est, d.smoothed_all(s) - terms[2]);
    assert_rejects("σ⁴ term dropped", &est, d.smoothed_all(s) - terms[1]);
    let est = mc_smoothed_loss(&d, Policy::Layer, s, 20_000, 11, true);
    assert_agrees("deep M=3 layer", &est, d.smoothed_layer(s));
    assert_rejects("all value", &est, d.smoothed_all(s));
    assert_rejects(
        "regularizer ×(M−1)/M",
        &est,
        d.smoothed_layer(s) - d.explicit_regularizer(s) / 3.0,
    );
}

#[test]
fn deep_m3_variance_explosion_grows_as_width_squared() {
    let (a, b) = (deep(&[5, 40, 40, 2]), deep(&[5, 80, 80, 2]));
    let s: f64 = 0.2;
    let ratio = b.variance_explosion_term(s) / a.variance_explosion_term(s);
    assert!((ratio - 4.0).abs() < 1e-12, "ratio {ratio}");
    // Exact subset sum agrees with the closed-form top term.
    let top = b.noise_terms_by_order(s)[2];
    assert!((top - b.variance_explosion_term(s)).abs() < 1e-12 * top);
    // The layer-wise regularizer does not explode with the paper's init.
    let r = b.explicit_regularizer(s) / a.explicit_regularizer(s);
    eprintln!("explosion ratio {ratio}, layer-regularizer ratio {r:.3}");
    assert!((0.5..2.0).contains(&r), "layer regularizer ratio {r}");
}

// ---- ReLU ----------------------------------------------------------------------------------

fn relu() -> ReluNet {
    let ws = init_linear(&[5, 30, 2], SEED + 1);
    ReluNet {
        x: mat(20, 5, 1.0, 0),
        y: mat(20, 2, 1.0, 1),
        w1: ws[0].clone(),
        w2: ws[1].clone(),
    }
}

#[test]
fn relu_regularizer_is_exact_for_linearization() {
    let m = relu();
    let s: f64 = 0.3;
    let est = monte_carlo(&m.layer_sizes(), Policy::Layer, s, 20_000, 12, |e| {
        let a = m.linearized_perturbed_loss(e);
        e.iter_mut()
            .flat_map(|b| b.iter_mut())
            .for_each(|v| *v = -*v);
        0.5 * (a + m.linearized_perturbed_loss(e))
    });
    let reg = m.explicit_regularizer_layer(s);
    assert_agrees("relu linearized layer", &est, m.loss() + reg);
    // Without footnote 5's ‖X_i·‖² factor (rows of X have norm² ≈ d₀ = 5).
    let pre = &m.w1 * m.x.transpose();
    let mut no_fn5 = 0.0;
    for i in 0..20 {
        for j in 0..30 {
            if pre[(j, i)] > 0.0 {
                no_fn5 += m.w2.column(j).norm_squared();
            }
        }
    }
    let h2 = pre.map(|a| a.max(0.0)).norm_squared();
    let k = s * s / 40.0;
    assert_rejects(
        "without ‖X_i‖² (main-text typo)",
        &est,
        m.loss() + k * (2.0 * h2 + no_fn5),
    );
    assert_rejects(
        "without d₂ factor",
        &est,
        m.loss() + k * (h2 + (reg / k - 2.0 * h2)),
    );
}

#[test]
fn relu_true_smoothed_loss_matches_regularizer_below_kink_margin() {
    // Smaller net (n = 10, d₁ = 8): 80 pre-activations, so the smallest is not tiny.
    let ws = init_linear(&[5, 8, 2], SEED + 2);
    let m = ReluNet {
        x: mat(10, 5, 1.0, 0),
        y: mat(10, 2, 1.0, 1),
        w1: ws[0].clone(),
        w2: ws[1].clone(),
    };
    let l0 = m.loss();
    let excess = |s: f64, seed| {
        monte_carlo(&m.layer_sizes(), Policy::Layer, s, 20_000, seed, |e| {
            let a = m.perturbed_loss(e) - l0;
            e.iter_mut()
                .flat_map(|b| b.iter_mut())
                .for_each(|v| *v = -*v);
            0.5 * (a + m.perturbed_loss(e) - l0)
        })
    };
    // Far below the kink margin no pre-activation changes sign (P ≈ e^{-32}): exact.
    let safe = m.kink_margin() / (8.0 * 2f64.sqrt());
    let est = excess(safe, 13);
    eprintln!("kink margin {:.3e}, σ_t = {safe:.3e}", m.kink_margin());
    assert_agrees(
        &format!("relu layer excess, σ_t = {safe:.2e} ≪ margin"),
        &est,
        m.explicit_regularizer_layer(safe),
    );
    assert_rejects(
        "regularizer ×1.1",
        &est,
        1.1 * m.explicit_regularizer_layer(safe),
    );
    // Well above the margin, kink crossings make the second-order term inaccurate.
    let big = 0.3;
    let est = excess(big, 14);
    let reg = m.explicit_regularizer_layer(big);
    eprintln!(
        "  σ_t = {big}: excess {:.4e} ± {:.1e} vs regularizer {reg:.4e}",
        est.mean, est.std_err
    );
    assert_rejects("second-order approximation at σ_t ≫ margin", &est, reg);
}

// ---- Monte-Carlo machinery -----------------------------------------------------------------

#[test]
fn monte_carlo_independent_of_thread_count() {
    let m = two_layer();
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                (
                    mc_smoothed_loss(&m, Policy::All, 0.3, 3_000, 14, false),
                    mc_smoothed_loss(&m, Policy::Layer, 0.3, 3_000, 14, false),
                )
            })
    };
    let (a, b) = (run(1), run(3));
    assert_eq!(a.0.mean.to_bits(), b.0.mean.to_bits());
    assert_eq!(a.0.std_err.to_bits(), b.0.std_err.to_bits());
    assert_eq!(a.1.mean.to_bits(), b.1.mean.to_bits());
}

#[test]
fn layer_policy_picks_layers_uniformly_with_scaled_std() {
    let sizes = [4000, 4000, 4000];
    let s: f64 = 0.5;
    let mut counts = [0usize; 3];
    let mut noise: Vec<Vec<f64>> = sizes.iter().map(|&n| vec![0.0; n]).collect();
    for k in 0..300 {
        draw_noise(&mut noise, Policy::Layer, s, 99, k);
        let nz: Vec<usize> = (0..3)
            .filter(|&l| noise[l].iter().any(|&v| v != 0.0))
            .collect();
        assert_eq!(nz.len(), 1);
        counts[nz[0]] += 1;
        let var = noise[nz[0]].iter().map(|v| v * v).sum::<f64>() / 4000.0;
        assert!((var / (3.0 * s * s) - 1.0).abs() < 0.1, "var {var}");
    }
    assert!(counts.iter().all(|&c| (70..130).contains(&c)), "{counts:?}");
    draw_noise(&mut noise, Policy::All, s, 99, 0);
    for b in &noise {
        let var = b.iter().map(|v| v * v).sum::<f64>() / 4000.0;
        assert!((var / (s * s) - 1.0).abs() < 0.1);
    }
}

#[test]
fn init_linear_shapes_and_scale() {
    let ws = init_linear(&[50, 200, 10], 5);
    assert_eq!((ws[0].nrows(), ws[0].ncols()), (200, 50));
    assert_eq!((ws[1].nrows(), ws[1].ncols()), (10, 200));
    for w in &ws {
        assert!(
            (w.norm_squared() - 1.0).abs() < 0.1,
            "‖W‖²_F = {}",
            w.norm_squared()
        );
    }
    assert_eq!(init_linear(&[50, 200, 10], 5), ws);
    assert_ne!(init_linear(&[50, 200, 10], 6), ws);
}
