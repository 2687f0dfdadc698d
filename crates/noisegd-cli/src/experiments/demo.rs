//! `noisegd demo`: the main demo, three experiments from configs compiled into the binary, each
//! into its own run directory under the demo's folder, with a line of what each part showed.
//!
//! 1. `lasso/`: PGD on a diagonal linear network reaches the explicit weighted Lasso;
//! 2. `width/`: all-weights noise makes the smoothed loss grow with the width, layer-wise does
//!    not (the same file's `[width]` table);
//! 3. `classify-{none,layer,all}/`: GD, layer-wise and all-weights noise on the Fashion-MNIST
//!    subset compiled into noisegd.

use super::{execute, RunOptions};
use crate::config::{Experiment, RunConfig};
use anyhow::{Context, Result};
use std::path::Path;

/// The demo's config (parts 1 and 2).
const DEMO_CONFIG: &str = include_str!("../../../../configs/demo.toml");
/// Part 3: classification on the embedded Fashion-MNIST subset.
const DEMO_CLASSIFY_CONFIG: &str = include_str!("../../../../configs/demo_classify.toml");

/// Runs the demo into `out`; `set` overrides values of the demo's config (parts 1 and 2).
pub fn run(out: &Path, set: &[String], options: RunOptions) -> Result<()> {
    let config = RunConfig::parse(DEMO_CONFIG, set).context("in the built-in demo config")?;
    println!("part 1/3: PGD solves the weighted Lasso");
    execute(&config, &out.join("lasso"), options)?;
    // The width experiment runs its noise policies itself, so the Lasso's [noise] is dropped.
    let width = RunConfig {
        experiment: Experiment::Width,
        noise: Default::default(),
        ..config
    };
    width
        .validate()
        .context("in the [width] table of the built-in demo config")?;
    println!("part 2/3: all-weights noise explodes with the width, layer-wise does not");
    execute(&width, &out.join("width"), options)?;
    let s = read_summary(&out.join("width"))?;
    let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "  R_σ − R̃_σ grows by {:.3} per hidden unit (closed form {:.3}, R² {:.4}); R̃_σ changes by {:.1} % across widths",
        f("slope_fit"),
        f("slope_closed_form"),
        f("slope_r2"),
        100.0 * f("layer_rel_change")
    );
    println!("part 3/3: GD, layer-wise and all-weights noise on the embedded Fashion-MNIST subset");
    for policy in ["none", "layer", "all"] {
        let config = RunConfig::parse(DEMO_CLASSIFY_CONFIG, &[format!("noise.policy={policy}")])
            .context("in the built-in classification demo config")?;
        let dir = out.join(format!("classify-{policy}"));
        execute(&config, &dir, options)?;
        let summary = read_summary(&dir)?;
        println!(
            "  {policy:>5}: test accuracy {:.1} %, train loss {:.3}",
            100.0 * summary["test_accuracy"].as_f64().unwrap_or(f64::NAN),
            summary["train_loss"].as_f64().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}

fn read_summary(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}
