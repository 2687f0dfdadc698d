//! The experiment config: a TOML file, `--set key=value` overrides, defaults, range checks.
//!
//! Unknown keys are rejected (serde's `deny_unknown_fields`) with the list of allowed ones, and
//! values are range-checked with messages that name the key: each table validates itself
//! (`data`, `train`, `regression`, `figures`) with the shared checks of `check`. The resolved config (defaults
//! filled in) is what the run directory records.

use anyhow::{anyhow, bail, Context, Result};
use noisegd::backend::Backend;
use noisegd::noise::NoiseConfig;
use noisegd::optim::OptimConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

mod check;
mod data;
mod figures;
mod regression;
mod train;

pub use data::{DataConfig, DataName};
pub use figures::{Fig2Config, WidthConfig};
pub use regression::{GroupLassoConfig, LassoConfig, NuclearConfig};
pub use train::{EvalConfig, ModelConfig, TrainConfig};

/// The experiments this tool can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Experiment {
    /// Diagonal linear network vs the weighted Lasso it implicitly solves (paper §2.3).
    Lasso,
    /// Grouped linear model vs the data-weighted group Lasso of Eq. (38) (paper §2.4).
    GroupLasso,
    /// Two-layer linear factorization vs the nuclear-norm problem of Eq. (10) (paper §2.4).
    Nuclear,
    /// Variance explosion of `all` noise with the width, and the layer-wise cure (paper §3, Fig. 1).
    Width,
    /// GD, GD + noise (all, layer) and GD on the explicit loss of Eq. (9) (paper Fig. 2).
    Fig2,
    /// A classifier (MLP, CNN, ResNet-18) on an image data set (paper §3, Figs. 3-10).
    Train,
}

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
}

/// The `[reference]` table: numbers from a paper, printed beside the measured mean ± s.e.m. by
/// `noisegd sweep` / `noisegd report`. Each figure of `summary.json` maps a sweep group's label
/// (as the report writes it, e.g. `"policy=layer"` or `"policy=all sigma=0.05"`) to a value:
///
/// ```toml
/// [reference]
/// source = "Orvieto et al. 2023, Fig. 7, read off the figure"
/// test_accuracy = { "policy=none" = 0.775, "policy=layer" = 0.797, "policy=all" = 0.792 }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceConfig {
    /// Where the numbers come from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// figure → group label → value.
    #[serde(flatten)]
    pub figures: BTreeMap<String, BTreeMap<String, f64>>,
}

impl ReferenceConfig {
    /// No reference numbers.
    pub fn is_empty(&self) -> bool {
        self.source.is_empty() && self.figures.is_empty()
    }
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
        for (figure, values) in &self.reference.figures {
            if let Some((group, v)) = values.iter().find(|(_, v)| !v.is_finite()) {
                bail!("invalid value for `reference.{figure}.\"{group}\"`: must be a finite number, found {v}");
            }
        }
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
mod tests {
    use super::*;
    use noisegd::models::diagonal::Parametrization;
    use std::path::PathBuf;

    const MINIMAL: &str = "experiment = \"lasso\"\n";

    /// Every config in configs/ loads, with each `--set key=value` its header comments suggest.
    #[test]
    fn every_shipped_config_and_its_documented_overrides_load() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            count += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            let sets: Vec<String> = text
                .lines()
                .filter(|l| l.starts_with('#'))
                .flat_map(|l| {
                    l.split("--set ").skip(1).map(|rest| {
                        rest.split_whitespace()
                            .next()
                            .unwrap_or("")
                            .trim_end_matches([')', ',', '.', ';', '`'])
                            .to_string()
                    })
                })
                .collect();
            RunConfig::load(&path, &[]).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            for set in sets {
                RunConfig::load(&path, std::slice::from_ref(&set))
                    .unwrap_or_else(|e| panic!("{} --set {set}: {e:#}", path.display()));
            }
        }
        assert!(count >= 17, "found {count} configs");
    }

    /// The paper-figure configs carry the paper's settings (§3 E3–E6 of the reconstruction).
    #[test]
    fn paper_figure_configs_have_the_papers_settings() {
        let load = |name: &str| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../configs")
                .join(name);
            RunConfig::load(&path, &[]).unwrap()
        };
        let r = load("fig6_resnet18_cifar10.toml");
        assert_eq!(r.train.batch_size, 128);
        assert_eq!(r.train.steps, 150 * 50_000_u64.div_ceil(128), "150 epochs");
        assert_eq!(r.noise.off_after_epoch, Some(135));
        assert_eq!(
            (r.optim.lr, r.optim.momentum, r.optim.weight_decay),
            (0.01, 0.9, Some(5e-4))
        );
        assert_eq!(r.optim.t_max, Some(150));
        for (name, epochs, lr) in [
            ("fig5_lenet_cifar10.toml", 3000, 1e-3),
            ("fig5_widecnn_cifar10.toml", 550, 5e-3),
        ] {
            let c = load(name);
            assert_eq!(c.train.steps, epochs * 50_000_u64.div_ceil(1024), "{name}");
            assert_eq!(
                (c.optim.lr, c.optim.t_max, c.noise.sigma),
                (lr, Some(epochs), 0.05),
                "{name}"
            );
        }
        for (name, steps, lr, sigma) in [
            ("fmnist_mlp1.toml", 10_000, 5e-3, 0.05),
            ("fig8_mlp2.toml", 10_000, 5e-3, 0.1),
            ("fig4_mlp3.toml", 10_000, 5e-3, 0.1),
            ("fig4_mlp4.toml", 20_000, 1e-3, 0.05),
        ] {
            let c = load(name);
            assert_eq!(
                (
                    c.train.steps,
                    c.optim.lr,
                    c.noise.sigma,
                    c.data.subset,
                    c.train.batch_size
                ),
                (steps, lr, sigma, 1024, 0),
                "{name}"
            );
        }
    }

    #[test]
    fn defaults_fill_a_minimal_config() {
        let c = RunConfig::parse(MINIMAL, &[]).unwrap();
        assert_eq!(c.seed, 0);
        assert_eq!(c.lasso.d, 100);
        assert_eq!(c.noise.policy, noisegd::noise::PolicyKind::None);
    }

    #[test]
    fn overrides_set_nested_keys_with_typed_values() {
        let c = RunConfig::parse(
            MINIMAL,
            &[
                "noise.policy=layer".into(),
                "noise.sigma=0.25".into(),
                "seed=7".into(),
                "noise.antithetic=true".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.noise.policy, noisegd::noise::PolicyKind::Layer);
        assert_eq!(c.noise.sigma, 0.25);
        assert_eq!(c.seed, 7);
        assert!(c.noise.antithetic);
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_allowed_ones() {
        let err =
            RunConfig::parse("experiment = \"lasso\"\n[noise]\nsigmaa = 0.1\n", &[]).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("sigmaa") && msg.contains("sigma"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        let err = RunConfig::parse(MINIMAL, &["trian.steps=3".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("trian"), "{err:#}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let cases = [
            ("noise.policy=sometimes", "policy"),
            ("noise.sigma=-1", "noise.sigma"),
            ("train.steps=0", "train.steps"),
            ("lasso.sparsity=1000", "lasso.sparsity"),
            ("optim.lr=0", "optim.lr"),
            ("optim.name=lbfgs", "name"),
        ];
        for (set, key) in cases {
            let msg = format!(
                "{:#}",
                RunConfig::parse(
                    "experiment = \"lasso\"\n[noise]\npolicy = \"layer\"\n",
                    &[set.into()]
                )
                .unwrap_err()
            );
            assert!(msg.contains(key), "--set {set}: {msg}");
        }
        let msg = format!(
            "{:#}",
            RunConfig::parse("experiment = \"imagenet\"\n", &[]).unwrap_err()
        );
        assert!(msg.contains("imagenet") && msg.contains("lasso"), "{msg}");
    }

    #[test]
    fn data_table_checks_name_the_key() {
        let csv =
            "experiment = \"lasso\"\n[data]\nname = \"csv\"\npath = \"t.csv\"\ntarget = \"y\"\n";
        let c = RunConfig::parse(csv, &[]).unwrap();
        assert!(c.data.is_table());
        assert_eq!(c.data.test_fraction, 0.2);
        let cases: [(&str, &[&str], &str); 7] = [
            (
                "experiment = \"lasso\"\n[data]\nname = \"csv\"\n",
                &[],
                "data.path",
            ),
            (
                "experiment = \"lasso\"\n[data]\nname = \"csv\"\npath = \"t.csv\"\n",
                &[],
                "data.target",
            ),
            (csv, &["data.test_fraction=1"], "data.test_fraction"),
            (csv, &["lasso.n=30"], "lasso.n"),
            (csv, &["experiment=nuclear"], "lasso experiment only"),
            (MINIMAL, &["data.path=x.csv"], "data.path"),
            (MINIMAL, &["data.test_fraction=0.5"], "data.test_fraction"),
        ];
        for (text, set, key) in cases {
            let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
            let msg = format!("{:#}", RunConfig::parse(text, &set).unwrap_err());
            assert!(msg.contains(key), "{set:?}: {msg}");
        }
        let msg = format!(
            "{:#}",
            RunConfig::parse(&format!("{MINIMAL}[data]\ndir = \"x\"\n"), &[]).unwrap_err()
        );
        assert!(
            msg.contains("data.dir") && msg.contains("train experiment"),
            "a regression data set has no data.dir: {msg}"
        );
        let c = RunConfig::parse(
            MINIMAL,
            &[
                "data.name=diabetes".into(),
                "lasso.parametrization=product".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.data.name, DataName::Diabetes);
        assert_eq!(c.lasso.parametrization, Parametrization::Product);
    }

    #[test]
    fn a_relative_data_path_is_resolved_against_the_config_file() {
        let dir = std::env::temp_dir().join(format!("noisegd-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "experiment = \"lasso\"\n[data]\nname = \"csv\"\npath = \"sub/t.csv\"\ntarget = \"y\"\n",
        )
        .unwrap();
        let c = RunConfig::load(&file, &[]).unwrap();
        assert_eq!(c.data.path, Some(dir.join("sub/t.csv")));
        let c = RunConfig::load(&file, &["data.path=other.csv".into()]).unwrap();
        assert_eq!(c.data.path, Some(PathBuf::from("other.csv")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resolved_config_round_trips() {
        let c = RunConfig::parse(
            MINIMAL,
            &["noise.policy=all".into(), "noise.sigma=0.2".into()],
        )
        .unwrap();
        let again = RunConfig::parse(&c.to_toml().unwrap(), &[]).unwrap();
        assert_eq!(c, again);
    }
}
