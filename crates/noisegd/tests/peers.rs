//! The peer policies' defining properties: Anti-PGD is PGD after a change of variables, SAM and
//! ASAM step as their closed forms say on a quadratic, RWP's noise has the per-unit stds it
//! states and mixes as α says, NSO with one pair and λ = 0 is the antithetic step, and every
//! one of them is the base step, bit for bit, when its noise is off.

mod common;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use common::*;
use noisegd::models::mlp::Mlp;
use noisegd::noise::{NoiseConfig, PolicyKind};
use noisegd::optim::{BaseOptimizer, OptimConfig};
use noisegd::params::{GroupBy, ParamGroups};
use noisegd::step::{loss_and_grads, peers, perturb, NoiseInjection};

/// The weights' bits after `steps` steps of `noise` on the shared MLP and batch.
fn bits_after(
    model: &Mlp,
    batch: &Batch,
    noise: NoiseConfig,
    opt: &OptimConfig,
    seed: u64,
) -> Vec<Vec<u32>> {
    let mut pgd = injection(model, noise, opt, seed);
    let mut m = model.clone();
    for _ in 0..3 {
        m = pgd
            .step(m, |m: &Mlp| m.loss(batch.x.clone(), batch.y.clone()))
            .unwrap()
            .0;
    }
    bits(&m)
}

/// Asserts `got = a·x + b·y` entry by entry (to f32 round-off).
fn assert_mixture(
    got: &[Vec<f32>],
    (a, x): (f32, &[Vec<f32>]),
    (b, y): (f32, &[Vec<f32>]),
    what: &str,
) {
    let terms = x.iter().flatten().zip(y.iter().flatten());
    for (g, (x, y)) in got.iter().flatten().zip(terms) {
        let want = a * x + b * y;
        assert!((g - want).abs() < 1e-6, "{what}: {g} vs {want}");
    }
}

/// `L(w) = ½ Σ aᵢ (wᵢ − cᵢ)²`: gradient `a ⊙ (w − c)`, known in closed form at every point.
#[derive(Module, Debug)]
struct Quadratic {
    w: Param<Tensor<1>>,
}

const A: [f32; 4] = [1.0, 2.0, 0.5, 4.0];
const C: [f32; 4] = [0.3, -0.2, 1.0, 0.1];

impl Quadratic {
    fn at(w: [f32; 4], device: &Device) -> Self {
        Self {
            w: Param::from_tensor(Tensor::<1>::from_floats(w, device).require_grad()),
        }
    }

    fn loss(&self) -> Tensor<1> {
        let device = self.w.val().device();
        let a = Tensor::<1>::from_floats(A, &device);
        let c = Tensor::<1>::from_floats(C, &device);
        let r = self.w.val() - c;
        (a * r.clone() * r).sum().mul_scalar(0.5)
    }

    fn weights(&self) -> Vec<f32> {
        self.w.val().into_data().try_to_vec::<f32>().unwrap()
    }
}

fn gradient(w: &[f32]) -> Vec<f64> {
    (0..4)
        .map(|i| f64::from(A[i]) * (f64::from(w[i]) - f64::from(C[i])))
        .collect()
}

/// One SGD step of `noise` on the quadratic from `w`.
fn quadratic_step(noise: NoiseConfig, w: [f32; 4], lr: f64) -> Vec<f32> {
    let device = Device::flex().autodiff();
    let model = Quadratic::at(w, &device);
    let optimizer = BaseOptimizer::new(&OptimConfig::sgd(lr), 10).unwrap();
    let mut pgd = NoiseInjection::new(&model, noise, optimizer, 0, 10).unwrap();
    pgd.step(model, |m: &Quadratic| m.loss())
        .unwrap()
        .0
        .weights()
}

/// The closed form `w − η·a ⊙ (w + ε − c)` with `ε = ρ·T²g/‖Tg‖`.
fn sam_closed_form(w: [f32; 4], lr: f64, rho: f64, eta: Option<f64>) -> Vec<f64> {
    let g = gradient(&w);
    let t: Vec<f64> = (0..4)
        .map(|i| eta.map_or(1.0, |eta| f64::from(w[i]).abs() + eta))
        .collect();
    let norm = (0..4).map(|i| (t[i] * g[i]).powi(2)).sum::<f64>().sqrt();
    (0..4)
        .map(|i| {
            let eps = rho * t[i] * t[i] * g[i] / norm;
            let wi = f64::from(w[i]);
            wi - lr * f64::from(A[i]) * (wi + eps - f64::from(C[i]))
        })
        .collect()
}

#[test]
fn sam_and_asam_step_as_their_closed_forms_on_a_quadratic() {
    let w = [1.0, 0.5, -0.5, 0.4];
    for (policy, rho, eta) in [
        (PolicyKind::Sam, 0.05, None),
        (PolicyKind::Sam, 0.3, None),
        (PolicyKind::Asam, 0.5, Some(0.01)),
        (PolicyKind::Asam, 0.2, Some(0.3)),
    ] {
        let noise = NoiseConfig {
            policy,
            rho: Some(rho),
            asam_eta: eta.filter(|_| policy == PolicyKind::Asam),
            ..NoiseConfig::default()
        };
        let got = quadratic_step(noise, w, 0.1);
        let want = sam_closed_form(w, 0.1, rho, eta);
        for i in 0..4 {
            assert!(
                (f64::from(got[i]) - want[i]).abs() < 1e-6,
                "{policy} ρ {rho}: w[{i}] = {} vs closed form {}",
                got[i],
                want[i]
            );
        }
        // The ascent matters: plain GD lands elsewhere.
        let gd = quadratic_step(NoiseConfig::default(), w, 0.1);
        assert!(got.iter().zip(&gd).any(|(a, b)| (a - b).abs() > 1e-4));
    }
}

#[test]
fn sam_with_a_zero_clean_gradient_is_the_base_step() {
    for policy in [PolicyKind::Sam, PolicyKind::Asam] {
        let noise = NoiseConfig {
            policy,
            ..NoiseConfig::default()
        };
        // At the minimum: g = 0, no ascent, no division by zero, the weights stay.
        let got = quadratic_step(noise.clone(), C, 0.1);
        let base = quadratic_step(NoiseConfig::default(), C, 0.1);
        assert_eq!(got, base, "{policy}");
        assert!(got.iter().all(|v| v.is_finite()));
    }
}

/// Anti-PGD `w ← opt(w, ∇L(w)) + ξ_{t+1} − ξ_t` is PGD under `all` on `z = w − ξ`, started from
/// `z₀ = w₀ − ξ₀`, for any base optimizer whose update does not read the weights: the two runs'
/// `w − ξ` and `z` agree to f32 round-off at every step.
#[test]
fn anti_pgd_minus_its_noise_follows_the_pgd_iterates() {
    let (_, model, batch) = setup();
    let seed = 21;
    let groups = ParamGroups::of(&model, GroupBy::Layer);
    let loss = |m: &Mlp| m.loss(batch.x.clone(), batch.y.clone());
    for opt in [
        OptimConfig::sgd(0.1),
        OptimConfig {
            momentum: 0.9,
            ..OptimConfig::sgd(0.05)
        },
    ] {
        let pgd_noise = NoiseConfig::all(0.1);
        let anti_noise = NoiseConfig {
            policy: PolicyKind::Anti,
            ..pgd_noise.clone()
        };
        let xi = |step: u64| pgd_noise.plan(seed, step, pgd_noise.sigma, groups.len());
        let mut anti = injection(&model, anti_noise, &opt, seed);
        let mut pgd = injection(&model, pgd_noise.clone(), &opt, seed);
        let mut w = model.clone();
        let mut z = perturb(&model, &groups, &xi(0), seed, -1.0);
        for t in 0..6u64 {
            w = anti.step(w, loss).unwrap().0;
            z = pgd.step(z, loss).unwrap().0;
            let back = values(&perturb(&w, &groups, &xi(t + 1), seed, -1.0));
            for (a, b) in back.iter().flatten().zip(values(&z).iter().flatten()) {
                assert!((a - b).abs() < 1e-5, "step {t}: w − ξ = {a}, z = {b}");
            }
        }
        // And the iterate itself carries the noise: w ≠ z.
        let far = values(&w)
            .iter()
            .flatten()
            .zip(values(&z).iter().flatten())
            .any(|(a, b)| (a - b).abs() > 1e-3);
        assert!(far, "Anti-PGD's iterate should differ from z by ξ");
    }
}

/// RWP's ε: every output unit's entries have std σ·‖unit‖ (Linear columns here), measured over
/// many steps' draws.
#[test]
fn rwp_noise_has_std_sigma_times_each_units_norm() {
    let (_, model, _) = setup();
    let groups = ParamGroups::of(&model, GroupBy::Layer);
    let noise = NoiseConfig {
        policy: PolicyKind::Rwp,
        sigma: 0.2,
        ..NoiseConfig::default()
    };
    let first = &groups.groups()[0].params[0]; // layers.0.weight, [6, 16]
    let (d_in, d_out) = (first.shape[0], first.shape[1]);
    let w = values(&model)[0].clone();
    let norms: Vec<f64> = (0..d_out)
        .map(|c| {
            (0..d_in)
                .map(|r| f64::from(w[r * d_out + c]).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let draws = 800u64;
    let mut sum_sq = vec![0f64; d_out];
    for t in 0..draws {
        let plan = noise.plan(5, t, noise.sigma, groups.len());
        let eps = peers::rwp_direction(&model, &groups, &plan, 5);
        for (i, e) in eps[&first.id].iter().enumerate() {
            sum_sq[i % d_out] += f64::from(*e).powi(2);
        }
    }
    let n = (draws as usize * d_in) as f64;
    for c in 0..d_out {
        let std = (sum_sq[c] / n).sqrt();
        let want = 0.2 * norms[c];
        // The sample std of n normals has relative s.e. 1/√(2n).
        let tol = 5.0 * want / (2.0 * n).sqrt();
        assert!(
            (std - want).abs() < tol,
            "unit {c}: std {std} vs σ‖w‖ {want}"
        );
    }
}

/// RWP's gradient is `(1 − α)∇L(w) + α∇L(w + ε)`; α = 1 is the perturbed gradient alone.
#[test]
fn rwp_mixes_the_clean_and_perturbed_gradients_by_alpha() {
    let (_, model, batch) = setup();
    let groups = ParamGroups::of(&model, GroupBy::Layer);
    let mut loss = |m: &Mlp| m.loss(batch.x.clone(), batch.y.clone());
    for alpha in [1.0, 0.5, 0.2] {
        let noise = NoiseConfig {
            policy: PolicyKind::Rwp,
            sigma: 0.3,
            rwp_alpha: Some(alpha),
            ..NoiseConfig::default()
        };
        let pgd = injection(&model, noise, &OptimConfig::sgd(0.1), 9);
        let plan = pgd.next_plan();
        let (_, got) = pgd.perturbed_gradients(&model, &plan, loss);
        let eps = peers::rwp_direction(&model, &groups, &plan, 9);
        let noisy = grad_values(
            &model,
            &loss_and_grads(&noisegd::step::displace(&model, eps, 1.0), &mut loss).1,
        );
        let clean = grad_values(&model, &loss_and_grads(&model, &mut loss).1);
        let got = grad_values(&model, &got);
        let alpha = alpha as f32;
        assert_mixture(
            &got,
            (1.0 - alpha, &clean),
            (alpha, &noisy),
            &format!("α {alpha}"),
        );
    }
}

/// NSO with one pair and λ = 0 is the antithetic `all` step, bit for bit; a second pair or a
/// clean weight changes it, and λ mixes as stated.
#[test]
fn nso_with_one_pair_and_no_clean_weight_is_the_antithetic_step() {
    let (_, model, batch) = setup();
    let loss = |m: &Mlp| m.loss(batch.x.clone(), batch.y.clone());
    let antithetic = NoiseConfig {
        antithetic: true,
        ..NoiseConfig::all(0.2)
    };
    let nso = |k: Option<u32>, lambda: Option<f64>| NoiseConfig {
        policy: PolicyKind::Nso,
        nso_samples: k,
        nso_lambda: lambda,
        ..NoiseConfig::all(0.2)
    };
    let run = |noise| bits_after(&model, &batch, noise, &OptimConfig::sgd(0.1), 4);
    let reference = run(antithetic.clone());
    assert_eq!(run(nso(None, None)), reference, "defaults k = 1, λ = 0");
    assert_eq!(run(nso(Some(1), Some(0.0))), reference);
    assert_ne!(
        run(nso(Some(2), None)),
        reference,
        "a second pair draws new noise"
    );

    // λ = 0.3: 0.3·∇L(w) + 0.7·(the antithetic gradient).
    let pgd = injection(&model, nso(Some(1), Some(0.3)), &OptimConfig::sgd(0.1), 4);
    let plan = pgd.next_plan();
    let got = grad_values(&model, &pgd.perturbed_gradients(&model, &plan, loss).1);
    let anti_pgd = injection(&model, antithetic, &OptimConfig::sgd(0.1), 4);
    let pair = grad_values(&model, &anti_pgd.perturbed_gradients(&model, &plan, loss).1);
    let mut l = loss;
    let clean = grad_values(&model, &loss_and_grads(&model, &mut l).1);
    assert_mixture(&got, (0.3, &clean), (0.7, &pair), "λ 0.3");
}

/// σ = 0 (anti, rwp, nso) and ρ switched off (sam, asam) give the base optimizer's step, bit for
/// bit, with momentum and weight decay.
#[test]
fn every_peer_with_its_noise_off_is_the_base_step_bit_for_bit() {
    let (_, model, batch) = setup();
    let opt = OptimConfig {
        momentum: 0.9,
        weight_decay: Some(5e-4),
        ..OptimConfig::sgd(0.1)
    };
    let run = |noise| bits_after(&model, &batch, noise, &opt, 3);
    let base = run(NoiseConfig::default());
    for policy in [PolicyKind::Anti, PolicyKind::Rwp, PolicyKind::Nso] {
        let noise = NoiseConfig {
            policy,
            sigma: 0.0,
            ..NoiseConfig::default()
        };
        assert_eq!(run(noise), base, "{policy} at σ = 0");
    }
    for policy in [PolicyKind::Sam, PolicyKind::Asam] {
        let noise = NoiseConfig {
            policy,
            off_after_step: Some(0),
            ..NoiseConfig::default()
        };
        assert_eq!(run(noise), base, "{policy} switched off");
    }
}
