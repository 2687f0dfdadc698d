//! A user's regression CSV from arbitrary bytes: read or rejected with an error, never a panic.
//! Read twice (every column but `y` as features; the listed features `x2, x1`), and a table that
//! is read goes on through what a run does with it: the seeded train/test split and the
//! standardization.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegd::data::csv::read_regression;

fuzz_target!(|data: &[u8]| {
    let all = read_regression(data, "fuzz.csv", "y", &[]);
    let _ = read_regression(data, "fuzz.csv", "y", &["x2".into(), "x1".into()]);
    if let Ok(table) = all {
        for test_fraction in [0.0, 0.2, 0.5] {
            if let Ok(mut split) = table.split(test_fraction, 7) {
                split.standardize();
            }
        }
    }
});
