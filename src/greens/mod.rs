//! Green's functions of a 1-D layered Earth by frequency–wavenumber integration: a re-derivation
//! of Lupei Zhu's `fk` (Zhu & Rivera 2002, GJI 148, 619–627) that reproduces its SAC output
//! (`DIST.grn.0` … `.8`, `.a` … `.c`) sample for sample in shape and amplitude.
//!
//! For every source depth the model gets an interface at the source; for every positive
//! frequency ω (with fk's imaginary part σ = 2/T that damps wrap-around, undone after the inverse
//! FFT) the wavenumber integral is the sum over k = ω·pmin + (i + ½)·dk, i = 0 … n(ω), of the
//! propagator [`kernel`] times Bessel functions J₀, J₁, J₂ of k·r (fk's `fk.f`), with
//! dk = `dk`·π / max(r_max, source depth). The spectrum is tapered above (1 − taper)·Nyquist,
//! shifted so that the trace starts 50 samples before the first P arrival
//! ([`arrivals::first_arrival`]), and inverse-transformed.
//!
//! Units are fk's: displacement in 10⁻²⁰ cm per dyne·cm of moment for an impulse moment-rate
//! function (10⁻¹⁵ cm per dyne for forces, not computed here). Terms, in fk's file order:
//! 0–2 = Z, R, T of the 45° dip-slip (DD, n = 0), 3–5 = DS (n = 1), 6–8 = SS (n = 2), 9–11 =
//! explosion (`.a`–`.c`). Z is up, R away from the source, T as fk writes it.

pub mod arrivals;
pub mod kernel;
pub mod model;

use num_complex::Complex64 as C;
use rayon::prelude::*;

use kernel::LayerAtFreq;
pub use model::{Layer, LayeredModel, ModelError};

/// Number of Green's-function terms per (depth, distance), fk's `.0`–`.8` then `.a`–`.c`.
pub const TERMS: usize = 12;
/// fk's file suffixes of the terms, in storage order.
pub const TERM_SUFFIXES: [&str; TERMS] =
    ["0", "1", "2", "3", "4", "5", "6", "7", "8", "a", "b", "c"];

/// fk's numerical parameters (fk.pl defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FkSettings {
    pub dt_s: f64,
    pub npts: usize,
    /// Non-dimensional wavenumber step; the step is `dk·π / max(r_max, depth)`.
    pub dk: f64,
    /// Slowness window of the integration in units of 1/Vs at the source.
    pub pmin: f64,
    pub pmax: f64,
    /// Largest wavenumber at zero frequency, in units of 1/depth.
    pub kmax: f64,
    /// Fraction of the band below Nyquist tapered by a cosine.
    pub taper: f64,
    /// The imaginary frequency in units of 1/T (fk: 2).
    pub sigma: f64,
    /// Samples kept before the first arrival.
    pub samples_before: usize,
}

impl FkSettings {
    pub fn new(dt_s: f64, npts: usize) -> Self {
        FkSettings {
            dt_s,
            npts,
            dk: 0.3,
            pmin: 0.0,
            pmax: 1.0,
            kmax: 15.0,
            taper: 0.3,
            sigma: 2.0,
            samples_before: 50,
        }
    }
}

/// A computed bank: `data[d][x][term][t]` and the start time of every trace.
#[derive(Clone, Debug)]
pub struct Bank {
    pub depths_km: Vec<f64>,
    pub distances_km: Vec<f64>,
    pub settings: FkSettings,
    /// Row-major `[depths, distances, TERMS, npts]`.
    pub data: Vec<f32>,
    /// Row-major `[depths, distances]`: time of the first sample after the origin, s.
    pub start_s: Vec<f64>,
    /// Row-major `[depths, distances]`: first P arrival (s), rounded to 0.01 s as fk.pl does.
    pub p_arrival_s: Vec<f64>,
}

impl Bank {
    pub fn trace(&self, d: usize, x: usize, term: usize) -> &[f32] {
        let n = self.settings.npts;
        let i = ((d * self.distances_km.len() + x) * TERMS + term) * n;
        &self.data[i..i + n]
    }
}

/// Computes the bank. `tick` is called once per finished (depth, frequency) unit, of which there
/// are `depths × npts/2`.
///
/// The propagator depends on depth, frequency and wavenumber but not on distance, so the unit of
/// parallel work is a (depth, frequency) pair that sums the wavenumber integral of every distance
/// at once: each (depth, distance) trace is then assembled from its column of spectra. Results
/// do not depend on the number of threads (every sum runs in a fixed order).
pub fn compute(
    model: &LayeredModel,
    depths_km: &[f64],
    distances_km: &[f64],
    settings: FkSettings,
    tick: &(dyn Fn() + Sync),
) -> Result<Bank, ModelError> {
    let s = settings;
    let nfreq = s.npts / 2;
    let nx = distances_km.len();
    let prepared = depths_km
        .iter()
        .map(|&d| model.with_source(d))
        .collect::<Result<Vec<_>, _>>()?;
    let r_max = distances_km.iter().copied().fold(0.0, f64::max);
    // Spectra[depth][freq][distance][term].
    let units: Vec<(usize, usize)> = (0..depths_km.len())
        .flat_map(|d| (0..nfreq).map(move |f| (d, f)))
        .collect();
    let spectra: Vec<Vec<[C; TERMS]>> = units
        .par_iter()
        .map(|&(d, f)| {
            let (layers, src) = &prepared[d];
            let col = frequency_column(layers, *src, depths_km[d], r_max, distances_km, f, &s);
            tick();
            col
        })
        .collect();
    let dw = 2.0 * std::f64::consts::PI / (s.npts as f64 * s.dt_s);
    let sigma = s.sigma * dw / (2.0 * std::f64::consts::PI);
    let wc = ((nfreq as f64 * (1.0 - s.taper)) as usize).max(1);
    let taper_step = std::f64::consts::PI / (nfreq - wc + 1) as f64;
    let mut data = vec![0f32; depths_km.len() * nx * TERMS * s.npts];
    let mut start = vec![0.0; depths_km.len() * nx];
    let mut p_arrival = vec![0.0; depths_km.len() * nx];
    let inverse = InverseDft::new(s.npts);
    // Thickness and Vp columns of each depth's layer stack, for the travel times.
    let columns: Vec<(Vec<f64>, Vec<f64>, usize)> = prepared
        .iter()
        .map(|(layers, src)| {
            (
                layers.iter().map(|l| l.thickness_km).collect(),
                layers.iter().map(|l| l.vp).collect(),
                *src,
            )
        })
        .collect();
    data.par_chunks_mut(TERMS * s.npts)
        .zip(start.par_iter_mut().zip(p_arrival.par_iter_mut()))
        .enumerate()
        .for_each(|(dx, (out, (t_start, t_p)))| {
            let (d, x) = (dx / nx, dx % nx);
            let (th, vp, src) = &columns[d];
            // fk.pl takes the travel time from `trav` printed with two decimals.
            *t_p = (arrivals::first_arrival(th, vp, *src, distances_km[x]) * 100.0).round() / 100.0;
            let t0 = *t_p - s.samples_before as f64 * s.dt_s;
            *t_start = t0;
            let dk = s.dk * std::f64::consts::PI / r_max.max(depths_km[d]);
            let norm = dk / (2.0 * std::f64::consts::PI);
            let mut spec = vec![C::new(0.0, 0.0); nfreq];
            for term in 0..TERMS {
                for (f, sp) in spec.iter_mut().enumerate() {
                    let mut filt = norm;
                    if f + 1 > wc {
                        filt *= 0.5 * (1.0 + ((f + 1 - wc) as f64 * taper_step).cos());
                    }
                    let w = f as f64 * dw;
                    *sp = spectra[d * nfreq + f][x][term] * filt * C::from_polar(1.0, w * t0);
                }
                let trace = inverse.real(&spec);
                for (i, (o, v)) in out[term * s.npts..(term + 1) * s.npts]
                    .iter_mut()
                    .zip(trace)
                    .enumerate()
                {
                    let t = i as f64 * s.dt_s + t0;
                    *o = (v / s.dt_s * (sigma * t).exp()) as f32;
                }
            }
        });
    Ok(Bank {
        depths_km: depths_km.to_vec(),
        distances_km: distances_km.to_vec(),
        settings,
        data,
        start_s: start,
        p_arrival_s: p_arrival,
    })
}

/// The wavenumber integrals at frequency index `f` for every distance (fk's inner loop).
fn frequency_column(
    layers: &[Layer],
    src: usize,
    depth_km: f64,
    r_max: f64,
    distances_km: &[f64],
    f: usize,
    s: &FkSettings,
) -> Vec<[C; TERMS]> {
    use std::f64::consts::PI;
    let dw = 2.0 * PI / (s.npts as f64 * s.dt_s);
    let sigma = s.sigma * dw / (2.0 * PI);
    let omega = f as f64 * dw;
    let w = C::new(omega, -sigma);
    // Causal attenuation: 1/V(ω) = 1/(V·(1 + (ln(ω/2π)/π + i/2)/Q)).
    let att = (w / (2.0 * PI)).ln() / PI + C::new(0.0, 0.5);
    let at_freq: Vec<LayerAtFreq> = layers
        .iter()
        .map(|l| LayerAtFreq {
            kp2: (w / (l.vp * (1.0 + att / l.qp))).powi(2),
            ks2: (w / (l.vs * (1.0 + att / l.qs))).powi(2),
            mu2: 2.0 * l.rho * l.vs * l.vs,
            thickness_km: l.thickness_km,
        })
        .collect();
    let sl = &layers[src];
    let sources = kernel::source_vectors(sl.vs * sl.vs / (sl.vp * sl.vp), sl.rho * sl.vs * sl.vs);
    let dk = s.dk * PI / r_max.max(depth_km);
    let kc = s.kmax / depth_km;
    let pmin = s.pmin / sl.vs;
    let pmax = s.pmax / sl.vs;
    let k0 = omega * pmin + 0.5 * dk;
    let nk = (((kc * kc + (pmax * omega).powi(2)).sqrt() - k0) / dk).max(0.0) as usize;
    let mut col = vec![[C::new(0.0, 0.0); TERMS]; distances_km.len()];
    for i in 0..nk {
        let k = omega * pmin + (0.5 + i as f64) * dk;
        let u = kernel::kernel(k, &at_freq, src, &sources);
        for (acc, &r) in col.iter_mut().zip(distances_km) {
            let z = k * r;
            let (j0, j1) = (libm::j0(z), libm::j1(z));
            let j2 = if z > 1.0 {
                2.0 * j1 / z - j0
            } else {
                libm::jn(2, z)
            };
            acc[0] += u[0][0] * j0;
            acc[1] += -u[0][1] * j1;
            acc[2] += -u[0][2] * j1;
            let nf = (u[1][1] + u[1][2]) * (j1 / z);
            acc[3] += u[1][0] * j1;
            acc[4] += u[1][1] * j0 - nf;
            acc[5] += u[1][2] * j0 - nf;
            let nf = (u[2][1] + u[2][2]) * (2.0 * j2 / z);
            acc[6] += u[2][0] * j2;
            acc[7] += u[2][1] * j1 - nf;
            acc[8] += u[2][2] * j1 - nf;
            acc[9] += u[3][0] * j0;
            acc[10] += -u[3][1] * j1;
            acc[11] += -u[3][2] * j1;
        }
    }
    col
}

/// Inverse real DFT of a half spectrum (bins 0 … N/2 − 1, Nyquist zero) with NumPy's `irfft`
/// normalisation (1/N), by direct summation with a precomputed table: N is a few hundred, and a
/// direct sum keeps the result independent of any FFT library's rounding.
struct InverseDft {
    n: usize,
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl InverseDft {
    fn new(n: usize) -> Self {
        let (cos, sin) = (0..n)
            .map(|j| {
                let a = 2.0 * std::f64::consts::PI * j as f64 / n as f64;
                (a.cos(), a.sin())
            })
            .unzip();
        InverseDft { n, cos, sin }
    }

    fn real(&self, half: &[C]) -> Vec<f64> {
        let n = self.n;
        (0..n)
            .map(|t| {
                let mut acc = half[0].re;
                for (k, x) in half.iter().enumerate().skip(1) {
                    let j = (k * t) % n;
                    acc += 2.0 * (x.re * self.cos[j] - x.im * self.sin[j]);
                }
                acc / n as f64
            })
            .collect()
    }
}
