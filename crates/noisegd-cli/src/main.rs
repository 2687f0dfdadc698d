//! `noisegd`: run perturbed-gradient-descent experiments from TOML configs.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use noisegd_cli::config::RunConfig;
use noisegd_cli::experiments::{self, RunOptions};
use noisegd_cli::run::RunDir;
use std::path::{Path, PathBuf};

/// The demo's config, compiled in so that `noisegd demo` needs no file.
const DEMO_CONFIG: &str = include_str!("../../../configs/demo.toml");

#[derive(Parser)]
#[command(
    name = "noisegd",
    version,
    about = "Training with noise injected before the gradient step (perturbed gradient descent), and what that noise does",
    long_about = "Training with noise injected before the gradient step (perturbed gradient descent, \
                  Orvieto et al., AISTATS 2023), and measuring what that noise does.\n\n\
                  Example:\n  noisegd demo\n  noisegd run configs/lasso.toml --set noise.sigma=0.2 --out runs/lasso-s0.2"
)]
struct Cli {
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the experiment a TOML config describes and write a run directory.
    #[command(
        after_help = "Example:\n  noisegd run configs/lasso.toml --set noise.policy=all --set noise.sigma=0.2 --out runs/lasso-all\n\n\
                            The run directory holds config.toml (resolved), versions.json, metrics.csv, summary.json, plots (SVG, PNG) and report.md."
    )]
    Run {
        /// The experiment config (TOML).
        config: PathBuf,
        /// Override a config value, e.g. `--set noise.sigma=0.1` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Run directory (default: runs/<experiment>-seed<seed>-<time>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the main demo on built-in synthetic data (nothing to download) and print where its report is.
    #[command(after_help = "Example:\n  noisegd demo --out demo-run")]
    Demo {
        /// Run directory (default: noisegd-demo-<time>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a demo config value, e.g. `--set train.steps=1000`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    if let Err(err) = real_main() {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let options = RunOptions { quiet: cli.quiet };
    match cli.command {
        Command::Run { config, set, out } => {
            let config = RunConfig::load(&config, &set)?;
            let out = out.unwrap_or_else(|| default_out("runs", &config));
            execute(&config, &out, options)
        }
        Command::Demo { out, set } => {
            let config =
                RunConfig::parse(DEMO_CONFIG, &set).context("in the built-in demo config")?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("noisegd-demo-{}", timestamp())));
            execute(&config, &out, options)
        }
    }
}

fn execute(config: &RunConfig, out: &Path, options: RunOptions) -> Result<()> {
    experiments::check_inputs(config)?;
    let dir = RunDir::create(out, config)?;
    let started = std::time::Instant::now();
    let report = experiments::run(config, &dir, options)?;
    println!(
        "finished in {:.1} s; report: {}",
        started.elapsed().as_secs_f64(),
        report.display()
    );
    Ok(())
}

fn default_out(root: &str, config: &RunConfig) -> PathBuf {
    let name = serde_json::to_value(config.experiment)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "run".into());
    Path::new(root).join(format!("{name}-seed{}-{}", config.seed, timestamp()))
}

/// UTC time as `YYYYMMDDTHHMMSS`, for default directory names.
fn timestamp() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.trim_end_matches('Z').replace(['-', ':'], "")
}
