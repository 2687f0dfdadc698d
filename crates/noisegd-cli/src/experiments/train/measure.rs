//! What a classifier run measures at a logged step: loss and accuracy of the clean weights on
//! both splits, their norms, and at their own cadence the Hessian trace (Hutchinson, Rademacher
//! probes, by finite differences of gradients) and the explicit regularizer (antithetic loss
//! differences), both on the first `eval.hessian_subset` training examples.

use crate::config::RunConfig;
use anyhow::Result;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use noisegd::batchnorm::inference_mode;
use noisegd::data::dataset::Split;
use noisegd::data::TrainingSet;
use noisegd::diagnostics::hessian::{hessian_trace_in_parts, HutchinsonConfig};
use noisegd::diagnostics::norms::param_norms;
use noisegd::diagnostics::regularizer::regularizer_estimate;
use noisegd::models::network::Network;
use noisegd::models::{accuracy, cross_entropy, Classifier};
use noisegd::train::{num, Hooks, StepDone};

/// Keys the Hutchinson probes and the regularizer's draws apart from the training noise.
const HESSIAN_SEED_OFFSET: u64 = 0x4845_5353;
const REGULARIZER_SEED_OFFSET: u64 = 0x5245_4755;

/// Mean loss and accuracy of `model` on `split` (the first `limit` examples; all when 0), in
/// chunks of `chunk` examples (bounding the memory of an evaluation), without recording a graph,
/// BatchNorm normalizing with its running statistics.
fn evaluate(
    model: &Network,
    split: &Split,
    limit: usize,
    chunk: usize,
    device: &Device,
) -> (f64, f64) {
    let n = if limit == 0 {
        split.len()
    } else {
        limit.min(split.len())
    };
    let net = inference_mode(model.valid());
    let mut loss_sum = 0.0;
    let mut correct = 0;
    for start in (0..n).step_by(chunk) {
        let idx: Vec<usize> = (start..(start + chunk).min(n)).collect();
        let (x, y) = split.batch_2d(&idx, device);
        let logits = net.logits(x);
        correct += noisegd::models::correct_count(logits.clone(), y.clone());
        loss_sum += cross_entropy(logits, y).into_scalar::<f32>() as f64 * idx.len() as f64;
    }
    (loss_sum / n as f64, accuracy(correct, n))
}

/// What the classifier run measures at a logged step: loss and accuracy of the clean weights on
/// both splits, their norms, and at their own cadence the Hessian trace and the regularizer.
pub struct Measure<'a> {
    pub config: &'a RunConfig,
    pub set: &'a TrainingSet,
    pub device: &'a Device,
    /// The training examples the Hessian trace and the regularizer are estimated on, in chunks
    /// (one on the CPU; see `device_failure::probe_chunk`), none when `eval.hessian_subset` is 0.
    pub probe: Vec<(Tensor<2>, Tensor<1, Int>)>,
}

impl Hooks<Network> for Measure<'_> {
    type Error = anyhow::Error;

    fn log(&mut self, at: &StepDone, model: &Network) -> Result<Vec<String>> {
        let (config, e, done, report) = (self.config, &self.config.eval, at.done, at.report);
        let steps = config.train.steps;
        let chunk = super::device_failure::eval_chunk(config.device);
        let (train_loss, train_acc) = evaluate(model, &self.set.train, 0, chunk, self.device);
        let (test_loss, test_acc) =
            evaluate(model, &self.set.test, e.test_subset, chunk, self.device);
        let norms = param_norms(model);
        // Each chunk's share of the probe set: the probe loss is Σ wᵢ Lᵢ.
        let total: usize = self.probe.iter().map(|(_, y)| y.dims()[0]).sum();
        let weights: Vec<f64> = (self.probe.iter())
            .map(|(_, y)| y.dims()[0] as f64 / total as f64)
            .collect();
        let chunk_loss = |m: &Network, i: usize| {
            let (x, y) = self.probe[i].clone();
            m.loss(x, y)
        };
        let probe_loss = |m: &Network| match self.probe.len() {
            1 => chunk_loss(m, 0),
            n => (0..n)
                .map(|i| chunk_loss(m, i).mul_scalar(weights[i]))
                .reduce(|a, b| a + b)
                .expect("estimates run on a non-empty probe set"),
        };
        let due = |every: u64| {
            every > 0 && (done % every == 0 || done == steps) && !self.probe.is_empty()
        };
        let (trace, trace_se) = if due(e.hessian_every) {
            let est = hessian_trace_in_parts(
                &inference_mode(model.clone()),
                &weights,
                chunk_loss,
                &HutchinsonConfig {
                    step: e.hessian_step,
                    ..HutchinsonConfig::new(
                        e.hessian_probes,
                        config.seed ^ HESSIAN_SEED_OFFSET ^ done,
                    )
                },
            )?;
            (est.mean, est.std_err)
        } else {
            (f64::NAN, f64::NAN)
        };
        // The regularizer E L(w + ε) − L(w) is that of a Gaussian of std σ on the weights: SAM
        // draws none and RWP's std is relative to each unit, so they have no such column.
        let isotropic = config.noise.policy.draws_isotropic_noise();
        let (reg, reg_se) = if due(e.regularizer_every) && report.sigma > 0.0 && isotropic {
            let est = regularizer_estimate(
                &inference_mode(model.valid()),
                &config.noise,
                report.sigma,
                probe_loss,
                e.regularizer_draws,
                config.seed ^ REGULARIZER_SEED_OFFSET ^ done,
            )?;
            (est.mean, est.std_err)
        } else {
            (f64::NAN, f64::NAN)
        };
        let mut row: Vec<String> = [done, at.epoch].map(|v| v.to_string()).into();
        row.extend(
            [
                report.loss,
                train_loss,
                train_acc,
                test_loss,
                test_acc,
                norms.l1,
                norms.l2,
                trace,
                trace_se,
                reg,
                reg_se,
                report.sigma,
                report.per_weight_std,
                report.lr,
            ]
            .map(num),
        );
        row.push(report.group.map_or(String::new(), |g| g.to_string()));
        Ok(row)
    }
}
