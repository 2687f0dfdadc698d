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
