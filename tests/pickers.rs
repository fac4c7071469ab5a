//! U-Net phase pickers: the published PhaseNet checkpoint imported and run against an independent
//! NumPy forward pass of the same checkpoint (`tests/data/models/phasenet/generate.py`, weights read
//! by TensorFlow's own reader) on real traces.

use std::io::Read;
use std::path::PathBuf;

use burn::tensor::{Tensor, TensorData};
use quakeline::io::{phasenet_npz, tf_checkpoint::Checkpoint};
use quakeline::labeling::phase_windows;
use quakeline::nn::{self, phasenet, picker};
use serde_json::Value;

use crate::util::data_dir;

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
        &std::fs::read_to_string(data_dir().join("models/phasenet/forward_reference.json")).unwrap(),
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
    let model = phasenet::from_checkpoint(&Checkpoint::open(&phasenet_prefix()).unwrap(), &device)
        .unwrap();
    for w in meta()["windows"].as_array().unwrap() {
        let file = w["file"].as_str().unwrap();
        let (start, n) = (w["start"].as_u64().unwrap() as usize, w["samples"].as_u64().unwrap() as usize);
        let path = data_dir().join("waveforms/phasenet_npz").join(file);
        let t = phasenet_npz::parse(file, &std::fs::read(path).unwrap()).unwrap();
        let total = t.data.len() / 3;
        let mut x: Vec<f64> = (0..3)
            .flat_map(|c| t.data[c * total + start..c * total + start + n].iter().map(|v| f64::from(*v)))
            .collect();
        phase_windows::normalise(&mut x, n);
        let (_, want) = reference_array(&format!("x{n}"));
        let row = meta()["windows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["samples"] == w["samples"])
            .position(|v| v["file"] == w["file"])
            .unwrap();
        let want = &want[row * 3 * n..(row + 1) * 3 * n];
        let d = x.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f64, f64::max);
        assert!(d < 1e-5, "{file}: normalised input differs by {d:e}");
        let xt = Tensor::<3>::from_data(
            TensorData::new(x.iter().map(|v| *v as f32).collect::<Vec<_>>(), [1, 3, n]),
            &device,
        );
        let p: Vec<f32> = picker::probabilities(&model, xt).into_data().try_to_vec().unwrap();
        let argmax = |c: usize| {
            (0..n).max_by(|&a, &b| p[c * n + a].total_cmp(&p[c * n + b])).unwrap()
        };
        assert_eq!(argmax(1) as u64, w["p_peak"].as_u64().unwrap(), "{file}");
        assert_eq!(argmax(2) as u64, w["s_peak"].as_u64().unwrap(), "{file}");
        if w["p_peak_prob"].as_f64().unwrap() > 0.5 {
            let itp = w["itp"].as_i64().unwrap();
            assert!((argmax(1) as i64 - itp).abs() <= 5, "{file}: P peak {} vs pick {itp}", argmax(1));
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
    std::fs::write(format!("{}.data-00000-of-00001", dst.display()), &data[..data.len() / 2]).unwrap();
    let err = match phasenet::from_checkpoint(&Checkpoint::open(&dst).unwrap(), &nn::device()) {
        Ok(_) => panic!("a truncated checkpoint loaded"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("past the end of the file") && err.contains("variable `"), "{err}");
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
