//! ResNet-18 in the CIFAR style of kuangliu/pytorch-cifar, as the official code has it:
//! a 3×3 stem (64 channels, stride 1, no max-pool), four stages of two basic blocks
//! (64, 128, 256, 512 channels; stride 2 from the second stage on), global average pooling and
//! `Linear(512, classes)`. Convolutions have no bias; every convolution is followed by BatchNorm.
//! 11,173,962 parameters in 62 tensors on CIFAR-10, the official code's 62 "parameter groups".
//!
//! The official code pools with `avg_pool2d(out, 4)`, which is the global mean for 32×32 inputs;
//! we take the global mean for any input size, so that tests can run on smaller images.
//! BatchNorm's running statistics are not parameters (see [`crate::batchnorm`]).

use super::{Classifier, SeededInit};
use crate::kernels::conv2d_layer;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Input geometry and number of classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResNetConfig {
    /// `[channels, height, width]` of one image.
    pub input: [usize; 3],
    /// Number of classes.
    pub classes: usize,
    /// Blocks per stage; `[2, 2, 2, 2]` is ResNet-18.
    pub blocks: [usize; 4],
}

impl ResNetConfig {
    /// ResNet-18 for CIFAR-10 (32×32×3, 10 classes).
    pub fn resnet18_cifar10() -> Self {
        Self {
            input: [3, 32, 32],
            classes: 10,
            blocks: [2, 2, 2, 2],
        }
    }

    /// Builds the network, initialized from `seed` (PyTorch's defaults, see [`SeededInit`]).
    /// Panics if an image side is below 8 (three stride-2 stages).
    pub fn init(&self, seed: u64, device: &Device) -> ResNet {
        let [c, h, w] = self.input;
        assert!(h >= 8 && w >= 8, "ResNet needs images of at least 8×8");
        let mut init = SeededInit::new(seed, device);
        let conv1 = init.conv2d(conv3x3(c, 64, 1));
        let bn1 = init.batch_norm(64);
        let mut in_planes = 64;
        let mut stage = |planes: usize, blocks: usize, stride: usize, init: &mut SeededInit| {
            (0..blocks)
                .map(|b| {
                    let block =
                        BasicBlock::new(in_planes, planes, if b == 0 { stride } else { 1 }, init);
                    in_planes = planes;
                    block
                })
                .collect::<Vec<_>>()
        };
        let layer1 = stage(64, self.blocks[0], 1, &mut init);
        let layer2 = stage(128, self.blocks[1], 2, &mut init);
        let layer3 = stage(256, self.blocks[2], 2, &mut init);
        let layer4 = stage(512, self.blocks[3], 2, &mut init);
        ResNet {
            conv1,
            bn1,
            layer1,
            layer2,
            layer3,
            layer4,
            linear: init.linear(512, self.classes),
            input: self.input,
        }
    }
}

fn conv3x3(c_in: usize, c_out: usize, stride: usize) -> Conv2dConfig {
    Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
}

/// The projection shortcut of a block that changes shape: `conv 1×1 (stride) → BatchNorm`.
#[derive(Module, Debug)]
pub struct Shortcut {
    /// 1×1 convolution, no bias.
    pub conv: Conv2d,
    /// Its BatchNorm.
    pub bn: BatchNorm,
}

/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
#[derive(Module, Debug)]
pub struct BasicBlock {
    /// 3×3, carries the block's stride.
    pub conv1: Conv2d,
    /// BatchNorm after `conv1`.
    pub bn1: BatchNorm,
    /// 3×3, stride 1.
    pub conv2: Conv2d,
    /// BatchNorm after `conv2`.
    pub bn2: BatchNorm,
    /// Projection when the shape changes, identity otherwise.
    pub shortcut: Option<Shortcut>,
}

impl BasicBlock {
    fn new(in_planes: usize, planes: usize, stride: usize, init: &mut SeededInit) -> Self {
        let conv1 = init.conv2d(conv3x3(in_planes, planes, stride));
        let bn1 = init.batch_norm(planes);
        let conv2 = init.conv2d(conv3x3(planes, planes, 1));
        let bn2 = init.batch_norm(planes);
        let shortcut = (stride != 1 || in_planes != planes).then(|| Shortcut {
            conv: init.conv2d(
                Conv2dConfig::new([in_planes, planes], [1, 1])
                    .with_stride([stride, stride])
                    .with_bias(false),
            ),
            bn: init.batch_norm(planes),
        });
        Self {
            conv1,
            bn1,
            conv2,
            bn2,
            shortcut,
        }
    }

    /// The block's output.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = relu(self.bn1.forward(conv2d_layer(&self.conv1, x.clone())));
        let out = self.bn2.forward(conv2d_layer(&self.conv2, out));
        let skip = match &self.shortcut {
            Some(s) => s.bn.forward(conv2d_layer(&s.conv, x)),
            None => x,
        };
        relu(out + skip)
    }
}

/// ResNet (see the module documentation); parameters in kuangliu's registration order.
#[derive(Module, Debug)]
pub struct ResNet {
    /// 3×3 stem, 64 channels.
    pub conv1: Conv2d,
    /// Stem BatchNorm.
    pub bn1: BatchNorm,
    /// Stage 1 (64 channels).
    pub layer1: Vec<BasicBlock>,
    /// Stage 2 (128 channels, stride 2).
    pub layer2: Vec<BasicBlock>,
    /// Stage 3 (256 channels, stride 2).
    pub layer3: Vec<BasicBlock>,
    /// Stage 4 (512 channels, stride 2).
    pub layer4: Vec<BasicBlock>,
    /// Classifier.
    pub linear: Linear,
    /// `[channels, height, width]` of one image.
    pub input: [usize; 3],
}

impl ResNet {
    /// Logits for images `[batch, channels, height, width]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = relu(self.bn1.forward(conv2d_layer(&self.conv1, x)));
        for block in self
            .layer1
            .iter()
            .chain(&self.layer2)
            .chain(&self.layer3)
            .chain(&self.layer4)
        {
            h = block.forward(h);
        }
        crate::kernels::linear_layer(&self.linear, super::spatial_mean(h))
    }
}

impl Classifier for ResNet {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward(super::as_images(x, self.input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{GroupBy, ParamGroups};

    #[test]
    fn resnet18_has_the_official_62_tensors_and_11m_parameters() {
        let model = ResNetConfig::resnet18_cifar10().init(0, &Device::flex());
        let groups = ParamGroups::of(&model, GroupBy::Tensor);
        assert_eq!(groups.len(), 62);
        assert_eq!(groups.numel(), 11_173_962);
        assert_eq!(groups.groups()[0].name, "conv1.weight");
        assert_eq!(groups.groups()[1].name, "bn1.gamma");
        assert_eq!(groups.groups()[61].name, "linear.bias");
        assert!(groups.groups().iter().all(|g| !g.name.contains("running")));
        // Per layer: the stem conv, its BatchNorm, 8 × 4 block layers, 3 shortcuts × 2, linear.
        assert_eq!(
            ParamGroups::of(&model, GroupBy::Layer).len(),
            2 + 32 + 6 + 1
        );
    }
}
