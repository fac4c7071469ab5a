//! How a picker is scored on the windows of a labelled waveform set against its analyst picks
//! (`evaluate.picks`): picks found and matched window by window ([`WindowScores`], with
//! [`crate::labeling::picks`]'s detection and matching), their errors binned by the S
//! signal-to-noise ratio and by distance ([`errors_by`], [`s_snr_db`]), residual histograms, and
//! the sweep of the P position through the window ([`position_sweep`]).
//!
//! Hong, Y., Byun, A.-H., Kim, S. & Sheen, D.-H. (2023). Customization of a deep neural network
//! using local data for seismic phase picking. Frontiers in Earth Science 11, 1306488.
//! doi:10.3389/feart.2023.1306488 (the tolerance matching, the SNR of S, the position sweep).

use crate::data::waveform_set::{self, Traces};
use crate::labeling::phase_windows;
use crate::labeling::picks::{self, Tally};

/// One position of the P-position sweep: `(P at s, windows, P F1, S F1)`.
pub type SweepPoint = (f64, usize, f64, f64);

/// The evaluation windows and what the picker made of them.
#[derive(Default)]
pub struct WindowScores {
    pub p: Tally,
    pub s: Tally,
    /// `(window, phase 1|2, sample, probability)`.
    pub picks: Vec<(usize, u8, usize, f32)>,
    /// FP and FN per window and phase: `[window][phase 0 P, 1 S] = (fp, fn)`.
    pub errors: Vec<[(usize, usize); 2]>,
}

/// Windows per call of the picker: a multiple of its batch of 32 (so blocking changes no batch),
/// 37 MB of inputs and outputs at 3000 samples, whatever the size of the evaluated set.
pub const BLOCK_WINDOWS: usize = 512;

/// How a window's picks are found and matched.
pub struct MatchRule {
    pub threshold: f32,
    /// Samples.
    pub min_distance: usize,
    /// Samples.
    pub tolerance: f64,
    /// Seconds per sample.
    pub dt: f64,
}

impl WindowScores {
    /// Scores the next windows: `probs` `[k, 3, n]` and their true picks (window samples).
    pub fn add(&mut self, probs: &[f32], truth: &[[f64; 2]], n: usize, rule: &MatchRule) {
        let first = self.errors.len();
        for (k, t) in truth.iter().enumerate() {
            let mut errs = [(0, 0); 2];
            for phase in 0..2 {
                let curve = &probs[(k * 3 + phase + 1) * n..(k * 3 + phase + 2) * n];
                let found = picks::detect(curve, rule.threshold, rule.min_distance);
                let o = picks::score(&found, t[phase], rule.tolerance);
                let tally = if phase == 0 { &mut self.p } else { &mut self.s };
                tally.add(&o, found.len(), rule.dt);
                errs[phase] = (o.false_positives, o.false_negatives);
                self.picks.extend(
                    found
                        .iter()
                        .map(|p| (first + k, phase as u8 + 1, p.sample, p.probability)),
                );
            }
            self.errors.push(errs);
        }
    }
}

/// Signal-to-noise ratio of a trace's S (Hong et al. 2023): RMS of the three components in the
/// `half` samples from the true S over the `half` samples before it, dB; NaN without S or data.
pub fn s_snr_db(set: &dyn Traces, i: usize, half: usize) -> anyhow::Result<f64> {
    let s = set.meta(i).s_sample;
    let n = set.samples();
    if s.is_nan() || half == 0 {
        return Ok(f64::NAN);
    }
    let s = s.round() as usize;
    if s < half || s + half > n {
        return Ok(f64::NAN);
    }
    // Only the `2 half` samples around S are read, not the trace.
    let data = set.span(i, s - half, s + half)?;
    let rms = |from: usize| {
        let (mut sum, mut count) = (0f64, 0usize);
        for c in 0..3 {
            for v in &data[c * 2 * half + from..c * 2 * half + from + half] {
                if v.is_finite() {
                    sum += f64::from(*v) * f64::from(*v);
                    count += 1;
                }
            }
        }
        (sum / count.max(1) as f64).sqrt()
    };
    let (signal, noise) = (rms(half), rms(0));
    Ok(if noise > 0.0 && signal > 0.0 {
        20.0 * (signal / noise).log10()
    } else {
        f64::NAN
    })
}

/// `[P FP, P FN, S FP, S FN]` for the classes below the split, at least the split, unknown.
pub type ErrorRows = [[usize; 4]; 3];

/// FP and FN of P and S per class of the traces of `chosen` (in evaluation order, as
/// `scored.errors`): by S SNR (`snr(i)`, dB) below / at least `snr_split_db` / unknown, and by
/// epicentral distance below / at least `distance_split_km` / unknown. Each row is
/// `[P FP, P FN, S FP, S FN]`.
pub fn errors_by(
    set: &dyn Traces,
    chosen: &[usize],
    scored: &WindowScores,
    snr: impl Fn(usize) -> anyhow::Result<f64>,
    snr_split_db: f64,
    distance_split_km: f64,
) -> anyhow::Result<(ErrorRows, ErrorRows)> {
    let mut by_snr = [[0usize; 4]; 3];
    let mut by_distance = [[0usize; 4]; 3];
    let class = |v: f64, split: f64| {
        if v.is_nan() {
            2
        } else if v < split {
            0
        } else {
            1
        }
    };
    for (w, &i) in chosen.iter().enumerate() {
        let e = scored.errors[w];
        let counts = [e[0].0, e[0].1, e[1].0, e[1].1];
        let s = class(snr(i)?, snr_split_db);
        let d = class(set.meta(i).distance_km, distance_split_km);
        for k in 0..4 {
            by_snr[s][k] += counts[k];
            by_distance[d][k] += counts[k];
        }
    }
    Ok((by_snr, by_distance))
}

/// F1 of P and S with the true P at each whole second `1..window` of the window (Hong et al.
/// 2023's test of position bias): every trace of `chosen` with a P is windowed at each position
/// that fits, read a block at a time ([`waveform_set::blocks`]) and scored with `rule`. One
/// [`SweepPoint`] per position that had windows; an error when none had.
pub fn position_sweep(
    set: &dyn Traces,
    chosen: &[usize],
    picker: &dyn Fn(&[f32], usize) -> Vec<f32>,
    n: usize,
    rule: &MatchRule,
) -> anyhow::Result<Vec<SweepPoint>> {
    let rate = set.sampling_rate_hz();
    let last = (n as f64 * rule.dt).floor() as usize;
    let mut at: Vec<WindowScores> = (1..last).map(|_| WindowScores::default()).collect();
    let samples = set.samples();
    let with_p: Vec<usize> = chosen
        .iter()
        .copied()
        .filter(|&i| !set.meta(i).p_sample.is_nan())
        .collect();
    for block in waveform_set::blocks(&with_p, samples) {
        let data = set.gather(block)?;
        for (pos, acc) in (1..last).zip(&mut at) {
            let mut xs = Vec::new();
            let mut tr = Vec::new();
            for (k, &i) in block.iter().enumerate() {
                let t = set.meta(i);
                let start = t.p_sample - pos as f64 * rate;
                if start < 0.0 || start.round() as usize + n > samples {
                    continue;
                }
                let start = start.round() as usize;
                let trace = &data[k * 3 * samples..(k + 1) * 3 * samples];
                xs.extend(phase_windows::normalised_window(trace, samples, start, n));
                let rel = |s: f64| {
                    let r = s - start as f64;
                    if (0.0..n as f64).contains(&r) {
                        r
                    } else {
                        f64::NAN
                    }
                };
                tr.push([rel(t.p_sample), rel(t.s_sample)]);
            }
            for (x, t) in xs
                .chunks(BLOCK_WINDOWS * 3 * n)
                .zip(tr.chunks(BLOCK_WINDOWS))
            {
                acc.add(&picker(x, n), t, n, rule);
            }
        }
    }
    let mut sweep = Vec::new();
    for (pos, s) in (1..last).zip(&at) {
        if !s.errors.is_empty() {
            sweep.push((pos as f64, s.errors.len(), s.p.f1(), s.s.f1()));
        }
    }
    anyhow::ensure!(
        !sweep.is_empty(),
        "position_sweep: no evaluated trace has a P with {n} samples of room around it"
    );
    Ok(sweep)
}

/// Histogram of residuals (s) in bins of `width` over ±`range`: `(bin centre, count)`.
pub fn histogram(r: &[f64], width: f64, range: f64) -> Vec<(f64, f64)> {
    let bins = (2.0 * range / width).round() as usize;
    let mut counts = vec![0f64; bins];
    for v in r {
        let b = ((v + range) / width).floor();
        if b >= 0.0 && (b as usize) < bins {
            counts[b as usize] += 1.0;
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(b, c)| (-range + (b as f64 + 0.5) * width, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_residuals() {
        let h = histogram(&[-0.01, 0.005, 0.015, 0.6], 0.02, 0.1);
        assert_eq!(h.len(), 10);
        assert!((h[4].0 + 0.01).abs() < 1e-12 && h[4].1 == 1.0, "{h:?}");
        assert!((h[5].0 - 0.01).abs() < 1e-12 && h[5].1 == 2.0, "{h:?}");
        assert_eq!(h.iter().map(|b| b.1).sum::<f64>(), 3.0, "0.6 lies outside");
    }
}
