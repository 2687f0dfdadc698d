//! End to end through the `noisegd` binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn noisegd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_noisegd"))
        .args(args)
        .output()
        .expect("the noisegd binary runs")
}

fn config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("config.toml");
    fs::write(&path, body).unwrap();
    path
}

/// A short Lasso run: small enough for the test suite, long enough to move.
const SHORT_LASSO: &str = r#"
experiment = "lasso"
seed = 3
[noise]
policy = "layer"
sigma = 0.3
[optim]
lr = 0.01
[train]
steps = 1500
log_every = 100
[lasso]
n = 20
d = 50
sparsity = 3
"#;

fn run_ok(cfg: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = noisegd(&args);
    assert!(
        o.status.success(),
        "noisegd failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_run_writes_a_complete_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let out = tmp.path().join("run");
    run_ok(&cfg, &out, &[]);
    for f in [
        "config.toml",
        "versions.json",
        "metrics.csv",
        "summary.json",
        "report.md",
        "objective.svg",
        "objective.png",
        "coefficients.svg",
        "coefficients.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for key in [
        "rel_dist_to_explicit",
        "objective_gap",
        "per_weight_std",
        "theory_sigma",
        "solver_rel_duality_gap",
    ] {
        assert!(
            summary[key].is_number(),
            "summary.json lacks {key}: {summary}"
        );
    }
    assert!(summary["solver_rel_duality_gap"].as_f64().unwrap() <= 1e-8);
    // The resolved config records the defaults and the seed.
    let resolved = fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        resolved.contains("seed = 3") && resolved.contains("group_by = \"layer\""),
        "{resolved}"
    );
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("per-weight std"), "{report}");
}

#[test]
fn same_seed_gives_identical_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run_ok(&cfg, &a, &[]);
    run_ok(&cfg, &b, &[]);
    let ma = fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert_eq!(ma, fs::read_to_string(b.join("metrics.csv")).unwrap());
    let c = tmp.path().join("c");
    run_ok(&cfg, &c, &["--set", "seed=4"]);
    assert_ne!(ma, fs::read_to_string(c.join("metrics.csv")).unwrap());
}

#[test]
fn zero_sigma_gives_the_numbers_of_policy_none() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let (zero, none) = (tmp.path().join("zero"), tmp.path().join("none"));
    run_ok(&cfg, &zero, &["--set", "noise.sigma=0"]);
    run_ok(
        &cfg,
        &none,
        // The config's σ = 0.3 is left in place: policy none ignores it.
        &["--set", "noise.policy=none"],
    );
    let a = fs::read_to_string(zero.join("metrics.csv")).unwrap();
    let b = fs::read_to_string(none.join("metrics.csv")).unwrap();
    assert_eq!(a, b);
    // ... and the PGD rows equal the GD rows (same init, no noise).
    let rows = |method: &str| -> Vec<String> {
        a.lines()
            .filter(|l| l.split(',').nth(1) == Some(method))
            .map(|l| l.split(',').skip(2).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(rows("gd"), rows("pgd"));
}

#[test]
fn unknown_keys_and_bad_values_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), &format!("{SHORT_LASSO}\n[extra]\nfoo = 1\n"));
    let o = noisegd(&[
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("extra") && err.contains("config.toml"),
        "{err}"
    );

    let cfg = config(tmp.path(), SHORT_LASSO);
    let o = noisegd(&[
        "run",
        cfg.to_str().unwrap(),
        "--set",
        "noise.sigma=-0.5",
        "--out",
        tmp.path().join("y").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("noise.sigma") && err.contains("-0.5"), "{err}");
    assert!(
        !tmp.path().join("y").exists(),
        "a rejected config must not create a run directory"
    );

    let o = noisegd(&["run", tmp.path().join("missing.toml").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.toml"));
}

#[test]
fn every_command_has_help_with_an_example() {
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["demo", "--help"],
        vec!["data", "--help"],
        vec!["data", "check", "--help"],
    ] {
        let o = noisegd(&args);
        assert!(o.status.success());
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("Example"), "{args:?}: {text}");
    }
}

/// The paper's claim on the shipped config (shortened): PGD's averaged predictor is within 5 % of
/// the weighted Lasso of Eq. (8), GD from the same start is at least 5× further, and the
/// support matches.
#[test]
fn shipped_lasso_config_reaches_the_explicit_lasso() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/lasso.toml");
    let out = tmp.path().join("lasso");
    run_ok(&cfg, &out, &["--set", "train.steps=40000"]);
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let get = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {s}"));
    assert!(get("rel_dist_to_explicit") < 0.05, "{s}");
    assert!(
        get("gd_rel_dist_to_explicit") > 5.0 * get("rel_dist_to_explicit"),
        "{s}"
    );
    assert!(get("support_f1") >= 0.9, "{s}");
    assert!(get("objective_gap") < 0.01, "{s}");
}

fn summary_of(config: &str, extra: &[&str]) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
        .join(config);
    let out = tmp.path().join("run");
    run_ok(&cfg, &out, extra);
    serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// Eq. (38) on the shipped config (shortened): within 5 % of the certified group Lasso, with
/// its active groups, and GD at least 5× further.
#[test]
fn shipped_group_lasso_config_reaches_the_explicit_group_lasso() {
    let s = summary_of("group_lasso.toml", &["--set", "train.steps=30000"]);
    let get = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {s}"));
    assert!(get("rel_dist_to_explicit") < 0.05, "{s}");
    assert!(
        get("gd_rel_dist_to_explicit") > 5.0 * get("rel_dist_to_explicit"),
        "{s}"
    );
    assert_eq!(get("support_f1"), 1.0, "{s}");
    assert!(get("solver_rel_duality_gap") <= 1e-8, "{s}");
}

/// Eq. (10) on the shipped config: within 5 % of the nuclear-norm solution, with its rank.
#[test]
fn shipped_nuclear_config_reaches_the_explicit_nuclear_norm_solution() {
    let s = summary_of("nuclear.toml", &[]);
    let get = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {s}"));
    assert!(get("rel_dist_to_explicit") < 0.05, "{s}");
    assert!(
        get("gd_rel_dist_to_explicit") > 5.0 * get("rel_dist_to_explicit"),
        "{s}"
    );
    assert_eq!(s["rank"], s["explicit_rank"], "{s}");
    assert!(
        s["gd_rank"].as_u64().unwrap() > s["rank"].as_u64().unwrap(),
        "{s}"
    );
}

fn data_check(dir: &Path) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_noisegd"))
        .args(["data", "check", dir.to_str().unwrap()])
        .env_remove("NOISEGD_DATA")
        .output()
        .expect("the noisegd binary runs");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The line of `report` that starts with `name: `.
fn line_of<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{report}"))
}

#[test]
fn data_check_on_a_directory_of_standard_files() {
    let Some(shared) = noisegd::data::testdata::shared_test_path(
        "fixtures",
        "data_check_on_a_directory_of_standard_files",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // Fashion-MNIST in torchvision's layout, MNIST in the archive's (its t10k prefix twice).
    let fm = tmp.path().join("FashionMNIST/raw");
    let mn = tmp.path().join("mnist");
    fs::create_dir_all(&fm).unwrap();
    fs::create_dir_all(&mn).unwrap();
    for kind in ["images-idx3-ubyte", "labels-idx1-ubyte"] {
        let src = |prefix: &str| shared.join(format!("{prefix}-{kind}.gz"));
        fs::copy(
            src("fashion-mnist-train-first2000"),
            fm.join(format!("train-{kind}.gz")),
        )
        .unwrap();
        fs::copy(
            src("fashion-mnist-t10k-first1000"),
            fm.join(format!("t10k-{kind}.gz")),
        )
        .unwrap();
        fs::copy(
            src("mnist-t10k-first1000"),
            mn.join(format!("train-{kind}.gz")),
        )
        .unwrap();
        fs::copy(
            src("mnist-t10k-first100"),
            mn.join(format!("t10k-{kind}.gz")),
        )
        .unwrap();
    }
    let (ok, out, err) = data_check(tmp.path());
    assert!(ok, "{out}\n{err}");
    eprintln!("{out}");
    let fashion = out.split("fashion_mnist_embedded: ").next().unwrap();
    assert!(
        line_of(&out, "fashion_mnist").contains("FashionMNIST/raw"),
        "{out}"
    );
    assert!(
        fashion.contains("2000 train + 1000 test examples of 1×28×28, 10 classes"),
        "{out}"
    );
    assert!(
        fashion.contains("train-images-idx3-ubyte.gz: mismatch: not the official file"),
        "{out}"
    );
    assert!(line_of(&out, "mnist").contains("layout mnist/"), "{out}");
    assert!(out.contains("1000 train + 100 test examples"), "{out}");
    assert!(
        out.contains("unknown copy: no official SHA-256 recorded"),
        "{out}"
    );
    assert!(line_of(&out, "cifar10").contains("not found"), "{out}");
    assert!(
        line_of(&out, "mnist1d").contains("found: generated"),
        "{out}"
    );

    // A broken file: exit status 1, the data set marked INVALID, the file and the problem named.
    let labels = fm.join("train-labels-idx1-ubyte.gz");
    let bytes = fs::read(&labels).unwrap();
    fs::write(&labels, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, out, err) = data_check(tmp.path());
    assert!(!ok, "{out}");
    let line = line_of(&out, "fashion_mnist");
    assert!(
        line.contains("INVALID") && line.contains("train-labels-idx1-ubyte.gz"),
        "{line}"
    );
    assert!(line.contains("zalandoresearch"), "{line}");
    assert!(err.contains("found but invalid: fashion_mnist"), "{err}");
    // the others are still reported
    assert!(line_of(&out, "mnist").contains("found"), "{out}");
}

#[test]
fn data_check_on_an_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, out, err) = data_check(tmp.path());
    assert!(ok, "{out}\n{err}");
    let root = tmp.path().display().to_string();
    assert!(
        out.starts_with(&format!("data root: {root} (given)")),
        "{out}"
    );
    for (name, url) in [
        ("mnist", "yann.lecun.com"),
        ("kmnist", "rois-codh/kmnist"),
        ("cifar10", "cifar.html"),
        ("cifar100", "cifar-100-binary.tar.gz"),
    ] {
        let line = line_of(&out, name);
        assert!(
            line.contains("not found") && line.contains(&root) && line.contains(url),
            "{line}"
        );
    }
    // Fashion-MNIST: not under the empty root; found only where Debian's package installed it.
    let fm = line_of(&out, "fashion_mnist");
    if Path::new("/usr/share/datasets/fashion-mnist").is_dir() {
        assert!(
            fm.contains("found: /usr/share/datasets/fashion-mnist"),
            "{fm}"
        );
    } else {
        assert!(
            fm.contains("not found") && fm.contains("dataset-fashion-mnist"),
            "{fm}"
        );
    }
    assert!(
        line_of(&out, "fashion_mnist_embedded").contains("compiled in"),
        "{out}"
    );
    assert!(out.contains("2000 train + 1000 test examples"), "{out}");
    assert!(
        out.contains("4000 train + 1000 test examples of 1×1×40"),
        "{out}"
    );
}
