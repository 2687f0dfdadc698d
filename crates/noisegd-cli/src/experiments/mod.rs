//! One file per experiment; each turns a resolved config into a finished run directory.

mod common;
pub mod demo;
pub mod fig2;
pub mod group_lasso;
pub mod lasso;
pub mod nuclear;
mod pair;
pub mod train;
pub mod width;

use crate::config::{Experiment, RunConfig};
use crate::run::RunDir;
use anyhow::Result;
use serde_json::json;

/// Options that are about running, not about the experiment.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// No progress bars.
    pub quiet: bool,
    /// Continue the run already in the directory: `train` from its checkpoint (from the start
    /// when it has none yet); the other experiments, which take minutes, run again from the
    /// start into the same directory.
    pub resume: bool,
}

/// Runs the experiment named in `config` into `dir`; returns the path of its report.
///
/// `summary.json` always says how the run ended: `"status": "finished"`, or `"diverged"` (with
/// the step and the message) when a loss or gradient became non-finite; the metrics logged before
/// that stay in `metrics.csv`.
pub fn run(config: &RunConfig, dir: &RunDir, options: RunOptions) -> Result<std::path::PathBuf> {
    let result = match config.experiment {
        Experiment::Lasso => lasso::run(config, dir, options),
        Experiment::GroupLasso => group_lasso::run(config, dir, options),
        Experiment::Nuclear => nuclear::run(config, dir, options),
        Experiment::Width => width::run(config, dir, options),
        Experiment::Fig2 => fig2::run(config, dir, options),
        Experiment::Train => train::run(config, dir, options),
    };
    match &result {
        Ok(_) => mark_status(dir, json!({"status": "finished"}))?,
        Err(err)
            if err
                .downcast_ref::<crate::interrupt::Interrupted>()
                .is_some() => {}
        Err(err) => {
            let diverged = err
                .chain()
                .find_map(|e| match e.downcast_ref::<noisegd::Error>() {
                    Some(noisegd::Error::Diverged { step, .. }) => Some(*step),
                    _ => None,
                });
            if let Some(step) = diverged {
                mark_status(
                    dir,
                    json!({"status": "diverged", "diverged_at_step": step, "error": format!("{err:#}")}),
                )?;
            }
        }
    }
    result
}

/// Adds `fields` to `summary.json` (creating it when the run stopped before writing one) unless
/// the experiment already set them.
fn mark_status(dir: &RunDir, fields: serde_json::Value) -> Result<()> {
    let path = dir.file("summary.json");
    let mut summary: serde_json::Map<String, serde_json::Value> =
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)?,
            Err(_) => serde_json::Map::new(),
        };
    if summary.contains_key("status") {
        return Ok(());
    }
    if let serde_json::Value::Object(f) = fields {
        summary.extend(f);
    }
    dir.write_json("summary.json", &summary)
}

/// Runs `config` into a new run directory `out` and prints where its report is.
pub fn execute(config: &RunConfig, out: &std::path::Path, options: RunOptions) -> Result<()> {
    check_inputs(config)?;
    let dir = RunDir::create(out, config)?;
    let started = std::time::Instant::now();
    let report = run(config, &dir, options)?;
    println!(
        "finished in {:.1} s; report: {}",
        started.elapsed().as_secs_f64(),
        report.display()
    );
    Ok(())
}

/// Reads the data a config names from outside (a CSV file), so that a bad file is refused
/// before a run directory is created (the experiment reads it again; tables are small).
pub fn check_inputs(config: &RunConfig) -> Result<()> {
    if let Some(name) = config.data.name.dataset() {
        if name.needs_files() {
            let search = noisegd::data::locate::Search::new(config.data.dir.as_deref());
            noisegd::data::locate::locate(name, &search)?;
        }
    }
    if config.experiment == Experiment::Lasso && config.data.is_table() {
        lasso::load_problem(config)?;
    }
    Ok(())
}

/// A progress bar on stderr, hidden with `--quiet` (and by indicatif when stderr is no terminal).
pub fn progress(total: u64, label: &str, options: RunOptions) -> indicatif::ProgressBar {
    if options.quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta})",
        )
        .expect("the template is valid"),
    );
    bar.set_message(label.to_string());
    bar
}
