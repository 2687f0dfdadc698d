//! The experiment config: a TOML file, `--set key=value` overrides, defaults, range checks.
//!
//! Unknown keys are rejected (serde's `deny_unknown_fields`) with the list of allowed ones, and
//! values are range-checked with messages that name the key: each table validates itself
//! (`data`, `train`, `regression`, `figures`) with the shared checks of `check`. The resolved config (defaults
//! filled in) is what the run directory records.

use anyhow::{anyhow, bail, Context, Result};
use noisegd::backend::Backend;
use noisegd::noise::{NoiseConfig, PolicyKind};
use noisegd::optim::{LrScheduleKind, OptimConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use crate::experiments::Experiment;

mod check;
mod data;
mod figures;
pub mod reference;
mod regression;
mod train;

pub use data::{DataConfig, DataName};
pub use figures::{Fig2Config, SigmaConvention, WidthConfig};
pub use reference::ReferenceConfig;
pub use regression::{GroupLassoConfig, LassoConfig, NuclearConfig};
pub use train::{EvalConfig, ModelConfig, TrainConfig};

/// A whole config file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Which experiment.
    pub experiment: Experiment,
    /// Seed of every random draw in the run (data, initialization, noise).
    #[serde(default)]
    pub seed: u64,
    /// Compute backend.
    #[serde(default)]
    pub device: Backend,
    /// Noise injection.
    #[serde(default)]
    pub noise: NoiseConfig,
    /// Base optimizer.
    #[serde(default)]
    pub optim: OptimConfig,
    /// Length of the run and logging.
    #[serde(default)]
    pub train: TrainConfig,
    /// Which data the experiment runs on.
    #[serde(default)]
    pub data: DataConfig,
    /// The network of the `train` experiment.
    #[serde(default)]
    pub model: ModelConfig,
    /// What the `train` experiment measures besides loss and accuracy.
    #[serde(default)]
    pub eval: EvalConfig,
    /// Settings of the `lasso` experiment.
    #[serde(default)]
    pub lasso: LassoConfig,
    /// Settings of the `group_lasso` experiment.
    #[serde(default)]
    pub group_lasso: GroupLassoConfig,
    /// Settings of the `nuclear` experiment.
    #[serde(default)]
    pub nuclear: NuclearConfig,
    /// Settings of the `width` experiment.
    #[serde(default)]
    pub width: WidthConfig,
    /// Settings of the `fig2` experiment.
    #[serde(default)]
    pub fig2: Fig2Config,
    /// Published numbers to print beside the measured ones in sweep reports.
    #[serde(default, skip_serializing_if = "ReferenceConfig::is_empty")]
    pub reference: ReferenceConfig,
    /// How `noisegd sweep --slurm` submits this config's cells (its options take precedence).
    #[serde(default, skip_serializing_if = "is_default")]
    pub slurm: crate::sweep::slurm::SlurmConfig,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The name a config uses for an enum value (`"layer"`, `"sgd"`, `"fashion_mnist"`): its serde
/// name.
pub fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl RunConfig {
    /// Reads `path`, applies `overrides` (`key=value`, dotted keys), fills defaults and checks
    /// every value.
    /// A relative `data.path` written in the file is resolved against the file's directory
    /// (so that a config and its data travel together); one set by an override is left
    /// relative to the working directory, like any other command-line path.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut config = Self::parse(&text, overrides)
            .with_context(|| format!("in config file {}", path.display()))?;
        let overridden = overrides.iter().any(|o| {
            o.split_once('=')
                .is_some_and(|(k, _)| k.trim() == "data.path")
        });
        if let Some(data_path) = &config.data.path {
            if data_path.is_relative() && !overridden {
                let dir = path.parent().unwrap_or(Path::new(""));
                config.data.path = Some(dir.join(data_path));
            }
        }
        Ok(config)
    }

    /// A warning when this config runs for another number of steps than `file`, the config it
    /// was loaded from, while its cosine schedule spans the whole run (`optim.t_max` unset): the
    /// schedule shrinks or stretches with the run, so a shortened rerun of a committed run does
    /// not repeat that run's first steps (its rates differ from the second step on).
    pub fn schedule_length_warning(&self, file: &RunConfig) -> Option<String> {
        let (steps, original) = (self.train.steps, file.train.steps);
        let spans_the_run =
            self.optim.schedule == LrScheduleKind::Cosine && self.optim.t_max.is_none();
        (spans_the_run && steps != original).then(|| {
            format!(
                "train.steps = {steps} overrides the file's {original} while optim.t_max is \
                 unset, so the cosine schedule now spans {steps} steps and the learning rate \
                 differs from the file's run from the second step on; add --set \
                 optim.t_max={original} to keep the file's schedule (e.g. to rerun its first \
                 {steps} steps exactly)"
            )
        })
    }

    /// The same config with `data.path` and `data.dir` made absolute (against the working
    /// directory), so that it can be written anywhere and loaded again.
    pub fn with_absolute_paths(mut self) -> Result<Self> {
        for p in [&mut self.data.path, &mut self.data.dir]
            .into_iter()
            .flatten()
        {
            *p = std::path::absolute(&*p)
                .with_context(|| format!("cannot make {} absolute", p.display()))?;
        }
        Ok(self)
    }

    /// Like [`RunConfig::load`] from a string.
    pub fn parse(text: &str, overrides: &[String]) -> Result<Self> {
        // Deserializing the text itself keeps the line and column of a bad key in the message;
        // the overrides can only be applied to the parsed table, which has no positions.
        let from_file = toml::from_str::<RunConfig>(text);
        let config = if overrides.is_empty() {
            from_file.map_err(|e| anyhow!("{e}"))?
        } else {
            let mut table: toml::Table = text.parse().map_err(|e| anyhow!("{e}"))?;
            for assignment in overrides {
                apply_override(&mut table, assignment)?;
            }
            match toml::Value::Table(table).try_into::<RunConfig>() {
                Ok(config) => config,
                Err(e) => match from_file {
                    Err(file_error) => bail!("{file_error}"),
                    Ok(_) => bail!("after applying --set {}: {e}", overrides.join(" --set ")),
                },
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// Range checks: each table checks itself; what depends on the experiment is checked here.
    pub fn validate(&self) -> Result<()> {
        self.noise.validate()?;
        self.reference.validate(self)?;
        self.slurm.validate()?;
        self.optim.validate()?;
        self.train.validate()?;
        self.data.validate(self.experiment)?;
        if self.experiment == Experiment::Train {
            self.eval.validate()?;
        } else {
            for (key, set) in [
                ("model", self.model != ModelConfig::default()),
                ("eval", self.eval != EvalConfig::default()),
                ("train.batch_size", self.train.batch_size != 0),
                (
                    "train.checkpoint_every",
                    self.train.checkpoint_every != TrainConfig::default().checkpoint_every,
                ),
            ] {
                if set {
                    bail!("`{key}` applies to the train experiment only (found experiment = \"{}\"): remove it", name(&self.experiment));
                }
            }
        }
        if !matches!(self.experiment, Experiment::Train)
            && !matches!(
                self.noise.policy,
                PolicyKind::None | PolicyKind::All | PolicyKind::Layer
            )
        {
            bail!(
                "noise.policy = \"{}\": the `{}` experiment compares noise injection with the explicit regularizer it predicts, which is derived for none, all and layer only; the peer policies run in the train experiment",
                self.noise.policy,
                name(&self.experiment)
            );
        }
        match self.experiment {
            Experiment::Lasso => self.lasso.validate(&self.data)?,
            Experiment::GroupLasso => self.group_lasso.validate()?,
            Experiment::Nuclear => self.nuclear.validate()?,
            _ => {}
        }
        if matches!(self.experiment, Experiment::Width | Experiment::Fig2)
            && self.noise != NoiseConfig::default()
        {
            bail!(
                "the `{}` experiment runs every noise policy itself and takes its σ from its own table; remove the [noise] table (or the --set noise.* override)",
                if self.experiment == Experiment::Width { "width" } else { "fig2" }
            );
        }
        if self.experiment == Experiment::Width {
            self.width.validate()?;
        }
        if self.experiment == Experiment::Fig2 {
            self.fig2.validate()?;
        }
        Ok(())
    }

    /// The resolved config as TOML (every default written out).
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }
}

/// Applies `a.b.c=value`: the value is read as a TOML value (`0.1`, `true`, `"x"`, `[1, 2]`);
/// anything that does not parse as one is taken as a bare string (`policy=layer`).
fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<()> {
    let (key, raw) = assignment.split_once('=').ok_or_else(|| {
        anyhow!("--set expects key=value (for example noise.sigma=0.1), found `{assignment}`")
    })?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        bail!("--set `{assignment}`: the key must be a dotted path such as noise.sigma");
    }
    let raw = raw.trim();
    let value = match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").expect("the key v was just written"),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().expect("split yields at least one part");
    let mut node = table;
    for part in parts {
        let entry = node
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = entry
            .as_table_mut()
            .ok_or_else(|| anyhow!("--set {key}: `{part}` is a value, not a table"))?;
    }
    node.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests;
