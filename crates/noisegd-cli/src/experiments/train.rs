//! `experiment = "train"`: a classifier (the paper's MLPs, CNNs, ResNet-18) trained by full-batch
//! GD or minibatch SGD with the configured noise policy on an image data set (paper §3, E3–E6).
//!
//! Every `train.log_every` steps (and on the 1-2-5 grid) the clean weights are evaluated: loss and
//! accuracy on the whole training set and on the test set, the parameters' ℓ₁ and ℓ₂ norms, and,
//! at their own cadence, the Hessian trace (Hutchinson, Rademacher probes, by finite differences of
//! gradients, on a stated subset of the training set) and the explicit regularizer the noise adds,
//! estimated from antithetic loss differences `(L(w+ε) + L(w−ε) − 2L(w))/2`.

use super::RunOptions;
use crate::config::RunConfig;
use crate::interrupt::{self, Interrupted};
use crate::report::plot::{write_line_plot, LinePlot, Scale, Series};
use crate::run::RunDir;
use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use noisegd::batchnorm::inference_mode;
use noisegd::checkpoint::Checkpoint;
use noisegd::data::dataset::Split;
use noisegd::data::training_set::CROP_PADDING;
use noisegd::data::{TrainingSet, TrainingSetConfig};
use noisegd::diagnostics::hessian::{hessian_trace, HutchinsonConfig};
use noisegd::diagnostics::norms::param_norms;
use noisegd::diagnostics::regularizer::regularizer_estimate;
use noisegd::models::network::Network;
use noisegd::models::{accuracy, cross_entropy, Classifier};
use noisegd::optim::BaseOptimizer;
use noisegd::params::ParamGroups;
use noisegd::train::{num, Driver, Hooks, Method, MetricsCsv, Outcome, StepDone};
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Examples per forward pass when evaluating (bounds the memory of an evaluation).
const EVAL_CHUNK: usize = 1000;
/// Keys the Hutchinson probes and the regularizer's draws apart from the training noise.
const HESSIAN_SEED_OFFSET: u64 = 0x4845_5353;
const REGULARIZER_SEED_OFFSET: u64 = 0x5245_4755;

const COLUMNS: [&str; 17] = [
    "step",
    "epoch",
    "batch_loss",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "l1_norm",
    "l2_norm",
    "hessian_trace",
    "hessian_trace_se",
    "regularizer",
    "regularizer_se",
    "sigma",
    "per_weight_std",
    "lr",
    "group",
];

/// The checkpoint file in the run directory.
pub const CHECKPOINT: &str = "checkpoint.bin";

/// The figures of the last logged step, for the summary.
struct Logged {
    done: u64,
    train_loss: f64,
    train_acc: f64,
    test_loss: f64,
    test_acc: f64,
    l1: f64,
    l2: f64,
}

/// The last row of `metrics.csv` and the best test accuracy in it. The file holds exact values,
/// so the summary of a resumed run is the uninterrupted run's.
fn last_logged(path: &std::path::Path) -> Result<(Option<Logged>, f64)> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut best = f64::NEG_INFINITY;
    let mut last = None;
    for record in reader.records() {
        let r = record.with_context(|| format!("in {}", path.display()))?;
        let f = |name: &str| {
            let j = COLUMNS
                .iter()
                .position(|c| *c == name)
                .expect("a column of COLUMNS");
            r.get(j)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        best = best.max(f("test_accuracy"));
        last = Some(Logged {
            done: r.get(0).and_then(|v| v.parse().ok()).unwrap_or(0),
            train_loss: f("train_loss"),
            train_acc: f("train_accuracy"),
            test_loss: f("test_loss"),
            test_acc: f("test_accuracy"),
            l1: f("l1_norm"),
            l2: f("l2_norm"),
        });
    }
    Ok((last, best))
}

/// Mean loss and accuracy of `model` on `split` (the first `limit` examples; all when 0), in
/// chunks, without recording a graph, BatchNorm normalizing with its running statistics.
fn evaluate(model: &Network, split: &Split, limit: usize, device: &Device) -> (f64, f64) {
    let n = if limit == 0 {
        split.len()
    } else {
        limit.min(split.len())
    };
    let net = inference_mode(model.valid());
    let mut loss_sum = 0.0;
    let mut correct = 0;
    for start in (0..n).step_by(EVAL_CHUNK) {
        let idx: Vec<usize> = (start..(start + EVAL_CHUNK).min(n)).collect();
        let (x, y) = split.batch_2d(&idx, device);
        let logits = net.logits(x);
        correct += noisegd::models::correct_count(logits.clone(), y.clone());
        loss_sum += cross_entropy(logits, y).into_scalar::<f32>() as f64 * idx.len() as f64;
    }
    (loss_sum / n as f64, accuracy(correct, n))
}

/// What the classifier run measures at a logged step: loss and accuracy of the clean weights on
/// both splits, their norms, and at their own cadence the Hessian trace and the regularizer.
struct Measure<'a> {
    config: &'a RunConfig,
    set: &'a TrainingSet,
    device: &'a Device,
    /// The training examples the Hessian trace and the regularizer are estimated on (none when
    /// `eval.hessian_subset` is 0).
    probe: Option<(Tensor<2>, Tensor<1, Int>)>,
}

impl Hooks<Network> for Measure<'_> {
    type Error = anyhow::Error;

    fn log(&mut self, at: &StepDone, model: &Network) -> Result<Vec<String>> {
        let (config, e, done, report) = (self.config, &self.config.eval, at.done, at.report);
        let steps = config.train.steps;
        let (train_loss, train_acc) = evaluate(model, &self.set.train, 0, self.device);
        let (test_loss, test_acc) = evaluate(model, &self.set.test, e.test_subset, self.device);
        let norms = param_norms(model);
        let probe_loss = |m: &Network| {
            let (x, y) = self
                .probe
                .clone()
                .expect("estimates run on a non-empty probe set");
            m.loss(x, y)
        };
        let due =
            |every: u64| every > 0 && (done % every == 0 || done == steps) && self.probe.is_some();
        let (trace, trace_se) = if due(e.hessian_every) {
            let est = hessian_trace(
                &inference_mode(model.clone()),
                probe_loss,
                &HutchinsonConfig::new(e.hessian_probes, config.seed ^ HESSIAN_SEED_OFFSET ^ done),
            )?;
            (est.mean, est.std_err)
        } else {
            (f64::NAN, f64::NAN)
        };
        let (reg, reg_se) = if due(e.regularizer_every) && report.sigma > 0.0 {
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

pub fn run(config: &RunConfig, dir: &RunDir, options: RunOptions) -> Result<PathBuf> {
    let started = std::time::Instant::now();
    let d = &config.data;
    let device = config.device.training_device();
    let set = TrainingSet::load(
        &TrainingSetConfig {
            name: d
                .name
                .dataset()
                .context("the train experiment needs an image data set in data.name")?,
            dir: d.dir.clone(),
            subset: d.subset,
            normalize: d.normalize,
            augment: d.augment,
            batch_size: config.train.batch_size,
            seed: config.seed,
        },
        &device,
    )
    .context("preparing the data")?;
    let model_kind = config.model.name;
    let model = model_kind.build(set.data.shape, set.data.num_classes(), config.seed, &device)?;
    let groups = ParamGroups::of(&model, config.noise.group_by);
    let steps = config.train.steps;
    let checkpoint_path = dir.file(CHECKPOINT);
    let resumed = if options.resume && checkpoint_path.exists() {
        Some(Checkpoint::read(&checkpoint_path)?)
    } else {
        None
    };
    let metrics_path = dir.file("metrics.csv");
    let mut metrics = match &resumed {
        Some(ckpt) => {
            let text = std::str::from_utf8(&ckpt.extra)
                .context("the checkpoint's copy of metrics.csv is not text")?;
            eprintln!(
                "resuming {} at step {} of {steps}",
                dir.path().display(),
                ckpt.step
            );
            MetricsCsv::resume(&metrics_path, &COLUMNS, text)?
        }
        None => MetricsCsv::create(&metrics_path, &COLUMNS)?,
    };
    let probe: Vec<usize> = (0..config.eval.hessian_subset.min(set.train.len())).collect();
    let mut measure = Measure {
        config,
        set: &set,
        device: &device,
        probe: (!probe.is_empty()).then(|| set.train.batch_2d(&probe, &device)),
    };
    let bar = super::progress(steps, "train", options);
    interrupt::stop_cleanly();
    let outcome = Driver::new(steps, config.train.log_every)
        .checkpoint_to(&checkpoint_path, config.train.checkpoint_every)
        .stop_when(interrupt::requested)
        .on_progress(|done| bar.set_position(done))
        .resume_from(resumed.as_ref())
        .run(
            model,
            Method {
                noise: config.noise.clone(),
                optimizer: BaseOptimizer::new(&config.optim, steps)?,
                seed: config.seed,
            },
            &mut set.batches(),
            |m: &Network, (x, y): &(Tensor<2>, Tensor<1, Int>)| m.loss(x.clone(), y.clone()),
            &mut measure,
            &mut metrics,
        )?;
    bar.finish_and_clear();
    let diverged = match outcome {
        Outcome::Finished(_) => None,
        Outcome::Diverged { step, error } => Some((step, error.to_string())),
        Outcome::Interrupted { done } => {
            let summary = json!({"status": "interrupted", "steps_done": done, "steps": steps});
            dir.write_json("summary.json", &summary)?;
            return Err(Interrupted {
                step: done,
                dir: dir.path().display().to_string(),
            }
            .into());
        }
    };

    let (last, best_test) = last_logged(&metrics_path)?;
    let e = &config.eval;
    let (train, test) = (&set.train, &set.test);
    let theory_sigma = config.noise.theory_sigma(groups.len());
    let mut summary = json!({
        "status": if diverged.is_some() { "diverged" } else { "finished" },
        "data": set.data.name.as_str(),
        "data_origin": set.data.origin,
        "train_examples": train.len(),
        "test_examples": if e.test_subset == 0 { test.len() } else { e.test_subset.min(test.len()) },
        "model": crate::config::name(&model_kind),
        "parameters": groups.numel(),
        "parameter_groups": groups.len(),
        "sigma": config.noise.sigma,
        "per_weight_std": config.noise.per_weight_std(groups.len()),
        "theory_sigma": theory_sigma,
        "batches_per_epoch": set.batches_per_epoch(),
        "seconds": started.elapsed().as_secs_f64(),
    });
    if let Some(l) = &last {
        let m = summary.as_object_mut().expect("a JSON object");
        m.insert("steps_done".into(), json!(l.done));
        m.insert("train_loss".into(), json!(l.train_loss));
        m.insert("train_accuracy".into(), json!(l.train_acc));
        m.insert("test_loss".into(), json!(l.test_loss));
        m.insert("test_accuracy".into(), json!(l.test_acc));
        m.insert("best_test_accuracy".into(), json!(best_test));
        m.insert("l1_norm".into(), json!(l.l1));
        m.insert("l2_norm".into(), json!(l.l2));
    }
    if let Some(ckpt) = &resumed {
        let m = summary.as_object_mut().expect("a JSON object");
        m.insert("resumed_at_step".into(), json!(ckpt.step));
    }
    if let Some((step, message)) = &diverged {
        let m = summary.as_object_mut().expect("a JSON object");
        m.insert("diverged_at_step".into(), json!(step));
        m.insert("error".into(), json!(message));
    }
    dir.write_json("summary.json", &summary)?;
    let plots = write_plots(dir)?;
    let report = report_text(config, &set, &summary, &plots)?;
    dir.write_text("report.md", &report)?;
    if let Some((step, message)) = diverged {
        anyhow::bail!(
            "training diverged at step {step}: {message}; everything logged before it is in {}",
            dir.file("metrics.csv").display()
        );
    }
    Ok(dir.file("report.md"))
}

/// Test accuracy, losses and (when estimated) the Hessian trace against steps, from metrics.csv.
fn write_plots(dir: &RunDir) -> Result<Vec<String>> {
    let mut reader = csv::Reader::from_path(dir.file("metrics.csv"))?;
    let header: Vec<String> = reader.headers()?.iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let col = |name: &str| -> Vec<(f64, f64)> {
        let j = header
            .iter()
            .position(|h| h == name)
            .expect("a column of COLUMNS");
        rows.iter()
            .filter_map(|r| Some((r[0].parse().ok()?, r[j].parse::<f64>().ok()?)))
            .filter(|(_, v): &(f64, f64)| v.is_finite())
            .collect()
    };
    let mut written = vec![];
    let mut plot = |stem: &str,
                    title: &str,
                    y_label: &str,
                    y_scale: Scale,
                    series: Vec<Series>|
     -> Result<()> {
        if series.iter().all(|s| s.points.is_empty()) {
            return Ok(());
        }
        let plot = LinePlot {
            title: title.into(),
            x_label: "step".into(),
            y_label: y_label.into(),
            x_scale: Scale::Log10,
            y_scale,
            series,
        };
        write_line_plot(&plot, &dir.file(stem))?;
        written.push(stem.to_string());
        Ok(())
    };
    plot(
        "accuracy",
        "accuracy of the clean weights",
        "accuracy (fraction correct)",
        Scale::Linear,
        vec![
            Series::new("train", col("train_accuracy")),
            Series::new("test", col("test_accuracy")),
        ],
    )?;
    plot(
        "loss",
        "cross-entropy of the clean weights",
        "loss (nats)",
        Scale::Log10,
        vec![
            Series::new("train", col("train_loss")),
            Series::new("test", col("test_loss")),
        ],
    )?;
    plot(
        "hessian_trace",
        "Hessian trace (Hutchinson), training subset",
        "tr ∇²L",
        Scale::Linear,
        vec![Series::new("trace", col("hessian_trace"))],
    )?;
    Ok(written)
}

fn report_text(
    config: &RunConfig,
    prepared: &TrainingSet,
    summary: &serde_json::Value,
    plots: &[String],
) -> Result<String> {
    let mut r = String::from("# Classifier training with noise injection\n\n");
    let s = |k: &str| summary.get(k).cloned().unwrap_or(serde_json::Value::Null);
    writeln!(
        r,
        "Data: `{}` from {}; {} training examples{}, {} test examples; {}.",
        s("data").as_str().unwrap_or(""),
        prepared.data.origin,
        prepared.train.len(),
        if config.data.subset > 0 {
            format!(
                " (seeded subset of {} drawn with seed {})",
                prepared.data.train.len(),
                config.seed
            )
        } else {
            String::new()
        },
        s("test_examples"),
        prepared.normalization
    )?;
    if config.data.augment {
        writeln!(r, "Augmentation: random crop with {CROP_PADDING}-pixel padding and horizontal flip, drawn from (seed, epoch, example).")?;
    }
    writeln!(
        r,
        "Model: `{}`, {} parameters in {} noise groups (group_by = {}).",
        s("model").as_str().unwrap_or(""),
        s("parameters"),
        s("parameter_groups"),
        crate::config::name(&config.noise.group_by)
    )?;
    writeln!(
        r,
        "Noise: policy `{}`, σ = {} (per-weight std {}; theory's σ_t = σ/√M = {}), schedule `{}`.",
        crate::config::name(&config.noise.policy),
        config.noise.sigma,
        s("per_weight_std"),
        s("theory_sigma"),
        crate::config::name(&config.noise.schedule)
    )?;
    writeln!(r, "Optimizer: {} lr {} (schedule `{}`), {} steps, batch {} ({} batches per epoch), seed {}.\n",
        crate::config::name(&config.optim.name), config.optim.lr, crate::config::name(&config.optim.schedule), config.train.steps,
        if config.train.batch_size == 0 { "full".to_string() } else { config.train.batch_size.to_string() }, s("batches_per_epoch"), config.seed)?;
    writeln!(
        r,
        "## Result\n\nStatus: **{}**.\n",
        s("status").as_str().unwrap_or("")
    )?;
    for (key, label) in [
        ("test_accuracy", "final test accuracy"),
        (
            "best_test_accuracy",
            "best test accuracy seen at a logged step",
        ),
        ("train_accuracy", "final train accuracy"),
        ("train_loss", "final train loss"),
        ("test_loss", "final test loss"),
    ] {
        if let Some(v) = summary.get(key).and_then(|v| v.as_f64()) {
            writeln!(r, "- {label}: {v:.4}")?;
        }
    }
    if let Some(e) = summary.get("error") {
        writeln!(r, "- stopped: {e}")?;
    }
    writeln!(
        r,
        "\nSeconds: {:.1}. Metrics of every logged step: `metrics.csv`.\n",
        s("seconds").as_f64().unwrap_or(0.0)
    )?;
    for p in plots {
        writeln!(r, "![{p}]({p}.svg)")?;
    }
    Ok(r)
}
