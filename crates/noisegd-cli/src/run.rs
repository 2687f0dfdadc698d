//! The run directory: everything needed to understand and redo a run.
//!
//! ```text
//! DIR/config.toml    the resolved config (defaults and seed written out)
//! DIR/versions.json  noisegd, burn, rustc and git commit of the binary
//! DIR/metrics.csv    one row per logged step, flushed as the run goes
//! DIR/checkpoint.bin the latest checkpoint of a `train` run (for `noisegd run --resume DIR`)
//! DIR/summary.json   final figures and `status`: finished, diverged or interrupted
//! DIR/*.svg, *.png   plots
//! DIR/report.md      what was run and what came out: read this first
//! DIR/.lock          locked by the process writing the run (it holds that process's id)
//! ```

use crate::config::RunConfig;
use anyhow::{bail, Context, Result};
use noisegd::train::MetricsCsv;
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};

/// burn's version, pinned in Cargo.toml.
pub const BURN_VERSION: &str = "0.22.1";

/// Versions recorded with every run.
#[derive(Serialize)]
pub struct Versions {
    /// This tool.
    pub noisegd: &'static str,
    /// The framework.
    pub burn: &'static str,
    /// The compiler that built the binary.
    pub rustc: &'static str,
    /// Commit of the source tree the binary was built from.
    pub git_commit: &'static str,
}

impl Versions {
    /// The versions of this binary.
    pub fn current() -> Self {
        Self {
            noisegd: env!("CARGO_PKG_VERSION"),
            burn: BURN_VERSION,
            rustc: env!("NOISEGD_RUSTC_VERSION"),
            git_commit: env!("NOISEGD_GIT_COMMIT"),
        }
    }
}

/// An open run directory, held by this process for as long as it lives.
pub struct RunDir {
    path: PathBuf,
    /// Locked while this process writes the run: a second process (a sweep restarted while its
    /// old cells still run, a `--resume` typed twice) is refused instead of interleaving its
    /// rows and checkpoints with the first's. The OS releases the lock when the process ends,
    /// however it ends, so a killed run leaves no stale lock behind.
    _lock: fs::File,
}

impl RunDir {
    /// Creates `path` (and parents) for a new run. An existing directory that already holds a
    /// run is refused rather than overwritten.
    pub fn create(path: &Path, config: &RunConfig) -> Result<Self> {
        if path.join("config.toml").exists() || path.join("metrics.csv").exists() {
            bail!(
                "{} already holds a run (config.toml/metrics.csv present); choose another --out directory or remove it",
                path.display()
            );
        }
        fs::create_dir_all(path)
            .with_context(|| format!("cannot create run directory {}", path.display()))?;
        let dir = Self {
            path: path.to_path_buf(),
            _lock: lock(path)?,
        };
        dir.write_text("config.toml", &config.to_toml()?)?;
        dir.write_json("versions.json", &Versions::current())?;
        Ok(dir)
    }

    /// Opens the directory of an earlier run to resume it: it must hold that run's
    /// `config.toml`. Returns the directory and the config the run was started with.
    pub fn open(path: &Path) -> Result<(Self, RunConfig)> {
        let config_path = path.join("config.toml");
        if !config_path.exists() {
            bail!(
                "{} holds no run to resume (no config.toml); start one with `noisegd run CONFIG --out {}`",
                path.display(),
                path.display()
            );
        }
        let config = RunConfig::load(&config_path, &[]).with_context(|| {
            format!(
                "in the config of the run to resume, {}",
                config_path.display()
            )
        })?;
        let dir = Self {
            path: path.to_path_buf(),
            _lock: lock(path)?,
        };
        // A directory is writable only if a file can be made in it: find out now, not at the
        // first checkpoint.
        dir.write_text(".write-test", "")?;
        fs::remove_file(dir.file(".write-test")).ok();
        Ok((dir, config))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `status` in `summary.json`: `finished`, `diverged`, `interrupted`; `None` when there
    /// is no summary (the run was killed, or has not ended). A summary from before statuses
    /// existed counts as `finished`.
    pub fn status(path: &Path) -> Option<String> {
        let text = fs::read_to_string(path.join("summary.json")).ok()?;
        let summary: serde_json::Value = serde_json::from_str(&text).ok()?;
        Some(
            summary
                .get("status")
                .and_then(|s| s.as_str())
                .unwrap_or("finished")
                .to_string(),
        )
    }

    /// The wall time, in seconds, that earlier processes spent on this run: the `seconds` of the
    /// `summary.json` an interrupted process left (0 when there is none). A resumed run adds it
    /// to its own, so `seconds` counts every process that stopped cleanly; a process killed
    /// outright (kill -9, a node lost) writes no summary and its time goes uncounted.
    pub fn earlier_seconds(&self) -> f64 {
        let read = || -> Option<f64> {
            let text = fs::read_to_string(self.file("summary.json")).ok()?;
            serde_json::from_str::<serde_json::Value>(&text).ok()?["seconds"].as_f64()
        };
        read().unwrap_or(0.0)
    }

    /// `name` inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a text file atomically (temporary file, then rename), so a crash never leaves a
    /// half-written file behind.
    pub fn write_text(&self, name: &str, text: &str) -> Result<()> {
        let target = self.file(name);
        let tmp = self.file(&format!(".{name}.tmp"));
        if let Err(e) = fs::write(&tmp, text) {
            fs::remove_file(&tmp).ok();
            return Err(e).with_context(|| {
                format!(
                    "cannot write {} (the previous {name}, if any, is unchanged)",
                    tmp.display()
                )
            });
        }
        fs::rename(&tmp, &target)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), target.display()))?;
        Ok(())
    }

    /// Writes pretty JSON atomically.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        self.write_text(name, &(serde_json::to_string_pretty(value)? + "\n"))
    }

    /// Creates `metrics.csv` with the given columns.
    pub fn metrics(&self, columns: &[&str]) -> Result<MetricsCsv> {
        Ok(MetricsCsv::create(&self.file("metrics.csv"), columns)?)
    }
}

/// Locks `DIR/.lock` for this process and writes its id there, or says which process holds it.
fn lock(path: &Path) -> Result<fs::File> {
    let lock_path = path.join(".lock");
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let holder = fs::read_to_string(&lock_path).unwrap_or_default();
            bail!(
                "{} is in use by another noisegd process (pid {}, which holds {}): wait for it to end, or stop it with `kill {}` (it checkpoints and exits), then run again",
                path.display(),
                holder.trim(),
                lock_path.display(),
                holder.trim()
            );
        }
        // Some network file systems refuse locks altogether: the run goes on unguarded rather
        // than not at all.
        Err(fs::TryLockError::Error(e)) => eprintln!(
            "warning: cannot lock {} ({e}): nothing stops a second process from writing this run at the same time",
            lock_path.display()
        ),
    }
    use std::io::Write;
    file.set_len(0)?;
    write!(file, "{}", std::process::id())
        .with_context(|| format!("cannot write {}", lock_path.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_overwrite_an_existing_run() {
        let tmp = tempfile::tempdir().unwrap();
        let config = RunConfig::parse("experiment = \"lasso\"\n", &[]).unwrap();
        let dir = RunDir::create(tmp.path(), &config).unwrap();
        let mut m = dir.metrics(&["step", "loss"]).unwrap();
        m.row(&["0".into(), noisegd::train::num(0.5)]).unwrap();
        let before = fs::read_to_string(tmp.path().join("metrics.csv")).unwrap();
        let err = RunDir::create(tmp.path(), &config).err().unwrap();
        assert!(err.to_string().contains("already holds a run"), "{err}");
        assert_eq!(
            fs::read_to_string(tmp.path().join("metrics.csv")).unwrap(),
            before
        );
        assert_eq!(before, "step,loss\n0,0.5\n");
    }

    #[test]
    fn a_run_directory_is_held_by_one_writer_at_a_time() {
        let tmp = tempfile::tempdir().unwrap();
        let config = RunConfig::parse("experiment = \"lasso\"\n", &[]).unwrap();
        let held = RunDir::create(tmp.path(), &config).unwrap();
        let err = RunDir::open(tmp.path()).err().unwrap().to_string();
        let pid = std::process::id().to_string();
        assert!(
            err.contains("in use by another noisegd process") && err.contains(&pid),
            "{err}"
        );
        drop(held);
        RunDir::open(tmp.path()).expect("free again once the writer is gone");
    }
}
