//! A fully connected ReLU network with a cross-entropy head: the paper's Fashion-MNIST MLPs
//! (MLP 1 is `784-500-500-500-10`, MNISTNet1 of the official code, 898,510 parameters in 8
//! tensors) and an MLP for MNIST-1D.

use super::{Classifier, SeededInit};
use crate::kernels::linear_layer;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};

/// Layer sizes, input first, number of classes last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlpConfig {
    /// `[d_in, hidden..., n_classes]`; at least two entries.
    pub sizes: Vec<usize>,
}

impl MlpConfig {
    /// A network with the given layer sizes.
    pub fn new(sizes: Vec<usize>) -> Self {
        Self { sizes }
    }

    /// The paper's MLP 1: 784-500-500-500-10 (MNISTNet1, 898,510 parameters).
    pub fn mlp1() -> Self {
        Self::new(vec![784, 500, 500, 500, 10])
    }

    /// The paper's MLP 2: 784-5000-5000-5000-10 (MNISTNet2, 53,985,010 parameters).
    pub fn mlp2() -> Self {
        Self::new(vec![784, 5000, 5000, 5000, 10])
    }

    /// The paper's MLP 3: 784-1000×5-10 (MNISTNet3, 4,799,010 parameters).
    pub fn mlp3() -> Self {
        Self::new(vec![784, 1000, 1000, 1000, 1000, 1000, 10])
    }

    /// The paper's MLP 4: 784-5000×5-10 (103,995,010 parameters; not in the official code).
    pub fn mlp4() -> Self {
        Self::new(vec![784, 5000, 5000, 5000, 5000, 5000, 10])
    }

    /// MNIST-1D (40 inputs, 10 classes): 40-100-100-10, the layer sizes of the MNIST-1D
    /// reference's `MLPBase` (hidden size 100, three linear layers, 15,210 parameters). The
    /// reference adds a skip connection around its second layer; ours is the plain ReLU MLP of
    /// the paper's family, so that the only difference from MLP 1 is the size.
    pub fn mnist1d() -> Self {
        Self::new(vec![40, 100, 100, 10])
    }

    /// Number of scalar parameters (weights and biases).
    pub fn num_params(&self) -> usize {
        self.sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    /// Builds the network with PyTorch's default initialization (U(±1/√fan_in) for weights and
    /// biases), drawn from `seed` (see [`SeededInit`]): the same seed gives the same network,
    /// bit for bit.
    pub fn init(&self, seed: u64, device: &Device) -> Mlp {
        assert!(
            self.sizes.len() >= 2,
            "an MLP needs an input and an output size"
        );
        let mut init = SeededInit::new(seed, device);
        let layers = self
            .sizes
            .windows(2)
            .map(|w| init.linear(w[0], w[1]))
            .collect();
        Mlp { layers }
    }
}

/// ReLU MLP; the last layer gives logits.
#[derive(Module, Debug)]
pub struct Mlp {
    /// The affine layers, input to output.
    pub layers: Vec<Linear>,
}

impl Mlp {
    /// Logits `[batch, classes]` for inputs `[batch, d_in]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = linear_layer(layer, h);
            if i < last {
                h = relu(h);
            }
        }
        h
    }

    /// Mean cross-entropy of the logits against integer labels.
    pub fn loss(&self, x: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        super::cross_entropy(self.forward(x), labels)
    }
}

impl Classifier for Mlp {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{GroupBy, ParamGroups};

    #[test]
    fn paper_sizes_have_the_official_parameter_counts() {
        assert_eq!(MlpConfig::mlp1().num_params(), 898_510);
        assert_eq!(MlpConfig::mlp2().num_params(), 53_985_010);
        assert_eq!(MlpConfig::mlp3().num_params(), 4_799_010);
        assert_eq!(MlpConfig::mlp4().num_params(), 103_995_010);
        assert_eq!(MlpConfig::mnist1d().num_params(), 15_210);
        let model = MlpConfig::mlp1().init(0, &Device::flex());
        let groups = ParamGroups::of(&model, GroupBy::Tensor);
        assert_eq!(groups.len(), 8);
        assert_eq!(groups.numel(), 898_510);
    }
}
