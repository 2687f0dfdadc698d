//! The `[reference]` table: published numbers to print beside a sweep's measured ones, and the
//! setting they were measured at, so that a report shows them only beside runs of that setting.

use super::{Experiment, RunConfig};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `[reference]` table: numbers from a paper, printed beside the measured mean ± s.e.m. by
/// `noisegd sweep` / `noisegd report`. Each figure of `summary.json` maps a sweep group's label
/// (as the report writes it, e.g. `"policy=layer"` or `"policy=all sigma=0.05"`) to a value;
/// `setting` names the config values the numbers were measured at (at least [`REQUIRED`], and
/// `model.name` for the train experiment), so that a sweep with another data set, model or
/// length leaves them out instead of comparing unlike runs:
///
/// ```toml
/// [reference]
/// source = "Orvieto et al. 2023, Fig. 7, read off the figure"
/// setting = { "data.name" = "fashion_mnist", "model.name" = "mlp1", "train.steps" = 10000 }
/// test_accuracy = { "policy=none" = 0.775, "policy=layer" = 0.797, "policy=all" = 0.792 }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceConfig {
    /// Where the numbers come from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Config key → the value the numbers were measured at.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub setting: BTreeMap<String, toml::Value>,
    /// figure → group label → value.
    #[serde(flatten)]
    pub figures: BTreeMap<String, BTreeMap<String, f64>>,
}

/// The keys every reference's `setting` names: what makes two runs comparable at all.
pub const REQUIRED: [&str; 2] = ["data.name", "train.steps"];

impl ReferenceConfig {
    /// No reference numbers.
    pub fn is_empty(&self) -> bool {
        self.source.is_empty() && self.setting.is_empty() && self.figures.is_empty()
    }

    /// Checks the numbers and that `setting` names the required keys, each a key of the
    /// config (`config`, flattened).
    pub(super) fn validate(&self, config: &RunConfig) -> Result<()> {
        for (figure, values) in &self.figures {
            if let Some((group, v)) = values.iter().find(|(_, v)| !v.is_finite()) {
                bail!("invalid value for `reference.{figure}.\"{group}\"`: must be a finite number, found {v}");
            }
        }
        if self.figures.is_empty() {
            return Ok(());
        }
        let setting = flatten_setting(&self.setting);
        let mut required = REQUIRED.to_vec();
        if config.experiment == Experiment::Train {
            required.push("model.name");
        }
        if let Some(missing) = required.iter().find(|k| !setting.contains_key(**k)) {
            bail!(
                "`reference.setting` must name the setting the reference numbers were measured at, at least {}; `{missing}` is missing. Add e.g. setting = {{ {} }}",
                required.join(", "),
                required
                    .iter()
                    .map(|k| format!("\"{k}\" = …"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let known = flatten_config(config)?;
        if let Some(unknown) = setting.keys().find(|k| !known.contains_key(*k)) {
            bail!("`reference.setting` names `{unknown}`, which is not a key of this config (keys are dotted, as in --set, e.g. \"data.name\")");
        }
        Ok(())
    }
}

/// A TOML value flattened to dotted keys (`a.b = 1` → `"a.b" → "1"`; strings without quotes),
/// as run configs are compared.
pub fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// A `setting` table flattened (quoted dotted keys and nested tables alike).
pub fn flatten_setting(setting: &BTreeMap<String, toml::Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in setting {
        flatten(k, v, &mut out);
    }
    out
}

/// The resolved config, flattened.
fn flatten_config(config: &RunConfig) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    flatten("", &toml::Value::try_from(config)?, &mut out);
    Ok(out)
}

/// The keys of `setting` (flattened) whose value differs from a run's (flattened config), as
/// `key = found (reference: expected)`; empty when the run matches.
pub fn mismatches(
    setting: &BTreeMap<String, String>,
    params: &BTreeMap<String, String>,
) -> Vec<String> {
    setting
        .iter()
        .filter(|(k, v)| params.get(*k) != Some(v))
        .map(|(k, v)| {
            let found = params.get(k).map_or("(unset)", String::as_str);
            format!("{k} = {found} (reference: {v})")
        })
        .collect()
}
