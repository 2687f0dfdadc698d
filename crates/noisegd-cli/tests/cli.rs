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

/// `noisegd run CFG --quiet --out OUT`, its output (for tests that read stderr or expect a refusal).
fn run_at(cfg: &Path, out: &Path) -> Output {
    noisegd(&[
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ])
}

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

/// A user's CSV: a relative `data.path` is found beside the config, the run has no planted
/// truth (no recovery metrics), and a malformed file is refused naming file, line and column.
#[test]
fn csv_data_runs_and_malformed_csv_names_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("tables")).unwrap();
    // y = 2·a − b + small noise, c irrelevant; 30 rows.
    let mut text = String::from("a,b,c,y\n");
    for i in 0..30 {
        let (a, b, c) = ((i % 7) as f64, (i % 5) as f64 * 0.5, ((i * 3) % 11) as f64);
        let noise = ((i * 37 % 13) as f64 - 6.0) * 0.01;
        text.push_str(&format!("{a},{b},{c},{}\n", 2.0 * a - b + noise));
    }
    fs::write(tmp.path().join("tables/ok.csv"), &text).unwrap();
    let body = r#"
experiment = "lasso"
[noise]
policy = "layer"
sigma = 0.3
[optim]
lr = 0.02
[train]
steps = 400
log_every = 100
[data]
name = "csv"
path = "tables/ok.csv"
target = "y"
test_fraction = 0.2
"#;
    let cfg = config(tmp.path(), body);
    let out = tmp.path().join("run");
    run_ok(&cfg, &out, &[]);
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        (s["n"].as_u64(), s["d"].as_u64(), s["n_test"].as_u64()),
        (Some(24), Some(3), Some(6)),
        "{s}"
    );
    assert_eq!(s["feature_names"], serde_json::json!(["a", "b", "c"]));
    assert!(
        s["rel_dist_to_explicit"].is_number() && s["pgd_test_mse"].is_number(),
        "{s}"
    );
    for absent in [
        "pgd_rel_dist_to_truth",
        "true_support",
        "explicit_rel_dist_to_truth",
    ] {
        assert!(
            s.get(absent).is_none(),
            "{absent} reported for real data: {s}"
        );
    }
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("no planted truth") && report.contains("| b |"),
        "{report}"
    );

    fs::write(
        tmp.path().join("tables/bad.csv"),
        "a,b,c,y\n1,2,3,4\n5,6,seven,8\n",
    )
    .unwrap();
    let bad = tmp.path().join("tables/bad.csv");
    let set = format!("data.path={}", bad.display());
    let o = noisegd(&[
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--set",
        &set,
        "--out",
        tmp.path().join("bad").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.csv")
            && err.contains("line 3")
            && err.contains("column 3 (`c`)")
            && err.contains("`seven` is not a number"),
        "{err}"
    );
    assert!(
        !tmp.path().join("bad").exists(),
        "a refused data file must not leave a run directory"
    );
    let o = noisegd(&[
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--set",
        "data.target=price",
        "--out",
        tmp.path().join("bad2").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("ok.csv")
            && err.contains("`price`")
            && err.contains("columns found: `a`, `b`, `c`, `y`"),
        "{err}"
    );
}

/// The shipped diabetes example (shortened): PGD's averaged predictor is within 5 % of the
/// certified weighted Lasso on real data, GD (which fits least squares) at least 5× further,
/// and the penalty lowers the test error.
#[test]
fn shipped_diabetes_config_approaches_the_explicit_lasso() {
    let s = summary_of("diabetes.toml", &["--set", "train.steps=20000"]);
    let get = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {s}"));
    assert_eq!(
        (s["n"].as_u64(), s["d"].as_u64()),
        (Some(354), Some(10)),
        "{s}"
    );
    assert!(get("rel_dist_to_explicit") < 0.05, "{s}");
    assert!(
        get("gd_rel_dist_to_explicit") > 5.0 * get("rel_dist_to_explicit"),
        "{s}"
    );
    assert!(get("support_f1") >= 0.8, "{s}");
    assert!(get("pgd_test_mse") < get("gd_test_mse"), "{s}");
    assert!(s.get("pgd_rel_dist_to_truth").is_none());
}

/// Every number of a report, as written (table cells and prose alike).
fn numbers_in(text: &str) -> Vec<f64> {
    text.split(|c: char| c.is_whitespace() || "|(),:;[]".contains(c))
        .filter_map(|t| t.trim_end_matches(['.', '%', '×']).parse::<f64>().ok())
        .collect()
}

/// A table where σ zeroes every Lasso coefficient (σ² = 1.44 > every |X_jᵀy|/n ≤ 1 on
/// standardized columns), with a constant feature `k`; and one whose target is constant.
#[test]
fn lasso_on_a_zero_solution_a_constant_feature_and_a_constant_target() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut ok, mut flat) = (String::from("a,b,k,y\n"), String::from("a,b,y\n"));
    for i in 0..30 {
        let (a, b) = ((i % 7) as f64, (i % 5) as f64 * 0.5);
        let noise = ((i * 37 % 13) as f64 - 6.0) * 0.01;
        ok.push_str(&format!("{a},{b},5,{}\n", 2.0 * a - b + noise));
        flat.push_str(&format!("{a},{b},4.25\n"));
    }
    fs::write(tmp.path().join("ok.csv"), ok).unwrap();
    fs::write(tmp.path().join("flat.csv"), flat).unwrap();
    let body = |file: &str| {
        format!("experiment = \"lasso\"\n[noise]\npolicy = \"layer\"\nsigma = 1.2\n[optim]\nlr = 0.02\n[train]\nsteps = 400\nlog_every = 100\n[data]\nname = \"csv\"\npath = \"{file}\"\ntarget = \"y\"\ntest_fraction = 0.2\n")
    };
    let cfg = config(tmp.path(), &body("ok.csv"));
    let out = tmp.path().join("zero");
    let o = run_at(&cfg, &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("feature `k` is constant"), "{stderr}");
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["explicit_is_zero"], true, "{s}");
    assert_eq!(s["explicit_support"], serde_json::json!([]), "{s}");
    assert!(
        s["rel_dist_to_explicit"].is_null(),
        "no relative distance to 0: {s}"
    );
    let abs = s["dist_to_explicit"].as_f64().unwrap();
    assert!(abs.is_finite() && abs < 10.0, "{s}");
    assert!(
        s["sigma_zeroing_every_coefficient"].as_f64().unwrap() < 1.2,
        "{s}"
    );
    assert_eq!(s["constant_features"], serde_json::json!(["k"]), "{s}");
    // The support is counted against the data's scale, not against PGD's own largest entry.
    let threshold = s["support_threshold"].as_f64().unwrap();
    let scale = s["coefficient_scale"].as_f64().unwrap();
    assert!(
        (threshold - 0.01 * scale).abs() < 1e-12 && scale > 0.1,
        "{s}"
    );
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("solution is β* = 0"), "{report}");
    assert!(report.contains("Warning: constant features"), "{report}");
    let huge: Vec<f64> = numbers_in(&report)
        .into_iter()
        .filter(|v| v.abs() > 1e6)
        .collect();
    assert!(
        huge.is_empty(),
        "no division by ~0 in the report: {huge:?}\n{report}"
    );
    // PGD ended far from 0, so the half-step check ran: half the lr for twice the steps.
    let check = &s["step_size"]["check"];
    assert_eq!(check["runs"][1]["lr"], 0.01, "{s}");
    assert_eq!(check["runs"][1]["steps"], 800, "{s}");
    assert!(check["exponent"].is_number(), "{s}");
    assert!(
        report.contains("**Step size.**") && report.contains("half the step"),
        "{report}"
    );
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        metrics.lines().any(|l| l.contains(",pgd_lr=0.01,")),
        "{metrics}"
    );

    // A constant target: refused by column name before anything is written.
    let cfg = config(tmp.path(), &body("flat.csv"));
    let out = tmp.path().join("flat");
    let o = run_at(&cfg, &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("flat.csv")
            && stderr.contains("`y` is constant")
            && stderr.contains("data.target"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written for refused data");
}

/// `lasso.lr_ladder`: PGD at every step size for the same lr·steps, the exponent fitted, and
/// a run annealed to 0.
#[test]
fn lasso_step_size_ladder_fits_the_exponent_and_anneals() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        &format!("{SHORT_LASSO}lr_ladder = [0.02, 0.01]\nstep_check = false\n"),
    );
    let out = tmp.path().join("run");
    run_ok(&cfg, &out, &[]);
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let ladder = &s["step_size"]["ladder"];
    assert_eq!(
        ladder["runs"][0]["steps"], 750,
        "lr 0.02 for half the steps: {s}"
    );
    // lr 0.01 is the configured run itself: the same distance, not a rerun.
    assert_eq!(
        ladder["runs"][1]["distance"], s["rel_dist_to_explicit"],
        "{s}"
    );
    assert!(ladder["exponent"].is_number(), "{s}");
    assert_eq!(ladder["annealed"]["steps"], 1500, "{s}");
    assert!(
        s["step_size"].get("check").is_none(),
        "step_check = false: {s}"
    );
    assert!(out.join("step_size.svg").is_file());
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        metrics.lines().any(|l| l.contains(",pgd_annealed,")),
        "{metrics}"
    );
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| 0.01 → 0 (cosine) | 1500 |"), "{report}");
}

/// `lasso.parametrization = "product"` trains Φ = X(u∘v) against the Lasso with half the
/// weights, λ_i = σ_t²(XᵀX)_ii/n (σ = 0.3 layer-wise, M = 2, unit-scaled columns: 0.045).
#[test]
fn product_parametrization_uses_half_the_lasso_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let out = tmp.path().join("product");
    run_ok(&cfg, &out, &["--set", "lasso.parametrization=product"]);
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["parametrization"], "product", "{s}");
    assert_eq!(s["lambda_factor"].as_f64(), Some(1.0), "{s}");
    let lambda = s["lasso_lambda_mean"].as_f64().unwrap();
    assert!((lambda - 0.045).abs() < 1e-12, "{lambda}");
    assert!(
        s["rel_dist_to_explicit"].as_f64().unwrap()
            < s["gd_rel_dist_to_explicit"].as_f64().unwrap(),
        "{s}"
    );
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("X(u∘v)") && report.contains("σ_t²(XᵀX)_ii/n"),
        "{report}"
    );
}

#[test]
fn a_sweep_runs_every_cell_skips_finished_ones_and_aggregates() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let out = tmp.path().join("sweep");
    let sweep = |extra: &[&str]| {
        let mut args = vec![
            "sweep",
            cfg.to_str().unwrap(),
            "--quiet",
            "--grid",
            "noise.policy=all,layer",
            "--seeds",
            "2",
            "--jobs",
            "2",
            "--set",
            "train.steps=300",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        noisegd(&args)
    };
    let o = sweep(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for policy in ["all", "layer"] {
        for seed in [3, 4] {
            let cell = out.join(format!("noise.policy={policy},seed={seed}"));
            assert!(
                cell.join("summary.json").is_file(),
                "{} missing",
                cell.display()
            );
            let resolved = fs::read_to_string(cell.join("config.toml")).unwrap();
            assert!(
                resolved.contains(&format!("policy = \"{policy}\"")),
                "{resolved}"
            );
            assert!(resolved.contains("steps = 300"), "{resolved}");
            // The cell ran from the snapshot the sweep took at its start.
            let snapshot = out.join(format!("configs/noise.policy={policy},seed={seed}.toml"));
            assert_eq!(fs::read_to_string(snapshot).unwrap(), resolved);
        }
    }
    let md = fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(
        md.contains("4 finished runs in 2 groups (2 seeds per group)"),
        "{md}"
    );
    assert!(md.contains("| policy=layer |"), "{md}");

    // A cell whose run was killed (no summary) is run again; finished cells are not.
    let killed = out.join("noise.policy=layer,seed=4");
    fs::remove_file(killed.join("summary.json")).unwrap();
    let o = sweep(&[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("4 cells, 3 already finished, 1 to run"),
        "{stderr}"
    );
    assert!(killed.join("summary.json").is_file());

    // `noisegd report` rebuilds the same table from the finished runs.
    let again = tmp.path().join("again");
    let o = noisegd(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md_again = fs::read_to_string(again.join("sweep.md")).unwrap();
    assert!(
        md_again.contains("4 finished runs in 2 groups"),
        "{md_again}"
    );
}

/// `noisegd cell`: the command every Slurm task runs, safe to run twice; `--slurm --dry-run`
/// writes the array script without a cluster; without `sbatch` on PATH, `--slurm` says so in one
/// line and writes nothing but the cells' configs.
#[test]
fn a_cell_runs_once_and_slurm_submission_is_prepared_or_refused_without_slurm() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let out = tmp.path().join("sweep");
    let base = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "sweep",
            cfg.to_str().unwrap(),
            "--quiet",
            "--grid",
            "noise.policy=all,layer",
            "--set",
            "train.steps=200",
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .into();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let run = |args: &[String], path: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_noisegd"));
        c.args(args);
        if let Some(p) = path {
            c.env("PATH", p);
        }
        c.output().unwrap()
    };
    // No Slurm client on PATH: one line, the configs written, nothing else.
    let empty = tmp.path().join("empty-path");
    fs::create_dir(&empty).unwrap();
    let o = run(&base(&["--slurm"]), Some(&empty));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("--slurm needs Slurm's client commands"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(out.join("configs/noise.policy=all,seed=3.toml").is_file());
    assert!(
        !out.join("slurm").exists(),
        "nothing but the configs is written"
    );

    // A dry run writes the script and the cell list and prints the sbatch command.
    let o = run(
        &base(&[
            "--slurm",
            "--dry-run",
            "--time",
            "0:30:00",
            "--max-running",
            "1",
            "--sbatch=--qos=short",
        ]),
        Some(&empty),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("sbatch --parsable --array=0-1%1 "),
        "{stdout}"
    );
    let script = fs::read_to_string(out.join("slurm/array.sh")).unwrap();
    for line in [
        "#SBATCH --time=0:30:00",
        "#SBATCH --qos=short",
        "#SBATCH --requeue",
        " cell \"$sweep\" \"$cell\"",
    ] {
        assert!(script.contains(line), "{line}: {script}");
    }
    assert_eq!(
        fs::read_to_string(out.join("slurm/cells.txt")).unwrap(),
        "0\tnoise.policy=all,seed=3\n1\tnoise.policy=layer,seed=3\n"
    );

    // The cell command: by index, then again (nothing to do), by name; an unknown cell is named.
    let cell = |which: &str| noisegd(&["--quiet", "cell", out.to_str().unwrap(), which]);
    let o = cell("1");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let metrics = fs::read(out.join("noise.policy=layer,seed=3/metrics.csv")).unwrap();
    let o = cell("noise.policy=layer,seed=3");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("finished already"),
        "{o:?}"
    );
    assert_eq!(
        fs::read(out.join("noise.policy=layer,seed=3/metrics.csv")).unwrap(),
        metrics
    );
    let o = cell("7");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cell index 7 is out of range"),
        "{o:?}"
    );
    // A cell whose config was edited since its run started is moved aside, never overwritten.
    let run_dir = out.join("noise.policy=all,seed=3");
    fs::create_dir_all(&run_dir).unwrap();
    fs::write(run_dir.join("config.toml"), "experiment = \"lasso\"\n").unwrap();
    let o = cell("0");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("moved to"),
        "{o:?}"
    );
    let aside: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".unfinished-"))
        .collect();
    assert_eq!(aside.len(), 1);
    let status = noisegd(&["status", out.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(table.contains("2 cells: 2 finished"), "{table}");
}

#[test]
fn a_sweep_with_a_bad_grid_value_fails_before_running_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let out = tmp.path().join("sweep");
    let o = noisegd(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--grid",
        "noise.sigma=0.1,-1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("noise.sigma=-1") && stderr.contains("sigma"),
        "{stderr}"
    );
    assert!(
        !out.exists(),
        "nothing is created for a sweep that cannot run"
    );
}

#[test]
fn a_diverging_run_says_so_and_keeps_what_it_logged() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let out = tmp.path().join("run");
    let o = noisegd(&[
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--set",
        "optim.lr=50",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success(), "lr = 50 must diverge");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("step") && stderr.contains("lr") && stderr.contains("lower"),
        "the message names the step and what to lower: {stderr}"
    );
    assert!(
        stderr.contains("noise.policy = \"none\""),
        "the policy spelled as a config writes it (GD diverges first): {stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "diverged", "{summary}");
    assert!(summary["diverged_at_step"].is_u64(), "{summary}");
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        metrics.lines().count() >= 2,
        "rows logged before the divergence stay: {metrics}"
    );
}

#[test]
fn the_same_config_and_seed_give_identical_metrics_with_one_or_two_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let run_with = |threads: &str, name: &str| {
        let out = tmp.path().join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_noisegd"))
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "run",
                cfg.to_str().unwrap(),
                "--quiet",
                "--set",
                "train.steps=400",
            ])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        fs::read(out.join("metrics.csv")).unwrap()
    };
    let one = run_with("1", "one");
    assert_eq!(one, run_with("2", "two"), "1 vs 2 threads");
    assert_eq!(one, run_with("1", "again"), "a second run");
}

#[test]
fn an_output_path_that_cannot_be_a_directory_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), SHORT_LASSO);
    let blocker = tmp.path().join("a-file");
    fs::write(&blocker, "not a directory").unwrap();
    let out = blocker.join("run");
    let o = run_at(&cfg, &out);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains(out.to_str().unwrap()), "{stderr}");
    assert_eq!(fs::read_to_string(&blocker).unwrap(), "not a directory");
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
slope_sigma = 0.6
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
    // Every output states the σ and the per-weight stds. The config's σ is the paper's (the
    // default `width.sigma_convention`): `all` per-weight std σ, `layer` √2·σ on one layer; the
    // summary's σ is the project's, √2 times that.
    assert_eq!(s["sigma_convention_of_config"], "paper");
    assert!((get("sigma") - 0.6 * 2f64.sqrt()).abs() < 1e-12);
    assert!((get("per_weight_std_all") - 0.6).abs() < 1e-12);
    assert!((get("per_weight_std_layer") - 0.6 * 2f64.sqrt()).abs() < 1e-12);
    let heat = &s["heatmap"];
    assert!(
        (heat["theory_sigmas"][1].as_f64().unwrap() - 0.9).abs() < 1e-12,
        "{heat}"
    );
    // The paper's σ_t ≥ 0.7 claim: the all/layer ratio of the two cells at σ_t = 0.9.
    let ratio = &heat["all_over_layer"];
    assert_eq!(ratio["cells"], 2, "{ratio}");
    assert!(ratio["min_closed_form"].as_f64().unwrap() > 1.0, "{ratio}");
    assert!(ratio["max_mc"].as_f64().unwrap() >= ratio["min_mc"].as_f64().unwrap());
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
    assert!(report.contains("All / layer at σ_t ≥ 0.7"), "{report}");
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
fn demo_runs_the_lasso_the_width_explosion_and_a_classification_comparison() {
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
        text.contains("part 1/3") && text.contains("part 2/3") && text.contains("part 3/3"),
        "{text}"
    );
    assert!(text.contains("per hidden unit"), "{text}");
    assert_eq!(text.matches("test accuracy").count(), 3, "{text}");
    for part in [
        "lasso",
        "width",
        "classify-none",
        "classify-layer",
        "classify-all",
    ] {
        assert!(out.join(part).join("report.md").is_file(), "{part}");
    }
    let cfg = fs::read_to_string(out.join("width").join("config.toml")).unwrap();
    assert!(cfg.contains("experiment = \"width\""), "{cfg}");
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

/// A few steps of the train experiment on MNIST-1D (generated, no files): every logged metric is
/// there, the Hessian trace and regularizer are estimated where asked, accuracy beats chance.
#[test]
fn train_runs_a_classifier_and_logs_every_metric() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        r#"
experiment = "train"
seed = 2
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
[train]
steps = 120
log_every = 60
batch_size = 500
[eval]
hessian_every = 120
hessian_probes = 3
hessian_step = 2e-3
hessian_subset = 200
regularizer_every = 60
regularizer_draws = 3
"#,
    );
    let out = tmp.path().join("run");
    run_ok(&cfg, &out, &[]);
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["status"], "finished", "{s}");
    assert_eq!(
        s["batches_per_epoch"], 8,
        "4,000 examples in batches of 500: {s}"
    );
    assert!(
        s["test_accuracy"].as_f64().unwrap() > 0.2,
        "chance is 0.1: {s}"
    );
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    let last = metrics.lines().last().unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let cell = |name: &str| -> f64 {
        let j = header.iter().position(|h| *h == name).unwrap();
        last.split(',').nth(j).unwrap().parse().unwrap()
    };
    assert!(
        cell("hessian_trace").is_finite() && cell("hessian_trace_se") >= 0.0,
        "{last}"
    );
    assert!(cell("regularizer").is_finite(), "{last}");
    // The summary carries the last measured trace, and how it was measured.
    assert_eq!(
        s["hessian_trace"].as_f64(),
        Some(cell("hessian_trace")),
        "{s}"
    );
    assert_eq!(
        s["hessian_trace_se"].as_f64(),
        Some(cell("hessian_trace_se")),
        "{s}"
    );
    assert_eq!(
        (
            s["hessian_trace_step"].as_u64(),
            s["hessian_fd_step"].as_f64()
        ),
        (Some(120), Some(2e-3)),
        "{s}"
    );
    assert_eq!(
        (s["hessian_probes"].as_u64(), s["hessian_examples"].as_u64()),
        (Some(3), Some(200))
    );
    assert_eq!(s["regularizer"].as_f64(), Some(cell("regularizer")), "{s}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("Hessian trace at step 120") && report.contains("h = 0.002"),
        "{report}"
    );
    assert_eq!(
        cell("epoch"),
        14.0,
        "step 120 is in epoch 14 (8 batches per epoch): {last}"
    );
    for f in ["accuracy.svg", "loss.svg", "report.md"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}

#[test]
fn train_refuses_regression_data_and_misplaced_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "experiment = \"train\"\n[data]\nname = \"diabetes\"\n",
            "needs an image data set",
        ),
        (
            "experiment = \"lasso\"\n[data]\nname = \"mnist1d\"\n",
            "train experiment only",
        ),
        (
            "experiment = \"lasso\"\n[model]\nname = \"lenet\"\n",
            "`model` applies to the train experiment only",
        ),
        (
            "experiment = \"train\"\n[data]\nname = \"mnist1d\"\n[model]\nname = \"vgg\"\n",
            "vgg",
        ),
    ];
    for (body, expected) in cases {
        let cfg = config(tmp.path(), body);
        let o = noisegd(&[
            "run",
            cfg.to_str().unwrap(),
            "--out",
            tmp.path().join("x").to_str().unwrap(),
        ]);
        assert!(!o.status.success(), "{body}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(expected), "{body}: {stderr}");
    }
}

#[test]
fn train_without_its_data_files_says_where_it_looked_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let cfg = config(
        tmp.path(),
        &format!("experiment = \"train\"\n[data]\nname = \"cifar10\"\ndir = \"{}\"\n[model]\nname = \"lenet\"\n", empty.display()),
    );
    let out = tmp.path().join("run");
    let o = noisegd(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("cifar10") && stderr.contains("not found"),
        "{stderr}"
    );
    assert!(
        !out.exists(),
        "no run directory for a run that cannot start"
    );
}

/// The peer policies through the binary: one sweep with a linked axis gives each method its own
/// σ; each summary states the policy, its passes per step and its parameters as used; a key the
/// policy does not take, or a value out of range, is refused before any directory is written.
#[test]
fn the_peer_policies_run_in_one_sweep_and_refuse_what_they_do_not_take() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "experiment = \"train\"\nseed = 0\n[data]\nname = \"fashion_mnist_embedded\"\nsubset = 256\n\
         [model]\nname = \"mnist1d_mlp\"\n[noise]\npolicy = \"layer\"\nsigma = 0.05\ngroup_by = \"tensor\"\nselect = \"cyclic\"\n\
         [optim]\nlr = 0.05\nmomentum = 0.9\n[train]\nsteps = 30\nlog_every = 10\n[eval]\ntest_subset = 200\n",
    );
    let out = tmp.path().join("peers");
    let o = noisegd(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--grid",
        "noise.policy:noise.sigma=anti:0.03,sam:0,asam:0,rwp:0.01,nso:0.03",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = |cell: &str| -> serde_json::Value {
        let path = out.join(cell).join("summary.json");
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap()
    };
    for (cell, passes, parameter) in [
        ("noise.policy=anti,noise.sigma=0.03,seed=0", 1, None),
        (
            "noise.policy=sam,noise.sigma=0,seed=0",
            2,
            Some(("rho", 0.05)),
        ),
        (
            "noise.policy=asam,noise.sigma=0,seed=0",
            2,
            Some(("asam_eta", 0.01)),
        ),
        (
            "noise.policy=rwp,noise.sigma=0.01,seed=0",
            2,
            Some(("rwp_alpha", 0.5)),
        ),
        (
            "noise.policy=nso,noise.sigma=0.03,seed=0",
            2,
            Some(("nso_lambda", 0.0)),
        ),
    ] {
        let s = summary(cell);
        assert_eq!(s["status"], "finished", "{cell}");
        assert_eq!(s["passes_per_step"], passes, "{cell}");
        assert!(s["test_accuracy"].as_f64().unwrap() > 0.3, "{cell}: {s}");
        if let Some((key, value)) = parameter {
            assert_eq!(
                s["peer_parameters"][key].as_f64(),
                Some(value),
                "{cell}: {s}"
            );
        }
    }
    // SAM's ρ and RWP's relative σ have no isotropic regularizer or σ_t: no number is made up.
    assert!(summary("noise.policy=sam,noise.sigma=0,seed=0")["theory_sigma"].is_null());

    for (set, says) in [
        (vec!["noise.rho=0.1"], "noise.rho"),
        (vec!["noise.policy=\"sam\""], "noise.sigma"),
        (
            vec!["noise.policy=\"sam\"", "noise.sigma=0", "noise.rho=-1"],
            "> 0",
        ),
        (
            vec!["noise.policy=\"nso\"", "noise.nso_samples=0"],
            "noise.nso_samples",
        ),
        (vec!["noise.policy=\"rwp\"", "noise.rwp_alpha=2"], "[0, 1]"),
    ] {
        let refused = tmp.path().join("refused");
        let mut args = vec![
            "run",
            cfg.to_str().unwrap(),
            "--quiet",
            "--out",
            refused.to_str().unwrap(),
        ];
        for s in &set {
            args.extend(["--set", s]);
        }
        let o = noisegd(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(says), "{set:?}: {err}");
        assert!(!refused.exists(), "{set:?}: nothing is written");
    }
    // The theory experiments keep to the policies their prediction is derived for.
    let lasso = config(
        tmp.path(),
        &SHORT_LASSO.replace("policy = \"layer\"", "policy = \"anti\""),
    );
    let o = run_at(&lasso, &tmp.path().join("lasso"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("none, all and layer"),
        "{err}"
    );
}

/// Writes an `h×w` RGB PNG of one colour, with a little seeded texture.
fn write_png(path: &Path, rgb: [u8; 3], side: u32, texture: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), side, side);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let pixels: Vec<u8> = (0..side * side * 3)
        .map(|i| rgb[(i % 3) as usize].saturating_add(((i * 7 + texture * 13) % 23) as u8))
        .collect();
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
}

/// A researcher's own images in the ImageFolder layout train and are reported by `data check`,
/// with the class order given; a corrupt file is named and nothing is written.
#[test]
fn a_users_image_folder_is_a_data_set_of_its_own_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("pets");
    let colours = [
        ("cat", [200, 30, 30]),
        ("dog", [30, 200, 30]),
        ("owl", [30, 30, 200]),
    ];
    for (class, rgb) in colours {
        for (split, n) in [("train", 12), ("test", 6)] {
            for k in 0..n {
                write_png(
                    &tree.join(split).join(class).join(format!("{k}.png")),
                    rgb,
                    20,
                    k,
                );
            }
        }
    }
    let cfg = config(
        tmp.path(),
        &format!(
            "experiment = \"train\"\n[data]\nname = \"image_folder\"\ndir = \"{}\"\nclasses = [\"owl\", \"cat\", \"dog\"]\nnormalize = true\n\
             [model]\nname = \"lenet\"\n[optim]\nlr = 0.05\nmomentum = 0.9\n[train]\nsteps = 60\nlog_every = 20\n",
            tree.display()
        ),
    );
    let out = tmp.path().join("run");
    run_ok(&cfg, &out, &[]);
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["data"], "image_folder");
    assert_eq!(
        (s["train_examples"].as_u64(), s["test_examples"].as_u64()),
        (Some(36), Some(18))
    );
    assert!(s["test_accuracy"].as_f64().unwrap() > 0.6, "{s}");

    let o = noisegd(&["data", "check", tree.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("image_folder: found")
            && text.contains("36 train + 18 test examples of 3×20×20, 3 classes"),
        "{text}"
    );

    // A class order that misses a folder, then a corrupt file: named, nothing written.
    let bad_order = config(
        tmp.path(),
        &fs::read_to_string(&cfg).unwrap().replace("\"owl\", ", ""),
    );
    let o = run_at(&bad_order, &tmp.path().join("refused"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("\"owl\""), "{err}");
    fs::write(tree.join("test/dog/3.png"), b"not a png").unwrap();
    let cfg = config(
        tmp.path(),
        &fs::read_to_string(&bad_order)
            .unwrap()
            .replace("classes = [", "classes = [\"owl\", "),
    );
    let o = run_at(&cfg, &tmp.path().join("refused"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("dog/3.png"), "{err}");
    assert!(!tmp.path().join("refused").exists());
}

/// A build without the GPU backend refuses `--device gpu` before anything runs, saying how to get
/// one; no run directory is left behind.
#[cfg(not(feature = "gpu"))]
#[test]
fn a_gpu_run_on_a_build_without_the_gpu_backend_says_how_to_build_one() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        r#"
experiment = "train"
[data]
name = "mnist1d"
[model]
name = "mnist1d_mlp"
[train]
steps = 5
"#,
    );
    let out = tmp.path().join("run");
    let o = noisegd(&[
        "run",
        cfg.to_str().unwrap(),
        "--quiet",
        "--device",
        "gpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("without its GPU backend") && stderr.contains("--features gpu"),
        "{stderr}"
    );
    assert!(
        !out.exists(),
        "nothing is written for a run that cannot start"
    );
    let o = noisegd(&["run", cfg.to_str().unwrap(), "--device", "tpu"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cpu, gpu"));
}
