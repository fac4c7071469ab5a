//! quakeline's Butterworth design and filtering against SciPy (`tests/data/filter_reference/`,
//! made by `generate.py` there with SciPy 1.x). The bound is on the largest difference relative to
//! the reference's peak amplitude, checked separately on the interior and on the edges (the first
//! and last `padlen` samples, where the padding and initial conditions matter): a pointwise relative
//! error is meaningless at zero crossings.

use quakeline::signal::butterworth::{Band, butter_sos};
use quakeline::signal::sos::{default_padlen, sosfilt, sosfiltfilt};

use crate::util::data_dir;

struct Case {
    name: String,
    output: Vec<f64>,
    ours: Vec<f64>,
    padlen: usize,
}

fn load(name: &str) -> Case {
    let path = data_dir()
        .join("filter_reference")
        .join(format!("{name}.json"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let floats = |k: &str| {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect::<Vec<f64>>()
    };
    let corners = floats("corners_hz");
    let band = match v["type"].as_str().unwrap() {
        "lowpass" => Band::Lowpass(corners[0]),
        "highpass" => Band::Highpass(corners[0]),
        _ => Band::Bandpass(corners[0], corners[1]),
    };
    let sos = butter_sos(
        v["order"].as_u64().unwrap() as usize,
        band,
        v["fs_hz"].as_f64().unwrap(),
    )
    .unwrap();
    let padlen = v["padlen"].as_u64().unwrap() as usize;
    let input = floats("input");
    let ours = if v["zero_phase"].as_bool().unwrap() {
        if input.len() > default_padlen(&sos) {
            assert_eq!(
                padlen,
                default_padlen(&sos),
                "{name}: SciPy's default pad length"
            );
        }
        sosfiltfilt(&sos, &input, padlen)
    } else {
        sosfilt(&sos, &input)
    };
    Case {
        name: name.into(),
        output: floats("output"),
        ours,
        padlen,
    }
}

fn max_rel(ours: &[f64], reference: &[f64], peak: f64) -> f64 {
    ours.iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs() / peak)
        .fold(0.0, f64::max)
}

fn check(name: &str) {
    let c = load(name);
    assert_eq!(c.ours.len(), c.output.len());
    let peak = c.output.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let n = c.output.len();
    let e = c.padlen.min(n / 2);
    let edges: Vec<usize> = (0..e).chain(n - e..n).collect();
    let interior = max_rel(&c.ours[e..n - e], &c.output[e..n - e], peak);
    let edge = edges
        .iter()
        .map(|&i| (c.ours[i] - c.output[i]).abs() / peak)
        .fold(0.0, f64::max);
    assert!(
        interior <= 1e-9,
        "{}: interior max relative difference {interior:e}",
        c.name
    );
    assert!(
        edge <= 1e-9,
        "{}: edge max relative difference {edge:e}",
        c.name
    );
}

#[test]
fn bou_highpass_order4_zero_phase() {
    check("bou_highpass4_zerophase");
}

#[test]
fn bou_lowpass_order4_zero_phase() {
    check("bou_lowpass4_zerophase");
}

#[test]
fn bou_bandpass_order2_zero_phase() {
    check("bou_bandpass2_zerophase");
}

#[test]
fn noise_bandpass_order3_zero_phase_fmnet_band() {
    check("noise_bandpass3_zerophase");
}

#[test]
fn noise_lowpass_order5_causal() {
    check("noise_lowpass5_causal");
}

#[test]
fn noise_highpass_order1_zero_phase_single_pole_section() {
    check("noise_highpass1_zerophase");
}

#[test]
fn short_segment_uses_shortened_padding_like_scipy_padlen() {
    check("noise_highpass3_zerophase_short");
}

/// The filter stage filters each NaN-delimited segment on its own: the result equals SciPy on each
/// segment and gaps stay NaN.
#[test]
fn nan_gaps_split_the_series_into_independently_filtered_segments() {
    let c = load("noise_bandpass3_zerophase");
    let sos = butter_sos(3, Band::Bandpass(0.05, 0.1), 1.0).unwrap();
    let input: Vec<f64> = {
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                data_dir().join("filter_reference/noise_bandpass3_zerophase.json"),
            )
            .unwrap(),
        )
        .unwrap();
        v["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let mut gapped = input.clone();
    for v in &mut gapped[200..210] {
        *v = f64::NAN;
    }
    let mut out = gapped.clone();
    for run in quakeline::signal::segments::finite_runs(&gapped) {
        let y = sosfiltfilt(&sos, &gapped[run.clone()], default_padlen(&sos));
        out[run].copy_from_slice(&y);
    }
    assert!(out[200..210].iter().all(|v| v.is_nan()));
    // The first segment alone is a filtering of input[..200]; far from the gap it approaches the
    // full-length result only loosely, so compare against a direct filtering of that segment.
    let direct = sosfiltfilt(&sos, &input[..200], default_padlen(&sos));
    assert_eq!(&out[..200], &direct[..]);
    assert!(out[210..].iter().all(|v| v.is_finite()));
    assert_eq!(c.ours.len(), 512);
}

/// Through the CLI: an IAGA-2002 file with a 2-minute gap (filled with the series mean) and a
/// 10-minute gap (kept), gap-filled and high-passed; the stored Z equals SciPy's per-segment
/// `sosfiltfilt` (reference made by generate.py) and the 10 missing minutes stay NaN.
#[test]
fn gapfill_then_filter_stage_matches_scipy_per_segment() {
    let env = crate::util::Env::new();
    let pipeline = env.write(
        "gaps.toml",
        &format!(
            r#"[pipeline]
name = "gaps"

[stage.mag]
kind = "fetch.iaga2002"
paths = ["{}"]

[stage.filled]
kind = "gapfill"
input = "mag"

[stage.hp]
kind = "filter"
input = "filled"
type = "highpass"
corners_hz = [0.0002]
"#,
            data_dir()
                .join("iaga2002_gaps/bou20141101_gaps.min")
                .display()
        ),
    );
    let run = env.run(&["run", pipeline.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            data_dir().join("filter_reference/bou_gaps_gapfill_highpass4.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let stage_z = |stage: &str| -> Vec<f64> {
        let f = env.entry(&pipeline, stage);
        let data = f.dataset("data").unwrap().read_raw::<f64>().unwrap();
        data.chunks(4).map(|row| row[2]).collect()
    };
    // The fill value is the series mean, summed in a different order than numpy's pairwise nanmean.
    for (stage, field, tol) in [("filled", "filled", 1e-14), ("hp", "output", 1e-9)] {
        let ours = stage_z(stage);
        let want: Vec<Option<f64>> = reference[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64())
            .collect();
        assert_eq!(ours.len(), want.len());
        let peak = want.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
            match b {
                None => assert!(a.is_nan(), "{stage}[{i}] should be missing"),
                Some(b) => assert!((a - b).abs() <= tol * peak, "{stage}[{i}]: {a} vs {b}"),
            }
        }
    }
}
