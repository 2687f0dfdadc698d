//! What a lasso run shows: the objective, the distance to the explicit solution, the coefficient
//! paths and the coefficients (plots), and the report with the PGD-versus-GD table.

use super::problem::Problem;
use super::Reference;
use crate::config::{name, RunConfig};
use crate::experiments::pair::{Evaluation, Trace};
use crate::report::plot::{write_line_plot, LinePlot, Scale, Series};
use crate::report::table::{pgd_vs_gd, Compared, Format, Summary};
use crate::run::RunDir;
use anyhow::Result;
use noisegd::models::diagonal::Parametrization;
use std::fmt::Write as _;

pub(super) fn plots(
    config: &RunConfig,
    dir: &RunDir,
    data: &Problem,
    reference: &Reference,
    gd: &Trace,
    pgd: &Trace,
    theory_sigma: f64,
) -> Result<()> {
    let steps = config.train.steps as f64;
    let pgd_label = format!(
        "PGD ({}, σ = {})",
        name(&config.noise.policy),
        config.noise.sigma
    );
    let mut objective = vec![
        Series::new("GD", gd.series(|e| e.objective)),
        Series::new(pgd_label.clone(), pgd.series(|e| e.objective)),
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
        // Relative distances, or absolute ones where the solution is 0 (see `Evaluation::more`
        // in `train_all`: absolute, average relative, average absolute, ‖β‖₁).
        let zero = reference.is_zero();
        type Figure = fn(&Evaluation) -> f64;
        let (now, average): (Figure, Figure) = if zero {
            (|e| e.more[0], |e| e.more[2])
        } else {
            (|e| e.rel_dist, |e| e.more[1])
        };
        write_line_plot(
            &LinePlot {
                title: "Distance to the explicit Lasso solution".into(),
                x_label: "step".into(),
                y_label: if zero {
                    "‖β − β*‖ (absolute: the Lasso solution β* is 0)".into()
                } else {
                    "‖β − β*‖ / ‖β*‖".into()
                },
                x_scale: Scale::Log10,
                y_scale: Scale::Log10,
                series: vec![
                    Series::new("GD iterate", gd.series(now)),
                    Series::new(format!("{pgd_label} iterate"), pgd.series(now)),
                    Series::new(format!("{pgd_label} running average"), pgd.series(average)),
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
                let points = pgd.series(|e| e.kept[k] - target);
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
    let mut coef = vec![];
    if let Some((beta_star, _)) = &data.truth {
        coef.push(Series::new("planted β", by_index(beta_star)));
    }
    coef.push(Series::new("GD (averaged)", by_index(&gd.average)));
    coef.push(Series::new("PGD (averaged)", by_index(&pgd.average)));
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

pub(super) fn report(
    config: &RunConfig,
    data: &Problem,
    s: &serde_json::Value,
    n_groups: usize,
    step_size: &str,
) -> String {
    let l = &config.lasso;
    let sum = Summary(s);
    let f = |k: &str| sum.get(k, Format::Fixed);
    let e = |k: &str| sum.get(k, Format::Sci);
    let mut r = String::new();
    let _ = writeln!(
        r,
        "# Lasso from noise: a diagonal linear network and its explicit weighted Lasso\n"
    );
    let _ = writeln!(r, "**Data.** {}\n", data.description);
    if !data.constant_features.is_empty() {
        let _ = writeln!(
            r,
            "**Warning: constant features.** {} constant on the training rows: no information, coefficient 0 in every fit; remove the column{} from `data.features` (or the file).\n",
            data.constant_features.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                + if data.constant_features.len() == 1 { " is" } else { " are" },
            if data.constant_features.len() == 1 { "" } else { "s" }
        );
    }
    let (model, init, lambda) = match l.parametrization {
        Parametrization::Difference => (
            "Φ = X(w₁∘w₁ − w₂∘w₂)",
            format!("w₁ = w₂ = {}·1", l.init_scale),
            "λ_i = 2σ_t²(XᵀX)_ii/n (Eq. 8)",
        ),
        Parametrization::Product => (
            "Φ = X(u∘v) (product form; smoothed loss (1/2n)‖y − X(u∘v)‖² + (σ_t²/2)·diag(XᵀX/n)ᵀ(u² + v²) + const)",
            format!("u = {}·1, v = 0", 2.0 * l.init_scale),
            "λ_i = σ_t²(XᵀX)_ii/n (product form: min{u² + v² : uv = β} = 2|β|, half the weights of Eq. 8)",
        ),
    };
    let _ = writeln!(
        r,
        "**Training.** {model} from {init}, {} full-batch steps of `{}` (lr {}), run twice from the same initialization: plain GD, and PGD with policy `{}`, σ = {} (select `{}`, group_by `{}`, antithetic {}).\n",
        config.train.steps, name(&config.optim.name), config.optim.lr,
        name(&config.noise.policy), config.noise.sigma, name(&config.noise.select), name(&config.noise.group_by), config.noise.antithetic
    );
    let _ = writeln!(
        r,
        "**Noise scale.** M = {n_groups} parameter groups; per-weight std actually used {}; the paper's σ_t = σ/√M = {}. The explicit problem is the weighted Lasso with {lambda}, mean λ = {}, solved by coordinate descent to relative duality gap {} (converged: {}).\n",
        f("per_weight_std"), f("theory_sigma"), e("lasso_lambda_mean"), e("solver_rel_duality_gap"),
        s.get("solver_converged").map_or("n/a".into(), |v| v.to_string())
    );
    if s.get("explicit_is_zero").and_then(|v| v.as_bool()) == Some(true) {
        let _ = writeln!(
            r,
            "**The explicit Lasso solution is β* = 0**: λ_j ≥ |X_jᵀy|/n for every feature, so the noise zeroes every coefficient (it does from σ = {} on). A distance relative to ‖β*‖ does not exist: the table gives the absolute distance ‖β̄ − β*‖ = ‖β̄‖, the objective gap against P* = ‖y‖²/2n, and supports against the data's coefficient scale. Lower `noise.sigma` below that value for a sparse, non-zero solution.\n",
            f("sigma_zeroing_every_coefficient")
        );
    }
    let support_label = format!(
        "support (entries above {}: 1 % of the data's coefficient scale max_j |X_jᵀy|/‖X_j‖²)",
        e("support_threshold")
    );
    let mut rows = vec![
        Compared::new(
            "relative ℓ₂ distance to the explicit Lasso solution",
            "rel_dist_to_explicit",
            "gd_rel_dist_to_explicit",
            Format::Fixed,
        )
        .explicit("0"),
        Compared::new(
            "absolute ℓ₂ distance ‖β̄ − β*‖ to the explicit Lasso solution",
            "dist_to_explicit",
            "gd_dist_to_explicit",
            Format::Sci,
        )
        .explicit("0"),
        Compared::new(
            "relative objective gap (P(β̄) − P*)/P*",
            "objective_gap",
            "gd_objective_gap",
            Format::Sci,
        )
        .explicit("0"),
        Compared::new(
            "support F1 against the explicit support",
            "support_f1",
            "gd_support_f1",
            Format::Fixed,
        )
        .explicit("1"),
    ];
    if data.truth.is_some() {
        rows.push(
            Compared::new(
                "relative ℓ₂ distance to the planted β",
                "pgd_rel_dist_to_truth",
                "gd_rel_dist_to_truth",
                Format::Fixed,
            )
            .explicit(sum.fixed("explicit_rel_dist_to_truth")),
        );
    }
    rows.extend([
        Compared::new(
            "test mean squared error",
            "pgd_test_mse",
            "gd_test_mse",
            Format::Fixed,
        )
        .explicit(sum.fixed("explicit_test_mse")),
        Compared::new(
            "final train loss (1/2n)‖y − Xβ‖²",
            "pgd_final_train_loss",
            "gd_final_train_loss",
            Format::Sci,
        )
        .explicit(""),
        Compared::new(&support_label, "pgd_support", "gd_support", Format::Support)
            .explicit(sum.get("explicit_support", Format::Support)),
    ]);
    let columns = [
        format!(
            "PGD (iterates averaged over the last {:.0} %)",
            100.0 * l.average_last
        ),
        "GD (same averaging)".into(),
        "explicit Lasso".into(),
    ];
    r.push_str(&pgd_vs_gd(s, &columns, &rows));
    r.push('\n');
    match &data.feature_names {
        None => {
            let _ = writeln!(
                r,
                "Planted support: {}.\n",
                sum.get("true_support", Format::Support)
            );
        }
        Some(names) => {
            let _ = writeln!(
                r,
                "No planted truth (real data): the recovery metrics are not reported.\n"
            );
            if names.len() <= 30 {
                let _ = writeln!(
                    r,
                    "| feature | PGD β̄ | GD β̄ | explicit Lasso β* |\n|---|---|---|---|"
                );
                let col = |k: &str, j: usize| {
                    s.get(k)
                        .and_then(|v| v.get(j))
                        .and_then(|v| v.as_f64())
                        .map_or("n/a".to_string(), |v| format!("{v:.4}"))
                };
                for (j, name) in names.iter().enumerate() {
                    let _ = writeln!(
                        r,
                        "| {name} | {} | {} | {} |",
                        col("pgd_beta", j),
                        col("gd_beta", j),
                        col("explicit_beta", j)
                    );
                }
                let _ = writeln!(r);
            }
        }
    }
    r.push_str(step_size);
    let _ = writeln!(
        r,
        "Plots: `objective.svg` (Lasso objective along training), `distance.svg` (distance to the explicit solution), `paths.svg` (coefficient paths), `coefficients.svg` (β by feature){}. Numbers: `summary.json`; curves: `metrics.csv`; exact config: `config.toml`.",
        if s.get("step_size").is_some() { ", `step_size.svg` (distance against the step size)" } else { "" }
    );
    r
}
