//! CIFAR-10 and CIFAR-100 readers for the official "binary version" files.
//!
//! - CIFAR-10 record: 1 label byte (`< 10`) + 3072 pixel bytes: the 32×32 red plane, then green,
//!   then blue, each row-major. Files `cifar-10-batches-bin/{data_batch_1..5.bin, test_batch.bin,
//!   batches.meta.txt}`.
//! - CIFAR-100 record: 1 coarse label (`< 20`) + 1 fine label (`< 100`) + the same 3072 bytes.
//!   Files `cifar-100-binary/{train.bin, test.bin, coarse_label_names.txt, fine_label_names.txt}`.
//!
//! Each file must be non-empty and a whole number of records; labels are range-checked. Errors
//! name the file, and a missing file also the layout that was expected.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::error::DataError;

/// Bytes of one 32×32 RGB image (three 1024-byte planes).
pub const CIFAR_IMAGE_BYTES: usize = 3 * 32 * 32;
/// Side of a CIFAR image.
pub const CIFAR_SIDE: usize = 32;

/// Images and labels of one or more CIFAR files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CifarImages {
    /// Number of images.
    pub n: usize,
    /// `n · 3072` bytes; per image the R, G and B planes of 32×32 (row-major) in that order.
    pub pixels: Vec<u8>,
    /// CIFAR-10: the class (`< 10`); CIFAR-100: the fine label (`< 100`).
    pub labels: Vec<u8>,
    /// CIFAR-100 only: the coarse label (superclass, `< 20`).
    pub coarse_labels: Option<Vec<u8>>,
}

impl CifarImages {
    /// The 3072 bytes of image `i` (R plane, G plane, B plane). Panics if `i ≥ n`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * CIFAR_IMAGE_BYTES..(i + 1) * CIFAR_IMAGE_BYTES]
    }

    fn concat(parts: Vec<CifarImages>) -> CifarImages {
        let n = parts.iter().map(|p| p.n).sum();
        let mut out = CifarImages {
            n,
            pixels: Vec::with_capacity(n * CIFAR_IMAGE_BYTES),
            labels: Vec::with_capacity(n),
            coarse_labels: parts
                .first()
                .and_then(|p| p.coarse_labels.as_ref())
                .map(|_| Vec::with_capacity(n)),
        };
        for p in parts {
            out.pixels.extend_from_slice(&p.pixels);
            out.labels.extend_from_slice(&p.labels);
            if let (Some(c), Some(pc)) = (out.coarse_labels.as_mut(), p.coarse_labels.as_ref()) {
                c.extend_from_slice(pc);
            }
        }
        out
    }
}

/// CIFAR-10: 50 000 training images (5 batches) and 10 000 test images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cifar10 {
    /// `data_batch_1.bin` … `data_batch_5.bin`, in that order.
    pub train: CifarImages,
    /// `test_batch.bin`.
    pub test: CifarImages,
    /// The 10 class names of `batches.meta.txt`, by label.
    pub class_names: Vec<String>,
}

/// CIFAR-100: 50 000 training and 10 000 test images, fine and coarse labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cifar100 {
    /// `train.bin`.
    pub train: CifarImages,
    /// `test.bin`.
    pub test: CifarImages,
    /// The 20 names of `coarse_label_names.txt`, by coarse label.
    pub coarse_names: Vec<String>,
    /// The 100 names of `fine_label_names.txt`, by fine label.
    pub fine_names: Vec<String>,
}

const CIFAR10_DIR: &str = "cifar-10-batches-bin";
const CIFAR100_DIR: &str = "cifar-100-binary";
const CIFAR10_LAYOUT: &str = "cifar-10-batches-bin/{data_batch_1.bin … data_batch_5.bin, \
    test_batch.bin, batches.meta.txt} (the CIFAR-10 binary version, extracted from \
    cifar-10-binary.tar.gz)";
const CIFAR100_LAYOUT: &str = "cifar-100-binary/{train.bin, test.bin, coarse_label_names.txt, \
    fine_label_names.txt} (the CIFAR-100 binary version, extracted from cifar-100-binary.tar.gz)";

#[derive(Clone, Copy)]
enum Variant {
    Cifar10,
    Cifar100,
}

impl Variant {
    fn label_bytes(self) -> usize {
        match self {
            Variant::Cifar10 => 1,
            Variant::Cifar100 => 2,
        }
    }
    fn record(self) -> usize {
        self.label_bytes() + CIFAR_IMAGE_BYTES
    }
    fn layout(self) -> &'static str {
        match self {
            Variant::Cifar10 => CIFAR10_LAYOUT,
            Variant::Cifar100 => CIFAR100_LAYOUT,
        }
    }
    fn record_desc(self) -> &'static str {
        match self {
            Variant::Cifar10 => "1 label byte + 3072 pixel bytes",
            Variant::Cifar100 => "1 coarse + 1 fine label byte + 3072 pixel bytes",
        }
    }
}

/// Reads one CIFAR-10 binary file (`data_batch_*.bin`, `test_batch.bin`).
pub fn read_cifar10_file(path: impl AsRef<Path>) -> Result<CifarImages, DataError> {
    read_file(path.as_ref(), Variant::Cifar10)
}

/// Reads one CIFAR-100 binary file (`train.bin`, `test.bin`).
pub fn read_cifar100_file(path: impl AsRef<Path>) -> Result<CifarImages, DataError> {
    read_file(path.as_ref(), Variant::Cifar100)
}

/// [`read_cifar10_file`] on the bytes of a file held in memory; `name` stands for the file in
/// error messages.
pub fn read_cifar10_bytes(name: impl AsRef<Path>, bytes: &[u8]) -> Result<CifarImages, DataError> {
    parse_records(name.as_ref(), bytes, bytes.len() as u64, Variant::Cifar10)
}

/// [`read_cifar100_file`] on the bytes of a file held in memory; `name` stands for the file in
/// error messages.
pub fn read_cifar100_bytes(name: impl AsRef<Path>, bytes: &[u8]) -> Result<CifarImages, DataError> {
    parse_records(name.as_ref(), bytes, bytes.len() as u64, Variant::Cifar100)
}

/// Loads CIFAR-10 from `dir`, which is either the `cifar-10-batches-bin` folder or its parent.
pub fn load_cifar10(dir: impl AsRef<Path>) -> Result<Cifar10, DataError> {
    let dir = resolve(dir.as_ref(), CIFAR10_DIR);
    let train_files: Vec<PathBuf> = (1..=5)
        .map(|i| dir.join(format!("data_batch_{i}.bin")))
        .collect();
    let test_file = dir.join("test_batch.bin");
    let meta = dir.join("batches.meta.txt");
    // Report a missing file before reading 150 MB.
    for f in train_files.iter().chain([&test_file, &meta]) {
        require(f, Variant::Cifar10)?;
    }
    let class_names = read_names(&meta, 10, Variant::Cifar10)?;
    let train = CifarImages::concat(
        train_files
            .iter()
            .map(read_cifar10_file)
            .collect::<Result<_, _>>()?,
    );
    let test = read_cifar10_file(&test_file)?;
    Ok(Cifar10 {
        train,
        test,
        class_names,
    })
}

/// Loads CIFAR-100 from `dir`, which is either the `cifar-100-binary` folder or its parent.
pub fn load_cifar100(dir: impl AsRef<Path>) -> Result<Cifar100, DataError> {
    let dir = resolve(dir.as_ref(), CIFAR100_DIR);
    let train_file = dir.join("train.bin");
    let test_file = dir.join("test.bin");
    let coarse = dir.join("coarse_label_names.txt");
    let fine = dir.join("fine_label_names.txt");
    for f in [&train_file, &test_file, &coarse, &fine] {
        require(f, Variant::Cifar100)?;
    }
    let coarse_names = read_names(&coarse, 20, Variant::Cifar100)?;
    let fine_names = read_names(&fine, 100, Variant::Cifar100)?;
    let train = read_cifar100_file(&train_file)?;
    let test = read_cifar100_file(&test_file)?;
    Ok(Cifar100 {
        train,
        test,
        coarse_names,
        fine_names,
    })
}

/// `dir/sub` if that is a directory, else `dir`.
fn resolve(dir: &Path, sub: &str) -> PathBuf {
    let inner = dir.join(sub);
    if inner.is_dir() {
        inner
    } else {
        dir.to_path_buf()
    }
}

fn require(path: &Path, v: Variant) -> Result<(), DataError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(DataError::Missing {
            path: path.to_path_buf(),
            layout: v.layout().to_string(),
        })
    }
}

/// Non-empty lines, trimmed; exactly `expected` of them.
fn read_names(path: &Path, expected: usize, v: Variant) -> Result<Vec<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e, v.layout()))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != expected {
        return Err(DataError::ClassNames {
            path: path.to_path_buf(),
            expected,
            found: names.len(),
        });
    }
    Ok(names)
}

fn read_file(path: &Path, v: Variant) -> Result<CifarImages, DataError> {
    let io_err = |e: std::io::Error| DataError::io(path, e, v.layout());
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    parse_records(path, BufReader::with_capacity(1 << 20, file), len, v)
}

/// The records of a file of `len` bytes read from `r`; `path` names it in errors. The buffers are
/// sized from `len` (the real size of the source), never from anything the data claims.
fn parse_records(
    path: &Path,
    mut r: impl Read,
    len: u64,
    v: Variant,
) -> Result<CifarImages, DataError> {
    let io_err = |e: std::io::Error| DataError::io(path, e, v.layout());
    if len == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let rec = v.record() as u64;
    if !len.is_multiple_of(rec) {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: format!(
                "expected a whole number of {rec}-byte records ({})",
                v.record_desc()
            ),
            found: format!(
                "file has {len} bytes = {} records + {} bytes",
                len / rec,
                len % rec
            ),
        });
    }
    let n = (len / rec) as usize;
    let mut pixels = vec![0u8; n * CIFAR_IMAGE_BYTES];
    let mut labels = Vec::with_capacity(n);
    let mut coarse = match v {
        Variant::Cifar10 => None,
        Variant::Cifar100 => Some(Vec::with_capacity(n)),
    };
    let mut lab = [0u8; 2];
    let lb = v.label_bytes();
    for (i, img) in pixels.chunks_exact_mut(CIFAR_IMAGE_BYTES).enumerate() {
        r.read_exact(&mut lab[..lb]).map_err(io_err)?;
        r.read_exact(img).map_err(io_err)?;
        let out_of_range = |kind, label, num_classes| DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            kind,
            index: i,
            label,
            num_classes,
        };
        match v {
            Variant::Cifar10 => {
                if lab[0] >= 10 {
                    return Err(out_of_range("class", lab[0], 10));
                }
                labels.push(lab[0]);
            }
            Variant::Cifar100 => {
                if lab[0] >= 20 {
                    return Err(out_of_range("coarse", lab[0], 20));
                }
                if lab[1] >= 100 {
                    return Err(out_of_range("fine", lab[1], 100));
                }
                if let Some(c) = coarse.as_mut() {
                    c.push(lab[0]);
                }
                labels.push(lab[1]);
            }
        }
    }
    Ok(CifarImages {
        n,
        pixels,
        labels,
        coarse_labels: coarse,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testdata::shared_test_path;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let d = std::env::temp_dir()
                .join(format!("noisegd-test-{tag}-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            TempDir(d)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn assert_err<T: std::fmt::Debug>(r: Result<T, DataError>, path: &Path, needles: &[&str]) {
        let msg = r.expect_err("expected an error").to_string();
        eprintln!("  error: {msg}");
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(msg.contains(&*name), "message does not name {name}: {msg}");
        for n in needles {
            assert!(msg.contains(n), "message lacks {n:?}: {msg}");
        }
    }

    fn cifar100_bytes(records: &[(u8, u8)]) -> Vec<u8> {
        let mut v = Vec::new();
        for (i, &(c, f)) in records.iter().enumerate() {
            v.push(c);
            v.push(f);
            v.extend((0..CIFAR_IMAGE_BYTES).map(|j| ((i + j) % 256) as u8));
        }
        v
    }

    #[test]
    fn cifar10_sample_reads_and_loads() {
        let Some(dir) = shared_test_path("cifar10-sample", "cifar10_sample_reads_and_loads") else {
            return;
        };
        let sample = dir.join("test_batch_jpeg_derived_100.bin");
        let t0 = std::time::Instant::now();
        let s = read_cifar10_file(&sample).unwrap();
        eprintln!("cifar10 sample: 100 images in {:?}", t0.elapsed());
        assert_eq!(s.n, 100);
        assert_eq!(s.pixels.len(), 100 * CIFAR_IMAGE_BYTES);
        assert!(s.coarse_labels.is_none());
        let mut counts = [0usize; 10];
        s.labels.iter().for_each(|&l| counts[l as usize] += 1);
        assert_eq!(counts, [10; 10]);
        // pixels are the record bytes after each label byte
        let raw = std::fs::read(&sample).unwrap();
        assert_eq!(s.labels[7], raw[7 * 3073]);
        assert_eq!(s.image(7), &raw[7 * 3073 + 1..8 * 3073]);
        assert!(s.pixels.iter().any(|&p| p > 0) && s.pixels.iter().any(|&p| p < 255));

        // The official layout, built from the sample: 5 training batches + test + meta.
        let tmp = TempDir::new("cifar10");
        let root = tmp.0.join(CIFAR10_DIR);
        std::fs::create_dir_all(&root).unwrap();
        for i in 1..=5 {
            std::fs::copy(&sample, root.join(format!("data_batch_{i}.bin"))).unwrap();
        }
        std::fs::copy(&sample, root.join("test_batch.bin")).unwrap();
        std::fs::copy(dir.join("batches.meta.txt"), root.join("batches.meta.txt")).unwrap();
        for d in [&tmp.0, &root] {
            let c = load_cifar10(d).unwrap();
            assert_eq!((c.train.n, c.test.n), (500, 100));
            assert_eq!(c.train.labels.len(), 500);
            assert_eq!(c.train.image(499), s.image(99));
            assert_eq!(c.test, s);
            assert_eq!(c.class_names.len(), 10);
            assert_eq!(c.class_names[0], "airplane");
            assert_eq!(c.class_names[9], "truck");
        }
        // missing file: names it and the expected layout
        std::fs::remove_file(root.join("data_batch_3.bin")).unwrap();
        let p = root.join("data_batch_3.bin");
        assert_err(
            load_cifar10(&tmp.0),
            &p,
            &["not found", "data_batch_1.bin", "test_batch.bin"],
        );
        // wrong number of class names
        std::fs::copy(&sample, &p).unwrap();
        let meta = root.join("batches.meta.txt");
        std::fs::write(&meta, "airplane\nautomobile\n\n").unwrap();
        assert_err(
            load_cifar10(&tmp.0),
            &meta,
            &["expected 10 class names", "found 2"],
        );
    }

    #[test]
    fn cifar_corrupt_files_are_errors() {
        let tmp = TempDir::new("cifar-corrupt");
        let w = |name: &str, bytes: &[u8]| {
            let p = tmp.0.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let mut good10 = Vec::new();
        for i in 0..3u8 {
            good10.push(i * 4); // labels 0, 4, 8
            good10.extend(std::iter::repeat_n(i, CIFAR_IMAGE_BYTES));
        }
        let p = w("good10.bin", &good10);
        let c = read_cifar10_file(&p).unwrap();
        assert_eq!((c.n, c.labels.clone()), (3, vec![0, 4, 8]));
        assert!(c.image(2).iter().all(|&b| b == 2));

        let p = w("trunc10.bin", &good10[..good10.len() - 1]);
        assert_err(
            read_cifar10_file(&p),
            &p,
            &["truncated", "3073-byte records", "2 records + 3072 bytes"],
        );
        let mut bad = good10.clone();
        bad[3073] = 10;
        let p = w("label10.bin", &bad);
        assert_err(read_cifar10_file(&p), &p, &["label 10 of record 1", "< 10"]);
        let p = w("empty10.bin", &[]);
        assert_err(read_cifar10_file(&p), &p, &["empty"]);
        let p = tmp.0.join("absent.bin");
        assert_err(
            read_cifar10_file(&p),
            &p,
            &["not found", "cifar-10-batches-bin"],
        );
        // a CIFAR-100 file is not a whole number of CIFAR-10 records
        let p = w("c100-as-c10.bin", &cifar100_bytes(&[(1, 2), (3, 4)]));
        assert_err(read_cifar10_file(&p), &p, &["3073-byte records"]);

        // CIFAR-100
        let c = read_cifar100_file(&p).unwrap();
        assert_eq!(c.labels, vec![2, 4]);
        assert_eq!(c.coarse_labels, Some(vec![1, 3]));
        assert_eq!(c.image(1)[0], 1);
        let p = w("fine.bin", &cifar100_bytes(&[(1, 2), (3, 100)]));
        assert_err(
            read_cifar100_file(&p),
            &p,
            &["fine label 100 of record 1", "< 100"],
        );
        let p = w("coarse.bin", &cifar100_bytes(&[(20, 2)]));
        assert_err(
            read_cifar100_file(&p),
            &p,
            &["coarse label 20 of record 0", "< 20"],
        );
        let mut t = cifar100_bytes(&[(1, 2), (3, 4)]);
        t.truncate(3074 + 100);
        let p = w("trunc100.bin", &t);
        assert_err(
            read_cifar100_file(&p),
            &p,
            &["3074-byte records", "1 records + 100 bytes"],
        );
        let p = w("empty100.bin", &[]);
        assert_err(read_cifar100_file(&p), &p, &["empty"]);
    }

    #[test]
    fn bytes_readers_match_the_file_readers() {
        let tmp = TempDir::new("cifar-bytes");
        let mut good10 = Vec::new();
        for i in 0..2u8 {
            good10.push(9 - i);
            good10.extend((0..CIFAR_IMAGE_BYTES).map(|j| (j as u8).wrapping_add(i)));
        }
        let good100 = cifar100_bytes(&[(19, 99), (0, 0)]);
        for (name, bytes) in [("b10.bin", &good10), ("b100.bin", &good100)] {
            let p = tmp.0.join(name);
            std::fs::write(&p, bytes).unwrap();
            let from_bytes = (
                read_cifar10_bytes(name, bytes).map_err(|e| e.to_string()),
                read_cifar100_bytes(name, bytes).map_err(|e| e.to_string()),
            );
            let from_file = (
                read_cifar10_file(&p).map_err(|e| e.to_string()),
                read_cifar100_file(&p).map_err(|e| e.to_string()),
            );
            // the same images or the same error (the file's message names its full path)
            let strip = |r: Result<CifarImages, String>| {
                r.map_err(|e| e.replace(&*p.to_string_lossy(), name))
            };
            assert_eq!(strip(from_bytes.0), strip(from_file.0));
            assert_eq!(strip(from_bytes.1), strip(from_file.1));
        }
        assert_eq!(read_cifar10_bytes("x", &good10).unwrap().labels, vec![9, 8]);
        assert_err(
            read_cifar10_bytes("empty.bin", &[]),
            Path::new("empty.bin"),
            &["empty"],
        );
        assert_err(
            read_cifar10_bytes("short.bin", &good10[..3000]),
            Path::new("short.bin"),
            &["0 records + 3000 bytes"],
        );
    }

    #[test]
    fn cifar100_loads_from_its_layout() {
        let tmp = TempDir::new("cifar100");
        let root = tmp.0.join(CIFAR100_DIR);
        std::fs::create_dir_all(&root).unwrap();
        // missing everything: the first file and the layout
        assert_err(
            load_cifar100(&tmp.0),
            Path::new("train.bin"),
            &["not found", "cifar-100-binary/"],
        );
        std::fs::write(
            root.join("train.bin"),
            cifar100_bytes(&[(0, 0), (19, 99), (5, 50)]),
        )
        .unwrap();
        std::fs::write(root.join("test.bin"), cifar100_bytes(&[(7, 70)])).unwrap();
        let coarse: String = (0..20).map(|i| format!("coarse_{i}\n")).collect();
        let fine: String = (0..100).map(|i| format!("fine_{i}\r\n")).collect();
        std::fs::write(root.join("coarse_label_names.txt"), &coarse).unwrap();
        std::fs::write(root.join("fine_label_names.txt"), &fine).unwrap();
        let c = load_cifar100(&tmp.0).unwrap();
        assert_eq!((c.train.n, c.test.n), (3, 1));
        assert_eq!(c.train.labels, vec![0, 99, 50]);
        assert_eq!(c.train.coarse_labels, Some(vec![0, 19, 5]));
        assert_eq!(c.fine_names[99], "fine_99");
        assert_eq!(c.coarse_names[0], "coarse_0");
        let f = root.join("fine_label_names.txt");
        std::fs::write(&f, "a\nb\n").unwrap();
        assert_err(
            load_cifar100(&root),
            &f,
            &["expected 100 class names", "found 2"],
        );
    }
}
