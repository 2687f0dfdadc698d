//! Runs that survive: kill -9 and resume, Ctrl-C and resume, sweeps that resume their cells. In
//! every case the final metrics must be those of the run that was never interrupted, bit for bit.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_noisegd");

/// Minibatch SGD with momentum, layer-wise noise, a cosine schedule, every diagnostic, logging
/// and checkpoints at cadences that do not line up with the epochs (8 batches each).
const RUN: &str = r#"
experiment = "train"
seed = 4
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
steps = 150
log_every = 7
batch_size = 500
checkpoint_every = 10
[eval]
hessian_every = 35
hessian_probes = 2
hessian_subset = 100
regularizer_every = 21
regularizer_draws = 2
"#;

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("run.toml");
    fs::write(&path, RUN).unwrap();
    path
}

fn output(args: &[&str]) -> Output {
    Command::new(EXE).args(args).output().unwrap()
}

fn spawn(args: &[&str]) -> Child {
    Command::new(EXE)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `SIG<name>` (`INT`, `TERM`) to `child` alone, as `kill -<name> PID` does.
fn send_signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{name} {}", child.id());
}

/// Waits until `path` exists (the run has written its first checkpoint).
fn wait_for(path: &Path, child: &mut Child) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before writing {}",
            path.display()
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn status(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join("summary.json")).ok()?;
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    Some(s["status"].as_str().unwrap().to_string())
}

/// Runs `cfg` to the end in `dir`; returns its metrics.csv.
fn run_to_end(cfg: &Path, dir: &Path) -> String {
    let o = output(&[
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    fs::read_to_string(dir.join("metrics.csv")).unwrap()
}

fn uninterrupted(tmp: &Path, cfg: &Path) -> String {
    run_to_end(cfg, &tmp.join("straight"))
}

fn resume_ok(dir: &Path) -> String {
    let o = output(&["run", "--quiet", "--resume", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(status(dir).as_deref(), Some("finished"));
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn a_run_killed_twice_resumes_to_the_metrics_of_the_uninterrupted_run_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path());
    let expected = uninterrupted(tmp.path(), &cfg);
    // Header, 21 rows on the 7-grid, the last step, and 1, 2, 5, 10, 20, 50, 100.
    assert_eq!(expected.lines().count(), 1 + 21 + 1 + 7);

    let dir = tmp.path().join("killed");
    let d = dir.to_str().unwrap();
    let ckpt = dir.join("checkpoint.bin");
    let mut child = spawn(&["run", cfg.to_str().unwrap(), "--quiet", "--out", d]);
    wait_for(&ckpt, &mut child);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert_eq!(status(&dir), None, "killed before the end");

    // Killed again during the resumed run, right after its next checkpoint.
    let first = fs::read(&ckpt).unwrap();
    let mut child = spawn(&["run", "--quiet", "--resume", d]);
    let start = Instant::now();
    while fs::read(&ckpt).unwrap() == first {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the resumed run ended before its next checkpoint"
        );
        assert!(start.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status(&dir), None);

    let stderr = resume_ok(&dir);
    assert!(stderr.contains("resuming"), "{stderr}");
    assert_eq!(
        fs::read_to_string(dir.join("metrics.csv")).unwrap(),
        expected
    );
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let straight: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("straight/summary.json")).unwrap(),
    )
    .unwrap();
    for key in [
        "test_accuracy",
        "best_test_accuracy",
        "train_loss",
        "l2_norm",
        "steps_done",
    ] {
        assert_eq!(summary[key], straight[key], "{key}");
    }

    // A finished run has nothing to resume; a damaged checkpoint is refused, naming the file.
    let o = output(&["run", "--resume", d]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing to resume"));
    fs::remove_file(dir.join("summary.json")).unwrap();
    let mut bytes = fs::read(&ckpt).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    fs::write(&ckpt, bytes).unwrap();
    let o = output(&["run", "--resume", d]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("checkpoint.bin") && err.contains("checksum"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_after_the_step_with_a_checkpoint_and_the_run_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path());
    let expected = uninterrupted(tmp.path(), &cfg);
    let dir = tmp.path().join("interrupted");
    let d = dir.to_str().unwrap();
    let mut child = spawn(&["run", cfg.to_str().unwrap(), "--quiet", "--out", d]);
    wait_for(&dir.join("checkpoint.bin"), &mut child);
    send_signal(&child, "INT");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(status(&dir).as_deref(), Some("interrupted"));
    let seconds = |dir: &Path| {
        let text = fs::read_to_string(dir.join("summary.json")).unwrap();
        let s: serde_json::Value = serde_json::from_str(&text).unwrap();
        s["seconds"].as_f64().expect("summary.json has `seconds`")
    };
    let before = seconds(&dir);
    assert!(
        before > 0.0,
        "the interrupted process's wall time: {before}"
    );
    resume_ok(&dir);
    assert_eq!(
        fs::read_to_string(dir.join("metrics.csv")).unwrap(),
        expected
    );
    // The finished summary's wall time counts both processes.
    let total = seconds(&dir);
    assert!(
        total > before,
        "seconds after the resume {total} ≤ before it {before}"
    );
}

#[test]
fn a_sweep_resumes_a_killed_cell_from_its_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path());
    let expected = uninterrupted(tmp.path(), &cfg);
    let sweep = tmp.path().join("sweep");
    // The cell `seed=4` as the sweep would have started it, killed after its first checkpoint.
    let cell = sweep.join("seed=4");
    let mut child = spawn(&[
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--set",
        "seed=4",
        "--out",
        cell.to_str().unwrap(),
    ]);
    wait_for(&cell.join("checkpoint.bin"), &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let o = output(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--seeds",
        "1",
        "--quiet",
        "--out",
        sweep.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = fs::read_to_string(sweep.join("logs/seed=4.log")).unwrap();
    assert!(log.contains("resuming"), "{log}");
    assert_eq!(
        fs::read_to_string(cell.join("metrics.csv")).unwrap(),
        expected
    );
    assert!(
        !fs::read_dir(&sweep).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("unfinished")),
        "nothing moved aside"
    );
}

#[test]
fn resume_refuses_a_directory_without_a_run_and_a_diverged_run() {
    let tmp = tempfile::tempdir().unwrap();
    let o = output(&["run", "--resume", tmp.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("no config.toml"),
        "{err}"
    );
    fs::write(tmp.path().join("config.toml"), RUN).unwrap();
    fs::write(tmp.path().join("summary.json"), r#"{"status": "diverged"}"#).unwrap();
    let o = output(&["run", "--resume", tmp.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("lower optim.lr"),
        "{err}"
    );
    let o = output(&["run", "x.toml", "--resume", tmp.path().to_str().unwrap()]);
    assert!(
        !o.status.success(),
        "a config and --resume together are refused"
    );
}

#[test]
fn experiments_without_checkpoints_resume_by_running_again_to_the_same_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("lasso.toml");
    fs::write(
        &cfg,
        "experiment = \"lasso\"\nseed = 1\n[noise]\npolicy = \"layer\"\nsigma = 0.3\n[optim]\nlr = 0.01\n[train]\nsteps = 300\nlog_every = 50\n[lasso]\nn = 20\nd = 40\nsparsity = 3\n",
    )
    .unwrap();
    let dir = tmp.path().join("lasso");
    let expected = run_to_end(&cfg, &dir);
    // As a kill leaves it: no summary, a metrics file cut mid-row.
    fs::remove_file(dir.join("summary.json")).unwrap();
    fs::write(dir.join("metrics.csv"), &expected[..expected.len() / 2]).unwrap();
    resume_ok(&dir);
    assert_eq!(
        fs::read_to_string(dir.join("metrics.csv")).unwrap(),
        expected
    );
}

/// A sweep stopped by SIGTERM to its own process only (a user's or a scheduler's `kill PID`, not
/// a Ctrl-C at the terminal, which reaches the whole group) passes the stop on to its running
/// cell: the cell stops after its step with a checkpoint, and the sweep exits within seconds
/// instead of waiting for the whole run.
#[test]
fn a_sweep_stopped_by_sigterm_stops_its_running_cells_with_a_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path());
    let sweep = tmp.path().join("sweep");
    // Long enough that waiting for the cell to end would blow the deadline below.
    let mut child = Command::new(EXE)
        .args([
            "sweep",
            cfg.to_str().unwrap(),
            "--seeds",
            "1",
            "--quiet",
            "--set",
            "train.steps=1000000",
            "--out",
            sweep.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cell = sweep.join("seed=4");
    wait_for(&cell.join("checkpoint.bin"), &mut child);
    send_signal(&child, "TERM");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("the sweep did not stop within 60 s of SIGTERM: it waited for its cell");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status(&cell).as_deref(), Some("interrupted"));
    let log = fs::read_to_string(sweep.join("logs/seed=4.log")).unwrap();
    assert!(log.contains("interrupted after step"), "{log}");
    let stderr = String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr).to_string();
    assert!(stderr.contains("sweep interrupted"), "{stderr}");
    assert!(!stderr.contains("cells failed"), "{stderr}");
}
