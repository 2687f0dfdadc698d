//! `noisegd sweep ... --slurm`: the sweep's cells as one Slurm job array. Task `i` runs
//! `noisegd cell SWEEP i` ([`super::cell`]), which starts, resumes or skips cell `i` of
//! `slurm/cells.txt`; the script asks Slurm to requeue a preempted task and to send SIGTERM
//! `signal_seconds` before the time limit, on which a run checkpoints and exits. Submitting
//! again submits only the cells that have not ended and are not queued or running (`squeue`).
//!
//! ```text
//! SWEEP/slurm/array.sh        the batch script (#SBATCH lines from the options)
//! SWEEP/slurm/cells.txt       task index <TAB> cell name, for every cell of the grid
//! SWEEP/slurm/jobs.txt        job id <TAB> submitted indices <TAB> time, one line per submission
//! SWEEP/slurm/logs/%A_%a.out  Slurm's own messages per task (appended over requeues)
//! SWEEP/logs/<cell>.out/.err  the cell's output (appended over requeues)
//! ```

use super::cell::has_ended;
use super::{Cell, SLURM_CELLS};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// What a cluster asks of a job: the `[slurm]` table of a config, and `noisegd sweep --slurm`'s
/// options (which take precedence).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmConfig {
    /// `--partition`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// `--time`, Slurm's format (`30`, `4:00:00`, `1-12:00:00`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `--cpus-per-task`; noisegd then uses that many threads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus_per_task: Option<u32>,
    /// `--gres`, e.g. `gpu:1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gres: Option<String>,
    /// `--mem`, e.g. `8G`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    /// `--account`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// At most this many tasks at a time (`--array=...%J`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_running: Option<u32>,
    /// Seconds before the time limit at which Slurm sends SIGTERM (default 120): a run needs
    /// them to finish its step and write its checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_seconds: Option<u32>,
    /// Further `#SBATCH` lines, verbatim (e.g. `--qos=long`, `--constraint=a100`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<String>,
}

impl SlurmConfig {
    /// `self` with every option `over` sets taken from it.
    pub fn overridden_by(&self, over: &SlurmConfig) -> SlurmConfig {
        SlurmConfig {
            partition: over.partition.clone().or(self.partition.clone()),
            time: over.time.clone().or(self.time.clone()),
            cpus_per_task: over.cpus_per_task.or(self.cpus_per_task),
            gres: over.gres.clone().or(self.gres.clone()),
            mem: over.mem.clone().or(self.mem.clone()),
            account: over.account.clone().or(self.account.clone()),
            max_running: over.max_running.or(self.max_running),
            signal_seconds: over.signal_seconds.or(self.signal_seconds),
            extra: self.extra.iter().chain(&over.extra).cloned().collect(),
        }
    }

    /// Refuses values that would make a broken script, naming the option.
    pub fn validate(&self) -> Result<()> {
        for (key, v) in [
            ("partition", &self.partition),
            ("time", &self.time),
            ("gres", &self.gres),
            ("mem", &self.mem),
            ("account", &self.account),
        ] {
            if let Some(v) = v {
                if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c == '\'') {
                    bail!("invalid value for `slurm.{key}` (--{}): `{v}` must be one word without quotes", key.replace('_', "-"));
                }
            }
        }
        if self.cpus_per_task == Some(0) || self.max_running == Some(0) {
            bail!(
                "invalid value for `slurm.cpus_per_task`/`slurm.max_running`: must be ≥ 1, found 0"
            );
        }
        for line in &self.extra {
            if !line.trim_start().starts_with('-') || line.contains('\n') {
                bail!("invalid value for `slurm.extra` (--sbatch): `{line}` must be one sbatch option such as `--qos=long`");
            }
        }
        Ok(())
    }
}

/// The batch script of `sweep` (absolute), running `exe`.
pub fn script(sweep: &Path, exe: &Path, o: &SlurmConfig) -> String {
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let name = sweep
        .file_name()
        .map_or("sweep".into(), |n| n.to_string_lossy().to_string());
    let mut s = String::from("#!/bin/bash\n");
    let mut sb = |line: String| {
        let _ = writeln!(s, "#SBATCH {line}");
    };
    sb(format!("--job-name=noisegd-{}", shell_word(&name)));
    sb(format!(
        "--output={}",
        sweep.join("slurm/logs/%A_%a.out").display()
    ));
    sb("--open-mode=append".into());
    sb("--requeue".into());
    sb(format!(
        "--signal=B:TERM@{}",
        o.signal_seconds.unwrap_or(120)
    ));
    for (flag, v) in [
        ("partition", &o.partition),
        ("time", &o.time),
        ("gres", &o.gres),
        ("mem", &o.mem),
        ("account", &o.account),
    ] {
        if let Some(v) = v {
            sb(format!("--{flag}={v}"));
        }
    }
    if let Some(c) = o.cpus_per_task {
        sb(format!("--cpus-per-task={c}"));
    }
    for line in &o.extra {
        sb(line.trim().to_string());
    }
    let _ = write!(
        s,
        r#"
# Task i runs cell i of cells.txt: it starts the cell, resumes it from its checkpoint, or does
# nothing when it has ended. SIGTERM (time limit, scancel, preemption) reaches noisegd itself
# (exec), which finishes its step, writes a checkpoint and exits.
set -eu
sweep={sweep}
cell=$(awk -F'\t' -v i="$SLURM_ARRAY_TASK_ID" '$1 == i {{ print $2 }}' "$sweep/slurm/cells.txt")
if [ -z "$cell" ]; then
  echo "noisegd: no cell $SLURM_ARRAY_TASK_ID in $sweep/slurm/cells.txt" >&2
  exit 1
fi
# As many threads as CPUs were granted (results do not depend on it).
export RAYON_NUM_THREADS="${{SLURM_CPUS_PER_TASK:-1}}"
echo "== $(date -u +%FT%TZ) task ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}} (restart ${{SLURM_RESTART_COUNT:-0}}) on $(hostname)" >> "$sweep/logs/$cell.err"
exec {exe} --quiet cell "$sweep" "$cell" >> "$sweep/logs/$cell.out" 2>> "$sweep/logs/$cell.err"
"#,
        sweep = q(sweep),
        exe = q(exe),
    );
    s
}

/// `'…'` for the shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `s` with anything but `[A-Za-z0-9._-]` replaced, for a job name.
fn shell_word(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `slurm/cells.txt`: every cell's index and name.
pub fn write_cells(sweep: &Path, cells: &[Cell]) -> Result<()> {
    let text: String = cells
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{i}\t{}\n", c.name()))
        .collect();
    let path = sweep.join(SLURM_CELLS);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Slurm states in which a task will still run (or is running): such a cell is not submitted
/// again.
const LIVE: [&str; 9] = [
    "PENDING",
    "RUNNING",
    "CONFIGURING",
    "COMPLETING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "RESIZING",
    "SUSPENDED",
];

/// A task's state as Slurm reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskState {
    /// `JOBID_TASK`.
    pub id: String,
    /// `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, ...
    pub state: String,
    /// `scontrol`'s `Reason` or exit code, when known.
    pub detail: String,
}

impl TaskState {
    /// Whether the task is queued or running.
    pub fn is_live(&self) -> bool {
        LIVE.contains(&self.state.as_str())
    }
}

/// The job ids this sweep submitted (`slurm/jobs.txt`).
pub fn submitted_jobs(sweep: &Path) -> Vec<String> {
    std::fs::read_to_string(sweep.join("slurm/jobs.txt"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split('\t').next())
        .filter(|id| !id.is_empty())
        .map(String::from)
        .collect()
}

/// Task index → the latest state `squeue` knows for it, over the sweep's jobs (later jobs win).
/// Finished tasks stay visible for the cluster's `MinJobAge`; `None` when `squeue` cannot be run.
pub fn task_states(sweep: &Path) -> Option<BTreeMap<usize, TaskState>> {
    let mut out = BTreeMap::new();
    for job in submitted_jobs(sweep) {
        // One call per job: squeue refuses the whole list when one id has been forgotten.
        let o = Command::new("squeue")
            .args(["-h", "-r", "-t", "all", "-j", &job, "-o", "%i|%K|%T|%r"])
            .output()
            .ok()?;
        if !o.status.success() {
            continue;
        }
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let f: Vec<&str> = line.split('|').collect();
            if let [id, task, state, reason] = f[..] {
                if let Ok(i) = task.parse::<usize>() {
                    out.insert(
                        i,
                        TaskState {
                            id: id.to_string(),
                            state: state.to_string(),
                            detail: if reason == "None" {
                                String::new()
                            } else {
                                reason.to_string()
                            },
                        },
                    );
                }
            }
        }
    }
    Some(out)
}

/// Whether `program` can be run (found on PATH).
fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compresses sorted indices into Slurm's array syntax: `0-3,7,9-10`.
pub fn array_spec(indices: &[usize]) -> String {
    let mut parts = vec![];
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// Submits the cells of the prepared sweep `sweep` (absolute) that have not ended and are not
/// queued or running. With `dry_run` it writes the script and prints the command only. Returns
/// the job id, if one was submitted.
pub fn submit(
    sweep: &Path,
    cells: &[Cell],
    options: &SlurmConfig,
    dry_run: bool,
) -> Result<Option<String>> {
    if !dry_run && !on_path("sbatch") {
        bail!("--slurm needs Slurm's client commands (sbatch, squeue) on PATH, and none was found; nothing was submitted (the cells' configs are in {})", sweep.join("configs").display());
    }
    let slurm = sweep.join("slurm");
    std::fs::create_dir_all(slurm.join("logs"))
        .with_context(|| format!("cannot create {}", slurm.display()))?;
    write_cells(sweep, cells)?;
    let exe = std::env::current_exe().context("cannot find the noisegd executable")?;
    let script_path = slurm.join("array.sh");
    std::fs::write(&script_path, script(sweep, &exe, options))
        .with_context(|| format!("cannot write {}", script_path.display()))?;

    let live = if dry_run {
        BTreeMap::new()
    } else {
        task_states(sweep).unwrap_or_default()
    };
    let mut ended = 0;
    let mut queued = 0;
    let mut todo = vec![];
    for (i, cell) in cells.iter().enumerate() {
        if has_ended(&sweep.join(cell.name())) {
            ended += 1;
        } else if live.get(&i).is_some_and(TaskState::is_live) {
            queued += 1;
        } else {
            todo.push(i);
        }
    }
    eprintln!(
        "sweep: {} cells, {ended} ended, {queued} queued or running, {} to submit",
        cells.len(),
        todo.len()
    );
    if todo.is_empty() {
        return Ok(None);
    }
    let mut array = array_spec(&todo);
    if let Some(j) = options.max_running {
        write!(array, "%{j}")?;
    }
    let args = [
        "--parsable".to_string(),
        format!("--array={array}"),
        script_path.display().to_string(),
    ];
    let shown = format!("sbatch {}", args.join(" "));
    if dry_run {
        println!("{shown}");
        return Ok(None);
    }
    let o = Command::new("sbatch")
        .args(&args)
        .output()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !o.status.success() {
        bail!(
            "sbatch refused the job array: {}\ncommand: {shown}\nNothing that has finished was touched; fix the option and run the same noisegd command again.",
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    let out = String::from_utf8_lossy(&o.stdout);
    let job = out
        .trim()
        .split(';')
        .next()
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        .with_context(|| format!("sbatch answered `{}`, not a job id", out.trim()))?
        .to_string();
    let line = format!(
        "{job}\t{}\t{}\n",
        array,
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
    );
    let jobs = slurm.join("jobs.txt");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&jobs)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()))
        .with_context(|| format!("cannot record the job in {}", jobs.display()))?;
    Ok(Some(job))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_specs_compress_runs_of_indices() {
        assert_eq!(array_spec(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(array_spec(&[5]), "5");
        assert_eq!(array_spec(&[]), "");
    }

    #[test]
    fn the_script_carries_every_option_and_runs_the_cell_command() {
        let o = SlurmConfig {
            partition: Some("gpu".into()),
            time: Some("4:00:00".into()),
            cpus_per_task: Some(4),
            gres: Some("gpu:1".into()),
            mem: Some("16G".into()),
            account: Some("lab".into()),
            max_running: Some(8),
            signal_seconds: Some(300),
            extra: vec!["--qos=long".into()],
        };
        let s = script(Path::new("/scratch/it's/sw"), Path::new("/opt/noisegd"), &o);
        for line in [
            "#SBATCH --partition=gpu",
            "#SBATCH --time=4:00:00",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --mem=16G",
            "#SBATCH --account=lab",
            "#SBATCH --qos=long",
            "#SBATCH --requeue",
            "#SBATCH --signal=B:TERM@300",
            "#SBATCH --open-mode=append",
            "#SBATCH --job-name=noisegd-sw",
            "sweep='/scratch/it'\\''s/sw'",
            "exec '/opt/noisegd' --quiet cell \"$sweep\" \"$cell\"",
        ] {
            assert!(s.contains(line), "missing `{line}`:\n{s}");
        }
        let bad = SlurmConfig {
            partition: Some("gpu long".into()),
            ..SlurmConfig::default()
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(
            e.contains("slurm.partition") && e.contains("--partition"),
            "{e}"
        );
        let bad = SlurmConfig {
            extra: vec!["qos=long".into()],
            ..SlurmConfig::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("--sbatch"));
        // Command-line options win over the [slurm] table; extra lines add up.
        let merged = SlurmConfig {
            time: Some("1:00:00".into()),
            extra: vec!["--qos=a".into()],
            ..SlurmConfig::default()
        }
        .overridden_by(&SlurmConfig {
            time: Some("2:00:00".into()),
            extra: vec!["--qos=b".into()],
            ..SlurmConfig::default()
        });
        assert_eq!(merged.time.as_deref(), Some("2:00:00"));
        assert_eq!(merged.extra, ["--qos=a", "--qos=b"]);
    }
}
