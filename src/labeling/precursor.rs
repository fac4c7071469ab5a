//! Labelling geomagnetic windows as precursor or quiet, after Petrescu & Moldovan (2022), §4.
//!
//! Petrescu, L. & Moldovan, I.-A. (2022). Prospective Neural Network Model for Seismic Precursory
//! Signal Detection in Geomagnetic Field Records. *Machine Learning and Knowledge Extraction*
//! 4(4), 912–923. doi:10.3390/make4040046
//!
//! Windows of 1 h, 1 d, 7 d (and 1 month) of the three components are labelled 1 if a detectable
//! earthquake follows — within 200 km of the observatory, hypocentre at most 30 km deep, Mw > 4,
//! after Molchanov et al. (Vrancea: 100 km and 100 km) — and 0 for windows of seismic quiescence
//! not contaminated by magnetic storms (Kp), balanced to equal class sizes; Bx, By, Bz are divided
//! by the window's maximum |Bz| and fed to the CNN as an image. The `label.precursor` stage is
//! the glue that reads its inputs, applies these rules and writes [`crate::data::windows`].
//!
//! # Rules, in order, each counted in the output attributes
//! Windows of `window` length start every `stride` from the first sample. A window is
//! 1. rejected if any sample of the chosen channels is missing (`rejected_gaps`; gaps longer than
//!    the gap filler's `max_gap` stay NaN, the paper's "records with missing periods" rule);
//! 2. positive if a qualifying event occurs within `lead` after its end, `[end, end + lead)`;
//! 3. rejected if a qualifying event occurs inside it but none follows (`rejected_event_inside`);
//! 4. otherwise a quiet candidate, rejected if the largest Kp of the 3-hour intervals it overlaps
//!    exceeds `max_kp` or is unknown (missing value or hole in the record; `rejected_kp`). With
//!    `kp_screen = "both"` positives are screened the same way: the paper screens only quiet
//!    windows, which lets magnetic storms tell the classes apart (a storm can only appear in a
//!    positive), so a network can beat chance without any precursor;
//! 5. with `balance`, the larger class is randomly subsampled (seeded) to the size of the smaller.
//!
//! An event qualifies when its epicentral distance (WGS84) is at most `radius_km`, its depth at most
//! `max_depth_km` and its magnitude strictly greater than `min_magnitude`.
//!

use crate::geo::distance_km;
use crate::io::catalog::Event;
use crate::io::kp;
use crate::rng::Rng;
use crate::series::TimeSeries;
use crate::time::format_rfc3339;

/// The qualifying-event rule, separate so it can be tested on hand-built cases.
#[derive(Clone, Copy, Debug)]
pub struct Detectability {
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub radius_km: f64,
    pub max_depth_km: f64,
    pub min_magnitude: f64,
}

/// Why an event does not qualify, if it does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disqualified {
    TooFar,
    TooDeep,
    TooSmall,
}

impl Detectability {
    pub fn check(&self, e: &Event) -> Result<(), Disqualified> {
        if distance_km(
            self.latitude_deg,
            self.longitude_deg,
            e.latitude_deg,
            e.longitude_deg,
        ) > self.radius_km
        {
            return Err(Disqualified::TooFar);
        }
        if e.depth_km.is_none_or(|d| d > self.max_depth_km) {
            return Err(Disqualified::TooDeep);
        }
        if e.magnitude.is_none_or(|m| m <= self.min_magnitude) {
            return Err(Disqualified::TooSmall);
        }
        Ok(())
    }
}

#[derive(Debug, Default, PartialEq)]
pub struct Counts {
    pub events_too_far: u64,
    pub events_too_deep: u64,
    pub events_too_small: u64,
    pub events_qualifying: u64,
    pub events_outside_series: u64,
    pub windows_total: u64,
    pub rejected_gaps: u64,
    pub rejected_event_inside: u64,
    pub rejected_kp: u64,
    pub positives: u64,
    pub quiet: u64,
    pub dropped_by_balance: u64,
}

impl Counts {
    /// Every count by its attribute name, in the order the entry lists them.
    pub fn named(&self) -> [(&'static str, u64); 12] {
        [
            ("events_qualifying", self.events_qualifying),
            ("events_outside_series", self.events_outside_series),
            ("events_too_far", self.events_too_far),
            ("events_too_deep", self.events_too_deep),
            ("events_too_small", self.events_too_small),
            ("windows_total", self.windows_total),
            ("rejected_gaps", self.rejected_gaps),
            ("rejected_event_inside", self.rejected_event_inside),
            ("rejected_kp", self.rejected_kp),
            ("positives", self.positives),
            ("quiet", self.quiet),
            ("dropped_by_balance", self.dropped_by_balance),
        ]
    }

    /// One sentence for people: what each rule removed (`report` attribute, error messages).
    pub fn report(&self, max_kp: f64) -> String {
        format!(
            "{} windows: {} with gaps, {} with an event inside and none after, {} stormy (Kp > {}), {} positive, {} quiet; \
             events: {} qualifying ({} outside the series), {} too far, {} too deep, {} too small",
            self.windows_total,
            self.rejected_gaps,
            self.rejected_event_inside,
            self.rejected_kp,
            max_kp,
            self.positives,
            self.quiet,
            self.events_qualifying,
            self.events_outside_series,
            self.events_too_far,
            self.events_too_deep,
            self.events_too_small
        )
    }
}

/// One selected window: first sample, label, the event it precedes.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub start: usize,
    pub label: i64,
    pub event_id: String,
}

pub struct Rules {
    pub window: usize,
    pub stride: usize,
    pub lead_ns: i64,
    pub max_kp: f64,
    /// Apply the Kp rule to positive windows too.
    pub screen_positives: bool,
    pub detect: Detectability,
}

/// Applies rules 1–4 to every window of `series` (channels `cols`). Errors are for the user.
pub fn select(
    series: &TimeSeries,
    cols: &[usize],
    events: &[Event],
    kp: &[(i64, f64)],
    r: &Rules,
) -> Result<(Vec<Window>, Counts), String> {
    let mut c = Counts::default();
    let n = series.len();
    let (t0, t_end) = (
        series.start_ns,
        series.time_ns(n.saturating_sub(1)) + series.interval_ns,
    );
    let mut qualifying: Vec<&Event> = Vec::new();
    for e in events {
        match r.detect.check(e) {
            Err(Disqualified::TooFar) => c.events_too_far += 1,
            Err(Disqualified::TooDeep) => c.events_too_deep += 1,
            Err(Disqualified::TooSmall) => c.events_too_small += 1,
            Ok(()) => {
                c.events_qualifying += 1;
                if e.time_ns < t0 || e.time_ns >= t_end + r.lead_ns {
                    c.events_outside_series += 1;
                } else {
                    qualifying.push(e);
                }
            }
        }
    }
    qualifying.sort_by_key(|e| e.time_ns);
    let kp_step = kp::INTERVAL_S * crate::time::NS_PER_S;
    let kp_start = kp.first().map(|k| k.0).unwrap_or(i64::MAX);
    let kp_end = kp.last().map(|k| k.0 + kp_step).unwrap_or(i64::MIN);
    if kp_start > t0 || kp_end < t_end {
        return Err(format!(
            "the Kp input covers {} to {}, but the series runs from {} to {}: give a Kp file that covers the whole series",
            if kp.is_empty() {
                "nothing".into()
            } else {
                format_rfc3339(kp_start)
            },
            if kp.is_empty() {
                "nothing".into()
            } else {
                format_rfc3339(kp_end)
            },
            format_rfc3339(t0),
            format_rfc3339(t_end)
        ));
    }
    let first_event_at = |from: i64| qualifying.partition_point(|e| e.time_ns < from);
    let nc = series.channels.len();
    let mut out = Vec::new();
    let mut s = 0;
    while s + r.window <= n {
        c.windows_total += 1;
        let (start_ns, end_ns) = (
            series.time_ns(s),
            series.time_ns(s) + r.window as i64 * series.interval_ns,
        );
        let missing = (s..s + r.window).any(|i| {
            cols.iter()
                .any(|&col| !series.data[i * nc + col].is_finite())
        });
        let next = qualifying
            .get(first_event_at(end_ns))
            .filter(|e| e.time_ns < end_ns + r.lead_ns);
        let inside = qualifying
            .get(first_event_at(start_ns))
            .is_some_and(|e| e.time_ns < end_ns);
        let stormy = || {
            let lo = kp.partition_point(|k| k.0 + kp_step <= start_ns);
            let hi = kp.partition_point(|k| k.0 < end_ns);
            // Every 3-hour interval the window touches must be present and quiet; a hole in the
            // Kp record is as unknown as a missing value.
            let first = start_ns.div_euclid(kp_step);
            let expected = (end_ns - 1).div_euclid(kp_step) - first + 1;
            let complete = hi - lo == expected as usize
                && kp.get(lo).is_some_and(|k| k.0.div_euclid(kp_step) == first);
            !complete || kp[lo..hi].iter().any(|k| k.1.is_nan() || k.1 > r.max_kp)
        };
        if missing {
            c.rejected_gaps += 1;
        } else if let Some(e) = next {
            if r.screen_positives && stormy() {
                c.rejected_kp += 1;
            } else {
                c.positives += 1;
                out.push(Window {
                    start: s,
                    label: 1,
                    event_id: e.id.clone(),
                });
            }
        } else if inside {
            c.rejected_event_inside += 1;
        } else if stormy() {
            c.rejected_kp += 1;
        } else {
            c.quiet += 1;
            out.push(Window {
                start: s,
                label: 0,
                event_id: String::new(),
            });
        }
        s += r.stride;
    }
    Ok((out, c))
}

/// Rule 5: keeps all of the smaller class and a seeded random subset of the larger, in time order.
pub fn balance(windows: Vec<Window>, seed: u64) -> Vec<Window> {
    let (mut pos, mut neg): (Vec<Window>, Vec<Window>) =
        windows.into_iter().partition(|w| w.label == 1);
    let keep = pos.len().min(neg.len());
    let mut rng = Rng::new(seed, "label.precursor/balance");
    rng.shuffle(&mut pos);
    rng.shuffle(&mut neg);
    pos.truncate(keep);
    neg.truncate(keep);
    let mut all: Vec<Window> = pos.into_iter().chain(neg).collect();
    all.sort_by_key(|w| w.start);
    all
}

/// The selected windows of channels `cols`, `len` samples each, divided by the window's maximum
/// |last channel| (|Bz| in the paper; 1 when that is 0): `[n, cols, len]` row-major and the
/// divisors. `tick` is called once per window.
pub fn normalise(
    series: &TimeSeries,
    cols: &[usize],
    windows: &[Window],
    len: usize,
    mut tick: impl FnMut(),
) -> (Vec<f32>, Vec<f64>) {
    let (nw, nc, l) = (windows.len(), cols.len(), len);
    let snc = series.channels.len();
    let mut data = vec![0f32; nw * nc * l];
    let mut norms = Vec::with_capacity(nw);
    for (w, win) in windows.iter().enumerate() {
        let last = cols[nc - 1];
        let norm = (win.start..win.start + l)
            .map(|i| series.data[i * snc + last].abs())
            .fold(0.0f64, f64::max);
        let norm = if norm > 0.0 { norm } else { 1.0 };
        norms.push(norm);
        for (k, &col) in cols.iter().enumerate() {
            let dst = &mut data[(w * nc + k) * l..(w * nc + k + 1) * l];
            for (j, d) in dst.iter_mut().enumerate() {
                *d = (series.data[(win.start + j) * snc + col] / norm) as f32;
            }
        }
        tick();
    }
    (data, norms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Station;

    const DAY: i64 = 86_400_000_000_000;

    fn event(id: &str, lat: f64, lon: f64, depth: f64, mag: f64, t: i64) -> Event {
        Event {
            id: id.into(),
            time_ns: t,
            latitude_deg: lat,
            longitude_deg: lon,
            depth_km: Some(depth),
            magnitude: Some(mag),
            magnitude_type: Some("Mw".into()),
            event_type: String::new(),
            line: 0,
        }
    }

    /// A point `km` north of (40, -105) along the meridian, found by bisection on the geodesic.
    fn lat_at_km(km: f64) -> f64 {
        let (mut lo, mut hi) = (40.0, 45.0);
        for _ in 0..200 {
            let mid = (lo + hi) / 2.0;
            if distance_km(40.0, -105.0, mid, -105.0) < km {
                lo = mid
            } else {
                hi = mid
            }
        }
        (lo + hi) / 2.0
    }

    fn rule() -> Detectability {
        Detectability {
            latitude_deg: 40.0,
            longitude_deg: -105.0,
            radius_km: 200.0,
            max_depth_km: 30.0,
            min_magnitude: 4.0,
        }
    }

    #[test]
    fn detectability_boundaries() {
        let r = rule();
        assert_eq!(
            r.check(&event("a", lat_at_km(199.0), -105.0, 10.0, 5.0, 0)),
            Ok(())
        );
        assert_eq!(
            r.check(&event("b", lat_at_km(201.0), -105.0, 10.0, 5.0, 0)),
            Err(Disqualified::TooFar)
        );
        assert_eq!(r.check(&event("c", 40.5, -105.0, 30.0, 5.0, 0)), Ok(()));
        assert_eq!(
            r.check(&event("d", 40.5, -105.0, 31.0, 5.0, 0)),
            Err(Disqualified::TooDeep)
        );
        assert_eq!(
            r.check(&event("e", 40.5, -105.0, 10.0, 4.0, 0)),
            Err(Disqualified::TooSmall)
        );
        assert_eq!(r.check(&event("f", 40.5, -105.0, 10.0, 4.1, 0)), Ok(()));
        // Vrancea override: 100 km deep is allowed, 100 km away is the limit.
        let v = Detectability {
            radius_km: 100.0,
            max_depth_km: 100.0,
            ..r
        };
        assert_eq!(
            v.check(&event("g", lat_at_km(99.0), -105.0, 95.0, 4.5, 0)),
            Ok(())
        );
        assert_eq!(
            v.check(&event("h", lat_at_km(101.0), -105.0, 95.0, 4.5, 0)),
            Err(Disqualified::TooFar)
        );
    }

    /// Ten days of 1-hour samples at (40, -105).
    fn series() -> TimeSeries {
        let n = 240;
        TimeSeries {
            start_ns: 0,
            interval_ns: 3_600_000_000_000,
            channels: vec!["X".into(), "Y".into(), "Z".into()],
            units: vec!["nT".into(); 3],
            data: (0..n * 3).map(|i| 1.0 + (i % 7) as f64).collect(),
            station: Station {
                latitude_deg: 40.0,
                longitude_deg: -105.0,
                ..Default::default()
            },
        }
    }

    fn kp(value: f64) -> Vec<(i64, f64)> {
        (0..80)
            .map(|i| (i * 3 * 3_600_000_000_000, value))
            .collect()
    }

    fn rules() -> Rules {
        Rules {
            window: 24,
            stride: 24,
            lead_ns: DAY,
            max_kp: 3.0,
            screen_positives: false,
            detect: rule(),
        }
    }

    #[test]
    fn windows_follow_the_rules_in_order() {
        let mut s = series();
        // Day 2 has a gap; an event at day 5.5 makes day 4 positive and day 5 "event inside".
        s.data[(2 * 24 + 3) * 3 + 1] = f64::NAN;
        let events = vec![
            event("q", 40.5, -105.0, 10.0, 5.0, 5 * DAY + DAY / 2),
            event("far", 43.0, -105.0, 10.0, 6.0, 8 * DAY),
        ];
        let mut k = kp(1.0);
        k[8 * 7 + 2].1 = 5.0; // a storm on day 7
        let (w, c) = select(&s, &[0, 1, 2], &events, &k, &rules()).unwrap();
        assert_eq!(c.windows_total, 10);
        assert_eq!(
            (
                c.rejected_gaps,
                c.positives,
                c.rejected_event_inside,
                c.rejected_kp
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(c.quiet, 6);
        assert_eq!((c.events_qualifying, c.events_too_far), (1, 1));
        let positive: Vec<&Window> = w.iter().filter(|w| w.label == 1).collect();
        assert_eq!(
            positive,
            [&Window {
                start: 4 * 24,
                label: 1,
                event_id: "q".into()
            }]
        );
        let b = balance(w.clone(), 3);
        assert_eq!(b.iter().filter(|w| w.label == 0).count(), 1);
        assert_eq!(b, balance(w, 3), "seeded");
    }

    /// A storm over the positive window: kept by the paper's rule, rejected with kp_screen = both.
    #[test]
    fn screening_positives_removes_stormy_positives() {
        let events = vec![event("q", 40.5, -105.0, 10.0, 5.0, 5 * DAY + DAY / 2)];
        let mut k = kp(1.0);
        k[8 * 4 + 3].1 = 6.0; // day 4, the positive window
        let (_, paper) = select(&series(), &[0, 1, 2], &events, &k, &rules()).unwrap();
        assert_eq!((paper.positives, paper.rejected_kp), (1, 0));
        let both = Rules {
            screen_positives: true,
            ..rules()
        };
        let (w, c) = select(&series(), &[0, 1, 2], &events, &k, &both).unwrap();
        assert_eq!((c.positives, c.rejected_kp), (0, 1));
        assert!(w.iter().all(|w| w.label == 0));
    }

    #[test]
    fn a_hole_in_the_kp_record_is_unknown_not_quiet() {
        let k: Vec<(i64, f64)> = kp(1.0)
            .into_iter()
            .filter(|(t, _)| !(3 * DAY..4 * DAY).contains(t))
            .collect();
        let events = vec![event("q", 40.5, -105.0, 10.0, 5.0, 9 * DAY + DAY / 2)];
        let (_, c) = select(&series(), &[0, 1, 2], &events, &k, &rules()).unwrap();
        // Day 3 falls in the hole, day 8 precedes the event, day 9 contains it.
        assert_eq!(
            (c.rejected_kp, c.quiet, c.positives, c.rejected_event_inside),
            (1, 7, 1, 1)
        );
    }

    #[test]
    fn kp_must_cover_the_series() {
        let k: Vec<(i64, f64)> = kp(1.0).into_iter().skip(8).collect();
        let e = select(&series(), &[0, 1, 2], &[], &k, &rules()).unwrap_err();
        assert!(
            e.contains("the Kp input covers 1970-01-02T00:00:00.000Z"),
            "{e}"
        );
    }
}
