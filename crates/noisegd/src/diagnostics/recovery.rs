//! How close an estimate is to a reference (the explicit solution, or the planted truth):
//! relative ℓ₂ distance, support and its F1 score, and the test error of a linear predictor.

/// `‖a − b‖ / ‖b‖` (with `‖b‖` floored at the smallest positive f64).
pub fn rel_dist(a: &[f64], b: &[f64]) -> f64 {
    let diff: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt();
    diff / b
        .iter()
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE)
}

/// Indices whose magnitude is above 1 % of the largest: averaged PGD iterates keep small
/// fluctuations around the explicit problem's exact zeros.
pub fn support(magnitudes: &[f64]) -> Vec<usize> {
    let scale = magnitudes.iter().fold(0f64, |m, v| m.max(v.abs()));
    (0..magnitudes.len())
        .filter(|&i| magnitudes[i].abs() > 1e-2 * scale.max(1e-12))
        .collect()
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
        // rows (1, 2) and (0, 1), β = (1, 1): fits 3 and 1 against 2 and 1
        assert_eq!(mse(&[1.0, 2.0, 0.0, 1.0], &[2.0, 1.0], &[1.0, 1.0]), 0.5);
        assert!(mse(&[], &[], &[1.0]).is_nan());
    }
}
