//! Butterworth IIR design as second-order sections.
//!
//! Follows SciPy's `signal.butter(N, Wn, btype, output="sos")` (`iirfilter` → `buttap` →
//! `lp2lp/lp2hp/lp2bp_zpk` → `bilinear_zpk` → `zpk2sos`): analog prototype poles
//! `-exp(iπ(2k-N+1)/2N)`, corners pre-warped with `tan`, bilinear transform, poles paired with their
//! nearest zeros. Sections are `[b0, b1, b2, 1, a1, a2]`, the overall gain is in the first section.
//! The grouping of poles into sections may differ from SciPy's, which changes rounding only (the
//! cascade's transfer function and steady state are the same); `tests/filter_reference.rs` checks
//! the filtered output against SciPy to 1e-9.

use num_complex::Complex64 as C;

/// Second-order section `[b0, b1, b2, a0 = 1, a1, a2]`.
pub type Section = [f64; 6];

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Band {
    Lowpass(f64),
    Highpass(f64),
    /// Low and high corner.
    Bandpass(f64, f64),
}

/// Designs an order-`order` Butterworth filter with corners in Hz for sampling rate `fs_hz`.
/// Corners must lie strictly between 0 and Nyquist (no silent clipping: a stored parameter must
/// describe the filter that was applied).
pub fn butter_sos(order: usize, band: Band, fs_hz: f64) -> Result<Vec<Section>, String> {
    if order == 0 {
        return Err("the filter order must be at least 1".into());
    }
    let nyquist = fs_hz / 2.0;
    let check = |f: f64| {
        if f > 0.0 && f < nyquist {
            Ok(f / nyquist)
        } else {
            Err(format!(
                "corner {f} Hz must lie strictly between 0 and the Nyquist frequency {nyquist} Hz \
                 (sampling interval {} s)",
                1.0 / fs_hz
            ))
        }
    };
    // Normalised to Nyquist, as SciPy's Wn; pre-warp for the bilinear transform with fs = 2.
    let warp = |wn: f64| 4.0 * (std::f64::consts::PI * wn / 2.0).tan();
    let n = order as i32;
    let proto: Vec<C> = (0..n)
        .map(|k| {
            let m = (-n + 1 + 2 * k) as f64;
            -C::from_polar(1.0, std::f64::consts::PI * m / (2.0 * n as f64))
        })
        .collect();
    let (zeros, poles, gain) = match band {
        Band::Lowpass(f) => {
            let wo = warp(check(f)?);
            let p: Vec<C> = proto.iter().map(|p| p * wo).collect();
            (Vec::new(), p, wo.powi(n))
        }
        Band::Highpass(f) => {
            let wo = warp(check(f)?);
            let p: Vec<C> = proto.iter().map(|p| wo / p).collect();
            // k * real(prod(-z) / prod(-p)) with no zeros.
            let prod: C = proto.iter().map(|p| -p).product();
            (
                vec![C::new(0.0, 0.0); order],
                p,
                (C::new(1.0, 0.0) / prod).re,
            )
        }
        Band::Bandpass(lo, hi) => {
            if lo >= hi {
                return Err(format!(
                    "bandpass corners must be increasing, got [{lo}, {hi}]"
                ));
            }
            let (w1, w2) = (warp(check(lo)?), warp(check(hi)?));
            let bw = w2 - w1;
            let wo = (w1 * w2).sqrt();
            let mut p = Vec::with_capacity(2 * order);
            let lp: Vec<C> = proto.iter().map(|p| p * bw / 2.0).collect();
            for q in &lp {
                p.push(q + (q * q - wo * wo).sqrt());
            }
            for q in &lp {
                p.push(q - (q * q - wo * wo).sqrt());
            }
            (vec![C::new(0.0, 0.0); order], p, bw.powi(n))
        }
    };
    // Bilinear transform with fs = 2 (fs2 = 4).
    let fs2 = C::new(4.0, 0.0);
    let zd: Vec<C> = zeros.iter().map(|z| (fs2 + z) / (fs2 - z)).collect();
    let pd: Vec<C> = poles.iter().map(|p| (fs2 + p) / (fs2 - p)).collect();
    let num: C = zeros.iter().map(|z| fs2 - z).product();
    let den: C = poles.iter().map(|p| fs2 - p).product();
    let kd = gain * (num / den).re;
    let mut zd = zd;
    zd.extend(std::iter::repeat_n(
        C::new(-1.0, 0.0),
        pd.len() - zeros.len(),
    ));
    Ok(zpk2sos(zd, pd, kd))
}

/// Groups poles into conjugate pairs (closest to the unit circle first) and gives each section the
/// nearest remaining zeros, like SciPy's `zpk2sos(pairing="nearest")`.
fn zpk2sos(mut zeros: Vec<C>, poles: Vec<C>, gain: f64) -> Vec<Section> {
    const TOL: f64 = 1e-12;
    let mut complex: Vec<C> = poles.iter().copied().filter(|p| p.im > TOL).collect();
    let mut real: Vec<f64> = poles
        .iter()
        .filter(|p| p.im.abs() <= TOL)
        .map(|p| p.re)
        .collect();
    let worst_first = |a: f64, b: f64| a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
    complex.sort_by(|a, b| worst_first((1.0 - a.norm()).abs(), (1.0 - b.norm()).abs()));
    real.sort_by(|a, b| worst_first((1.0 - a.abs()).abs(), (1.0 - b.abs()).abs()));
    let mut take_zero = |target: C| -> Option<f64> {
        let (idx, _) = zeros
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| worst_first((*a - target).norm(), (*b - target).norm()))?;
        Some(zeros.swap_remove(idx).re)
    };
    let mut sections = Vec::new();
    for p in complex {
        let z1 = take_zero(p);
        let z2 = take_zero(p);
        sections.push(section(z1, z2, [-2.0 * p.re, p.norm_sqr()]));
    }
    for pair in real.chunks(2) {
        let target = C::new(pair[0], 0.0);
        match pair {
            [a, b] => {
                let (z1, z2) = (take_zero(target), take_zero(target));
                sections.push(section(z1, z2, [-(a + b), a * b]));
            }
            [a] => {
                let z1 = take_zero(target);
                sections.push(section(z1, None, [-a, 0.0]));
            }
            _ => {}
        }
    }
    if let Some(first) = sections.first_mut() {
        for c in &mut first[..3] {
            *c *= gain;
        }
    }
    sections
}

/// Numerator from up to two real zeros, denominator `[1, a1, a2]`.
fn section(z1: Option<f64>, z2: Option<f64>, a: [f64; 2]) -> Section {
    let b = match (z1, z2) {
        (Some(x), Some(y)) => [1.0, -(x + y), x * y],
        (Some(x), None) | (None, Some(x)) => [1.0, -x, 0.0],
        (None, None) => [1.0, 0.0, 0.0],
    };
    [b[0], b[1], b[2], 1.0, a[0], a[1]]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |H(e^{iω})| of a cascade.
    fn gain_at(sos: &[Section], f_over_fs: f64) -> f64 {
        let z = C::from_polar(1.0, -2.0 * std::f64::consts::PI * f_over_fs);
        sos.iter()
            .map(|s| ((s[0] + s[1] * z + s[2] * z * z) / (s[3] + s[4] * z + s[5] * z * z)).norm())
            .product()
    }

    #[test]
    fn corners_are_at_minus_3_db() {
        let half_power = std::f64::consts::FRAC_1_SQRT_2;
        for order in 1..=8 {
            let lp = butter_sos(order, Band::Lowpass(10.0), 100.0).unwrap();
            assert!(
                (gain_at(&lp, 0.1) - half_power).abs() < 1e-12,
                "order {order}"
            );
            assert!((gain_at(&lp, 0.0) - 1.0).abs() < 1e-12);
            let hp = butter_sos(order, Band::Highpass(10.0), 100.0).unwrap();
            assert!((gain_at(&hp, 0.1) - half_power).abs() < 1e-12);
            assert!((gain_at(&hp, 0.5) - 1.0).abs() < 1e-12);
            let bp = butter_sos(order, Band::Bandpass(5.0, 20.0), 100.0).unwrap();
            assert!((gain_at(&bp, 0.05) - half_power).abs() < 1e-9);
            assert!((gain_at(&bp, 0.2) - half_power).abs() < 1e-9);
            assert_eq!(bp.len(), order);
        }
    }

    #[test]
    fn corners_outside_nyquist_are_errors() {
        assert!(
            butter_sos(4, Band::Lowpass(60.0), 100.0)
                .unwrap_err()
                .contains("Nyquist")
        );
        assert!(
            butter_sos(4, Band::Bandpass(20.0, 5.0), 100.0)
                .unwrap_err()
                .contains("increasing")
        );
    }
}
