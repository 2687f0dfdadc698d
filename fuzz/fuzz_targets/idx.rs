//! IDX image and label files (raw or gzip) from arbitrary bytes: every input is either read or
//! rejected with an error; a header that claims a huge size must not allocate it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegd::data::idx::{read_images_from_bytes, read_labels_from_bytes};

fuzz_target!(|data: &[u8]| {
    let _ = read_images_from_bytes("fuzz-images-idx3-ubyte", data, None);
    let _ = read_images_from_bytes("fuzz-images-idx3-ubyte", data, Some((28, 28)));
    let _ = read_labels_from_bytes("fuzz-labels-idx1-ubyte", data, 10);
});
