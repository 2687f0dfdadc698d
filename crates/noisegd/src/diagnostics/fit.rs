//! Fits that summarize how a measured figure grows: a least-squares line with its R², the
//! growth exponent (slope on log–log axes), and the relative spread of a series.

/// Least-squares line `y = a + b·x` with its R².
#[derive(Clone, Copy, Debug)]
pub struct LineFit {
    /// `a`.
    pub intercept: f64,
    /// `b`.
    pub slope: f64,
    /// Coefficient of determination.
    pub r2: f64,
}

/// Ordinary least squares of `ys` on `xs` (at least two distinct xs).
pub fn fit_line(xs: &[f64], ys: &[f64]) -> LineFit {
    let k = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / k, ys.iter().sum::<f64>() / k);
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_tot: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    let ss_res: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (y - intercept - slope * x).powi(2))
        .sum();
    LineFit {
        intercept,
        slope,
        r2: 1.0 - ss_res / ss_tot,
    }
}

/// Slope of `log y` against `log x` (the growth exponent).
pub fn exponent(xs: &[f64], ys: &[f64]) -> f64 {
    let lx: Vec<f64> = xs.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = ys.iter().map(|v| v.ln()).collect();
    fit_line(&lx, &ly).slope
}

/// `(max − min) / min` of positive values.
pub fn rel_change(v: &[f64]) -> f64 {
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        });
    (hi - lo) / lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_line_and_exponent_by_hand() {
        let f = fit_line(&[1.0, 2.0, 3.0], &[3.0, 5.0, 7.0]);
        assert!((f.slope - 2.0).abs() < 1e-12 && (f.intercept - 1.0).abs() < 1e-12);
        assert!((f.r2 - 1.0).abs() < 1e-12);
        assert!((exponent(&[1.0, 2.0, 4.0], &[3.0, 12.0, 48.0]) - 2.0).abs() < 1e-12);
        assert!((rel_change(&[2.0, 2.5, 2.2]) - 0.25).abs() < 1e-12);
    }
}
