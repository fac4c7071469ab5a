//! Synthetic local-earthquake seismograms with known P and S arrivals, for pre-training pickers.
//!
//! STEAD and INSTANCE, on which Hong et al. (2023) pre-train, cannot be downloaded here; a
//! physics-based stand-in is a Green's-function bank of a layered Earth ([`crate::greens`], fk)
//! combined into three-component seismograms of random earthquakes, whose first P and S arrival
//! times are known exactly from the same model ([`crate::greens::arrivals::first_arrival`] with
//! Vp and with Vs). A trace `i` is drawn from a generator seeded by `(seed, i)` alone, so any
//! trace can be generated on demand, in any order, on any thread:
//!
//! - **Source**: a bank depth and distance (uniform over the grid), a station azimuth uniform in
//!   [0°, 360°), a double couple of uniformly random orientation (strike and rake uniform, cos dip
//!   uniform), a magnitude from a Gutenberg–Richter distribution (`b`) truncated to
//!   `[m_min, m_max]`.
//! - **Source time function**: a triangle (fk's trapezoid with rise ½) of duration 1/f_c, the
//!   Brune (1970, JGR 75:4997, doi:10.1029/JB075i026p04997) corner frequency
//!   `f_c = 0.49 β (Δσ / M₀)^⅓` with β = 3.5 km/s and stress drop Δσ, `M₀ = 10^(1.5 M + 9.1)` N·m
//!   (Hanks & Kanamori 1979, JGR 84:2348, doi:10.1029/JB084iB05p02348): 0.04 s at M 2, 0.4 s at
//!   M 4. Amplitudes are in cm (fk's units times M₀), differentiated to ground velocity (cm/s), as
//!   most stations record.
//! - **Rotation**: Z, R, T to Z, N, E with the back-azimuth (azimuth + 180° on a flat Earth).
//! - **Placement**: the P arrival on output sample `p_at` (to the nearest bank sample; the pick
//!   keeps its exact fractional position), zeros before it (the medium is at rest), bank samples
//!   after it; the S pick from the S travel time, NaN if it falls after the trace.
//! - **Noise**: real pre-P noise of a waveform set (each trace's samples before its P pick minus a
//!   margin, demeaned and scaled to unit RMS per component, stitched from random pieces of random
//!   traces with 25-sample linear cross-fades — the three components of a piece come from one
//!   trace, so their coherence is real), or parametric coloured noise (white Gaussian noise
//!   band-passed with a Butterworth filter, unit RMS). It is scaled so that the SNR
//!   `20 log₁₀(RMS of the signal in [P, P + 2 s] / RMS of the noise)`, over the three
//!   components, is drawn uniformly from `[snr_min, snr_max]` dB.
//!
//! The picks are the model's arrival times, exact. fk's Green's functions are band-limited (their
//! spectrum is tapered above 0.7 of Nyquist), so each arrival carries a precursor of a few
//! samples (up to about 0.06 s at 100 Hz, below 2 % of the trace's peak, measured in
//! `tests/synth_picks.rs`); a label is not moved to follow it. fk's time window is periodic: a
//! bank whose traces end before the coda has decayed wraps late energy into the quiet time before
//! P (measured: a 5.12-s bank at 10–20 km puts 4 % of the peak there, a 10.24-s bank under 2 %);
//! compute the bank with `npts` well beyond the S arrival of its farthest distance.

use crate::focal::{Mechanism, radiation};
use crate::greens::{Bank, LayeredModel, arrivals::first_arrival};
use crate::rng::Rng;
use crate::signal::butterworth::Section;

/// Samples of each linear cross-fade between stitched noise pieces.
const CROSSFADE: usize = 25;
/// Shortest usable pre-P noise segment, in samples.
pub const MIN_NOISE_SAMPLES: usize = 200;

/// Everything drawn for trace `i`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Source {
    pub depth: usize,
    pub distance: usize,
    pub azimuth_deg: f64,
    pub mechanism: Mechanism,
    pub magnitude: f64,
    pub snr_db: f64,
}

/// The ranges sources are drawn from and the trace layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Samples per trace.
    pub samples: usize,
    /// Output sample of the P arrival.
    pub p_at: usize,
    pub magnitudes: [f64; 2],
    pub b_value: f64,
    pub snr_db: [f64; 2],
    pub stress_drop_mpa: f64,
}

/// Where the noise comes from.
#[derive(Clone, Debug)]
pub enum Noise {
    /// White Gaussian noise band-passed by these sections.
    Coloured(Vec<Section>),
    /// Unit-RMS pre-P segments `[Z, N, E]` of real traces.
    Real(Vec<[Vec<f32>; 3]>),
}

/// One generated trace.
#[derive(Clone, Debug)]
pub struct SynthTrace {
    /// `[3, samples]` Z, N, E, velocity in cm/s, noise included.
    pub zne: Vec<f32>,
    pub p_sample: f64,
    pub s_sample: f64,
    pub source: Source,
}

/// Generates traces from a bank.
pub struct Generator {
    bank: Bank,
    /// `[depths, distances]` exact first P and S travel times, s.
    p_s: Vec<(f64, f64)>,
    settings: Settings,
    noise: Noise,
    seed: u64,
}

/// M₀ in N·m of moment magnitude `m` (Hanks & Kanamori 1979).
pub fn moment_nm(m: f64) -> f64 {
    10f64.powf(1.5 * m + 9.1)
}

/// Source duration in s: 1/f_c of Brune's spectrum (β = 3.5 km/s).
pub fn duration_s(m: f64, stress_drop_mpa: f64) -> f64 {
    let fc = 0.49 * 3500.0 * (stress_drop_mpa * 1e6 / moment_nm(m)).cbrt();
    1.0 / fc
}

impl Generator {
    /// Checks that the bank holds `samples − p_at` samples after P and computes the travel times.
    pub fn new(
        bank: Bank,
        model: &LayeredModel,
        settings: Settings,
        noise: Noise,
        seed: u64,
    ) -> Result<Generator, String> {
        let s = &bank.settings;
        let after = s.npts.saturating_sub(s.samples_before);
        if settings.samples < settings.p_at + 1 || settings.samples - settings.p_at > after {
            return Err(format!(
                "traces of {} samples with P at sample {} need {} samples after P; the bank's traces have {after} ({} samples of {} s, P at sample {}): lower `samples` or raise `p_at_s`, or compute a longer bank",
                settings.samples,
                settings.p_at,
                settings.samples.saturating_sub(settings.p_at),
                s.npts,
                s.dt_s,
                s.samples_before
            ));
        }
        if let Noise::Real(seg) = &noise
            && seg.is_empty()
        {
            return Err(format!(
                "no trace of the noise set has three components with at least {MIN_NOISE_SAMPLES} samples before its P pick"
            ));
        }
        let mut p_s = Vec::with_capacity(bank.depths_km.len() * bank.distances_km.len());
        for &depth in &bank.depths_km {
            let (layers, src) = model.with_source(depth).map_err(|e| e.message)?;
            let th: Vec<f64> = layers.iter().map(|l| l.thickness_km).collect();
            let vp: Vec<f64> = layers.iter().map(|l| l.vp).collect();
            let vs: Vec<f64> = layers.iter().map(|l| l.vs).collect();
            for &x in &bank.distances_km {
                p_s.push((
                    first_arrival(&th, &vp, src, x),
                    first_arrival(&th, &vs, src, x),
                ));
            }
        }
        Ok(Generator {
            bank,
            p_s,
            settings,
            noise,
            seed,
        })
    }

    pub fn sampling_rate_hz(&self) -> f64 {
        1.0 / self.bank.settings.dt_s
    }

    /// The parts it was made from (to store them: [`crate::data::picks_recipe`]).
    pub fn bank(&self) -> &Bank {
        &self.bank
    }
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    pub fn noise(&self) -> &Noise {
        &self.noise
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn distance_km(&self, src: &Source) -> f64 {
        self.bank.distances_km[src.distance]
    }

    pub fn depth_km(&self, src: &Source) -> f64 {
        self.bank.depths_km[src.depth]
    }

    /// First P and S travel times (s after the origin) of a source's path.
    pub fn travel_times(&self, src: &Source) -> (f64, f64) {
        self.p_s[src.depth * self.bank.distances_km.len() + src.distance]
    }

    fn rng(&self, i: usize) -> Rng {
        Rng::new(self.seed, &format!("synth.picks/{i}"))
    }

    /// The source of trace `i` (the first draws of its generator).
    fn draw(&self, rng: &mut Rng) -> Source {
        let st = &self.settings;
        let depth = rng.below(self.bank.depths_km.len() as u64) as usize;
        let distance = rng.below(self.bank.distances_km.len() as u64) as usize;
        let azimuth_deg = 360.0 * rng.uniform();
        let strike = 360.0 * rng.uniform();
        let dip = rng.uniform().acos().to_degrees();
        let rake = 360.0 * rng.uniform() - 180.0;
        let [m0, m1] = st.magnitudes;
        let b = st.b_value;
        let u = rng.uniform();
        let magnitude = m0 - (1.0 - u * (1.0 - 10f64.powf(-b * (m1 - m0)))).log10() / b;
        let snr_db = st.snr_db[0] + (st.snr_db[1] - st.snr_db[0]) * rng.uniform();
        Source {
            depth,
            distance,
            azimuth_deg,
            mechanism: Mechanism::new(strike, dip, rake),
            magnitude,
            snr_db,
        }
    }

    pub fn source(&self, i: usize) -> Source {
        self.draw(&mut self.rng(i))
    }

    /// Where `src`'s P arrival sits in the bank trace (fractional sample) and the shift that puts
    /// it on output sample `p_at` (to the nearest bank sample).
    fn placement(&self, src: &Source) -> (f64, i64) {
        let dt = self.bank.settings.dt_s;
        let (tp, _) = self.travel_times(src);
        let t0 = self.bank.start_s[src.depth * self.bank.distances_km.len() + src.distance];
        let p_bank = (tp - t0) / dt;
        (p_bank, self.settings.p_at as i64 - p_bank.round() as i64)
    }

    /// The P and S picks (output samples) of `src`, without synthesising it; S is NaN when it
    /// falls after the trace.
    pub fn picks(&self, src: &Source) -> (f64, f64) {
        let dt = self.bank.settings.dt_s;
        let (p_bank, offset) = self.placement(src);
        let (_, ts) = self.travel_times(src);
        let t0 = self.bank.start_s[src.depth * self.bank.distances_km.len() + src.distance];
        let s_pick = offset as f64 + (ts - t0) / dt;
        let n = self.settings.samples as f64;
        (
            offset as f64 + p_bank,
            if s_pick < n { s_pick } else { f64::NAN },
        )
    }

    /// The noise-free Z, R, T velocity of `src` on the output grid, and the P and S picks.
    pub fn signal(&self, src: &Source) -> ([Vec<f64>; 3], f64, f64) {
        let s = &self.bank.settings;
        let (dt, n) = (s.dt_s, self.settings.samples);
        let rad = radiation(&src.mechanism, src.azimuth_deg);
        let stf = super::trapezoid(
            duration_s(src.magnitude, self.settings.stress_drop_mpa),
            0.5,
            dt,
        );
        // fk: 1e-20 cm per dyne·cm; M₀ in dyne·cm = N·m × 1e7.
        let scale = moment_nm(src.magnitude) * 1e7 * 1e-20;
        let (_, offset) = self.placement(src);
        let mut zrt: [Vec<f64>; 3] = std::array::from_fn(|_| vec![0.0; n]);
        for (c, out) in zrt.iter_mut().enumerate() {
            let mut u = vec![0.0; s.npts];
            for (k, rk) in rad.iter().enumerate() {
                let r = rk[c];
                if r != 0.0 {
                    let g = self.bank.trace(src.depth, src.distance, 3 * k + c);
                    for (o, v) in u.iter_mut().zip(g) {
                        *o += r * f64::from(*v);
                    }
                }
            }
            let u = super::convolve_causal(&u, &stf);
            for (j, o) in out.iter_mut().enumerate() {
                let k = j as i64 - offset;
                if k >= 1 && (k as usize) + 1 < u.len() {
                    let k = k as usize;
                    *o = scale * (u[k + 1] - u[k - 1]) / (2.0 * dt);
                }
            }
        }
        let (p, s_pick) = self.picks(src);
        (zrt, p, s_pick)
    }

    /// Trace `i`: signal, rotation, noise at the drawn SNR.
    pub fn trace(&self, i: usize) -> SynthTrace {
        let mut rng = self.rng(i);
        let src = self.draw(&mut rng);
        let (zrt, p, s) = self.signal(&src);
        let n = self.settings.samples;
        let back_azimuth = src.azimuth_deg + 180.0;
        let mut zne = [zrt[0].clone(), vec![0.0; n], vec![0.0; n]];
        for j in 0..n {
            let (north, east) = super::rt_to_ne(zrt[1][j], zrt[2][j], back_azimuth);
            zne[1][j] = north;
            zne[2][j] = east;
        }
        // Signal RMS over [P, P + 2 s), three components.
        let first = (p.round().max(0.0) as usize).min(n);
        let last = (first + (2.0 * self.sampling_rate_hz()) as usize).min(n);
        let count = (3 * (last - first)).max(1) as f64;
        let rms_signal = (zne
            .iter()
            .map(|c| c[first..last].iter().map(|v| v * v).sum::<f64>())
            .sum::<f64>()
            / count)
            .sqrt();
        let level = rms_signal / 10f64.powf(src.snr_db / 20.0);
        let noise = self.noise_trace(&mut rng, n);
        let mut out = Vec::with_capacity(3 * n);
        for (c, comp) in zne.iter().enumerate() {
            out.extend(
                comp.iter()
                    .zip(&noise[c])
                    .map(|(v, e)| (v + level * e) as f32),
            );
        }
        SynthTrace {
            zne: out,
            p_sample: p,
            s_sample: s,
            source: src,
        }
    }

    /// Unit-RMS noise `[Z, N, E]` of `n` samples.
    fn noise_trace(&self, rng: &mut Rng, n: usize) -> [Vec<f64>; 3] {
        match &self.noise {
            Noise::Coloured(sos) => std::array::from_fn(|_| super::coloured_noise(rng, n, sos)),
            Noise::Real(segments) => {
                let mut out: [Vec<f64>; 3] = std::array::from_fn(|_| Vec::with_capacity(n));
                while out[0].len() < n {
                    let seg = &segments[rng.below(segments.len() as u64) as usize];
                    let len = seg[0].len();
                    let start = rng.below((len - 2 * CROSSFADE) as u64) as usize;
                    let fade = CROSSFADE.min(out[0].len());
                    for (o, s) in out.iter_mut().zip(seg) {
                        let piece = &s[start..];
                        let base = o.len() - fade;
                        for k in 0..fade {
                            let w = (k + 1) as f64 / (fade + 1) as f64;
                            o[base + k] = o[base + k] * (1.0 - w) + f64::from(piece[k]) * w;
                        }
                        o.extend(piece[fade..].iter().map(|v| f64::from(*v)));
                    }
                }
                for o in &mut out {
                    o.truncate(n);
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brune_durations_and_moments() {
        assert!((moment_nm(2.0) - 10f64.powf(12.1)).abs() < 1.0);
        let d2 = duration_s(2.0, 3.0);
        let d4 = duration_s(4.0, 3.0);
        assert!((0.03..0.06).contains(&d2), "{d2}");
        // Ten times the duration for two magnitude units (M₀ × 1000, f_c ∝ M₀^-⅓).
        assert!((d4 / d2 - 10.0).abs() < 1e-9);
    }
}
