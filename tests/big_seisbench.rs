//! A SeisBench set of any size written in pieces, for the streaming tests
//! (`waveforms::a_seisbench_set_larger_than_the_memory_budget_streams_through_the_stages`,
//! `pickers::a_day_long_trace_is_annotated_in_bounded_memory`) and `benches/streaming.rs`:
//! synthetic samples (a hash of the index plus a sine), or any samples a test computes, 100 Hz.

use std::path::Path;

/// Writes a SeisBench set of `n` synthetic traces of `samples` samples (block `bucket0`, CW,
/// ZNE, 100 Hz), in pieces so the test itself stays small; networks alternate `AA`/`BB`.
pub fn write(dir: &Path, n: usize, samples: usize) {
    let mut csv = String::new();
    for i in 0..n {
        let net = if i % 2 == 0 { "AA" } else { "BB" };
        csv += &format!(
            "\"bucket0${i},:3,:{samples}\",{net},S{:03},HH,{},{},\n",
            i % 37,
            1000 + i % 500,
            2000 + i % 700
        );
    }
    write_with(dir, n, samples, &csv, |i, c, t| {
        let k = (i * 3 + c) * samples + t;
        ((k.wrapping_mul(2_654_435_761) >> 7) % 2001) as f32 - 1000.0
            + 500.0 * ((t as f32) * 0.05 + i as f32).sin()
    });
}

/// Writes a SeisBench set of `n` traces of `samples` samples whose component `c` of trace `i`
/// at sample `t` is `sample(i, c, t)`, a few million values at a time (so a day-long trace is
/// written without holding it); `rows` are the metadata rows after the header (`trace_name`,
/// network, station, channel, P sample, S sample, split).
pub fn write_with(
    dir: &Path,
    n: usize,
    samples: usize,
    rows: &str,
    sample: impl Fn(usize, usize, usize) -> f32,
) {
    use hdf5::types::VarLenUnicode;
    std::fs::create_dir_all(dir).unwrap();
    // Written under another name and copied: HDF5 opens without close-on-exec, so a process
    // another test starts meanwhile inherits the descriptor and with it HDF5's lock on that
    // file; the copy is a file no HDF5 descriptor ever held.
    let part = dir.join("waveforms.hdf5.part");
    let f = hdf5::File::create(&part).unwrap();
    let fmt = f.create_group("data_format").unwrap();
    for (name, v) in [("component_order", "ZNE"), ("dimension_order", "CW")] {
        let v: VarLenUnicode = v.parse().unwrap();
        fmt.new_dataset::<VarLenUnicode>()
            .create(name)
            .unwrap()
            .write_scalar(&v)
            .unwrap();
    }
    fmt.new_dataset::<f64>()
        .create("sampling_rate")
        .unwrap()
        .write_scalar(&100.0)
        .unwrap();
    let ds = f
        .create_group("data")
        .unwrap()
        .new_dataset::<f32>()
        .shape([n, 3, samples])
        .create("bucket0")
        .unwrap();
    const PIECE: usize = 1 << 21;
    let (traces, span) = if 3 * samples >= PIECE {
        (1, PIECE / 3)
    } else {
        (PIECE / (3 * samples), samples)
    };
    for a in (0..n).step_by(traces) {
        let b = (a + traces).min(n);
        for t0 in (0..samples).step_by(span) {
            let t1 = (t0 + span).min(samples);
            let mut v = Vec::with_capacity((b - a) * 3 * (t1 - t0));
            for i in a..b {
                for c in 0..3 {
                    v.extend((t0..t1).map(|t| sample(i, c, t)));
                }
            }
            let view = ndarray::ArrayView3::from_shape((b - a, 3, t1 - t0), &v).unwrap();
            ds.write_slice(view, ndarray::s![a..b, .., t0..t1]).unwrap();
        }
    }
    let header = "trace_name,station_network_code,station_code,trace_channel,trace_p_arrival_sample,trace_s_arrival_sample,split\n";
    std::fs::write(dir.join("metadata.csv"), format!("{header}{rows}")).unwrap();
    drop((ds, fmt, f));
    std::fs::copy(&part, dir.join("waveforms.hdf5")).unwrap();
    std::fs::remove_file(&part).unwrap();
}
