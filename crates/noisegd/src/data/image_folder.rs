//! Image data kept as files in torchvision's `ImageFolder` layout, as researchers keep their own
//! image data: `DIR/<class>/<file>` for one split, `ROOT/train/...` and `ROOT/test/...` for a
//! data set (the layout of `../shared/data/cifar10-jpeg/`, all of CIFAR-10 as JPEG files).
//!
//! Classes are the sub-folders, in sorted order unless an order is given (then the folders must
//! be exactly those classes); files are taken in sorted order within each class, and the
//! examples interleave the classes (file k of every class, then file k + 1), so the same tree
//! always gives the same examples and any prefix of them holds every class. Every file is decoded (the `image` crate: JPEG, PNG, BMP,
//! GIF, WebP, ...), in parallel; a file that does not decode is an error naming it, as is an
//! image whose size differs from the first one's. Colour images become 3 channels, grey ones 1
//! (a split that mixes both is read as colour); values are `u8 / 255`, channel-major (CHW), as
//! the other readers give them.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::DataError;
use super::normalize::scale_u8;
use super::Split;

/// One split read from a folder tree.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderSplit {
    /// The examples, labelled by class index.
    pub split: Split,
    /// `[channels, height, width]` of every example.
    pub shape: [usize; 3],
    /// Class names, by label.
    pub class_names: Vec<String>,
    /// Every file read, in example order.
    pub files: Vec<PathBuf>,
}

/// The layout the reader expects, for error messages.
const LAYOUT: &str =
    "DIR/<class>/<image file>, one sub-folder per class (torchvision's ImageFolder)";

/// Reads the split under `dir`; `classes` fixes the class order (else the folder names, sorted).
pub fn read_split(dir: &Path, classes: Option<&[String]>) -> Result<FolderSplit, DataError> {
    let io = |path: &Path, e: std::io::Error| DataError::io(path, e, LAYOUT);
    let mut folders: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| !n.starts_with('.'))
        .collect();
    folders.sort();
    let class_names = match classes {
        None => folders.clone(),
        Some(given) => {
            let missing: Vec<&String> = given.iter().filter(|c| !folders.contains(c)).collect();
            let extra: Vec<&String> = folders.iter().filter(|f| !given.contains(f)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                return Err(DataError::config(
                    "classes",
                    format!(
                        "{}: the class folders are {folders:?}; the given classes {given:?} lack {extra:?} and name {missing:?}, which has no folder",
                        dir.display()
                    ),
                ));
            }
            given.to_vec()
        }
    };
    if class_names.is_empty() {
        return Err(DataError::Missing {
            path: dir.join("<class>"),
            layout: LAYOUT.into(),
        });
    }
    if class_names.len() > 256 {
        return Err(DataError::config(
            "classes",
            format!(
                "{}: {} classes; labels are one byte, at most 256",
                dir.display(),
                class_names.len()
            ),
        ));
    }
    let mut by_class: Vec<Vec<PathBuf>> = vec![];
    for class in &class_names {
        let folder = dir.join(class);
        let mut in_class: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(|e| io(&folder, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.'))
            })
            .collect();
        if in_class.is_empty() {
            return Err(DataError::Missing {
                path: folder.join("<image file>"),
                layout: LAYOUT.into(),
            });
        }
        in_class.sort();
        by_class.push(in_class);
    }
    // Round robin over the classes (file k of every class, then file k + 1): the folders are
    // sorted by class, and a prefix of the split (`eval.test_subset`, the Hessian's probe set)
    // must hold every class, as it does in the binary CIFAR-10's fixed order.
    let mut files = vec![];
    let mut labels = vec![];
    let longest = by_class.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..longest {
        for (label, in_class) in by_class.iter().enumerate() {
            if let Some(file) = in_class.get(k) {
                files.push(file.clone());
                labels.push(label as u8);
            }
        }
    }
    let decoded: Vec<image::DynamicImage> = files
        .par_iter()
        .map(|path| {
            image::ImageReader::open(path)
                .map_err(|e| io(path, e))?
                .with_guessed_format()
                .map_err(|e| io(path, e))?
                .decode()
                .map_err(|e| DataError::Image {
                    path: path.clone(),
                    message: e.to_string(),
                })
        })
        .collect::<Result<_, _>>()?;
    let (width, height) = (decoded[0].width() as usize, decoded[0].height() as usize);
    if let Some((i, img)) = decoded
        .iter()
        .enumerate()
        .find(|(_, img)| (img.width() as usize, img.height() as usize) != (width, height))
    {
        return Err(DataError::Image {
            path: files[i].clone(),
            message: format!(
                "{}×{} pixels, but {} is {width}×{height}: every image of a split must have one size",
                img.width(),
                img.height(),
                files[0].display()
            ),
        });
    }
    let colour = decoded.iter().any(|img| img.color().has_color());
    let channels = if colour { 3 } else { 1 };
    let plane = width * height;
    let pixels: Vec<u8> = decoded
        .par_iter()
        .flat_map_iter(|img| {
            // HWC from the decoder, CHW for the models.
            let hwc = if colour {
                img.to_rgb8().into_raw()
            } else {
                img.to_luma8().into_raw()
            };
            let mut chw = vec![0u8; hwc.len()];
            for (p, px) in hwc.chunks_exact(channels).enumerate() {
                for (c, v) in px.iter().enumerate() {
                    chw[c * plane + p] = *v;
                }
            }
            chw
        })
        .collect();
    Ok(FolderSplit {
        split: Split {
            x: scale_u8(&pixels),
            features: channels * plane,
            labels,
            coarse_labels: None,
        },
        shape: [channels, height, width],
        class_names,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testdata::{shared_test_path, TempDir};

    /// The first ten test images of each class of the JPEG CIFAR-10 against
    /// `cifar10-sample/`, the same pictures decoded elsewhere into CIFAR-10's binary records
    /// (`<label><1024 R><1024 G><1024 B>`): the labels equal, the pixels within JPEG decoders'
    /// rounding.
    #[test]
    fn cifar10_jpeg_decodes_to_the_binary_sample() {
        let (Some(jpeg), Some(sample)) = (
            shared_test_path(
                "cifar10-jpeg/test",
                "cifar10_jpeg_decodes_to_the_binary_sample",
            ),
            shared_test_path(
                "cifar10-sample",
                "cifar10_jpeg_decodes_to_the_binary_sample",
            ),
        ) else {
            return;
        };
        let records = std::fs::read(sample.join("test_batch_jpeg_derived_100.bin")).unwrap();
        // A tree of the first ten files per class, as links.
        let tmp = TempDir::new("image_folder_cifar");
        let classes: Vec<String> = std::fs::read_to_string(sample.join("batches.meta.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        for class in &classes {
            std::fs::create_dir_all(tmp.0.join(class)).unwrap();
            for k in 0..10 {
                let name = format!("{k:04}.jpg");
                std::os::unix::fs::symlink(
                    jpeg.join(class).join(&name),
                    tmp.0.join(class).join(&name),
                )
                .unwrap();
            }
        }
        let read = read_split(&tmp.0, Some(&classes)).unwrap();
        assert_eq!(read.shape, [3, 32, 32]);
        assert_eq!(read.split.len(), 100);
        // The sample's records, by (label, order within the label).
        let mut by_class: Vec<Vec<&[u8]>> = vec![vec![]; 10];
        for r in records.chunks_exact(3073) {
            by_class[r[0] as usize].push(&r[1..]);
        }
        let mut worst = 0u8;
        let mut total = 0u64;
        for i in 0..100 {
            // Interleaved: example i is file i / 10 of class i % 10.
            let (label, k) = (read.split.labels[i] as usize, i / 10);
            assert_eq!(label, i % 10);
            let ours = read.split.example(i);
            for (a, b) in ours.iter().zip(by_class[label][k]) {
                let a = (a * 255.0).round() as i32;
                let d = (a - *b as i32).unsigned_abs() as u8;
                worst = worst.max(d);
                total += d as u64;
            }
        }
        let mean = total as f64 / (100.0 * 3072.0);
        eprintln!("JPEG CIFAR-10 vs the binary sample: mean |Δ| {mean:.4} levels, worst {worst}");
        assert!(
            mean < 0.6 && worst <= 6,
            "mean |Δ| {mean}, worst {worst} levels"
        );
    }

    /// `data.name = "cifar10_jpeg"`: all 60,000 files, CIFAR-10's classes and sizes, and a
    /// prefix of the test set that holds every class.
    #[test]
    fn the_whole_jpeg_cifar10_loads_as_a_data_set() {
        let Some(dir) =
            shared_test_path("cifar10-jpeg", "the_whole_jpeg_cifar10_loads_as_a_data_set")
        else {
            return;
        };
        let root = dir.parent().unwrap();
        let d = crate::data::load::load_dataset(crate::data::DatasetName::Cifar10Jpeg, Some(root))
            .unwrap();
        assert_eq!(
            (d.train.len(), d.test.len(), d.shape),
            (50_000, 10_000, [3, 32, 32])
        );
        assert_eq!(d.train.class_counts(10), vec![5000; 10]);
        assert_eq!(d.test.class_counts(10), vec![1000; 10]);
        assert_eq!(d.class_names[0], "airplane");
        assert_eq!(d.test.labels[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert!(d.origin.contains("cifar10-jpeg"), "{}", d.origin);
    }

    #[test]
    fn a_tree_is_read_in_order_and_bad_files_are_named() {
        let tmp = TempDir::new("image_folder_small");
        let save = |rel: &str, img: image::DynamicImage| {
            let path = tmp.0.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            img.save(&path).unwrap();
        };
        let grey = |v: u8, w: u32| {
            image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(w, 2, image::Luma([v])))
        };
        save("b/1.png", grey(20, 3));
        save("b/0.png", grey(10, 3));
        save("a/0.png", grey(255, 3));
        let read = read_split(&tmp.0, None).unwrap();
        assert_eq!(read.class_names, ["a", "b"]);
        // Interleaved by class, files sorted within a class: a/0, b/0 (10), b/1 (20).
        assert_eq!(read.split.labels, [0, 1, 1]);
        assert_eq!(read.shape, [1, 2, 3]);
        assert_eq!(read.split.example(1)[0], 10.0 / 255.0);
        assert_eq!(read.split.example(2)[0], 20.0 / 255.0);
        // A given order relabels; a class without a folder is named.
        let order = ["b".to_string(), "a".to_string()];
        assert_eq!(
            read_split(&tmp.0, Some(&order)).unwrap().split.labels,
            [0, 1, 0]
        );
        let e = read_split(&tmp.0, Some(&["a".into(), "c".into()]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"c\"") && e.contains("\"b\""), "{e}");
        // Another size, then a file that does not decode: each named.
        save("b/2.png", grey(0, 4));
        let e = read_split(&tmp.0, None).unwrap_err().to_string();
        assert!(
            e.contains("2.png") && e.contains("4×2") && e.contains("3×2"),
            "{e}"
        );
        std::fs::remove_file(tmp.0.join("b/2.png")).unwrap();
        std::fs::write(tmp.0.join("a/1.jpg"), b"not a jpeg").unwrap();
        let e = read_split(&tmp.0, None).unwrap_err().to_string();
        assert!(e.contains("a/1.jpg"), "{e}");
        let e = read_split(&tmp.0.join("nothing"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nothing"), "{e}");
    }
}
