//! `synth.fmnet` — the FMNet training set (Kuang et al. 2021, Methods), generated on demand.
//!
//! # Purpose
//! 810 source grid points × 972 mechanisms × 16 stations × 3 components × 128 s is 19 GB as
//! float32; the entry instead stores the band-passed bank, the geometry and the sample table,
//! from which [`crate::synth::fmnet::Generator`] makes any sample on demand, the same every time
//! (randomness per sample index and seed). `train` and `evaluate.focal` stream from it.
//!
//! # Inputs
//! `greens`: a `synth.greens` bank whose depths are the grid's depths and whose distances cover
//! every station from every grid point.
//!
//! # Outputs
//! `bank` float32 `[depths, distances, 9, len]` (DD/DS/SS terms after the source time function,
//! band-pass and resampling to `dt_s`), `grid` `[points, 3]` (lat, lon, depth km), `grid_depth`
//! `[points]`, `paths` `[points, stations, 4]` (bank distance index, distance km, azimuth,
//! back-azimuth), `stations` (names; `station_coords` `[stations, 2]`), `mechanisms` `[m, 3]`
//! (training grid; attribute `realisations`: training samples per point and mechanism),
//! `held_out` `[validation + test, 4]` (grid index, strike, dip, rake), `noise` `[rows, len]`,
//! and attributes for the processing and labels. With `materialize = true` also `x` float32
//! `[samples, rows, window]` and `y` float32 `[samples, 3, bins]`, every sample in index order
//! (training, validation, test), chunked along samples.
//!
//! # Parameters
//! Grid triples `[first, last, step]` are inclusive. Defaults are the paper's: strike 0–330 by
//! 30 (12), dip 10–90 by 10 (9; dip 0 is left out because strike and rake are undefined on a
//! horizontal fault), rake −90–70 by 20 (9); labels over 0–360, 0–90, −90–90 in 128 bins with
//! σ = 10 bins; 1 s sampling, 128-sample windows, 0.05–0.1 Hz band-pass, per-station shifts
//! |shift| < 10 s; band-limited Gaussian noise of RMS `noise_rms` (relative to the peak) for
//! the paper's unspecified "realistic noise". `validation_samples` and `test_samples` are extra
//! samples at random grid points with mechanisms drawn uniformly (continuously) within the grid's
//! span: the paper's 1,000 unseen validation samples. `realisations = R` repeats every training
//! (point, mechanism) R times with independent noise and shifts: the paper's 787,320 samples are
//! one realisation each, but a reduced grid seen for many epochs otherwise lets the network
//! memorise each sample's noise instead of learning the mechanism.
//!
//! # Cache key
//! Parameters, the bank's key and the seed.

use crate::focal::Mechanism;
use crate::io::h5;
use crate::params::{ParamError, ParamSpec, ParamType, Params, Presence, Value, on};
use crate::rng::Rng;
use crate::signal::butterworth::{Band, butter_sos};
use crate::stage::{InputSpec, RunCtx, Stage};
use crate::synth::fmnet::{
    Components, Generator, GridPoint, Labels, Path, Processing, Station, noise_bank, process_bank,
};

use super::synth_greens::inclusive_range;

pub struct SynthFmnet;

const fn triple(name: &'static str, default: &'static str, doc: &'static str) -> ParamSpec {
    ParamSpec::new(
        name,
        ParamType::FloatList {
            min_len: 3,
            max_len: 3,
            positive: false,
        },
        Presence::Default(default),
        doc,
    )
}

const fn pair(name: &'static str, default: &'static str, doc: &'static str) -> ParamSpec {
    ParamSpec::new(
        name,
        ParamType::FloatList {
            min_len: 2,
            max_len: 2,
            positive: false,
        },
        Presence::Default(default),
        doc,
    )
}

static PARAMS: &[ParamSpec] = &[
    ParamSpec::new(
        "stations",
        ParamType::Rows {
            min_cols: 3,
            max_cols: 3,
            path_ok: false,
        },
        Presence::Required,
        "rows [name, latitude, longitude] (degrees, WGS84); their order is the input row order",
    ),
    triple(
        "lat_deg",
        "[35.4, 36.2, 0.1]",
        "source-grid latitudes [first, last, step], inclusive",
    ),
    triple(
        "lon_deg",
        "[-118.0, -117.2, 0.1]",
        "source-grid longitudes [first, last, step], inclusive",
    ),
    triple(
        "strike_deg",
        "[0.0, 330.0, 30.0]",
        "training strikes [first, last, step], inclusive",
    ),
    triple(
        "dip_deg",
        "[10.0, 90.0, 10.0]",
        "training dips [first, last, step], inclusive",
    ),
    triple(
        "rake_deg",
        "[-90.0, 70.0, 20.0]",
        "training rakes [first, last, step], inclusive",
    ),
    pair(
        "label_strike_deg",
        "[0.0, 360.0]",
        "strike range of the label curve [low, high]",
    ),
    pair(
        "label_dip_deg",
        "[0.0, 90.0]",
        "dip range of the label curve [low, high]",
    ),
    pair(
        "label_rake_deg",
        "[-90.0, 90.0]",
        "rake range of the label curve [low, high]",
    ),
    ParamSpec::new(
        "label_bins",
        ParamType::Int { min: 2, max: 4096 },
        Presence::Default("128"),
        "bins of each label curve (the paper: 128)",
    ),
    ParamSpec::new(
        "label_sigma_bins",
        ParamType::Float { positive: true },
        Presence::Default("10.0"),
        "standard deviation of the Gaussian label curves, in bins (the paper: 10)",
    ),
    ParamSpec::new(
        "dt_s",
        ParamType::Float { positive: true },
        Presence::Default("1.0"),
        "sampling interval of the samples (a multiple of the bank's)",
    ),
    ParamSpec::new(
        "window",
        ParamType::Int {
            min: 8,
            max: 1 << 16,
        },
        Presence::Default("128"),
        "samples per trace (the paper: 128)",
    ),
    ParamSpec::new(
        "pre_p_s",
        ParamType::Float { positive: false },
        Presence::Default("10.0"),
        "seconds kept before the theoretical P arrival",
    ),
    ParamSpec::new(
        "max_shift_s",
        ParamType::Float { positive: false },
        Presence::Default("10.0"),
        "per-station random time shifts are whole samples with |shift| < this (the paper: 10 s)",
    ),
    pair(
        "noise_rms",
        "[0.02, 0.2]",
        "noise RMS relative to the peak, uniform in [min, max] per sample",
    ),
    pair(
        "bandpass_hz",
        "[0.05, 0.1]",
        "band-pass corners in Hz (the paper: 0.05-0.1)",
    ),
    ParamSpec::new(
        "filter_order",
        ParamType::Int { min: 1, max: 12 },
        Presence::Default("4"),
        "Butterworth order of one pass (applied forward and backward)",
    ),
    ParamSpec::new(
        "stf_duration_s",
        ParamType::Float { positive: true },
        Presence::Default("1.0"),
        "duration of fk syn's trapezoidal source time function",
    ),
    ParamSpec::new(
        "component_order",
        ParamType::Choice(&["ZRT", "ZNE"]),
        Presence::Default("\"ZRT\""),
        "the three rows of each station: ZRT (fk's up/radial/transverse) or ZNE (rotated with the back-azimuth)",
    ),
    ParamSpec::new(
        "realisations",
        ParamType::Int {
            min: 1,
            max: 1_000_000,
        },
        Presence::Default("1"),
        "training samples per (grid point, mechanism), each with its own noise and shifts (the \
         paper: 1)",
    ),
    ParamSpec::new(
        "materialize",
        ParamType::Bool,
        Presence::Default("false"),
        "also write every sample as `x` [n, rows, window] and `y` [n, 3, bins] float32 (the full \
         Ridgecrest set is 19 GB)",
    ),
    ParamSpec::new(
        "validation_samples",
        ParamType::Int {
            min: 0,
            max: 10_000_000,
        },
        Presence::Default("1000"),
        "extra samples at random grid points and mechanisms for validation (the paper: 1000)",
    ),
    ParamSpec::new(
        "test_samples",
        ParamType::Int {
            min: 0,
            max: 10_000_000,
        },
        Presence::Default("1000"),
        "extra held-out samples for evaluate.focal",
    ),
    ParamSpec::new(
        "distance_tolerance_km",
        ParamType::Float { positive: true },
        Presence::Default("1.0"),
        "largest difference between a station's distance and the nearest bank distance",
    ),
];

fn range_of(p: &Params, name: &str) -> Result<Vec<f64>, ParamError> {
    let v = p.floats(name).map_err(on(name))?;
    inclusive_range(v[0], v[1], v[2]).map_err(|m| ParamError::new(name, m))
}

pub(crate) fn stations(p: &Params) -> Result<Vec<Station>, ParamError> {
    p.rows("stations")
        .map_err(on("stations"))?
        .iter()
        .enumerate()
        .map(|(i, r)| match r.as_slice() {
            [Value::Str(name), Value::Float(lat), Value::Float(lon)]
                if (-90.0..=90.0).contains(lat) && (-180.0..=360.0).contains(lon) =>
            {
                Ok(Station {
                    name: name.clone(),
                    lat: *lat,
                    lon: *lon,
                })
            }
            _ => Err(ParamError::new(
                "stations",
                format!(
                    "row {} must be [\"NAME\", latitude, longitude] with latitude in [-90, 90]",
                    i + 1
                ),
            )),
        })
        .collect()
}

fn labels(p: &Params) -> Result<Labels, ParamError> {
    let mut ranges = [(0.0, 0.0); 3];
    for (k, name) in ["label_strike_deg", "label_dip_deg", "label_rake_deg"]
        .iter()
        .enumerate()
    {
        let v = p.floats(name).map_err(on(name))?;
        if v[0] >= v[1] {
            return Err(ParamError::new(
                name,
                format!(
                    "the label range [{}, {}] is empty: need low < high",
                    v[0], v[1]
                ),
            ));
        }
        ranges[k] = (v[0], v[1]);
    }
    Ok(Labels {
        ranges,
        bins: p.int("label_bins").map_err(on("label_bins"))? as usize,
        sigma_bins: p
            .float("label_sigma_bins")
            .map_err(on("label_sigma_bins"))?,
    })
}

/// The training mechanisms, each inside the label ranges.
fn mechanisms(p: &Params, l: &Labels) -> Result<Vec<Mechanism>, ParamError> {
    let names = ["strike_deg", "dip_deg", "rake_deg"];
    let grids = names
        .iter()
        .map(|n| range_of(p, n))
        .collect::<Result<Vec<_>, _>>()?;
    for (k, g) in grids.iter().enumerate() {
        let (lo, hi) = l.ranges[k];
        if let Some(v) = g.iter().find(|v| **v < lo || **v > hi) {
            return Err(ParamError::new(
                names[k],
                format!("{v} lies outside the label range [{lo}, {hi}]"),
            ));
        }
    }
    let mut out = Vec::new();
    for &s in &grids[0] {
        for &d in &grids[1] {
            for &r in &grids[2] {
                out.push(Mechanism::new(s, d, r));
            }
        }
    }
    Ok(out)
}

fn band(p: &Params) -> Result<(f64, f64), ParamError> {
    let b = p.floats("bandpass_hz").map_err(on("bandpass_hz"))?;
    if !(b[0] > 0.0 && b[0] < b[1]) {
        return Err(ParamError::new("bandpass_hz", "need 0 < low < high"));
    }
    Ok((b[0], b[1]))
}

impl Stage for SynthFmnet {
    fn kind(&self) -> &'static str {
        "synth.fmnet"
    }
    fn version(&self) -> u32 {
        // 2: the `realisations` attribute.
        2
    }
    fn summary(&self) -> &'static str {
        "FMNet training set (Kuang et al. 2021): source grid x mechanisms x stations, generated on demand"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn inputs(&self) -> &'static [InputSpec] {
        &[InputSpec {
            name: "greens",
            doc: "a synth.greens bank",
        }]
    }
    fn stochastic(&self) -> bool {
        true
    }
    fn check(&self, p: &Params) -> Result<(), ParamError> {
        stations(p)?;
        range_of(p, "lat_deg")?;
        range_of(p, "lon_deg")?;
        mechanisms(p, &labels(p)?)?;
        let (_, hi) = band(p)?;
        let dt = p.float("dt_s").map_err(on("dt_s"))?;
        if hi >= 0.5 / dt {
            return Err(ParamError::new(
                "dt_s",
                format!(
                    "dt_s = {dt} s has Nyquist {} Hz, not above the band-pass corner {hi} Hz",
                    0.5 / dt
                ),
            ));
        }
        let noise = p.floats("noise_rms").map_err(on("noise_rms"))?;
        if noise[0] < 0.0 || noise[0] > noise[1] {
            return Err(ParamError::new("noise_rms", "need 0 <= min <= max"));
        }
        Ok(())
    }

    fn run(&self, ctx: &mut RunCtx<'_>) -> anyhow::Result<()> {
        let p = ctx.params;
        let here = |name: &str| p.locate(name);
        let g = ctx.input("greens")?;
        let not_bank = |e: hdf5::Error| {
            anyhow::anyhow!(
                "the `greens` input of `{}` is not a synth.greens bank: {e}",
                ctx.stage_id
            )
        };
        let (raw, shape) = h5::read_array::<f32>(g, "greens").map_err(not_bank)?;
        let (depths, _) = h5::read_array::<f64>(g, "source_depths_km").map_err(not_bank)?;
        let (bank_dist, _) = h5::read_array::<f64>(g, "distances_km").map_err(not_bank)?;
        let bank_dt: f64 = h5::read_attr(g, "dt_s").map_err(not_bank)?;
        let before: u64 = h5::read_attr(g, "samples_before").map_err(not_bank)?;
        let npts = shape[3];
        let (lo, hi) = band(p)?;
        anyhow::ensure!(
            hi < 0.5 / bank_dt,
            "the bank's dt = {bank_dt} s has Nyquist {} Hz, not above the band-pass corner {hi} Hz ({}): compute the bank with a smaller dt_s",
            0.5 / bank_dt,
            here("bandpass_hz")
        );
        let dt = p.float("dt_s")?;
        let factor = (dt / bank_dt).round() as usize;
        anyhow::ensure!(
            factor >= 1 && (factor as f64 * bank_dt - dt).abs() < 1e-9 * dt,
            "dt_s = {dt} s is not a whole multiple of the bank's {bank_dt} s ({})",
            here("dt_s")
        );
        let order = p.int("filter_order")? as usize;
        let sos = butter_sos(order, Band::Bandpass(lo, hi), 1.0 / bank_dt)
            .map_err(|e| anyhow::anyhow!("{e} ({})", here("bandpass_hz")))?;
        let stf = crate::synth::trapezoid(p.float("stf_duration_s")?, 0.5, bank_dt);
        ctx.progress.set_message("band-passing the bank");
        let (bank, trace_len, p_index) =
            process_bank(&raw, npts, before as usize, &stf, &sos, factor);

        let stations = stations(p).map_err(|e| anyhow::anyhow!("{e} ({})", here("stations")))?;
        let (lats, lons) = (
            range_of(p, "lat_deg").map_err(|e| anyhow::anyhow!("{e}"))?,
            range_of(p, "lon_deg").map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let mut grid = Vec::new();
        for &lat in &lats {
            for &lon in &lons {
                for (di, &depth_km) in depths.iter().enumerate() {
                    grid.push(GridPoint {
                        lat,
                        lon,
                        depth_km,
                        depth_index: di,
                    });
                }
            }
        }
        let tol = p.float("distance_tolerance_km")?;
        let mut paths = Vec::with_capacity(grid.len() * stations.len());
        for gp in &grid {
            for st in &stations {
                let d = crate::geo::distance_km(gp.lat, gp.lon, st.lat, st.lon);
                anyhow::ensure!(
                    d >= 0.5,
                    "station {} is at zero distance ({d:.3} km) from grid point {:.4}N {:.4}E: fk's Green's functions and the azimuth are undefined there ({})",
                    st.name,
                    gp.lat,
                    gp.lon,
                    here("stations")
                );
                let (xi, bd) = bank_dist
                    .iter()
                    .enumerate()
                    .min_by(|a, b| (a.1 - d).abs().total_cmp(&(b.1 - d).abs()))
                    .map(|(i, v)| (i, *v))
                    .ok_or_else(|| anyhow::anyhow!("the bank has no distances"))?;
                anyhow::ensure!(
                    (bd - d).abs() <= tol,
                    "station {} is {d:.2} km from grid point {:.4}N {:.4}E; the nearest bank distance is {bd} km (tolerance {tol} km): extend the synth.greens distances",
                    st.name,
                    gp.lat,
                    gp.lon
                );
                paths.push(Path {
                    distance_index: xi,
                    distance_km: d,
                    az: crate::geo::azimuth_deg(gp.lat, gp.lon, st.lat, st.lon),
                    baz: crate::geo::azimuth_deg(st.lat, st.lon, gp.lat, gp.lon),
                });
            }
        }
        let window = p.int("window")? as usize;
        let pre_p = (p.float("pre_p_s")? / dt).round() as usize;
        let max_shift = ((p.float("max_shift_s")? / dt).ceil() as usize).saturating_sub(1);
        anyhow::ensure!(
            p_index + max_shift >= pre_p && p_index + max_shift + window <= trace_len + pre_p,
            "the bank's traces ({npts} samples at {bank_dt} s, P at sample {before}) are too short for a {window}-sample window starting {} s before P with shifts up to {} samples: compute the bank with more npts ({})",
            p.float("pre_p_s")?,
            max_shift,
            here("window")
        );
        anyhow::ensure!(
            pre_p + max_shift <= p_index + max_shift
                && p_index + max_shift + window - pre_p <= trace_len,
            "window does not fit in the bank traces ({})",
            here("window")
        );
        let labels = labels(p).map_err(|e| anyhow::anyhow!("{e} ({})", here(&e.param)))?;
        let mechanisms =
            mechanisms(p, &labels).map_err(|e| anyhow::anyhow!("{e} ({})", here(&e.param)))?;
        let (nv, nt) = (
            p.int("validation_samples")? as usize,
            p.int("test_samples")? as usize,
        );
        let span = |name: &str| -> anyhow::Result<(f64, f64)> {
            let v = p.floats(name)?;
            Ok((v[0], v[1]))
        };
        let (s_span, d_span, r_span) = (span("strike_deg")?, span("dip_deg")?, span("rake_deg")?);
        let mut rng = Rng::new(ctx.seed, "synth.fmnet/held-out");
        let mut draw = |(a, b): (f64, f64)| a + (b - a) * rng.uniform();
        let held_out: Vec<(usize, Mechanism)> = (0..nv + nt)
            .map(|_| {
                let gi = (draw((0.0, grid.len() as f64)) as usize).min(grid.len() - 1);
                (gi, Mechanism::new(draw(s_span), draw(d_span), draw(r_span)))
            })
            .collect();
        let noise = p.floats("noise_rms")?;
        let out_sos = butter_sos(order, Band::Bandpass(lo, hi), 1.0 / dt)
            .map_err(|e| anyhow::anyhow!("{e} ({})", here("bandpass_hz")))?;
        let noise_len = 4 * window;
        let generator = Generator {
            bank,
            n_distances: bank_dist.len(),
            trace_len,
            p_index,
            dt_s: dt,
            stations,
            grid,
            paths,
            mechanisms,
            realisations: p.int("realisations")? as usize,
            held_out,
            n_validation: nv,
            noise: noise_bank(ctx.seed, 256, noise_len, &out_sos),
            noise_len,
            labels,
            processing: Processing {
                window,
                pre_p,
                max_shift,
                noise: (noise[0], noise[1]),
                components: Components::parse(p.str("component_order")?).unwrap_or(Components::Zrt),
            },
            seed: ctx.seed,
        };
        write(ctx.output, &generator)?;
        if p.bool("materialize")? {
            ctx.progress.set_length(generator.len() as u64);
            ctx.progress.set_message("materialising samples");
            materialize(ctx.output, &generator, &|n| ctx.progress.inc(n as u64))?;
        }
        h5::write_attr(ctx.output, "samples", generator.len() as u64)?;
        h5::write_attr(ctx.output, "train_samples", generator.n_train() as u64)?;
        Ok(())
    }
}

/// Stores a generator (the layout in the module doc).
pub(crate) fn write(out: &hdf5::Group, g: &Generator) -> anyhow::Result<()> {
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
pub(crate) fn materialize(
    out: &hdf5::Group,
    g: &Generator,
    done: &dyn Fn(usize),
) -> anyhow::Result<()> {
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

/// Reads a generator written by [`write`]; `what` names the stage input for messages.
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
