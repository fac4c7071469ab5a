//! U-Net phase pickers: the published PhaseNet checkpoint imported and run against an independent
//! NumPy forward pass of the same checkpoint (`tests/data/models/phasenet/generate.py`, weights read
//! by TensorFlow's own reader) on real traces.

use std::io::Read;
use std::path::PathBuf;

use burn::tensor::{Tensor, TensorData};
use quakeline::data::waveform_set;
use quakeline::io::tf_checkpoint::Checkpoint;
use quakeline::io::waveforms::npz;
use quakeline::nn::picker::Picker;
use quakeline::nn::{self, phasenet, picker};
use serde_json::Value;

use crate::util::{Env, data_dir};

pub fn phasenet_prefix() -> PathBuf {
    data_dir().join("models/phasenet/model_95.ckpt")
}

/// Array `name` of the reference `.npz`, with its shape.
fn reference_array(name: &str) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(data_dir().join("models/phasenet/forward_reference.npz")).unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut buf = Vec::new();
    z.by_name(&format!("{name}.npy"))
        .unwrap()
        .read_to_end(&mut buf)
        .unwrap();
    let npy = npyz::NpyFile::new(&buf[..]).unwrap();
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let v: Vec<f64> = match npy.dtype() {
        npyz::DType::Plain(t) if t.size_field() == 4 => npy
            .into_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => npy.into_vec::<f64>().unwrap(),
    };
    (shape, v)
}

fn meta() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("models/phasenet/forward_reference.json"))
            .unwrap(),
    )
    .unwrap()
}

/// The imported network's probabilities on four real windows (3000 and 3001 samples, the odd
/// length exercising every crop) within 1e-4 of the NumPy forward pass of the same checkpoint.
#[test]
fn imported_phasenet_matches_an_independent_forward_pass() {
    let device = nn::device();
    let ckpt = Checkpoint::open(&phasenet_prefix()).unwrap();
    let model = phasenet::from_checkpoint(&ckpt, &device).unwrap();
    let mut worst = 0f64;
    for n in [3000usize, 3001] {
        let (shape, x) = reference_array(&format!("x{n}"));
        let (_, p) = reference_array(&format!("p{n}"));
        let k = shape[0];
        assert_eq!(shape, [k, 3, n]);
        let x: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        let got = picker::predict(&model, &x, n, 2, &device);
        assert_eq!(got.len(), p.len());
        for (a, b) in got.iter().zip(&p) {
            worst = worst.max((f64::from(*a) - b).abs());
        }
    }
    assert!(worst <= 1e-4, "max |Δp| = {worst:e}");
    eprintln!("PhaseNet import: max |Δp| = {worst:.2e} over 4 real windows");
}

/// quakeline's window normalisation of the real traces gives the oracle's inputs (PhaseNet's
/// `normalize`: per channel demeaned, divided by the standard deviation), and the imported
/// network puts its P and S peaks where the oracle does, at the analyst picks.
#[test]
fn phasenet_on_real_windows_peaks_at_the_analyst_picks() {
    let device = nn::device();
    let model =
        phasenet::from_checkpoint(&Checkpoint::open(&phasenet_prefix()).unwrap(), &device).unwrap();
    for w in meta()["windows"].as_array().unwrap() {
        let file = w["file"].as_str().unwrap();
        let (start, n) = (
            w["start"].as_u64().unwrap() as usize,
            w["samples"].as_u64().unwrap() as usize,
        );
        let path = data_dir().join("waveforms/phasenet_npz").join(file);
        let t = npz::parse(file, &std::fs::read(path).unwrap()).unwrap();
        let total = t.data.len() / 3;
        let mut x: Vec<f64> = (0..3)
            .flat_map(|c| {
                t.data[c * total + start..c * total + start + n]
                    .iter()
                    .map(|v| f64::from(*v))
            })
            .collect();
        quakeline::signal::standardise::components(&mut x, n);
        let (_, want) = reference_array(&format!("x{n}"));
        let row = meta()["windows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["samples"] == w["samples"])
            .position(|v| v["file"] == w["file"])
            .unwrap();
        let want = &want[row * 3 * n..(row + 1) * 3 * n];
        let d = x
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f64, f64::max);
        assert!(d < 1e-5, "{file}: normalised input differs by {d:e}");
        let xt = Tensor::<3>::from_data(
            TensorData::new(x.iter().map(|v| *v as f32).collect::<Vec<_>>(), [1, 3, n]),
            &device,
        );
        let p: Vec<f32> = model.probabilities(xt).into_data().try_to_vec().unwrap();
        let argmax = |c: usize| {
            (0..n)
                .max_by(|&a, &b| p[c * n + a].total_cmp(&p[c * n + b]))
                .unwrap()
        };
        assert_eq!(argmax(1) as u64, w["p_peak"].as_u64().unwrap(), "{file}");
        assert_eq!(argmax(2) as u64, w["s_peak"].as_u64().unwrap(), "{file}");
        if w["p_peak_prob"].as_f64().unwrap() > 0.5 {
            let itp = w["itp"].as_i64().unwrap();
            assert!(
                (argmax(1) as i64 - itp).abs() <= 5,
                "{file}: P peak {} vs pick {itp}",
                argmax(1)
            );
        }
    }
}

/// A checkpoint with a tensor missing or of another shape is refused, naming it.
#[test]
fn a_damaged_checkpoint_is_refused_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let src = phasenet_prefix();
    let index = std::fs::read(format!("{}.index", src.display())).unwrap();
    let data = std::fs::read(format!("{}.data-00000-of-00001", src.display())).unwrap();
    let dst = dir.path().join("m.ckpt");
    std::fs::write(format!("{}.index", dst.display()), &index).unwrap();
    // The data file cut short: the last variables lie past its end.
    std::fs::write(
        format!("{}.data-00000-of-00001", dst.display()),
        &data[..data.len() / 2],
    )
    .unwrap();
    let err = match phasenet::from_checkpoint(&Checkpoint::open(&dst).unwrap(), &nn::device()) {
        Ok(_) => panic!("a truncated checkpoint loaded"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("past the end of the file") && err.contains("variable `"),
        "{err}"
    );
    // One flipped byte in a tensor: its CRC-32C.
    let mut bad = data.clone();
    bad[1000] ^= 0x10;
    std::fs::write(format!("{}.data-00000-of-00001", dst.display()), &bad).unwrap();
    let err = match phasenet::from_checkpoint(&Checkpoint::open(&dst).unwrap(), &nn::device()) {
        Ok(_) => panic!("a damaged checkpoint loaded"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("CRC-32C") && err.contains("damaged"), "{err}");
}

/// A toy picker pipeline on the four real traces of `tests/data/waveforms/phasenet_npz`: the
/// published PhaseNet imported, its output layer fine-tuned on two traces (stopping on one),
/// an R2U-Net trained from scratch, both evaluated; 10-s windows so it runs in seconds.
pub(crate) fn tiny(extra: &str) -> String {
    let npz = data_dir().join("waveforms/phasenet_npz");
    let ckpt = phasenet_prefix();
    format!(
        r#"[pipeline]
name = "picker-tiny"
seed = 5

[stage.traces]
kind = "fetch.waveforms"
format = "npz"
paths = ["{npz}/*.npz"]

[stage.local]
kind = "split.waveforms"
input = "traces"
by = "random"
fractions = [0.5, 0.25, 0.25]

[stage.phasenet]
kind = "import.weights"
model = "phasenet"
paths = ["{ckpt}.index", "{ckpt}.data-00000-of-00001"]
window = 1000

[stage.finetune]
kind = "train"
model = "phasenet"
inputs = {{ input = "local", init = "phasenet" }}
trainable = "last"
window = 1000
batch = 2
epochs = 2

[stage.scratch]
kind = "train"
model = "r2unet"
input = "local"
window = 1000
batch = 2
epochs = 2

[stage.evaluate]
kind = "evaluate.picks"
inputs = {{ model = "finetune", data = "local" }}
position_sweep = true

[stage.published]
kind = "evaluate.picks"
inputs = {{ model = "phasenet", data = "local" }}
split = "all"

[stage.continuous]
kind = "evaluate.continuous"
inputs = {{ model = "phasenet", data = "local" }}
split = "all"
stride_s = 5.0
merge = "median"
{extra}
"#,
        npz = npz.display(),
        ckpt = ckpt.display()
    )
}

fn weights_of(f: &hdf5::File) -> Vec<(String, Vec<f32>)> {
    let g = f.group("weights").unwrap();
    let mut names = g.member_names().unwrap();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let v: Vec<f32> = g.dataset(&n).unwrap().read_raw().unwrap();
            (n, v)
        })
        .collect()
}

/// The row of `continuous.json` (an `evaluate.continuous` result) at `threshold`.
fn continuous_at(path: &std::path::Path, threshold: f64) -> Value {
    let cont: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    cont["table"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["threshold"] == threshold)
        .unwrap_or_else(|| panic!("no row at {threshold}: {cont:#}"))
        .clone()
}

fn ran(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("ran"))
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect()
}

/// Import, fine-tune the last layer, train from scratch, evaluate: the frozen layers keep the
/// published weights exactly (batch-norm statistics included) and only the output layer moves;
/// the entry records what was frozen and the key it started from; a rerun is cached, `--set`
/// reruns exactly the descendants, and a fresh cache gives bit-identical weights.
#[test]
fn tiny_picker_pipeline_imports_fine_tunes_evaluates_and_caches() {
    let env = Env::new();
    let p = env.write("tiny.toml", &tiny(""));
    let ps = p.to_str().unwrap();
    let r = env.run(&["run", ps]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(ran(&r.stdout).len(), 8, "{r:?}");

    let imported = env.entry(&p, "phasenet");
    let tuned = env.entry(&p, "finetune");
    let root: &hdf5::Location = &tuned;
    assert_eq!(
        quakeline::h5::read_str_attr(root, "trainable").unwrap(),
        "last"
    );
    let key = env.entry_path(&p, "phasenet");
    let key = key.file_stem().unwrap().to_str().unwrap();
    assert_eq!(quakeline::h5::read_str_attr(root, "init_key").unwrap(), key);
    assert!(
        quakeline::h5::read_str_attr(root, "frozen")
            .unwrap()
            .contains("everything but `out`")
    );
    let (a, b) = (weights_of(&imported), weights_of(&tuned));
    assert_eq!(a.len(), b.len());
    let mut moved = Vec::new();
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        if va != vb {
            moved.push(na.clone());
        }
    }
    assert_eq!(
        moved,
        ["out.bias", "out.weight"],
        "only the output layer may change"
    );

    // The evaluation of the published PhaseNet on all four traces (its own training data).
    let eval: Value = serde_json::from_str(
        &std::fs::read_to_string(
            env.path()
                .join("results/picker-tiny/published/evaluation.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(eval["windows"], 4);
    let p_tp = eval["P"]["true_positives"].as_u64().unwrap();
    assert!(p_tp >= 3, "{eval:#}");
    let ev = env.path().join("results/picker-tiny/evaluate");
    for f in ["evaluation.json", "residuals.png", "positions.png"] {
        assert!(ev.join(f).exists(), "{f}");
    }
    let sweep: Value =
        serde_json::from_str(&std::fs::read_to_string(ev.join("evaluation.json")).unwrap())
            .unwrap();
    assert_eq!(
        sweep["position_sweep"].as_array().unwrap().len(),
        9,
        "{sweep:#}"
    );

    // The published PhaseNet slid over the whole 90-s traces, median-merged: at 0.3 it finds the
    // analyst P of at least three of the four traces.
    let row = continuous_at(
        &env.path()
            .join("results/picker-tiny/continuous/continuous.json"),
        0.3,
    );
    assert!(row["p_tp"].as_u64().unwrap() >= 3, "{row}");

    // `quakeline predict` with the imported PhaseNet: the analyst P of BK.BKS is at 30.00 s (npz),
    // and the same station's miniSEED copy is picked with absolute times.
    let entry = env.entry_path(&p, "phasenet");
    let npz = data_dir().join("waveforms/phasenet_npz/BK_BKS_2017071510492061.npz");
    let pr = env.run(&[
        "predict",
        entry.to_str().unwrap(),
        npz.to_str().unwrap(),
        "--repeat",
        "1",
    ]);
    assert_eq!(pr.code, 0, "{pr:?}");
    let p_at: Vec<f64> = pr
        .stdout
        .lines()
        .filter(|l| l.contains("  P  "))
        .filter_map(|l| l.split("  P  ").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    assert!(p_at.iter().any(|t| (t - 30.0).abs() < 0.5), "{pr:?}");
    assert!(pr.stdout.contains("h of data per s"), "{pr:?}");
    let ms = data_dir().join("waveforms/mseed/three_component.mseed");
    let pr = env.run(&[
        "predict",
        entry.to_str().unwrap(),
        ms.to_str().unwrap(),
        "--repeat",
        "1",
    ]);
    assert_eq!(pr.code, 0, "{pr:?}");
    assert!(
        pr.stdout.contains("BK.BKS") && pr.stdout.contains("  P  2017-07-15T"),
        "{pr:?}"
    );
    // Windows every 10 s instead of 1 s: the same P, and the stride in the timing line.
    let pr10 = env.run(&[
        "predict",
        entry.to_str().unwrap(),
        ms.to_str().unwrap(),
        "--repeat",
        "1",
        "--stride",
        "10",
    ]);
    assert_eq!(pr10.code, 0, "{pr10:?}");
    assert!(pr10.stdout.contains("every 10 s"), "{pr10:?}");
    let first_p = |out: &str| {
        out.lines()
            .find(|l| l.contains("  P  "))
            .map(|l| l.split("  ").nth(2).unwrap_or_default()[..21].to_string())
    };
    assert_eq!(first_p(&pr10.stdout), first_p(&pr.stdout), "{pr10:?}");
    let bad = env.run(&[
        "predict",
        entry.to_str().unwrap(),
        ms.to_str().unwrap(),
        "--stride",
        "0",
    ]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(
        bad.stderr.contains("a positive number of seconds, got `0`"),
        "{bad:?}"
    );

    // Inputs are recognised by content: the miniSEED file under another name is read as before;
    // a file of no known format is refused naming the formats tried (never read as miniSEED).
    let renamed = env.path().join("bks-day.dat");
    std::fs::copy(&ms, &renamed).unwrap();
    let same = env.run(&[
        "predict",
        entry.to_str().unwrap(),
        renamed.to_str().unwrap(),
        "--repeat",
        "1",
    ]);
    assert_eq!(same.code, 0, "{same:?}");
    assert_eq!(first_p(&same.stdout), first_p(&pr.stdout), "{same:?}");
    let notes = env.path().join("notes.txt");
    std::fs::write(&notes, "not seismic data\n").unwrap();
    let unknown = env.run(&["predict", entry.to_str().unwrap(), notes.to_str().unwrap()]);
    assert_ne!(unknown.code, 0, "{unknown:?}");
    assert!(
        unknown
            .stderr
            .contains("notes.txt: not a waveform file quakeline reads (tried npz")
            && unknown.stderr.contains("mseed (miniSEED 2 or 3 records)"),
        "{unknown:?}"
    );
    assert!(!unknown.stderr.contains("panicked"), "{unknown:?}");

    let history = env.path().join("results/picker-tiny/finetune/history.json");
    let first_history = std::fs::read_to_string(&history).unwrap();
    let again = env.run(&["run", ps]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(ran(&again.stdout).is_empty(), "{again:?}");
    let set = env.run(&["run", ps, "--set", "finetune.epochs=1"]);
    assert_eq!(set.code, 0, "{set:?}");
    let mut r = ran(&set.stdout);
    r.sort();
    assert_eq!(r, ["evaluate", "finetune"], "{set:?}");
    assert_ne!(std::fs::read_to_string(&history).unwrap(), first_history);
    // Back to the file as written: all cached, and results/ shows the cached entries' files
    // again, not the `--set` run's.
    let back = env.run(&["run", ps]);
    assert!(ran(&back.stdout).is_empty(), "{back:?}");
    assert_eq!(std::fs::read_to_string(&history).unwrap(), first_history);

    // Bit-identical in a fresh cache.
    let env2 = Env::new();
    let p2 = env2.write("tiny.toml", &tiny(""));
    let r2 = env2.run(&["run", p2.to_str().unwrap(), "--quiet"]);
    assert_eq!(r2.code, 0, "{r2:?}");
    for stage in ["scratch", "phasenet"] {
        assert_eq!(
            weights_of(&env.entry(&p, stage)),
            weights_of(&env2.entry(&p2, stage)),
            "{stage}"
        );
    }
    assert_eq!(weights_of(&tuned), weights_of(&env2.entry(&p2, "finetune")));
}

/// Bad picker set-ups: each a located error, no entry for the stage.
#[test]
fn picker_bad_inputs_are_located_errors() {
    let env = Env::new();
    let cases: [(&str, &str, &str); 6] = [
        (
            "[stage.bad]\nkind = \"import.weights\"\nmodel = \"phasenet\"\npaths = [\"CKPT.index\", \"CKPT.data-00000-of-00001\", \"CKDIR/config.log\"]\n",
            "not a checkpoint file",
            "bad",
        ),
        (
            "[stage.bad]\nkind = \"train\"\nmodel = \"fmnet\"\ninputs = { input = \"local\", init = \"phasenet\" }\n",
            "trains from scratch only",
            "bad",
        ),
        (
            "[stage.bad]\nkind = \"train\"\nmodel = \"phasenet\"\ninput = \"local\"\ntrainable = \"last\"\nwindow = 1000\nepochs = 1\n",
            "wire one as input `init`",
            "bad",
        ),
        (
            "[stage.bad]\nkind = \"train\"\nmodel = \"r2unet\"\ninputs = { input = \"local\", init = \"phasenet\" }\nwindow = 1000\nepochs = 1\n",
            "another architecture",
            "bad",
        ),
        (
            "[stage.bad]\nkind = \"train\"\nmodel = \"phasenet\"\ninput = \"traces\"\nwindow = 1000\nepochs = 1\n",
            "split.waveforms",
            "bad",
        ),
        (
            "[stage.slow]\nkind = \"fetch.waveforms\"\nformat = \"npz\"\npaths = [\"NPZ/*.npz\"]\nsampling_rate_hz = 50\n[stage.split50]\nkind = \"split.waveforms\"\ninput = \"slow\"\nby = \"random\"\nfractions = [0.5, 0.5]\n[stage.bad]\nkind = \"evaluate.picks\"\ninputs = { model = \"phasenet\", data = \"split50\" }\nsplit = \"all\"\n",
            "trained at 100 Hz",
            "bad",
        ),
    ];
    let npz = data_dir().join("waveforms/phasenet_npz");
    for (extra, want, stage) in cases {
        let ckpt = phasenet_prefix();
        let text = tiny(
            &extra
                .replace("NPZ", &npz.display().to_string())
                .replace("CKPT", &ckpt.display().to_string())
                .replace("CKDIR", &ckpt.parent().unwrap().display().to_string()),
        );
        let p = env.write("bad.toml", &text);
        let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
        assert_ne!(r.code, 0, "{extra}: {r:?}");
        assert!(r.stderr.contains(want), "{extra}: want `{want}` in {r:?}");
        assert!(
            !env.entry_path(&p, stage).exists(),
            "{extra}: an entry was written"
        );
    }
}

/// Checkpoints written by TensorFlow's SaveV2 that are not PhaseNet
/// (`tests/data/models/bad_checkpoints/generate.py`): a missing tensor and a mis-shaped one are
/// refused naming the variable and both shapes.
#[test]
fn a_checkpoint_missing_or_misshaping_a_tensor_is_refused() {
    let dir = data_dir().join("models/bad_checkpoints");
    let err = |name: &str| match phasenet::from_checkpoint(
        &Checkpoint::open(&dir.join(name)).unwrap(),
        &nn::device(),
    ) {
        Ok(_) => panic!("{name} loaded as PhaseNet"),
        Err(e) => format!("{e:#}"),
    };
    let e = err("missing.ckpt");
    assert!(e.contains("no variable `Input/input_conv/kernel`"), "{e}");
    let e = err("misshaped.ckpt");
    assert!(
        e.contains("`Input/input_conv/kernel` has shape [5, 1, 3, 8]")
            && e.contains("[7, 1, 3, 8]"),
        "{e}"
    );
}

/// A day of 3-C 100-Hz miniSEED (three Steim2 files, 104 MB of samples as float32) with a real
/// event (BK.BKS, its analyst P and S 0.95 s apart, from a pick file) placed at 10:00:47 in
/// noise of the trace's own pre-event level: `fetch.waveforms` reads it one component of one
/// station at a time, and `evaluate.continuous` streams the trace from the entry through the
/// published PhaseNet into the pick detectors. Each `quakeline run` peaks far below what holding
/// the day would take: the fetch holds the files (56 MB), the station's float32 trace and one
/// component in float64, below 4× the day's float32 samples (decoded records, the assembled
/// station and its copies took about 9×); the evaluation stays below 1×. And the event is found:
/// P and S true positives at 0.3, windows every 30 s.
#[test]
fn a_day_of_miniseed_is_fetched_and_annotated_in_bounded_memory() {
    let env = Env::new();
    let npz = data_dir().join("waveforms/phasenet_npz/BK_BKS_2017071510492061.npz");
    let ev = npz::parse("BK_BKS", &std::fs::read(&npz).unwrap()).unwrap();
    let m = ev.data.len() / 3;
    let n: usize = 24 * 3600 * 100;
    let offset = 10 * 360_000 + 1_730;
    let dir = env.path().join("day");
    std::fs::create_dir_all(&dir).unwrap();
    let start = time::OffsetDateTime::from_unix_timestamp(1_709_251_200).unwrap(); // 2024-03-01
    for (c, comp) in ["Z", "N", "E"].iter().enumerate() {
        let event = &ev.data[c * m..(c + 1) * m];
        // Pre-event RMS: the noise level the event sits in.
        let pre = &event[..2500];
        let mean = pre.iter().sum::<f32>() / pre.len() as f32;
        let rms =
            (pre.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / pre.len() as f32).sqrt();
        let mut counts: Vec<i32> = (0..n)
            .map(|t| match t.checked_sub(offset) {
                Some(k) if k < m => event[k].round() as i32,
                _ => {
                    // Roughly Gaussian: the sum of four uniform hashes of the sample index.
                    let u: f32 = (0..4u64)
                        .map(|j| {
                            let h = ((c * n + t) as u64 * 4 + j)
                                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                                .rotate_left(29)
                                .wrapping_mul(0xBF58_476D_1CE4_E5B9);
                            (h >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                        })
                        .sum();
                    (mean + u * 3f32.sqrt() * rms).round() as i32
                }
            })
            .collect();
        let mut info = mseed::PackInfo::new(format!("FDSN:BK_BKS__H_H_{comp}")).unwrap();
        info.sample_rate = 100.0;
        info.format_version = 2;
        let mut bytes = Vec::new();
        mseed::pack_raw(
            &mut counts,
            &start,
            |rec: &[u8]| bytes.extend_from_slice(rec),
            &info,
            mseed::MSControlFlags::MSF_FLUSHDATA,
        )
        .unwrap();
        std::fs::write(dir.join(format!("BK.BKS..HH{comp}.mseed")), bytes).unwrap();
    }
    let at = |sample: f64| {
        quakeline::time::format_rfc3339(1_709_251_200_000_000_000 + (sample * 1e7).round() as i64)
    };
    std::fs::write(
        dir.join("picks.csv"),
        format!(
            "trace,phase,time\nBK.BKS..HH,P,{}\nBK.BKS..HH,S,{}\n",
            at(offset as f64 + ev.trace.p_sample),
            at(offset as f64 + ev.trace.s_sample)
        ),
    )
    .unwrap();
    let ckpt = phasenet_prefix();
    let base = format!(
        "[pipeline]\nname = \"day\"\n\n[stage.local]\nkind = \"fetch.waveforms\"\nformat = \"mseed\"\npaths = [{:?}]\n\n[stage.phasenet]\nkind = \"import.weights\"\nmodel = \"phasenet\"\npaths = [{:?}, {:?}]\n",
        dir.join("*").display().to_string(),
        format!("{}.index", ckpt.display()),
        format!("{}.data-00000-of-00001", ckpt.display()),
    );
    let day_bytes = (3 * n * 4) as u64;
    let measured = |pipeline: &std::path::Path, what: &str| {
        let log = env.path().join(format!("{what}.log"));
        let (code, peak) =
            crate::util::peak_rss(env.cmd(&["run", pipeline.to_str().unwrap()]), &log);
        let out = std::fs::read_to_string(&log).unwrap();
        assert_eq!(code, 0, "{out}");
        eprintln!(
            "{what}: peak {:.0} MB resident for {:.0} MB of samples",
            peak as f64 / 1e6,
            day_bytes as f64 / 1e6
        );
        (out, peak)
    };
    // The set and the model first, then the evaluation alone.
    let first = env.write("day-data.toml", &base);
    let (_, peak) = measured(&first, "fetch");
    let set = waveform_set::open(&env.entry(&first, "local"), "local").unwrap();
    assert_eq!((set.len(), set.samples()), (1, n));
    let t = set.meta(0);
    assert_eq!(
        (t.p_sample, t.s_sample),
        (
            offset as f64 + ev.trace.p_sample,
            offset as f64 + ev.trace.s_sample
        )
    );
    assert_eq!(
        set.span(0, offset, offset + m).unwrap()[..m]
            .iter()
            .map(|v| v.round())
            .collect::<Vec<_>>(),
        ev.data[..m].iter().map(|v| v.round()).collect::<Vec<_>>()
    );
    drop(set);
    assert!(
        peak < day_bytes * 4,
        "fetch: peak resident memory {peak} bytes for a day of {day_bytes}"
    );
    let full = env.write(
        "day.toml",
        &format!(
            "{base}\n[stage.continuous]\nkind = \"evaluate.continuous\"\ninputs = {{ model = \"phasenet\", data = \"local\" }}\nsplit = \"all\"\nstride_s = 30.0\nmerge = \"median\"\n"
        ),
    );
    let (out, peak) = measured(&full, "evaluate");
    assert_eq!(ran(&out), ["continuous"], "{out}");
    let row = continuous_at(
        &env.path().join("results/day/continuous/continuous.json"),
        0.3,
    );
    eprintln!("at 0.3: {row}");
    assert_eq!(
        (row["p_tp"].as_u64(), row["s_tp"].as_u64()),
        (Some(1), Some(1)),
        "{row}"
    );
    assert!(
        peak < day_bytes,
        "evaluate: peak resident memory {peak} bytes for a day of {day_bytes}: the trace was held whole"
    );
}

/// `evaluate.picks` scores a block of 512 windows at a time and runs its P-position sweep a
/// block of traces (16 MiB) at a time: 150 copies of four real traces cut to 30 s (600
/// windows, two blocks of each kind) score at every P position exactly as the four traces do,
/// on 150 times the windows, and every one of the 600 windows is scored.
#[test]
fn evaluate_picks_in_blocks_scores_copies_as_the_traces_themselves() {
    use quakeline::data::waveform_set::{Trace, WaveformSet};
    let env = Env::new();
    let dir = data_dir().join("waveforms/phasenet_npz");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (mut one, mut many) = (WaveformSet::default(), WaveformSet::default());
    for f in &files {
        let t = npz::parse(&f.display().to_string(), &std::fs::read(f).unwrap()).unwrap();
        let m = t.data.len() / 3;
        let from = t.trace.p_sample as usize - 1500;
        let cut: Vec<f32> = (0..3)
            .flat_map(|c| t.data[c * m + from..c * m + from + 3000].to_vec())
            .collect();
        let inside = |s: f64| {
            let r = s - from as f64;
            if (0.0..3000.0).contains(&r) {
                r
            } else {
                f64::NAN
            }
        };
        let trace = Trace {
            split: "test".into(),
            p_sample: inside(t.trace.p_sample),
            s_sample: inside(t.trace.s_sample),
            ..t.trace.clone()
        };
        one.push(&cut, trace.clone(), t.sampling_rate_hz).unwrap();
        for k in 0..150 {
            let copy = Trace {
                name: format!("{}_{k}", trace.name),
                ..trace.clone()
            };
            many.push(&cut, copy, t.sampling_rate_hz).unwrap();
        }
    }
    for (name, set) in [("one", &one), ("many", &many)] {
        let d = env.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        let csv =
            quakeline::io::waveforms::seisbench::write(set, &d.join("waveforms.hdf5")).unwrap();
        std::fs::write(d.join("metadata.csv"), csv).unwrap();
    }
    let ckpt = phasenet_prefix();
    let mut text = format!(
        "[pipeline]\nname = \"blocks\"\nseed = 3\n\n[stage.phasenet]\nkind = \"import.weights\"\nmodel = \"phasenet\"\npaths = [{:?}, {:?}]\nwindow = 1000\n",
        format!("{}.index", ckpt.display()),
        format!("{}.data-00000-of-00001", ckpt.display()),
    );
    for name in ["one", "many"] {
        text += &format!(
            "\n[stage.{name}]\nkind = \"fetch.waveforms\"\nformat = \"seisbench\"\npaths = [{:?}]\n\n[stage.evaluate_{name}]\nkind = \"evaluate.picks\"\ninputs = {{ model = \"phasenet\", data = \"{name}\" }}\nposition_sweep = true\n",
            env.path().join(name).join("*").display().to_string()
        );
    }
    let p = env.write("blocks.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let read = |stage: &str| -> Value {
        let f = env
            .path()
            .join(format!("results/blocks/{stage}/evaluation.json"));
        serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()
    };
    let (a, b) = (read("evaluate_one"), read("evaluate_many"));
    assert_eq!(
        (a["windows"].as_u64(), b["windows"].as_u64()),
        (Some(4), Some(600))
    );
    let (sa, sb) = (
        a["position_sweep"].as_array().unwrap(),
        b["position_sweep"].as_array().unwrap(),
    );
    assert_eq!(sa.len(), 9, "{a:#}");
    assert_eq!(sa.len(), sb.len());
    for (x, y) in sa.iter().zip(sb) {
        assert_eq!(x["p_at_s"], y["p_at_s"]);
        assert_eq!(
            y["windows"].as_u64().unwrap(),
            150 * x["windows"].as_u64().unwrap()
        );
        assert_eq!(
            (&x["p_f1"], &x["s_f1"]),
            (&y["p_f1"], &y["s_f1"]),
            "{x} {y}"
        );
    }
    // Every one of the 600 windows is scored: each window whose P lies inside it (its start is
    // in the entry; every cut trace has P at 1500) is a P TP or FN.
    let starts: Vec<u64> = env
        .entry(&p, "evaluate_many")
        .dataset("window_start")
        .unwrap()
        .read_raw()
        .unwrap();
    assert_eq!(starts.len(), 600);
    let with_p = starts
        .iter()
        .filter(|&&s| s <= 1500 && 1500 < s + 1000)
        .count() as u64;
    let p_scored =
        b["P"]["true_positives"].as_u64().unwrap() + b["P"]["false_negatives"].as_u64().unwrap();
    assert_eq!(p_scored, with_p, "{b:#}");
}
