//! The burn models against their f64 theory twins in [`crate::theory::smoothed`]: the same loss
//! at the same weights (f32 against f64), and a few steps of [`NoiseInjection`] lower it.

use super::deep_linear::DeepLinearNet;
use super::relu::ReluNet;
use crate::noise::rng::NoiseKey;
use crate::noise::NoiseConfig;
use crate::optim::{BaseOptimizer, OptimConfig};
use crate::step::NoiseInjection;
use crate::theory::smoothed::{self, normal_matrix, NoisyModel};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use nalgebra::DMatrix;

fn device() -> Device {
    crate::backend::Backend::Cpu
        .training_device()
        .expect("the CPU backend always opens")
}

/// `rows × cols` Gaussian data, rounded to f32 so that both sides see the same numbers.
fn data(rows: usize, cols: usize, group: u32) -> DMatrix<f64> {
    normal_matrix(rows, cols, 1.0, NoiseKey::new(11, 0, group).with_stream(5))
        .map(|v| f64::from(v as f32))
}

fn tensor(m: &DMatrix<f64>, device: &Device) -> Tensor<2> {
    let rows: Vec<f32> = m.transpose().iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(rows, [m.nrows(), m.ncols()]), device)
}

fn matrix(t: Tensor<2>) -> DMatrix<f64> {
    let [r, c] = t.dims();
    let v = t.inner().into_data().try_to_vec::<f32>().expect("f32");
    DMatrix::from_row_iterator(r, c, v.into_iter().map(f64::from))
}

fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.inner().into_data().try_to_vec::<f32>().expect("f32")[0])
}

fn assert_close(burn: f64, theory: f64, what: &str) {
    eprintln!("{what}: burn (f32) {burn:.7e}, theory (f64) {theory:.7e}");
    assert!(
        (burn - theory).abs() <= 1e-5 * theory.abs(),
        "{what}: {burn} vs {theory}"
    );
}

/// Trains `model` for `steps` PGD steps (layer noise) and returns (first, last) clean loss.
fn train<M: Module>(model: M, loss: impl Fn(&M) -> Tensor<1> + Sync, steps: u64) -> (f64, f64) {
    let first = scalar(loss(&model));
    let optim = OptimConfig {
        lr: 0.05,
        ..OptimConfig::default()
    };
    let optimizer = BaseOptimizer::new(&optim, steps).unwrap();
    let mut pgd =
        NoiseInjection::new(&model, NoiseConfig::layer(0.05), optimizer, 3, steps).unwrap();
    let mut model = model;
    for _ in 0..steps {
        let (next, report) = pgd.step(model, &loss).unwrap();
        assert!(report.loss.is_finite() && report.per_weight_std == 0.05);
        model = next;
    }
    (first, scalar(loss(&model)))
}

#[test]
fn deep_linear_matches_theory_and_trains() {
    let device = device();
    let dims = [5, 16, 12, 3];
    let (x, y) = (data(20, 5, 0), data(20, 3, 1));
    let net = DeepLinearNet::init(&dims, 1.0, 7, &device);
    assert_eq!(net.layers.len(), 3);
    let theory = smoothed::DeepLinear {
        x: x.clone(),
        y: y.clone(),
        ws: net.layers.iter().map(|w| matrix(w.val())).collect(),
    };
    let (xt, yt) = (tensor(&x, &device), tensor(&y, &device));
    let loss = |m: &DeepLinearNet| m.loss(xt.clone(), yt.clone());
    assert_close(scalar(loss(&net)), theory.loss(), "deep linear loss");
    let end_to_end = theory
        .ws
        .iter()
        .skip(1)
        .fold(theory.ws[0].clone(), |a, w| w * a);
    assert!((matrix(net.product()) - &end_to_end).norm() <= 1e-5 * end_to_end.norm());
    // Seeded: the same seed gives the same weights, another seed others.
    let again = DeepLinearNet::init(&dims, 1.0, 7, &device);
    assert_eq!(matrix(again.layers[1].val()), theory.ws[1]);
    assert_ne!(
        matrix(DeepLinearNet::init(&dims, 1.0, 8, &device).layers[1].val()),
        theory.ws[1]
    );
    let (first, last) = train(net, loss, 60);
    eprintln!("deep linear PGD: loss {first:.4} → {last:.4}");
    assert!(last < 0.9 * first, "{first} → {last}");
}

#[test]
fn relu_matches_theory_and_trains() {
    let device = device();
    let (x, y) = (data(20, 5, 2), data(20, 2, 3));
    let net = ReluNet::init(5, 24, 2, 1.0, 9, &device);
    let theory = smoothed::ReluNet {
        x: x.clone(),
        y: y.clone(),
        w1: matrix(net.w1.val()),
        w2: matrix(net.w2.val()),
    };
    let (xt, yt) = (tensor(&x, &device), tensor(&y, &device));
    let loss = |m: &ReluNet| m.loss(xt.clone(), yt.clone());
    assert_close(scalar(loss(&net)), theory.loss(), "relu loss");
    // The ReLU is active: some hidden units are cut, some are not.
    let pre = &theory.w1 * x.transpose();
    assert!(pre.iter().any(|&v| v > 0.0) && pre.iter().any(|&v| v < 0.0));
    let (first, last) = train(net, loss, 60);
    eprintln!("relu PGD: loss {first:.4} → {last:.4}");
    assert!(last < 0.9 * first, "{first} → {last}");
}
