//! The peer methods of the perturbed step: what each one perturbs and how, as directions per
//! parameter that [`super::NoiseInjection`] takes its passes at. Every method steps the clean
//! weights with the base optimizer; none of them writes to the clean weights during the step.
//!
//! | policy | gradient the base optimizer gets | passes | reference |
//! |---|---|---|---|
//! | `anti` | `∇L(w)`, then `w ← w + ξ_{t+1} − ξ_t` after the step | 1 | Orvieto et al., ICML 2022 |
//! | `sam` | `∇L(w + ρ·g/‖g‖)`, `g = ∇L(w)` | 2 | Foret et al., ICLR 2021 |
//! | `asam` | `∇L(w + ρ·T²g/‖Tg‖)`, `T = |w| + η` | 2 | Kwon et al., ICML 2021 |
//! | `rwp` | `(1 − α)∇L(w) + α∇L(w + ε)`, `ε_u ~ N(0, (σ‖w_u‖)²)` per unit u | 2 (1 if α = 1) | Li et al. 2022 |
//! | `nso` | `λ∇L(w) + (1 − λ)/(2k)·Σᵢ[∇L(w + εᵢ) + ∇L(w − εᵢ)]` | 2k (+1 if λ > 0) | Zhang et al. (NSO) |
//!
//! Conventions, with the code each was checked against (commits in
//! `shared/reference/peers.md`):
//! - **anti**: ξ is `all`'s noise (per-weight std σ/√M) of the step's own key, so that with
//!   `z = w − ξ` the run *is* PGD under `all` from `z₀ = w₀ − ξ₀` for any base optimizer whose
//!   update does not read the weights (SGD, momentum, Adam without weight decay). The model
//!   trained and evaluated is the Anti-PGD iterate `w`. The noise is not scaled by the learning
//!   rate (as the paper writes it and `PyriteAI/anticorrelated-noise-injection` does; `upgd`'s
//!   `ExtendedAntiPGD` scales it by lr).
//! - **sam**: the norm is global over every parameter (`davda54/sam`, `google-research/sam`); a
//!   zero clean gradient gives ε = 0 and the step is the base step on that gradient (no
//!   division by zero, no second pass). ρ = 0.05 is the authors' CIFAR-10 value.
//! - **asam**: `T = |w| + η` on weights, `T = 1` on biases and BatchNorm's β, as the official
//!   `SamsungLabs/ASAM` (scale on parameters named "weight", BatchNorm's γ included); ρ = 0.5,
//!   η = 0.01 are its CIFAR-10 defaults. (`davda54/sam`'s `adaptive` mode uses `T = |w|` on
//!   every parameter.)
//! - **rwp**: unit u is an output unit: a Conv2d's output channel `w[u, …]`, a Linear's output
//!   column `w[:, u]` (burn stores a Linear's weight `[d_in, d_out]`; PyTorch's row), and a 1-D
//!   parameter as a whole (bias, BatchNorm's γ, β), as `nblt/RWP` reshapes to `(shape[0], −1)`.
//!   σ is relative (RWP's γ; 0.01 in its recipes) and not divided by √M. The two gradients come
//!   from the same batch (RWP computes them on two GPUs with two different shards).
//! - **nso**: pair i uses the step's noise keys on sub-stream `member + i·2¹⁶`, so pair 0 is
//!   exactly the antithetic `all` step; k = 1, λ = 0 are the authors' scripts' values (all use
//!   `--use_neg --nsm_lam 0`). NSO's σ is a per-weight std: σ/√M here, as under `all`.

use crate::noise::draw::StepNoise;
use crate::noise::Plan;
use crate::params::{ParamGroups, ParamInfo};
use burn::module::ParamId;
use std::collections::HashMap;

/// One tensor's clean gradient, with its weights when ASAM scales it.
struct ScaledGrad<'a> {
    id: ParamId,
    grad: &'a [f32],
    weights: Option<&'a [f32]>,
}

/// SAM's (`asam_eta = None`) or ASAM's ascent direction `ρ·T²g/‖Tg‖` from the clean gradient
/// `grads` and weights `weights`, over every parameter of `groups`; `None` when `‖Tg‖ = 0`
/// (then the ascent is zero and the step is the base step).
pub fn sam_direction(
    groups: &ParamGroups,
    grads: &HashMap<ParamId, Vec<f32>>,
    weights: &HashMap<ParamId, Vec<f32>>,
    rho: f64,
    asam_eta: Option<f64>,
) -> Option<HashMap<ParamId, Vec<f32>>> {
    // Per tensor: its gradient and, for ASAM's scaled tensors, its weights (T = |w| + η; T = 1
    // otherwise). Looked up once per tensor, not per element (that cost ASAM 5× SAM's step).
    let tensors: Vec<ScaledGrad> = groups
        .groups()
        .iter()
        .flat_map(|g| &g.params)
        .filter_map(|info| {
            let g = grads.get(&info.id)?;
            let w = match asam_eta {
                Some(_) if !is_shift(info) => weights.get(&info.id).map(Vec::as_slice),
                _ => None,
            };
            Some(ScaledGrad {
                id: info.id,
                grad: g,
                weights: w,
            })
        })
        .collect();
    let eta = asam_eta.unwrap_or(0.0);
    let scale = |w: Option<&[f32]>, i: usize| w.map_or(1.0, |w| f64::from(w[i].abs()) + eta);
    let norm2: f64 = tensors
        .iter()
        .map(|t| {
            t.grad
                .iter()
                .enumerate()
                .map(|(i, gi)| (scale(t.weights, i) * f64::from(*gi)).powi(2))
                .sum::<f64>()
        })
        .sum();
    let norm = norm2.sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return None;
    }
    Some(
        tensors
            .into_iter()
            .map(|t| {
                let d = t
                    .grad
                    .iter()
                    .enumerate()
                    .map(|(i, gi)| {
                        (rho * scale(t.weights, i).powi(2) * f64::from(*gi) / norm) as f32
                    })
                    .collect();
                (t.id, d)
            })
            .collect(),
    )
}

/// Biases and BatchNorm's β: additive shifts, which ASAM leaves unscaled.
fn is_shift(info: &ParamInfo) -> bool {
    let name = info.path.rsplit('.').next().unwrap_or(&info.path);
    name == "bias" || name == "beta"
}

/// RWP's ε: the step's unit-std draws `σ·ξ` (from `plan`, std σ on every group) multiplied,
/// element by element, by the norm of the output unit the element belongs to.
pub fn rwp_direction<M: burn::module::Module>(
    model: &M,
    groups: &ParamGroups,
    plan: &Plan,
    seed: u64,
) -> HashMap<ParamId, Vec<f32>> {
    let mut noise = StepNoise::draw(groups, plan, seed);
    let weights = super::passes::flat_weights(model, &groups.ids());
    let mut out = HashMap::new();
    for info in groups.groups().iter().flat_map(|g| &g.params) {
        let (Some(mut eps), Some(w)) = (noise.take(&info.id), weights.get(&info.id)) else {
            continue;
        };
        scale_by_unit_norms(&info.shape, w, &mut eps);
        out.insert(info.id, eps);
    }
    out
}

/// Multiplies `eps` (laid out as `w`, of shape `shape`) by the L2 norm of each element's output
/// unit: axis 0 of a tensor of rank ≥ 3 (Conv2d `[out, in, kh, kw]`), axis 1 of a matrix (burn's
/// Linear `[d_in, d_out]`), the whole tensor otherwise (RWP adds 1e-16 to a 1-D norm; a zero
/// unit gets no noise here, which is the same to f32 precision).
pub fn scale_by_unit_norms(shape: &[usize], w: &[f32], eps: &mut [f32]) {
    let norm = |it: &mut dyn Iterator<Item = &f32>| -> f32 {
        it.map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt() as f32
    };
    match shape.len() {
        2 => {
            let cols = shape[1];
            let norms: Vec<f32> = (0..cols)
                .map(|c| norm(&mut w.iter().skip(c).step_by(cols)))
                .collect();
            for (i, e) in eps.iter_mut().enumerate() {
                *e *= norms[i % cols];
            }
        }
        r if r >= 3 && shape[0] > 0 => {
            let per_unit = w.len() / shape[0];
            for (unit, chunk) in eps.chunks_mut(per_unit).enumerate() {
                let n = norm(&mut w[unit * per_unit..(unit + 1) * per_unit].iter());
                chunk.iter_mut().for_each(|e| *e *= n);
            }
        }
        _ => {
            let n = norm(&mut w.iter());
            eps.iter_mut().for_each(|e| *e *= n);
        }
    }
}

/// Anti-PGD's increment `ξ_next − ξ_now` per perturbed tensor (a tensor perturbed by only one of
/// the two plans gets `ξ_next` or `−ξ_now`).
pub fn anti_increment(
    groups: &ParamGroups,
    now: &Plan,
    next: &Plan,
    seed: u64,
) -> HashMap<ParamId, Vec<f32>> {
    let mut out = StepNoise::draw(groups, next, seed).into_buffers();
    for (id, xi) in StepNoise::draw(groups, now, seed).into_buffers() {
        match out.get_mut(&id) {
            Some(d) => d.iter_mut().zip(&xi).for_each(|(d, x)| *d -= x),
            None => {
                out.insert(id, xi.iter().map(|x| -x).collect());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_conv_channels_linear_columns_and_whole_vectors() {
        // A Linear [d_in = 2, d_out = 3]: column norms 5, 0, 1.
        let w = [3.0, 0.0, 1.0, 4.0, 0.0, 0.0];
        let mut eps = [1.0; 6];
        scale_by_unit_norms(&[2, 3], &w, &mut eps);
        assert_eq!(eps, [5.0, 0.0, 1.0, 5.0, 0.0, 1.0]);
        // A Conv2d [out = 2, in = 1, 1, 2]: channel norms 5 and 13.
        let w = [3.0, 4.0, 5.0, 12.0];
        let mut eps = [1.0, -1.0, 2.0, 1.0];
        scale_by_unit_norms(&[2, 1, 1, 2], &w, &mut eps);
        assert_eq!(eps, [5.0, -5.0, 26.0, 13.0]);
        // A bias: one norm.
        let mut eps = [1.0, 1.0];
        scale_by_unit_norms(&[2], &[3.0, 4.0], &mut eps);
        assert_eq!(eps, [5.0, 5.0]);
    }
}
