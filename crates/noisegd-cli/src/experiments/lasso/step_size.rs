//! Why PGD's averaged iterate can stay far from the Lasso solution: the step size.
//!
//! The weighted Lasso is what PGD minimizes *in expectation*; at a constant step η the iterates
//! keep fluctuating around that minimizer, and on the sparse end of a problem (large λ, most
//! coefficients at 0) the averaged iterate keeps a distance that shrinks like a power of η and
//! not with more steps: measured on regression tables the project never saw, 20–70 % at
//! η = 0.01, about ∝ √η, unchanged by ten times more steps. PGD reaches the Lasso as η → 0 or
//! with an annealed step. Two measurements make that visible in a run:
//! - the **check**: when the averaged distance ends above `lasso.step_check_above`, PGD runs
//!   again at η/2 for twice the steps (the same time η·steps); the ratio of the two distances
//!   gives the exponent, and the report says whether the step explains the distance and which
//!   η would reach the threshold;
//! - the **ladder** (`lasso.lr_ladder`): PGD at each listed η for the same time, the exponent
//!   fitted over all of them, and one run annealed to 0 (cosine), the theory's limit.

use crate::experiments::pair::{RunSpec, Trace};
use crate::report::plot::{write_line_plot, LinePlot, Scale, Series};
use crate::run::RunDir;
use anyhow::Result;
use noisegd::diagnostics::fit::exponent;
use noisegd::noise::NoiseConfig;
use noisegd::optim::{LrScheduleKind, OptimConfig, ScheduleUnit};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// Below this exponent, halving the step "did not shrink" the distance (a factor < 2^0.2 ≈ 1.15).
const EXPLAINS_ABOVE: f64 = 0.2;

/// One PGD run of the measurements and how far it ended from the Lasso solution.
#[derive(Clone, Debug)]
pub struct StepRun {
    /// The (initial) step size.
    pub lr: f64,
    /// Steps.
    pub steps: u64,
    /// Whether the step was annealed to 0 (cosine).
    pub annealed: bool,
    /// Distance of the averaged iterate.
    pub distance: f64,
    /// Distance of the last iterate.
    pub last_distance: f64,
}

/// What the measurements found.
#[derive(Default)]
pub struct StepSize {
    /// The configured run and the run at half its step (when the check ran).
    pub check: Option<[StepRun; 2]>,
    /// The ladder's constant-step runs, in the order listed.
    pub ladder: Vec<StepRun>,
    /// The annealed run of the ladder.
    pub annealed: Option<StepRun>,
}

/// Trains one more PGD run and returns its trace.
pub type Train<'a> = dyn FnMut(RunSpec) -> Result<Trace> + 'a;

/// Runs the check (when `distance(pgd)` is above the threshold) and the ladder.
/// `distance` gauges a predictor against the Lasso solution (NaN when there is none).
pub fn measure(
    l: &crate::config::LassoConfig,
    noise: &NoiseConfig,
    optim: &OptimConfig,
    steps: u64,
    pgd: &Trace,
    distance: &dyn Fn(&[f64]) -> f64,
    train: &mut Train,
) -> Result<StepSize> {
    let mut out = StepSize::default();
    let base = StepRun {
        lr: optim.lr,
        steps,
        annealed: false,
        distance: distance(&pgd.average),
        last_distance: distance(&pgd.last),
    };
    let mut run = |lr: f64, steps: u64, annealed: bool| -> Result<StepRun> {
        let method = if annealed {
            "pgd_annealed".to_string()
        } else {
            format!("pgd_lr={lr}")
        };
        let optim = if annealed {
            // Cosine from lr to 0 over the run, stepped every step.
            OptimConfig {
                lr,
                schedule: LrScheduleKind::Cosine,
                schedule_unit: ScheduleUnit::Step,
                t_max: None,
                eta_min: 0.0,
                ..optim.clone()
            }
        } else {
            OptimConfig {
                lr,
                ..optim.clone()
            }
        };
        let trace = train(RunSpec {
            method,
            noise: noise.clone(),
            optim: &optim,
            steps,
        })?;
        Ok(StepRun {
            lr,
            steps,
            annealed,
            distance: distance(&trace.average),
            last_distance: distance(&trace.last),
        })
    };
    // The check only means something for a constant step: a schedule already anneals.
    let constant = optim.schedule == LrScheduleKind::Constant;
    let time = optim.lr * steps as f64;
    for &lr in &l.lr_ladder {
        let ladder_steps = (time / lr).ceil() as u64;
        out.ladder
            .push(if lr == optim.lr && ladder_steps == steps && constant {
                base.clone()
            } else {
                run(lr, ladder_steps, false)?
            });
    }
    if !l.lr_ladder.is_empty() && l.ladder_annealed {
        let longest = out.ladder.iter().map(|r| r.steps).max().unwrap_or(steps);
        out.annealed = Some(run(optim.lr, longest, true)?);
    }
    if l.step_check && constant && base.distance > l.step_check_above {
        // The ladder may hold the run already.
        let (lr, steps) = (optim.lr / 2.0, 2 * steps);
        let done = out
            .ladder
            .iter()
            .find(|r| r.lr == lr && r.steps == steps)
            .cloned();
        let half = match done {
            Some(r) => r,
            None => run(lr, steps, false)?,
        };
        out.check = Some([base, half]);
    }
    Ok(out)
}

impl StepSize {
    /// The exponent α of `distance ∝ lr^α` over the ladder (NaN without one).
    pub fn ladder_exponent(&self) -> f64 {
        let (lrs, ds): (Vec<f64>, Vec<f64>) =
            self.ladder.iter().map(|r| (r.lr, r.distance)).unzip();
        if lrs.len() < 2 {
            f64::NAN
        } else {
            exponent(&lrs, &ds)
        }
    }

    /// The check's exponent, `log₂(d(η)/d(η/2))` (NaN without a check).
    pub fn check_exponent(&self) -> f64 {
        self.check
            .as_ref()
            .map_or(f64::NAN, |[a, b]| (a.distance / b.distance).log2())
    }

    /// The step size at which a power law through `from` with exponent `alpha` reaches
    /// `target`.
    fn lr_for(from: &StepRun, alpha: f64, target: f64) -> f64 {
        from.lr * (target / from.distance).powf(1.0 / alpha)
    }

    /// The figures for `summary.json` (`Null` when nothing was measured).
    pub fn summary(&self, target: f64) -> Value {
        let run = |r: &StepRun| {
            json!({"lr": r.lr, "steps": r.steps, "annealed": r.annealed,
                   "distance": r.distance, "last_iterate_distance": r.last_distance})
        };
        let mut out = serde_json::Map::new();
        if let Some([base, half]) = &self.check {
            let alpha = self.check_exponent();
            let explains = alpha > EXPLAINS_ABOVE;
            out.insert(
                "check".into(),
                json!({
                    "runs": [run(base), run(half)],
                    "exponent": alpha,
                    "step_size_explains": explains,
                    "threshold": target,
                    "lr_for_threshold": if explains { Self::lr_for(half, alpha, target) } else { f64::NAN },
                }),
            );
        }
        if !self.ladder.is_empty() {
            out.insert(
                "ladder".into(),
                json!({
                    "runs": self.ladder.iter().map(run).collect::<Vec<_>>(),
                    "exponent": self.ladder_exponent(),
                    "annealed": self.annealed.as_ref().map(run),
                }),
            );
        }
        if out.is_empty() {
            Value::Null
        } else {
            Value::Object(out)
        }
    }

    /// The report's paragraph on the step size; `what` names the distance (relative or
    /// absolute).
    pub fn report(&self, lr: f64, distance: f64, target: f64, what: &str) -> String {
        let mut r = String::new();
        let _ = write!(
            r,
            "**Step size.** At a constant step PGD's iterates keep fluctuating around the Lasso solution; its averaged iterate reaches the solution only as the step goes to 0 (or with a step annealed to 0), with a distance that shrinks like a power of the step, not with more steps. "
        );
        match &self.check {
            Some([base, half]) => {
                let alpha = self.check_exponent();
                let _ = write!(
                    r,
                    "This run's averaged iterate ended at a {what} of {:.3} (above the check's {target}), so PGD was run again at half the step (lr {}, {} steps, the same lr·steps): {:.3}. ",
                    base.distance, half.lr, half.steps, half.distance
                );
                if alpha > EXPLAINS_ABOVE {
                    let _ = write!(
                        r,
                        "The step size explains the distance: it shrinks like lr^{alpha:.2}. To come within {target}, lower `optim.lr` to about {:.2e} and raise `train.steps` to keep lr·steps = {} (or run `lasso.lr_ladder` to measure the law on these data).",
                        Self::lr_for(half, alpha, target),
                        lr * base.steps as f64
                    );
                } else {
                    let _ = write!(
                        r,
                        "Halving the step did not shrink it (exponent {alpha:.2}), so the step size does not explain the distance: the run is likely too short for PGD to converge (raise `train.steps` at the same lr), or the iterates are stuck (compare the objective plot with the explicit optimum)."
                    );
                }
            }
            None if distance > target => {
                let _ = write!(
                    r,
                    "This run's averaged iterate ended at a {what} of {distance:.3}; the half-step check did not run (`lasso.step_check` off, or a learning-rate schedule already anneals the step)."
                );
            }
            None => {
                let _ = write!(
                    r,
                    "This run's averaged iterate ended at a {what} of {distance:.3}, within the check's {target}."
                );
            }
        }
        r.push_str("\n\n");
        if !self.ladder.is_empty() {
            let _ = writeln!(
                r,
                "Step-size ladder (each run for the same lr·steps; distance of the averaged iterate, and of the last one):\n\n| lr | steps | averaged | last iterate |\n|---:|---:|---:|---:|"
            );
            for s in self.ladder.iter().chain(&self.annealed) {
                let lr = if s.annealed {
                    format!("{} → 0 (cosine)", s.lr)
                } else {
                    s.lr.to_string()
                };
                let _ = writeln!(
                    r,
                    "| {lr} | {} | {:.4} | {:.4} |",
                    s.steps, s.distance, s.last_distance
                );
            }
            let _ = writeln!(
                r,
                "\nFitted: the {what} ∝ lr^{:.2} (`step_size.svg`).\n",
                self.ladder_exponent()
            );
        }
        r
    }

    /// `step_size.svg`: distance against the step size, with the fit and the annealed run.
    pub fn plot(&self, dir: &RunDir, what: &str) -> Result<()> {
        let mut runs: Vec<&StepRun> = self.ladder.iter().collect();
        if runs.is_empty() {
            runs.extend(self.check.iter().flatten());
        }
        if runs.len() < 2 {
            return Ok(());
        }
        runs.sort_by(|a, b| a.lr.total_cmp(&b.lr));
        let points = |f: fn(&StepRun) -> f64| runs.iter().map(|r| (r.lr, f(r))).collect();
        let mut series = vec![
            Series::new("constant step, averaged iterate", points(|r| r.distance)),
            Series::new("constant step, last iterate", points(|r| r.last_distance)),
        ];
        let (lo, hi) = (runs[0], runs[runs.len() - 1]);
        let alpha = if self.ladder.len() >= 2 {
            self.ladder_exponent()
        } else {
            self.check_exponent()
        };
        if alpha.is_finite() {
            // Through the geometric mean of the points, with the fitted slope.
            let k = runs.len() as f64;
            let (mx, my) = runs.iter().fold((0.0, 0.0), |(a, b), r| {
                (a + r.lr.ln() / k, b + r.distance.ln() / k)
            });
            let at = |lr: f64| (my + alpha * (lr.ln() - mx)).exp();
            series.push(Series::new(
                format!("fit ∝ lr^{alpha:.2}"),
                vec![(lo.lr, at(lo.lr)), (hi.lr, at(hi.lr))],
            ));
        }
        if let Some(a) = &self.annealed {
            series.push(Series::new(
                format!("annealed to 0 from lr {} (last iterate)", a.lr),
                vec![(lo.lr, a.last_distance), (hi.lr, a.last_distance)],
            ));
        }
        write_line_plot(
            &LinePlot {
                title: "PGD's distance to the Lasso solution against the step size".into(),
                x_label: "lr (same lr·steps for every run)".into(),
                y_label: what.into(),
                x_scale: Scale::Log10,
                y_scale: Scale::Log10,
                series,
            },
            &dir.file("step_size"),
        )?;
        Ok(())
    }
}
