//! The duality-gap certificate the three reference solvers share.
//!
//! Each primal is `P = (1/2n)‖r‖² + g(·)` with residual `r = y − (prediction)`; its Fenchel dual
//! is `D(θ) = θᵀy − (n/2)‖θ‖²` on a set `{θ : g*(Aᵀθ) < ∞}` that a rescaled residual `θ = s·r/n`
//! meets for `|s| ≤ s_max` (each solver computes its own `s_max` from its penalty). On that
//! segment `D(s·r/n) = s·rᵀy/n − s²‖r‖²/(2n)` is a concave quadratic in `s`, maximized at
//! `s = clamp(rᵀy/‖r‖², −s_max, s_max)`, which is never worse than the textbook `s = s_max`.
//! Weak duality, `D(θ) ≤ P* ≤ P`, makes `gap = P − D(θ)` a bound on the suboptimality.

/// A certified bound on the suboptimality of a primal point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gap {
    /// `D(θ)` at the best rescaled residual.
    pub dual: f64,
    /// `P − D(θ)`, clamped at 0 (it can only go negative by rounding).
    pub gap: f64,
    /// `gap / max(P, tiny)`.
    pub rel_gap: f64,
}

/// The gap at the rescaled residual: `rr = ‖r‖²`, `ry = rᵀy`, `s_max` the largest feasible
/// scale, `n` the number of rows.
pub fn rescaled_residual_gap(primal: f64, rr: f64, ry: f64, s_max: f64, n: f64) -> Gap {
    let s = if rr > 0.0 {
        (ry / rr).clamp(-s_max, s_max)
    } else {
        0.0
    };
    let dual = s * ry / n - s * s * rr / (2.0 * n);
    let gap = (primal - dual).max(0.0);
    Gap {
        dual,
        gap,
        rel_gap: gap / primal.max(f64::MIN_POSITIVE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_scale_on_the_feasible_segment_by_hand() {
        // n = 2, ‖r‖² = 4, rᵀy = 2: unconstrained s = 1/2, D = 1/2·2/2 − 1/4·4/4 = 1/4.
        let free = rescaled_residual_gap(1.0, 4.0, 2.0, 1.0, 2.0);
        assert_eq!((free.dual, free.gap, free.rel_gap), (0.25, 0.75, 0.75));
        // s_max = 1/4 binds: D = 1/4·2/2 − 1/16·4/4 = 3/16.
        let bound = rescaled_residual_gap(1.0, 4.0, 2.0, 0.25, 2.0);
        assert_eq!(bound.dual, 0.1875);
        // A zero residual: s = 0, D = 0.
        assert_eq!(rescaled_residual_gap(0.5, 0.0, 0.0, 1.0, 2.0).gap, 0.5);
    }
}
