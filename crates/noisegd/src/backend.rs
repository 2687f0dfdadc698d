//! The one place that knows which burn backend runs the tensors.
//!
//! Everything else takes a [`burn::tensor::Device`]; the method never asks which backend it runs
//! on. The CPU-only kernels of [`crate::kernels`] check the device themselves
//! ([`crate::kernels::on_cpu_backend`]) and leave every other device to burn's own ops.

use crate::error::{Error, Result};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// A compute backend, chosen at run time (`device = "cpu" | "gpu"` in a config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// burn's pure-Rust CPU backend `flex` (multi-threaded with rayon).
    #[default]
    Cpu,
    /// burn's wgpu backend: the default GPU adapter through Vulkan, Metal or DirectX 12
    /// (`cargo build --features gpu`). In CI a software Vulkan device (Mesa's lavapipe) stands in.
    Gpu,
}

/// An opened device and what it is, for the run's log and summary.
#[derive(Clone, Debug)]
pub struct OpenedDevice {
    /// The training device: the backend wrapped in autodiff.
    pub device: Device,
    /// The backend and, on a GPU, the adapter: name, graphics API, driver.
    pub description: String,
}

impl Backend {
    /// Opens the backend's device for training (autodiff), or says why it cannot be had. The GPU
    /// is opened once per process; later calls return the same device.
    pub fn open(self) -> Result<OpenedDevice> {
        match self {
            Backend::Cpu => Ok(OpenedDevice {
                device: Device::flex().autodiff(),
                description: "cpu (burn-flex 0.22.1)".into(),
            }),
            Backend::Gpu => gpu::open(),
        }
    }

    /// `cpu` or `gpu`, as in a config.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        }
    }

    /// The backend a config or command line names (`cpu`, `gpu`).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            other => Err(Error::InvalidValue {
                key: "device".into(),
                message: format!("found `{other}`; expected `cpu` or `gpu`"),
            }),
        }
    }

    /// The device for training, opened by [`Backend::open`].
    pub fn training_device(self) -> Result<Device> {
        self.open().map(|opened| opened.device)
    }
}

#[cfg(feature = "gpu")]
mod gpu {
    use super::{Error, OpenedDevice, Result};
    use burn::tensor::Device;
    use std::sync::OnceLock;

    /// wgpu's runtime can be initialized once per process: the outcome is kept.
    static OPENED: OnceLock<std::result::Result<OpenedDevice, String>> = OnceLock::new();

    pub fn open() -> Result<OpenedDevice> {
        OPENED
            .get_or_init(|| {
                let (device, setup) = Device::wgpu_options().init_with_setup().map_err(|e| {
                    format!(
                        "no GPU adapter could be opened through wgpu ({e}). Install a Vulkan driver \
                         (NVIDIA's driver; Mesa's `mesa-vulkan-drivers` for AMD, Intel, or lavapipe on \
                         the CPU) and its loader (`libvulkan1`), check it with `vulkaninfo --summary`, \
                         or run on the CPU with `--set device=cpu`"
                    )
                })?;
                let info = setup.adapter.get_info();
                let software = matches!(info.device_type, burn::tensor::wgpu::wgpu::DeviceType::Cpu);
                Ok(OpenedDevice {
                    device: device.autodiff(),
                    description: format!(
                        "gpu (burn-wgpu 0.22.1): {} via {:?}, driver {} {}{}",
                        info.name,
                        info.backend,
                        info.driver,
                        info.driver_info,
                        if software { " (a software device: CPU speed)" } else { "" }
                    ),
                })
            })
            .clone()
            .map_err(|message| Error::Device {
                device: "gpu".into(),
                message,
            })
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu {
    use super::{Error, OpenedDevice, Result};

    pub fn open() -> Result<OpenedDevice> {
        Err(Error::Device {
            device: "gpu".into(),
            message: "this noisegd was built without its GPU backend; rebuild it with \
                      `cargo build --release --features gpu` (needs a Vulkan, Metal or DirectX 12 \
                      driver at run time), or run on the CPU with `--set device=cpu`"
                .into(),
        })
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
