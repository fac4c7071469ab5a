//! Timing helpers shared by the bench binaries.

#[allow(dead_code)]
pub mod fmnet_set;

use std::process::Command;
use std::time::{Duration, Instant};

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median wall time of `repeats` calls of `f` (its result kept from the optimizer).
pub fn time<T>(repeats: usize, mut f: impl FnMut() -> T) -> Duration {
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

/// Runs `script` with `QUAKELINE_BENCH_PYTHON` (default `python3`); its stdout, or `None` when that
/// Python is missing or the script fails (a comparison line then says it was skipped).
// Not every bench binary compares against a Python tool.
#[allow(dead_code)]
pub fn python(script: &str) -> Option<String> {
    let python = std::env::var("QUAKELINE_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let o = Command::new(python).arg("-c").arg(script).output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}
