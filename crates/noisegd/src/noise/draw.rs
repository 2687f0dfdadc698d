//! The noise of one step, drawn into one buffer per perturbed tensor.
//!
//! Drawing is a pure function of `(seed, step, group, member, element)`. (Drawing step `t + 1`'s
//! noise on the second core while step `t` runs was tried and measured slower on the 2-core
//! machine: the MLP 1 `all` overhead went from +15 % to +22–28 %, the draw competing with burn's
//! own threads and memory traffic.)

use super::rng::{fill_normal, NoiseKey};
use super::Plan;
use crate::params::ParamGroups;
use burn::module::ParamId;
use std::collections::HashMap;

/// Sub-streams per independent sample of one step: a group's member tensors use `member < 2¹⁶`.
pub const SAMPLE_STRIDE: u32 = 1 << 16;

/// The noise `std·ε` of one step for every perturbed tensor, keyed by parameter id.
#[derive(Clone, Debug)]
pub struct StepNoise {
    plan: Plan,
    buffers: HashMap<ParamId, Vec<f32>>,
}

impl StepNoise {
    /// Draws the noise `plan` calls for: tensor `k` of group `g` gets
    /// `std_g · ε`, ε from the stream `NoiseKey(seed, step, g)` sub-stream `k`.
    pub fn draw(groups: &ParamGroups, plan: &Plan, seed: u64) -> Self {
        let buffers = Self::streams(groups, plan, seed)
            .map(|(id, numel, key, std)| {
                let mut buf = vec![0f32; numel];
                fill_normal(key, 0, std, &mut buf);
                (id, buf)
            })
            .collect();
        Self {
            plan: plan.clone(),
            buffers,
        }
    }

    /// For every tensor `plan` perturbs: its id, its number of elements, the stream its noise
    /// comes from and the std — the one place that says which stream feeds which tensor.
    pub fn streams<'a>(
        groups: &'a ParamGroups,
        plan: &'a Plan,
        seed: u64,
    ) -> impl Iterator<Item = (ParamId, usize, NoiseKey, f32)> + 'a {
        Self::sample_streams(groups, plan, seed, 0)
    }

    /// [`StepNoise::streams`] of the `sample`-th independent draw of the same step (NSO's pairs):
    /// member tensor `k` on sub-stream `k + sample·2¹⁶`; sample 0 is the step's own noise.
    pub fn sample_streams<'a>(
        groups: &'a ParamGroups,
        plan: &'a Plan,
        seed: u64,
        sample: u32,
    ) -> impl Iterator<Item = (ParamId, usize, NoiseKey, f32)> + 'a {
        plan.targets.iter().flat_map(move |target| {
            let group = target.group as u32;
            groups.groups()[target.group]
                .params
                .iter()
                .enumerate()
                .map(move |(member, info)| {
                    let stream = member as u32 + sample * SAMPLE_STRIDE;
                    let key = NoiseKey::new(seed, plan.step, group).with_stream(stream);
                    (info.id, info.numel(), key, target.std as f32)
                })
        })
    }

    /// Whether this noise is what `plan` asks for.
    pub fn matches(&self, plan: &Plan) -> bool {
        self.plan == *plan
    }

    /// The per-tensor buffers, keyed by parameter id.
    pub fn into_buffers(self) -> HashMap<ParamId, Vec<f32>> {
        self.buffers
    }

    /// Removes and returns the noise of parameter `id`, if it is perturbed.
    pub fn take(&mut self, id: &ParamId) -> Option<Vec<f32>> {
        self.buffers.remove(id)
    }
}

/// Number of noise values `plan` draws.
pub fn plan_elements(groups: &ParamGroups, plan: &Plan) -> usize {
    plan.targets
        .iter()
        .map(|t| groups.groups()[t.group].numel())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mlp::MlpConfig;
    use crate::noise::NoiseConfig;
    use crate::params::GroupBy;
    use burn::tensor::Device;

    fn groups() -> ParamGroups {
        let model = MlpConfig::new(vec![50, 40, 3]).init(0, &Device::flex());
        ParamGroups::of(&model, GroupBy::Layer)
    }

    #[test]
    fn draw_covers_exactly_the_targeted_tensors_with_their_std() {
        let groups = groups();
        let plan = NoiseConfig::layer(0.5).plan(1, 0, 0.5, groups.len());
        let mut noise = StepNoise::draw(&groups, &plan, 1);
        let chosen = plan.chosen_group().unwrap();
        assert_eq!(
            plan_elements(&groups, &plan),
            groups.groups()[chosen].numel()
        );
        for (g, group) in groups.groups().iter().enumerate() {
            for info in &group.params {
                let buf = noise.take(&info.id);
                assert_eq!(buf.is_some(), g == chosen, "{}", info.path);
                if let Some(buf) = buf {
                    let var =
                        buf.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / buf.len() as f64;
                    // Sample variance of n draws of N(0, 0.25): sd of the estimate 0.25·√(2/n).
                    let tol = 5.0 * 0.25 * (2.0 / buf.len() as f64).sqrt();
                    assert!((var - 0.25).abs() < tol, "{}: {var}", info.path);
                }
            }
        }
    }
}
