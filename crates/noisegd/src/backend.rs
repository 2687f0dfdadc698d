//! The one place that knows which burn backend runs the tensors.
//!
//! Everything else takes a [`burn::tensor::Device`]; adding a GPU backend means adding a variant
//! here (and a cargo feature), not touching the method.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// A compute backend, chosen at run time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// burn's pure-Rust CPU backend `flex` (multi-threaded with rayon).
    #[default]
    Cpu,
}

impl Backend {
    /// The device for training: the backend wrapped in autodiff.
    pub fn training_device(self) -> Device {
        match self {
            Backend::Cpu => Device::flex().autodiff(),
        }
    }

    /// The name written into run directories.
    pub fn describe(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu (burn-flex 0.22.1)",
        }
    }
}

/// Tells the C allocator to keep freed memory for reuse instead of returning it to the system.
///
/// Every step allocates and frees the same large buffers (activations, im2col matrices,
/// gradients). glibc serves large allocations with fresh `mmap`s and unmaps them on free, so
/// each step paid for page faults and the kernel's zeroing of those pages (`clear_page_erms` was
/// 13 % of a wide-CNN step in `perf`). Here all sizes come from the heap, which is never trimmed.
/// Measured with `examples/bench_case.rs` (one thread, 2-core machine, alternating with
/// `NOISEGD_SYSTEM_MALLOC=1`): wide CNN batch 128 450/564 → 405/401 ms per step, peak RSS
/// 140 → 135 MiB; MLP 1 batch 128 unchanged (5.7 ms). Call once, first thing in `main`; a no-op
/// off glibc.
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread runs.
    unsafe {
        // No mmap at all (every size comes from the heap, where freed memory is reused), and
        // never trim the heap's top back to the system.
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
