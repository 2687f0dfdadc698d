//! Every shipped config loads; defaults, overrides and every table's checks, with the key named.

use super::*;
use noisegd::models::diagonal::Parametrization;
use std::path::PathBuf;

const MINIMAL: &str = "experiment = \"lasso\"\n";

/// Every config in configs/ loads, with each `--set key=value` its header comments suggest.
#[test]
fn every_shipped_config_and_its_documented_overrides_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        count += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let sets: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with('#'))
            .flat_map(|l| {
                l.split("--set ").skip(1).map(|rest| {
                    rest.split_whitespace()
                        .next()
                        .unwrap_or("")
                        .trim_end_matches([')', ',', '.', ';', '`'])
                        .to_string()
                })
            })
            .collect();
        RunConfig::load(&path, &[]).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        for set in sets {
            RunConfig::load(&path, std::slice::from_ref(&set))
                .unwrap_or_else(|e| panic!("{} --set {set}: {e:#}", path.display()));
        }
    }
    assert!(count >= 17, "found {count} configs");
}

/// The paper-figure configs carry the paper's settings (§3 E3–E6 of the reconstruction).
#[test]
fn paper_figure_configs_have_the_papers_settings() {
    let load = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../configs")
            .join(name);
        RunConfig::load(&path, &[]).unwrap()
    };
    let r = load("fig6_resnet18_cifar10.toml");
    assert_eq!(r.train.batch_size, 128);
    assert_eq!(r.train.steps, 150 * 50_000_u64.div_ceil(128), "150 epochs");
    assert_eq!(r.noise.off_after_epoch, Some(135));
    assert_eq!(
        (r.optim.lr, r.optim.momentum, r.optim.weight_decay),
        (0.01, 0.9, Some(5e-4))
    );
    assert_eq!(r.optim.t_max, Some(150));
    for (name, epochs, lr) in [
        ("fig5_lenet_cifar10.toml", 3000, 1e-3),
        ("fig5_widecnn_cifar10.toml", 550, 5e-3),
    ] {
        let c = load(name);
        assert_eq!(c.train.steps, epochs * 50_000_u64.div_ceil(1024), "{name}");
        assert_eq!(
            (c.optim.lr, c.optim.t_max, c.noise.sigma),
            (lr, Some(epochs), 0.05),
            "{name}"
        );
        // Fig. 5 came from the June-2022 code: Normalize(0.5), no augmentation, no weight decay.
        assert_eq!(
            (
                c.data.normalize,
                c.data.normalize_mean.clone(),
                c.data.normalize_std.clone(),
                c.data.augment,
                c.optim.weight_decay.unwrap_or(0.0),
                c.optim.momentum
            ),
            (true, vec![0.5; 3], vec![0.5; 3], false, 0.0, 0.9),
            "{name}"
        );
    }
    for (name, steps, lr, sigma) in [
        ("fmnist_mlp1.toml", 10_000, 5e-3, 0.05),
        ("fig8_mlp2.toml", 10_000, 5e-3, 0.1),
        ("fig4_mlp3.toml", 10_000, 5e-3, 0.1),
        ("fig4_mlp4.toml", 20_000, 1e-3, 0.05),
    ] {
        let c = load(name);
        assert_eq!(
            (
                c.train.steps,
                c.optim.lr,
                c.noise.sigma,
                c.data.subset,
                c.train.batch_size
            ),
            (steps, lr, sigma, 1024, 0),
            "{name}"
        );
    }
}

#[test]
fn an_estimate_cadence_off_the_log_grid_is_announced_with_the_steps_it_gives() {
    let load = |name: &str| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../configs")
            .join(name);
        RunConfig::load(&path, &[]).unwrap()
    };
    // Hessian every 1,500 steps, logged every 200: one trace every 3,000 steps.
    let c = load("fig5_widecnn_cifar10_cpu.toml");
    let warnings = c.eval.cadence_warnings(c.train.log_every);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("eval.hessian_every = 1500")
            && warnings[0].contains("every 3000 steps")
            && warnings[0].contains("e.g. 1600"),
        "{}",
        warnings[0]
    );
    // Every 2,000 steps, logged every 500: on the grid.
    let c = load("fig4_mlp3.toml");
    assert_eq!(
        c.eval.cadence_warnings(c.train.log_every),
        Vec::<String>::new()
    );
    // Every 10 steps, logged every 7: every 70; the regularizer's 21 is on the grid.
    let eval = EvalConfig {
        hessian_every: 10,
        regularizer_every: 21,
        ..EvalConfig::default()
    };
    let warnings = eval.cadence_warnings(7);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("every 70 steps"), "{}", warnings[0]);
}

/// Shortening a run whose cosine schedule spans it is announced, with the `t_max` that keeps the
/// file's schedule; a pinned `t_max` or a constant rate needs no warning.
#[test]
fn a_shortened_run_under_a_whole_run_cosine_schedule_is_announced() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/fig4_mlp3.toml");
    let file = RunConfig::load(&path, &[]).unwrap();
    let load = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        RunConfig::load(&path, &sets).unwrap()
    };
    let short = load(&["train.steps=200"]);
    let warning = short.schedule_length_warning(&file).expect("a warning");
    assert!(
        warning.contains("train.steps = 200 overrides the file's 10000")
            && warning.contains("--set optim.t_max=10000"),
        "{warning}"
    );
    for sets in [
        &["train.steps=200", "optim.t_max=10000"][..],
        &["train.steps=200", "optim.schedule=constant"][..],
        &["seed=3"][..],
    ] {
        assert_eq!(load(sets).schedule_length_warning(&file), None, "{sets:?}");
    }
}

#[test]
fn defaults_fill_a_minimal_config() {
    let c = RunConfig::parse(MINIMAL, &[]).unwrap();
    assert_eq!(c.seed, 0);
    assert_eq!(c.lasso.d, 100);
    assert_eq!(c.noise.policy, noisegd::noise::PolicyKind::None);
}

#[test]
fn overrides_set_nested_keys_with_typed_values() {
    let c = RunConfig::parse(
        MINIMAL,
        &[
            "noise.policy=layer".into(),
            "noise.sigma=0.25".into(),
            "seed=7".into(),
            "noise.antithetic=true".into(),
        ],
    )
    .unwrap();
    assert_eq!(c.noise.policy, noisegd::noise::PolicyKind::Layer);
    assert_eq!(c.noise.sigma, 0.25);
    assert_eq!(c.seed, 7);
    assert!(c.noise.antithetic);
}

#[test]
fn unknown_keys_are_rejected_with_the_allowed_ones() {
    let err = RunConfig::parse("experiment = \"lasso\"\n[noise]\nsigmaa = 0.1\n", &[]).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("sigmaa") && msg.contains("sigma"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
    let err = RunConfig::parse(MINIMAL, &["trian.steps=3".into()]).unwrap_err();
    assert!(format!("{err:#}").contains("trian"), "{err:#}");
}

#[test]
fn bad_values_name_the_key() {
    let cases = [
        ("noise.policy=sometimes", "policy"),
        ("noise.sigma=-1", "noise.sigma"),
        ("train.steps=0", "train.steps"),
        ("lasso.sparsity=1000", "lasso.sparsity"),
        ("optim.lr=0", "optim.lr"),
        ("optim.name=lbfgs", "name"),
    ];
    for (set, key) in cases {
        let msg = format!(
            "{:#}",
            RunConfig::parse(
                "experiment = \"lasso\"\n[noise]\npolicy = \"layer\"\n",
                &[set.into()]
            )
            .unwrap_err()
        );
        assert!(msg.contains(key), "--set {set}: {msg}");
    }
    let msg = format!(
        "{:#}",
        RunConfig::parse("experiment = \"imagenet\"\n", &[]).unwrap_err()
    );
    assert!(msg.contains("imagenet") && msg.contains("lasso"), "{msg}");
}

#[test]
fn reference_numbers_must_name_their_setting() {
    let with = |setting: &str| {
        RunConfig::parse(
            &format!("experiment = \"train\"\n[data]\nname = \"mnist1d\"\n[reference]\n{setting}test_accuracy = {{ \"policy=layer\" = 0.8 }}\n"),
            &[],
        )
        .map_err(|e| format!("{e:#}"))
    };
    let msg = with("").unwrap_err();
    assert!(
        msg.contains("reference.setting") && msg.contains("data.name"),
        "{msg}"
    );
    let msg =
        with("setting = { \"data.name\" = \"mnist1d\", \"train.steps\" = 10 }\n").unwrap_err();
    assert!(
        msg.contains("`model.name` is missing"),
        "the train experiment needs the model: {msg}"
    );
    let msg = with("setting = { \"data.name\" = \"mnist1d\", \"train.steps\" = 10, \"model.name\" = \"mlp1\", \"model.widht\" = 5 }\n").unwrap_err();
    assert!(
        msg.contains("`model.widht`") && msg.contains("not a key"),
        "{msg}"
    );
    with("setting = { \"data.name\" = \"mnist1d\", \"train.steps\" = 10, \"model.name\" = \"mlp1\" }\n").unwrap();
}

#[test]
fn data_table_checks_name_the_key() {
    let csv = "experiment = \"lasso\"\n[data]\nname = \"csv\"\npath = \"t.csv\"\ntarget = \"y\"\n";
    let c = RunConfig::parse(csv, &[]).unwrap();
    assert!(c.data.is_table());
    assert_eq!(c.data.test_fraction, 0.2);
    let cases: [(&str, &[&str], &str); 7] = [
        (
            "experiment = \"lasso\"\n[data]\nname = \"csv\"\n",
            &[],
            "data.path",
        ),
        (
            "experiment = \"lasso\"\n[data]\nname = \"csv\"\npath = \"t.csv\"\n",
            &[],
            "data.target",
        ),
        (csv, &["data.test_fraction=1"], "data.test_fraction"),
        (csv, &["lasso.n=30"], "lasso.n"),
        (csv, &["experiment=nuclear"], "lasso experiment only"),
        (MINIMAL, &["data.path=x.csv"], "data.path"),
        (MINIMAL, &["data.test_fraction=0.5"], "data.test_fraction"),
    ];
    for (text, set, key) in cases {
        let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
        let msg = format!("{:#}", RunConfig::parse(text, &set).unwrap_err());
        assert!(msg.contains(key), "{set:?}: {msg}");
    }
    let msg = format!(
        "{:#}",
        RunConfig::parse(&format!("{MINIMAL}[data]\ndir = \"x\"\n"), &[]).unwrap_err()
    );
    assert!(
        msg.contains("data.dir") && msg.contains("train experiment"),
        "a regression data set has no data.dir: {msg}"
    );
    let c = RunConfig::parse(
        MINIMAL,
        &[
            "data.name=diabetes".into(),
            "lasso.parametrization=product".into(),
        ],
    )
    .unwrap();
    assert_eq!(c.data.name, DataName::Diabetes);
    assert_eq!(c.lasso.parametrization, Parametrization::Product);
}

#[test]
fn a_relative_data_path_is_resolved_against_the_config_file() {
    let dir = std::env::temp_dir().join(format!("noisegd-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(
        &file,
        "experiment = \"lasso\"\n[data]\nname = \"csv\"\npath = \"sub/t.csv\"\ntarget = \"y\"\n",
    )
    .unwrap();
    let c = RunConfig::load(&file, &[]).unwrap();
    assert_eq!(c.data.path, Some(dir.join("sub/t.csv")));
    let c = RunConfig::load(&file, &["data.path=other.csv".into()]).unwrap();
    assert_eq!(c.data.path, Some(PathBuf::from("other.csv")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resolved_config_round_trips() {
    let c = RunConfig::parse(
        MINIMAL,
        &["noise.policy=all".into(), "noise.sigma=0.2".into()],
    )
    .unwrap();
    let again = RunConfig::parse(&c.to_toml().unwrap(), &[]).unwrap();
    assert_eq!(c, again);
}
