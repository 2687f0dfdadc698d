//! Load time of the full Fashion-MNIST from Debian's package (`apt-get install
//! dataset-fashion-mnist`; another folder with the four official files: `NOISEGD_FASHION_MNIST`).
//!
//! Prints the best and the median of a few loads of
//! - the training pair alone, raw (gunzip + checks + SHA-256, bytes): `idx::load_pair_with_shape`;
//! - the training pair as `f32` in `[0, 1]` (what training uses);
//! - the whole data set (train + test) through `load_from_dir`.
//!
//! and the decoding of all of CIFAR-10 as JPEG files (`../shared/data/cifar10-jpeg/`, or
//! `NOISEGD_CIFAR10_JPEG`), 50,000 + 10,000 images, through `image_folder::read_split`.
//!
//! `cargo bench -p noisegd --bench data`. Prints a skip message when the files are absent.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use noisegd::data::idx::{find_in_dir, load_pair_with_shape};
use noisegd::data::load::load_from_dir;
use noisegd::data::locate::DEBIAN_FASHION_MNIST;
use noisegd::data::normalize::scale_u8;
use noisegd::data::DatasetName;

const RUNS: usize = 7;

fn time<T>(what: &str, mut f: impl FnMut() -> T) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t0 = Instant::now();
            std::hint::black_box(f());
            t0.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{what:<58} best {:>7.1} ms   median {:>7.1} ms   ({RUNS} runs)",
        times[0].as_secs_f64() * 1e3,
        times[RUNS / 2].as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    cifar10_jpeg();
    let dir = std::env::var_os("NOISEGD_FASHION_MNIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEBIAN_FASHION_MNIST));
    if !dir.is_dir() {
        println!(
            "SKIP data bench: {} is not a directory (apt-get install dataset-fashion-mnist, \
             or set NOISEGD_FASHION_MNIST)",
            dir.display()
        );
        return;
    }
    println!(
        "Fashion-MNIST from {} on {} rayon threads",
        dir.display(),
        rayon::current_num_threads()
    );
    let images = find_in_dir(&dir, "train-images-idx3-ubyte").unwrap();
    let labels = find_in_dir(&dir, "train-labels-idx1-ubyte").unwrap();
    time("train 60k, bytes (gunzip, checks, SHA-256)", || {
        load_pair_with_shape(&images, &labels, 10, Some((28, 28))).unwrap()
    });
    time("train 60k, f32 in [0, 1]", || {
        let p = load_pair_with_shape(&images, &labels, 10, Some((28, 28))).unwrap();
        scale_u8(&p.images.pixels)
    });
    time("train 60k + test 10k, Dataset (load_from_dir)", || {
        load_from_dir(DatasetName::FashionMnist, &dir, String::new()).unwrap()
    });
}

/// All of CIFAR-10 as 60,000 JPEG files: decoded on every run, or cached? (issue 16)
fn cifar10_jpeg() {
    let root = std::env::var_os("NOISEGD_CIFAR10_JPEG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cifar10-jpeg")
        });
    if !root.join("train").is_dir() {
        println!(
            "SKIP CIFAR-10 JPEG: {} has no train/ (set NOISEGD_CIFAR10_JPEG)",
            root.display()
        );
        return;
    }
    println!(
        "CIFAR-10 JPEG from {} on {} rayon threads",
        root.display(),
        rayon::current_num_threads()
    );
    time("test 10k JPEG files, decoded to f32 (read_split)", || {
        noisegd::data::image_folder::read_split(&root.join("test"), None).unwrap()
    });
    time("train 50k JPEG files, decoded to f32 (read_split)", || {
        noisegd::data::image_folder::read_split(&root.join("train"), None).unwrap()
    });
}
