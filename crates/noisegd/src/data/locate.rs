//! Where a data set's files are: the directory the caller names (the config's `data.dir`), else
//! the environment variable [`DATA_ENV`], with the standard upstream layouts under it; for
//! Fashion-MNIST also Debian's [`DEBIAN_FASHION_MNIST`]. Nothing is ever downloaded.
//!
//! Under a data root `R`, a data set's folder is the first of its [`layouts`] that exists, e.g.
//! `R/fashion-mnist` (the upstream archive and Keras' cache name) or `R/FashionMNIST/raw`
//! (torchvision's `root`). `R` may also be the data set's folder itself (it then ends with one of
//! those names, e.g. `/usr/share/datasets/fashion-mnist`). Once a folder is found, a missing or
//! bad file inside it is an error, not a reason to look elsewhere: a broken copy must be seen.

use std::path::{Path, PathBuf};

use super::dataset::DatasetName;
use super::error::DataError;

/// Environment variable naming the data root when the caller gives no directory.
pub const DATA_ENV: &str = "NOISEGD_DATA";

/// Where Debian's package `dataset-fashion-mnist` puts the four official `.gz` files.
pub const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The folders, relative to a data root, where each data set is looked for, in order.
///
/// - `fashion-mnist`, `mnist`, `kmnist`, `cifar-10-batches-bin`, `cifar-100-binary`: the names of
///   the upstream archives / their extracted folders (and Keras' `~/.keras/datasets/fashion-mnist`);
/// - `FashionMNIST/raw`, `MNIST/raw`, `KMNIST/raw`: torchvision's `root/<Class>/raw`, which holds
///   the IDX files both extracted and gzipped;
/// - `fashion`: the `data/fashion` folder of Zalando's repository.
///
/// torchvision's CIFAR folders (`cifar-10-batches-py`, `cifar-100-python`) hold Python pickles,
/// which noisegd does not read: see [`wrong_versions`].
pub fn layouts(name: DatasetName) -> &'static [&'static str] {
    match name {
        DatasetName::FashionMnist => &[
            "fashion-mnist",
            "FashionMNIST/raw",
            "fashion_mnist",
            "fashion",
        ],
        DatasetName::Mnist => &["mnist", "MNIST/raw"],
        DatasetName::Kmnist => &["kmnist", "KMNIST/raw"],
        DatasetName::Cifar10 => &["cifar-10-batches-bin"],
        DatasetName::Cifar100 => &["cifar-100-binary"],
        DatasetName::Cifar10Jpeg => &["cifar10-jpeg", "cifar-10-jpeg"],
        // A user's folder has no standard name: it is the data root itself ([`locate`]).
        DatasetName::FashionMnistEmbedded | DatasetName::Mnist1d | DatasetName::ImageFolder => &[],
    }
}

/// Folders that hold another version of the data set than the one noisegd reads, and why.
fn wrong_versions(name: DatasetName) -> &'static [(&'static str, &'static str)] {
    match name {
        DatasetName::Cifar10 => &[(
            "cifar-10-batches-py",
            "the Python (pickle) version, e.g. torchvision's; noisegd reads the binary version",
        )],
        DatasetName::Cifar100 => &[(
            "cifar-100-python",
            "the Python (pickle) version, e.g. torchvision's; noisegd reads the binary version",
        )],
        _ => &[],
    }
}

/// System-wide installations looked at after the data root: `(folder, package that installs it)`.
pub fn system_dirs(name: DatasetName) -> &'static [(&'static str, &'static str)] {
    match name {
        DatasetName::FashionMnist => &[(DEBIAN_FASHION_MNIST, "dataset-fashion-mnist")],
        _ => &[],
    }
}

/// The files a data set's folder must hold, in words.
pub fn expected_files(name: DatasetName) -> &'static str {
    match name {
        DatasetName::FashionMnist | DatasetName::Mnist | DatasetName::Kmnist => {
            "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
             t10k-labels-idx1-ubyte (each raw or .gz)"
        }
        DatasetName::Cifar10 => {
            "data_batch_1.bin … data_batch_5.bin, test_batch.bin, batches.meta.txt"
        }
        DatasetName::Cifar100 => {
            "train.bin, test.bin, coarse_label_names.txt, fine_label_names.txt"
        }
        DatasetName::Cifar10Jpeg => {
            "train/<class>/*.jpg and test/<class>/*.jpg, one folder per CIFAR-10 class \
             (airplane … truck), 32×32 colour images"
        }
        DatasetName::ImageFolder => {
            "train/<class>/<image file> and test/<class>/<image file>, the same class folders in \
             both, every image of one size (JPEG, PNG, BMP, GIF, WebP, ...)"
        }
        DatasetName::FashionMnistEmbedded | DatasetName::Mnist1d => "nothing (built in)",
    }
}

/// Where a data set can be obtained, in words (never fetched by noisegd).
pub fn obtain(name: DatasetName) -> String {
    let (what, from) = match name {
        DatasetName::FashionMnist => (
            "Fashion-MNIST",
            "https://github.com/zalandoresearch/fashion-mnist (data/fashion), or on Debian/Ubuntu \
             `apt-get install dataset-fashion-mnist`",
        ),
        DatasetName::Mnist => (
            "MNIST",
            "https://yann.lecun.com/exdb/mnist/ (mirror: https://ossci-datasets.s3.amazonaws.com/mnist/)",
        ),
        DatasetName::Kmnist => (
            "KMNIST",
            "https://github.com/rois-codh/kmnist (the MNIST-format files)",
        ),
        DatasetName::Cifar10 => (
            "CIFAR-10",
            "https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-binary.tar.gz, extracted)",
        ),
        DatasetName::Cifar100 => (
            "CIFAR-100",
            "https://www.cs.toronto.edu/~kriz/cifar.html (cifar-100-binary.tar.gz, extracted)",
        ),
        DatasetName::Cifar10Jpeg => (
            "CIFAR-10 as JPEG files",
            "any ImageFolder export of CIFAR-10 (one JPEG per image, e.g. torchvision's CIFAR10 \
             saved image by image); the binary CIFAR-10 is data.name = \"cifar10\"",
        ),
        DatasetName::ImageFolder => {
            return format!(
                "a data set of your own: set data.dir to a folder that holds {}",
                expected_files(name)
            )
        }
        DatasetName::FashionMnistEmbedded | DatasetName::Mnist1d => {
            return "it is built into noisegd".to_string()
        }
    };
    let layouts = layouts(name).join("/ or ");
    format!(
        "{what} is available from {from}; put {} in <data dir>/{layouts}/",
        expected_files(name)
    )
}

/// How a data root was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootOrigin {
    /// Given by the caller (the config's `data.dir`, or `noisegd data check DIR`).
    Given,
    /// From the environment variable [`DATA_ENV`].
    Env,
}

/// Where to look for data sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The data root, if any, and how it was chosen.
    pub root: Option<(PathBuf, RootOrigin)>,
    /// Whether to look at the system-wide installations ([`system_dirs`]) after the root.
    pub system: bool,
}

impl Search {
    /// The standard search: `dir` if given, else `$NOISEGD_DATA` if set (and not empty); system
    /// installations after it.
    pub fn new(dir: Option<&Path>) -> Self {
        let root = match dir {
            Some(d) => Some((d.to_path_buf(), RootOrigin::Given)),
            None => std::env::var_os(DATA_ENV)
                .filter(|v| !v.is_empty())
                .map(|v| (PathBuf::from(v), RootOrigin::Env)),
        };
        Search { root, system: true }
    }

    /// Only `dir`: no environment variable, no system installations (reproducible in tests).
    pub fn only(dir: &Path) -> Self {
        Search {
            root: Some((dir.to_path_buf(), RootOrigin::Given)),
            system: false,
        }
    }

    /// The root, described for messages.
    pub fn describe_root(&self) -> String {
        match &self.root {
            Some((p, RootOrigin::Given)) => format!("{} (given)", p.display()),
            Some((p, RootOrigin::Env)) => format!("{} (from {DATA_ENV})", p.display()),
            None => format!("no data directory (none given, {DATA_ENV} not set)"),
        }
    }
}

/// A data set's folder, found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The folder holding the data set's files.
    pub dir: PathBuf,
    /// How it was found, in words, e.g. `layout fashion-mnist/ under /data (from NOISEGD_DATA)`.
    pub how: String,
}

/// Finds the folder of a data set that is read from files.
pub fn locate(name: DatasetName, search: &Search) -> Result<Located, DataError> {
    if name == DatasetName::ImageFolder {
        return locate_image_folder(search);
    }
    let mut looked: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    if let Some((root, origin)) = &search.root {
        let from = match origin {
            RootOrigin::Given => "",
            RootOrigin::Env => " (from NOISEGD_DATA)",
        };
        for layout in layouts(name) {
            if root.ends_with(layout) && root.is_dir() {
                return Ok(Located {
                    dir: root.clone(),
                    how: format!("the data set's own folder{from}"),
                });
            }
        }
        for layout in layouts(name) {
            let dir = root.join(layout);
            if dir.is_dir() {
                return Ok(Located {
                    how: format!("layout {layout}/ under {}{from}", root.display()),
                    dir,
                });
            }
            looked.push(dir.display().to_string());
        }
        for (folder, why) in wrong_versions(name) {
            let dir = root.join(folder);
            if dir.is_dir() {
                notes.push(format!("{} holds {why}", dir.display()));
            }
        }
        if !root.is_dir() {
            notes.push(format!("{} is not a directory", root.display()));
        }
    } else {
        looked.push(format!(
            "no data directory (give one, e.g. data.dir in the config, or set {DATA_ENV})"
        ));
    }
    if search.system {
        for (dir, package) in system_dirs(name) {
            let dir = Path::new(dir);
            if dir.is_dir() {
                return Ok(Located {
                    dir: dir.to_path_buf(),
                    how: format!("system installation, Debian package {package}"),
                });
            }
            looked.push(dir.display().to_string());
        }
    }
    let mut looked = looked.join(", ");
    for n in notes {
        looked.push_str(&format!(" ({n})"));
    }
    Err(DataError::NotFound {
        dataset: name.as_str(),
        looked,
        obtain: obtain(name),
    })
}

/// A user's image folder is the data root itself, when it holds `train/` and `test/`.
fn locate_image_folder(search: &Search) -> Result<Located, DataError> {
    let name = DatasetName::ImageFolder;
    let looked = match &search.root {
        Some((root, origin)) => {
            if root.join("train").is_dir() && root.join("test").is_dir() {
                return Ok(Located {
                    dir: root.clone(),
                    how: match origin {
                        RootOrigin::Given => "the folder given".into(),
                        RootOrigin::Env => format!("the folder in {DATA_ENV}"),
                    },
                });
            }
            format!("{} (it holds no train/ and test/ folders)", root.display())
        }
        None => "no folder (set data.dir to the folder that holds train/ and test/)".into(),
    };
    Err(DataError::NotFound {
        dataset: name.as_str(),
        looked,
        obtain: obtain(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testdata::TempDir;

    #[test]
    fn finds_each_layout_and_the_folder_itself() {
        let tmp = TempDir::new("locate");
        for (name, layout) in [
            (DatasetName::FashionMnist, "FashionMNIST/raw"),
            (DatasetName::Mnist, "mnist"),
            (DatasetName::Kmnist, "KMNIST/raw"),
            (DatasetName::Cifar10, "cifar-10-batches-bin"),
        ] {
            let dir = tmp.0.join(layout);
            std::fs::create_dir_all(&dir).unwrap();
            let found = locate(name, &Search::only(&tmp.0)).unwrap();
            assert_eq!(found.dir, dir);
            assert!(found.how.contains(layout), "{}", found.how);
            // pointing at the folder itself
            let found = locate(name, &Search::only(&dir)).unwrap();
            assert_eq!(found.dir, dir);
        }
        // the first layout wins
        std::fs::create_dir_all(tmp.0.join("fashion-mnist")).unwrap();
        let found = locate(DatasetName::FashionMnist, &Search::only(&tmp.0)).unwrap();
        assert_eq!(found.dir, tmp.0.join("fashion-mnist"));
    }

    #[test]
    fn not_found_names_the_places_and_where_to_get_it() {
        let tmp = TempDir::new("locate-missing");
        std::fs::create_dir_all(tmp.0.join("cifar-10-batches-py")).unwrap();
        let e = locate(DatasetName::Cifar10, &Search::only(&tmp.0))
            .unwrap_err()
            .to_string();
        eprintln!("{e}");
        assert!(!e.contains('\n'));
        for needle in [
            "cifar10: not found",
            "cifar-10-batches-bin",
            "cifar-10-batches-py holds the Python (pickle) version",
            "https://www.cs.toronto.edu/~kriz/cifar.html",
            "data_batch_1.bin",
        ] {
            assert!(e.contains(needle), "lacks {needle:?}: {e}");
        }
        let e = locate(DatasetName::Mnist, &Search::only(&tmp.0.join("nope")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope is not a directory"), "{e}");
        let none = Search {
            root: None,
            system: false,
        };
        let e = locate(DatasetName::FashionMnist, &none)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("NOISEGD_DATA") && e.contains("zalandoresearch"),
            "{e}"
        );
    }

    #[test]
    fn debian_fashion_mnist_is_found_after_the_root_when_installed() {
        let tmp = TempDir::new("locate-debian");
        let s = Search {
            root: Some((tmp.0.clone(), RootOrigin::Given)),
            system: true,
        };
        match locate(DatasetName::FashionMnist, &s) {
            Ok(found) => {
                assert_eq!(found.dir, Path::new(DEBIAN_FASHION_MNIST));
                assert!(found.how.contains("dataset-fashion-mnist"));
            }
            Err(e) => {
                assert!(!Path::new(DEBIAN_FASHION_MNIST).is_dir());
                assert!(e.to_string().contains(DEBIAN_FASHION_MNIST));
            }
        }
        // MNIST has no system installation
        assert!(locate(DatasetName::Mnist, &s).is_err());
    }
}
