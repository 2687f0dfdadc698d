//! Load time of the full Fashion-MNIST from Debian's package (`apt-get install
//! dataset-fashion-mnist`; another folder with the four official files: `NOISEGD_FASHION_MNIST`).
//!
//! Prints the best and the median of a few loads of
//! - the training pair alone, raw (gunzip + checks + SHA-256, bytes): `idx::load_pair_with_shape`;
//! - the training pair as `f32` in `[0, 1]` (what training uses);
//! - the whole data set (train + test) through `load_from_dir`.
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
