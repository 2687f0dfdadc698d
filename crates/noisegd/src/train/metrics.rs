//! The metrics sink of a run: `metrics.csv`, one row per logged step, and the cadence of those
//! rows.
//!
//! Rows are flushed as they are written, so a killed run keeps everything it logged; values are
//! written with Rust's shortest round-trip formatting ([`num`]), so the file holds the exact
//! numbers and a summary rebuilt from it equals the one the run computed. A checkpoint carries
//! the file's text ([`MetricsCsv::text`]), and a resumed run puts that text back
//! ([`MetricsCsv::resume`]): rows logged after the checkpoint are dropped and logged again.

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

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

/// Formats a float for the metrics file (shortest round trip: parsing it back gives `x`).
pub fn num(x: f64) -> String {
    format!("{x}")
}

/// `metrics.csv` of a run, open for appending rows.
pub struct MetricsCsv {
    writer: csv::Writer<BufWriter<File>>,
    columns: usize,
    path: PathBuf,
}

fn io_error(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.to_path_buf(),
        action: what.to_string(),
        message: e.to_string(),
    }
}

impl MetricsCsv {
    /// Creates (or truncates) `path` with the header `columns`.
    pub fn create(path: &Path, columns: &[&str]) -> Result<Self> {
        let file = File::create(path).map_err(|e| io_error(path, "create", e))?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer
            .write_record(columns)
            .and_then(|_| writer.flush().map_err(Into::into))
            .map_err(|e| io_error(path, "write to", e))?;
        Ok(Self {
            writer,
            columns: columns.len(),
            path: path.to_path_buf(),
        })
    }

    /// Puts back `path` as a checkpoint saved it (`text`: the header and the rows up to the
    /// checkpoint), written atomically, and opens it to append. A header other than `columns`
    /// is refused: the run was started by a version that logged other figures.
    pub fn resume(path: &Path, columns: &[&str], text: &str) -> Result<Self> {
        let header = text.lines().next().unwrap_or("");
        if header != columns.join(",") {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                message: format!(
                    "the checkpoint's metrics have columns `{header}`, this version writes `{}`: resume with the version that started the run (versions.json)",
                    columns.join(",")
                ),
            });
        }
        let tmp = path.with_extension("csv.tmp");
        fs::write(&tmp, text)
            .and_then(|_| fs::rename(&tmp, path))
            .map_err(|e| io_error(path, "restore", e))?;
        let file = fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| io_error(path, "open to append", e))?;
        Ok(Self {
            writer: csv::Writer::from_writer(BufWriter::new(file)),
            columns: columns.len(),
            path: path.to_path_buf(),
        })
    }

    /// Appends one row (as many values as the header has columns) and flushes it.
    pub fn row(&mut self, values: &[String]) -> Result<()> {
        if values.len() != self.columns {
            return Err(Error::Shape {
                context: format!("a row of {}", self.path.display()),
                expected: format!("{} values", self.columns),
                found: values.len().to_string(),
            });
        }
        self.writer
            .write_record(values)
            .and_then(|_| self.writer.flush().map_err(Into::into))
            .map_err(|e| io_error(&self.path, "write to", e))
    }

    /// The file as written so far (what a checkpoint keeps).
    pub fn text(&self) -> Result<Vec<u8>> {
        fs::read(&self.path).map_err(|e| io_error(&self.path, "read back", e))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
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
    fn rows_round_trip_and_a_resume_drops_what_came_after_the_checkpoint() {
        let tmp = std::env::temp_dir().join(format!("noisegd-metrics-{}", std::process::id()));
        fs::create_dir_all(&tmp).unwrap();
        let path = tmp.join("metrics.csv");
        let mut m = MetricsCsv::create(&path, &["step", "loss"]).unwrap();
        m.row(&["1".into(), num(0.1 + 0.2)]).unwrap();
        let saved = m.text().unwrap();
        m.row(&["2".into(), num(0.5)]).unwrap();
        assert!(m.row(&["3".into()]).is_err(), "a short row is refused");
        let text = String::from_utf8(saved).unwrap();
        assert_eq!(text, "step,loss\n1,0.30000000000000004\n");
        let back: f64 = text
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(back, 0.1 + 0.2);
        let mut m = MetricsCsv::resume(&path, &["step", "loss"], &text).unwrap();
        m.row(&["2".into(), num(0.25)]).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "step,loss\n1,0.30000000000000004\n2,0.25\n"
        );
        let err = MetricsCsv::resume(&path, &["step", "acc"], &text)
            .err()
            .unwrap();
        assert!(err.to_string().contains("columns `step,loss`"), "{err}");
        fs::remove_dir_all(&tmp).ok();
    }
}
