//! The on-demand form of a `synth.picks` set: instead of `waveforms`, a `recipe` group from which
//! any trace is generated when it is read, the same every time (trace `i` depends on the seed and
//! `i` only, [`crate::synth::picks`]). A million 60-s traces at 100 Hz are 72 GB as float32; the
//! recipe is the bank (tens of MB) and the noise segments. Like `synth.fmnet`'s sample table
//! (Kuang et al. 2021's 787,320 samples are generated, not stored).
//!
//! # Layout (group `recipe` of a labelled waveform set whose `waveforms` dataset is absent)
//! | name | what |
//! |---|---|
//! | `bank/` | the Green's-function bank and its model ([`super::greens_bank`]) |
//! | `noise` float32 `[total]`, `noise_lengths` uint64 `[segments]` | real pre-P noise: segment `k` is Z, N, E of `noise_lengths[k]` samples each, concatenated; absent for coloured noise |
//! | attributes `count`, `samples`, `p_at`, `seed` | traces, samples per trace, output sample of P, the stage's seed |
//! | attributes `magnitude_min`, `magnitude_max`, `b_value`, `snr_min_db`, `snr_max_db`, `stress_drop_mpa` | the source distribution |
//! | attributes `noise_low_hz`, `noise_high_hz` | the band of the coloured noise (used when `noise` is absent) |
//! | attributes `bandpass_low_hz`, `bandpass_high_hz` | the zero-phase band-pass applied to every trace (absent: none) |
//!
//! Every per-trace column of the labelled waveform set (picks, names, splits, distances,
//! magnitudes) is stored as usual beside it, so consumers that only read metadata never
//! synthesise anything.

use crate::greens::LayeredModel;
use crate::h5;
use crate::signal::butterworth::{Band, Section, butter_sos};
use crate::signal::sos::filter_finite_runs;
use crate::signal::standardise;
use crate::synth::picks::{Generator, MIN_NOISE_SAMPLES, Noise, Settings};

/// Name of the group.
pub const GROUP: &str = "recipe";

/// Butterworth order of the coloured noise and of the band-pass.
const ORDER: usize = 4;

/// Everything a trace is made from.
pub struct Recipe {
    generator: Generator,
    model: LayeredModel,
    /// The band of the coloured noise (`None`: real noise, in the generator).
    noise_band_hz: Option<[f64; 2]>,
    bandpass_hz: Option<[f64; 2]>,
    bandpass: Option<Vec<Section>>,
    pub count: usize,
}

/// Where the noise comes from, as stored.
pub enum NoiseSpec {
    Real(Vec<[Vec<f32>; 3]>),
    /// `[low, high]` Hz of band-passed Gaussian noise.
    Coloured([f64; 2]),
}

impl Recipe {
    /// A recipe from its parts; errors name the setting that does not fit.
    pub fn new(
        bank: crate::greens::Bank,
        model: &LayeredModel,
        settings: Settings,
        noise: NoiseSpec,
        bandpass_hz: Option<[f64; 2]>,
        seed: u64,
        count: usize,
    ) -> Result<Recipe, String> {
        let rate = 1.0 / bank.settings.dt_s;
        let (noise, noise_band_hz) = match noise {
            NoiseSpec::Real(seg) => (Noise::Real(seg), None),
            NoiseSpec::Coloured([lo, hi]) => (
                Noise::Coloured(
                    butter_sos(ORDER, Band::Bandpass(lo, hi), rate)
                        .map_err(|e| format!("noise band: {e}"))?,
                ),
                Some([lo, hi]),
            ),
        };
        let bandpass = bandpass_hz
            .map(|[lo, hi]| butter_sos(ORDER, Band::Bandpass(lo, hi), rate))
            .transpose()
            .map_err(|e| format!("band-pass: {e}"))?;
        Ok(Recipe {
            generator: Generator::new(bank, model, settings, noise, seed)?,
            model: model.clone(),
            noise_band_hz,
            bandpass_hz,
            bandpass,
            count,
        })
    }

    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// Trace `i`, `[3, samples]` Z, N, E, band-passed when the recipe says so: the one function
    /// both the stored and the on-demand forms come from.
    pub fn trace(&self, i: usize) -> Vec<f32> {
        let t = self.generator.trace(i);
        let Some(sos) = &self.bandpass else {
            return t.zne;
        };
        let n = t.zne.len() / 3;
        let mut out = Vec::with_capacity(t.zne.len());
        for comp in t.zne.chunks(n.max(1)) {
            let mut col: Vec<f64> = comp.iter().map(|v| f64::from(*v)).collect();
            filter_finite_runs(sos, &mut col, true);
            out.extend(col.iter().map(|v| *v as f32));
        }
        out
    }

    /// Writes the recipe group into `out`.
    pub fn write(&self, out: &hdf5::Group) -> anyhow::Result<()> {
        let g = out.create_group(GROUP)?;
        let generator = &self.generator;
        super::greens_bank::write(&g.create_group("bank")?, generator.bank(), &self.model)?;
        let settings = generator.settings();
        for (name, v) in [
            ("count", self.count as u64),
            ("samples", settings.samples as u64),
            ("p_at", settings.p_at as u64),
            ("seed", generator.seed()),
        ] {
            h5::write_attr(&g, name, v)?;
        }
        for (name, v) in [
            ("magnitude_min", settings.magnitudes[0]),
            ("magnitude_max", settings.magnitudes[1]),
            ("b_value", settings.b_value),
            ("snr_min_db", settings.snr_db[0]),
            ("snr_max_db", settings.snr_db[1]),
            ("stress_drop_mpa", settings.stress_drop_mpa),
        ] {
            h5::write_attr(&g, name, v)?;
        }
        match (generator.noise(), self.noise_band_hz) {
            (Noise::Real(segments), _) => {
                let lengths: Vec<u64> = segments.iter().map(|s| s[0].len() as u64).collect();
                let data: Vec<f32> = segments.iter().flatten().flatten().copied().collect();
                h5::write_array(&g, "noise", &[data.len()], &data)?;
                h5::write_array(&g, "noise_lengths", &[lengths.len()], &lengths)?;
            }
            (Noise::Coloured(_), Some([lo, hi])) => {
                h5::write_attr(&g, "noise_low_hz", lo)?;
                h5::write_attr(&g, "noise_high_hz", hi)?;
            }
            (Noise::Coloured(_), None) => {
                anyhow::bail!("internal error: coloured noise without its band")
            }
        }
        if let Some([lo, hi]) = self.bandpass_hz {
            h5::write_attr(&g, "bandpass_low_hz", lo)?;
            h5::write_attr(&g, "bandpass_high_hz", hi)?;
        }
        Ok(())
    }
}

/// Whether `g` holds a recipe.
pub fn is(g: &hdf5::Group) -> bool {
    g.link_exists(GROUP)
}

/// Reads the recipe of `g`; `what` names the input in errors.
pub fn read(g: &hdf5::Group, what: &str) -> anyhow::Result<Recipe> {
    let bad = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("{what}: recipe of an on-demand synth.picks set: {e}")
    };
    let r = g.group(GROUP).map_err(|e| bad(&e))?;
    let bank_group = r.group("bank").map_err(|e| bad(&e))?;
    let bank = super::greens_bank::read(&bank_group, what)?;
    let model = super::greens_bank::read_model(&bank_group, what)?;
    let int = |name: &str| h5::read_attr::<u64>(&r, name).map_err(|e| bad(&e));
    let float = |name: &str| h5::read_attr::<f64>(&r, name).map_err(|e| bad(&e));
    let settings = Settings {
        samples: int("samples")? as usize,
        p_at: int("p_at")? as usize,
        magnitudes: [float("magnitude_min")?, float("magnitude_max")?],
        b_value: float("b_value")?,
        snr_db: [float("snr_min_db")?, float("snr_max_db")?],
        stress_drop_mpa: float("stress_drop_mpa")?,
    };
    let noise = if r.link_exists("noise") {
        let (data, _) = h5::read_array::<f32>(&r, "noise").map_err(|e| bad(&e))?;
        let (lengths, _) = h5::read_array::<u64>(&r, "noise_lengths").map_err(|e| bad(&e))?;
        let mut segments = Vec::with_capacity(lengths.len());
        let mut at = 0usize;
        for len in lengths {
            let len = len as usize;
            if len < MIN_NOISE_SAMPLES {
                return Err(bad(&format!(
                    "a noise segment of {len} samples (at least {MIN_NOISE_SAMPLES})"
                )));
            }
            let end = at
                .checked_add(3 * len)
                .filter(|&e| e <= data.len())
                .ok_or_else(|| bad(&"noise_lengths exceed the noise data"))?;
            let seg = &data[at..end];
            segments.push(std::array::from_fn(|c| {
                seg[c * len..(c + 1) * len].to_vec()
            }));
            at = end;
        }
        NoiseSpec::Real(segments)
    } else {
        NoiseSpec::Coloured([float("noise_low_hz")?, float("noise_high_hz")?])
    };
    let bandpass = if r.attr("bandpass_low_hz").is_ok() {
        Some([float("bandpass_low_hz")?, float("bandpass_high_hz")?])
    } else {
        None
    };
    Recipe::new(
        bank,
        &model,
        settings,
        noise,
        bandpass,
        int("seed")?,
        int("count")? as usize,
    )
    .map_err(|e| bad(&e))
}

/// Real noise: the samples before each three-component trace's P pick, less `margin`, demeaned
/// and scaled to unit RMS per component; traces without a P pick, without three components,
/// with a gap in that stretch or with fewer than [`MIN_NOISE_SAMPLES`] (the generator's cross-fade needs that many) are skipped.
pub fn noise_segments(set: &super::waveform_set::WaveformSet, margin: usize) -> Vec<[Vec<f32>; 3]> {
    let n = set.samples;
    let mut out = Vec::new();
    for (i, t) in set.traces.iter().enumerate() {
        if t.p_sample.is_nan() || t.present != [true; 3] {
            continue;
        }
        let len = (t.p_sample.floor() as usize).saturating_sub(margin).min(n);
        if len < MIN_NOISE_SAMPLES {
            continue;
        }
        let x = set.trace(i);
        let comps: Vec<Vec<f32>> = (0..3)
            .filter_map(|c| {
                let mut seg: Vec<f64> = x[c * n..c * n + len]
                    .iter()
                    .map(|v| f64::from(*v))
                    .collect();
                if seg.iter().any(|v| !v.is_finite()) {
                    return None;
                }
                // Demeaned, unit standard deviation (= unit RMS); a flat segment stays zeros.
                standardise::components(&mut seg, len);
                seg.iter()
                    .any(|v| *v != 0.0)
                    .then(|| seg.iter().map(|v| *v as f32).collect())
            })
            .collect();
        if let Ok(c) = <[Vec<f32>; 3]>::try_from(comps) {
            out.push(c);
        }
    }
    out
}
