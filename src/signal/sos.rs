//! Filtering with second-order sections, as `scipy.signal.sosfilt` / `sosfilt_zi` / `sosfiltfilt`.
//!
//! Each section is a direct-form-II-transposed biquad, evaluated in the same order of operations as
//! SciPy's `_sosfilt`. `sosfiltfilt` extends the signal at both ends by odd reflection
//! (`2*x[0] - x[pad..0]`), starts each pass from the steady state for the first sample
//! (`sosfilt_zi * x0`), runs forward, then backward, and trims the padding: the result has zero
//! phase and twice the order's attenuation (P&M 2022, Fig. 3: "applied twice (forward and backward)
//! to preserve phase").

use super::butterworth::Section;

/// Filters `x` in place, one run of finite samples at a time: NaN gaps stay NaN and are never
/// bridged (a filter run across a gap would smear the NaN, or invent data, into its
/// neighbours). Zero-phase (`sosfiltfilt` with SciPy's default padding) or causal (`sosfilt`).
/// Returns how many runs were no longer than that padding (filtered, but with edge effects the
/// padding could not absorb), for the stage to report.
pub fn filter_finite_runs(sos: &[Section], x: &mut [f64], zero_phase: bool) -> u64 {
    let padlen = default_padlen(sos);
    let mut short = 0;
    for run in super::segments::finite_runs(x) {
        let seg = &x[run.clone()];
        let out = if zero_phase {
            if seg.len() <= padlen {
                short += 1;
            }
            sosfiltfilt(sos, seg, padlen)
        } else {
            sosfilt(sos, seg)
        };
        x[run].copy_from_slice(&out);
    }
    short
}

/// Steady-state section states for a unit step input (`scipy.signal.sosfilt_zi`).
pub fn sosfilt_zi(sos: &[Section]) -> Vec<[f64; 2]> {
    let mut scale = 1.0;
    sos.iter()
        .map(|s| {
            let (b, a) = ([s[0], s[1], s[2]], [s[3], s[4], s[5]]);
            // lfilter_zi for a biquad normalised to a0 = 1: solve (I - companion(a)^T) zi = b[1:] - a[1:] b0.
            let (b, a) = (
                [b[0] / a[0], b[1] / a[0], b[2] / a[0]],
                [1.0, a[1] / a[0], a[2] / a[0]],
            );
            let rhs = [b[1] - a[1] * b[0], b[2] - a[2] * b[0]];
            let z0 = (rhs[0] + rhs[1]) / (1.0 + a[1] + a[2]);
            let z1 = rhs[1] - a[2] * z0;
            let zi = [scale * z0, scale * z1];
            scale *= (b[0] + b[1] + b[2]) / (a[0] + a[1] + a[2]);
            zi
        })
        .collect()
}

/// Filters `x` in place through the cascade, starting from (and updating) the section states `zi`.
pub fn sosfilt_inplace(sos: &[Section], x: &mut [f64], zi: &mut [[f64; 2]]) {
    for v in x.iter_mut() {
        let mut xn = *v;
        for (s, z) in sos.iter().zip(zi.iter_mut()) {
            let xc = xn;
            xn = s[0] * xc + z[0];
            z[0] = s[1] * xc - s[4] * xn + z[1];
            z[1] = s[2] * xc - s[5] * xn;
        }
        *v = xn;
    }
}

/// Causal filtering from rest (`scipy.signal.sosfilt` with `zi=None`).
pub fn sosfilt(sos: &[Section], x: &[f64]) -> Vec<f64> {
    let mut y = x.to_vec();
    let mut zi = vec![[0.0; 2]; sos.len()];
    sosfilt_inplace(sos, &mut y, &mut zi);
    y
}

/// SciPy's default pad length for `sosfiltfilt`: 3 × the number of taps, where a section whose
/// b2 and a2 are both zero counts one tap less.
pub fn default_padlen(sos: &[Section]) -> usize {
    let zero_b2 = sos.iter().filter(|s| s[2] == 0.0).count();
    let zero_a2 = sos.iter().filter(|s| s[5] == 0.0).count();
    3 * (2 * sos.len() + 1 - zero_b2.min(zero_a2))
}

/// Zero-phase forward-backward filtering with odd extension of `padlen` samples per side
/// (`scipy.signal.sosfiltfilt(sos, x, padtype="odd", padlen=padlen)`). `padlen` must be < `x.len()`.
pub fn sosfiltfilt(sos: &[Section], x: &[f64], padlen: usize) -> Vec<f64> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let edge = padlen.min(n - 1);
    let mut ext = Vec::with_capacity(n + 2 * edge);
    ext.extend((1..=edge).rev().map(|i| 2.0 * x[0] - x[i]));
    ext.extend_from_slice(x);
    ext.extend((1..=edge).map(|i| 2.0 * x[n - 1] - x[n - 1 - i]));
    let zi = sosfilt_zi(sos);
    let x0 = ext[0];
    let mut state: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * x0, z[1] * x0]).collect();
    sosfilt_inplace(sos, &mut ext, &mut state);
    ext.reverse();
    let y0 = ext[0];
    let mut state: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * y0, z[1] * y0]).collect();
    sosfilt_inplace(sos, &mut ext, &mut state);
    ext.reverse();
    ext[edge..edge + n].to_vec()
}
