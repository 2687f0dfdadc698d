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
    init_linear, mc_smoothed_loss, DeepLinear, McEstimate, Policy, ReluNet,
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

pub fn heatmaps(setup: &Setup, metrics: &mut MetricsCsv, bar: &ProgressBar) -> Result<Heatmaps> {
    let c = setup.c;
    let mut all_map = vec![vec![0.0; c.widths.len()]; c.sigmas.len()];
    let mut layer_map = all_map.clone();
    let mut worst_z: f64 = 0.0;
    for (i, &sigma) in c.sigmas.iter().enumerate() {
        let (s_all, s_layer, st) = stds(sigma, 2);
        for (j, &d1) in c.widths.iter().enumerate() {
            let model = setup.linear(d1);
            for (policy, map, closed, std, name) in [
                (
                    Policy::All,
                    &mut all_map,
                    model.smoothed_all(st),
                    s_all,
                    "all",
                ),
                (
                    Policy::Layer,
                    &mut layer_map,
                    model.smoothed_layer(st),
                    s_layer,
                    "layer",
                ),
            ] {
                let est = mc_smoothed_loss(&model, policy, st, c.samples, setup.mc_seed, true);
                map[i][j] = est.mean;
                worst_z = worst_z.max(est.z(closed));
                write_row(
                    metrics,
                    Row {
                        part: "heatmap",
                        model: "linear",
                        policy: name,
                        width: d1,
                        sigma,
                        per_weight_std: std,
                        theory_sigma: st,
                        est,
                        closed,
                        group: "",
                    },
                )?;
            }
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
    })
}

pub fn slopes(setup: &Setup, metrics: &mut MetricsCsv, bar: &ProgressBar) -> Result<Slopes> {
    let c = setup.c;
    let (s_all, s_layer, st) = stds(c.slope_sigma, 2);
    let mut lin = Vec::new(); // (all, layer, closed all, closed layer)
    let mut relu = Vec::new(); // (all, layer, second-order layer)
    for &d1 in &c.slope_widths {
        let model = setup.linear(d1);
        let a = mc_smoothed_loss(
            &model,
            Policy::All,
            st,
            c.slope_samples,
            setup.mc_seed,
            true,
        );
        let l = mc_smoothed_loss(
            &model,
            Policy::Layer,
            st,
            c.slope_samples,
            setup.mc_seed,
            true,
        );
        let (ca, cl) = (model.smoothed_all(st), model.smoothed_layer(st));
        for (name, est, closed, std) in [("all", a, ca, s_all), ("layer", l, cl, s_layer)] {
            write_row(
                metrics,
                Row {
                    part: "slope",
                    model: "linear",
                    policy: name,
                    width: d1,
                    sigma: c.slope_sigma,
                    per_weight_std: std,
                    theory_sigma: st,
                    est,
                    closed,
                    group: "",
                },
            )?;
        }
        lin.push((a, l, ca, cl));
        bar.inc(1);
        if c.relu_samples >= 2 {
            let net = ReluNet {
                x: setup.x.clone(),
                y: setup.y.clone(),
                w1: model.w1.clone(),
                w2: model.w2.clone(),
            };
            let ra = mc_smoothed_loss(&net, Policy::All, st, c.relu_samples, setup.mc_seed, true);
            let rl = mc_smoothed_loss(&net, Policy::Layer, st, c.relu_samples, setup.mc_seed, true);
            let approx = noisegd::theory::smoothed::NoisyModel::loss(&net)
                + net.explicit_regularizer_layer(st);
            for (name, est, closed, std) in
                [("all", ra, f64::NAN, s_all), ("layer", rl, approx, s_layer)]
            {
                write_row(
                    metrics,
                    Row {
                        part: "slope",
                        model: "relu",
                        policy: name,
                        width: d1,
                        sigma: c.slope_sigma,
                        per_weight_std: std,
                        theory_sigma: st,
                        est,
                        closed,
                        group: "",
                    },
                )?;
            }
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
        let a = mc_smoothed_loss(&net, Policy::All, dst, c.deep_samples, setup.mc_seed, true);
        let l = mc_smoothed_loss(
            &net,
            Policy::Layer,
            dst,
            c.deep_samples,
            setup.mc_seed,
            true,
        );
        let (ca, cl) = (net.smoothed_all(dst), net.smoothed_layer(dst));
        for (name, est, closed, std) in [("all", a, ca, ds_all), ("layer", l, cl, ds_layer)] {
            write_row(
                metrics,
                Row {
                    part: "deep",
                    model: "deep_linear_m3",
                    policy: name,
                    width: d,
                    sigma: c.deep_sigma,
                    per_weight_std: std,
                    theory_sigma: dst,
                    est,
                    closed,
                    group: "",
                },
            )?;
        }
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
        let device = config.device.training_device();
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
