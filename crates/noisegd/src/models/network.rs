//! One type for every classifier, chosen by name at run time (`model = "resnet18"` in a
//! config), so that a training loop and [`crate::step::NoiseInjection`] are written once.

use super::cnn::{WideCnn, WideCnnChannels, WideCnnConfig};
use super::lenet::{LeNet, LeNetConfig};
use super::mlp::{Mlp, MlpConfig};
use super::resnet::{ResNet, ResNetConfig};
use super::Classifier;
use crate::error::{Error, Result};
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// The paper's classifiers, by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// ReLU MLP, hidden 500×3 (MLP 1).
    #[default]
    Mlp1,
    /// ReLU MLP, hidden 5000×3 (MLP 2).
    Mlp2,
    /// ReLU MLP, hidden 1000×5 (MLP 3).
    Mlp3,
    /// ReLU MLP, hidden 5000×5 (MLP 4).
    Mlp4,
    /// ReLU MLP, hidden 100×2 (the MNIST-1D reference's sizes).
    Mnist1dMlp,
    /// The toy CNN (LeNet).
    Lenet,
    /// The wide CNN, channels 32-64-128-128 (the paper's appendix).
    WideCnn,
    /// The wide CNN, channels 32-128-128-128 (the official code).
    WideCnnCode,
    /// ResNet-18, CIFAR style, with BatchNorm.
    Resnet18,
}

impl ModelKind {
    /// Hidden widths of the MLP kinds.
    fn hidden(self) -> Option<&'static [usize]> {
        Some(match self {
            Self::Mlp1 => &[500, 500, 500],
            Self::Mlp2 => &[5000, 5000, 5000],
            Self::Mlp3 => &[1000; 5],
            Self::Mlp4 => &[5000; 5],
            Self::Mnist1dMlp => &[100, 100],
            _ => return None,
        })
    }

    /// Builds the network for images `input = [channels, height, width]` (an MLP sees
    /// `c·h·w` features; MNIST-1D is `[1, 1, 40]`) and `classes` classes, initialized from
    /// `seed`.
    pub fn build(
        self,
        input: [usize; 3],
        classes: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Network> {
        let [c, h, w] = input;
        if c * h * w == 0 || classes < 2 {
            return Err(Error::invalid(
                "model",
                format!("needs a non-empty input and ≥ 2 classes, found input {input:?} and {classes} classes"),
            ));
        }
        if let Some(hidden) = self.hidden() {
            let mut sizes = vec![c * h * w];
            sizes.extend_from_slice(hidden);
            sizes.push(classes);
            return Ok(Network::Mlp(MlpConfig::new(sizes).init(seed, device)));
        }
        let min_side = if self == Self::Resnet18 { 8 } else { 16 };
        if h < min_side || w < min_side {
            return Err(Error::invalid(
                "model",
                format!(
                    "{self:?} needs images of at least {min_side}×{min_side}, found {h}×{w}; use an MLP for this data"
                ),
            ));
        }
        Ok(match self {
            Self::Lenet => Network::LeNet(LeNetConfig { input, classes }.init(seed, device)),
            Self::WideCnn | Self::WideCnnCode => {
                let channels = if self == Self::WideCnn {
                    WideCnnChannels::Paper
                } else {
                    WideCnnChannels::Code
                };
                Network::WideCnn(
                    WideCnnConfig {
                        input,
                        classes,
                        channels,
                    }
                    .init(seed, device),
                )
            }
            Self::Resnet18 => Network::ResNet(
                ResNetConfig {
                    input,
                    classes,
                    ..ResNetConfig::resnet18_cifar10()
                }
                .init(seed, device),
            ),
            _ => unreachable!("MLP kinds returned above"),
        })
    }
}

/// Any of the paper's classifiers.
#[derive(Module, Debug)]
pub enum Network {
    /// A ReLU MLP.
    Mlp(Mlp),
    /// LeNet.
    LeNet(LeNet),
    /// The wide CNN.
    WideCnn(WideCnn),
    /// ResNet.
    ResNet(ResNet),
}

impl Classifier for Network {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Mlp(m) => m.logits(x),
            Self::LeNet(m) => m.logits(x),
            Self::WideCnn(m) => m.logits(x),
            Self::ResNet(m) => m.logits(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{GroupBy, ParamGroups};

    #[test]
    fn kinds_build_the_named_networks_and_reject_bad_geometry() {
        let device = Device::flex();
        let mlp = ModelKind::Mlp1.build([1, 28, 28], 10, 0, &device).unwrap();
        assert_eq!(ParamGroups::of(&mlp, GroupBy::Tensor).numel(), 898_510);
        let mnist1d = ModelKind::Mnist1dMlp
            .build([1, 1, 40], 10, 0, &device)
            .unwrap();
        assert_eq!(ParamGroups::of(&mnist1d, GroupBy::Tensor).numel(), 15_210);
        let err = ModelKind::Lenet
            .build([1, 1, 40], 10, 0, &device)
            .unwrap_err();
        assert!(err.to_string().contains("at least 16×16"), "{err}");
        let kind: ModelKind = serde_json_like("wide_cnn_code");
        assert_eq!(kind, ModelKind::WideCnnCode);
    }

    fn serde_json_like(name: &str) -> ModelKind {
        use serde::de::value::{Error as DeError, StrDeserializer};
        use serde::de::IntoDeserializer;
        let de: StrDeserializer<DeError> = name.into_deserializer();
        ModelKind::deserialize(de).unwrap()
    }
}
