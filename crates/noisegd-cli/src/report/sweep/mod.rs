//! Aggregating finished runs (`noisegd report DIR...`, and the end of `noisegd sweep`): runs are
//! grouped by the config values that differ between them (the seed excepted), and every summary
//! figure gets its mean ± standard error over the group's seeds, s.e.m. = sd/√n with the n − 1
//! sample standard deviation.
//!
//! Writes `sweep.md` (table of the main figures and what was aggregated), `sweep.csv` (every
//! figure, long form), the final figures against σ per group when σ varies (the paper's Figs. 3
//! and 6), and the logged curves with ±s.e.m. bands (Figs. 4 and 7–10).

mod curves;
mod runs;

use crate::config::reference::mismatches;
use anyhow::{Context, Result};
use runs::label;
pub use runs::{find_runs, group, reference_from, varying_keys, RunRecord, Stat};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Figures shown first when present, in this order (others follow in `sweep.csv`).
const PREFERRED_FIGURES: [&str; 8] = [
    "test_accuracy",
    "final_test_accuracy",
    "rel_dist_to_explicit",
    "gd_rel_dist_to_explicit",
    "objective_gap",
    "train_loss",
    "final_train_loss",
    "slope_fit",
];
/// Logged columns drawn as curves when present.
const PREFERRED_CURVES: [&str; 6] = [
    "test_accuracy",
    "train_loss",
    "test_loss",
    "hessian_trace",
    "rel_dist_to_explicit",
    "explicit_objective",
];
/// Columns of `metrics.csv` that describe the run rather than measure it.
const NOT_CURVES: [&str; 5] = ["step", "epoch", "sigma", "per_weight_std", "lr"];

/// Aggregates the runs under `roots` into `out`; `figures` picks the table's and plots' figures
/// (default: the preferred ones present). Published numbers come from `reference` (see
/// [`reference_from`]), else from the runs' own `[reference]` tables. Returns the path of
/// `sweep.md`.
pub fn report(
    roots: &[PathBuf],
    out: &Path,
    figures: &[String],
    reference: &BTreeMap<String, String>,
) -> Result<PathBuf> {
    let (runs, unfinished) = find_runs(roots)?;
    if runs.is_empty() {
        anyhow::bail!(
            "no finished runs (directories with config.toml and summary.json) under {}",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let keys = varying_keys(&runs);
    let groups = group(&runs, &keys);
    let all_figures: BTreeSet<&String> = runs.iter().flat_map(|r| r.summary.keys()).collect();
    let shown: Vec<String> = if figures.is_empty() {
        let preferred: Vec<String> = PREFERRED_FIGURES
            .iter()
            .filter(|f| all_figures.iter().any(|g| g == *f))
            .take(4)
            .map(|f| f.to_string())
            .collect();
        if preferred.is_empty() {
            all_figures.iter().take(4).map(|f| f.to_string()).collect()
        } else {
            preferred
        }
    } else {
        figures.to_vec()
    };

    let stats = |runs: &[&RunRecord], figure: &str| {
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.summary.get(figure).copied())
            .collect();
        Stat::of(&values)
    };

    // sweep.csv: every figure of every group.
    let mut csv = csv::Writer::from_path(out.join("sweep.csv"))
        .with_context(|| format!("cannot write {}", out.join("sweep.csv").display()))?;
    let mut header: Vec<String> = keys.clone();
    header.extend(["figure", "mean", "sem", "n"].map(String::from));
    csv.write_record(&header)?;
    for (key, members) in &groups {
        for figure in &all_figures {
            if let Some(s) = stats(members, figure) {
                let mut row: Vec<String> = key.iter().map(|(_, v)| v.clone()).collect();
                row.extend([
                    figure.to_string(),
                    s.mean.to_string(),
                    s.sem.to_string(),
                    s.n.to_string(),
                ]);
                csv.write_record(&row)?;
            }
        }
    }
    csv.flush()?;

    // sweep.md
    let mut md = String::from("# Sweep report\n\n");
    let seeds: BTreeSet<usize> = groups.values().map(Vec::len).collect();
    writeln!(
        md,
        "{} finished runs in {} groups ({} seeds per group); mean ± standard error over seeds.",
        runs.len(),
        groups.len(),
        seeds
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    )?;
    writeln!(
        md,
        "Varying config keys: {}.\n",
        if keys.is_empty() {
            "none".into()
        } else {
            keys.join(", ")
        }
    )?;
    if !unfinished.is_empty() {
        writeln!(
            md,
            "Runs left out: unfinished, interrupted or diverged ({}):\n",
            unfinished.len()
        )?;
        for u in &unfinished {
            writeln!(md, "- `{}`", u.display())?;
        }
        md.push('\n');
    }
    // Published numbers from the configs' [reference] tables, keyed by figure and group label,
    // shown only beside groups whose runs all have the setting the numbers were measured at.
    let given = reference;
    let number = |members: &[&RunRecord], figure: &str, label: &str| {
        let key = format!("reference.{figure}.{label}");
        given
            .get(&key)
            .or_else(|| members.first().and_then(|r| r.params.get(&key)))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let mut left_out: Vec<String> = vec![];
    let mut comparable: BTreeMap<String, bool> = BTreeMap::new();
    for (key, members) in &groups {
        let has_numbers = shown
            .iter()
            .any(|f| number(members, f, &label(key)).is_some());
        if !has_numbers {
            continue;
        }
        let source = if given.is_empty() {
            members.first().map(|r| &r.params)
        } else {
            Some(given)
        };
        let setting: BTreeMap<String, String> = source
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| {
                Some((k.strip_prefix("reference.setting.")?.to_string(), v.clone()))
            })
            .collect();
        let why = if setting.is_empty() {
            vec!["the reference names no `setting` to compare the runs with".to_string()]
        } else {
            let mut why: Vec<String> = members
                .iter()
                .flat_map(|r| mismatches(&setting, &r.params))
                .collect();
            why.sort();
            why.dedup();
            why
        };
        if !why.is_empty() {
            left_out.push(format!("`{}`: {}", label(key), why.join("; ")));
        }
        comparable.insert(label(key), why.is_empty());
    }
    let reference = |members: &[&RunRecord], figure: &str, label: &str| {
        if comparable.get(label) == Some(&true) {
            number(members, figure, label)
        } else {
            None
        }
    };
    let with_reference: Vec<bool> = shown
        .iter()
        .map(|f| {
            groups
                .iter()
                .any(|(k, m)| reference(m, f, &label(k)).is_some())
        })
        .collect();
    let mut head = String::from("| group |");
    let mut rule = String::from("|---|");
    for (f, has_ref) in shown.iter().zip(&with_reference) {
        write!(head, " {f} |")?;
        rule.push_str("---:|");
        if *has_ref {
            write!(head, " {f} (reference) |")?;
            rule.push_str("---:|");
        }
    }
    writeln!(md, "{head}\n{rule}")?;
    for (key, members) in &groups {
        let mut line = format!("| {} |", label(key));
        for (f, has_ref) in shown.iter().zip(&with_reference) {
            match stats(members, f) {
                Some(s) => write!(line, " {:.4} ± {:.4} (n={}) |", s.mean, s.sem, s.n)?,
                None => line.push_str(" – |"),
            }
            if *has_ref {
                match reference(members, f, &label(key)) {
                    Some(v) => write!(line, " {v} |")?,
                    None => line.push_str(" – |"),
                }
            }
        }
        writeln!(md, "{line}")?;
    }
    let sources: BTreeSet<&String> = match given.get("reference.source") {
        Some(source) => BTreeSet::from([source]),
        None => runs
            .iter()
            .filter_map(|r| r.params.get("reference.source"))
            .collect(),
    };
    for source in sources {
        writeln!(md, "\nReference numbers: {source}.")?;
    }
    if !left_out.is_empty() {
        writeln!(
            md,
            "\nReference numbers left out where the runs' setting is not the one they were measured at (the `[reference] setting` keys):\n"
        )?;
        for line in &left_out {
            writeln!(md, "- {line}")?;
        }
    }
    writeln!(md, "\nEvery figure of every group: `sweep.csv`.\n")?;

    let plots = curves::write_plots(&runs, &keys, &groups, &shown, out)?;
    if !plots.is_empty() {
        writeln!(md, "## Plots\n")?;
        for p in plots {
            writeln!(md, "![{p}]({p}.svg)")?;
        }
    }
    let path = out.join("sweep.md");
    std::fs::write(&path, md).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_run(root: &Path, name: &str, config: &str, summary: &str, metrics: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), config).unwrap();
        if !summary.is_empty() {
            std::fs::write(dir.join("summary.json"), summary).unwrap();
        }
        std::fs::write(dir.join("metrics.csv"), metrics).unwrap();
        dir
    }

    #[test]
    fn stat_is_mean_and_standard_error() {
        let s = Stat::of(&[1.0, 2.0, 3.0, f64::NAN]).unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mean - 2.0).abs() < 1e-15);
        // sd = 1 (n − 1 denominator), s.e.m. = 1/√3
        assert!((s.sem - 1.0 / 3f64.sqrt()).abs() < 1e-15);
        assert_eq!(Stat::of(&[5.0]).unwrap().sem, 0.0);
        assert!(Stat::of(&[]).is_none());
    }

    #[test]
    fn reference_numbers_stay_beside_runs_of_their_setting_only() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let metrics = "step,method,train_loss\n1,pgd,1.0\n";
        let reference = "[reference]\nsource = \"the paper\"\nsetting = { \"data.name\" = \"fashion_mnist\", \"train.steps\" = 10 }\ntest_accuracy = { \"policy=layer\" = 0.85, \"policy=all\" = 0.8 }\n";
        let cfg = |policy: &str, data: &str| {
            format!("experiment = \"train\"\n[data]\nname = \"{data}\"\n[noise]\npolicy = \"{policy}\"\n[train]\nsteps = 10\n{reference}")
        };
        // The config as written, then swept onto another data set with --set data.name=mnist1d.
        for data in ["fashion_mnist", "mnist1d"] {
            let dir = root.join(data);
            fake_run(
                &dir,
                "l",
                &cfg("layer", data),
                "{\"test_accuracy\": 0.9}",
                metrics,
            );
            fake_run(
                &dir,
                "a",
                &cfg("all", data),
                "{\"test_accuracy\": 0.6}",
                metrics,
            );
        }
        let md = |data: &str| {
            let dir = root.join(data);
            std::fs::read_to_string(
                report(
                    std::slice::from_ref(&dir),
                    &dir.join("r"),
                    &[],
                    &BTreeMap::new(),
                )
                .unwrap(),
            )
            .unwrap()
        };
        let same = md("fashion_mnist");
        assert!(
            same.contains("| policy=layer | 0.9000 ± 0.0000 (n=1) | 0.85 |"),
            "{same}"
        );
        assert!(
            same.contains("| policy=all | 0.6000 ± 0.0000 (n=1) | 0.8 |"),
            "{same}"
        );
        assert!(!same.contains("left out"), "{same}");
        let other = md("mnist1d");
        assert!(
            !other.contains("(reference)") && !other.contains("0.85"),
            "{other}"
        );
        assert!(
            other.contains("- `policy=all`: data.name = mnist1d (reference: fashion_mnist)"),
            "{other}"
        );
        // A reference that names no setting is never shown.
        let bare = root.join("bare");
        let old = "[reference]\ntest_accuracy = { \"policy=layer\" = 0.85 }\n";
        for policy in ["layer", "all"] {
            fake_run(
                &bare,
                policy,
                &format!("experiment = \"train\"\n[noise]\npolicy = \"{policy}\"\n{old}"),
                "{\"test_accuracy\": 0.9}",
                metrics,
            );
        }
        let md = std::fs::read_to_string(
            report(
                std::slice::from_ref(&bare),
                &bare.join("r"),
                &[],
                &BTreeMap::new(),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(!md.contains("0.85"), "{md}");
        assert!(md.contains("names no `setting`"), "{md}");
    }

    #[test]
    fn hand_made_runs_aggregate_by_the_keys_that_vary() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let metrics = "step,method,train_loss\n1,pgd,1.0\n10,pgd,0.5\n";
        let cfg = |policy: &str, sigma: f64, seed: u64| {
            format!("experiment = \"lasso\"\nseed = {seed}\n[noise]\npolicy = \"{policy}\"\nsigma = {sigma}\n[train]\nsteps = 10\n[reference]\nsource = \"the paper\"\nsetting = {{ \"train.steps\" = 10, \"noise.sigma\" = 0.1 }}\ntest_accuracy = {{ \"policy=layer\" = 0.85 }}\n")
        };
        // layer σ=0.1: accuracies 0.8, 0.9, 1.0 over three seeds; all σ=0.1: 0.5, 0.7.
        for (seed, acc) in [(0, 0.8), (1, 0.9), (2, 1.0)] {
            fake_run(
                root,
                &format!("l{seed}"),
                &cfg("layer", 0.1, seed),
                &format!("{{\"test_accuracy\": {acc}, \"nested\": {{\"x\": 1}}}}"),
                metrics,
            );
        }
        for (seed, acc) in [(0, 0.5), (1, 0.7)] {
            fake_run(
                root,
                &format!("a{seed}"),
                &cfg("all", 0.1, seed),
                &format!("{{\"test_accuracy\": {acc}}}"),
                metrics,
            );
        }
        fake_run(root, "killed", &cfg("all", 0.1, 9), "", "step\n");
        fake_run(
            root,
            "stopped",
            &cfg("all", 0.1, 8),
            "{\"status\": \"interrupted\"}",
            "step\n",
        );
        let (runs, unfinished) = find_runs(&[root.to_path_buf()]).unwrap();
        assert_eq!(runs.len(), 5);
        assert_eq!(
            unfinished.len(),
            2,
            "killed and interrupted runs are left out"
        );
        let l0 = runs.iter().find(|r| r.dir.ends_with("l0")).unwrap();
        assert_eq!(
            l0.summary.get("nested.x"),
            Some(&1.0),
            "nested figures are flattened"
        );
        let keys = varying_keys(&runs);
        assert_eq!(
            keys,
            vec!["noise.policy".to_string()],
            "seed is never a grouping key"
        );
        let groups = group(&runs, &keys);
        let layer = &groups[&vec![("noise.policy".to_string(), "layer".to_string())]];
        let values: Vec<f64> = layer.iter().map(|r| r.summary["test_accuracy"]).collect();
        let s = Stat::of(&values).unwrap();
        assert!((s.mean - 0.9).abs() < 1e-12 && (s.sem - 0.1 / 3f64.sqrt()).abs() < 1e-12);

        let out = root.join("report");
        let md = std::fs::read_to_string(
            report(&[root.to_path_buf()], &out, &[], &BTreeMap::new()).unwrap(),
        )
        .unwrap();
        assert!(
            md.contains("5 finished runs in 2 groups (2 or 3 seeds per group)"),
            "{md}"
        );
        assert!(
            md.contains("| test_accuracy | test_accuracy (reference) |"),
            "{md}"
        );
        assert!(
            md.contains("| policy=layer | 0.9000 ± 0.0577 (n=3) | 0.85 |"),
            "{md}"
        );
        assert!(
            md.contains("| policy=all | 0.6000 ± 0.1000 (n=2) | – |"),
            "{md}"
        );
        assert!(md.contains("Reference numbers: the paper."), "{md}");
        // Numbers given with --reference take the place of the runs' own.
        let given = root.join("given.toml");
        std::fs::write(
            &given,
            "[reference]\nsource = \"another paper\"\nsetting = { train.steps = 10 }\ntest_accuracy = { \"policy=all\" = 0.5 }\n",
        )
        .unwrap();
        let reference = reference_from(&given).unwrap();
        let md = std::fs::read_to_string(
            report(&[root.to_path_buf()], &root.join("again"), &[], &reference).unwrap(),
        )
        .unwrap();
        assert!(
            md.contains("| policy=all | 0.6000 ± 0.1000 (n=2) | 0.5 |"),
            "{md}"
        );
        assert!(md.contains("Reference numbers: another paper."), "{md}");
        let e = reference_from(&root.join("l0/config.toml").with_file_name("nothing.toml"));
        assert!(e.is_err());
        assert!(md.contains("killed"), "unfinished runs are listed: {md}");
        let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
        assert!(
            csv.lines()
                .any(|l| l.starts_with("layer,test_accuracy,0.9")),
            "{csv}"
        );
        assert!(out.join("sweep_curve_train_loss.svg").exists());
    }

    /// Runs of two binaries: the older config lacks a key the newer one writes (`data.classes`)
    /// and carries a `[reference]` table the other does not. Neither splits a group: the
    /// missing key reads as its default, and the reference is no setting.
    #[test]
    fn a_key_an_older_binary_did_not_write_and_the_reference_table_do_not_split_groups() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let metrics = "step,train_loss\n1,1.0\n";
        let older = "experiment = \"train\"\nseed = 0\n[data]\nname = \"mnist1d\"\n[model]\nname = \"mnist1d_mlp\"\n[noise]\npolicy = \"layer\"\n[reference]\nsource = \"the paper\"\nsetting = { \"data.name\" = \"mnist1d\", \"model.name\" = \"mnist1d_mlp\", \"train.steps\" = 1000 }\ntest_accuracy = { \"policy=layer\" = 0.85 }\n";
        let newer = |seed: u64| {
            format!("experiment = \"train\"\nseed = {seed}\n[data]\nname = \"mnist1d\"\nclasses = []\n[model]\nname = \"mnist1d_mlp\"\n[noise]\npolicy = \"layer\"\n")
        };
        fake_run(root, "old", older, "{\"test_accuracy\": 0.8}", metrics);
        fake_run(root, "new", &newer(1), "{\"test_accuracy\": 0.9}", metrics);
        fake_run(
            root,
            "other",
            &newer(2).replace("\"layer\"", "\"all\""),
            "{\"test_accuracy\": 0.7}",
            metrics,
        );
        let (runs, _) = find_runs(&[root.to_path_buf()]).unwrap();
        assert_eq!(varying_keys(&runs), vec!["noise.policy".to_string()]);
        let groups = group(&runs, &varying_keys(&runs));
        assert_eq!(groups.len(), 2, "{:?}", groups.keys().collect::<Vec<_>>());
    }

    #[test]
    fn an_empty_directory_is_an_error_that_says_what_is_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let e = report(
            &[tmp.path().to_path_buf()],
            tmp.path(),
            &[],
            &BTreeMap::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no finished runs"), "{e}");
    }
}
