//! The paper's toy CNN: the PyTorch-tutorial LeNet of the official code (`CIFARCNN1`,
//! 62,006 parameters on 32×32×3):
//! `conv(c,6,5) → ReLU → maxpool 2 → conv(6,16,5) → ReLU → maxpool 2 → flatten →
//! Linear(16·s·s,120) → ReLU → Linear(120,84) → ReLU → Linear(84,10)`, with `s = 5` for 32×32
//! inputs and `s = 4` for 28×28 (Fashion-MNIST; the official code has no such variant, only its
//! first convolution and first linear layer change).

use super::{Classifier, SeededInit};
use crate::kernels::{conv2d_layer, linear_layer};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Input geometry and number of classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeNetConfig {
    /// `[channels, height, width]` of one image.
    pub input: [usize; 3],
    /// Number of classes.
    pub classes: usize,
}

impl LeNetConfig {
    /// CIFAR-10: 32×32×3, 10 classes (the official code's network).
    pub fn cifar10() -> Self {
        Self {
            input: [3, 32, 32],
            classes: 10,
        }
    }

    /// (Fashion-)MNIST: 28×28×1, 10 classes.
    pub fn mnist() -> Self {
        Self {
            input: [1, 28, 28],
            classes: 10,
        }
    }

    /// Side of the feature map after the two conv + pool stages.
    fn feature_side(side: usize) -> usize {
        ((side - 4) / 2 - 4) / 2
    }

    /// Builds the network, initialized from `seed` (PyTorch's defaults, see [`SeededInit`]).
    /// Panics if an image side is below 16 (nothing left after two conv-pool stages).
    pub fn init(&self, seed: u64, device: &Device) -> LeNet {
        let [c, h, w] = self.input;
        assert!(h >= 16 && w >= 16, "LeNet needs images of at least 16×16");
        let mut init = SeededInit::new(seed, device);
        let flat = 16 * Self::feature_side(h) * Self::feature_side(w);
        LeNet {
            conv1: init.conv2d(Conv2dConfig::new([c, 6], [5, 5])),
            conv2: init.conv2d(Conv2dConfig::new([6, 16], [5, 5])),
            fc1: init.linear(flat, 120),
            fc2: init.linear(120, 84),
            fc3: init.linear(84, self.classes),
            input: self.input,
        }
    }
}

/// LeNet (see the module documentation); parameters in the official code's order.
#[derive(Module, Debug)]
pub struct LeNet {
    /// `conv(c, 6, 5)`.
    pub conv1: Conv2d,
    /// `conv(6, 16, 5)`.
    pub conv2: Conv2d,
    /// `Linear(16·s·s, 120)`.
    pub fc1: Linear,
    /// `Linear(120, 84)`.
    pub fc2: Linear,
    /// `Linear(84, classes)`.
    pub fc3: Linear,
    /// `[channels, height, width]` of one image.
    pub input: [usize; 3],
}

pub(crate) fn pool2(x: Tensor<4>) -> Tensor<4> {
    crate::kernels::max_pool2(x)
}

impl LeNet {
    /// The convolutional features `[batch, 16, s, s]` of images `[batch, channels, height, width]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        // relu(pool(·)) = pool(relu(·)), values and gradients (max commutes with a monotone
        // map); relu after pooling touches a quarter of the elements.
        let x = relu(pool2(conv2d_layer(&self.conv1, x)));
        relu(pool2(conv2d_layer(&self.conv2, x)))
    }

    /// Logits for images `[batch, channels, height, width]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let features = self.features(x).flatten::<2>(1, 3);
        let h = relu(linear_layer(&self.fc1, features));
        let h = relu(linear_layer(&self.fc2, h));
        linear_layer(&self.fc3, h)
    }
}

impl Classifier for LeNet {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward(super::as_images(x, self.input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{GroupBy, ParamGroups};

    #[test]
    fn parameter_counts_match_the_official_network() {
        let device = Device::flex();
        let cifar = LeNetConfig::cifar10().init(0, &device);
        let groups = ParamGroups::of(&cifar, GroupBy::Tensor);
        assert_eq!(groups.numel(), 62_006);
        assert_eq!(groups.len(), 10);
        let mnist = LeNetConfig::mnist().init(0, &device);
        // conv1 1·6·25+6, conv2 2,416, fc1 256·120+120, fc2 10,164, fc3 850.
        assert_eq!(
            ParamGroups::of(&mnist, GroupBy::Tensor).numel(),
            156 + 2_416 + 30_840 + 10_164 + 850
        );
        let x = Tensor::<2>::zeros([2, 784], &device);
        assert_eq!(mnist.logits(x).dims(), [2, 10]);
    }
}
