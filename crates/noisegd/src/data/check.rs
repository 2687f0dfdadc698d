//! What `noisegd data check` reports: for every data set, where it was found (or why not), its
//! sizes and class counts, and how each file compares with the official one.

use super::dataset::{DatasetName, SourceFile};
use super::error::DataError;
use super::load::load_with;
use super::locate::Search;

/// The sizes of a data set that loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Where it came from, in words.
    pub origin: String,
    /// `[channels, height, width]` of one example.
    pub shape: [usize; 3],
    /// Training examples.
    pub n_train: usize,
    /// Test examples.
    pub n_test: usize,
    /// Training examples per class.
    pub train_counts: Vec<usize>,
    /// Test examples per class.
    pub test_counts: Vec<usize>,
    /// The files read and their checksum status.
    pub files: Vec<SourceFile>,
}

/// The outcome for one data set.
#[derive(Debug)]
pub enum Status {
    /// Found and loaded.
    Found(Summary),
    /// Not in any of the places looked at (the message says which, and where to get it).
    NotFound(String),
    /// Found, but a file is missing or invalid.
    Invalid(DataError),
}

/// One line of the check.
#[derive(Debug)]
pub struct DatasetCheck {
    /// Which data set.
    pub name: DatasetName,
    /// What was found.
    pub status: Status,
}

/// Loads every data set in turn (one in memory at a time) and reports on each.
pub fn check_all(search: &Search) -> Vec<DatasetCheck> {
    DatasetName::ALL
        .into_iter()
        .map(|name| DatasetCheck {
            name,
            status: check_one(name, search),
        })
        .collect()
}

/// Loads one data set and summarizes it.
pub fn check_one(name: DatasetName, search: &Search) -> Status {
    match load_with(name, search) {
        Ok(d) => {
            let k = d.num_classes();
            Status::Found(Summary {
                shape: d.shape,
                n_train: d.train.len(),
                n_test: d.test.len(),
                train_counts: d.train.class_counts(k),
                test_counts: d.test.class_counts(k),
                files: d.files,
                origin: d.origin,
            })
        }
        Err(DataError::NotFound { looked, obtain, .. }) => {
            Status::NotFound(format!("looked in {looked}; {obtain}"))
        }
        Err(e) => Status::Invalid(e),
    }
}

/// Class counts in a few words: `6000 each` when equal, the list when short, else the range.
pub fn describe_counts(counts: &[usize]) -> String {
    match (counts.iter().min(), counts.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => format!("{lo} each"),
        (Some(lo), Some(hi)) if counts.len() > 20 => format!("{lo} to {hi}"),
        (Some(_), Some(_)) => format!("{counts:?}"),
        _ => "no classes".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testdata::TempDir;

    #[test]
    fn an_empty_directory_has_only_the_built_in_sets() {
        let tmp = TempDir::new("check-empty");
        let report = check_all(&Search::only(&tmp.0));
        assert_eq!(report.len(), DatasetName::ALL.len());
        for c in &report {
            match (&c.status, c.name.needs_files()) {
                (Status::Found(s), false) => assert!(s.n_train > 0 && s.n_test > 0),
                (Status::NotFound(why), true) => {
                    assert!(why.contains(&*tmp.0.to_string_lossy()), "{why}")
                }
                (other, _) => panic!("{}: {other:?}", c.name),
            }
        }
        assert_eq!(describe_counts(&[3, 3]), "3 each");
        assert_eq!(describe_counts(&[3, 4]), "[3, 4]");
        assert_eq!(describe_counts(&(0..30).collect::<Vec<_>>()), "0 to 29");
    }
}
