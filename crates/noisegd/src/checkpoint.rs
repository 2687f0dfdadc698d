//! Checkpoints of a run of [`NoiseInjection`]: everything needed to continue it so that it ends
//! bit for bit where the uninterrupted run ends.
//!
//! What a run's future depends on, and where it is kept:
//! - the model's parameters, BatchNorm running statistics included, with their `ParamId`s (the
//!   optimizer state and the noise groups are keyed by them): burn's module record;
//! - the base optimizer's state (momentum buffers, Adam moments and time step): burn's optimizer
//!   record;
//! - the noise position: every draw is keyed by `(seed, step, group, element)`, so the step
//!   index is the whole position;
//! - whatever the caller needs besides (data-order position, metrics so far): opaque bytes.
//!
//! All of it goes into **one file**, written to a temporary name, synced and renamed over the
//! previous checkpoint, so a kill at any moment leaves either the old or the new checkpoint,
//! never a mix. The file ends with a SHA-256 of its contents, so a file damaged afterwards is
//! refused rather than resumed from.
//!
//! The container is written here rather than taken from a crate: it is four length-prefixed byte
//! strings and a checksum, and the two large ones are already burn's own burnpack format.

use crate::error::{Error, Result};
use crate::step::NoiseInjection;
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// First bytes of a checkpoint file.
const MAGIC: &[u8; 16] = b"noisegd-ckpt-v1\n";
const DIGEST_LEN: usize = 32;
/// Sections of the file, in order.
const SECTIONS: [&str; 3] = ["model", "optimizer", "extra"];

/// A run's state after `step` steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Steps taken: the index of the next step.
    pub step: u64,
    /// burnpack bytes of the model record.
    model: Vec<u8>,
    /// burnpack bytes of the optimizer record.
    optimizer: Vec<u8>,
    /// The caller's own state.
    pub extra: Vec<u8>,
}

fn error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl Checkpoint {
    /// The state of `model` trained by `pgd` so far, with the caller's `extra` bytes.
    pub fn capture<M: Module>(model: &M, pgd: &NoiseInjection, extra: Vec<u8>) -> Result<Self> {
        let record_error = |what: &str, e: burn::store::RecordError| Error::Checkpoint {
            path: PathBuf::new(),
            message: format!("cannot serialize the {what}: {e}"),
        };
        let model = model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| record_error("model", e))?;
        let optimizer = pgd.optimizer().to_bytes().map_err(|e| Error::Checkpoint {
            path: PathBuf::new(),
            message: format!("cannot serialize the optimizer state: {e}"),
        })?;
        Ok(Self {
            step: pgd.step_index(),
            model: model.to_vec(),
            optimizer,
            extra,
        })
    }

    /// `model` (built as the run built it) with the checkpoint's parameters, statistics and
    /// parameter ids. Call before wrapping it in a [`NoiseInjection`], whose groups are keyed by
    /// those ids.
    pub fn load_model<M: Module>(&self, model: M) -> Result<M> {
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(self.model.clone()))
            .and_then(|r| model.try_load_record(r));
        record.map_err(|e| Error::Checkpoint {
            path: PathBuf::new(),
            message: format!(
                "the checkpoint does not fit this model ({e}); was the run's config.toml changed?"
            ),
        })
    }

    /// Puts `pgd` (built for the model from [`Checkpoint::load_model`]) where the run was: the
    /// optimizer's state and the step index.
    pub fn restore(&self, pgd: &mut NoiseInjection) -> Result<()> {
        pgd.optimizer_mut()
            .load_bytes(self.optimizer.clone())
            .map_err(|e| Error::Checkpoint {
                path: PathBuf::new(),
                message: format!("cannot read the optimizer state: {e}"),
            })?;
        pgd.set_step_index(self.step);
        Ok(())
    }

    /// The file's bytes: magic, step, the sections (each a little-endian u64 length and the
    /// bytes), SHA-256 of all that.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            MAGIC.len() + 8 + 24 + self.model.len() + self.optimizer.len() + self.extra.len() + 32,
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.step.to_le_bytes());
        for section in [&self.model, &self.optimizer, &self.extra] {
            out.extend_from_slice(&(section.len() as u64).to_le_bytes());
            out.extend_from_slice(section);
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Parses the bytes of a checkpoint file read from `path` (named in errors). Every length is
    /// checked against the bytes actually there before anything is allocated.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self> {
        if bytes.len() < MAGIC.len() + 8 + DIGEST_LEN || &bytes[..MAGIC.len()] != MAGIC {
            return Err(error(
                path,
                "not a noisegd checkpoint (bad header or too short)",
            ));
        }
        let (body, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
        if Sha256::digest(body).as_slice() != digest {
            return Err(error(
                path,
                "checksum mismatch: the file was damaged after it was written; resume from an earlier copy or start the run again",
            ));
        }
        let mut rest = &body[MAGIC.len()..];
        let mut take = |n: usize, what: &str| -> Result<&[u8]> {
            if rest.len() < n {
                return Err(error(
                    path,
                    format!(
                        "{what} claims {n} bytes, only {} are left in the file",
                        rest.len()
                    ),
                ));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let u64_at = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let step = u64_at(take(8, "the step")?);
        let mut sections = Vec::with_capacity(SECTIONS.len());
        for name in SECTIONS {
            let len = u64_at(take(8, name)?);
            let len = usize::try_from(len).map_err(|_| error(path, "section too large"))?;
            sections.push(take(len, name)?.to_vec());
        }
        if !rest.is_empty() {
            return Err(error(
                path,
                format!("{} unexpected bytes after the sections", rest.len()),
            ));
        }
        let extra = sections.pop().expect("three sections");
        let optimizer = sections.pop().expect("three sections");
        let model = sections.pop().expect("three sections");
        Ok(Self {
            step,
            model,
            optimizer,
            extra,
        })
    }

    /// Writes the checkpoint to `path` atomically: a temporary file in the same directory,
    /// synced, renamed over `path`, and the directory synced. On any error (a full disk, say)
    /// the previous file at `path` is untouched and the error names the file that failed.
    pub fn write_atomic(&self, path: &Path) -> Result<()> {
        let name = path
            .file_name()
            .ok_or_else(|| error(path, "not a file path"))?;
        let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&self.encode())?;
            file.sync_all()
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(error(&tmp, format!("cannot write: {e}")));
        }
        fs::rename(&tmp, path)
            .map_err(|e| error(path, format!("cannot rename {} here: {e}", tmp.display())))?;
        // The rename is durable only once the directory entry is on disk.
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| error(dir, format!("cannot sync the directory: {e}")))?;
        }
        Ok(())
    }

    /// Reads and checks a checkpoint file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = fs::read(path).map_err(|e| error(path, format!("cannot read: {e}")))?;
        Self::decode(&bytes, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mlp::MlpConfig;
    use crate::noise::NoiseConfig;
    use crate::optim::{BaseOptimizer, OptimConfig, OptimName};
    use burn::tensor::{Device, Int, Tensor};

    fn data(device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        let x = crate::models::gaussian([32, 6], 1.0, 5, 0, device);
        let y = Tensor::<1, Int>::from_ints(
            std::array::from_fn::<i64, 32, _>(|i| (i % 3) as i64),
            device,
        );
        (x, y)
    }

    /// Every parameter's bits, in visiting order.
    fn bits<M: Module>(model: &M) -> Vec<u32> {
        struct Collect(Vec<u32>);
        impl burn::module::ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
                let v = p.val().into_data().try_to_vec::<f32>().unwrap();
                self.0.extend(v.iter().map(|x| x.to_bits()));
            }
        }
        let mut c = Collect(vec![]);
        model.visit(&mut c);
        c.0
    }

    /// Trains `steps` steps from the start, or from a checkpoint taken after `split` steps
    /// and written to disk, and returns the final weights (bits). With `keep_optimizer = false`
    /// the resumed run restarts the optimizer's state (to show that the check can fail).
    fn train(
        optim: &OptimConfig,
        steps: u64,
        split: Option<u64>,
        keep_optimizer: bool,
    ) -> Vec<u32> {
        train_with(
            &NoiseConfig::layer(0.1),
            optim,
            steps,
            split,
            keep_optimizer,
        )
    }

    fn train_with(
        noise: &NoiseConfig,
        optim: &OptimConfig,
        steps: u64,
        split: Option<u64>,
        keep_optimizer: bool,
    ) -> Vec<u32> {
        let device = Device::flex().autodiff();
        let (x, y) = data(&device);
        let build = || MlpConfig::new(vec![6, 16, 3]).init(3, &device);
        let new_pgd = |m: &crate::models::mlp::Mlp| {
            NoiseInjection::new(
                m,
                noise.clone(),
                BaseOptimizer::new(optim, steps).unwrap(),
                11,
                steps,
            )
            .unwrap()
        };
        let mut model = build();
        let mut pgd = new_pgd(&model);
        let tmp = tempfile_dir();
        let path = tmp.join("checkpoint.bin");
        while pgd.step_index() < steps {
            if Some(pgd.step_index()) == split {
                Checkpoint::capture(&model, &pgd, b"extra".to_vec())
                    .unwrap()
                    .write_atomic(&path)
                    .unwrap();
                // Start over from nothing but the file: a fresh model (new ids) and optimizer.
                let ckpt = Checkpoint::read(&path).unwrap();
                assert_eq!(ckpt.extra, b"extra");
                model = ckpt.load_model(build()).unwrap();
                pgd = new_pgd(&model);
                if keep_optimizer {
                    ckpt.restore(&mut pgd).unwrap();
                } else {
                    pgd.set_step_index(ckpt.step);
                }
            }
            let (next, _) = pgd.step(model, |m| m.loss(x.clone(), y.clone())).unwrap();
            model = next;
        }
        fs::remove_dir_all(&tmp).unwrap();
        bits(&model)
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "noisegd-ckpt-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn resuming_from_a_checkpoint_ends_bit_for_bit_where_the_uninterrupted_run_ends() {
        for optim in [
            OptimConfig {
                momentum: 0.9,
                weight_decay: Some(1e-3),
                ..OptimConfig::sgd(0.05)
            },
            OptimConfig {
                name: OptimName::Adam,
                ..OptimConfig::sgd(0.01)
            },
        ] {
            let straight = train(&optim, 12, None, true);
            assert_eq!(
                straight,
                train(&optim, 12, Some(5), true),
                "{:?}",
                optim.name
            );
            // Resuming without the optimizer state does not match: the check has teeth.
            assert_ne!(
                straight,
                train(&optim, 12, Some(5), false),
                "{:?}",
                optim.name
            );
        }
    }

    /// The peers resume exactly too: Anti-PGD's iterate carries ξ_t in the weights and the
    /// resumed step redraws the same ξ_t from the step index.
    #[test]
    fn the_peer_policies_resume_bit_for_bit() {
        use crate::noise::PolicyKind;
        let optim = OptimConfig {
            momentum: 0.9,
            ..OptimConfig::sgd(0.05)
        };
        for noise in [
            NoiseConfig {
                policy: PolicyKind::Anti,
                ..NoiseConfig::all(0.1)
            },
            NoiseConfig {
                policy: PolicyKind::Sam,
                ..NoiseConfig::default()
            },
            NoiseConfig {
                policy: PolicyKind::Rwp,
                ..NoiseConfig::all(0.05)
            },
            NoiseConfig {
                policy: PolicyKind::Nso,
                nso_samples: Some(2),
                ..NoiseConfig::all(0.1)
            },
        ] {
            let straight = train_with(&noise, &optim, 10, None, true);
            assert_eq!(
                straight,
                train_with(&noise, &optim, 10, Some(4), true),
                "{}",
                noise.policy
            );
        }
    }

    /// A BatchNorm between two steps: its running statistics are part of the checkpoint.
    #[derive(burn::module::Module, Debug)]
    struct Normed {
        bn: burn::nn::BatchNorm,
    }

    #[test]
    fn batchnorm_running_statistics_travel_with_the_checkpoint() {
        let device = Device::flex().autodiff();
        let build = || Normed {
            bn: burn::nn::BatchNormConfig::new(3).init(&device),
        };
        let mut model = build();
        let mut pgd = NoiseInjection::new(
            &model,
            NoiseConfig::all(0.1),
            BaseOptimizer::new(&OptimConfig::sgd(0.1), 10).unwrap(),
            0,
            10,
        )
        .unwrap();
        let x = crate::models::gaussian([8, 3, 5], 2.0, 1, 0, &device).add_scalar(1.5);
        for _ in 0..3 {
            let (next, _) = pgd
                .step(model, |m: &Normed| {
                    m.bn.forward(x.clone()).powf_scalar(3.0).mean().reshape([1])
                })
                .unwrap();
            model = next;
        }
        let stats = crate::batchnorm::RunningStats::capture(&model).values();
        assert!(
            stats
                .iter()
                .any(|(_, v)| v.iter().any(|x| (x - 1.0).abs() > 1e-3 && x.abs() > 1e-3)),
            "the steps moved the running statistics: {stats:?}"
        );
        let ckpt = Checkpoint::decode(
            &Checkpoint::capture(&model, &pgd, vec![]).unwrap().encode(),
            Path::new("x"),
        )
        .unwrap();
        let loaded = ckpt.load_model(build()).unwrap();
        assert_eq!(
            crate::batchnorm::RunningStats::capture(&loaded).values(),
            stats
        );
    }

    #[test]
    fn damaged_or_truncated_files_are_refused_with_the_path() {
        let device = Device::flex().autodiff();
        let model = MlpConfig::new(vec![2, 3, 2]).init(0, &device);
        let pgd = NoiseInjection::new(
            &model,
            NoiseConfig::all(0.1),
            BaseOptimizer::new(&OptimConfig::sgd(0.1), 10).unwrap(),
            0,
            10,
        )
        .unwrap();
        let bytes = Checkpoint::capture(&model, &pgd, vec![1, 2, 3])
            .unwrap()
            .encode();
        let path = Path::new("runs/x/checkpoint.bin");
        assert_eq!(
            Checkpoint::decode(&bytes, path).unwrap().extra,
            vec![1, 2, 3]
        );
        for cut in [0, 10, 30, bytes.len() / 2, bytes.len() - 1] {
            let e = Checkpoint::decode(&bytes[..cut], path)
                .unwrap_err()
                .to_string();
            assert!(e.contains("runs/x/checkpoint.bin"), "{e}");
        }
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x40;
        let e = Checkpoint::decode(&flipped, path).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
    }

    #[test]
    fn a_failed_write_leaves_the_previous_checkpoint_and_names_the_file() {
        let dir = tempfile_dir();
        let path = dir.join("checkpoint.bin");
        let ckpt = Checkpoint {
            step: 3,
            model: vec![],
            optimizer: vec![],
            extra: vec![9; 100],
        };
        ckpt.write_atomic(&path).unwrap();
        let before = fs::read(&path).unwrap();
        // The temporary file is a link to /dev/full: every write fails with "no space left".
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/dev/full", dir.join(".checkpoint.bin.tmp")).unwrap();
            let next = Checkpoint { step: 4, ..ckpt };
            let e = next.write_atomic(&path).unwrap_err().to_string();
            assert!(
                e.contains(".checkpoint.bin.tmp") && e.contains("space"),
                "{e}"
            );
            assert_eq!(fs::read(&path).unwrap(), before);
            assert_eq!(Checkpoint::read(&path).unwrap().step, 3);
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
