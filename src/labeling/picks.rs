//! Picks from probability curves, and how they are scored against analyst picks.
//!
//! - **Detection**: the local maxima of a curve at or above `threshold`, thinned so that no two
//!   are closer than `min_distance` samples (the higher kept) — `scipy.signal.find_peaks(curve,
//!   height=threshold, distance=min_distance)`, which SeisBench's and PhaseNet's pick extraction
//!   follow; a flat-topped maximum is one peak at its middle sample (left of middle for an even
//!   plateau), as SciPy places it.
//! - **Matching** (Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023), Customization of a deep
//!   neural network using local data for seismic phase picking, *Frontiers in Earth Science* 11,
//!   1306488, doi:10.3389/feart.2023.1306488, after Mousavi et al. 2020): a predicted pick is a
//!   true positive if its residual to the true pick is below `tolerance`, at most one per true
//!   pick (the closest); every other predicted pick is a false positive, a true pick without a
//!   true positive a false negative.

/// One detected pick: sample (index in the curve) and the curve's value there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pick {
    pub sample: usize,
    pub probability: f32,
}

/// The picks of `curve`: `find_peaks(curve, height=threshold, distance=min_distance)`.
pub fn detect(curve: &[f32], threshold: f32, min_distance: usize) -> Vec<Pick> {
    // Local maxima, plateaus reduced to their middle (scipy `_local_maxima_1d`).
    let mut peaks = Vec::new();
    let n = curve.len();
    let mut i = 1;
    while i + 1 < n {
        if curve[i - 1] < curve[i] {
            let mut ahead = i + 1;
            while ahead + 1 < n && curve[ahead] == curve[i] {
                ahead += 1;
            }
            if curve[ahead] < curve[i] {
                let (left, right) = (i, ahead - 1);
                peaks.push((left + right) / 2);
                i = ahead;
                continue;
            }
        }
        i += 1;
    }
    peaks.retain(|&p| curve[p] >= threshold);
    if min_distance > 1 && peaks.len() > 1 {
        // scipy `_select_by_peak_distance`: highest first, each removing lower neighbours closer
        // than `min_distance`. Equal heights (a saturated softmax reaches 1.0) are taken earliest
        // first: NumPy's unstable argsort leaves that order unspecified; on the reference curves
        // SciPy keeps the earlier one.
        let mut order: Vec<usize> = (0..peaks.len()).collect();
        order.sort_by(|&a, &b| curve[peaks[b]].total_cmp(&curve[peaks[a]]).then(a.cmp(&b)));
        let mut keep = vec![true; peaks.len()];
        for &i in &order {
            if !keep[i] {
                continue;
            }
            let mut j = i;
            while j > 0 && peaks[i] - peaks[j - 1] < min_distance {
                keep[j - 1] = false;
                j -= 1;
            }
            let mut j = i + 1;
            while j < peaks.len() && peaks[j] - peaks[i] < min_distance {
                keep[j] = false;
                j += 1;
            }
        }
        peaks = peaks
            .into_iter()
            .zip(keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
    }
    peaks
        .into_iter()
        .map(|s| Pick {
            sample: s,
            probability: curve[s],
        })
        .collect()
}

/// The outcome of matching one window's predicted picks of one phase with its true pick.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Residual predicted − true (samples) of the true positive, when there is one.
    pub residual: Option<f64>,
    /// Predicted picks that are not the true positive.
    pub false_positives: usize,
    /// 1 when the window has a true pick and no prediction matched it.
    pub false_negatives: usize,
}

/// Matches `predicted` with the true pick `truth` (window samples, NaN: no true pick in the
/// window); `tolerance` in samples (a residual must be strictly below it).
pub fn score(predicted: &[Pick], truth: f64, tolerance: f64) -> Outcome {
    if truth.is_nan() {
        return Outcome {
            residual: None,
            false_positives: predicted.len(),
            false_negatives: 0,
        };
    }
    let best = predicted
        .iter()
        .map(|p| p.sample as f64 - truth)
        .filter(|r| r.abs() < tolerance)
        .min_by(|a, b| a.abs().total_cmp(&b.abs()));
    Outcome {
        residual: best,
        false_positives: predicted.len() - usize::from(best.is_some()),
        false_negatives: usize::from(best.is_none()),
    }
}

/// Counts and residuals of one phase over many windows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    /// Residuals of the true positives, seconds.
    pub residuals_s: Vec<f64>,
    /// Windows in which more than one pick of the phase was predicted.
    pub multiple: usize,
}

impl Tally {
    /// Adds one window's outcome (`picks` predicted; `dt` seconds per sample).
    pub fn add(&mut self, o: &Outcome, picks: usize, dt: f64) {
        if let Some(r) = o.residual {
            self.true_positives += 1;
            self.residuals_s.push(r * dt);
        }
        self.false_positives += o.false_positives;
        self.false_negatives += o.false_negatives;
        self.multiple += usize::from(picks > 1);
    }

    /// TP / (TP + FP); NaN without predictions.
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// TP / (TP + FN); NaN without true picks.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// Harmonic mean of precision and recall, as 2·TP / (2·TP + FP + FN): 0 for a picker that
    /// picked nothing where there were picks (its precision is undefined), NaN only when there
    /// were neither picks nor predictions.
    pub fn f1(&self) -> f64 {
        ratio(
            2 * self.true_positives,
            2 * self.true_positives + self.false_positives + self.false_negatives,
        )
    }

    /// Mean, standard deviation (population) and mean absolute value of the residuals, seconds.
    pub fn residual_stats(&self) -> [f64; 3] {
        let n = self.residuals_s.len() as f64;
        if n == 0.0 {
            return [f64::NAN; 3];
        }
        let mean = self.residuals_s.iter().sum::<f64>() / n;
        let var = self
            .residuals_s
            .iter()
            .map(|r| (r - mean) * (r - mean))
            .sum::<f64>()
            / n;
        let mae = self.residuals_s.iter().map(|r| r.abs()).sum::<f64>() / n;
        [mean, var.sqrt(), mae]
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The peaks `scipy.signal.find_peaks` finds on picker-like float32 curves (flat tops,
    /// close bumps) for four threshold/distance pairs (`tests/data/picks/generate.py`).
    #[test]
    fn detect_matches_scipy_find_peaks() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/picks/find_peaks_reference.json"
        );
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut checked = 0;
        for case in r["cases"].as_array().unwrap() {
            let curve: Vec<f32> = case["curve"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            for f in case["found"].as_array().unwrap() {
                let want: Vec<usize> = f["peaks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect();
                let got: Vec<usize> = detect(
                    &curve,
                    f["threshold"].as_f64().unwrap() as f32,
                    f["distance"].as_u64().unwrap() as usize,
                )
                .iter()
                .map(|p| p.sample)
                .collect();
                assert_eq!(
                    got, want,
                    "threshold {} distance {}",
                    f["threshold"], f["distance"]
                );
                checked += want.len();
            }
        }
        assert!(checked > 800, "{checked}");
    }

    #[test]
    fn plateaus_thresholds_and_distance() {
        let c = [0.0, 0.5, 0.5, 0.5, 0.1, 0.9, 0.2, 0.35, 0.0, 0.4, 0.41, 0.0];
        let s = |p: Vec<Pick>| p.iter().map(|p| p.sample).collect::<Vec<_>>();
        assert_eq!(s(detect(&c, 0.3, 1)), [2, 5, 7, 10]);
        assert_eq!(s(detect(&c, 0.3, 3)), [2, 5, 10]);
        assert_eq!(s(detect(&c, 0.6, 1)), [5]);
    }

    #[test]
    fn one_true_positive_per_pick_the_closest() {
        let p = |s| Pick {
            sample: s,
            probability: 0.9,
        };
        let o = score(&[p(100), p(130), p(97)], 98.0, 50.0);
        assert_eq!(o.residual, Some(-1.0));
        assert_eq!((o.false_positives, o.false_negatives), (2, 0));
        let o = score(&[p(200)], 98.0, 50.0);
        assert_eq!(
            (o.residual, o.false_positives, o.false_negatives),
            (None, 1, 1)
        );
        // Exactly at the tolerance is not below it.
        assert_eq!(score(&[p(148)], 98.0, 50.0).residual, None);
        let o = score(&[], f64::NAN, 50.0);
        assert_eq!(o, Outcome::default());
        let mut t = Tally::default();
        t.add(&score(&[p(100), p(130)], 98.0, 50.0), 2, 0.01);
        t.add(&score(&[], 50.0, 50.0), 0, 0.01);
        assert_eq!(
            (
                t.true_positives,
                t.false_positives,
                t.false_negatives,
                t.multiple
            ),
            (1, 1, 1, 1)
        );
        assert!((t.precision() - 0.5).abs() < 1e-12 && (t.recall() - 0.5).abs() < 1e-12);
        assert!((t.f1() - 0.5).abs() < 1e-12);
        let missed = Tally {
            false_negatives: 3,
            ..Tally::default()
        };
        assert!(missed.precision().is_nan() && missed.f1() == 0.0);
        assert!(Tally::default().f1().is_nan());
        assert!((t.residual_stats()[0] - 0.02).abs() < 1e-12);
    }
}
