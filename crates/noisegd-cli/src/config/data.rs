//! The `[data]` table: which data an experiment runs on, and which of its keys apply to which
//! data set.

use super::{name, Experiment};
use anyhow::{bail, Result};
use noisegd::data::dataset::DatasetName;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The data a `[data]` table can name: a regression source, or one of the library's image data
/// sets (by its own name, e.g. `fashion_mnist`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DataName {
    /// The experiment's own seeded generator (its table holds the knobs, e.g. `[lasso]`).
    #[default]
    Synthetic,
    /// A user's regression table: `data.path`, `data.target`.
    Csv,
    /// The diabetes data (442 × 10, Efron et al. 2004) shipped by smartcore.
    Diabetes,
    /// An image data set of the `train` experiment (files, compiled in, or generated).
    Images(DatasetName),
}

impl DataName {
    /// The image data set this names, for the `train` experiment.
    pub fn dataset(self) -> Option<DatasetName> {
        match self {
            DataName::Images(name) => Some(name),
            _ => None,
        }
    }
}

impl TryFrom<String> for DataName {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Ok(match s.as_str() {
            "synthetic" => DataName::Synthetic,
            "csv" => DataName::Csv,
            "diabetes" => DataName::Diabetes,
            other => DataName::Images(other.parse().map_err(|_| {
                let images: Vec<String> =
                    DatasetName::ALL.iter().map(|n| format!("`{n}`")).collect();
                format!(
                    "unknown variant `{other}`, expected one of `synthetic`, `csv`, `diabetes`, {}",
                    images.join(", ")
                )
            })?),
        })
    }
}

impl From<DataName> for String {
    fn from(name: DataName) -> String {
        match name {
            DataName::Synthetic => "synthetic".into(),
            DataName::Csv => "csv".into(),
            DataName::Diabetes => "diabetes".into(),
            DataName::Images(name) => name.as_str().into(),
        }
    }
}

/// The `[data]` table: which data the experiment runs on. Fields that a data set does not use
/// are rejected by [`super::RunConfig::validate`] rather than ignored.
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
    /// Standardize each channel (`train`): with `normalize_mean`/`normalize_std` when given,
    /// else with the training (sub)set's mean and std.
    pub normalize: bool,
    /// Per-channel means to standardize with (e.g. `[0.5, 0.5, 0.5]`, the June-2022 official
    /// code's `Normalize(0.5, 0.5)`); empty: the training (sub)set's.
    pub normalize_mean: Vec<f32>,
    /// Per-channel standard deviations, as many as `normalize_mean`.
    pub normalize_std: Vec<f32>,
    /// Random crop with 4-pixel padding and horizontal flip, seeded per (epoch, image) (`train`).
    pub augment: bool,
    /// `image_folder`: the class order (labels 0, 1, …), which must name exactly the class
    /// folders; empty: the folder names, sorted.
    pub classes: Vec<String>,
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
            normalize_mean: vec![],
            normalize_std: vec![],
            augment: false,
            classes: vec![],
        }
    }
}

impl DataConfig {
    /// A table read from a file or shipped by a crate, not generated.
    pub fn is_table(&self) -> bool {
        matches!(self.name, DataName::Csv | DataName::Diabetes)
    }

    pub(super) fn validate(&self, experiment: Experiment) -> Result<()> {
        let default = DataConfig::default();
        let image = self.name.dataset().is_some();
        if experiment == Experiment::Train && !image {
            bail!(
                "invalid value for `data.name`: the train experiment needs an image data set (fashion_mnist, fashion_mnist_embedded, mnist, kmnist, cifar10, cifar100, cifar10_jpeg, mnist1d, or image_folder with data.dir), found `{}`",
                name(&self.name)
            );
        }
        if image && experiment != Experiment::Train {
            bail!(
                "invalid value for `data.name`: `{}` is an image data set, used by the train experiment only",
                name(&self.name)
            );
        }
        if image {
            if self.path.is_some() || self.target.is_some() || !self.features.is_empty() {
                bail!("`data.path`, `data.target` and `data.features` are for data.name = \"csv\"; image data sets are found under `data.dir`");
            }
            let given = !self.normalize_mean.is_empty() || !self.normalize_std.is_empty();
            if given && !self.normalize {
                bail!("`data.normalize_mean`/`data.normalize_std` are used only with data.normalize = true: set it, or remove them");
            }
            if self.normalize_mean.len() != self.normalize_std.len() {
                bail!("invalid value for `data.normalize_std`: {} values for {} means in `data.normalize_mean` (one of each per channel)", self.normalize_std.len(), self.normalize_mean.len());
            }
            if let Some(s) = self
                .normalize_std
                .iter()
                .find(|s| !(s.is_finite() && **s > 0.0))
            {
                bail!("invalid value for `data.normalize_std`: every std must be > 0, found {s}");
            }
            if let Some(m) = self.normalize_mean.iter().find(|m| !m.is_finite()) {
                bail!("invalid value for `data.normalize_mean`: must be finite, found {m}");
            }
            let folder = self.name == DataName::Images(DatasetName::ImageFolder);
            if !self.classes.is_empty() && !folder {
                bail!("`data.classes` orders the classes of data.name = \"image_folder\"; {} has its own: remove it", name(&self.name));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(twice) = self.classes.iter().find(|c| !seen.insert(c.as_str())) {
                bail!("invalid value for `data.classes`: `{twice}` is listed twice (each class folder once, in label order)");
            }
            return Ok(());
        }
        for (key, set) in [
            ("dir", self.dir.is_some()),
            ("subset", self.subset != 0),
            ("normalize", self.normalize),
            ("normalize_mean", !self.normalize_mean.is_empty()),
            ("normalize_std", !self.normalize_std.is_empty()),
            ("augment", self.augment),
            ("classes", !self.classes.is_empty()),
        ] {
            if set {
                bail!("`data.{key}` applies to the image data sets of the train experiment, found data.name = \"{}\"", name(&self.name));
            }
        }
        if self.is_table() && experiment != Experiment::Lasso {
            bail!(
                "invalid value for `data.name`: `{}` is supported by the lasso experiment only; the {} experiment runs on its own synthetic data (remove `data.name`)",
                name(&self.name),
                name(&experiment)
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
                        name(&self.name)
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
