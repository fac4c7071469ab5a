//! The FMNet training set (`synth.fmnet` writes it; `train` with model `fmnet` and
//! `evaluate.focal` read it): a band-passed Green's-function bank plus the geometry and sample
//! table from which [`crate::synth::fmnet::Generator`] makes any sample on demand (Kuang, W.,
//! Yuan, C. & Zhang, J. (2021), Real-time determination of earthquake focal mechanism via deep
//! learning, Nat. Commun. 12, 1432, doi:10.1038/s41467-021-21670-x).
//!
//! # Layout
//! `bank` float32 `[depths, distances, 9, len]` (DD/DS/SS terms after the source time function,
//! band-pass and resampling to `dt_s`), `grid` `[points, 3]` (lat, lon, depth km), `grid_depth`
//! `[points]`, `paths` `[points, stations, 4]` (bank distance index, distance km, azimuth,
//! back-azimuth), `stations` (names; `station_coords` `[stations, 2]`), `mechanisms` `[m, 3]`
//! (training grid; attribute `realisations`: training samples per point and mechanism),
//! `held_out` `[validation + test, 4]` (grid index, strike, dip, rake), `noise` `[rows, len]`,
//! and attributes for the processing and labels. With `materialize = true` also `x` float32
//! `[samples, rows, window]` and `y` float32 `[samples, 3, bins]`, every sample in index order
//! (training, validation, test), chunked along samples.

use crate::focal::Mechanism;
use crate::h5;
use crate::synth::fmnet::{Components, Generator, GridPoint, Labels, Path, Processing, Station};

/// Stores a generator (the layout in the module doc).
pub fn write(out: &hdf5::Group, g: &Generator) -> anyhow::Result<()> {
    let nd = g.bank.len() / (g.n_distances * 9 * g.trace_len);
    h5::write_array(out, "bank", &[nd, g.n_distances, 9, g.trace_len], &g.bank)?;
    let grid: Vec<f64> = g
        .grid
        .iter()
        .flat_map(|p| [p.lat, p.lon, p.depth_km])
        .collect();
    h5::write_array(out, "grid", &[g.grid.len(), 3], &grid)?;
    let gd: Vec<u32> = g.grid.iter().map(|p| p.depth_index as u32).collect();
    h5::write_array(out, "grid_depth", &[g.grid.len()], &gd)?;
    let paths: Vec<f64> = g
        .paths
        .iter()
        .flat_map(|p| [p.distance_index as f64, p.distance_km, p.az, p.baz])
        .collect();
    h5::write_array(out, "paths", &[g.grid.len(), g.stations.len(), 4], &paths)?;
    let coords: Vec<f64> = g.stations.iter().flat_map(|s| [s.lat, s.lon]).collect();
    let sc = h5::write_array(out, "station_coords", &[g.stations.len(), 2], &coords)?;
    let names: Vec<&str> = g.stations.iter().map(|s| s.name.as_str()).collect();
    h5::write_str_attr(&sc, "names", &names.join(","))?;
    let mech = |m: &Mechanism| [m.strike, m.dip, m.rake];
    let ms: Vec<f64> = g.mechanisms.iter().flat_map(mech).collect();
    h5::write_array(out, "mechanisms", &[g.mechanisms.len(), 3], &ms)?;
    let ho: Vec<f64> = g
        .held_out
        .iter()
        .flat_map(|(gi, m)| [*gi as f64, m.strike, m.dip, m.rake])
        .collect();
    h5::write_array(out, "held_out", &[g.held_out.len(), 4], &ho)?;
    h5::write_array(
        out,
        "noise",
        &[g.noise.len() / g.noise_len, g.noise_len],
        &g.noise,
    )?;
    h5::write_attr(out, "n_validation", g.n_validation as u64)?;
    h5::write_attr(out, "realisations", g.realisations as u64)?;
    h5::write_attr(out, "p_index", g.p_index as u64)?;
    h5::write_attr(out, "dt_s", g.dt_s)?;
    h5::write_attr(out, "seed", g.seed)?;
    let pr = &g.processing;
    h5::write_attr(out, "window", pr.window as u64)?;
    h5::write_attr(out, "pre_p", pr.pre_p as u64)?;
    h5::write_attr(out, "max_shift", pr.max_shift as u64)?;
    h5::write_attr(out, "noise_min", pr.noise.0)?;
    h5::write_attr(out, "noise_max", pr.noise.1)?;
    h5::write_str_attr(out, "component_order", pr.components.name())?;
    let l = &g.labels;
    let lr: Vec<f64> = l.ranges.iter().flat_map(|(a, b)| [*a, *b]).collect();
    h5::write_array(out, "label_ranges", &[3, 2], &lr)?;
    h5::write_attr(out, "label_bins", l.bins as u64)?;
    h5::write_attr(out, "label_sigma_bins", l.sigma_bins)?;
    h5::write_str_attr(out, "rows", "3 * station + component (component_order)")?;
    Ok(())
}

/// Samples per HDF5 chunk of the materialised arrays (1.5 MiB of waveforms at 48 × 128) and
/// per generated block.
const CHUNK: usize = 64;
const BLOCK: usize = 64 * CHUNK;

/// Writes every sample of `g` (training, validation, test, in index order) as `x` float32
/// `[n, rows, window]` and `y` float32 `[n, 3, bins]`, chunked along samples and generated block by
/// block, so memory stays at one block however large the set: the same values the training stage
/// generates on demand, for users who want the arrays themselves (h5py, another framework).
pub fn materialize(out: &hdf5::Group, g: &Generator, done: &dyn Fn(usize)) -> anyhow::Result<()> {
    use ndarray::ArrayView3;
    let n = g.len();
    let (rows, w, bins) = (g.rows(), g.processing.window, g.labels.bins);
    let create = |name: &str, shape: [usize; 3]| {
        out.new_dataset::<f32>()
            .shape(shape)
            .chunk([CHUNK.min(n).max(1), shape[1], shape[2]])
            .obj_track_times(false)
            .create(name)
    };
    let (xd, yd) = (create("x", [n, rows, w])?, create("y", [n, 3, bins])?);
    h5::write_str_attr(&xd, "rows", "3 * station + component (component_order)")?;
    for start in (0..n).step_by(BLOCK) {
        let idx: Vec<usize> = (start..(start + BLOCK).min(n)).collect();
        let (x, y) = g.batch(&idx);
        let b = idx.len();
        fn view(v: &[f32], shape: (usize, usize, usize)) -> anyhow::Result<ArrayView3<'_, f32>> {
            ArrayView3::from_shape(shape, v).map_err(|e| anyhow::anyhow!("{e}"))
        }
        xd.write_slice(view(&x, (b, rows, w))?, (start..start + b, .., ..))?;
        yd.write_slice(view(&y, (b, 3, bins))?, (start..start + b, .., ..))?;
        done(b);
    }
    Ok(())
}

/// Reads a generator written by [`write()`]; `what` names the stage input for messages.
pub fn read(g: &hdf5::Group, what: &str) -> anyhow::Result<Generator> {
    let bad = |e: hdf5::Error| anyhow::anyhow!("{what} is not a synth.fmnet entry: {e}");
    let (bank, bs) = h5::read_array::<f32>(g, "bank").map_err(bad)?;
    let (grid, _) = h5::read_array::<f64>(g, "grid").map_err(bad)?;
    let (gd, _) = h5::read_array::<u32>(g, "grid_depth").map_err(bad)?;
    let (paths, _) = h5::read_array::<f64>(g, "paths").map_err(bad)?;
    let sc = g.dataset("station_coords").map_err(bad)?;
    let names = h5::read_str_attr(&sc, "names").map_err(bad)?;
    let coords: Vec<f64> = sc.read_raw().map_err(bad)?;
    let (ms, _) = h5::read_array::<f64>(g, "mechanisms").map_err(bad)?;
    let (ho, _) = h5::read_array::<f64>(g, "held_out").map_err(bad)?;
    let (noise, ns) = h5::read_array::<f32>(g, "noise").map_err(bad)?;
    let (lr, _) = h5::read_array::<f64>(g, "label_ranges").map_err(bad)?;
    let u = |n: &str| h5::read_attr::<u64>(g, n).map(|v| v as usize).map_err(bad);
    let f = |n: &str| h5::read_attr::<f64>(g, n).map_err(bad);
    let stations: Vec<Station> = names
        .split(',')
        .zip(coords.chunks(2))
        .map(|(n, c)| Station {
            name: n.to_string(),
            lat: c[0],
            lon: c[1],
        })
        .collect();
    Ok(Generator {
        n_distances: bs[1],
        trace_len: bs[3],
        bank,
        p_index: u("p_index")?,
        dt_s: f("dt_s")?,
        grid: grid
            .chunks(3)
            .zip(&gd)
            .map(|(c, d)| GridPoint {
                lat: c[0],
                lon: c[1],
                depth_km: c[2],
                depth_index: *d as usize,
            })
            .collect(),
        paths: paths
            .chunks(4)
            .map(|c| Path {
                distance_index: c[0] as usize,
                distance_km: c[1],
                az: c[2],
                baz: c[3],
            })
            .collect(),
        stations,
        mechanisms: ms
            .chunks(3)
            .map(|c| Mechanism::new(c[0], c[1], c[2]))
            .collect(),
        held_out: ho
            .chunks(4)
            .map(|c| (c[0] as usize, Mechanism::new(c[1], c[2], c[3])))
            .collect(),
        realisations: u("realisations")?,
        n_validation: u("n_validation")?,
        noise_len: ns[1],
        noise,
        labels: Labels {
            ranges: [(lr[0], lr[1]), (lr[2], lr[3]), (lr[4], lr[5])],
            bins: u("label_bins")?,
            sigma_bins: f("label_sigma_bins")?,
        },
        processing: Processing {
            window: u("window")?,
            pre_p: u("pre_p")?,
            max_shift: u("max_shift")?,
            noise: (f("noise_min")?, f("noise_max")?),
            components: Components::parse(&h5::read_str_attr(g, "component_order").map_err(bad)?)
                .ok_or_else(|| anyhow::anyhow!("{what}: unknown component_order"))?,
        },
        seed: h5::read_attr::<u64>(g, "seed").map_err(bad)?,
    })
}
