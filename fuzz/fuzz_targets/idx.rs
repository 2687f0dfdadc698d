//! IDX image and label files (raw or gzip) from arbitrary bytes: every input is either read or
//! rejected with an error; a header that claims a huge size must not allocate it.
//!
//! The readers take a path, so each input is written to one temporary file per process first.
#![no_main]
use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use noisegd::data::idx::{read_images, read_images_with_shape, read_labels};

static FILE: LazyLock<PathBuf> =
    LazyLock::new(|| std::env::temp_dir().join(format!("noisegd-fuzz-idx-{}", std::process::id())));

fuzz_target!(|data: &[u8]| {
    std::fs::write(&*FILE, data).expect("the temporary file is writable");
    let _ = read_images(&*FILE);
    let _ = read_images_with_shape(&*FILE, Some((28, 28)));
    let _ = read_labels(&*FILE, 10);
});
