//! The Fashion-MNIST subset compiled into the library: the first 2,000 training and the first
//! 1,000 test images of the official files (about 1.3 MB gzipped), so that the demo and the
//! examples run with no data directory. Fashion-MNIST is MIT-licensed, Copyright (c) 2017
//! Zalando SE; the notice ships beside the files (`assets/fashion-mnist-subset/LICENSE`).
//!
//! The bytes go through the same checked IDX reader as files on disk.

use std::path::Path;

use super::dataset::{
    from_idx, ChecksumStatus, Dataset, DatasetName, SourceFile, FASHION_MNIST_CLASSES,
};
use super::error::DataError;
use super::idx::{self, Checksum, LabeledImages};

macro_rules! asset {
    ($name:literal) => {
        (
            concat!("embedded:fashion-mnist-subset/", $name),
            include_bytes!(concat!("../../assets/fashion-mnist-subset/", $name)).as_slice(),
        )
    };
}

const TRAIN_IMAGES: (&str, &[u8]) = asset!("fashion-mnist-train-first2000-images-idx3-ubyte.gz");
const TRAIN_LABELS: (&str, &[u8]) = asset!("fashion-mnist-train-first2000-labels-idx1-ubyte.gz");
const TEST_IMAGES: (&str, &[u8]) = asset!("fashion-mnist-t10k-first1000-images-idx3-ubyte.gz");
const TEST_LABELS: (&str, &[u8]) = asset!("fashion-mnist-t10k-first1000-labels-idx1-ubyte.gz");

/// The licence of the embedded images (Zalando's MIT notice), to print or ship with outputs.
pub const LICENSE: &str = include_str!("../../assets/fashion-mnist-subset/LICENSE");

/// The embedded subset as a [`Dataset`] (2,000 + 1,000 images of 1×28×28, values in `[0, 1]`).
pub fn load() -> Result<Dataset, DataError> {
    let train = pair(TRAIN_IMAGES, TRAIN_LABELS)?;
    let test = pair(TEST_IMAGES, TEST_LABELS)?;
    let files = [
        (TRAIN_IMAGES.0, &train.images_checksum),
        (TRAIN_LABELS.0, &train.labels_checksum),
        (TEST_IMAGES.0, &test.images_checksum),
        (TEST_LABELS.0, &test.labels_checksum),
    ]
    .into_iter()
    .map(|(name, ck)| SourceFile {
        path: name.into(),
        checksum: ChecksumStatus::Unknown {
            sha256: match ck {
                Checksum::UnknownCopy(h) => Some(h.clone()),
                Checksum::Official(_) => None,
            },
        },
    })
    .collect();
    Ok(from_idx(
        DatasetName::FashionMnistEmbedded,
        "compiled in (first 2,000 training and 1,000 test images of Fashion-MNIST; MIT, \
         Copyright (c) 2017 Zalando SE)"
            .into(),
        train,
        test,
        FASHION_MNIST_CLASSES.map(String::from).to_vec(),
        files,
    ))
}

fn pair(images: (&str, &[u8]), labels: (&str, &[u8])) -> Result<LabeledImages, DataError> {
    let (img, images_checksum) =
        idx::read_images_from_bytes(Path::new(images.0), images.1, Some((28, 28)))?;
    let (lab, labels_checksum) = idx::read_labels_from_bytes(Path::new(labels.0), labels.1, 10)?;
    if img.n != lab.len() {
        return Err(DataError::CountMismatch {
            images_path: images.0.into(),
            labels_path: labels.0.into(),
            images: img.n,
            labels: lab.len(),
        });
    }
    Ok(LabeledImages {
        images: img,
        labels: lab,
        num_classes: 10,
        images_checksum,
        labels_checksum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testdata::shared_test_path;

    /// SHA-256 of the decompressed embedded files (as in the assets' README).
    const EXPECTED: [&str; 4] = [
        "71a9f8cec24060d6752b3e4940ce6d6fd729334afa47b735dd553481aa83b53e",
        "8983259dfbc9f185f92698916f7daf361704b43ba7d19568cc7bcdeefdc1bece",
        "7a6d8e07ea021ec5bc73135ebd0a5770799557ec6f8242d8749c4f32a3cf4643",
        "b40abac7ec8228f434940f579deb7cf7b6e3103b5274cb91d1545771f5ef1c8b",
    ];

    #[test]
    fn embedded_subset_loads_with_known_content() {
        let d = load().unwrap();
        assert_eq!((d.train.len(), d.test.len()), (2000, 1000));
        assert_eq!(d.shape, [1, 28, 28]);
        assert_eq!(&d.train.labels[..10], &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
        assert_eq!(&d.test.labels[..10], &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
        let counts = d.train.class_counts(10);
        assert_eq!(counts.iter().sum::<usize>(), 2000);
        assert!(counts.iter().all(|&c| c > 150), "{counts:?}");
        for (f, want) in d.files.iter().zip(EXPECTED) {
            assert_eq!(
                f.checksum,
                ChecksumStatus::Unknown {
                    sha256: Some(want.to_string())
                },
                "{}",
                f.path.display()
            );
        }
        assert!(LICENSE.contains("Copyright (c) 2017 Zalando SE"));
        assert!(LICENSE.contains("MIT"));
    }

    #[test]
    fn embedded_subset_equals_the_shared_fixtures() {
        let Some(dir) = shared_test_path("fixtures", "embedded_subset_equals_the_shared_fixtures")
        else {
            return;
        };
        let from_disk = idx::load_pair(
            dir.join("fashion-mnist-train-first2000-images-idx3-ubyte.gz"),
            dir.join("fashion-mnist-train-first2000-labels-idx1-ubyte.gz"),
            10,
        )
        .unwrap();
        assert_eq!(pair(TRAIN_IMAGES, TRAIN_LABELS).unwrap(), from_disk);
    }

    #[test]
    fn corrupt_bytes_name_the_embedded_file() {
        let cut = &TRAIN_IMAGES.1[..TRAIN_IMAGES.1.len() / 2];
        let e = idx::read_images_from_bytes(Path::new(TRAIN_IMAGES.0), cut, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("embedded:fashion-mnist-subset/"), "{e}");
        let e = idx::read_labels_from_bytes(Path::new("embedded:x"), &[], 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("embedded:x: empty"), "{e}");
    }
}
