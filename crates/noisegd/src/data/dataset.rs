//! A loaded image-classification data set ([`Dataset`]): train and test examples as `f32`, their
//! labels, the shape of one example, the class names, and which files it came from.
//!
//! Examples are stored one after the other, each `channels × height × width` values in that order
//! (the NCHW layout of burn's convolutions; an MLP reads the same buffer as `[n, features]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::idx::LabeledImages;
use super::normalize::scale_u8;

/// The data sets noisegd can load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetName {
    /// Fashion-MNIST, 60,000 + 10,000 grey 28×28 images, 10 classes (files on disk).
    FashionMnist,
    /// The first 2,000 training and 1,000 test images of Fashion-MNIST, compiled into the library.
    FashionMnistEmbedded,
    /// MNIST, 60,000 + 10,000 grey 28×28 digits (files on disk).
    Mnist,
    /// Kuzushiji-MNIST, 60,000 + 10,000 grey 28×28 cursive hiragana (files on disk).
    Kmnist,
    /// CIFAR-10, 50,000 + 10,000 colour 32×32 images, 10 classes (binary version on disk).
    Cifar10,
    /// CIFAR-100, 50,000 + 10,000 colour 32×32 images, 100 fine and 20 coarse classes.
    Cifar100,
    /// CIFAR-10 as one JPEG file per image in torchvision's ImageFolder layout
    /// (`train/<class>/*.jpg`, `test/<class>/*.jpg`, e.g. the project's `shared/data/cifar10-jpeg`):
    /// the real pictures and labels, re-encoded, so not the original pixel bytes.
    Cifar10Jpeg,
    /// MNIST-1D with its default settings (4,000 + 1,000 sequences of 40), generated.
    Mnist1d,
    /// A user's own images in torchvision's ImageFolder layout (`DIR/train/<class>/*`,
    /// `DIR/test/<class>/*`, any size and class count; `data.dir` is `DIR`).
    ImageFolder,
}

impl DatasetName {
    /// Every data set, in the order `noisegd data check` lists them.
    pub const ALL: [DatasetName; 9] = [
        DatasetName::FashionMnist,
        DatasetName::FashionMnistEmbedded,
        DatasetName::Mnist,
        DatasetName::Kmnist,
        DatasetName::Cifar10,
        DatasetName::Cifar100,
        DatasetName::Cifar10Jpeg,
        DatasetName::Mnist1d,
        DatasetName::ImageFolder,
    ];

    /// The name used in configs and on the command line, e.g. `fashion_mnist`.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::FashionMnist => "fashion_mnist",
            DatasetName::FashionMnistEmbedded => "fashion_mnist_embedded",
            DatasetName::Mnist => "mnist",
            DatasetName::Kmnist => "kmnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
            DatasetName::Cifar10Jpeg => "cifar10_jpeg",
            DatasetName::Mnist1d => "mnist1d",
            DatasetName::ImageFolder => "image_folder",
        }
    }

    /// `true` for the data sets read from files (not compiled in, not generated).
    pub fn needs_files(self) -> bool {
        !matches!(
            self,
            DatasetName::FashionMnistEmbedded | DatasetName::Mnist1d
        )
    }

    /// Shape `[channels, height, width]` of one example; `None` for a user's image folder, whose
    /// shape is that of its files.
    pub fn shape(self) -> Option<[usize; 3]> {
        Some(match self {
            DatasetName::Cifar10 | DatasetName::Cifar100 | DatasetName::Cifar10Jpeg => [3, 32, 32],
            DatasetName::Mnist1d => [1, 1, 40],
            DatasetName::ImageFolder => return None,
            _ => [1, 28, 28],
        })
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DatasetName {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, DataError> {
        DatasetName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = DatasetName::ALL.iter().map(|n| n.as_str()).collect();
                DataError::config(
                    "dataset",
                    format!(
                        "unknown data set `{s}`; expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// One side of a data set (train or test).
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// `len() · features` values, example after example.
    pub x: Vec<f32>,
    /// Values per example (`channels · height · width`).
    pub features: usize,
    /// One class per example (CIFAR-100: the fine label).
    pub labels: Vec<u8>,
    /// CIFAR-100 only: the coarse label (superclass) of each example.
    pub coarse_labels: Option<Vec<u8>>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` when there is no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The values of example `i`. Panics if `i ≥ len()`.
    pub fn example(&self, i: usize) -> &[f32] {
        &self.x[i * self.features..(i + 1) * self.features]
    }

    /// How many examples each of the `num_classes` classes has.
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The examples at `indices`, in that order (repeats allowed). Panics on an index `≥ len()`.
    pub fn select(&self, indices: &[usize]) -> Split {
        let mut x = Vec::with_capacity(indices.len() * self.features);
        for &i in indices {
            x.extend_from_slice(self.example(i));
        }
        Split {
            x,
            features: self.features,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            coarse_labels: self
                .coarse_labels
                .as_ref()
                .map(|c| indices.iter().map(|&i| c[i]).collect()),
        }
    }
}

/// How a file of a data set compares with the official file of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// The SHA-256 of the (decompressed) content is that of the official file.
    Official,
    /// An official SHA-256 is known for this file and the content differs from it (a subset, a
    /// modified copy, or another file under this name); the content's SHA-256, hex.
    Mismatch {
        /// SHA-256 of the content found.
        sha256: String,
        /// When the content is another official file (e.g. Fashion-MNIST's training images
        /// under MNIST's name), which one.
        identified_as: Option<&'static str>,
    },
    /// No official SHA-256 is recorded in noisegd for this file; the content's SHA-256 when the
    /// reader computed one.
    Unknown {
        /// SHA-256 of the content, if computed.
        sha256: Option<String>,
    },
}

impl std::fmt::Display for ChecksumStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChecksumStatus::Official => f.write_str("official (SHA-256 matches)"),
            ChecksumStatus::Mismatch {
                identified_as: Some(other),
                ..
            } => write!(f, "mismatch: this is the official {other}"),
            ChecksumStatus::Mismatch { sha256, .. } => write!(
                f,
                "mismatch: not the official file (SHA-256 {}…)",
                &sha256[..16.min(sha256.len())]
            ),
            ChecksumStatus::Unknown { sha256: Some(h) } => write!(
                f,
                "unknown copy: no official SHA-256 recorded (SHA-256 {}…)",
                &h[..16.min(h.len())]
            ),
            ChecksumStatus::Unknown { sha256: None } => {
                f.write_str("unknown copy: no official SHA-256 recorded")
            }
        }
    }
}

/// One file a data set was read from, and its checksum status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The file (for the embedded subset, a name under `embedded:`).
    pub path: PathBuf,
    /// How it compares with the official file.
    pub checksum: ChecksumStatus,
}

/// A loaded data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Which data set.
    pub name: DatasetName,
    /// Where it came from, in words (a directory and how it was found, "compiled in", …).
    pub origin: String,
    /// Shape `[channels, height, width]` of one example.
    pub shape: [usize; 3],
    /// Class names, by label.
    pub class_names: Vec<String>,
    /// CIFAR-100 only: the 20 superclass names, by coarse label.
    pub coarse_class_names: Option<Vec<String>>,
    /// The training examples.
    pub train: Split,
    /// The test examples.
    pub test: Split,
    /// The files read, with their checksum status (empty for generated data).
    pub files: Vec<SourceFile>,
}

impl Dataset {
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Values per example.
    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }
}

/// CIFAR-10's class names, by label (its `batches.meta.txt`; also the sorted folder names).
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Fashion-MNIST's class names, by label (Zalando's README).
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// KMNIST's class names (the romanized hiragana of `kmnist_classmap.csv`, as torchvision has them).
pub const KMNIST_CLASSES: [&str; 10] = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"];

/// An IDX train/test pair as a [`Dataset`] (grey images, `1 × rows × cols`).
pub(crate) fn from_idx(
    name: DatasetName,
    origin: String,
    train: LabeledImages,
    test: LabeledImages,
    class_names: Vec<String>,
    files: Vec<SourceFile>,
) -> Dataset {
    let (rows, cols) = (train.images.rows, train.images.cols);
    let split = |li: LabeledImages| Split {
        x: scale_u8(&li.images.pixels),
        features: rows * cols,
        labels: li.labels,
        coarse_labels: None,
    };
    Dataset {
        name,
        origin,
        shape: [1, rows, cols],
        class_names,
        coarse_class_names: None,
        train: split(train),
        test: split(test),
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for n in DatasetName::ALL {
            assert_eq!(n.as_str().parse::<DatasetName>().unwrap(), n);
            let json = format!("\"{}\"", n.as_str());
            assert_eq!(serde_json_like(&json), n.as_str());
        }
        let e = "fmnist".parse::<DatasetName>().unwrap_err().to_string();
        assert!(e.contains("unknown data set `fmnist`"), "{e}");
        assert!(
            e.contains("fashion_mnist, fashion_mnist_embedded, mnist"),
            "{e}"
        );
    }

    /// The serde name equals `as_str` (checked through serde's own value deserializer).
    fn serde_json_like(quoted: &str) -> String {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let name = quoted.trim_matches('"');
        let d: StrDeserializer<'_, Error> = name.into_deserializer();
        DatasetName::deserialize(d).unwrap().as_str().to_string()
    }

    #[test]
    fn select_and_class_counts() {
        let s = Split {
            x: (0..12).map(|v| v as f32).collect(),
            features: 3,
            labels: vec![2, 0, 2, 1],
            coarse_labels: Some(vec![5, 6, 7, 8]),
        };
        assert_eq!(s.class_counts(3), vec![1, 1, 2]);
        let t = s.select(&[3, 0, 3]);
        assert_eq!(t.x, vec![9., 10., 11., 0., 1., 2., 9., 10., 11.]);
        assert_eq!(t.labels, vec![1, 2, 1]);
        assert_eq!(t.coarse_labels, Some(vec![8, 5, 8]));
        assert_eq!(t.len(), 3);
    }
}
