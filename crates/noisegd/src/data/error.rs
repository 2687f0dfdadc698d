//! The one error type of the data readers and generators ([`DataError`]).
//!
//! Every variant that concerns a file names the file's path first, then the problem, with the
//! expected and the found value where there are two, e.g.
//! `…/train-images-idx3-ubyte.gz: truncated: header says 60000 images of 28×28 (47040016 bytes),
//! decompressed content has 1200 bytes`.

use std::path::PathBuf;

/// Anything a data reader or generator can refuse. None of the readers panics on bad input.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read (other than "not found", see [`DataError::Missing`]).
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file the data set needs does not exist.
    #[error("{}: file not found; expected layout: {layout}", path.display())]
    Missing {
        /// The file that was looked for.
        path: PathBuf,
        /// The directory layout the reader expects.
        layout: String,
    },
    /// The file (or its decompressed content) has no bytes at all.
    #[error("{}: empty file (0 bytes)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file starts like gzip (1f 8b) but does not decompress.
    #[error("{}: cannot decompress (gzip): {message}", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's complaint.
        message: String,
    },
    /// The magic number (first 4 bytes of an IDX file) is not the expected one.
    #[error("{}: bad magic number: expected {expected}, found {found}", path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The expected magic and what it means.
        expected: String,
        /// The magic found (hex) and, when recognizable, what it means.
        found: String,
    },
    /// A header field (dimension, dtype, …) is invalid.
    #[error("{}: bad header: {message}", path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong, with expected vs found.
        message: String,
    },
    /// The content is shorter than its header (or the record layout) says.
    #[error("{}: truncated: {expected}, {found}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What the header promises, e.g. `header says 60000 images of 28×28 (47040016 bytes)`.
        expected: String,
        /// What is there, e.g. `file has 1200 bytes`.
        found: String,
    },
    /// The content is longer than its header says.
    #[error("{}: trailing bytes: {expected}, {found}", path.display())]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// What the header promises.
        expected: String,
        /// What is there.
        found: String,
    },
    /// The images do not have the shape the caller asked for.
    #[error("{}: wrong image shape: expected {expected}, found {found}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The expected `rows×cols`.
        expected: String,
        /// The `rows×cols` in the header.
        found: String,
    },
    /// A label is not below the number of classes.
    #[error(
        "{}: {kind} label {label} of record {index} is out of range: expected < {num_classes}",
        path.display()
    )]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// `class`, `coarse` or `fine`.
        kind: &'static str,
        /// 0-based record index.
        index: usize,
        /// The label found.
        label: u8,
        /// The number of classes.
        num_classes: usize,
    },
    /// An image file and its label file hold different numbers of records.
    #[error(
        "{} and {}: count mismatch: {images} images but {labels} labels",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A class-name list has the wrong number of names.
    #[error("{}: expected {expected} class names (one per line), found {found}", path.display())]
    ClassNames {
        /// The file.
        path: PathBuf,
        /// Expected number of names.
        expected: usize,
        /// Number of non-empty lines found.
        found: usize,
    },
    /// A CSV table is malformed; `location` says where, e.g. ``line 7, column 3 (`age`)``.
    #[error("{}, {location}: {message}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line, and column (number and name) where there is one.
        location: String,
        /// What is wrong, with the offending cell and the fix.
        message: String,
    },
    /// A data set's directory is in none of the places it is looked for.
    #[error("{dataset}: not found: looked in {looked}; {obtain}")]
    NotFound {
        /// The data set's name, e.g. `fashion_mnist`.
        dataset: &'static str,
        /// The directories looked at (or why there was nowhere to look).
        looked: String,
        /// Where the data set can be obtained and how to lay it out.
        obtain: String,
    },
    /// A data set was found, but one of its files is missing or invalid: the reader's error, then
    /// where a good copy can be obtained.
    #[error("{inner}; {obtain}")]
    InDataset {
        /// The reader's error, which names the file.
        inner: Box<DataError>,
        /// Where the data set can be obtained and how to lay it out.
        obtain: String,
    },
    /// An image file that does not decode, or does not fit the others.
    #[error("{}: {message}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// The decoder's complaint, or what differs.
        message: String,
    },
    /// A regression target that does not vary: there is nothing to fit.
    #[error("{source_name}: the target column `{target}` is constant on the {rows} training rows (every value is {value}): there is nothing to regress; name another column with `data.target`, or check the file")]
    ConstantTarget {
        /// Where the table came from.
        source_name: String,
        /// The target column's name.
        target: String,
        /// Training rows.
        rows: usize,
        /// Its one value.
        value: f64,
    },
    /// A generator configuration value is out of its allowed range.
    #[error("invalid value for `{field}`: {message}")]
    Config {
        /// The configuration field, e.g. `train_split`.
        field: &'static str,
        /// What was found and what is allowed.
        message: String,
    },
}

impl DataError {
    /// [`DataError::Io`], or [`DataError::Missing`] when the OS says "not found".
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error, layout: &str) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::Missing {
                path,
                layout: layout.to_string(),
            }
        } else {
            DataError::Io { path, source }
        }
    }

    /// Shorthand for [`DataError::Config`].
    pub(crate) fn config(field: &'static str, message: impl Into<String>) -> Self {
        DataError::Config {
            field,
            message: message.into(),
        }
    }
}
