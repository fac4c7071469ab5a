//! A SeisBench set of any size written in pieces, for the streaming test
//! (`waveforms::a_seisbench_set_larger_than_the_memory_budget_streams_through_the_stages`) and
//! `benches/streaming.rs`: synthetic samples (a hash of the index plus a sine), 100 Hz.

use std::path::Path;

/// Writes a SeisBench set of `n` synthetic traces of `samples` samples (block `bucket0`, CW,
/// ZNE, 100 Hz), in pieces so the test itself stays small; networks alternate `AA`/`BB`.
pub fn write(dir: &Path, n: usize, samples: usize) {
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
    let step = 100;
    for a in (0..n).step_by(step) {
        let b = (a + step).min(n);
        let v: Vec<f32> = (a * 3 * samples..b * 3 * samples)
            .map(|k| {
                let (t, i) = (k % samples, k / (3 * samples));
                ((k.wrapping_mul(2_654_435_761) >> 7) % 2001) as f32 - 1000.0
                    + 500.0 * ((t as f32) * 0.05 + i as f32).sin()
            })
            .collect();
        let view = ndarray::ArrayView3::from_shape((b - a, 3, samples), &v).unwrap();
        ds.write_slice(view, ndarray::s![a..b, .., ..]).unwrap();
    }
    let mut csv = String::from(
        "trace_name,station_network_code,station_code,trace_channel,trace_p_arrival_sample,trace_s_arrival_sample\n",
    );
    for i in 0..n {
        let net = if i % 2 == 0 { "AA" } else { "BB" };
        csv += &format!(
            "\"bucket0${i},:3,:{samples}\",{net},S{:03},HH,{},{}\n",
            i % 37,
            1000 + i % 500,
            2000 + i % 700
        );
    }
    std::fs::write(dir.join("metadata.csv"), csv).unwrap();
    drop((ds, fmt, f));
    std::fs::copy(&part, dir.join("waveforms.hdf5")).unwrap();
    std::fs::remove_file(&part).unwrap();
}
