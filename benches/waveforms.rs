//! Benchmarks of workflow 3's data side for BENCHMARKS.md: PhaseNet npz and SeisBench read
//! throughput, miniSEED decoding beside ObsPy's `read` of the same files, resampling, training
//! examples (windows, labels, augmentation), synthetic traces, and the fk bank at 100 Hz.
//! `cargo bench --bench waveforms` (release build); plain `main`, medians of repeats.
//!
//! The ObsPy comparison runs `QUAKELINE_BENCH_PYTHON` (default `python3`) when it can import
//! obspy; the project itself never needs Python, so without it that line says so.

use std::path::Path;
use std::time::Instant;

use quakeline::data::waveform_set::WaveformSet;
use quakeline::greens::{self, FkSettings, LayeredModel};
use quakeline::labeling::phase_windows::{WindowConfig, example};
use quakeline::signal::butterworth::{Band, butter_sos};
use quakeline::signal::resample::{Ratio, resample_poly};
use quakeline::synth::picks::{Generator, Noise, Settings};

mod common;
use common::{python, time};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/data/waveforms");
    let set = readers(&dir);
    mseed(&dir);
    let x: Vec<f64> = (0..1_000_000)
        .map(|i| (i as f64 * 0.01).sin() + (i % 7) as f64)
        .collect();
    for (up, down) in [(5, 2), (1, 2)] {
        let t = time(5, || resample_poly(&x, Ratio::new(up, down)));
        let ours = x.len() as f64 / t.as_secs_f64();
        let script = format!(
            "import numpy as np, scipy.signal as s, time\nx = np.sin(np.arange(1000000) * 0.01) + np.arange(1000000) % 7\nts = []\nfor _ in range(5):\n    t = time.perf_counter(); s.resample_poly(x, {up}, {down}); ts.append(time.perf_counter() - t)\nts.sort(); print(ts[2])\n"
        );
        let scipy = python(&script).and_then(|o| o.trim().parse::<f64>().ok());
        match scipy {
            Some(secs) => println!(
                "resample_poly {up}/{down}: {:.1} M input samples/s; SciPy {:.1} M/s; quakeline / SciPy = {:.2}x",
                ours / 1e6,
                x.len() as f64 / secs / 1e6,
                ours * secs / x.len() as f64
            ),
            None => println!(
                "resample_poly {up}/{down}: {:.1} M input samples/s (SciPy: skipped)",
                ours / 1e6
            ),
        }
    }
    windows(&set);
    synthetic(root);
}

/// PhaseNet `.npz` and the SeisBench sample; returns the npz set for the window benchmark.
fn readers(dir: &Path) -> WaveformSet {
    let npz: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("phasenet_npz"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    let bytes: usize = npz.iter().map(|(_, b)| b.len()).sum();
    let t = time(20, || {
        npz.iter()
            .map(|(l, b)| {
                quakeline::io::waveforms::npz::parse(l, b)
                    .unwrap()
                    .data
                    .len()
            })
            .sum::<usize>()
    });
    println!(
        "PhaseNet npz read: {:.0} MB/s ({} traces, {bytes} bytes in {:.2} ms)",
        bytes as f64 / 1e6 / t.as_secs_f64(),
        npz.len(),
        t.as_secs_f64() * 1e3
    );
    let csv = std::fs::read(dir.join("seisbench/metadata.csv")).unwrap();
    let h5 = dir.join("seisbench/waveforms.hdf5");
    let bytes = csv.len() + std::fs::metadata(&h5).unwrap().len() as usize;
    let t = time(20, || {
        let mut set = WaveformSet::default();
        quakeline::io::waveforms::seisbench::read_chunk(
            "metadata.csv",
            &csv,
            "waveforms.hdf5",
            &h5,
            &mut set,
        )
        .unwrap();
        set.len()
    });
    println!(
        "SeisBench read: {:.0} MB/s ({bytes} bytes in {:.2} ms)",
        bytes as f64 / 1e6 / t.as_secs_f64(),
        t.as_secs_f64() * 1e3
    );
    let mut set = WaveformSet::default();
    for (l, b) in &npz {
        let t = quakeline::io::waveforms::npz::parse(l, b).unwrap();
        set.push(&t.data, t.trace, t.sampling_rate_hz).unwrap();
    }
    set
}

/// miniSEED decoding (libmseed) and station assembly, beside ObsPy's `read` on the same files.
fn mseed(dir: &Path) {
    let files: Vec<(String, Vec<u8>)> = [
        "gaps.mseed",
        "three_component.mseed",
        "IU_ULN_00_LH1_2015-07-18T02.mseed",
        "steim2.mseed",
    ]
    .iter()
    .map(|n| {
        (
            n.to_string(),
            std::fs::read(dir.join("mseed").join(n)).unwrap(),
        )
    })
    .collect();
    // Each file on its own, as ObsPy reads them (one of them holds the same station twice).
    let decode = || {
        files
            .iter()
            .map(|f| {
                let stations = quakeline::io::waveforms::mseed::read_stations(
                    std::slice::from_ref(f),
                    60_000_000_000,
                )
                .unwrap();
                std::hint::black_box(&stations);
                stations
                    .iter()
                    .flat_map(|s| s.data.iter().flatten())
                    .filter(|v| v.is_finite())
                    .count()
            })
            .sum::<usize>()
    };
    let samples = decode();
    let t = time(50, decode);
    let ours = samples as f64 / t.as_secs_f64();
    println!(
        "miniSEED decode (libmseed, Steim1/2, 4 files, {samples} samples): {:.1} M samples/s ({:.2} ms)",
        ours / 1e6,
        t.as_secs_f64() * 1e3
    );
    let paths: Vec<String> = files
        .iter()
        .map(|(n, _)| dir.join("mseed").join(n).display().to_string())
        .collect();
    let script = format!(
        "import obspy, time\nfiles = {paths:?}\nts = []\nfor _ in range(50):\n    t = time.perf_counter()\n    n = sum(tr.stats.npts for f in files for tr in obspy.read(f, format='MSEED'))\n    ts.append(time.perf_counter() - t)\nts.sort()\nprint(n, ts[len(ts) // 2])\n"
    );
    match python(&script) {
        Some(out) => {
            let mut it = out.split_whitespace();
            let (n, s): (f64, f64) = (
                it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0),
                it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN),
            );
            println!(
                "ObsPy read, same files ({n} samples): {:.1} M samples/s ({:.2} ms); quakeline / ObsPy = {:.1}x",
                n / s / 1e6,
                s * 1e3,
                ours / (n / s)
            );
        }
        None => println!("ObsPy read: skipped (no Python with obspy)"),
    }
}

/// Training examples: 30-s windows with labels, noise and channel-drop augmentation.
fn windows(set: &WaveformSet) {
    let cfg = WindowConfig::default();
    let n = 2000;
    let t = time(5, || {
        (0..n)
            .map(|k| {
                example(set, k % set.len(), &cfg, 1, k as u64)
                    .unwrap()
                    .x
                    .len()
            })
            .sum::<usize>()
    });
    println!(
        "picker examples (3000-sample window, labels, augmentation; one thread): {:.0} examples/s",
        n as f64 / t.as_secs_f64()
    );
}

/// The fk bank at 100 Hz (one depth, 15 distances to 150 km, 40.96 s) and synthetic traces.
fn synthetic(root: &Path) {
    let hk = LayeredModel::parse_fk(
        &std::fs::read_to_string(root.join("tests/data/greens/hk")).unwrap(),
        true,
    )
    .unwrap();
    let dist: Vec<f64> = (1..=15).map(|d| 10.0 * d as f64).collect();
    let t0 = Instant::now();
    let bank = greens::compute(&hk, &[12.5], &dist, FkSettings::new(0.01, 4096), &|| {}).unwrap();
    println!(
        "synth.greens at 100 Hz (dt 0.01 s, 4096 pts), hk, 1 depth x 15 distances (10-150 km): {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let settings = Settings {
        samples: 6000,
        p_at: 3000,
        magnitudes: [1.0, 4.0],
        b_value: 1.0,
        snr_db: [0.0, 40.0],
        stress_drop_mpa: 3.0,
    };
    let noise = Noise::Coloured(butter_sos(4, Band::Bandpass(1.0, 20.0), 100.0).unwrap());
    let g = Generator::new(bank, &hk, settings, noise, 1).unwrap();
    let n = 400;
    let t = time(3, || {
        use rayon::prelude::*;
        (0..n)
            .into_par_iter()
            .map(|i| g.trace(i).zne.len())
            .sum::<usize>()
    });
    println!(
        "synth.picks traces (60 s at 100 Hz, 3-C, coloured noise; all threads): {:.0} traces/s",
        n as f64 / t.as_secs_f64()
    );
}
