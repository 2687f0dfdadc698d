//! `noisegd status SWEEP`: every cell of a sweep and where it stands. The cell's run directory
//! is the record that always lasts (its `summary.json` says finished, diverged or interrupted);
//! for a Slurm sweep, `squeue` adds whether a task is pending or running and how a task that
//! left no summary ended (for as long as the cluster keeps finished jobs); the cell's log gives
//! its last line.

use super::cell::cell_names;
use super::slurm::{task_states, TaskState};
use crate::run::RunDir;
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Where a cell stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellStatus {
    /// The cell's name.
    pub name: String,
    /// `finished`, `diverged`, `interrupted`, `pending`, `running`, `failed` or `not started`.
    pub state: String,
    /// The Slurm task and its state, when Slurm knows it.
    pub slurm: Option<TaskState>,
    /// The last non-empty line of the cell's newest log.
    pub last_line: String,
}

/// The status of every cell of `sweep`, in order.
pub fn cells(sweep: &Path) -> Result<Vec<CellStatus>> {
    let names = cell_names(sweep)?;
    let tasks = task_states(sweep).unwrap_or_default();
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, name)| status_of(sweep, name, tasks.get(&i)))
        .collect())
}

fn status_of(sweep: &Path, name: &str, task: Option<&TaskState>) -> CellStatus {
    let dir = sweep.join(name);
    let run = RunDir::status(&dir);
    let state = match (run.as_deref(), task) {
        (Some(s @ ("finished" | "diverged")), _) => s.to_string(),
        (_, Some(t)) if t.is_live() => t.state.to_lowercase(),
        (Some("interrupted"), _) => "interrupted".into(),
        // Started, not running, and it left no summary: killed, or it failed.
        _ if dir.join("config.toml").exists() => "failed".into(),
        (_, Some(_)) => "failed".into(),
        _ => "not started".into(),
    };
    CellStatus {
        name: name.to_string(),
        state,
        slurm: task.cloned(),
        last_line: last_log_line(sweep, name),
    }
}

/// The last non-empty line of the newest of `logs/<cell>.{err,out,log}`.
fn last_log_line(sweep: &Path, name: &str) -> String {
    let newest = ["err", "out", "log"]
        .iter()
        .map(|ext| sweep.join("logs").join(format!("{name}.{ext}")))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max_by_key(|(t, _)| *t);
    newest
        .and_then(|(_, p)| std::fs::read_to_string(p).ok())
        .and_then(|text| {
            text.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_default()
}

/// The table `noisegd status` prints: counts per state, then one row per cell.
pub fn table(statuses: &[CellStatus]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in statuses {
        *counts.entry(s.state.as_str()).or_default() += 1;
    }
    let mut out = format!(
        "{} cells: {}\n\n| cell | state | Slurm task | last log line |\n|---|---|---|---|\n",
        statuses.len(),
        counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for s in statuses {
        let slurm = s.slurm.as_ref().map_or(String::new(), |t| {
            if t.detail.is_empty() {
                format!("{} {}", t.id, t.state)
            } else {
                format!("{} {} ({})", t.id, t.state, t.detail)
            }
        });
        let line: String = s.last_line.chars().take(100).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {slurm} | {} |",
            s.name,
            s.state,
            line.replace('|', "\\|")
        );
    }
    out
}
