//! The perturbed step's contract: exactness, σ = 0 equivalence, antithetic passes (the peer
//! policies, Anti-PGD among them, are in `peers.rs`).

mod common;

use common::*;

use burn::tensor::{Device, Tensor};
use noisegd::models::mlp::{Mlp, MlpConfig};
use noisegd::noise::draw::StepNoise;
use noisegd::noise::rng::{fill_normal, NoiseKey};
use noisegd::noise::{NoiseConfig, PolicyKind, Select};
use noisegd::optim::{BaseOptimizer, OptimConfig};
use noisegd::params::{GroupBy, ParamGroups};
use noisegd::step::{perturb, perturb_with};

#[test]
fn zero_sigma_gives_the_base_optimizer_step_bit_for_bit() {
    let (_, model, batch) = setup();
    let opt = OptimConfig {
        momentum: 0.9,
        weight_decay: Some(5e-4),
        ..OptimConfig::sgd(0.1)
    };
    for policy in [PolicyKind::Layer, PolicyKind::All] {
        let noise = NoiseConfig {
            policy,
            sigma: 0.0,
            ..NoiseConfig::default()
        };
        let mut pgd = injection(&model, noise, &opt, 3);
        let mut base = BaseOptimizer::new(&opt, 100).unwrap();
        let (mut a, mut b) = (model.clone(), model.clone());
        for _ in 0..5 {
            a = pgd
                .step(a, |m| m.loss(batch.x.clone(), batch.y.clone()))
                .unwrap()
                .0;
            let loss = b.loss(batch.x.clone(), batch.y.clone());
            let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &b);
            b = base.step(0.1, b, grads);
        }
        assert_eq!(
            bits(&a),
            bits(&b),
            "policy {policy:?} with σ = 0 drifted from plain SGD"
        );
        assert_ne!(bits(&a), bits(&model), "the run did not move at all");
    }
}

#[test]
fn clean_weights_are_bit_identical_after_the_perturbed_pass() {
    let (_, model, batch) = setup();
    let before = bits(&model);
    let pgd = injection(&model, NoiseConfig::all(0.5), &OptimConfig::sgd(0.1), 11);
    let plan = pgd.next_plan();
    let (loss, grads) =
        pgd.perturbed_gradients(&model, &plan, |m| m.loss(batch.x.clone(), batch.y.clone()));
    assert!(loss.is_finite());
    assert!(!grads.is_empty());
    assert_eq!(bits(&model), before);
}

#[test]
fn perturbed_clone_is_clean_plus_keyed_noise_on_the_chosen_groups_only() {
    let (_, model, _) = setup();
    let groups = ParamGroups::of(&model, GroupBy::Layer);
    let seed = 5;
    for (noise, expect_all) in [
        (NoiseConfig::all(0.3), true),
        (NoiseConfig::layer(0.3), false),
    ] {
        let plan = noise.plan(seed, 17, 0.3, groups.len());
        let noisy = perturb(&model, &groups, &plan, seed, 1.0);
        let clean = values(&model);
        let pert = values(&noisy);
        let mut tensor = 0;
        let mut perturbed_groups = vec![];
        for (g, group) in groups.groups().iter().enumerate() {
            for (k, _) in group.params.iter().enumerate() {
                let (c, p) = (&clean[tensor], &pert[tensor]);
                if let Some(t) = plan.targets.iter().find(|t| t.group == g) {
                    let mut eps = vec![0f32; c.len()];
                    fill_normal(
                        NoiseKey::new(seed, 17, g as u32).with_stream(k as u32),
                        0,
                        t.std as f32,
                        &mut eps,
                    );
                    for i in 0..c.len() {
                        assert_eq!(p[i].to_bits(), (c[i] + eps[i]).to_bits());
                    }
                    perturbed_groups.push(g);
                } else {
                    assert_eq!(c, p, "group {g} was not targeted but changed");
                }
                tensor += 1;
            }
        }
        perturbed_groups.dedup();
        if expect_all {
            assert_eq!(perturbed_groups.len(), groups.len());
            assert!((plan.per_weight_std() - 0.3 / (groups.len() as f64).sqrt()).abs() < 1e-15);
        } else {
            assert_eq!(perturbed_groups.len(), 1);
            assert_eq!(plan.per_weight_std(), 0.3);
        }
    }
}

#[test]
fn all_policy_noise_has_the_stated_per_weight_variance() {
    let device = Device::flex().autodiff();
    let model = MlpConfig::new(vec![300, 200, 100]).init(0, &device);
    let groups = ParamGroups::of(&model, GroupBy::Layer);
    let noise = NoiseConfig::all(0.2);
    let plan = noise.plan(9, 0, 0.2, groups.len());
    let noisy = perturb(&model, &groups, &plan, 9, 1.0);
    let s = plan.per_weight_std();
    let diffs: Vec<f64> = values(&model)
        .iter()
        .zip(values(&noisy))
        .flat_map(|(c, p)| {
            c.iter()
                .zip(p)
                .map(|(a, b)| (b - a) as f64)
                .collect::<Vec<_>>()
        })
        .collect();
    let n = diffs.len() as f64;
    let var = diffs.iter().map(|d| d * d).sum::<f64>() / n / (s * s);
    // Var of a mean of n χ²₁ variables is 2/n; f32 rounding is far below that tolerance.
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(),
        "normalized variance {var}"
    );
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let (_, model, batch) = setup();
    let run = |seed| {
        let mut pgd = injection(
            &model,
            NoiseConfig::layer(0.2),
            &OptimConfig::sgd(0.1),
            seed,
        );
        let mut m = model.clone();
        for _ in 0..5 {
            m = pgd
                .step(m, |m| m.loss(batch.x.clone(), batch.y.clone()))
                .unwrap()
                .0;
        }
        bits(&m)
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

/// For a loss quadratic in the weights the gradient is affine, so `½[g(w+ε) + g(w−ε)] = g(w)`:
/// the antithetic pair cancels the noise exactly (up to round-off), a single pass does not.
#[test]
fn antithetic_pair_cancels_noise_on_a_quadratic() {
    let device = Device::flex().autodiff();
    let model = MlpConfig::new(vec![5, 2]).init(0, &device); // one affine layer
    let x = Tensor::<2>::from_floats(
        [[1.0, 2.0, -1.0, 0.5, 0.0], [0.3, -0.2, 0.1, 1.0, 2.0]],
        &device,
    );
    let target = Tensor::<2>::from_floats([[1.0, -1.0], [0.5, 0.25]], &device);
    let loss = |m: &Mlp| {
        let r = m.forward(x.clone()) - target.clone();
        (r.clone() * r).mean()
    };
    let clean = {
        let g = burn::optim::GradientsParams::from_grads(loss(&model).backward(), &model);
        grad_values(&model, &g)
    };
    let max_dev = |antithetic: bool| {
        let noise = NoiseConfig {
            antithetic,
            ..NoiseConfig::all(0.5)
        };
        let pgd = injection(&model, noise, &OptimConfig::sgd(0.1), 4);
        let (_, g) = pgd.perturbed_gradients(&model, &pgd.next_plan(), loss);
        let g = grad_values(&model, &g);
        g.iter()
            .flatten()
            .zip(clean.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    };
    assert!(
        max_dev(true) < 1e-5,
        "antithetic deviates by {}",
        max_dev(true)
    );
    assert!(max_dev(false) > 1e-2, "single pass should carry the noise");
}

#[test]
fn cyclic_layer_steps_report_their_groups_and_std() {
    let (_, model, batch) = setup();
    let noise = NoiseConfig {
        select: Select::Cyclic,
        group_by: GroupBy::Tensor,
        ..NoiseConfig::layer(0.05)
    };
    let mut pgd = injection(&model, noise, &OptimConfig::sgd(0.1), 0);
    let mut m = model.clone();
    let mut seen = vec![];
    for _ in 0..7 {
        let (next, report) = pgd
            .step(m, |m| m.loss(batch.x.clone(), batch.y.clone()))
            .unwrap();
        m = next;
        assert_eq!(report.per_weight_std, 0.05);
        seen.push(report.group.unwrap());
    }
    assert_eq!(seen, [0, 1, 2, 3, 4, 5, 0]);
}

#[test]
fn divergence_is_an_error_naming_the_step_and_what_to_lower() {
    let (_, model, batch) = setup();
    let mut pgd = injection(&model, NoiseConfig::layer(0.1), &OptimConfig::sgd(0.1), 0);
    let err = pgd
        .step(model, |m| {
            m.loss(batch.x.clone(), batch.y.clone())
                .mul_scalar(f32::NAN)
        })
        .expect_err("a NaN loss must stop the step");
    let msg = err.to_string();
    assert!(msg.contains("step 0") && msg.contains("lower"), "{msg}");
}

/// `step` is exactly `perturbed_gradients` at the step's plan followed by the base optimizer.
#[test]
fn step_is_perturbed_gradients_then_the_base_step() {
    let (model, batch) = wide();
    let opt = OptimConfig::sgd(0.1);
    for noise in [NoiseConfig::all(0.3), NoiseConfig::layer(0.3)] {
        let mut pgd = injection(&model, noise.clone(), &opt, 8);
        let reference = injection(&model, noise, &opt, 8);
        let mut base = BaseOptimizer::new(&opt, 100).unwrap();
        let (mut a, mut b) = (model.clone(), model.clone());
        for step in 0..4 {
            a = pgd
                .step(a, |m| m.loss(batch.x.clone(), batch.y.clone()))
                .unwrap()
                .0;
            let plan = reference
                .noise()
                .plan(8, step, 0.3, reference.groups().len());
            let (_, grads) = reference
                .perturbed_gradients(&b, &plan, |m| m.loss(batch.x.clone(), batch.y.clone()));
            b = base.step(0.1, b, grads);
        }
        assert_eq!(bits(&a), bits(&b));
    }
}

#[test]
fn noise_generated_into_the_copy_equals_drawing_then_adding() {
    // 784-500-... has tensors above the generator's parallel threshold (65,536 elements), so the
    // chunked, fused path is compared with the buffer-then-add path bit for bit, for w + ε and w − ε.
    let device = Device::flex().autodiff();
    let model = MlpConfig::new(vec![784, 500, 10]).init(3, &device);
    let groups = ParamGroups::of(&model, GroupBy::Layer);
    let plan = NoiseConfig::all(0.2).plan(7, 4, 0.2, groups.len());
    for sign in [1.0, -1.0] {
        let fused = perturb(&model, &groups, &plan, 7, sign);
        let drawn = perturb_with(&model, StepNoise::draw(&groups, &plan, 7), sign);
        assert_eq!(bits(&fused), bits(&drawn), "sign {sign}");
        assert_ne!(bits(&fused), bits(&model));
    }
}
