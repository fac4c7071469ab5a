//! Synthetic 1-minute observatory data, catalog and Kp with an optional precursor: the stand-in
//! for multi-year observatory records that `synth.geomag` writes (Petrescu, L. & Moldovan, I.-A.
//! (2022), Prospective neural network model for seismic precursory signal detection in
//! geomagnetic field records, Mach. Learn. Knowl. Extr. 4, 912–923, doi:10.3390/make4040046).
//!
//! # Model (all amplitudes in nT; t in the series' UTC)
//! - **Main field**: X0, Y0, Z0 plus a linear secular variation.
//! - **Sq (solar quiet) variation**: a daytime bell in local time (`LT = UT + lon/15`), centred
//!   on local noon with 3.5 h width and zero daily mean; X = −A·g, Y = 0.6·A·g′, Z = −0.4·A·g, with
//!   A = `sq_amplitude_nt` × (1 + 0.4 cos(2π(doy − 172)/365.25)) (summer maximum, flipped south of
//!   the equator) × a day-to-day factor 1 + 0.2·N(0, 1).
//! - **Kp**: quiet background 1.7 + AR(1) (φ = 0.9, σ = 0.3 per 3 h), clipped to 0–4, and storms as
//!   a Poisson process (`storm_rate_per_year`), each with peak Kp 5–8 decaying with an 18 h time
//!   constant; rounded to thirds as published.
//! - **Storms in the field**: a sudden commencement (+20 nT in X within 5 min), a main phase
//!   deepening to D = −15·(Kp_max − 4)² over 6 h, then an exponential recovery (τ = 15 h); Z gets
//!   0.3·, Y 0.1· of the X disturbance.
//! - **Activity noise**: red noise (AR(1), φ = 0.95 per minute) with standard deviation
//!   0.25·exp(0.7·Kp) (1 nT at Kp 2, 8 nT at Kp 5), independent per component (Z half).
//! - **Instrument noise**: white, `noise_nt`.
//! - **Gaps**: a Poisson number (`gap_rate_per_year`); 70 % last 1–3 min, 25 % 5–60 min, 5 % 1–12 h.
//! - **Catalog**: a Poisson process (`event_rate_per_year`), epicentres uniform on a disk of
//!   `catalog_radius_km` around the station, depths uniform 2–`max_depth_km`, magnitudes
//!   Gutenberg–Richter with `b_value` between `magnitude_min` and `magnitude_max` (type Mw).
//! - **Precursor** (`precursor_strength` > 0): over the `precursor_duration` before each event, noise
//!   band-limited to `precursor_band_hz` (the ULF Pc5 band at 1-min sampling; Molchanov et al. \[20\]
//!   report ULF emissions), with unit RMS times a linear ramp from 0 to 1, times
//!   S·10^(0.3(M−4))·max(0, 1 − d/R(M)), R(M) = 10^(0.3M + 1) km. R(M) passes through the
//!   detectability radii the paper cites: ~160 km at M 4 and ~630 km at M 6 (\[20\]: 100–200 km for
//!   M 4–6 at depths < 30 km) and ~830 km at M 6.4 (\[22\]: ~800 km). Added to Z, and half of it to X.
//!   The precursor draws from its own random stream, so the rest of the data is identical with and
//!   without it.

use crate::geo::distance_km;
use crate::io::catalog::Event;
use crate::io::kp;
use crate::rng::Rng;
use crate::series::{Station, TimeSeries};
use crate::signal::butterworth::{Band, butter_sos};
use crate::signal::sos::{default_padlen, sosfiltfilt};
use crate::time::{NS_PER_DAY, NS_PER_S, civil_from_days, days_from_civil};

/// Every knob of the generator (`synth.geomag` fills it from its parameters).
pub struct Config {
    pub start_ns: i64,
    pub n: usize,
    pub interval_ns: i64,
    pub lat: f64,
    pub lon: f64,
    pub station: String,
    pub sq_amplitude: f64,
    pub storm_rate: f64,
    pub noise: f64,
    pub gap_rate: f64,
    pub event_rate: f64,
    pub radius_km: f64,
    pub max_depth_km: f64,
    pub m_min: f64,
    pub m_max: f64,
    pub b: f64,
    pub precursor_strength: f64,
    pub precursor_ns: i64,
    pub band: (f64, f64),
}

impl Config {
    fn years(&self) -> f64 {
        self.n as f64 * self.interval_ns as f64 / (365.25 * NS_PER_DAY as f64)
    }

    fn end_ns(&self) -> i64 {
        self.start_ns + self.n as i64 * self.interval_ns
    }
}

/// Poisson-distributed count (Knuth for small means, normal approximation above 500).
fn poisson(rng: &mut Rng, mean: f64) -> usize {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 500.0 {
        return (mean + mean.sqrt() * rng.normal()).round().max(0.0) as usize;
    }
    let limit = (-mean).exp();
    let (mut k, mut prod) = (0usize, rng.uniform());
    while prod > limit {
        k += 1;
        prod *= rng.uniform();
    }
    k
}

pub struct Storm {
    pub onset_ns: i64,
    pub kp_max: f64,
}

pub struct Synthetic {
    pub series: TimeSeries,
    pub events: Vec<Event>,
    pub kp: kp::KpSeries,
    pub storms: Vec<Storm>,
    pub precursor_amplitude: Vec<f64>,
    pub gaps: usize,
}

/// The precursor amplitude of an event of magnitude `m` at `d_km` for strength `s` (see module doc).
pub fn precursor_amplitude(s: f64, m: f64, d_km: f64) -> f64 {
    let radius = 10f64.powf(0.3 * m + 1.0);
    s * 10f64.powf(0.3 * (m - 4.0)) * (1.0 - d_km / radius).max(0.0)
}

pub fn generate(c: &Config, seed: u64) -> Result<Synthetic, String> {
    let step_s = c.interval_ns as f64 / 1e9;
    let kp_step = kp::INTERVAL_S * NS_PER_S;
    // Kp: background + storms, on whole 3-hour UT intervals covering the series.
    let mut rng = Rng::new(seed, "synth.geomag/kp");
    let kp0 = c.start_ns.div_euclid(kp_step) * kp_step;
    let n_kp = ((c.end_ns() - kp0) as f64 / kp_step as f64).ceil() as usize;
    let mut storms: Vec<Storm> = (0..poisson(&mut rng, c.storm_rate * c.years()))
        .map(|_| Storm {
            onset_ns: c.start_ns + (rng.uniform() * (c.end_ns() - c.start_ns) as f64) as i64,
            kp_max: 5.0 + 3.0 * rng.uniform().powi(2),
        })
        .collect();
    storms.sort_by_key(|s| s.onset_ns);
    let mut x = 0.0;
    let kp_series: kp::KpSeries = (0..n_kp)
        .map(|k| {
            x = 0.9 * x + 0.3 * rng.normal();
            let t = kp0 + k as i64 * kp_step;
            // The interval holding the onset carries the peak; later ones decay from it.
            let storm = storms
                .iter()
                .filter(|s| s.onset_ns < t + kp_step)
                .map(|s| s.kp_max * (-((t - s.onset_ns).max(0) as f64 / 3.6e12) / 18.0).exp())
                .fold(0.0, f64::max);
            let v = (1.7 + x).clamp(0.0, 4.0).max(storm);
            (t, ((v * 3.0).round() / 3.0).clamp(0.0, 9.0))
        })
        .collect();
    let kp_at = |t: i64| kp_series[(((t - kp0) / kp_step) as usize).min(n_kp - 1)].1;

    // Field.
    let mut data = vec![0.0f64; c.n * 3];
    let mut rng = Rng::new(seed, "synth.geomag/field");
    let south = c.lat < 0.0;
    let days = c.n as i64 * c.interval_ns / NS_PER_DAY + 2;
    let day_factor: Vec<f64> = (0..days).map(|_| 1.0 + 0.2 * rng.normal()).collect();
    // Zero-mean daytime bell: subtract its mean over a day (numerically, once).
    let bell = |lt: f64| (-0.5 * ((lt - 12.0) / 3.5).powi(2)).exp();
    let bell_mean = (0..1440).map(|i| bell(i as f64 / 60.0)).sum::<f64>() / 1440.0;
    let phi: f64 = 0.95f64.powf(step_s / 60.0);
    let mut red = [0.0f64; 3];
    let day0 = c.start_ns.div_euclid(NS_PER_DAY);
    for i in 0..c.n {
        let t = c.start_ns + i as i64 * c.interval_ns;
        let years = (t - c.start_ns) as f64 / (365.25 * NS_PER_DAY as f64);
        let day = t.div_euclid(NS_PER_DAY);
        let ut_h = t.rem_euclid(NS_PER_DAY) as f64 / 3.6e12;
        let lt = (ut_h + c.lon / 15.0).rem_euclid(24.0);
        let (y, _, _) = civil_from_days(day);
        let doy = (day - days_from_civil(y, 1, 1) + 1) as f64;
        let season = 1.0
            + if south { -0.4 } else { 0.4 }
                * (2.0 * std::f64::consts::PI * (doy - 172.0) / 365.25).cos();
        let a = c.sq_amplitude * season * day_factor[(day - day0) as usize];
        let g = bell(lt) - bell_mean;
        let g_prime = -(lt - 12.0) / 3.5 * bell(lt);
        let mut v = [
            21_000.0 + 15.0 * years - a * g,
            1_500.0 + 5.0 * years + 0.6 * a * g_prime,
            42_000.0 + 30.0 * years - 0.4 * a * g,
        ];
        // Storms: sudden commencement, main phase, recovery.
        let mut dist = 0.0;
        for s in storms
            .iter()
            .filter(|s| s.onset_ns <= t && t - s.onset_ns < 10 * NS_PER_DAY)
        {
            let h = (t - s.onset_ns) as f64 / 3.6e12;
            let depth = -15.0 * (s.kp_max - 4.0).powi(2);
            let ssc = 20.0 * (1.0 - (-h * 12.0).exp());
            let main = if h < 6.0 {
                depth * (1.0 - (-h / 2.0).exp())
            } else {
                depth * (1.0 - (-3.0f64).exp()) * (-(h - 6.0) / 15.0).exp()
            };
            dist += ssc * (-h / 3.0).exp() + main;
        }
        v[0] += dist;
        v[1] += 0.1 * dist;
        v[2] += 0.3 * dist;
        // Activity (red) noise scaled by Kp, then instrument noise.
        let sigma = 0.25 * (0.7 * kp_at(t)).exp();
        let innovation = sigma * (1.0 - phi * phi).sqrt();
        for (k, r) in red.iter_mut().enumerate() {
            *r = phi * *r + innovation * rng.normal();
            v[k] += if k == 2 { 0.5 * *r } else { *r } + c.noise * rng.normal();
        }
        data[i * 3..i * 3 + 3].copy_from_slice(&v);
    }

    // Catalog.
    let mut rng = Rng::new(seed, "synth.geomag/catalog");
    let mut events: Vec<Event> = (0..poisson(&mut rng, c.event_rate * c.years()))
        .map(|_| {
            let t = c.start_ns + (rng.uniform() * (c.end_ns() - c.start_ns) as f64) as i64;
            let r = c.radius_km * rng.uniform().sqrt();
            let az = 2.0 * std::f64::consts::PI * rng.uniform();
            let km_per_deg = 6371.0 * std::f64::consts::PI / 180.0;
            let lat = c.lat + r * az.cos() / km_per_deg;
            let lon = c.lon + r * az.sin() / (km_per_deg * c.lat.to_radians().cos().max(0.05));
            let depth = 2.0 + (c.max_depth_km - 2.0) * rng.uniform();
            let span = 1.0 - 10f64.powf(-c.b * (c.m_max - c.m_min));
            let m = c.m_min - (1.0 - rng.uniform() * span).log10() / c.b;
            Event {
                id: String::new(),
                time_ns: t,
                latitude_deg: lat,
                longitude_deg: lon,
                depth_km: Some((depth * 10.0).round() / 10.0),
                magnitude: Some((m * 10.0).round() / 10.0),
                magnitude_type: Some("Mw".into()),
                event_type: "earthquake".into(),
                line: 0,
            }
        })
        .collect();
    events.sort_by_key(|e| e.time_ns);
    for (k, e) in events.iter_mut().enumerate() {
        e.id = format!("SYN{:05}", k + 1);
    }

    // Precursors, from their own stream so the rest is identical without them.
    let mut rng = Rng::new(seed, "synth.geomag/precursor");
    let sos = butter_sos(
        4,
        Band::Bandpass(c.band.0, c.band.1),
        1e9 / c.interval_ns as f64,
    )?;
    let len = (c.precursor_ns / c.interval_ns) as usize;
    let mut amplitudes = Vec::with_capacity(events.len());
    for e in &events {
        let d = distance_km(c.lat, c.lon, e.latitude_deg, e.longitude_deg);
        let amp = precursor_amplitude(c.precursor_strength, e.magnitude.unwrap_or(0.0), d);
        amplitudes.push(amp);
        if amp <= 0.0 || len == 0 {
            continue;
        }
        let noise: Vec<f64> = (0..len).map(|_| rng.normal()).collect();
        let band = sosfiltfilt(
            &sos,
            &noise,
            default_padlen(&sos).min(len.saturating_sub(1)),
        );
        let rms = (band.iter().map(|v| v * v).sum::<f64>() / len as f64)
            .sqrt()
            .max(1e-12);
        // Samples whose times lie in [event - duration, event).
        let index = |t: i64| {
            (t - c.start_ns).div_euclid(c.interval_ns)
                + i64::from((t - c.start_ns).rem_euclid(c.interval_ns) != 0)
        };
        let end = index(e.time_ns).clamp(0, c.n as i64) as usize;
        let first = index(e.time_ns - c.precursor_ns).clamp(0, c.n as i64) as usize;
        for i in first..end {
            let k = len.saturating_sub(end - i).min(len - 1);
            let ramp = (k + 1) as f64 / len as f64;
            let p = amp * ramp * band[k] / rms;
            data[i * 3 + 2] += p;
            data[i * 3] += 0.5 * p;
        }
    }

    // Gaps last, so they remove whatever was there.
    let mut rng = Rng::new(seed, "synth.geomag/gaps");
    let n_gaps = poisson(&mut rng, c.gap_rate * c.years());
    for _ in 0..n_gaps {
        let at = rng.below(c.n as u64) as usize;
        let u = rng.uniform();
        let minutes = if u < 0.7 {
            1.0 + 2.0 * rng.uniform()
        } else if u < 0.95 {
            5.0 + 55.0 * rng.uniform()
        } else {
            60.0 + 660.0 * rng.uniform()
        };
        let len = ((minutes * 60.0 / step_s).round() as usize).max(1);
        for v in &mut data[at * 3..(at + len).min(c.n) * 3] {
            *v = f64::NAN;
        }
    }

    Ok(Synthetic {
        series: TimeSeries {
            start_ns: c.start_ns,
            interval_ns: c.interval_ns,
            channels: vec!["X".into(), "Y".into(), "Z".into()],
            units: vec!["nT".into(); 3],
            data,
            station: Station {
                code: c.station.clone(),
                name: "quakeline synthetic observatory".into(),
                latitude_deg: c.lat,
                longitude_deg: c.lon,
                elevation_m: 0.0,
            },
        },
        events,
        kp: kp_series,
        storms,
        precursor_amplitude: amplitudes,
        gaps: n_gaps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(days: i64, strength: f64) -> Config {
        Config {
            start_ns: days_from_civil(2015, 3, 1) * NS_PER_DAY,
            n: (days * 1440) as usize,
            interval_ns: 60 * NS_PER_S,
            lat: 45.491,
            lon: 25.945,
            station: "SYN".into(),
            sq_amplitude: 30.0,
            storm_rate: 20.0,
            noise: 0.1,
            gap_rate: 50.0,
            event_rate: 40.0,
            radius_km: 300.0,
            max_depth_km: 40.0,
            m_min: 3.0,
            m_max: 6.5,
            b: 1.0,
            precursor_strength: strength,
            precursor_ns: 2 * NS_PER_DAY,
            band: (0.002, 0.006),
        }
    }

    #[test]
    fn deterministic_per_seed() {
        let c = config(20, 5.0);
        let (a, b, other) = (
            generate(&c, 1).unwrap(),
            generate(&c, 1).unwrap(),
            generate(&c, 2).unwrap(),
        );
        let bits = |s: &Synthetic| {
            s.series
                .data
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&a), bits(&b));
        assert_ne!(bits(&a), bits(&other));
        assert_eq!(a.events, b.events);
    }

    #[test]
    fn kp_is_in_thirds_with_storms() {
        let s = generate(&config(365, 0.0), 3).unwrap();
        assert!(
            s.kp.iter()
                .all(|(_, k)| (0.0..=9.0).contains(k)
                    && ((k * 3.0) - (k * 3.0).round()).abs() < 1e-9)
        );
        assert!(
            (8..=35).contains(&s.storms.len()),
            "{} storms for a rate of 20/yr",
            s.storms.len()
        );
        let quiet = s.kp.iter().filter(|(_, k)| *k <= 3.0).count() as f64 / s.kp.len() as f64;
        assert!(
            (0.6..0.99).contains(&quiet),
            "fraction of quiet 3-hour intervals {quiet}"
        );
        // Each storm lifts Kp to its peak (at least 5) in the interval holding its onset.
        for st in &s.storms {
            let i =
                s.kp.partition_point(|(t, _)| *t + kp::INTERVAL_S * NS_PER_S <= st.onset_ns);
            assert!(
                s.kp[i].1 >= 4.9 && (s.kp[i].1 - st.kp_max).abs() <= 1.0 / 6.0 + 1e-9,
                "storm at {}",
                st.onset_ns
            );
        }
    }

    #[test]
    fn gutenberg_richter_b_value_is_recovered() {
        let mut c = config(365, 0.0);
        c.event_rate = 4000.0;
        c.m_max = 9.0;
        let s = generate(&c, 4).unwrap();
        // Aki (1965) maximum-likelihood b. Magnitudes are drawn from M >= 3.0 and rounded to 0.1, so
        // rounding is unbiased except in the half-width lowest bin: no Utsu correction applies.
        let mags: Vec<f64> = s.events.iter().map(|e| e.magnitude.unwrap()).collect();
        let mean = mags.iter().sum::<f64>() / mags.len() as f64;
        let b = std::f64::consts::LOG10_E / (mean - c.m_min);
        assert!((b - 1.0).abs() < 0.06, "b = {b} from {} events", mags.len());
        let far = s
            .events
            .iter()
            .map(|e| distance_km(c.lat, c.lon, e.latitude_deg, e.longitude_deg))
            .fold(0.0, f64::max);
        assert!(far <= c.radius_km * 1.01, "an event at {far} km");
    }

    #[test]
    fn quiet_day_sq_has_the_configured_amplitude() {
        let mut c = config(30, 0.0);
        c.storm_rate = 0.0;
        c.gap_rate = 0.0;
        let s = generate(&c, 5).unwrap();
        // Average day of X, detrended: its range is A * season * (max-min of the zero-mean bell) ≈ A.
        let mut mean_day = vec![0.0; 1440];
        for (i, row) in s.series.data.chunks(3).enumerate() {
            mean_day[i % 1440] += row[0] / 30.0;
        }
        let range = mean_day.iter().fold(f64::MIN, |m, v| m.max(*v))
            - mean_day.iter().fold(f64::MAX, |m, v| m.min(*v));
        let doy = 75.0; // mid-March
        let season = 1.0 + 0.4 * (2.0 * std::f64::consts::PI * (doy - 172.0) / 365.25).cos();
        assert!(
            (range / (30.0 * season) - 1.0).abs() < 0.15,
            "Sq range {range} nT"
        );
    }

    #[test]
    fn the_precursor_is_the_only_difference_and_sits_before_detectable_events() {
        let mut c0 = config(120, 0.0);
        c0.event_rate = 200.0;
        let mut c1 = config(120, 20.0);
        c1.event_rate = 200.0;
        let (a, b) = (generate(&c0, 6).unwrap(), generate(&c1, 6).unwrap());
        assert_eq!(a.events, b.events);
        let per_sample: Vec<f64> = a
            .series
            .data
            .chunks(3)
            .zip(b.series.data.chunks(3))
            .map(|(x, y)| (y[2] - x[2]).abs())
            .collect();
        let changed = per_sample.iter().filter(|d| **d > 0.0).count();
        assert!(changed > 0, "some event must carry a precursor");
        for (i, d) in per_sample.iter().enumerate() {
            if *d > 0.0 {
                let t = c0.start_ns + i as i64 * c0.interval_ns;
                let owner = b.events.iter().zip(&b.precursor_amplitude).any(|(e, amp)| {
                    *amp > 0.0 && t < e.time_ns && t >= e.time_ns - c1.precursor_ns
                });
                assert!(
                    owner,
                    "sample {i} changed but lies in no precursor interval"
                );
            }
        }
        assert_eq!(precursor_amplitude(10.0, 4.0, 0.0), 10.0);
        assert_eq!(precursor_amplitude(10.0, 4.0, 200.0), 0.0);
        assert!(
            (10f64.powf(0.3 * 6.4 + 1.0) - 832.0).abs() < 1.0,
            "R(6.4) ~ 800 km, ref [22]"
        );
    }
}
