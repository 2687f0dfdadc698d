//! Pieces the regression experiments share: the GD-versus-PGD training loop and small metrics.

use super::{progress, RunOptions};
use crate::config::RunConfig;
use crate::run::{num, should_log, MetricsWriter};
use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::Tensor;
use noisegd::noise::{NoiseConfig, PolicyKind};
use noisegd::optim::BaseOptimizer;
use noisegd::step::{NoiseInjection, StepReport};

/// A tensor's values as f64 (after leaving autodiff).
pub fn to_f64<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.inner()
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// f64 values as f32, for building tensors.
pub fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|x| *x as f32).collect()
}

/// `‖a − b‖ / ‖b‖`.
pub fn rel_dist(a: &[f64], b: &[f64]) -> f64 {
    let diff: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt();
    diff / b
        .iter()
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE)
}

/// Indices whose magnitude is above 1 % of the largest: averaged PGD iterates keep small
/// fluctuations around the explicit problem's exact zeros.
pub fn support(magnitudes: &[f64]) -> Vec<usize> {
    let scale = magnitudes.iter().fold(0f64, |m, v| m.max(v.abs()));
    (0..magnitudes.len())
        .filter(|&i| magnitudes[i].abs() > 1e-2 * scale.max(1e-12))
        .collect()
}

/// F1 score of `found` against `truth` (1 when both are empty).
pub fn f1(found: &[usize], truth: &[usize]) -> f64 {
    if found.is_empty() && truth.is_empty() {
        return 1.0;
    }
    let hits = found.iter().filter(|i| truth.contains(i)).count() as f64;
    2.0 * hits / (found.len() + truth.len()) as f64
}

/// Mean squared error of the linear predictor `beta` on row-major `x_rows`.
pub fn mse(x_rows: &[f64], y: &[f64], beta: &[f64]) -> f64 {
    if y.is_empty() {
        return f64::NAN;
    }
    let d = beta.len();
    let sq: f64 = x_rows
        .chunks_exact(d)
        .zip(y)
        .map(|(row, yi)| {
            let fit: f64 = row.iter().zip(beta).map(|(a, b)| a * b).sum();
            (yi - fit) * (yi - fit)
        })
        .sum();
    sq / y.len() as f64
}

/// The name a config uses for an enum value (`"layer"`, `"sgd"`).
pub fn name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// First step of the iterate-averaging window that covers the last `fraction` of `steps`.
pub fn average_from(steps: u64, fraction: f64) -> u64 {
    steps - ((fraction * steps as f64).ceil() as u64).clamp(1, steps)
}

/// Full-batch training of `model` for `config.train.steps` steps of `config.optim` with `noise`
/// (one epoch is one step), noise keyed by `seed`; `on_step(step, model, report)` sees the model
/// after every step. `method` names the run in the error of a diverged run.
pub fn train<M: Module>(
    config: &RunConfig,
    noise: NoiseConfig,
    seed: u64,
    mut model: M,
    loss: impl Fn(&M) -> Tensor<1> + Sync,
    method: &str,
    mut on_step: impl FnMut(u64, &M, &StepReport) -> Result<()>,
) -> Result<M> {
    let steps = config.train.steps;
    let optimizer = BaseOptimizer::new(&config.optim, steps)?;
    let mut pgd = NoiseInjection::new(&model, noise, optimizer, seed, steps)?;
    for step in 0..steps {
        pgd.set_epoch(step);
        let (next, report) = pgd
            .step(model, &loss)
            .with_context(|| format!("the {method} run diverged"))?;
        model = next;
        on_step(step, &model, &report)?;
    }
    Ok(model)
}

/// Columns of `metrics.csv` for the experiments that train with [`train_gd_and_pgd`].
pub const PAIR_COLUMNS: [&str; 9] = [
    "step",
    "method",
    "train_loss",
    "explicit_objective",
    "rel_dist_to_explicit",
    "perturbed_loss",
    "sigma",
    "per_weight_std",
    "lr",
];

/// A logged iterate, evaluated in f64 by the experiment.
pub struct Evaluation {
    /// The plain training loss.
    pub train_loss: f64,
    /// The explicit regularized objective the noise is predicted to minimize.
    pub objective: f64,
    /// Relative distance to the explicit solution (NaN when there is none).
    pub rel_dist: f64,
}

/// What one of the two runs produced.
pub struct Trace {
    /// `(step, explicit objective)` at the logged steps.
    pub objective: Vec<(f64, f64)>,
    /// `(step, relative distance to the explicit solution)` at the logged steps.
    pub distance: Vec<(f64, f64)>,
    /// The predictor averaged over the last `average_last` of the run.
    pub average: Vec<f64>,
}

/// Trains the model twice from the same initialization, by plain GD and by the configured noise
/// policy (full batch: one epoch is one step), logging an [`Evaluation`] of the predictor at the
/// logged steps and averaging the predictor over the last part of the run. Returns `[gd, pgd]`.
#[allow(clippy::too_many_arguments)]
pub fn train_gd_and_pgd<M: Module, const D: usize>(
    config: &RunConfig,
    label: &str,
    average_last: f64,
    init: impl Fn() -> M,
    loss: impl Fn(&M) -> Tensor<1> + Sync,
    predictor: impl Fn(&M) -> Tensor<D>,
    evaluate: impl Fn(&[f64]) -> Evaluation,
    metrics: &mut MetricsWriter,
    options: RunOptions,
) -> Result<[Trace; 2]> {
    let steps = config.train.steps;
    let bar = progress(2 * steps, label, options);
    let gd_noise = NoiseConfig {
        policy: PolicyKind::None,
        sigma: 0.0,
        ..config.noise.clone()
    };
    let mut traces = vec![];
    for (index, (method, noise)) in [("gd", gd_noise), ("pgd", config.noise.clone())]
        .into_iter()
        .enumerate()
    {
        let start = average_from(steps, average_last);
        let mut sum: Option<Tensor<D>> = None;
        let mut trace = Trace {
            objective: vec![],
            distance: vec![],
            average: vec![],
        };
        train(
            config,
            noise,
            config.seed,
            init(),
            &loss,
            method,
            |step, model, report| {
                if step >= start {
                    let p = predictor(model).inner();
                    sum = Some(match sum.take() {
                        Some(s) => s + p,
                        None => p,
                    });
                }
                let done = step + 1;
                if should_log(done, config.train.log_every, steps) {
                    let e = evaluate(&to_f64(predictor(model)));
                    trace.objective.push((done as f64, e.objective));
                    trace.distance.push((done as f64, e.rel_dist));
                    metrics.row(&[
                        done.to_string(),
                        method.to_string(),
                        num(e.train_loss),
                        num(e.objective),
                        num(e.rel_dist),
                        num(report.loss),
                        num(report.sigma),
                        num(report.per_weight_std),
                        num(report.lr),
                    ])?;
                    bar.set_position(index as u64 * steps + done);
                }
                Ok(())
            },
        )?;
        let count = (steps - start) as f64;
        trace.average = to_f64(sum.expect("the averaging window holds at least one step"))
            .into_iter()
            .map(|v| v / count)
            .collect();
        traces.push(trace);
    }
    bar.finish_and_clear();
    let pgd = traces.pop().expect("two runs");
    let gd = traces.pop().expect("two runs");
    Ok([gd, pgd])
}

/// Philox stream of the planted-regression design (away from the theory module's streams).
const PLANTED_STREAM: u32 = 0x5052_4547;

/// The synthetic data of the paper's Fig. 1–2: `X` (n × d₀) with i.i.d. N(0, 1) entries from
/// the run's seed and `Y = Xβ*` (n × d₂, the same target on every output, no label noise) with
/// `β* = (planted, 0, …, 0)`.
pub fn planted_regression(
    n: usize,
    d0: usize,
    d2: usize,
    planted: &[f64],
    seed: u64,
) -> (nalgebra::DMatrix<f64>, nalgebra::DMatrix<f64>) {
    let x = noisegd::theory::smoothed::normal_matrix(
        n,
        d0,
        1.0,
        noisegd::noise::rng::NoiseKey::new(seed, 0, 0).with_stream(PLANTED_STREAM),
    );
    let mut beta = nalgebra::DVector::zeros(d0);
    beta.rows_mut(0, planted.len())
        .copy_from(&nalgebra::DVector::from_column_slice(planted));
    let target = &x * beta;
    let y = nalgebra::DMatrix::from_fn(n, d2, |i, _| target[i]);
    (x, y)
}

/// A matrix's entries in row-major order (burn's layout), as f32.
pub fn row_major_f32(m: &nalgebra::DMatrix<f64>) -> Vec<f32> {
    m.transpose().iter().map(|v| *v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_and_support_by_hand() {
        assert_eq!(f1(&[1, 2, 3], &[2, 3, 4, 5]), 2.0 * 2.0 / 7.0);
        assert_eq!(support(&[0.0, -5.0, 0.04, 0.06]), [1, 3]);
        assert_eq!(average_from(100, 0.5), 50);
        assert!((rel_dist(&[1.0, 1.0], &[1.0, 0.0]) - 1.0).abs() < 1e-15);
    }
}
