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

/// A `width` run small enough for the test suite (seconds in debug).
const TINY_WIDTH: &str = r#"
experiment = "width"
seed = 1
[width]
widths = [20, 40]
sigmas = [0.5, 0.9]
samples = 20
slope_widths = [100, 200, 300]
slope_sigma = 0.8
slope_samples = 1500
relu_samples = 100
deep_widths = [10, 20]
deep_samples = 200
grad_samples = 30
"#;

#[test]
fn width_measures_the_explosion_slope_and_the_flat_layer_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), TINY_WIDTH);
    let out = tmp.path().join("width");
    run_ok(&cfg, &out, &[]);
    for f in [
        "summary.json",
        "report.md",
        "metrics.csv",
        "heatmap_all.png",
        "heatmap_layer.png",
        "slope.png",
        "deep.png",
        "grad_variance.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let get = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {s}"));
    // Every output states the σ and the per-weight stds: all σ/√2, layer σ.
    assert_eq!(get("sigma"), 0.8);
    assert!((get("per_weight_std_all") - 0.8 / 2f64.sqrt()).abs() < 1e-12);
    assert_eq!(get("per_weight_std_layer"), 0.8);
    // 1500 samples: each R_σ to ~1.2 %, the slope to a few %; a ‖X‖⁴ or σ-convention error
    // would be off by a factor.
    let rel = (get("slope_fit") - get("slope_closed_form")).abs() / get("slope_closed_form");
    assert!(rel < 0.1, "slope off by {rel}: {s}");
    assert!(get("slope_r2") > 0.98, "{s}");
    assert!(get("layer_rel_change") < 0.2, "{s}");
    let g = &s["grad_variance"];
    let exp = |k: &str| g[k]["per_weight_exponent"].as_f64().unwrap();
    assert!(exp("all_w1") > 0.4 && exp("all_w2") > 0.4, "{g}");
    assert!(
        exp("layer_w1").abs() < 0.3 && exp("layer_w2").abs() < 0.3,
        "{g}"
    );
    let deep = s["deep"]["diff_exponent_closed_form"].as_f64().unwrap();
    assert!(deep > 1.0 && deep < 2.0, "{s}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("per-weight std"), "{report}");
}

#[test]
fn width_and_fig2_refuse_a_noise_table_and_bad_values() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!("{TINY_WIDTH}[noise]\npolicy = \"all\"\nsigma = 0.1\n"),
            "remove the [noise] table",
        ),
        (
            TINY_WIDTH.replace(
                "slope_widths = [100, 200, 300]",
                "slope_widths = [300, 200, 100]",
            ),
            "width.slope_widths",
        ),
        (
            "experiment = \"fig2\"\n[fig2]\nplanted = []\n".to_string(),
            "fig2.planted",
        ),
    ];
    for (body, needle) in cases {
        let cfg = config(tmp.path(), &body);
        let o = noisegd(&[
            "run",
            cfg.to_str().unwrap(),
            "--quiet",
            "--out",
            tmp.path().join("x").to_str().unwrap(),
        ]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn fig2_records_both_losses_of_every_width_and_method() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        r#"
experiment = "fig2"
seed = 2
[optim]
lr = 0.1
[train]
steps = 300
log_every = 10
[fig2]
widths = [5, 20]
sigma = 0.1
repeats = 2
tail = 0.2
"#,
    );
    let out = tmp.path().join("fig2");
    run_ok(&cfg, &out, &[]);
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let optimum = s["explicit_optimum"].as_f64().unwrap();
    for width in ["5", "20"] {
        for method in ["gd", "all", "layer", "reg"] {
            let m = &s["final"][width][method];
            let (o, r) = (
                m["original"].as_f64().unwrap(),
                m["regularized"].as_f64().unwrap(),
            );
            assert!(o.is_finite() && r >= o, "{width}/{method}: {m}");
            // No iterate beats the exact minimum of the regularized loss.
            assert!(
                r >= optimum * (1.0 - 1e-9),
                "{width}/{method}: {r} < {optimum}"
            );
            assert_eq!(m["regularized_per_seed"].as_array().unwrap().len(), 2);
        }
        let reg = &s["final"][width];
        assert!(
            reg["reg"]["regularized"].as_f64().unwrap()
                < reg["gd"]["regularized"].as_f64().unwrap(),
            "{reg}"
        );
    }
    for w in [5, 20] {
        for loss in ["original", "regularized"] {
            assert!(out.join(format!("fig2_width{w}_{loss}.png")).is_file());
        }
    }
}

#[test]
fn demo_runs_the_lasso_and_then_the_width_explosion() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = noisegd(&[
        "demo",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "train.steps=500",
        "--set",
        "width.slope_samples=300",
        "--set",
        "width.grad_samples=10",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("part 1/2") && text.contains("part 2/2"),
        "{text}"
    );
    assert!(text.contains("per hidden unit"), "{text}");
    for part in ["lasso", "width"] {
        assert!(out.join(part).join("report.md").is_file(), "{part}");
    }
    let cfg = fs::read_to_string(out.join("width").join("config.toml")).unwrap();
    assert!(cfg.contains("experiment = \"width\""), "{cfg}");
}
