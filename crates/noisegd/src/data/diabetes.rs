//! The diabetes data of Efron, Hastie, Johnstone and Tibshirani ("Least Angle Regression", 2004):
//! 442 patients, 10 baseline features (age, sex, body-mass index, blood pressure, six blood serum
//! measurements), target a measure of disease progression one year later.
//!
//! Shipped inside the `smartcore` crate (feature `datasets`), so nothing is downloaded. Its
//! features are stored as f32 and already centered and scaled (scikit-learn's version, each
//! column of norm 1); the targets are integers 25–346.

use super::table::RegressionTable;

/// The 442 × 10 diabetes table.
pub fn load() -> RegressionTable {
    let data = smartcore::dataset::diabetes::load_dataset();
    RegressionTable {
        source: "diabetes data (Efron et al. 2004, shipped by smartcore)".into(),
        feature_names: data.feature_names.clone(),
        target_name: "disease progression".into(),
        n: data.num_samples,
        d: data.num_features,
        x_rows: data.data.iter().map(|&v| f64::from(v)).collect(),
        y: data.target.iter().map(|&v| f64::from(v)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_all_442_rows_and_known_values() {
        let t = load();
        assert_eq!((t.n, t.d), (442, 10));
        assert_eq!((t.x_rows.len(), t.y.len()), (4420, 442));
        assert_eq!(t.feature_names[2], "BMI");
        // The first patient (the row linfa-datasets 0.8.1 drops): target 151, age 0.0380759.
        assert_eq!(t.y[0], 151.0);
        assert!(
            (t.x_rows[0] - 0.038_075_906).abs() < 1e-6,
            "{}",
            t.x_rows[0]
        );
        assert!(t.x_rows.iter().all(|v| v.is_finite()));
        let mean_y = t.y.iter().sum::<f64>() / 442.0;
        assert!((mean_y - 152.133).abs() < 1e-3, "{mean_y}");
    }
}
