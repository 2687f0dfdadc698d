//! `device = "gpu"` end to end through the binary (`cargo test --features gpu`): a short train
//! run on the GPU ends close to the same run on the CPU, and a checkpoint written on one device
//! resumes on the other, and a GPU out of memory stops the run with an error that says what to
//! change and how to resume. CI runs them on Mesa's lavapipe with `NOISEGD_REQUIRE_GPU=1`;
//! elsewhere they skip, saying so, when no adapter opens.
#![cfg(feature = "gpu")]

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_noisegd");

/// MNIST-1D's MLP, minibatch SGD with momentum, layer-wise noise and a checkpoint every 20
/// steps: every part of the step, at a size lavapipe runs in seconds. The Hessian's 300 probe
/// examples are one chunk on the CPU and two (256 + 44) on the GPU.
const RUN: &str = r#"
experiment = "train"
seed = 5
[data]
name = "mnist1d"
[model]
name = "mnist1d_mlp"
[noise]
policy = "layer"
sigma = 0.05
[optim]
lr = 0.05
momentum = 0.9
schedule = "cosine"
[train]
steps = 60
log_every = 20
batch_size = 500
checkpoint_every = 20
[eval]
hessian_every = 60
hessian_probes = 2
hessian_subset = 300
"#;

fn output(args: &[&str]) -> Output {
    Command::new(EXE).args(args).output().unwrap()
}

/// Whether a GPU adapter opens in this process's environment (the binary is asked, as a run
/// would be); panics under `NOISEGD_REQUIRE_GPU=1` when none does.
fn gpu_available(tmp: &Path) -> bool {
    let probe = tmp.join("probe");
    let cfg = tmp.join("probe.toml");
    fs::write(&cfg, RUN.replace("steps = 60", "steps = 1")).unwrap();
    let o = run(&cfg, &probe, &["--device", "gpu"]);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    if o.status.success() {
        return true;
    }
    assert!(
        std::env::var("NOISEGD_REQUIRE_GPU").as_deref() != Ok("1"),
        "NOISEGD_REQUIRE_GPU=1 but the GPU run failed: {stderr}"
    );
    eprintln!("skipped, no GPU: {stderr}");
    false
}

fn run(cfg: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    output(&args)
}

fn run_ok(cfg: &Path, out: &Path, extra: &[&str]) -> String {
    let o = run(cfg, out, extra);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Starts the run of `cfg` on `device` into `dir` and kills it as soon as its first checkpoint
/// is written, as an interruption would.
fn stop_after_first_checkpoint(cfg: &Path, dir: &Path, device: &str) {
    let mut child = Command::new(EXE)
        .args(["run", cfg.to_str().unwrap(), "--quiet", "--device", device])
        .args(["--out", dir.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !dir.join("checkpoint.bin").exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{device}: ended before a checkpoint"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{device}: no checkpoint"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn number(summary: &serde_json::Value, key: &str) -> f64 {
    summary[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {summary}"))
}

/// 60 steps from the same weights and noise: the f32 sums run in another order on the GPU, and
/// the difference can grow with the steps. Measured on lavapipe: the losses agree to 7e-8, the
/// accuracies exactly, the Hessian trace to 2e-7; tested to 1e-4, one example and 1e-3.
#[test]
fn a_short_run_on_the_gpu_ends_close_to_the_same_run_on_the_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    if !gpu_available(tmp.path()) {
        return;
    }
    let cfg = tmp.path().join("run.toml");
    fs::write(&cfg, RUN).unwrap();
    let stderr = run_ok(&cfg, &tmp.path().join("gpu"), &["--device", "gpu"]);
    assert!(
        stderr.contains("device: gpu"),
        "the run names its adapter: {stderr}"
    );
    run_ok(&cfg, &tmp.path().join("cpu"), &[]);
    let (gpu, cpu) = (
        summary(&tmp.path().join("gpu")),
        summary(&tmp.path().join("cpu")),
    );
    assert!(gpu["device"].as_str().unwrap().starts_with("gpu"), "{gpu}");
    assert!(cpu["device"].as_str().unwrap().starts_with("cpu"), "{cpu}");
    for key in [
        "train_loss",
        "test_loss",
        "train_accuracy",
        "test_accuracy",
        "hessian_trace",
    ] {
        let (g, c) = (number(&gpu, key), number(&cpu, key));
        eprintln!(
            "{key}: cpu {c:.6}, gpu {g:.6}, rel {:.1e}",
            (g - c).abs() / c.abs()
        );
    }
    let rel = |key| (number(&gpu, key) - number(&cpu, key)).abs() / number(&cpu, key).abs();
    assert!(rel("train_loss") < 1e-4 && rel("test_loss") < 1e-4);
    for key in ["train_accuracy", "test_accuracy"] {
        assert!(
            (number(&gpu, key) - number(&cpu, key)).abs() <= 0.01,
            "{key}"
        );
    }
    // Same probes on both devices: only the arithmetic differs.
    assert!(rel("hessian_trace") < 1e-3, "hessian_trace");
}

/// The wide CNN trained full-batch on the 2,000 compiled-in Fashion-MNIST images: one activation
/// of 2,000 × 128 × 14 × 14 floats (200 MB) is more than a storage buffer holds on lavapipe
/// (128 MiB). Started on the CPU and stopped after its first checkpoint, resumed on the GPU: the
/// run stops with an error naming the model, the batch size and the keys to change, keeps the
/// checkpoint, and finishes from it on the CPU.
#[test]
fn a_gpu_out_of_memory_says_what_to_change_and_the_run_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    if !gpu_available(tmp.path()) {
        return;
    }
    let cfg = tmp.path().join("oom.toml");
    fs::write(
        &cfg,
        r#"
experiment = "train"
[data]
name = "fashion_mnist_embedded"
[model]
name = "wide_cnn_code"
[noise]
policy = "all"
sigma = 0.05
[train]
steps = 3
log_every = 1
batch_size = 0
checkpoint_every = 1
[eval]
test_subset = 100
"#,
    )
    .unwrap();
    let dir = tmp.path().join("oom");
    stop_after_first_checkpoint(&cfg, &dir, "cpu");
    let resume = |device: &str| {
        output(&[
            "run",
            "--quiet",
            "--resume",
            dir.to_str().unwrap(),
            "--device",
            device,
        ])
    };
    let o = resume("gpu");
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    if !stderr.contains("llvmpipe") && o.status.success() {
        eprintln!("skipped: this GPU holds the 200 MB activation ({stderr})");
        return;
    }
    assert!(!o.status.success(), "lavapipe cannot hold 200 MB: {stderr}");
    for needed in [
        "the GPU ran out of memory training wide_cnn_code at train.batch_size = 0",
        "make train.batch_size or eval.hessian_subset smaller",
        "keeps its last checkpoint",
        "--resume",
        "can't allocate buffer",
    ] {
        assert!(stderr.contains(needed), "{needed:?} in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(dir.join("checkpoint.bin").exists());
    let o = resume("cpu");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(summary(&dir)["status"], "finished");
}

/// Killed after a checkpoint on one device, resumed on the other: it ends as close to the
/// uninterrupted CPU run as the GPU run does (measured: 2e-8 on the train loss; tested to 1e-4).
#[test]
fn a_checkpoint_from_one_device_resumes_on_the_other() {
    let tmp = tempfile::tempdir().unwrap();
    if !gpu_available(tmp.path()) {
        return;
    }
    let cfg = tmp.path().join("run.toml");
    fs::write(&cfg, RUN).unwrap();
    run_ok(&cfg, &tmp.path().join("straight"), &[]);
    let straight = summary(&tmp.path().join("straight"));
    for (first, then) in [("cpu", "gpu"), ("gpu", "cpu")] {
        let dir = tmp.path().join(format!("{first}-{then}"));
        stop_after_first_checkpoint(&cfg, &dir, first);
        let o = output(&[
            "run",
            "--quiet",
            "--resume",
            dir.to_str().unwrap(),
            "--device",
            then,
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        assert!(stderr.contains(&format!("resuming on {then}")), "{stderr}");
        let resumed = summary(&dir);
        assert_eq!(resumed["steps_done"], 60);
        assert!(resumed["device"].as_str().unwrap().starts_with(then));
        let rel = (number(&resumed, "train_loss") - number(&straight, "train_loss")).abs()
            / number(&straight, "train_loss");
        eprintln!("{first} → {then}: train loss rel {rel:.1e} from the uninterrupted CPU run");
        assert!(rel < 1e-4, "{first} → {then}: {rel}");
    }
}
