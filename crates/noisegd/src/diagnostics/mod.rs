//! What a run measures besides its loss: the Hessian trace ([`hessian`]), the explicit
//! regularizer actually paid for the noise ([`regularizer`]), parameter norms ([`norms`]) and the
//! variance the noise adds to each group's gradient ([`gradient_variance`]); and how an estimate
//! compares with a reference ([`recovery`]) and how a figure grows ([`fit`]).
//!
//! Every estimate here is a mean of independent samples reported with its standard error, and
//! every random draw is keyed by a seed through [`crate::noise::rng`]. None of them changes the
//! model: BatchNorm running statistics touched by a pass are put back.

pub mod fit;
pub mod gradient_variance;
pub mod hessian;
pub mod norms;
pub mod recovery;
pub mod regularizer;

pub use gradient_variance::perturbed_gradient_variance;

/// A Monte-Carlo estimate: the mean of `samples` and its standard error `s/√n` (`s` the
/// sample standard deviation; 0 for fewer than two samples).
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Sample mean.
    pub mean: f64,
    /// Standard error of the mean.
    pub std_err: f64,
    /// The samples, in draw order.
    pub samples: Vec<f64>,
}

impl Estimate {
    /// Mean and standard error of `samples`.
    pub fn from_samples(samples: Vec<f64>) -> Self {
        let n = samples.len() as f64;
        let mean = if samples.is_empty() {
            f64::NAN
        } else {
            samples.iter().sum::<f64>() / n
        };
        let std_err = if samples.len() < 2 {
            0.0
        } else {
            let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            (var / n).sqrt()
        };
        Self {
            mean,
            std_err,
            samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_has_the_textbook_mean_and_standard_error() {
        let e = Estimate::from_samples(vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.mean, 2.5);
        // s² = 5/3, se = √(5/12).
        assert!((e.std_err - (5.0f64 / 12.0).sqrt()).abs() < 1e-15);
        assert_eq!(Estimate::from_samples(vec![7.0]).std_err, 0.0);
    }
}
