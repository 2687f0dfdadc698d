//! The range checks every table shares; each error names the key, what is allowed and what was
//! found.

use anyhow::{bail, Result};

pub fn planted(key: &str, planted: &[f64], d0: usize) -> Result<()> {
    if planted.is_empty() || planted.len() > d0 || planted.iter().any(|v| !v.is_finite()) {
        bail!(
            "invalid value for `{key}`: need 1..=d0 = {d0} finite coefficients, found {planted:?}"
        );
    }
    Ok(())
}

pub fn sigma(key: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        bail!("invalid value for `{key}`: must be a finite number > 0, found {v}");
    }
    Ok(())
}

/// `v > 0` and finite.
pub fn positive(key: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        bail!("invalid value for `{key}`: must be > 0, found {v}");
    }
    Ok(())
}

/// `v ≥ 0` and finite.
pub fn non_negative(key: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        bail!("invalid value for `{key}`: must be ≥ 0, found {v}");
    }
    Ok(())
}

/// A fraction of a run: `0 < v ≤ 1`.
pub fn fraction(key: &str, v: f64) -> Result<()> {
    if !(v > 0.0 && v <= 1.0) {
        bail!("invalid value for `{key}`: must lie in (0, 1], found {v}");
    }
    Ok(())
}

/// A reference solver's relative duality gap: `0 < v ≤ 1e-8`.
pub fn solver_tol(key: &str, v: f64) -> Result<()> {
    if !(v > 0.0 && v <= 1e-8) {
        bail!("invalid value for `{key}`: must lie in (0, 1e-8], found {v}");
    }
    Ok(())
}

/// A count: `v ≥ 1`.
pub fn at_least_one(key: &str, v: u64) -> Result<()> {
    if v == 0 {
        bail!("invalid value for `{key}`: must be ≥ 1, found 0");
    }
    Ok(())
}
