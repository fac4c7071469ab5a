//! Benchmarks for BENCHMARKS.md: IAGA-2002 parse throughput, filter throughput, and the no-op rerun
//! of the quickstart. `cargo bench` (release build); plain `main`, no harness, medians of repeats.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use quakeline::io::iaga2002;
use quakeline::signal::butterworth::{Band, butter_sos};
use quakeline::signal::sos::{default_padlen, sosfiltfilt};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(repeats: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..repeats)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

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

    let n = 1_000_000;
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

    // No-op rerun: the quickstart, fully cached, as a user runs it (process start included).
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
