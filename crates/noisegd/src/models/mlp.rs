//! A fully connected ReLU network with a cross-entropy head: the paper's Fashion-MNIST MLPs
//! (MLP 1 is `784-500-500-500-10`, MNISTNet1 of the official code, 898,510 parameters in 8
//! tensors).

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
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

    /// The paper's MLP 1: 784-500-500-500-10.
    pub fn mlp1() -> Self {
        Self::new(vec![784, 500, 500, 500, 10])
    }

    /// Builds the network with PyTorch's default initialization (U(±1/√fan_in) for weights and
    /// biases), which burn's `Linear` also uses.
    pub fn init(&self, device: &Device) -> Mlp {
        assert!(
            self.sizes.len() >= 2,
            "an MLP needs an input and an output size"
        );
        let layers = self
            .sizes
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
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
            h = layer.forward(h);
            if i < last {
                h = relu(h);
            }
        }
        h
    }

    /// Mean cross-entropy of the logits against integer labels.
    pub fn loss(&self, x: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        let logits = self.forward(x);
        CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits, labels)
    }
}
