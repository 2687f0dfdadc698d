//! The one training loop: every experiment of noisegd, and a user's own program, steps its model
//! through [`Driver::run`].
//!
//! Per step `t` (from 0, or from the step a checkpoint resumed at):
//! 1. `epoch = t / batches_per_epoch`; the batch of step `t` ([`Batches::batch`]);
//! 2. the perturbed step ([`NoiseInjection::step`]) on the loss of that batch;
//! 3. [`Hooks::after_step`] with the clean model (iterate averaging and the like);
//! 4. at the logged steps ([`should_log`]), [`Hooks::log`] gives the metrics row, written to the
//!    [`MetricsCsv`];
//! 5. a checkpoint every `checkpoint_every` steps, and when a stop was asked for
//!    ([`Driver::stop_when`], polled after each step), after which the run returns
//!    [`Outcome::Interrupted`].
//!
//! A non-finite loss or gradient ends the run with [`Outcome::Diverged`]: the rows logged before
//! it stay in the metrics file. A run resumed from a [`Checkpoint`] takes the same steps with the
//! same batches and noise as the uninterrupted run, so it ends bit for bit where that run ends.

use super::metrics::{should_log, MetricsCsv};
use crate::checkpoint::Checkpoint;
use crate::data::StepBatches;
use crate::error::Error;
use crate::noise::NoiseConfig;
use crate::optim::BaseOptimizer;
use crate::step::{NoiseInjection, StepReport};
use burn::module::Module;
use burn::tensor::{Int, Tensor};
use std::path::{Path, PathBuf};

/// Where a run's examples come from, one batch per step.
pub trait Batches {
    /// What the loss of one step reads (e.g. an input and a label tensor).
    type Batch: Sync;
    /// Steps per epoch (1 for full-batch training).
    fn per_epoch(&self) -> u64;
    /// The batch of step `step`. Called for consecutive steps from the first one a run takes
    /// (0, or the step a checkpoint resumed at), so an implementation may keep its position.
    fn batch(&mut self, step: u64) -> Self::Batch;
}

/// Full-batch training: the same batch at every step, one step per epoch.
pub struct FullBatch<B>(pub B);

impl<B: Clone + Sync> Batches for FullBatch<B> {
    type Batch = B;
    fn per_epoch(&self) -> u64 {
        1
    }
    fn batch(&mut self, _step: u64) -> B {
        self.0.clone()
    }
}

/// A prepared data set: minibatches (or the full batch), with the epochs' orders and the
/// augmentation keyed by the run's seed.
impl Batches for StepBatches<'_> {
    type Batch = (Tensor<2>, Tensor<1, Int>);
    fn per_epoch(&self) -> u64 {
        StepBatches::per_epoch(self)
    }
    fn batch(&mut self, step: u64) -> Self::Batch {
        StepBatches::batch(self, step)
    }
}

/// A step that has just been taken, as the hooks see it.
pub struct StepDone<'a> {
    /// Steps done so far, this one included (counted from 1).
    pub done: u64,
    /// The epoch the step belonged to.
    pub epoch: u64,
    /// What the step did (loss at the perturbed point, σ, lr, chosen group).
    pub report: &'a StepReport,
}

/// What an experiment measures along a run.
pub trait Hooks<M> {
    /// The experiment's error type; the driver's own errors convert into it.
    type Error: From<Error>;
    /// After every step, with the clean model (e.g. to average iterates). Default: nothing.
    fn after_step(&mut self, _step: &StepDone, _model: &M) -> Result<(), Self::Error> {
        Ok(())
    }
    /// At each logged step: the metrics row of the clean model (one value per column).
    fn log(&mut self, step: &StepDone, model: &M) -> Result<Vec<String>, Self::Error>;
}

/// The method a run trains with: the noise, the base optimizer and the seed of every draw.
pub struct Method {
    /// Which groups get noise, and how much.
    pub noise: NoiseConfig,
    /// The base optimizer that steps from the clean weights.
    pub optimizer: BaseOptimizer,
    /// Keys every noise draw.
    pub seed: u64,
}

/// How a run ended.
pub enum Outcome<M> {
    /// Every step was taken; the trained model.
    Finished(M),
    /// A stop was asked for; a checkpoint was written after `done` steps (when the driver has a
    /// checkpoint file).
    Interrupted {
        /// Steps done.
        done: u64,
    },
    /// The loss or a gradient became non-finite at step `step` (from 0).
    Diverged {
        /// The step that failed.
        step: u64,
        /// [`Error::Diverged`], with what to lower.
        error: Error,
    },
}

impl<M> Outcome<M> {
    /// The trained model of a finished run; a diverged run is its [`Error::Diverged`], an
    /// interrupted one [`Error::Interrupted`] (for callers that run to the end or fail).
    pub fn finished(self) -> Result<M, Error> {
        match self {
            Outcome::Finished(model) => Ok(model),
            Outcome::Diverged { error, .. } => Err(error),
            Outcome::Interrupted { done } => Err(Error::Interrupted { done }),
        }
    }
}

/// A run's length, cadence, checkpoints, stop signal and progress report.
pub struct Driver<'a> {
    steps: u64,
    log_every: u64,
    checkpoint: Option<(PathBuf, u64)>,
    resume: Option<&'a Checkpoint>,
    stop: Box<dyn Fn() -> bool + 'a>,
    progress: Box<dyn FnMut(u64) + 'a>,
}

impl<'a> Driver<'a> {
    /// A run of `steps` steps with a metrics row every `log_every` steps (and on the 1-2-5 grid
    /// and at the last step); no checkpoints, no stop signal, no progress report.
    pub fn new(steps: u64, log_every: u64) -> Self {
        Self {
            steps,
            log_every: log_every.max(1),
            checkpoint: None,
            resume: None,
            stop: Box::new(|| false),
            progress: Box::new(|_| {}),
        }
    }

    /// Writes a checkpoint to `path` every `every` steps (0: only when stopped) and when stopped.
    pub fn checkpoint_to(mut self, path: &Path, every: u64) -> Self {
        self.checkpoint = Some((path.to_path_buf(), every));
        self
    }

    /// Continues the run `checkpoint` saved (none: start from step 0). The model given to
    /// [`Driver::run`] must be built as the run built it, and the metrics file put back with
    /// [`MetricsCsv::resume`].
    pub fn resume_from(mut self, checkpoint: Option<&'a Checkpoint>) -> Self {
        self.resume = checkpoint;
        self
    }

    /// Polls `stop` after every step; when it says yes the run checkpoints and stops.
    pub fn stop_when(mut self, stop: impl Fn() -> bool + 'a) -> Self {
        self.stop = Box::new(stop);
        self
    }

    /// Tells `progress` the steps done after every step.
    pub fn on_progress(mut self, progress: impl FnMut(u64) + 'a) -> Self {
        self.progress = Box::new(progress);
        self
    }

    /// The planned number of steps.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Trains `model` by `method` on `data` (`loss(model, batch)`), from the start or from the
    /// checkpoint of [`Driver::resume_from`], logging the rows of `hooks` to `metrics`. Returns
    /// how the run ended.
    pub fn run<M, B, H>(
        &mut self,
        model: M,
        method: Method,
        data: &mut B,
        loss: impl Fn(&M, &B::Batch) -> Tensor<1> + Sync,
        hooks: &mut H,
        metrics: &mut MetricsCsv,
    ) -> Result<Outcome<M>, H::Error>
    where
        M: Module,
        B: Batches,
        H: Hooks<M>,
    {
        // The checkpoint's parameter ids must be in the model before the step groups them.
        let resume = self.resume;
        let mut model = match resume {
            Some(ckpt) => ckpt.load_model(model)?,
            None => model,
        };
        let mut pgd = NoiseInjection::new(
            &model,
            method.noise,
            method.optimizer,
            method.seed,
            self.steps,
        )?;
        if let Some(ckpt) = resume {
            ckpt.restore(&mut pgd)?;
        }
        let per_epoch = data.per_epoch().max(1);
        pgd.set_epoch_length(per_epoch);
        let start = pgd.step_index();
        (self.progress)(start);
        for step in start..self.steps {
            let epoch = step / per_epoch;
            let batch = data.batch(step);
            let report = match pgd.step(model, |m: &M| loss(m, &batch)) {
                Ok((next, report)) => {
                    model = next;
                    report
                }
                Err(error) => return Ok(Outcome::Diverged { step, error }),
            };
            let done = step + 1;
            let at = StepDone {
                done,
                epoch,
                report: &report,
            };
            hooks.after_step(&at, &model)?;
            (self.progress)(done);
            if should_log(done, self.log_every, self.steps) {
                let row = hooks.log(&at, &model)?;
                metrics.row(&row)?;
            }
            let stop = (self.stop)();
            if let Some((path, every)) = &self.checkpoint {
                if stop || (*every > 0 && done % every == 0 && done < self.steps) {
                    Checkpoint::capture(&model, &pgd, metrics.text()?)?.write_atomic(path)?;
                }
            }
            if stop && done < self.steps {
                return Ok(Outcome::Interrupted { done });
            }
        }
        Ok(Outcome::Finished(model))
    }
}
