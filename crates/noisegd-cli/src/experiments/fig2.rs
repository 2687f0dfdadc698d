//! `experiment = "fig2"`: the paper's Fig. 2. A one-hidden-layer linear net `Φ = W₂W₁Xᵀ`
//! (the paper's initialization, std 1/√(dᵢdᵢ₋₁)) on `n` Gaussian points with a planted target on
//! the first inputs, trained at each width by four methods with the same learning rate:
//! - `gd`: plain GD on the original loss `R = (1/2n)‖y − Φ‖²`;
//! - `all`: GD + noise on every weight, per-weight std σ/√2;
//! - `layer`: GD + noise on one random layer, std σ;
//! - `reg`: plain GD on the explicit regularized loss of Eq. (9),
//!   `R_eff = R + (σ_t²/2n)[‖W₂‖²_F‖X‖²_F + d₂‖XW₁ᵀ‖²_F]`, σ_t = σ/√2.
//!
//! Both losses are logged along training for `repeats` seeds (init and noise differ, the data
//! do not); plots show the mean over seeds with a min–max band. The reference value is the
//! minimum of R_eff over all predictors (the nuclear-norm problem of Eq. (10), solved exactly).

use super::common::row_major_f32;
use super::pair::to_f64;
use super::{progress, RunOptions};
use crate::config::RunConfig;
use crate::report::plot::{write_line_plot, LinePlot, Scale, Series};
use crate::run::RunDir;
use anyhow::{Context, Result};
use burn::tensor::{Tensor, TensorData};
use nalgebra::DMatrix;
use noisegd::data::structured::planted_regression;
use noisegd::models::factorization::TwoLayerLinear;
use noisegd::noise::NoiseConfig;
use noisegd::optim::BaseOptimizer;
use noisegd::theory::nuclear::{mu_from_noise, NuclearRegression};
use noisegd::theory::smoothed::{self, NoisyModel};
use noisegd::train::{num, Driver, FullBatch, Hooks, Method, StepDone};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const METHODS: [&str; 4] = ["gd", "all", "layer", "reg"];
const LABELS: [&str; 4] = [
    "GD",
    "GD + noise (all)",
    "GD + noise (layer)",
    "GD on the regularized loss",
];

/// The hooks of one fig2 run: `row(step, model, step loss)` records both losses and gives the
/// metrics row (also called by hand for the initialization, step 0).
struct Fig2Log<F> {
    row: F,
}

impl<F: FnMut(u64, &TwoLayerLinear, f64) -> Vec<String>> Hooks<TwoLayerLinear> for Fig2Log<F> {
    type Error = anyhow::Error;
    fn log(&mut self, at: &StepDone, model: &TwoLayerLinear) -> Result<Vec<String>> {
        Ok((self.row)(at.done, model, at.report.loss))
    }
}

/// `(step, value per repeat)` of one (width, method, loss) curve.
type Curve = BTreeMap<u64, Vec<f64>>;

pub fn run(config: &RunConfig, dir: &RunDir, options: RunOptions) -> Result<std::path::PathBuf> {
    let c = &config.fig2;
    let (x, y) = planted_regression(c.n, c.d0, 1, &c.planted, config.seed);
    let n = c.n as f64;
    let theory_sigma = NoiseConfig::all(c.sigma).theory_sigma(2);
    let (std_all, std_layer) = (
        NoiseConfig::all(c.sigma).per_weight_std(2),
        NoiseConfig::layer(c.sigma).per_weight_std(2),
    );
    let optimum = NuclearRegression {
        x: &x,
        y: &y,
        mu: mu_from_noise(&x, 1, theory_sigma),
    }
    .solve()?;
    let device = config.device.training_device()?;
    let xt = Tensor::<2>::from_data(TensorData::new(row_major_f32(&x), [c.n, c.d0]), &device);
    let yt = Tensor::<2>::from_data(TensorData::new(row_major_f32(&y), [c.n, 1]), &device);
    // Eq. (9) in burn: ‖X‖²_F is a constant, ‖XW₁ᵀ‖²_F is taken on the tensors (d₂ = 1).
    let reg_weight = theory_sigma * theory_sigma / (2.0 * n);
    let x_fro2 = x.norm_squared();
    let original = |m: &TwoLayerLinear| m.loss(xt.clone(), yt.clone());
    let regularized = |m: &TwoLayerLinear| {
        let w2 = m.w2.val();
        let h = xt.clone().matmul(m.w1.val().transpose());
        original(m)
            + ((w2.clone() * w2).sum().mul_scalar(x_fro2) + (h.clone() * h).sum())
                .mul_scalar(reg_weight)
    };
    let evaluate = |m: &TwoLayerLinear| {
        let mat = |t: Tensor<2>| {
            let [r, k] = t.dims();
            DMatrix::from_row_slice(r, k, &to_f64(t))
        };
        let model = smoothed::TwoLayerLinear {
            x: x.clone(),
            y: y.clone(),
            w1: mat(m.w1.val()),
            w2: mat(m.w2.val()),
        };
        let r = model.loss();
        (r, r + model.explicit_regularizer(theory_sigma))
    };

    let mut metrics = dir.metrics(&[
        "width",
        "method",
        "repeat",
        "seed",
        "step",
        "original_loss",
        "regularized_loss",
        "step_loss",
        "per_weight_std",
    ])?;
    let steps = config.train.steps;
    let runs = (c.widths.len() * METHODS.len() * c.repeats) as u64;
    let bar = progress(runs * steps, "fig2", options);
    let tail_from = steps - ((c.tail * steps as f64).ceil() as u64).clamp(1, steps);
    // curves[(width, method)] = (original, regularized)
    let mut curves: BTreeMap<(usize, usize), (Curve, Curve)> = BTreeMap::new();
    let mut done_runs = 0u64;
    for &width in &c.widths {
        for (mi, method) in METHODS.iter().enumerate() {
            let noise = match *method {
                "all" => NoiseConfig::all(c.sigma),
                "layer" => NoiseConfig::layer(c.sigma),
                _ => NoiseConfig::default(),
            };
            let per_weight_std = noise.per_weight_std(2);
            let entry = curves.entry((width, mi)).or_default();
            for repeat in 0..c.repeats {
                let seed = config.seed.wrapping_add(repeat as u64);
                let init = TwoLayerLinear::init(c.d0, width, 1, 1.0, seed, &device);
                let mut hooks = Fig2Log {
                    row: |step: u64, m: &TwoLayerLinear, loss: f64| -> Vec<String> {
                        let (r, reg) = evaluate(m);
                        entry.0.entry(step).or_default().push(r);
                        entry.1.entry(step).or_default().push(reg);
                        vec![
                            width.to_string(),
                            method.to_string(),
                            repeat.to_string(),
                            seed.to_string(),
                            step.to_string(),
                            num(r),
                            num(reg),
                            num(loss),
                            num(per_weight_std),
                        ]
                    },
                };
                metrics.row(&(hooks.row)(0, &init, f64::NAN))?;
                let loss_fn = if *method == "reg" {
                    &regularized as &(dyn Fn(&TwoLayerLinear) -> Tensor<1> + Sync)
                } else {
                    &original
                };
                Driver::new(steps, config.train.log_every)
                    .on_progress(|done| bar.set_position(done_runs * steps + done))
                    .run(
                        init,
                        Method {
                            noise: noise.clone(),
                            optimizer: BaseOptimizer::new(&config.optim, steps)?,
                            seed,
                        },
                        &mut FullBatch(()),
                        |m: &TwoLayerLinear, _: &()| loss_fn(m),
                        &mut hooks,
                        &mut metrics,
                    )?
                    .finished()
                    .with_context(|| format!("the {method} run diverged"))?;
                done_runs += 1;
            }
        }
    }
    bar.finish_and_clear();

    // ---- Summary: final values (mean over seeds of the tail average) ----------------------
    let tail_mean = |curve: &Curve| -> Vec<f64> {
        let tail: Vec<&Vec<f64>> = curve.range(tail_from.max(1)..).map(|(_, v)| v).collect();
        (0..c.repeats)
            .map(|r| tail.iter().map(|v| v[r]).sum::<f64>() / tail.len() as f64)
            .collect()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut finals = Map::new();
    let mut table: BTreeMap<(usize, usize), (f64, f64)> = BTreeMap::new();
    for (&(width, mi), (orig, reg)) in &curves {
        let (o, g) = (tail_mean(orig), tail_mean(reg));
        let last = |curve: &Curve| curve.values().next_back().cloned().unwrap_or_default();
        table.insert((width, mi), (mean(&o), mean(&g)));
        finals
            .entry(width.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object")
            .insert(
                METHODS[mi].into(),
                json!({
                    "original": mean(&o),
                    "regularized": mean(&g),
                    "original_per_seed": o,
                    "regularized_per_seed": g,
                    "original_last_iterate": last(orig),
                    "regularized_last_iterate": last(reg),
                    "regularized_at_start": reg.get(&0).map(|v| mean(v)),
                }),
            );
    }
    let mut ratios = Map::new();
    for &width in &c.widths {
        let reg = table[&(width, 3)].1;
        ratios.insert(
            width.to_string(),
            json!({
                "gd": table[&(width, 0)].1 / reg,
                "all": table[&(width, 1)].1 / reg,
                "layer": table[&(width, 2)].1 / reg,
            }),
        );
    }
    let summary = json!({
        "experiment": "fig2",
        "n": c.n, "d0": c.d0, "planted": c.planted, "widths": c.widths,
        "sigma": c.sigma,
        "per_weight_std_all": std_all,
        "per_weight_std_layer": std_layer,
        "theory_sigma": theory_sigma,
        "lr": config.optim.lr,
        "steps": steps,
        "repeats": c.repeats,
        "tail": c.tail,
        "final_is": "mean over seeds of the average over the logged steps in the last `tail` of the run",
        "explicit_optimum": optimum.primal,
        "final": finals,
        "regularized_ratio_to_reg": ratios,
    });
    dir.write_json("summary.json", &summary)?;

    // ---- Plots: mean over seeds, min–max band ---------------------------------------------
    let series = |curve: &Curve, label: &str| {
        let pts: Vec<(f64, f64)> = curve
            .iter()
            .filter(|(s, _)| **s > 0)
            .map(|(s, v)| (*s as f64, mean(v)))
            .collect();
        let band = curve
            .iter()
            .filter(|(s, _)| **s > 0)
            .map(|(s, v)| {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (*s as f64, lo, hi)
            })
            .collect();
        Series {
            label: label.into(),
            points: pts,
            band: Some(band),
        }
    };
    for &width in &c.widths {
        for (which, name, y_label) in [
            (0, "original", "original loss (1/2n)‖y − Φ‖² (loss units)"),
            (
                1,
                "regularized",
                "regularized loss R_eff of Eq. (9) (loss units)",
            ),
        ] {
            let mut s: Vec<Series> = (0..METHODS.len())
                .map(|mi| {
                    let (o, r) = &curves[&(width, mi)];
                    series(if which == 0 { o } else { r }, LABELS[mi])
                })
                .collect();
            if which == 1 {
                s.push(Series::new(
                    "min R_eff (Eq. 10, exact)",
                    vec![(1.0, optimum.primal), (steps as f64, optimum.primal)],
                ));
            }
            write_line_plot(
                &LinePlot {
                    title: format!(
                        "Width {width}: {name} loss (σ = {}, all: s = {std_all:.3}, layer: {std_layer:.3})",
                        c.sigma
                    ),
                    x_label: "iteration".into(),
                    y_label: y_label.into(),
                    x_scale: Scale::Log10,
                    y_scale: Scale::Log10,
                    series: s,
                },
                &dir.file(&format!("fig2_width{width}_{name}")),
            )?;
        }
    }
    dir.write_text("report.md", &report(config, &summary, &table))?;
    Ok(dir.file("report.md"))
}

fn report(config: &RunConfig, s: &Value, table: &BTreeMap<(usize, usize), (f64, f64)>) -> String {
    let c = &config.fig2;
    let f = |v: &Value| v.as_f64().map_or("n/a".into(), |x| format!("{x:.4}"));
    let mut r = String::new();
    let _ = writeln!(r, "# Fig. 2: noise injection minimizes the regularized loss, unless `all` meets a wide layer\n");
    let _ = writeln!(r, "**Data.** n = {} points from N(0, I) in R^{}, target y = Xβ* with β* = {:?} on the first coordinates (no label noise), data seed {}.\n", c.n, c.d0, c.planted, config.seed);
    let _ = writeln!(r, "**Training.** One-hidden-layer linear net Φ = W₂W₁Xᵀ at widths {:?}, the paper's initialization, {} full-batch steps of `{}` with lr {} for every method, {} seeds per (width, method) (seed {}, {}, …: init and noise differ). σ = {} (project convention: `all` per-weight std {}, `layer` std {} on one random layer; σ_t = {}). The paper does not state σ, β* or the iteration count: these are our choices.\n",
        c.widths, config.train.steps, crate::config::name(&config.optim.name), config.optim.lr, c.repeats, config.seed, config.seed + 1, c.sigma, f(&s["per_weight_std_all"]), f(&s["per_weight_std_layer"]), f(&s["theory_sigma"]));
    let _ = writeln!(r, "**Final values**: mean over seeds of the average over the logged steps in the last {:.0} % of the run. Minimum of R_eff over all predictors (Eq. 10, exact): {}.\n", 100.0 * c.tail, f(&s["explicit_optimum"]));
    let _ = writeln!(r, "| width | method | original loss | regularized loss | ÷ GD on reg. loss |\n|---|---|---|---|---|");
    for &width in &c.widths {
        let reg = table[&(width, 3)].1;
        for (mi, label) in LABELS.iter().enumerate() {
            let (o, g) = table[&(width, mi)];
            let _ = writeln!(
                r,
                "| {width} | {label} | {o:.3e} | {g:.4e} | {:.3} |",
                g / reg
            );
        }
    }
    let _ = writeln!(r, "\nPlots (mean over seeds, min–max band): `fig2_width<W>_original.png`, `fig2_width<W>_regularized.png`. Curves per seed: `metrics.csv`.");
    r
}
