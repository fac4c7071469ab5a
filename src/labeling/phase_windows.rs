//! Training examples for phase pickers: windows cut from labelled traces, normalised, labelled
//! P/S/noise, augmented on the fly.
//!
//! What PhaseNet (Zhu & Beroza 2019, GJI 216:261, doi:10.1093/gji/ggy423) and KFpicker (Hong, Y.,
//! Byun, A.-H., Kim, S., & Sheen, D.-H. (2023), Customization of a deep neural network using local
//! data for seismic phase picking, Front. Earth Sci. 11:1306488, doi:10.3389/feart.2023.1306488)
//! feed their U-Nets, as a library the `train` stage calls per batch:
//!
//! - **Window**: `samples` (3000 = 30 s at 100 Hz) cut from a longer trace. The start is drawn
//!   uniformly from the starts the rule allows: within the trace; at most `max_start` samples
//!   after the trace start when given (Hong et al.'s pre-training: "shifted randomly within a
//!   maximum of 10 s" because STEAD/INSTANCE traces have little signal before P; without it the
//!   window moves "freely", their fine-tuning); and, when `keep_phase` and the trace has a pick,
//!   only starts whose window contains its P or its S ("a range that guaranteed the inclusion of
//!   either the P or S phase, or both"). A trace shorter than the window is an error.
//! - **Normalisation**: per component, the mean removed and divided by the standard deviation
//!   (a component with standard deviation 0 — missing, or flat — stays zeros). Gaps (NaN) are left
//!   out of both and become 0.
//! - **Labels**: `[3, samples]` rows noise, P, S. P and S are a truncated Gaussian (PhaseNet's
//!   code: σ = 6 samples, zero beyond ±15), a Gaussian, or a box of half-width `half_width`,
//!   centred on the (fractional) pick; noise = 1 − P − S, at least 0.
//! - **Augmentation** (Zhu, Mousavi & Beroza 2020, Adv. Geophys. 61:151,
//!   doi:10.1016/bs.agph.2020.07.003; Mousavi et al. 2020 EQTransformer's generator): with
//!   probability `noise_probability`, Gaussian noise added to each present component with σ drawn
//!   uniformly in `noise_fraction` times that component's largest absolute value in the window
//!   (before normalisation); with probability `drop_probability`, one or two of the present
//!   components zeroed (at least one kept) and the rest scaled by present/kept, after
//!   normalisation, so the input energy stays comparable.
//!
//! Every random draw comes from a generator seeded by `(seed, epoch, index)`, so an example is
//! the same whatever the batch order, thread count or the examples drawn before it.

use crate::data::waveform_set::Traces;
use crate::rng::Rng;
use crate::signal::standardise;

/// Shape of the P and S label curves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LabelShape {
    /// `exp(−d²/2σ²)` for `|d| ≤ half_width`, 0 beyond (PhaseNet).
    TruncatedGaussian { sigma: f64, half_width: f64 },
    /// `exp(−d²/2σ²)` everywhere.
    Gaussian { sigma: f64 },
    /// 1 for `|d| ≤ half_width`.
    Box { half_width: f64 },
}

impl LabelShape {
    /// PhaseNet's default: σ = 6 samples, truncated at ±15.
    pub const PHASENET: LabelShape = LabelShape::TruncatedGaussian {
        sigma: 6.0,
        half_width: 15.0,
    };

    /// The label value at distance `d` samples from the pick.
    pub fn at(self, d: f64) -> f64 {
        match self {
            LabelShape::TruncatedGaussian { sigma, half_width } => {
                if d.abs() <= half_width {
                    (-d * d / (2.0 * sigma * sigma)).exp()
                } else {
                    0.0
                }
            }
            LabelShape::Gaussian { sigma } => (-d * d / (2.0 * sigma * sigma)).exp(),
            LabelShape::Box { half_width } => f64::from(u8::from(d.abs() <= half_width)),
        }
    }
}

/// How examples are cut and augmented.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowConfig {
    /// Samples per window (3000).
    pub samples: usize,
    /// Latest window start, in samples from the trace start; `None`: anywhere in the trace.
    pub max_start: Option<usize>,
    /// Only windows that contain the trace's P or S (when it has one).
    pub keep_phase: bool,
    pub shape: LabelShape,
    pub noise_probability: f64,
    /// `[low, high]` fraction of each component's maximum |x| for the added noise's σ.
    pub noise_fraction: [f64; 2],
    pub drop_probability: f64,
}

impl Default for WindowConfig {
    /// PhaseNet's window and labels; EQTransformer's augmentation rates.
    fn default() -> WindowConfig {
        WindowConfig {
            samples: 3000,
            max_start: None,
            keep_phase: true,
            shape: LabelShape::PHASENET,
            noise_probability: 0.5,
            noise_fraction: [0.01, 0.15],
            drop_probability: 0.3,
        }
    }
}

/// One training example.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// `[3, samples]` Z, N, E, normalised.
    pub x: Vec<f32>,
    /// `[3, samples]` noise, P, S.
    pub y: Vec<f32>,
    /// Window start in the trace (samples).
    pub start: usize,
    /// Picks relative to the window start (NaN when absent or outside the window).
    pub p: f64,
    pub s: f64,
}

/// The starts the window rule allows for a trace of `n` samples with picks `p`, `s`.
pub fn allowed_starts(cfg: &WindowConfig, n: usize, p: f64, s: f64) -> Result<Vec<usize>, String> {
    let w = cfg.samples;
    if n < w {
        return Err(format!(
            "the trace has {n} samples, fewer than the {w} of a window"
        ));
    }
    let last = (n - w).min(cfg.max_start.unwrap_or(usize::MAX));
    let picks: Vec<f64> = [p, s].into_iter().filter(|v| !v.is_nan()).collect();
    let contains = |start: usize| {
        picks
            .iter()
            .any(|&t| t >= start as f64 && t < (start + w) as f64)
    };
    let starts: Vec<usize> = (0..=last)
        .filter(|&st| !cfg.keep_phase || picks.is_empty() || contains(st))
        .collect();
    if starts.is_empty() {
        return Err(format!(
            "no window of {w} samples starting at most {last} samples in contains its P ({p}) or S ({s})"
        ));
    }
    Ok(starts)
}

/// Labels `[3, samples]` (noise, P, S) for picks at window-relative samples `p`, `s` (NaN: none).
pub fn labels(shape: LabelShape, samples: usize, p: f64, s: f64) -> Vec<f32> {
    let mut y = vec![0f32; 3 * samples];
    for i in 0..samples {
        let curve = |t: f64| {
            if t.is_nan() {
                0.0
            } else {
                shape.at(i as f64 - t)
            }
        };
        let (vp, vs) = (curve(p), curve(s));
        y[samples + i] = vp as f32;
        y[2 * samples + i] = vs as f32;
        y[i] = (1.0 - vp - vs).max(0.0) as f32;
    }
    y
}

/// Samples `[start, start + w)` of each component of a trace `[3, n]`, normalised as
/// [`standardise::components`] does: the input of a picker at inference (evaluation, continuous annotation).
pub fn normalised_window(data: &[f32], n: usize, start: usize, w: usize) -> Vec<f32> {
    let mut x: Vec<f64> = (0..3)
        .flat_map(|c| {
            data[c * n + start..c * n + start + w]
                .iter()
                .map(|v| f64::from(*v))
        })
        .collect();
    standardise::components(&mut x, w);
    x.into_iter().map(|v| v as f32).collect()
}

/// Example `index` of `set` for `epoch`: window, augmentation, normalisation and labels.
pub fn example<T: Traces + ?Sized>(
    set: &T,
    index: usize,
    cfg: &WindowConfig,
    seed: u64,
    epoch: u64,
) -> Result<Example, String> {
    let t = set.meta(index);
    let n = set.samples();
    let starts = allowed_starts(cfg, n, t.p_sample, t.s_sample)
        .map_err(|e| format!("trace `{}`: {e}", t.name))?;
    let mut rng = Rng::new(seed, &format!("phase-window/{epoch}/{index}"));
    let start = starts[rng.below(starts.len() as u64) as usize];
    let w = cfg.samples;
    let data = set
        .data(index)
        .map_err(|e| format!("trace `{}`: {e:#}", t.name))?;
    let mut x: Vec<f64> = (0..3)
        .flat_map(|c| {
            data[c * n + start..c * n + start + w]
                .iter()
                .map(|v| f64::from(*v))
        })
        .collect();
    // Components present in this window (recorded and not all zero or NaN).
    let present: Vec<usize> = (0..3)
        .filter(|&c| {
            t.present[c]
                && x[c * w..(c + 1) * w]
                    .iter()
                    .any(|v| v.is_finite() && *v != 0.0)
        })
        .collect();
    if rng.uniform() < cfg.noise_probability {
        for &c in &present {
            let comp = &mut x[c * w..(c + 1) * w];
            let peak = comp
                .iter()
                .filter(|v| v.is_finite())
                .fold(0f64, |m, v| m.max(v.abs()));
            let [lo, hi] = cfg.noise_fraction;
            let sigma = (lo + (hi - lo) * rng.uniform()) * peak;
            for v in comp.iter_mut() {
                // Drawn for every sample (gaps too) so the stream does not depend on gaps.
                let e = rng.normal() * sigma;
                if v.is_finite() {
                    *v += e;
                }
            }
        }
    }
    standardise::components(&mut x, w);
    if present.len() > 1 && rng.uniform() < cfg.drop_probability {
        let mut order = present.clone();
        rng.shuffle(&mut order);
        let drop = 1 + rng.below((present.len() - 1).min(2) as u64) as usize;
        let scale = present.len() as f64 / (present.len() - drop) as f64;
        for (k, &c) in order.iter().enumerate() {
            for v in &mut x[c * w..(c + 1) * w] {
                *v = if k < drop { 0.0 } else { *v * scale };
            }
        }
    }
    let rel = |pick: f64| {
        let r = pick - start as f64;
        if (0.0..w as f64).contains(&r) {
            r
        } else {
            f64::NAN
        }
    };
    let (p, s) = (rel(t.p_sample), rel(t.s_sample));
    Ok(Example {
        x: x.into_iter().map(|v| v as f32).collect(),
        y: labels(cfg.shape, w, p, s),
        start,
        p,
        s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::waveform_set::Trace;
    use crate::data::waveform_set::WaveformSet;

    /// Hand-computed: a P at sample 10.5 with σ = 2, truncation ±3 → P = exp(−0.25/8) at 10 and
    /// 11, exp(−2.25/8) at 9 and 12, exp(−6.25/8) at 8 and 13, 0 at 7 and 14 (|d| = 3.5 > 3).
    #[test]
    fn truncated_gaussian_labels_match_a_hand_computed_case() {
        let shape = LabelShape::TruncatedGaussian {
            sigma: 2.0,
            half_width: 3.0,
        };
        let y = labels(shape, 20, 10.5, f64::NAN);
        let p = &y[20..40];
        let want = |d: f64| (-d * d / 8.0).exp() as f32;
        assert_eq!(p[10], want(0.5));
        assert_eq!(p[11], want(0.5));
        assert_eq!(p[9], want(1.5));
        assert_eq!(p[12], want(1.5));
        assert_eq!(p[8], want(2.5));
        assert_eq!(p[13], want(2.5));
        assert_eq!((p[7], p[14]), (0.0, 0.0));
        assert!(y[40..].iter().all(|v| *v == 0.0));
        for i in 0..20 {
            assert!((y[i] - (1.0 - p[i])).abs() < 1e-7, "noise at {i}");
        }
        // PhaseNet's default at integer picks: 1 at the pick, e^(−1/2) at ±6, 0 beyond ±15.
        let y = labels(LabelShape::PHASENET, 100, 50.0, 80.0);
        assert_eq!(y[100 + 50], 1.0);
        assert_eq!(y[100 + 56], (-0.5f64).exp() as f32);
        assert_eq!(y[100 + 66], 0.0);
        assert!(y[100 + 65] > 0.0);
        assert_eq!(y[200 + 80], 1.0);
        assert_eq!(y[80], 0.0);
        // Box and overlapping picks: noise never negative.
        let y = labels(LabelShape::Box { half_width: 2.0 }, 10, 4.0, 5.0);
        assert_eq!(&y[10..20], &[0., 0., 1., 1., 1., 1., 1., 0., 0., 0.]);
        assert!(y[..10].iter().all(|v| *v >= 0.0));
        assert_eq!(y[4], 0.0);
    }

    #[test]
    fn normalisation_is_per_component_and_leaves_flat_components_zero() {
        let mut x = vec![
            1.0,
            2.0,
            3.0,
            f64::NAN,
            5.0,
            5.0,
            5.0,
            5.0,
            0.0,
            0.0,
            2.0,
            2.0,
        ];
        standardise::components(&mut x, 4);
        // mean 2, population std sqrt(2/3) over the three finite samples.
        let s = (2.0f64 / 3.0).sqrt();
        assert_eq!(&x[..4], &[-1.0 / s, 0.0, 1.0 / s, 0.0]);
        assert_eq!(&x[4..8], &[0.0; 4]);
        assert_eq!(&x[8..], &[-1.0, -1.0, 1.0, 1.0]);
    }

    fn set(n: usize, p: f64, s: f64, present: [bool; 3]) -> WaveformSet {
        let mut set = WaveformSet::default();
        let data: Vec<f32> = (0..3 * n)
            .map(|i| {
                if present[i / n] {
                    ((i as f32) * 0.37).sin() * (1 + i / n) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let t = Trace {
            name: "t".into(),
            present,
            p_sample: p,
            s_sample: s,
            ..Trace::default()
        };
        set.push(&data, t, 100.0).unwrap();
        set
    }

    #[test]
    fn windows_keep_a_phase_and_respect_the_maximum_start() {
        let cfg = WindowConfig {
            samples: 100,
            max_start: Some(50),
            ..WindowConfig::default()
        };
        // P at 120, S at 400: windows [s, s+100) containing 120 → s in 21..=120; max 50.
        let st = allowed_starts(&cfg, 600, 120.0, 400.0).unwrap();
        assert_eq!((st[0], *st.last().unwrap(), st.len()), (21, 50, 30));
        let free = WindowConfig {
            max_start: None,
            ..cfg.clone()
        };
        let st = allowed_starts(&free, 600, 120.0, 400.0).unwrap();
        assert_eq!(st.len(), 100 + 100);
        assert!(allowed_starts(&cfg, 99, 10.0, f64::NAN).is_err());
        let err = allowed_starts(&cfg, 600, 300.0, f64::NAN).unwrap_err();
        assert!(err.contains("contains its P (300)"), "{err}");
        // A noise trace (no picks): every start.
        assert_eq!(
            allowed_starts(&cfg, 600, f64::NAN, f64::NAN).unwrap().len(),
            51
        );
    }

    #[test]
    fn examples_are_determined_by_seed_epoch_and_index_alone() {
        let s = set(1000, 300.0, 450.0, [true, true, true]);
        let cfg = WindowConfig {
            samples: 400,
            drop_probability: 0.5,
            ..WindowConfig::default()
        };
        let a = example(&s, 0, &cfg, 7, 3).unwrap();
        assert_eq!(a, example(&s, 0, &cfg, 7, 3).unwrap());
        // Another epoch or seed draws another window (with these numbers, a different start).
        let starts: std::collections::BTreeSet<usize> = (0..20)
            .map(|e| example(&s, 0, &cfg, 7, e).unwrap().start)
            .collect();
        assert!(starts.len() > 10, "{starts:?}");
        assert!(
            (0..20).any(|k| example(&s, 0, &cfg, k, 3).unwrap() != a),
            "seeds change examples"
        );
        // The picks and labels move with the window.
        assert_eq!(a.p, 300.0 - a.start as f64);
        assert_eq!(a.y[400 + a.p as usize], 1.0);
    }

    #[test]
    fn augmentation_adds_noise_and_drops_channels_as_configured() {
        let s = set(500, 100.0, 200.0, [true, true, true]);
        let plain = WindowConfig {
            samples: 500,
            noise_probability: 0.0,
            drop_probability: 0.0,
            ..WindowConfig::default()
        };
        let clean = example(&s, 0, &plain, 1, 0).unwrap();
        // Normalised: each component mean 0, std 1.
        for c in 0..3 {
            let comp = &clean.x[c * 500..(c + 1) * 500];
            let mean = comp.iter().map(|v| f64::from(*v)).sum::<f64>() / 500.0;
            let var = comp
                .iter()
                .map(|v| (f64::from(*v) - mean).powi(2))
                .sum::<f64>()
                / 500.0;
            assert!(
                mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5,
                "{mean} {var}"
            );
        }
        let noisy = WindowConfig {
            noise_probability: 1.0,
            ..plain.clone()
        };
        assert_ne!(example(&s, 0, &noisy, 1, 0).unwrap().x, clean.x);
        let drop = WindowConfig {
            drop_probability: 1.0,
            ..plain.clone()
        };
        for e in 0..10 {
            let d = example(&s, 0, &drop, 1, e).unwrap();
            let zero: Vec<bool> = (0..3)
                .map(|c| d.x[c * 500..(c + 1) * 500].iter().all(|v| *v == 0.0))
                .collect();
            let dropped = zero.iter().filter(|z| **z).count();
            assert!((1..=2).contains(&dropped), "{zero:?}");
            // The kept components are scaled by 3 / kept.
            let kept = (0..3).find(|&c| !zero[c]).unwrap();
            let scale = 3.0 / (3 - dropped) as f32;
            for i in 0..500 {
                let want = clean.x[kept * 500 + i] * scale;
                assert!((d.x[kept * 500 + i] - want).abs() < 1e-5);
            }
        }
        // A vertical-only trace has nothing to drop.
        let z = set(500, 100.0, 200.0, [true, false, false]);
        let d = example(&z, 0, &drop, 1, 0).unwrap();
        assert!(d.x[..500].iter().any(|v| *v != 0.0));
    }
}
