//! Rational-factor resampling with an anti-aliasing FIR filter, as `scipy.signal.resample_poly`.
//!
//! Traces of a waveform set recorded at another rate than the set's (40 Hz broadband, 200 Hz
//! short period, 100 Hz for the pickers) are brought to one rate by upsampling by `up`, low-pass
//! filtering and downsampling by `down`. The filter and the sample alignment are SciPy's
//! (`resample_poly(x, up, down)` with its defaults `window=("kaiser", 5.0)`,
//! `padtype="constant"`): a Kaiser-windowed sinc (`firwin`) of `2·10·max(up, down) + 1` taps with
//! its cutoff at the lower Nyquist frequency, gain `up`, output sample 0 at input sample 0, and
//! `ceil(n·up/down)` outputs. The committed vectors in `tests/data/waveforms/mseed_reference.json`
//! (SciPy 1.17 on real samples) are the check. Polyphase evaluation: each output sums only the
//! taps that meet a non-zero sample of the upsampled input, `(2·10·max + 1) / up` products, with
//! the filter stored by phase.

use crate::signal::segments::finite_runs;

/// Modified Bessel function of the first kind, order 0 (power series; the Kaiser window's).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum, mut k) = (1.0f64, 1.0f64, 1.0f64);
    while term > 1e-17 * sum {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// `scipy.signal.firwin(taps, cutoff, window=("kaiser", beta))`: low-pass, `cutoff` relative to
/// the Nyquist frequency, scaled to unit gain at DC.
fn firwin_kaiser(taps: usize, cutoff: f64, beta: f64) -> Vec<f64> {
    let alpha = 0.5 * (taps as f64 - 1.0);
    let sinc = |x: f64| {
        if x == 0.0 {
            1.0
        } else {
            let px = std::f64::consts::PI * x;
            px.sin() / px
        }
    };
    let i0_beta = bessel_i0(beta);
    let mut h: Vec<f64> = (0..taps)
        .map(|n| {
            let m = n as f64 - alpha;
            // Symmetric Kaiser window (`get_window(..., fftbins=False)`).
            let r = if taps > 1 { m / alpha } else { 0.0 };
            let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
            cutoff * sinc(cutoff * m) * w
        })
        .collect();
    let s: f64 = h.iter().sum();
    for v in &mut h {
        *v /= s;
    }
    h
}

/// A reduced rational factor `up / down`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub up: usize,
    pub down: usize,
}

impl Ratio {
    pub fn new(up: usize, down: usize) -> Ratio {
        let g = gcd(up.max(1), down.max(1));
        Ratio {
            up: up.max(1) / g,
            down: down.max(1) / g,
        }
    }

    /// The factor from `from_hz` to `to_hz`, exact to a micro-hertz; an error when it is not a
    /// ratio of two integers up to 10,000 (the filter would be 200,000 taps or more).
    pub fn between(from_hz: f64, to_hz: f64) -> Result<Ratio, String> {
        let micro = |r: f64| (r * 1e6).round();
        let (a, b) = (micro(from_hz), micro(to_hz));
        if !(a >= 1.0 && b >= 1.0 && a < 1e15 && b < 1e15) {
            return Err(format!(
                "cannot resample from {from_hz} Hz to {to_hz} Hz: rates must be positive"
            ));
        }
        let r = Ratio::new(b as usize, a as usize);
        if r.up > 10_000 || r.down > 10_000 {
            return Err(format!(
                "cannot resample from {from_hz} Hz to {to_hz} Hz: the ratio {}/{} is not a ratio of small integers",
                r.up, r.down
            ));
        }
        Ok(r)
    }

    /// Output length for `n` inputs, `ceil(n · up / down)`.
    pub fn output_len(self, n: usize) -> usize {
        (n * self.up).div_ceil(self.down)
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The anti-aliasing filter of `resample_poly`: `firwin(2·half_len + 1, 1/max(up, down))` with
/// gain `up`, `half_len = 10·max(up, down)`.
fn filter(ratio: Ratio) -> (Vec<f64>, usize) {
    let max_rate = ratio.up.max(ratio.down);
    let half_len = 10 * max_rate;
    let mut h = firwin_kaiser(2 * half_len + 1, 1.0 / max_rate as f64, 5.0);
    for v in &mut h {
        *v *= ratio.up as f64;
    }
    (h, half_len)
}

/// Outputs `js` of samples `x` that start at input sample `start` of the whole trace: output
/// `j` lies at input time `j · down / up` and is `Σ_i x[i] · h[half_len + j·down − (start + i)·up]`
/// over the taps that exist (zeros outside `x`, SciPy's `padtype="constant"`). SciPy pads its
/// filter in front and drops the first outputs to put output 0 on input 0; this is the same
/// sum written with the filter centred on each output.
fn polyphase(x: &[f64], start: usize, js: std::ops::Range<usize>, ratio: Ratio) -> Vec<f64> {
    let (h, half_len) = filter(ratio);
    let (up, down) = (ratio.up as i64, ratio.down as i64);
    // The filter by phase, as SciPy's `upfirdn` stores it: output j uses only the taps
    // h[r], h[r + up], h[r + 2·up], … of its phase r, read contiguously.
    let phases: Vec<Vec<f64>> = (0..ratio.up)
        .map(|r| h.iter().skip(r).step_by(ratio.up).copied().collect())
        .collect();
    let n = x.len() as i64;
    js.map(|j| {
        // Position of output j on the upsampled grid, relative to x[0], plus the filter's centre.
        let t = j as i64 * down + half_len as i64 - start as i64 * up;
        // The newest input the filter reaches, its phase, and tap m ↔ input i_top − m.
        let i_top = t.div_euclid(up);
        let taps = &phases[(t - i_top * up) as usize];
        let m_first = (i_top - (n - 1)).max(0);
        let m_end = (i_top + 1).min(taps.len() as i64);
        (m_first..m_end)
            .map(|m| x[(i_top - m) as usize] * taps[m as usize])
            .sum()
    })
    .collect()
}

/// `scipy.signal.resample_poly(x, up, down)` with its default window and zero padding.
pub fn resample_poly(x: &[f64], ratio: Ratio) -> Vec<f64> {
    if ratio.up == 1 && ratio.down == 1 {
        return x.to_vec();
    }
    polyphase(x, 0, 0..ratio.output_len(x.len()), ratio)
}

/// Resamples a trace whose gaps are NaN: each finite run is resampled alone (a gap is never
/// smeared into data; each run's ends are treated as SciPy treats a trace's), and gaps stay gaps
/// on the new grid, where output `j` lies at input time `j · down / up`.
pub fn resample_with_gaps(x: &[f64], ratio: Ratio) -> Vec<f64> {
    if ratio.up == 1 && ratio.down == 1 {
        return x.to_vec();
    }
    let mut out = vec![f64::NAN; ratio.output_len(x.len())];
    for run in finite_runs(x) {
        // Outputs whose time falls inside the run: start ≤ j·down/up < end.
        let first = (run.start * ratio.up).div_ceil(ratio.down);
        let end = (run.end * ratio.up).div_ceil(ratio.down).min(out.len());
        if first >= end {
            continue;
        }
        let y = polyphase(&x[run.clone()], run.start, first..end, ratio);
        out[first..end].copy_from_slice(&y);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_i0_matches_reference_values() {
        // scipy.special.i0
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.2660658777520082).abs() < 1e-14);
        assert!((bessel_i0(5.0) - 27.239871823604442).abs() < 1e-12);
    }

    #[test]
    fn ratios_reduce_and_refuse_irrational_rates() {
        assert_eq!(
            Ratio::between(40.0, 100.0).unwrap(),
            Ratio { up: 5, down: 2 }
        );
        assert_eq!(
            Ratio::between(200.0, 100.0).unwrap(),
            Ratio { up: 1, down: 2 }
        );
        assert!(Ratio::between(99.99937, 100.0).is_err());
        assert_eq!(Ratio::new(5, 2).output_len(5980), 14950);
        assert_eq!(Ratio::new(1, 3).output_len(10), 4);
    }

    #[test]
    fn a_constant_shows_the_kaiser_filter_ripple_scipy_shows() {
        // scipy.signal.resample_poly(np.full(400, 2.0), 5, 2)[500]
        let y = resample_poly(&[2.0; 400], Ratio::new(5, 2));
        assert!((y[500] - 2.0013010331628727).abs() < 1e-12, "{}", y[500]);
    }

    /// SciPy 1.17's `resample_poly` on real samples (BK.BKS Z around its P arrival, and the
    /// Steim2 file's first 600 counts) for eight factors, committed by `generate_mseed.py`.
    #[test]
    fn matches_scipy_resample_poly_on_real_samples() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/waveforms/mseed_reference.json"
        );
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let floats = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let cases = r["resample_poly"].as_array().unwrap();
        assert_eq!(cases.len(), 16);
        for c in cases {
            let x = floats(&r["resample_inputs"][c["input"].as_str().unwrap()]);
            let ratio = Ratio::new(
                c["up"].as_u64().unwrap() as usize,
                c["down"].as_u64().unwrap() as usize,
            );
            let want = floats(&c["y"]);
            let got = resample_poly(&x, ratio);
            assert_eq!(got.len(), want.len(), "{ratio:?}");
            let scale = x.iter().fold(0f64, |m, v| m.max(v.abs()));
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-12 * scale,
                    "{} {ratio:?} sample {k}: {g} vs SciPy {w}",
                    c["input"]
                );
            }
            // Without gaps, the gap-aware path is the same computation.
            assert_eq!(resample_with_gaps(&x, ratio), got);
        }
    }

    #[test]
    fn gaps_stay_gaps_and_each_run_is_resampled_alone() {
        let mut x: Vec<f64> = (0..300).map(|i| (i as f64 * 0.05).sin()).collect();
        for v in &mut x[100..130] {
            *v = f64::NAN;
        }
        let ratio = Ratio::new(5, 2);
        let y = resample_with_gaps(&x, ratio);
        assert_eq!(y.len(), 750);
        // Outputs at input times 40..52 (exclusive of 52) are the gap: j·2/5 in [100, 130).
        assert!(y[250..325].iter().all(|v| v.is_nan()));
        assert!(y[..250].iter().chain(&y[325..]).all(|v| v.is_finite()));
        // The first run alone, as SciPy would resample it.
        assert_eq!(&y[..250], &resample_poly(&x[..100], ratio)[..]);
        // The second run starts between output samples of its own grid: output 325 is at input
        // time 130, its first sample, so it equals SciPy on the run's own first output.
        let second = resample_poly(&x[130..], ratio);
        for (a, b) in y[325..].iter().zip(&second) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
