//! End-to-end step times of the perturbed step and the noise generator's throughput.
//!
//! `cargo bench -p noisegd --bench step` prints, for MLP 1 (784-500-500-500-10) at batch 128 with
//! SGD (momentum 0.9): the median step time for every policy (none / all / layer and the peers
//! anti / sam / asam / rwp / nso, with their forward-backward passes per step) and each policy's
//! overhead over none, measured interleaved in one run (so the ratios share the machine's state);
//! and the Gaussian generator's throughput in normals/s with 1 and 2 threads.
//! Environment: `NOISEGD_BENCH_ROUNDS` (default 40) rounds of `NOISEGD_BENCH_STEPS` (default 5)
//! steps per policy.
//!
//! Then the same for the toy CNN (LeNet) and the wide CNN (both channel plans) on CIFAR-shaped
//! batches of 128 (32×32×3), `NOISEGD_BENCH_CNN_ROUNDS` (default 5) rounds of 2 steps per policy.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use noisegd::models::cnn::{WideCnnChannels, WideCnnConfig};
use noisegd::models::lenet::LeNetConfig;
use noisegd::models::mlp::{Mlp, MlpConfig};
use noisegd::models::{gaussian, Classifier};
use noisegd::noise::rng::{fill_normal, NoiseKey};
use noisegd::noise::{NoiseConfig, PolicyKind};
use noisegd::optim::{BaseOptimizer, OptimConfig};
use noisegd::step::NoiseInjection;
use std::time::Instant;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn noise_throughput(threads: usize, n: usize, reps: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut buf = vec![0f32; n];
    pool.install(|| {
        let mut times = vec![];
        for r in 0..reps {
            let t = Instant::now();
            fill_normal(NoiseKey::new(1, r as u64, 0), 0, 1.0, &mut buf);
            times.push(t.elapsed().as_secs_f64());
        }
        std::hint::black_box(&buf);
        n as f64 / median(times)
    })
}

/// The step of every case: `noise` around `opt`, seed 0, planned for `total` steps.
fn injection<M: Module>(
    model: &M,
    noise: NoiseConfig,
    opt: &OptimConfig,
    total: u64,
) -> NoiseInjection {
    NoiseInjection::new(
        model,
        noise,
        BaseOptimizer::new(opt, total).unwrap(),
        0,
        total,
    )
    .unwrap()
}

struct Case {
    name: String,
    model: Mlp,
    pgd: NoiseInjection,
    times: Vec<f64>,
}

fn main() {
    // As the `noisegd` binary does: freed buffers are reused instead of page-faulted back in.
    noisegd::backend::retain_freed_memory();
    // `cargo bench` passes `--bench`; accept and ignore harness flags.
    let rounds = env_or("NOISEGD_BENCH_ROUNDS", 40);
    let steps = env_or("NOISEGD_BENCH_STEPS", 5);
    let batch = 128;
    let device = Device::flex().autodiff();

    let n = 898_510;
    println!("noise generator, {n} normals per call (one MLP 1 'all' step):");
    for threads in [1, 2] {
        let rate = noise_throughput(threads, n, 30);
        println!(
            "  {threads} thread(s): {:.1} M normals/s  ({:.3} ms per call)",
            rate / 1e6,
            n as f64 / rate * 1e3
        );
    }

    let x_data: Vec<f32> = (0..batch * 784)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let x = Tensor::<2>::from_data(TensorData::new(x_data, [batch, 784]), &device);
    let y = Tensor::<1, Int>::from_data(
        TensorData::new(
            (0..batch as i64).map(|i| i % 10).collect::<Vec<_>>(),
            [batch],
        ),
        &device,
    );
    let opt = OptimConfig {
        momentum: 0.9,
        ..OptimConfig::sgd(0.005)
    };
    let total = (rounds * steps + 100) as u64;
    let mut cases: Vec<Case> = PolicyKind::ALL
        .into_iter()
        .map(|policy| {
            let model = MlpConfig::mlp1().init(0, &device);
            // σ on the random policies; the peers' recommended ρ, α, k, λ.
            let noise = NoiseConfig::of(policy, 0.05);
            let name = policy.to_string();
            let pgd = injection(&model, noise, &opt, total);
            Case {
                name,
                model,
                pgd,
                times: vec![],
            }
        })
        .collect();

    let run = |case: &mut Case, k: usize| -> f64 {
        let t = Instant::now();
        for _ in 0..k {
            let model = case.model.clone();
            let (next, _) = case
                .pgd
                .step(model, |m| m.loss(x.clone(), y.clone()))
                .unwrap();
            case.model = next;
        }
        t.elapsed().as_secs_f64() / k as f64
    };
    for case in cases.iter_mut() {
        run(case, 5); // warm-up: allocator pools, thread pool
    }
    for _ in 0..rounds {
        for case in cases.iter_mut() {
            let per_step = run(case, steps);
            case.times.push(per_step);
        }
    }
    let base = median(cases[0].times.clone());

    // Where the overhead goes: building the perturbed copy alone (noise + copy + new leaves).
    let groups = noisegd::params::ParamGroups::of(&cases[0].model, noisegd::params::GroupBy::Layer);
    let time_perturb = |noise: &NoiseConfig, step: u64| {
        let plan = noise.plan(0, step, noise.sigma, groups.len());
        let t = Instant::now();
        let copy = noisegd::step::perturb(&cases[0].model, &groups, &plan, 0, 1.0);
        std::hint::black_box(&copy);
        t.elapsed().as_secs_f64()
    };
    let perturb_all = median(
        (0..30)
            .map(|s| time_perturb(&NoiseConfig::all(0.05), s))
            .collect(),
    );
    let cyclic = NoiseConfig {
        select: noisegd::noise::Select::Cyclic,
        ..NoiseConfig::layer(0.05)
    };
    let perturb_layer: Vec<f64> = (0..groups.len())
        .map(|g| {
            median(
                (0..30)
                    .map(|r| time_perturb(&cyclic, (r * groups.len() + g) as u64))
                    .collect(),
            )
        })
        .collect();
    println!("\nMLP 1 (784-500-500-500-10, 898,510 parameters, 4 layer groups), batch {batch}, SGD momentum 0.9,");
    println!(
        "median of {rounds} rounds x {steps} steps, policies interleaved, {} rayon threads:",
        rayon::current_num_threads()
    );
    println!(
        "  {:<6} {:>6} {:>10} {:>10}",
        "policy", "passes", "ms/step", "overhead"
    );
    for case in &cases {
        let m = median(case.times.clone());
        println!(
            "  {:<6} {:>6} {:>10.3} {:>+9.1}%",
            case.name,
            case.pgd.noise().passes_per_step(),
            m * 1e3,
            (m / base - 1.0) * 100.0
        );
    }
    println!("\nbuilding the perturbed copy alone (median of 30):");
    println!("  all: {:.3} ms", perturb_all * 1e3);
    for (g, t) in perturb_layer.iter().enumerate() {
        println!(
            "  layer, group {g} ({} weights): {:.3} ms",
            groups.groups()[g].numel(),
            t * 1e3
        );
    }

    cnn_benches();
}

/// Median step time of each policy (none / all with σ = 0.05 / layer with σ = 0.05) for a
/// classifier built by `build`, policies interleaved round by round.
fn time_policies<M: Module + Classifier>(
    build: impl Fn() -> M,
    x: &Tensor<2>,
    y: &Tensor<1, Int>,
    rounds: usize,
    steps: usize,
) -> Vec<(&'static str, f64)> {
    let opt = OptimConfig {
        momentum: 0.9,
        ..OptimConfig::sgd(0.005)
    };
    let total = (rounds * steps + 10) as u64;
    let mut cases: Vec<(&'static str, M, NoiseInjection, Vec<f64>)> = [
        ("none", PolicyKind::None),
        ("all", PolicyKind::All),
        ("layer", PolicyKind::Layer),
    ]
    .into_iter()
    .map(|(name, policy)| {
        let model = build();
        let pgd = injection(&model, NoiseConfig::of(policy, 0.05), &opt, total);
        (name, model, pgd, vec![])
    })
    .collect();
    for round in 0..=rounds {
        for (_, model, pgd, times) in cases.iter_mut() {
            let t = Instant::now();
            for _ in 0..steps {
                let (next, _) = pgd
                    .step(model.clone(), |m| m.loss(x.clone(), y.clone()))
                    .unwrap();
                *model = next;
            }
            // Round 0 is the warm-up.
            if round > 0 {
                times.push(t.elapsed().as_secs_f64() / steps as f64);
            }
        }
    }
    cases
        .into_iter()
        .map(|(name, _, _, times)| (name, median(times)))
        .collect()
}

fn cnn_benches() {
    let rounds = env_or("NOISEGD_BENCH_CNN_ROUNDS", 5);
    let steps = 2;
    let batch = 128;
    let device = Device::flex().autodiff();
    let x = gaussian([batch, 3 * 32 * 32], 1.0, 1, 0, &device);
    let y = Tensor::<1, Int>::from_data(
        TensorData::new(
            (0..batch as i64).map(|i| i % 10).collect::<Vec<_>>(),
            [batch],
        ),
        &device,
    );
    let report = |title: &str, times: Vec<(&str, f64)>| {
        println!("\n{title}, batch {batch} (32×32×3), SGD momentum 0.9, median of {rounds} rounds x {steps} steps:");
        println!("  {:<6} {:>10} {:>10}", "policy", "ms/step", "overhead");
        let base = times[0].1;
        for (name, t) in times {
            println!(
                "  {:<6} {:>10.1} {:>+9.1}%",
                name,
                t * 1e3,
                (t / base - 1.0) * 100.0
            );
        }
    };
    report(
        "toy CNN (LeNet, 62,006 parameters, 5 layer groups)",
        time_policies(
            || LeNetConfig::cifar10().init(0, &device),
            &x,
            &y,
            rounds,
            steps,
        ),
    );
    for (plan, title) in [
        (
            WideCnnChannels::Code,
            "wide CNN, code channels 32-128-128-128 (334,346 parameters, 5 groups)",
        ),
        (
            WideCnnChannels::Paper,
            "wide CNN, paper channels 32-64-128-128 (242,122 parameters, 5 groups)",
        ),
    ] {
        report(
            title,
            time_policies(
                || WideCnnConfig::cifar10(plan).init(0, &device),
                &x,
                &y,
                rounds,
                steps,
            ),
        );
    }
}
