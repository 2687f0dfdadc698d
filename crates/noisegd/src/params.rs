//! Parameter groups: what a noise policy perturbs as one unit.
//!
//! A burn module's float parameters are enumerated in module-path order (the order in which the
//! module's fields are declared, the same order as PyTorch's `model.parameters()`), never in hash
//! order, so that cyclic selection and group indices are stable across runs and machines.
//!
//! Two groupings:
//! - [`GroupBy::Layer`] (default): the parameters held directly by one module (a `Linear`'s weight
//!   and bias, a `BatchNorm`'s γ and β) form one group. Parameters held directly by the root
//!   module (for example the two factors of a diagonal linear network) are one group each, since
//!   no sub-module bundles them.
//! - [`GroupBy::Tensor`]: one group per parameter tensor, as the paper's official code counts
//!   `model.parameters()` (weight and bias apart, BatchNorm parameters included).
//!
//! BatchNorm's running mean and variance are buffers, not parameters (PyTorch keeps them out of
//! `model.parameters()`), but burn 0.22 visits them as float tensors like any parameter. They
//! are recognized by where they sit (fields `running_mean` / `running_var` of a `BatchNorm`,
//! [`is_running_state`]) and left out of every group: they are never perturbed, optimized or
//! counted.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How parameters are bundled into groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// One group per module that owns parameters (weight and bias together).
    #[default]
    Layer,
    /// One group per parameter tensor (the official code's convention).
    Tensor,
}

/// One parameter tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// burn's id for the tensor; gradients are keyed by it.
    pub id: ParamId,
    /// Dotted module path, e.g. `layers.0.weight`.
    pub path: String,
    /// Shape of the tensor.
    pub shape: Vec<usize>,
}

impl ParamInfo {
    /// Number of scalar entries.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A set of parameters perturbed together.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Stable name: the owning module's path (or the tensor's path).
    pub name: String,
    /// Member tensors in module-path order.
    pub params: Vec<ParamInfo>,
}

impl Group {
    /// Number of scalar entries in the group.
    pub fn numel(&self) -> usize {
        self.params.iter().map(ParamInfo::numel).sum()
    }
}

/// Where a parameter sits in the grouping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Index of the group.
    pub group: usize,
    /// Index of the tensor within its group.
    pub member: usize,
}

/// The parameter groups of a module, in stable order.
#[derive(Clone, Debug)]
pub struct ParamGroups {
    groups: Vec<Group>,
    slots: HashMap<ParamId, Slot>,
    group_by: GroupBy,
}

impl ParamGroups {
    /// Enumerates the float parameters of `module` and groups them.
    pub fn of<M: Module>(module: &M, group_by: GroupBy) -> Self {
        let mut collector = Collector::default();
        module.visit(&mut collector);
        let mut groups: Vec<Group> = Vec::new();
        for info in collector.params {
            let name = match group_by {
                GroupBy::Tensor => info.path.clone(),
                GroupBy::Layer => match info.path.rsplit_once('.') {
                    Some((owner, _)) => owner.to_string(),
                    None => info.path.clone(),
                },
            };
            // Members of one module are visited consecutively, so comparing with the last group
            // is enough to bundle them.
            match groups.last_mut() {
                Some(last) if last.name == name => last.params.push(info),
                _ => groups.push(Group {
                    name,
                    params: vec![info],
                }),
            }
        }
        let mut slots = HashMap::new();
        for (g, group) in groups.iter().enumerate() {
            for (m, p) in group.params.iter().enumerate() {
                slots.insert(
                    p.id,
                    Slot {
                        group: g,
                        member: m,
                    },
                );
            }
        }
        Self {
            groups,
            slots,
            group_by,
        }
    }

    /// The ids of every grouped parameter.
    pub fn ids(&self) -> std::collections::HashSet<ParamId> {
        self.slots.keys().copied().collect()
    }

    /// The groups in stable order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Number of groups (the paper's M).
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there is no group at all.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The grouping in use.
    pub fn group_by(&self) -> GroupBy {
        self.group_by
    }

    /// Where parameter `id` sits, if it belongs to the module.
    pub fn slot(&self, id: &ParamId) -> Option<Slot> {
        self.slots.get(id).copied()
    }

    /// Total number of scalar parameters.
    pub fn numel(&self) -> usize {
        self.groups.iter().map(Group::numel).sum()
    }
}

/// Whether the field `field` of a module of type `container` (burn's `container_type`, e.g.
/// `Struct:BatchNorm`) is a running statistic rather than a parameter. burn's `RunningState`
/// is visited like a parameter and carries no public mark of its own, so the field is
/// recognized by name; burn-nn 0.22's only running states are these two.
pub fn is_running_state(container: &str, field: &str) -> bool {
    container == "Struct:BatchNorm" && matches!(field, "running_mean" | "running_var")
}

/// The module path of a visitor or mapper, with the container type of each step, so that the
/// tensor being visited can be told apart as a running statistic.
#[derive(Default)]
pub(crate) struct PathTracker {
    names: Vec<String>,
    containers: Vec<String>,
}

impl PathTracker {
    pub(crate) fn enter(&mut self, name: &str, container: &str) {
        self.names.push(name.to_string());
        self.containers.push(container.to_string());
    }

    pub(crate) fn exit(&mut self) {
        self.names.pop();
        self.containers.pop();
    }

    /// Dotted path of the current tensor.
    pub(crate) fn path(&self) -> String {
        self.names.join(".")
    }

    /// Whether the current tensor is a BatchNorm running statistic.
    pub(crate) fn at_running_state(&self) -> bool {
        match (self.containers.last(), self.names.last()) {
            (Some(container), Some(field)) => is_running_state(container, field),
            _ => false,
        }
    }
}

#[derive(Default)]
struct Collector {
    path: PathTracker,
    params: Vec<ParamInfo>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.path.at_running_state() {
            return;
        }
        self.params.push(ParamInfo {
            id: param.id,
            path: self.path.path(),
            shape: param.lazy_shape().iter().copied().collect(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mlp::{Mlp, MlpConfig};
    use burn::tensor::Device;

    fn mlp() -> Mlp {
        MlpConfig::new(vec![6, 5, 4, 3]).init(0, &Device::flex())
    }

    #[test]
    fn layer_grouping_bundles_weight_and_bias_in_declaration_order() {
        let groups = ParamGroups::of(&mlp(), GroupBy::Layer);
        let names: Vec<_> = groups.groups().iter().map(|g| g.name.clone()).collect();
        assert_eq!(names, ["layers.0", "layers.1", "layers.2"]);
        let paths: Vec<_> = groups.groups()[0]
            .params
            .iter()
            .map(|p| p.path.clone())
            .collect();
        assert_eq!(paths, ["layers.0.weight", "layers.0.bias"]);
        assert_eq!(groups.groups()[1].numel(), 5 * 4 + 4);
        assert_eq!(groups.numel(), 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
    }

    #[test]
    fn tensor_grouping_counts_every_tensor_like_the_official_code() {
        let groups = ParamGroups::of(&mlp(), GroupBy::Tensor);
        assert_eq!(groups.len(), 6);
        assert_eq!(groups.groups()[1].name, "layers.0.bias");
        let total: usize = groups.groups().iter().map(Group::numel).sum();
        assert_eq!(total, ParamGroups::of(&mlp(), GroupBy::Layer).numel());
    }

    #[test]
    fn order_and_names_are_stable_across_instances() {
        let a = ParamGroups::of(&mlp(), GroupBy::Layer);
        let b = ParamGroups::of(&mlp(), GroupBy::Layer);
        let names = |g: &ParamGroups| {
            g.groups()
                .iter()
                .map(|g| g.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
    }

    #[test]
    fn root_level_parameters_are_one_group_each() {
        let net = crate::models::diagonal::DiagonalNet::uniform(7, 0.5, &Device::flex());
        let groups = ParamGroups::of(&net, GroupBy::Layer);
        let names: Vec<_> = groups.groups().iter().map(|g| g.name.clone()).collect();
        assert_eq!(names, ["w1", "w2"]);
        let slot = groups.slot(&net.w2.id).unwrap();
        assert_eq!(
            slot,
            Slot {
                group: 1,
                member: 0
            }
        );
    }
}
