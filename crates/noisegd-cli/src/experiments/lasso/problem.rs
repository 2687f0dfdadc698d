//! The regression the lasso experiment runs on: the seeded synthetic sparse regression (with its
//! planted truth), a user's CSV table, or the diabetes data (no truth), split and standardized.

use crate::config::{DataName, RunConfig};
use anyhow::{Context, Result};
use noisegd::data::synthetic::{generate, SparseRegressionConfig};

/// The regression the experiment runs on.
pub struct Problem {
    /// One sentence for the report.
    pub description: String,
    /// Training rows.
    pub n: usize,
    /// Features.
    pub d: usize,
    /// Row-major `n × d`.
    pub x_rows: Vec<f64>,
    /// Training targets.
    pub y: Vec<f64>,
    /// Held-out rows, row-major.
    pub x_test_rows: Vec<f64>,
    /// Held-out targets.
    pub y_test: Vec<f64>,
    /// The planted coefficients and their support; `None` for real data, which have no truth.
    pub truth: Option<(Vec<f64>, Vec<usize>)>,
    /// Column names, for tables.
    pub feature_names: Option<Vec<String>>,
    /// Names of the feature columns that are constant on the training rows (zeroed by
    /// standardization, or left as they are): their coefficient carries nothing.
    pub constant_features: Vec<String>,
}

/// Generates or reads the data `config.data` names.
pub fn load_problem(config: &RunConfig) -> Result<Problem> {
    let l = &config.lasso;
    let data = &config.data;
    let table = match data.name {
        DataName::Synthetic => {
            let s = generate(&SparseRegressionConfig {
                n: l.n,
                d: l.d,
                sparsity: l.sparsity,
                noise_std: l.noise_std,
                normalize_columns: true,
                correlation: l.correlation,
                n_test: l.n_test,
                seed: config.seed,
            })
            .context("generating the synthetic sparse regression")?;
            return Ok(Problem {
                description: format!(
                    "Synthetic sparse regression: n = {}, d = {}, {} planted non-zeros, label noise std {}, feature correlation {}, columns scaled to (XᵀX)_ii = n, {} held-out test rows, seed {}.",
                    l.n, l.d, l.sparsity, l.noise_std, l.correlation, l.n_test, config.seed
                ),
                n: s.n,
                d: s.d,
                x_rows: s.x_rows,
                y: s.y,
                x_test_rows: s.x_test_rows,
                y_test: s.y_test,
                truth: Some((s.beta_star, s.support)),
                feature_names: None,
                constant_features: vec![],
            });
        }
        DataName::Csv => {
            let path = data
                .path
                .as_ref()
                .context("data.path is required for csv data")?;
            let target = data
                .target
                .as_deref()
                .context("data.target is required for csv data")?;
            noisegd::data::csv::read_regression_csv(path, target, &data.features)
                .context("reading the CSV table of `data.path`")?
        }
        DataName::Diabetes => noisegd::data::diabetes::load(),
        image => anyhow::bail!(
            "the lasso experiment runs on regression data (synthetic, csv, diabetes), not on the image data set {image:?}"
        ),
    };
    let mut split = table
        .split(data.test_fraction, config.seed)
        .with_context(|| format!("splitting {}", table.source))?;
    // Constant on the training rows, before standardization zeroes them.
    let constant_features = constant_columns(&split.x_rows, split.d)
        .into_iter()
        .map(|j| split.feature_names[j].clone())
        .collect();
    if data.standardize {
        split.standardize()?;
    }
    let scaling = match &split.standardization {
        Some(st) => format!(
            "features centered and scaled to (XᵀX)_ii = n, target `{}` centered and scaled to unit variance (training mean {:.4}, std {:.4}; test errors are in these units)",
            table.target_name, st.target_mean, st.target_std
        ),
        None => format!("raw features and target `{}` (not standardized)", table.target_name),
    };
    Ok(Problem {
        description: format!(
            "{}: {} rows × {} features; {} training rows, {} held-out test rows (data.test_fraction = {}, split with seed {}); {}. Real data have no planted truth, so the recovery metrics (distance to and support of the planted β) are not reported.",
            table.source, table.n, table.d, split.n, split.y_test.len(), data.test_fraction, config.seed, scaling
        ),
        n: split.n,
        d: split.d,
        x_rows: split.x_rows,
        y: split.y,
        x_test_rows: split.x_test_rows,
        y_test: split.y_test,
        truth: None,
        feature_names: Some(split.feature_names),
        constant_features,
    })
}

/// Columns of row-major `x_rows` (`d` columns) whose values are all equal.
fn constant_columns(x_rows: &[f64], d: usize) -> Vec<usize> {
    let Some(first) = x_rows.get(..d) else {
        return vec![];
    };
    (0..d)
        .filter(|&j| x_rows.chunks_exact(d).all(|row| row[j] == first[j]))
        .collect()
}
