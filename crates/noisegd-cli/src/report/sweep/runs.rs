//! The runs a report aggregates: found under the given folders, read (resolved config, summary,
//! metrics path), grouped by the config values that differ between them, and the published
//! numbers of a config's `[reference]` table.

use crate::config::reference::flatten;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One finished run.
#[derive(Clone, Debug)]
pub struct RunRecord {
    /// Its directory.
    pub dir: PathBuf,
    /// Its resolved config, flattened to dotted keys.
    pub params: BTreeMap<String, String>,
    /// The numbers of its `summary.json`, flattened to dotted keys.
    pub summary: BTreeMap<String, f64>,
}

/// Mean, standard error and count of one figure over a group.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub sem: f64,
    pub n: usize,
}

impl Stat {
    /// Over the finite values; `None` if there are none. One value has s.e.m. 0.
    pub fn of(values: &[f64]) -> Option<Self> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return None;
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let sem = if n > 1 {
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            (var / n as f64).sqrt()
        } else {
            0.0
        };
        Some(Self { mean, sem, n })
    }
}

fn flatten_json(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, f64>) {
    match value {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_json(&key, v, out);
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(prefix.to_string(), x);
            }
        }
        _ => {}
    }
}

/// Finished runs under `roots` (searched recursively), and the directories of unfinished ones
/// (a config but no summary). Directories moved aside by a sweep (`*.unfinished-*`) are skipped.
pub fn find_runs(roots: &[PathBuf]) -> Result<(Vec<RunRecord>, Vec<PathBuf>)> {
    let mut runs = vec![];
    let mut unfinished = vec![];
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(dir) = stack.pop() {
        if !dir.is_dir() {
            anyhow::bail!("{} is not a directory of runs", dir.display());
        }
        if dir.join("config.toml").is_file() {
            // Only runs that finished are averaged; interrupted, killed and diverged ones are
            // listed as left out.
            if crate::run::RunDir::status(&dir).as_deref() == Some("finished") {
                runs.push(read_run(&dir)?);
            } else {
                unfinished.push(dir);
            }
            continue;
        }
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().to_string());
            if path.is_dir() && !name.is_some_and(|n| n.contains(".unfinished-")) {
                stack.push(path);
            }
        }
    }
    runs.sort_by(|a, b| a.dir.cmp(&b.dir));
    unfinished.sort();
    Ok((runs, unfinished))
}

fn read_run(dir: &Path) -> Result<RunRecord> {
    let config_path = dir.join("config.toml");
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", config_path.display()))?;
    // Read through the current config type where it parses, so that a key an older binary did
    // not write compares as its default instead of as missing (a run of an earlier version
    // otherwise forms a group of its own).
    let table = crate::config::RunConfig::parse(&text, &[])
        .ok()
        .and_then(|config| toml::Value::try_from(config).ok())
        .and_then(|value| value.as_table().cloned())
        .unwrap_or(table);
    let mut params = BTreeMap::new();
    flatten("", &toml::Value::Table(table), &mut params);
    let summary_path = dir.join("summary.json");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&summary_path)
            .with_context(|| format!("cannot read {}", summary_path.display()))?,
    )
    .with_context(|| format!("{} is not valid JSON", summary_path.display()))?;
    let mut summary = BTreeMap::new();
    flatten_json("", &json, &mut summary);
    Ok(RunRecord {
        dir: dir.to_path_buf(),
        params,
        summary,
    })
}

/// A group's identity: the value of every varying key.
pub type GroupKey = Vec<(String, String)>;

/// Config keys whose values differ between runs, except the seed and the `[reference]` table (the
/// published numbers a config carries are no setting of the run).
pub fn varying_keys(runs: &[RunRecord]) -> Vec<String> {
    let keys: BTreeSet<&String> = runs.iter().flat_map(|r| r.params.keys()).collect();
    keys.into_iter()
        .filter(|k| k.as_str() != "seed" && !k.starts_with("reference."))
        .filter(|k| {
            let values: BTreeSet<Option<&String>> = runs.iter().map(|r| r.params.get(*k)).collect();
            values.len() > 1
        })
        .cloned()
        .collect()
}

/// Runs grouped by their values of `keys` (missing keys read as `-`).
pub fn group<'a>(runs: &'a [RunRecord], keys: &[String]) -> BTreeMap<GroupKey, Vec<&'a RunRecord>> {
    let mut groups: BTreeMap<GroupKey, Vec<&RunRecord>> = BTreeMap::new();
    for run in runs {
        let key = keys
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    run.params.get(k).cloned().unwrap_or_else(|| "-".into()),
                )
            })
            .collect();
        groups.entry(key).or_default().push(run);
    }
    groups
}

pub fn label(key: &[(String, String)]) -> String {
    if key.is_empty() {
        return "all runs".into();
    }
    key.iter()
        .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `[reference]` table of a config file, flattened as run configs are
/// (`reference.<figure>.<group label>`), for [`super::report`].
pub fn reference_from(config: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read {}", config.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", config.display()))?;
    let Some(reference) = table.get("reference") else {
        anyhow::bail!(
            "{} has no [reference] table (see configs/fmnist_mlp1.toml for one)",
            config.display()
        );
    };
    let mut out = BTreeMap::new();
    flatten("reference", reference, &mut out);
    Ok(out)
}
