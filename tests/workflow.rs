//! The geomagnetic precursor workflow end to end through the CLI, at toy size: synthetic data →
//! labels → train → evaluate → learning curve, caching, determinism, and its bad inputs.

use crate::util::{Env, data_dir};

/// Sixty synthetic days, 6-hour windows, two epochs: seconds, yet every stage real.
pub(crate) fn tiny(extra_train: &str) -> String {
    format!(
        r#"[pipeline]
name = "tiny"
seed = 5

[stage.synth]
kind = "synth.geomag"
duration = "90d"
catalog_radius_km = 99.0
max_depth_km = 30.0
magnitude_min = 4.05
event_rate_per_year = 250.0
precursor_strength = 50.0
precursor_duration = "1d"

[stage.hp]
kind = "filter"
input = "synth/series"
type = "highpass"
corners_hz = [0.001]

[stage.label]
kind = "label.precursor"
inputs = {{ series = "hp", catalog = "synth/catalog", kp = "synth/kp" }}
window = "6h"
lead = "12h"
radius_km = 100.0
kp_screen = "both"

[stage.train]
kind = "train"
input = "label"
batch = 16
epochs = 2
{extra_train}

[stage.evaluate]
kind = "evaluate.classifier"
inputs = {{ model = "train", data = "label" }}

[stage.curve]
kind = "learning-curve"
inputs = {{ model = "train", data = "label" }}
fractions = [0.25, 0.5, 0.75, 1.0]
"#
    )
}

fn lines_with<'a>(out: &'a str, word: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(word)).collect()
}

#[test]
fn tiny_workflow_runs_caches_and_reruns_only_what_changed() {
    let env = Env::new();
    let p = env.write("tiny.toml", &tiny(""));
    let results = env.path().join("results");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            p.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let r = run(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines_with(&r.stdout, "ran").len(), 6, "{}", r.stdout);

    // Metrics for people and in the entry.
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(results.join("tiny/evaluate/evaluation.json")).unwrap(),
    )
    .unwrap();
    let n = metrics["n"].as_u64().unwrap();
    assert!(n >= 10, "{metrics}");
    let c = &metrics["confusion"];
    let total: u64 = (0..2)
        .flat_map(|i| (0..2).map(move |j| (i, j)))
        .map(|(i, j)| c[i][j].as_u64().unwrap())
        .sum();
    assert_eq!(total, n);
    assert!(metrics["roc_auc"].as_f64().is_some());
    assert_eq!(metrics["part"], "test");
    for f in [
        "train/history.png",
        "train/history.json",
        "curve/learning_curve.png",
        "curve/learning_curve.json",
    ] {
        assert!(results.join("tiny").join(f).is_file(), "{f}");
    }
    let curve: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(results.join("tiny/curve/learning_curve.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(curve["points"].as_array().unwrap().len(), 4);
    assert!(curve["projection"]["outcome"].is_string(), "{curve}");

    // Weights by PyTorch module path and layout; the split covers every window.
    let train = env.entry(&p, "train");
    let w = train.group("weights").unwrap();
    let mut names = w.member_names().unwrap();
    names.sort();
    assert_eq!(
        names,
        [
            "conv1.bias",
            "conv1.weight",
            "conv2.bias",
            "conv2.weight",
            "conv3.bias",
            "conv3.weight",
            "dense1.bias",
            "dense1.weight",
            "dense2.bias",
            "dense2.weight"
        ]
    );
    assert_eq!(w.dataset("conv1.weight").unwrap().shape(), [32, 1, 3, 3]);
    assert_eq!(
        w.dataset("dense1.weight").unwrap().shape(),
        [64, 3 * 90 * 64]
    );
    assert_eq!(w.dataset("dense2.weight").unwrap().shape(), [2, 64]);
    let label = env.entry(&p, "label");
    let windows = label.dataset("labels").unwrap().shape()[0];
    assert_eq!(train.dataset("split").unwrap().shape(), [windows]);
    // The registry says what a model predicts from: a window classifier does not read files.
    let r = env.run(&["predict", &train.filename(), "x.h5"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "model `pm-cnn` does not predict from files; it is scored on labelled windows"
        ),
        "{r:?}"
    );
    assert_eq!(
        train
            .group("history")
            .unwrap()
            .dataset("validation_loss")
            .unwrap()
            .shape(),
        [2]
    );
    let weights = |f: &hdf5::File| {
        f.group("weights")
            .unwrap()
            .dataset("dense1.weight")
            .unwrap()
            .read_raw::<f32>()
            .unwrap()
    };
    let first = weights(&train);
    drop((train, label));
    let first_metrics = std::fs::read(results.join("tiny/evaluate/evaluation.json")).unwrap();

    // A rerun is fully cached; deleted results come back from the entries.
    std::fs::remove_dir_all(&results).unwrap();
    let r = run(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines_with(&r.stdout, "cached").len(), 6, "{}", r.stdout);
    assert!(results.join("tiny/evaluate/evaluation.json").is_file());
    assert!(results.join("tiny/curve/learning_curve.png").is_file());

    // Changing only the learning rate reruns train, evaluate and curve, not the data stages.
    let r = run(&["--set", "train.lr=0.002"]);
    assert_eq!(r.code, 0, "{r:?}");
    let ran: Vec<String> = lines_with(&r.stdout, "ran")
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect();
    assert_eq!(ran, ["train", "evaluate", "curve"], "{}", r.stdout);

    // Same seed, fresh cache: bit-identical weights and metrics.
    let env2 = Env::new();
    let p2 = env2.write("tiny.toml", &tiny(""));
    let results2 = env2.path().join("results");
    let r = env2.run(&[
        "run",
        p2.to_str().unwrap(),
        "--results",
        results2.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(weights(&env2.entry(&p2, "train")), first);
    assert_eq!(
        std::fs::read(results2.join("tiny/evaluate/evaluation.json")).unwrap(),
        first_metrics
    );
}

#[test]
fn fewer_windows_than_the_batch_size_is_a_located_error() {
    let env = Env::new();
    let p = env.write("tiny.toml", &tiny("").replace("batch = 16", "batch = 4096"));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("fewer than the batch size 4096")
            && r.stderr.contains("tiny.toml:32:9 (field `batch`)"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("3 stage(s) of pipeline `tiny` did not complete"),
        "{r:?}"
    );
}

#[test]
fn empty_held_out_part_and_bad_fractions_are_clear_errors() {
    let env = Env::new();
    let p = env.write("tiny.toml", &tiny("test_fraction = 0.0"));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("the model's test part is empty"), "{r:?}");

    let p = env.write(
        "bad.toml",
        &tiny("validation_fraction = 0.6\ntest_fraction = 0.5"),
    );
    let r = env.run(&["plan", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("leaves no windows to train on"), "{r:?}");

    let p = env.write("bad.toml", &tiny("optimizer = \"adamw\""));
    let r = env.run(&["plan", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("adamax"), "{r:?}");
}

/// One day with two gaps (05:00, 10:00–10:09), a 1-day window, a catalog whose events all lie
/// after the data: the window is rejected for its gaps and the error says so and counts the events.
#[test]
fn windows_all_rejected_by_the_gap_rule_and_events_outside_the_period() {
    let env = Env::new();
    let text = crate::label::fetch_and_label(
        &data_dir()
            .join("iaga2002_gaps/bou20141101_gaps.min")
            .display()
            .to_string(),
        &data_dir()
            .join("../../pipelines/data/bou-2014-11-demo-catalog.txt")
            .display()
            .to_string(),
        &data_dir().join("kp/SW-2014Q4.txt").display().to_string(),
        "",
    );
    let p = env.write("gaps.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("no positive windows")
            && r.stderr.contains("1 windows: 1 with gaps")
            && r.stderr.contains("outside the series"),
        "{r:?}"
    );
}

#[test]
fn model_summary_prints_table_2() {
    let env = Env::new();
    let r = env.run(&["model", "summary", "pm-cnn", "--set", "window=7d"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("trainable parameters: 30,984,834"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("30,965,824") && r.stdout.contains("64 x 3 x 2,520"),
        "{}",
        r.stdout
    );
    let r = env.run(&["model", "summary", "pm-cnn", "--set", "window=90s"]);
    assert_eq!(r.code, 2, "{r:?}");
    let r = env.run(&["model", "summary", "resnet"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("known models: pm-cnn"), "{r:?}");
}

/// `model summary fmnet` prints FMNet's own table (it used to print pm-cnn's). 350,659 is the
/// Keras count of the published topology (Kuang et al. 2021, Fig. 6; 16 convolutions, BN γ and β
/// trainable), summed by hand from its layer list: encoder 223,488, decoder 125,440, head 1,584,
/// output 147.
#[test]
fn model_summary_prints_fmnets_table() {
    let env = Env::new();
    let r = env.run(&["model", "summary", "fmnet"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("fmnet: input [48 x 128]"), "{}", r.stdout);
    assert!(
        r.stdout.contains("trainable parameters: 350,659"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("encoder.0") && r.stdout.contains("out "),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("Conv2D"), "pm-cnn's table: {}", r.stdout);
    let r = env.run(&["model", "summary", "fmnet", "--set", "window=7d"]);
    assert_eq!(r.code, 2, "{r:?}");
    let r = env.run(&["model", "list"]);
    assert_eq!(r.code, 0, "{r:?}");
    for doi in ["10.3390/make4040046", "10.1038/s41467-021-21670-x"] {
        assert!(r.stdout.contains(doi), "{}", r.stdout);
    }
    assert!(
        r.stdout
            .contains("own train parameters: validation_fraction, test_fraction, split"),
        "{}",
        r.stdout
    );
}

/// An optimizer comparison overlays several trainings; a comparison with no inputs is refused.
#[test]
fn compare_training_overlays_runs_and_needs_inputs() {
    let env = Env::new();
    let mut text = tiny("");
    text = text.replace("[stage.evaluate]", "[stage.train_sgd]\nkind = \"train\"\ninput = \"label\"\nbatch = 16\nepochs = 2\noptimizer = \"sgd\"\n\n[stage.train_adamax]\nkind = \"train\"\ninput = \"label\"\nbatch = 16\nepochs = 2\noptimizer = \"adamax\"\n\n[stage.compare]\nkind = \"compare.training\"\ninputs = { adam = \"train\", sgd = \"train_sgd\", adamax = \"train_adamax\" }\n\n[stage.evaluate]");
    let p = env.write("cmp.toml", &text);
    let results = env.path().join("results");
    let r = env.run(&[
        "run",
        p.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let cmp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(results.join("tiny/compare/comparison.json")).unwrap(),
    )
    .unwrap();
    for (name, opt) in [("adam", "adam"), ("sgd", "sgd"), ("adamax", "adamax")] {
        assert_eq!(cmp[name]["optimizer"], opt, "{cmp}");
        assert_eq!(cmp[name]["epochs"], 2);
    }
    assert!(results.join("tiny/compare/comparison.png").is_file());

    let p = env.write(
        "none.toml",
        &text.replace(
            "inputs = { adam = \"train\", sgd = \"train_sgd\", adamax = \"train_adamax\" }",
            "inputs = {}",
        ),
    );
    let r = env.run(&["plan", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("stage `compare` has no inputs"), "{r:?}");
}

/// The paper's "0.02 Hz" high-pass on 1-minute data lies above the 8.3 mHz Nyquist frequency.
#[test]
fn the_papers_corner_above_nyquist_is_refused_with_the_reason() {
    let env = Env::new();
    let p = env.write(
        "tiny.toml",
        &tiny("").replace("corners_hz = [0.001]", "corners_hz = [0.02]"),
    );
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "corner 0.02 Hz must lie strictly between 0 and the Nyquist frequency 0.008333"
        ) && r.stderr.contains("(sampling interval 60 s)")
            && r.stderr.contains("tiny.toml:"),
        "{r:?}"
    );
}

/// The held-out indices only mean something for the set the model was trained on.
#[test]
fn evaluating_on_another_labelled_set_is_refused() {
    let env = Env::new();
    let text = tiny("").replace(
        "[stage.train]",
        "[stage.label2]\nkind = \"label.precursor\"\ninputs = { series = \"hp\", catalog = \"synth/catalog\", kp = \"synth/kp\" }\nwindow = \"6h\"\nlead = \"6h\"\nradius_km = 100.0\n\n[stage.train]",
    )
    .replace("inputs = { model = \"train\", data = \"label\" }\n\n[stage.curve]", "inputs = { model = \"train\", data = \"label2\" }\n\n[stage.curve]");
    let p = env.write("other.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("input `data` is not the labelled set the model was trained on"),
        "{r:?}"
    );
}
