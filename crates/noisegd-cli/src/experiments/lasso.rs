//! `experiment = "lasso"`: PGD on a diagonal linear network solves a weighted Lasso (paper §2.3).
//!
//! Synthetic sparse regression with `n < d`; the network `Φ = X(w₁∘w₁ − w₂∘w₂)` is trained from
//! `w₁ = w₂ = α·1` twice, by plain GD and by the configured noise policy, with the same base
//! optimizer. The PGD iterates `β = w₁∘w₁ − w₂∘w₂` are averaged over the last part of the run
//! and compared with the weighted Lasso of Eq. (8), `λ_i = 2σ_t²(XᵀX)_ii/n`, `σ_t = σ/√M`,
//! solved first, to a certified relative duality gap, so that the distance to it can be logged
//! along training.

use super::common::{average_from, f1, f32s, mse, name, rel_dist, support, to_f64};
use super::{progress, RunOptions};
use crate::config::RunConfig;
use crate::report::plot::{write_line_plot, LinePlot, Scale, Series};
use crate::run::{num, should_log, MetricsWriter, RunDir};
use anyhow::{Context, Result};
use burn::tensor::{Device, Tensor, TensorData};
use noisegd::data::synthetic::{generate, SparseRegression, SparseRegressionConfig};
use noisegd::models::diagonal::DiagonalNet;
use noisegd::noise::{NoiseConfig, PolicyKind};
use noisegd::optim::BaseOptimizer;
use noisegd::params::ParamGroups;
use noisegd::step::NoiseInjection;
use noisegd::theory::lasso::{lambda_from_noise, LassoOptions, LassoSolution, WeightedLasso};
use serde_json::json;
use std::fmt::Write as _;

const COLUMNS: [&str; 11] = [
    "step",
    "method",
    "train_loss",
    "lasso_objective",
    "rel_dist_to_explicit",
    "avg_rel_dist_to_explicit",
    "l1_norm",
    "perturbed_loss",
    "sigma",
    "per_weight_std",
    "lr",
];

/// How many coefficient paths the path plot follows.
const PATHS: usize = 6;

/// What the training loop needs to evaluate an iterate in f64.
struct Reference<'a> {
    /// The weighted Lasso of Eq. (8).
    lasso: WeightedLasso<'a>,
    /// The plain square loss (the same problem with λ = 0).
    square: WeightedLasso<'a>,
    /// Its solution (`None` without noise: there is no explicit problem then).
    solution: Option<&'a LassoSolution>,
    /// Coordinates whose paths are recorded.
    tracked: Vec<usize>,
}

/// What one training run produced.
struct Trained {
    beta_avg: Vec<f64>,
    beta_last: Vec<f64>,
    /// `(step, lasso objective)` at each logged step.
    objective: Vec<(f64, f64)>,
    /// `(step, ‖β_t − β*‖/‖β*‖)` of the iterate, and of the running average once it started.
    distance: Vec<(f64, f64)>,
    avg_distance: Vec<(f64, f64)>,
    /// `(step, β_j)` for each tracked coordinate.
    paths: Vec<Vec<(f64, f64)>>,
    final_train_loss: f64,
}

pub fn run(config: &RunConfig, dir: &RunDir, options: RunOptions) -> Result<std::path::PathBuf> {
    let l = &config.lasso;
    let data = generate(&SparseRegressionConfig {
        n: l.n,
        d: l.d,
        sparsity: l.sparsity,
        noise_std: l.noise_std,
        normalize_columns: true,
        correlation: l.correlation,
        n_test: l.n_test,
        seed: config.seed,
    })
    .context("generating the synthetic sparse regression")?;
    let device = config.device.training_device();

    // The explicit problem PGD solves in expectation, solved before training.
    let n_groups = ParamGroups::of(
        &DiagonalNet::uniform(l.d, l.init_scale, &device),
        config.noise.group_by,
    )
    .len();
    let theory_sigma = config.noise.theory_sigma(n_groups);
    let design = data.design()?;
    let lambda = lambda_from_noise(&design, theory_sigma);
    let zeros = vec![0.0; l.d];
    let lasso = WeightedLasso {
        x: &design,
        y: &data.y,
        lambda: &lambda,
    };
    let explicit = if theory_sigma > 0.0 {
        Some(lasso.solve(&LassoOptions {
            tol: l.solver_tol,
            ..LassoOptions::default()
        })?)
    } else {
        None
    };
    let tracked = {
        let mut order: Vec<usize> = (0..l.d).collect();
        let key = |j: &usize| {
            -explicit
                .as_ref()
                .map_or(data.beta_star[*j], |s| s.beta[*j])
                .abs()
        };
        order.sort_by(|a, b| key(a).total_cmp(&key(b)));
        order.truncate(PATHS.min(l.d));
        order
    };
    let reference = Reference {
        lasso,
        square: WeightedLasso {
            x: &design,
            y: &data.y,
            lambda: &zeros,
        },
        solution: explicit.as_ref(),
        tracked,
    };

    let mut metrics = dir.metrics(&COLUMNS)?;
    let bar = progress(2 * config.train.steps, "lasso", options);
    let gd_noise = NoiseConfig {
        policy: PolicyKind::None,
        sigma: 0.0,
        ..config.noise.clone()
    };
    let gd = train(
        ("gd", 0),
        &gd_noise,
        config,
        &data,
        &reference,
        &device,
        &mut metrics,
        &bar,
    )?;
    let pgd = train(
        ("pgd", 1),
        &config.noise,
        config,
        &data,
        &reference,
        &device,
        &mut metrics,
        &bar,
    )?;
    bar.finish_and_clear();

    let per_weight_std = config.noise.per_weight_std(n_groups);
    let test_mse = |b: &[f64]| mse(&data.x_test_rows, &data.y_test, b);
    let mut summary = json!({
        "experiment": "lasso",
        "policy": config.noise.policy,
        "select": config.noise.select,
        "sigma": config.noise.sigma,
        "per_weight_std": per_weight_std,
        "n_groups": n_groups,
        "theory_sigma": theory_sigma,
        "lasso_lambda_mean": lambda.iter().sum::<f64>() / l.d as f64,
        "steps": config.train.steps,
        "lr": config.optim.lr,
        "averaged_over_last": l.average_last,
        "true_support": data.support,
        "pgd_support": support(&pgd.beta_avg),
        "gd_support": support(&gd.beta_avg),
        "pgd_rel_dist_to_truth": rel_dist(&pgd.beta_avg, &data.beta_star),
        "gd_rel_dist_to_truth": rel_dist(&gd.beta_avg, &data.beta_star),
        "pgd_final_train_loss": pgd.final_train_loss,
        "gd_final_train_loss": gd.final_train_loss,
        "n_test": l.n_test,
        "pgd_test_mse": test_mse(&pgd.beta_avg),
        "gd_test_mse": test_mse(&gd.beta_avg),
    });
    if let Some(sol) = &explicit {
        let p_star = sol.primal;
        let gap = |b: &[f64]| (lasso.objective(b) - p_star) / p_star;
        let explicit_support = support(&sol.beta);
        let extra = json!({
            "rel_dist_to_explicit": rel_dist(&pgd.beta_avg, &sol.beta),
            "last_iterate_rel_dist_to_explicit": rel_dist(&pgd.beta_last, &sol.beta),
            "gd_rel_dist_to_explicit": rel_dist(&gd.beta_avg, &sol.beta),
            "objective_gap": gap(&pgd.beta_avg),
            "gd_objective_gap": gap(&gd.beta_avg),
            "support_f1": f1(&support(&pgd.beta_avg), &explicit_support),
            "gd_support_f1": f1(&support(&gd.beta_avg), &explicit_support),
            "explicit_test_mse": test_mse(&sol.beta),
            "explicit_objective": p_star,
            "explicit_support": explicit_support,
            "explicit_rel_dist_to_truth": rel_dist(&sol.beta, &data.beta_star),
            "solver_rel_duality_gap": sol.rel_gap,
            "solver_kkt_residual": sol.kkt_residual,
            "solver_converged": sol.converged,
        });
        summary
            .as_object_mut()
            .expect("an object")
            .extend(extra.as_object().expect("an object").clone());
    }
    dir.write_json("summary.json", &summary)?;
    plots(config, dir, &data, &reference, &gd, &pgd, theory_sigma)?;
    dir.write_text("report.md", &report(config, &summary, n_groups))?;
    Ok(dir.file("report.md"))
}

#[allow(clippy::too_many_arguments)]
fn train(
    (method, index): (&str, u64),
    noise: &NoiseConfig,
    config: &RunConfig,
    data: &SparseRegression,
    reference: &Reference,
    device: &Device,
    metrics: &mut MetricsWriter,
    bar: &indicatif::ProgressBar,
) -> Result<Trained> {
    let l = &config.lasso;
    let steps = config.train.steps;
    let x = Tensor::<2>::from_data(TensorData::new(f32s(&data.x_rows), [l.n, l.d]), device);
    let y = Tensor::<1>::from_data(TensorData::new(f32s(&data.y), [l.n]), device);
    let mut model = DiagonalNet::uniform(l.d, l.init_scale, device);
    // Full-batch GD: one epoch is one step.
    let optimizer = BaseOptimizer::new(&config.optim, steps)?;
    let mut pgd = NoiseInjection::new(&model, noise.clone(), optimizer, config.seed, steps)?;
    let average_from = average_from(steps, l.average_last);
    let mut beta_sum = Tensor::<1>::zeros([l.d], &device.clone().inner());
    let mut trained = Trained {
        beta_avg: vec![],
        beta_last: vec![],
        objective: vec![],
        distance: vec![],
        avg_distance: vec![],
        paths: vec![vec![]; reference.tracked.len()],
        final_train_loss: f64::NAN,
    };
    for step in 0..steps {
        pgd.set_epoch(step);
        let (next, report) = pgd
            .step(model, |m| m.loss(x.clone(), y.clone()))
            .with_context(|| format!("the {method} run diverged"))?;
        model = next;
        if step >= average_from {
            beta_sum = beta_sum + model.beta().inner();
        }
        let done = step + 1;
        if !should_log(done, config.train.log_every, steps) {
            continue;
        }
        let beta = to_f64(model.beta());
        let t = done as f64;
        let loss = reference.square.objective(&beta);
        let objective = reference.lasso.objective(&beta);
        trained.objective.push((t, objective));
        trained.final_train_loss = loss;
        for (path, &j) in trained.paths.iter_mut().zip(&reference.tracked) {
            path.push((t, beta[j]));
        }
        let (mut dist, mut avg_dist) = (f64::NAN, f64::NAN);
        if let Some(sol) = reference.solution {
            dist = rel_dist(&beta, &sol.beta);
            trained.distance.push((t, dist));
            if step >= average_from {
                let count = (step + 1 - average_from) as f64;
                let avg: Vec<f64> = to_f64(beta_sum.clone()).iter().map(|v| v / count).collect();
                avg_dist = rel_dist(&avg, &sol.beta);
                trained.avg_distance.push((t, avg_dist));
            }
        }
        metrics.row(&[
            done.to_string(),
            method.to_string(),
            num(loss),
            num(objective),
            num(dist),
            num(avg_dist),
            num(beta.iter().map(|b| b.abs()).sum()),
            num(report.loss),
            num(report.sigma),
            num(report.per_weight_std),
            num(report.lr),
        ])?;
        bar.set_position(index * steps + done);
    }
    let count = (steps - average_from) as f64;
    trained.beta_avg = to_f64(beta_sum).into_iter().map(|v| v / count).collect();
    trained.beta_last = to_f64(model.beta());
    Ok(trained)
}

fn plots(
    config: &RunConfig,
    dir: &RunDir,
    data: &SparseRegression,
    reference: &Reference,
    gd: &Trained,
    pgd: &Trained,
    theory_sigma: f64,
) -> Result<()> {
    let steps = config.train.steps as f64;
    let pgd_label = format!(
        "PGD ({}, σ = {})",
        name(&config.noise.policy),
        config.noise.sigma
    );
    let mut objective = vec![
        Series::new("GD", gd.objective.clone()),
        Series::new(pgd_label.clone(), pgd.objective.clone()),
    ];
    if let Some(sol) = reference.solution {
        objective.push(Series::new(
            "explicit Lasso optimum",
            vec![(1.0, sol.primal), (steps, sol.primal)],
        ));
    }
    write_line_plot(
        &LinePlot {
            title: format!("Weighted Lasso objective along training (σ_t = {theory_sigma:.4})"),
            x_label: "step".into(),
            y_label: "P(β) = (1/2n)‖y − Xβ‖² + Σ λᵢ|βᵢ|".into(),
            x_scale: Scale::Log10,
            y_scale: Scale::Log10,
            series: objective,
        },
        &dir.file("objective"),
    )?;
    if reference.solution.is_some() {
        write_line_plot(
            &LinePlot {
                title: "Distance to the explicit Lasso solution".into(),
                x_label: "step".into(),
                y_label: "‖β − β*‖ / ‖β*‖".into(),
                x_scale: Scale::Log10,
                y_scale: Scale::Log10,
                series: vec![
                    Series::new("GD iterate", gd.distance.clone()),
                    Series::new(format!("{pgd_label} iterate"), pgd.distance.clone()),
                    Series::new(
                        format!("{pgd_label} running average"),
                        pgd.avg_distance.clone(),
                    ),
                ],
            },
            &dir.file("distance"),
        )?;
        // Each path minus its explicit value, so that convergence reads as "to 0" and every
        // coordinate keeps one colour.
        let paths = reference
            .tracked
            .iter()
            .enumerate()
            .map(|(k, &j)| {
                let target = reference.solution.map_or(0.0, |s| s.beta[j]);
                let points = pgd.paths[k].iter().map(|(t, v)| (*t, v - target)).collect();
                Series::new(format!("β{j} (Lasso value {target:.3})"), points)
            })
            .collect();
        write_line_plot(
            &LinePlot {
                title: "PGD coefficient paths minus their explicit Lasso values".into(),
                x_label: "step".into(),
                y_label: "β_j(t) − β*_j".into(),
                x_scale: Scale::Log10,
                y_scale: Scale::Linear,
                series: paths,
            },
            &dir.file("paths"),
        )?;
    }
    let by_index = |b: &[f64]| {
        b.iter()
            .enumerate()
            .map(|(i, v)| (i as f64, *v))
            .collect::<Vec<_>>()
    };
    let mut coef = vec![
        Series::new("planted β", by_index(&data.beta_star)),
        Series::new("GD (averaged)", by_index(&gd.beta_avg)),
        Series::new("PGD (averaged)", by_index(&pgd.beta_avg)),
    ];
    if let Some(sol) = reference.solution {
        coef.push(Series::new("explicit Lasso β*", by_index(&sol.beta)));
    }
    write_line_plot(
        &LinePlot {
            title: "Coefficients".into(),
            x_label: "feature index".into(),
            y_label: "β".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: coef,
        },
        &dir.file("coefficients"),
    )?;
    Ok(())
}

fn report(config: &RunConfig, s: &serde_json::Value, n_groups: usize) -> String {
    let l = &config.lasso;
    let f = |k: &str| {
        s.get(k)
            .and_then(|v| v.as_f64())
            .map_or("n/a".to_string(), |v| format!("{v:.4}"))
    };
    let e = |k: &str| {
        s.get(k)
            .and_then(|v| v.as_f64())
            .map_or("n/a".to_string(), |v| format!("{v:.3e}"))
    };
    let sup = |k: &str| match s.get(k).and_then(|v| v.as_array()) {
        Some(a) if a.len() <= 20 => format!(
            "{} non-zeros: {}",
            a.len(),
            serde_json::Value::from(a.clone())
        ),
        Some(a) => format!("{} non-zeros", a.len()),
        None => "n/a".into(),
    };
    let mut r = String::new();
    let _ = writeln!(
        r,
        "# Lasso from noise: a diagonal linear network and its explicit weighted Lasso\n"
    );
    let _ = writeln!(
        r,
        "**Data.** Synthetic sparse regression: n = {}, d = {}, {} planted non-zeros, label noise std {}, feature correlation {}, columns scaled to (XᵀX)_ii = n, {} held-out test rows, seed {}.\n",
        l.n, l.d, l.sparsity, l.noise_std, l.correlation, l.n_test, config.seed
    );
    let _ = writeln!(
        r,
        "**Training.** Φ = X(w₁∘w₁ − w₂∘w₂) from w₁ = w₂ = {}·1, {} full-batch steps of `{}` (lr {}), run twice from the same initialization: plain GD, and PGD with policy `{}`, σ = {} (select `{}`, group_by `{}`, antithetic {}).\n",
        l.init_scale, config.train.steps, name(&config.optim.name), config.optim.lr,
        name(&config.noise.policy), config.noise.sigma, name(&config.noise.select), name(&config.noise.group_by), config.noise.antithetic
    );
    let _ = writeln!(
        r,
        "**Noise scale.** M = {n_groups} parameter groups; per-weight std actually used {}; the paper's σ_t = σ/√M = {}. The explicit problem is the weighted Lasso with λ_i = 2σ_t²(XᵀX)_ii/n (Eq. 8), solved by coordinate descent to relative duality gap {} (converged: {}).\n",
        f("per_weight_std"), f("theory_sigma"), e("solver_rel_duality_gap"),
        s.get("solver_converged").map_or("n/a".into(), |v| v.to_string())
    );
    let _ = writeln!(r, "| | PGD (iterates averaged over the last {:.0} %) | GD (same averaging) | explicit Lasso |", 100.0 * l.average_last);
    let _ = writeln!(r, "|---|---|---|---|");
    let _ = writeln!(
        r,
        "| relative ℓ₂ distance to the explicit Lasso solution | {} | {} | 0 |",
        f("rel_dist_to_explicit"),
        f("gd_rel_dist_to_explicit")
    );
    let _ = writeln!(
        r,
        "| relative objective gap (P(β̄) − P*)/P* | {} | {} | 0 |",
        e("objective_gap"),
        e("gd_objective_gap")
    );
    let _ = writeln!(
        r,
        "| support F1 against the explicit support | {} | {} | 1 |",
        f("support_f1"),
        f("gd_support_f1")
    );
    let _ = writeln!(
        r,
        "| relative ℓ₂ distance to the planted β | {} | {} | {} |",
        f("pgd_rel_dist_to_truth"),
        f("gd_rel_dist_to_truth"),
        f("explicit_rel_dist_to_truth")
    );
    let _ = writeln!(
        r,
        "| test mean squared error | {} | {} | {} |",
        f("pgd_test_mse"),
        f("gd_test_mse"),
        f("explicit_test_mse")
    );
    let _ = writeln!(
        r,
        "| final train loss (1/2n)‖y − Xβ‖² | {} | {} | |",
        e("pgd_final_train_loss"),
        e("gd_final_train_loss")
    );
    let _ = writeln!(
        r,
        "| support (entries above 1 % of the largest) | {} | {} | {} |\n",
        sup("pgd_support"),
        sup("gd_support"),
        sup("explicit_support")
    );
    let _ = writeln!(r, "Planted support: {}.\n", sup("true_support"));
    let _ = writeln!(
        r,
        "Plots: `objective.svg` (Lasso objective along training), `distance.svg` (distance to the explicit solution), `paths.svg` (coefficient paths), `coefficients.svg` (β by feature). Numbers: `summary.json`; curves: `metrics.csv`; exact config: `config.toml`. With a constant step size the PGD iterates fluctuate around the solution; halving `optim.lr` (and doubling `train.steps`) shrinks the averaged distance."
    );
    r
}
