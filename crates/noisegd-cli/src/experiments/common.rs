//! Small pieces the regression experiments share.

use burn::tensor::Tensor;

/// A tensor's values as f64 (after leaving autodiff).
pub fn to_f64<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.inner()
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// f64 values as f32, for building tensors.
pub fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|x| *x as f32).collect()
}

/// `‖a − b‖ / ‖b‖`.
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

/// Mean squared error of the linear predictor `beta` on row-major `x_rows`.
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

/// The name a config uses for an enum value (`"layer"`, `"sgd"`).
pub fn name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// First step of the iterate-averaging window that covers the last `fraction` of `steps`.
pub fn average_from(steps: u64, fraction: f64) -> u64 {
    steps - ((fraction * steps as f64).ceil() as u64).clamp(1, steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_and_support_by_hand() {
        assert_eq!(f1(&[1, 2, 3], &[2, 3, 4, 5]), 2.0 * 2.0 / 7.0);
        assert_eq!(support(&[0.0, -5.0, 0.04, 0.06]), [1, 3]);
        assert_eq!(average_from(100, 0.5), 50);
        assert!((rel_dist(&[1.0, 1.0], &[1.0, 0.0]) - 1.0).abs() < 1e-15);
    }
}
