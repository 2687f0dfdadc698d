//! CIFAR-10 and CIFAR-100 binary files from arbitrary bytes: every input is either read or
//! rejected with an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegd::data::cifar::{read_cifar100_bytes, read_cifar10_bytes};

fuzz_target!(|data: &[u8]| {
    let _ = read_cifar10_bytes("fuzz-data_batch.bin", data);
    let _ = read_cifar100_bytes("fuzz-train.bin", data);
});
