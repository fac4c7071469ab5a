//! Synthetic training data: observatory records with a known precursor, and seismograms from a
//! Green's-function bank ([`crate::greens`]).
//!
//! - [`geomag`]: synthetic observatory data, catalog, Kp and precursor (Petrescu & Moldovan 2022).
//! - [`fmnet`]: the FMNet training set of Kuang et al. (2021), generated on demand.
//! - [`picks`]: local-earthquake 3-C seismograms with known P and S times, for phase pickers.
//! - [`trapezoid`], [`convolve_causal`]: fk `syn`'s source time function and its convolution.
//! - [`rt_to_ne`]: the horizontal rotation from radial/transverse to north/east.

pub mod fmnet;
pub mod geomag;
pub mod picks;

/// `n` samples of white Gaussian noise from `rng`, band-passed with `sos` (zero phase) and
/// scaled to unit RMS: the noise of `synth.fmnet`'s bank and of `synth.picks`' coloured noise.
pub fn coloured_noise(
    rng: &mut crate::rng::Rng,
    n: usize,
    sos: &[crate::signal::butterworth::Section],
) -> Vec<f64> {
    let white: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let padlen = crate::signal::sos::default_padlen(sos).min(n.saturating_sub(1));
    let x = crate::signal::sos::sosfiltfilt(sos, &white, padlen);
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / n.max(1) as f64)
        .sqrt()
        .max(1e-300);
    x.iter().map(|v| v / rms).collect()
}

/// North and east from radial `r` (away from the source) and transverse `t` (fk's sign) at a
/// station whose back-azimuth (station to source, degrees clockwise from north) is `baz_deg`.
pub fn rt_to_ne(r: f64, t: f64, baz_deg: f64) -> (f64, f64) {
    let (sb, cb) = baz_deg.to_radians().sin_cos();
    (-r * cb + t * sb, -r * sb - t * cb)
}

/// fk `syn`'s trapezoidal source time function of `duration_s` with rise fraction `rise`,
/// sampled at `dt_s`, with unit sum (so convolving keeps the moment): `ns = max(2, duration/dt)`
/// samples, ramps of `nr = max(1, rise·ns)` samples.
pub fn trapezoid(duration_s: f64, rise: f64, dt_s: f64) -> Vec<f64> {
    let ns = ((duration_s / dt_s) as usize).max(2);
    let nr = ((rise * ns as f64) as usize).clamp(1, ns / 2);
    let amp = 1.0 / (nr * (ns - nr)) as f64;
    (0..=ns)
        .map(|i| {
            if i < nr {
                amp * i as f64
            } else if i < ns - nr {
                amp * nr as f64
            } else {
                amp * (ns - i) as f64
            }
        })
        .collect()
}

/// `x * h` truncated to the length of `x` (causal filtering by `h`, as `syn` does).
pub fn convolve_causal(x: &[f64], h: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            h.iter()
                .take(i + 1)
                .enumerate()
                .map(|(j, hj)| hj * x[i - j])
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_has_unit_area_and_fk_shape() {
        let t = trapezoid(1.0, 0.5, 0.1);
        assert_eq!(t.len(), 11);
        assert!((t.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(t[0], 0.0);
        assert!((t[5] - 0.2).abs() < 1e-12 && t[10] == 0.0);
    }
}
