//! `experiment = "nuclear"`: PGD on a two-layer linear factorization solves the nuclear-norm
//! problem of Eq. (10) (paper §2.4).
//!
//! `Φ = W₂W₁Xᵀ` is trained by GD and by the configured policy from the same seeded
//! initialization (the paper's scale, entries with std `α/√(d_i d_{i−1})`); the product
//! `M = W₂W₁`, averaged over the last part of the run, is compared on the predictions `MXᵀ` with
//! `min_M (1/2n)‖Yᵀ − MXᵀ‖²_F + μ‖MXᵀ‖_*`, `μ = (σ_t²/n)·√d₂·‖X‖_F`, `σ_t = σ/√M`, solved in
//! closed form by singular-value thresholding and certified by its duality gap.

use super::pair::{f32s, train_gd_and_pgd, Evaluation, Pair, PAIR_COLUMNS};
use super::RunOptions;
use crate::config::name;
use crate::config::RunConfig;
use crate::report::plot::{write_line_plot, LinePlot, Scale, Series};
use crate::report::table::{pgd_vs_gd, Compared, Format, Summary};
use crate::run::RunDir;
use anyhow::{Context, Result};
use burn::tensor::{Tensor, TensorData};
use nalgebra::DMatrix;
use noisegd::data::structured::{low_rank, LowRankConfig};
use noisegd::diagnostics::recovery::rel_dist;
use noisegd::models::factorization::TwoLayerLinear;
use noisegd::params::ParamGroups;
use noisegd::theory::nuclear::{mu_from_noise, NuclearRegression};
use serde_json::json;
use std::fmt::Write as _;

/// Singular values below this fraction of the largest do not count towards the rank of an
/// averaged (hence never exactly low-rank) iterate.
const RANK_RTOL: f64 = 1e-2;

pub fn run(config: &RunConfig, dir: &RunDir, options: RunOptions) -> Result<std::path::PathBuf> {
    let c = &config.nuclear;
    let data = low_rank(&LowRankConfig {
        n: c.n,
        d0: c.d0,
        d2: c.d2,
        rank: c.rank,
        noise_std: c.noise_std,
        n_test: c.n_test,
        seed: config.seed,
    })
    .context("generating the low-rank regression")?;
    let (n, d0, d2) = (c.n, c.d0, c.d2);
    let device = config.device.training_device()?;
    let init = || TwoLayerLinear::init(d0, c.width, d2, c.init_scale, config.seed, &device);
    let n_groups = ParamGroups::of(&init(), config.noise.group_by).len();
    let theory_sigma = config.noise.theory_sigma(n_groups);

    let x = DMatrix::from_row_slice(n, d0, &data.x_rows);
    let y = DMatrix::from_row_slice(n, d2, &data.y_rows);
    let problem = NuclearRegression {
        x: &x,
        y: &y,
        mu: mu_from_noise(&x, d2, theory_sigma),
    };
    let explicit = if theory_sigma > 0.0 {
        Some(problem.solve()?)
    } else {
        None
    };
    let square =
        |m: &DMatrix<f64>| (&y.transpose() - m * x.transpose()).norm_squared() / (2.0 * n as f64);
    let predictions =
        |m: &DMatrix<f64>| -> Vec<f64> { (m * x.transpose()).iter().copied().collect() };
    let explicit_z: Option<Vec<f64>> = explicit
        .as_ref()
        .map(|s| s.predictions.iter().copied().collect());

    let mut metrics = dir.metrics(&PAIR_COLUMNS)?;
    let steps = config.train.steps;
    let xt = Tensor::<2>::from_data(TensorData::new(f32s(&data.x_rows), [n, d0]), &device);
    let yt = Tensor::<2>::from_data(TensorData::new(f32s(&data.y_rows), [n, d2]), &device);
    let as_matrix = |m: &[f64]| DMatrix::from_row_slice(d2, d0, m);
    let [gd_trace, pgd_trace] = train_gd_and_pgd(
        config,
        &Pair {
            label: "nuclear",
            average_last: c.average_last,
            init: &init,
            data: (xt, yt),
            loss: &|m: &TwoLayerLinear, (x, y): &(Tensor<2>, Tensor<2>)| {
                m.loss(x.clone(), y.clone())
            },
            predictor: &|m: &TwoLayerLinear| m.product(),
            evaluate: &|m, _| {
                let m = as_matrix(m);
                Evaluation::new(
                    square(&m),
                    problem.objective(&m),
                    explicit_z
                        .as_ref()
                        .map_or(f64::NAN, |z| rel_dist(&predictions(&m), z)),
                )
            },
        },
        &mut metrics,
        options,
    )?;
    let (gd, pgd) = (
        &as_matrix(&gd_trace.average),
        &as_matrix(&pgd_trace.average),
    );
    let singular = |m: &DMatrix<f64>| -> Vec<f64> {
        (m * x.transpose())
            .singular_values()
            .iter()
            .copied()
            .collect()
    };
    let rank = |s: &[f64]| {
        s.iter()
            .filter(|v| **v > RANK_RTOL * s[0].max(f64::MIN_POSITIVE))
            .count()
    };
    let m_star = DMatrix::from_row_slice(d2, d0, &data.m_star);
    let test_mse = |m: &DMatrix<f64>| {
        let xt = DMatrix::from_row_slice(c.n_test, d0, &data.x_test_rows);
        let yt = DMatrix::from_row_slice(c.n_test, d2, &data.y_test_rows);
        (yt - &xt * m.transpose()).norm_squared() / (c.n_test * d2).max(1) as f64
    };
    let (s_pgd, s_gd) = (singular(pgd), singular(gd));
    let mut summary = json!({
        "experiment": "nuclear",
        "policy": config.noise.policy,
        "sigma": config.noise.sigma,
        "per_weight_std": config.noise.per_weight_std(n_groups),
        "n_groups": n_groups,
        "theory_sigma": theory_sigma,
        "mu": problem.mu,
        "width": c.width,
        "steps": steps,
        "lr": config.optim.lr,
        "true_rank": c.rank,
        "rank": rank(&s_pgd),
        "gd_rank": rank(&s_gd),
        "pgd_singular_values": s_pgd,
        "gd_singular_values": s_gd,
        "pgd_rel_dist_to_truth": rel_dist(&predictions(pgd), &predictions(&m_star)),
        "gd_rel_dist_to_truth": rel_dist(&predictions(gd), &predictions(&m_star)),
        "pgd_test_mse": test_mse(pgd),
        "gd_test_mse": test_mse(gd),
    });
    if let (Some(sol), Some(z)) = (&explicit, &explicit_z) {
        let gap = |m: &DMatrix<f64>| (problem.objective(m) - sol.primal) / sol.primal;
        let extra = json!({
            "rel_dist_to_explicit": rel_dist(&predictions(pgd), z),
            "gd_rel_dist_to_explicit": rel_dist(&predictions(gd), z),
            "objective_gap": gap(pgd),
            "gd_objective_gap": gap(gd),
            "explicit_rank": sol.rank,
            "explicit_singular_values": sol.singular_values,
            "explicit_objective": sol.primal,
            "explicit_test_mse": test_mse(&sol.m),
            "solver_rel_duality_gap": sol.rel_gap,
            "solver_kkt_residual": sol.kkt_residual,
        });
        summary
            .as_object_mut()
            .expect("an object")
            .extend(extra.as_object().expect("an object").clone());
    }
    dir.write_json("summary.json", &summary)?;

    let label = format!(
        "PGD ({}, σ = {})",
        name(&config.noise.policy),
        config.noise.sigma
    );
    let mut objective = vec![
        Series::new("GD", gd_trace.series(|e| e.objective)),
        Series::new(label.clone(), pgd_trace.series(|e| e.objective)),
    ];
    if let Some(sol) = &explicit {
        objective.push(Series::new(
            "explicit optimum",
            vec![(1.0, sol.primal), (steps as f64, sol.primal)],
        ));
        write_line_plot(
            &LinePlot {
                title: "Distance to the explicit nuclear-norm solution (predictions)".into(),
                x_label: "step".into(),
                y_label: "‖MXᵀ − Z*‖ / ‖Z*‖".into(),
                x_scale: Scale::Log10,
                y_scale: Scale::Log10,
                series: vec![
                    Series::new("GD", gd_trace.series(|e| e.rel_dist)),
                    Series::new(label.clone(), pgd_trace.series(|e| e.rel_dist)),
                ],
            },
            &dir.file("distance"),
        )?;
    }
    write_line_plot(
        &LinePlot {
            title: format!("Nuclear-norm objective along training (σ_t = {theory_sigma:.4})"),
            x_label: "step".into(),
            y_label: "(1/2n)‖Yᵀ − MXᵀ‖² + μ‖MXᵀ‖_*".into(),
            x_scale: Scale::Log10,
            y_scale: Scale::Log10,
            series: objective,
        },
        &dir.file("objective"),
    )?;
    // Singular values that are zero up to round-off (the planted matrix's, 1e-15) would stretch
    // the log axis over fifteen decades: values below 1e-8 of the largest are left out.
    let indexed = |s: &[f64]| {
        let floor = 1e-8 * s.first().copied().unwrap_or(0.0);
        s.iter()
            .enumerate()
            .filter(|(_, v)| **v > floor)
            .map(|(i, v)| ((i + 1) as f64, *v))
            .collect::<Vec<_>>()
    };
    let mut spectra = vec![
        Series::new("planted", indexed(&singular(&m_star))),
        Series::new("GD (averaged)", indexed(&s_gd)),
        Series::new("PGD (averaged)", indexed(&s_pgd)),
    ];
    if let Some(sol) = &explicit {
        spectra.push(Series::new(
            "explicit (nuclear norm)",
            indexed(&sol.singular_values),
        ));
    }
    write_line_plot(
        &LinePlot {
            title: "Singular values of the predictions MXᵀ".into(),
            x_label: "index".into(),
            y_label: "singular value".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Log10,
            series: spectra,
        },
        &dir.file("singular_values"),
    )?;

    let sum = Summary(&summary);
    let f = |key: &str| sum.get(key, Format::Fixed);
    let list = |key: &str| sum.get(key, Format::Raw);
    let mut r = String::new();
    let _ = writeln!(
        r,
        "# Nuclear norm from noise: a two-layer linear factorization and Eq. (10)\n"
    );
    let _ = writeln!(r, "**Data.** n = {n}, d₀ = {d0}, d₂ = {d2}, planted rank {}, noise std {}, {} test rows, seed {}.\n", c.rank, c.noise_std, c.n_test, config.seed);
    let _ = writeln!(r, "**Training.** Φ = W₂W₁Xᵀ with hidden width {}, {steps} full-batch steps of `{}` (lr {}), GD and PGD (`{}`, σ = {}) from the same initialization (scale {}). M = {n_groups} parameter groups; per-weight std used {}; σ_t = σ/√M = {}; μ = (σ_t²/n)√d₂‖X‖_F = {}; solver relative duality gap {}.\n", c.width, name(&config.optim.name), config.optim.lr, name(&config.noise.policy), config.noise.sigma, c.init_scale, f("per_weight_std"), f("theory_sigma"), f("mu"), list("solver_rel_duality_gap"));
    let columns = [
        format!(
            "PGD (averaged over the last {:.0} %)",
            100.0 * c.average_last
        ),
        "GD".into(),
    ];
    let rank_label = format!(
        "rank (singular values above 1 % of the largest); explicit: {}",
        list("explicit_rank")
    );
    r.push_str(&pgd_vs_gd(
        &summary,
        &columns,
        &[
            Compared::new(
                "relative distance of the predictions to the explicit solution",
                "rel_dist_to_explicit",
                "gd_rel_dist_to_explicit",
                Format::Fixed,
            ),
            Compared::new(
                "relative objective gap",
                "objective_gap",
                "gd_objective_gap",
                Format::Fixed,
            ),
            Compared::new(&rank_label, "rank", "gd_rank", Format::Raw),
            Compared::new(
                "relative distance to the planted predictions",
                "pgd_rel_dist_to_truth",
                "gd_rel_dist_to_truth",
                Format::Fixed,
            ),
            Compared::new(
                "test mean squared error",
                "pgd_test_mse",
                "gd_test_mse",
                Format::Fixed,
            ),
        ],
    ));
    r.push('\n');
    let _ = writeln!(r, "Plots: `objective.svg`, `distance.svg`, `singular_values.svg`. Numbers: `summary.json`; curves: `metrics.csv`.");
    dir.write_text("report.md", &r)?;
    Ok(dir.file("report.md"))
}
