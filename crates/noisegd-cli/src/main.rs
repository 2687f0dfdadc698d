//! `noisegd`: run perturbed-gradient-descent experiments from TOML configs.

use anyhow::Result;
use clap::{Parser, Subcommand};
use noisegd::backend::Backend;
use noisegd_cli::config::{self, RunConfig};
use noisegd_cli::experiments::{self, RunOptions};
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
        /// Run on this device (`cpu` or `gpu`) whatever the config says; with --resume, a run
        /// checkpointed on one device continues on the other.
        #[arg(long, value_name = "DEVICE", value_parser = ["cpu", "gpu"])]
        device: Option<String>,
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
        /// A grid axis `key=v1,v2,...` (repeatable; the grid is every combination), or linked
        /// keys `k1:k2=a1:a2,b1:b2` that move together (one cell per tuple).
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
        /// Submit the cells as one Slurm job array instead of running them here (see the
        /// options below and the [slurm] table of the config), print the job id and return.
        #[arg(long)]
        slurm: bool,
        /// With --slurm: write SWEEP/slurm/array.sh and print the sbatch command, submit nothing.
        #[arg(long, requires = "slurm")]
        dry_run: bool,
        #[command(flatten)]
        cluster: SlurmArgs,
    },
    /// One cell of a prepared sweep: start it, resume it from its checkpoint, or do nothing
    /// when it has ended (what every Slurm array task runs; safe to run twice).
    #[command(
        after_help = "Example:\n  noisegd cell sweeps/fmnist_mlp1 'noise.policy=layer,seed=1'\n  noisegd cell sweeps/fmnist_mlp1 4\n\n\
                      CELL is a cell name (a directory name under SWEEP) or its index in SWEEP/slurm/cells.txt."
    )]
    Cell {
        /// The sweep directory.
        sweep: PathBuf,
        /// The cell's name or index.
        cell: String,
    },
    /// Where every cell of a sweep stands: finished, diverged, interrupted, pending, running,
    /// failed, not started (with the Slurm task's state and the log's last line).
    #[command(after_help = "Example:\n  noisegd status sweeps/fmnist_mlp1")]
    Status {
        /// The sweep directory.
        sweep: PathBuf,
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

/// What a cluster asks of a job (`noisegd sweep --slurm`); each overrides the config's [slurm]
/// table.
#[derive(clap::Args)]
struct SlurmArgs {
    /// Slurm partition.
    #[arg(long, requires = "slurm")]
    partition: Option<String>,
    /// Time limit per cell, Slurm's format (e.g. 4:00:00).
    #[arg(long, requires = "slurm")]
    time: Option<String>,
    /// CPUs per cell (noisegd uses that many threads).
    #[arg(long, requires = "slurm")]
    cpus_per_task: Option<u32>,
    /// Generic resources per cell, e.g. gpu:1.
    #[arg(long, requires = "slurm")]
    gres: Option<String>,
    /// Memory per cell, e.g. 8G.
    #[arg(long, requires = "slurm")]
    mem: Option<String>,
    /// Account to charge.
    #[arg(long, requires = "slurm")]
    account: Option<String>,
    /// At most this many cells at a time (the array's %J).
    #[arg(long, requires = "slurm")]
    max_running: Option<u32>,
    /// Seconds before the time limit at which a cell is told to checkpoint and stop (default 120).
    #[arg(long, requires = "slurm")]
    signal_seconds: Option<u32>,
    /// A further #SBATCH option, verbatim, e.g. --sbatch=--qos=long (repeatable).
    #[arg(
        long = "sbatch",
        value_name = "OPTION",
        requires = "slurm",
        allow_hyphen_values = true
    )]
    extra: Vec<String>,
}

impl SlurmArgs {
    fn config(self) -> sweep::slurm::SlurmConfig {
        sweep::slurm::SlurmConfig {
            partition: self.partition,
            time: self.time,
            cpus_per_task: self.cpus_per_task,
            gres: self.gres,
            mem: self.mem,
            account: self.account,
            max_running: self.max_running,
            signal_seconds: self.signal_seconds,
            extra: self.extra,
        }
    }
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
            resume: Some(dir),
            device,
            ..
        } => {
            let device = device.map(|d| Backend::parse(&d)).transpose()?;
            experiments::resume(&dir, device, options)
        }
        Command::Run {
            config,
            mut set,
            out,
            device,
            ..
        } => {
            let config = config.expect("clap requires CONFIG without --resume");
            set.extend(device.map(|d| format!("device={d}")));
            let loaded = RunConfig::load(&config, &set)?;
            // The file as written, to tell a rerun whose overrides change its schedule.
            if let Ok(file) = RunConfig::load(&config, &[]) {
                if let Some(warning) = loaded.schedule_length_warning(&file) {
                    eprintln!("warning: {warning}");
                }
            }
            let config = loaded;
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
            slurm,
            dry_run,
            cluster,
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
            if !slurm {
                let report = sweep::run(&plan)?;
                println!("sweep finished; report: {}", report.display());
                return Ok(());
            }
            let cluster = cluster.config();
            cluster.validate()?;
            let prepared = sweep::prepare(&plan)?;
            let options = prepared.slurm.overridden_by(&cluster);
            options.validate()?;
            match sweep::slurm::submit(&prepared.out, &prepared.cells, &options, dry_run)? {
                Some(job) => println!(
                    "submitted job {job}; follow it with `noisegd status {}`, aggregate with `noisegd report {}`",
                    plan.out.display(),
                    plan.out.display()
                ),
                None if dry_run => println!(
                    "dry run: {} written, nothing submitted",
                    prepared.out.join("slurm/array.sh").display()
                ),
                None => println!("nothing to submit; `noisegd status {}` lists the cells", plan.out.display()),
            }
            Ok(())
        }
        Command::Cell { sweep: dir, cell } => {
            sweep::cell::run(&dir, &cell, options)?;
            Ok(())
        }
        Command::Status { sweep: dir } => {
            print!("{}", sweep::status::table(&sweep::status::cells(&dir)?));
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

fn default_out(root: &str, config: &RunConfig) -> PathBuf {
    let name = config::name(&config.experiment);
    Path::new(root).join(format!("{name}-seed{}-{}", config.seed, timestamp()))
}

/// UTC time as `YYYYMMDDTHHMMSS`, for default directory names.
fn timestamp() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.trim_end_matches('Z').replace(['-', ':'], "")
}
