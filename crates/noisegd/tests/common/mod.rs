//! Helpers shared by the step's integration tests: a small MLP and batch, parameter and
//! gradient values in module order.
#![allow(dead_code)] // each test file uses its own subset

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Int, Tensor};
use noisegd::models::gaussian;
use noisegd::models::mlp::{Mlp, MlpConfig};
use noisegd::models::network::ModelKind;
use noisegd::noise::NoiseConfig;
use noisegd::optim::{BaseOptimizer, OptimConfig};
use noisegd::step::NoiseInjection;

/// Every float parameter's values, in module order, as raw bits.
pub fn bits<M: Module>(model: &M) -> Vec<Vec<u32>> {
    values(model)
        .into_iter()
        .map(|v| v.into_iter().map(f32::to_bits).collect())
        .collect()
}

pub fn values<M: Module>(model: &M) -> Vec<Vec<f32>> {
    struct Dump(Vec<Vec<f32>>);
    impl ModuleVisitor for Dump {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0
                .push(param.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let mut dump = Dump(vec![]);
    model.visit(&mut dump);
    dump.0
}

pub struct Batch {
    pub x: Tensor<2>,
    pub y: Tensor<1, Int>,
}

pub fn setup() -> (Device, Mlp, Batch) {
    let device = Device::flex().autodiff();
    let model = MlpConfig::new(vec![6, 16, 16, 3]).init(0, &device);
    let x = Tensor::<2>::from_floats(
        [
            [0.1, -0.3, 0.5, 0.7, -0.2, 0.0],
            [1.0, 0.2, -0.4, 0.3, 0.9, -0.8],
            [-0.5, 0.6, 0.1, -0.9, 0.4, 0.2],
            [0.3, 0.3, -0.3, 0.3, -0.3, 0.3],
        ],
        &device,
    );
    let y = Tensor::<1, Int>::from_ints([0, 2, 1, 2], &device);
    (device, model, Batch { x, y })
}

pub fn injection(model: &Mlp, noise: NoiseConfig, opt: &OptimConfig, seed: u64) -> NoiseInjection {
    NoiseInjection::new(
        model,
        noise,
        BaseOptimizer::new(opt, 100).unwrap(),
        seed,
        100,
    )
    .unwrap()
}

pub struct Zero;
impl burn::module::ModuleMapper for Zero {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.zeros_like())
    }
}

/// `model` with its parameters replaced by `vals` (module order), as fresh autodiff leaves.
pub fn load(model: &Mlp, vals: &[Vec<f32>]) -> Mlp {
    struct Loader<'a>(&'a [Vec<f32>], usize);
    impl burn::module::ModuleMapper for Loader<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let v = self.0[self.1].clone();
            self.1 += 1;
            param.map(|t| {
                let shape = t.shape();
                let device = t.device();
                Tensor::<1>::from_floats(v.as_slice(), &device)
                    .reshape(shape)
                    .require_grad()
            })
        }
    }
    model.clone().map(&mut Loader(vals, 0))
}

pub fn grad_values<M: Module>(model: &M, grads: &burn::optim::GradientsParams) -> Vec<Vec<f32>> {
    struct G<'a>(&'a burn::optim::GradientsParams, Vec<Vec<f32>>);
    impl ModuleVisitor for G<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let g = self
                .0
                .get::<D>(param.id)
                .expect("every parameter has a gradient");
            self.1.push(g.into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let mut v = G(grads, vec![]);
    model.visit(&mut v);
    v.1
}

/// A model with groups of a realistic size (tens of thousands of weights).
pub fn wide() -> (Mlp, Batch) {
    let device = Device::flex().autodiff();
    let model = MlpConfig::new(vec![300, 200, 100, 3]).init(0, &device);
    let x = Tensor::<2>::ones([4, 300], &device).mul_scalar(0.01);
    let y = Tensor::<1, Int>::from_ints([0, 2, 1, 2], &device);
    (model, Batch { x, y })
}

/// The networks under test, at sizes that keep a debug test in seconds: the paper's LeNet and
/// wide CNN at full CIFAR geometry, ResNet-18 at 16×16 (and at 32×32 in
/// `resnet18_full_size_steps`), the MLP family at MNIST-1D and small Fashion-MNIST sizes.
pub fn cases() -> Vec<(ModelKind, [usize; 3])> {
    vec![
        (ModelKind::Mnist1dMlp, [1, 1, 40]),
        (ModelKind::Mlp1, [1, 28, 28]),
        (ModelKind::Lenet, [1, 28, 28]),
        (ModelKind::Lenet, [3, 32, 32]),
        (ModelKind::WideCnn, [3, 32, 32]),
        (ModelKind::WideCnnCode, [3, 32, 32]),
        (ModelKind::Resnet18, [3, 16, 16]),
    ]
}

/// A seeded batch of `n` images of shape `input` (flattened) with labels 0, 7, 4, 1, ….
pub fn batch(input: [usize; 3], n: usize, device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let x = gaussian([n, input.iter().product()], 1.0, 42, 0, device);
    let y: Vec<i64> = (0..n as i64).map(|i| (i * 7) % 10).collect();
    (x, Tensor::<1, Int>::from_ints(y.as_slice(), device))
}
