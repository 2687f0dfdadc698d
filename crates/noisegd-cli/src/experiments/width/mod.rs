//! `experiment = "width"`: the variance explosion of `all` noise with the hidden width and the
//! layer-wise cure (paper §3.1–3.3, §4, Fig. 1).
//!
//! For the one-hidden-layer linear net `Φ = W₂W₁Xᵀ` at the paper's initialization (entries with
//! std 1/√(dᵢdᵢ₋₁)), with s = σ/√2 the per-weight std of `all` (the project's σ, M = 2 groups):
//! ```text
//! R_σ − R̃_σ = (s⁴/2n)·d₁·d₂·‖X‖²_F      (exact; R̃_σ: `layer`, std σ = √2·s on one random layer)
//! ```
//! The experiment estimates R_σ and R̃_σ by Monte Carlo (antithetic pairs ±ε, the same noise seed
//! in every cell) over a width × σ grid (the two heat maps of Fig. 1) and over `slope_widths`,
//! fits the slope of R_σ − R̃_σ against d₁ and compares it with the closed form; it does the same
//! for the ReLU net (no closed form; the layer-wise second-order approximation of App. D.2
//! beside it) and for the deep linear net `[d₀, d, d, d₂]` (M = 3, σ_t = σ/√3), whose top term
//! σ_t⁶·d²·d₂‖X‖²_F/(2n) grows as d². Finally the library's perturbed-gradient variance
//! diagnostic (`noisegd::diagnostics`) on the burn model at the same weights, against width.

use super::{progress, RunOptions};
use crate::config::{name, RunConfig, WidthConfig};
use crate::run::RunDir;
use anyhow::Result;
use nalgebra::DMatrix;
use noisegd::data::structured::planted_regression;
use noisegd::diagnostics::fit::{exponent, fit_line, rel_change};
use noisegd::noise::NoiseConfig;
use noisegd::theory::smoothed::{init_linear, McEstimate, TwoLayerLinear};
use noisegd::train::{num, MetricsCsv};
use parts::{GradVariance, Heatmaps, Slopes};
use serde_json::{json, Value};

const COLUMNS: [&str; 12] = [
    "part",
    "model",
    "policy",
    "width",
    "sigma",
    "per_weight_std",
    "theory_sigma",
    "mc_mean",
    "mc_std_err",
    "samples",
    "closed_form",
    "group",
];

mod parts;
mod report;

/// The data and seeds every part measures with.
struct Setup<'a> {
    c: &'a WidthConfig,
    x: &'a DMatrix<f64>,
    y: &'a DMatrix<f64>,
    /// Seeds the initialization of every width.
    seed: u64,
    /// Seeds the Monte-Carlo noise (the same in every cell).
    mc_seed: u64,
}

impl Setup<'_> {
    /// The one-hidden-layer linear net of width `d1` at the paper's initialization.
    fn linear(&self, d1: usize) -> TwoLayerLinear {
        let ws = init_linear(&[self.c.d0, d1, self.c.d2], self.seed);
        TwoLayerLinear {
            x: self.x.clone(),
            y: self.y.clone(),
            w1: ws[0].clone(),
            w2: ws[1].clone(),
        }
    }
}

struct Row<'a> {
    part: &'a str,
    model: &'a str,
    policy: &'a str,
    width: usize,
    sigma: f64,
    per_weight_std: f64,
    theory_sigma: f64,
    est: McEstimate,
    closed: f64,
    group: &'a str,
}

fn write_row(m: &mut MetricsCsv, r: Row) -> Result<()> {
    m.row(&[
        r.part.into(),
        r.model.into(),
        r.policy.into(),
        r.width.to_string(),
        num(r.sigma),
        num(r.per_weight_std),
        num(r.theory_sigma),
        num(r.est.mean),
        num(r.est.std_err),
        r.est.samples.to_string(),
        num(r.closed),
        r.group.into(),
    ])?;
    Ok(())
}

/// The stds a policy applies with M groups at the project's σ, and the theory's σ_t.
fn stds(sigma: f64, m: usize) -> (f64, f64, f64) {
    (
        NoiseConfig::all(sigma).per_weight_std(m),
        NoiseConfig::layer(sigma).per_weight_std(m),
        NoiseConfig::all(sigma).theory_sigma(m),
    )
}

/// R_σ / R̃_σ over the heat-map cells whose σ_t is at least `from` (the paper reads ≥ 10³ at
/// σ_t ≥ 0.7 off Fig. 1's colour scales): the smallest and largest ratio, Monte Carlo and closed
/// form, and where the smallest is. `Null` when no σ of the grid reaches `from`.
fn ratio_above(heat: &Heatmaps, c: &WidthConfig, from: f64) -> Value {
    let mut cells = vec![];
    for (i, &sigma) in c.sigmas.iter().enumerate() {
        let st = stds(sigma, 2).2;
        if st < from - 1e-12 {
            continue;
        }
        for (j, &d1) in c.widths.iter().enumerate() {
            cells.push((
                heat.all[i][j] / heat.layer[i][j],
                heat.closed_ratio[i][j],
                st,
                d1,
            ));
        }
    }
    let Some(min) = cells.iter().min_by(|a, b| a.0.total_cmp(&b.0)) else {
        return Value::Null;
    };
    let max = cells
        .iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("non-empty");
    let closed = cells.iter().map(|c| c.1);
    json!({
        "from_theory_sigma": from,
        "cells": cells.len(),
        "min_mc": min.0, "min_at_theory_sigma": min.2, "min_at_width": min.3,
        "max_mc": max.0, "max_at_theory_sigma": max.2, "max_at_width": max.3,
        "min_closed_form": closed.clone().fold(f64::INFINITY, f64::min),
        "max_closed_form": closed.fold(0.0, f64::max),
        "paper": "≥ 1e3 (Fig. 1: all-weights ≥ 1e4 at σ ≥ 0.7, layer-wise ≤ ~1e1, read off the colour scales)",
    })
}

/// One width of the deep net: (d, MC all, MC layer, closed all, closed layer, top term).
type DeepPoint = (f64, McEstimate, McEstimate, f64, f64, f64);

/// Where the seeds of the parts go: the init of width d₁ is `init_linear(dims, seed)`, the
/// Monte-Carlo noise of every cell uses `seed + MC_OFFSET` (the same for all cells).
const MC_OFFSET: u64 = 1;

/// The paper's claim about the Fig. 1 colour scales holds from this σ_t on.
const PAPER_RATIO_SIGMA: f64 = 0.7;

pub fn run(config: &RunConfig, dir: &RunDir, options: RunOptions) -> Result<std::path::PathBuf> {
    // Everything below computes in the project's σ; outputs state both conventions.
    let c = &config.width.in_project_sigma();
    let (x, y) = planted_regression(c.n, c.d0, c.d2, &c.planted, config.seed);
    let n = c.n as f64;
    let x_fro2 = x.norm_squared();
    let mut metrics = dir.metrics(&COLUMNS)?;
    let cells = c.widths.len() * c.sigmas.len();
    let total = (cells + 2 * c.slope_widths.len() + c.deep_widths.len()) as u64;
    let bar = progress(total, "width", options);
    let setup = Setup {
        c,
        x: &x,
        y: &y,
        seed: config.seed,
        mc_seed: config.seed.wrapping_add(MC_OFFSET),
    };
    let heat = parts::heatmaps(&setup, &mut metrics, &bar)?;
    report::heatmaps(dir, c, &heat)?;
    let Heatmaps {
        all: all_map,
        layer: layer_map,
        range: (lo, hi),
        worst_z,
        ..
    } = &heat;
    let Slopes { lin, relu } = parts::slopes(&setup, &mut metrics, &bar)?;
    let (s_all, s_layer, st) = stds(c.slope_sigma, 2);
    let widths: Vec<f64> = c.slope_widths.iter().map(|d| *d as f64).collect();
    let slope_closed = st.powi(4) * c.d2 as f64 * x_fro2 / (2.0 * n);
    let diff: Vec<f64> = lin.iter().map(|(a, l, _, _)| a.mean - l.mean).collect();
    let diff_se: Vec<f64> = lin
        .iter()
        .map(|(a, l, _, _)| a.std_err.hypot(l.std_err))
        .collect();
    let fit = fit_line(&widths, &diff);
    let layer_mc: Vec<f64> = lin.iter().map(|(_, l, _, _)| l.mean).collect();
    let layer_closed: Vec<f64> = lin.iter().map(|(_, _, _, cl)| *cl).collect();
    let relu_fit = (!relu.is_empty()).then(|| {
        let d: Vec<f64> = relu.iter().map(|(a, l, _)| a.mean - l.mean).collect();
        (fit_line(&widths, &d), d)
    });

    let deep = parts::deep(&setup, &mut metrics, &bar)?;
    let (ds_all, ds_layer, dst) = stds(c.deep_sigma, 3);
    let grad = if c.grad_samples >= 2 {
        Some(parts::grad_variance(&setup, config, &mut metrics, &bar)?)
    } else {
        None
    };
    bar.finish_and_clear();

    // ---- Summary ----------------------------------------------------------------------
    let deep_d: Vec<f64> = deep.iter().map(|t| t.0).collect();
    let deep_diff_mc: Vec<f64> = deep.iter().map(|t| t.1.mean - t.2.mean).collect();
    let deep_diff_cf: Vec<f64> = deep.iter().map(|t| t.3 - t.4).collect();
    let mut summary = json!({
        "experiment": "width",
        "n": c.n, "d0": c.d0, "d2": c.d2, "planted": c.planted,
        "x_fro2": x_fro2,
        "sigma_convention": "project: `all` perturbs every weight with std σ/√M, `layer` one random group with std σ; theory σ_t = σ/√M",
        "sigma_convention_of_config": name(&config.width.sigma_convention),
        "heatmap": {
            "widths": c.widths, "sigmas": c.sigmas, "samples": c.samples,
            "theory_sigmas": c.sigmas.iter().map(|s| stds(*s, 2).2).collect::<Vec<_>>(),
            "per_weight_std_all": c.sigmas.iter().map(|s| stds(*s, 2).0).collect::<Vec<_>>(),
            "per_weight_std_layer": c.sigmas.iter().map(|s| stds(*s, 2).1).collect::<Vec<_>>(),
            "all": all_map, "layer": layer_map,
            "color_range": [lo, hi],
            "max_z_vs_closed_form": worst_z,
            "all_over_layer": ratio_above(&heat, c, PAPER_RATIO_SIGMA),
        },
        "sigma": c.slope_sigma,
        "per_weight_std_all": s_all,
        "per_weight_std_layer": s_layer,
        "theory_sigma": st,
        "slope_widths": c.slope_widths,
        "slope_samples": c.slope_samples,
        "slope_fit": fit.slope,
        "slope_closed_form": slope_closed,
        "slope_rel_error": (fit.slope - slope_closed).abs() / slope_closed,
        "slope_r2": fit.r2,
        "slope_intercept": fit.intercept,
        "diff_mc": diff, "diff_std_err": diff_se,
        "diff_closed_form": lin.iter().map(|(_, _, a, l)| a - l).collect::<Vec<_>>(),
        "all_mc": lin.iter().map(|t| t.0.mean).collect::<Vec<_>>(),
        "all_closed_form": lin.iter().map(|t| t.2).collect::<Vec<_>>(),
        "layer_mc": layer_mc, "layer_closed_form": layer_closed,
        "layer_std_err": lin.iter().map(|t| t.1.std_err).collect::<Vec<_>>(),
        "layer_rel_change": rel_change(&layer_mc),
        "layer_rel_change_closed_form": rel_change(&layer_closed),
        "deep": {
            "depth": 3, "widths": c.deep_widths, "sigma": c.deep_sigma,
            "per_weight_std_all": ds_all, "per_weight_std_layer": ds_layer, "theory_sigma": dst,
            "samples": c.deep_samples,
            "all_mc": deep.iter().map(|t| t.1.mean).collect::<Vec<_>>(),
            "all_std_err": deep.iter().map(|t| t.1.std_err).collect::<Vec<_>>(),
            "all_closed_form": deep.iter().map(|t| t.3).collect::<Vec<_>>(),
            "layer_mc": deep.iter().map(|t| t.2.mean).collect::<Vec<_>>(),
            "layer_closed_form": deep.iter().map(|t| t.4).collect::<Vec<_>>(),
            "top_term_closed_form": deep.iter().map(|t| t.5).collect::<Vec<_>>(),
            "diff_exponent_mc": exponent(&deep_d, &deep_diff_mc),
            "diff_exponent_closed_form": exponent(&deep_d, &deep_diff_cf),
            "top_term_exponent": exponent(&deep_d, &deep.iter().map(|t| t.5).collect::<Vec<_>>()),
            "layer_rel_change": rel_change(&deep.iter().map(|t| t.2.mean).collect::<Vec<_>>()),
        },
    });
    let obj = summary.as_object_mut().expect("an object");
    if let Some((rf, d)) = &relu_fit {
        obj.insert(
            "relu".into(),
            json!({
                "samples": c.relu_samples,
                "all_mc": relu.iter().map(|t| t.0.mean).collect::<Vec<_>>(),
                "layer_mc": relu.iter().map(|t| t.1.mean).collect::<Vec<_>>(),
                "layer_std_err": relu.iter().map(|t| t.1.std_err).collect::<Vec<_>>(),
                "layer_second_order": relu.iter().map(|t| t.2).collect::<Vec<_>>(),
                "diff_mc": d,
                "slope_fit": rf.slope,
                "slope_r2": rf.r2,
                "slope_ratio_to_linear_closed_form": rf.slope / slope_closed,
                "layer_rel_change": rel_change(&relu.iter().map(|t| t.1.mean).collect::<Vec<_>>()),
            }),
        );
    }
    if let Some(GradVariance { grad, group_names }) = &grad {
        let mut g = serde_json::Map::new();
        g.insert("samples".into(), json!(c.grad_samples));
        g.insert("widths".into(), json!(c.slope_widths));
        for (p, policy) in ["all", "layer"].iter().enumerate() {
            for (gi, name) in group_names.iter().enumerate() {
                let per: Vec<f64> = grad[p][gi].iter().map(|t| t.1.mean).collect();
                let tot: Vec<f64> = grad[p][gi].iter().map(|t| t.0.mean).collect();
                g.insert(
                    format!("{policy}_{name}"),
                    json!({
                        "total": tot,
                        "total_std_err": grad[p][gi].iter().map(|t| t.0.std_err).collect::<Vec<_>>(),
                        "per_weight": per,
                        "per_weight_std_err": grad[p][gi].iter().map(|t| t.1.std_err).collect::<Vec<_>>(),
                        "per_weight_exponent": exponent(&widths, &per),
                        "per_weight_rel_change": rel_change(&per),
                        "total_exponent": exponent(&widths, &tot),
                    }),
                );
            }
        }
        obj.insert("grad_variance".into(), Value::Object(g));
    }
    dir.write_json("summary.json", &summary)?;

    report::plots(
        dir,
        c,
        &report::Curves {
            widths: &widths,
            diff_se: &diff_se,
            fit,
            slope_closed,
            relu_fit: relu_fit.as_ref(),
            layer_mc: &layer_mc,
            deep: &deep,
            grad: grad.as_ref(),
            stds: [s_all, s_layer, ds_all, ds_layer],
        },
        &summary,
    )?;
    dir.write_text("report.md", &report::text(config, c, &summary))?;
    Ok(dir.file("report.md"))
}
