//! A GPU that fails mid-run — out of memory, a kernel that does not compile or run — reported as
//! an error that says what to change, instead of burn's panic.
//!
//! burn's GPU backend runs its work lazily and reports a failed allocation or kernel when a value
//! is read back (`into_scalar`, `into_data`), by panicking there. A run on the GPU therefore
//! catches the panic at the top of its training loop and turns it into an error naming the model,
//! the batch size and the sizes it evaluates at, and the way back: the run directory keeps its
//! last checkpoint, which `--resume` continues (on this device or, with `--device cpu`, the other).

use crate::config::RunConfig;
use crate::run::RunDir;
use anyhow::{anyhow, Result};
use noisegd::backend::Backend;
use std::panic::{self, AssertUnwindSafe};

/// Runs `work`; on a GPU, a panic inside it becomes an error saying what failed and what to do.
pub fn on_the_device<T>(
    config: &RunConfig,
    dir: &RunDir,
    checkpoint: &str,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    if config.device == Backend::Cpu {
        return work();
    }
    // The panic is reported as the error below, once, instead of by the default hook.
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(work));
    panic::set_hook(hook);
    result.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "no message".into());
        Err(explain(config, dir, checkpoint, &message))
    })
}

/// The error for a GPU failure whose backend message is `message`.
fn explain(config: &RunConfig, dir: &RunDir, checkpoint: &str, message: &str) -> anyhow::Error {
    let lower = message.to_lowercase();
    let memory = lower.contains("allocate") || lower.contains("out of memory");
    let what = if memory {
        format!(
            "the GPU ran out of memory training {} at train.batch_size = {} (evaluation in chunks \
             of {}, the Hessian and regularizer on eval.hessian_subset = {} examples in chunks of \
             {}): make train.batch_size or eval.hessian_subset smaller",
            crate::config::name(&config.model.name),
            config.train.batch_size,
            eval_chunk(config.device),
            config.eval.hessian_subset,
            probe_chunk(config.device).min(config.eval.hessian_subset),
        )
    } else {
        format!(
            "the GPU backend failed training {} at train.batch_size = {}",
            crate::config::name(&config.model.name),
            config.train.batch_size
        )
    };
    let path = dir.path().display();
    let back = if dir.file(checkpoint).exists() {
        format!(
            "{path} keeps its last checkpoint: continue with `noisegd run --resume {path}` (add \
             `--device cpu` to continue on the CPU)"
        )
    } else {
        format!(
            "{path} has no checkpoint yet (train.checkpoint_every sets how often one is written)"
        )
    };
    // The backend's own words: its first line and those about memory (its chain of skipped
    // kernels runs to hundreds of lines).
    let mut detail: Vec<&str> = message.lines().take(1).collect();
    detail.extend(message.lines().skip(1).map(str::trim).filter(|line| {
        let line = line.to_lowercase();
        line.contains("allocate") || line.contains("out of memory")
    }));
    anyhow!("{what}; {back}.\nThe backend said: {}", detail.join("\n  "))
}

/// Examples per forward pass when evaluating: on the CPU 1,000 (what every committed result was
/// measured with); on a GPU 256, so that one activation of ResNet-18 (64 × 32 × 32 floats per
/// image) stays within the 128 MiB a storage buffer may hold on some Vulkan devices (lavapipe).
pub fn eval_chunk(device: Backend) -> usize {
    match device {
        Backend::Cpu => 1000,
        Backend::Gpu => 256,
    }
}

/// Examples per backward pass of the Hessian trace (and per forward pass of the regularizer): on
/// the CPU the whole probe set at once (what every committed result was measured with); on a GPU
/// chunks of 256, so that ResNet-18's trace on the Fig. 6 config's 5,000 images needs the memory
/// of a 256-image step, not of a 5,000-image one.
pub fn probe_chunk(device: Backend) -> usize {
    match device {
        Backend::Cpu => usize::MAX,
        Backend::Gpu => 256,
    }
}
