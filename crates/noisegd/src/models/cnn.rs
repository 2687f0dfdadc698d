//! The paper's wider fully convolutional CNN (§5, App. F.2): four `conv 3×3 (padding 1) → ReLU →
//! maxpool 2` stages, a spatial mean, and `Linear(c₄, classes)`.
//!
//! Two channel plans, as a config choice: the appendix's 32-64-128-128 (242,122 parameters on
//! CIFAR-10) and the official code's `CIFARCNN2`, 32-128-128-128 (334,346 parameters), which is
//! the one the paper's figures were most likely produced with.

use super::lenet::pool2;
use super::{Classifier, SeededInit};
use crate::kernels::conv2d_layer;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Which channel plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WideCnnChannels {
    /// 32-64-128-128, as the paper's appendix states.
    #[default]
    Paper,
    /// 32-128-128-128, as the official code (`CIFARCNN2`) has it.
    Code,
}

impl WideCnnChannels {
    /// Output channels of the four convolutions.
    pub fn channels(self) -> [usize; 4] {
        match self {
            Self::Paper => [32, 64, 128, 128],
            Self::Code => [32, 128, 128, 128],
        }
    }
}

/// Input geometry, channel plan and number of classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WideCnnConfig {
    /// `[channels, height, width]` of one image.
    pub input: [usize; 3],
    /// Number of classes.
    pub classes: usize,
    /// Channel plan.
    pub channels: WideCnnChannels,
}

impl WideCnnConfig {
    /// CIFAR-10 (32×32×3, 10 classes) with the given channel plan.
    pub fn cifar10(channels: WideCnnChannels) -> Self {
        Self {
            input: [3, 32, 32],
            classes: 10,
            channels,
        }
    }

    /// Builds the network, initialized from `seed` (PyTorch's defaults, see [`SeededInit`]).
    /// Panics if an image side is below 16 (four 2×2 poolings).
    pub fn init(&self, seed: u64, device: &Device) -> WideCnn {
        let [c, h, w] = self.input;
        assert!(
            h >= 16 && w >= 16,
            "the wide CNN needs images of at least 16×16"
        );
        let mut init = SeededInit::new(seed, device);
        let mut c_in = c;
        let convs = self
            .channels
            .channels()
            .map(|c_out| {
                let conv = init.conv2d(
                    Conv2dConfig::new([c_in, c_out], [3, 3])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)),
                );
                c_in = c_out;
                conv
            })
            .to_vec();
        WideCnn {
            convs,
            fc: init.linear(c_in, self.classes),
            input: self.input,
        }
    }
}

/// The wide CNN (see the module documentation).
#[derive(Module, Debug)]
pub struct WideCnn {
    /// The four convolutions, input to output.
    pub convs: Vec<Conv2d>,
    /// The classifier on the spatial mean.
    pub fc: Linear,
    /// `[channels, height, width]` of one image.
    pub input: [usize; 3],
}

impl WideCnn {
    /// Logits for images `[batch, channels, height, width]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = x;
        for conv in &self.convs {
            // relu(pool(·)) = pool(relu(·)), values and gradients (max commutes with a monotone
            // map); relu after pooling touches a quarter of the elements.
            h = relu(pool2(conv2d_layer(conv, h)));
        }
        crate::kernels::linear_layer(&self.fc, super::spatial_mean(h))
    }
}

impl Classifier for WideCnn {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward(super::as_images(x, self.input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{GroupBy, ParamGroups};

    #[test]
    fn parameter_counts_match_the_paper_and_the_code() {
        let device = Device::flex();
        for (plan, count) in [
            (WideCnnChannels::Paper, 242_122),
            (WideCnnChannels::Code, 334_346),
        ] {
            let model = WideCnnConfig::cifar10(plan).init(0, &device);
            let groups = ParamGroups::of(&model, GroupBy::Tensor);
            assert_eq!(groups.numel(), count, "{plan:?}");
            assert_eq!(groups.len(), 10);
        }
    }
}
