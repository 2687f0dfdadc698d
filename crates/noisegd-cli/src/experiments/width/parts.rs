//! The four measurements of the width experiment, each writing its rows of `metrics.csv`:
//! the Fig. 1 heat maps, the slope of R_σ − R̃_σ against d₁ (linear and ReLU), the deep linear
//! net, and the perturbed-gradient variance of the burn model.

use super::super::common::row_major_f32;
use super::{stds, write_row, DeepPoint, Row, Setup};
use crate::config::RunConfig;
use anyhow::Result;
use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use indicatif::ProgressBar;
use nalgebra::DMatrix;
use noisegd::diagnostics::perturbed_gradient_variance;
use noisegd::models::factorization;
use noisegd::noise::NoiseConfig;
use noisegd::theory::smoothed::{
    init_linear, mc_smoothed_loss, DeepLinear, McEstimate, NoisyModel, Policy, ReluNet,
};
use noisegd::train::MetricsCsv;

/// The Monte-Carlo smoothed losses of the width × σ grid (rows: σ, columns: width).
pub struct Heatmaps {
    /// R_σ (all weights).
    pub all: Vec<Vec<f64>>,
    /// R̃_σ (one layer).
    pub layer: Vec<Vec<f64>>,
    /// The positive range of both, for one colour scale.
    pub range: (f64, f64),
    /// Largest |MC − closed form| / standard error over the grid.
    pub worst_z: f64,
    /// The closed forms' ratio R_σ / R̃_σ per cell.
    pub closed_ratio: Vec<Vec<f64>>,
}

/// Per slope width: linear (MC all, MC layer, closed all, closed layer) and, when measured,
/// ReLU (MC all, MC layer, second-order layer).
pub struct Slopes {
    /// The linear net.
    pub lin: Vec<(McEstimate, McEstimate, f64, f64)>,
    /// The ReLU net (empty when `relu_samples` is 0).
    pub relu: Vec<(McEstimate, McEstimate, f64)>,
}

/// Per policy (all, layer), per group: the (total, per-weight) variance at each slope width.
pub struct GradVariance {
    /// `grad[policy][group][width]`.
    pub grad: Vec<Vec<Vec<(McEstimate, McEstimate)>>>,
    /// The groups' names.
    pub group_names: Vec<String>,
}

/// A model measured under both policies at one width and σ: where its rows go in `metrics.csv`.
#[derive(Clone, Copy)]
struct Cell<'a> {
    part: &'a str,
    model: &'a str,
    width: usize,
    sigma: f64,
    theory_sigma: f64,
    /// Per-weight stds of `all` and `layer`.
    stds: [f64; 2],
}

impl Cell<'_> {
    /// Monte-Carlo estimates of R_σ (`all`) and R̃_σ (`layer`) of `model` (antithetic pairs,
    /// `samples` draws from `seed`), each written as a row beside its closed form (NaN: none).
    fn measure<M: NoisyModel>(
        &self,
        metrics: &mut MetricsCsv,
        model: &M,
        samples: usize,
        seed: u64,
        closed: [f64; 2],
    ) -> Result<[McEstimate; 2]> {
        let out = [Policy::All, Policy::Layer]
            .map(|policy| mc_smoothed_loss(model, policy, self.theory_sigma, samples, seed, true));
        for (k, name) in ["all", "layer"].into_iter().enumerate() {
            write_row(
                metrics,
                Row {
                    part: self.part,
                    model: self.model,
                    policy: name,
                    width: self.width,
                    sigma: self.sigma,
                    per_weight_std: self.stds[k],
                    theory_sigma: self.theory_sigma,
                    est: out[k],
                    closed: closed[k],
                    group: "",
                },
            )?;
        }
        Ok(out)
    }
}

pub fn heatmaps(setup: &Setup, metrics: &mut MetricsCsv, bar: &ProgressBar) -> Result<Heatmaps> {
    let c = setup.c;
    let mut all_map = vec![vec![0.0; c.widths.len()]; c.sigmas.len()];
    let mut layer_map = all_map.clone();
    let mut closed_ratio = all_map.clone();
    let mut worst_z: f64 = 0.0;
    for (i, &sigma) in c.sigmas.iter().enumerate() {
        let (s_all, s_layer, st) = stds(sigma, 2);
        for (j, &d1) in c.widths.iter().enumerate() {
            let model = setup.linear(d1);
            let closed = [model.smoothed_all(st), model.smoothed_layer(st)];
            let cell = Cell {
                part: "heatmap",
                model: "linear",
                width: d1,
                sigma,
                theory_sigma: st,
                stds: [s_all, s_layer],
            };
            let [all, layer] = cell.measure(metrics, &model, c.samples, setup.mc_seed, closed)?;
            all_map[i][j] = all.mean;
            layer_map[i][j] = layer.mean;
            closed_ratio[i][j] = closed[0] / closed[1];
            worst_z = worst_z.max(all.z(closed[0])).max(layer.z(closed[1]));
            bar.inc(1);
        }
    }
    let positive = all_map
        .iter()
        .chain(&layer_map)
        .flatten()
        .copied()
        .filter(|v| *v > 0.0);
    let (lo, hi) = positive.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });

    Ok(Heatmaps {
        all: all_map,
        layer: layer_map,
        range: (lo, hi),
        worst_z,
        closed_ratio,
    })
}

pub fn slopes(setup: &Setup, metrics: &mut MetricsCsv, bar: &ProgressBar) -> Result<Slopes> {
    let c = setup.c;
    let (s_all, s_layer, st) = stds(c.slope_sigma, 2);
    let mut lin = Vec::new(); // (all, layer, closed all, closed layer)
    let mut relu = Vec::new(); // (all, layer, second-order layer)
    for &d1 in &c.slope_widths {
        let model = setup.linear(d1);
        let (ca, cl) = (model.smoothed_all(st), model.smoothed_layer(st));
        let cell = Cell {
            part: "slope",
            model: "linear",
            width: d1,
            sigma: c.slope_sigma,
            theory_sigma: st,
            stds: [s_all, s_layer],
        };
        let [a, l] = cell.measure(metrics, &model, c.slope_samples, setup.mc_seed, [ca, cl])?;
        lin.push((a, l, ca, cl));
        bar.inc(1);
        if c.relu_samples >= 2 {
            let net = ReluNet {
                x: setup.x.clone(),
                y: setup.y.clone(),
                w1: model.w1.clone(),
                w2: model.w2.clone(),
            };
            let approx = noisegd::theory::smoothed::NoisyModel::loss(&net)
                + net.explicit_regularizer_layer(st);
            let cell = Cell {
                model: "relu",
                ..cell
            };
            let [ra, rl] = cell.measure(
                metrics,
                &net,
                c.relu_samples,
                setup.mc_seed,
                [f64::NAN, approx],
            )?;
            relu.push((ra, rl, approx));
        }
    }

    Ok(Slopes { lin, relu })
}

pub fn deep(setup: &Setup, metrics: &mut MetricsCsv, bar: &ProgressBar) -> Result<Vec<DeepPoint>> {
    let c = setup.c;
    let (ds_all, ds_layer, dst) = stds(c.deep_sigma, 3);
    let mut deep: Vec<DeepPoint> = Vec::new();
    for &d in &c.deep_widths {
        let net = DeepLinear {
            x: setup.x.clone(),
            y: setup.y.clone(),
            ws: init_linear(&[c.d0, d, d, c.d2], setup.seed),
        };
        let (ca, cl) = (net.smoothed_all(dst), net.smoothed_layer(dst));
        let cell = Cell {
            part: "deep",
            model: "deep_linear_m3",
            width: d,
            sigma: c.deep_sigma,
            theory_sigma: dst,
            stds: [ds_all, ds_layer],
        };
        let [a, l] = cell.measure(metrics, &net, c.deep_samples, setup.mc_seed, [ca, cl])?;
        deep.push((d as f64, a, l, ca, cl, net.variance_explosion_term(dst)));
        bar.inc(1);
    }

    Ok(deep)
}

pub fn grad_variance(
    setup: &Setup,
    config: &RunConfig,
    metrics: &mut MetricsCsv,
    bar: &ProgressBar,
) -> Result<GradVariance> {
    let c = setup.c;
    // grad[policy][group] = per-width estimates, policy 0 = all, 1 = layer.
    let mut grad: Vec<Vec<Vec<(McEstimate, McEstimate)>>> = vec![vec![vec![]; 2]; 2];
    let mut group_names = vec![String::new(); 2];
    let (s_all, s_layer, st) = stds(c.slope_sigma, 2);
    {
        let device = config.device.training_device()?;
        let xt = Tensor::<2>::from_data(
            TensorData::new(row_major_f32(setup.x), [c.n, c.d0]),
            &device,
        );
        let yt = Tensor::<2>::from_data(
            TensorData::new(row_major_f32(setup.y), [c.n, c.d2]),
            &device,
        );
        for &d1 in &c.slope_widths {
            let model = setup.linear(d1);
            let param = |m: &DMatrix<f64>| {
                Param::from_tensor(Tensor::<2>::from_data(
                    TensorData::new(row_major_f32(m), [m.nrows(), m.ncols()]),
                    &device,
                ))
            };
            let net = factorization::TwoLayerLinear {
                w1: param(&model.w1),
                w2: param(&model.w2),
            };
            for (p, noise) in [
                NoiseConfig::all(c.slope_sigma),
                NoiseConfig::layer(c.slope_sigma),
            ]
            .iter()
            .enumerate()
            {
                let v =
                    perturbed_gradient_variance(&net, noise, c.grad_samples, setup.mc_seed, |m| {
                        m.loss(xt.clone(), yt.clone())
                    })?;
                for (g, group) in v.iter().enumerate() {
                    group_names[g] = group.group.clone();
                    grad[p][g].push((group.total, group.per_weight()));
                    write_row(
                        metrics,
                        Row {
                            part: "grad_variance",
                            model: "linear",
                            policy: ["all", "layer"][p],
                            width: d1,
                            sigma: c.slope_sigma,
                            per_weight_std: [s_all, s_layer][p],
                            theory_sigma: st,
                            est: group.total,
                            closed: f64::NAN,
                            group: &group.group,
                        },
                    )?;
                }
            }
            bar.inc(1);
        }
    }

    Ok(GradVariance { grad, group_names })
}
