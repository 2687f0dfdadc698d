//! The one entry point that turns a data set's name into a [`Dataset`]: [`load_dataset`].
//!
//! Files are found by [`super::locate`], read and checked by [`super::idx`] / [`super::cifar`],
//! scaled to `[0, 1]` ([`super::normalize::scale_u8`]), and their checksums compared with the
//! official files. The embedded subset comes from [`super::embedded`], MNIST-1D from
//! [`super::mnist1d`]. Every error names the file and says where the data set can be obtained.

use std::path::Path;

use super::cifar::{load_cifar10, load_cifar100, CifarImages};
use super::dataset::{
    from_idx, ChecksumStatus, Dataset, DatasetName, SourceFile, Split, CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES, KMNIST_CLASSES,
};
use super::error::DataError;
use super::idx::{self, Checksum, KNOWN_SHA256};
use super::image_folder::{read_split, FolderSplit};
use super::locate::{locate, obtain, Search};
use super::mnist1d::{self, Mnist1d, Mnist1dConfig};
use super::normalize::scale_u8;

/// Loads a data set: `dir` is the data root (the config's `data.dir`); without it, the root is
/// `$NOISEGD_DATA`. Fashion-MNIST is also looked for in Debian's `/usr/share/datasets`. The
/// embedded subset and MNIST-1D need no files.
pub fn load_dataset(name: DatasetName, dir: Option<&Path>) -> Result<Dataset, DataError> {
    load_with(name, &Search::new(dir))
}

/// [`load_dataset`] with an explicit [`Search`].
pub fn load_with(name: DatasetName, search: &Search) -> Result<Dataset, DataError> {
    match name {
        DatasetName::FashionMnistEmbedded => super::embedded::load(),
        DatasetName::Mnist1d => Ok(from_mnist1d(
            &mnist1d::generate(&Mnist1dConfig::default())?,
            "generated (MNIST-1D generator, default settings, seed 42)",
        )),
        _ => {
            let found = locate(name, search)?;
            let origin = format!("{} ({})", found.dir.display(), found.how);
            load_from_dir(name, &found.dir, origin)
        }
    }
}

/// Loads a data set read from files from exactly the folder `dir` (which holds its files).
pub fn load_from_dir(name: DatasetName, dir: &Path, origin: String) -> Result<Dataset, DataError> {
    let in_dataset = |e: DataError| DataError::InDataset {
        inner: Box::new(e),
        obtain: obtain(name),
    };
    match name {
        DatasetName::FashionMnist | DatasetName::Mnist | DatasetName::Kmnist => {
            load_idx(name, dir, origin).map_err(in_dataset)
        }
        DatasetName::Cifar10 => {
            let c = load_cifar10(dir).map_err(in_dataset)?;
            let files = cifar_files(
                dir,
                &[
                    "data_batch_1.bin",
                    "data_batch_2.bin",
                    "data_batch_3.bin",
                    "data_batch_4.bin",
                    "data_batch_5.bin",
                    "test_batch.bin",
                    "batches.meta.txt",
                ],
            );
            Ok(from_cifar(
                name,
                origin,
                c.train,
                c.test,
                c.class_names,
                None,
                files,
            ))
        }
        DatasetName::Cifar100 => {
            let c = load_cifar100(dir).map_err(in_dataset)?;
            let files = cifar_files(
                dir,
                &[
                    "train.bin",
                    "test.bin",
                    "coarse_label_names.txt",
                    "fine_label_names.txt",
                ],
            );
            Ok(from_cifar(
                name,
                origin,
                c.train,
                c.test,
                c.fine_names,
                Some(c.coarse_names),
                files,
            ))
        }
        DatasetName::Cifar10Jpeg => load_cifar10_jpeg(dir, origin).map_err(in_dataset),
        DatasetName::ImageFolder => load_image_folder(dir, None, origin).map_err(in_dataset),
        DatasetName::FashionMnistEmbedded | DatasetName::Mnist1d => load_with(
            name,
            &Search {
                root: None,
                system: false,
            },
        ),
    }
}

/// A generated MNIST-1D data set (any [`Mnist1dConfig`]) as a [`Dataset`] of shape `1×1×40`.
pub fn from_mnist1d(m: &Mnist1d, origin: &str) -> Dataset {
    let split = |x: &[f64], y: &[u8]| Split {
        x: x.iter().map(|&v| v as f32).collect(),
        features: m.n_features,
        labels: y.to_vec(),
        coarse_labels: None,
    };
    Dataset {
        name: DatasetName::Mnist1d,
        origin: origin.to_string(),
        shape: [1, 1, m.n_features],
        class_names: (0..mnist1d::NUM_CLASSES).map(|d| d.to_string()).collect(),
        coarse_class_names: None,
        train: split(&m.x_train, &m.y_train),
        test: split(&m.x_test, &m.y_test),
        files: Vec::new(),
    }
}

/// The IDX train/test pairs of `dir` (28×28, 10 classes).
fn load_idx(name: DatasetName, dir: &Path, origin: String) -> Result<Dataset, DataError> {
    let stems = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    let paths = stems
        .iter()
        .map(|s| idx::find_in_dir(dir, s))
        .collect::<Result<Vec<_>, _>>()?;
    let train = idx::load_pair_with_shape(&paths[0], &paths[1], 10, Some((28, 28)))?;
    let test = idx::load_pair_with_shape(&paths[2], &paths[3], 10, Some((28, 28)))?;
    let checksums = [
        &train.images_checksum,
        &train.labels_checksum,
        &test.images_checksum,
        &test.labels_checksum,
    ];
    let files = paths
        .iter()
        .zip(stems)
        .zip(checksums)
        .map(|((path, stem), ck)| SourceFile {
            path: path.clone(),
            checksum: idx_status(name, stem, ck),
        })
        .collect();
    let class_names = match name {
        DatasetName::FashionMnist => FASHION_MNIST_CLASSES.map(String::from).to_vec(),
        DatasetName::Kmnist => KMNIST_CLASSES.map(String::from).to_vec(),
        _ => (0..10).map(|d| d.to_string()).collect(),
    };
    Ok(from_idx(name, origin, train, test, class_names, files))
}

/// The status of an IDX file of data set `name` named `stem` (e.g. `train-images-idx3-ubyte`).
fn idx_status(name: DatasetName, stem: &str, ck: &Checksum) -> ChecksumStatus {
    let prefix = match name {
        DatasetName::FashionMnist => "fashion-mnist",
        DatasetName::Mnist => "mnist",
        DatasetName::Kmnist => "kmnist",
        _ => "",
    };
    let key = format!("{prefix}/{stem}");
    let known = KNOWN_SHA256.iter().find(|(n, _)| *n == key);
    match (ck, known) {
        (Checksum::Official(n), _) if *n == key => ChecksumStatus::Official,
        (Checksum::Official(other), _) => ChecksumStatus::Mismatch {
            sha256: KNOWN_SHA256
                .iter()
                .find(|(n, _)| n == other)
                .map(|(_, h)| h.to_string())
                .unwrap_or_default(),
            identified_as: Some(other),
        },
        (Checksum::UnknownCopy(h), Some(_)) => ChecksumStatus::Mismatch {
            sha256: h.clone(),
            identified_as: None,
        },
        (Checksum::UnknownCopy(h), None) => ChecksumStatus::Unknown {
            sha256: Some(h.clone()),
        },
    }
}

/// A user's ImageFolder data set located as [`load_dataset`] locates one (`dir`: the folder that
/// holds `train/` and `test/`), with the class order `classes` (else the folder names, sorted).
pub fn load_image_folder_at(dir: Option<&Path>, classes: &[String]) -> Result<Dataset, DataError> {
    let found = locate(DatasetName::ImageFolder, &Search::new(dir))?;
    let origin = format!("{} ({})", found.dir.display(), found.how);
    let classes = (!classes.is_empty()).then_some(classes);
    load_image_folder(&found.dir, classes, origin).map_err(|e| DataError::InDataset {
        inner: Box::new(e),
        obtain: obtain(DatasetName::ImageFolder),
    })
}

/// `dir/train` and `dir/test` as one data set: the test split must have the training split's
/// classes (in its order) and its image shape.
fn load_image_folder(
    dir: &Path,
    classes: Option<&[String]>,
    origin: String,
) -> Result<Dataset, DataError> {
    let train = read_split(&dir.join("train"), classes)?;
    let test = read_split(&dir.join("test"), Some(&train.class_names))?;
    if test.shape != train.shape {
        return Err(DataError::Image {
            path: test.files[0].clone(),
            message: format!(
                "channels × height × width {:?}, but the training images are {:?}",
                test.shape, train.shape
            ),
        });
    }
    Ok(Dataset {
        name: DatasetName::ImageFolder,
        origin,
        shape: train.shape,
        class_names: train.class_names,
        coarse_class_names: None,
        train: train.split,
        test: test.split,
        files: ["train", "test"]
            .iter()
            .map(|s| SourceFile {
                path: dir.join(s),
                checksum: ChecksumStatus::Unknown { sha256: None },
            })
            .collect(),
    })
}

/// CIFAR-10 from an ImageFolder tree of JPEG files ([`super::image_folder`]): the class folders
/// must be CIFAR-10's ten, labelled in its order, and every image 32×32 colour.
fn load_cifar10_jpeg(dir: &Path, origin: String) -> Result<Dataset, DataError> {
    let classes: Vec<String> = CIFAR10_CLASSES.iter().map(|c| c.to_string()).collect();
    let read = |split: &str| -> Result<FolderSplit, DataError> {
        let r = read_split(&dir.join(split), Some(&classes))?;
        if Some(r.shape) != DatasetName::Cifar10Jpeg.shape() {
            return Err(DataError::Image {
                path: r.files[0].clone(),
                message: format!(
                    "channels × height × width {:?}, CIFAR-10 is [3, 32, 32]",
                    r.shape
                ),
            });
        }
        Ok(r)
    };
    let (train, test) = (read("train")?, read("test")?);
    let files = ["train", "test"]
        .iter()
        .map(|s| SourceFile {
            path: dir.join(s),
            checksum: ChecksumStatus::Unknown { sha256: None },
        })
        .collect();
    Ok(Dataset {
        name: DatasetName::Cifar10Jpeg,
        origin,
        shape: [3, 32, 32],
        class_names: classes,
        coarse_class_names: None,
        train: train.split,
        test: test.split,
        files,
    })
}

fn cifar_files(dir: &Path, names: &[&str]) -> Vec<SourceFile> {
    names
        .iter()
        .map(|n| SourceFile {
            path: dir.join(n),
            checksum: ChecksumStatus::Unknown { sha256: None },
        })
        .collect()
}

fn from_cifar(
    name: DatasetName,
    origin: String,
    train: CifarImages,
    test: CifarImages,
    class_names: Vec<String>,
    coarse_class_names: Option<Vec<String>>,
    files: Vec<SourceFile>,
) -> Dataset {
    let split = |c: CifarImages| Split {
        x: scale_u8(&c.pixels),
        features: super::cifar::CIFAR_IMAGE_BYTES,
        labels: c.labels,
        coarse_labels: c.coarse_labels,
    };
    Dataset {
        name,
        origin,
        shape: [3, 32, 32],
        class_names,
        coarse_class_names,
        train: split(train),
        test: split(test),
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::locate::DEBIAN_FASHION_MNIST;
    use crate::data::testdata::{full_data_dir, shared_test_path, TempDir};
    use std::io::{Read, Write};

    /// Copies the shared Fashion-MNIST fixtures into `root/fashion-mnist/` in the official names.
    fn fixture_layout(fixtures: &Path, root: &Path) -> std::path::PathBuf {
        let dir = root.join("fashion-mnist");
        std::fs::create_dir_all(&dir).unwrap();
        for (src, dst) in [
            (
                "train-first2000-images-idx3-ubyte",
                "train-images-idx3-ubyte",
            ),
            (
                "train-first2000-labels-idx1-ubyte",
                "train-labels-idx1-ubyte",
            ),
            ("t10k-first1000-images-idx3-ubyte", "t10k-images-idx3-ubyte"),
            ("t10k-first1000-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"),
        ] {
            std::fs::copy(
                fixtures.join(format!("fashion-mnist-{src}.gz")),
                dir.join(format!("{dst}.gz")),
            )
            .unwrap();
        }
        dir
    }

    fn gunzip(path: &Path) -> Vec<u8> {
        let mut v = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut v)
            .unwrap();
        v
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn fixtures_load_through_the_standard_layout() {
        let Some(fixtures) =
            shared_test_path("fixtures", "fixtures_load_through_the_standard_layout")
        else {
            return;
        };
        let tmp = TempDir::new("load-fixtures");
        fixture_layout(&fixtures, &tmp.0);
        let d = load_with(DatasetName::FashionMnist, &Search::only(&tmp.0)).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (2000, 1000));
        assert_eq!(d.shape, [1, 28, 28]);
        assert_eq!(d.features(), 784);
        assert_eq!(d.train.x.len(), 2000 * 784);
        assert_eq!(d.class_names[9], "Ankle boot");
        assert_eq!(&d.train.labels[..10], &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
        assert!(d.train.x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(d.train.x.contains(&1.0));
        assert_eq!(d.train.class_counts(10).iter().sum::<usize>(), 2000);
        assert!(d.origin.contains("fashion-mnist/"), "{}", d.origin);
        // prefixes of the official files: valid, but not the official content
        assert_eq!(d.files.len(), 4);
        for f in &d.files {
            assert!(
                matches!(
                    f.checksum,
                    ChecksumStatus::Mismatch {
                        identified_as: None,
                        ..
                    }
                ),
                "{f:?}"
            );
        }
        // The same files as MNIST: no official hash known, so "unknown copy"
        let mnist = tmp.0.join("MNIST/raw");
        std::fs::create_dir_all(&mnist).unwrap();
        for f in std::fs::read_dir(tmp.0.join("fashion-mnist")).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, mnist.join(f.file_name().unwrap())).unwrap();
        }
        let m = load_with(DatasetName::Mnist, &Search::only(&tmp.0)).unwrap();
        assert_eq!(m.class_names[3], "3");
        assert!(m
            .files
            .iter()
            .all(|f| matches!(f.checksum, ChecksumStatus::Unknown { sha256: Some(_) })));
        assert_eq!(m.train, d.train);
    }

    /// The corrupt-file cases through the loader: each a one-line error naming the file, the
    /// problem, and where a good copy can be obtained.
    #[test]
    fn corrupt_files_are_one_line_errors_naming_the_file() {
        let tmp = TempDir::new("load-corrupt");
        let dir = tmp.0.join("mnist");
        std::fs::create_dir_all(&dir).unwrap();
        let images = |n: u32, rows: u32, cols: u32| {
            let mut v = idx::IMAGES_MAGIC.to_be_bytes().to_vec();
            for d in [n, rows, cols] {
                v.extend(d.to_be_bytes());
            }
            v.extend((0..(n * rows * cols) as usize).map(|i| (i % 256) as u8));
            v
        };
        let labels = |ls: &[u8]| {
            let mut v = idx::LABELS_MAGIC.to_be_bytes().to_vec();
            v.extend((ls.len() as u32).to_be_bytes());
            v.extend(ls);
            v
        };
        let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
        let good = || {
            write("train-images-idx3-ubyte", &images(3, 28, 28));
            write("train-labels-idx1-ubyte", &labels(&[0, 1, 9]));
            write("t10k-images-idx3-ubyte.gz", &gz(&images(2, 28, 28)));
            write("t10k-labels-idx1-ubyte.gz", &gz(&labels(&[4, 5])));
        };
        good();
        let d = load_with(DatasetName::Mnist, &Search::only(&tmp.0)).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (3, 2));
        assert_eq!(d.train.x[1], 1.0 / 255.0);

        let check = |file: &str, needles: &[&str]| {
            let e = load_with(DatasetName::Mnist, &Search::only(&tmp.0))
                .unwrap_err()
                .to_string();
            eprintln!("  {e}");
            assert!(!e.contains('\n'), "not one line: {e}");
            assert!(e.contains(file), "does not name {file}: {e}");
            assert!(e.contains("yann.lecun.com"), "no source: {e}");
            for n in needles {
                assert!(e.contains(n), "lacks {n:?}: {e}");
            }
            good();
        };
        let full = images(3, 28, 28);
        write("train-images-idx3-ubyte", &full[..full.len() - 100]);
        check("train-images-idx3-ubyte", &["truncated"]);
        let mut bad = full.clone();
        bad[3] = 1;
        write("train-images-idx3-ubyte", &bad);
        check(
            "train-images-idx3-ubyte",
            &["bad magic", "expected 0x00000803"],
        );
        write("train-images-idx3-ubyte", &images(3, 32, 32));
        check(
            "train-images-idx3-ubyte",
            &["wrong image shape", "expected 28×28", "32×32"],
        );
        write("train-labels-idx1-ubyte", &labels(&[0, 10, 9]));
        check("train-labels-idx1-ubyte", &["label 10 of record 1", "< 10"]);
        write("train-labels-idx1-ubyte", &[]);
        check("train-labels-idx1-ubyte", &["empty"]);
        write("t10k-images-idx3-ubyte.gz", &gz(&[]));
        check("t10k-images-idx3-ubyte.gz", &["empty"]);
        write("t10k-labels-idx1-ubyte.gz", &gz(&labels(&[4, 5, 6])));
        check("t10k-labels-idx1-ubyte.gz", &["2 images but 3 labels"]);
        std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        check(
            "t10k-labels-idx1-ubyte.gz",
            &["file not found", "expected layout"],
        );
    }

    #[test]
    fn cifar_sample_loads_through_the_standard_layout() {
        let Some(sample) = shared_test_path(
            "cifar10-sample",
            "cifar_sample_loads_through_the_standard_layout",
        ) else {
            return;
        };
        let tmp = TempDir::new("load-cifar");
        let dir = tmp.0.join("cifar-10-batches-bin");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = sample.join("test_batch_jpeg_derived_100.bin");
        for i in 1..=5 {
            std::fs::copy(&bin, dir.join(format!("data_batch_{i}.bin"))).unwrap();
        }
        std::fs::copy(&bin, dir.join("test_batch.bin")).unwrap();
        std::fs::copy(
            sample.join("batches.meta.txt"),
            dir.join("batches.meta.txt"),
        )
        .unwrap();
        let d = load_with(DatasetName::Cifar10, &Search::only(&tmp.0)).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (500, 100));
        assert_eq!(d.shape, [3, 32, 32]);
        assert_eq!(d.test.class_counts(10), vec![10; 10]);
        assert_eq!(d.class_names.len(), 10);
        assert_eq!(d.files.len(), 7);
        // a truncated batch: the file, the record layout and the source
        let raw = std::fs::read(&bin).unwrap();
        std::fs::write(dir.join("data_batch_4.bin"), &raw[..raw.len() - 5]).unwrap();
        let e = load_with(DatasetName::Cifar10, &Search::only(&tmp.0))
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\n'));
        assert!(
            e.contains("data_batch_4.bin") && e.contains("truncated") && e.contains("cifar.html"),
            "{e}"
        );
    }

    #[test]
    fn mnist1d_and_embedded_need_no_files() {
        let nowhere = Search {
            root: None,
            system: false,
        };
        let m = load_with(DatasetName::Mnist1d, &nowhere).unwrap();
        assert_eq!(
            (m.train.len(), m.test.len(), m.shape),
            (4000, 1000, [1, 1, 40])
        );
        assert_eq!(&m.train.labels[..10], &[2, 6, 4, 5, 6, 6, 6, 0, 3, 1]);
        assert!((m.train.x[0] as f64 - (-0.33200566736939)).abs() < 1e-6);
        let e = load_with(DatasetName::FashionMnistEmbedded, &nowhere).unwrap();
        assert_eq!((e.train.len(), e.test.len()), (2000, 1000));
    }

    /// The full official Fashion-MNIST from Debian's package: 60,000 + 10,000 images, 6,000 and
    /// 1,000 per class, all four files official. Skips when the package is not installed, unless
    /// `NOISEGD_REQUIRE_FULL_DATA=1` (CI), which makes that a failure.
    #[test]
    fn full_fashion_mnist_from_debian() {
        let Some(dir) = full_data_dir(
            Path::new(DEBIAN_FASHION_MNIST),
            "full_fashion_mnist_from_debian",
        ) else {
            return;
        };
        let t0 = std::time::Instant::now();
        let d = load_from_dir(DatasetName::FashionMnist, &dir, "test".into()).unwrap();
        eprintln!(
            "full Fashion-MNIST loaded (debug build) in {:?}",
            t0.elapsed()
        );
        assert_eq!((d.train.len(), d.test.len()), (60_000, 10_000));
        assert_eq!(d.train.class_counts(10), vec![6_000; 10]);
        assert_eq!(d.test.class_counts(10), vec![1_000; 10]);
        for f in &d.files {
            assert_eq!(f.checksum, ChecksumStatus::Official, "{}", f.path.display());
        }
        // The embedded subset is the first 2,000 / 1,000 of these.
        let e = super::super::embedded::load().unwrap();
        assert_eq!(e.train, d.train.select(&(0..2000).collect::<Vec<_>>()));
        assert_eq!(e.test, d.test.select(&(0..1000).collect::<Vec<_>>()));
        // and the shared fixtures are prefixes of the same files
        if let Some(fx) = shared_test_path("fixtures", "full_fashion_mnist_from_debian") {
            let prefix = gunzip(&fx.join("fashion-mnist-t10k-first100-images-idx3-ubyte.gz"));
            let full = gunzip(&dir.join("t10k-images-idx3-ubyte.gz"));
            assert_eq!(prefix[16..], full[16..16 + 100 * 784]);
        }
    }
}
