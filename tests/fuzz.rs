//! Mutation fuzzing of the text and binary readers, on stable Rust: the real files of
//! `tests/data` (and the shipped pipelines) are the seeds; each run applies one to four seeded
//! mutations (byte flips, digit runs that overflow, deleted, duplicated or truncated spans,
//! separators and special tokens) and hands the result to the reader, which may accept or reject
//! it but must not panic, hang or allocate without bound. The suite runs a short bounded pass
//! per reader; the long run is
//! `QUAKELINE_FUZZ_RUNS=1000000 cargo test --release --test tests fuzz -- --ignored --nocapture`.
//! An input that panicked is printed (escaped) so it can be committed as a regression case below.
//!
//! FMNet event files (HDF5, user input) are fuzzed from a seed written by quakeline's own HDF5
//! writer in the documented layout (`tests/data/fmnet_event/pas_syn.h5`: fk 3.3's PAS example
//! waveforms). Cache entries are not: quakeline verifies an entry's digest before the HDF5
//! library opens it, because that C parser is not hardened.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use quakeline::rng::Rng;

use crate::util::data_dir;

/// Tokens that reach the corners of number, date and format parsing.
const TOKENS: &[&str] = &[
    "-",
    "+",
    ".",
    ":",
    "|",
    "/",
    "\n",
    " ",
    "\t",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "99999",
    "999999999999999999999",
    "-9223372036854775808",
    "0",
    "00",
    "1500",
    "2500",
    "9999",
    "24:00",
    "60",
    "<",
    ">",
    "\"",
    "=",
    "[",
    "]",
    "{",
    "}",
    "#",
    "\u{00e9}",
    "\u{feff}",
];

/// One mutated copy of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = |rng: &mut Rng, b: &Vec<u8>| rng.below(b.len() as u64 + 1) as usize;
        match rng.below(7) {
            0 if !b.is_empty() => {
                let i = at(rng, &b).min(b.len() - 1);
                b[i] = rng.below(256) as u8;
            }
            1 => {
                // A run of digits: integers and exponents beyond every type.
                let i = at(rng, &b);
                let n = 1 + rng.below(25) as usize;
                let digits: Vec<u8> = (0..n).map(|_| b'0' + rng.below(10) as u8).collect();
                b.splice(i..i, digits);
            }
            2 => {
                let i = at(rng, &b);
                let j = (i + rng.below(64) as usize).min(b.len());
                b.drain(i..j);
            }
            3 => {
                let i = at(rng, &b);
                let j = (i + rng.below(200) as usize).min(b.len());
                let span = b[i..j].to_vec();
                b.splice(j..j, span);
            }
            4 => {
                let n = at(rng, &b);
                b.truncate(n);
            }
            5 => {
                let i = at(rng, &b);
                let t = TOKENS[rng.below(TOKENS.len() as u64) as usize];
                b.splice(i..i, t.bytes());
            }
            _ if !b.is_empty() => {
                // Replace a digit by another: dates, counts and lengths change but stay numbers.
                let i = at(rng, &b).min(b.len() - 1);
                if let Some(k) = (i..b.len()).find(|&k| b[k].is_ascii_digit()) {
                    b[k] = b'0' + rng.below(10) as u8;
                }
            }
            _ => {}
        }
    }
    b
}

/// Runs `reader` on `runs` mutations of each seed; panics naming the first input that panicked
/// or took longer than a second.
fn fuzz(name: &str, seeds: &[PathBuf], runs: usize, reader: impl Fn(&[u8])) {
    fuzz_inputs(name, seeds, runs, |input| {
        let t0 = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader(input)));
        (outcome.is_ok(), t0.elapsed())
    });
}

/// The mutation loop; `one` runs the reader on an input and says whether it returned normally
/// and how long it took.
fn fuzz_inputs(
    name: &str,
    seeds: &[PathBuf],
    runs: usize,
    mut one: impl FnMut(&[u8]) -> (bool, Duration),
) {
    if std::env::var("QUAKELINE_FUZZ_READER").is_ok_and(|only| only != name) {
        return;
    }
    let seeds: Vec<Vec<u8>> = seeds
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let mut rng = Rng::new(runs as u64, name);
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut last_report = Instant::now();
    for run in 0..runs {
        let seed = &seeds[run % seeds.len()];
        let input = mutate(seed, &mut rng);
        let (ok, took) = one(&input);
        slowest = slowest.max(took);
        if run > 0 && (run % 100_000 == 0 || last_report.elapsed() > Duration::from_secs(60)) {
            last_report = Instant::now();
            eprintln!(
                "fuzz {name}: {run} runs, {:.0} s",
                start.elapsed().as_secs_f64()
            );
        }
        if !ok || took > Duration::from_secs(1) {
            panic!(
                "{name}: run {run} {} on input {:?}",
                if !ok { "panicked" } else { "took over 1 s" },
                String::from_utf8_lossy(&input)
            );
        }
    }
    eprintln!(
        "fuzz {name}: {runs} runs in {:.1} s, slowest input {:.2} ms",
        start.elapsed().as_secs_f64(),
        slowest.as_secs_f64() * 1e3
    );
}

/// For readers that call C code that may never return (the HDF5 library): each input runs on
/// its own thread; one that has not returned after 10 s is written to
/// `$TMPDIR/quakeline-fuzz-hang-<name>-<run>.bin` and the pass fails naming it (a hung HDF5
/// call holds the library's lock, so nothing after it could run).
fn fuzz_isolated(
    name: &str,
    seeds: &[PathBuf],
    runs: usize,
    reader: impl Fn(&[u8], usize) + Send + Sync + 'static,
) {
    let reader = std::sync::Arc::new(reader);
    let mut run = 0;
    fuzz_inputs(name, seeds, runs, |input| {
        run += 1;
        let (tx, rx) = std::sync::mpsc::channel();
        let r = reader.clone();
        let owned = input.to_vec();
        let id = run;
        let t0 = Instant::now();
        std::thread::spawn(move || {
            let ok =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r(&owned, id))).is_ok();
            let _ = tx.send(ok);
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(ok) => (ok, t0.elapsed()),
            Err(_) => {
                let path =
                    std::env::temp_dir().join(format!("quakeline-fuzz-hang-{name}-{id}.bin"));
                std::fs::write(&path, input).unwrap();
                panic!(
                    "{name}: run {id} has not returned after 10 s: {}",
                    path.display()
                );
            }
        }
    });
}

fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && keep(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    out.sort();
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every reader, each with its seeds.
fn readers(runs: usize) {
    let d = data_dir();
    fuzz(
        "iaga2002",
        &files(&d.join("iaga2002"), |n| !n.ends_with(".md")),
        runs,
        |b| {
            let _ = quakeline::io::iaga2002::parse_bytes("f.min", b);
        },
    );
    fuzz(
        "catalog",
        &files(&d.join("catalogs"), |n| !n.ends_with(".md")),
        runs,
        |b| {
            let _ = quakeline::io::catalog::parse("c.txt", &text(b), None);
        },
    );
    fuzz(
        "kp",
        &files(&d.join("kp"), |n| n.ends_with(".txt")),
        runs,
        |b| {
            let _ = quakeline::io::kp::parse("kp.txt", &text(b), None);
        },
    );
    fuzz(
        "sac",
        &files(&d.join("greens/fk33_reference_hk_s15_d50"), |_| true),
        runs,
        |b| {
            let _ = quakeline::io::waveforms::sac::parse(b);
        },
    );
    let pipelines = crate::util::repo_dir().join("pipelines");
    fuzz(
        "pipeline",
        &files(&pipelines, |n| n.ends_with(".toml")),
        runs,
        |b| {
            let _ = quakeline::pipeline::Pipeline::parse(
                "p.toml",
                &text(b),
                &pipelines.join("p.toml"),
                &pipelines,
                quakeline::stages::REGISTRY,
                &[],
            );
        },
    );
    fuzz(
        "phasenet-npz",
        &files(&d.join("waveforms/phasenet_npz"), |n| n.ends_with(".npz")),
        runs,
        |b| {
            let _ = quakeline::io::waveforms::npz::parse("f.npz", b);
        },
    );
    // miniSEED: libmseed (C) decodes; the assembly of station traces and the pick file are ours.
    fuzz(
        "mseed",
        &files(&d.join("waveforms/mseed"), |n| !n.ends_with(".csv")),
        runs,
        |b| {
            use quakeline::io::waveforms::mseed;
            let _ = mseed::read_stations(&[("f.mseed".to_string(), b.to_vec())], 60_000_000_000);
            // Skipping damaged bytes scans for the next readable record: every offset tried.
            let _ = mseed::records("f.mseed", b, mseed::Damaged::Skip);
        },
    );
    fuzz(
        "pick-file",
        &[d.join("waveforms/mseed/picks.csv")],
        runs,
        |b| {
            let _ = quakeline::io::picks::csv::read("picks.csv", b);
        },
    );
    fuzz(
        "stationxml",
        &files(&d.join("inventory"), |n| n.ends_with(".xml")),
        runs,
        |b| {
            let _ = quakeline::io::inventory::stationxml::read("st.xml", b);
        },
    );
    fuzz(
        "quakeml-picks",
        &[
            d.join("waveforms/mseed/picks.quakeml.xml"),
            d.join("waveforms/mseed/quakeml_1.2_pick.xml"),
        ],
        runs,
        |b| {
            use quakeline::io::picks::quakeml;
            let _ = quakeml::read("picks.xml", b, quakeml::Mode::Any);
        },
    );
    let sb = d.join("waveforms/seisbench");
    fuzz(
        "seisbench-metadata",
        &[sb.join("metadata.csv")],
        runs,
        |b| {
            let mut set = quakeline::data::waveform_set::WaveformSet::default();
            let _ = quakeline::io::waveforms::seisbench::read_chunk(
                "metadata.csv",
                b,
                "waveforms.hdf5",
                &sb.join("waveforms.hdf5"),
                &mut set,
            );
        },
    );
    // Bundles come from other labs: mutations of a valid bundle's tar stream (compressed again,
    // as a bundle is) are imported; whatever the outcome, nothing may appear outside the import
    // directory and its cache.
    let seed = std::env::temp_dir().join(format!("quakeline-fuzz-seed-{}.tar", std::process::id()));
    std::fs::write(&seed, crate::bundle::seed_tar()).unwrap();
    fuzz("bundle", std::slice::from_ref(&seed), runs, |b| {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("b.qlb");
        std::fs::write(&file, zstd::encode_all(b, 1).unwrap()).unwrap();
        let cache = quakeline::cache::Cache::new(scratch.path().join("cache"));
        let _ = quakeline::bundle::import(&file, &scratch.path().join("into"), &cache);
        for e in std::fs::read_dir(scratch.path()).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            assert!(
                ["b.qlb", "into", "cache"].contains(&n.as_str()),
                "wrote {n}"
            );
        }
    });
    let _ = std::fs::remove_file(&seed);
    // FMNet event files are HDF5, read by the C library from a file: each input is written to a
    // scratch file of its own, on a thread of its own (the library can loop forever: see
    // `a_damaged_global_heap_is_refused_before_hdf5_loops_on_it` below).
    fuzz_isolated(
        "fmnet-event",
        &[d.join("fmnet_event/pas_syn.h5")],
        runs,
        |b, run| {
            let scratch = std::env::temp_dir()
                .join(format!("quakeline-fuzz-{}-{run}.h5", std::process::id()));
            std::fs::write(&scratch, b).unwrap();
            if let Ok(ev) = quakeline::io::fmnet_event::read(&scratch) {
                let _ = ev.check("e.h5", 48, 128, 0.1, "ZRT");
            }
            let _ = std::fs::remove_file(&scratch);
        },
    );
}

/// The bounded pass of the suite (a few seconds per reader in a debug build).
#[test]
fn readers_survive_mutated_real_files() {
    readers(300);
}

/// The long run: `QUAKELINE_FUZZ_RUNS` mutations per reader (default 10^6);
/// `QUAKELINE_FUZZ_READER=name` runs one reader only.
#[test]
#[ignore]
fn readers_survive_a_long_fuzzing_run() {
    let runs = std::env::var("QUAKELINE_FUZZ_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    readers(runs);
}

/// Finding of the long run: the bundled HDF5 (2.2, hdf5-metno-src 0.10.4) loops forever in
/// `H5HG__cache_heap_deserialize` (H5HGcache.c: a global-heap free-space object of length 0
/// before the heap's end never advances the parse pointer) when a damaged file's
/// variable-length string attribute is read; and a hung call holds hdf5-metno's library lock,
/// so no other HDF5 call of the process ever returns. `tests/data/fmnet_event/
/// hang_global_heap.h5` is the input the run found (the seed with a run of digits written into
/// its global heap). quakeline now checks every collection before HDF5 opens a file from
/// outside (`h5::check_global_heaps`): a located error, within the 10 s.
#[test]
fn a_damaged_global_heap_is_refused_before_hdf5_loops_on_it() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r =
            quakeline::io::fmnet_event::read(&data_dir().join("fmnet_event/hang_global_heap.h5"));
        let _ = tx.send(r.map(|_| ()).map_err(|e| e.to_string()));
    });
    let r = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("reading the damaged event file did not return within 10 s");
    let e = r.expect_err("the damaged file was accepted");
    assert!(
        e.contains("hang_global_heap.h5") && e.contains("damaged HDF5 global heap at byte"),
        "{e}"
    );
    // The undamaged seed passes the check and reads.
    quakeline::io::fmnet_event::read(&data_dir().join("fmnet_event/pas_syn.h5")).unwrap();
}
