//! `synth.picks` — synthetic local-earthquake 3-C seismograms with known P and S picks.
//!
//! # Purpose
//! Pre-training data for phase pickers where STEAD/INSTANCE are not available (Hong et al. 2023
//! pre-train on them): physics-based seismograms from a `synth.greens` bank, with P and S picks
//! from the same layered model's travel times, real or coloured noise at a drawn SNR
//! ([`crate::synth::picks`]).
//!
//! # Inputs
//! `bank`: a Green's-function bank (its sampling sets the set's rate: dt 0.01 s for 100 Hz;
//! depths < 30 km and distances up to 150 km for Hong et al.'s local events). `noise`
//! (optional): a labelled waveform set at the same rate whose pre-P samples become the noise;
//! without it the noise is Gaussian, band-passed to `noise_band_hz`.
//!
//! # Outputs
//! A labelled waveform set of `count` traces (`synth_0000000`, …; network `SY`, one station per
//! trace; `distance_km`, `magnitude` filled), plus per-trace datasets `source_depth_km`,
//! `azimuth_deg`, `strike_deg`, `dip_deg`, `rake_deg`, `snr_db`. By default the set is **on
//! demand**, like `synth.fmnet`: every column is stored, but instead of `waveforms` a recipe (the
//! bank, the noise, the settings; [`crate::data::picks_recipe`]) from which readers generate
//! trace `i` when they need it — `train` batch by batch, `split.waveforms` not at all, any other
//! reader the whole set in memory. `materialize = true` stores the traces; both forms give the
//! same samples, bit for bit.
//!
//! # Parameters
//! `count`; `samples` (6000) and `p_at_s` (30: the paper's 60-s traces centred on P), which must
//! fit in the bank's traces after P; `magnitudes` `[min, max]` with Gutenberg–Richter `b_value`;
//! `stress_drop_mpa` (source duration); `snr_db` `[min, max]`; `noise_band_hz`; `bandpass_hz`
//! (a zero-phase order-4 Butterworth band-pass on every trace, the same filter as `filter`'s, so
//! that an on-demand set needs no `filter` stage, which would store every trace);
//! `materialize`.
//!
//! # Cache key
//! Parameters, the seed and the input keys. Trace `i` depends on `(seed, i)` only.
//!
//! # References
//! Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023). Customization of a deep neural network
//! using local data for seismic phase picking, Frontiers in Earth Science 11, 1306488,
//! doi:10.3389/feart.2023.1306488. Zhu & Rivera (2002), GJI 148:619,
//! doi:10.1046/j.1365-246X.2002.01610.x (fk). Brune (1970), JGR 75:4997; Hanks & Kanamori
//! (1979), JGR 84:2348.

use crate::data::picks_recipe::noise_segments;
use crate::data::picks_recipe::{NoiseSpec, Recipe};
use crate::data::{self, greens_bank, waveform_set};
use crate::h5;
use crate::params::ParamError;
use crate::stage::{InputSpec, Outputs, RunCtx, StageInfo, StageKind};
use crate::synth::picks::Settings;

pub struct SynthPicks;

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct SynthPicksParams {
        /// number of traces
        count: usize = Int { min: 1, max: 100_000_000 }, Required;
        /// samples per trace
        samples: usize = Int { min: 100, max: 1_000_000 }, Default("6000");
        /// time of the P arrival in each trace, s
        p_at_s: f64 = Float { positive: true }, Default("30.0");
        /// [min, max] moment magnitude
        magnitudes: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: false }, Default("[1.0, 4.0]");
        /// Gutenberg-Richter b-value of the magnitudes
        b_value: f64 = Float { positive: true }, Default("1.0");
        /// Brune stress drop in MPa (sets the source duration)
        stress_drop_mpa: f64 = Float { positive: true }, Default("3.0");
        /// [min, max] signal-to-noise ratio in dB (RMS of [P, P + 2 s] over noise RMS)
        snr_db: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: false }, Default("[0.0, 40.0]");
        /// [low, high] Hz of the coloured noise used when no `noise` set is wired
        noise_band_hz: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: true }, Default("[1.0, 20.0]");
        /// [low, high] Hz of a zero-phase Butterworth band-pass (order 4) applied to every trace, as `filter` would (Hong et al.: 1-45 Hz)
        bandpass_hz: Option<Vec<f64>> = FloatList { min_len: 2, max_len: 2, positive: true }, Optional;
        /// store every trace (true), or a recipe from which readers generate them on demand (false)
        materialize: bool = Bool, Default("false");
    }
}

impl StageKind for SynthPicks {
    type Params = SynthPicksParams;
    const INFO: StageInfo = StageInfo {
        kind: "synth.picks",
        version: 2,
        changelog: &[
            "first version",
            "traces generated on demand by default (`materialize`), optional `bandpass_hz`",
        ],
        summary: "synthetic local-earthquake 3-C seismograms from a Green's-function bank, P/S picks from the model, real or coloured noise; generated on demand",
        inputs: &[
            InputSpec {
                name: "bank",
                doc: "a synth.greens bank (its dt sets the rate)",
                accepts: &[data::GREENS_BANK],
                optional: false,
            },
            InputSpec {
                name: "noise",
                doc: "a labelled waveform set whose pre-P samples are the noise",
                accepts: &[data::WAVEFORM_SET],
                optional: true,
            },
        ],
        outputs: Outputs::Root(data::WAVEFORM_SET),
        metrics: &[],
        stochastic: true,
    };

    fn check(&self, p: &SynthPicksParams) -> Result<(), ParamError> {
        let ordered = |v: &[f64], name: &str| {
            if v[0] <= v[1] {
                Ok(())
            } else {
                Err(ParamError::new(
                    name,
                    format!("[{}, {}] must be [min, max]", v[0], v[1]),
                ))
            }
        };
        ordered(&p.magnitudes, "magnitudes")?;
        ordered(&p.snr_db, "snr_db")?;
        if p.noise_band_hz[0] >= p.noise_band_hz[1] {
            return Err(ParamError::new(
                "noise_band_hz",
                "the band must be [low, high]",
            ));
        }
        if let Some(b) = &p.bandpass_hz
            && b[0] >= b[1]
        {
            return Err(ParamError::new(
                "bandpass_hz",
                "the band must be [low, high]",
            ));
        }
        Ok(())
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: SynthPicksParams) -> anyhow::Result<()> {
        let here = |name: &str| ctx.params.locate(name);
        let g = ctx.input("bank")?;
        let bank = greens_bank::read(g, "input `bank`")?;
        let model = greens_bank::read_model(g, "input `bank`")?;
        let dt = bank.settings.dt_s;
        let rate = 1.0 / dt;
        let noise = if ctx.inputs.contains_key("noise") {
            let set = waveform_set::read(ctx.input("noise")?, ctx.stage_id)?;
            anyhow::ensure!(
                (set.sampling_rate_hz - rate).abs() <= 1e-9 * rate,
                "the noise set is sampled at {} Hz, the bank at {rate} Hz; resample it (fetch.waveforms sampling_rate_hz)",
                set.sampling_rate_hz
            );
            // Half a second before the P pick is left out (picks are not exact).
            NoiseSpec::Real(noise_segments(&set, (0.5 * rate).round() as usize))
        } else {
            NoiseSpec::Coloured([p.noise_band_hz[0], p.noise_band_hz[1]])
        };
        let settings = Settings {
            samples: p.samples,
            p_at: (p.p_at_s * rate).round() as usize,
            magnitudes: [p.magnitudes[0], p.magnitudes[1]],
            b_value: p.b_value,
            snr_db: [p.snr_db[0], p.snr_db[1]],
            stress_drop_mpa: p.stress_drop_mpa,
        };
        let bandpass = p.bandpass_hz.as_ref().map(|b| [b[0], b[1]]);
        let recipe = Recipe::new(bank, &model, settings, noise, bandpass, ctx.seed, p.count)
            .map_err(|e| {
                let at = if e.starts_with("band-pass") {
                    "bandpass_hz"
                } else if e.starts_with("noise band") {
                    "noise_band_hz"
                } else {
                    "samples"
                };
                anyhow::anyhow!("{e} ({})", here(at))
            })?;
        let generator = recipe.generator();
        ctx.progress.set_length(p.count as u64);
        ctx.progress.set_message(if p.materialize {
            "traces synthesised"
        } else {
            "traces drawn"
        });
        let mut set = waveform_set::WaveformSet {
            sampling_rate_hz: rate,
            samples: p.samples,
            ..Default::default()
        };
        let mut extra: [Vec<f64>; 6] = std::array::from_fn(|_| Vec::with_capacity(p.count));
        // In chunks, in parallel: trace i depends on (seed, i) alone. On demand, only the
        // sources and their picks are drawn here; readers generate the waveforms.
        for chunk in (0..p.count).collect::<Vec<_>>().chunks(1024) {
            use rayon::prelude::*;
            let drawn: Vec<_> = chunk
                .par_iter()
                .map(|&i| {
                    let src = generator.source(i);
                    let (p_sample, s_sample) = generator.picks(&src);
                    let data = p.materialize.then(|| recipe.trace(i));
                    (src, p_sample, s_sample, data)
                })
                .collect();
            for (&i, (src, p_sample, s_sample, data)) in chunk.iter().zip(drawn) {
                let trace = waveform_set::Trace {
                    name: format!("synth_{i:07}"),
                    network: "SY".into(),
                    station: format!("S{i:07}"),
                    channel: "HH".into(),
                    split: String::new(),
                    present: [true; 3],
                    p_sample,
                    s_sample,
                    distance_km: generator.distance_km(&src),
                    magnitude: src.magnitude,
                };
                match data {
                    Some(d) => set.push(&d, trace, rate).map_err(|e| anyhow::anyhow!(e))?,
                    None => set.traces.push(trace),
                }
                let m = src.mechanism;
                for (v, x) in extra.iter_mut().zip([
                    generator.depth_km(&src),
                    src.azimuth_deg,
                    m.strike,
                    m.dip,
                    m.rake,
                    src.snr_db,
                ]) {
                    v.push(x);
                }
            }
            ctx.progress.inc(chunk.len() as u64);
        }
        if p.materialize {
            waveform_set::write(ctx.output, &set)?;
        } else {
            waveform_set::write_columns(ctx.output, &set)?;
            recipe.write(ctx.output)?;
        }
        for (name, v) in [
            "source_depth_km",
            "azimuth_deg",
            "strike_deg",
            "dip_deg",
            "rake_deg",
            "snr_db",
        ]
        .iter()
        .zip(&extra)
        {
            h5::write_array(ctx.output, name, &[v.len()], v)?;
        }
        h5::write_attr(ctx.output, "traces", set.len() as u64)?;
        Ok(())
    }
}
