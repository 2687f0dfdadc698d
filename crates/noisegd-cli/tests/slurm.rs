//! `noisegd sweep --slurm` against a real Slurm: the one-node cluster that `ci/slurm/start.sh`
//! starts (CI runs it; so can a developer, as root). Without a cluster these tests say why and
//! pass, except where `NOISEGD_REQUIRE_SLURM=1` (CI), where they fail.
//!
//! A sweep through `sbatch` must end with every cell's `metrics.csv` byte for byte that of the
//! same sweep run locally, also when a task is cancelled mid-run and submitted again, or
//! requeued by Slurm.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cluster has one node: the tests take turns.
static CLUSTER: Mutex<()> = Mutex::new(());

fn noisegd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_noisegd"))
        .args(args)
        .output()
        .expect("the noisegd binary runs")
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "noisegd failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Whether a Slurm cluster answers with a usable node; panics when CI requires one.
fn cluster_ready() -> bool {
    let up = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|s| ["idle", "mixed", "allocated"].contains(&s.trim()))
        });
    if !up {
        assert!(
            std::env::var("NOISEGD_REQUIRE_SLURM").as_deref() != Ok("1"),
            "NOISEGD_REQUIRE_SLURM=1 but no Slurm node answers `sinfo`: start one with `sudo ci/slurm/start.sh`"
        );
        eprintln!("skipping: no Slurm cluster (`sinfo` shows no usable node); `sudo ci/slurm/start.sh` starts a one-node one");
    }
    up
}

/// A small MNIST-1D classifier run (generated data: nothing to download).
fn config(dir: &Path, steps: u64) -> std::path::PathBuf {
    let path = dir.join(format!("mnist1d-{steps}.toml"));
    fs::write(
        &path,
        format!(
            "experiment = \"train\"\nseed = 0\n[data]\nname = \"mnist1d\"\n[model]\nname = \"mnist1d_mlp\"\n\
             [noise]\npolicy = \"layer\"\nsigma = 0.05\n[optim]\nlr = 0.05\nmomentum = 0.9\n\
             [train]\nsteps = {steps}\nlog_every = 50\nbatch_size = 500\ncheckpoint_every = 50\n"
        ),
    )
    .unwrap();
    path
}

/// `noisegd sweep CFG --seeds SEEDS --out OUT EXTRA...`, its output.
fn sweep_output(cfg: &Path, out: &Path, seeds: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sweep",
        cfg.to_str().unwrap(),
        "--quiet",
        "--seeds",
        seeds,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    noisegd(&args)
}

/// A two-seed sweep that must succeed; its stdout.
fn sweep(cfg: &Path, out: &Path, extra: &[&str]) -> String {
    ok(sweep_output(cfg, out, "2", extra))
}

/// `noisegd status` until every cell has ended.
fn wait_until_ended(out: &Path, cells: usize, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        let table = ok(noisegd(&["status", out.to_str().unwrap()]));
        let ended = table
            .lines()
            .filter(|l| l.contains("| finished |") || l.contains("| diverged |"))
            .count();
        if ended == cells {
            return table;
        }
        assert!(
            started.elapsed() < limit,
            "the cells did not end in {limit:?}:\n{table}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn same_metrics(a: &Path, b: &Path, cells: &[&str]) {
    for cell in cells {
        let (x, y) = (
            a.join(cell).join("metrics.csv"),
            b.join(cell).join("metrics.csv"),
        );
        assert!(
            fs::read(&x).unwrap() == fs::read(&y).unwrap(),
            "{} and {} differ",
            x.display(),
            y.display()
        );
    }
}

fn job_id(out: &Path) -> String {
    fs::read_to_string(out.join("slurm/jobs.txt"))
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_string()
}

#[test]
fn a_slurm_sweep_ends_byte_for_byte_as_the_local_one() {
    let _turn = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    if !cluster_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 300);
    let grid = ["--grid", "noise.policy=none,layer"];
    let local = tmp.path().join("local");
    sweep(&cfg, &local, &[&grid[..], &["--jobs", "2"]].concat());
    let remote = tmp.path().join("slurm");
    let said = sweep(&cfg, &remote, &[&grid[..], &["--slurm"]].concat());
    assert!(said.contains("submitted job"), "{said}");
    let table = wait_until_ended(&remote, 4, Duration::from_secs(180));
    assert!(table.contains("4 cells: 4 finished"), "{table}");
    assert!(
        table.contains("COMPLETED"),
        "Slurm's state is shown: {table}"
    );
    let cells = [
        "noise.policy=none,seed=0",
        "noise.policy=none,seed=1",
        "noise.policy=layer,seed=0",
        "noise.policy=layer,seed=1",
    ];
    same_metrics(&local, &remote, &cells);
    // Submitting again submits nothing: every cell has ended.
    let o = sweep_output(&cfg, &remote, "2", &[grid[0], grid[1], "--slurm"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && stderr.contains("4 ended, 0 queued or running, 0 to submit"),
        "{stderr}"
    );
    // The report aggregates the Slurm sweep as a local one.
    let md = ok(noisegd(&["report", remote.to_str().unwrap()]));
    assert!(md.contains("sweep.md"), "{md}");
    let text = fs::read_to_string(remote.join("sweep.md")).unwrap();
    assert!(text.contains("4 finished runs in 2 groups"), "{text}");

    // sbatch refusing (an unknown partition): its message verbatim and the command.
    let refused = tmp.path().join("refused");
    let o = sweep_output(
        &cfg,
        &refused,
        "1",
        &["--slurm", "--partition", "nosuchpartition"],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("sbatch refused")
            && stderr.contains("nvalid partition")
            && stderr.contains("command: sbatch --parsable --array=0 "),
        "{stderr}"
    );
}

#[test]
fn a_cancelled_and_a_requeued_task_resume_to_the_same_bytes() {
    let _turn = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    if !cluster_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 3000);
    let remote = tmp.path().join("slurm");
    sweep(&cfg, &remote, &["--slurm"]);
    let job = job_id(&remote);
    // Both cells are running once each has written a checkpoint.
    let started = Instant::now();
    while !["seed=0", "seed=1"]
        .iter()
        .all(|c| remote.join(c).join("checkpoint.bin").is_file())
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoints: {}",
            ok(noisegd(&["status", remote.to_str().unwrap()]))
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let scancel = Command::new("scancel")
        .arg(format!("{job}_0"))
        .status()
        .unwrap();
    assert!(scancel.success());
    let requeue = Command::new("scontrol")
        .args(["requeue", &format!("{job}_1")])
        .status()
        .unwrap();
    assert!(requeue.success());
    // The cancelled task stops at a step with a checkpoint; the requeued one waits, then runs.
    let started = Instant::now();
    loop {
        let table = ok(noisegd(&["status", remote.to_str().unwrap()]));
        if table.contains("| seed=0 | interrupted |") {
            assert!(table.contains("CANCELLED"), "{table}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{table}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Submitting again submits the cancelled cell only (the requeued one is still queued or
    // running, or has finished).
    let o = sweep_output(&cfg, &remote, "2", &["--slurm"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("1 to submit"), "{stderr}");
    wait_until_ended(&remote, 2, Duration::from_secs(240));
    for cell in ["seed=0", "seed=1"] {
        let summary = fs::read_to_string(remote.join(cell).join("summary.json")).unwrap();
        assert!(
            summary.contains("resumed_at_step"),
            "{cell} resumed: {summary}"
        );
    }
    let local = tmp.path().join("local");
    sweep(&cfg, &local, &["--jobs", "2"]);
    same_metrics(&local, &remote, &["seed=0", "seed=1"]);
}
