//! One end-to-end benchmark case in its own process, for `bench/compare.py`.
//!
//! Runs `--warmup` steps, then `--steps` timed steps of one model under one noise policy, and prints
//! one JSON line: the median and quartiles of the step time in ms, and the process's peak resident
//! memory (VmHWM) in MiB. One case per process so that the peak memory is the case's own; the
//! PyTorch peer (`bench/peer_pytorch.py`) takes the same arguments and prints the same line.
//!
//! ```text
//! cargo run --release -p noisegd --example bench_case -- --model mlp1 --batch 128 --policy all
//! cargo run --release -p noisegd --example bench_case -- --model diag --n 1000 --d 10000 --policy layer
//! cargo run --release -p noisegd --features gpu --example bench_case -- --device gpu --model resnet18
//! ```
//!
//! On the GPU (`--device gpu`) a step's time includes its loss read back to the host, which waits
//! for the step's work to finish; the line names the adapter.
//!
//! Every case steps SGD with momentum 0.9 and lr 5e-3 (the paper's MLP setting) from the clean
//! weights; `all` uses std σ/√M per weight, `layer` std σ on one group chosen cyclically as the
//! official code does, σ = 0.05; the peer policies (`anti`, `sam`, `asam`, `rwp`, `nso`) take σ
//! and their recommended ρ, α, k, λ, and the line says how many forward-backward passes a step
//! takes. Inputs are deterministic pseudo-data: the timing does not depend on the values.

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use noisegd::backend::Backend;
use noisegd::models::diagonal::DiagonalNet;
use noisegd::models::mlp::{Mlp, MlpConfig};
use noisegd::models::network::{ModelKind, Network};
use noisegd::models::Classifier;
use noisegd::noise::{NoiseConfig, PolicyKind, Select};
use noisegd::optim::{BaseOptimizer, OptimConfig};
use noisegd::step::NoiseInjection;
use std::time::Instant;

struct Args {
    model: String,
    policy: PolicyKind,
    batch: usize,
    n: usize,
    d: usize,
    warmup: usize,
    steps: usize,
    sigma: f64,
    device: Backend,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        model: "mlp1".into(),
        policy: PolicyKind::None,
        batch: 128,
        n: 40,
        d: 100,
        warmup: 10,
        steps: 50,
        sigma: 0.05,
        device: Backend::Cpu,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || -> Result<usize, String> {
            value
                .parse()
                .map_err(|_| format!("{flag}: expected a whole number, found {value:?}"))
        };
        match flag.as_str() {
            "--model" => args.model = value.clone(),
            "--policy" => {
                args.policy = PolicyKind::ALL
                    .into_iter()
                    .find(|p| p.to_string() == value)
                    .ok_or_else(|| {
                        format!("--policy: expected none|all|layer|anti|sam|asam|rwp|nso, found {value:?}")
                    })?
            }
            "--batch" => args.batch = number()?,
            "--n" => args.n = number()?,
            "--d" => args.d = number()?,
            "--warmup" => args.warmup = number()?,
            "--steps" => args.steps = number()?,
            "--sigma" => {
                args.sigma = value
                    .parse()
                    .map_err(|_| format!("--sigma: expected a number, found {value:?}"))?
            }
            "--device" => args.device = Backend::parse(&value).map_err(|e| e.to_string())?,
            other => {
                return Err(format!(
                    "unknown flag {other}; expected --model mlp1|mlp2|mlp3|mlp4|lenet|widecnn|widecnn_paper|resnet18|diag, --policy, --batch, --n, --d, --warmup, --steps, --sigma, --device cpu|gpu"
                ))
            }
        }
    }
    if args.steps == 0 {
        return Err("--steps must be at least 1".into());
    }
    Ok(args)
}

/// Deterministic inputs in [0, 1): the values do not matter for the timing.
fn pseudo_data(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect()
}

/// Peak resident set size of this process in MiB, from `/proc/self/status` (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Times `warmup + steps` perturbed steps of `model`; returns the timed steps' durations in ms.
fn time_steps<M, F>(mut model: M, args: &Args, loss: F) -> Vec<f64>
where
    M: Module,
    F: Fn(&M) -> Tensor<1> + Sync,
{
    let total = (args.warmup + args.steps) as u64;
    let noise = bench_noise(args);
    let opt = OptimConfig {
        momentum: 0.9,
        ..OptimConfig::sgd(0.005)
    };
    let base = BaseOptimizer::new(&opt, total).expect("valid optimizer settings");
    let mut pgd = NoiseInjection::new(&model, noise, base, 0, total).expect("valid noise settings");
    let mut times = Vec::with_capacity(args.steps);
    for i in 0..args.warmup + args.steps {
        let t = Instant::now();
        let (next, _) = pgd
            .step(model, &loss)
            .expect("the benchmark's loss stays finite");
        model = next;
        if i >= args.warmup {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    times
}

/// The case's noise: σ on the random policies (layer cyclic, as the official code), the
/// recommended ρ / α / k / λ of the peers (see `noisegd::step::peers`).
fn bench_noise(args: &Args) -> NoiseConfig {
    NoiseConfig {
        select: Select::Cyclic,
        ..NoiseConfig::of(args.policy, args.sigma)
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    if std::env::var_os("NOISEGD_SYSTEM_MALLOC").is_none() {
        noisegd::backend::retain_freed_memory();
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("bench_case: {message}");
            std::process::exit(2);
        }
    };
    let (device, adapter) = match args.device.open() {
        Ok(opened) => (opened.device, opened.description),
        Err(e) => {
            eprintln!("bench_case: {e}");
            std::process::exit(2);
        }
    };
    let (label, mut times) = match args.model.as_str() {
        "mlp1" | "mlp2" | "mlp3" | "mlp4" => {
            let b = args.batch;
            let x =
                Tensor::<2>::from_data(TensorData::new(pseudo_data(b * 784), [b, 784]), &device);
            let labels: Vec<i64> = (0..b as i64).map(|i| i % 10).collect();
            let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [b]), &device);
            let config = match args.model.as_str() {
                "mlp1" => MlpConfig::mlp1(),
                "mlp2" => MlpConfig::mlp2(),
                "mlp3" => MlpConfig::mlp3(),
                _ => MlpConfig::mlp4(),
            };
            let model: Mlp = config.init(0, &device);
            let times = time_steps(model, &args, |m: &Mlp| m.loss(x.clone(), y.clone()));
            (format!("{} batch {b}", args.model), times)
        }
        "lenet" | "widecnn" | "widecnn_paper" | "resnet18" => {
            // CIFAR-10 geometry; `widecnn` is the official code's 32-128-128-128 CIFARCNN2 (the
            // baseline's 4-conv CNN), `widecnn_paper` the paper's 32-64-128-128.
            let kind = match args.model.as_str() {
                "lenet" => ModelKind::Lenet,
                "widecnn" => ModelKind::WideCnnCode,
                "resnet18" => ModelKind::Resnet18,
                _ => ModelKind::WideCnn,
            };
            let b = args.batch;
            let features = 3 * 32 * 32;
            let x = Tensor::<2>::from_data(
                TensorData::new(pseudo_data(b * features), [b, features]),
                &device,
            );
            let labels: Vec<i64> = (0..b as i64).map(|i| i % 10).collect();
            let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [b]), &device);
            let model = kind
                .build([3, 32, 32], 10, 0, &device)
                .expect("valid CIFAR geometry");
            let times = time_steps(model, &args, |m: &Network| m.loss(x.clone(), y.clone()));
            (format!("{} batch {b}", args.model), times)
        }
        "diag" => {
            let (n, d) = (args.n, args.d);
            // Features scaled by 1/√d so that lr 5e-3 stays stable at d = 10,000 (unscaled, the
            // loss overflowed within ~50 steps); bench/peer_pytorch.py scales the same way.
            let scale = 1.0 / (d as f32).sqrt();
            let features: Vec<f32> = pseudo_data(n * d).iter().map(|v| v * scale).collect();
            let x = Tensor::<2>::from_data(TensorData::new(features, [n, d]), &device);
            let y = Tensor::<1>::from_data(TensorData::new(pseudo_data(n), [n]), &device);
            let model = DiagonalNet::uniform(d, 0.1, &device);
            let times = time_steps(model, &args, |m: &DiagonalNet| m.loss(x.clone(), y.clone()));
            (format!("diag n {n} d {d}"), times)
        }
        other => {
            eprintln!("bench_case: --model: expected mlp1, lenet, widecnn, widecnn_paper or diag, found {other:?}");
            std::process::exit(2);
        }
    };
    times.sort_by(f64::total_cmp);
    let peak = peak_rss_mib().map_or("null".to_string(), |m| format!("{m:.1}"));
    println!(
        "{{\"impl\": \"noisegd\", \"case\": \"{label}\", \"policy\": \"{}\", \"passes\": {}, \"median_ms\": {:.4}, \"p25_ms\": {:.4}, \"p75_ms\": {:.4}, \"steps\": {}, \"peak_mib\": {peak}, \"device\": {:?}}}",
        args.policy,
        bench_noise(&args).passes_per_step(),
        quantile(&times, 0.5),
        quantile(&times, 0.25),
        quantile(&times, 0.75),
        times.len(),
        adapter,
    );
}
