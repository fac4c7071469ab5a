//! Labelled waveform sets for phase pickers: `fetch.waveforms` on real PhaseNet `.npz` traces and
//! a real SeisBench-format sample (values against NumPy/h5py, `tests/data/waveforms/generate.py`),
//! the two formats agreeing on the same traces, `export.seisbench` round trips, and bad inputs.

use std::path::Path;

use quakeline::data::waveform_set::{self, WaveformSet};
use serde_json::Value;

use crate::util::{Env, data_dir};

fn reference() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("waveforms/reference.json")).unwrap(),
    )
    .unwrap()
}

/// A pipeline with one `fetch.waveforms` stage `w` reading `paths` in `format`, plus `extra`.
pub fn fetch(format: &str, paths: &[&Path], extra: &str) -> String {
    let list: Vec<String> = paths
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    format!(
        "[pipeline]\nname = \"wf\"\n\n[stage.w]\nkind = \"fetch.waveforms\"\nformat = \"{format}\"\npaths = [{}]\n{extra}",
        list.join(", ")
    )
}

pub fn run_set(env: &Env, text: &str) -> WaveformSet {
    let p = env.write("wf.toml", text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let f = env.entry(&p, "w");
    waveform_set::read(&f, "test").unwrap()
}

/// Checks trace `i` of `set` against one reference summary of generate.py.
fn check_trace(set: &WaveformSet, i: usize, r: &Value, what: &str) {
    let x = set.trace(i);
    let n = set.samples;
    for c in 0..3 {
        let comp = &x[c * n..(c + 1) * n];
        let sum: f64 = comp.iter().map(|v| *v as f64).sum();
        let sq: f64 = comp.iter().map(|v| (*v as f64).powi(2)).sum();
        let want_sum = r["sum"][c].as_f64().unwrap();
        let want_sq = r["sum_sq"][c].as_f64().unwrap();
        assert!(
            (sum - want_sum).abs() <= 1e-6,
            "{what} component {c}: sum {sum} vs {want_sum}"
        );
        assert!(
            (sq - want_sq).abs() <= 1e-12 * want_sq.max(1.0),
            "{what} component {c}: sum of squares {sq} vs {want_sq}"
        );
        for (k, at) in [0, 3000, 9000].iter().enumerate() {
            // JSON holds the shortest decimal of each float32 value: equal as float32.
            assert_eq!(
                comp[*at],
                r["at_0_3000_9000"][c][k].as_f64().unwrap() as f32,
                "{what} component {c} sample {at}"
            );
        }
        assert_eq!(
            set.traces[i].present[c],
            r["present"][c].as_bool().unwrap(),
            "{what} component {c} present"
        );
    }
}

fn npz_files() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(data_dir().join("waveforms/phasenet_npz"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn phasenet_npz_traces_match_numpy() {
    let env = Env::new();
    let files = npz_files();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let set = run_set(&env, &fetch("npz", &refs, ""));
    let r = reference();
    assert_eq!(set.len(), 4);
    assert_eq!((set.samples, set.sampling_rate_hz), (9001, 100.0));
    for (i, f) in files.iter().enumerate() {
        let name = f.file_stem().unwrap().to_str().unwrap();
        let want = &r["npz"][name];
        let t = &set.traces[i];
        assert_eq!(t.name, name);
        assert_eq!(t.p_sample, want["itp"].as_f64().unwrap(), "{name}");
        assert_eq!(t.s_sample, want["its"].as_f64().unwrap(), "{name}");
        let channels = want["channels"].as_str().unwrap();
        assert_eq!(t.channel, &channels[..2], "{name}");
        let mut parts = name.split('_');
        assert_eq!(t.network, parts.next().unwrap());
        assert_eq!(t.station, parts.next().unwrap());
        assert!(t.distance_km.is_nan() && t.magnitude.is_nan());
        check_trace(&set, i, want, name);
    }
    // The vertical-only station: N and E are missing, flagged, and zero.
    let mtu = set
        .traces
        .iter()
        .position(|t| t.name == "NC_MTU_2014071807051236_02")
        .unwrap();
    assert_eq!(set.traces[mtu].present, [true, false, false]);
    assert!(set.trace(mtu)[9001..].iter().all(|v| *v == 0.0));
}

#[test]
fn seisbench_sample_matches_h5py_and_the_same_npz_traces() {
    let env = Env::new();
    let dir = data_dir().join("waveforms/seisbench");
    let set = run_set(&env, &fetch("seisbench", &[&dir.join("*")], ""));
    let r = reference();
    assert_eq!(set.len(), 4);
    for i in 0..4 {
        check_trace(&set, i, &r["seisbench"]["traces"][i], &format!("trace {i}"));
    }
    let splits: Vec<&str> = set.traces.iter().map(|t| t.split.as_str()).collect();
    assert_eq!(splits, ["train", "dev", "train", "test"]);
    let t = &set.traces[1];
    assert_eq!(
        (
            t.name.as_str(),
            t.network.as_str(),
            t.station.as_str(),
            t.channel.as_str()
        ),
        ("BK_BKS_2017071510492061", "BK", "BKS", "HH")
    );
    assert_eq!((t.p_sample, t.s_sample), (3000.0, 3095.0));

    // The SeisBench sample was converted from these npz files: both readers give the same
    // samples bit for bit, the same picks, station codes and component flags.
    let env2 = Env::new();
    let files = npz_files();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let npz = run_set(&env2, &fetch("npz", &refs, ""));
    for (i, t) in set.traces.iter().enumerate() {
        let j = npz.traces.iter().position(|u| u.name == t.name).unwrap();
        let u = &npz.traces[j];
        assert_eq!(set.trace(i), npz.trace(j), "{}", t.name);
        assert_eq!(
            (
                &t.network, &t.station, &t.channel, t.present, t.p_sample, t.s_sample
            ),
            (
                &u.network, &u.station, &u.channel, u.present, u.p_sample, u.s_sample
            )
        );
    }
}

#[test]
fn export_seisbench_round_trips_and_has_seisbenchs_layout() {
    let env = Env::new();
    let dir = data_dir().join("waveforms/seisbench");
    let text = fetch(
        "seisbench",
        &[&dir.join("*")],
        "\n[stage.out]\nkind = \"export.seisbench\"\ninput = \"w\"\n",
    );
    let source = run_set(&env, &text);
    let out = env.path().join("results/wf/out");
    // SeisBench's layout, checked as h5py would see it.
    let f = hdf5::File::open(out.join("waveforms.hdf5")).unwrap();
    assert_eq!(f.dataset("data/bucket0").unwrap().shape(), vec![4, 3, 9001]);
    let s = |n: &str| {
        f.dataset(n)
            .unwrap()
            .read_scalar::<hdf5::types::VarLenUnicode>()
            .unwrap()
            .to_string()
    };
    assert_eq!(s("data_format/component_order"), "ZNE");
    assert_eq!(s("data_format/dimension_order"), "CW");
    assert_eq!(
        f.dataset("data_format/sampling_rate")
            .unwrap()
            .read_scalar::<f64>()
            .unwrap(),
        100.0
    );
    drop(f);
    let csv = std::fs::read_to_string(out.join("metadata.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("trace_name,trace_name_original,station_network_code")
    );
    assert!(
        lines.next().unwrap().starts_with(
            "\"bucket0$0,:3,:9001\",BG_ACR_2012082505145960,BG,ACR,DP,100,9001,3000,3099,"
        ),
        "{csv}"
    );

    // Read back: the same set, field for field.
    let env2 = Env::new();
    let back = run_set(&env2, &fetch("seisbench", &[&out.join("*")], ""));
    assert_same(&back, &source);
}

/// Two sets equal field for field (floats by bits, so NaN equals NaN), without printing them.
fn assert_same(a: &WaveformSet, b: &WaveformSet) {
    assert_eq!(
        (a.len(), a.samples, a.sampling_rate_hz),
        (b.len(), b.samples, b.sampling_rate_hz)
    );
    assert!(
        a.waveforms
            .iter()
            .map(|v| v.to_bits())
            .eq(b.waveforms.iter().map(|v| v.to_bits()))
    );
    let key = |t: &waveform_set::Trace| {
        (
            t.name.clone(),
            t.network.clone(),
            t.station.clone(),
            t.channel.clone(),
            t.split.clone(),
            t.present,
            [t.p_sample, t.s_sample, t.distance_km, t.magnitude].map(f64::to_bits),
        )
    };
    for (x, y) in a.traces.iter().zip(&b.traces) {
        assert_eq!(key(x), key(y));
    }
}

/// Runs a failing pipeline: exit 1, the message has every `needle`, no panic, no entry.
pub fn bad(env: &Env, text: &str, needles: &[&str]) {
    let p = env.write("bad.toml", text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!r.stderr.contains("panicked"), "{r:?}");
    for n in needles {
        assert!(r.stderr.contains(n), "missing {n:?} in {}", r.stderr);
    }
    assert!(env.entries().is_empty(), "{:?}", env.entries());
}

/// Writes an npz archive of f64 arrays `(name, shape, values)`, as `numpy.savez` does (a zip of
/// `<name>.npy` members).
fn npz(path: &Path, arrays: &[(&str, &[u64], &[f64])]) {
    use npyz::WriterBuilder;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, shape, values) in arrays {
        let mut npy = Vec::new();
        let mut a = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut npy)
            .begin_nd()
            .unwrap();
        a.extend(values.iter().copied()).unwrap();
        a.finish().unwrap();
        z.start_file(format!("{name}.npy"), Default::default())
            .unwrap();
        std::io::Write::write_all(&mut z, &npy).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn bad_waveform_files_are_located_errors() {
    let env = Env::new();
    let d = env.path();
    // npz: no `data`; `data` of the wrong shape; a pick outside the trace; a second rate.
    npz(&d.join("nodata.npz"), &[("itp", &[], &[3.0])]);
    bad(
        &env,
        &fetch("npz", &[&d.join("nodata.npz")], ""),
        &["nodata.npz", "no array `data`", "itp"],
    );
    npz(&d.join("shape.npz"), &[("data", &[10, 2], &[0.5; 20])]);
    bad(
        &env,
        &fetch("npz", &[&d.join("shape.npz")], ""),
        &["shape.npz", "array `data` has shape [10, 2]"],
    );
    npz(
        &d.join("late.npz"),
        &[
            ("data", &[10, 3], &[0.5; 30]),
            ("itp", &[], &[-1.0]),
            ("its", &[], &[12.0]),
        ],
    );
    bad(
        &env,
        &fetch("npz", &[&d.join("late.npz")], ""),
        &[
            "late.npz",
            "S pick at sample 12 is outside the trace (0..10)",
        ],
    );
    // No S pick array at all.
    npz(
        &d.join("nos.npz"),
        &[("data", &[10, 3], &[0.5; 30]), ("itp", &[], &[3.0])],
    );
    bad(
        &env,
        &fetch("npz", &[&d.join("nos.npz")], ""),
        &["nos.npz", "no array `its` (the S pick", "write -1"],
    );
    let picks: [(&str, &[u64], &[f64]); 2] = [("itp", &[], &[3.0]), ("its", &[], &[-1.0])];
    npz(
        &d.join("a.npz"),
        &[("data", &[10, 3], &[0.5; 30]), picks[0], picks[1]],
    );
    npz(
        &d.join("b.npz"),
        &[
            ("data", &[10, 3], &[0.5; 30]),
            ("sampling_rate", &[], &[40.0]),
            picks[0],
            picks[1],
        ],
    );
    bad(
        &env,
        &fetch("npz", &[&d.join("a.npz"), &d.join("b.npz")], ""),
        &[
            "b.npz",
            "40 Hz",
            "100 Hz",
            "set `sampling_rate_hz` to resample",
        ],
    );
    std::fs::write(d.join("junk.npz"), b"not a zip").unwrap();
    bad(
        &env,
        &fetch("npz", &[&d.join("junk.npz")], ""),
        &["junk.npz", "not a NumPy .npz"],
    );

    // SeisBench: a row pointing at a missing block, a slice past the end, no data_format.
    let sb = data_dir().join("waveforms/seisbench");
    let copy = |name: &str, csv: &str| {
        let dir = d.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(sb.join("waveforms.hdf5"), dir.join("waveforms.hdf5")).unwrap();
        std::fs::write(dir.join("metadata.csv"), csv).unwrap();
        dir.join("*")
    };
    let csv = std::fs::read_to_string(sb.join("metadata.csv")).unwrap();
    let g = copy("nobucket", &csv.replace("bucket0$2,", "bucket7$2,"));
    bad(
        &env,
        &fetch("seisbench", &[&g], ""),
        &["metadata.csv:4", "data/bucket7"],
    );
    let g = copy(
        "slice",
        &csv.replace("bucket0$3,:3,:9001", "bucket0$4,:3,:9001"),
    );
    bad(
        &env,
        &fetch("seisbench", &[&g], ""),
        &["metadata.csv:5", "bucket0$4,:3,:9001", "[4, 3, 9001]"],
    );
    let g = copy(
        "rate",
        &csv.replace("HHE_HHN_HHZ,100.0", "HHE_HHN_HHZ,50.0"),
    );
    bad(
        &env,
        &fetch("seisbench", &[&g], ""),
        &["metadata.csv:3", "sampled at 50 Hz, the set at 100 Hz"],
    );
    let dir = d.join("noformat");
    std::fs::create_dir_all(&dir).unwrap();
    {
        let f = hdf5::File::create(dir.join("waveforms.hdf5")).unwrap();
        quakeline::h5::write_array(
            &f.create_group("data").unwrap(),
            "bucket0",
            &[1, 3, 4],
            &[0f32; 12],
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("metadata.csv"),
        "trace_name\n\"bucket0$0,:3,:4\"\n",
    )
    .unwrap();
    bad(
        &env,
        &fetch("seisbench", &[&dir.join("*")], ""),
        &["waveforms.hdf5", "no group `data_format`"],
    );
    // A metadata file without its waveforms.
    let dir = d.join("alone");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("metadata.csv"), &csv).unwrap();
    bad(
        &env,
        &fetch("seisbench", &[&dir.join("*")], ""),
        &["metadata.csv", "no `waveforms.hdf5` beside it"],
    );
}

#[test]
fn shipped_picker_data_pipeline_runs() {
    let env = Env::new();
    let p = crate::util::repo_dir().join("pipelines/picker-data.toml");
    let results = env.path().join("results");
    let r = env.run(&[
        "run",
        p.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout.lines().filter(|l| l.starts_with("ran")).count(),
        10,
        "{r:?}"
    );
    assert!(results.join("picker-data/export/metadata.csv").is_file());
    // The local network (BG: one trace) and the global rest, split by station.
    let local = waveform_set::read(&env.entry(&p, "local"), "local").unwrap();
    assert_eq!(local.len(), 1);
    assert_eq!(local.traces[0].network, "BG");
    let global = waveform_set::read(&env.entry(&p, "global_split"), "global_split").unwrap();
    assert_eq!(global.len(), 3);
    assert!(global.traces.iter().all(|t| t.network != "BG"));
    let sides: Vec<&str> = global.traces.iter().map(|t| t.split.as_str()).collect();
    assert_eq!(
        sides.iter().filter(|s| **s == "train").count(),
        2,
        "{sides:?}"
    );
}

/// Twelve small npz traces: networks XX (stations A, B, C, D; two traces each) and YY (stations
/// E, F; two each), file names NET_STA_time.npz as PhaseNet names them.
fn twelve_traces(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for (k, (net, sta)) in [
        ("XX", "A"),
        ("XX", "B"),
        ("XX", "C"),
        ("XX", "D"),
        ("YY", "E"),
        ("YY", "F"),
    ]
    .iter()
    .enumerate()
    {
        for j in 0..2 {
            let path = dir.join(format!("{net}_{sta}_20200101000{k}{j}00.npz"));
            let data: Vec<f64> = (0..300).map(|i| ((i * (k + 2) + j) as f64).sin()).collect();
            npz(
                &path,
                &[
                    ("data", &[100, 3], &data),
                    ("itp", &[], &[30.0]),
                    ("its", &[], &[-1.0]),
                ],
            );
            files.push(path);
        }
    }
    files
}

fn splits_of(set: &WaveformSet) -> Vec<(String, String, String)> {
    set.traces
        .iter()
        .map(|t| (t.network.clone(), t.station.clone(), t.split.clone()))
        .collect()
}

#[test]
fn split_by_trace_station_network_or_column_and_select_by_network() {
    let env = Env::new();
    let files = twelve_traces(env.path());
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let split = |by: &str, fractions: &str, seed: u64| {
        let text = format!(
            "{}\n[stage.s]\nkind = \"split.waveforms\"\ninput = \"w\"\nby = \"{by}\"\n{fractions}\n",
            fetch("npz", &refs, "")
        )
        .replace("name = \"wf\"", &format!("name = \"wf\"\nseed = {seed}"));
        let p = env.write("split.toml", &text);
        let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
        assert_eq!(r.code, 0, "{r:?}");
        waveform_set::read(&env.entry(&p, "s"), "s").unwrap()
    };
    let count =
        |set: &WaveformSet, name: &str| set.traces.iter().filter(|t| t.split == name).count();
    // Random: fractions met exactly on 12 traces; the seed decides which traces.
    let r1 = split("random", "fractions = [0.5, 0.25, 0.25]", 1);
    assert_eq!(
        (count(&r1, "train"), count(&r1, "dev"), count(&r1, "test")),
        (6, 3, 3)
    );
    assert_eq!(
        splits_of(&r1),
        splits_of(&split("random", "fractions = [0.5, 0.25, 0.25]", 1))
    );
    assert_ne!(
        splits_of(&r1),
        splits_of(&split("random", "fractions = [0.5, 0.25, 0.25]", 2))
    );
    // By station: never one station on both sides; 6 stations of 2 traces → 4 + 2 at 2/3.
    for seed in 0..5 {
        let s = split("station", "fractions = [0.667, 0.333]", seed);
        let mut side = std::collections::BTreeMap::new();
        for (net, sta, sp) in splits_of(&s) {
            assert_eq!(
                side.entry(format!("{net}.{sta}")).or_insert(sp.clone()),
                &sp
            );
        }
        assert_eq!(
            (count(&s, "train"), count(&s, "dev")),
            (8, 4),
            "seed {seed}"
        );
    }
    // By network: XX (8 traces) and YY (4) each whole on one side.
    let n = split("network", "fractions = [0.5, 0.5]", 3);
    for net in ["XX", "YY"] {
        let sides: std::collections::BTreeSet<&str> = n
            .traces
            .iter()
            .filter(|t| t.network == net)
            .map(|t| t.split.as_str())
            .collect();
        assert_eq!(sides.len(), 1, "{net}: {sides:?}");
    }
    // An empty split is an error: two networks cannot fill three splits.
    let text = format!(
        "{}\n[stage.s]\nkind = \"split.waveforms\"\ninput = \"w\"\nby = \"network\"\nfractions = [0.4, 0.3, 0.3]\n",
        fetch("npz", &refs, "")
    );
    let p = env.write("empty.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("is empty: 2 networks cannot fill it"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("empty.toml:"), "{}", r.stderr);
    // Fractions that do not sum to 1 are a plan-time error.
    let bad = text.replace("[0.4, 0.3, 0.3]", "[0.8, 0.3]");
    let p = env.write("sum.toml", &bad);
    let r = env.run(&["plan", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("sum to 1"), "{}", r.stderr);

    // Select: the local network and the rest, as workflow 3 separates them.
    let select = |sel: &str| {
        let text = format!(
            "{}\n[stage.s]\nkind = \"select.waveforms\"\ninput = \"w\"\n{sel}\n",
            fetch("npz", &refs, "")
        );
        let p = env.write("select.toml", &text);
        env.run(&["run", p.to_str().unwrap(), "--quiet"]);
        (p.clone(), env.run(&["run", p.to_str().unwrap()]))
    };
    let (p, r) = select("networks = [\"YY\"]");
    assert_eq!(r.code, 0, "{r:?}");
    let yy = waveform_set::read(&env.entry(&p, "s"), "s").unwrap();
    assert_eq!(yy.len(), 4);
    assert!(yy.traces.iter().all(|t| t.network == "YY"));
    let (p, _) = select("exclude_networks = [\"YY\"]\nstations = [\"XX.A\", \"B\"]");
    let ab = waveform_set::read(&env.entry(&p, "s"), "s").unwrap();
    let names: Vec<&str> = ab.traces.iter().map(|t| t.station.as_str()).collect();
    assert_eq!(names, ["A", "A", "B", "B"]);
    let (_, r) = select("networks = [\"ZZ\"]");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no trace matches the selection") && r.stderr.contains("networks XX, YY"),
        "{}",
        r.stderr
    );

    // By column: the SeisBench sample's own splits (train, dev, train, test) are kept.
    let dir = data_dir().join("waveforms/seisbench");
    let text = format!(
        "{}\n[stage.s]\nkind = \"split.waveforms\"\ninput = \"w\"\nby = \"column\"\n",
        fetch("seisbench", &[&dir.join("*")], "")
    );
    let p = env.write("column.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let c = waveform_set::read(&env.entry(&p, "s"), "s").unwrap();
    let sp: Vec<&str> = c.traces.iter().map(|t| t.split.as_str()).collect();
    assert_eq!(sp, ["train", "dev", "train", "test"]);
    // The npz traces have no split column: `column` says so.
    let text = format!(
        "{}\n[stage.s]\nkind = \"split.waveforms\"\ninput = \"w\"\nby = \"column\"\n",
        fetch("npz", &refs, "")
    );
    let p = env.write("nocolumn.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("has split ``; `by = \"column\"` needs train, dev or test"),
        "{}",
        r.stderr
    );
}

/// A SeisBench set several times larger than the memory the run may use passes through
/// `fetch.waveforms` → `select.waveforms` → `split.waveforms` → `filter` → `export.seisbench` a
/// block at a time: the
/// `quakeline run` process peaks far below the set's size (STEAD is 86 GB; the same code
/// streams it), and the blocks change nothing — the filtered set equals the whole selected set
/// filtered in memory, bit for bit.
#[test]
fn a_seisbench_set_larger_than_the_memory_budget_streams_through_the_stages() {
    let env = Env::new();
    let (n, samples) = (4800, 6000);
    let sb = env.path().join("big");
    crate::big_seisbench::write(&sb, n, samples);
    let source_bytes = (n * 3 * samples * 4) as u64;
    let text = format!(
        "{}\n[stage.sel]\nkind = \"select.waveforms\"\ninput = \"w\"\nnetworks = [\"AA\"]\n\n[stage.s]\nkind = \"split.waveforms\"\ninput = \"sel\"\nby = \"station\"\nfractions = [0.6, 0.2, 0.2]\n\n[stage.f]\nkind = \"filter\"\ninput = \"s\"\ntype = \"bandpass\"\ncorners_hz = [1.0, 45.0]\n\n[stage.x]\nkind = \"export.seisbench\"\ninput = \"f\"\n",
        fetch("seisbench", &[&sb.join("*")], "")
    );
    let p = env.write("big.toml", &text);
    let (code, peak) = crate::util::peak_rss(
        env.cmd(&["run", p.to_str().unwrap()]),
        &env.path().join("run.log"),
    );
    let log = std::fs::read_to_string(env.path().join("run.log")).unwrap();
    assert_eq!(code, 0, "{log}");
    eprintln!(
        "streamed a {:.0} MB SeisBench set through 5 stages at a peak of {:.0} MB resident",
        source_bytes as f64 / 1e6,
        peak as f64 / 1e6
    );
    assert!(
        peak < source_bytes / 2,
        "peak resident memory {peak} bytes for a set of {source_bytes}: not streaming"
    );
    // Blocks change nothing: the selected set filtered whole, in memory, is the output.
    let sel = waveform_set::read(&env.entry(&p, "sel"), "sel").unwrap();
    assert_eq!(sel.len(), n / 2);
    assert!(sel.traces.iter().all(|t| t.network == "AA"));
    let split = waveform_set::read(&env.entry(&p, "s"), "s").unwrap();
    assert_eq!(split.waveforms, sel.waveforms);
    let filtered = waveform_set::read(&env.entry(&p, "f"), "f").unwrap();
    let sos = quakeline::signal::butterworth::butter_sos(
        4,
        quakeline::signal::butterworth::Band::Bandpass(1.0, 45.0),
        100.0,
    )
    .unwrap();
    let mut expected = sel.waveforms.clone();
    for comp in expected.chunks_mut(samples) {
        let mut col: Vec<f64> = comp.iter().map(|v| f64::from(*v)).collect();
        quakeline::signal::sos::filter_finite_runs(&sos, &mut col, true);
        for (v, c) in comp.iter_mut().zip(&col) {
            *v = *c as f32;
        }
    }
    assert!(
        filtered.waveforms == expected,
        "block-wise filtering differs"
    );
    assert_eq!(
        filtered.traces.iter().map(|t| &t.split).collect::<Vec<_>>(),
        split.traces.iter().map(|t| &t.split).collect::<Vec<_>>()
    );
    // The export reads back as the filtered set, and is restored from the entry, streamed, when
    // `results/` is gone.
    let out = env.path().join("results/wf/x");
    let mut exported = WaveformSet::default();
    let csv = std::fs::read(out.join("metadata.csv")).unwrap();
    quakeline::io::waveforms::seisbench::read_chunk(
        "metadata.csv",
        &csv,
        "waveforms.hdf5",
        &out.join("waveforms.hdf5"),
        &mut exported,
    )
    .unwrap();
    assert!(
        exported.waveforms == filtered.waveforms,
        "the export differs from its input"
    );
    let columns = |s: &WaveformSet| -> Vec<String> {
        s.traces
            .iter()
            .map(|t| {
                format!(
                    "{} {}.{} {} {} {} {:?}",
                    t.name, t.network, t.station, t.split, t.p_sample, t.s_sample, t.present
                )
            })
            .collect()
    };
    assert_eq!(columns(&exported), columns(&filtered));
    let h5_bytes = std::fs::read(out.join("waveforms.hdf5")).unwrap();
    std::fs::remove_dir_all(env.path().join("results")).unwrap();
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(std::fs::read(out.join("waveforms.hdf5")).unwrap() == h5_bytes);
    assert_eq!(std::fs::read(out.join("metadata.csv")).unwrap(), csv);
    // The source read back: every 97th trace equals the file's samples.
    let fetched = waveform_set::open(&env.entry(&p, "w"), "w").unwrap();
    let f = hdf5::File::open(sb.join("waveforms.hdf5")).unwrap();
    let bucket = f.dataset("data/bucket0").unwrap();
    for i in (0..n).step_by(97) {
        let want: ndarray::Array2<f32> = bucket.read_slice(ndarray::s![i, .., ..]).unwrap();
        assert_eq!(
            *fetched.data(i).unwrap(),
            *want.as_slice().unwrap(),
            "trace {i}"
        );
    }
}
