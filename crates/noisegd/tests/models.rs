//! The classifiers: seeded initialization, a few steps of every noise policy on CPU, and the
//! BatchNorm running-statistics policies.

mod common;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{BatchNorm, Linear};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};
use common::{batch, cases};
use noisegd::batchnorm::{BatchNormPolicy, RunningStats};
use noisegd::models::network::{ModelKind, Network};
use noisegd::models::{cross_entropy, gaussian, Classifier, SeededInit};
use noisegd::noise::{NoiseConfig, PolicyKind};
use noisegd::optim::{BaseOptimizer, OptimConfig};
use noisegd::params::{GroupBy, ParamGroups};
use noisegd::step::{perturb, NoiseInjection};
use std::time::Instant;

/// Every float tensor (parameters and running statistics) as raw bits, in module order.
fn bits<M: Module>(model: &M) -> Vec<Vec<u32>> {
    struct Dump(Vec<Vec<u32>>);
    impl ModuleVisitor for Dump {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param.val().into_data().try_to_vec::<f32>().unwrap();
            self.0.push(v.into_iter().map(f32::to_bits).collect());
        }
    }
    let mut dump = Dump(vec![]);
    model.visit(&mut dump);
    dump.0
}

#[test]
fn every_model_is_a_pure_function_of_its_seed() {
    let device = Device::flex();
    for (kind, input) in cases() {
        let a = kind.build(input, 10, 7, &device).unwrap();
        let b = kind.build(input, 10, 7, &device).unwrap();
        let c = kind.build(input, 10, 8, &device).unwrap();
        assert_eq!(bits(&a), bits(&b), "{kind:?}: same seed, different weights");
        assert_ne!(
            bits(&a),
            bits(&c),
            "{kind:?}: different seeds, same weights"
        );
    }
}

/// Clean loss on the batch (training mode: BatchNorm uses the batch statistics).
fn clean_loss(model: &Network, x: &Tensor<2>, y: &Tensor<1, Int>) -> f64 {
    let v = model.loss(x.clone(), y.clone()).into_data();
    let value = v.iter::<f64>().next().unwrap();
    value
}

#[test]
fn every_model_trains_under_every_policy() {
    let device = Device::flex().autodiff();
    for (kind, input) in cases() {
        let (x, y) = batch(input, 8, &device);
        for policy in [PolicyKind::None, PolicyKind::All, PolicyKind::Layer] {
            let t = Instant::now();
            let mut model = kind.build(input, 10, 1, &device).unwrap();
            let before = clean_loss(&model, &x, &y);
            let noise = NoiseConfig {
                policy,
                sigma: 0.01,
                ..NoiseConfig::default()
            };
            let opt = OptimConfig {
                momentum: 0.9,
                ..OptimConfig::sgd(0.02)
            };
            let mut pgd = NoiseInjection::new(
                &model,
                noise,
                BaseOptimizer::new(&opt, 100).unwrap(),
                3,
                100,
            )
            .unwrap();
            for _ in 0..4 {
                model = pgd.step(model, |m| m.loss(x.clone(), y.clone())).unwrap().0;
            }
            let after = clean_loss(&model, &x, &y);
            eprintln!(
                "{kind:?} {input:?} {policy:?}: loss {before:.4} -> {after:.4} in {:.2} s",
                t.elapsed().as_secs_f64()
            );
            assert!(after < before, "{kind:?} {policy:?}: {before} -> {after}");
        }
    }
}

/// ResNet-18 at the paper's 32×32, batch 2, three steps of `layer` (about 1 s per step in
/// debug on the 2-core machine).
#[test]
fn resnet18_full_size_steps() {
    let device = Device::flex().autodiff();
    let input = [3, 32, 32];
    let (x, y) = batch(input, 2, &device);
    let mut model = ModelKind::Resnet18.build(input, 10, 1, &device).unwrap();
    let before = clean_loss(&model, &x, &y);
    let opt = OptimConfig::sgd(0.01);
    let mut pgd = NoiseInjection::new(
        &model,
        NoiseConfig::layer(0.01),
        BaseOptimizer::new(&opt, 10).unwrap(),
        3,
        10,
    )
    .unwrap();
    let t = Instant::now();
    for _ in 0..3 {
        model = pgd.step(model, |m| m.loss(x.clone(), y.clone())).unwrap().0;
    }
    eprintln!(
        "ResNet-18 32×32 batch 2: {:.2} s per step",
        t.elapsed().as_secs_f64() / 3.0
    );
    assert!(clean_loss(&model, &x, &y) < before);
}

/// `Linear → BatchNorm → ReLU → Linear`: the running statistics depend on the first layer's
/// weights, so perturbed and clean passes leave different ones.
#[derive(Module, Debug)]
struct BnNet {
    fc1: Linear,
    bn: BatchNorm,
    fc2: Linear,
}

impl BnNet {
    fn new(seed: u64, device: &Device) -> Self {
        let mut init = SeededInit::new(seed, device);
        Self {
            fc1: init.linear(5, 4),
            bn: init.batch_norm(4),
            fc2: init.linear(4, 3),
        }
    }

    fn loss(&self, x: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
        let h = relu(self.bn.forward(self.fc1.forward(x)));
        cross_entropy(self.fc2.forward(h), y)
    }
}

fn stats<M: Module>(model: &M) -> Vec<f32> {
    RunningStats::capture(model)
        .values()
        .into_iter()
        .flat_map(|(_, v)| v)
        .collect()
}

/// The statistics after one step of `policy` (noise `all`, σ = 0.5, seed 9), and what one
/// training-mode pass leaves on twins (same seed, their own running statistics) at the clean
/// and at the perturbed weights.
fn one_step(policy: BatchNormPolicy, antithetic: bool) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    one_step_of(NoiseConfig {
        batchnorm: policy,
        antithetic,
        ..NoiseConfig::all(0.5)
    })
}

/// [`one_step`] for any noise config (the perturbed twin takes `all`'s draw of the plan).
fn one_step_of(noise: NoiseConfig) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let device = Device::flex().autodiff();
    let x = gaussian([6, 5], 1.0, 4, 0, &device);
    let y = Tensor::<1, Int>::from_ints([0, 1, 2, 0, 1, 2], &device);
    let model = BnNet::new(1, &device);
    let opt = OptimConfig::sgd(0.1);
    let mut pgd =
        NoiseInjection::new(&model, noise, BaseOptimizer::new(&opt, 10).unwrap(), 9, 10).unwrap();
    let plan = pgd.next_plan();
    let (stepped, _) = pgd.step(model, |m| m.loss(x.clone(), y.clone())).unwrap();

    let clean_twin = BnNet::new(1, &device);
    let _ = clean_twin.loss(x.clone(), y.clone());
    let perturbed_twin = BnNet::new(1, &device);
    // The twin's own ids, in the same groups: the same keyed noise lands on the same weights.
    let groups = ParamGroups::of(&perturbed_twin, GroupBy::Layer);
    let _ = perturb(&perturbed_twin, &groups, &plan, 9, 1.0).loss(x.clone(), y.clone());
    (stats(&stepped), stats(&clean_twin), stats(&perturbed_twin))
}

#[test]
fn running_statistics_are_not_parameters() {
    let model = BnNet::new(1, &Device::flex());
    let groups = ParamGroups::of(&model, GroupBy::Layer);
    let names: Vec<_> = groups.groups().iter().map(|g| g.name.clone()).collect();
    assert_eq!(names, ["fc1", "bn", "fc2"]);
    assert_eq!(groups.numel(), 5 * 4 + 4 + 4 + 4 + 4 * 3 + 3);
    // Initial statistics: mean 0, variance 1.
    assert_eq!(stats(&model), [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn batchnorm_policy_perturbed_updates_from_the_perturbed_pass() {
    let (stepped, clean, perturbed) = one_step(BatchNormPolicy::Perturbed, false);
    assert_ne!(clean, perturbed, "the noise does not reach the statistics");
    assert_eq!(stepped, perturbed);
    // Antithetic steps make one update, from the `w + ε` pass.
    let (stepped, _, perturbed) = one_step(BatchNormPolicy::Perturbed, true);
    assert_eq!(stepped, perturbed);
}

#[test]
fn batchnorm_policy_clean_updates_from_a_clean_pass() {
    for antithetic in [false, true] {
        let (stepped, clean, perturbed) = one_step(BatchNormPolicy::Clean, antithetic);
        assert_eq!(stepped, clean);
        assert_ne!(stepped, perturbed);
    }
}

#[test]
fn batchnorm_policy_frozen_keeps_them() {
    for antithetic in [false, true] {
        let (stepped, _, _) = one_step(BatchNormPolicy::Frozen, antithetic);
        assert_eq!(stepped, [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
    }
}

/// The peers take several passes (a clean one among them) and still make one update: the
/// clean pass's under `clean` (no extra forward), the first perturbed pass's under `perturbed`,
/// none under `frozen`.
#[test]
fn batchnorm_policies_make_one_update_on_the_peers_several_passes() {
    let initial = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    let peers = [
        NoiseConfig {
            policy: PolicyKind::Sam,
            ..NoiseConfig::default()
        },
        NoiseConfig {
            policy: PolicyKind::Rwp,
            ..NoiseConfig::all(0.5)
        },
        NoiseConfig {
            policy: PolicyKind::Nso,
            nso_samples: Some(2),
            nso_lambda: Some(0.5),
            ..NoiseConfig::all(0.5)
        },
    ];
    for peer in peers {
        let with = |batchnorm| NoiseConfig {
            batchnorm,
            ..peer.clone()
        };
        let (stepped, clean, perturbed) = one_step_of(with(BatchNormPolicy::Clean));
        assert_eq!(stepped, clean, "{}: clean", peer.policy);
        let (stepped, _, _) = one_step_of(with(BatchNormPolicy::Frozen));
        assert_eq!(stepped, initial, "{}: frozen", peer.policy);
        let (stepped, _, _) = one_step_of(with(BatchNormPolicy::Perturbed));
        assert_ne!(stepped, clean, "{}: perturbed", peer.policy);
        if peer.policy == PolicyKind::Nso {
            // Its first perturbed pass is at `all`'s w + ε: the twin's.
            assert_eq!(stepped, perturbed, "nso: perturbed");
        }
    }
}

#[test]
fn batchnorm_policy_reads_from_toml_names() {
    #[derive(serde::Deserialize)]
    struct T {
        p: BatchNormPolicy,
    }
    for (name, want) in [
        ("perturbed", BatchNormPolicy::Perturbed),
        ("clean", BatchNormPolicy::Clean),
        ("frozen", BatchNormPolicy::Frozen),
    ] {
        let de = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
            [("p", name)].into_iter(),
        );
        let t = <T as serde::Deserialize>::deserialize(de).unwrap();
        assert_eq!(t.p, want);
    }
}
