//! The training driver: one loop for every run, the layer between the perturbed step and the
//! experiments.
//!
//! ```text
//! noise (policy, draws) -> step (w <- opt(w, grad L(w + eps))) -> train (this module) -> experiments
//! ```
//!
//! An experiment (or a user's own program) gives [`Driver::run`] the model, the data
//! ([`Batches`]; [`FullBatch`] for full-batch training), the [`Method`] (noise, base optimizer,
//! seed) and its [`Hooks`] (what to measure after each step and at the logged steps); the driver
//! owns the loop, the logging cadence ([`should_log`]), the metrics file ([`MetricsCsv`]),
//! checkpoints, the stop signal (Ctrl-C), divergence and progress.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use noisegd::models::diagonal::DiagonalNet;
//! use noisegd::noise::NoiseConfig;
//! use noisegd::optim::{BaseOptimizer, OptimConfig};
//! use noisegd::train::{num, Driver, FullBatch, Hooks, Method, MetricsCsv, StepDone};
//!
//! struct LossOnly;
//! impl Hooks<DiagonalNet> for LossOnly {
//!     type Error = noisegd::Error;
//!     fn log(&mut self, at: &StepDone, _: &DiagonalNet) -> noisegd::Result<Vec<String>> {
//!         Ok(vec![at.done.to_string(), num(at.report.loss)])
//!     }
//! }
//!
//! let device = Device::flex().autodiff();
//! let x = Tensor::<2>::from_floats([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]], &device);
//! let y = Tensor::<1>::from_floats([1.0, -1.0], &device);
//! let dir = std::env::temp_dir().join(format!("noisegd-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let mut metrics = MetricsCsv::create(&dir.join("metrics.csv"), &["step", "loss"])?;
//! let method = Method {
//!     noise: NoiseConfig::layer(0.1),
//!     optimizer: BaseOptimizer::new(&OptimConfig::default(), 100)?,
//!     seed: 0,
//! };
//! let trained = Driver::new(100, 10)
//!     .run(
//!         DiagonalNet::uniform(3, 0.1, &device),
//!         method,
//!         &mut FullBatch((x, y)),
//!         |m: &DiagonalNet, (x, y): &(Tensor<2>, Tensor<1>)| m.loss(x.clone(), y.clone()),
//!         &mut LossOnly,
//!         &mut metrics,
//!     )?
//!     .finished()?;
//! # std::fs::remove_dir_all(&dir).ok();
//! # let _ = trained;
//! # Ok::<(), noisegd::Error>(())
//! ```

mod driver;
mod metrics;

pub use driver::{Batches, Driver, FullBatch, Hooks, Method, Outcome, StepDone};
pub use metrics::{num, should_log, MetricsCsv};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::models::mlp::{Mlp, MlpConfig};
    use crate::noise::NoiseConfig;
    use crate::optim::{BaseOptimizer, OptimConfig};
    use burn::tensor::{Device, Int, Tensor};
    use std::cell::Cell;
    use std::path::{Path, PathBuf};

    /// Two batches per epoch, alternating.
    struct TwoBatches(Vec<(Tensor<2>, Tensor<1, Int>)>);

    impl Batches for TwoBatches {
        type Batch = (Tensor<2>, Tensor<1, Int>);
        fn per_epoch(&self) -> u64 {
            2
        }
        fn batch(&mut self, step: u64) -> Self::Batch {
            self.0[(step % 2) as usize].clone()
        }
    }

    struct Rows;
    impl Hooks<Mlp> for Rows {
        type Error = crate::Error;
        fn log(&mut self, at: &StepDone, _: &Mlp) -> crate::Result<Vec<String>> {
            Ok(vec![
                at.done.to_string(),
                at.epoch.to_string(),
                num(at.report.loss),
            ])
        }
    }

    fn data(device: &Device) -> TwoBatches {
        let x = |rows: [[f32; 4]; 2]| Tensor::<2>::from_floats(rows, device);
        let y = |v: [i64; 2]| Tensor::<1, Int>::from_ints(v, device);
        TwoBatches(vec![
            (x([[0.1, -0.3, 0.5, 0.7], [1.0, 0.2, -0.4, 0.3]]), y([0, 2])),
            (
                x([[-0.5, 0.6, 0.1, -0.9], [0.3, 0.3, -0.3, 0.3]]),
                y([1, 2]),
            ),
        ])
    }

    fn method(lr: f64) -> Method {
        let opt = OptimConfig {
            lr,
            momentum: 0.9,
            ..OptimConfig::default()
        };
        Method {
            noise: NoiseConfig::all(0.05),
            optimizer: BaseOptimizer::new(&opt, 12).unwrap(),
            seed: 7,
        }
    }

    fn params(model: &Mlp) -> Vec<u32> {
        let mut out = vec![];
        for layer in &model.layers {
            let w = layer.weight.val().into_data().try_to_vec::<f32>().unwrap();
            out.extend(w.into_iter().map(f32::to_bits));
        }
        out
    }

    fn tmp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("noisegd-driver-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn run(dir: &Path, stop_after: Option<u64>, resume: bool, lr: f64) -> (Outcome<Mlp>, String) {
        let device = Device::flex().autodiff();
        let model = MlpConfig::new(vec![4, 8, 3]).init(0, &device);
        let ckpt_path = dir.join("checkpoint.bin");
        let columns = ["step", "epoch", "loss"];
        let metrics_path = dir.join("metrics.csv");
        let checkpoint = resume.then(|| Checkpoint::read(&ckpt_path).unwrap());
        let mut metrics = match &checkpoint {
            Some(c) => MetricsCsv::resume(
                &metrics_path,
                &columns,
                std::str::from_utf8(&c.extra).unwrap(),
            )
            .unwrap(),
            None => MetricsCsv::create(&metrics_path, &columns).unwrap(),
        };
        let steps_seen = Cell::new(0u64);
        let outcome = Driver::new(12, 5)
            .checkpoint_to(&ckpt_path, 4)
            .on_progress(|done| steps_seen.set(done))
            .stop_when(|| stop_after == Some(steps_seen.get()))
            .resume_from(checkpoint.as_ref())
            .run(
                model,
                method(lr),
                &mut data(&device),
                |m: &Mlp, (x, y): &(Tensor<2>, Tensor<1, Int>)| m.loss(x.clone(), y.clone()),
                &mut Rows,
                &mut metrics,
            )
            .unwrap();
        (outcome, std::fs::read_to_string(&metrics_path).unwrap())
    }

    #[test]
    fn a_stopped_run_resumes_to_the_uninterrupted_run_bit_for_bit() {
        let whole_dir = tmp("whole");
        let whole = run(&whole_dir, None, false, 0.1);
        let Outcome::Finished(whole_model) = whole.0 else {
            panic!("the uninterrupted run finishes")
        };
        // Epochs of two steps, rows on the 1-2-5 grid, every 5 steps and at the end.
        let steps: Vec<&str> = whole
            .1
            .lines()
            .skip(1)
            .map(|l| &l[..l.find(',').unwrap()])
            .collect();
        assert_eq!(steps, ["1", "2", "5", "10", "12"]);
        assert!(whole.1.contains("\n5,2,"), "{}", whole.1);

        let dir = tmp("stopped");
        let (stopped, _) = run(&dir, Some(6), false, 0.1);
        assert!(matches!(stopped, Outcome::Interrupted { done: 6 }));
        assert_eq!(
            Checkpoint::read(&dir.join("checkpoint.bin")).unwrap().step,
            6
        );
        let (resumed, text) = run(&dir, None, true, 0.1);
        let Outcome::Finished(resumed_model) = resumed else {
            panic!("the resumed run finishes")
        };
        assert_eq!(params(&resumed_model), params(&whole_model));
        assert_eq!(text, whole.1);
        std::fs::remove_dir_all(whole_dir).ok();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_diverging_run_ends_with_its_step_and_keeps_its_rows() {
        let dir = tmp("diverged");
        let (outcome, text) = run(&dir, None, false, 1e30);
        let Outcome::Diverged { step, error } = outcome else {
            panic!("lr 1e30 diverges")
        };
        assert!(matches!(error, crate::Error::Diverged { step: s, .. } if s == step));
        // The policy is spelled as a config writes it.
        let message = error.to_string();
        assert!(message.contains("noise.policy = \""), "{message}");
        assert!(
            !message.contains("Layer") && !message.contains("None,"),
            "{message}"
        );
        assert!(step >= 1, "the first step's loss is finite");
        assert_eq!(
            text.lines().count() as u64,
            1 + (1..=step).filter(|d| should_log(*d, 5, 12)).count() as u64
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
