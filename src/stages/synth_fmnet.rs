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
//! An FMNet training set: the layout of [`crate::data::fmnet_set`] (band-passed bank, geometry,
//! sample table, optional materialised `x`/`y`).
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
//!
//! # References
//! Kuang, W., Yuan, C. & Zhang, J. (2021). Real-time determination of earthquake focal mechanism
//! via deep learning. Nature Communications 12, 1432. doi:10.1038/s41467-021-21670-x
//!
//! Zhu, L. & Rivera, L. A. (2002). A note on the dynamic and static displacements from a point
//! source in multilayered media. Geophysical Journal International 148(3), 619-627.
//! doi:10.1046/j.1365-246X.2002.01610.x

use crate::data::{self, fmnet_set};
use crate::focal::Mechanism;
use crate::h5;
use crate::params::typed::{Table, grid};
use crate::params::{ParamError, Value};
use crate::rng::Rng;
use crate::signal::butterworth::{Band, butter_sos};
use crate::stage::{InputSpec, Outputs, RunCtx, StageInfo, StageKind};
use crate::synth::fmnet::{
    Components, Generator, GridPoint, Labels, Path, Processing, Station, noise_bank, process_bank,
};

pub struct SynthFmnet;

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct SynthFmnetParams {
        /// rows [name, latitude, longitude] (degrees, WGS84); their order is the input row order
        stations: Table = Rows { min_cols: 3, max_cols: 3, path_ok: false, }, Required;
        /// source-grid latitudes [first, last, step], inclusive
        lat_deg: Vec<f64> = FloatList { min_len: 3, max_len: 3, positive: false }, Default("[35.4, 36.2, 0.1]");
        /// source-grid longitudes [first, last, step], inclusive
        lon_deg: Vec<f64> = FloatList { min_len: 3, max_len: 3, positive: false }, Default("[-118.0, -117.2, 0.1]");
        /// training strikes [first, last, step], inclusive
        strike_deg: Vec<f64> = FloatList { min_len: 3, max_len: 3, positive: false }, Default("[0.0, 330.0, 30.0]");
        /// training dips [first, last, step], inclusive
        dip_deg: Vec<f64> = FloatList { min_len: 3, max_len: 3, positive: false }, Default("[10.0, 90.0, 10.0]");
        /// training rakes [first, last, step], inclusive
        rake_deg: Vec<f64> = FloatList { min_len: 3, max_len: 3, positive: false }, Default("[-90.0, 70.0, 20.0]");
        /// strike range of the label curve [low, high]
        label_strike_deg: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: false }, Default("[0.0, 360.0]");
        /// dip range of the label curve [low, high]
        label_dip_deg: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: false }, Default("[0.0, 90.0]");
        /// rake range of the label curve [low, high]
        label_rake_deg: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: false }, Default("[-90.0, 90.0]");
        /// bins of each label curve (the paper: 128)
        label_bins: usize = Int { min: 2, max: 4096 }, Default("128");
        /// standard deviation of the Gaussian label curves, in bins (the paper: 10)
        label_sigma_bins: f64 = Float { positive: true }, Default("10.0");
        /// sampling interval of the samples (a multiple of the bank's)
        dt_s: f64 = Float { positive: true }, Default("1.0");
        /// samples per trace (the paper: 128)
        window: usize = Int { min: 8, max: 1 << 16, }, Default("128");
        /// seconds kept before the theoretical P arrival
        pre_p_s: f64 = Float { positive: false }, Default("10.0");
        /// per-station random time shifts are whole samples with |shift| < this (the paper: 10 s)
        max_shift_s: f64 = Float { positive: false }, Default("10.0");
        /// noise RMS relative to the peak, uniform in [min, max] per sample
        noise_rms: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: false }, Default("[0.02, 0.2]");
        /// band-pass corners in Hz (the paper: 0.05-0.1)
        bandpass_hz: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: false }, Default("[0.05, 0.1]");
        /// Butterworth order of one pass (applied forward and backward)
        filter_order: usize = Int { min: 1, max: 12 }, Default("4");
        /// duration of fk syn's trapezoidal source time function
        stf_duration_s: f64 = Float { positive: true }, Default("1.0");
        /// the three rows of each station: ZRT (fk's up/radial/transverse) or ZNE (rotated with the back-azimuth)
        component_order: String = Choice(&["ZRT", "ZNE"]), Default("\"ZRT\"");
        /// training samples per (grid point, mechanism), each with its own noise and shifts (the paper: 1)
        realisations: usize = Int { min: 1, max: 1_000_000, }, Default("1");
        /// also write every sample as `x` [n, rows, window] and `y` [n, 3, bins] float32 (the full Ridgecrest set is 19 GB)
        materialize: bool = Bool, Default("false");
        /// extra samples at random grid points and mechanisms for validation (the paper: 1000)
        validation_samples: usize = Int { min: 0, max: 10_000_000, }, Default("1000");
        /// extra held-out samples for evaluate.focal
        test_samples: usize = Int { min: 0, max: 10_000_000, }, Default("1000");
        /// largest difference between a station's distance and the nearest bank distance
        distance_tolerance_km: f64 = Float { positive: true }, Default("1.0");
    }
}

impl SynthFmnetParams {
    fn stations(&self) -> Result<Vec<Station>, ParamError> {
        let Table::Rows(rows) = &self.stations else {
            return Err(ParamError::new(
                "stations",
                "must be rows [\"NAME\", latitude, longitude]",
            ));
        };
        rows.iter()
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

    fn labels(&self) -> Result<Labels, ParamError> {
        let mut ranges = [(0.0, 0.0); 3];
        for (k, (name, v)) in [
            ("label_strike_deg", &self.label_strike_deg),
            ("label_dip_deg", &self.label_dip_deg),
            ("label_rake_deg", &self.label_rake_deg),
        ]
        .into_iter()
        .enumerate()
        {
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
            bins: self.label_bins,
            sigma_bins: self.label_sigma_bins,
        })
    }

    /// The training mechanisms, each inside the label ranges.
    fn mechanisms(&self, l: &Labels) -> Result<Vec<Mechanism>, ParamError> {
        let names = ["strike_deg", "dip_deg", "rake_deg"];
        let grids = [&self.strike_deg, &self.dip_deg, &self.rake_deg]
            .iter()
            .zip(names)
            .map(|(v, n)| grid(v, n))
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

    fn band(&self) -> Result<(f64, f64), ParamError> {
        let b = &self.bandpass_hz;
        if !(b[0] > 0.0 && b[0] < b[1]) {
            return Err(ParamError::new("bandpass_hz", "need 0 < low < high"));
        }
        Ok((b[0], b[1]))
    }
}

impl StageKind for SynthFmnet {
    type Params = SynthFmnetParams;
    const INFO: StageInfo = StageInfo {
        kind: "synth.fmnet",
        version: 2,
        changelog: &["first version", "the `realisations` attribute"],
        summary: "FMNet training set (Kuang et al. 2021): source grid x mechanisms x stations, generated on demand",
        inputs: &[InputSpec {
            name: "greens",
            doc: "a synth.greens bank",
            accepts: &[data::GREENS_BANK],
            optional: false,
        }],
        outputs: Outputs::Root(data::FMNET_SET),
        metrics: &[],
        stochastic: true,
    };

    fn check(&self, p: &SynthFmnetParams) -> Result<(), ParamError> {
        p.stations()?;
        grid(&p.lat_deg, "lat_deg")?;
        grid(&p.lon_deg, "lon_deg")?;
        p.mechanisms(&p.labels()?)?;
        let (_, hi) = p.band()?;
        let dt = p.dt_s;
        if hi >= 0.5 / dt {
            return Err(ParamError::new(
                "dt_s",
                format!(
                    "dt_s = {dt} s has Nyquist {} Hz, not above the band-pass corner {hi} Hz",
                    0.5 / dt
                ),
            ));
        }
        let noise = &p.noise_rms;
        if noise[0] < 0.0 || noise[0] > noise[1] {
            return Err(ParamError::new("noise_rms", "need 0 <= min <= max"));
        }
        Ok(())
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: SynthFmnetParams) -> anyhow::Result<()> {
        let raw = ctx.params;
        let here = |name: &str| raw.locate(name);
        let what = format!("the `greens` input of `{}`", ctx.stage_id);
        let bank = data::greens_bank::read(ctx.input("greens")?, &what)?;
        let (depths, bank_dist) = (&bank.depths_km, &bank.distances_km);
        let (bank_dt, before, npts) = (
            bank.settings.dt_s,
            bank.settings.samples_before,
            bank.settings.npts,
        );
        let (lo, hi) = p.band()?;
        anyhow::ensure!(
            hi < 0.5 / bank_dt,
            "the bank's dt = {bank_dt} s has Nyquist {} Hz, not above the band-pass corner {hi} Hz ({}): compute the bank with a smaller dt_s",
            0.5 / bank_dt,
            here("bandpass_hz")
        );
        let dt = p.dt_s;
        let factor = (dt / bank_dt).round() as usize;
        anyhow::ensure!(
            factor >= 1 && (factor as f64 * bank_dt - dt).abs() < 1e-9 * dt,
            "dt_s = {dt} s is not a whole multiple of the bank's {bank_dt} s ({})",
            here("dt_s")
        );
        let order = p.filter_order;
        let sos = butter_sos(order, Band::Bandpass(lo, hi), 1.0 / bank_dt)
            .map_err(|e| anyhow::anyhow!("{e} ({})", here("bandpass_hz")))?;
        let stf = crate::synth::trapezoid(p.stf_duration_s, 0.5, bank_dt);
        ctx.progress.set_message("band-passing the bank");
        let (bank, trace_len, p_index) = process_bank(&bank.data, npts, before, &stf, &sos, factor);

        let stations = p
            .stations()
            .map_err(|e| anyhow::anyhow!("{e} ({})", here("stations")))?;
        let (lats, lons) = (
            grid(&p.lat_deg, "lat_deg").map_err(|e| anyhow::anyhow!("{e}"))?,
            grid(&p.lon_deg, "lon_deg").map_err(|e| anyhow::anyhow!("{e}"))?,
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
        let tol = p.distance_tolerance_km;
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
        let window = p.window;
        let pre_p = (p.pre_p_s / dt).round() as usize;
        let max_shift = ((p.max_shift_s / dt).ceil() as usize).saturating_sub(1);
        anyhow::ensure!(
            p_index + max_shift >= pre_p && p_index + max_shift + window <= trace_len + pre_p,
            "the bank's traces ({npts} samples at {bank_dt} s, P at sample {before}) are too short for a {window}-sample window starting {} s before P with shifts up to {} samples: compute the bank with more npts ({})",
            p.pre_p_s,
            max_shift,
            here("window")
        );
        anyhow::ensure!(
            pre_p + max_shift <= p_index + max_shift
                && p_index + max_shift + window - pre_p <= trace_len,
            "window does not fit in the bank traces ({})",
            here("window")
        );
        let labels = p
            .labels()
            .map_err(|e| anyhow::anyhow!("{e} ({})", here(&e.param)))?;
        let mechanisms = p
            .mechanisms(&labels)
            .map_err(|e| anyhow::anyhow!("{e} ({})", here(&e.param)))?;
        let (nv, nt) = (p.validation_samples, p.test_samples);
        let span = |v: &[f64]| (v[0], v[1]);
        let (s_span, d_span, r_span) = (span(&p.strike_deg), span(&p.dip_deg), span(&p.rake_deg));
        let mut rng = Rng::new(ctx.seed, "synth.fmnet/held-out");
        let mut draw = |(a, b): (f64, f64)| a + (b - a) * rng.uniform();
        let held_out: Vec<(usize, Mechanism)> = (0..nv + nt)
            .map(|_| {
                let gi = (draw((0.0, grid.len() as f64)) as usize).min(grid.len() - 1);
                (gi, Mechanism::new(draw(s_span), draw(d_span), draw(r_span)))
            })
            .collect();
        let noise = &p.noise_rms;
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
            realisations: p.realisations,
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
                components: Components::parse(&p.component_order).unwrap_or(Components::Zrt),
            },
            seed: ctx.seed,
        };
        fmnet_set::write(ctx.output, &generator)?;
        if p.materialize {
            ctx.progress.set_length(generator.len() as u64);
            ctx.progress.set_message("materialising samples");
            fmnet_set::materialize(ctx.output, &generator, &|n| ctx.progress.inc(n as u64))?;
        }
        h5::write_attr(ctx.output, "samples", generator.len() as u64)?;
        h5::write_attr(ctx.output, "train_samples", generator.n_train() as u64)?;
        Ok(())
    }
}
