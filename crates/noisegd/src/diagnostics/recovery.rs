//! How close an estimate is to a reference (the explicit solution, or the planted truth):
//! ℓ₂ distance (relative where the reference is not zero), support and its F1 score, and the
//! test error of a linear predictor.

/// `‖a − b‖`.
pub fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// `‖a − b‖ / ‖b‖`; NaN when `b` is zero, where no relative distance exists (use [`dist`]:
/// dividing by a floor printed 1e305 for an all-zero Lasso solution).
pub fn rel_dist(a: &[f64], b: &[f64]) -> f64 {
    let norm = b.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        dist(a, b) / norm
    } else {
        f64::NAN
    }
}

/// Indices whose magnitude is above 1 % of the largest: averaged PGD iterates keep small
/// fluctuations around the explicit problem's exact zeros. Only for an estimate whose largest
/// entry is signal; where it may be all noise (a zero solution), use [`support_above`].
pub fn support(magnitudes: &[f64]) -> Vec<usize> {
    let scale = magnitudes.iter().fold(0f64, |m, v| m.max(v.abs()));
    support_above(magnitudes, 1e-2 * scale.max(1e-12))
}

/// Indices whose magnitude is above `threshold`.
pub fn support_above(magnitudes: &[f64], threshold: f64) -> Vec<usize> {
    (0..magnitudes.len())
        .filter(|&i| magnitudes[i].abs() > threshold)
        .collect()
}

/// The size of a coefficient the data can explain, `max_j |X_jᵀy| / ‖X_j‖²` (the largest
/// one-feature least-squares coefficient): a scale for supports that does not depend on the
/// estimate (`x_rows` row-major with `y.len()` rows; zero columns are skipped).
pub fn coefficient_scale(x_rows: &[f64], y: &[f64]) -> f64 {
    let d = x_rows.len() / y.len().max(1);
    let (mut xty, mut xtx) = (vec![0.0; d], vec![0.0; d]);
    for (row, yi) in x_rows.chunks_exact(d.max(1)).zip(y) {
        for j in 0..d {
            xty[j] += row[j] * yi;
            xtx[j] += row[j] * row[j];
        }
    }
    (0..d)
        .filter(|&j| xtx[j] > 0.0)
        .map(|j| (xty[j] / xtx[j]).abs())
        .fold(0.0, f64::max)
}

/// F1 score of `found` against `truth` (1 when both are empty).
pub fn f1(found: &[usize], truth: &[usize]) -> f64 {
    if found.is_empty() && truth.is_empty() {
        return 1.0;
    }
    let hits = found.iter().filter(|i| truth.contains(i)).count() as f64;
    2.0 * hits / (found.len() + truth.len()) as f64
}

/// Mean squared error of the linear predictor `beta` on row-major `x_rows` (NaN without rows).
pub fn mse(x_rows: &[f64], y: &[f64], beta: &[f64]) -> f64 {
    if y.is_empty() {
        return f64::NAN;
    }
    let d = beta.len();
    let sq: f64 = x_rows
        .chunks_exact(d)
        .zip(y)
        .map(|(row, yi)| {
            let fit: f64 = row.iter().zip(beta).map(|(a, b)| a * b).sum();
            (yi - fit) * (yi - fit)
        })
        .sum();
    sq / y.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_support_distance_and_error_by_hand() {
        assert_eq!(f1(&[1, 2, 3], &[2, 3, 4, 5]), 2.0 * 2.0 / 7.0);
        assert_eq!(f1(&[], &[]), 1.0);
        assert_eq!(support(&[0.0, -5.0, 0.04, 0.06]), [1, 3]);
        assert!((rel_dist(&[1.0, 1.0], &[1.0, 0.0]) - 1.0).abs() < 1e-15);
        // A zero reference has no relative distance, only an absolute one.
        assert!(rel_dist(&[1e-9, 0.0], &[0.0, 0.0]).is_nan());
        assert_eq!(dist(&[3.0, 4.0], &[0.0, 0.0]), 5.0);
        // A support against a fixed scale: noise of 1e-6 is not support, whatever its largest.
        assert_eq!(support(&[1e-6, 3e-6, 0.0]), [0, 1]);
        assert!(support_above(&[1e-6, 3e-6, 0.0], 1e-2).is_empty());
        // rows (1, 0), (1, 2), y = (2, 4): X₀ᵀy/‖X₀‖² = 6/2, X₁ᵀy/‖X₁‖² = 8/4.
        assert_eq!(coefficient_scale(&[1.0, 0.0, 1.0, 2.0], &[2.0, 4.0]), 3.0);
        // rows (1, 2) and (0, 1), β = (1, 1): fits 3 and 1 against 2 and 1
        assert_eq!(mse(&[1.0, 2.0, 0.0, 1.0], &[2.0, 1.0], &[1.0, 1.0]), 0.5);
        assert!(mse(&[], &[], &[1.0]).is_nan());
    }
}
