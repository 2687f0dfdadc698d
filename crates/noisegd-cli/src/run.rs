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
//! ```

use crate::config::RunConfig;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::fs::{self, File};
use std::io::BufWriter;
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

/// An open run directory.
pub struct RunDir {
    path: PathBuf,
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

    /// Opens `metrics.csv` with the given columns.
    pub fn metrics(&self, columns: &[&str]) -> Result<MetricsWriter> {
        let path = self.file("metrics.csv");
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer
            .write_record(columns)
            .and_then(|_| writer.flush().map_err(Into::into))
            .with_context(|| format!("cannot write to {}", path.display()))?;
        Ok(MetricsWriter {
            writer,
            columns: columns.len(),
            path,
        })
    }

    /// Puts back `metrics.csv` as a checkpoint saved it (`text`: the header and the rows up to
    /// the checkpoint; rows logged after it are dropped, the resumed run logs them again) and
    /// opens it to append.
    pub fn metrics_resumed(&self, columns: &[&str], text: &str) -> Result<MetricsWriter> {
        let path = self.file("metrics.csv");
        let header = text.lines().next().unwrap_or("");
        if header != columns.join(",") {
            bail!(
                "the checkpoint's metrics have columns `{header}`, this version writes `{}`: resume with the version that started the run (versions.json)",
                columns.join(",")
            );
        }
        self.write_text("metrics.csv", text)?;
        let file = fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {} to append", path.display()))?;
        Ok(MetricsWriter {
            writer: csv::Writer::from_writer(BufWriter::new(file)),
            columns: columns.len(),
            path,
        })
    }
}

/// `metrics.csv`, one row per logged step, flushed after every row so that a killed run keeps
/// everything it logged.
pub struct MetricsWriter {
    writer: csv::Writer<BufWriter<File>>,
    columns: usize,
    path: PathBuf,
}

impl MetricsWriter {
    /// Appends one row; values are written with Rust's shortest round-trip formatting, so the
    /// file holds the exact numbers.
    pub fn row(&mut self, values: &[String]) -> Result<()> {
        assert_eq!(
            values.len(),
            self.columns,
            "metrics row width must match the header"
        );
        self.writer
            .write_record(values)
            .and_then(|_| self.writer.flush().map_err(Into::into))
            .with_context(|| format!("cannot write to {}", self.path.display()))
    }
}

/// Whether step `done` (counted from 1) gets a metrics row: every `log_every` steps, the last
/// step, and the 1-2-5 sequence (1, 2, 5, 10, 20, 50, ...) so that log-scale plots have points
/// in the first decades too.
pub fn should_log(done: u64, log_every: u64, steps: u64) -> bool {
    if done.is_multiple_of(log_every) || done == steps {
        return true;
    }
    let mut decade = 1;
    while decade <= done {
        if [decade, 2 * decade, 5 * decade].contains(&done) {
            return true;
        }
        decade *= 10;
    }
    false
}

/// Formats a float for the metrics file.
pub fn num(x: f64) -> String {
    format!("{x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_on_the_grid_the_last_step_and_a_log_spaced_start() {
        let logged: Vec<u64> = (1..=1000).filter(|&d| should_log(d, 300, 1000)).collect();
        assert_eq!(
            logged,
            [1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 600, 900, 1000]
        );
    }

    #[test]
    fn refuses_to_overwrite_an_existing_run() {
        let tmp = tempfile::tempdir().unwrap();
        let config = RunConfig::parse("experiment = \"lasso\"\n", &[]).unwrap();
        let dir = RunDir::create(tmp.path(), &config).unwrap();
        let mut m = dir.metrics(&["step", "loss"]).unwrap();
        m.row(&["0".into(), num(0.5)]).unwrap();
        let before = fs::read_to_string(tmp.path().join("metrics.csv")).unwrap();
        let err = RunDir::create(tmp.path(), &config).err().unwrap();
        assert!(err.to_string().contains("already holds a run"), "{err}");
        assert_eq!(
            fs::read_to_string(tmp.path().join("metrics.csv")).unwrap(),
            before
        );
        assert_eq!(before, "step,loss\n0,0.5\n");
    }
}
