//! The experiment config: a TOML file, `--set key=value` overrides, defaults, range checks.
//!
//! Unknown keys are rejected (serde's `deny_unknown_fields`) with the list of allowed ones, and
//! values are range-checked with messages that name the key. The resolved config (defaults
//! filled in) is what the run directory records.

use anyhow::{anyhow, bail, Context, Result};
use noisegd::backend::Backend;
use noisegd::models::diagonal::Parametrization;
use noisegd::models::network::ModelKind;
use noisegd::noise::NoiseConfig;
use noisegd::optim::OptimConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// The `[width]` table. σ values are the project's (`all`: per-weight std σ/√M, `layer`: σ on
/// one of the M groups).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WidthConfig {
    /// Number of samples.
    pub n: usize,
    /// Input dimension d₀.
    pub d0: usize,
    /// Output dimension d₂.
    pub d2: usize,
    /// Planted coefficients of the target on the first inputs (`y = Xβ*`, the rest of β* zero).
    pub planted: Vec<f64>,
    /// Hidden widths d₁ of the heat maps.
    pub widths: Vec<usize>,
    /// Noise levels σ of the heat maps.
    pub sigmas: Vec<f64>,
    /// Monte-Carlo samples per heat-map cell and policy.
    pub samples: usize,
    /// Hidden widths of the slope fit, the ReLU net and the gradient-variance diagnostic.
    pub slope_widths: Vec<usize>,
    /// σ of the slope fit, the ReLU net and the gradient-variance diagnostic.
    pub slope_sigma: f64,
    /// Monte-Carlo samples per width and policy of the slope fit (linear net).
    pub slope_samples: usize,
    /// Monte-Carlo samples per width and policy for the ReLU net (0: leave it out).
    pub relu_samples: usize,
    /// Common hidden width d of the deep linear net `[d₀, d, d, d₂]` (M = 3).
    pub deep_widths: Vec<usize>,
    /// σ of the deep linear net.
    pub deep_sigma: f64,
    /// Monte-Carlo samples per width and policy of the deep linear net.
    pub deep_samples: usize,
    /// Samples of the perturbed-gradient variance per width and policy (0: leave it out).
    pub grad_samples: usize,
}

impl Default for WidthConfig {
    fn default() -> Self {
        Self {
            n: 40,
            d0: 10,
            d2: 1,
            planted: vec![1.0, -0.5],
            widths: (0..15).map(|i| 400 + 50 * i).collect(),
            sigmas: (0..15).map(|i| 0.2 + 0.05 * i as f64).collect(),
            samples: 200,
            slope_widths: (0..8).map(|i| 400 + 100 * i).collect(),
            slope_sigma: 0.6,
            slope_samples: 8000,
            relu_samples: 2000,
            deep_widths: vec![25, 50, 100, 200],
            deep_sigma: 0.5,
            deep_samples: 2000,
            grad_samples: 300,
        }
    }
}

/// The `[fig2]` table. The run's `[optim]` and `[train]` tables set the learning rate and the
/// number of iterations; every method runs with the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fig2Config {
    /// Number of samples.
    pub n: usize,
    /// Input dimension d₀.
    pub d0: usize,
    /// Planted coefficients of the target on the first inputs (`y = Xβ*`, the rest of β* zero).
    pub planted: Vec<f64>,
    /// Hidden widths, one panel each.
    pub widths: Vec<usize>,
    /// σ of both noise policies (project convention: `all` std σ/√2, `layer` std σ).
    pub sigma: f64,
    /// Runs per (width, method), seeds `seed`, `seed + 1`, …
    pub repeats: usize,
    /// Final values are averaged over the logged points in this last fraction of the run.
    pub tail: f64,
}

impl Default for Fig2Config {
    fn default() -> Self {
        Self {
            n: 40,
            d0: 10,
            planted: vec![0.16, -0.08],
            widths: vec![50, 300],
            sigma: 0.12,
            repeats: 3,
            tail: 0.1,
        }
    }
}

/// The data sets a `[data]` table can name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataName {
    /// The experiment's own seeded generator (its table holds the knobs, e.g. `[lasso]`).
    #[default]
    Synthetic,
    /// A user's regression table: `data.path`, `data.target`.
    Csv,
    /// The diabetes data (442 × 10, Efron et al. 2004) shipped by smartcore.
    Diabetes,
    /// Fashion-MNIST from files (`data.dir`, `$NOISEGD_DATA` or Debian's package).
    FashionMnist,
    /// The 2,000/1,000-image Fashion-MNIST subset compiled into the binary.
    FashionMnistEmbedded,
    /// MNIST from files.
    Mnist,
    /// Kuzushiji-MNIST from files.
    Kmnist,
    /// CIFAR-10 from its binary files.
    Cifar10,
    /// CIFAR-100 from its binary files (fine labels).
    Cifar100,
    /// MNIST-1D, generated (no files).
    Mnist1d,
}

impl DataName {
    /// The image data set this names, for the `train` experiment.
    pub fn dataset(self) -> Option<noisegd::data::dataset::DatasetName> {
        use noisegd::data::dataset::DatasetName as D;
        Some(match self {
            DataName::FashionMnist => D::FashionMnist,
            DataName::FashionMnistEmbedded => D::FashionMnistEmbedded,
            DataName::Mnist => D::Mnist,
            DataName::Kmnist => D::Kmnist,
            DataName::Cifar10 => D::Cifar10,
            DataName::Cifar100 => D::Cifar100,
            DataName::Mnist1d => D::Mnist1d,
            DataName::Synthetic | DataName::Csv | DataName::Diabetes => return None,
        })
    }
}

/// The `[data]` table: which data the experiment runs on. Fields that a data set does not use
/// are rejected by [`RunConfig::validate`] rather than ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// `synthetic` (default), `csv` or `diabetes`.
    pub name: DataName,
    /// The CSV file (`name = "csv"`). A relative path in a config file is resolved against the
    /// file's directory; one given with `--set` against the working directory.
    pub path: Option<PathBuf>,
    /// The target column of the CSV file (`name = "csv"`).
    pub target: Option<String>,
    /// Feature columns of the CSV file, in order; empty means every column but the target.
    pub features: Vec<String>,
    /// Fraction of the rows held out for the test error, drawn with the run's seed
    /// (`csv`, `diabetes`).
    pub test_fraction: f64,
    /// Center and scale the features to `(XᵀX)_jj = n` and the target to mean 0, variance 1,
    /// with the training rows' statistics (`csv`, `diabetes`). The models have no intercept.
    pub standardize: bool,
    /// Root of the image data sets (`train`); unset: `$NOISEGD_DATA`, then Debian's
    /// `/usr/share/datasets` for Fashion-MNIST.
    pub dir: Option<PathBuf>,
    /// Train on a seeded subset of this many training images (the paper's 1,024); 0: all.
    pub subset: usize,
    /// Standardize each channel with the training (sub)set's mean and std (`train`).
    pub normalize: bool,
    /// Random crop with 4-pixel padding and horizontal flip, seeded per (epoch, image) (`train`).
    pub augment: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            name: DataName::Synthetic,
            path: None,
            target: None,
            features: vec![],
            test_fraction: 0.2,
            standardize: true,
            dir: None,
            subset: 0,
            normalize: false,
            augment: false,
        }
    }
}

impl DataConfig {
    /// A table read from a file or shipped by a crate, not generated.
    pub fn is_table(&self) -> bool {
        matches!(self.name, DataName::Csv | DataName::Diabetes)
    }

    fn validate(&self, experiment: Experiment) -> Result<()> {
        let name = name_of_data;
        let default = DataConfig::default();
        let image = self.name.dataset().is_some();
        if experiment == Experiment::Train && !image {
            bail!(
                "invalid value for `data.name`: the train experiment needs an image data set (fashion_mnist, fashion_mnist_embedded, mnist, kmnist, cifar10, cifar100, mnist1d), found `{}`",
                name(self.name)
            );
        }
        if image && experiment != Experiment::Train {
            bail!(
                "invalid value for `data.name`: `{}` is an image data set, used by the train experiment only",
                name(self.name)
            );
        }
        if image {
            if self.path.is_some() || self.target.is_some() || !self.features.is_empty() {
                bail!("`data.path`, `data.target` and `data.features` are for data.name = \"csv\"; image data sets are found under `data.dir`");
            }
            return Ok(());
        }
        for (key, set) in [
            ("dir", self.dir.is_some()),
            ("subset", self.subset != 0),
            ("normalize", self.normalize),
            ("augment", self.augment),
        ] {
            if set {
                bail!("`data.{key}` applies to the image data sets of the train experiment, found data.name = \"{}\"", name(self.name));
            }
        }
        if self.is_table() && experiment != Experiment::Lasso {
            bail!(
                "invalid value for `data.name`: `{}` is supported by the lasso experiment only; the {} experiment runs on its own synthetic data (remove `data.name`)",
                name(self.name),
                name_of(experiment)
            );
        }
        if self.name == DataName::Csv {
            if self.path.is_none() {
                bail!("missing `data.path`: data.name = \"csv\" needs the CSV file, e.g. path = \"data/houses.csv\"");
            }
            match &self.target {
                None => bail!("missing `data.target`: data.name = \"csv\" needs the name of the target column, e.g. target = \"price\""),
                Some(t) if t.is_empty() => bail!("invalid value for `data.target`: empty column name"),
                Some(_) => {}
            }
        } else {
            for (key, set) in [
                ("path", self.path.is_some()),
                ("target", self.target.is_some()),
                ("features", !self.features.is_empty()),
            ] {
                if set {
                    bail!(
                        "`data.{key}` is only used with data.name = \"csv\", found data.name = \"{}\"",
                        name(self.name)
                    );
                }
            }
        }
        if self.is_table() {
            if !(self.test_fraction.is_finite() && (0.0..1.0).contains(&self.test_fraction)) {
                bail!(
                    "invalid value for `data.test_fraction`: must lie in [0, 1), found {}",
                    self.test_fraction
                );
            }
        } else if self.test_fraction != default.test_fraction
            || self.standardize != default.standardize
        {
            bail!("`data.test_fraction` and `data.standardize` apply to data.name = \"csv\" or \"diabetes\"; the synthetic data set's test rows are set by `lasso.n_test`");
        }
        Ok(())
    }
}

fn name_of_data(name: DataName) -> String {
    serde_json::to_value(name)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn name_of(experiment: Experiment) -> String {
    serde_json::to_value(experiment)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The `[model]` table (experiment `train`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `mlp1` (default), `mlp2`, `mlp3`, `mlp4`, `mnist1d_mlp`, `lenet`, `wide_cnn` (paper's
    /// 32-64-128-128), `wide_cnn_code` (official code's 32-128-128-128), `resnet18`.
    pub name: ModelKind,
}

/// The `[eval]` table (experiment `train`): evaluation beyond loss and accuracy, which are
/// computed at every logged step on the whole training (sub)set and the test set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Evaluate on the first this many test images; 0: all.
    pub test_subset: usize,
    /// Hutchinson estimate of the Hessian trace every this many steps (and at the end); 0: never.
    pub hessian_every: u64,
    /// Rademacher probes per Hessian-trace estimate.
    pub hessian_probes: usize,
    /// Training images the Hessian trace and the regularizer estimate are computed on (the first
    /// ones of the training (sub)set).
    pub hessian_subset: usize,
    /// Antithetic estimate of the explicit regularizer every this many steps; 0: never.
    pub regularizer_every: u64,
    /// Antithetic pairs per regularizer estimate.
    pub regularizer_draws: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            test_subset: 0,
            hessian_every: 0,
            hessian_probes: 10,
            hessian_subset: 1024,
            regularizer_every: 0,
            regularizer_draws: 8,
        }
    }
}

/// The `[nuclear]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NuclearConfig {
    /// Number of samples.
    pub n: usize,
    /// Input dimension d₀.
    pub d0: usize,
    /// Hidden width d₁ of the factorization.
    pub width: usize,
    /// Output dimension d₂.
    pub d2: usize,
    /// Rank of the planted matrix.
    pub rank: usize,
    /// Std of the label noise.
    pub noise_std: f64,
    /// Held-out rows for the test error.
    pub n_test: usize,
    /// Scale α of the paper's initialization (std α/√(d_i d_{i−1})).
    pub init_scale: f64,
    /// Average the iterates over this last fraction of the run.
    pub average_last: f64,
}

impl Default for NuclearConfig {
    fn default() -> Self {
        Self {
            n: 40,
            d0: 10,
            width: 50,
            d2: 8,
            rank: 2,
            noise_std: 0.5,
            n_test: 1000,
            init_scale: 1.0,
            average_last: 0.5,
        }
    }
}

/// The `[group_lasso]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupLassoConfig {
    /// Number of samples.
    pub n: usize,
    /// Number of groups.
    pub groups: usize,
    /// Features per group.
    pub group_size: usize,
    /// Groups with non-zero planted coefficients.
    pub active_groups: usize,
    /// Std of the label noise.
    pub noise_std: f64,
    /// Held-out rows for the test error.
    pub n_test: usize,
    /// Initialization scale of v and W.
    pub init_scale: f64,
    /// Average the iterates over this last fraction of the run.
    pub average_last: f64,
    /// Relative duality gap at which the reference solver stops.
    pub solver_tol: f64,
}

impl Default for GroupLassoConfig {
    fn default() -> Self {
        Self {
            n: 50,
            groups: 20,
            group_size: 4,
            active_groups: 3,
            noise_std: 0.1,
            n_test: 1000,
            init_scale: 0.1,
            average_last: 0.5,
            solver_tol: 1e-10,
        }
    }
}

/// The `[train]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Number of optimizer steps.
    pub steps: u64,
    /// Write a metrics row every this many steps (and at the last step).
    pub log_every: u64,
    /// Minibatch size of the `train` experiment; 0: full batch.
    pub batch_size: usize,
    /// The `train` experiment writes `checkpoint.bin` every this many steps (0: only when
    /// stopped by Ctrl-C), for `noisegd run --resume DIR`.
    pub checkpoint_every: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 10_000,
            log_every: 100,
            batch_size: 0,
            checkpoint_every: 1000,
        }
    }
}

/// The `[lasso]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LassoConfig {
    /// Number of samples.
    pub n: usize,
    /// Number of features (n < d: overparametrized).
    pub d: usize,
    /// Non-zeros of the planted coefficients.
    pub sparsity: usize,
    /// Std of the label noise.
    pub noise_std: f64,
    /// AR(1) correlation ρ between neighbouring features.
    pub correlation: f64,
    /// Held-out rows for the test error.
    pub n_test: usize,
    /// Initialization `w₁ = w₂ = init_scale·1`.
    pub init_scale: f64,
    /// Average the iterates over this last fraction of the run.
    pub average_last: f64,
    /// Relative duality gap at which the reference solver stops.
    pub solver_tol: f64,
    /// `difference` (β = w₁∘w₁ − w₂∘w₂, λ_i = 2σ_t²(XᵀX)_ii/n) or `product` (β = u∘v,
    /// λ_i = σ_t²(XᵀX)_ii/n).
    pub parametrization: Parametrization,
}

impl Default for LassoConfig {
    fn default() -> Self {
        Self {
            n: 40,
            d: 100,
            sparsity: 5,
            noise_std: 0.1,
            correlation: 0.0,
            n_test: 1000,
            init_scale: 0.1,
            average_last: 0.5,
            solver_tol: 1e-10,
            parametrization: Parametrization::Difference,
        }
    }
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

    /// Range checks across all tables.
    pub fn validate(&self) -> Result<()> {
        self.noise.validate()?;
        for (figure, values) in &self.reference.figures {
            if let Some((group, v)) = values.iter().find(|(_, v)| !v.is_finite()) {
                bail!("invalid value for `reference.{figure}.\"{group}\"`: must be a finite number, found {v}");
            }
        }
        self.optim.validate()?;
        let t = &self.train;
        if t.steps == 0 {
            bail!("invalid value for `train.steps`: must be ≥ 1, found 0");
        }
        if t.log_every == 0 {
            bail!("invalid value for `train.log_every`: must be ≥ 1, found 0");
        }
        self.data.validate(self.experiment)?;
        if self.experiment == Experiment::Train {
            let e = &self.eval;
            if e.hessian_every > 0 && (e.hessian_probes == 0 || e.hessian_subset == 0) {
                bail!("invalid value for `eval.hessian_probes`/`eval.hessian_subset`: both must be ≥ 1 when eval.hessian_every > 0, found {} and {}", e.hessian_probes, e.hessian_subset);
            }
            if e.regularizer_every > 0 && (e.regularizer_draws == 0 || e.hessian_subset == 0) {
                bail!("invalid value for `eval.regularizer_draws`: must be ≥ 1 when eval.regularizer_every > 0, found {}", e.regularizer_draws);
            }
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
                    bail!("`{key}` applies to the train experiment only (found experiment = \"{}\"): remove it", name_of(self.experiment));
                }
            }
        }
        if self.experiment == Experiment::Lasso {
            let l = &self.lasso;
            if self.data.is_table() {
                // The table decides n, d and the test rows; the generator's knobs would do nothing.
                let default = LassoConfig::default();
                for (key, changed) in [
                    ("n", l.n != default.n),
                    ("d", l.d != default.d),
                    ("sparsity", l.sparsity != default.sparsity),
                    ("noise_std", l.noise_std != default.noise_std),
                    ("correlation", l.correlation != default.correlation),
                    ("n_test", l.n_test != default.n_test),
                ] {
                    if changed {
                        bail!("`lasso.{key}` describes the synthetic data and does nothing with data.name = \"{}\": remove it (the table sets the sizes; `data.test_fraction` the test rows)", name_of_data(self.data.name));
                    }
                }
            }
            if l.n == 0 || l.d == 0 {
                bail!(
                    "invalid value for `lasso.n`/`lasso.d`: both must be ≥ 1, found n = {}, d = {}",
                    l.n,
                    l.d
                );
            }
            if l.sparsity == 0 || l.sparsity > l.d {
                bail!(
                    "invalid value for `lasso.sparsity`: must lie in 1..=d = {}, found {}",
                    l.d,
                    l.sparsity
                );
            }
            if !(l.noise_std.is_finite() && l.noise_std >= 0.0) {
                bail!(
                    "invalid value for `lasso.noise_std`: must be ≥ 0, found {}",
                    l.noise_std
                );
            }
            if !(l.correlation.is_finite() && l.correlation.abs() < 1.0) {
                bail!(
                    "invalid value for `lasso.correlation`: must lie in (-1, 1), found {}",
                    l.correlation
                );
            }
            if !(l.init_scale.is_finite() && l.init_scale > 0.0) {
                bail!(
                    "invalid value for `lasso.init_scale`: must be > 0, found {}",
                    l.init_scale
                );
            }
            if !(l.average_last > 0.0 && l.average_last <= 1.0) {
                bail!(
                    "invalid value for `lasso.average_last`: must lie in (0, 1], found {}",
                    l.average_last
                );
            }
            if !(l.solver_tol > 0.0 && l.solver_tol <= 1e-8) {
                bail!(
                    "invalid value for `lasso.solver_tol`: must lie in (0, 1e-8], found {}",
                    l.solver_tol
                );
            }
        }
        if self.experiment == Experiment::GroupLasso {
            let g = &self.group_lasso;
            if g.n == 0 || g.groups == 0 || g.group_size == 0 {
                bail!("invalid value for `group_lasso.n`/`groups`/`group_size`: all must be ≥ 1");
            }
            if g.active_groups > g.groups {
                bail!("invalid value for `group_lasso.active_groups`: must be ≤ groups = {}, found {}", g.groups, g.active_groups);
            }
            if !(g.noise_std.is_finite() && g.noise_std >= 0.0) {
                bail!(
                    "invalid value for `group_lasso.noise_std`: must be ≥ 0, found {}",
                    g.noise_std
                );
            }
            if !(g.init_scale.is_finite() && g.init_scale > 0.0) {
                bail!(
                    "invalid value for `group_lasso.init_scale`: must be > 0, found {}",
                    g.init_scale
                );
            }
            if !(g.average_last > 0.0 && g.average_last <= 1.0) {
                bail!(
                    "invalid value for `group_lasso.average_last`: must lie in (0, 1], found {}",
                    g.average_last
                );
            }
            if !(g.solver_tol > 0.0 && g.solver_tol <= 1e-8) {
                bail!(
                    "invalid value for `group_lasso.solver_tol`: must lie in (0, 1e-8], found {}",
                    g.solver_tol
                );
            }
        }
        if self.experiment == Experiment::Nuclear {
            let c = &self.nuclear;
            if c.n == 0 || c.d0 == 0 || c.d2 == 0 || c.width == 0 {
                bail!("invalid value for `nuclear.n`/`d0`/`width`/`d2`: all must be ≥ 1");
            }
            if c.rank == 0 || c.rank > c.d0.min(c.d2) {
                bail!(
                    "invalid value for `nuclear.rank`: must lie in 1..=min(d0, d2) = {}, found {}",
                    c.d0.min(c.d2),
                    c.rank
                );
            }
            if !(c.noise_std.is_finite() && c.noise_std >= 0.0) {
                bail!(
                    "invalid value for `nuclear.noise_std`: must be ≥ 0, found {}",
                    c.noise_std
                );
            }
            if !(c.init_scale.is_finite() && c.init_scale > 0.0) {
                bail!(
                    "invalid value for `nuclear.init_scale`: must be > 0, found {}",
                    c.init_scale
                );
            }
            if !(c.average_last > 0.0 && c.average_last <= 1.0) {
                bail!(
                    "invalid value for `nuclear.average_last`: must lie in (0, 1], found {}",
                    c.average_last
                );
            }
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

fn check_planted(key: &str, planted: &[f64], d0: usize) -> Result<()> {
    if planted.is_empty() || planted.len() > d0 || planted.iter().any(|v| !v.is_finite()) {
        bail!(
            "invalid value for `{key}`: need 1..=d0 = {d0} finite coefficients, found {planted:?}"
        );
    }
    Ok(())
}

fn check_sigma(key: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        bail!("invalid value for `{key}`: must be a finite number > 0, found {v}");
    }
    Ok(())
}

impl WidthConfig {
    fn validate(&self) -> Result<()> {
        if self.n == 0 || self.d0 == 0 || self.d2 == 0 {
            bail!("invalid value for `width.n`/`d0`/`d2`: all must be ≥ 1");
        }
        check_planted("width.planted", &self.planted, self.d0)?;
        for (key, widths, min) in [
            ("width.widths", &self.widths, 1),
            ("width.slope_widths", &self.slope_widths, 3),
            ("width.deep_widths", &self.deep_widths, 2),
        ] {
            if widths.len() < min || widths.contains(&0) {
                bail!("invalid value for `{key}`: need at least {min} widths, all ≥ 1, found {widths:?}");
            }
            if widths.windows(2).any(|w| w[0] >= w[1]) {
                bail!("invalid value for `{key}`: widths must increase, found {widths:?}");
            }
        }
        if self.sigmas.is_empty() || self.sigmas.windows(2).any(|w| w[0] >= w[1]) {
            bail!(
                "invalid value for `width.sigmas`: need increasing values, found {:?}",
                self.sigmas
            );
        }
        for &s in &self.sigmas {
            check_sigma("width.sigmas", s)?;
        }
        check_sigma("width.slope_sigma", self.slope_sigma)?;
        check_sigma("width.deep_sigma", self.deep_sigma)?;
        for (key, k) in [
            ("width.samples", self.samples),
            ("width.slope_samples", self.slope_samples),
            ("width.deep_samples", self.deep_samples),
        ] {
            if k < 2 {
                bail!("invalid value for `{key}`: need at least 2 Monte-Carlo samples, found {k}");
            }
        }
        for (key, k) in [
            ("width.relu_samples", self.relu_samples),
            ("width.grad_samples", self.grad_samples),
        ] {
            if k == 1 {
                bail!(
                    "invalid value for `{key}`: need 0 (leave out) or at least 2 samples, found 1"
                );
            }
        }
        Ok(())
    }
}

impl Fig2Config {
    fn validate(&self) -> Result<()> {
        if self.n == 0 || self.d0 == 0 {
            bail!("invalid value for `fig2.n`/`d0`: both must be ≥ 1");
        }
        check_planted("fig2.planted", &self.planted, self.d0)?;
        if self.widths.is_empty() || self.widths.contains(&0) {
            bail!(
                "invalid value for `fig2.widths`: need at least one width ≥ 1, found {:?}",
                self.widths
            );
        }
        check_sigma("fig2.sigma", self.sigma)?;
        if self.repeats == 0 {
            bail!("invalid value for `fig2.repeats`: must be ≥ 1, found 0");
        }
        if !(self.tail > 0.0 && self.tail <= 1.0) {
            bail!(
                "invalid value for `fig2.tail`: must lie in (0, 1], found {}",
                self.tail
            );
        }
        Ok(())
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
