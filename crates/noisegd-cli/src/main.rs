//! `noisegd`: run perturbed-gradient-descent experiments from TOML configs.

use anyhow::Result;
use clap::{Parser, Subcommand};
use noisegd_cli::config::{self, RunConfig};
use noisegd_cli::experiments::{self, RunOptions};
use noisegd_cli::run::RunDir;
use noisegd_cli::{data_check, sweep};
use std::path::{Path, PathBuf};

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
                            The run directory holds config.toml (resolved), versions.json, metrics.csv, summary.json, plots (SVG, PNG) and report.md.\n\
                            A train run also keeps checkpoint.bin (every train.checkpoint_every steps, and on Ctrl-C); continue a run that was\n\
                            stopped or killed with\n  noisegd run --resume runs/lasso-all\n\
                            It ends with the same metrics, bit for bit, as a run that was never interrupted."
    )]
    Run {
        /// The experiment config (TOML); not with --resume.
        #[arg(required_unless_present = "resume", conflicts_with = "resume")]
        config: Option<PathBuf>,
        /// Continue the run in this directory (with the config it was started with) from its
        /// last checkpoint.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["set", "out"])]
        resume: Option<PathBuf>,
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
    /// Run a grid of configs times seeds (J at a time), skip cells already finished, and aggregate.
    #[command(
        after_help = "Example:\n  noisegd sweep configs/lasso.toml --grid noise.policy=all,layer --grid noise.sigma=0.05,0.1 --seeds 3 --jobs 2 --out sweeps/lasso\n\n\
                            Each cell is a run directory SWEEP/<key=value,...,seed=S>/; re-running the same command runs only the\n\
                            unfinished cells. The aggregate (mean ± s.e.m. over seeds) is SWEEP/sweep.md, sweep.csv and plots."
    )]
    Sweep {
        /// The base config (TOML).
        config: PathBuf,
        /// A grid axis `key=v1,v2,...` (repeatable; the grid is every combination).
        #[arg(long = "grid", value_name = "KEY=V1,V2,...")]
        grid: Vec<String>,
        /// Seeds per grid point: the config's seed, seed+1, ... (default 1).
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// Runs at a time (default 1).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Override a config value in every cell (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Sweep directory (default: sweeps/<config name>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Aggregate finished runs (mean ± s.e.m. over seeds, grouped by the config values that differ).
    #[command(
        after_help = "Example:\n  noisegd report sweeps/lasso runs/extra-run --out sweeps/lasso-report\n  noisegd report sweeps/fmnist_mlp1 --reference configs/fmnist_mlp1.toml"
    )]
    Report {
        /// Directories holding run directories (searched recursively).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write sweep.md, sweep.csv and the plots (default: the first DIR).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Summary figure for the table and plots (repeatable; default: the main ones present).
        #[arg(long = "figure")]
        figures: Vec<String>,
        /// Print the published numbers of this config's [reference] table beside the measured
        /// ones (default: the runs' own [reference] tables).
        #[arg(long, value_name = "CONFIG")]
        reference: Option<PathBuf>,
    },
    /// Data sets: where noisegd finds them and whether they are intact.
    #[command(after_help = "Example:\n  noisegd data check ~/data")]
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// List every data set: where it was found (or where it was looked for, and where to get
    /// it), its sizes, class counts, and whether its files are the official ones.
    #[command(
        after_help = "Example:\n  noisegd data check ~/data\n  noisegd data check /usr/share/datasets/fashion-mnist\n\n\
                      Under DIR (default: $NOISEGD_DATA) each data set is looked for in its upstream folder names: \
                      fashion-mnist/ or FashionMNIST/raw/, mnist/ or MNIST/raw/, kmnist/ or KMNIST/raw/, \
                      cifar-10-batches-bin/, cifar-100-binary/; DIR may also be such a folder itself. \
                      Fashion-MNIST is also found in /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist). \
                      Nothing is downloaded. Exits with status 1 when a data set is found but a file is missing or invalid."
    )]
    Check {
        /// The data root (default: the environment variable NOISEGD_DATA).
        dir: Option<PathBuf>,
    },
}

fn main() {
    noisegd::backend::retain_freed_memory();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    noisegd_cli::interrupt::install();
    if let Err(err) = real_main() {
        if let Some(stop) = err.downcast_ref::<noisegd_cli::interrupt::Interrupted>() {
            eprintln!("{stop}");
            std::process::exit(noisegd_cli::interrupt::EXIT_INTERRUPTED);
        }
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let options = RunOptions {
        quiet: cli.quiet,
        resume: false,
    };
    match cli.command {
        Command::Run {
            resume: Some(dir), ..
        } => resume(&dir, options),
        Command::Run {
            config, set, out, ..
        } => {
            let config = config.expect("clap requires CONFIG without --resume");
            let config = RunConfig::load(&config, &set)?;
            let out = out.unwrap_or_else(|| default_out("runs", &config));
            experiments::execute(&config, &out, options)
        }
        Command::Demo { out, set } => {
            let out = out.unwrap_or_else(|| PathBuf::from(format!("noisegd-demo-{}", timestamp())));
            experiments::demo::run(&out, &set, options)
        }
        Command::Sweep {
            config,
            grid,
            seeds,
            jobs,
            set,
            out,
        } => {
            if seeds == 0 || jobs == 0 {
                anyhow::bail!("--seeds and --jobs must be at least 1 (found {seeds} and {jobs})");
            }
            let axes = grid
                .iter()
                .map(|g| sweep::Axis::parse(g))
                .collect::<Result<Vec<_>>>()?;
            let stem = config
                .file_stem()
                .map_or("sweep".into(), |s| s.to_string_lossy().to_string());
            let plan = sweep::SweepPlan {
                out: out.unwrap_or_else(|| Path::new("sweeps").join(stem)),
                config,
                set,
                axes,
                seeds,
                jobs,
                quiet: options.quiet,
            };
            let report = sweep::run(&plan)?;
            println!("sweep finished; report: {}", report.display());
            Ok(())
        }
        Command::Report {
            dirs,
            out,
            figures,
            reference,
        } => {
            let out = out.unwrap_or_else(|| dirs[0].clone());
            let reference = match reference {
                Some(path) => noisegd_cli::report::sweep::reference_from(&path)?,
                None => Default::default(),
            };
            let report = noisegd_cli::report::sweep::report(&dirs, &out, &figures, &reference)?;
            println!("report: {}", report.display());
            Ok(())
        }
        Command::Data {
            command: DataCommand::Check { dir },
        } => data_check::run(dir.as_deref()),
    }
}

/// `noisegd run --resume DIR`.
fn resume(dir: &Path, options: RunOptions) -> Result<()> {
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
    let (run_dir, config) = RunDir::open(dir)?;
    warn_if_other_version(dir);
    let started = std::time::Instant::now();
    let report = experiments::run(
        &config,
        experiments::Destination::Resume(run_dir),
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
    let current = serde_json::to_string_pretty(&noisegd_cli::run::Versions::current())
        .unwrap_or_default()
        + "\n";
    if recorded != current {
        eprintln!(
            "warning: {} was started by another build (see {}); the resumed steps may differ from an uninterrupted run in the last bits",
            dir.display(),
            path.display()
        );
    }
}

fn default_out(root: &str, config: &RunConfig) -> PathBuf {
    let name = config::name(&config.experiment);
    Path::new(root).join(format!("{name}-seed{}-{}", config.seed, timestamp()))
}

/// UTC time as `YYYYMMDDTHHMMSS`, for default directory names.
fn timestamp() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.trim_end_matches('Z').replace(['-', ':'], "")
}
