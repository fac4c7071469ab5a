//! Workflow 2 (Kuang et al. 2021) through the CLI at toy size: the synth.greens stage reproduces
//! fk through the cache (inline model = file model, same key), synth.fmnet samples are
//! deterministic and normalised, a one-epoch FMNet trains, evaluate.focal and predict run; and
//! every bad input of the issue gives a located error.

use quakeline::synth::fmnet::Generator;

use crate::util::{Env, data_dir};

const STATIONS: &str = r#"stations = [
  ["CLC", 35.8157, -117.5975], ["WRC2", 35.9479, -117.6504], ["SLA", 35.8909, -117.2833],
  ["TOW2", 35.8086, -117.7649], ["SRT", 35.6923, -117.7505], ["WBM", 35.6084, -117.8905],
  ["LRL", 35.4795, -117.6821], ["CCC", 35.5249, -117.3645], ["MPM", 36.0580, -117.4890],
  ["JRC2", 35.9825, -117.8089], ["WMF", 36.1176, -117.8546], ["ISA", 35.6628, -118.4739],
  ["CWC", 36.4394, -118.0803], ["GSC", 35.3018, -116.8057], ["EDW2", 34.8811, -117.9939],
  ["FUR", 36.4671, -116.8631],
]"#;

fn model_path() -> String {
    data_dir().join("greens/hk").display().to_string()
}

/// A toy FMNet pipeline: one grid point, 2 x 2 x 2 mechanisms, one epoch.
pub(crate) fn tiny(extra_dataset: &str) -> String {
    format!(
        r#"[pipeline]
name = "fmnet-tiny"
seed = 3

[stage.greens]
kind = "synth.greens"
model = "{}"
source_depths_km = [10.0]
distance_range_km = [1.0, 175.0, 1.0]
dt_s = 1.0
npts = 256

[stage.dataset]
kind = "synth.fmnet"
inputs = {{ greens = "greens" }}
lat_deg = [35.7, 35.7, 0.1]
lon_deg = [-117.6, -117.6, 0.1]
strike_deg = [0.0, 90.0, 90.0]
dip_deg = [45.0, 90.0, 45.0]
rake_deg = [0.0, 90.0, 90.0]
validation_samples = 4
test_samples = 6
{STATIONS}
{extra_dataset}

[stage.train]
kind = "train"
model = "fmnet"
input = "dataset"
batch = 4
epochs = 1

[stage.evaluate]
kind = "evaluate.focal"
inputs = {{ model = "train", data = "dataset" }}
neighbours = 2
search_samples = 8
queries = 2
"#,
        model_path()
    )
}

/// The toy pipeline's Green's functions and data set only.
fn data_only(extra_dataset: &str) -> String {
    let full = tiny(extra_dataset);
    full[..full.find("[stage.train]").unwrap()].to_string()
}

/// Runs the toy data set (`data_only(extra_dataset)`) and returns its entry and generator.
fn toy_dataset(env: &Env, extra_dataset: &str) -> (hdf5::File, Generator) {
    let p = env.write("tiny.toml", &data_only(extra_dataset));
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let d = env.entry(&p, "dataset");
    let g = quakeline::data::fmnet_set::read(&d, "dataset").unwrap();
    (d, g)
}

#[test]
fn tiny_fmnet_workflow_trains_evaluates_and_predicts() {
    let env = Env::new();
    let p = env.write("tiny.toml", &tiny(""));
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let g = env.entry(&p, "greens");
    assert_eq!(g.dataset("greens").unwrap().shape(), vec![1, 175, 12, 256]);
    let d = env.entry(&p, "dataset");
    assert_eq!(d.dataset("held_out").unwrap().shape(), vec![10, 4]);
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.path().join("results/fmnet-tiny/metrics.json")).unwrap(),
    )
    .unwrap();
    let median = metrics["metrics"]["evaluate.kagan_median"]["value"]
        .as_f64()
        .unwrap();
    assert!((0.0..=120.0).contains(&median), "{metrics}");
    let nb = std::fs::read_to_string(
        env.path()
            .join("results/fmnet-tiny/evaluate/neighbours.json"),
    )
    .unwrap();
    assert!(nb.contains("kagan_to_query_deg"));

    // predict: one HDF5 waveform file → one mechanism and a timing.
    let wave = env.path().join("wave.h5");
    {
        let f = hdf5::File::create(&wave).unwrap();
        let x: Vec<f32> = (0..48 * 128)
            .map(|i| ((i % 128) as f32 * 0.1).sin())
            .collect();
        quakeline::h5::write_array(&f, "waveforms", &[48, 128], &x).unwrap();
    }
    let t = env.entry(&p, "train");
    let entry = t.filename();
    drop(t);
    let r = env.run(&["predict", &entry, wave.to_str().unwrap(), "--repeat", "3"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("strike") && r.stdout.contains("ms per prediction"),
        "{r:?}"
    );
    // Wrong input shape: an error, not a panic.
    let r = env.run(&["predict", &entry, p.to_str().unwrap()]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("48 SAC files"), "{r:?}");

    // Same seed, fresh cache: bit-identical weights (burn's CPU backend runs its convolutions
    // on several threads; each output element must still be summed in one fixed order).
    let weights = |env: &Env, p: &std::path::Path| -> Vec<u32> {
        let t = env.entry(p, "train");
        let w = t.group("weights").unwrap();
        [
            "encoder.1.conv.weight",
            "decoder.3.norm.running_var",
            "out.weight",
        ]
        .iter()
        .flat_map(|n| w.dataset(n).unwrap().read_raw::<f32>().unwrap())
        .map(f32::to_bits)
        .collect()
    };
    let env2 = Env::new();
    let p2 = env2.write("tiny.toml", &tiny(""));
    assert_eq!(env2.run(&["run", p2.to_str().unwrap(), "--quiet"]).code, 0);
    assert_eq!(weights(&env, &p), weights(&env2, &p2));
}

#[test]
fn inline_model_shares_the_key_of_the_same_layers_in_a_file() {
    let env = Env::new();
    let file = tiny("");
    let inline = file.replace(
        &format!("model = \"{}\"", model_path()),
        "model = [[5.5, 3.18, 1.730, 600], [10.5, 3.64, 1.731, 600], [16.0, 3.87, 1.731, 600], [90.0, 4.50, 1.733, 900]]",
    );
    let a = env.write("a.toml", &file);
    let b = env.write("b.toml", &inline);
    let key = |p: &std::path::Path| {
        let r = env.run(&["plan", p.to_str().unwrap(), "--json"]);
        let v: serde_json::Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{r:?}"));
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["stage"] == "greens")
            .unwrap()["key"]
            .clone()
    };
    assert_eq!(key(&a), key(&b));
}

#[test]
fn samples_are_deterministic_normalised_and_labelled() {
    let env = Env::new();
    let (d, g) = toy_dataset(&env, "");
    assert_eq!(d.dataset("bank").unwrap().shape()[2], 9);
    assert_eq!(d.dataset("noise").unwrap().shape()[1], 4 * 128);
    let ho: Vec<f64> = d.dataset("held_out").unwrap().read_raw().unwrap();
    assert!(
        ho.chunks(4)
            .all(|r| r[0] == 0.0 && (0.0..=90.0).contains(&r[1]) && (45.0..=90.0).contains(&r[2]))
    );
    // Regenerate samples from the stored generator: the same index gives the same bytes, every
    // sample peaks at exactly 1, and the label curves peak at the sample's mechanism.
    assert_eq!(g.n_train(), 8);
    let sample = |i: usize| g.batch(&[i]);
    for i in [0, 5, 9, 17] {
        let (x, y) = sample(i);
        assert_eq!((x.clone(), y.clone()), sample(i), "sample {i}");
        let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert_eq!(peak, 1.0, "sample {i}");
        let (_, m) = g.source(i);
        let back = g.labels.decode(&y);
        let bin = |range: (f64, f64)| (range.1 - range.0) / 127.0;
        assert!((back.strike - m.strike).abs() <= bin(g.labels.ranges[0]) / 2.0 + 1e-9);
        assert!((back.dip - m.dip).abs() <= bin(g.labels.ranges[1]) / 2.0 + 1e-9);
        assert!((back.rake - m.rake).abs() <= bin(g.labels.ranges[2]) / 2.0 + 1e-9);
    }
    // Different mechanisms give different waveforms.
    assert_ne!(sample(0).0, sample(1).0);
}

#[test]
fn realisations_repeat_each_mechanism_with_fresh_noise_and_shifts() {
    let env = Env::new();
    let (_, g) = toy_dataset(&env, "realisations = 3");
    // 1 point x 8 mechanisms x 3 realisations, then the 10 held-out samples.
    assert_eq!((g.n_train(), g.len()), (24, 34));
    let sample = |g: &Generator, i: usize| g.batch(&[i]);
    for m in 0..8 {
        let (a, b, c) = (sample(&g, m), sample(&g, m + 8), sample(&g, m + 16));
        assert_eq!(g.source(m), g.source(m + 8));
        assert_eq!(g.source(m), g.source(m + 16));
        assert!(a.1 == b.1 && b.1 == c.1, "mechanism {m}: same labels");
        assert!(a.0 != b.0 && b.0 != c.0, "mechanism {m}: different noise");
    }
    // Without noise and shifts the realisations are the same waveform.
    let mut quiet = g.clone();
    quiet.processing.noise = (0.0, 0.0);
    quiet.processing.max_shift = 0;
    assert_eq!(sample(&quiet, 3), sample(&quiet, 3 + 8));
    assert_eq!(sample(&quiet, 3), sample(&quiet, 3 + 16));
}

#[test]
fn materialized_arrays_are_the_samples_generated_on_demand() {
    let env = Env::new();
    let (d, g) = toy_dataset(&env, "realisations = 2\nmaterialize = true");
    let (xd, yd) = (d.dataset("x").unwrap(), d.dataset("y").unwrap());
    assert_eq!(xd.shape(), vec![26, 48, 128]);
    assert_eq!(yd.shape(), vec![26, 3, 128]);
    assert!(xd.chunk().is_some());
    let x: Vec<f32> = xd.read_raw().unwrap();
    let y: Vec<f32> = yd.read_raw().unwrap();
    for i in 0..g.len() {
        let (xi, yi) = g.batch(&[i]);
        assert_eq!(&x[i * 48 * 128..(i + 1) * 48 * 128], &xi[..], "sample {i}");
        assert_eq!(&y[i * 3 * 128..(i + 1) * 3 * 128], &yi[..], "sample {i}");
    }
    // Without the option the entry holds the generator only.
    let lean = Env::new();
    assert!(toy_dataset(&lean, "").0.dataset("x").is_err());
}

/// Writes an event file: `waveforms` (as f64 when `wide`) and optional attributes.
fn event_file(
    path: &std::path::Path,
    x: &[f32],
    shape: [usize; 2],
    attrs: &[(&str, f64)],
    wide: bool,
) {
    let f = hdf5::File::create(path).unwrap();
    if wide {
        let w: Vec<f64> = x.iter().map(|v| *v as f64).collect();
        quakeline::h5::write_array(&f, "waveforms", &shape, &w).unwrap();
    } else {
        quakeline::h5::write_array(&f, "waveforms", &shape, x).unwrap();
    }
    for (name, v) in attrs {
        quakeline::h5::write_attr(&f, name, *v).unwrap();
    }
}

#[test]
fn events_are_predicted_like_the_same_held_out_sample_and_scored_by_kagan_angle() {
    let env = Env::new();
    let p = env.write("tiny.toml", &tiny(""));
    let ps = p.to_str().unwrap();
    assert_eq!(env.run(&["run", ps, "--quiet"]).code, 0);
    let d = env.entry(&p, "dataset");
    let g = quakeline::data::fmnet_set::read(&d, "dataset").unwrap();
    drop(d);
    let e = env.entry(&p, "evaluate");
    let held_pred: Vec<f64> = e.dataset("predicted").unwrap().read_raw().unwrap();
    let held_kagan: Vec<f64> = e.dataset("kagan_deg").unwrap().read_raw().unwrap();
    drop(e);
    // Test samples 0 and 1 as event files: one with its true mechanism (stored as f64), one
    // without a reference. The sample is already normalised, so the event path must give the
    // held-out prediction exactly.
    let first = g.indices(quakeline::synth::fmnet::Part::Test).start;
    std::fs::create_dir_all(env.path().join("ev")).unwrap();
    let (x, _) = g.batch(&[first]);
    let (_, truth) = g.source(first);
    let with_ref = [
        ("strike_deg", truth.strike),
        ("dip_deg", truth.dip),
        ("rake_deg", truth.rake),
        ("dt_s", 1.0),
    ];
    event_file(&env.path().join("ev/a.h5"), &x, [48, 128], &with_ref, true);
    // Scaled by 7: the stage normalises like training, so the prediction is unchanged.
    let x1: Vec<f32> = g.batch(&[first + 1]).0.iter().map(|v| v * 7.0).collect();
    event_file(&env.path().join("ev/b.h5"), &x1, [48, 128], &[], false);
    let with_events = |glob: &str| {
        let set = format!("evaluate.events=[\"{glob}\"]");
        env.run(&["run", ps, "--quiet", "--set", &set])
    };

    let r = with_events("ev/*.h5");
    assert_eq!(r.code, 0, "{r:?}");
    let ev: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.path().join("results/fmnet-tiny/evaluate/events.json"))
            .unwrap(),
    )
    .unwrap();
    let rows = ev["events"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{ev}");
    for (k, row) in rows.iter().enumerate() {
        let pr = &row["predicted"];
        let got = [
            pr["strike"].as_f64().unwrap(),
            pr["dip"].as_f64().unwrap(),
            pr["rake"].as_f64().unwrap(),
        ];
        assert_eq!(&got[..], &held_pred[3 * k..3 * k + 3], "{ev}");
    }
    assert_eq!(rows[0]["event"], "a");
    assert!(
        (rows[0]["kagan_deg"].as_f64().unwrap() - held_kagan[0]).abs() < 1e-9,
        "{ev}"
    );
    assert!(
        rows[1]["reference"].is_null() && rows[1]["kagan_deg"].is_null(),
        "{ev}"
    );
    assert_eq!(ev["with_reference"], 1);
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.path().join("results/fmnet-tiny/metrics.json")).unwrap(),
    )
    .unwrap();
    let m = metrics["metrics"]["evaluate.event_kagan_median"]["value"]
        .as_f64()
        .unwrap();
    assert!((m - held_kagan[0]).abs() < 1e-9, "{metrics}");

    // Bad event files: a wrong shape, and a partial reference mechanism. Located errors.
    event_file(
        &env.path().join("ev/c.h5"),
        &x[..47 * 128],
        [47, 128],
        &[],
        false,
    );
    let r = with_events("ev/c.h5");
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("c.h5") && r.stderr.contains("[47, 128]") && r.stderr.contains("events"),
        "{r:?}"
    );
    event_file(
        &env.path().join("ev/d.h5"),
        &x,
        [48, 128],
        &with_ref[..2],
        false,
    );
    let r = with_events("ev/d.h5");
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("d.h5") && r.stderr.contains("rake_deg"),
        "{r:?}"
    );
    // A glob that matches nothing is refused before anything runs.
    let r = with_events("nothing/*.h5");
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("matches no file"), "{r:?}");

    // predict on the event file prints the Kagan angle to its reference.
    let t = env.entry(&p, "train");
    let entry = t.filename();
    drop(t);
    let r = env.run(&[
        "predict",
        &entry,
        env.path().join("ev/a.h5").to_str().unwrap(),
        "--repeat",
        "1",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Kagan angle"), "{r:?}");
}

fn bad(extra_greens: &str, extra_dataset: &str, model: Option<&str>) -> (i32, String) {
    let env = Env::new();
    let mut text = tiny(extra_dataset);
    if let Some(m) = model {
        let path = env.write("bad.model", m);
        text = text.replace(&model_path(), path.to_str().unwrap());
    }
    let text = text.replace("npts = 256\n", &format!("npts = 256\n{extra_greens}\n"));
    let p = env.write("bad.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert!(!r.stderr.contains("panicked"), "{r:?}");
    (r.code, r.stderr)
}

#[test]
fn non_physical_layers_name_the_model_line() {
    let (code, err) = bad(
        "",
        "",
        Some("5.5 3.18 1.73 600\n10.5 0.0 1.73 600\n0 4.5 1.73 900\n"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 2") && err.contains("Vs = 0"), "{err}");
    let (code, err) = bad("", "", Some("5.5 3.18 1.2 600\n0 4.5 1.73 900\n"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 1") && err.contains("sqrt(2)"), "{err}");
}

#[test]
fn source_below_the_model_is_refused() {
    let (code, err) = bad("", "", Some("5.5 3.18 1.73 600\n4.0 4.5 1.73 900\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("below the model") && err.contains("source_depths_km"),
        "{err}"
    );
}

#[test]
fn station_at_zero_distance_is_refused() {
    let env_text = tiny("").replace("[\"CLC\", 35.8157, -117.5975]", "[\"CLC\", 35.7, -117.6]");
    let env = Env::new();
    let p = env.write("z.toml", &env_text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("station CLC is at zero distance"),
        "{r:?}"
    );
}

#[test]
fn dt_too_large_for_the_band_and_empty_label_range() {
    let (code, err) = bad("", "dt_s = 8.0", None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Nyquist") && err.contains("dt_s"), "{err}");
    let (code, err) = bad("", "label_dip_deg = [90.0, 90.0]", None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("label range [90, 90] is empty"), "{err}");
}

/// Each model owns its parameters: pm-cnn's split settings are not fmnet's, so they are not in
/// its key, and setting one for fmnet is a plan-time error at its line.
#[test]
fn pm_cnns_parameters_neither_apply_to_nor_key_fmnet() {
    let env = Env::new();
    let p = env.write("a.toml", &tiny(""));
    let pipeline =
        quakeline::pipeline::Pipeline::load(&p, quakeline::stages::REGISTRY, &[]).unwrap();
    let key = pipeline.stage("train").unwrap().params.key_json();
    assert_eq!(
        key.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["batch", "epochs", "lr", "model", "optimizer"],
        "{key}"
    );
    let text = tiny("").replace("epochs = 1\n", "epochs = 1\nsplit = \"chronological\"\n");
    let p = env.write("bad.toml", &text);
    let r = env.run(&["plan", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    let line = text.lines().position(|l| l.starts_with("split")).unwrap() + 1;
    assert!(
        r.stderr.contains(&format!("bad.toml:{line}:9"))
            && r.stderr
                .contains("applies to model \"pm-cnn\" only, not to model \"fmnet\""),
        "{r:?}"
    );
}
