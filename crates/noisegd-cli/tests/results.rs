//! Every committed result under `results/` can be re-derived: its README holds, between
//!
//! ```text
//! <!-- rebuilt by: noisegd report <args> -->
//! | the table ... |
//! <!-- end -->
//! ```
//!
//! the table that `noisegd report <args>` makes from the result's run files alone, and this
//! test makes it again (into a temporary folder) and compares them line by line.

use std::fs;
use std::path::Path;
use std::process::Command;

const MARK: &str = "<!-- rebuilt by: noisegd report ";

/// The first markdown table of `text` (its `|` lines).
fn first_table(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(String::from)
        .collect()
}

#[test]
fn every_committed_result_rebuilds_to_the_table_in_its_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut checked = 0;
    for entry in fs::read_dir(root.join("results")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(readme) = fs::read_to_string(dir.join("README.md")) else {
            continue;
        };
        let mut rest = readme.as_str();
        while let Some(at) = rest.find(MARK) {
            let after = &rest[at + MARK.len()..];
            let (args, body) = after
                .split_once("-->")
                .expect("the marker line ends with -->");
            let (table, tail) = body
                .split_once("<!-- end -->")
                .expect("a table ends with <!-- end -->");
            rest = tail;
            let out = tempfile::tempdir().unwrap();
            let args: Vec<&str> = args.split_whitespace().collect();
            let o = Command::new(env!("CARGO_BIN_EXE_noisegd"))
                .current_dir(&root)
                .arg("report")
                .args(&args)
                .arg("--out")
                .arg(out.path())
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{}: noisegd report {}: {}",
                dir.display(),
                args.join(" "),
                String::from_utf8_lossy(&o.stderr)
            );
            let made = first_table(&fs::read_to_string(out.path().join("sweep.md")).unwrap());
            let kept: Vec<String> = table.trim().lines().map(String::from).collect();
            assert_eq!(
                kept,
                made,
                "{}: the README's table is not what `noisegd report {}` makes from the committed runs",
                dir.display(),
                args.join(" ")
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "no rebuildable table found under results/");
}
