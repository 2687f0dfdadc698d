//! What a classifier run shows: accuracy, loss and Hessian-trace plots from `metrics.csv`, and the
//! report.

use crate::config::RunConfig;
use crate::report::plot::{write_line_plot, LinePlot, Scale, Series};
use crate::run::RunDir;
use anyhow::Result;
use noisegd::data::training_set::CROP_PADDING;
use noisegd::data::TrainingSet;
use std::fmt::Write as _;

/// Test accuracy, losses and (when estimated) the Hessian trace against steps, from metrics.csv.
pub fn write_plots(dir: &RunDir) -> Result<Vec<String>> {
    let mut reader = csv::Reader::from_path(dir.file("metrics.csv"))?;
    let header: Vec<String> = reader.headers()?.iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let col = |name: &str| -> Vec<(f64, f64)> {
        let j = header
            .iter()
            .position(|h| h == name)
            .expect("a column of COLUMNS");
        rows.iter()
            .filter_map(|r| Some((r[0].parse().ok()?, r[j].parse::<f64>().ok()?)))
            .filter(|(_, v): &(f64, f64)| v.is_finite())
            .collect()
    };
    let mut written = vec![];
    let mut plot = |stem: &str,
                    title: &str,
                    y_label: &str,
                    y_scale: Scale,
                    series: Vec<Series>|
     -> Result<()> {
        if series.iter().all(|s| s.points.is_empty()) {
            return Ok(());
        }
        let plot = LinePlot {
            title: title.into(),
            x_label: "step".into(),
            y_label: y_label.into(),
            x_scale: Scale::Log10,
            y_scale,
            series,
        };
        write_line_plot(&plot, &dir.file(stem))?;
        written.push(stem.to_string());
        Ok(())
    };
    plot(
        "accuracy",
        "accuracy of the clean weights",
        "accuracy (fraction correct)",
        Scale::Linear,
        vec![
            Series::new("train", col("train_accuracy")),
            Series::new("test", col("test_accuracy")),
        ],
    )?;
    plot(
        "loss",
        "cross-entropy of the clean weights",
        "loss (nats)",
        Scale::Log10,
        vec![
            Series::new("train", col("train_loss")),
            Series::new("test", col("test_loss")),
        ],
    )?;
    plot(
        "hessian_trace",
        "Hessian trace (Hutchinson), training subset",
        "tr ∇²L",
        Scale::Linear,
        vec![Series::new("trace", col("hessian_trace"))],
    )?;
    Ok(written)
}

pub fn report_text(
    config: &RunConfig,
    prepared: &TrainingSet,
    summary: &serde_json::Value,
    plots: &[String],
) -> Result<String> {
    let mut r = String::from("# Classifier training with noise injection\n\n");
    let s = |k: &str| summary.get(k).cloned().unwrap_or(serde_json::Value::Null);
    writeln!(
        r,
        "Data: `{}` from {}; {} training examples{}, {} test examples; {}.",
        s("data").as_str().unwrap_or(""),
        prepared.data.origin,
        prepared.train.len(),
        if config.data.subset > 0 {
            format!(
                " (seeded subset of {} drawn with seed {})",
                prepared.data.train.len(),
                config.seed
            )
        } else {
            String::new()
        },
        s("test_examples"),
        prepared.normalization
    )?;
    if config.data.augment {
        writeln!(r, "Augmentation: random crop with {CROP_PADDING}-pixel padding and horizontal flip, drawn from (seed, epoch, example).")?;
    }
    writeln!(
        r,
        "Model: `{}`, {} parameters in {} noise groups (group_by = {}).",
        s("model").as_str().unwrap_or(""),
        s("parameters"),
        s("parameter_groups"),
        crate::config::name(&config.noise.group_by)
    )?;
    writeln!(
        r,
        "Noise: policy `{}`, σ = {} (per-weight std {}; theory's σ_t = σ/√M = {}), schedule `{}`.",
        crate::config::name(&config.noise.policy),
        config.noise.sigma,
        s("per_weight_std"),
        s("theory_sigma"),
        crate::config::name(&config.noise.schedule)
    )?;
    writeln!(r, "Optimizer: {} lr {} (schedule `{}`), {} steps, batch {} ({} batches per epoch), seed {}.\n",
        crate::config::name(&config.optim.name), config.optim.lr, crate::config::name(&config.optim.schedule), config.train.steps,
        if config.train.batch_size == 0 { "full".to_string() } else { config.train.batch_size.to_string() }, s("batches_per_epoch"), config.seed)?;
    writeln!(
        r,
        "## Result\n\nStatus: **{}**.\n",
        s("status").as_str().unwrap_or("")
    )?;
    for (key, label) in [
        ("test_accuracy", "final test accuracy"),
        (
            "best_test_accuracy",
            "best test accuracy seen at a logged step",
        ),
        ("train_accuracy", "final train accuracy"),
        ("train_loss", "final train loss"),
        ("test_loss", "final test loss"),
    ] {
        if let Some(v) = summary.get(key).and_then(|v| v.as_f64()) {
            writeln!(r, "- {label}: {v:.4}")?;
        }
    }
    let num = |k: &str| summary.get(k).and_then(|v| v.as_f64());
    if let (Some(trace), Some(se)) = (num("hessian_trace"), num("hessian_trace_se")) {
        writeln!(
            r,
            "- Hessian trace at step {}: {trace:.4} ± {se:.4} (Hutchinson, {} Rademacher probes on {} training examples, finite-difference step h = {})",
            s("hessian_trace_step"), s("hessian_probes"), s("hessian_examples"), s("hessian_fd_step")
        )?;
    }
    if let (Some(v), Some(se)) = (num("regularizer"), num("regularizer_se")) {
        writeln!(
            r,
            "- regularizer E[L(w + ε)] − L(w) at step {}: {v:.4e} ± {se:.1e}",
            s("regularizer_step")
        )?;
    }
    if let Some(e) = summary.get("error") {
        writeln!(r, "- stopped: {e}")?;
    }
    writeln!(
        r,
        "\nSeconds: {:.1}. Metrics of every logged step: `metrics.csv`.\n",
        s("seconds").as_f64().unwrap_or(0.0)
    )?;
    for p in plots {
        writeln!(r, "![{p}]({p}.svg)")?;
    }
    Ok(r)
}
