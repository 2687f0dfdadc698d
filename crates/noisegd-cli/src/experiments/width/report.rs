//! What a width run shows: the heat maps, the slope, the deep net and the gradient-variance
//! plots, and the report.

use super::parts::{GradVariance, Heatmaps};
use super::DeepPoint;
use crate::config::{RunConfig, WidthConfig};
use crate::report::plot::{write_heatmap, write_line_plot, Heatmap, LinePlot, Scale, Series};
use crate::run::RunDir;
use anyhow::Result;
use noisegd::diagnostics::fit::LineFit;
use serde_json::Value;
use std::fmt::Write as _;

/// The two heat maps of Fig. 1, on one log colour scale.
pub fn heatmaps(dir: &RunDir, c: &WidthConfig, heat: &Heatmaps) -> Result<()> {
    let (lo, hi) = heat.range;
    let (all_map, layer_map) = (&heat.all, &heat.layer);
    for (stem, title, values) in [
        (
            "heatmap_all",
            "R_σ, noise on all weights (per-weight std σ_t)",
            all_map,
        ),
        (
            "heatmap_layer",
            "R̃_σ, noise on one random layer (std √2·σ_t)",
            layer_map,
        ),
    ] {
        write_heatmap(
            &Heatmap {
                title: title.into(),
                x_label: "hidden width d₁ (units)".into(),
                y_label: "σ_t: per-weight std of `all`, the paper's Fig. 1 σ".into(),
                x_values: c.widths.iter().map(|d| *d as f64).collect(),
                y_values: c.sigmas.iter().map(|s| s / 2f64.sqrt()).collect(),
                values: values.clone(),
                log_color: true,
                color_range: Some((lo, hi)),
                color_label: "smoothed loss (Monte Carlo, log₁₀ colour)".into(),
            },
            &dir.file(stem),
        )?;
    }

    Ok(())
}

/// What the line plots draw, besides the summary.
pub struct Curves<'a> {
    pub widths: &'a [f64],
    pub diff_se: &'a [f64],
    pub fit: LineFit,
    pub slope_closed: f64,
    pub relu_fit: Option<&'a (LineFit, Vec<f64>)>,
    pub layer_mc: &'a [f64],
    pub deep: &'a [DeepPoint],
    pub grad: Option<&'a GradVariance>,
    /// Per-weight stds: slope all, slope layer, deep all, deep layer.
    pub stds: [f64; 4],
}

/// The slope, deep-net and gradient-variance plots.
pub fn plots(dir: &RunDir, c: &WidthConfig, k: &Curves, summary: &Value) -> Result<()> {
    let Curves {
        widths,
        diff_se,
        fit,
        slope_closed,
        relu_fit,
        layer_mc,
        deep,
        ..
    } = *k;
    let [s_all, s_layer, ds_all, ds_layer] = k.stds;
    let band = |v: &[f64], se: &[f64]| -> Vec<(f64, f64, f64)> {
        widths
            .iter()
            .zip(v.iter().zip(se))
            .map(|(w, (m, s))| (*w, m - 1.96 * s, m + 1.96 * s))
            .collect()
    };
    let pts =
        |v: &[f64]| -> Vec<(f64, f64)> { widths.iter().copied().zip(v.iter().copied()).collect() };
    let mut mc = Series::new(
        "linear, Monte Carlo (95 % CI)",
        pts(&summary_f64s(summary, "diff_mc")),
    );
    mc.band = Some(band(&summary_f64s(summary, "diff_mc"), diff_se));
    let ends = [widths[0], *widths.last().expect("≥ 3 widths")];
    let mut series = vec![
        mc,
        Series::new(
            format!(
                "linear, least squares: slope {:.4}, R² {:.4}",
                fit.slope, fit.r2
            ),
            ends.iter()
                .map(|w| (*w, fit.intercept + fit.slope * w))
                .collect(),
        ),
        Series::new(
            format!("closed form (s⁴d₂‖X‖²_F/2n)·d₁, slope {slope_closed:.4}"),
            ends.iter().map(|w| (*w, slope_closed * w)).collect(),
        ),
    ];
    if let Some((rf, d)) = &relu_fit {
        series.push(Series::new(
            format!("ReLU, Monte Carlo: slope {:.4}", rf.slope),
            pts(d),
        ));
    }
    series.push(Series::new("R̃_σ (layer), Monte Carlo", pts(layer_mc)));
    write_line_plot(
        &LinePlot {
            title: format!(
                "R_σ − R̃_σ against width (σ = {:.4}, all: s = {s_all:.3}, layer: {s_layer:.3})",
                c.slope_sigma
            ),
            x_label: "hidden width d₁ (units)".into(),
            y_label: "R_σ − R̃_σ; R̃_σ (loss units)".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series,
        },
        &dir.file("slope"),
    )?;
    let dpts = |v: &dyn Fn(&DeepPoint) -> f64| -> Vec<(f64, f64)> {
        deep.iter().map(|t| (t.0, v(t))).collect()
    };
    write_line_plot(
        &LinePlot {
            title: format!(
                "Deep linear net, M = 3 (σ = {:.4}, all: s = {ds_all:.3}, layer: {ds_layer:.3})",
                c.deep_sigma
            ),
            x_label: "hidden width d = d₁ = d₂ (units)".into(),
            y_label: "smoothed loss (loss units)".into(),
            x_scale: Scale::Log10,
            y_scale: Scale::Log10,
            series: vec![
                Series::new("R_σ (all), Monte Carlo", dpts(&|t| t.1.mean)),
                Series::new("R_σ (all), closed form", dpts(&|t| t.3)),
                Series::new("R̃_σ (layer), Monte Carlo", dpts(&|t| t.2.mean)),
                Series::new("R̃_σ (layer), closed form", dpts(&|t| t.4)),
                Series::new("top term σ_t⁶d²d₂‖X‖²_F/2n (∝ d²)", dpts(&|t| t.5)),
            ],
        },
        &dir.file("deep"),
    )?;
    if let Some(GradVariance { grad, group_names }) = k.grad {
        let mut series = vec![];
        for (p, policy) in ["all", "layer"].iter().enumerate() {
            for (gi, name) in group_names.iter().enumerate() {
                let per: Vec<f64> = grad[p][gi].iter().map(|t| t.1.mean).collect();
                let se: Vec<f64> = grad[p][gi].iter().map(|t| t.1.std_err).collect();
                let mut s = Series::new(format!("{policy}, {name}"), pts(&per));
                s.band = Some(band(&per, &se));
                series.push(s);
            }
        }
        write_line_plot(
            &LinePlot {
                title: format!(
                    "Gradient noise per weight (σ = {:.4}, all: s = {s_all:.3}, layer: {s_layer:.3})",
                    c.slope_sigma
                ),
                x_label: "hidden width d₁ (units)".into(),
                y_label: "E‖g(w+ε) − g(w)‖² / #weights (95 % CI)".into(),
                x_scale: Scale::Log10,
                y_scale: Scale::Log10,
                series,
            },
            &dir.file("grad_variance"),
        )?;
    }

    Ok(())
}

fn summary_f64s(s: &Value, key: &str) -> Vec<f64> {
    s[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

pub fn text(config: &RunConfig, c: &WidthConfig, s: &Value) -> String {
    let f = |v: &Value| v.as_f64().map_or("n/a".into(), |x| format!("{x:.4}"));
    let e = |v: &Value| v.as_f64().map_or("n/a".into(), |x| format!("{x:.4e}"));
    let mut r = String::new();
    let _ = writeln!(r, "# Width: the variance explosion of `all` noise and the layer-wise cure (paper §3–4, Fig. 1)\n");
    let _ = writeln!(r, "**Data.** X: {} × {} with N(0, 1) entries, Y = Xβ* with β* = {:?} on the first inputs (d₂ = {}), no label noise, seed {}. ‖X‖²_F = {}.\n", c.n, c.d0, c.planted, c.d2, config.seed, f(&s["x_fro2"]));
    let _ = writeln!(r, "**σ.** The config's σ values are in the `{}` convention (`width.sigma_convention`). Below, σ is the project's: `all` perturbs every weight with std σ/√M, `layer` one uniformly random layer with std σ (M = 2 here, 3 for the deep net); the paper's σ_t = σ/√M is the per-weight std of `all` and the heat maps' axis. Weights at the paper's initialization (std 1/√(dᵢdᵢ₋₁)). Monte Carlo: antithetic pairs (ε, −ε) (same expectation; the odd terms cancel), the same noise seed in every cell; no control variate, so the estimates do not use the closed forms.\n", s["sigma_convention_of_config"].as_str().unwrap_or("paper"));
    let _ = writeln!(r, "## Slope of R_σ − R̃_σ against d₁ (σ = {:.4}, per-weight std: all {}, layer {}; {} samples per width and policy)\n", c.slope_sigma, f(&s["per_weight_std_all"]), f(&s["per_weight_std_layer"]), c.slope_samples);
    let _ = writeln!(r, "| | value |\n|---|---|");
    let _ = writeln!(
        r,
        "| fitted slope (least squares over d₁ ∈ {:?}) | {} |",
        c.slope_widths,
        e(&s["slope_fit"])
    );
    let _ = writeln!(
        r,
        "| closed form s⁴d₂‖X‖²_F/(2n), s = σ/√2 | {} |",
        e(&s["slope_closed_form"])
    );
    let _ = writeln!(r, "| relative error | {} |", f(&s["slope_rel_error"]));
    let _ = writeln!(r, "| R² | {} |", f(&s["slope_r2"]));
    let _ = writeln!(
        r,
        "| relative change of R̃_σ across widths, Monte Carlo ((max − min)/min) | {} |",
        f(&s["layer_rel_change"])
    );
    let _ = writeln!(
        r,
        "| same, closed form | {} |",
        f(&s["layer_rel_change_closed_form"])
    );
    if s.get("relu").is_some() {
        let _ = writeln!(
            r,
            "| ReLU net: fitted slope / linear closed-form slope | {} |",
            f(&s["relu"]["slope_ratio_to_linear_closed_form"])
        );
        let _ = writeln!(r, "| ReLU net: R² | {} |", f(&s["relu"]["slope_r2"]));
        let _ = writeln!(
            r,
            "| ReLU net: relative change of R̃_σ | {} |",
            f(&s["relu"]["layer_rel_change"])
        );
    }
    let _ = writeln!(r, "\nPer width: `summary.json` (`diff_mc`, `diff_closed_form`, `layer_mc`, …), every estimate with its standard error in `metrics.csv`. The ReLU net has no closed form; under `all` its noise passes the ReLU about half the time, so a slope ratio near ½ is expected (not a theorem of the paper).\n");
    let _ = writeln!(r, "## Heat maps (Fig. 1)\n\n`heatmap_all.png` (R_σ) and `heatmap_layer.png` (R̃_σ): widths {:?} × σ_t {:?} (project σ {:?}), {} samples per cell, one log colour scale for both ({} to {}). Largest |MC − closed form| / standard error over the grid: {}.\n", c.widths, c.sigmas.iter().map(|v| format!("{:.3}", v / 2f64.sqrt())).collect::<Vec<_>>(), c.sigmas.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>(), c.samples, e(&s["heatmap"]["color_range"][0]), e(&s["heatmap"]["color_range"][1]), f(&s["heatmap"]["max_z_vs_closed_form"]));
    r.push_str(&ratio_text(&s["heatmap"]["all_over_layer"]));
    let d = &s["deep"];
    let _ = writeln!(
        r,
        "## Deep linear net, M = 3 (σ = {:.4}, per-weight std: all {}, layer {})\n",
        c.deep_sigma,
        f(&d["per_weight_std_all"]),
        f(&d["per_weight_std_layer"])
    );
    let _ = writeln!(r, "Widths d = {:?}: growth exponent of R_σ − R̃_σ in d: Monte Carlo {}, closed form {} (the top term σ_t⁶d²d₂‖X‖²_F/2n alone: {}); R̃_σ changes by {} across the widths. Plot: `deep.png`.\n", c.deep_widths, f(&d["diff_exponent_mc"]), f(&d["diff_exponent_closed_form"]), f(&d["top_term_exponent"]), f(&d["layer_rel_change"]));
    if let Some(g) = s.get("grad_variance").and_then(Value::as_object) {
        let _ = writeln!(r, "## Perturbed-gradient variance (`noisegd::diagnostics`, {} samples per width and policy)\n", c.grad_samples);
        let _ = writeln!(r, "E‖g(w+ε) − g(w)‖² per layer, on the burn model at the same weights (f32). Growth exponents in d₁ (log-log least squares):\n");
        let _ = writeln!(r, "| policy, layer | per weight | total over the layer | relative change per weight |\n|---|---|---|---|");
        for (k, v) in g.iter().filter(|(_, v)| v.is_object()) {
            let _ = writeln!(
                r,
                "| {k} | {} | {} | {} |",
                f(&v["per_weight_exponent"]),
                f(&v["total_exponent"]),
                f(&v["per_weight_rel_change"])
            );
        }
        let _ = writeln!(r, "\nPer weight, `all` grows with the width (the E₂E₁ product sums d₁ noise terms) and `layer` stays flat. The total over a layer also counts the layer's weights, which grow as d₁, so under `layer` it grows like d₁ too. Plot: `grad_variance.png`.\n");
    }
    let _ = writeln!(r, "Plots: `heatmap_all.png`, `heatmap_layer.png`, `slope.png`, `deep.png`, `grad_variance.png` (and SVG).");
    r
}

/// The paragraph on the all/layer ratio at large σ_t (the paper's colour-scale claim).
fn ratio_text(v: &Value) -> String {
    let f = |k: &str| v[k].as_f64().map_or("n/a".into(), |x| format!("{x:.1}"));
    let Some(from) = v["from_theory_sigma"].as_f64() else {
        return "**All / layer at large σ.** No σ_t of the grid reaches 0.7, where the paper reads R_σ ≥ 10³ × R̃_σ off Fig. 1: extend `width.sigmas` (paper convention: up to 0.9) to measure it.\n\n".into();
    };
    format!(
        "**All / layer at σ_t ≥ {from}** ({} cells): R_σ / R̃_σ from {}× (σ_t = {}, d₁ = {}) to {}× (σ_t = {}, d₁ = {}), Monte Carlo; closed forms {}× to {}×. The paper reads ≥ 10³× off Fig. 1's colour scales (all-weights ≥ 10⁴, layer-wise ≤ ~10¹; it states neither its data nor d₂). The ratio is 1 + B/(R + A), with B = σ_t⁴d₁d₂‖X‖²_F/2n the exploding term and A the σ_t² regularizer; at the paper's initialization A ≈ σ_t²‖X‖²_F(1 + d₂/d₀)/2n, so B/A ≈ σ_t²d₁d₂/(1 + d₂/d₀): with d₂ = 1 it stays below σ_t²d₁ (≈ 900 at σ_t = 0.9, d₁ = 1100), and 10³ needs a larger d₂ or a wider net.\n\n",
        v["cells"],
        f("min_mc"), f("min_at_theory_sigma"), v["min_at_width"],
        f("max_mc"), f("max_at_theory_sigma"), v["max_at_width"],
        f("min_closed_form"), f("max_closed_form"),
    )
}
