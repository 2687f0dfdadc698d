//! One file per experiment; each turns a resolved config into a finished run directory.

mod common;
pub mod fig2;
pub mod group_lasso;
pub mod lasso;
pub mod nuclear;
pub mod width;

use crate::config::{Experiment, RunConfig};
use crate::run::RunDir;
use anyhow::Result;

/// Options that are about running, not about the experiment.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// No progress bars.
    pub quiet: bool,
}

/// Runs the experiment named in `config` into `dir`; returns the path of its report.
pub fn run(config: &RunConfig, dir: &RunDir, options: RunOptions) -> Result<std::path::PathBuf> {
    match config.experiment {
        Experiment::Lasso => lasso::run(config, dir, options),
        Experiment::GroupLasso => group_lasso::run(config, dir, options),
        Experiment::Nuclear => nuclear::run(config, dir, options),
        Experiment::Width => width::run(config, dir, options),
        Experiment::Fig2 => fig2::run(config, dir, options),
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
