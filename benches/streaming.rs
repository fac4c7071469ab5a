//! A SeisBench set larger than a block streamed into a labelled waveform set, for
//! BENCHMARKS.md: what `fetch.waveforms` does with STEAD's `waveforms.hdf5` (hash and heap check
//! in one pass, one hyperslab per trace, the entry written a block at a time), its throughput and
//! the process's peak memory, beside h5py reading the same file (trace by trace, as SeisBench's
//! `WaveformDataset.get_waveforms` does, and whole). `cargo bench --bench streaming`; the h5py
//! lines run `QUAKELINE_BENCH_PYTHON` (default `python3`) when it can import h5py.

use std::time::Instant;

#[path = "../tests/big_seisbench.rs"]
mod big_seisbench;
#[allow(dead_code)]
mod common;
use common::python;

/// This process's peak resident memory: `VmHWM` of its own address space (`getrusage`'s
/// `ru_maxrss` would include the parent's high-water mark, carried over the vfork + exec that
/// started this process).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024.0 / 1e6
}

fn main() {
    // `streaming DIR`: the measured part, in a process of its own (its peak is its own).
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "streaming") {
        return stream(std::path::Path::new(&args[i + 1]));
    }
    let n: usize = std::env::var("QUAKELINE_BENCH_TRACES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16_000);
    let dir = tempfile::tempdir().unwrap();
    let sb = dir.path().join("sb");
    big_seisbench::write(&sb, n, 6000);
    let h5 = sb.join("waveforms.hdf5");
    let bytes = std::fs::metadata(&h5).unwrap().len() as f64;
    let run = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["streaming", &sb.display().to_string()])
        .status()
        .unwrap();
    assert!(run.success());
    let secs: f64 = std::fs::read_to_string(sb.join("secs"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // h5py: reading trace by trace; reading and writing each trace into a new file (a copy,
    // as quakeline makes into its entry); reading the block whole.
    let script = format!(
        "import h5py, time, resource\nf = h5py.File({h5:?}, 'r'); d = f['data/bucket0']\nt = time.perf_counter()\nfor i in range(d.shape[0]): x = d[i]\na = time.perf_counter() - t\ng = h5py.File({out:?}, 'w'); o = g.create_dataset('w', shape=(0,) + d.shape[1:], maxshape=(None,) + d.shape[1:], chunks=(1,) + d.shape[1:], dtype='f4')\nt = time.perf_counter()\no.resize(d.shape[0], axis=0)\nfor i in range(d.shape[0]): o[i] = d[i]\ng.close(); c = time.perf_counter() - t\nt = time.perf_counter(); x = d[:]; b = time.perf_counter() - t\nprint(a, c, b, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)\n",
        h5 = h5.display().to_string(),
        out = dir.path().join("copy.h5").display().to_string()
    );
    match python(&script).map(|o| {
        o.split_whitespace()
            .filter_map(|v| v.parse::<f64>().ok())
            .collect::<Vec<_>>()
    }) {
        Some(v) if v.len() == 4 => println!(
            "h5py, same file: trace by trace, read only {:.0} MB/s (quakeline / h5py = {:.2}x); read and copied into a new file trace by trace {:.0} MB/s (quakeline / h5py = {:.2}x); whole block {:.0} MB/s at a peak of {:.0} MB resident",
            bytes / 1e6 / v[0],
            v[0] / secs,
            bytes / 1e6 / v[1],
            v[1] / secs,
            bytes / 1e6 / v[2],
            v[3]
        ),
        _ => println!("h5py: skipped (no Python with h5py)"),
    }
}

/// Streams the set in `sb` into an entry beside it; prints the line and leaves the seconds in
/// `sb/secs` for the comparison.
fn stream(sb: &std::path::Path) {
    let h5 = sb.join("waveforms.hdf5");
    let csv = std::fs::read(sb.join("metadata.csv")).unwrap();
    let bytes = std::fs::metadata(&h5).unwrap().len() as f64;
    let (pin, _) = quakeline::cache::hash_file(&h5).unwrap();
    let t = Instant::now();
    let file = quakeline::h5::open_outside_pinned(&h5, "waveforms.hdf5", Some(&pin)).unwrap();
    let checked = t.elapsed();
    let out = hdf5::File::create(sb.join("entry.h5")).unwrap();
    let mut writer = quakeline::data::waveform_set::SetWriter::new(&out);
    quakeline::io::waveforms::seisbench::stream_chunk(
        "metadata.csv",
        &csv,
        "waveforms.hdf5",
        &file,
        &mut |d, tr, r| writer.push(&d, tr, r),
    )
    .unwrap();
    let set = writer.finish().unwrap();
    drop(out);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "SeisBench -> labelled waveform set, streamed: {} traces, {:.0} MB in {:.2} s = {:.0} MB/s (hash + heap check {:.2} s of it); peak resident {:.0} MB",
        set.traces.len(),
        bytes / 1e6,
        secs,
        bytes / 1e6 / secs,
        checked.as_secs_f64(),
        peak_rss_mb(),
    );
    std::fs::write(sb.join("secs"), secs.to_string()).unwrap();
}
