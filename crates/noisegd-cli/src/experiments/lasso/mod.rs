//! `experiment = "lasso"`: PGD on a diagonal linear network solves a weighted Lasso (paper §2.3).
//!
//! Synthetic sparse regression with `n < d` (or a table: a user's CSV, the diabetes data; see
//! `[data]`); the network `Φ = X(w₁∘w₁ − w₂∘w₂)` (or `Φ = X(u∘v)`, `lasso.parametrization`) is
//! trained from `β = 0` twice, by plain GD and by the configured noise policy, with the same
//! base optimizer. The PGD iterates `β` are averaged over the last part of the run and compared
//! with the weighted Lasso of Eq. (8), `λ_i = c·σ_t²(XᵀX)_ii/n`, `σ_t = σ/√M`, `c = 2` for the
//! difference form and 1 for the product form, solved first, to a certified relative duality
//! gap, so that the distance to it can be logged along training. Real data have no planted
//! truth: the recovery metrics are left out of the summary, not estimated.

mod problem;
mod report;
mod step_size;

pub use problem::{load_problem, Problem};

use super::pair::{f32s, train_gd_and_pgd, train_one, Evaluation, Pair, Trace};
use super::{progress, RunOptions};
use crate::config::RunConfig;
use crate::run::RunDir;
use anyhow::Result;
use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use noisegd::diagnostics::recovery::{coefficient_scale, dist, f1, mse, rel_dist, support_above};
use noisegd::models::diagonal::{DiagonalNet, LinearPredictor, Parametrization, ProductNet};
use noisegd::params::ParamGroups;
use noisegd::theory::lasso::{
    lambda_from_noise_with_factor, Design, LassoOptions, LassoSolution, WeightedLasso,
};
use noisegd::train::MetricsCsv;
use serde_json::json;

const COLUMNS: [&str; 13] = [
    "step",
    "method",
    "train_loss",
    "lasso_objective",
    "rel_dist_to_explicit",
    "dist_to_explicit",
    "avg_rel_dist_to_explicit",
    "avg_dist_to_explicit",
    "l1_norm",
    "perturbed_loss",
    "sigma",
    "per_weight_std",
    "lr",
];

/// How many coefficient paths the path plot follows.
const PATHS: usize = 6;

/// Supports count the coefficients above this fraction of the data's coefficient scale
/// ([`coefficient_scale`]), a scale that does not depend on the estimate: relative to an
/// estimate's own largest entry, the fluctuations of PGD around an all-zero solution counted.
const SUPPORT_FRACTION: f64 = 1e-2;

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
    /// The data's coefficient scale (see [`SUPPORT_FRACTION`]).
    scale: f64,
}

impl Reference<'_> {
    /// Whether the explicit solution is β = 0 (every coefficient vanished).
    fn is_zero(&self) -> bool {
        self.solution
            .is_some_and(|s| s.beta.iter().all(|b| *b == 0.0))
    }

    /// How far `beta` is from the explicit solution: relative, or, when the solution is 0,
    /// absolute over the coefficient scale (NaN without a solution).
    fn distance(&self, beta: &[f64]) -> f64 {
        match self.solution {
            None => f64::NAN,
            // y ⊥ every column (scale 0): nothing to scale by, the absolute distance.
            Some(s) if self.is_zero() && self.scale > 0.0 => dist(beta, &s.beta) / self.scale,
            Some(s) if self.is_zero() => dist(beta, &s.beta),
            Some(s) => rel_dist(beta, &s.beta),
        }
    }

    /// What [`Reference::distance`] measures, for labels.
    fn distance_name(&self) -> &'static str {
        if self.is_zero() {
            "distance ‖β̄‖ over the coefficient scale (the Lasso solution is 0)"
        } else {
            "relative distance ‖β̄ − β*‖/‖β*‖"
        }
    }

    /// The support of an estimate, against the data's scale.
    fn support(&self, beta: &[f64]) -> Vec<usize> {
        support_above(beta, SUPPORT_FRACTION * self.scale)
    }
}

pub fn run(
    config: &RunConfig,
    data: Problem,
    dir: &RunDir,
    options: RunOptions,
) -> Result<std::path::PathBuf> {
    let l = &config.lasso;
    let d = data.d;
    let device = config.device.training_device()?;

    // The explicit problem PGD solves in expectation, solved before training.
    let n_groups = match l.parametrization {
        Parametrization::Difference => ParamGroups::of(
            &DiagonalNet::uniform(d, l.init_scale, &device),
            config.noise.group_by,
        ),
        Parametrization::Product => ParamGroups::of(
            &ProductNet::uniform(d, l.init_scale, &device),
            config.noise.group_by,
        ),
    }
    .len();
    let theory_sigma = config.noise.theory_sigma(n_groups);
    let design = Design::from_rows(data.n, d, &data.x_rows)?;
    let lambda =
        lambda_from_noise_with_factor(&design, theory_sigma, l.parametrization.lambda_factor());
    let zeros = vec![0.0; d];
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
        let mut order: Vec<usize> = (0..d).collect();
        let key = |j: &usize| match (&explicit, &data.truth) {
            (Some(s), _) => -s.beta[*j].abs(),
            (None, Some((beta_star, _))) => -beta_star[*j].abs(),
            (None, None) => 0.0,
        };
        order.sort_by(|a, b| key(a).total_cmp(&key(b)));
        order.truncate(PATHS.min(d));
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
        scale: coefficient_scale(&data.x_rows, &data.y),
    };
    for name in &data.constant_features {
        eprintln!("warning: feature `{name}` is constant on the training rows: it carries no information and its coefficient stays 0");
    }

    let mut metrics = dir.metrics(&COLUMNS)?;
    let x = Tensor::<2>::from_data(TensorData::new(f32s(&data.x_rows), [data.n, d]), &device);
    let y = Tensor::<1>::from_data(TensorData::new(f32s(&data.y), [data.n]), &device);
    let (gd, pgd, steps) = match l.parametrization {
        Parametrization::Difference => train_all(
            &|| DiagonalNet::uniform(d, l.init_scale, &device),
            (x, y),
            config,
            &reference,
            &mut metrics,
            options,
        )?,
        Parametrization::Product => train_all(
            &|| ProductNet::uniform(d, l.init_scale, &device),
            (x, y),
            config,
            &reference,
            &mut metrics,
            options,
        )?,
    };

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
        "parametrization": l.parametrization,
        "lambda_factor": l.parametrization.lambda_factor(),
        "lasso_lambda_mean": lambda.iter().sum::<f64>() / d as f64,
        "data": config.data.name,
        "n": data.n,
        "d": d,
        "steps": config.train.steps,
        "lr": config.optim.lr,
        "averaged_over_last": l.average_last,
        "coefficient_scale": reference.scale,
        "support_threshold": SUPPORT_FRACTION * reference.scale,
        "pgd_support": reference.support(&pgd.average),
        "gd_support": reference.support(&gd.average),
        "constant_features": data.constant_features,
        "pgd_final_train_loss": pgd.final_train_loss(),
        "gd_final_train_loss": gd.final_train_loss(),
        "n_test": data.y_test.len(),
        "pgd_beta": pgd.average,
        "gd_beta": gd.average,
        "pgd_test_mse": test_mse(&pgd.average),
        "gd_test_mse": test_mse(&gd.average),
    });
    let obj = summary.as_object_mut().expect("an object");
    if let Some(names) = &data.feature_names {
        obj.insert("feature_names".into(), json!(names));
    }
    match &data.truth {
        Some((beta_star, true_support)) => {
            obj.insert("true_support".into(), json!(true_support));
            obj.insert(
                "pgd_rel_dist_to_truth".into(),
                json!(rel_dist(&pgd.average, beta_star)),
            );
            obj.insert(
                "gd_rel_dist_to_truth".into(),
                json!(rel_dist(&gd.average, beta_star)),
            );
        }
        None => {
            obj.insert(
                "planted_truth".into(),
                json!("none: real data, recovery metrics not reported"),
            );
        }
    }
    if let Some(sol) = &explicit {
        let p_star = sol.primal;
        // Relative to P* > 0 (P* = 0 only for a target the model fits exactly with λ > 0: y = 0).
        let gap = |b: &[f64]| {
            if p_star > 0.0 {
                (lasso.objective(b) - p_star) / p_star
            } else {
                f64::NAN
            }
        };
        let explicit_support = reference.support(&sol.beta);
        // Every coefficient vanishes where λ_j ≥ |X_jᵀy|/n for all j; λ ∝ σ², so this σ is
        // where the Lasso solution becomes 0.
        let xty = design.mul_t(&data.y);
        let zeroing_ratio = (0..d)
            .filter(|&j| lambda[j] > 0.0)
            .map(|j| xty[j].abs() / (data.n as f64 * lambda[j]))
            .fold(0.0, f64::max);
        let extra = json!({
            "explicit_is_zero": reference.is_zero(),
            "sigma_zeroing_every_coefficient": config.noise.sigma * zeroing_ratio.sqrt(),
            "distance_measure": reference.distance_name(),
            "rel_dist_to_explicit": rel_dist(&pgd.average, &sol.beta),
            "last_iterate_rel_dist_to_explicit": rel_dist(&pgd.last, &sol.beta),
            "gd_rel_dist_to_explicit": rel_dist(&gd.average, &sol.beta),
            "dist_to_explicit": dist(&pgd.average, &sol.beta),
            "gd_dist_to_explicit": dist(&gd.average, &sol.beta),
            "objective_gap": gap(&pgd.average),
            "gd_objective_gap": gap(&gd.average),
            "support_f1": f1(&reference.support(&pgd.average), &explicit_support),
            "gd_support_f1": f1(&reference.support(&gd.average), &explicit_support),
            "explicit_test_mse": test_mse(&sol.beta),
            "explicit_objective": p_star,
            "explicit_support": explicit_support,
            "explicit_beta": sol.beta,
            "solver_rel_duality_gap": sol.rel_gap,
            "solver_kkt_residual": sol.kkt_residual,
            "solver_converged": sol.converged,
        });
        let obj = summary.as_object_mut().expect("an object");
        obj.extend(extra.as_object().expect("an object").clone());
        if let Some((beta_star, _)) = &data.truth {
            obj.insert(
                "explicit_rel_dist_to_truth".into(),
                json!(rel_dist(&sol.beta, beta_star)),
            );
        }
    }
    let step_summary = steps.summary(l.step_check_above);
    if !step_summary.is_null() {
        summary
            .as_object_mut()
            .expect("an object")
            .insert("step_size".into(), step_summary);
    }
    dir.write_json("summary.json", &summary)?;
    report::plots(config, dir, &data, &reference, &gd, &pgd, theory_sigma)?;
    steps.plot(dir, reference.distance_name())?;
    let step_text = steps.report(
        config.optim.lr,
        reference.distance(&pgd.average),
        l.step_check_above,
        reference.distance_name(),
    );
    dir.write_text(
        "report.md",
        &report::report(config, &data, &summary, n_groups, &step_text),
    )?;
    Ok(dir.file("report.md"))
}

/// GD and PGD from `init()` through the shared pair runner (the lasso logs, besides the pair's
/// figures, the distances of the running average and ‖β‖₁, and keeps the tracked coefficient
/// paths), then the step-size measurements ([`step_size`]).
fn train_all<M: Module + LinearPredictor>(
    init: &dyn Fn() -> M,
    batch: (Tensor<2>, Tensor<1>),
    config: &RunConfig,
    reference: &Reference,
    metrics: &mut MetricsCsv,
    options: RunOptions,
) -> Result<(Trace, Trace, step_size::StepSize)> {
    let evaluate = |beta: &[f64], average: Option<&[f64]>| {
        let rel = |b: &[f64]| {
            reference
                .solution
                .map_or(f64::NAN, |s| rel_dist(b, &s.beta))
        };
        let abs = |b: &[f64]| reference.solution.map_or(f64::NAN, |s| dist(b, &s.beta));
        Evaluation {
            train_loss: reference.square.objective(beta),
            objective: reference.lasso.objective(beta),
            rel_dist: rel(beta),
            more: vec![
                abs(beta),
                average.map_or(f64::NAN, rel),
                average.map_or(f64::NAN, abs),
                beta.iter().map(|b| b.abs()).sum(),
            ],
            kept: reference.tracked.iter().map(|&j| beta[j]).collect(),
        }
    };
    let pair = Pair {
        label: "lasso",
        average_last: config.lasso.average_last,
        init,
        data: batch,
        loss: &|m: &M, (x, y): &(Tensor<2>, Tensor<1>)| m.loss(x.clone(), y.clone()),
        predictor: &|m: &M| m.beta(),
        evaluate: &evaluate,
    };
    let [gd, pgd] = train_gd_and_pgd(config, &pair, metrics, options)?;
    let bar = progress(0, "step size", options);
    let steps = step_size::measure(
        &config.lasso,
        &config.noise,
        &config.optim,
        config.train.steps,
        &pgd,
        &|b| reference.distance(b),
        &mut |run| {
            bar.set_length(run.steps);
            bar.set_position(0);
            bar.set_message(run.method.clone());
            train_one(config, &pair, &run, metrics, &|done| bar.set_position(done))
        },
    )?;
    bar.finish_and_clear();
    Ok((gd, pgd, steps))
}
