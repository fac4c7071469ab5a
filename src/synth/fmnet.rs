//! The FMNet training set (Kuang et al. 2021, "Real-time determination of earthquake focal
//! mechanism via deep learning", Methods: training data).
//!
//! A sample is the 3-component displacement at S stations (rows `3·station + component`) for one
//! source grid point and one double couple: the bank's fundamental-source terms weighted by fk's
//! radiation coefficients ([`crate::focal::radiation`]) at each station's azimuth, convolved with
//! a source time function, band-passed (0.05–0.1 Hz in the paper), cut to a window aligned on the
//! theoretical P arrival, each station shifted by a random time (< 10 s, the paper's picking
//! errors), normalised to the maximum amplitude, with band-limited noise added and normalised
//! again. Labels are three Gaussian curves (σ = 10 bins over 128 bins) for strike, dip and rake.
//!
//! Filtering and the source time function are linear and do not depend on the mechanism, so they
//! are applied once to the bank ([`process_bank`]); a sample is then a weighted sum of processed
//! traces plus noise, cheap enough to generate on demand for every mini-batch. Randomness comes
//! from an [`Rng`] stream named by the sample index, so sample `i` is the same whenever and on
//! whichever thread it is generated.

use crate::focal::{Mechanism, radiation};
use crate::rng::Rng;
use crate::signal::butterworth::Section;
use crate::signal::sos::{default_padlen, sosfiltfilt};

/// A station (name and WGS84 coordinates in degrees).
#[derive(Clone, Debug, PartialEq)]
pub struct Station {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

/// A source grid point; `depth_index` indexes the bank's depths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridPoint {
    pub lat: f64,
    pub lon: f64,
    pub depth_km: f64,
    pub depth_index: usize,
}

/// Source-to-station geometry: the bank distance used, the true distance and the azimuths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Path {
    pub distance_index: usize,
    pub distance_km: f64,
    /// Source-to-station azimuth and the back-azimuth, degrees clockwise from north.
    pub az: f64,
    pub baz: f64,
}

/// Gaussian label curves over `bins` bins for strike, dip and rake ranges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Labels {
    /// (low, high) of strike, dip, rake in degrees; low maps to bin 0, high to bin `bins − 1`.
    pub ranges: [(f64, f64); 3],
    pub bins: usize,
    pub sigma_bins: f64,
}

impl Labels {
    fn position(&self, k: usize, v: f64) -> f64 {
        let (lo, hi) = self.ranges[k];
        (v - lo) / (hi - lo) * (self.bins - 1) as f64
    }

    /// Writes the three curves `[3, bins]` for `m`.
    pub fn encode(&self, m: &Mechanism, out: &mut [f32]) {
        for (k, v) in [m.strike, m.dip, m.rake].into_iter().enumerate() {
            let c = self.position(k, v);
            for (b, o) in out[k * self.bins..(k + 1) * self.bins]
                .iter_mut()
                .enumerate()
            {
                *o = (-0.5 * ((b as f64 - c) / self.sigma_bins).powi(2)).exp() as f32;
            }
        }
    }

    /// The mechanism at the peaks of three curves `[3, bins]` (the paper's prediction rule).
    pub fn decode(&self, curves: &[f32]) -> Mechanism {
        let v: Vec<f64> = (0..3)
            .map(|k| {
                let c = &curves[k * self.bins..(k + 1) * self.bins];
                let peak = c
                    .iter()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (i, &x)| {
                        if x > best.1 { (i, x) } else { best }
                    })
                    .0;
                let (lo, hi) = self.ranges[k];
                lo + peak as f64 / (self.bins - 1) as f64 * (hi - lo)
            })
            .collect();
        Mechanism::new(v[0], v[1], v[2])
    }
}

/// Which three components a station contributes, in row order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Components {
    /// Vertical (up), radial (away from the source), transverse (fk's convention).
    Zrt,
    /// Vertical, north, east: R and T rotated with the back-azimuth.
    Zne,
}

impl Components {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ZRT" => Some(Components::Zrt),
            "ZNE" => Some(Components::Zne),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Components::Zrt => "ZRT",
            Components::Zne => "ZNE",
        }
    }
}

/// Windowing, shifts and noise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Processing {
    /// Samples per trace in a sample (128).
    pub window: usize,
    /// Samples kept before the P arrival.
    pub pre_p: usize,
    /// Largest per-station shift in samples (uniform in [−max, max]).
    pub max_shift: usize,
    /// Noise RMS relative to the normalised peak, uniform in [min, max] per sample.
    pub noise: (f64, f64),
    pub components: Components,
}

/// Everything needed to generate any sample; what `synth.fmnet` stores.
#[derive(Clone, Debug)]
pub struct Generator {
    /// Processed bank `[depths, distances, 9, trace_len]` (DD, DS, SS terms), output sampling.
    pub bank: Vec<f32>,
    pub n_distances: usize,
    pub trace_len: usize,
    /// Index of the P arrival in a processed trace.
    pub p_index: usize,
    pub dt_s: f64,
    pub stations: Vec<Station>,
    pub grid: Vec<GridPoint>,
    /// `[grid, station]`.
    pub paths: Vec<Path>,
    /// The training mechanisms (the grid of strikes × dips × rakes).
    pub mechanisms: Vec<Mechanism>,
    /// Training samples per (grid point, mechanism): copies that differ only in their noise and
    /// shifts, so that a small grid still shows the network fresh noise every time it sees a
    /// mechanism instead of a noise realisation it can memorise.
    pub realisations: usize,
    /// Validation then test samples: (grid index, mechanism).
    pub held_out: Vec<(usize, Mechanism)>,
    pub n_validation: usize,
    /// Band-limited unit-RMS noise rows `[noise_rows, noise_len]`.
    pub noise: Vec<f32>,
    pub noise_len: usize,
    pub labels: Labels,
    pub processing: Processing,
    pub seed: u64,
}

/// Which part of the data set a sample belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Train,
    Validation,
    Test,
}

impl Generator {
    pub fn n_train(&self) -> usize {
        self.grid.len() * self.mechanisms.len() * self.realisations
    }
    pub fn len(&self) -> usize {
        self.n_train() + self.held_out.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn rows(&self) -> usize {
        3 * self.stations.len()
    }
    pub fn part(&self, i: usize) -> Part {
        if i < self.n_train() {
            Part::Train
        } else if i < self.n_train() + self.n_validation {
            Part::Validation
        } else {
            Part::Test
        }
    }
    /// Indices of one part.
    pub fn indices(&self, part: Part) -> std::ops::Range<usize> {
        let (t, v) = (self.n_train(), self.n_validation);
        match part {
            Part::Train => 0..t,
            Part::Validation => t..t + v,
            Part::Test => t + v..self.len(),
        }
    }
    /// Grid index and mechanism of sample `i`. Training samples run through the mechanisms
    /// fastest, then the realisations, then the grid points (with one realisation: point
    /// `i / m`, mechanism `i % m`).
    pub fn source(&self, i: usize) -> (usize, Mechanism) {
        let m = self.mechanisms.len();
        if i < self.n_train() {
            (i / (m * self.realisations), self.mechanisms[i % m])
        } else {
            self.held_out[i - self.n_train()]
        }
    }

    fn trace(&self, depth: usize, distance: usize, term: usize) -> &[f32] {
        let start = ((depth * self.n_distances + distance) * 9 + term) * self.trace_len;
        &self.bank[start..start + self.trace_len]
    }

    /// Writes sample `i`: waveforms `x` `[rows, window]` and label curves `y` `[3, bins]`.
    pub fn sample(&self, i: usize, x: &mut [f32], y: &mut [f32]) {
        let (g, mech) = self.source(i);
        let point = self.grid[g];
        let p = &self.processing;
        let w = p.window;
        let mut rng = Rng::new(self.seed, &format!("synth.fmnet/sample/{i}"));
        let ns = self.stations.len();
        for s in 0..ns {
            let path = self.paths[g * ns + s];
            let rad = radiation(&mech, path.az);
            let shift = if p.max_shift > 0 {
                rng.below(2 * p.max_shift as u64 + 1) as usize
            } else {
                0
            };
            // Window start: P − pre_p, moved by shift − max_shift ∈ [−max, max].
            let start = self.p_index + p.max_shift - p.pre_p - shift;
            let mut comps = vec![0f64; 3 * w];
            for (c, comp) in comps.chunks_mut(w).enumerate() {
                for (n, rn) in rad.iter().enumerate() {
                    let r = rn[c];
                    if r == 0.0 {
                        continue;
                    }
                    let t = self.trace(point.depth_index, path.distance_index, 3 * n + c);
                    for (o, v) in comp.iter_mut().zip(&t[start..start + w]) {
                        *o += r * *v as f64;
                    }
                }
            }
            let rows = &mut x[3 * s * w..3 * (s + 1) * w];
            match p.components {
                Components::Zrt => {
                    for (o, v) in rows.iter_mut().zip(&comps) {
                        *o = *v as f32;
                    }
                }
                Components::Zne => {
                    for t in 0..w {
                        let (n, e) = super::rt_to_ne(comps[w + t], comps[2 * w + t], path.baz);
                        rows[t] = comps[t] as f32;
                        rows[w + t] = n as f32;
                        rows[2 * w + t] = e as f32;
                    }
                }
            }
        }
        normalise(x);
        let level = p.noise.0 + (p.noise.1 - p.noise.0) * rng.uniform();
        if level > 0.0 && !self.noise.is_empty() {
            let rows = self.noise.len() / self.noise_len;
            for row in x.chunks_mut(w) {
                let k = rng.below(rows as u64) as usize;
                let off = rng.below((self.noise_len - w + 1) as u64) as usize;
                let n = &self.noise[k * self.noise_len + off..k * self.noise_len + off + w];
                for (o, v) in row.iter_mut().zip(n) {
                    *o += (level * *v as f64) as f32;
                }
            }
            normalise(x);
        }
        self.labels.encode(&mech, y);
    }

    /// Waveforms `[b, rows, window]` and label curves `[b, 3, bins]` of samples `idx`, generated
    /// in parallel (each sample is deterministic, so the batch is too).
    pub fn batch(&self, idx: &[usize]) -> (Vec<f32>, Vec<f32>) {
        use rayon::prelude::*;
        let (xs, ys) = (self.rows() * self.processing.window, 3 * self.labels.bins);
        let parts: Vec<(Vec<f32>, Vec<f32>)> = idx
            .par_iter()
            .map(|&i| {
                let (mut x, mut y) = (vec![0f32; xs], vec![0f32; ys]);
                self.sample(i, &mut x, &mut y);
                (x, y)
            })
            .collect();
        let (mut x, mut y) = (
            Vec::with_capacity(idx.len() * xs),
            Vec::with_capacity(idx.len() * ys),
        );
        for (a, b) in parts {
            x.extend(a);
            y.extend(b);
        }
        (x, y)
    }
}

/// Divides by the largest absolute value (left alone when all zero).
pub fn normalise(x: &mut [f32]) {
    let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    if peak > 0.0 {
        for v in x.iter_mut() {
            *v /= peak;
        }
    }
}

/// Applies the source time function `stf` (at the bank's sampling), the zero-phase band-pass
/// `sos` and decimation by `factor` to the double-couple terms (0–8) of every bank trace, keeping
/// the P arrival (bank sample `p_sample`) on an output sample. Returns the processed bank
/// `[traces/12·9, len]`, the output length and the P index.
pub fn process_bank(
    bank: &[f32],
    npts: usize,
    p_sample: usize,
    stf: &[f64],
    sos: &[Section],
    factor: usize,
) -> (Vec<f32>, usize, usize) {
    use rayon::prelude::*;
    let phase = p_sample % factor;
    let len = (npts - phase).div_ceil(factor);
    let padlen = default_padlen(sos).min(npts - 1);
    let traces: Vec<&[f32]> = bank
        .chunks(npts)
        .enumerate()
        .filter(|(i, _)| i % crate::greens::TERMS < 9)
        .map(|(_, t)| t)
        .collect();
    let out: Vec<Vec<f32>> = traces
        .par_iter()
        .map(|t| {
            let x: Vec<f64> = t.iter().map(|&v| v as f64).collect();
            let x = super::convolve_causal(&x, stf);
            let x = sosfiltfilt(sos, &x, padlen);
            x.iter()
                .skip(phase)
                .step_by(factor)
                .map(|&v| v as f32)
                .collect()
        })
        .collect();
    (out.concat(), len, (p_sample - phase) / factor)
}

/// `rows` traces of `len` samples of Gaussian noise band-passed with `sos` and scaled to unit RMS.
pub fn noise_bank(seed: u64, rows: usize, len: usize, sos: &[Section]) -> Vec<f32> {
    let mut rng = Rng::new(seed, "synth.fmnet/noise");
    (0..rows)
        .flat_map(|_| super::coloured_noise(&mut rng, len, sos))
        .map(|v| v as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_their_peaks() {
        let l = Labels {
            ranges: [(0.0, 360.0), (0.0, 90.0), (-90.0, 90.0)],
            bins: 128,
            sigma_bins: 10.0,
        };
        let mut y = vec![0f32; 3 * 128];
        l.encode(&Mechanism::new(360.0 / 127.0 * 40.0, 0.0, 90.0), &mut y);
        let m = l.decode(&y);
        assert!((m.strike - 360.0 / 127.0 * 40.0).abs() < 1e-9);
        assert_eq!((m.dip, m.rake), (0.0, 90.0));
        assert!((y[40] - 1.0).abs() < 1e-6 && (y[50] - (-0.5f32).exp()).abs() < 1e-6);
    }
}
