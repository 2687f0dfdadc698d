//! A user's regression table from a CSV file: a header row naming the columns is required, one
//! column is the target, and the others (or a listed subset) are the features.
//!
//! Parsing is the `csv` crate's (quoting, CRLF, a UTF-8 byte-order mark); cells are trimmed and
//! read as `f64`. Every refusal is a [`DataError`] that names the file, the 1-based line and,
//! where there is one, the column (number and name), e.g.
//! ``data.csv, line 7, column 3 (`bmi`): `12,5` is not a number``. Refused: an empty file, a
//! header without data rows, a first line that looks like data (no header), duplicate column
//! names, a missing target or feature column (the columns found are listed), ragged rows,
//! cells that are not numbers, and NaN or infinite values.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::DataError;
use super::table::RegressionTable;

/// Reads `path` as a regression table with the target column `target`. `features` lists the
/// feature columns in the order wanted; empty means every column but the target, in file order.
pub fn read_regression_csv(
    path: impl AsRef<Path>,
    target: &str,
    features: &[String],
) -> Result<RegressionTable, DataError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| {
        DataError::io(
            path,
            e,
            "a CSV file with a header row, e.g. `x1,x2,y` then one row of numbers per sample",
        )
    })?;
    read_regression(file, path, target, features)
}

/// [`read_regression_csv`] from any reader; `path` is only used in messages.
pub fn read_regression(
    reader: impl Read,
    path: impl Into<PathBuf>,
    target: &str,
    features: &[String],
) -> Result<RegressionTable, DataError> {
    let path = path.into();
    let err = |location: String, message: String| DataError::Csv {
        path: path.clone(),
        location,
        message,
    };
    let mut csv = ::csv::ReaderBuilder::new()
        .has_headers(true)
        // Ragged rows are reported here, with the header's width, rather than by the crate.
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(reader);

    let header: Vec<String> = csv
        .headers()
        .map_err(|e| err(position(&e), syntax(&e)))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(DataError::Empty { path });
    }
    if header.iter().all(|h| h.parse::<f64>().is_ok()) {
        return Err(err(
            "line 1".into(),
            format!(
                "the first line ({}) is all numbers: a header row naming the columns is required",
                header.join(",")
            ),
        ));
    }
    for (j, name) in header.iter().enumerate() {
        if name.is_empty() {
            return Err(err(
                format!("line 1, column {}", j + 1),
                "empty column name: every column needs a name in the header".into(),
            ));
        }
        if let Some(k) = header[..j].iter().position(|h| h == name) {
            return Err(err(
                format!("line 1, column {}", j + 1),
                format!(
                    "duplicate column name `{name}` (also column {}): names must be unique",
                    k + 1
                ),
            ));
        }
    }
    let found = || {
        header
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let target_col = header.iter().position(|h| h == target).ok_or_else(|| {
        err(
            "line 1".into(),
            format!(
                "no target column `{target}` (the `data.target` setting); columns found: {}",
                found()
            ),
        )
    })?;
    let feature_cols: Vec<usize> = if features.is_empty() {
        (0..header.len()).filter(|&j| j != target_col).collect()
    } else {
        features
            .iter()
            .map(|f| {
                if f == target {
                    return Err(err(
                        "line 1".into(),
                        format!("`{f}` is the target and cannot also be a feature"),
                    ));
                }
                header.iter().position(|h| h == f).ok_or_else(|| {
                    err(
                        "line 1".into(),
                        format!("no feature column `{f}`; columns found: {}", found()),
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    if feature_cols.is_empty() {
        return Err(err(
            "line 1".into(),
            format!("no feature column: the only column is the target `{target}`"),
        ));
    }

    let d = feature_cols.len();
    let (mut x_rows, mut y) = (vec![], vec![]);
    let mut record = ::csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(err(position(&e), syntax(&e))),
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            return Err(err(
                format!("line {line}"),
                format!(
                    "{} fields, but the header has {} columns (ragged row)",
                    record.len(),
                    header.len()
                ),
            ));
        }
        let cell = |j: usize| -> Result<f64, DataError> {
            let raw = &record[j];
            let at = format!("line {line}, column {} (`{}`)", j + 1, header[j]);
            let v: f64 = raw.parse().map_err(|_| {
                err(
                    at.clone(),
                    if raw.is_empty() {
                        "empty cell: every cell must hold a number".to_string()
                    } else {
                        format!("`{raw}` is not a number")
                    },
                )
            })?;
            if !v.is_finite() {
                return Err(err(
                    at,
                    format!("`{raw}` is not finite: NaN and infinite values are not allowed"),
                ));
            }
            Ok(v)
        };
        for &j in &feature_cols {
            x_rows.push(cell(j)?);
        }
        y.push(cell(target_col)?);
    }
    if y.is_empty() {
        return Err(err(
            "line 2".into(),
            "no data rows: the file has a header but no rows of numbers".into(),
        ));
    }
    Ok(RegressionTable {
        source: path.display().to_string(),
        feature_names: feature_cols.iter().map(|&j| header[j].clone()).collect(),
        target_name: target.to_string(),
        n: y.len(),
        d,
        x_rows,
        y,
    })
}

/// `line L` of a csv error, or `line ?` when the crate does not say.
fn position(e: &::csv::Error) -> String {
    e.position()
        .map_or("line ?".into(), |p| format!("line {}", p.line()))
}

/// The csv crate's complaint without its own position prefix.
fn syntax(e: &::csv::Error) -> String {
    match e.kind() {
        ::csv::ErrorKind::Utf8 { err, .. } => {
            format!(
                "invalid UTF-8 in field {}: the file must be UTF-8 text",
                err.field() + 1
            )
        }
        ::csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        _ => format!("malformed CSV: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, target: &str, features: &[&str]) -> Result<RegressionTable, DataError> {
        let features: Vec<String> = features.iter().map(|s| s.to_string()).collect();
        read_regression(text.as_bytes(), "dir/data.csv", target, &features)
    }

    /// The message names the file and contains every needle.
    fn refused(text: &str, target: &str, needles: &[&str]) {
        let msg = read(text, target, &[]).unwrap_err().to_string();
        eprintln!("  {msg}");
        assert!(msg.starts_with("dir/data.csv"), "{msg}");
        for n in needles {
            assert!(msg.contains(n), "lacks {n:?}: {msg}");
        }
    }

    #[test]
    fn reads_features_and_target_by_name() {
        let t = read("\u{feff}a, y ,b\r\n1,2,3\r\n\"4\",5, 6e-1\r\n", "y", &[]).unwrap();
        assert_eq!(t.feature_names, ["a", "b"]);
        assert_eq!((t.n, t.d), (2, 2));
        assert_eq!(t.x_rows, [1.0, 3.0, 4.0, 0.6]);
        assert_eq!(t.y, [2.0, 5.0]);
        assert_eq!(t.source, "dir/data.csv");
        // A listed subset, in the listed order.
        let t = read("a,b,c,y\n1,2,3,4\n", "y", &["c", "a"]).unwrap();
        assert_eq!(
            (t.feature_names.clone(), t.x_rows),
            (vec!["c".to_string(), "a".to_string()], vec![3.0, 1.0])
        );
    }

    #[test]
    fn malformed_tables_name_file_line_and_column() {
        refused("", "y", &["empty file"]);
        refused("a,b,y\n", "y", &["line 2", "no data rows"]);
        refused(
            "a,b,c\n1,2,3\n",
            "y",
            &["line 1", "`y`", "columns found: `a`, `b`, `c`"],
        );
        refused(
            "a,b,y\n1,2,3\n4,x5,6\n",
            "y",
            &["line 3, column 2 (`b`)", "`x5` is not a number"],
        );
        refused(
            "a,b,y\n1,2,3\n4,5\n",
            "y",
            &["line 3", "2 fields", "header has 3"],
        );
        refused("a,b,y\n1,2,3,4\n", "y", &["line 2", "4 fields"]);
        refused(
            "a,b,y\n1,NaN,3\n",
            "y",
            &["line 2, column 2 (`b`)", "`NaN`", "not finite"],
        );
        refused(
            "a,b,y\n1,2,-inf\n",
            "y",
            &["line 2, column 3 (`y`)", "not finite"],
        );
        refused("a,b,y\n1,,3\n", "y", &["line 2, column 2", "empty cell"]);
        refused("1,2,3\n4,5,6\n", "y", &["line 1", "header row", "required"]);
        refused(
            "a,a,y\n1,2,3\n",
            "y",
            &["column 2", "duplicate column name `a`"],
        );
        refused("y\n1\n", "y", &["no feature column"]);
        let msg = read("a,y\n1,2\n", "y", &["z"]).unwrap_err().to_string();
        assert!(
            msg.contains("no feature column `z`") && msg.contains("`a`, `y`"),
            "{msg}"
        );
        let msg = read("a,y\n1,2\n", "y", &["y"]).unwrap_err().to_string();
        assert!(msg.contains("cannot also be a feature"), "{msg}");
        let bad_utf8 = read_regression(&b"a,y\n1,\xff\n"[..], "x.csv", "y", &[]).unwrap_err();
        assert!(bad_utf8.to_string().contains("UTF-8"), "{bad_utf8}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let msg = read_regression_csv("/nonexistent/dir/t.csv", "y", &[])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("/nonexistent/dir/t.csv") && msg.contains("not found"),
            "{msg}"
        );
    }
}
