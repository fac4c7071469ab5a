//! `synth.geomag` — synthetic 1-minute observatory data, catalog and Kp with an optional precursor.
//!
//! # Purpose
//! Multi-year observatory data cannot ship with quakeline, and "no synthetic generator exists for
//! this application" (Petrescu & Moldovan 2022, §5). This stage makes a realistic stand-in with a
//! known answer, so the whole precursor workflow can run offline and a model can be checked: with
//! `precursor_strength = 0` a classifier must stay at chance, with a precursor it must find it.
//!
//! # Model
//! See [`crate::synth::geomag`] (main field, Sq, Kp and storms, noise, gaps, catalog, precursor).
//!
//! # Inputs
//! None: everything is drawn from the seed.
//!
//! # Outputs
//! `series` (X, Y, Z time series), `catalog` (event table), `kp` (3-hourly Kp) and `truth`
//! (`precursor_amplitude_nt` per catalog event, `storm_onset`, `storm_kp_max`).
//!
//! # Parameters
//! Declared with their types, ranges and defaults below (`quakeline stages` lists them):
//! the span and sampling of the series (`start`, `duration`, `interval`), the observatory, the
//! daily variation, storm, noise and gap model, the catalog (rate, radius, depth, magnitudes,
//! b-value) and the precursor (`precursor_strength`, `precursor_duration`, `precursor_band_hz`).
//!
//! # Cache key
//! Parameters and the seed.
//!
//! # References
//! Petrescu, L. & Moldovan, I.-A. (2022). Prospective Neural Network Model for Seismic
//! Precursory Signal Detection in Geomagnetic Field Records. Machine Learning and Knowledge
//! Extraction 4(4), 912-923. doi:10.3390/make4040046

use crate::data;
use crate::h5;
use crate::io::{catalog, kp};
use crate::params::ParamError;
use crate::params::typed::DurationNs;
use crate::stage::{Outputs, RunCtx, StageInfo, StageKind};
use crate::synth::geomag::{Config, generate};
use crate::time::parse_iso8601;

pub struct SynthGeomag;

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct SynthGeomagParams {
        /// first sample, UTC ISO 8601
        start: String = Str, Default("\"2015-01-01T00:00:00\"");
        /// length of the series
        duration: DurationNs = Duration, Default("\"365d\"");
        /// sampling interval (INTERMAGNET 1-minute)
        interval: DurationNs = Duration, Default("\"1m\"");
        /// station latitude (default MLR, P&M Table 1)
        latitude_deg: f64 = Float { positive: false }, Default("45.491");
        /// station longitude
        longitude_deg: f64 = Float { positive: false }, Default("25.945");
        /// station code
        station: String = Str, Default("\"SYN\"");
        /// Sq amplitude in X at equinox, nT
        sq_amplitude_nt: f64 = Float { positive: false }, Default("30.0");
        /// magnetic storms (Kp >= 5) per year
        storm_rate_per_year: f64 = Float { positive: false }, Default("20.0");
        /// instrument white noise, nT
        noise_nt: f64 = Float { positive: false }, Default("0.1");
        /// data gaps per year
        gap_rate_per_year: f64 = Float { positive: false }, Default("50.0");
        /// catalog events per year above magnitude_min
        event_rate_per_year: f64 = Float { positive: false }, Default("40.0");
        /// events are placed within this distance of the station
        catalog_radius_km: f64 = Float { positive: true }, Default("300.0");
        /// events are 2 km to this deep
        max_depth_km: f64 = Float { positive: true }, Default("40.0");
        /// smallest catalog magnitude
        magnitude_min: f64 = Float { positive: false }, Default("3.0");
        /// largest catalog magnitude
        magnitude_max: f64 = Float { positive: false }, Default("6.5");
        /// Gutenberg-Richter b
        b_value: f64 = Float { positive: true }, Default("1.0");
        /// precursor amplitude S in nT for an M4 at the station; 0 = none
        precursor_strength: f64 = Float { positive: false }, Default("0.0");
        /// the precursor ramps up over this time before each event
        precursor_duration: DurationNs = Duration, Default("\"2d\"");
        /// frequency band of the precursor, Hz (ULF Pc5 at 1-minute sampling)
        precursor_band_hz: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: true, }, Default("[0.002, 0.006]");
    }
}

impl SynthGeomagParams {
    /// The generator's configuration, with the cross-field checks.
    pub fn config(&self) -> Result<Config, ParamError> {
        let start_ns = parse_iso8601(&self.start).map_err(|m| ParamError::new("start", m))?;
        let (duration, interval_ns) = (self.duration.0, self.interval.0);
        if interval_ns <= 0 || duration < interval_ns {
            return Err(ParamError::new(
                "duration",
                "the duration must hold at least one sample",
            ));
        }
        let band = &self.precursor_band_hz;
        let (m_min, m_max) = (self.magnitude_min, self.magnitude_max);
        if m_max <= m_min {
            return Err(ParamError::new(
                "magnitude_max",
                "magnitude_max must exceed magnitude_min",
            ));
        }
        let nyquist = 0.5e9 / interval_ns as f64;
        if !(band[0] < band[1] && band[1] < nyquist) {
            return Err(ParamError::new(
                "precursor_band_hz",
                format!(
                    "the band must be increasing and below the Nyquist frequency {nyquist} Hz, got {band:?}"
                ),
            ));
        }
        Ok(Config {
            start_ns,
            n: (duration / interval_ns) as usize,
            interval_ns,
            lat: self.latitude_deg,
            lon: self.longitude_deg,
            station: self.station.clone(),
            sq_amplitude: self.sq_amplitude_nt,
            storm_rate: self.storm_rate_per_year,
            noise: self.noise_nt,
            gap_rate: self.gap_rate_per_year,
            event_rate: self.event_rate_per_year,
            radius_km: self.catalog_radius_km,
            max_depth_km: self.max_depth_km,
            m_min,
            m_max,
            b: self.b_value,
            precursor_strength: self.precursor_strength,
            precursor_ns: self.precursor_duration.0,
            band: (band[0], band[1]),
        })
    }
}

impl StageKind for SynthGeomag {
    type Params = SynthGeomagParams;
    const INFO: StageInfo = StageInfo {
        kind: "synth.geomag",
        version: 1,
        changelog: &["first version"],
        summary: "synthetic 1-minute X/Y/Z observatory data, catalog and Kp, with an optional ULF precursor",
        inputs: &[],
        outputs: Outputs::Named(&[
            ("series", data::TIME_SERIES),
            ("catalog", data::CATALOG),
            ("kp", data::KP),
            ("truth", data::PRECURSOR_TRUTH),
        ]),
        metrics: &[],
        stochastic: true,
    };

    fn check(&self, p: &SynthGeomagParams) -> Result<(), ParamError> {
        p.config().map(|_| ())
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: SynthGeomagParams) -> anyhow::Result<()> {
        let c = p.config()?;
        ctx.progress.set_length(4);
        ctx.progress.set_message("outputs generated and written");
        let s = generate(&c, ctx.seed).map_err(|e| anyhow::anyhow!(e))?;
        ctx.progress.inc(1);
        s.series.write_h5(&ctx.output.create_group("series")?)?;
        ctx.progress.inc(1);
        catalog::write_h5(&ctx.output.create_group("catalog")?, &s.events)?;
        kp::write_h5(&ctx.output.create_group("kp")?, &s.kp)?;
        ctx.progress.inc(1);
        let truth = ctx.output.create_group("truth")?;
        h5::write_array(
            &truth,
            "precursor_amplitude_nt",
            &[s.precursor_amplitude.len()],
            &s.precursor_amplitude,
        )?;
        h5::write_array(
            &truth,
            "storm_onset",
            &[s.storms.len()],
            &s.storms.iter().map(|s| s.onset_ns).collect::<Vec<_>>(),
        )?;
        h5::write_array(
            &truth,
            "storm_kp_max",
            &[s.storms.len()],
            &s.storms.iter().map(|s| s.kp_max).collect::<Vec<_>>(),
        )?;
        h5::write_attr(&truth, "gaps", s.gaps as u64)?;
        ctx.progress.inc(1);
        Ok(())
    }
}
