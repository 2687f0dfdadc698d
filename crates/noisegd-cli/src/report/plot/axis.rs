//! Numbers: validity, ranges, tick labels.

use super::*;

pub(super) fn plottable(v: f64, scale: Scale) -> bool {
    v.is_finite() && (scale == Scale::Linear || v > 0.0)
}

/// Running min/max over the values that make it onto an axis.
#[derive(Debug, Clone, Copy)]
pub(super) struct Extent {
    pub(super) min: f64,
    pub(super) max: f64,
}

impl Extent {
    pub(super) fn empty() -> Self {
        Self {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
    pub(super) fn add(&mut self, v: f64) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
    pub(super) fn is_empty(&self) -> bool {
        self.min > self.max
    }
}

/// Axis range with a 5 % margin on each side. A zero-width extent (a constant
/// series, a single point) is widened, because plotters cannot map a zero
/// span to pixels. Log axes are padded in decades so the margin looks the
/// same at every magnitude.
pub(super) fn padded_range(e: Extent, scale: Scale) -> (f64, f64) {
    match scale {
        Scale::Linear => pad_linear(e.min, e.max),
        Scale::Log10 => {
            let (lo, hi) = (e.min.log10(), e.max.log10());
            let (lo, hi) = if hi > lo {
                pad_linear(lo, hi)
            } else {
                (lo - 0.5, hi + 0.5)
            };
            (10f64.powf(lo), 10f64.powf(hi))
        }
    }
}

pub(super) fn pad_linear(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    let (a, b) = if span > 0.0 {
        (lo - 0.05 * span, hi + 0.05 * span)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
        (lo - pad, hi + pad)
    };
    // Near f64::MAX the padding itself can overflow; an unpadded range is
    // better than an infinite one.
    if a.is_finite() && b.is_finite() && b > a {
        (a, b)
    } else {
        (lo, hi)
    }
}

/// Compact tick label: plain decimals for ordinary magnitudes, `1e-5` style
/// otherwise, at most 6 significant digits (hides float noise such as
/// 0.30000000000000004).
pub(super) fn fmt_tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { v.to_string() };
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.5e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        format!("{}e{}", trim_zeros(mantissa), exp)
    } else {
        let decimals = (5 - a.log10().floor() as i32).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

pub(super) fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}
