//! IDX readers for MNIST, Fashion-MNIST, KMNIST and every data set in their layout.
//!
//! An IDX file is a big-endian header, `00 00 <dtype> <ndims>` then `ndims` u32 dimensions,
//! followed by the row-major data. Images are `0x00000803` (`u8`, 3 dims `n × rows × cols`),
//! labels `0x00000801` (`u8`, 1 dim `n`). Files may be gzip-compressed; compression is detected
//! from the magic bytes `1f 8b`, not from the name.
//!
//! The readers check everything and never panic on bad input: magic, dtype, dimensions (and a
//! shape the caller expects), an exact length (header + data, no truncation, no trailing bytes),
//! labels below the number of classes, equal counts in an image/label pair. They never allocate
//! from an unchecked header: the buffer is sized from what the file can really hold (its length,
//! or for gzip the ISIZE trailer bounded by deflate's maximal ratio), and the decoder is capped at
//! one byte past what the header promises. The SHA-256 of the decompressed content is compared
//! with the official files ([`Checksum`]); copies that differ are accepted.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;
use sha2::{Digest, Sha256};

pub use super::error::DataError;

/// Magic number of an IDX image file (`u8` data, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX label file (`u8` data, 1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// SHA-256 of the decompressed official files this reader recognizes.
///
/// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), as published by Zalando and shipped by Debian's
/// `dataset-fashion-mnist`. (MNIST's hashes are not listed: only hashes verified against the
/// official files belong here.)
pub const KNOWN_SHA256: &[(&str, &str)] = &[
    (
        "fashion-mnist/train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    (
        "fashion-mnist/train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    (
        "fashion-mnist/t10k-images-idx3-ubyte",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    (
        "fashion-mnist/t10k-labels-idx1-ubyte",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
];

/// Whether a file's decompressed content is one of the [`KNOWN_SHA256`] official files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// Identical to the named official file (e.g. `fashion-mnist/t10k-images-idx3-ubyte`).
    Official(&'static str),
    /// A valid file that is not a known official one (a subset, another data set in the same
    /// layout, a re-encoded copy); the SHA-256 of its decompressed content, lowercase hex.
    UnknownCopy(String),
}

impl Checksum {
    fn of(content_hash: [u8; 32]) -> Self {
        let hex: String = content_hash.iter().map(|b| format!("{b:02x}")).collect();
        match KNOWN_SHA256.iter().find(|(_, h)| *h == hex) {
            Some((name, _)) => Checksum::Official(name),
            None => Checksum::UnknownCopy(hex),
        }
    }

    /// `true` for [`Checksum::Official`].
    pub fn is_official(&self) -> bool {
        matches!(self, Checksum::Official(_))
    }
}

/// Images of an IDX3 file: `n` images of `rows × cols` bytes, row-major, image after image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub n: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `n · rows · cols` pixel bytes.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Pixels of image `i` (`rows · cols` bytes). Panics if `i ≥ n`.
    pub fn image(&self, i: usize) -> &[u8] {
        let sz = self.rows * self.cols;
        &self.pixels[i * sz..(i + 1) * sz]
    }
}

/// An image file and its label file, checked against each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledImages {
    /// The images.
    pub images: IdxImages,
    /// One label per image, each `< num_classes`.
    pub labels: Vec<u8>,
    /// The number of classes the labels were checked against.
    pub num_classes: usize,
    /// Checksum of the image file.
    pub images_checksum: Checksum,
    /// Checksum of the label file.
    pub labels_checksum: Checksum,
}

/// Layout hint printed when a file is missing.
const IDX_LAYOUT: &str = "an IDX file such as train-images-idx3-ubyte or \
    train-images-idx3-ubyte.gz (MNIST / Fashion-MNIST / KMNIST layout)";

/// Reads an IDX3 image file (raw or gzip) of any shape.
pub fn read_images(path: impl AsRef<Path>) -> Result<(IdxImages, Checksum), DataError> {
    read_images_with_shape(path, None)
}

/// Reads an IDX3 image file (raw or gzip); with `expected = Some((rows, cols))` a different image
/// shape is an error.
pub fn read_images_with_shape(
    path: impl AsRef<Path>,
    expected: Option<(usize, usize)>,
) -> Result<(IdxImages, Checksum), DataError> {
    let path = path.as_ref();
    let (dims, pixels, checksum) = read_idx(path, Kind::Images, expected)?;
    Ok((images_from(dims, pixels), checksum))
}

/// [`read_images_with_shape`] on the bytes of a file held in memory (e.g. compiled in with
/// `include_bytes!`); `name` stands for the file in error messages.
pub fn read_images_from_bytes(
    name: impl AsRef<Path>,
    bytes: &[u8],
    expected: Option<(usize, usize)>,
) -> Result<(IdxImages, Checksum), DataError> {
    let name = name.as_ref();
    let source = io::Cursor::new(bytes);
    let (dims, pixels, checksum) =
        read_idx_source(name, source, bytes.len() as u64, Kind::Images, expected)?;
    Ok((images_from(dims, pixels), checksum))
}

/// [`read_labels`] on the bytes of a file held in memory; `name` stands for the file in errors.
pub fn read_labels_from_bytes(
    name: impl AsRef<Path>,
    bytes: &[u8],
    num_classes: usize,
) -> Result<(Vec<u8>, Checksum), DataError> {
    let name = name.as_ref();
    check_num_classes(num_classes)?;
    let source = io::Cursor::new(bytes);
    let (_, labels, checksum) =
        read_idx_source(name, source, bytes.len() as u64, Kind::Labels, None)?;
    check_labels(name, &labels, num_classes)?;
    Ok((labels, checksum))
}

fn images_from(dims: Vec<usize>, pixels: Vec<u8>) -> IdxImages {
    IdxImages {
        n: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    }
}

/// Reads an IDX1 label file (raw or gzip); every label must be `< num_classes` (1 ..= 256).
pub fn read_labels(
    path: impl AsRef<Path>,
    num_classes: usize,
) -> Result<(Vec<u8>, Checksum), DataError> {
    let path = path.as_ref();
    check_num_classes(num_classes)?;
    let (_, labels, checksum) = read_idx(path, Kind::Labels, None)?;
    check_labels(path, &labels, num_classes)?;
    Ok((labels, checksum))
}

fn check_num_classes(num_classes: usize) -> Result<(), DataError> {
    if num_classes == 0 || num_classes > 256 {
        return Err(DataError::config(
            "num_classes",
            format!("{num_classes} is not in 1 ..= 256 (labels are bytes)"),
        ));
    }
    Ok(())
}

/// Every label `< num_classes`, else the first one that is not.
fn check_labels(path: &Path, labels: &[u8], num_classes: usize) -> Result<(), DataError> {
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= num_classes)
    {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            kind: "class",
            index,
            label,
            num_classes,
        });
    }
    Ok(())
}

/// Reads an image file and its label file and checks that they hold the same number of records.
pub fn load_pair(
    images_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
    num_classes: usize,
) -> Result<LabeledImages, DataError> {
    load_pair_with_shape(images_path, labels_path, num_classes, None)
}

/// [`load_pair`] with an expected image shape `(rows, cols)`.
pub fn load_pair_with_shape(
    images_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
    num_classes: usize,
    expected: Option<(usize, usize)>,
) -> Result<LabeledImages, DataError> {
    let (images_path, labels_path) = (images_path.as_ref(), labels_path.as_ref());
    // Labels first: they are small, so a wrong pair fails fast.
    let (labels, labels_checksum) = read_labels(labels_path, num_classes)?;
    let (images, images_checksum) = read_images_with_shape(images_path, expected)?;
    if images.n != labels.len() {
        return Err(DataError::CountMismatch {
            images_path: images_path.to_path_buf(),
            labels_path: labels_path.to_path_buf(),
            images: images.n,
            labels: labels.len(),
        });
    }
    Ok(LabeledImages {
        images,
        labels,
        num_classes,
        images_checksum,
        labels_checksum,
    })
}

/// A data set directory in the MNIST layout: the train and test pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxDataset {
    /// `train-images-idx3-ubyte[.gz]` + `train-labels-idx1-ubyte[.gz]`.
    pub train: LabeledImages,
    /// `t10k-images-idx3-ubyte[.gz]` + `t10k-labels-idx1-ubyte[.gz]`.
    pub test: LabeledImages,
}

/// Loads `dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` (the MNIST / Fashion-MNIST /
/// KMNIST layout; each file raw or gzip). A missing file is reported with the expected layout.
pub fn load_dir(
    dir: impl AsRef<Path>,
    num_classes: usize,
    expected: Option<(usize, usize)>,
) -> Result<IdxDataset, DataError> {
    let dir = dir.as_ref();
    let find = |stem: &str| find_in_dir(dir, stem);
    let train = load_pair_with_shape(
        find("train-images-idx3-ubyte")?,
        find("train-labels-idx1-ubyte")?,
        num_classes,
        expected,
    )?;
    let test = load_pair_with_shape(
        find("t10k-images-idx3-ubyte")?,
        find("t10k-labels-idx1-ubyte")?,
        num_classes,
        expected,
    )?;
    Ok(IdxDataset { train, test })
}

/// `dir/stem` if it is a file, else `dir/stem.gz`; a missing file is reported with the layout
/// of an MNIST-style directory.
pub fn find_in_dir(dir: &Path, stem: &str) -> Result<PathBuf, DataError> {
    let raw = dir.join(stem);
    let gz = dir.join(format!("{stem}.gz"));
    if raw.is_file() {
        Ok(raw)
    } else if gz.is_file() {
        Ok(gz)
    } else {
        Err(DataError::Missing {
            path: gz,
            layout: format!(
                "{}/{{train-images-idx3-ubyte, train-labels-idx1-ubyte, \
                 t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte}}, each raw or .gz",
                dir.display()
            ),
        })
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Images,
    Labels,
}

impl Kind {
    fn ndims(self) -> usize {
        match self {
            Kind::Images => 3,
            Kind::Labels => 1,
        }
    }
    fn magic(self) -> u32 {
        match self {
            Kind::Images => IMAGES_MAGIC,
            Kind::Labels => LABELS_MAGIC,
        }
    }
    fn describe_expected(self) -> String {
        match self {
            Kind::Images => "0x00000803 (IDX u8 images, 3 dimensions)".into(),
            Kind::Labels => "0x00000801 (IDX u8 labels, 1 dimension)".into(),
        }
    }
    fn describe_dims(self, dims: &[usize]) -> String {
        match self {
            Kind::Images => format!("{} images of {}×{}", dims[0], dims[1], dims[2]),
            Kind::Labels => format!("{} labels", dims[0]),
        }
    }
}

/// Describes a magic number that is not the expected one.
fn describe_magic(m: [u8; 4]) -> String {
    let hex = format!("0x{:08x}", u32::from_be_bytes(m));
    let what = match m {
        [0, 0, 0x08, 3] => " (IDX u8 images)",
        [0, 0, 0x08, 1] => " (IDX u8 labels)",
        [0, 0, _, _] => " (IDX header of another type)",
        [0x1f, 0x8b, _, _] => " (gzip inside gzip?)",
        _ => " (not an IDX file)",
    };
    format!("{hex}{what}")
}

fn dtype_name(b: u8) -> &'static str {
    match b {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => "unknown",
    }
}

/// Deflate cannot expand by more than about 1032:1.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Reads as many bytes as possible into `buf` (stops at EOF); returns how many.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The whole IDX reading path: returns the dimensions, the data (without header) and the checksum.
fn read_idx(
    path: &Path,
    kind: Kind,
    expected_shape: Option<(usize, usize)>,
) -> Result<(Vec<usize>, Vec<u8>, Checksum), DataError> {
    let io_err = |e: io::Error| DataError::io(path, e, IDX_LAYOUT);
    let file = File::open(path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    read_idx_source(path, file, file_len, kind, expected_shape)
}

/// [`read_idx`] on any seekable source of `file_len` bytes; `path` names it in errors.
fn read_idx_source<'a, R: Read + Seek + 'a>(
    path: &Path,
    mut file: R,
    file_len: u64,
    kind: Kind,
    expected_shape: Option<(usize, usize)>,
) -> Result<(Vec<usize>, Vec<u8>, Checksum), DataError> {
    let p = || path.to_path_buf();
    let io_err = |e: io::Error| DataError::io(path, e, IDX_LAYOUT);
    if file_len == 0 {
        return Err(DataError::Empty { path: p() });
    }

    // gzip? (magic 1f 8b) — and its ISIZE trailer (decompressed length mod 2^32) as a size hint.
    let mut head = [0u8; 2];
    let got = read_full(&mut file, &mut head).map_err(io_err)?;
    let gzip = got == 2 && head == [0x1f, 0x8b];
    let isize_hint = if gzip && file_len >= 18 {
        let mut t = [0u8; 4];
        file.seek(SeekFrom::End(-4)).map_err(io_err)?;
        read_full(&mut file, &mut t).map_err(io_err)?;
        Some(u32::from_le_bytes(t) as u64)
    } else {
        None
    };
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let buffered = BufReader::with_capacity(1 << 16, file);
    let mut reader: Box<dyn Read + 'a> = if gzip {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    // Read errors: for gzip, a decoding problem; otherwise an I/O problem.
    let read_err = |e: io::Error| {
        if gzip {
            DataError::Gzip {
                path: p(),
                message: e.to_string(),
            }
        } else {
            DataError::Io {
                path: p(),
                source: e,
            }
        }
    };
    let has = |n: u64| {
        if gzip {
            format!("decompressed content has {n} bytes")
        } else {
            format!("file has {n} bytes")
        }
    };

    // Header.
    let ndims = kind.ndims();
    let header_len = 4 + 4 * ndims;
    let mut header = vec![0u8; header_len];
    let got = read_full(&mut reader, &mut header).map_err(read_err)?;
    if got == 0 {
        return Err(DataError::Empty { path: p() });
    }
    if got >= 4 {
        let m = [header[0], header[1], header[2], header[3]];
        if m[0] != 0 || m[1] != 0 || m[3] as usize != ndims {
            return Err(DataError::BadMagic {
                path: p(),
                expected: kind.describe_expected(),
                found: describe_magic(m),
            });
        }
        if m[2] != 0x08 {
            return Err(DataError::BadHeader {
                path: p(),
                message: format!(
                    "data type byte 0x{:02x} ({}), expected 0x08 (unsigned byte)",
                    m[2],
                    dtype_name(m[2])
                ),
            });
        }
    }
    if got < header_len {
        return Err(DataError::Truncated {
            path: p(),
            expected: format!("an IDX header of {ndims} dimension(s) needs {header_len} bytes"),
            found: has(got as u64),
        });
    }
    debug_assert_eq!(
        u32::from_be_bytes(header[..4].try_into().unwrap()),
        kind.magic()
    );
    let dims: Vec<usize> = header[4..]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()) as usize)
        .collect();
    let names = match kind {
        Kind::Images => &["images", "rows", "columns"][..],
        Kind::Labels => &["labels"][..],
    };
    if let Some(i) = dims.iter().position(|&d| d == 0) {
        return Err(DataError::BadHeader {
            path: p(),
            message: format!(
                "header says 0 {} (dimensions {:?}), expected ≥ 1",
                names[i], dims
            ),
        });
    }
    if let (Kind::Images, Some((r, c))) = (kind, expected_shape) {
        if (dims[1], dims[2]) != (r, c) {
            return Err(DataError::Shape {
                path: p(),
                expected: format!("{r}×{c}"),
                found: format!("{}×{}", dims[1], dims[2]),
            });
        }
    }

    // Exact length: header + product of the dimensions (u128: cannot overflow).
    let payload: u128 = dims.iter().map(|&d| d as u128).product();
    let expected_total = header_len as u128 + payload;
    let claim = || {
        format!(
            "header says {} ({expected_total} bytes)",
            kind.describe_dims(&dims)
        )
    };
    // What the file can really hold, to size the buffer (never the header's claim alone).
    let can_hold: u64 = if gzip {
        let bound = file_len.saturating_mul(MAX_DEFLATE_RATIO);
        match isize_hint {
            // ISIZE is the length mod 2^32: trust it only as a lower bound of a multiple.
            Some(isz) if isz >= header_len as u64 => (isz - header_len as u64).min(bound),
            _ => bound.min(1 << 24),
        }
    } else {
        if (file_len as u128) < expected_total {
            return Err(DataError::Truncated {
                path: p(),
                expected: claim(),
                found: has(file_len),
            });
        }
        if (file_len as u128) > expected_total {
            return Err(DataError::TrailingBytes {
                path: p(),
                expected: claim(),
                found: format!(
                    "{} ({} extra)",
                    has(file_len),
                    file_len as u128 - expected_total
                ),
            });
        }
        file_len - header_len as u64
    };
    if gzip && payload > (file_len as u128) * MAX_DEFLATE_RATIO as u128 {
        // Impossible to decompress to that much: count what is really there (no allocation).
        let n = io::copy(&mut reader, &mut io::sink()).map_err(read_err)?;
        return Err(DataError::Truncated {
            path: p(),
            expected: claim(),
            found: has(header_len as u64 + n),
        });
    }
    let payload = payload as u64; // ≤ 1032 · file length here
    let mut data: Vec<u8> = Vec::new();
    // If the reservation fails, the vector grows only as real data arrives.
    let _ = data.try_reserve_exact(payload.min(can_hold) as usize);
    (&mut reader)
        .take(payload + 1)
        .read_to_end(&mut data)
        .map_err(read_err)?;
    let got = data.len() as u64;
    if got < payload {
        return Err(DataError::Truncated {
            path: p(),
            expected: claim(),
            found: has(header_len as u64 + got),
        });
    }
    if got > payload {
        let rest = io::copy(&mut reader, &mut io::sink()).map_err(read_err)?;
        let total = header_len as u64 + got + rest;
        return Err(DataError::TrailingBytes {
            path: p(),
            expected: claim(),
            found: format!("{} ({} extra)", has(total), total as u128 - expected_total),
        });
    }

    let mut h = Sha256::new();
    h.update(&header);
    h.update(&data);
    let checksum = Checksum::of(h.finalize().into());
    Ok((dims, data, checksum))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testdata::shared_test_path;
    use std::io::Write;

    /// A fresh temporary directory (removed on drop), without a tempfile dependency.
    pub(crate) struct TempDir(pub PathBuf);
    impl TempDir {
        pub(crate) fn new(tag: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let d = std::env::temp_dir()
                .join(format!("noisegd-test-{tag}-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            TempDir(d)
        }
        pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn images_file(n: u32, rows: u32, cols: u32, pixels: usize) -> Vec<u8> {
        let mut v = IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [n, rows, cols] {
            v.extend(d.to_be_bytes());
        }
        v.extend((0..pixels).map(|i| (i % 251) as u8));
        v
    }

    fn labels_file(labels: &[u8]) -> Vec<u8> {
        let mut v = LABELS_MAGIC.to_be_bytes().to_vec();
        v.extend((labels.len() as u32).to_be_bytes());
        v.extend(labels);
        v
    }

    /// The error's message names the file and contains every `needle`.
    fn assert_err(r: Result<impl std::fmt::Debug, DataError>, path: &Path, needles: &[&str]) {
        let e = r.expect_err("expected an error");
        let msg = e.to_string();
        eprintln!("  error: {msg}");
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(msg.contains(&*name), "message does not name {name}: {msg}");
        for n in needles {
            assert!(msg.contains(n), "message lacks {n:?}: {msg}");
        }
    }

    #[test]
    fn fixtures_load_with_counts_labels_and_checksums() {
        let Some(dir) =
            shared_test_path("fixtures", "fixtures_load_with_counts_labels_and_checksums")
        else {
            return;
        };
        let cases = [
            (
                "fashion-mnist-t10k-first100",
                100,
                [9, 2, 1, 1, 6, 1, 4, 6, 5, 7],
            ),
            (
                "fashion-mnist-t10k-first1000",
                1000,
                [9, 2, 1, 1, 6, 1, 4, 6, 5, 7],
            ),
            (
                "fashion-mnist-train-first2000",
                2000,
                [9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
            ),
            ("mnist-t10k-first100", 100, [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]),
            ("mnist-t10k-first1000", 1000, [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]),
        ];
        for (prefix, n, first) in cases {
            let t0 = std::time::Instant::now();
            let li = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
            let ll = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
            let pair = load_pair_with_shape(&li, &ll, 10, Some((28, 28))).unwrap();
            eprintln!("{prefix}: {n} images in {:?}", t0.elapsed());
            assert_eq!(pair.images.n, n);
            assert_eq!((pair.images.rows, pair.images.cols), (28, 28));
            assert_eq!(pair.images.pixels.len(), n * 784);
            assert_eq!(pair.labels.len(), n);
            assert_eq!(&pair.labels[..10], &first);
            assert!(pair.labels.iter().all(|&l| l < 10));
            assert!(pair.images.pixels.iter().any(|&p| p > 0));
            // prefixes of the official files are valid copies, not the official files
            assert!(matches!(&pair.images_checksum, Checksum::UnknownCopy(h) if h.len() == 64));
            assert!(matches!(&pair.labels_checksum, Checksum::UnknownCopy(h) if h.len() == 64));
            // wrong expected shape
            assert_err(
                load_pair_with_shape(&li, &ll, 10, Some((32, 32))),
                &li,
                &["32×32", "28×28"],
            );
            // labels with too few classes
            assert_err(read_labels(&ll, 5), &ll, &["out of range", "< 5"]);
            // images read as labels and vice versa
            assert_err(read_labels(&li, 10), &li, &["bad magic", "0x00000803"]);
            assert_err(read_images(&ll), &ll, &["bad magic", "0x00000801"]);
        }
        // gz prefix of 100 equals the first 100 of the 1000
        let a = read_images(dir.join("fashion-mnist-t10k-first100-images-idx3-ubyte.gz")).unwrap();
        let b = read_images(dir.join("fashion-mnist-t10k-first1000-images-idx3-ubyte.gz")).unwrap();
        assert_eq!(a.0.pixels[..], b.0.pixels[..100 * 784]);
        // the same content, uncompressed, reads identically (gzip detected by magic, not name)
        let tmp = TempDir::new("idx-raw");
        let mut raw = Vec::new();
        MultiGzDecoder::new(io::BufReader::new(
            File::open(dir.join("fashion-mnist-t10k-first100-images-idx3-ubyte.gz")).unwrap(),
        ))
        .read_to_end(&mut raw)
        .unwrap();
        let p = tmp.write("renamed.gz", &raw); // raw content with a misleading name
        let c = read_images(&p).unwrap();
        assert_eq!(c, a);
        let pair_mismatch = load_pair(
            dir.join("fashion-mnist-t10k-first100-images-idx3-ubyte.gz"),
            dir.join("fashion-mnist-t10k-first1000-labels-idx1-ubyte.gz"),
            10,
        );
        assert_err(
            pair_mismatch,
            Path::new("first100-images"),
            &["100 images but 1000 labels"],
        );
    }

    /// The full official Fashion-MNIST, where installed (`apt-get install dataset-fashion-mnist`).
    #[test]
    fn full_fashion_mnist_if_installed() {
        let dir = std::env::var_os("NOISEGD_FASHION_MNIST")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/share/datasets/fashion-mnist"));
        if !dir.join("train-images-idx3-ubyte.gz").is_file() {
            eprintln!("SKIP full_fashion_mnist_if_installed: no {}", dir.display());
            return;
        }
        let t0 = std::time::Instant::now();
        let d = load_dir(&dir, 10, Some((28, 28))).unwrap();
        eprintln!(
            "full Fashion-MNIST (60000 + 10000) loaded in {:?}",
            t0.elapsed()
        );
        assert_eq!((d.train.images.n, d.test.images.n), (60_000, 10_000));
        for c in [
            &d.train.images_checksum,
            &d.train.labels_checksum,
            &d.test.images_checksum,
            &d.test.labels_checksum,
        ] {
            assert!(c.is_official(), "{c:?}");
        }
        assert_eq!(
            d.train.images_checksum,
            Checksum::Official("fashion-mnist/train-images-idx3-ubyte")
        );
        assert_eq!(&d.test.labels[..10], &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    }

    #[test]
    fn corrupt_files_are_errors_naming_the_file() {
        let tmp = TempDir::new("idx-corrupt");
        let good = images_file(3, 4, 5, 60);
        let p = tmp.write("good-images", &good);
        let (img, ck) = read_images(&p).unwrap();
        assert_eq!((img.n, img.rows, img.cols), (3, 4, 5));
        assert_eq!(img.image(2), &good[16 + 40..]);
        assert!(matches!(ck, Checksum::UnknownCopy(_)));
        let pg = tmp.write("good-images.bin", &gz(&good));
        assert_eq!(read_images(&pg).unwrap().0, img);

        // truncated (raw and gzip)
        let p = tmp.write("trunc-images", &good[..50]);
        assert_err(
            read_images(&p),
            &p,
            &[
                "truncated",
                "header says 3 images of 4×5 (76 bytes)",
                "file has 50 bytes",
            ],
        );
        let p = tmp.write("trunc-images.gz", &gz(&good[..50]));
        assert_err(
            read_images(&p),
            &p,
            &[
                "truncated",
                "(76 bytes)",
                "decompressed content has 50 bytes",
            ],
        );
        // truncated inside the header
        let p = tmp.write("trunc-header", &good[..10]);
        assert_err(read_images(&p), &p, &["truncated", "16 bytes", "10 bytes"]);
        // trailing bytes (raw and gzip)
        let mut long = good.clone();
        long.extend([1, 2, 3]);
        let p = tmp.write("trailing-images", &long);
        assert_err(
            read_images(&p),
            &p,
            &["trailing", "(76 bytes)", "79 bytes", "3 extra"],
        );
        let p = tmp.write("trailing-images.gz", &gz(&long));
        assert_err(read_images(&p), &p, &["trailing", "79 bytes", "3 extra"]);
        // wrong magic
        let mut bad = good.clone();
        bad[0] = 0x12;
        let p = tmp.write("magic-images", &bad);
        assert_err(
            read_images(&p),
            &p,
            &["bad magic", "expected 0x00000803", "found 0x12000803"],
        );
        // wrong dtype (f32)
        let mut bad = good.clone();
        bad[2] = 0x0D;
        let p = tmp.write("dtype-images", &bad);
        assert_err(read_images(&p), &p, &["data type", "0x0d", "expected 0x08"]);
        // zero dimensions
        for (i, what) in [(1usize, "0 images"), (2, "0 rows"), (3, "0 columns")] {
            let mut bad = good.clone();
            bad[4 + 4 * i - 4..4 + 4 * i].copy_from_slice(&0u32.to_be_bytes());
            let p = tmp.write(&format!("zero-dim-{i}"), &bad);
            assert_err(read_images(&p), &p, &[what]);
        }
        // empty (raw, and gzip of nothing)
        let p = tmp.write("empty-images", &[]);
        assert_err(read_images(&p), &p, &["empty"]);
        let p = tmp.write("empty-images.gz", &gz(&[]));
        assert_err(read_images(&p), &p, &["empty"]);
        // missing
        let p = tmp.0.join("missing-images-idx3-ubyte");
        assert_err(read_images(&p), &p, &["not found", "IDX"]);
        // huge claimed size: 4e9 images of 255×255 (raw and gzip) — no allocation, just an error
        let huge = images_file(4_000_000_000, 255, 255, 1200);
        let p = tmp.write("huge-images", &huge);
        assert_err(
            read_images(&p),
            &p,
            &[
                "truncated",
                "4000000000 images of 255×255",
                "file has 1216 bytes",
            ],
        );
        let p = tmp.write("huge-images.gz", &gz(&huge));
        assert_err(
            read_images(&p),
            &p,
            &[
                "truncated",
                "4000000000 images",
                "decompressed content has 1216 bytes",
            ],
        );
        // large but deflate-plausible claim with little real data (all zeros compress well)
        let mut zeros = images_file(100_000, 28, 28, 0);
        zeros.extend(vec![0u8; 1 << 20]);
        let p = tmp.write("zeros-images.gz", &gz(&zeros));
        assert_err(
            read_images(&p),
            &p,
            &["truncated", "78400016 bytes", "1048592 bytes"],
        );
        // corrupt gzip: flipped bytes in the deflate data, and a cut stream
        let mut z = gz(&images_file(50, 28, 28, 50 * 784));
        let mid = z.len() / 2;
        for b in &mut z[mid..mid + 16] {
            *b ^= 0x5a;
        }
        let p = tmp.write("corrupt-images.gz", &z);
        assert_err(read_images(&p), &p, &[]);
        let z = gz(&images_file(50, 28, 28, 50 * 784));
        let p = tmp.write("cut-images.gz", &z[..z.len() / 2]);
        assert_err(read_images(&p), &p, &[]);
        let mut z = gz(&good);
        let n = z.len();
        z[n - 6] ^= 0xff; // CRC
        let p = tmp.write("crc-images.gz", &z);
        assert_err(read_images(&p), &p, &["gzip"]);
        // a gzip header only
        let p = tmp.write("gzheader.gz", &[0x1f, 0x8b]);
        assert_err(read_images(&p), &p, &[]);

        // labels
        let p = tmp.write("labels", &labels_file(&[0, 1, 2, 9]));
        assert_eq!(read_labels(&p, 10).unwrap().0, vec![0, 1, 2, 9]);
        let p = tmp.write("bad-labels", &labels_file(&[0, 1, 12, 3]));
        assert_err(read_labels(&p, 10), &p, &["label 12 of record 2", "< 10"]);
        let mut lf = labels_file(&[1, 2, 3]);
        lf.truncate(10);
        let p = tmp.write("trunc-labels", &lf);
        assert_err(
            read_labels(&p, 10),
            &p,
            &["truncated", "3 labels (11 bytes)", "10 bytes"],
        );
        let p = tmp.write("labels-as-images", &labels_file(&[1, 2, 3]));
        assert_err(read_images(&p), &p, &["bad magic", "0x00000801"]);
        assert!(matches!(read_labels(&p, 0), Err(DataError::Config { .. })));
        let mut lf = labels_file(&[1, 2, 3]);
        lf[3] = 2;
        let p = tmp.write("dims-labels", &lf);
        assert_err(read_labels(&p, 10), &p, &["bad magic", "0x00000802"]);

        // count mismatch in a pair
        let pi = tmp.write("pair-images", &images_file(3, 2, 2, 12));
        let pl = tmp.write("pair-labels", &labels_file(&[1, 2]));
        assert_err(
            load_pair(&pi, &pl, 10),
            &pi,
            &["pair-labels", "3 images but 2 labels"],
        );
        let pl3 = tmp.write("pair-labels3", &labels_file(&[1, 2, 3]));
        let ok = load_pair(&pi, &pl3, 10).unwrap();
        assert_eq!(ok.labels, vec![1, 2, 3]);

        // load_dir: missing file names the layout
        let e = load_dir(&tmp.0, 10, None).unwrap_err().to_string();
        assert!(
            e.contains("train-images-idx3-ubyte") && e.contains("not found"),
            "{e}"
        );
    }
}
