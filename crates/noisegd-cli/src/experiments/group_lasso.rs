//! `experiment = "group_lasso"`: PGD on a grouped linear model solves the data-weighted group
//! Lasso of Eq. (38) (paper §2.4).
//!
//! `Φ = Σ_j v_j X_j w_j` is trained by GD and by the configured policy from the same seeded
//! initialization; the PGD coefficients `β_j = v_j w_j`, averaged over the last part of the run,
//! are compared with `min (1/2n)‖y − Σ X_jβ_j‖² + Σ_j λ_j‖X_jβ_j‖`, `λ_j = σ_t²‖X_j‖_F/n`,
//! `σ_t = σ/√M`, solved by block coordinate descent to a certified duality gap.

use super::pair::{f32s, train_gd_and_pgd, Evaluation, Pair, PAIR_COLUMNS};
use super::RunOptions;
use crate::config::name;
use crate::config::RunConfig;
use crate::report::plot::{write_line_plot, LinePlot, Scale, Series};
use crate::report::table::{pgd_vs_gd, Compared, Format, Summary};
use crate::run::RunDir;
use anyhow::{Context, Result};
use burn::tensor::{Tensor, TensorData};
use nalgebra::{DMatrix, DVector};
use noisegd::data::structured::{group_sparse, GroupSparseConfig};
use noisegd::diagnostics::recovery::{f1, mse, rel_dist, support};
use noisegd::models::grouped::GroupedNet;
use noisegd::params::ParamGroups;
use noisegd::theory::group_lasso::{lambda_from_noise, GroupLasso, GroupLassoOptions};
use serde_json::json;
use std::fmt::Write as _;

pub fn run(config: &RunConfig, dir: &RunDir, options: RunOptions) -> Result<std::path::PathBuf> {
    let g = &config.group_lasso;
    let data = group_sparse(&GroupSparseConfig {
        n: g.n,
        groups: g.groups,
        k: g.group_size,
        active: g.active_groups,
        noise_std: g.noise_std,
        n_test: g.n_test,
        seed: config.seed,
    })
    .context("generating the group-sparse regression")?;
    let (n, k, p) = (g.n, g.group_size, g.groups * g.group_size);
    let device = config.device.training_device()?;
    let n_groups = ParamGroups::of(
        &GroupedNet::init(g.groups, k, g.init_scale, config.seed, &device),
        config.noise.group_by,
    )
    .len();
    let theory_sigma = config.noise.theory_sigma(n_groups);

    let x = DMatrix::from_row_slice(n, p, &data.x_rows);
    let blocks: Vec<DMatrix<f64>> = (0..g.groups)
        .map(|j| x.columns(j * k, k).into_owned())
        .collect();
    let lambda = lambda_from_noise(&blocks, theory_sigma);
    let zero = vec![0.0; g.groups];
    let problem = GroupLasso {
        blocks: &blocks,
        y: &data.y,
        lambda: &lambda,
    };
    let square = GroupLasso {
        blocks: &blocks,
        y: &data.y,
        lambda: &zero,
    };
    let explicit = if theory_sigma > 0.0 {
        Some(problem.solve(&GroupLassoOptions {
            tol: g.solver_tol,
            ..GroupLassoOptions::default()
        })?)
    } else {
        None
    };
    let explicit_beta: Option<Vec<f64>> = explicit
        .as_ref()
        .map(|s| s.beta.iter().flat_map(|b| b.iter().copied()).collect());
    let as_blocks = |beta: &[f64]| -> Vec<DVector<f64>> {
        beta.chunks(k).map(DVector::from_column_slice).collect()
    };
    let group_norms = |beta: &[f64]| -> Vec<f64> {
        as_blocks(beta)
            .iter()
            .zip(&blocks)
            .map(|(b, xj)| (xj * b).norm())
            .collect()
    };

    let mut metrics = dir.metrics(&PAIR_COLUMNS)?;
    let steps = config.train.steps;
    let xt = Tensor::<2>::from_data(TensorData::new(f32s(&data.x_rows), [n, p]), &device);
    let yt = Tensor::<1>::from_data(TensorData::new(f32s(&data.y), [n]), &device);
    let [gd_trace, pgd_trace] = train_gd_and_pgd(
        config,
        &Pair {
            label: "group_lasso",
            average_last: g.average_last,
            init: &|| GroupedNet::init(g.groups, k, g.init_scale, config.seed, &device),
            data: (xt, yt),
            loss: &|m: &GroupedNet, (x, y): &(Tensor<2>, Tensor<1>)| m.loss(x.clone(), y.clone()),
            predictor: &|m: &GroupedNet| m.beta(),
            evaluate: &|beta, _| {
                Evaluation::new(
                    square.objective(&as_blocks(beta)),
                    problem.objective(&as_blocks(beta)),
                    explicit_beta
                        .as_ref()
                        .map_or(f64::NAN, |b| rel_dist(beta, b)),
                )
            },
        },
        &mut metrics,
        options,
    )?;
    let (gd, pgd) = (&gd_trace.average, &pgd_trace.average);

    let active_of = |beta: &[f64]| support(&group_norms(beta));
    let mut summary = json!({
        "experiment": "group_lasso",
        "policy": config.noise.policy,
        "sigma": config.noise.sigma,
        "per_weight_std": config.noise.per_weight_std(n_groups),
        "n_groups": n_groups,
        "theory_sigma": theory_sigma,
        "steps": steps,
        "lr": config.optim.lr,
        "true_active_groups": data.active,
        "pgd_active_groups": active_of(pgd),
        "gd_active_groups": active_of(gd),
        "pgd_rel_dist_to_truth": rel_dist(pgd, &data.beta_star),
        "gd_rel_dist_to_truth": rel_dist(gd, &data.beta_star),
        "pgd_test_mse": mse(&data.x_test_rows, &data.y_test, pgd),
        "gd_test_mse": mse(&data.x_test_rows, &data.y_test, gd),
    });
    if let (Some(sol), Some(star)) = (&explicit, &explicit_beta) {
        let p_star = sol.primal;
        let gap = |b: &[f64]| (problem.objective(&as_blocks(b)) - p_star) / p_star;
        let extra = json!({
            "rel_dist_to_explicit": rel_dist(pgd, star),
            "gd_rel_dist_to_explicit": rel_dist(gd, star),
            "objective_gap": gap(pgd),
            "gd_objective_gap": gap(gd),
            "support_f1": f1(&active_of(pgd), &sol.active_groups),
            "gd_support_f1": f1(&active_of(gd), &sol.active_groups),
            "explicit_active_groups": sol.active_groups,
            "explicit_objective": p_star,
            "explicit_test_mse": mse(&data.x_test_rows, &data.y_test, star),
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
                title: "Distance to the explicit group-Lasso solution".into(),
                x_label: "step".into(),
                y_label: "‖β − β*‖ / ‖β*‖".into(),
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
            title: format!("Group-Lasso objective along training (σ_t = {theory_sigma:.4})"),
            x_label: "step".into(),
            y_label: "(1/2n)‖y − Σ X_jβ_j‖² + Σ λ_j‖X_jβ_j‖".into(),
            x_scale: Scale::Log10,
            y_scale: Scale::Log10,
            series: objective,
        },
        &dir.file("objective"),
    )?;
    let by_group = |b: &[f64]| {
        group_norms(b)
            .into_iter()
            .enumerate()
            .map(|(j, v)| (j as f64, v))
            .collect::<Vec<_>>()
    };
    let mut norms = vec![
        Series::new("planted", by_group(&data.beta_star)),
        Series::new("GD (averaged)", by_group(gd)),
        Series::new("PGD (averaged)", by_group(pgd)),
    ];
    if let Some(star) = &explicit_beta {
        norms.push(Series::new("explicit group Lasso", by_group(star)));
    }
    write_line_plot(
        &LinePlot {
            title: "Group norms ‖X_jβ_j‖".into(),
            x_label: "group".into(),
            y_label: "‖X_jβ_j‖".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: norms,
        },
        &dir.file("group_norms"),
    )?;

    let sum = Summary(&summary);
    let f = |key: &str| sum.get(key, Format::Fixed);
    let list = |key: &str| sum.get(key, Format::Raw);
    let mut r = String::new();
    let _ = writeln!(
        r,
        "# Group Lasso from noise: a grouped linear model and Eq. (38)\n"
    );
    let _ = writeln!(r, "**Data.** n = {n}, {} groups of {k} features, {} active, noise std {}, {} test rows, seed {}.\n", g.groups, g.active_groups, g.noise_std, g.n_test, config.seed);
    let _ = writeln!(r, "**Training.** Φ = Σ v_j X_j w_j, {steps} full-batch steps of `{}` (lr {}), GD and PGD (`{}`, σ = {}) from the same initialization (scale {}). M = {n_groups} parameter groups (v and W); per-weight std used {}; σ_t = σ/√M = {}; λ_j = σ_t²‖X_j‖_F/n; solver relative duality gap {}.\n", name(&config.optim.name), config.optim.lr, name(&config.noise.policy), config.noise.sigma, g.init_scale, f("per_weight_std"), f("theory_sigma"), list("solver_rel_duality_gap"));
    let columns = [
        format!(
            "PGD (averaged over the last {:.0} %)",
            100.0 * g.average_last
        ),
        "GD".into(),
    ];
    r.push_str(&pgd_vs_gd(
        &summary,
        &columns,
        &[
            Compared::new(
                "relative ℓ₂ distance to the explicit solution",
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
            Compared::new(
                "active-group F1 against the explicit solution",
                "support_f1",
                "gd_support_f1",
                Format::Fixed,
            ),
            Compared::new(
                "relative distance to the planted β",
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
    let _ = writeln!(
        r,
        "Active groups: planted {}, explicit {}, PGD {}, GD {}.\n",
        list("true_active_groups"),
        list("explicit_active_groups"),
        list("pgd_active_groups"),
        list("gd_active_groups")
    );
    let _ = writeln!(r, "Plots: `objective.svg`, `distance.svg`, `group_norms.svg`. Numbers: `summary.json`; curves: `metrics.csv`.");
    dir.write_text("report.md", &r)?;
    Ok(dir.file("report.md"))
}
