//! The small FMNet training set the benches share (`core`: generation and training speed;
//! `device`: FMNet's loss curve on a device beside the CPU, on real synthetic batches).

use std::path::Path;
use std::time::Instant;

use quakeline::focal::Mechanism;
use quakeline::greens::{self, FkSettings, LayeredModel};
use quakeline::signal::butterworth::{Band, butter_sos};
use quakeline::synth::fmnet::{
    Components, Generator, GridPoint, Labels, Path as Ray, Processing, Station,
};

/// A small FMNet training set on demand: the hk model's bank (256 points at 1 s, depths
/// 2/10/20 km × 175 distances) band-passed 0.05–0.1 Hz, 16 stations, 3 sources, 64 mechanisms.
/// Also returns the bank's seconds (the `synth.greens` benchmark).
pub fn generator(root: &Path) -> (Generator, f64) {
    let hk = LayeredModel::parse_fk(
        &std::fs::read_to_string(root.join("pipelines/models/hk")).unwrap(),
        true,
    )
    .unwrap();
    let dist: Vec<f64> = (1..=175).map(|d| d as f64).collect();
    let depths = [2.0, 10.0, 20.0];
    let t0 = Instant::now();
    let bank = greens::compute(&hk, &depths, &dist, FkSettings::new(1.0, 256), &|| {}).unwrap();
    let el = t0.elapsed().as_secs_f64();
    let sos = butter_sos(4, Band::Bandpass(0.05, 0.1), 1.0).unwrap();
    let stf = quakeline::synth::trapezoid(1.0, 0.5, 1.0);
    let (pb, len, p_index) =
        quakeline::synth::fmnet::process_bank(&bank.data, 256, 50, &stf, &sos, 1);
    let stations: Vec<Station> = (0..16)
        .map(|i| Station {
            name: format!("S{i}"),
            lat: 35.7 + 0.5 * (i as f64).cos(),
            lon: -117.6 + 0.5 * (i as f64).sin(),
        })
        .collect();
    let grid: Vec<GridPoint> = (0..3)
        .map(|d| GridPoint {
            lat: 35.7,
            lon: -117.6,
            depth_km: depths[d],
            depth_index: d,
        })
        .collect();
    let paths: Vec<Ray> = (0..3 * 16)
        .map(|i| Ray {
            distance_index: 20 + 7 * (i % 16),
            distance_km: 21.0,
            az: 22.5 * (i % 16) as f64,
            baz: 0.0,
        })
        .collect();
    let mechanisms: Vec<Mechanism> = (0..64)
        .map(|i| {
            Mechanism::new(
                30.0 * (i % 12) as f64,
                10.0 + (i % 9) as f64 * 10.0,
                -90.0 + (i % 10) as f64 * 20.0,
            )
        })
        .collect();
    let g = Generator {
        bank: pb,
        n_distances: dist.len(),
        trace_len: len,
        p_index,
        dt_s: 1.0,
        stations,
        grid,
        paths,
        mechanisms,
        realisations: 1,
        held_out: vec![],
        n_validation: 0,
        noise: quakeline::synth::fmnet::noise_bank(1, 256, 512, &sos),
        noise_len: 512,
        labels: Labels {
            ranges: [(0.0, 360.0), (0.0, 90.0), (-90.0, 90.0)],
            bins: 128,
            sigma_bins: 10.0,
        },
        processing: Processing {
            window: 128,
            pre_p: 10,
            max_shift: 9,
            noise: (0.0, 0.1),
            components: Components::Zrt,
        },
        seed: 1,
    };
    (g, el)
}
