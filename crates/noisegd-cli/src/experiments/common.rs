//! Small conversions the regression experiments share.

/// A matrix's entries in row-major order (burn's layout), as f32.
pub fn row_major_f32(m: &nalgebra::DMatrix<f64>) -> Vec<f32> {
    m.transpose().iter().map(|v| *v as f32).collect()
}
