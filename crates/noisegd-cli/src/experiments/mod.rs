//! One module per experiment; each turns a resolved config into a finished run directory:
//! prepare its data (before the directory exists), train through the library's driver
//! (`noisegd::train`), summarize (`summary.json`, plots, `report.md`).

mod common;
pub mod demo;
pub mod fig2;
pub mod group_lasso;
pub mod lasso;
pub mod nuclear;
mod pair;
pub mod train;
pub mod width;

use crate::config::RunConfig;
use crate::run::RunDir;
use anyhow::Result;
use noisegd::backend::Backend;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

/// The experiments this tool can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Experiment {
    /// Diagonal linear network vs the weighted Lasso it implicitly solves (paper §2.3).
    Lasso,
    /// Grouped linear model vs the data-weighted group Lasso of Eq. (38) (paper §2.4).
    GroupLasso,
    /// Two-layer linear factorization vs the nuclear-norm problem of Eq. (10) (paper §2.4).
    Nuclear,
    /// Variance explosion of `all` noise with the width, and the layer-wise cure (paper §3, Fig. 1).
    Width,
    /// GD, GD + noise (all, layer) and GD on the explicit loss of Eq. (9) (paper Fig. 2).
    Fig2,
    /// A classifier (MLP, CNN, ResNet-18) on an image data set (paper §3, Figs. 3-10).
    Train,
}

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

/// Where a run goes.
pub enum Destination<'a> {
    /// A new run directory, created once the experiment's data are ready, so that bad input
    /// leaves nothing behind.
    New(&'a Path),
    /// The directory of the run being resumed.
    Resume(RunDir),
}

/// The data an experiment reads from outside, read (and checked) before the run directory is
/// created; the other experiments generate theirs.
enum Prepared {
    /// The lasso's regression (a CSV file, the diabetes table, or generated; boxed: it is large).
    Lasso(Box<lasso::Problem>),
    /// The train experiment's image data set, prepared for training (boxed: it is large).
    Train(Box<noisegd::data::TrainingSet>),
    /// Nothing to read.
    Generated,
}

fn prepare(config: &RunConfig) -> Result<Prepared> {
    Ok(match config.experiment {
        Experiment::Lasso => Prepared::Lasso(Box::new(lasso::load_problem(config)?)),
        Experiment::Train => Prepared::Train(Box::new(train::load_data(config)?)),
        _ => Prepared::Generated,
    })
}

/// Runs the experiment named in `config` into `destination`: prepare its data, then train and
/// summarize. Returns the path of its report.
///
/// `summary.json` always says how the run ended: `"status": "finished"`, or `"diverged"` (with
/// the step and the message) when a loss or gradient became non-finite; the metrics logged before
/// that stay in `metrics.csv`.
pub fn run(
    config: &RunConfig,
    destination: Destination,
    options: RunOptions,
) -> Result<std::path::PathBuf> {
    let prepared = prepare(config)?;
    let dir = match destination {
        Destination::New(path) => RunDir::create(path, config)?,
        Destination::Resume(dir) => dir,
    };
    let dir = &dir;
    let result = match (config.experiment, prepared) {
        (Experiment::Lasso, Prepared::Lasso(problem)) => lasso::run(config, *problem, dir, options),
        (Experiment::GroupLasso, _) => group_lasso::run(config, dir, options),
        (Experiment::Nuclear, _) => nuclear::run(config, dir, options),
        (Experiment::Width, _) => width::run(config, dir, options),
        (Experiment::Fig2, _) => fig2::run(config, dir, options),
        (Experiment::Train, Prepared::Train(set)) => train::run(config, *set, dir, options),
        (experiment, _) => unreachable!("prepare() reads the data of {experiment:?}"),
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
pub fn execute(config: &RunConfig, out: &Path, options: RunOptions) -> Result<()> {
    let started = std::time::Instant::now();
    let report = run(config, Destination::New(out), options)?;
    println!(
        "finished in {:.1} s; report: {}",
        started.elapsed().as_secs_f64(),
        report.display()
    );
    Ok(())
}

/// `noisegd run --resume DIR`: continues the run in `dir` from its last checkpoint (nothing to
/// do when it has finished; a diverged run is refused) and prints where its report is.
pub fn resume(dir: &Path, device: Option<Backend>, options: RunOptions) -> Result<()> {
    match RunDir::status(dir).as_deref() {
        Some("finished") => {
            println!("{} has finished already; nothing to resume", dir.display());
            return Ok(());
        }
        Some("diverged") => anyhow::bail!(
            "{} diverged (see its summary.json); resuming would diverge again at the same step: start a new run with a lower optim.lr or noise.sigma",
            dir.display()
        ),
        _ => {}
    }
    let (run_dir, mut config) = RunDir::open(dir)?;
    warn_if_other_version(dir);
    if let Some(device) = device.filter(|d| *d != config.device) {
        // The device changes where the arithmetic runs, not the method: the checkpoint's
        // weights, optimizer state and step continue as they are. The summary names the device
        // of the last part.
        eprintln!(
            "resuming on {} (the run started on {})",
            device.name(),
            config.device.name()
        );
        config.device = device;
    }
    let started = std::time::Instant::now();
    let report = run(
        &config,
        Destination::Resume(run_dir),
        RunOptions {
            resume: true,
            ..options
        },
    )?;
    println!(
        "finished in {:.1} s; report: {}",
        started.elapsed().as_secs_f64(),
        report.display()
    );
    Ok(())
}

/// Bit-for-bit resumption holds for the binary that started the run; say so when it differs.
fn warn_if_other_version(dir: &Path) {
    let path = dir.join("versions.json");
    let Ok(recorded) = std::fs::read_to_string(&path) else {
        return;
    };
    let current =
        serde_json::to_string_pretty(&crate::run::Versions::current()).unwrap_or_default() + "\n";
    if recorded != current {
        eprintln!(
            "warning: {} was started by another build (see {}); the resumed steps may differ from an uninterrupted run in the last bits",
            dir.display(),
            path.display()
        );
    }
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
