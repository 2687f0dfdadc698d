//! `noisegd cell SWEEP CELL`: one cell of a prepared sweep, safe to run any number of times. It
//! starts the cell, resumes it from its checkpoint, or does nothing when it has ended; a run
//! directory made from another config (the base config was edited between two submissions) is
//! moved aside, never overwritten. The local sweep runs its cells through it, and every Slurm
//! array task is this command, so a task that is cancelled, preempted or requeued continues
//! where its last checkpoint left it.

use super::SLURM_CELLS;
use crate::experiments::{self, RunOptions};
use crate::run::RunDir;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Whether the run directory `dir` has ended (finished or diverged); an interrupted or killed
/// run is resumed instead.
pub fn has_ended(dir: &Path) -> bool {
    matches!(
        RunDir::status(dir).as_deref(),
        Some("finished" | "diverged")
    )
}

/// The cells of a prepared sweep, in order: `configs/<cell>.toml` file stems, sorted as the
/// grid wrote them when `slurm/cells.txt` exists (its index is the array task id), else by name.
pub fn cell_names(sweep: &Path) -> Result<Vec<String>> {
    let listed = sweep.join(SLURM_CELLS);
    if let Ok(text) = std::fs::read_to_string(&listed) {
        return text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, line)| match line.split_once('\t') {
                Some((index, name)) if index == i.to_string() => Ok(name.to_string()),
                _ => bail!(
                    "{}, line {}: expected `{i}<TAB><cell name>`, found `{line}`",
                    listed.display(),
                    i + 1
                ),
            })
            .collect();
    }
    let configs = sweep.join("configs");
    let mut names: Vec<String> = std::fs::read_dir(&configs)
        .with_context(|| {
            format!(
                "{} is not a prepared sweep (no {}): run `noisegd sweep CONFIG ... --out {}` first",
                sweep.display(),
                configs.display(),
                sweep.display()
            )
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    Ok(names)
}

/// The cell `which` names: a cell name, or an index into [`cell_names`].
pub fn resolve(sweep: &Path, which: &str) -> Result<String> {
    let names = cell_names(sweep)?;
    if names.iter().any(|n| n == which) {
        return Ok(which.to_string());
    }
    match which.parse::<usize>() {
        Ok(i) if i < names.len() => Ok(names[i].clone()),
        Ok(i) => bail!(
            "cell index {i} is out of range: {} has {} cells (0..{})",
            sweep.display(),
            names.len(),
            names.len().saturating_sub(1)
        ),
        Err(_) => bail!(
            "{} has no cell `{which}`; its cells: {}",
            sweep.display(),
            names.join(", ")
        ),
    }
}

/// What running a cell did.
#[derive(Debug, PartialEq, Eq)]
pub enum CellAction {
    /// It had ended already.
    Nothing,
    /// It continued from its checkpoint.
    Resumed,
    /// It started afresh (an unusable directory, if any, moved to the path given).
    Started(Option<PathBuf>),
}

/// Runs cell `which` of `sweep` to its end (see the module documentation).
pub fn run(sweep: &Path, which: &str, options: RunOptions) -> Result<CellAction> {
    let name = resolve(sweep, which)?;
    let dir = sweep.join(&name);
    let snapshot = sweep.join("configs").join(format!("{name}.toml"));
    if has_ended(&dir) {
        println!(
            "{}: {} already",
            name,
            RunDir::status(&dir).unwrap_or_default()
        );
        return Ok(CellAction::Nothing);
    }
    // Resume only the very run this cell asks for.
    let wanted = std::fs::read_to_string(&snapshot)
        .with_context(|| format!("cannot read {}", snapshot.display()))?;
    let same = std::fs::read_to_string(dir.join("config.toml")).is_ok_and(|t| t == wanted);
    if same {
        eprintln!("{name}: resuming {}", dir.display());
        experiments::resume(&dir, None, options)?;
        return Ok(CellAction::Resumed);
    }
    let mut aside = None;
    if dir.exists() {
        let to = sweep.join(format!("{name}.unfinished-{}", std::process::id()));
        std::fs::rename(&dir, &to)
            .with_context(|| format!("cannot move the unfinished run {} aside", dir.display()))?;
        eprintln!(
            "{name}: {} was made from another config; moved to {}",
            dir.display(),
            to.display()
        );
        aside = Some(to);
    }
    let config = crate::config::RunConfig::load(&snapshot, &[])?;
    experiments::execute(&config, &dir, options)?;
    Ok(CellAction::Started(aside))
}
