//! Benchmarks for BENCHMARKS.md: IAGA-2002 read throughput, filter throughput, training and
//! inference, the no-op rerun of the quickstart, and workflow 2's synthesis (workflow 3's data
//! side: `benches/waveforms.rs`).
//! `cargo bench` (release build); plain `main`, no harness, medians of repeats.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use quakeline::io::iaga2002;
use quakeline::nn::pm_cnn::Shape;
use quakeline::nn::train::{self, Config, Windows};
use quakeline::rng::Rng;
use quakeline::signal::butterworth::{Band, butter_sos};
use quakeline::signal::sos::{default_padlen, sosfiltfilt};

mod common;
use common::time;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("tests/data/iaga2002");
    let files: Vec<Vec<u8>> = (1..=7)
        .map(|d| std::fs::read(data.join(format!("bou2014110{d}vmin.min"))).unwrap())
        .collect();
    let bytes: usize = files.iter().map(Vec::len).sum();
    let t = time(30, || {
        files
            .iter()
            .map(|b| iaga2002::parse_bytes("bench", b).unwrap())
            .collect::<Vec<_>>()
    });
    println!(
        "iaga2002 parse: {:.1} MB/s ({} bytes in {:.2} ms)",
        bytes as f64 / 1e6 / t.as_secs_f64(),
        bytes,
        t.as_secs_f64() * 1e3
    );

    // usize: `i * 7919` passes i32's range at i = 271,183 (release builds check overflow).
    let n: usize = 1_000_000;
    let x: Vec<f64> = (0..n)
        .map(|i| ((i as f64) * 0.001).sin() + ((i * 7919) % 1000) as f64 * 1e-3)
        .collect();
    for (label, order, band) in [
        ("highpass order 4", 4, Band::Highpass(0.01)),
        ("bandpass order 4", 4, Band::Bandpass(0.05, 0.1)),
    ] {
        let sos = butter_sos(order, band, 1.0).unwrap();
        let t = time(10, || sosfiltfilt(&sos, &x, default_padlen(&sos)));
        println!(
            "sosfiltfilt {label}: {:.1} M samples/s",
            n as f64 / 1e6 / t.as_secs_f64()
        );
    }

    // pm-cnn training throughput at the 1-day window (3 x 1440), batch 32, Adam: samples per
    // second through forward, backward and the optimizer step. Threads: RAYON_NUM_THREADS, else
    // one per core.
    let shape = Shape {
        rows: 3,
        samples: 1440,
    };
    let n = 256;
    let mut rng = Rng::new(1, "bench");
    let data = Windows {
        x: (0..n * 3 * 1440).map(|_| rng.normal() as f32).collect(),
        labels: (0..n).map(|i| (i % 2) as i64).collect(),
        shape,
    };
    let cfg = Config {
        optimizer: "adam".into(),
        lr: 1e-3,
        batch: 32,
        epochs: 1,
        seed: 1,
        schedule: None,
    };
    let idx: Vec<usize> = (0..n).collect();
    let device = quakeline::nn::device();
    let t = time(3, || {
        train::fit(&cfg, &data, &idx, &[], &device, &mut |_| {}).unwrap()
    });
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .to_string()
    });
    println!(
        "pm-cnn training, 1-day window, batch 32, {threads} threads: {:.0} samples/s",
        n as f64 / t.as_secs_f64()
    );
    let model = quakeline::nn::pm_cnn::PmCnn::new(shape, 1, &device);
    let t = time(3, || train::probabilities(&model, &data, &idx, 64, &device));
    println!(
        "pm-cnn inference, 1-day window, {threads} threads: {:.0} samples/s",
        n as f64 / t.as_secs_f64()
    );

    noop_rerun(root);
    fmnet_benches(root);
}

/// No-op rerun: the quickstart, fully cached, as a user runs it (process start included).
fn noop_rerun(root: &Path) {
    let exe = root.join("target/release/quakeline");
    if !exe.exists() {
        println!(
            "no-op rerun: skipped (build target/release/quakeline first: cargo build --release)"
        );
        return;
    }
    let cache = std::env::temp_dir().join(format!("quakeline-bench-{}", std::process::id()));
    let run = || {
        let status = Command::new(&exe)
            .args(["run", "pipelines/quickstart.toml", "--quiet", "--cache"])
            .arg(&cache)
            .arg("--results")
            .arg(cache.join("results"))
            .current_dir(root)
            .status()
            .unwrap();
        assert!(status.success());
    };
    run();
    let t = time(20, run);
    println!(
        "quickstart no-op rerun (all cached, process included): {:.1} ms",
        t.as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&cache);
}

/// Workflow 2 (Kuang et al. 2021): Green's functions, on-demand samples, FMNet training and one
/// prediction.
fn fmnet_benches(root: &Path) {
    let (g, el) = common::fmnet_set::generator(root);
    let sets = (3 * 175) as f64;
    println!(
        "greens (hk, 256 pts at 1 s, depths 2/10/20 km x 175 distances): {:.0} Green's-function sets (12 terms) per s; {el:.2} s, so the Ridgecrest bank (10 depths x 175) ~ {:.1} s",
        sets / el,
        el * 10.0 / 3.0
    );
    let idx: Vec<usize> = (0..g.len()).collect();
    let t = time(5, || g.batch(&idx));
    println!(
        "synth.fmnet samples generated on demand (48 x 128 + labels): {:.0} samples/s",
        idx.len() as f64 / t.as_secs_f64()
    );
    let device = quakeline::nn::device();
    let cfg = Config {
        optimizer: "adam".into(),
        lr: 1e-3,
        batch: 16,
        epochs: 1,
        seed: 1,
        schedule: None,
    };
    let t0 = Instant::now();
    let (model, _) = quakeline::nn::fmnet::fit(&cfg, &g, &device, &mut |_| {}).unwrap();
    println!(
        "fmnet training, batch 16, Adam: {:.1} samples/s (generation included)",
        g.n_train() as f64 / t0.elapsed().as_secs_f64()
    );
    let (x, _) = g.batch(&[0]);
    let one = || {
        let t = burn::tensor::Tensor::<3>::from_data(
            burn::tensor::TensorData::new(x.clone(), [1, 48, 128]),
            &device,
        );
        model.forward(t).into_data()
    };
    let _ = one();
    let t = time(50, one);
    println!(
        "fmnet single prediction latency: {:.2} ms",
        t.as_secs_f64() * 1e3
    );
}
