//! The regression experiments' comparison: the same model trained twice from the same
//! initialization, by plain GD and by the configured noise policy (full batch: one step is one
//! epoch), through the one training driver. At each logged step the experiment evaluates the
//! predictor in f64 ([`Evaluation`]); over the last part of the run the predictor is averaged,
//! since at a constant step size the PGD iterates fluctuate around the point they converge to.

use super::{progress, RunOptions};
use crate::config::RunConfig;
use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::Tensor;
use noisegd::noise::{NoiseConfig, PolicyKind};
use noisegd::optim::{BaseOptimizer, OptimConfig};
use noisegd::train::{num, Driver, Hooks, Method, MetricsCsv, StepDone};

/// Columns of `metrics.csv` for the experiments without further columns.
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
    /// The experiment's further columns, written after `rel_dist` (empty for [`PAIR_COLUMNS`]).
    pub more: Vec<f64>,
    /// Values kept in the [`Trace`] but not written (e.g. coefficient paths).
    pub kept: Vec<f64>,
}

impl Evaluation {
    /// The three figures every pair experiment logs.
    pub fn new(train_loss: f64, objective: f64, rel_dist: f64) -> Self {
        Self {
            train_loss,
            objective,
            rel_dist,
            more: vec![],
            kept: vec![],
        }
    }
}

/// What one of the two runs produced.
pub struct Trace {
    /// `(step, evaluation)` at the logged steps.
    pub logged: Vec<(u64, Evaluation)>,
    /// The predictor averaged over the last `average_last` of the run.
    pub average: Vec<f64>,
    /// The predictor after the last step.
    pub last: Vec<f64>,
}

impl Trace {
    /// `(step, figure)` at the logged steps, leaving out the steps where it is not finite.
    pub fn series(&self, figure: impl Fn(&Evaluation) -> f64) -> Vec<(f64, f64)> {
        self.logged
            .iter()
            .map(|(t, e)| (*t as f64, figure(e)))
            .filter(|(_, v)| !v.is_nan())
            .collect()
    }

    /// The plain training loss at the last logged step (the last step).
    pub fn final_train_loss(&self) -> f64 {
        self.logged.last().map_or(f64::NAN, |(_, e)| e.train_loss)
    }
}

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

/// First step of the iterate-averaging window that covers the last `fraction` of `steps`.
pub fn average_from(steps: u64, fraction: f64) -> u64 {
    steps - ((fraction * steps as f64).ceil() as u64).clamp(1, steps)
}

/// Evaluates an iterate (the predictor's values) given the running average of the predictor,
/// once the averaging window has started.
pub type Evaluate<'a> = dyn Fn(&[f64], Option<&[f64]>) -> Evaluation + 'a;

/// The experiment's side of a pair: how to build, fit, read and judge the model.
pub struct Pair<'a, M, B, const D: usize> {
    /// Progress bar label.
    pub label: &'a str,
    /// Fraction of the run the predictor is averaged over.
    pub average_last: f64,
    /// The model both runs start from (called once per run).
    pub init: &'a dyn Fn() -> M,
    /// The full batch.
    pub data: B,
    /// The training loss on the batch.
    pub loss: &'a (dyn Fn(&M, &B) -> Tensor<1> + Sync),
    /// The predictor the explicit problem is about (β, or the product W₂W₁).
    pub predictor: &'a dyn Fn(&M) -> Tensor<D>,
    /// Evaluates an iterate; the second argument is the running average of the predictor, once
    /// the averaging window has started.
    pub evaluate: &'a Evaluate<'a>,
}

/// How one run of a pair trains: its label in `metrics.csv`'s `method` column, its noise, its
/// base optimizer and its length.
pub struct RunSpec<'c> {
    /// `gd`, `pgd`, or the label of a further run (e.g. `pgd_lr=0.005`).
    pub method: String,
    /// The noise of the run.
    pub noise: NoiseConfig,
    /// The base optimizer.
    pub optim: &'c OptimConfig,
    /// Steps (the schedule, if any, runs over them).
    pub steps: u64,
}

/// Trains GD, then PGD with `config.noise`; rows of both go to `metrics` (columns: step,
/// method, the evaluation, then the step's perturbed loss, σ, per-weight std and lr).
pub fn train_gd_and_pgd<M: Module, B: Clone + Sync, const D: usize>(
    config: &RunConfig,
    pair: &Pair<M, B, D>,
    metrics: &mut MetricsCsv,
    options: RunOptions,
) -> Result<[Trace; 2]> {
    let steps = config.train.steps;
    let bar = progress(2 * steps, pair.label, options);
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
        let run = RunSpec {
            method: method.into(),
            noise,
            optim: &config.optim,
            steps,
        };
        traces.push(train_one(config, pair, &run, metrics, &|done| {
            bar.set_position(index as u64 * steps + done)
        })?);
    }
    bar.finish_and_clear();
    let pgd = traces.pop().expect("two runs");
    let gd = traces.pop().expect("two runs");
    Ok([gd, pgd])
}

/// Trains one run of `pair` as `run` says (seed and logging cadence from `config`), its rows
/// to `metrics`; `progress` hears the steps done.
pub fn train_one<M: Module, B: Clone + Sync, const D: usize>(
    config: &RunConfig,
    pair: &Pair<M, B, D>,
    run: &RunSpec,
    metrics: &mut MetricsCsv,
    progress: &dyn Fn(u64),
) -> Result<Trace> {
    let mut hooks = Averaging {
        method: &run.method,
        pair,
        start: average_from(run.steps, pair.average_last),
        sum: None,
        count: 0,
        logged: vec![],
    };
    let outcome = Driver::new(run.steps, config.train.log_every)
        .on_progress(progress)
        .run(
            (pair.init)(),
            Method {
                noise: run.noise.clone(),
                optimizer: BaseOptimizer::new(run.optim, run.steps)?,
                seed: config.seed,
            },
            &mut noisegd::train::FullBatch(pair.data.clone()),
            |m: &M, b: &B| (pair.loss)(m, b),
            &mut hooks,
            metrics,
        )?;
    let model = outcome
        .finished()
        .with_context(|| format!("the {} run diverged", run.method))?;
    Ok(Trace {
        average: hooks
            .average()
            .expect("the averaging window holds at least one step"),
        last: to_f64((pair.predictor)(&model)),
        logged: hooks.logged,
    })
}

/// The hooks of one run of a pair: the running sum of the predictor, the logged evaluations.
struct Averaging<'p, 'a, M, B, const D: usize> {
    method: &'p str,
    pair: &'p Pair<'a, M, B, D>,
    start: u64,
    sum: Option<Tensor<D>>,
    count: u64,
    logged: Vec<(u64, Evaluation)>,
}

impl<M, B, const D: usize> Averaging<'_, '_, M, B, D> {
    fn average(&self) -> Option<Vec<f64>> {
        let sum = self.sum.clone()?;
        Some(
            to_f64(sum)
                .into_iter()
                .map(|v| v / self.count as f64)
                .collect(),
        )
    }
}

impl<M, B, const D: usize> Hooks<M> for Averaging<'_, '_, M, B, D> {
    type Error = anyhow::Error;

    fn after_step(&mut self, at: &StepDone, model: &M) -> Result<()> {
        if at.done > self.start {
            let p = (self.pair.predictor)(model).inner();
            self.sum = Some(match self.sum.take() {
                Some(s) => s + p,
                None => p,
            });
            self.count += 1;
        }
        Ok(())
    }

    fn log(&mut self, at: &StepDone, model: &M) -> Result<Vec<String>> {
        let e = (self.pair.evaluate)(
            &to_f64((self.pair.predictor)(model)),
            self.average().as_deref(),
        );
        let r = at.report;
        let row = [at.done.to_string(), self.method.to_string()]
            .into_iter()
            .chain([e.train_loss, e.objective, e.rel_dist].into_iter().map(num))
            .chain(e.more.iter().copied().map(num))
            .chain(
                [r.loss, r.sigma, r.per_weight_std, r.lr]
                    .into_iter()
                    .map(num),
            )
            .collect();
        self.logged.push((at.done, e));
        Ok(row)
    }
}
