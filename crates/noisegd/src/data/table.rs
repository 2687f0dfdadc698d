//! A regression table (features and one target, no planted truth) and what the experiments do
//! with it before training: a seeded train/test split and standardization.
//!
//! Sources: a user's CSV file ([`super::csv`]) and the diabetes data ([`super::diabetes`]).
//!
//! Standardization uses the training rows' statistics only (the test rows are transformed with
//! them): every feature column is centered and scaled to `(XᵀX)_jj = n`, the normalization the
//! paper assumes (it makes the implied Lasso weights `λ_j = 2σ²(XᵀX)_jj/n` uniform), and the
//! target is centered and scaled to unit variance, because the models have no intercept and so
//! that one learning rate fits every data set.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::error::DataError;

/// Features and target of `n` rows, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionTable {
    /// Where the table came from (a path, or the name of a shipped data set).
    pub source: String,
    /// One name per feature column, in order.
    pub feature_names: Vec<String>,
    /// The target column's name.
    pub target_name: String,
    /// Rows.
    pub n: usize,
    /// Feature columns.
    pub d: usize,
    /// `x_rows[i*d + j]` = feature `j` of row `i`.
    pub x_rows: Vec<f64>,
    /// Targets.
    pub y: Vec<f64>,
}

/// A table split into training and test rows (see [`RegressionTable::split`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainTest {
    /// Where the table came from (as in the table).
    pub source: String,
    /// Feature names, as in the table.
    pub feature_names: Vec<String>,
    /// The target column's name.
    pub target_name: String,
    /// Training rows.
    pub n: usize,
    /// Features.
    pub d: usize,
    /// Row-major `n × d` training features.
    pub x_rows: Vec<f64>,
    /// Training targets.
    pub y: Vec<f64>,
    /// Row-major test features.
    pub x_test_rows: Vec<f64>,
    /// Test targets.
    pub y_test: Vec<f64>,
    /// The affine map applied by [`TrainTest::standardize`], if it was.
    pub standardization: Option<Standardization>,
}

/// What [`TrainTest::standardize`] did: `x' = (x − mean)·scale`, `y' = (y − y_mean)/y_std`.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardization {
    /// Training mean of each feature.
    pub feature_mean: Vec<f64>,
    /// Factor applied to each centered feature (0 for a constant column, which becomes 0).
    pub feature_scale: Vec<f64>,
    /// Training mean of the target.
    pub target_mean: f64,
    /// Training standard deviation (1/n) of the target.
    pub target_std: f64,
}

impl Standardization {
    /// Indices of the feature columns that are constant on the training rows (zeroed: they carry
    /// no information, and the Lasso leaves their coefficient at 0).
    pub fn constant_features(&self) -> Vec<usize> {
        (0..self.feature_scale.len())
            .filter(|&j| self.feature_scale[j] == 0.0)
            .collect()
    }
}

impl RegressionTable {
    /// Splits the rows at random into `round(test_fraction·n)` test rows and the rest, from one
    /// `ChaCha8Rng::seed_from_u64(seed)` stream (a Fisher–Yates shuffle written out, so that the
    /// split is fixed by the seed and the `rand` version). Both parts keep the file's order.
    /// At least one training row must remain.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<TrainTest, DataError> {
        if !(test_fraction.is_finite() && (0.0..1.0).contains(&test_fraction)) {
            return Err(DataError::config(
                "test_fraction",
                format!("must lie in [0, 1), found {test_fraction}"),
            ));
        }
        let n_test = (test_fraction * self.n as f64).round() as usize;
        if n_test >= self.n {
            return Err(DataError::config(
                "test_fraction",
                format!(
                    "{test_fraction} of {} rows leaves no training row; lower it",
                    self.n
                ),
            ));
        }
        let mut order: Vec<usize> = (0..self.n).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for k in 0..n_test {
            let pick = rng.random_range(k..self.n);
            order.swap(k, pick);
        }
        let mut is_test = vec![false; self.n];
        for &i in &order[..n_test] {
            is_test[i] = true;
        }
        let d = self.d;
        let mut out = TrainTest {
            source: self.source.clone(),
            feature_names: self.feature_names.clone(),
            target_name: self.target_name.clone(),
            n: self.n - n_test,
            d,
            x_rows: Vec::with_capacity((self.n - n_test) * d),
            y: Vec::with_capacity(self.n - n_test),
            x_test_rows: Vec::with_capacity(n_test * d),
            y_test: Vec::with_capacity(n_test),
            standardization: None,
        };
        for (i, row) in self.x_rows.chunks_exact(d).enumerate() {
            if is_test[i] {
                out.x_test_rows.extend_from_slice(row);
                out.y_test.push(self.y[i]);
            } else {
                out.x_rows.extend_from_slice(row);
                out.y.push(self.y[i]);
            }
        }
        Ok(out)
    }
}

impl TrainTest {
    /// Centers each feature and scales it to `(XᵀX)_jj = n` on the training rows, centers the
    /// target and scales it to unit variance, and applies the same map to the test rows (see
    /// the module docs). A constant training column becomes 0 (it carries no information; see
    /// [`Standardization::constant_features`]). A constant target is refused: centered, it is 0,
    /// and every model fits it with β = 0.
    pub fn standardize(&mut self) -> Result<(), DataError> {
        let (n, d) = (self.n, self.d);
        let nf = n as f64;
        let y_mean = self.y.iter().sum::<f64>() / nf;
        let var = self.y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / nf;
        // The same relative test as the feature columns: rounding leaves a tiny spread.
        if var.is_nan() || var <= 1e-24 * (1.0 + y_mean * y_mean) {
            return Err(DataError::ConstantTarget {
                source_name: self.source.clone(),
                target: self.target_name.clone(),
                rows: n,
                value: y_mean,
            });
        }
        let y_std = var.sqrt();
        let mut mean = vec![0.0; d];
        for row in self.x_rows.chunks_exact(d) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / nf;
            }
        }
        let mut sq = vec![0.0; d];
        for row in self.x_rows.chunks_exact(d) {
            for j in 0..d {
                sq[j] += (row[j] - mean[j]).powi(2);
            }
        }
        // ‖x_j − mean‖² = n after scaling; a column with (relative) zero spread is constant.
        let scale: Vec<f64> = (0..d)
            .map(|j| {
                if sq[j] > 1e-24 * nf * (1.0 + mean[j] * mean[j]) {
                    (nf / sq[j]).sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        for row in self
            .x_rows
            .chunks_exact_mut(d)
            .chain(self.x_test_rows.chunks_exact_mut(d))
        {
            for j in 0..d {
                row[j] = (row[j] - mean[j]) * scale[j];
            }
        }
        for v in self.y.iter_mut().chain(self.y_test.iter_mut()) {
            *v = (*v - y_mean) / y_std;
        }
        self.standardization = Some(Standardization {
            feature_mean: mean,
            feature_scale: scale,
            target_mean: y_mean,
            target_std: y_std,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: usize) -> RegressionTable {
        RegressionTable {
            source: "test".into(),
            feature_names: vec!["a".into(), "b".into(), "c".into()],
            target_name: "y".into(),
            n,
            d: 3,
            x_rows: (0..n)
                .flat_map(|i| [i as f64, (i * i) as f64, 5.0])
                .collect(),
            y: (0..n).map(|i| 10.0 + 2.0 * i as f64).collect(),
        }
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let t = table(50);
        let a = t.split(0.2, 7).unwrap();
        assert_eq!((a.n, a.y_test.len()), (40, 10));
        assert_eq!(a, t.split(0.2, 7).unwrap());
        assert_ne!(a.y_test, t.split(0.2, 8).unwrap().y_test);
        // Every row lands in exactly one part, with its features.
        let mut ys: Vec<f64> = a.y.iter().chain(&a.y_test).copied().collect();
        ys.sort_by(f64::total_cmp);
        assert_eq!(ys, t.y);
        for (row, y) in a.x_test_rows.chunks_exact(3).zip(&a.y_test) {
            assert_eq!(*y, 10.0 + 2.0 * row[0]);
        }
        assert_eq!(t.split(0.0, 1).unwrap().n, 50);
        let msg = t.split(0.999, 1).unwrap_err().to_string();
        assert!(msg.contains("test_fraction") && msg.contains("no training row"));
        assert!(t.split(1.0, 1).is_err() && t.split(-0.1, 1).is_err());
    }

    #[test]
    fn standardize_uses_training_statistics() {
        let mut s = table(40).split(0.25, 3).unwrap();
        let test_before = s.x_test_rows.clone();
        s.standardize().unwrap();
        let st = s.standardization.clone().unwrap();
        for j in 0..2 {
            let col: Vec<f64> = s.x_rows.chunks_exact(3).map(|r| r[j]).collect();
            assert!(col.iter().sum::<f64>().abs() < 1e-9);
            let sq: f64 = col.iter().map(|v| v * v).sum();
            assert!((sq - 30.0).abs() < 1e-9, "column {j}: {sq}");
        }
        // The constant column is zeroed, not divided by zero.
        assert_eq!(st.feature_scale[2], 0.0);
        assert_eq!(st.constant_features(), [2]);
        assert!(s.x_rows.chunks_exact(3).all(|r| r[2] == 0.0));
        let ym = s.y.iter().sum::<f64>() / 30.0;
        let yv = s.y.iter().map(|v| v * v).sum::<f64>() / 30.0;
        assert!(ym.abs() < 1e-12 && (yv - 1.0).abs() < 1e-12);
        // Test rows: the training map, not their own statistics.
        for (before, after) in test_before
            .chunks_exact(3)
            .zip(s.x_test_rows.chunks_exact(3))
        {
            let want = (before[0] - st.feature_mean[0]) * st.feature_scale[0];
            assert!((after[0] - want).abs() < 1e-12);
        }
    }

    #[test]
    fn a_constant_target_is_refused_by_name() {
        let mut t = table(20);
        t.y = vec![3.5; 20];
        let mut s = t.split(0.25, 1).unwrap();
        let msg = s.standardize().unwrap_err().to_string();
        assert!(
            msg.contains("test:")
                && msg.contains("`y`")
                && msg.contains("constant on the 15 training rows")
                && msg.contains("3.5")
                && msg.contains("data.target"),
            "{msg}"
        );
        assert!(s.standardization.is_none());
    }
}
