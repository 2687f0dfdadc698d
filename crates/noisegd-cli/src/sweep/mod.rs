//! `noisegd sweep`: a grid of configs × seeds, each cell a normal run directory. Every cell is
//! resolved and checked first and its config written to `configs/`; then the cells run as child
//! `noisegd cell SWEEP CELL` processes, J at a time ([`cell`]: start, resume or skip), or as one
//! Slurm job array whose task i is that same command ([`slurm`]). Cells that have ended are
//! skipped, so running the same command again continues an interrupted sweep. `noisegd status`
//! lists every cell ([`status`]); the runs are aggregated by [`crate::report::sweep`].
//!
//! ```text
//! SWEEP/sweep.toml                      the command's grid, seeds and config, for the record
//! SWEEP/configs/<cell>.toml             each cell's resolved config, which its run reads
//! SWEEP/<key=value,...,seed=S>/         one run directory per cell
//! SWEEP/logs/<cell>.log                 a local child's stdout and stderr
//! SWEEP/logs/<cell>.out, .err           a Slurm task's (see [`slurm`] for SWEEP/slurm/)
//! SWEEP/sweep.md, sweep.csv, *.svg/png  the aggregate (also `noisegd report SWEEP`)
//! ```

pub mod cell;
pub mod slurm;
pub mod status;

/// Task index → cell name of a Slurm sweep (the order of [`cells`]).
pub const SLURM_CELLS: &str = "slurm/cells.txt";

use crate::config::RunConfig;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One `--grid key=v1,v2,...` axis, or a linked one, `--grid k1:k2=a1:a2,b1:b2,...`, whose keys
/// move together (one cell per tuple, not per combination): how a comparison gives each method
/// its own hyper-parameter, e.g. `noise.policy:noise.sigma=layer:0.05,rwp:0.01`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Axis {
    /// Dotted config key, e.g. `noise.sigma`; linked keys are joined by `:`.
    pub key: String,
    /// The values, as written (each goes through `--set key=value`); a linked axis's tuples are
    /// joined by `:`.
    pub values: Vec<String>,
}

/// Separates the keys (and each tuple's values) of a linked axis.
const LINK: char = ':';

impl Axis {
    /// Parses `key=v1,v2,...`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (key, values) = spec.split_once('=').with_context(|| {
            format!(
                "--grid expects key=v1,v2,... (for example noise.sigma=0.01,0.05), found `{spec}`"
            )
        })?;
        let key = key.trim().to_string();
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if key.is_empty() || values.is_empty() {
            bail!(
                "--grid `{spec}`: needs a key and at least one value, e.g. noise.sigma=0.01,0.05"
            );
        }
        let keys: Vec<&str> = key.split(LINK).map(str::trim).collect();
        if keys.contains(&"seed") {
            bail!("--grid seed=...: use --seeds K instead (seeds are the runs that get averaged)");
        }
        if keys.iter().any(|k| k.is_empty()) {
            bail!("--grid `{spec}`: an empty key in `{key}`; link keys as k1:k2=a1:a2,b1:b2");
        }
        for value in &values {
            let found = value.split(LINK).count();
            if found != keys.len() {
                bail!(
                    "--grid `{spec}`: the value `{value}` has {found} part(s) for the {} linked keys {}; write one value per key, joined by `:`",
                    keys.len(),
                    keys.join(", ")
                );
            }
        }
        Ok(Self { key, values })
    }

    /// The `(key, value)` assignments of the axis's `index`-th value (several for a linked axis).
    fn assignments(&self, index: usize) -> Vec<(String, String)> {
        self.key
            .split(LINK)
            .zip(self.values[index].split(LINK))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }
}

/// One run of the sweep: grid values and a seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// `(key, value)` for every axis, in the order the axes were given.
    pub assignments: Vec<(String, String)>,
    /// The run's seed.
    pub seed: u64,
}

impl Cell {
    /// Directory name: `key=value,...,seed=S`, with characters unsafe in file names replaced.
    pub fn name(&self) -> String {
        let mut parts: Vec<String> = self
            .assignments
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.push(format!("seed={}", self.seed));
        parts
            .join(",")
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "=.,_-+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// The `--set` overrides of this cell (after the sweep's own `--set`s).
    pub fn overrides(&self, base: &[String]) -> Vec<String> {
        let mut all = base.to_vec();
        all.extend(self.assignments.iter().map(|(k, v)| format!("{k}={v}")));
        all.push(format!("seed={}", self.seed));
        all
    }
}

/// Every combination of the axes' values, times `seeds` seeds starting at `first_seed`.
pub fn cells(axes: &[Axis], first_seed: u64, seeds: u64) -> Vec<Cell> {
    let mut combos: Vec<Vec<(String, String)>> = vec![vec![]];
    for axis in axes {
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                (0..axis.values.len()).map(move |i| {
                    let mut c = prefix.clone();
                    c.extend(axis.assignments(i));
                    c
                })
            })
            .collect();
    }
    combos
        .into_iter()
        .flat_map(|assignments| {
            (first_seed..first_seed + seeds).map(move |seed| Cell {
                assignments: assignments.clone(),
                seed,
            })
        })
        .collect()
}

/// What the sweep was asked to do.
pub struct SweepPlan {
    /// The base config file.
    pub config: PathBuf,
    /// `--set` overrides applied to every cell.
    pub set: Vec<String>,
    /// The grid.
    pub axes: Vec<Axis>,
    /// Seeds per grid point.
    pub seeds: u64,
    /// Child processes at a time (local sweeps).
    pub jobs: usize,
    /// The sweep directory.
    pub out: PathBuf,
    /// No progress bar.
    pub quiet: bool,
}

#[derive(Serialize)]
struct SweepRecord<'a> {
    config: String,
    set: &'a [String],
    grid: &'a [Axis],
    seeds: u64,
    first_seed: u64,
}

/// A sweep whose cells are resolved and written: what both ways of running it start from.
pub struct Prepared {
    /// The sweep directory, absolute (Slurm tasks and child processes may start elsewhere).
    pub out: PathBuf,
    /// Every cell, in grid order.
    pub cells: Vec<Cell>,
    /// The base config's `[slurm]` table.
    pub slurm: slurm::SlurmConfig,
}

/// Resolves and checks every cell's config, then writes `configs/`, `logs/` and `sweep.toml`.
pub fn prepare(plan: &SweepPlan) -> Result<Prepared> {
    let base = RunConfig::load(&plan.config, &plan.set)?;
    let cells = cells(&plan.axes, base.seed, plan.seeds);
    // Resolve every cell's config now: a typo in the grid costs nothing, and the cells run from
    // these snapshots, so editing the base config while the sweep runs changes nothing. The
    // [slurm] table is left out of them: it says how to submit, not what to run, and changing
    // it between two submissions must not look like an edited cell.
    let mut resolved = Vec::with_capacity(cells.len());
    for cell in &cells {
        let mut config = RunConfig::load(&plan.config, &cell.overrides(&plan.set))
            .and_then(|c| c.with_absolute_paths())
            .with_context(|| format!("in sweep cell {}", cell.name()))?;
        config.slurm = Default::default();
        resolved.push(config.to_toml()?);
    }
    let snapshots = plan.out.join("configs");
    for dir in [plan.out.join("logs"), snapshots.clone()] {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create sweep directory {}", dir.display()))?;
    }
    for (cell, text) in cells.iter().zip(&resolved) {
        let path = snapshots.join(format!("{}.toml", cell.name()));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let record = SweepRecord {
        config: plan.config.display().to_string(),
        set: &plan.set,
        grid: &plan.axes,
        seeds: plan.seeds,
        first_seed: base.seed,
    };
    std::fs::write(
        plan.out.join("sweep.toml"),
        toml::to_string_pretty(&record)?,
    )
    .with_context(|| format!("cannot write {}", plan.out.join("sweep.toml").display()))?;
    let out = std::fs::canonicalize(&plan.out)
        .with_context(|| format!("cannot resolve {}", plan.out.display()))?;
    Ok(Prepared {
        out,
        cells,
        slurm: base.slurm,
    })
}

/// Runs every unfinished cell of `plan` here, `plan.jobs` at a time, and aggregates all of
/// them; returns the report's path.
pub fn run(plan: &SweepPlan) -> Result<PathBuf> {
    let Prepared { cells, out, .. } = prepare(plan)?;
    let todo: Vec<&Cell> = cells
        .iter()
        .filter(|c| !cell::has_ended(&out.join(c.name())))
        .collect();
    eprintln!(
        "sweep: {} cells, {} already finished, {} to run with {} job(s)",
        cells.len(),
        cells.len() - todo.len(),
        todo.len(),
        plan.jobs
    );
    let bar = crate::experiments::progress(
        todo.len() as u64,
        "sweep",
        crate::experiments::RunOptions {
            quiet: plan.quiet,
            resume: false,
        },
    );
    crate::interrupt::stop_cleanly();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let exe = std::env::current_exe().context("cannot find the noisegd executable")?;
    std::thread::scope(|scope| {
        for _ in 0..plan.jobs.max(1) {
            scope.spawn(|| loop {
                if crate::interrupt::requested() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(cell) = todo.get(i) else { break };
                if let Err(e) = run_child(&exe, &out, cell) {
                    failures
                        .lock()
                        .expect("no worker panics while holding the lock")
                        .push(format!("{}: {e:#}", cell.name()));
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    if crate::interrupt::requested() {
        eprintln!("sweep interrupted: run the same command again to resume the unfinished cells");
    }
    let report = crate::report::sweep::report(
        std::slice::from_ref(&plan.out),
        &plan.out,
        &[],
        &Default::default(),
    )?;
    let failures = failures.into_inner().expect("workers are done");
    if !failures.is_empty() {
        bail!(
            "{} of {} cells failed (the others are aggregated in {}):\n  {}",
            failures.len(),
            todo.len(),
            report.display(),
            failures.join("\n  ")
        );
    }
    Ok(report)
}

/// Runs one cell as a child `noisegd cell SWEEP CELL` ([`cell::run`]: start, resume from the
/// checkpoint, or move an edited cell aside), its output appended to `logs/<cell>.log`.
fn run_child(exe: &Path, sweep: &Path, cell: &Cell) -> Result<()> {
    let log_path = sweep.join("logs").join(format!("{}.log", cell.name()));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let mut command = Command::new(exe);
    command
        .arg("--quiet")
        .arg("cell")
        .arg(sweep)
        .arg(cell.name())
        .stdout(log.try_clone()?)
        .stderr(Stdio::from(log));
    // The cell runs in a process group of its own, and this process passes a stop on to it as
    // one SIGTERM (the cell finishes its step and checkpoints). In the sweep's group a Ctrl-C
    // at the terminal would reach it directly, but a `kill PID` of the sweep (a user's, a
    // scheduler's) would not, and the sweep would wait for whole runs; and a Ctrl-C that
    // reached it both ways would count as the second one that quits without a checkpoint.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let mut passed_on = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if crate::interrupt::requested() && !passed_on {
            passed_on = true;
            #[cfg(unix)]
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: kill(2) takes plain integers; `pid` is our own unreaped child.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    if passed_on && status.code() == Some(crate::interrupt::EXIT_INTERRUPTED) {
        // Stopped as asked, with a checkpoint: the same command resumes it.
        return Ok(());
    }
    if !status.success() {
        bail!("exited with {status}; see {}", log_path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linked_axis_moves_its_keys_together() {
        let axes = [
            Axis::parse("noise.policy:noise.sigma=layer:0.05, rwp:0.01,sam:0").unwrap(),
            Axis::parse("optim.lr=0.1,0.2").unwrap(),
        ];
        let cells = cells(&axes, 0, 1);
        assert_eq!(
            cells.len(),
            3 * 2,
            "one cell per tuple, not per combination"
        );
        assert_eq!(
            cells[2].name(),
            "noise.policy=rwp,noise.sigma=0.01,optim.lr=0.1,seed=0"
        );
        assert_eq!(
            cells[5].overrides(&[]),
            [
                "noise.policy=sam",
                "noise.sigma=0",
                "optim.lr=0.2",
                "seed=0"
            ]
        );
        let err = Axis::parse("noise.policy:noise.sigma=layer:0.05,rwp")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`rwp` has 1 part(s) for the 2 linked keys"),
            "{err}"
        );
        let err = Axis::parse("noise.policy:seed=layer:1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--seeds"), "{err}");
    }

    #[test]
    fn a_grid_expands_to_every_combination_times_the_seeds() {
        let axes = vec![
            Axis::parse("noise.policy=all,layer").unwrap(),
            Axis::parse("noise.sigma=0.01, 0.05 ,0.1").unwrap(),
        ];
        let cells = cells(&axes, 7, 2);
        assert_eq!(cells.len(), 2 * 3 * 2);
        assert_eq!(cells[0].name(), "noise.policy=all,noise.sigma=0.01,seed=7");
        assert_eq!(cells[1].seed, 8);
        assert_eq!(
            cells.last().unwrap().name(),
            "noise.policy=layer,noise.sigma=0.1,seed=8"
        );
        let names: std::collections::BTreeSet<String> = cells.iter().map(Cell::name).collect();
        assert_eq!(names.len(), cells.len(), "cell names are unique");
        assert_eq!(
            cells[0].overrides(&["train.steps=10".into()]),
            vec![
                "train.steps=10",
                "noise.policy=all",
                "noise.sigma=0.01",
                "seed=7"
            ]
        );
    }

    #[test]
    fn bad_grid_specs_say_what_is_expected() {
        for bad in ["noise.sigma", "=1,2", "noise.sigma=", "seed=1,2"] {
            let e = Axis::parse(bad).unwrap_err().to_string();
            assert!(e.contains("--grid"), "{bad}: {e}");
        }
    }

    #[test]
    fn unsafe_characters_do_not_reach_the_directory_name() {
        let cell = Cell {
            assignments: vec![("data.path".into(), "../x/y z.csv".into())],
            seed: 0,
        };
        assert_eq!(cell.name(), "data.path=.._x_y_z.csv,seed=0");
    }
}
