//! `experiment = "train"`: a classifier (the paper's MLPs, CNNs, ResNet-18) trained by full-batch
//! GD or minibatch SGD with the configured noise policy on an image data set (paper §3, E3–E6).
//!
//! Every `train.log_every` steps (and on the 1-2-5 grid) the clean weights are evaluated: loss and
//! accuracy on the whole training set and on the test set, the parameters' ℓ₁ and ℓ₂ norms, and,
//! at their own cadence, the Hessian trace (Hutchinson, Rademacher probes, by finite differences of
//! gradients, on a stated subset of the training set) and the explicit regularizer the noise adds,
//! estimated from antithetic loss differences `(L(w+ε) + L(w−ε) − 2L(w))/2`.

mod device_failure;
mod measure;
mod report;

use super::RunOptions;
use crate::config::RunConfig;
use crate::interrupt::{self, Interrupted};
use crate::run::RunDir;
use anyhow::{Context, Result};
use burn::tensor::{Int, Tensor};
use measure::Measure;
use noisegd::backend::Backend;
use noisegd::checkpoint::Checkpoint;
use noisegd::data::normalize::ChannelStats;
use noisegd::data::{TrainingSet, TrainingSetConfig};
use noisegd::models::network::Network;
use noisegd::models::Classifier;
use noisegd::noise::PolicyKind;
use noisegd::optim::BaseOptimizer;
use noisegd::params::ParamGroups;
use noisegd::train::{Driver, Method, MetricsCsv, Outcome};
use serde_json::json;
use std::path::PathBuf;

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

/// An estimate measured at its own cadence: its last value, standard error and step.
#[derive(Default)]
struct LastEstimate(Option<(f64, f64, u64)>);

impl LastEstimate {
    fn keep(&mut self, value: f64, se: f64, step: u64) {
        if value.is_finite() {
            self.0 = Some((value, se, step));
        }
    }
}

/// What `metrics.csv` says at the end: the last row, the best test accuracy, and the last
/// Hessian trace and regularizer estimates. The file holds exact values, so the summary of a
/// resumed run is the uninterrupted run's.
struct LastLogged {
    last: Option<Logged>,
    best_test: f64,
    hessian: LastEstimate,
    regularizer: LastEstimate,
}

fn last_logged(path: &std::path::Path) -> Result<LastLogged> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = LastLogged {
        last: None,
        best_test: f64::NEG_INFINITY,
        hessian: LastEstimate::default(),
        regularizer: LastEstimate::default(),
    };
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
        let done = r.get(0).and_then(|v| v.parse().ok()).unwrap_or(0);
        out.best_test = out.best_test.max(f("test_accuracy"));
        out.hessian
            .keep(f("hessian_trace"), f("hessian_trace_se"), done);
        out.regularizer
            .keep(f("regularizer"), f("regularizer_se"), done);
        out.last = Some(Logged {
            done,
            train_loss: f("train_loss"),
            train_acc: f("train_accuracy"),
            test_loss: f("test_loss"),
            test_acc: f("test_accuracy"),
            l1: f("l1_norm"),
            l2: f("l2_norm"),
        });
    }
    Ok(out)
}

/// The data set of `config`, loaded and prepared for training (before the run directory is
/// created: a missing or damaged file leaves nothing behind).
pub fn load_data(config: &RunConfig) -> Result<TrainingSet> {
    let d = &config.data;
    let name = d
        .name
        .dataset()
        .context("the train experiment needs an image data set in data.name")?;
    let set = TrainingSet::load(
        &TrainingSetConfig {
            name,
            dir: d.dir.clone(),
            classes: d.classes.clone(),
            subset: d.subset,
            normalize: d.normalize,
            stats: if d.normalize_mean.is_empty() {
                None
            } else {
                Some(ChannelStats::new(
                    d.normalize_mean.clone(),
                    d.normalize_std.clone(),
                )?)
            },
            augment: d.augment,
            batch_size: config.train.batch_size,
            seed: config.seed,
        },
        &config.device.training_device()?,
    )
    .context("preparing the data")?;
    Ok(set)
}

pub fn run(
    config: &RunConfig,
    set: TrainingSet,
    dir: &RunDir,
    options: RunOptions,
) -> Result<PathBuf> {
    let started = std::time::Instant::now();
    for warning in config.eval.cadence_warnings(config.train.log_every) {
        eprintln!("warning: {warning}");
    }
    let opened = config.device.open()?;
    if config.device != Backend::Cpu {
        eprintln!("device: {}", opened.description);
    }
    let device = opened.device;
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
    // `seconds` in the summary is the run's wall time over all the processes that ran it.
    let earlier_seconds = if resumed.is_some() {
        dir.earlier_seconds()
    } else {
        0.0
    };
    let seconds = || earlier_seconds + started.elapsed().as_secs_f64();
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
    let probe_chunk = device_failure::probe_chunk(config.device);
    let mut measure = Measure {
        config,
        set: &set,
        device: &device,
        probe: probe
            .chunks(probe_chunk)
            .map(|rows| set.train.batch_2d(rows, &device))
            .collect(),
    };
    let bar = super::progress(steps, "train", options);
    interrupt::stop_cleanly();
    let optimizer = BaseOptimizer::new(&config.optim, steps)?;
    let outcome = device_failure::on_the_device(config, dir, CHECKPOINT, || {
        Driver::new(steps, config.train.log_every)
            .checkpoint_to(&checkpoint_path, config.train.checkpoint_every)
            .stop_when(interrupt::requested)
            .on_progress(|done| bar.set_position(done))
            .resume_from(resumed.as_ref())
            .run(
                model,
                Method {
                    noise: config.noise.clone(),
                    optimizer,
                    seed: config.seed,
                },
                &mut set.batches(),
                |m: &Network, (x, y): &(Tensor<2>, Tensor<1, Int>)| m.loss(x.clone(), y.clone()),
                &mut measure,
                &mut metrics,
            )
    });
    bar.finish_and_clear();
    let outcome = outcome?;
    let diverged = match outcome {
        Outcome::Finished(_) => None,
        Outcome::Diverged { step, error } => Some((step, error.to_string())),
        Outcome::Interrupted { done } => {
            let summary = json!({"status": "interrupted", "steps_done": done, "steps": steps, "seconds": seconds()});
            dir.write_json("summary.json", &summary)?;
            return Err(Interrupted {
                step: done,
                dir: dir.path().display().to_string(),
            }
            .into());
        }
    };

    let LastLogged {
        last,
        best_test,
        hessian,
        regularizer,
    } = last_logged(&metrics_path)?;
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
        "policy": config.noise.policy.to_string(),
        "passes_per_step": config.noise.passes_per_step(),
        "batches_per_epoch": set.batches_per_epoch(),
        "seconds": seconds(),
        "device": opened.description,
    });
    // The peer's parameters as the run used them (a key left out takes the recommended value).
    let peer = &config.noise;
    let parameters = match peer.policy {
        PolicyKind::Sam => json!({ "rho": peer.rho() }),
        PolicyKind::Asam => json!({ "rho": peer.rho(), "asam_eta": peer.asam_eta() }),
        PolicyKind::Rwp => json!({ "rwp_alpha": peer.rwp_alpha() }),
        PolicyKind::Nso => {
            json!({ "nso_samples": peer.nso_samples(), "nso_lambda": peer.nso_lambda() })
        }
        _ => serde_json::Value::Null,
    };
    if !parameters.is_null() {
        summary["peer_parameters"] = parameters;
    }
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
    let m = summary.as_object_mut().expect("a JSON object");
    if let Some((trace, se, step)) = hessian.0 {
        // The last measured trace (Hutchinson, finite differences), with how it was measured.
        m.insert("hessian_trace".into(), json!(trace));
        m.insert("hessian_trace_se".into(), json!(se));
        m.insert("hessian_trace_step".into(), json!(step));
        m.insert("hessian_probes".into(), json!(e.hessian_probes));
        m.insert("hessian_fd_step".into(), json!(e.hessian_step));
        m.insert(
            "hessian_examples".into(),
            json!(e.hessian_subset.min(train.len())),
        );
    }
    if let Some((value, se, step)) = regularizer.0 {
        m.insert("regularizer".into(), json!(value));
        m.insert("regularizer_se".into(), json!(se));
        m.insert("regularizer_step".into(), json!(step));
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
    let plots = report::write_plots(dir)?;
    let report = report::report_text(config, &set, &summary, &plots)?;
    dir.write_text("report.md", &report)?;
    if let Some((step, message)) = diverged {
        anyhow::bail!(
            "training diverged at step {step}: {message}; everything logged before it is in {}",
            dir.file("metrics.csv").display()
        );
    }
    Ok(dir.file("report.md"))
}
