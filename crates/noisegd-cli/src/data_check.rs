//! `noisegd data check [DIR]`: which data sets are found where, their sizes, class counts and
//! checksum status, one block per data set. Fails only when a data set is found but broken.

use anyhow::{bail, Result};
use noisegd::data::check::{check_all, describe_counts, Status};
use noisegd::data::locate::Search;
use std::path::Path;

/// Prints the report for the data root `dir` (else `$NOISEGD_DATA`) to stdout.
pub fn run(dir: Option<&Path>) -> Result<()> {
    let search = Search::new(dir);
    println!("data root: {}", search.describe_root());
    let mut broken = Vec::new();
    for c in check_all(&search) {
        let name = c.name.as_str();
        match c.status {
            Status::Found(s) => {
                println!("{name}: found: {}", s.origin);
                let [ch, h, w] = s.shape;
                println!(
                    "  {} train + {} test examples of {ch}×{h}×{w}, {} classes; per class: train {}, test {}",
                    s.n_train,
                    s.n_test,
                    s.train_counts.len(),
                    describe_counts(&s.train_counts),
                    describe_counts(&s.test_counts)
                );
                for f in &s.files {
                    println!("  {}: {}", f.path.display(), f.checksum);
                }
            }
            Status::NotFound(why) => println!("{name}: not found: {why}"),
            Status::Invalid(e) => {
                println!("{name}: INVALID: {e}");
                broken.push(name);
            }
        }
    }
    if !broken.is_empty() {
        bail!(
            "{} found but invalid: {} (see above)",
            if broken.len() == 1 {
                "a data set is"
            } else {
                "data sets are"
            },
            broken.join(", ")
        );
    }
    Ok(())
}
